//! The pane's CRM-facing endpoints against the simulators: picklists in the picklist language,
//! relation search, the item pane, saving a message, and logging in with and without "remember".

mod common;

use common::{Sims, TestServer, paired};
use serde_json::{Value, json};

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

async fn setup() -> (Sims, TestServer, String) {
    let sims = Sims::start().await;
    let server = TestServer::start_with(|c| sims.configure(c)).await;
    let token = paired(&server, &sims).await;
    (sims, server, token)
}

async fn get(server: &TestServer, token: &str, path: &str) -> (u16, Value) {
    let r = client()
        .get(server.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

async fn send(
    server: &TestServer,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Value,
) -> (u16, Value) {
    let r = client()
        .request(method, server.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn activity_types_come_in_the_requested_picklist_language() {
    let (_sims, server, token) = setup().await;
    let (s, fi) = get(&server, &token, "/api/picklists/activity-types?lang=fi").await;
    assert_eq!(s, 200);
    let (_, en) = get(&server, &token, "/api/picklists/activity-types?lang=en").await;
    let label = |v: &Value, value: &str| {
        v.as_array()
            .unwrap()
            .iter()
            .find(|e| e["value"] == value)
            .map(|e| e["label"].as_str().unwrap().to_owned())
    };
    assert_eq!(label(&fi, "Tapaaminen").as_deref(), Some("Tapaaminen"));
    assert_eq!(label(&en, "Tapaaminen").as_deref(), Some("Meeting"));
    let (_, sv) = get(&server, &token, "/api/picklists/activity-statuses?lang=sv").await;
    assert_eq!(label(&sv, "Valmis").as_deref(), Some("Klar"));
    let (s, _) = get(&server, &token, "/api/picklists/activity-types?lang=de").await;
    assert_eq!(s, 400, "unknown picklist language");
}

#[tokio::test]
async fn relation_search_finds_by_name_and_offers_a_customers_relations_before_typing() {
    let (sims, server, token) = setup().await;
    let (s, accounts) = get(
        &server,
        &token,
        "/api/relations/search?kind=accounts&q=savon",
    )
    .await;
    assert_eq!(s, 200);
    let first = &accounts.as_array().unwrap()[0];
    assert_eq!(first["name"], "Savon Sähkö Oyj");
    let account = &sims.demo_crm.account_ids[0];
    let (_, related) = get(
        &server,
        &token,
        &format!("/api/relations/search?kind=contacts&related_to={account}"),
    )
    .await;
    let related = related.as_array().unwrap();
    assert!(!related.is_empty());
    assert!(related.iter().all(|r| r["related"] == true));
    let long = "x".repeat(300);
    let (s, err) = get(
        &server,
        &token,
        &format!("/api/relations/search?kind=accounts&q={long}"),
    )
    .await;
    assert_eq!(s, 422, "{err}");
}

#[tokio::test]
async fn choosing_a_type_and_relations_in_the_item_pane_reaches_the_crm() {
    let (sims, server, token) = setup().await;
    let email = sims.mailbox.email.clone();
    let start = (chrono::Utc::now() + chrono::Duration::days(3))
        .format("%Y-%m-%dT12:00:00")
        .to_string();
    let end = (chrono::Utc::now() + chrono::Duration::days(3))
        .format("%Y-%m-%dT13:00:00")
        .to_string();
    let event_id = sims
        .graph
        .create_event(&email, None, json!({"subject": "Soitto Savon Sähköön", "start": {"dateTime": start, "timeZone": "UTC"}, "end": {"dateTime": end, "timeZone": "UTC"}}))
        .unwrap();
    let path = api_types::routes::item(&event_id);
    let (s, info) = get(&server, &token, &path).await;
    assert_eq!(s, 200, "{info}");
    assert_eq!(info["sync_state"], "pending");

    let account = json!({"id": sims.demo_crm.account_ids[0], "name": "?"});
    let (s, err) = send(
        &server,
        &token,
        reqwest::Method::PUT,
        &path,
        json!({"activity_type": "Lounas", "status": null, "relations": {}}),
    )
    .await;
    assert_eq!(s, 422);
    assert_eq!(err["code"], "unknown_activity_type");
    let (s, info) = send(
        &server,
        &token,
        reqwest::Method::PUT,
        &path,
        json!({"activity_type": "Soitto", "status": "Avoin", "relations": {"accounts": [account]}}),
    )
    .await;
    assert_eq!(s, 200, "{info}");
    assert_eq!(info["activity_type"], "Soitto");

    let pairing_id = server.pairing_id().await;
    crm_server::sync::run_pairing(
        &server.state,
        pairing_id,
        crm_server::worker::JobKind::OutlookToCrm,
    )
    .await
    .unwrap();
    let created: Vec<Value> = sims
        .crm
        .list(sims.demo_crm.company_id, "activities")
        .into_iter()
        .filter(|a| a["subject"] == "Soitto Savon Sähköön")
        .collect();
    assert_eq!(created.len(), 1);
    assert_eq!(created[0]["activity_type"], "Soitto");
    assert_eq!(created[0]["status"], "Avoin");
    assert!(
        created[0]
            .to_string()
            .contains(&sims.demo_crm.account_ids[0]),
        "{}",
        created[0]
    );
    let (_, info) = get(&server, &token, &path).await;
    assert_eq!(info["sync_state"], "synced");
    assert_eq!(
        info["relations"]["accounts"][0]["id"],
        sims.demo_crm.account_ids[0].as_str()
    );
}

#[tokio::test]
async fn saving_a_message_twice_stores_one_crm_email() {
    let (sims, server, token) = setup().await;
    let message = &sims.mailbox.message_ids[0];
    let path = api_types::routes::message_save(message);
    let (s, first) = send(
        &server,
        &token,
        reqwest::Method::POST,
        &path,
        json!({"relations": {}, "include_attachments": false}),
    )
    .await;
    assert_eq!(s, 200, "{first}");
    assert_eq!(first["already_saved"], false);
    let (_, second) = send(
        &server,
        &token,
        reqwest::Method::POST,
        &path,
        json!({"relations": {}, "include_attachments": false}),
    )
    .await;
    assert_eq!(second["already_saved"], true);
    assert_eq!(second["crm_email_id"], first["crm_email_id"]);
    assert_eq!(sims.crm.list(sims.demo_crm.company_id, "emails").len(), 1);
    let (_, info) = get(&server, &token, &api_types::routes::message(message)).await;
    assert_eq!(info["saved"], true);
}

#[tokio::test]
async fn login_with_remember_enables_auto_login_and_logout_forgets_it() {
    let (sims, server, token) = setup().await;
    let creds = json!({"username": sims.demo_crm.username, "password": sims.demo_crm.password, "remember": true});
    let (s, state) = send(&server, &token, reqwest::Method::POST, "/api/login", creds).await;
    assert_eq!(s, 200, "{state}");
    assert_eq!(state["remembered"], true);
    let (s, state) = send(
        &server,
        &token,
        reqwest::Method::POST,
        "/api/login/auto",
        Value::Null,
    )
    .await;
    assert_eq!(s, 200, "{state}");
    assert_eq!(state["logged_in"], true);
    let (_, state) = send(
        &server,
        &token,
        reqwest::Method::POST,
        "/api/logout",
        Value::Null,
    )
    .await;
    assert_eq!(state["logged_in"], false);
    assert_eq!(state["remembered"], false);
    let (s, err) = send(
        &server,
        &token,
        reqwest::Method::POST,
        "/api/login/auto",
        Value::Null,
    )
    .await;
    assert_eq!(s, 409);
    assert_eq!(err["code"], "no_remembered_credentials");
}

#[tokio::test]
async fn login_without_remember_stores_no_password() {
    let (sims, server, token) = setup().await;
    let creds = json!({"username": sims.demo_crm.username, "password": sims.demo_crm.password, "remember": false});
    let (s, state) = send(&server, &token, reqwest::Method::POST, "/api/login", creds).await;
    assert_eq!(s, 200);
    assert_eq!(state["remembered"], false);
    let pool = server.db.pool().await;
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM secrets WHERE kind = 'crm_password'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(n, 0);
    pool.close().await;
}

#[tokio::test]
async fn five_wrong_passwords_in_a_row_start_a_cool_down() {
    let (sims, server, token) = setup().await;
    let wrong = json!({"username": sims.demo_crm.username, "password": "väärä", "remember": false});
    for i in 0..4 {
        let (s, err) = send(
            &server,
            &token,
            reqwest::Method::POST,
            "/api/login",
            wrong.clone(),
        )
        .await;
        assert_eq!(s, 422, "attempt {i}: {err}");
        assert_eq!(err["code"], "wrong_password");
    }
    let (s, err) = send(
        &server,
        &token,
        reqwest::Method::POST,
        "/api/login",
        wrong.clone(),
    )
    .await;
    assert_eq!(s, 429, "{err}");
    assert_eq!(err["code"], "login_cooldown");
    // Even the right password waits for the cool-down.
    let right = json!({"username": sims.demo_crm.username, "password": sims.demo_crm.password, "remember": false});
    let (s, _) = send(&server, &token, reqwest::Method::POST, "/api/login", right).await;
    assert_eq!(s, 429);
    let (_, state) = get(&server, &token, "/api/login").await;
    assert!(state["cooldown_until"].is_string(), "{state}");
}

#[tokio::test]
async fn another_signed_in_user_can_neither_see_nor_change_a_pairing_that_is_not_theirs() {
    let (sims, server, token_a) = setup().await;
    // A second user of the same tenant, signed in with their own identity token.
    let m = &sims.mailbox;
    let other = sims.graph.mint_id_token(
        &m.tenant_id,
        "other-user-oid",
        "toinen@esimerkki.fi",
        sim::graph::DEFAULT_CLIENT_ID,
    );
    let s: Value = client()
        .post(server.url("/api/session"))
        .json(&json!({"identity_token": other}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token_b = s["token"].as_str().unwrap().to_owned();
    for path in [
        "/api/pairing",
        "/api/sync/status",
        "/api/login",
        "/api/picklists/activity-types?lang=fi",
    ] {
        let (status, body) = get(&server, &token_b, path).await;
        assert_eq!(status, 404, "{path}: {body}");
        assert_eq!(body["code"], "not_paired", "{path}");
    }
    let (status, _) = get(&server, &token_b, &api_types::routes::item(&m.event_ids[0])).await;
    assert_eq!(status, 404);
    let (status, _) = send(
        &server,
        &token_b,
        reqwest::Method::DELETE,
        "/api/pairing?force=true",
        Value::Null,
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = send(
        &server,
        &token_b,
        reqwest::Method::POST,
        "/api/sync/now",
        Value::Null,
    )
    .await;
    assert_eq!(status, 404);
    // A's pairing is untouched.
    let (status, _) = get(&server, &token_a, "/api/pairing").await;
    assert_eq!(status, 200);
}
