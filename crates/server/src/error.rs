//! The one place where errors become HTTP responses.
//!
//! Policy: every non-2xx answer of the pane-facing API is an [`api_types::ApiError`] body: a stable
//! machine `code`, a message in the caller's language and, where the error concerns one form field,
//! that `field`. The HTTP status comes from the code ([`ErrorCode::http_status`]), never from the
//! handler. Failures the client cannot fix (database, bugs) are logged with their cause and answered
//! with a generic `internal` error that reveals nothing (no SQL, no upstream bodies, no secrets).

use api_types::{ApiError, ErrorCode, FieldError, UiLanguage};
use axum::{
    Json,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// A client-facing error, already localized.
    #[error("{0}")]
    Api(ApiError),
    /// 429-type errors that carry a `Retry-After`.
    #[error("{error} (retry after {retry_after_secs}s)")]
    Throttled {
        error: ApiError,
        retry_after_secs: u64,
    },
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    pub fn code(code: ErrorCode, lang: UiLanguage) -> Self {
        AppError::Api(ApiError::new(code, lang))
    }

    pub fn field(code: ErrorCode, lang: UiLanguage, field: &str) -> Self {
        AppError::Api(ApiError::new(code, lang).with_field(field))
    }

    /// `Ok(())` when `errors` is empty, else the validation error body listing all of them.
    pub fn check(errors: Vec<FieldError>, lang: UiLanguage) -> Result<(), Self> {
        match ApiError::from_field_errors(&errors, lang) {
            None => Ok(()),
            Some(e) => Err(AppError::Api(e)),
        }
    }

    pub fn internal(what: impl std::fmt::Display) -> Self {
        AppError::Internal(what.to_string())
    }
}

impl From<ApiError> for AppError {
    fn from(e: ApiError) -> Self {
        AppError::Api(e)
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (error, retry_after) = match self {
            AppError::Api(e) => (e, None),
            AppError::Throttled {
                error,
                retry_after_secs,
            } => (error, Some(retry_after_secs)),
            AppError::Database(ref e) => {
                tracing::error!(error = %e, "database error");
                (ApiError::new(ErrorCode::Internal, UiLanguage::En), None)
            }
            AppError::Internal(ref e) => {
                tracing::error!(error = %e, "internal error");
                (ApiError::new(ErrorCode::Internal, UiLanguage::En), None)
            }
        };
        let status =
            StatusCode::from_u16(error.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, Json(error)).into_response();
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

pub type AppResult<T> = Result<T, AppError>;
