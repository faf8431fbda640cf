//! Pairing ("Asetukset", step 1): the mailbox's calendars, pairing with live checks, unpair, and forced
//! removal.
//!
//! A pairing is stored only when every check passed: the address parses, the API key is accepted, the
//! user logs in, the email is the signed-in mailbox's, and the calendar exists. Each failure has its own
//! code and localized message, attached to its form field.

use api_types::{
    ErrorCode, UiLanguage,
    calendars::Calendar,
    pairing::{
        ForcedRemoval, LeftBehind, LeftBehindKind, PairingRequest, PairingSummary, UnpairQuery,
    },
    routes, validation,
};
use axum::{
    Json, Router,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::get,
};
use graph::MailboxClient;
use serde_json::json;
use uuid::Uuid;

use crate::{
    audit,
    auth::Caller,
    crm_access,
    error::{AppError, AppResult},
    extract::{ApiJson, ApiQuery},
    graph_access,
    state::AppState,
    store::{self, PairingRow, SecretKind},
    subscriptions,
    worker::JobQueue,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(routes::CALENDARS, get(calendars))
        .route(routes::PAIRING, get(read).post(create).delete(unpair))
}

pub async fn mailbox_client(state: &AppState, caller: &Caller) -> AppResult<MailboxClient> {
    state
        .graph
        .mailbox(&state.db, &state.keyring, caller.mailbox_id)
        .await?
        .ok_or_else(|| AppError::code(ErrorCode::TokenExpired, caller.lang))
}

async fn calendars(
    State(state): State<AppState>,
    caller: Caller,
) -> AppResult<Json<Vec<Calendar>>> {
    let mailbox = mailbox_client(&state, &caller).await?;
    let list = mailbox
        .list_calendars()
        .await
        .map_err(|e| graph_access::api_error(&e, caller.lang))?;
    Ok(Json(
        list.into_iter()
            .map(|c| Calendar {
                id: c.id,
                name: c.name,
                is_default: c.is_default_calendar.unwrap_or(false),
            })
            .collect(),
    ))
}

fn summary(p: &PairingRow, email: String) -> PairingSummary {
    PairingSummary {
        crm_address: p.crm_address.clone(),
        crm_username: p.crm_username.clone(),
        email,
        calendar_id: p.calendar_id.clone(),
        calendar_name: p.calendar_name.clone(),
        paired_at: p.created_at,
    }
}

async fn read(State(state): State<AppState>, caller: Caller) -> AppResult<Json<PairingSummary>> {
    let p = store::pairing_of_mailbox(&state.db, caller.mailbox_id)
        .await?
        .ok_or_else(|| AppError::code(ErrorCode::NotPaired, caller.lang))?;
    let email = store::mailbox_email(&state.db, caller.mailbox_id).await?;
    Ok(Json(summary(&p, email)))
}

async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<PairingRequest>,
) -> AppResult<(StatusCode, Json<PairingSummary>)> {
    let lang = caller.lang;
    AppError::check(validation::validate_pairing(&req), lang)?;
    if store::pairing_of_mailbox(&state.db, caller.mailbox_id)
        .await?
        .is_some()
    {
        return Err(AppError::code(ErrorCode::AlreadyPaired, lang));
    }
    let email = store::mailbox_email(&state.db, caller.mailbox_id).await?;
    if !req.email.trim().eq_ignore_ascii_case(&email) {
        return Err(AppError::field(ErrorCode::EmailMismatch, lang, "email"));
    }

    // CRM: address, API key, user and password, in that order so each failure names its own field.
    let client = crm_access::client(&req.crm_address, req.api_key.trim())
        .map_err(|e| crm_access::api_error(&e, lang))?;
    client
        .check_api_key()
        .await
        .map_err(|e| crm_access::api_error(&e, lang))?;
    let username = req.crm_username.trim().to_owned();
    let session = client
        .login(&username, req.crm_password.clone())
        .await
        .map_err(|e| crm_access::api_error(&e, lang))?;
    let user = session
        .current_user()
        .await
        .map_err(|e| crm_access::api_error(&e, lang))?;
    // Fields we rely on that this CRM lacks are found now, not at sync time.
    let schema = session
        .check_activity_schema()
        .await
        .map_err(|e| crm_access::api_error(&e, lang))?;
    if !schema.is_complete() {
        tracing::warn!(missing = ?schema.missing_fields, relations = ?schema.missing_relations, "CRM lacks assumed activity fields");
    }
    let types = session
        .activity_types(crmservice::Language::Fi)
        .await
        .map_err(|e| crm_access::api_error(&e, lang))?;

    // Graph: the chosen calendar must be in the signed-in mailbox.
    let mailbox = mailbox_client(&state, &caller).await?;
    let calendars = mailbox
        .list_calendars()
        .await
        .map_err(|e| graph_access::api_error(&e, lang))?;
    let calendar = calendars
        .iter()
        .find(|c| c.id == req.calendar_id)
        .ok_or_else(|| AppError::field(ErrorCode::CalendarNotFound, lang, "calendar_id"))?;

    let pairing_id = Uuid::new_v4();
    let token = session.token().await;
    let address = client.address().as_str().to_owned();
    let mut tx = state.db.begin().await?;
    let inserted = sqlx::query(
        "INSERT INTO pairings (id, mailbox_id, crm_address, crm_username, crm_user_id, calendar_id, calendar_name)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (mailbox_id) DO NOTHING",
    )
    .bind(pairing_id)
    .bind(caller.mailbox_id)
    .bind(&address)
    .bind(&username)
    .bind(&user.id)
    .bind(&calendar.id)
    .bind(&calendar.name)
    .execute(&mut *tx)
    .await?;
    if inserted.rows_affected() == 0 {
        // A concurrent request paired first.
        return Err(AppError::code(ErrorCode::AlreadyPaired, lang));
    }
    store::put_secret(
        &mut *tx,
        &state.keyring,
        caller.mailbox_id,
        SecretKind::CrmApiKey,
        req.api_key.trim(),
    )
    .await?;
    store::put_secret(
        &mut *tx,
        &state.keyring,
        caller.mailbox_id,
        SecretKind::CrmToken,
        token.expose(),
    )
    .await?;
    let entries: Vec<_> = types
        .iter()
        .map(|t| json!({"value": t.value, "label": t.label}))
        .collect();
    sqlx::query(
        "INSERT INTO picklist_cache (pairing_id, name, entries) VALUES ($1, 'activity_type', $2)",
    )
    .bind(pairing_id)
    .bind(serde_json::Value::Array(entries))
    .execute(&mut *tx)
    .await?;
    audit::record(
        &mut *tx,
        Some(caller.mailbox_id),
        "user",
        "pairing.create",
        &json!({"crm_address": address, "crm_username": username, "calendar_id": calendar.id,
                "missing_crm_fields": schema.missing_fields}),
    )
    .await?;
    tx.commit().await?;

    JobQueue::new(state.db.clone())
        .run_all_now(pairing_id)
        .await
        .map_err(AppError::internal)?;
    let pairing = store::pairing(&state.db, pairing_id)
        .await?
        .ok_or_else(|| AppError::internal("pairing vanished"))?;
    // Change notifications make Outlook → CRM fast; without them the delta poll still runs.
    if let Err(e) = subscriptions::ensure(&state, &pairing, &mailbox).await {
        tracing::warn!(error = %e, "could not subscribe to change notifications; polling instead");
    }
    Ok((StatusCode::CREATED, Json(summary(&pairing, email))))
}

/// Unpair: remove our Graph subscription, then our side. Forced (`?force=true`): remove our side at
/// once without reaching CRM or Graph, and say what was left behind. Marks on events stay either way,
/// so a later pairing adopts the events instead of duplicating them.
async fn unpair(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<UnpairQuery>,
) -> AppResult<Response> {
    let lang = caller.lang;
    let pairing = store::pairing_of_mailbox(&state.db, caller.mailbox_id)
        .await?
        .ok_or_else(|| AppError::code(ErrorCode::NotPaired, lang))?;
    let subs: Vec<String> =
        sqlx::query_scalar("SELECT id FROM graph_subscriptions WHERE pairing_id = $1")
            .bind(pairing.id)
            .fetch_all(&state.db)
            .await?;
    let mut left_behind = Vec::new();
    if q.force {
        for id in &subs {
            left_behind.push(LeftBehind {
                kind: LeftBehindKind::GraphSubscription,
                detail: left_behind_text(lang, LeftBehindKind::GraphSubscription, id),
            });
        }
        left_behind.push(LeftBehind {
            kind: LeftBehindKind::CrmSession,
            detail: left_behind_text(lang, LeftBehindKind::CrmSession, &pairing.crm_username),
        });
    } else {
        let mailbox = mailbox_client(&state, &caller)
            .await
            .map_err(|_| AppError::code(ErrorCode::UnpairFailed, lang))?;
        for id in &subs {
            match mailbox.delete_subscription(id).await {
                Ok(()) => {}
                Err(e) if e.is_not_found() => {}
                Err(e) => {
                    tracing::info!(error = %e, "unpair: removing the subscription failed");
                    return Err(AppError::code(ErrorCode::UnpairFailed, lang));
                }
            }
        }
    }
    left_behind.push(LeftBehind {
        kind: LeftBehindKind::EventMarks,
        detail: left_behind_text(lang, LeftBehindKind::EventMarks, ""),
    });
    remove_local(
        &state,
        &pairing,
        if q.force {
            "pairing.force_remove"
        } else {
            "pairing.unpair"
        },
    )
    .await?;
    if q.force {
        Ok(Json(ForcedRemoval { left_behind }).into_response())
    } else {
        Ok(StatusCode::NO_CONTENT.into_response())
    }
}

/// Removes our side of a pairing in one transaction: the pairing (its jobs, status rows, cursors and
/// subscriptions rows go with it) and the CRM secrets. Preferences stay for the next pairing.
async fn remove_local(state: &AppState, pairing: &PairingRow, action: &str) -> AppResult<()> {
    let mut tx = state.db.begin().await?;
    sqlx::query("DELETE FROM pairings WHERE id = $1")
        .bind(pairing.id)
        .execute(&mut *tx)
        .await?;
    for kind in [
        SecretKind::CrmApiKey,
        SecretKind::CrmToken,
        SecretKind::CrmPassword,
    ] {
        store::delete_secret(&mut *tx, pairing.mailbox_id, kind).await?;
    }
    audit::record(
        &mut *tx,
        Some(pairing.mailbox_id),
        "user",
        action,
        &json!({"pairing_id": pairing.id}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

fn left_behind_text(lang: UiLanguage, kind: LeftBehindKind, detail: &str) -> String {
    match (kind, lang) {
        (LeftBehindKind::GraphSubscription, UiLanguage::Fi) => {
            format!("Outlookin muutosilmoitusten tilaus {detail} jäi voimaan; se vanhenee itsestään kolmen päivän kuluessa.")
        }
        (LeftBehindKind::GraphSubscription, UiLanguage::En) => {
            format!("The Outlook change-notification subscription {detail} stays until it expires by itself within three days.")
        }
        (LeftBehindKind::CrmSession, UiLanguage::Fi) => {
            format!("CRM-käyttäjän {detail} istuntoa ei voitu päättää CRM:ssä; se päättyy itsestään.")
        }
        (LeftBehindKind::CrmSession, UiLanguage::En) => {
            format!("The CRM session of user {detail} could not be ended in the CRM; it ends by itself.")
        }
        (_, UiLanguage::Fi) => "Synkronoiduissa kalenterimerkinnöissä säilyy CRM-tunniste, joten uudelleen liitettäessä merkintöjä ei luoda kahteen kertaan.".into(),
        (_, UiLanguage::En) => "Synced calendar entries keep their CRM mark, so pairing again adopts them instead of creating them twice.".into(),
    }
}
