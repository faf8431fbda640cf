//! Liveness, readiness and metrics on a real server over TCP, with a real Postgres.

use std::time::{Duration, Instant};

use crm_server::{AppState, Config, db, serve};
use test_db::TestDb;
use tokio::net::TcpListener;

struct Running {
    base: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

async fn start(database_url: &str, migrate: bool) -> Running {
    let config = Config::for_database(database_url);
    let pool = db::connect(database_url).await.expect("connect");
    if migrate {
        db::migrate(&pool).await.expect("migrate");
    }
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(serve::serve_on(
        listener,
        AppState::new(pool, config).unwrap(),
        async {
            let _ = rx.await;
        },
    ));
    Running {
        base,
        stop: Some(tx),
    }
}

#[tokio::test]
async fn healthz_answers_ok_over_tcp() {
    let db = TestDb::new().await;
    let server = start(db.url(), true).await;
    let resp = reqwest::get(format!("{}/healthz", server.base))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["status"], "ok");
}

#[tokio::test]
async fn readyz_is_ready_when_the_database_answers() {
    let db = TestDb::new().await;
    let server = start(db.url(), true).await;
    let resp = reqwest::get(format!("{}/readyz", server.base))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn readyz_is_503_quickly_when_the_database_goes_away() {
    let db = TestDb::new().await;
    let server = start(db.url(), true).await;
    assert_eq!(
        reqwest::get(format!("{}/readyz", server.base))
            .await
            .unwrap()
            .status(),
        200
    );
    // Terminates the pool's connections and removes the database: every new connection now fails.
    db.drop_now().await;
    let started = Instant::now();
    let resp = reqwest::Client::new()
        .get(format!("{}/readyz", server.base))
        .timeout(Duration::from_secs(15))
        .send()
        .await
        .expect("readyz must answer, not hang");
    assert_eq!(resp.status(), 503);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "readyz took {:?}",
        started.elapsed()
    );
    // Liveness is independent of the database.
    assert_eq!(
        reqwest::get(format!("{}/healthz", server.base))
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn metrics_expose_request_counts_by_route_template() {
    let db = TestDb::new().await;
    let server = start(db.url(), true).await;
    for _ in 0..3 {
        reqwest::get(format!("{}/healthz", server.base))
            .await
            .unwrap();
    }
    let resp = reqwest::get(format!("{}/metrics", server.base))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    let text = resp.text().await.unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("crm_http_requests_total{") && l.contains(r#"route="/healthz""#))
        .unwrap_or_else(|| panic!("no healthz counter in:\n{text}"));
    let count: f64 = line.rsplit(' ').next().unwrap().parse().unwrap();
    assert_eq!(count, 3.0, "{line}");
    assert!(text.trim_end().ends_with("# EOF"));
}

#[tokio::test]
async fn unknown_routes_are_404_and_responses_carry_security_headers() {
    let db = TestDb::new().await;
    let server = start(db.url(), true).await;
    let resp = reqwest::get(format!("{}/no/such/route", server.base))
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    assert_eq!(resp.headers()["x-content-type-options"], "nosniff");
}
