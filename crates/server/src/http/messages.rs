//! "Save to CRM" for an open message: stored in the CRM's emails module, linked to the chosen
//! relations (pre-filled with the CRM contacts whose addresses are on the message, and their
//! accounts), deduplicated by `internetMessageId` so saving again never makes a second copy.

use api_types::{
    ErrorCode,
    messages::{MessageInfo, SaveMessageRequest, SaveMessageResponse},
    relations::{RelationRef, Relations},
    routes,
};
use axum::{
    Json, Router,
    extract::State,
    routing::{get, post},
};
use crmservice::{Match, NewEmail, Session};
use graph::Message;

use crate::{
    auth::Caller,
    crm_access,
    error::{AppError, AppResult},
    extract::{ApiJson, ApiPath},
    graph_access,
    http::{crm::session_for, pairing::mailbox_client},
    state::AppState,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(routes::MESSAGE_PATTERN, get(read))
        .route(routes::MESSAGE_SAVE_PATTERN, post(save))
}

fn addresses(m: &Message) -> Vec<String> {
    let mut out: Vec<String> = m
        .from
        .iter()
        .chain(m.to_recipients.iter().flatten())
        .chain(m.cc_recipients.iter().flatten())
        .filter_map(|r| r.email_address.address.as_deref())
        .map(|a| a.trim().to_lowercase())
        .filter(|a| a.contains('@'))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// CRM contacts whose email is on the message, and their accounts.
async fn suggested(session: &Session, m: &Message, own: &str) -> Relations {
    let mut r = Relations::default();
    for address in addresses(m)
        .into_iter()
        .filter(|a| !a.eq_ignore_ascii_case(own))
        .take(10)
    {
        let Ok(found) = session.search_contacts(&address, Match::Contains, 5).await else {
            continue;
        };
        for c in found.into_iter().filter(|c| {
            c.email
                .as_deref()
                .is_some_and(|e| e.eq_ignore_ascii_case(&address))
        }) {
            if let Some(account_id) = &c.account_id
                && !r.accounts.iter().any(|a| &a.id == account_id)
                && let Ok(a) = session.get_account(account_id).await
            {
                r.accounts.push(RelationRef {
                    id: a.id,
                    name: a.name,
                });
            }
            if !r.contacts.iter().any(|x| x.id == c.id) {
                r.contacts.push(RelationRef {
                    name: c.full_name(),
                    id: c.id,
                });
            }
        }
    }
    r
}

async fn read(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(message_id): ApiPath<String>,
) -> AppResult<Json<MessageInfo>> {
    let (pairing, session) = session_for(&state, &caller).await?;
    let mailbox = mailbox_client(&state, &caller).await?;
    let m = mailbox
        .get_message(&message_id)
        .await
        .map_err(|e| graph_access::api_error(&e, caller.lang))?;
    let imid = m.internet_message_id.clone().unwrap_or_default();
    let saved: Option<String> = sqlx::query_scalar(
        "SELECT crm_email_id FROM saved_emails WHERE pairing_id = $1 AND internet_message_id = $2",
    )
    .bind(pairing.id)
    .bind(&imid)
    .fetch_optional(&state.db)
    .await?;
    let own = crate::store::mailbox_email(&state.db, caller.mailbox_id).await?;
    Ok(Json(MessageInfo {
        message_id,
        saved: saved.is_some(),
        crm_url: saved
            .as_ref()
            .map(|id| format!("{}/emails/{id}", pairing.crm_address)),
        crm_email_id: saved,
        relations: suggested(&session, &m, &own).await,
    }))
}

async fn save(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(message_id): ApiPath<String>,
    ApiJson(req): ApiJson<SaveMessageRequest>,
) -> AppResult<Json<SaveMessageResponse>> {
    let lang = caller.lang;
    let (pairing, session) = session_for(&state, &caller).await?;
    let mailbox = mailbox_client(&state, &caller).await?;
    let m = mailbox
        .get_message(&message_id)
        .await
        .map_err(|e| graph_access::api_error(&e, lang))?;
    let Some(imid) = m.internet_message_id.clone().filter(|s| !s.is_empty()) else {
        // Drafts have no internetMessageId yet; they cannot be deduplicated, so they are not saved.
        return Err(AppError::code(ErrorCode::ItemNotFound, lang));
    };
    let body = m
        .body
        .as_ref()
        .map(|b| match b.content_type {
            graph::BodyType::Text => b.content.clone(),
            graph::BodyType::Html => crate::sync::convert::html_to_text(&b.content),
        })
        .unwrap_or_default();
    let join = |rs: &[graph::Recipient]| {
        rs.iter()
            .filter_map(|r| r.email_address.address.clone())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let new = NewEmail {
        subject: m.subject.clone().unwrap_or_default(),
        body,
        from: m
            .from
            .as_ref()
            .and_then(|f| f.email_address.address.clone())
            .unwrap_or_default(),
        to: join(m.to_recipients.as_deref().unwrap_or_default()),
        sent_at: m.sent_date_time.or(m.received_date_time),
        message_id: imid.clone(),
        account_id: req.relations.accounts.first().map(|a| a.id.clone()),
        contact_id: req.relations.contacts.first().map(|c| c.id.clone()),
    };
    let (email, created) = session
        .save_email_once(&new)
        .await
        .map_err(|e| crm_access::api_error(&e, lang))?;
    sqlx::query(
        "INSERT INTO saved_emails (pairing_id, internet_message_id, crm_email_id) VALUES ($1, $2, $3)
         ON CONFLICT (pairing_id, internet_message_id) DO NOTHING",
    )
    .bind(pairing.id)
    .bind(&imid)
    .bind(&email.id)
    .execute(&state.db)
    .await?;
    Ok(Json(SaveMessageResponse {
        crm_url: Some(format!("{}/emails/{}", pairing.crm_address, email.id)),
        crm_email_id: email.id,
        saved: true,
        already_saved: !created,
    }))
}
