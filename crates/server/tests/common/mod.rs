//! A real server on a TCP port with its own fresh database, for integration tests.
#![allow(dead_code)] // each test binary uses a different part

pub mod api;
pub mod process;
pub mod worker;

use crm_server::{AppState, Config, db, serve};
use test_db::TestDb;
use tokio::net::TcpListener;
use uuid::Uuid;

pub struct TestServer {
    pub base: String,
    pub db: TestDb,
    pub state: AppState,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// Starts a migrated server; `configure` may adjust the configuration (URLs of simulators, …).
    pub async fn start_with(configure: impl FnOnce(&mut Config)) -> Self {
        let db = TestDb::new().await;
        let mut config = Config::for_database(db.url());
        configure(&mut config);
        let pool = db::connect(db.url()).await.expect("connect");
        db::migrate(&pool).await.expect("migrate");
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        if config.public_url.is_none() {
            // Webhook URLs given to Graph must reach this very server.
            config.public_url = Some(base.parse().unwrap());
        }
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let state = AppState::new(pool, config).expect("state");
        tokio::spawn(serve::serve_on(listener, state.clone(), async {
            let _ = rx.await;
        }));
        Self {
            base,
            db,
            state,
            stop: Some(tx),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The id of the one pairing stored (for tests that pair a single mailbox).
    pub async fn pairing_id(&self) -> Uuid {
        let pool = self.db.pool().await;
        let id = sqlx::query_scalar("SELECT id FROM pairings")
            .fetch_one(&pool)
            .await
            .unwrap();
        pool.close().await;
        id
    }
}

/// Opens a pane session for a made-up identity, as `POST /api/session` does after verifying the token.
pub async fn session_for(server: &TestServer, email: &str) -> String {
    let identity = crm_server::http::session::Identity {
        tenant_id: "tenant-1".into(),
        object_id: format!("oid-{email}"),
        email: email.into(),
        display_name: email.into(),
    };
    crm_server::http::session::open(&server.state, &identity)
        .await
        .expect("open session")
        .token
}

/// Both simulators, seeded with the demo company and mailbox, on their own ports.
pub struct Sims {
    pub crm: sim::crm::CrmSim,
    pub graph: sim::graph::GraphSim,
    pub crm_url: String,
    pub graph_url: String,
    pub demo_crm: sim::crm::DemoCrm,
    pub mailbox: sim::graph::DemoMailbox,
    _running: Vec<sim::Running>,
}

impl Sims {
    pub async fn start() -> Self {
        let any = "127.0.0.1:0".parse().unwrap();
        let crm = sim::crm::CrmSim::new();
        let demo_crm = crm.seed_demo();
        let crm_running = sim::serve(crm.router(), any).await.unwrap();
        let graph = sim::graph::GraphSim::new();
        let graph_running = sim::serve(graph.router(), any).await.unwrap();
        graph.set_base_url(&graph_running.base_url);
        let mailbox = graph.seed_demo();
        Self {
            crm_url: crm_running.base_url.clone(),
            graph_url: graph_running.base_url.clone(),
            crm,
            graph,
            demo_crm,
            mailbox,
            _running: vec![crm_running, graph_running],
        }
    }

    /// Points a server configuration at these simulators.
    pub fn configure(&self, c: &mut Config) {
        c.graph_base_url = format!("{}/v1.0", self.graph_url).parse().unwrap();
        c.identity_authority = self.graph_url.parse().unwrap();
        c.identity_tenant = self.mailbox.tenant_id.clone();
        c.client_id = sim::graph::DEFAULT_CLIENT_ID.into();
        c.client_secret = Some(sim::graph::DEFAULT_CLIENT_SECRET.into());
        c.graph_max_wait_secs = 3;
    }

    /// The add-in's identity token for the demo mailbox's user.
    pub fn identity_token(&self) -> String {
        self.graph.mint_id_token(
            &self.mailbox.tenant_id,
            &self.mailbox.user_id,
            &self.mailbox.email,
            sim::graph::DEFAULT_CLIENT_ID,
        )
    }

    /// A pairing request that passes every check.
    pub fn pairing_request(&self) -> serde_json::Value {
        serde_json::json!({
            "api_key": self.demo_crm.api_key,
            "crm_address": self.crm_url,
            "crm_username": self.demo_crm.username,
            "crm_password": self.demo_crm.password,
            "email": self.mailbox.email,
            "calendar_id": self.mailbox.calendar_id,
        })
    }
}

/// Signs in through `POST /api/session` with the simulator's identity token; returns our JWT.
pub async fn sign_in(server: &TestServer, sims: &Sims) -> String {
    api::session(
        &reqwest::Client::new(),
        &server.base,
        &sims.identity_token(),
    )
    .await
}

/// A fully paired server: signed in and paired with the demo CRM user and calendar.
pub async fn paired(server: &TestServer, sims: &Sims) -> String {
    api::pair(
        &reqwest::Client::new(),
        &server.base,
        &sims.identity_token(),
        &sims.pairing_request(),
    )
    .await
}
