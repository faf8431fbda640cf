//! Preferences, sessions and error reports over HTTP: validation, audit, isolation, logout.

mod common;

use common::{TestServer, session_for};
use serde_json::{Value, json};

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

async fn get_prefs(server: &TestServer, token: &str) -> reqwest::Response {
    client()
        .get(server.url("/api/preferences"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn preferences_round_trip_and_each_change_is_audited() {
    let server = TestServer::start().await;
    let token = session_for(&server, "maija@esimerkki.fi").await;
    let mut prefs: Value = get_prefs(&server, &token).await.json().await.unwrap();
    assert_eq!(prefs["private_entries"], "busy");
    prefs["outlook_to_crm"]["history_days"] = json!(60);
    prefs["crm_to_outlook"]["future_days"] = json!(365);
    prefs["default_activity_type"] = Value::Null;
    let resp = client()
        .put(server.url("/api/preferences"))
        .bearer_auth(&token)
        .json(&prefs)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    let back: Value = get_prefs(&server, &token).await.json().await.unwrap();
    assert_eq!(back, prefs);

    let pool = server.db.pool().await;
    let detail: Value = sqlx::query_scalar(
        "SELECT detail FROM audit_log WHERE action = 'preferences.update' ORDER BY id DESC LIMIT 1",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(detail["outlook_to_crm.history_days"]["to"], 60);
    pool.close().await;
}

#[tokio::test]
async fn out_of_range_days_are_refused_per_field_in_the_callers_language() {
    let server = TestServer::start().await;
    let token = session_for(&server, "maija@esimerkki.fi").await;
    let mut prefs: Value = get_prefs(&server, &token).await.json().await.unwrap();
    prefs["outlook_to_crm"]["history_days"] = json!(61);
    prefs["crm_to_outlook"]["future_days"] = json!(366);
    let resp = client()
        .put(server.url("/api/preferences"))
        .bearer_auth(&token)
        .header("accept-language", "fi-FI")
        .json(&prefs)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
    let err: Value = resp.json().await.unwrap();
    assert_eq!(err["code"], "out_of_range");
    assert!(err["field"].as_str().unwrap().contains("history"), "{err}");
    assert!(err["message"].as_str().unwrap().contains("0–60"), "{err}");
    assert_eq!(err["details"].as_array().unwrap().len(), 2);
    // Nothing was stored.
    let still: Value = get_prefs(&server, &token).await.json().await.unwrap();
    assert_ne!(still["outlook_to_crm"]["history_days"], 61);
}

#[tokio::test]
async fn malformed_bodies_get_clear_4xx_never_500() {
    let server = TestServer::start().await;
    let token = session_for(&server, "maija@esimerkki.fi").await;
    let put = |body: &'static str, ct: &'static str| {
        client()
            .put(server.url("/api/preferences"))
            .bearer_auth(&token)
            .header("content-type", ct)
            .body(body)
    };
    for (body, ct, status) in [
        ("{not json", "application/json", 400),
        (r#"{"surprise": 1}"#, "application/json", 400),
        (r#"{"outlook_to_crm": "x"}"#, "application/json", 400),
        ("{}", "text/plain", 400),
    ] {
        let resp = put(body, ct).send().await.unwrap();
        assert_eq!(resp.status(), status, "{body} as {ct}");
        let err: Value = resp.json().await.unwrap();
        assert_eq!(err["code"], "bad_request", "{body}");
    }
    let huge = "x".repeat(2 * 1024 * 1024);
    let resp = client()
        .put(server.url("/api/preferences"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 413);
}

#[tokio::test]
async fn requests_without_or_with_bad_tokens_are_401() {
    let server = TestServer::start().await;
    assert_eq!(get_prefs(&server, "").await.status(), 401);
    assert_eq!(get_prefs(&server, "garbage").await.status(), 401);
    let resp = client()
        .get(server.url("/api/preferences"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let err: Value = resp.json().await.unwrap();
    assert_eq!(err["code"], "unauthorized");
}

#[tokio::test]
async fn one_users_token_only_ever_sees_their_own_preferences() {
    let server = TestServer::start().await;
    let a = session_for(&server, "a@esimerkki.fi").await;
    let b = session_for(&server, "b@esimerkki.fi").await;
    let mut prefs: Value = get_prefs(&server, &a).await.json().await.unwrap();
    prefs["private_entries"] = json!("skip");
    let resp = client()
        .put(server.url("/api/preferences"))
        .bearer_auth(&a)
        .json(&prefs)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let theirs: Value = get_prefs(&server, &b).await.json().await.unwrap();
    assert_eq!(theirs["private_entries"], "busy");
}

#[tokio::test]
async fn logout_revokes_the_token_and_refresh_extends_a_live_one() {
    let server = TestServer::start().await;
    let token = session_for(&server, "maija@esimerkki.fi").await;
    let refreshed: Value = client()
        .post(server.url("/api/session/refresh"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let new_token = refreshed["token"].as_str().unwrap().to_owned();
    assert_eq!(refreshed["email"], "maija@esimerkki.fi");
    assert_eq!(get_prefs(&server, &new_token).await.status(), 200);
    let resp = client()
        .delete(server.url("/api/session"))
        .bearer_auth(&new_token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    // Both tokens name the same, now revoked, session.
    assert_eq!(get_prefs(&server, &new_token).await.status(), 401);
    assert_eq!(get_prefs(&server, &token).await.status(), 401);
}

#[tokio::test]
async fn error_reports_are_refused_unless_enabled_and_stored_scrubbed_when_enabled() {
    let server = TestServer::start().await;
    let token = session_for(&server, "maija@esimerkki.fi").await;
    let report = json!({"message": "save failed password=hunter2 for maija@esimerkki.fi", "context": "pairing.save"});
    let send = || {
        client()
            .post(server.url("/api/error-reports"))
            .bearer_auth(&token)
            .json(&report)
            .send()
    };
    let resp = send().await.unwrap();
    assert_eq!(resp.status(), 403);
    let mut prefs: Value = get_prefs(&server, &token).await.json().await.unwrap();
    prefs["send_error_reports"] = json!(true);
    client()
        .put(server.url("/api/preferences"))
        .bearer_auth(&token)
        .json(&prefs)
        .send()
        .await
        .unwrap();
    assert_eq!(send().await.unwrap().status(), 202);
    let pool = server.db.pool().await;
    let stored: Vec<String> = sqlx::query_scalar("SELECT message FROM error_reports")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    assert!(
        !stored[0].contains("hunter2") && !stored[0].contains("maija@"),
        "{}",
        stored[0]
    );
    pool.close().await;
}
