//! Pane sessions: after the identity token is verified (`POST /api/session`), the server issues its own
//! short-lived HS256 JWT (signed with a key derived from `SECRET_KEYS`, `kid` in the header for
//! rotation) bound to a `sessions` row. Every API call presents it; [`Caller`] verifies the signature,
//! audience and expiry, and that the session was not logged out.

use api_types::{ErrorCode, UiLanguage};
use axum::{extract::FromRequestParts, http::request::Parts};
use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, errors::ErrorKind};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{crypto::Keyring, error::AppError, extract::lang_of, state::AppState};

/// Lifetime of one pane token; the pane refreshes before it ends.
pub const SESSION_TTL: Duration = Duration::minutes(30);
const AUDIENCE: &str = "crm-outlook-pane";

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    /// Our mailbox id.
    sub: Uuid,
    /// The `sessions` row.
    sid: Uuid,
    aud: String,
    iat: i64,
    exp: i64,
}

pub fn issue(
    keyring: &Keyring,
    mailbox_id: Uuid,
    session_id: Uuid,
    now: DateTime<Utc>,
) -> (String, DateTime<Utc>) {
    let expires_at = now + SESSION_TTL;
    let (kid, key) = keyring.session_signing_key();
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(kid.to_owned());
    let claims = Claims {
        sub: mailbox_id,
        sid: session_id,
        aud: AUDIENCE.into(),
        iat: now.timestamp(),
        exp: expires_at.timestamp(),
    };
    let token = jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(key))
        .expect("HS256 signing cannot fail");
    (token, expires_at)
}

/// Why a token was refused; both are 401s, but the pane treats an expired one by refreshing silently.
#[derive(Debug, PartialEq, Eq)]
pub enum TokenError {
    Expired,
    Invalid,
}

fn verify(keyring: &Keyring, token: &str) -> Result<Claims, TokenError> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Invalid)?;
    // Only HS256 is accepted; `alg: none` or an asymmetric algorithm never reaches a key.
    if header.alg != Algorithm::HS256 {
        return Err(TokenError::Invalid);
    }
    let key = header
        .kid
        .as_deref()
        .and_then(|kid| keyring.session_key(kid))
        .ok_or(TokenError::Invalid)?;
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_audience(&[AUDIENCE]);
    validation.leeway = 30;
    validation.set_required_spec_claims(&["exp", "aud", "sub"]);
    jsonwebtoken::decode::<Claims>(token, &DecodingKey::from_secret(key), &validation)
        .map(|d| d.claims)
        .map_err(|e| match e.kind() {
            ErrorKind::ExpiredSignature => TokenError::Expired,
            _ => TokenError::Invalid,
        })
}

/// The authenticated caller of a pane API route. Every query a handler makes is scoped by
/// `mailbox_id`, which comes only from here, so one user can never name another's data.
#[derive(Debug, Clone)]
pub struct Caller {
    pub mailbox_id: Uuid,
    pub session_id: Uuid,
    pub lang: UiLanguage,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let lang = lang_of(parts);
        let token = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| AppError::code(ErrorCode::Unauthorized, lang))?;
        let claims = verify(&state.keyring, token.trim()).map_err(|e| match e {
            TokenError::Expired => AppError::code(ErrorCode::TokenExpired, lang),
            TokenError::Invalid => AppError::code(ErrorCode::Unauthorized, lang),
        })?;
        let live: Option<Uuid> = sqlx::query_scalar(
            "SELECT mailbox_id FROM sessions WHERE id = $1 AND revoked_at IS NULL AND expires_at > now()",
        )
        .bind(claims.sid)
        .fetch_optional(&state.db)
        .await?;
        match live {
            Some(mailbox_id) if mailbox_id == claims.sub => Ok(Caller {
                mailbox_id,
                session_id: claims.sid,
                lang,
            }),
            _ => Err(AppError::code(ErrorCode::Unauthorized, lang)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(spec: &str) -> Keyring {
        Keyring::parse(spec).unwrap()
    }
    const K1: &str = "k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    const K2: &str = "k2:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";

    #[test]
    fn an_issued_token_verifies_and_names_its_mailbox_and_session() {
        let r = ring(K1);
        let (m, s) = (Uuid::new_v4(), Uuid::new_v4());
        let (token, exp) = issue(&r, m, s, Utc::now());
        assert!(exp > Utc::now());
        let c = verify(&r, &token).unwrap();
        assert_eq!((c.sub, c.sid), (m, s));
    }

    #[test]
    fn an_expired_token_is_reported_as_expired() {
        let r = ring(K1);
        let (token, _) = issue(
            &r,
            Uuid::new_v4(),
            Uuid::new_v4(),
            Utc::now() - Duration::hours(2),
        );
        assert_eq!(verify(&r, &token).unwrap_err(), TokenError::Expired);
    }

    #[test]
    fn a_token_signed_with_another_key_is_invalid() {
        let (token, _) = issue(&ring(K2), Uuid::new_v4(), Uuid::new_v4(), Utc::now());
        assert_eq!(verify(&ring(K1), &token).unwrap_err(), TokenError::Invalid);
    }

    #[test]
    fn tokens_survive_key_rotation_while_the_old_key_is_configured() {
        let (token, _) = issue(&ring(K1), Uuid::new_v4(), Uuid::new_v4(), Utc::now());
        assert!(verify(&ring(&format!("{K2},{K1}")), &token).is_ok());
    }

    #[test]
    fn alg_none_and_garbage_are_invalid() {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let header = b64.encode(r#"{"alg":"none","typ":"JWT","kid":"k1"}"#);
        let claims = b64.encode(format!(
            r#"{{"sub":"{}","sid":"{}","aud":"{AUDIENCE}","iat":0,"exp":9999999999}}"#,
            Uuid::new_v4(),
            Uuid::new_v4()
        ));
        let r = ring(K1);
        assert_eq!(
            verify(&r, &format!("{header}.{claims}.")).unwrap_err(),
            TokenError::Invalid
        );
        assert_eq!(verify(&r, "not.a.jwt").unwrap_err(), TokenError::Invalid);
        assert_eq!(verify(&r, "").unwrap_err(), TokenError::Invalid);
    }
}
