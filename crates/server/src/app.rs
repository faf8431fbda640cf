//! Builds the router from the state; separate from serving so tests can run it on any listener.

use std::time::Duration;

use axum::{Router, http::HeaderValue, middleware};
use tower_http::{
    limit::RequestBodyLimitLayer, services::ServeDir, set_header::SetResponseHeaderLayer,
    timeout::TimeoutLayer, trace::TraceLayer,
};

use crate::{http, metrics, state::AppState};

pub fn app(state: AppState) -> Router {
    let config = state.config.clone();
    // The pane's files are served under `/taskpane/` and, because the manifest names them from the
    // root (`/index.html`, `/icons/…`), also as the fallback for every path no route claims.
    let static_files = ServeDir::new(&config.static_dir);
    Router::new()
        .merge(http::health::router())
        .merge(http::manifest::router())
        .merge(http::session::router())
        .merge(http::preferences::router())
        .merge(http::error_reports::router())
        .merge(http::sync::router())
        .merge(http::login::router())
        .merge(http::pairing::router())
        .merge(http::webhooks::router())
        .merge(http::crm::router())
        .merge(http::items::router())
        .merge(http::messages::router())
        .nest_service("/taskpane", static_files.clone())
        .fallback_service(static_files)
        .layer(middleware::from_fn_with_state(
            state.metrics.clone(),
            metrics::track,
        ))
        .layer(TraceLayer::new_for_http())
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            config.request_timeout().max(Duration::from_secs(1)),
        ))
        .layer(RequestBodyLimitLayer::new(config.max_body_bytes))
        .layer(SetResponseHeaderLayer::if_not_present(
            axum::http::header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            axum::http::header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .with_state(state)
}
