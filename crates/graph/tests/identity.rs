//! Identity: token validation (JWKS, rotation, every rejection typed) and the on-behalf-of flow.

mod common;

use std::sync::Arc;

use base64::Engine as _;
use chrono::{Duration, Utc};
use common::{EMAIL, Harness, identity_config};
use graph::GraphError;
use graph::identity::{IdentityClient, TokenError, UserTokens};
use sim::graph::{DEFAULT_CLIENT_ID, DEFAULT_TENANT_ID};

fn b64(v: &serde_json::Value) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
}

#[tokio::test]
async fn valid_identity_token_yields_tenant_object_id_and_email() {
    let h = Harness::start().await;
    let t = h.sim.mint_id_token(DEFAULT_TENANT_ID, &h.user_id, EMAIL, DEFAULT_CLIENT_ID);
    let c = h.identity.validate_id_token(&t).await.unwrap();
    assert_eq!(c.tid, DEFAULT_TENANT_ID);
    assert_eq!(c.oid, h.user_id);
    assert_eq!(c.preferred_username.as_deref(), Some(EMAIL));
    h.stop().await;
}

#[tokio::test]
async fn unsigned_alg_none_token_is_rejected() {
    let h = Harness::start().await;
    let t = h.sim.mint_id_token(DEFAULT_TENANT_ID, &h.user_id, EMAIL, DEFAULT_CLIENT_ID);
    let payload = t.split('.').nth(1).unwrap();
    let forged = format!("{}.{payload}.", b64(&serde_json::json!({"alg": "none", "typ": "JWT"})));
    assert_eq!(h.identity.validate_id_token(&forged).await, Err(TokenError::Unsigned));
    let hs = format!("{}.{payload}.c2ln", b64(&serde_json::json!({"alg": "HS256", "typ": "JWT", "kid": "sim-key-1"})));
    assert_eq!(h.identity.validate_id_token(&hs).await, Err(TokenError::UnsupportedAlgorithm("HS256".into())));
    h.stop().await;
}

#[tokio::test]
async fn token_for_another_audience_is_rejected() {
    let h = Harness::start().await;
    let t = h.sim.mint_id_token(DEFAULT_TENANT_ID, &h.user_id, EMAIL, "api://someone-else");
    assert_eq!(h.identity.validate_id_token(&t).await, Err(TokenError::WrongAudience));
    h.stop().await;
}

#[tokio::test]
async fn tampered_payload_fails_signature_check() {
    let h = Harness::start().await;
    let t = h.sim.mint_id_token(DEFAULT_TENANT_ID, &h.user_id, EMAIL, DEFAULT_CLIENT_ID);
    let parts: Vec<&str> = t.split('.').collect();
    let mut claims: serde_json::Value =
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    claims["preferred_username"] = "attacker@esimerkki.fi".into();
    let forged = format!("{}.{}.{}", parts[0], b64(&claims), parts[2]);
    assert_eq!(h.identity.validate_id_token(&forged).await, Err(TokenError::BadSignature));
    h.stop().await;
}

#[tokio::test]
async fn expired_token_is_rejected_but_clock_skew_within_leeway_is_accepted() {
    let h = Harness::start().await;
    let now = Utc::now();
    let long_ago = h.sim.mint_id_token_at(DEFAULT_TENANT_ID, &h.user_id, EMAIL, DEFAULT_CLIENT_ID, now - Duration::hours(2), now - Duration::hours(1));
    assert_eq!(h.identity.validate_id_token(&long_ago).await, Err(TokenError::Expired));
    // Expired 30 s ago: inside the 120 s leeway.
    let skewed = h.sim.mint_id_token_at(DEFAULT_TENANT_ID, &h.user_id, EMAIL, DEFAULT_CLIENT_ID, now - Duration::hours(1), now - Duration::seconds(30));
    assert!(h.identity.validate_id_token(&skewed).await.is_ok());
    let future = h.sim.mint_id_token_at(DEFAULT_TENANT_ID, &h.user_id, EMAIL, DEFAULT_CLIENT_ID, now + Duration::hours(1), now + Duration::hours(2));
    assert_eq!(h.identity.validate_id_token(&future).await, Err(TokenError::NotYetValid));
    h.stop().await;
}

#[tokio::test]
async fn token_from_another_issuer_is_rejected() {
    let h = Harness::start().await;
    let mut cfg = identity_config(&h.base);
    cfg.issuer_template = "https://login.microsoftonline.com/{tenantid}/v2.0".into();
    let other = IdentityClient::new(cfg);
    let t = h.sim.mint_id_token(DEFAULT_TENANT_ID, &h.user_id, EMAIL, DEFAULT_CLIENT_ID);
    assert!(matches!(other.validate_id_token(&t).await, Err(TokenError::WrongIssuer(_))));
    let mut cfg = identity_config(&h.base);
    cfg.allowed_tenants = Some(vec!["11111111-2222-3333-4444-555555555555".into()]);
    let other = IdentityClient::new(cfg);
    assert!(matches!(other.validate_id_token(&t).await, Err(TokenError::TenantNotAllowed(_))));
    h.stop().await;
}

#[tokio::test]
async fn key_rotation_is_followed_by_refetching_jwks_once_on_unknown_kid() {
    let h = Harness::start().await;
    let before = h.sim.jwks_requests();
    let t1 = h.sim.mint_id_token(DEFAULT_TENANT_ID, &h.user_id, EMAIL, DEFAULT_CLIENT_ID);
    h.identity.validate_id_token(&t1).await.unwrap();
    assert_eq!(h.sim.jwks_requests(), before, "cached JWKS reused");
    let kid = h.sim.rotate_signing_key();
    assert_eq!(kid, "sim-key-2");
    let t2 = h.sim.mint_id_token(DEFAULT_TENANT_ID, &h.user_id, EMAIL, DEFAULT_CLIENT_ID);
    h.identity.validate_id_token(&t2).await.unwrap();
    assert_eq!(h.sim.jwks_requests(), before + 1, "one refetch for the new kid");
    h.identity.validate_id_token(&t2).await.unwrap();
    h.identity.validate_id_token(&t1).await.unwrap();
    assert_eq!(h.sim.jwks_requests(), before + 1);
    h.stop().await;
}

#[tokio::test]
async fn revoked_consent_gives_consent_required_on_exchange_and_refresh() {
    let h = Harness::start().await;
    let t = h.sim.mint_id_token(DEFAULT_TENANT_ID, &h.user_id, EMAIL, DEFAULT_CLIENT_ID);
    let tokens = h.identity.exchange_on_behalf_of(&t).await.unwrap();
    assert!(tokens.refresh_token.is_some(), "offline_access gives a refresh token");
    h.sim.revoke_consent(EMAIL);
    assert!(matches!(h.identity.exchange_on_behalf_of(&t).await, Err(GraphError::ConsentRequired(_))));
    assert!(matches!(h.identity.refresh(tokens.refresh_token.as_ref().unwrap()).await, Err(GraphError::ConsentRequired(_))));
    h.sim.grant_consent(EMAIL);
    assert!(h.identity.exchange_on_behalf_of(&t).await.is_ok());
    h.stop().await;
}

#[tokio::test]
async fn revoked_sessions_give_relogin_required_on_refresh() {
    let h = Harness::start().await;
    let t = h.sim.mint_id_token(DEFAULT_TENANT_ID, &h.user_id, EMAIL, DEFAULT_CLIENT_ID);
    let tokens = h.identity.exchange_on_behalf_of(&t).await.unwrap();
    h.sim.revoke_sessions(EMAIL);
    assert!(matches!(h.identity.refresh(tokens.refresh_token.as_ref().unwrap()).await, Err(GraphError::ReloginRequired(_))));
    // The mailbox client, whose access token was revoked too, reports it as well.
    assert!(matches!(h.mb.list_calendars().await, Err(GraphError::ReloginRequired(_))));
    h.stop().await;
}

#[tokio::test]
async fn wrong_client_secret_is_a_configuration_error() {
    let h = Harness::start().await;
    let mut cfg = identity_config(&h.base);
    cfg.client_secret = "wrong".into();
    let bad = IdentityClient::new(cfg);
    let t = h.sim.mint_id_token(DEFAULT_TENANT_ID, &h.user_id, EMAIL, DEFAULT_CLIENT_ID);
    assert!(matches!(bad.exchange_on_behalf_of(&t).await, Err(GraphError::Config(_))));
    h.stop().await;
}

#[tokio::test]
async fn access_token_is_refreshed_before_it_expires() {
    let h = Harness::start().await;
    // Tokens that live 200 s are inside the 300 s refresh margin from the start.
    h.sim.set_access_token_lifetime(200);
    let t = h.sim.mint_id_token(DEFAULT_TENANT_ID, &h.user_id, EMAIL, DEFAULT_CLIENT_ID);
    let first = h.identity.exchange_on_behalf_of(&t).await.unwrap();
    let tokens = Arc::new(UserTokens::new(h.identity.clone(), first.clone()));
    let mb = h.client.mailbox(EMAIL, tokens.clone());
    let before = h.sim.token_requests();
    mb.list_calendars().await.unwrap();
    assert_eq!(h.sim.token_requests(), before + 1, "refreshed before the call");
    let now = tokens.current().await;
    assert_ne!(now.access_token, first.access_token);
    assert_eq!(h.sim.stats(EMAIL).by_route.get("GET /v1.0/me/calendars"), Some(&1), "no 401 round trip");
    h.stop().await;
}

#[tokio::test]
async fn expired_access_token_is_refreshed_after_a_401_and_the_call_succeeds() {
    let h = Harness::start().await;
    h.mb.list_calendars().await.unwrap();
    h.sim.expire_access_tokens(EMAIL);
    let before = h.sim.token_requests();
    assert_eq!(h.mb.list_calendars().await.unwrap().len(), 2);
    assert_eq!(h.sim.token_requests(), before + 1);
    h.stop().await;
}

#[tokio::test]
async fn secrets_do_not_appear_in_debug_output() {
    let h = Harness::start().await;
    let t = h.sim.mint_id_token(DEFAULT_TENANT_ID, &h.user_id, EMAIL, DEFAULT_CLIENT_ID);
    let tokens = h.identity.exchange_on_behalf_of(&t).await.unwrap();
    let dbg = format!("{tokens:?} {:?}", h.identity.config());
    assert!(!dbg.contains(tokens.access_token.expose()));
    assert!(!dbg.contains(tokens.refresh_token.as_ref().unwrap().expose()));
    assert!(!dbg.contains(sim::graph::DEFAULT_CLIENT_SECRET));
    h.stop().await;
}
