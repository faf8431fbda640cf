//! Property test over the OpenAPI route list: random JSON bodies, random bytes, wrong content types and
//! random path ids never make the server answer 5xx, and every 4xx carries our error body.

mod common;

use common::{TestServer, session_for};
use crm_server::http::openapi::ROUTES;
use proptest::prelude::*;
use serde_json::Value;

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,40}".prop_map(Value::String),
        Just(Value::String("x".repeat(30_000))),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("api_key".to_owned()),
                    Just("history_days".to_owned()),
                    Just("outlook_to_crm".to_owned()),
                    Just("relations".to_owned()),
                    Just("password".to_owned()),
                    "[a-z_]{1,12}"
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

#[derive(Debug, Clone)]
enum Body {
    Json(Value),
    Bytes(Vec<u8>),
}

fn body() -> impl Strategy<Value = (Body, &'static str)> {
    prop_oneof![
        json_value().prop_map(|v| (Body::Json(v), "application/json")),
        prop::collection::vec(any::<u8>(), 0..300)
            .prop_map(|b| (Body::Bytes(b), "application/json")),
        json_value().prop_map(|v| (Body::Json(v), "text/plain")),
    ]
}

#[test]
fn random_requests_to_every_route_never_get_a_server_error() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (server, token) = rt.block_on(async {
        let server = TestServer::start().await;
        let token = session_for(&server, "fuzz@esimerkki.fi").await;
        (server, token)
    });
    let client = reqwest::Client::new();
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(48);
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases,
        ..ProptestConfig::default()
    });
    let strategy = (
        0..ROUTES.len(),
        body(),
        "[A-Za-z0-9%=+/_.-]{1,60}",
        any::<bool>(),
    );
    runner
        .run(&strategy, |(i, (body, content_type), id, authed)| {
            let route = &ROUTES[i];
            let path = route
                .path
                .replace("{event_id}", &id)
                .replace("{message_id}", &id);
            let method =
                reqwest::Method::from_bytes(route.method.to_uppercase().as_bytes()).unwrap();
            let bytes = match &body {
                Body::Json(v) => serde_json::to_vec(v).unwrap(),
                Body::Bytes(b) => b.clone(),
            };
            let (status, text) = rt.block_on(async {
                let send = || {
                    let mut req = client
                        .request(method.clone(), server.url(&path))
                        .header("content-type", content_type)
                        .body(bytes.clone());
                    if authed {
                        req = req.bearer_auth(&token);
                    }
                    req.send()
                };
                // A server that answers without reading a body it does not need closes the
                // connection; the client may then fail writing the body. That is no server error:
                // send once more on a fresh connection.
                let resp = match send().await {
                    Ok(r) => r,
                    Err(_) => send().await.unwrap(),
                };
                (
                    resp.status().as_u16(),
                    resp.text().await.unwrap_or_default(),
                )
            });
            prop_assert!(status < 500, "{} {path} → {status}: {text}", route.method);
            if status >= 400 {
                let err: Value = serde_json::from_str(&text).map_err(|e| {
                    TestCaseError::fail(format!("{status} without a JSON error body: {e}: {text}"))
                })?;
                prop_assert!(
                    err["code"].is_string() && err["message"].is_string(),
                    "{text}"
                );
            }
            Ok(())
        })
        .unwrap();
}
