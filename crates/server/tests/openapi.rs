//! The OpenAPI document is served, and it lists exactly the routes the server answers.

mod common;

use common::TestServer;
use crm_server::http::openapi::ROUTES;

#[tokio::test]
async fn the_document_is_served_and_every_listed_route_exists_and_needs_auth() {
    let server = TestServer::start().await;
    let doc: serde_json::Value = reqwest::get(server.url("/api/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let client = reqwest::Client::new();
    for route in ROUTES {
        let path = route
            .path
            .replace("{event_id}", "AAMk1")
            .replace("{message_id}", "AAMk2");
        assert!(
            doc["paths"][route.path][route.method].is_object(),
            "{} {} not in the document",
            route.method,
            route.path
        );
        let method = reqwest::Method::from_bytes(route.method.to_uppercase().as_bytes()).unwrap();
        let resp = client
            .request(method, server.url(&path))
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        assert_ne!(status, 404, "{} {path} is not routed", route.method);
        assert_ne!(status, 405, "{} {path} has the wrong method", route.method);
        if route.authenticated {
            assert_eq!(
                status, 401,
                "{} {path} answers without a token",
                route.method
            );
        }
    }
}

#[tokio::test]
async fn cors_allows_only_the_configured_origin() {
    let server =
        TestServer::start_with(|c| c.allowed_origin = Some("https://addin.esimerkki.fi".into()))
            .await;
    let client = reqwest::Client::new();
    let preflight = |origin: &'static str| {
        client
            .request(reqwest::Method::OPTIONS, server.url("/api/preferences"))
            .header("origin", origin)
            .header("access-control-request-method", "PUT")
            .header(
                "access-control-request-headers",
                "authorization,content-type",
            )
            .send()
    };
    let ok = preflight("https://addin.esimerkki.fi").await.unwrap();
    assert_eq!(
        ok.headers()["access-control-allow-origin"],
        "https://addin.esimerkki.fi"
    );
    let other = preflight("https://evil.example").await.unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());
}
