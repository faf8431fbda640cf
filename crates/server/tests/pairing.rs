//! Sign-in and pairing against the real simulators: every live check has its own clear error and
//! stores nothing; a good pairing is stored once; unpair and forced removal.

mod common;

use common::{Sims, TestServer, paired, sign_in};
use serde_json::{Value, json};

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

async fn start() -> (Sims, TestServer) {
    let sims = Sims::start().await;
    let server = TestServer::start_with(|c| sims.configure(c)).await;
    (sims, server)
}

async fn pair(server: &TestServer, token: &str, body: &Value, lang: &str) -> reqwest::Response {
    client()
        .post(server.url("/api/pairing"))
        .bearer_auth(token)
        .header("accept-language", lang)
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn pairing_status(server: &TestServer, token: &str) -> u16 {
    client()
        .get(server.url("/api/pairing"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn identity_token_is_exchanged_for_a_session_and_bad_tokens_are_refused() {
    let (sims, server) = start().await;
    let token = sign_in(&server, &sims).await;
    let cals: Value = client()
        .get(server.url("/api/calendars"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        cals.as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == sims.mailbox.calendar_id.as_str()),
        "{cals}"
    );

    let m = &sims.mailbox;
    let now = chrono::Utc::now();
    let expired = sims.graph.mint_id_token_at(
        &m.tenant_id,
        &m.user_id,
        &m.email,
        sim::graph::DEFAULT_CLIENT_ID,
        now - chrono::Duration::hours(3),
        now - chrono::Duration::hours(2),
    );
    let wrong_audience =
        sims.graph
            .mint_id_token(&m.tenant_id, &m.user_id, &m.email, "someone-else");
    // Change one character inside the signature (not the last one, whose low bits are only padding).
    let good = sims.identity_token();
    let sig_start = good.rfind('.').unwrap() + 1;
    let i = sig_start + 10;
    let flipped = if &good[i..=i] == "A" { "Q" } else { "A" };
    let tampered = format!("{}{flipped}{}", &good[..i], &good[i + 1..]);
    for (name, bad, code) in [
        ("expired", expired, "token_expired"),
        ("wrong audience", wrong_audience, "unauthorized"),
        ("bad signature", tampered, "unauthorized"),
        ("garbage", "not-a-token".to_owned(), "unauthorized"),
    ] {
        let resp = client()
            .post(server.url("/api/session"))
            .json(&json!({ "identity_token": bad }))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 401, "{name}");
        let err: Value = resp.json().await.unwrap();
        assert_eq!(err["code"], code, "{name}: {err}");
    }
}

#[tokio::test]
async fn each_failed_live_check_has_its_own_error_and_stores_nothing() {
    let (sims, server) = start().await;
    let token = sign_in(&server, &sims).await;
    let good = sims.pairing_request();
    let with = |k: &str, v: &str| {
        let mut b = good.clone();
        b[k] = json!(v);
        b
    };
    let cases = [
        (
            with("api_key", "crm_wrong"),
            422,
            "wrong_api_key",
            "api_key",
        ),
        (
            with("crm_password", "väärä"),
            422,
            "wrong_password",
            "crm_password",
        ),
        (
            with("crm_address", "http://127.0.0.1:9"),
            502,
            "crm_unreachable",
            "crm_address",
        ),
        (
            with("crm_address", "not a url"),
            422,
            "invalid_address",
            "crm_address",
        ),
        (
            with("email", "joku.muu@esimerkki.fi"),
            422,
            "email_mismatch",
            "email",
        ),
        (
            with("calendar_id", "AAMk-no-such-calendar"),
            422,
            "calendar_not_found",
            "calendar_id",
        ),
        (with("api_key", ""), 422, "required", "api_key"),
    ];
    for (body, status, code, field) in cases {
        let resp = pair(&server, &token, &body, "fi-FI").await;
        assert_eq!(resp.status().as_u16(), status, "{code}");
        let err: Value = resp.json().await.unwrap();
        assert_eq!(err["code"], code, "{err}");
        assert_eq!(err["field"], field, "{err}");
        assert!(!err["message"].as_str().unwrap().is_empty());
        assert_eq!(
            pairing_status(&server, &token).await,
            404,
            "{code} stored something"
        );
    }
    let pool = server.db.pool().await;
    let secrets: i64 = sqlx::query_scalar("SELECT count(*) FROM secrets WHERE kind LIKE 'crm%'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(secrets, 0);
    pool.close().await;
}

#[tokio::test]
async fn a_locked_crm_user_is_told_so() {
    let (sims, server) = start().await;
    let token = sign_in(&server, &sims).await;
    let mut body = sims.pairing_request();
    body["crm_username"] = json!(sims.demo_crm.locked_username);
    // The seeded locked user's password is its user name.
    body["crm_password"] = json!(sims.demo_crm.locked_username);
    let resp = pair(&server, &token, &body, "en").await;
    assert_eq!(resp.status(), 403);
    let err: Value = resp.json().await.unwrap();
    assert!(err["message"].as_str().unwrap().contains("locked"), "{err}");
}

#[tokio::test]
async fn a_good_pairing_is_stored_once_and_a_second_one_must_unpair_first() {
    let (sims, server) = start().await;
    let token = paired(&server, &sims).await;
    let summary: Value = client()
        .get(server.url("/api/pairing"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(summary["crm_username"], sims.demo_crm.username.as_str());
    assert_eq!(summary["calendar_id"], sims.mailbox.calendar_id.as_str());
    let again = pair(&server, &token, &sims.pairing_request(), "en").await;
    assert_eq!(again.status(), 409);
    let err: Value = again.json().await.unwrap();
    assert_eq!(err["code"], "already_paired");

    // The API key and the CRM token are stored, encrypted: the raw table holds neither in clear.
    let pool = server.db.pool().await;
    let raw: Vec<Vec<u8>> = sqlx::query_scalar("SELECT ciphertext FROM secrets")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert!(raw.len() >= 2);
    let key = sims.demo_crm.api_key.as_bytes();
    let pw = sims.demo_crm.password.as_bytes();
    for c in &raw {
        assert!(!c.windows(key.len()).any(|w| w == key), "API key in clear");
        assert!(
            pw.len() < 4 || !c.windows(pw.len()).any(|w| w == pw),
            "password in clear"
        );
    }
    let dump: String = sqlx::query_scalar("SELECT string_agg(s::text, ' ') FROM secrets s")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(!dump.contains(&sims.demo_crm.api_key));
    pool.close().await;
}

#[tokio::test]
async fn unpair_removes_our_side_and_the_subscription() {
    let (sims, server) = start().await;
    let token = paired(&server, &sims).await;
    let pool = server.db.pool().await;
    let subs: i64 = sqlx::query_scalar("SELECT count(*) FROM graph_subscriptions")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(subs, 1, "pairing subscribes to change notifications");
    let resp = client()
        .delete(server.url("/api/pairing"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    assert_eq!(pairing_status(&server, &token).await, 404);
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM secrets WHERE kind LIKE 'crm%'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(left, 0);
    pool.close().await;
    // Pairing again works.
    let resp = pair(&server, &token, &sims.pairing_request(), "en").await;
    assert_eq!(resp.status(), 201);
}

#[tokio::test]
async fn forced_removal_works_without_graph_and_says_what_was_left_behind() {
    let (sims, server) = start().await;
    let token = paired(&server, &sims).await;
    // Graph is down: every call answers 503.
    sims.graph.add_fault(sim::graph::Fault {
        method: None,
        route: "*".into(),
        mailbox: None,
        kind: sim::graph::FaultKind::Status {
            status: 503,
            retry_after: None,
        },
        times: None,
    });
    let plain = client()
        .delete(server.url("/api/pairing"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(plain.status(), 502);
    let err: Value = plain.json().await.unwrap();
    assert_eq!(err["code"], "unpair_failed");
    assert_eq!(
        pairing_status(&server, &token).await,
        200,
        "a failed unpair keeps the pairing"
    );

    let forced = client()
        .delete(server.url("/api/pairing?force=true"))
        .bearer_auth(&token)
        .header("accept-language", "fi")
        .send()
        .await
        .unwrap();
    assert_eq!(forced.status(), 200);
    let body: Value = forced.json().await.unwrap();
    let kinds: Vec<&str> = body["left_behind"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"graph_subscription") && kinds.contains(&"event_marks"),
        "{body}"
    );
    assert_eq!(pairing_status(&server, &token).await, 404);
}
