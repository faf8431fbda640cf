//! "Save to CRM" for an open message: stored in the CRM's emails module (see
//! [`crate::sync::mail::new_email`] for the fields), linked to the chosen relations (pre-filled with
//! the CRM contacts whose addresses are on the message, and their accounts). The CRM copy is found by
//! `internetMessageId`, so saving again updates it and never makes a second copy; attachments (on
//! request) are uploaded once each (by name and content digest), files over 25 MiB are listed as not
//! uploaded.

use api_types::{
    ErrorCode, UiLanguage,
    messages::{
        AttachmentOutcome, MAX_ATTACHMENT_BYTES, MessageInfo, SaveMessageRequest,
        SaveMessageResponse, SavedAttachment,
    },
    relations::{RelationRef, Relations},
    routes,
};
use axum::{
    Json, Router,
    extract::State,
    routing::{get, post},
};
use crmservice::{Match, Session};
use graph::Message;

use crate::{
    auth::Caller,
    crm_access,
    error::{AppError, AppResult},
    extract::{ApiJson, ApiPath},
    graph_access,
    http::{crm::session_for, pairing::mailbox_client},
    state::AppState,
    sync::mail,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(routes::MESSAGE_PATTERN, get(read))
        .route(routes::MESSAGE_SAVE_PATTERN, post(save))
}

/// CRM contacts whose email is on the message, and their accounts.
async fn suggested(session: &Session, m: &Message, own: &str) -> Relations {
    let mut r = Relations::default();
    for address in m
        .addresses()
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
    // Drafts have no internetMessageId yet; they cannot be deduplicated, so they are not saved.
    let Some(mut new) = mail::new_email(&m, None) else {
        return Err(AppError::code(ErrorCode::ItemNotFound, lang));
    };
    let imid = new.message_id.clone();
    new.accounts = req
        .relations
        .accounts
        .iter()
        .map(|a| a.id.clone())
        .collect();
    new.contacts = req
        .relations
        .contacts
        .iter()
        .map(|c| c.id.clone())
        .collect();
    let crm_err = |e: crmservice::Error| crm_access::api_error(&e, lang);

    // The CRM copy, by our record or by its message id (saved earlier, elsewhere or by tracking).
    let recorded: Option<String> = sqlx::query_scalar(
        "SELECT crm_email_id FROM saved_emails WHERE pairing_id = $1 AND internet_message_id = $2",
    )
    .bind(pairing.id)
    .bind(&imid)
    .fetch_optional(&state.db)
    .await?;
    let existing = match recorded {
        Some(id) => Some(id),
        None => session
            .find_email_by_message_id(&imid)
            .await
            .map_err(crm_err)?
            .map(|e| e.id),
    };
    let (email, already_saved) = match existing {
        Some(id) => match session.update_email(&id, &new).await {
            Ok(e) => (e, true),
            // Deleted in the CRM since: save it anew (its old files went with it).
            Err(e) if e.is_gone() => {
                forget_files(&state, pairing.id, &imid).await?;
                (session.create_email(&new).await.map_err(crm_err)?, false)
            }
            Err(e) => return Err(crm_err(e)),
        },
        None => (session.create_email(&new).await.map_err(crm_err)?, false),
    };
    sqlx::query(
        "INSERT INTO saved_emails (pairing_id, internet_message_id, crm_email_id) VALUES ($1, $2, $3)
         ON CONFLICT (pairing_id, internet_message_id) DO UPDATE SET crm_email_id = EXCLUDED.crm_email_id, saved_at = now()",
    )
    .bind(pairing.id)
    .bind(&imid)
    .bind(&email.id)
    .execute(&state.db)
    .await?;
    let attachments = if req.include_attachments && m.has_attachments != Some(false) {
        upload_attachments(
            &state, pairing.id, &session, &mailbox, &m.id, &imid, &email.id, lang,
        )
        .await?
    } else {
        Vec::new()
    };
    Ok(Json(SaveMessageResponse {
        crm_url: Some(format!("{}/emails/{}", pairing.crm_address, email.id)),
        crm_email_id: email.id,
        saved: true,
        already_saved,
        attachments,
    }))
}

async fn forget_files(state: &AppState, pairing_id: uuid::Uuid, imid: &str) -> AppResult<()> {
    sqlx::query("DELETE FROM saved_email_files WHERE pairing_id = $1 AND internet_message_id = $2")
        .bind(pairing_id)
        .bind(imid)
        .execute(&state.db)
        .await?;
    Ok(())
}

fn too_large_message(name: &str, size: u64, lang: UiLanguage) -> String {
    let mib = (size as f64 / (1024.0 * 1024.0) * 10.0).round() / 10.0;
    let max = MAX_ATTACHMENT_BYTES / (1024 * 1024);
    match lang {
        UiLanguage::Fi => format!(
            "Liitettä {name} ({mib} Mt) ei tallennettu: CRM ottaa vastaan enintään {max} Mt:n tiedostoja. Viesti tallennettiin ilman sitä."
        ),
        UiLanguage::En => format!(
            "Attachment {name} ({mib} MB) was not saved: the CRM accepts files of at most {max} MB. The message was saved without it."
        ),
    }
}

/// Uploads the message's file attachments to the CRM email, each at most once per message: a file counts
/// as uploaded when one with the same name, size and content (SHA-256 of the bytes) already was, so a
/// different file of the same name and size is uploaded too. Each file's bytes are therefore read on
/// every save (one Graph request per attachment). Oversize and non-file attachments are listed, not
/// uploaded. A failed upload does not undo the save; saving again retries it.
#[allow(clippy::too_many_arguments)]
async fn upload_attachments(
    state: &AppState,
    pairing_id: uuid::Uuid,
    session: &Session,
    mailbox: &graph::MailboxClient,
    message_id: &str,
    imid: &str,
    crm_email_id: &str,
    lang: UiLanguage,
) -> AppResult<Vec<SavedAttachment>> {
    let list = mailbox
        .list_attachments(message_id)
        .await
        .map_err(|e| graph_access::api_error(&e, lang))?;
    // (name and size, content digest); a digest of '' is a row from before digests were kept.
    let mut uploaded: Vec<(String, String)> = sqlx::query_as(
        "SELECT attachment_key, content_sha256 FROM saved_email_files WHERE pairing_id = $1 AND internet_message_id = $2",
    )
    .bind(pairing_id)
    .bind(imid)
    .fetch_all(&state.db)
    .await?;
    let mut out = Vec::new();
    for a in list.into_iter().filter(|a| !a.is_inline) {
        let name = a.name.clone().unwrap_or_else(|| "liite".into());
        let key = format!("{}:{name}", a.size);
        let done = |outcome, message: Option<String>| SavedAttachment {
            name: name.clone(),
            size: a.size,
            outcome,
            message,
        };
        if !a.is_file() {
            out.push(done(
                AttachmentOutcome::NotAFile,
                Some(match lang {
                    UiLanguage::Fi => format!("{name} ei ole tiedosto (liitetty viesti tai linkki), joten sitä ei tallennettu."),
                    UiLanguage::En => format!("{name} is not a file (an attached item or a link), so it was not saved."),
                }),
            ));
            continue;
        }
        // Graph's size includes a little metadata; only a clearly oversize file is refused unread.
        if a.size > MAX_ATTACHMENT_BYTES + 64 * 1024 {
            out.push(done(
                AttachmentOutcome::TooLarge,
                Some(too_large_message(&name, a.size, lang)),
            ));
            continue;
        }
        let bytes = match mailbox.attachment_content(message_id, &a.id).await {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(error = %e, "reading an attachment failed");
                out.push(done(
                    AttachmentOutcome::Failed,
                    Some(failed_message(&name, lang)),
                ));
                continue;
            }
        };
        if bytes.len() as u64 > MAX_ATTACHMENT_BYTES {
            out.push(done(
                AttachmentOutcome::TooLarge,
                Some(too_large_message(&name, bytes.len() as u64, lang)),
            ));
            continue;
        }
        let digest = sha256_hex(&bytes);
        if uploaded.iter().any(|(k, d)| *k == key && *d == digest) {
            out.push(done(AttachmentOutcome::AlreadyUploaded, None));
            continue;
        }
        if let Some(i) = uploaded.iter().position(|(k, d)| *k == key && d.is_empty()) {
            // Recorded before digests were kept: this file, by name and size; from now on by content.
            sqlx::query(
                "UPDATE saved_email_files SET content_sha256 = $4
                 WHERE pairing_id = $1 AND internet_message_id = $2 AND attachment_key = $3 AND content_sha256 = ''",
            )
            .bind(pairing_id)
            .bind(imid)
            .bind(&key)
            .bind(&digest)
            .execute(&state.db)
            .await?;
            uploaded[i].1 = digest;
            out.push(done(AttachmentOutcome::AlreadyUploaded, None));
            continue;
        }
        let content_type = a
            .content_type
            .clone()
            .unwrap_or_else(|| "application/octet-stream".into());
        match session
            .upload_file(
                "emails",
                crm_email_id,
                &name,
                &content_type,
                bytes::Bytes::from(bytes),
            )
            .await
        {
            Ok(f) => {
                sqlx::query(
                    "INSERT INTO saved_email_files (pairing_id, internet_message_id, attachment_key, content_sha256, crm_file_id)
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                )
                .bind(pairing_id)
                .bind(imid)
                .bind(&key)
                .bind(&digest)
                .bind(&f.id)
                .execute(&state.db)
                .await?;
                uploaded.push((key.clone(), digest));
                out.push(done(AttachmentOutcome::Uploaded, None));
            }
            Err(crmservice::Error::FileTooLarge { size, .. }) => out.push(done(
                AttachmentOutcome::TooLarge,
                Some(too_large_message(&name, size as u64, lang)),
            )),
            Err(e) => {
                tracing::warn!(error = %e, "uploading an attachment failed");
                out.push(done(
                    AttachmentOutcome::Failed,
                    Some(failed_message(&name, lang)),
                ));
            }
        }
    }
    Ok(out)
}

/// SHA-256 of `bytes` as lower-case hex.
fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn failed_message(name: &str, lang: UiLanguage) -> String {
    match lang {
        UiLanguage::Fi => format!(
            "Liitteen {name} tallennus epäonnistui. Tallenna viesti uudelleen yrittääksesi uudestaan."
        ),
        UiLanguage::En => {
            format!("Saving attachment {name} failed. Save the message again to retry.")
        }
    }
}
