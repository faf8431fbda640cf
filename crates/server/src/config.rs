//! Server configuration: one struct, read from flags or the environment, validated by clap at start-up.
//!
//! Secrets are [`SecretString`]s so they never appear in `Debug` output or logs.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use secrecy::SecretString;
use url::Url;

#[derive(Debug, Clone, clap::Args)]
pub struct Config {
    /// Postgres connection string.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: SecretString,

    /// Address the HTTP server listens on.
    #[arg(long, env = "LISTEN_ADDR", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// The URL users reach this server at (used in the served manifest and webhook URLs).
    /// Defaults to `http://<listen address>`.
    #[arg(long, env = "PUBLIC_URL")]
    pub public_url: Option<Url>,

    /// Folder with the task pane's static files (`index.html`, `pkg/`, icons).
    #[arg(long, env = "STATIC_DIR", default_value = "static")]
    pub static_dir: PathBuf,

    /// Microsoft Graph base URL (the simulator's in tests and the demo).
    #[arg(
        long,
        env = "GRAPH_BASE_URL",
        default_value = "https://graph.microsoft.com/v1.0"
    )]
    pub graph_base_url: Url,

    /// Longest time one Graph call may spend riding out throttling and outages before it fails.
    #[arg(long, env = "GRAPH_MAX_WAIT_SECS", default_value_t = 20,
          value_parser = clap::value_parser!(u64).range(1..=600))]
    pub graph_max_wait_secs: u64,

    /// Identity authority (Microsoft Entra): identity tokens are issued by `{authority}/{tid}/v2.0`; the
    /// JWKS and token endpoints are `{authority}/{tenant}/discovery/v2.0/keys` and `…/oauth2/v2.0/token`.
    #[arg(
        long,
        env = "IDENTITY_AUTHORITY",
        default_value = "https://login.microsoftonline.com"
    )]
    pub identity_authority: Url,

    /// Tenant segment of the identity endpoints: `common`, `organizations` or one tenant id.
    #[arg(long, env = "IDENTITY_TENANT", default_value = "common")]
    pub identity_tenant: String,

    /// The add-in's application (client) id: the audience of identity tokens.
    #[arg(long, env = "CLIENT_ID", default_value = "")]
    pub client_id: String,

    /// The application's client secret for the on-behalf-of exchange.
    #[arg(long, env = "CLIENT_SECRET")]
    pub client_secret: Option<SecretString>,

    /// Encryption keys for secrets at rest: `kid:base64(32 bytes)[,kid:base64…]`; the first encrypts,
    /// all decrypt (key rotation).
    #[arg(long, env = "SECRET_KEYS")]
    pub secret_keys: Option<SecretString>,

    /// Origin of the add-in pages allowed by CORS (defaults to the public URL's origin).
    #[arg(long, env = "ALLOWED_ORIGIN")]
    pub allowed_origin: Option<String>,

    /// Seconds between CRM → Outlook polls of one pairing (the seed product uses 300).
    #[arg(long, env = "CRM_POLL_SECONDS", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(10..=3600))]
    pub crm_poll_seconds: u64,

    /// How long a sync job stays leased to the process that claimed it without a heartbeat: a killed
    /// process's syncs are taken over by another replica this long after its last heartbeat (which
    /// comes every fifth of it).
    #[arg(long, env = "WORKER_LEASE_SECS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(2..=600))]
    pub worker_lease_secs: u64,

    /// How many sync runs one process runs at the same time.
    #[arg(long, env = "WORKER_CONCURRENCY", default_value_t = 8,
          value_parser = clap::value_parser!(u64).range(1..=256))]
    pub worker_concurrency: u64,

    /// Largest accepted request body in bytes.
    #[arg(long, env = "MAX_BODY_BYTES", default_value_t = 1024 * 1024)]
    pub max_body_bytes: usize,

    /// Time limit for one request, in seconds.
    #[arg(long, env = "REQUEST_TIMEOUT_SECS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..=600))]
    pub request_timeout_secs: u64,
}

impl Config {
    pub fn public_url(&self) -> Url {
        self.public_url.clone().unwrap_or_else(|| {
            Url::parse(&format!("http://{}", self.listen))
                .expect("a socket address makes a valid URL")
        })
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_secs)
    }

    /// A configuration for tests and the demo: everything defaulted except the database.
    pub fn for_database(database_url: &str) -> Self {
        use clap::Parser;
        #[derive(clap::Parser)]
        struct Wrapper {
            #[command(flatten)]
            config: Config,
        }
        // Parse from an empty command line so defaults stay in one place (the attributes above); the
        // environment is deliberately still consulted, as in production.
        let mut w = Wrapper::parse_from(["crm-server", "--database-url", database_url]);
        w.config.listen = "127.0.0.1:0".parse().expect("valid");
        if w.config.secret_keys.is_none() {
            w.config.secret_keys = Some(crate::crypto::Keyring::ephemeral_spec().into());
        }
        w.config
    }
}
