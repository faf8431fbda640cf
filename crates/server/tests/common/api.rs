//! The pane's first steps over the server's HTTP API, as the add-in takes them: sign in with an
//! identity token, pair, adjust the preferences. Only `reqwest` and `serde_json` here, so the bench
//! programs share this file too (`examples/support` includes it by path) whether the server runs in
//! the same process or in another one.

use serde_json::{Value, json};

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
