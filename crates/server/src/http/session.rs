//! Pane sessions: `POST /api/session` (identity token → our JWT), `POST /api/session/refresh`,
//! `DELETE /api/session` (logout of the pane: the session row is revoked).

use api_types::{routes, session::Session};
use axum::{Json, Router, extract::State, http::StatusCode, routing::post};
use chrono::Utc;
use uuid::Uuid;

use crate::{auth, auth::Caller, error::AppResult, state::AppState};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(routes::SESSION_REFRESH, post(refresh))
        .route(routes::SESSION, axum::routing::delete(logout))
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
