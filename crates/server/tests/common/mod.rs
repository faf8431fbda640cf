//! A real server on a TCP port with its own fresh database, for integration tests.
#![allow(dead_code)] // each test binary uses a different part

use crm_server::{AppState, Config, db, serve};
use test_db::TestDb;
use tokio::net::TcpListener;

pub struct TestServer {
    pub base: String,
    pub db: TestDb,
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
        tokio::spawn(serve::serve_on(listener, state, async {
            let _ = rx.await;
        }));
        Self {
            base,
            db,
            stop: Some(tx),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}
