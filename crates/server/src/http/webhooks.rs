//! Graph webhooks: the validation handshake, change notifications (verified by `clientState`, answered
//! at once with 202 — the work is only enqueued) and lifecycle notifications.

use axum::{
    Router,
    body::Bytes,
    extract::{RawQuery, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::post,
};
use graph::{ChangeNotificationCollection, LifecycleEvent};
use uuid::Uuid;

use crate::{
    state::AppState,
    store, subscriptions,
    worker::{JobKind, JobQueue, Trigger},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(subscriptions::NOTIFICATION_PATH, post(notification))
        .route(subscriptions::LIFECYCLE_PATH, post(lifecycle))
}

/// Graph's handshake: echo `validationToken` as text/plain (it is only ever echoed, never trusted).
fn handshake(query: Option<&str>) -> Option<Response> {
    let token = graph::validation_token_from_query(query?)?;
    if token.len() > 1024 {
        return Some(StatusCode::BAD_REQUEST.into_response());
    }
    Some(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], token).into_response())
}

/// Parses and verifies a notification batch; returns the pairings whose `clientState` matched.
async fn verified(state: &AppState, body: &[u8]) -> Result<Vec<(Uuid, ChangeKind)>, StatusCode> {
    let batch: ChangeNotificationCollection =
        serde_json::from_slice(body).map_err(|_| StatusCode::BAD_REQUEST)?;
    let mut out = Vec::new();
    for n in batch.value.iter().take(1000) {
        // Postgres text cannot hold NUL, and no subscription id is that long: not ours, not a 5xx.
        if n.subscription_id.contains('\0') || n.subscription_id.len() > 256 {
            state.metrics.webhook_rejected.inc();
            tracing::warn!("notification with a malformed subscription id ignored");
            continue;
        }
        let row: Option<(Uuid, Vec<u8>)> = sqlx::query_as(
            "SELECT pairing_id, client_state_hash FROM graph_subscriptions WHERE id = $1",
        )
        .bind(&n.subscription_id)
        .fetch_optional(&state.db)
        .await
        .map_err(|_| StatusCode::SERVICE_UNAVAILABLE)?;
        match row {
            Some((pairing_id, hash))
                if n.client_state
                    .as_deref()
                    .is_some_and(|cs| subscriptions::client_state_matches(cs, &hash)) =>
            {
                let kind = match &n.lifecycle_event {
                    Some(LifecycleEvent::ReauthorizationRequired) => {
                        ChangeKind::Reauthorize(n.subscription_id.clone())
                    }
                    Some(LifecycleEvent::SubscriptionRemoved) => {
                        ChangeKind::Removed(n.subscription_id.clone())
                    }
                    _ => ChangeKind::Changed,
                };
                out.push((pairing_id, kind));
            }
            _ => {
                state.metrics.webhook_rejected.inc();
                tracing::warn!(subscription = %n.subscription_id, "notification with unknown subscription or wrong clientState ignored");
            }
        }
    }
    Ok(out)
}

enum ChangeKind {
    Changed,
    Reauthorize(String),
    Removed(String),
}

async fn notification(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    if let Some(r) = handshake(query.as_deref()) {
        return r;
    }
    match verified(&state, &body).await {
        Err(status) => status.into_response(),
        Ok(list) => {
            let queue = JobQueue::new(state.db.clone());
            for (pairing_id, _) in list {
                if let Err(e) = queue
                    .enqueue_now(
                        pairing_id,
                        JobKind::OutlookToCrm,
                        Trigger::ChangeNotification,
                    )
                    .await
                {
                    tracing::warn!(error = %e, "enqueue after notification failed");
                }
            }
            StatusCode::ACCEPTED.into_response()
        }
    }
}

async fn lifecycle(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    if let Some(r) = handshake(query.as_deref()) {
        return r;
    }
    match verified(&state, &body).await {
        Err(status) => status.into_response(),
        Ok(list) => {
            for (pairing_id, kind) in list {
                // Work that talks to Graph runs after the answer (Graph wants it within 3 s).
                let state = state.clone();
                tokio::spawn(async move {
                    let Ok(Some(pairing)) = store::pairing(&state.db, pairing_id).await else {
                        return;
                    };
                    let Ok(Some(mailbox)) = state
                        .graph
                        .mailbox(&state.db, &state.keyring, pairing.mailbox_id)
                        .await
                    else {
                        return;
                    };
                    let result = match kind {
                        ChangeKind::Reauthorize(id) => {
                            subscriptions::renew(&state, &pairing, &mailbox, &id).await
                        }
                        ChangeKind::Removed(id) => {
                            subscriptions::replace(&state, &pairing, &mailbox, &id).await
                        }
                        ChangeKind::Changed => Ok(()),
                    };
                    if let Err(e) = result {
                        tracing::warn!(error = %e, "lifecycle handling failed");
                    }
                    // `missed` and the rest: catch up with a delta round.
                    let _ = JobQueue::new(state.db.clone())
                        .enqueue_now(
                            pairing_id,
                            JobKind::OutlookToCrm,
                            Trigger::ChangeNotification,
                        )
                        .await;
                });
            }
            StatusCode::ACCEPTED.into_response()
        }
    }
}
