//! `GET/PUT /api/preferences`: every setting of the guide's step 2, validated on the server too, audited,
//! and effective from the next sync cycle (the runner reads them at the start of each run).

use api_types::{ErrorCode, preferences::Preferences, routes, validation};
use axum::{Json, Router, extract::State, routing::get};
use serde_json::Value;
use uuid::Uuid;

use crate::{
    audit,
    auth::Caller,
    error::{AppError, AppResult},
    extract::ApiJson,
    state::AppState,
};

pub fn router() -> Router<AppState> {
    Router::new().route(routes::PREFERENCES, get(read).put(update))
}

/// The stored preferences, or the defaults for a new pairing (all activity types selected).
pub async fn load(db: &sqlx::PgPool, mailbox_id: Uuid) -> AppResult<Preferences> {
    let stored: Option<Value> =
        sqlx::query_scalar("SELECT settings FROM preferences WHERE mailbox_id = $1")
            .bind(mailbox_id)
            .fetch_optional(db)
            .await?;
    from_stored(db, mailbox_id, stored).await
}

/// The preferences from their stored JSON when it was read already (the sync runner reads it with the
/// pairing); `None`: not stored yet, so the defaults for a new pairing, as [`load`].
pub async fn from_stored(
    db: &sqlx::PgPool,
    mailbox_id: Uuid,
    stored: Option<Value>,
) -> AppResult<Preferences> {
    if let Some(v) = stored {
        return serde_json::from_value(v)
            .map_err(|e| AppError::internal(format!("stored preferences unreadable: {e}")));
    }
    let types = activity_types(db, mailbox_id).await?.unwrap_or_default();
    Ok(Preferences::new_pairing_defaults(
        types.iter().map(String::as_str),
    ))
}

/// The CRM's activity type values cached for the mailbox's pairing, if any.
pub async fn activity_types(db: &sqlx::PgPool, mailbox_id: Uuid) -> AppResult<Option<Vec<String>>> {
    let entries: Option<Value> = sqlx::query_scalar(
        "SELECT c.entries FROM picklist_cache c JOIN pairings p ON p.id = c.pairing_id
         WHERE p.mailbox_id = $1 AND c.name = 'activity_type'",
    )
    .bind(mailbox_id)
    .fetch_optional(db)
    .await?;
    Ok(entries.map(|v| {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e.get("value").and_then(Value::as_str).map(str::to_owned))
            .collect()
    }))
}

async fn read(State(state): State<AppState>, caller: Caller) -> AppResult<Json<Preferences>> {
    Ok(Json(load(&state.db, caller.mailbox_id).await?))
}

async fn update(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(new): ApiJson<Preferences>,
) -> AppResult<Json<Preferences>> {
    let known = activity_types(&state.db, caller.mailbox_id).await?;
    AppError::check(
        validation::validate_preferences(&new, known.as_deref()),
        caller.lang,
    )?;
    let old = load(&state.db, caller.mailbox_id).await?;
    let new_json = serde_json::to_value(&new).map_err(AppError::internal)?;
    let old_json = serde_json::to_value(&old).map_err(AppError::internal)?;
    let mut tx = state.db.begin().await?;
    let exists: Option<i32> = sqlx::query_scalar("SELECT 1 FROM mailboxes WHERE id = $1")
        .bind(caller.mailbox_id)
        .fetch_optional(&mut *tx)
        .await?;
    if exists.is_none() {
        return Err(AppError::code(ErrorCode::NotFound, caller.lang));
    }
    sqlx::query(
        "INSERT INTO preferences (mailbox_id, settings) VALUES ($1, $2)
         ON CONFLICT (mailbox_id) DO UPDATE
         SET settings = EXCLUDED.settings, version = preferences.version + 1, updated_at = now()",
    )
    .bind(caller.mailbox_id)
    .bind(&new_json)
    .execute(&mut *tx)
    .await?;
    if old.email_tracking != new.email_tracking {
        // Tracking starts from "now" each time it is switched on: old cursors would import the mail
        // received while it was off.
        sqlx::query(
            "DELETE FROM mail_cursors WHERE pairing_id IN (SELECT id FROM pairings WHERE mailbox_id = $1)",
        )
        .bind(caller.mailbox_id)
        .execute(&mut *tx)
        .await?;
    }
    let changes = audit::diff(&old_json, &new_json);
    if !changes.is_empty() {
        audit::record(
            &mut *tx,
            Some(caller.mailbox_id),
            "user",
            "preferences.update",
            &Value::Object(changes),
        )
        .await?;
    }
    tx.commit().await?;
    if old.email_tracking && !new.email_tracking {
        stop_mail_notifications(&state, caller.mailbox_id).await;
    }
    Ok(Json(new))
}

/// Tracking was switched off: its mail-folder subscriptions go too. Best effort: one that cannot be
/// deleted now only starts runs that track nothing, and expires within days.
async fn stop_mail_notifications(state: &AppState, mailbox_id: Uuid) {
    let Ok(Some(pairing)) = crate::store::pairing_of_mailbox(&state.db, mailbox_id).await else {
        return;
    };
    let ids = match crate::subscriptions::mail_subscriptions(&state.db, pairing.id).await {
        Ok(ids) if !ids.is_empty() => ids,
        _ => return,
    };
    let Ok(Some(mailbox)) = state
        .graph
        .mailbox(&state.db, &state.keyring, mailbox_id)
        .await
    else {
        return;
    };
    if let Err(e) = crate::subscriptions::remove(state, &mailbox, &ids).await {
        tracing::warn!(error = %e, "removing the mail subscriptions failed");
    }
}
