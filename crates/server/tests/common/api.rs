//! The pane's first steps over the server's HTTP API, as the add-in takes them: sign in with an
//! identity token, pair, adjust the preferences; and a new mailbox with its CRM user in the
//! simulators to take them for. Nothing here depends on how the server was started (in this process
//! or another), so the bench programs share this file too (`examples/support` includes it by path).

use serde_json::{Value, json};

/// A mailbox and the CRM user to pair it with, as [`new_user`] makes them in the simulators.
pub struct NewUser {
    pub email: String,
    /// The mailbox user's object id (in the identity token).
    pub user_id: String,
    pub tenant_id: String,
    /// The mailbox's default calendar.
    pub calendar_id: String,
    pub username: String,
    pub password: String,
    pub crm_user_id: u64,
}

/// Makes the mailbox `{name}{i}@esimerkki.fi` in `tenant` and the CRM user `{name}{i}` (password
/// "salasana") in `company`.
pub fn new_user(
    graph: &sim::graph::GraphSim,
    crm: &sim::crm::CrmSim,
    company: sim::crm::CompanyId,
    tenant: &str,
    name: &str,
    i: usize,
) -> NewUser {
    let email = format!("{name}{i}@esimerkki.fi");
    let info = graph
        .create_mailbox(sim::graph::MailboxSpec {
            email: email.clone(),
            display_name: format!("Käyttäjä {i}"),
            time_zone: "Europe/Helsinki".into(),
            calendars: vec![],
            tenant_id: Some(tenant.to_owned()),
            user_id: None,
        })
        .unwrap();
    let username = format!("{name}{i}");
    let password = "salasana".to_owned();
    let crm_user_id = crm
        .add_user(
            company,
            sim::crm::NewUser {
                username: username.clone(),
                password: password.clone(),
                email: email.clone(),
                name: format!("Käyttäjä {i}"),
                locked: false,
            },
        )
        .unwrap();
    let calendar_id = info.calendars.iter().find(|c| c.2).unwrap().0.clone();
    NewUser {
        email,
        user_id: info.user_id,
        tenant_id: info.tenant_id,
        calendar_id,
        username,
        password,
        crm_user_id,
    }
}

/// Signs in at the server at `base` with the add-in's identity token (`POST /api/session`, which
/// must answer 201); returns the pane's session token.
pub async fn session(http: &reqwest::Client, base: &str, identity_token: &str) -> String {
    let resp = http
        .post(format!("{base}/api/session"))
        .json(&json!({ "identity_token": identity_token }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap());
    let body: Value = resp.json().await.unwrap();
    body["token"].as_str().expect("a session token").to_owned()
}

/// Signs in and pairs with `request` (`POST /api/pairing`, which must answer 201); returns the
/// session token.
pub async fn pair(
    http: &reqwest::Client,
    base: &str,
    identity_token: &str,
    request: &Value,
) -> String {
    let token = session(http, base, identity_token).await;
    let resp = http
        .post(format!("{base}/api/pairing"))
        .bearer_auth(&token)
        .json(request)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201, "{}", resp.text().await.unwrap());
    token
}

/// Reads the preferences, lets `adjust` change them and saves them (`PUT`, which must answer 200).
pub async fn update_preferences(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    adjust: impl FnOnce(&mut Value),
) {
    let mut prefs: Value = http
        .get(format!("{base}/api/preferences"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    adjust(&mut prefs);
    let resp = http
        .put(format!("{base}/api/preferences"))
        .bearer_auth(token)
        .json(&prefs)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
}
