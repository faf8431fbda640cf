//! Extractors whose rejections are our own error bodies (never axum's plain-text ones).

use api_types::{ApiError, ErrorCode, UiLanguage};
use axum::{
    extract::{FromRequest, FromRequestParts, Request, rejection::JsonRejection},
    http::{header, request::Parts},
};
use serde::de::DeserializeOwned;

use crate::error::AppError;

/// The caller's UI language from `Accept-Language` (the pane sends its "Sovelluksen kieli"); English
/// for anything but Finnish.
#[derive(Debug, Clone, Copy)]
pub struct Lang(pub UiLanguage);

impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Lang(lang_of(parts)))
    }
}

pub fn lang_of(parts: &Parts) -> UiLanguage {
    parts
        .headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .map(UiLanguage::from_tag)
        .unwrap_or(UiLanguage::En)
}

/// `Json<T>` whose failures (wrong content type, malformed JSON, wrong types, unknown fields, too large)
/// are localized 4xx [`ApiError`]s with the parser's reason.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        let lang = lang_of(&parts);
        let req = Request::from_parts(parts, body);
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(rejection) => Err(json_rejection(rejection, lang)),
        }
    }
}

fn json_rejection(rejection: JsonRejection, lang: UiLanguage) -> AppError {
    let code = if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        ErrorCode::PayloadTooLarge
    } else {
        ErrorCode::BadRequest
    };
    let detail = rejection.body_text();
    let base = ErrorCode::BadRequest.message(lang);
    let message = if code == ErrorCode::BadRequest {
        // serde's reason names the field and the expected type; it never contains secrets because it
        // quotes at most the offending token's type, not values of other fields.
        format!("{base} {}", truncate(&detail, 300))
    } else {
        code.message(lang).to_owned()
    };
    AppError::Api(ApiError::new(code, lang).with_message(message))
}

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// `Query<T>` whose failures are our localized 400 with the parser's reason.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let lang = lang_of(parts);
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(v)| ApiQuery(v))
            .map_err(|r| bad_request(&r.body_text(), lang))
    }
}

/// `Path<T>` whose failures (e.g. invalid percent-encoding) are our localized 400.
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let lang = lang_of(parts);
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(v)| ApiPath(v))
            .map_err(|r| bad_request(&r.body_text(), lang))
    }
}

fn bad_request(detail: &str, lang: UiLanguage) -> AppError {
    let message = format!(
        "{} {}",
        ErrorCode::BadRequest.message(lang),
        truncate(detail, 300)
    );
    AppError::Api(ApiError::new(ErrorCode::BadRequest, lang).with_message(message))
}
