//! `POST /api/sync/now` and `GET /api/sync/status`.

use api_types::{
    ErrorCode, routes,
    sync::{
        DirectionStatus, Progress, RunOutcome, SyncConflict, SyncCounts, SyncErrorEntry,
        SyncNowResponse, SyncRun, SyncStatus,
    },
};
use axum::{
    Json, Router,
    extract::State,
    http::StatusCode,
    routing::{get, post},
};
use chrono::{DateTime, Utc};
use serde_json::Value;
use uuid::Uuid;

use crate::{
    auth::Caller,
    error::{AppError, AppResult},
    http::preferences,
    state::AppState,
    store,
    worker::{JobKind, JobQueue},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(routes::SYNC_NOW, post(sync_now))
        .route(routes::SYNC_STATUS, get(status))
}

async fn sync_now(
    State(state): State<AppState>,
    caller: Caller,
) -> AppResult<(StatusCode, Json<SyncNowResponse>)> {
    let pairing = store::pairing_of_mailbox(&state.db, caller.mailbox_id)
        .await?
        .ok_or_else(|| AppError::code(ErrorCode::NotPaired, caller.lang))?;
    let queued = JobQueue::new(state.db.clone())
        .run_all_now(pairing.id)
        .await
        .map_err(AppError::internal)?;
    Ok((StatusCode::ACCEPTED, Json(SyncNowResponse { queued })))
}

#[derive(sqlx::FromRow)]
struct RunRow {
    started_at: DateTime<Utc>,
    finished_at: Option<DateTime<Utc>>,
    outcome: String,
    counts: Value,
    errors: Value,
    progress_done: i32,
    progress_total: i32,
}

async fn status(State(state): State<AppState>, caller: Caller) -> AppResult<Json<SyncStatus>> {
    let pairing = store::pairing_of_mailbox(&state.db, caller.mailbox_id)
        .await?
        .ok_or_else(|| AppError::code(ErrorCode::NotPaired, caller.lang))?;
    let prefs = preferences::load(&state.db, caller.mailbox_id).await?;
    let logged_in = store::get_secret(
        &state.db,
        &state.keyring,
        caller.mailbox_id,
        store::SecretKind::CrmToken,
    )
    .await?
    .is_some();
    let inactive_reason = if !prefs.auto_sync {
        Some(match caller.lang {
            api_types::UiLanguage::Fi => "Automaattinen synkronointi on pois päältä asetuksissa.",
            api_types::UiLanguage::En => "Automatic sync is turned off in the settings.",
        })
    } else if !logged_in {
        Some(match caller.lang {
            api_types::UiLanguage::Fi => {
                "Et ole kirjautunut CRM:ään: kirjaudu sisään, niin synkronointi jatkuu."
            }
            api_types::UiLanguage::En => {
                "You are not logged in to the CRM: log in to resume syncing."
            }
        })
    } else {
        None
    };
    Ok(Json(SyncStatus {
        auto_sync_active: inactive_reason.is_none(),
        inactive_reason: inactive_reason.map(str::to_owned),
        outlook_to_crm: direction_status(&state, pairing.id, JobKind::OutlookToCrm).await?,
        crm_to_outlook: direction_status(&state, pairing.id, JobKind::CrmToOutlook).await?,
    }))
}

async fn direction_status(
    state: &AppState,
    pairing_id: Uuid,
    kind: JobKind,
) -> AppResult<DirectionStatus> {
    let last: Option<RunRow> = sqlx::query_as(
        "SELECT started_at, finished_at, outcome, counts, errors, progress_done, progress_total
         FROM sync_runs WHERE pairing_id = $1 AND direction = $2 ORDER BY started_at DESC, id DESC LIMIT 1",
    )
    .bind(pairing_id)
    .bind(kind.as_str())
    .fetch_optional(&state.db)
    .await?;
    let next_run_at: Option<DateTime<Utc>> =
        sqlx::query_scalar("SELECT run_at FROM jobs WHERE pairing_id = $1 AND kind = $2")
            .bind(pairing_id)
            .bind(kind.as_str())
            .fetch_optional(&state.db)
            .await?;
    let progress = last
        .as_ref()
        .filter(|r| r.finished_at.is_none() && r.progress_total > 0)
        .map(|r| Progress {
            done: r.progress_done.max(0) as u32,
            total: r.progress_total.max(0) as u32,
        });
    Ok(DirectionStatus {
        last_run: last.map(|r| {
            let conflicts: Vec<SyncConflict> = serde_json::from_value(
                r.counts
                    .get("conflict_list")
                    .cloned()
                    .unwrap_or(Value::Null),
            )
            .unwrap_or_default();
            SyncRun {
                started_at: r.started_at,
                finished_at: r.finished_at,
                outcome: match r.outcome.as_str() {
                    "running" => RunOutcome::Running,
                    "ok" => RunOutcome::Ok,
                    "partial" => RunOutcome::Partial,
                    "failed" => RunOutcome::Failed,
                    _ => RunOutcome::Unknown,
                },
                counts: serde_json::from_value::<SyncCounts>(r.counts.clone()).unwrap_or_default(),
                conflicts,
                errors: serde_json::from_value::<Vec<SyncErrorEntry>>(r.errors).unwrap_or_default(),
            }
        }),
        progress,
        next_run_at,
    })
}
