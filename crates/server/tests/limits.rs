//! Request limits over real HTTP: bodies that are not UTF-8 and requests that outlast the time limit get
//! a clear 4xx (never a 500 or a hang) and change nothing.

mod common;

use std::time::Duration;

use common::{Sims, TestServer, session_for, sign_in};
use serde_json::Value;

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

/// A JSON object whose only key holds bytes that are not UTF-8.
const NOT_UTF8: &[u8] = b"{\"history_days\": \"\xff\xfe\xc3\x28\"}";

#[tokio::test]
async fn json_bodies_that_are_not_utf8_get_a_clear_400_on_every_kind_of_route() {
    let sims = Sims::start().await;
    let server = TestServer::start_with(|c| sims.configure(c)).await;
    let token = session_for(&server, "maija@esimerkki.fi").await;
    for (method, path, auth) in [
        ("PUT", "/api/preferences", true),
        ("POST", "/api/pairing", true),
        ("POST", "/api/login", true),
        ("POST", "/api/session", false),
    ] {
        let mut req = client()
            .request(method.parse().unwrap(), server.url(path))
            .header("content-type", "application/json")
            .body(NOT_UTF8);
        if auth {
            req = req.bearer_auth(&token);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 400, "{method} {path}");
        let err: Value = resp.json().await.unwrap();
        assert_eq!(err["code"], "bad_request", "{method} {path}: {err}");
        assert!(err["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    // Graph's notification endpoint answers a body it cannot read with a 4xx too.
    let resp = client()
        .post(server.url("/graph/notifications"))
        .header("content-type", "application/json")
        .body(NOT_UTF8)
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_client_error(), "{}", resp.status());
    // Nothing was stored.
    let pool = server.db.pool().await;
    let stored: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM pairings) + (SELECT count(*) FROM preferences)",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(stored, 0);
}

#[tokio::test]
async fn a_request_that_outlasts_the_time_limit_gets_408_and_stores_nothing() {
    let sims = Sims::start().await;
    let server = TestServer::start_with(|c| {
        sims.configure(c);
        c.request_timeout_secs = 1;
    })
    .await;
    let token = sign_in(&server, &sims).await;
    // The pairing's live login check waits on a CRM that answers only after 4 s.
    sims.crm.inject_fault(sim::crm::FaultRule::new(
        Some("POST"),
        "/api/v1/auth",
        sim::crm::FaultKind::Latency { ms: 4000 },
    ));
    let resp = client()
        .post(server.url("/api/pairing"))
        .bearer_auth(&token)
        .json(&sims.pairing_request())
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 408);
    let err: Value = resp.json().await.unwrap();
    assert_eq!(err["code"], "request_timeout", "{err}");
    assert!(err["message"].as_str().is_some_and(|m| !m.is_empty()));
    sims.crm.clear_faults();
    // The cut-short request stored nothing, and the server serves the next request normally.
    let resp = client()
        .get(server.url("/api/pairing"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404, "not paired");
    let pool = server.db.pool().await;
    let stored: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM pairings)
              + (SELECT count(*) FROM secrets WHERE kind LIKE 'crm_%')",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(stored, 0, "no pairing and no CRM secret stored");
    let resp = client()
        .post(server.url("/api/pairing"))
        .bearer_auth(&token)
        .json(&sims.pairing_request())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap());
}
