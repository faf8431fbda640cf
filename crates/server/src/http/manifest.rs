//! `GET /manifest.xml`: the add-in manifest with this server's public URL filled in, so a user can
//! sideload the add-in straight from the running server.

use axum::{Router, extract::State, http::header, response::IntoResponse, routing::get};

use crate::state::AppState;

/// The manifest template (placeholder origin `https://localhost:8080`), embedded at build time.
pub const TEMPLATE: &str = include_str!("../../../../manifest.xml");

pub fn router() -> Router<AppState> {
    Router::new().route(api_types::routes::MANIFEST, get(manifest))
}

async fn manifest(State(state): State<AppState>) -> impl IntoResponse {
    let public = state.config.public_url();
    // Without an app registration configured (development), the placeholder SSO id stays.
    let body = match state.config.client_id.trim() {
        "" => api_types::manifest::render(TEMPLATE, public.as_str()),
        id => api_types::manifest::render_with_client_id(TEMPLATE, public.as_str(), id),
    };
    (
        [(header::CONTENT_TYPE, "application/xml; charset=utf-8")],
        body,
    )
}
