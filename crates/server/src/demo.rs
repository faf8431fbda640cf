//! `crm-server demo`: the product on an embedded default. Starts the CRM-service and Graph simulators
//! (seeded with a Finnish company and mailbox) on free ports, points the server at them, and serves the
//! pane plus a few demo-only routes. Compiled only with the `demo` feature.

use std::{net::SocketAddr, path::PathBuf};

use anyhow::Context;
use axum::{Json, Router, extract::Query, routing::get};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::json;
use tower_http::cors::CorsLayer;

use crate::{AppState, Config, app, db, serve};

/// A fixed key for the demo database only, so secrets stored by one demo run open in the next.
const DEMO_SECRET_KEYS: &str = "demo:ZGVtby1vbmx5LWtleS1ub3QtZm9yLXByb2R1Y3Rpb24=";

pub async fn run(database_url: SecretString, port: u16, static_dir: PathBuf) -> anyhow::Result<()> {
    let any: SocketAddr = "127.0.0.1:0".parse().expect("valid");

    let crm = sim::crm::CrmSim::new();
    let demo_crm = crm.seed_demo();
    // The workbench page (another origin) drives the simulators' admin APIs, hence permissive CORS.
    let crm_running = sim::serve(crm.router().layer(CorsLayer::permissive()), any).await?;

    let graph = sim::graph::GraphSim::new();
    let graph_running = sim::serve(graph.router().layer(CorsLayer::permissive()), any).await?;
    graph.set_base_url(&graph_running.base_url);
    let mailbox = graph.seed_demo();

    let listen: SocketAddr = format!("127.0.0.1:{port}").parse().expect("valid");
    let public_url = format!("http://{listen}");
    let mut config = Config::for_database(database_url.expose_secret());
    config.listen = listen;
    config.public_url = Some(public_url.parse()?);
    config.static_dir = static_dir;
    config.graph_base_url = format!("{}/v1.0", graph_running.base_url).parse()?;
    config.identity_authority = graph_running.base_url.parse()?;
    config.identity_tenant = mailbox.tenant_id.clone();
    config.client_id = sim::graph::DEFAULT_CLIENT_ID.to_owned();
    config.client_secret = Some(sim::graph::DEFAULT_CLIENT_SECRET.into());
    config.secret_keys = Some(DEMO_SECRET_KEYS.into());

    let pool = db::connect(database_url.expose_secret())
        .await
        .context("cannot connect to the demo database")?;
    db::migrate(&pool).await.context("applying migrations")?;
    let state = AppState::new(pool, config)?;

    let info = json!({
        "crm": {
            "address": crm_running.base_url,
            "admin": format!("{}/_admin/crm", crm_running.base_url),
            "api_key": demo_crm.api_key,
            "username": demo_crm.username,
            "password": demo_crm.password,
            "company": demo_crm.company_name,
        },
        "graph": {
            "base": graph_running.base_url,
            "admin": format!("{}/_admin/graph", graph_running.base_url),
        },
        "mailbox": { "email": mailbox.email, "display_name": mailbox.display_name, "calendar_id": mailbox.calendar_id },
    });
    let token_graph = graph.clone();
    let tenant = mailbox.tenant_id.clone();
    let object_id = mailbox.user_id.clone();
    let demo_routes = Router::new()
        .route("/demo/info", get(move || async move { Json(info) }))
        .route(
            api_types::routes::DEMO_IDENTITY_TOKEN,
            get(move |Query(q): Query<TokenQuery>| async move {
                let token = token_graph.mint_id_token(
                    &tenant,
                    &object_id,
                    &q.email,
                    sim::graph::DEFAULT_CLIENT_ID,
                );
                Json(json!({ "identity_token": token }))
            }),
        );
    let background = crate::background::start(&state);
    let router = demo_routes.merge(app(state));

    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("port {port} is taken; try `cargo xtask demo --port <other>`"))?;
    println!();
    println!("  CRM-service for Outlook — demo");
    println!("  Open the task pane:        {public_url}/index.html");
    println!("  Outlook stand-in:          {public_url}/workbench/index.html");
    println!("  Manifest (to sideload):    {public_url}/manifest.xml");
    println!(
        "  CRM simulator:             {}  (API key {}, user {} / {})",
        crm_running.base_url, demo_crm.api_key, demo_crm.username, demo_crm.password
    );
    println!(
        "  Graph simulator:           {}  (mailbox {})",
        graph_running.base_url, mailbox.email
    );
    println!("  Ctrl-C stops everything.");
    println!();
    serve::serve_router(listener, router, serve::shutdown_signal()).await?;
    background.stop().await;
    crm_running.stop().await;
    graph_running.stop().await;
    Ok(())
}

#[derive(Deserialize)]
struct TokenQuery {
    email: String,
}
