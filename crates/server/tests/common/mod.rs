//! A real server on a TCP port with its own fresh database, for integration tests.
#![allow(dead_code)] // each test binary uses a different part

use crm_server::{AppState, Config, db, serve};
use test_db::TestDb;
use tokio::net::TcpListener;

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
