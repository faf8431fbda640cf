//! Pane endpoints that read the CRM for the user: picklists in the picklist language and the relation
//! search ("Näytä oletuksena asiakkaiden relaatiot" shows the chosen customers' relations before any
//! text is typed).

use api_types::{
    ApiError, ErrorCode,
    picklists::{PicklistEntry, PicklistQuery},
    relations::{Relation, RelationKind, RelationSearchQuery},
    routes, validation,
};
use axum::{Json, Router, extract::State, routing::get};
use crmservice::{Match, Session};
use serde_json::json;

use crate::{
    auth::Caller,
    crm_access,
    error::{AppError, AppResult},
    extract::ApiQuery,
    http::preferences,
    state::AppState,
    store::{self, PairingRow},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(routes::PICKLIST_ACTIVITY_TYPES, get(activity_types))
        .route(routes::PICKLIST_ACTIVITY_STATUSES, get(activity_statuses))
        .route(routes::RELATIONS_SEARCH, get(search))
}

/// The caller's pairing and a CRM session for it, or the pane's error.
pub async fn session_for(state: &AppState, caller: &Caller) -> AppResult<(PairingRow, Session)> {
    let pairing = store::pairing_of_mailbox(&state.db, caller.mailbox_id)
        .await?
        .ok_or_else(|| AppError::code(ErrorCode::NotPaired, caller.lang))?;
    let session = crm_access::session(state, &pairing)
        .await
        .map_err(|e| e.into_app(caller.lang))?;
    Ok((pairing, session))
}

fn lang(l: api_types::Language) -> crmservice::Language {
    match l {
        api_types::Language::Fi => crmservice::Language::Fi,
        api_types::Language::En => crmservice::Language::En,
        api_types::Language::Sv => crmservice::Language::Sv,
    }
}

/// The activity types, fresh from the CRM (so a type added there appears without re-saving the
/// settings); the cache used for validation is refreshed on the way.
async fn activity_types(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<PicklistQuery>,
) -> AppResult<Json<Vec<PicklistEntry>>> {
    let (pairing, session) = session_for(&state, &caller).await?;
    let entries = session
        .activity_types(lang(q.lang))
        .await
        .map_err(|e| crm_access::api_error(&e, caller.lang))?;
    let cache: Vec<_> = entries
        .iter()
        .map(|e| json!({"value": e.value, "label": e.label}))
        .collect();
    sqlx::query(
        "INSERT INTO picklist_cache (pairing_id, name, entries) VALUES ($1, 'activity_type', $2)
         ON CONFLICT (pairing_id, name) DO UPDATE SET entries = EXCLUDED.entries, fetched_at = now()",
    )
    .bind(pairing.id)
    .bind(serde_json::Value::Array(cache))
    .execute(&state.db)
    .await?;
    Ok(Json(
        entries
            .into_iter()
            .map(|e| PicklistEntry {
                value: e.value,
                label: e.label,
            })
            .collect(),
    ))
}

async fn activity_statuses(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<PicklistQuery>,
) -> AppResult<Json<Vec<PicklistEntry>>> {
    let (_, session) = session_for(&state, &caller).await?;
    let entries = session
        .activity_statuses(lang(q.lang))
        .await
        .map_err(|e| crm_access::api_error(&e, caller.lang))?;
    Ok(Json(
        entries
            .into_iter()
            .map(|e| PicklistEntry {
                value: e.value,
                label: e.label,
            })
            .collect(),
    ))
}

const SEARCH_LIMIT: u32 = 20;

async fn search(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<RelationSearchQuery>,
) -> AppResult<Json<Vec<Relation>>> {
    let text = q.q.as_deref().unwrap_or("").trim().to_owned();
    if let Err(e) = validation::validate_search_query(&text) {
        return Err(AppError::Api(
            ApiError::from_field_errors(&[e], caller.lang).expect("one error"),
        ));
    }
    let (_, session) = session_for(&state, &caller).await?;
    let err = |e: crmservice::Error| crm_access::api_error(&e, caller.lang);
    let related_to = q.related_ids();
    let mut out: Vec<Relation> = Vec::new();

    // Relations of the chosen customers, first and marked: before typing they are the whole answer
    // when "show customer relations by default" is on.
    let show_by_default = preferences::load(&state.db, caller.mailbox_id)
        .await?
        .show_customer_relations;
    if !related_to.is_empty() && (show_by_default || !text.is_empty()) {
        for account_id in related_to.iter().take(10) {
            let rel = match session.account_relations(account_id).await {
                Ok(r) => r,
                Err(e) if e.is_gone() => continue,
                Err(e) => return Err(err(e)),
            };
            let needle = text.to_lowercase();
            let keep = |name: &str| needle.is_empty() || name.to_lowercase().contains(&needle);
            match q.kind {
                RelationKind::Contacts => out.extend(
                    rel.contacts
                        .iter()
                        .filter(|c| keep(&c.full_name()))
                        .map(|c| Relation {
                            kind: RelationKind::Contacts,
                            id: c.id.clone(),
                            name: c.full_name(),
                            detail: c.email.clone(),
                            related: true,
                        }),
                ),
                RelationKind::Projects => out.extend(
                    rel.projects
                        .iter()
                        .filter(|p| keep(&p.name))
                        .map(|p| Relation {
                            kind: RelationKind::Projects,
                            id: p.id.clone(),
                            name: p.name.clone(),
                            detail: None,
                            related: true,
                        }),
                ),
                RelationKind::Potentials => out.extend(
                    rel.open_potentials
                        .iter()
                        .filter(|p| keep(&p.name))
                        .map(|p| Relation {
                            kind: RelationKind::Potentials,
                            id: p.id.clone(),
                            name: p.name.clone(),
                            detail: p.status.clone(),
                            related: true,
                        }),
                ),
                RelationKind::Accounts => {}
            }
        }
    }
    if !text.is_empty() {
        let found: Vec<Relation> = match q.kind {
            RelationKind::Accounts => session
                .search_accounts(&text, Match::Contains, SEARCH_LIMIT)
                .await
                .map_err(err)?
                .into_iter()
                .map(|a| Relation {
                    kind: q.kind,
                    id: a.id,
                    name: a.name,
                    detail: a.account_type,
                    related: false,
                })
                .collect(),
            RelationKind::Contacts => session
                .search_contacts(&text, Match::Contains, SEARCH_LIMIT)
                .await
                .map_err(err)?
                .into_iter()
                .map(|c| Relation {
                    kind: q.kind,
                    name: c.full_name(),
                    id: c.id,
                    detail: c.email,
                    related: false,
                })
                .collect(),
            RelationKind::Projects => session
                .search_projects(&text, Match::Contains, SEARCH_LIMIT)
                .await
                .map_err(err)?
                .into_iter()
                .map(|p| Relation {
                    kind: q.kind,
                    id: p.id,
                    name: p.name,
                    detail: None,
                    related: false,
                })
                .collect(),
            RelationKind::Potentials => session
                .search_potentials(&text, Match::Contains, SEARCH_LIMIT)
                .await
                .map_err(err)?
                .into_iter()
                .map(|p| Relation {
                    kind: q.kind,
                    id: p.id,
                    name: p.name,
                    detail: p.status,
                    related: false,
                })
                .collect(),
        };
        for r in found {
            if !out.iter().any(|o| o.id == r.id) {
                out.push(r);
            }
        }
    }
    Ok(Json(out))
}
