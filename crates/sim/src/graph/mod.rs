//! Microsoft Graph simulator: `/v1.0` (calendars, events, contacts, mail, subscriptions, `$batch`),
//! the identity endpoints and admin endpoints, written from `shared/docs/graph-api.md`.
//!
//! # Routes
//! * Graph: `/v1.0/me/...`, `/v1.0/subscriptions`, `/v1.0/$batch` — every request needs
//!   `Authorization: Bearer <access token>` issued by the token endpoint below; `/me` is the user of
//!   the token. A user without a mailbox gets `404 MailboxNotEnabledForRESTAPI`.
//! * Identity: `/{tenant}/v2.0/.well-known/openid-configuration`, `/{tenant}/discovery/v2.0/keys`,
//!   `/{tenant}/oauth2/v2.0/token` (grants `urn:ietf:params:oauth:grant-type:jwt-bearer` with
//!   `requested_token_use=on_behalf_of`, and `refresh_token`; client [`DEFAULT_CLIENT_ID`] /
//!   [`DEFAULT_CLIENT_SECRET`]). Identity tokens for the add-in user come from
//!   [`GraphSim::mint_id_token`]; their issuer is `{base}/{tenant}/v2.0`.
//! * Admin: `/_admin/graph/...` (see [`admin`]), the same operations as the Rust methods on
//!   [`GraphSim`].
//!
//! # Base URL
//! Absolute links (`@odata.nextLink`, `@odata.deltaLink`, issuer, JWKS URL) use the base URL set with
//! [`GraphSim::set_base_url`]; until it is set, they are built from the request's `Host` header
//! (`http://{host}`). Identity tokens minted before a base URL is known use `http://localhost`.
//!
//! # Behaviour worth knowing (all documented Graph behaviour)
//! * Delta (`.../calendarView/delta`) is bound to the window of its first request; the first round
//!   returns everything in the window page by page (`Prefer: odata.maxpagesize`, default 10, max
//!   1000), later rounds only changes; deleted items and items that left the window come as
//!   `{"id", "@removed": {"reason": "deleted"}}`. Series masters are included when the series has an
//!   instance in the window; **occurrences come with partial members** (id, type, seriesMasterId,
//!   start, end) and extended properties are never expanded on delta. `$select`, `$filter` and
//!   `$expand` on delta answer 400. [`GraphSim::expire_delta_tokens`] makes tokens answer 410
//!   `SyncStateNotFound`.
//! * Mail-folder delta (`.../mailFolders/{f}/messages/delta`) accepts the one `$filter` Graph supports
//!   there (`receivedDateTime ge|gt {instant}`) and `$expand` of extended properties, both kept for the
//!   whole round. Messages have no `sensitivity` member in v1.0 (it is the MAPI property
//!   `Integer 0x0036`); attachments are served at `.../messages/{id}/attachments` (`$select`
//!   honoured, `contentBytes` for files) and raw at `.../attachments/{id}/$value`.
//! * Throttling per app and mailbox: 4 concurrent requests, 10,000 per 10 minutes (configurable with
//!   [`GraphSim::set_throttle`]); excess answers 429 `ApplicationThrottled` with a fractional
//!   `Retry-After`.
//! * `$batch`: at most 20 requests, `dependsOn` honoured (a failed dependency answers 424), every
//!   inner request passes through throttling, faults and counting like a top-level one (but does not
//!   take a concurrency slot of its own).
//! * Error bodies carry `innerError.date` with a `Z` (real Graph omits the offset, which the published
//!   schema rejects; ours validates).

pub mod admin;
mod api;
mod identity;
mod model;
mod mw;
mod notify;
mod ops;
mod seed;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, OnceLock};

use axum::{
    Router,
    http::HeaderMap,
    routing::{get, post},
};
use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use identity::{DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET};
pub use ops::{MailboxInfo, MailboxSpec};
pub use seed::{DEMO_EMAIL, DemoMailbox};

use model::Mailbox;

/// The tenant id given to mailboxes created without one.
pub const DEFAULT_TENANT_ID: &str = "7c3e1a52-9b4d-4f6e-8a21-5d0c9e8f1b37";

/// A simulated Graph tenant with its identity provider. Cheap to clone.
#[derive(Clone)]
pub struct GraphSim {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub state: Mutex<SimState>,
    pub http: reqwest::Client,
    /// The `/v1.0` router, kept so that `$batch` can dispatch its inner requests through it.
    pub graph_router: OnceLock<Router>,
}

/// Fault injected into matching Graph requests.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FaultKind {
    /// Wait this long before handling (the request holds its concurrency slot meanwhile).
    Latency { ms: u64 },
    /// Answer with this status and a Graph error body; `retry_after` (seconds, may be fractional)
    /// becomes a `Retry-After` header.
    Status {
        status: u16,
        #[serde(default)]
        retry_after: Option<f64>,
    },
    /// Close the connection without answering; nothing is changed.
    Drop,
    /// Carry the request out (commit), then close the connection without answering.
    CommitThenDrop,
}

/// Which requests a fault applies to.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Fault {
    /// `GET`, `POST`, ...; `None` for any method.
    #[serde(default)]
    pub method: Option<String>,
    /// `*` for every route, a route template exactly as routed (`/v1.0/me/events/{id}`), or a
    /// prefix of the concrete request path (`/v1.0/me/calendars`).
    pub route: String,
    /// Only requests of this mailbox (email); `None` for all.
    #[serde(default)]
    pub mailbox: Option<String>,
    /// Flattened in JSON: `{"route": "*", "kind": "status", "status": 503, "times": 1}`.
    #[serde(flatten)]
    pub kind: FaultKind,
    /// How many requests it hits before it is used up; `None` = until cleared.
    #[serde(default)]
    pub times: Option<u32>,
}

/// Throttling limits per app and mailbox.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ThrottleConfig {
    pub max_concurrent: usize,
    pub max_requests: usize,
    pub window_secs: f64,
    /// `Retry-After` sent when the concurrency limit is exceeded.
    pub concurrency_retry_after: f64,
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        ThrottleConfig {
            max_concurrent: 4,
            max_requests: 10_000,
            window_secs: 600.0,
            concurrency_retry_after: 0.5,
        }
    }
}

/// One recorded request/response (see [`GraphSim::set_recording`]). Outgoing notifications and
/// validation requests the simulator POSTs are recorded with `direction: "outgoing"`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Exchange {
    pub direction: String,
    pub method: String,
    /// The route template (`/v1.0/me/events/{id}`) or, for outgoing calls, the URL.
    pub route: String,
    pub uri: String,
    pub mailbox: Option<String>,
    pub in_batch: bool,
    pub status: u16,
    pub prefer: Vec<String>,
    pub request_body: Option<Value>,
    pub response_body: Option<Value>,
}

/// Traffic figures for one mailbox.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct MailboxStats {
    /// HTTP requests to `/v1.0` (a `$batch` is one).
    pub requests: u64,
    /// Requests carried inside `$batch` envelopes.
    pub batch_items: u64,
    /// Response bytes sent (bodies).
    pub bytes_out: u64,
    /// 429 answers because of the concurrency limit.
    pub throttled_concurrency: u64,
    /// 429 answers because of the request-rate limit.
    pub throttled_rate: u64,
    /// Most requests seen in flight at once.
    pub peak_in_flight: usize,
    /// Per `"METHOD /route/template"` (batch items prefixed with `batch:`).
    pub by_route: BTreeMap<String, u64>,
}

/// Errors of the admin API.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimError {
    pub status: u16,
    pub code: String,
    pub message: String,
}

impl std::fmt::Display for SimError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status, self.code, self.message)
    }
}

impl std::error::Error for SimError {}

impl SimError {
    pub(crate) fn new(status: u16, code: &str, message: impl Into<String>) -> Self {
        SimError {
            status,
            code: code.into(),
            message: message.into(),
        }
    }
    pub(crate) fn not_found(what: &str) -> Self {
        SimError::new(
            404,
            "ErrorItemNotFound",
            format!("The specified object was not found in the store. ({what})"),
        )
    }
}

#[derive(Default)]
pub(crate) struct Counters {
    pub stats: HashMap<String, MailboxStats>,
    pub jwks_requests: u64,
}

pub(crate) struct ThrottleState {
    pub config: ThrottleConfig,
    pub in_flight: HashMap<(String, String), usize>,
    pub history: HashMap<(String, String), VecDeque<std::time::Instant>>,
}

pub(crate) struct FaultRule {
    pub id: u64,
    pub fault: Fault,
    pub remaining: Option<u32>,
}

/// Server-side state behind a delta or skip token.
#[derive(Clone)]
pub(crate) struct DeltaState {
    pub email: String,
    pub kind: DeltaKind,
    /// id → version as of the end of the previous round.
    pub snapshot: HashMap<String, String>,
    /// Items still to be paged out in this round (skip tokens only).
    pub pending: Option<Arc<Vec<Value>>>,
    pub offset: usize,
    pub page_size: usize,
    pub expired: bool,
    /// Order of issue, for forgetting the oldest tokens.
    pub serial: u64,
}

/// Tokens kept before the oldest are forgotten (they then answer 410, as long-unused sync states
/// do on Graph).
pub(crate) const MAX_DELTA_TOKENS: usize = 5_000;

#[derive(Clone)]
pub(crate) enum DeltaKind {
    CalendarView {
        calendar_id: Option<String>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    },
    Messages {
        folder_id: String,
        /// `$filter=receivedDateTime ge …` of the first request: the round covers only those.
        received_from: Option<DateTime<Utc>>,
        /// `$expand` of the first request, kept for the whole round (as Graph encodes it in the token).
        expand: model::ExpandExt,
    },
}

pub(crate) struct Subscription {
    pub id: String,
    pub email: String,
    pub user_id: String,
    pub tenant_id: String,
    pub client_id: String,
    pub resource: String,
    pub change_type: String,
    pub notification_url: String,
    pub lifecycle_url: Option<String>,
    pub client_state: Option<String>,
    pub expires: DateTime<Utc>,
}

pub(crate) struct SimState {
    pub base_url: Option<String>,
    pub mailboxes: HashMap<String, Mailbox>,
    pub identity: identity::IdentityState,
    pub throttle: ThrottleState,
    pub faults: Vec<FaultRule>,
    pub next_fault_id: u64,
    pub counters: Counters,
    pub recording: bool,
    pub log: Vec<Exchange>,
    pub delta: HashMap<String, DeltaState>,
    pub subscriptions: BTreeMap<String, Subscription>,
    pub notifications_paused: bool,
    pub delta_serial: u64,
}

impl Default for GraphSim {
    fn default() -> Self {
        Self::new()
    }
}

impl GraphSim {
    /// An empty tenant (no mailboxes) with the default app registration and throttling limits.
    pub fn new() -> Self {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .expect("reqwest client");
        GraphSim {
            inner: Arc::new(Inner {
                state: Mutex::new(SimState {
                    base_url: None,
                    mailboxes: HashMap::new(),
                    identity: identity::IdentityState::new(),
                    throttle: ThrottleState {
                        config: ThrottleConfig::default(),
                        in_flight: HashMap::new(),
                        history: HashMap::new(),
                    },
                    faults: Vec::new(),
                    next_fault_id: 1,
                    counters: Counters::default(),
                    recording: false,
                    log: Vec::new(),
                    delta: HashMap::new(),
                    subscriptions: BTreeMap::new(),
                    notifications_paused: false,
                    delta_serial: 0,
                }),
                http,
                graph_router: OnceLock::new(),
            }),
        }
    }

    /// The full router: Graph under `/v1.0`, identity under `/{tenant}/...`, admin under
    /// `/_admin/graph`.
    pub fn router(&self) -> Router {
        let graph = self.graph_router();
        let _ = self.inner.graph_router.set(graph.clone());
        let identity = Router::new()
            .route(
                "/{tenant}/v2.0/.well-known/openid-configuration",
                get(identity::openid_configuration),
            )
            .route("/{tenant}/discovery/v2.0/keys", get(identity::jwks))
            .route("/{tenant}/oauth2/v2.0/token", post(identity::token))
            .with_state(self.clone());
        Router::new()
            .merge(graph)
            .merge(identity)
            .nest("/_admin/graph", admin::router(self.clone()))
    }

    fn graph_router(&self) -> Router {
        api::routes()
            .route_layer(axum::middleware::from_fn_with_state(
                self.clone(),
                mw::graph_mw,
            ))
            .with_state(self.clone())
    }

    /// Tells the simulator its public base URL (e.g. `Running::base_url`), used for absolute links
    /// and the token issuer. Without it the `Host` header of each request is used.
    pub fn set_base_url(&self, url: &str) {
        self.inner.state.lock().base_url = Some(url.trim_end_matches('/').to_string());
    }

    pub(crate) fn base_url_from(&self, headers: &HeaderMap) -> String {
        if let Some(b) = &self.inner.state.lock().base_url {
            return b.clone();
        }
        headers
            .get(axum::http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(|h| format!("http://{h}"))
            .unwrap_or_else(|| "http://localhost".into())
    }

    fn known_base(&self) -> String {
        self.inner
            .state
            .lock()
            .base_url
            .clone()
            .unwrap_or_else(|| "http://localhost".into())
    }

    /// The issuer of identity tokens for `tenant_id` (`{base}/{tenant}/v2.0`).
    pub fn issuer(&self, tenant_id: &str) -> String {
        self.issuer_for(&self.known_base(), tenant_id)
    }

    /// The JWKS URL for `tenant_id`.
    pub fn jwks_url(&self, tenant_id: &str) -> String {
        format!("{}/{tenant_id}/discovery/v2.0/keys", self.known_base())
    }

    /// The token endpoint for `tenant_id`.
    pub fn token_url(&self, tenant_id: &str) -> String {
        format!("{}/{tenant_id}/oauth2/v2.0/token", self.known_base())
    }

    /// Mints the add-in's identity token for a user (valid for one hour), signed with the active key.
    pub fn mint_id_token(
        &self,
        tenant_id: &str,
        object_id: &str,
        email: &str,
        audience: &str,
    ) -> String {
        let now = Utc::now();
        self.mint_id_token_at(
            tenant_id,
            object_id,
            email,
            audience,
            now,
            now + chrono::Duration::hours(1),
        )
    }

    /// Like [`GraphSim::mint_id_token`] with explicit issue and expiry instants (for expiry tests).
    pub fn mint_id_token_at(
        &self,
        tenant_id: &str,
        object_id: &str,
        email: &str,
        audience: &str,
        issued: DateTime<Utc>,
        expires: DateTime<Utc>,
    ) -> String {
        let claims = identity::id_token_claims(
            &self.issuer(tenant_id),
            tenant_id,
            object_id,
            email,
            audience,
            issued,
            expires,
        );
        self.sign(&claims)
    }

    /// Switches the signing key (key rotation) and returns the new `kid`; the JWKS then lists it.
    pub fn rotate_signing_key(&self) -> String {
        self.inner.state.lock().identity.rotate()
    }

    /// The `kid` currently used for signing.
    pub fn active_kid(&self) -> String {
        let st = self.inner.state.lock();
        st.identity.keys[st.identity.active].kid.clone()
    }

    /// How many times the JWKS document was fetched.
    pub fn jwks_requests(&self) -> u64 {
        self.inner.state.lock().counters.jwks_requests
    }

    /// How many token-endpoint requests were made.
    pub fn token_requests(&self) -> u64 {
        self.inner.state.lock().identity.token_requests
    }

    /// Sets access-token lifetime (default 3599 s) for tokens issued from now on.
    pub fn set_access_token_lifetime(&self, seconds: i64) {
        self.inner.state.lock().identity.access_lifetime = chrono::Duration::seconds(seconds);
    }

    /// Expires every access token of a user now (Graph answers 401 until the client refreshes).
    pub fn expire_access_tokens(&self, email: &str) {
        let email = email.to_ascii_lowercase();
        let mut st = self.inner.state.lock();
        for g in st.identity.access.values_mut() {
            if g.email == email {
                g.expires = Utc::now() - chrono::Duration::seconds(1);
            }
        }
    }

    /// Revokes the user's consent for the app: the token endpoint answers `invalid_grant` with
    /// `AADSTS65001` / `suberror: consent_required`, and existing access tokens stop working.
    pub fn revoke_consent(&self, email: &str) {
        self.inner
            .state
            .lock()
            .identity
            .revoked_consent
            .insert(email.to_ascii_lowercase());
    }

    /// Grants consent again.
    pub fn grant_consent(&self, email: &str) {
        self.inner
            .state
            .lock()
            .identity
            .revoked_consent
            .remove(&email.to_ascii_lowercase());
    }

    /// Revokes the user's sessions (as a password reset does): refresh tokens answer
    /// `invalid_grant` `AADSTS50173`, access tokens stop working; a new identity token works.
    pub fn revoke_sessions(&self, email: &str) {
        let email = email.to_ascii_lowercase();
        let mut st = self.inner.state.lock();
        for r in st.identity.refresh.values_mut() {
            if r.grant.email == email {
                r.revoked = true;
            }
        }
        st.identity.access.retain(|_, g| g.email != email);
    }

    /// Sets throttling limits (applies to new requests).
    pub fn set_throttle(&self, config: ThrottleConfig) {
        self.inner.state.lock().throttle.config = config;
    }

    /// Adds a fault rule; returns its id.
    pub fn add_fault(&self, fault: Fault) -> u64 {
        let mut st = self.inner.state.lock();
        let id = st.next_fault_id;
        st.next_fault_id += 1;
        let remaining = fault.times;
        st.faults.push(FaultRule {
            id,
            fault,
            remaining,
        });
        id
    }

    /// Removes one fault rule.
    pub fn remove_fault(&self, id: u64) {
        self.inner.state.lock().faults.retain(|f| f.id != id);
    }

    /// Removes all fault rules.
    pub fn clear_faults(&self) {
        self.inner.state.lock().faults.clear();
    }

    /// Traffic figures for a mailbox since the last [`GraphSim::reset_stats`].
    pub fn stats(&self, email: &str) -> MailboxStats {
        self.inner
            .state
            .lock()
            .counters
            .stats
            .get(&email.to_ascii_lowercase())
            .cloned()
            .unwrap_or_default()
    }

    /// Resets all traffic counters.
    pub fn reset_stats(&self) {
        self.inner.state.lock().counters.stats.clear();
    }

    /// Turns recording of full request/response bodies on or off.
    pub fn set_recording(&self, on: bool) {
        self.inner.state.lock().recording = on;
    }

    /// Returns and clears the recorded exchanges.
    pub fn take_exchanges(&self) -> Vec<Exchange> {
        std::mem::take(&mut self.inner.state.lock().log)
    }

    /// Makes every delta and skip token of a mailbox answer `410 Gone` (`SyncStateNotFound`).
    pub fn expire_delta_tokens(&self, email: &str) -> usize {
        let email = email.to_ascii_lowercase();
        let mut st = self.inner.state.lock();
        let mut n = 0;
        for d in st.delta.values_mut() {
            if d.email == email && !d.expired {
                d.expired = true;
                n += 1;
            }
        }
        n
    }

    pub(crate) fn record(&self, ex: Exchange) {
        let mut st = self.inner.state.lock();
        if st.recording {
            st.log.push(ex);
        }
    }
}
