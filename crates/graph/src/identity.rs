//! Identity: validating the add-in's identity token and getting Graph tokens on-behalf-of the user.
//!
//! * [`IdentityClient::validate_id_token`] checks the signature against the JWKS (cached; fetched
//!   again when a token names an unknown `kid`, which is how key rotation shows), the algorithm
//!   (`RS256` only; `alg: none` is rejected before anything else), issuer
//!   (`{authority}/{tid}/v2.0`), audience, expiry and not-before with a clock-skew leeway.
//! * [`IdentityClient::exchange_on_behalf_of`] and [`IdentityClient::refresh`] talk to the token
//!   endpoint; `AADSTS65001`/`consent_required` becomes [`GraphError::ConsentRequired`], other
//!   `invalid_grant`/`interaction_required` answers become [`GraphError::ReloginRequired`].
//! * [`UserTokens`] is a [`TokenSource`] that refreshes the access token before it expires.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, jwk::JwkSet};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use crate::{GraphError, Secret, TokenSource};

/// Why an identity token was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("token is not a JWT")]
    Malformed,
    #[error("unsigned token (alg: none) rejected")]
    Unsigned,
    #[error("algorithm {0} not accepted")]
    UnsupportedAlgorithm(String),
    #[error("no key {0:?} in the JWKS")]
    UnknownKey(Option<String>),
    #[error("signature does not verify")]
    BadSignature,
    #[error("wrong issuer {0}")]
    WrongIssuer(String),
    #[error("tenant {0} not allowed")]
    TenantNotAllowed(String),
    #[error("wrong audience")]
    WrongAudience,
    #[error("token expired")]
    Expired,
    #[error("token not valid yet")]
    NotYetValid,
    #[error("missing claim {0}")]
    MissingClaim(&'static str),
    #[error("JWKS unavailable: {0}")]
    Jwks(String),
}

/// Identity configuration.
#[derive(Clone, Debug)]
pub struct IdentityConfig {
    /// e.g. `https://login.microsoftonline.com/common/discovery/v2.0/keys`.
    pub jwks_url: String,
    /// e.g. `https://login.microsoftonline.com/common/oauth2/v2.0/token`.
    pub token_url: String,
    /// Issuer with `{tenantid}` standing for the token's `tid`, e.g.
    /// `https://login.microsoftonline.com/{tenantid}/v2.0`.
    pub issuer_template: String,
    pub client_id: String,
    pub client_secret: Secret,
    /// Accepted `aud` values of identity tokens (our client id and/or `api://host/client-id`).
    pub audiences: Vec<String>,
    /// Only these tenants (`None` = any).
    pub allowed_tenants: Option<Vec<String>>,
    /// Clock skew allowed on `exp`/`nbf`.
    pub leeway: Duration,
    /// Scopes asked for in the on-behalf-of exchange.
    pub scopes: String,
    /// How long a fetched JWKS is trusted before it is fetched again.
    pub jwks_ttl: Duration,
    /// Least time between two fetches caused by unknown `kid`s (protects the IdP from token spam).
    pub jwks_refetch_cooldown: Duration,
    /// Refresh the access token when it has less than this left.
    pub refresh_margin: Duration,
}

/// The scopes our server needs.
pub const DEFAULT_SCOPES: &str = "offline_access https://graph.microsoft.com/Calendars.ReadWrite https://graph.microsoft.com/Contacts.ReadWrite https://graph.microsoft.com/Mail.ReadWrite";

impl IdentityConfig {
    /// Endpoints under an authority (`https://login.microsoftonline.com`) for a tenant
    /// (`common`, `organizations` or a tenant id).
    pub fn for_authority(authority: &str, tenant: &str, client_id: &str, client_secret: Secret) -> Self {
        let a = authority.trim_end_matches('/');
        IdentityConfig {
            jwks_url: format!("{a}/{tenant}/discovery/v2.0/keys"),
            token_url: format!("{a}/{tenant}/oauth2/v2.0/token"),
            issuer_template: format!("{a}/{{tenantid}}/v2.0"),
            client_id: client_id.into(),
            client_secret,
            audiences: vec![client_id.into()],
            allowed_tenants: None,
            leeway: Duration::from_secs(120),
            scopes: DEFAULT_SCOPES.into(),
            jwks_ttl: Duration::from_secs(24 * 3600),
            jwks_refetch_cooldown: Duration::from_secs(10),
            refresh_margin: Duration::from_secs(300),
        }
    }
}

/// The claims we use from a validated identity token.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct IdClaims {
    pub tid: String,
    pub oid: String,
    #[serde(default)]
    pub preferred_username: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    pub iss: String,
    pub exp: i64,
}

/// Graph tokens for one user.
#[derive(Clone, Debug, PartialEq)]
pub struct TokenSet {
    pub access_token: Secret,
    pub refresh_token: Option<Secret>,
    pub expires_at: DateTime<Utc>,
    pub scope: String,
}

struct JwksCache {
    keys: HashMap<String, DecodingKey>,
    fetched: Instant,
}

/// Talks to the identity platform; cheap to clone.
#[derive(Clone)]
pub struct IdentityClient {
    http: reqwest::Client,
    config: Arc<IdentityConfig>,
    jwks: Arc<Mutex<Option<JwksCache>>>,
    fetch_lock: Arc<tokio::sync::Mutex<()>>,
}

impl std::fmt::Debug for IdentityClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdentityClient").field("token_url", &self.config.token_url).finish()
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    refresh_token: Option<String>,
    expires_in: i64,
    #[serde(default)]
    scope: String,
}

#[derive(Deserialize, Default)]
struct TokenErrorBody {
    #[serde(default)]
    error: String,
    #[serde(default)]
    error_description: String,
    #[serde(default)]
    error_codes: Vec<u64>,
    #[serde(default)]
    suberror: Option<String>,
}

impl IdentityClient {
    pub fn new(config: IdentityConfig) -> Self {
        IdentityClient {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(15))
                .build()
                .expect("reqwest client"),
            config: Arc::new(config),
            jwks: Arc::new(Mutex::new(None)),
            fetch_lock: Arc::new(tokio::sync::Mutex::new(())),
        }
    }

    pub fn config(&self) -> &IdentityConfig {
        &self.config
    }

    async fn fetch_jwks(&self) -> Result<(), TokenError> {
        let set: JwkSet = self
            .http
            .get(&self.config.jwks_url)
            .send()
            .await
            .map_err(|e| TokenError::Jwks(e.to_string()))?
            .error_for_status()
            .map_err(|e| TokenError::Jwks(e.to_string()))?
            .json()
            .await
            .map_err(|e| TokenError::Jwks(e.to_string()))?;
        let mut keys = HashMap::new();
        for k in &set.keys {
            if let (Some(kid), Ok(dk)) = (k.common.key_id.clone(), DecodingKey::from_jwk(k)) {
                keys.insert(kid, dk);
            }
        }
        *self.jwks.lock() = Some(JwksCache {
            keys,
            fetched: Instant::now(),
        });
        Ok(())
    }

    /// The key for `kid`, fetching the JWKS when it is missing, stale or lacks the key.
    async fn key_for(&self, kid: &str) -> Result<DecodingKey, TokenError> {
        let lookup = |this: &Self| -> (Option<DecodingKey>, Option<Instant>) {
            let g = this.jwks.lock();
            match &*g {
                Some(c) if c.fetched.elapsed() < this.config.jwks_ttl => (c.keys.get(kid).cloned(), Some(c.fetched)),
                Some(c) => (None, Some(c.fetched)),
                None => (None, None),
            }
        };
        if let (Some(k), _) = lookup(self) {
            return Ok(k);
        }
        let _guard = self.fetch_lock.lock().await;
        // Another task may have fetched meanwhile.
        let (k, fetched) = lookup(self);
        if let Some(k) = k {
            return Ok(k);
        }
        let stale = fetched.is_none_or(|f| f.elapsed() >= self.config.jwks_ttl);
        let cooled = fetched.is_none_or(|f| f.elapsed() >= self.config.jwks_refetch_cooldown);
        if stale || cooled {
            self.fetch_jwks().await?;
        }
        lookup(self).0.ok_or_else(|| TokenError::UnknownKey(Some(kid.to_string())))
    }

    /// Validates the add-in's identity token and returns its claims.
    pub async fn validate_id_token(&self, token: &str) -> Result<IdClaims, TokenError> {
        let mut parts = token.split('.');
        let (Some(h), Some(_), sig, None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            return Err(TokenError::Malformed);
        };
        let header: serde_json::Value = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(h.trim_end_matches('='))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or(TokenError::Malformed)?;
        let alg = header["alg"].as_str().unwrap_or("");
        if alg.eq_ignore_ascii_case("none") || sig.is_none_or(str::is_empty) {
            return Err(TokenError::Unsigned);
        }
        if alg != "RS256" {
            return Err(TokenError::UnsupportedAlgorithm(alg.to_string()));
        }
        let kid = header["kid"].as_str().ok_or(TokenError::UnknownKey(None))?;
        let key = self.key_for(kid).await?;
        let mut v = Validation::new(Algorithm::RS256);
        v.leeway = self.config.leeway.as_secs();
        v.validate_nbf = true;
        v.set_audience(&self.config.audiences);
        v.set_required_spec_claims(&["exp", "aud", "iss"]);
        let data = jsonwebtoken::decode::<IdClaims>(token, &key, &v).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind as K;
            match e.kind() {
                K::ExpiredSignature => TokenError::Expired,
                K::ImmatureSignature => TokenError::NotYetValid,
                K::InvalidAudience => TokenError::WrongAudience,
                K::InvalidSignature => TokenError::BadSignature,
                K::MissingRequiredClaim(c) => TokenError::MissingClaim(match c.as_str() {
                    "exp" => "exp",
                    "aud" => "aud",
                    _ => "iss",
                }),
                K::Json(_) => TokenError::MissingClaim("tid/oid"),
                _ => TokenError::Malformed,
            }
        })?;
        let c = data.claims;
        let expected = self.config.issuer_template.replace("{tenantid}", &c.tid);
        if c.iss != expected {
            return Err(TokenError::WrongIssuer(c.iss));
        }
        if let Some(allowed) = &self.config.allowed_tenants
            && !allowed.iter().any(|t| t.eq_ignore_ascii_case(&c.tid))
        {
            return Err(TokenError::TenantNotAllowed(c.tid));
        }
        Ok(c)
    }

    async fn token_request(&self, form: &[(&str, &str)]) -> Result<TokenSet, GraphError> {
        let resp = self
            .http
            .post(&self.config.token_url)
            .form(form)
            .send()
            .await
            .map_err(|e| GraphError::Transport(format!("token endpoint: {e}")))?;
        let status = resp.status();
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| GraphError::Transport(format!("token endpoint: {e}")))?;
        if status.is_success() {
            let t: TokenResponse = serde_json::from_slice(&bytes).map_err(|e| GraphError::Decode(format!("token response: {e}")))?;
            return Ok(TokenSet {
                access_token: Secret::new(t.access_token),
                refresh_token: t.refresh_token.map(Secret::new),
                expires_at: Utc::now() + chrono::Duration::seconds(t.expires_in),
                scope: t.scope,
            });
        }
        let e: TokenErrorBody = serde_json::from_slice(&bytes).unwrap_or_default();
        let summary = e.error_description.split(" Trace ID").next().unwrap_or("").to_string();
        let consent = e.suberror.as_deref() == Some("consent_required") || e.error_codes.contains(&65001);
        Err(match e.error.as_str() {
            "invalid_grant" | "interaction_required" if consent => GraphError::ConsentRequired(summary),
            "invalid_grant" | "interaction_required" => GraphError::ReloginRequired(summary),
            "invalid_client" | "unauthorized_client" | "invalid_scope" => GraphError::Config(summary),
            _ if status.is_server_error() => GraphError::Unavailable {
                last: format!("token endpoint HTTP {status}"),
                waited: Duration::ZERO,
            },
            _ => GraphError::Api {
                status: status.as_u16(),
                code: e.error,
                message: summary,
            },
        })
    }

    /// Exchanges a (validated) identity token for Graph tokens on-behalf-of the user.
    pub async fn exchange_on_behalf_of(&self, id_token: &str) -> Result<TokenSet, GraphError> {
        self.token_request(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("client_id", &self.config.client_id),
            ("client_secret", self.config.client_secret.expose()),
            ("assertion", id_token),
            ("scope", &self.config.scopes),
            ("requested_token_use", "on_behalf_of"),
        ])
        .await
    }

    /// Redeems a refresh token (the answer carries a new refresh token: store it).
    pub async fn refresh(&self, refresh_token: &Secret) -> Result<TokenSet, GraphError> {
        self.token_request(&[
            ("grant_type", "refresh_token"),
            ("client_id", &self.config.client_id),
            ("client_secret", self.config.client_secret.expose()),
            ("refresh_token", refresh_token.expose()),
            ("scope", &self.config.scopes),
        ])
        .await
    }
}

/// A user's Graph tokens that refresh themselves before they expire; use as the
/// [`TokenSource`] of a [`crate::MailboxClient`]. [`UserTokens::current`] gives the latest set
/// (persist its refresh token).
pub struct UserTokens {
    identity: IdentityClient,
    tokens: tokio::sync::Mutex<TokenSet>,
}

impl UserTokens {
    pub fn new(identity: IdentityClient, tokens: TokenSet) -> Self {
        UserTokens {
            identity,
            tokens: tokio::sync::Mutex::new(tokens),
        }
    }

    /// The latest token set.
    pub async fn current(&self) -> TokenSet {
        self.tokens.lock().await.clone()
    }

    async fn fresh(&self) -> Result<Secret, GraphError> {
        let mut t = self.tokens.lock().await;
        let margin = chrono::Duration::from_std(self.identity.config.refresh_margin).unwrap_or_default();
        if t.expires_at - margin > Utc::now() {
            return Ok(t.access_token.clone());
        }
        let Some(rt) = t.refresh_token.clone() else {
            return Err(GraphError::ReloginRequired("access token expired and no refresh token".into()));
        };
        let mut new = self.identity.refresh(&rt).await?;
        if new.refresh_token.is_none() {
            new.refresh_token = Some(rt);
        }
        *t = new;
        Ok(t.access_token.clone())
    }
}

impl TokenSource for UserTokens {
    fn access_token(&self) -> BoxFuture<'_, Result<Secret, GraphError>> {
        Box::pin(self.fresh())
    }

    fn invalidate(&self) {
        if let Ok(mut t) = self.tokens.try_lock() {
            t.expires_at = Utc::now() - chrono::Duration::seconds(1);
        }
    }
}
