//! Pane sessions: `POST /api/session` (identity token → our JWT), `POST /api/session/refresh`,
//! `DELETE /api/session` (logout of the pane: the session row is revoked).

use api_types::{
    ErrorCode, routes,
    session::{CreateSession, Session},
};
use axum::{Json, Router, extract::State, http::StatusCode, routing::post};
use chrono::Utc;
use uuid::Uuid;

use crate::{
    auth,
    auth::Caller,
    error::{AppError, AppResult},
    extract::{ApiJson, Lang},
    graph_access,
    state::AppState,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(routes::SESSION_REFRESH, post(refresh))
        .route(routes::SESSION, post(create).delete(logout))
}

/// A verified identity from the add-in's identity token.
#[derive(Debug, Clone)]
pub struct Identity {
    pub tenant_id: String,
    pub object_id: String,
    pub email: String,
    pub display_name: String,
}

/// Upserts the mailbox of `identity` and opens a session for it.
pub async fn open(state: &AppState, identity: &Identity) -> AppResult<Session> {
    let mailbox_id: Uuid = sqlx::query_scalar(
        "INSERT INTO mailboxes (id, tenant_id, object_id, email, display_name) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (tenant_id, object_id) DO UPDATE SET email = EXCLUDED.email, display_name = EXCLUDED.display_name
         RETURNING id",
    )
    .bind(Uuid::new_v4())
    .bind(&identity.tenant_id)
    .bind(&identity.object_id)
    .bind(&identity.email)
    .bind(&identity.display_name)
    .fetch_one(&state.db)
    .await?;
    let session_id = Uuid::new_v4();
    let now = Utc::now();
    let (token, expires_at) = auth::issue(&state.keyring, mailbox_id, session_id, now);
    sqlx::query("INSERT INTO sessions (id, mailbox_id, expires_at) VALUES ($1, $2, $3)")
        .bind(session_id)
        .bind(mailbox_id)
        .bind(expires_at)
        .execute(&state.db)
        .await?;
    Ok(Session {
        token,
        expires_at,
        email: identity.email.clone(),
        display_name: identity.display_name.clone(),
    })
}

/// Verifies the add-in's identity token (issuer, audience, signature via JWKS, expiry), exchanges it
/// on-behalf-of the user for Graph tokens (kept for background sync), and opens our session.
async fn create(
    State(state): State<AppState>,
    Lang(lang): Lang,
    ApiJson(req): ApiJson<CreateSession>,
) -> AppResult<(StatusCode, Json<Session>)> {
    let claims = state
        .graph
        .identity
        .validate_id_token(req.identity_token.trim())
        .await
        .map_err(|e| {
            tracing::info!(error = %e, "identity token rejected");
            match e {
                graph::identity::TokenError::Expired => {
                    AppError::code(ErrorCode::TokenExpired, lang)
                }
                graph::identity::TokenError::Jwks(_) => {
                    AppError::code(ErrorCode::GraphUnreachable, lang)
                }
                _ => AppError::code(ErrorCode::Unauthorized, lang),
            }
        })?;
    let email = claims
        .preferred_username
        .clone()
        .filter(|e| e.contains('@'))
        .ok_or_else(|| AppError::code(ErrorCode::Unauthorized, lang))?;
    let tokens = state
        .graph
        .identity
        .exchange_on_behalf_of(req.identity_token.trim())
        .await
        .map_err(|e| graph_access::api_error(&e, lang))?;
    let identity = Identity {
        tenant_id: claims.tid.clone(),
        object_id: claims.oid.clone(),
        display_name: claims.name.clone().unwrap_or_else(|| email.clone()),
        email,
    };
    let session = open(&state, &identity).await?;
    let mailbox_id: Uuid =
        sqlx::query_scalar("SELECT id FROM mailboxes WHERE tenant_id = $1 AND object_id = $2")
            .bind(&identity.tenant_id)
            .bind(&identity.object_id)
            .fetch_one(&state.db)
            .await?;
    state
        .graph
        .adopt(&state.db, &state.keyring, mailbox_id, tokens)
        .await?;
    Ok((StatusCode::CREATED, Json(session)))
}

async fn refresh(State(state): State<AppState>, caller: Caller) -> AppResult<Json<Session>> {
    let now = Utc::now();
    let (token, expires_at) =
        auth::issue(&state.keyring, caller.mailbox_id, caller.session_id, now);
    let (email, display_name): (String, String) = sqlx::query_as(
        "UPDATE sessions s SET expires_at = $3 FROM mailboxes m
         WHERE s.id = $1 AND s.mailbox_id = $2 AND m.id = s.mailbox_id
         RETURNING m.email, m.display_name",
    )
    .bind(caller.session_id)
    .bind(caller.mailbox_id)
    .bind(expires_at)
    .fetch_one(&state.db)
    .await?;
    Ok(Json(Session {
        token,
        expires_at,
        email,
        display_name,
    }))
}

async fn logout(State(state): State<AppState>, caller: Caller) -> AppResult<StatusCode> {
    sqlx::query("UPDATE sessions SET revoked_at = now() WHERE id = $1 AND mailbox_id = $2")
        .bind(caller.session_id)
        .bind(caller.mailbox_id)
        .execute(&state.db)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
