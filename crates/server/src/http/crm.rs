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
            let keep =
                |x: &&dyn Related| needle.is_empty() || x.name().to_lowercase().contains(&needle);
            let listed: Vec<&dyn Related> = match q.kind {
                RelationKind::Contacts => rel.contacts.iter().map(|c| c as &dyn Related).collect(),
                RelationKind::Projects => rel.projects.iter().map(|p| p as &dyn Related).collect(),
                RelationKind::Potentials => rel
                    .open_potentials
                    .iter()
                    .map(|p| p as &dyn Related)
                    .collect(),
                RelationKind::Accounts => Vec::new(),
            };
            out.extend(
                listed
                    .into_iter()
                    .filter(keep)
                    .map(|x| relation(q.kind, x, true)),
            );
        }
    }
    if !text.is_empty() {
        let found: Vec<Relation> = match q.kind {
            RelationKind::Accounts => search_results(
                q.kind,
                session
                    .search_accounts(&text, Match::Contains, SEARCH_LIMIT)
                    .await,
            ),
            RelationKind::Contacts => search_results(
                q.kind,
                session
                    .search_contacts(&text, Match::Contains, SEARCH_LIMIT)
                    .await,
            ),
            RelationKind::Projects => search_results(
                q.kind,
                session
                    .search_projects(&text, Match::Contains, SEARCH_LIMIT)
                    .await,
            ),
            RelationKind::Potentials => search_results(
                q.kind,
                session
                    .search_potentials(&text, Match::Contains, SEARCH_LIMIT)
                    .await,
            ),
        }
        .map_err(err)?;
        for r in found {
            if !out.iter().any(|o| o.id == r.id) {
                out.push(r);
            }
        }
    }
    Ok(Json(out))
}

/// What a relation search shows of a CRM record.
trait Related {
    fn id(&self) -> &str;
    fn name(&self) -> String;
    fn detail(&self) -> Option<String>;
}

impl Related for crmservice::Account {
    fn id(&self) -> &str {
        &self.id
    }
    fn name(&self) -> String {
        self.name.clone()
    }
    fn detail(&self) -> Option<String> {
        self.account_type.clone()
    }
}

impl Related for crmservice::Contact {
    fn id(&self) -> &str {
        &self.id
    }
    fn name(&self) -> String {
        self.full_name()
    }
    fn detail(&self) -> Option<String> {
        self.email.clone()
    }
}

impl Related for crmservice::Project {
    fn id(&self) -> &str {
        &self.id
    }
    fn name(&self) -> String {
        self.name.clone()
    }
    fn detail(&self) -> Option<String> {
        None
    }
}

impl Related for crmservice::Potential {
    fn id(&self) -> &str {
        &self.id
    }
    fn name(&self) -> String {
        self.name.clone()
    }
    fn detail(&self) -> Option<String> {
        self.status.clone()
    }
}

fn relation(kind: RelationKind, x: &dyn Related, related: bool) -> Relation {
    Relation {
        kind,
        id: x.id().to_owned(),
        name: x.name(),
        detail: x.detail(),
        related,
    }
}

fn search_results<T: Related>(
    kind: RelationKind,
    r: crmservice::Result<Vec<T>>,
) -> crmservice::Result<Vec<Relation>> {
    r.map(|list| list.iter().map(|x| relation(kind, x, false)).collect())
}
