//! The one place where errors become HTTP responses.
//!
//! Policy: client mistakes are 4xx with a machine `code`, a message in the user's language and, where it
//! concerns one form field, that `field`; anything the client cannot fix is logged with its cause and
//! answered with a generic 500/503 that reveals no internals (no SQL, no upstream bodies, no secrets).

use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error("unauthorized: {0}")]
    Unauthorized(&'static str),
    #[error("forbidden")]
    Forbidden,
    #[error("bad request ({code}): {message}")]
    BadRequest {
        code: &'static str,
        message: String,
        field: Option<&'static str>,
    },
    #[error("conflict ({code}): {message}")]
    Conflict { code: &'static str, message: String },
    #[error("too many requests: {message}")]
    TooManyRequests {
        message: String,
        retry_after_secs: u64,
    },
    #[error("service unavailable: {0}")]
    Unavailable(&'static str),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("internal error: {0}")]
    Internal(String),
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    code: &'a str,
    message: &'a str,
    field: Option<&'a str>,
}

impl AppError {
    fn parts(&self) -> (StatusCode, &str, String, Option<&str>) {
        match self {
            AppError::NotFound => (StatusCode::NOT_FOUND, "not_found", "Not found".into(), None),
            AppError::Unauthorized(code) => (
                StatusCode::UNAUTHORIZED,
                code,
                "Sign-in required".into(),
                None,
            ),
            AppError::Forbidden => (StatusCode::FORBIDDEN, "forbidden", "Forbidden".into(), None),
            AppError::BadRequest {
                code,
                message,
                field,
            } => (StatusCode::BAD_REQUEST, code, message.clone(), *field),
            AppError::Conflict { code, message } => {
                (StatusCode::CONFLICT, code, message.clone(), None)
            }
            AppError::TooManyRequests { message, .. } => (
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_requests",
                message.clone(),
                None,
            ),
            AppError::Unavailable(code) => (
                StatusCode::SERVICE_UNAVAILABLE,
                code,
                "Service temporarily unavailable".into(),
                None,
            ),
            AppError::Database(_) | AppError::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Internal error".into(),
                None,
            ),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, code, message, field) = self.parts();
        if status.is_server_error() {
            // The cause goes to the log, never to the client.
            tracing::error!(error = %self, "request failed");
        }
        let mut response = (
            status,
            Json(ErrorBody {
                code,
                message: &message,
                field,
            }),
        )
            .into_response();
        if let AppError::TooManyRequests {
            retry_after_secs, ..
        } = &self
        {
            if let Ok(v) = retry_after_secs.to_string().parse() {
                response
                    .headers_mut()
                    .insert(axum::http::header::RETRY_AFTER, v);
            }
        }
        response
    }
}

pub type AppResult<T> = Result<T, AppError>;
