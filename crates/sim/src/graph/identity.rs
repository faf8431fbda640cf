//! The simulated Microsoft identity platform: OpenID configuration, JWKS with two test keys and
//! rotation, the token endpoint (on-behalf-of and refresh_token grants) and the Graph access tokens
//! that the `/v1.0` routes require.

use std::collections::{HashMap, HashSet};

use axum::{
    Form, Json,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, jwk::Jwk};
use serde_json::{Value, json};

use super::{GraphSim, model::B64};
use base64::Engine as _;

pub(crate) struct SigningKey {
    pub kid: String,
    pub enc: EncodingKey,
    pub jwk: Value,
    pub dec: DecodingKey,
}

fn load_key(kid: &str, pem: &str) -> SigningKey {
    let enc = EncodingKey::from_rsa_pem(pem.as_bytes()).expect("committed test key parses");
    let jwk = Jwk::from_encoding_key(&enc, Algorithm::RS256).expect("jwk from test key");
    let mut jwk_json = serde_json::to_value(&jwk).expect("jwk serialises");
    let obj = jwk_json.as_object_mut().expect("object");
    obj.insert("kid".into(), json!(kid));
    obj.insert("use".into(), json!("sig"));
    obj.insert("x5t".into(), json!(kid));
    let dec = DecodingKey::from_jwk(&serde_json::from_value(jwk_json.clone()).expect("jwk"))
        .expect("decoding key");
    SigningKey {
        kid: kid.to_string(),
        enc,
        jwk: jwk_json,
        dec,
    }
}

/// The two committed test keys (see `crates/sim/keys/README.md`).
pub(crate) fn test_keys() -> Vec<SigningKey> {
    vec![
        load_key("sim-key-1", include_str!("../../keys/graph-idp-1.pem")),
        load_key("sim-key-2", include_str!("../../keys/graph-idp-2.pem")),
    ]
}

/// The app registration the token endpoint accepts unless told otherwise.
pub const DEFAULT_CLIENT_ID: &str = "5f0c4b8e-6d1a-4c59-9a43-1e2d3c4b5a69";
/// Its client secret (test-only).
pub const DEFAULT_CLIENT_SECRET: &str = "sim-client-secret";

#[derive(Clone, Debug)]
pub(crate) struct AccessGrant {
    pub email: String,
    pub user_id: String,
    pub tenant_id: String,
    pub client_id: String,
    pub expires: DateTime<Utc>,
    pub scopes: String,
}

#[derive(Clone, Debug)]
pub(crate) struct RefreshGrant {
    pub grant: AccessGrant,
    pub expires: DateTime<Utc>,
    /// Set when the user's sessions were revoked (password reset): a new login is needed.
    pub revoked: bool,
}

pub(crate) struct IdentityState {
    pub keys: Vec<SigningKey>,
    pub active: usize,
    /// Keys whose public part is in the JWKS document.
    pub published: HashSet<usize>,
    pub clients: HashMap<String, String>,
    pub access: HashMap<String, AccessGrant>,
    pub refresh: HashMap<String, RefreshGrant>,
    pub access_lifetime: Duration,
    pub refresh_lifetime: Duration,
    /// Users (lower-case email) whose consent for our app was revoked.
    pub revoked_consent: HashSet<String>,
    pub token_requests: u64,
}

impl IdentityState {
    pub fn new() -> Self {
        let mut clients = HashMap::new();
        clients.insert(
            DEFAULT_CLIENT_ID.to_string(),
            DEFAULT_CLIENT_SECRET.to_string(),
        );
        IdentityState {
            keys: test_keys(),
            active: 0,
            published: HashSet::from([0]),
            clients,
            access: HashMap::new(),
            refresh: HashMap::new(),
            access_lifetime: Duration::seconds(3599),
            refresh_lifetime: Duration::days(90),
            revoked_consent: HashSet::new(),
            token_requests: 0,
        }
    }

    pub fn jwks(&self) -> Value {
        let mut idx: Vec<usize> = self.published.iter().copied().collect();
        idx.sort();
        json!({"keys": idx.iter().map(|i| self.keys[*i].jwk.clone()).collect::<Vec<_>>()})
    }

    /// Switches signing to the other key and publishes it (the old one stays published, as
    /// Microsoft keeps rolled-over keys in the JWKS for a while).
    pub fn rotate(&mut self) -> String {
        self.active = (self.active + 1) % self.keys.len();
        self.published.insert(self.active);
        self.keys[self.active].kid.clone()
    }
}

fn random_token(prefix: &str) -> String {
    let bytes: [u8; 32] = rand::random();
    format!("{prefix}{}", B64.encode(bytes))
}

/// Identity-token claims minted for the add-in user.
pub(crate) fn id_token_claims(
    issuer: &str,
    tenant_id: &str,
    object_id: &str,
    email: &str,
    audience: &str,
    issued: DateTime<Utc>,
    expires: DateTime<Utc>,
) -> Value {
    let name = email.split('@').next().unwrap_or(email);
    json!({
        "aud": audience,
        "iss": issuer,
        "iat": issued.timestamp(),
        "nbf": issued.timestamp(),
        "exp": expires.timestamp(),
        "name": name,
        "oid": object_id,
        "preferred_username": email,
        "scp": "access_as_user",
        "sub": B64.encode(object_id.as_bytes()),
        "tid": tenant_id,
        "ver": "2.0",
    })
}

impl GraphSim {
    pub(crate) fn issuer_for(&self, base: &str, tenant: &str) -> String {
        format!("{base}/{tenant}/v2.0")
    }

    pub(crate) fn sign(&self, claims: &Value) -> String {
        let st = self.inner.state.lock();
        let key = &st.identity.keys[st.identity.active];
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(key.kid.clone());
        jsonwebtoken::encode(&header, claims, &key.enc).expect("signing with a test key")
    }

    /// Looks up a Graph bearer token.
    pub(crate) fn access_grant(&self, token: &str) -> Result<AccessGrant, (&'static str, String)> {
        let st = self.inner.state.lock();
        let Some(g) = st.identity.access.get(token) else {
            return Err((
                "InvalidAuthenticationToken",
                "Access token validation failure. Invalid audience.".into(),
            ));
        };
        if g.expires <= Utc::now() {
            return Err((
                "InvalidAuthenticationToken",
                "Lifetime validation failed, the token is expired.".into(),
            ));
        }
        if st.identity.revoked_consent.contains(&g.email) {
            return Err((
                "InvalidAuthenticationToken",
                "Access token has been revoked.".into(),
            ));
        }
        Ok(g.clone())
    }
}

pub(crate) async fn openid_configuration(
    State(sim): State<GraphSim>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Response {
    let base = sim.base_url_from(&headers);
    Json(json!({
        "issuer": sim.issuer_for(&base, if tenant == "common" || tenant == "organizations" { "{tenantid}" } else { &tenant }),
        "authorization_endpoint": format!("{base}/{tenant}/oauth2/v2.0/authorize"),
        "token_endpoint": format!("{base}/{tenant}/oauth2/v2.0/token"),
        "jwks_uri": format!("{base}/{tenant}/discovery/v2.0/keys"),
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "tenant_region_scope": "EU",
    }))
    .into_response()
}

pub(crate) async fn jwks(State(sim): State<GraphSim>) -> Response {
    let body = sim.inner.state.lock().identity.jwks();
    sim.inner.state.lock().counters.jwks_requests += 1;
    Json(body).into_response()
}

fn token_error(
    status: StatusCode,
    error: &str,
    code: u32,
    description: &str,
    suberror: Option<&str>,
) -> Response {
    let now = Utc::now();
    let mut body = json!({
        "error": error,
        "error_description": format!("AADSTS{code}: {description} Trace ID: {} Correlation ID: {} Timestamp: {}",
            uuid::Uuid::new_v4(), uuid::Uuid::new_v4(), now.format("%Y-%m-%d %H:%M:%SZ")),
        "error_codes": [code],
        "timestamp": now.format("%Y-%m-%d %H:%M:%SZ").to_string(),
        "trace_id": uuid::Uuid::new_v4().to_string(),
        "correlation_id": uuid::Uuid::new_v4().to_string(),
    });
    if let Some(s) = suberror {
        body["suberror"] = json!(s);
    }
    (status, Json(body)).into_response()
}

pub(crate) async fn token(
    State(sim): State<GraphSim>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let base = sim.base_url_from(&headers);
    let f = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    {
        let mut st = sim.inner.state.lock();
        st.identity.token_requests += 1;
        let client_ok = st
            .identity
            .clients
            .get(f("client_id"))
            .is_some_and(|s| s == f("client_secret"));
        if !client_ok {
            drop(st);
            return token_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.",
                None,
            );
        }
    }
    let scope = f("scope").to_string();
    let grant = match f("grant_type") {
        "urn:ietf:params:oauth:grant-type:jwt-bearer" => {
            if f("requested_token_use") != "on_behalf_of" {
                return token_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    900144,
                    "The request body must contain the following parameter: 'requested_token_use'.",
                    None,
                );
            }
            let assertion = f("assertion");
            let header = match jsonwebtoken::decode_header(assertion) {
                Ok(h) => h,
                Err(_) => {
                    return token_error(
                        StatusCode::BAD_REQUEST,
                        "invalid_request",
                        50027,
                        "JWT token is invalid or malformed.",
                        None,
                    );
                }
            };
            let claims: Value = {
                let st = sim.inner.state.lock();
                let Some(key) = st
                    .identity
                    .keys
                    .iter()
                    .find(|k| Some(&k.kid) == header.kid.as_ref())
                else {
                    return token_error(
                        StatusCode::BAD_REQUEST,
                        "invalid_grant",
                        50013,
                        "Assertion failed signature validation. [Reason - The key was not found.]",
                        None,
                    );
                };
                let mut v = Validation::new(Algorithm::RS256);
                v.leeway = 300;
                v.validate_aud = false;
                match jsonwebtoken::decode::<Value>(assertion, &key.dec, &v) {
                    Ok(d) => d.claims,
                    Err(e) => {
                        return match e.kind() {
                            jsonwebtoken::errors::ErrorKind::ExpiredSignature => token_error(
                                StatusCode::BAD_REQUEST,
                                "invalid_grant",
                                500133,
                                "Assertion is not within its valid time range.",
                                None,
                            ),
                            _ => token_error(
                                StatusCode::BAD_REQUEST,
                                "invalid_grant",
                                50013,
                                "Assertion failed signature validation.",
                                None,
                            ),
                        };
                    }
                }
            };
            let aud = claims["aud"].as_str().unwrap_or("");
            let client_id = f("client_id");
            if aud != client_id && !aud.ends_with(&format!("/{client_id}")) {
                return token_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    50013,
                    "Assertion audience does not match the Client app presenting the assertion.",
                    None,
                );
            }
            let tid = claims["tid"].as_str().unwrap_or_default().to_string();
            if claims["iss"].as_str() != Some(&sim.issuer_for(&base, &tid)) {
                return token_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    50013,
                    "Assertion issuer is not valid.",
                    None,
                );
            }
            let email = claims["preferred_username"]
                .as_str()
                .unwrap_or_default()
                .to_ascii_lowercase();
            AccessGrant {
                email,
                user_id: claims["oid"].as_str().unwrap_or_default().to_string(),
                tenant_id: tid,
                client_id: client_id.to_string(),
                expires: Utc::now(),
                scopes: scope.clone(),
            }
        }
        "refresh_token" => {
            let st = sim.inner.state.lock();
            let Some(r) = st.identity.refresh.get(f("refresh_token")) else {
                return token_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    9002313,
                    "Invalid request. Request is malformed or invalid.",
                    None,
                );
            };
            if r.expires <= Utc::now() {
                return token_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    700082,
                    "The refresh token has expired due to inactivity.",
                    None,
                );
            }
            if r.revoked {
                return token_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    50173,
                    "The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password.",
                    None,
                );
            }
            if r.grant.client_id != f("client_id") {
                return token_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    70000,
                    "Provided grant is invalid or malformed.",
                    None,
                );
            }
            r.grant.clone()
        }
        other => {
            return token_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                70003,
                &format!("The app requested an unsupported grant type '{other}'."),
                None,
            );
        }
    };
    let mut st = sim.inner.state.lock();
    if st.identity.revoked_consent.contains(&grant.email) {
        return token_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            65001,
            "The user or administrator has not consented to use the application. Send an interactive authorization request for this user and resource.",
            Some("consent_required"),
        );
    }
    let lifetime = st.identity.access_lifetime;
    let access = random_token("eyJ0eXAiOiJKV1QiLCJub25jZSI6");
    let refresh = random_token("1.AQsA");
    let mut g = grant.clone();
    g.expires = Utc::now() + lifetime;
    g.scopes = scope.clone();
    st.identity.access.insert(access.clone(), g.clone());
    let offline = scope.split_whitespace().any(|s| s == "offline_access");
    if offline {
        let exp = Utc::now() + st.identity.refresh_lifetime;
        st.identity.refresh.insert(
            refresh.clone(),
            RefreshGrant {
                grant: g,
                expires: exp,
                revoked: false,
            },
        );
    }
    let mut body = json!({
        "token_type": "Bearer",
        "scope": scope.split_whitespace().filter(|s| *s != "offline_access" && *s != "openid" && *s != "profile").collect::<Vec<_>>().join(" "),
        "expires_in": lifetime.num_seconds(),
        "ext_expires_in": lifetime.num_seconds(),
        "access_token": access,
    });
    if offline {
        body["refresh_token"] = json!(refresh);
    }
    let _ = tenant;
    Json(body).into_response()
}
