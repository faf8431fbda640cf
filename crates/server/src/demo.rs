//! `crm-server demo`: the product on an embedded default. Starts the CRM-service and Graph simulators
//! (seeded with a Finnish company and mailbox) on free ports, points the server at them, and serves the
//! pane plus a few demo-only routes. Compiled only with the `demo` feature. [`DemoEnv`] is also what
//! the end-to-end browser tests start.

use std::{net::SocketAddr, path::PathBuf};

use anyhow::Context;
use axum::{Json, Router, extract::Query, routing::get};
use serde::Deserialize;
use serde_json::json;
use tower_http::cors::CorsLayer;

use crate::{AppState, Config, app, background::Background, db, serve};

/// A fixed key for the demo database only, so secrets stored by one demo run open in the next.
const DEMO_SECRET_KEYS: &str = "demo:ZGVtby1vbmx5LWtleS1ub3QtZm9yLXByb2R1Y3Rpb24=";

/// The whole product on simulators: server, worker, both simulators.
pub struct DemoEnv {
    /// The server's own URL (`http://127.0.0.1:<port>`).
    pub url: String,
    pub crm: sim::crm::CrmSim,
    pub graph: sim::graph::GraphSim,
    pub demo_crm: sim::crm::DemoCrm,
    pub mailbox: sim::graph::DemoMailbox,
    pub crm_url: String,
    pub graph_url: String,
    pub state: AppState,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    background: Option<Background>,
    sims: Vec<sim::Running>,
}

impl DemoEnv {
    /// Starts everything; `port` 0 picks a free port. `tune` may adjust the configuration (tests use
    /// a short CRM poll interval).
    pub async fn start(
        database_url: &str,
        port: u16,
        static_dir: PathBuf,
        tune: impl FnOnce(&mut Config),
    ) -> anyhow::Result<Self> {
        Self::start_inner(database_url, port, static_dir, tune, true).await
    }

    /// Like [`DemoEnv::start`] but without the background worker, for measurements that drive the
    /// sync runs themselves.
    pub async fn start_without_worker(
        database_url: &str,
        static_dir: PathBuf,
        tune: impl FnOnce(&mut Config),
    ) -> anyhow::Result<Self> {
        Self::start_inner(database_url, 0, static_dir, tune, false).await
    }

    async fn start_inner(
        database_url: &str,
        port: u16,
        static_dir: PathBuf,
        tune: impl FnOnce(&mut Config),
        with_worker: bool,
    ) -> anyhow::Result<Self> {
        let any: SocketAddr = "127.0.0.1:0".parse().expect("valid");
        let crm = sim::crm::CrmSim::new();
        let demo_crm = crm.seed_demo();
        // The workbench page drives the simulators' admin APIs from the server's origin.
        let crm_running = sim::serve(crm.router().layer(CorsLayer::permissive()), any).await?;
        let graph = sim::graph::GraphSim::new();
        let graph_running = sim::serve(graph.router().layer(CorsLayer::permissive()), any).await?;
        graph.set_base_url(&graph_running.base_url);
        let mailbox = graph.seed_demo();

        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .with_context(|| {
                format!("port {port} is taken; try `cargo xtask demo --port <other>`")
            })?;
        let url = format!("http://{}", listener.local_addr()?);
        let mut config = Config::for_database(database_url);
        config.listen = listener.local_addr()?;
        config.public_url = Some(url.parse()?);
        config.static_dir = static_dir;
        config.graph_base_url = format!("{}/v1.0", graph_running.base_url).parse()?;
        config.identity_authority = graph_running.base_url.parse()?;
        config.identity_tenant = mailbox.tenant_id.clone();
        config.client_id = sim::graph::DEFAULT_CLIENT_ID.to_owned();
        config.client_secret = Some(sim::graph::DEFAULT_CLIENT_SECRET.into());
        config.secret_keys = Some(DEMO_SECRET_KEYS.into());
        tune(&mut config);

        let pool = db::connect(database_url)
            .await
            .context("cannot connect to the demo database")?;
        db::migrate(&pool).await.context("applying migrations")?;
        let state = AppState::new(pool, config)?;
        let background = with_worker.then(|| crate::background::start(&state));
        let router = demo_routes(
            &graph,
            &mailbox,
            &demo_crm,
            &crm_running.base_url,
            &graph_running.base_url,
        )
        .merge(app(state.clone()));
        let (stop, rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve::serve_router(listener, router, async {
            let _ = rx.await;
        }));
        Ok(Self {
            url,
            crm_url: crm_running.base_url.clone(),
            graph_url: graph_running.base_url.clone(),
            crm,
            graph,
            demo_crm,
            mailbox,
            state,
            stop,
            server,
            background,
            sims: vec![crm_running, graph_running],
        })
    }

    /// Stops the server (finishing requests), the worker and the simulators.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.server.await;
        if let Some(b) = self.background {
            b.stop().await;
        }
        for s in self.sims {
            s.stop().await;
        }
    }
}

fn demo_routes(
    graph: &sim::graph::GraphSim,
    mailbox: &sim::graph::DemoMailbox,
    demo_crm: &sim::crm::DemoCrm,
    crm_url: &str,
    graph_url: &str,
) -> Router {
    let info = json!({
        "crm": {
            "address": crm_url,
            "admin": format!("{crm_url}/_admin/crm"),
            "api_key": demo_crm.api_key,
            "username": demo_crm.username,
            "password": demo_crm.password,
            "company": demo_crm.company_name,
            "company_id": demo_crm.company_id,
            "user_id": demo_crm.user_id,
            // The CRM's wall-clock times are in this zone; the workbench shows them in the browser's.
            "time_zone": crmservice::assumed::DEFAULT_TIME_ZONE.name(),
        },
        "graph": { "base": graph_url, "admin": format!("{graph_url}/_admin/graph") },
        "mailbox": { "email": mailbox.email, "display_name": mailbox.display_name, "calendar_id": mailbox.calendar_id },
    });
    let token_graph = graph.clone();
    let tenant = mailbox.tenant_id.clone();
    let object_id = mailbox.user_id.clone();
    Router::new()
        .route("/demo/info", get(move || async move { Json(info) }))
        .route(
            api_types::routes::DEMO_IDENTITY_TOKEN,
            get(move |Query(q): Query<TokenQuery>| async move {
                let token = token_graph.mint_id_token(
                    &tenant,
                    &object_id,
                    &q.email,
                    sim::graph::DEFAULT_CLIENT_ID,
                );
                Json(json!({ "identity_token": token }))
            }),
        )
}

#[derive(Deserialize)]
struct TokenQuery {
    email: String,
}

/// `crm-server demo`: runs until Ctrl-C or SIGTERM.
pub async fn run(
    database_url: secrecy::SecretString,
    port: u16,
    static_dir: PathBuf,
) -> anyhow::Result<()> {
    use secrecy::ExposeSecret;
    let env = DemoEnv::start(database_url.expose_secret(), port, static_dir, |_| {}).await?;
    let u = &env.url;
    println!();
    println!("  CRM-service for Outlook — demo");
    println!("  Outlook stand-in with the task pane: {u}/workbench/index.html");
    println!("  The task pane alone:                 {u}/index.html");
    println!("  Manifest (to sideload):              {u}/manifest.xml");
    println!(
        "  CRM simulator:                       {}  (API key {}, user {} / {})",
        env.crm_url, env.demo_crm.api_key, env.demo_crm.username, env.demo_crm.password
    );
    println!(
        "  Graph simulator:                     {}  (mailbox {})",
        env.graph_url, env.mailbox.email
    );
    println!("  Ctrl-C stops everything.");
    println!();
    serve::shutdown_signal().await;
    env.stop().await;
    Ok(())
}
