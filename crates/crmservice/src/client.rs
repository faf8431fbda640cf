//! Transport: the HTTP client, login, sessions, retries and the mapping of answers to [`Error`].

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use chrono_tz::Tz;
use reqwest::header::{
    ACCEPT, AUTHORIZATION, CONTENT_DISPOSITION, CONTENT_TYPE, HeaderMap, RETRY_AFTER,
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::sync::{Mutex, RwLock, Semaphore};

use crate::address::CrmAddress;
use crate::assumed;
use crate::error::{Error, FieldError, Result};

/// JSON:API media type; sent as `Accept` always and as `Content-Type` on writes.
pub const JSONAPI: &str = "application/vnd.api+json";

/// A secret string (API key, password, token) that never prints.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    /// The secret itself, for sending or encrypted storage. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Secret(s.to_owned())
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Secret(s)
    }
}

/// Tunables of a [`CrmClient`].
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Time to establish a connection (DNS, TCP, TLS).
    pub connect_timeout: Duration,
    /// Time for a whole request; the vendor's own client uses 30 s.
    pub request_timeout: Duration,
    /// Retries of a safe request (GET) after a transient failure.
    pub max_retries: u32,
    /// First backoff delay; doubles per retry, with jitter.
    pub retry_base_delay: Duration,
    /// A `Retry-After` longer than this is not waited out; the caller gets [`Error::RateLimited`].
    pub max_retry_wait: Duration,
    /// Concurrent requests per client (politeness towards one CRM host).
    pub max_concurrent_requests: usize,
    /// The CRM's local time zone (a pairing setting).
    pub time_zone: Tz,
    /// `page[size]` for listings.
    pub page_size: u32,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_retries: 3,
            retry_base_delay: Duration::from_millis(250),
            max_retry_wait: Duration::from_secs(30),
            max_concurrent_requests: 4,
            time_zone: assumed::DEFAULT_TIME_ZONE,
            page_size: assumed::PAGE_SIZE,
        }
    }
}

/// A client for one CRM (address + Outlook-type API key). Cheap to clone.
#[derive(Clone)]
pub struct CrmClient {
    pub(crate) inner: Arc<ClientInner>,
}

pub(crate) struct ClientInner {
    http: reqwest::Client,
    pub(crate) address: CrmAddress,
    api_key: Secret,
    pub(crate) config: ClientConfig,
    permits: Semaphore,
}

impl std::fmt::Debug for CrmClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CrmClient")
            .field("address", &self.inner.address)
            .field("api_key", &self.inner.api_key)
            .finish()
    }
}

/// A request to the API, relative to `{base}/api/v1/`.
#[derive(Debug, Clone)]
pub(crate) struct ApiRequest {
    pub method: Method,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub body: RequestBody,
    /// For 404 → [`Error::Gone`]: the record this request addresses.
    pub record: Option<(String, String)>,
}

#[derive(Debug, Clone)]
pub(crate) enum RequestBody {
    None,
    Json(Value),
    File {
        bytes: Bytes,
        content_type: String,
        filename: String,
    },
}

impl ApiRequest {
    pub fn get(path: impl Into<String>) -> Self {
        ApiRequest {
            method: Method::GET,
            path: path.into(),
            query: Vec::new(),
            body: RequestBody::None,
            record: None,
        }
    }

    pub fn with_body(method: Method, path: impl Into<String>, body: Value) -> Self {
        ApiRequest {
            method,
            path: path.into(),
            query: Vec::new(),
            body: RequestBody::Json(body),
            record: None,
        }
    }

    pub fn query(mut self, q: Vec<(String, String)>) -> Self {
        self.query = q;
        self
    }

    pub fn record(mut self, module: &str, id: &str) -> Self {
        self.record = Some((module.to_owned(), id.to_owned()));
        self
    }
}

/// A successful answer.
#[derive(Debug)]
pub(crate) struct ApiResponse {
    pub body: Bytes,
}

impl ApiResponse {
    pub fn json(&self) -> Result<Value> {
        if self.body.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&self.body)
            .map_err(|e| Error::Protocol(format!("the answer is not JSON: {e}")))
    }
}

/// A failed answer before it is mapped (so login can read 401 messages its own way).
struct Failure {
    status: StatusCode,
    headers: HeaderMap,
    message: String,
    body: Bytes,
}

impl CrmClient {
    /// A client with default settings.
    pub fn new(address: CrmAddress, api_key: impl Into<Secret>) -> Result<Self> {
        Self::with_config(address, api_key, ClientConfig::default())
    }

    pub fn with_config(
        address: CrmAddress,
        api_key: impl Into<Secret>,
        config: ClientConfig,
    ) -> Result<Self> {
        let http = Self::http_client(&config)?;
        Ok(Self::with_http(address, api_key, config, http))
    }

    /// The HTTP client [`CrmClient::with_config`] builds for `config` (timeouts, user agent). Building
    /// one loads TLS roots and starts a connection pool, so a server making many short-lived clients
    /// builds it once and hands it to [`CrmClient::with_http`].
    pub fn http_client(config: &ClientConfig) -> Result<reqwest::Client> {
        reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            .user_agent(concat!("crmservice-outlook/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Protocol(format!("cannot build HTTP client: {e}")))
    }

    /// A client on a shared HTTP client (from [`CrmClient::http_client`] with the same `config`): its
    /// connections are reused across clients; the concurrency limit stays this client's own.
    pub fn with_http(
        address: CrmAddress,
        api_key: impl Into<Secret>,
        config: ClientConfig,
        http: reqwest::Client,
    ) -> Self {
        let permits = Semaphore::new(config.max_concurrent_requests.max(1));
        CrmClient {
            inner: Arc::new(ClientInner {
                http,
                address,
                api_key: api_key.into(),
                config,
                permits,
            }),
        }
    }

    pub fn address(&self) -> &CrmAddress {
        &self.inner.address
    }

    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// Checks the API key alone (`GET /` with the key as bearer) and returns the module names the CRM
    /// lists. Distinguishes an unreachable address, a wrong key and a CRM that is not CRM-service.
    pub async fn check_api_key(&self) -> Result<Vec<String>> {
        let key = self.inner.api_key.clone();
        let resp = match self.send(&ApiRequest::get(""), key.expose()).await? {
            Ok(r) => r,
            Err(f) if f.status == StatusCode::UNAUTHORIZED => return Err(Error::WrongApiKey),
            Err(f) => return Err(map_failure(f, None)),
        };
        let v = resp.json()?;
        let links = v.get("links").and_then(Value::as_object).ok_or_else(|| {
            Error::Protocol("GET / has no links; is this a CRM-service address?".into())
        })?;
        Ok(links
            .keys()
            .filter(|k| *k != "self" && *k != "meta")
            .cloned()
            .collect())
    }

    /// Logs a user in (`POST /auth`, assumed) and returns a session that remembers the credentials, so
    /// an expired token is renewed once automatically. Errors: [`Error::WrongApiKey`],
    /// [`Error::WrongPassword`], [`Error::LockedUser`], or a transport error.
    pub async fn login(&self, username: &str, password: impl Into<Secret>) -> Result<Session> {
        let password = password.into();
        let token = self.authenticate(username, &password).await?;
        Ok(Session {
            client: self.clone(),
            state: Arc::new(SessionState {
                token: RwLock::new(token),
                credentials: Some((username.to_owned(), password)),
                relogin: Mutex::new(()),
                skipped_fields: std::sync::RwLock::new(Vec::new()),
            }),
        })
    }

    /// A session from a token stored earlier, without credentials: when the token expires, calls fail
    /// with [`Error::LoginRequired`].
    pub fn resume(&self, token: impl Into<Secret>) -> Session {
        Session {
            client: self.clone(),
            state: Arc::new(SessionState {
                token: RwLock::new(token.into()),
                credentials: None,
                relogin: Mutex::new(()),
                skipped_fields: std::sync::RwLock::new(Vec::new()),
            }),
        }
    }

    async fn authenticate(&self, username: &str, password: &Secret) -> Result<Secret> {
        let body = json!({
            assumed::AUTH_USERNAME_FIELD: username,
            assumed::AUTH_PASSWORD_FIELD: password.expose(),
        });
        let req = ApiRequest::with_body(Method::POST, assumed::AUTH_PATH, body);
        let key = self.inner.api_key.clone();
        // A login may be repeated (at worst the CRM issues a token nobody uses), so transient failures
        // are retried like a GET; a refused login (401/403) never is.
        let mut attempt = 0;
        let answer = loop {
            let err = match self.send(&req, key.expose()).await {
                Ok(Err(f))
                    if f.status.is_server_error() || f.status == StatusCode::TOO_MANY_REQUESTS =>
                {
                    map_failure(f, None)
                }
                Ok(answer) => break answer,
                Err(e) => e,
            };
            let Some(wait) = retry_wait(&self.inner.config, &err, attempt) else {
                return Err(err);
            };
            tracing::debug!(attempt, ?wait, error = %err, "retrying CRM login");
            tokio::time::sleep(wait).await;
            attempt += 1;
        };
        match answer {
            Ok(resp) => {
                let v = resp.json()?;
                let token = v
                    .as_str()
                    .or_else(|| v.get("token").and_then(Value::as_str))
                    .or_else(|| v.pointer("/data/token").and_then(Value::as_str))
                    .filter(|t| !t.is_empty())
                    .ok_or_else(|| Error::Protocol("login answer has no token".into()))?;
                Ok(Secret::new(token))
            }
            Err(f) if f.status == StatusCode::UNAUTHORIZED => {
                let msg = f.message.to_lowercase();
                if assumed::WRONG_KEY_MARKERS.iter().any(|m| msg.contains(m)) {
                    return Err(Error::WrongApiKey);
                }
                // Not recognisable from the message: does the key alone work?
                match self.check_api_key().await {
                    Err(Error::WrongApiKey) => Err(Error::WrongApiKey),
                    _ => Err(Error::WrongPassword),
                }
            }
            Err(f) if f.status == StatusCode::FORBIDDEN => {
                let msg = f.message.to_lowercase();
                if assumed::LOCKED_MARKERS.iter().any(|m| msg.contains(m)) {
                    Err(Error::LockedUser)
                } else {
                    Err(Error::Forbidden { message: f.message })
                }
            }
            Err(f) => Err(map_failure(f, None)),
        }
    }

    /// One attempt: a transport error is `Err(Error)`; an HTTP error is `Ok(Err(Failure))`.
    async fn send(
        &self,
        req: &ApiRequest,
        bearer: &str,
    ) -> Result<std::result::Result<ApiResponse, Failure>> {
        let inner = &self.inner;
        let _permit = inner
            .permits
            .acquire()
            .await
            .expect("semaphore never closed");
        let url = inner.address.api_url(&req.path);
        let mut rb = inner
            .http
            .request(req.method.clone(), &url)
            .header(ACCEPT, JSONAPI)
            .header(AUTHORIZATION, format!("Bearer {bearer}"));
        if !req.query.is_empty() {
            rb = rb.query(&req.query);
        }
        rb = match &req.body {
            RequestBody::None => rb,
            RequestBody::Json(v) => rb.header(CONTENT_TYPE, JSONAPI).body(v.to_string()),
            RequestBody::File {
                bytes,
                content_type,
                filename,
            } => rb
                .header(CONTENT_TYPE, content_type.as_str())
                .header(CONTENT_DISPOSITION, content_disposition(filename))
                .body(bytes.clone()),
        };
        let host = inner.address.host().to_owned();
        let timeout = inner.config.request_timeout;
        let resp = rb
            .send()
            .await
            .map_err(|e| Error::from_transport(&host, &e, timeout))?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp
            .bytes()
            .await
            .map_err(|e| Error::from_transport(&host, &e, timeout))?;
        tracing::debug!(method = %req.method, path = %req.path, %status, "crm request");
        if status.is_success() {
            return Ok(Ok(ApiResponse { body }));
        }
        let message = String::from_utf8_lossy(&body).trim().to_owned();
        Ok(Err(Failure {
            status,
            headers,
            message,
            body,
        }))
    }
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let v = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    let wait = at.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

/// Maps an HTTP error answer (other than a session's 401) to an [`Error`].
fn map_failure(f: Failure, record: Option<&(String, String)>) -> Error {
    let status = f.status.as_u16();
    match status {
        401 => Error::LoginRequired,
        403 => {
            let msg = f.message.to_lowercase();
            if assumed::LOCKED_MARKERS.iter().any(|m| msg.contains(m)) {
                Error::LockedUser
            } else {
                Error::Forbidden { message: f.message }
            }
        }
        404 => match record {
            Some((module, id)) => Error::Gone {
                module: module.clone(),
                id: id.clone(),
            },
            None => Error::NotFound { message: f.message },
        },
        422 => Error::Validation {
            errors: field_errors(&f.body, &f.message),
        },
        429 => Error::RateLimited {
            retry_after: retry_after(&f.headers),
        },
        500..=599 => Error::Server {
            status,
            message: f.message,
        },
        _ => Error::Rejected {
            status,
            message: f.message,
        },
    }
}

/// Reads JSON:API `errors` (with `source.pointer`) or falls back to the body text.
fn field_errors(body: &[u8], text: &str) -> Vec<FieldError> {
    let parsed: Option<Vec<FieldError>> = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("errors").and_then(Value::as_array).cloned())
        .map(|errs| {
            errs.iter()
                .map(|e| FieldError {
                    field: e
                        .pointer("/source/pointer")
                        .and_then(Value::as_str)
                        .and_then(|p| p.strip_prefix(assumed::ATTRIBUTE_POINTER_PREFIX))
                        .map(str::to_owned),
                    message: e
                        .get("detail")
                        .or_else(|| e.get("title"))
                        .and_then(Value::as_str)
                        .unwrap_or("invalid value")
                        .to_owned(),
                })
                .collect()
        });
    match parsed {
        Some(errs) if !errs.is_empty() => errs,
        _ => vec![FieldError {
            field: None,
            message: text.to_owned(),
        }],
    }
}

/// A logged-in user's session. Cheap to clone; clones share the token.
#[derive(Clone)]
pub struct Session {
    pub(crate) client: CrmClient,
    state: Arc<SessionState>,
}

struct SessionState {
    token: RwLock<Secret>,
    credentials: Option<(String, Secret)>,
    /// Serialises re-logins so concurrent calls that all see 401 log in once.
    relogin: Mutex<()>,
    /// Activity fields this CRM does not have; left out of writes (see
    /// [`Session::skip_activity_fields`]).
    skipped_fields: std::sync::RwLock<Vec<String>>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("address", &self.client.inner.address)
            .field("username", &self.state.credentials.as_ref().map(|c| &c.0))
            .field("token", &"***")
            .finish()
    }
}

impl Session {
    pub fn client(&self) -> &CrmClient {
        &self.client
    }

    pub(crate) fn tz(&self) -> Tz {
        self.client.inner.config.time_zone
    }

    /// The current token, for storing it (encrypted) to [`CrmClient::resume`] later.
    pub async fn token(&self) -> Secret {
        self.state.token.read().await.clone()
    }

    /// Whether this session can log in again by itself when its token expires.
    pub fn remembers_credentials(&self) -> bool {
        self.state.credentials.is_some()
    }

    /// A session on the same token that forgets the credentials ("remember me" off).
    pub async fn without_credentials(&self) -> Session {
        let s = self.client.resume(self.token().await);
        s.skip_activity_fields(self.skipped_activity_fields());
        s
    }

    /// Leaves these (assumed, optional) activity fields out of every create and update, because this
    /// CRM does not have them and would refuse the write. [`Session::check_activity_schema`] sets this
    /// from the schema; a stored pairing can restore it without asking again.
    pub fn skip_activity_fields<S: Into<String>>(&self, fields: impl IntoIterator<Item = S>) {
        *self
            .state
            .skipped_fields
            .write()
            .expect("lock never poisoned") = fields.into_iter().map(Into::into).collect();
    }

    /// The fields set by [`Session::skip_activity_fields`].
    pub fn skipped_activity_fields(&self) -> Vec<String> {
        self.state
            .skipped_fields
            .read()
            .expect("lock never poisoned")
            .clone()
    }

    /// Removes skipped fields from a JSON:API write body.
    pub(crate) fn strip_skipped(&self, mut body: Value) -> Value {
        let skipped = self.skipped_activity_fields();
        if let Some(attrs) = body
            .pointer_mut("/data/attributes")
            .and_then(Value::as_object_mut)
        {
            for f in &skipped {
                attrs.remove(f);
            }
        }
        body
    }

    /// Runs a request with the policy of this crate: GETs are retried on transient failures with
    /// exponential backoff (honouring `Retry-After`); writes are never retried, except once after a 401
    /// that led to a re-login (a 401 means the request was not processed).
    pub(crate) async fn call(&self, req: ApiRequest) -> Result<ApiResponse> {
        let cfg = &self.client.inner.config;
        let safe = req.method == Method::GET;
        let mut attempt = 0u32;
        let mut relogged = false;
        loop {
            let token = self.state.token.read().await.clone();
            let err = match self.client.send(&req, token.expose()).await {
                Ok(Ok(resp)) => return Ok(resp),
                Ok(Err(f)) if f.status == StatusCode::UNAUTHORIZED => {
                    if relogged || self.state.credentials.is_none() {
                        return Err(Error::LoginRequired);
                    }
                    self.relogin(&token).await?;
                    relogged = true;
                    continue;
                }
                Ok(Err(f)) => map_failure(f, req.record.as_ref()),
                Err(e) => e,
            };
            let Some(wait) = retry_wait(cfg, &err, attempt).filter(|_| safe) else {
                return Err(err);
            };
            tracing::debug!(path = %req.path, attempt, ?wait, error = %err, "retrying CRM request");
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    async fn relogin(&self, stale: &Secret) -> Result<()> {
        let _guard = self.state.relogin.lock().await;
        if *self.state.token.read().await != *stale {
            return Ok(()); // another call already renewed it
        }
        let (user, password) = self
            .state
            .credentials
            .as_ref()
            .ok_or(Error::LoginRequired)?;
        let fresh = self.client.authenticate(user, password).await?;
        *self.state.token.write().await = fresh;
        Ok(())
    }

    pub(crate) async fn get_json(&self, req: ApiRequest) -> Result<Value> {
        self.call(req).await?.json()
    }

    pub(crate) fn file_request(
        path: String,
        bytes: Bytes,
        content_type: &str,
        filename: &str,
    ) -> ApiRequest {
        ApiRequest {
            method: Method::POST,
            path,
            query: Vec::new(),
            body: RequestBody::File {
                bytes,
                content_type: content_type.to_owned(),
                filename: filename.to_owned(),
            },
            record: None,
        }
    }
}

/// `attachment; filename="…"; filename*=UTF-8''…` (RFC 6266): an ASCII fallback for old parsers and
/// the exact name percent-encoded, so "pöytäkirja.pdf" keeps its letters.
fn content_disposition(filename: &str) -> String {
    let ascii: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii() && !c.is_ascii_control() && c != '"' && c != '\\' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::new();
    for b in filename.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

/// How long to wait before attempt `attempt + 1` of a request that may be repeated and failed with
/// `err`; `None` when the failure is not transient (a rejection, a wrong password …), the retry budget
/// is spent, or the server asks for a longer pause than we wait out.
fn retry_wait(cfg: &ClientConfig, err: &Error, attempt: u32) -> Option<Duration> {
    let transient = matches!(
        err,
        Error::Timeout { .. }
            | Error::Interrupted { .. }
            | Error::RateLimited { .. }
            | Error::Server { .. }
            | Error::Unreachable {
                kind: crate::UnreachableKind::Refused | crate::UnreachableKind::Other,
                ..
            }
    );
    if !transient || attempt >= cfg.max_retries {
        return None;
    }
    let wait = match err {
        Error::RateLimited {
            retry_after: Some(d),
        } => *d,
        _ => backoff(cfg.retry_base_delay, attempt),
    };
    (wait <= cfg.max_retry_wait).then_some(wait)
}

/// Exponential backoff with ±25 % jitter so parallel workers do not retry in lockstep.
fn backoff(base: Duration, attempt: u32) -> Duration {
    use rand::Rng;
    let exp = base.saturating_mul(1u32 << attempt.min(10));
    let jitter: f64 = rand::rng().random_range(0.75..1.25);
    exp.mul_f64(jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_keep_their_letters_and_have_an_ascii_fallback() {
        assert_eq!(
            content_disposition("pöytä \"kirja\".pdf"),
            "attachment; filename=\"p_yt_ _kirja_.pdf\"; filename*=UTF-8''p%C3%B6yt%C3%A4%20%22kirja%22.pdf"
        );
    }

    #[test]
    fn secrets_never_print() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "Secret(***)");
        let c =
            CrmClient::new(CrmAddress::parse("crm.example.fi").unwrap(), "crm_key_123").unwrap();
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("crm_key_123"), "{dbg}");
        let sess = c.resume("tok_abc");
        assert!(!format!("{sess:?}").contains("tok_abc"));
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        let later = chrono::Utc::now() + chrono::Duration::seconds(120);
        h.insert(RETRY_AFTER, later.to_rfc2822().parse().unwrap());
        let d = retry_after(&h).unwrap();
        assert!(
            d > Duration::from_secs(100) && d <= Duration::from_secs(120),
            "{d:?}"
        );
    }

    #[test]
    fn backoff_grows_exponentially_within_jitter() {
        let base = Duration::from_millis(100);
        for attempt in 0..4 {
            let d = backoff(base, attempt);
            let nominal = 100.0 * f64::from(1u32 << attempt);
            let ms = d.as_secs_f64() * 1000.0;
            assert!(
                ms >= nominal * 0.75 && ms <= nominal * 1.25,
                "{attempt}: {ms}"
            );
        }
    }

    #[test]
    fn validation_errors_read_jsonapi_pointers_or_plain_text() {
        let body = br#"{"errors":[{"detail":"subject is required","source":{"pointer":"/data/attributes/subject"}}]}"#;
        assert_eq!(
            field_errors(body, ""),
            vec![FieldError {
                field: Some("subject".into()),
                message: "subject is required".into()
            }]
        );
        assert_eq!(field_errors(b"bad", "bad")[0].field, None);
    }
}
