//! Logs of a full pairing, login and sync (at TRACE level, every crate) contain no secret: not the API
//! key, not the password, not the identity token, not our session token, not the CRM token.

mod common;

use std::sync::{Arc, Mutex};

use common::{Sims, TestServer, paired};
use serde_json::json;

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test]
async fn a_full_pairing_login_and_sync_logs_no_secret() {
    let capture = Capture::default();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(capture.clone())
        .with_ansi(false)
        .init();

    let sims = Sims::start().await;
    let server = TestServer::start_with(|c| sims.configure(c)).await;
    let identity_token = sims.identity_token();
    let token = paired(&server, &sims).await;
    let client = reqwest::Client::new();
    let resp = client
        .post(server.url("/api/login"))
        .bearer_auth(&token)
        .json(&json!({"username": sims.demo_crm.username, "password": sims.demo_crm.password, "remember": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    // A failed login with a distinctive wrong password must not log it either.
    let wrong = "Väärä-Salasana-Merkkijono-123";
    client
        .post(server.url("/api/login"))
        .bearer_auth(&token)
        .json(&json!({"username": sims.demo_crm.username, "password": wrong, "remember": false}))
        .send()
        .await
        .unwrap();
    let pairing_id = server.pairing_id().await;
    crm_server::sync::run_pairing(
        &server.state,
        pairing_id,
        crm_server::worker::JobKind::OutlookToCrm,
    )
    .await
    .unwrap();
    let crm_token = crm_server::store::get_secret(
        &server.state.db,
        &server.state.keyring,
        sqlx::query_scalar("SELECT mailbox_id FROM pairings")
            .fetch_one(&server.state.db)
            .await
            .unwrap(),
        crm_server::store::SecretKind::CrmToken,
    )
    .await
    .unwrap()
    .expect("a CRM token is stored");

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.len() > 1000,
        "the test captured almost no logs:\n{logs}"
    );
    for (name, secret) in [
        ("API key", sims.demo_crm.api_key.as_str()),
        ("wrong password", wrong),
        ("identity token", identity_token.as_str()),
        ("session token", token.as_str()),
        ("CRM token", crm_token.as_str()),
    ] {
        assert!(!logs.contains(secret), "the {name} appears in the logs");
    }
    // The demo password is a common word ("demo"); look for it where a leak would put it.
    assert!(!logs.contains("password=demo") && !logs.contains("\"password\":\"demo\""));
}
