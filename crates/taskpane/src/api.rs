//! All calls to our server (the routes and types of `api-types`), over `fetch`.
//!
//! The session (our short-lived JWT) is obtained lazily: Office's identity token when Office gives one,
//! else — browser preview and the demo workbench — the demo server's `GET /demo/identity-token?email=`.
//! A `token_expired`/`unauthorized` answer renews the session once and repeats the call. Every request
//! says the UI language in `Accept-Language`, so server messages come back in it.

use std::cell::{Cell, RefCell};

use api_types::calendars::Calendar;
use api_types::demo::DemoIdentityToken;
use api_types::error::{ApiError, ErrorCode};
use api_types::error_reports::ErrorReport;
use api_types::items::{ItemInfo, ItemUpdate};
use api_types::login::{LoginRequest, LoginState};
use api_types::messages::{MessageInfo, SaveMessageRequest, SaveMessageResponse};
use api_types::pairing::{ForcedRemoval, PairingRequest, PairingSummary};
use api_types::picklists::PicklistEntry;
use api_types::preferences::{Language, Preferences, UiLanguage};
use api_types::relations::{Relation, RelationKind};
use api_types::routes;
use api_types::session::{CreateSession, Session};
use api_types::sync::{SyncNowResponse, SyncStatus};
use api_types::wire::{self, FromJson, ToJson};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::i18n::{K, t};
use crate::office;

thread_local! {
    static SESSION: RefCell<Option<Session>> = const { RefCell::new(None) };
    static LANG: Cell<UiLanguage> = const { Cell::new(UiLanguage::Fi) };
    static PREVIEW_EMAIL: RefCell<Option<String>> = const { RefCell::new(None) };
}

pub type ApiResult<T> = Result<T, ApiError>;

/// The language sent in `Accept-Language` (follows "Sovelluksen kieli").
pub fn set_language(lang: UiLanguage) {
    LANG.with(|l| l.set(lang));
}

/// The mailbox used in browser preview (outside Office).
pub fn set_preview_email(email: Option<String>) {
    PREVIEW_EMAIL.with(|e| *e.borrow_mut() = email);
    SESSION.with(|s| *s.borrow_mut() = None);
}

pub fn current_session() -> Option<Session> {
    SESSION.with(|s| s.borrow().clone())
}

fn lang() -> UiLanguage {
    LANG.with(Cell::get)
}

fn network_error() -> ApiError {
    ApiError::new(ErrorCode::Unknown, lang()).with_message(t(K::NetworkError, lang()))
}

fn now_ms() -> f64 {
    js_sys::Date::now()
}

async fn raw(
    method: &str,
    path: &str,
    body: Option<String>,
    token: Option<&str>,
) -> ApiResult<(u16, String)> {
    let window = web_sys::window().ok_or_else(network_error)?;
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    let headers = web_sys::Headers::new().map_err(|_| network_error())?;
    let _ = headers.set("Accept", "application/json");
    let _ = headers.set("Accept-Language", lang().code());
    if let Some(token) = token {
        let _ = headers.set("Authorization", &format!("Bearer {token}"));
    }
    if let Some(body) = &body {
        let _ = headers.set("Content-Type", "application/json");
        init.set_body(&JsValue::from_str(body));
    }
    init.set_headers(&headers);
    let request =
        web_sys::Request::new_with_str_and_init(path, &init).map_err(|_| network_error())?;
    let response: web_sys::Response = JsFuture::from(window.fetch_with_request(&request))
        .await
        .map_err(|_| network_error())?
        .dyn_into()
        .map_err(|_| network_error())?;
    let text = match response.text() {
        Ok(p) => JsFuture::from(p)
            .await
            .ok()
            .and_then(|v| v.as_string())
            .unwrap_or_default(),
        Err(_) => String::new(),
    };
    Ok((response.status(), text))
}

fn decode<T: FromJson>(status: u16, text: &str) -> ApiResult<T> {
    let v = decode_value(status, text)?;
    T::from_json(&v).map_err(|_| unexpected_answer())
}

/// A 2xx answer's JSON, or the error the answer stands for. Not generic (WASM size): per answer type
/// only `from_json` is compiled.
fn decode_value(status: u16, text: &str) -> ApiResult<wire::Json> {
    if (200..300).contains(&status) {
        parse_value(text).ok_or_else(unexpected_answer)
    } else {
        Err(decode_error(status, text))
    }
}

fn unexpected_answer() -> ApiError {
    ApiError::new(ErrorCode::Unknown, lang()).with_message(t(K::UnexpectedAnswer, lang()))
}

/// The body as JSON (an empty body is `null`); `None` when it is not JSON.
fn parse_value(text: &str) -> Option<wire::Json> {
    let text = if text.trim().is_empty() { "null" } else { text };
    wire::parse(text).ok()
}

/// The server's error answer, or one made from the status when the body is not ours.
fn decode_error(status: u16, text: &str) -> ApiError {
    parse_value(text)
        .and_then(|v| ApiError::from_json(&v).ok())
        .unwrap_or_else(|| {
            let code = match status {
                401 => ErrorCode::Unauthorized,
                404 => ErrorCode::NotFound,
                413 => ErrorCode::PayloadTooLarge,
                429 => ErrorCode::RateLimited,
                _ => ErrorCode::Internal,
            };
            ApiError::new(code, lang())
        })
}

async fn identity_token() -> ApiResult<String> {
    if let Some(tok) = office::office_identity_token().await {
        return Ok(tok);
    }
    let email = office::mailbox_email()
        .or_else(|| PREVIEW_EMAIL.with(|e| e.borrow().clone()))
        .ok_or_else(|| {
            ApiError::new(ErrorCode::Unauthorized, lang())
                .with_message(t(K::PreviewNeedsMailbox, lang()))
        })?;
    let path = routes::with_query(routes::DEMO_IDENTITY_TOKEN, &[("email", Some(&email))]);
    let (status, text) = raw("GET", &path, None, None).await?;
    decode::<DemoIdentityToken>(status, &text).map(|t| t.identity_token)
}

/// Our session, created or renewed as needed: still valid → as is; about to expire → refreshed with
/// `POST /api/session/refresh`; otherwise (or when refresh fails) a new one from an identity token.
pub async fn session(force_new: bool) -> ApiResult<Session> {
    if !force_new && let Some(s) = current_session() {
        let left_ms = (s.expires_at.timestamp_millis() as f64) - now_ms();
        if left_ms > 60_000.0 {
            return Ok(s);
        }
        if left_ms > 0.0
            && let Ok((200, text)) =
                raw("POST", routes::SESSION_REFRESH, None, Some(&s.token)).await
            && let Ok(fresh) = decode::<Session>(200, &text)
        {
            SESSION.with(|cur| *cur.borrow_mut() = Some(fresh.clone()));
            return Ok(fresh);
        }
    }
    let identity_token = identity_token().await?;
    let body = CreateSession { identity_token }.to_json();
    let (status, text) = raw("POST", routes::SESSION, Some(body), None).await?;
    let s: Session = decode(status, &text)?;
    SESSION.with(|cur| *cur.borrow_mut() = Some(s.clone()));
    Ok(s)
}

/// One authenticated call, answered as (status, body). Not generic, so the request, the session renewal
/// and the error report are compiled once, not once per answer type (WASM size).
async fn call_raw(method: &str, path: &str, body: Option<String>) -> ApiResult<(u16, String)> {
    let s = session(false).await?;
    let (mut status, mut text) = raw(method, path, body.clone(), Some(&s.token)).await?;
    if status == 401 {
        let s = session(true).await?;
        (status, text) = raw(method, path, body, Some(&s.token)).await?;
    }
    // Unexpected server failures are reported (the server drops them unless the user allowed error reports).
    if status >= 500 && path != routes::ERROR_REPORTS {
        let err = decode_error(status, &text);
        if matches!(err.code, ErrorCode::Internal | ErrorCode::Unknown) {
            let path = path.to_owned();
            wasm_bindgen_futures::spawn_local(async move { report_error(&path, &err).await });
        }
    }
    Ok((status, text))
}

async fn call<T: FromJson>(method: &str, path: &str, body: Option<String>) -> ApiResult<T> {
    let (status, text) = call_raw(method, path, body).await?;
    decode(status, &text)
}

fn json<B: ToJson>(b: &B) -> Option<String> {
    Some(b.to_json())
}

pub async fn calendars() -> ApiResult<Vec<Calendar>> {
    call("GET", routes::CALENDARS, None).await
}

/// `None` when the mailbox is not paired yet.
pub async fn pairing() -> ApiResult<Option<PairingSummary>> {
    match call("GET", routes::PAIRING, None).await {
        Ok(p) => Ok(Some(p)),
        Err(e) if matches!(e.code, ErrorCode::NotPaired | ErrorCode::NotFound) => Ok(None),
        Err(e) => Err(e),
    }
}

pub async fn pair(req: &PairingRequest) -> ApiResult<PairingSummary> {
    call("POST", routes::PAIRING, json(req)).await
}

pub async fn unpair() -> ApiResult<()> {
    call("DELETE", routes::PAIRING, None).await
}

pub async fn force_remove() -> ApiResult<ForcedRemoval> {
    call(
        "DELETE",
        &routes::with_query(routes::PAIRING, &[("force", Some("true"))]),
        None,
    )
    .await
}

pub async fn preferences() -> ApiResult<Preferences> {
    call("GET", routes::PREFERENCES, None).await
}

pub async fn save_preferences(p: &Preferences) -> ApiResult<Preferences> {
    call("PUT", routes::PREFERENCES, json(p)).await
}

pub async fn login_state() -> ApiResult<LoginState> {
    call("GET", routes::LOGIN, None).await
}

pub async fn login(req: &LoginRequest) -> ApiResult<LoginState> {
    call("POST", routes::LOGIN, json(req)).await
}

pub async fn login_auto() -> ApiResult<LoginState> {
    call("POST", routes::LOGIN_AUTO, None).await
}

pub async fn logout() -> ApiResult<LoginState> {
    call("POST", routes::LOGOUT, None).await
}

pub async fn activity_types(lang: Language) -> ApiResult<Vec<PicklistEntry>> {
    call(
        "GET",
        &routes::with_query(
            routes::PICKLIST_ACTIVITY_TYPES,
            &[("lang", Some(lang.code()))],
        ),
        None,
    )
    .await
}

pub async fn activity_statuses(lang: Language) -> ApiResult<Vec<PicklistEntry>> {
    call(
        "GET",
        &routes::with_query(
            routes::PICKLIST_ACTIVITY_STATUSES,
            &[("lang", Some(lang.code()))],
        ),
        None,
    )
    .await
}

pub async fn search_relations(
    kind: RelationKind,
    q: &str,
    related_to: Option<&str>,
) -> ApiResult<Vec<Relation>> {
    let q = q.trim();
    let path = routes::with_query(
        routes::RELATIONS_SEARCH,
        &[
            ("kind", Some(kind.code())),
            ("q", Some(q).filter(|q| !q.is_empty())),
            ("related_to", related_to),
        ],
    );
    call("GET", &path, None).await
}

pub async fn item(event_id: &str) -> ApiResult<ItemInfo> {
    call("GET", &routes::item(event_id), None).await
}

pub async fn save_item(event_id: &str, u: &ItemUpdate) -> ApiResult<ItemInfo> {
    call("PUT", &routes::item(event_id), json(u)).await
}

pub async fn message(message_id: &str) -> ApiResult<MessageInfo> {
    call("GET", &routes::message(message_id), None).await
}

pub async fn save_message(
    message_id: &str,
    req: &SaveMessageRequest,
) -> ApiResult<SaveMessageResponse> {
    call("POST", &routes::message_save(message_id), json(req)).await
}

pub async fn sync_now() -> ApiResult<SyncNowResponse> {
    call("POST", routes::SYNC_NOW, None).await
}

pub async fn sync_status() -> ApiResult<SyncStatus> {
    call("GET", routes::SYNC_STATUS, None).await
}

/// Best effort; the server refuses unless the user allowed reports.
pub async fn report_error(context: &str, err: &ApiError) {
    let report = ErrorReport {
        message: format!("{}: {}", err.code.as_str(), err.message),
        context: Some(context.to_owned()),
        client_version: Some(env!("CARGO_PKG_VERSION").to_owned()),
        host: Some(
            if office::mailbox_email().is_some() {
                "outlook"
            } else {
                "browser-preview"
            }
            .to_owned(),
        ),
    };
    let _: ApiResult<()> = call("POST", routes::ERROR_REPORTS, json(&report)).await;
}
