//! The item pane ("Link to CRM") for an appointment: its activity type and status, its relations
//! (companies, contacts, projects), and its sync state with the reason.

use api_types::{
    ErrorCode, UiLanguage,
    items::{ItemInfo, ItemUpdate, SyncState},
    relations::{RelationRef, Relations},
    routes, validation,
};
use axum::{Json, Router, extract::State, routing::get};
use crmservice::{ActivityPatch, Session};
use graph::{EventWrite, ExtendedProperty};
use serde_json::Value;

use crate::{
    auth::Caller,
    crm_access,
    error::{AppError, AppResult},
    extract::{ApiJson, ApiPath},
    graph_access,
    http::{crm::session_for, pairing::mailbox_client, preferences},
    state::AppState,
    store::PairingRow,
    worker::{JobKind, JobQueue, Trigger},
};

pub fn router() -> Router<AppState> {
    Router::new().route(routes::ITEM_PATTERN, get(read).put(update))
}

async fn names(
    session: &Session,
    accounts: &[String],
    contacts: &[String],
    project: Option<&str>,
) -> Relations {
    let mut r = Relations::default();
    for id in accounts {
        if let Ok(a) = session.get_account(id).await {
            r.accounts.push(RelationRef {
                id: a.id,
                name: a.name,
            });
        }
    }
    for id in contacts {
        if let Ok(c) = session.get_contact(id).await {
            r.contacts.push(RelationRef {
                name: c.full_name(),
                id: c.id,
            });
        }
    }
    if let Some(id) = project
        && let Ok(p) = session.get_project(id).await
    {
        r.projects.push(RelationRef {
            id: p.id,
            name: p.name,
        });
    }
    r
}

fn reason_text(reasons: &Value, lang: UiLanguage) -> Option<String> {
    let first = reasons.as_array()?.first()?;
    let code = first.get("reason")?.as_str()?;
    let fi = lang == UiLanguage::Fi;
    Some(
        match code {
            "no_activity_type" if fi => {
                "Merkinnällä ei ole aktiviteettityyppiä: valitse tyyppi, niin se synkronoidaan."
            }
            "no_activity_type" => "The entry has no activity type: choose one to sync it.",
            "create_not_allowed" if fi => {
                "Tämän tyypin uusia merkintöjä ei synkronoida (Luo uusia)."
            }
            "create_not_allowed" => "New entries of this type are not synced (Create new).",
            "edit_not_allowed" | "delete_not_allowed" if fi => {
                "Tämän tyypin muutoksia ei synkronoida (Muokkaa/Poista)."
            }
            "edit_not_allowed" | "delete_not_allowed" => {
                "Changes to entries of this type are not synced (Edit/Delete)."
            }
            "outside_window" if fi => "Merkintä on synkronoitavan aikavälin ulkopuolella.",
            "outside_window" => "The entry is outside the synced date range.",
            "private_entry" if fi => "Salaisia merkintöjä ei synkronoida.",
            "private_entry" => "Private entries are not synced.",
            "series_master" if fi => "Toistuvan sarjan jokainen esiintymä synkronoidaan erikseen.",
            "series_master" => "Each occurrence of a recurring series is synced on its own.",
            "cancelled" if fi => "Merkintä on peruttu.",
            "cancelled" => "The entry is cancelled.",
            _ if fi => "Merkintää ei synkronoida.",
            _ => "The entry is not synced.",
        }
        .to_owned(),
    )
}

async fn info(
    state: &AppState,
    caller: &Caller,
    pairing: &PairingRow,
    session: &Session,
    event_id: &str,
) -> AppResult<ItemInfo> {
    let mailbox = mailbox_client(state, caller).await?;
    let event = mailbox
        .get_event(event_id)
        .await
        .map_err(|e| graph_access::api_error(&e, caller.lang))?;
    let prefs = preferences::load(&state.db, caller.mailbox_id).await?;
    let linked: Option<String> = match event.crm_activity_id() {
        Some(id) => Some(id.to_owned()),
        None => {
            sqlx::query_scalar(
                "SELECT crm_id FROM sync_rows WHERE pairing_id = $1 AND outlook_id = $2",
            )
            .bind(pairing.id)
            .bind(event_id)
            .fetch_optional(&state.db)
            .await?
        }
    };
    let item_state: Option<(String, Value)> = sqlx::query_as(
        "SELECT state, reasons FROM sync_item_states WHERE pairing_id = $1 AND outlook_id = $2",
    )
    .bind(pairing.id)
    .bind(event_id)
    .fetch_optional(&state.db)
    .await?;
    let chosen = event.crm_activity_type().map(str::to_owned);
    let (mut activity_type, type_is_default) = match chosen {
        Some(t) => (Some(t), false),
        None => (
            prefs.default_activity_type.clone(),
            prefs.default_activity_type.is_some(),
        ),
    };
    let (mut status, mut relations) = (None, Relations::default());
    if let Some(id) = &linked {
        match session.get_activity(id).await {
            Ok(a) => {
                activity_type = Some(a.activity_type.clone());
                status = a.status.clone();
                relations = names(session, &a.accounts, &a.contacts, a.project_id.as_deref()).await;
            }
            Err(e) if e.is_gone() => {}
            Err(e) => return Err(crm_access::api_error(&e, caller.lang)),
        }
    } else if let Some((s, r)) = sqlx::query_as::<_, (Option<String>, Value)>(
        "SELECT status, relations FROM item_choices WHERE pairing_id = $1 AND outlook_id = $2",
    )
    .bind(pairing.id)
    .bind(event_id)
    .fetch_optional(&state.db)
    .await?
    {
        status = s;
        relations = serde_json::from_value(r).unwrap_or_default();
    }
    let (sync_state, reason) = match &item_state {
        Some((s, reasons)) => (
            match s.as_str() {
                "synced" => SyncState::Synced,
                "excluded" => SyncState::Excluded,
                "conflict" => SyncState::Conflict,
                "error" => SyncState::Error,
                _ => SyncState::Pending,
            },
            reason_text(reasons, caller.lang),
        ),
        None => (SyncState::Pending, None),
    };
    Ok(ItemInfo {
        event_id: event_id.to_owned(),
        activity_type,
        type_is_default,
        status,
        relations,
        sync_state,
        reason,
        crm_url: linked
            .as_ref()
            .map(|id| format!("{}/activities/{id}", pairing.crm_address)),
        crm_activity_id: linked,
    })
}

async fn read(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(event_id): ApiPath<String>,
) -> AppResult<Json<ItemInfo>> {
    let (pairing, session) = session_for(&state, &caller).await?;
    Ok(Json(
        info(&state, &caller, &pairing, &session, &event_id).await?,
    ))
}

/// Stores the choices: the type on the event (our extended property, so it travels with the event and
/// the next sync applies it), status and relations on the activity — at once when it exists, else when
/// the sync creates it. Then a sync run is queued so the change crosses within seconds.
async fn update(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(event_id): ApiPath<String>,
    ApiJson(req): ApiJson<ItemUpdate>,
) -> AppResult<Json<ItemInfo>> {
    let lang = caller.lang;
    let (pairing, session) = session_for(&state, &caller).await?;
    let types: Vec<String> = session
        .activity_types(crmservice::Language::Fi)
        .await
        .map_err(|e| crm_access::api_error(&e, lang))?
        .into_iter()
        .map(|e| e.value)
        .collect();
    let statuses: Vec<String> = session
        .activity_statuses(crmservice::Language::Fi)
        .await
        .map_err(|e| crm_access::api_error(&e, lang))?
        .into_iter()
        .map(|e| e.value)
        .collect();
    AppError::check(
        validation::validate_item_update(&req, Some(&types), Some(&statuses)),
        lang,
    )?;

    let mailbox = mailbox_client(&state, &caller).await?;
    let event = mailbox
        .get_event(&event_id)
        .await
        .map_err(|e| graph_access::api_error(&e, lang))?;
    if let Some(t) = &req.activity_type
        && event.crm_activity_type() != Some(t.as_str())
    {
        let mark = EventWrite {
            single_value_extended_properties: Some(vec![ExtendedProperty {
                id: graph::CRM_ACTIVITY_TYPE_PROP.into(),
                value: Some(t.clone()),
            }]),
            ..Default::default()
        };
        mailbox
            .update_event(
                &event_id,
                event.change_key.as_deref().unwrap_or_default(),
                &mark,
            )
            .await
            .map_err(|e| graph_access::api_error(&e, lang))?;
    }
    let linked: Option<String> = match event.crm_activity_id() {
        Some(id) => Some(id.to_owned()),
        None => {
            sqlx::query_scalar(
                "SELECT crm_id FROM sync_rows WHERE pairing_id = $1 AND outlook_id = $2",
            )
            .bind(pairing.id)
            .bind(&event_id)
            .fetch_optional(&state.db)
            .await?
        }
    };
    let ids = |l: &Vec<RelationRef>| l.iter().map(|r| r.id.clone()).collect::<Vec<_>>();
    match linked {
        Some(activity_id) => {
            let patch = ActivityPatch {
                status: Some(req.status.clone()),
                accounts: Some(ids(&req.relations.accounts)),
                contacts: Some(ids(&req.relations.contacts)),
                project_id: Some(req.relations.projects.first().map(|p| p.id.clone())),
                ..Default::default()
            };
            match session.update_activity(&activity_id, &patch).await {
                Ok(_) => {}
                Err(e) if e.is_gone() => return Err(AppError::code(ErrorCode::ItemNotFound, lang)),
                Err(e) => return Err(crm_access::api_error(&e, lang)),
            }
        }
        None => {
            sqlx::query(
                "INSERT INTO item_choices (pairing_id, outlook_id, status, relations) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (pairing_id, outlook_id) DO UPDATE SET status = EXCLUDED.status,
                   relations = EXCLUDED.relations, updated_at = now()",
            )
            .bind(pairing.id)
            .bind(&event_id)
            .bind(&req.status)
            .bind(serde_json::to_value(&req.relations).map_err(AppError::internal)?)
            .execute(&state.db)
            .await?;
        }
    }
    let _ = JobQueue::new(state.db.clone())
        .enqueue_now(pairing.id, JobKind::OutlookToCrm, Trigger::User)
        .await;
    Ok(Json(
        info(&state, &caller, &pairing, &session, &event_id).await?,
    ))
}
