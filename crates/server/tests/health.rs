//! Liveness, readiness and metrics on a real server over TCP, with a real Postgres.

use std::time::{Duration, Instant};

mod common;

use common::TestServer;

#[tokio::test]
async fn healthz_answers_ok_over_tcp() {
    let server = TestServer::start().await;
    let resp = reqwest::get(format!("{}/healthz", server.base))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["status"], "ok");
}

#[tokio::test]
async fn readyz_is_ready_when_the_database_answers() {
    let server = TestServer::start().await;
    let resp = reqwest::get(format!("{}/readyz", server.base))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn readyz_is_503_quickly_when_the_database_goes_away() {
    let server = TestServer::start().await;
    assert_eq!(
        reqwest::get(format!("{}/readyz", server.base))
            .await
            .unwrap()
            .status(),
        200
    );
    // Terminates the pool's connections and removes the database: every new connection now fails.
    server.db.drop_now().await;
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
    let server = TestServer::start().await;
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
    let server = TestServer::start().await;
    let resp = reqwest::get(format!("{}/no/such/route", server.base))
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    assert_eq!(resp.headers()["x-content-type-options"], "nosniff");
}
