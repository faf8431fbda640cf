//! The request engine: base URL, headers, per-mailbox concurrency, retries and time budget.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use parking_lot::Mutex;
use reqwest::{Method, StatusCode, header::HeaderMap};
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::sync::Semaphore;

use crate::{GraphError, Secret};

/// Client configuration.
#[derive(Clone, Debug)]
pub struct GraphConfig {
    /// Up to and including the version, e.g. `https://graph.microsoft.com/v1.0`.
    pub base_url: String,
    /// Requests in flight per mailbox (Graph allows 4 per app and mailbox).
    pub max_concurrency: usize,
    /// Total time one call may spend waiting for throttling and outages before it gives up.
    pub max_total_time: Duration,
    /// First backoff step for 503/504 without `Retry-After` (doubles each time, with full jitter).
    pub backoff_base: Duration,
    /// Largest single backoff sleep.
    pub backoff_max: Duration,
    /// `Prefer: odata.maxpagesize` for delta and list calls.
    pub page_size: u32,
    /// Per-request timeout.
    pub request_timeout: Duration,
}

impl GraphConfig {
    pub fn new(base_url: impl Into<String>) -> Self {
        GraphConfig {
            base_url: base_url.into().trim_end_matches('/').to_string(),
            max_concurrency: 4,
            max_total_time: Duration::from_secs(120),
            backoff_base: Duration::from_millis(500),
            backoff_max: Duration::from_secs(30),
            page_size: 100,
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// Where a mailbox's access tokens come from ([`crate::identity::UserTokens`] in production).
pub trait TokenSource: Send + Sync {
    /// A currently valid access token (refreshing it first if it is about to expire).
    fn access_token(&self) -> BoxFuture<'_, Result<Secret, GraphError>>;
    /// Called after Graph answered 401: the next [`TokenSource::access_token`] must not return
    /// the same token.
    fn invalidate(&self) {}
}

/// A fixed access token (tests, scripts).
pub struct StaticToken(pub Secret);

impl TokenSource for StaticToken {
    fn access_token(&self) -> BoxFuture<'_, Result<Secret, GraphError>> {
        let t = self.0.clone();
        Box::pin(async move { Ok(t) })
    }
}

pub(crate) struct ClientInner {
    pub http: reqwest::Client,
    pub config: GraphConfig,
    pub permits: Mutex<HashMap<String, Arc<Semaphore>>>,
}

/// The Graph client; cheap to clone.
#[derive(Clone)]
pub struct GraphClient {
    pub(crate) inner: Arc<ClientInner>,
}

impl std::fmt::Debug for GraphClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GraphClient").field("base_url", &self.inner.config.base_url).finish()
    }
}

impl GraphClient {
    pub fn new(config: GraphConfig) -> Self {
        let http = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .build()
            .expect("reqwest client with rustls");
        GraphClient {
            inner: Arc::new(ClientInner {
                http,
                config,
                permits: Mutex::new(HashMap::new()),
            }),
        }
    }

    pub fn config(&self) -> &GraphConfig {
        &self.inner.config
    }

    /// A handle for one mailbox. `mailbox_key` identifies the mailbox for the concurrency cap
    /// (use the pairing's mailbox address or user id); all handles with the same key share it.
    pub fn mailbox(&self, mailbox_key: &str, tokens: Arc<dyn TokenSource>) -> MailboxClient {
        let permits = self
            .inner
            .permits
            .lock()
            .entry(mailbox_key.to_ascii_lowercase())
            .or_insert_with(|| Arc::new(Semaphore::new(self.inner.config.max_concurrency)))
            .clone();
        MailboxClient {
            inner: self.inner.clone(),
            mailbox: mailbox_key.to_string(),
            tokens,
            permits,
        }
    }
}

/// Graph calls for one mailbox (`/me` of its tokens). Cheap to clone.
#[derive(Clone)]
pub struct MailboxClient {
    pub(crate) inner: Arc<ClientInner>,
    pub(crate) mailbox: String,
    pub(crate) tokens: Arc<dyn TokenSource>,
    pub(crate) permits: Arc<Semaphore>,
}

impl std::fmt::Debug for MailboxClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailboxClient").field("mailbox", &self.mailbox).finish()
    }
}

/// One request as the engine sends it.
#[derive(Clone, Debug)]
pub(crate) struct Req {
    pub method: Method,
    /// A path below the base URL (`/me/events`) or an absolute link from Graph.
    pub url: String,
    pub query: Vec<(String, String)>,
    pub body: Option<Value>,
    pub headers: Vec<(&'static str, String)>,
    /// Safe to repeat after a transport failure (GET, DELETE, PATCH with If-Match, POST with a
    /// transactionId).
    pub retry_transport: bool,
}

impl Req {
    pub fn get(url: impl Into<String>) -> Req {
        Req {
            method: Method::GET,
            url: url.into(),
            query: vec![],
            body: None,
            headers: vec![],
            retry_transport: true,
        }
    }
    pub fn with_body(method: Method, url: impl Into<String>, body: Value, retry_transport: bool) -> Req {
        Req {
            method,
            url: url.into(),
            query: vec![],
            body: Some(body),
            headers: vec![],
            retry_transport,
        }
    }
    pub fn query(mut self, k: &str, v: impl Into<String>) -> Req {
        self.query.push((k.to_string(), v.into()));
        self
    }
    pub fn header(mut self, k: &'static str, v: impl Into<String>) -> Req {
        self.headers.push((k, v.into()));
        self
    }
}

/// A response that came back (any status).
#[derive(Debug)]
pub(crate) struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, GraphError> {
        serde_json::from_slice(&self.body).map_err(|e| GraphError::Decode(format!("{e}")))
    }
}

/// Parses `Retry-After` as (possibly fractional) seconds or an HTTP date.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let v = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(s) = v.parse::<f64>() {
        if s.is_finite() && s >= 0.0 {
            return Some(Duration::from_secs_f64(s.min(3600.0)));
        }
        return None;
    }
    let when = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    let d = when.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(d.to_std().unwrap_or(Duration::ZERO))
}

/// The Graph error body's code and message.
pub(crate) fn error_parts(body: &[u8]) -> (String, String) {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let code = v["error"]["code"].as_str().unwrap_or("").to_string();
    let message = v["error"]["message"].as_str().unwrap_or("").to_string();
    (code, message)
}

/// Maps a non-success response to its typed error.
pub(crate) fn error_for(resp: &Resp) -> GraphError {
    let (code, message) = error_parts(&resp.body);
    match resp.status.as_u16() {
        404 if code == "MailboxNotEnabledForRESTAPI" => GraphError::MailboxNotEnabled,
        404 => GraphError::NotFound { code, message },
        410 => GraphError::ResyncRequired,
        412 => GraphError::Conflict { code },
        401 => GraphError::Unauthorized { code, message },
        s @ 400..=499 => GraphError::BadRequest { status: s, code, message },
        s => GraphError::Api { status: s, code, message },
    }
}

fn jitter(max: Duration) -> Duration {
    let f: f64 = rand::random::<f64>();
    max.mul_f64(f)
}

impl MailboxClient {
    pub(crate) fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_string()
        } else {
            format!("{}{}", self.inner.config.base_url, path)
        }
    }

    /// Sends with retries; returns whatever final response came back (the caller maps errors).
    pub(crate) async fn send(&self, req: &Req) -> Result<Resp, GraphError> {
        let cfg = &self.inner.config;
        let started = Instant::now();
        let deadline = started + cfg.max_total_time;
        let mut attempt: u32 = 0;
        let mut refreshed_token = false;
        loop {
            attempt += 1;
            let token = self.tokens.access_token().await?;
            let outcome = {
                let _permit = self.permits.acquire().await.expect("semaphore never closed");
                let mut rb = self
                    .inner
                    .http
                    .request(req.method.clone(), self.url(&req.url))
                    .bearer_auth(token.expose())
                    .header("Prefer", "IdType=\"ImmutableId\"")
                    .header("Prefer", "outlook.timezone=\"UTC\"");
                if !req.query.is_empty() {
                    rb = rb.query(&req.query);
                }
                for (k, v) in &req.headers {
                    rb = rb.header(*k, v);
                }
                if let Some(b) = &req.body {
                    rb = rb.json(b);
                }
                match rb.send().await {
                    Ok(r) => {
                        let status = r.status();
                        let headers = r.headers().clone();
                        match r.bytes().await {
                            Ok(b) => Ok(Resp {
                                status,
                                headers,
                                body: b.to_vec(),
                            }),
                            Err(e) => Err(format!("reading body: {e}")),
                        }
                    }
                    Err(e) => Err(format!("{e}")),
                }
            };
            let now = Instant::now();
            let (wait, last) = match outcome {
                Ok(resp) => {
                    let s = resp.status.as_u16();
                    match s {
                        429 | 503 | 504 | 502 => {
                            let wait = retry_after(&resp.headers).unwrap_or_else(|| {
                                if s == 429 {
                                    Duration::from_secs(1)
                                } else {
                                    let exp = cfg.backoff_base.saturating_mul(1 << attempt.min(16));
                                    jitter(exp.min(cfg.backoff_max))
                                }
                            });
                            tracing::debug!(mailbox = %self.mailbox, status = s, ?wait, attempt, "graph: backing off");
                            if now + wait > deadline {
                                return Err(if s == 429 {
                                    GraphError::Throttled { waited: now - started }
                                } else {
                                    GraphError::Unavailable {
                                        last: format!("HTTP {s}"),
                                        waited: now - started,
                                    }
                                });
                            }
                            (wait, format!("HTTP {s}"))
                        }
                        401 if !refreshed_token => {
                            refreshed_token = true;
                            self.tokens.invalidate();
                            continue;
                        }
                        _ => return Ok(resp),
                    }
                }
                Err(e) => {
                    if !req.retry_transport {
                        return Err(GraphError::Transport(e));
                    }
                    let exp = cfg.backoff_base.saturating_mul(1 << attempt.min(16));
                    let wait = jitter(exp.min(cfg.backoff_max));
                    if now + wait > deadline {
                        return Err(GraphError::Unavailable {
                            last: e,
                            waited: now - started,
                        });
                    }
                    (wait, e)
                }
            };
            tracing::trace!(last, "graph: retrying");
            tokio::time::sleep(wait).await;
        }
    }

    /// Sends and decodes a 2xx JSON body, mapping other statuses to errors.
    pub(crate) async fn send_json<T: DeserializeOwned>(&self, req: &Req) -> Result<T, GraphError> {
        let resp = self.send(req).await?;
        if !resp.status.is_success() {
            return Err(error_for(&resp));
        }
        resp.json()
    }

    /// Follows `@odata.nextLink` and collects every `value`.
    pub(crate) async fn collect_pages<T: DeserializeOwned>(&self, first: Req) -> Result<Vec<T>, GraphError> {
        let mut out = vec![];
        let mut req = first;
        loop {
            let page: Value = self.send_json(&req).await?;
            let items: Vec<T> = serde_json::from_value(page["value"].clone()).map_err(|e| GraphError::Decode(e.to_string()))?;
            out.extend(items);
            match page["@odata.nextLink"].as_str() {
                Some(next) => req = Req::get(next),
                None => return Ok(out),
            }
        }
    }

    /// The mailbox key this handle was made for.
    pub fn mailbox_key(&self) -> &str {
        &self.mailbox
    }
}
