use anyhow::Context;
use clap::{Parser, Subcommand};
use crm_server::{AppState, Config, db, serve};
use secrecy::ExposeSecret;
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(
    name = "crm-server",
    version,
    about = "CRM-service for Outlook: server"
)]
struct Cli {
    /// Log format: `text` for people, `json` for log collectors.
    #[arg(long, env = "LOG_FORMAT", default_value = "text", value_parser = ["text", "json"], global = true)]
    log_format: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Apply migrations and serve the API, the task pane and the webhooks.
    Serve(Box<Config>),
    /// Apply the database migrations and exit.
    Migrate {
        #[arg(long, env = "DATABASE_URL")]
        database_url: secrecy::SecretString,
    },
    /// Run the product on the embedded simulators (needs the `demo` feature).
    Demo(DemoArgs),
}

#[derive(clap::Args)]
struct DemoArgs {
    #[arg(long, env = "DATABASE_URL")]
    database_url: secrecy::SecretString,
    /// Port of the server (the simulators take free ports).
    #[arg(long, env = "DEMO_PORT", default_value_t = 8080)]
    port: u16,
    #[arg(long, env = "STATIC_DIR", default_value = "static")]
    static_dir: std::path::PathBuf,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_tracing(&cli.log_format);
    match cli.command {
        Command::Serve(config) => {
            if config.secret_keys.is_none() {
                anyhow::bail!(
                    "SECRET_KEYS is required: `kid:base64(32 random bytes)` (e.g. `k1:$(openssl rand -base64 32)`)"
                );
            }
            let pool = db::connect(config.database_url.expose_secret())
                .await
                .context("cannot connect to the database (DATABASE_URL)")?;
            db::migrate(&pool).await.context("applying migrations")?;
            let listener = tokio::net::TcpListener::bind(config.listen)
                .await
                .with_context(|| format!("cannot listen on {}", config.listen))?;
            tracing::info!(addr = %listener.local_addr()?, public_url = %config.public_url(), "serving");
            let state = AppState::new(pool, *config)?;
            let background = crm_server::background::start(&state);
            serve::serve_on(listener, state, serve::shutdown_signal()).await?;
            background.stop().await;
            Ok(())
        }
        Command::Migrate { database_url } => {
            let pool = db::connect(database_url.expose_secret())
                .await
                .context("cannot connect to the database (DATABASE_URL)")?;
            db::migrate(&pool).await.context("applying migrations")?;
            tracing::info!("migrations applied");
            Ok(())
        }
        Command::Demo(args) => demo(args).await,
    }
}

#[cfg(feature = "demo")]
async fn demo(args: DemoArgs) -> anyhow::Result<()> {
    crm_server::demo::run(args.database_url, args.port, args.static_dir).await
}

#[cfg(not(feature = "demo"))]
async fn demo(_args: DemoArgs) -> anyhow::Result<()> {
    anyhow::bail!(
        "this binary was built without the `demo` feature; run `cargo xtask demo` (or build with `--features demo`)"
    )
}

fn init_tracing(format: &str) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,tower_http=info,sqlx=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}
