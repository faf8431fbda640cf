//! Builds the router from the state; separate from serving so tests can run it on any listener.

use std::time::Duration;

use axum::{Router, http::HeaderValue, middleware};
use tower::Layer;
use tower_http::{
    compression::CompressionLayer,
    cors::{AllowOrigin, CorsLayer},
    limit::RequestBodyLimitLayer,
    services::ServeDir,
    set_header::SetResponseHeaderLayer,
    trace::TraceLayer,
};

use crate::{http, metrics, state::AppState};

pub fn app(state: AppState) -> Router {
    let config = state.config.clone();
    // The pane's files are served under `/taskpane/` and, because the manifest names them from the
    // root (`/index.html`, `/icons/…`), also as the fallback for every path no route claims.
    // A file with a precompressed sibling (`pkg/taskpane_bg.wasm.br`, `.gz`: written by `cargo xtask
    // pane`) is sent as that sibling to clients that accept its encoding, with the plain file's
    // `Content-Type`; the other files (the committed page, scripts, styles) are compressed on the fly.
    // Both answer `Vary: Accept-Encoding`; a client that accepts neither gets the plain bytes. Only the
    // static files: API responses are not compressed here.
    let static_files = CompressionLayer::new().layer(
        ServeDir::new(&config.static_dir)
            .precompressed_br()
            .precompressed_gzip(),
    );
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
        .merge(http::openapi::router())
        // Unknown API paths answer with our JSON error, not the static files' empty 404.
        .route("/api/{*rest}", axum::routing::any(api_not_found))
        .nest_service("/taskpane", static_files.clone())
        .fallback_service(static_files)
        .layer(middleware::from_fn_with_state(
            state.metrics.clone(),
            metrics::track,
        ))
        .layer(TraceLayer::new_for_http())
        .layer(cors(&config))
        .layer(middleware::from_fn_with_state(
            config.request_timeout().max(Duration::from_secs(1)),
            time_limit,
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

/// CORS for the add-in's origin only (the configured one, else the public URL's). The pane is normally
/// served by this server (same origin); this matters when the add-in pages are hosted elsewhere.
fn cors(config: &crate::Config) -> CorsLayer {
    let origin = config.allowed_origin.clone().unwrap_or_else(|| {
        let u = config.public_url();
        u.origin().ascii_serialization()
    });
    let allowed = HeaderValue::from_str(origin.trim_end_matches('/'))
        .unwrap_or_else(|_| HeaderValue::from_static("null"));
    CorsLayer::new()
        .allow_origin(AllowOrigin::list([allowed]))
        .allow_methods([
            axum::http::Method::GET,
            axum::http::Method::POST,
            axum::http::Method::PUT,
            axum::http::Method::DELETE,
        ])
        .allow_headers([
            axum::http::header::AUTHORIZATION,
            axum::http::header::CONTENT_TYPE,
            axum::http::header::ACCEPT_LANGUAGE,
        ])
        .max_age(Duration::from_secs(600))
}

async fn api_not_found(crate::extract::Lang(lang): crate::extract::Lang) -> crate::error::AppError {
    crate::error::AppError::code(api_types::ErrorCode::NotFound, lang)
}

/// Stops a request that outlasts the time limit (dropping its handler, so nothing after that point
/// happens) and answers 408 with our error body.
async fn time_limit(
    axum::extract::State(limit): axum::extract::State<Duration>,
    crate::extract::Lang(lang): crate::extract::Lang,
    request: axum::extract::Request,
    next: middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(
                limit_secs = limit.as_secs(),
                "request stopped at the time limit"
            );
            crate::error::AppError::code(api_types::ErrorCode::RequestTimeout, lang).into_response()
        }
    }
}
