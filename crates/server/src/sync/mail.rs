//! Email sync: Outlook messages into the CRM's `emails` module.
//!
//! * [`new_email`] is the one mapping of a Graph message to a CRM email (subject, sender, to and cc,
//!   sent time, body as text and as sanitised HTML, `internetMessageId`), shared by "Save to CRM" and
//!   automatic tracking.
//! * [`track`] is automatic email tracking (setting `email_tracking`, off by default). It runs inside
//!   every sync run of the pairing (within a minute: the runs' schedule), under the same per-pairing
//!   lock as calendar sync:
//!   1. per tracked folder (Inbox, Sent Items) one mail-folder delta round from the stored deltaLink;
//!      the first round starts at "now" (`receivedDateTime ge now`), so the mailbox's history is not
//!      imported, and a 410 restarts from a little before the last complete round;
//!   2. messages already recorded in `saved_emails` cost nothing; the rest are kept only when some
//!      address outside the user's own domain belongs to a CRM contact (one `$in` lookup per 50 new
//!      addresses, cached for the run); private messages follow the private-entry setting;
//!   3. the candidates are looked up in the CRM by `internetMessageId` (one request per 50), so an
//!      email stored by a run that died before recording it is adopted, not created again;
//!   4. each remaining one gets an intent row, then one `POST /emails` linked to its contacts and their
//!      accounts, then its status record (`saved_emails`, intent removed) in one transaction;
//!   5. the folder's new deltaLink is stored only when every message of the round is done, so a failed
//!      or cut-off run sees the same messages again (and skips those already recorded).
//!
//!   With tracking on, an idle cycle costs one Graph request per folder and no CRM request; with it off,
//!   nothing at all. Each tracked folder also has a change-notification subscription (created here,
//!   removed when tracking is switched off), so new mail starts a run at once; the poll is the fallback.

use std::collections::{HashMap, HashSet};

use api_types::{
    UiLanguage,
    preferences::{Preferences, PrivateEntries},
};
use chrono::{DateTime, Utc};
use crmservice::{NewEmail, Session};
use graph::{GraphError, MailboxClient, Message, MessageDeltaItem};
use serde_json::json;
use uuid::Uuid;

use super::runner::RunError;
use crate::{
    crm_access::{self, NoSession},
    state::AppState,
    store::{self, PairingRow},
    subscriptions,
};

/// The well-known folders automatic tracking follows.
pub const TRACKED_FOLDERS: [&str; 2] = ["inbox", "sentitems"];

/// After a 410 the folder is listed again from this long before its last complete round.
const RESTART_MARGIN: chrono::Duration = chrono::Duration::minutes(10);

/// CRM string fields (subject, from, to) hold at most this many characters.
const MAX_STRING_CHARS: usize = 255;

/// HTML with scripts, event handlers, styles and unknown tags removed (ammonia's safe defaults).
pub fn sanitise_html(html: &str) -> String {
    ammonia::clean(html)
}

fn clip(s: &str) -> String {
    if s.chars().count() <= MAX_STRING_CHARS {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(MAX_STRING_CHARS - 1).collect();
    out.push('…');
    out
}

fn join(rs: Option<&Vec<graph::Recipient>>) -> String {
    rs.into_iter()
        .flatten()
        .filter_map(|r| r.email_address.address.as_deref())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The subject a private message gets when only its existence may be recorded ("busy" mode).
pub fn private_subject(lang: UiLanguage) -> &'static str {
    match lang {
        UiLanguage::Fi => "Yksityinen viesti",
        UiLanguage::En => "Private message",
    }
}

/// The CRM email for a message, without relations. `hide_content` replaces the subject with a neutral
/// word in that language and leaves the body out (private messages in "busy" mode). `None` when the
/// message has no `internetMessageId` (a draft): it cannot be deduplicated.
pub fn new_email(m: &Message, hide_content: Option<UiLanguage>) -> Option<NewEmail> {
    let message_id = m
        .internet_message_id
        .clone()
        .filter(|s| !s.trim().is_empty())?;
    let (body, body_html) = match (&m.body, hide_content) {
        (_, Some(_)) | (None, _) => (String::new(), None),
        (Some(b), None) => match b.content_type {
            graph::BodyType::Text => (b.content.clone(), None),
            graph::BodyType::Html => (
                super::convert::html_to_text(&b.content),
                Some(sanitise_html(&b.content)),
            ),
        },
    };
    let subject = match hide_content {
        Some(lang) => private_subject(lang).to_owned(),
        None => m.subject.clone().unwrap_or_default(),
    };
    Some(NewEmail {
        subject: clip(&subject),
        body,
        body_html,
        from: clip(
            m.from
                .as_ref()
                .and_then(|f| f.email_address.address.as_deref())
                .unwrap_or_default(),
        ),
        to: clip(&join(m.to_recipients.as_ref())),
        cc: join(m.cc_recipients.as_ref()),
        sent_at: m.sent_date_time.or(m.received_date_time),
        message_id,
        ..NewEmail::default()
    })
}

/// The addresses on a message in order (sender, to, cc), lower-cased, each once.
fn ordered_addresses(m: &Message) -> Vec<String> {
    let mut seen = HashSet::new();
    m.from
        .iter()
        .chain(m.to_recipients.iter().flatten())
        .chain(m.cc_recipients.iter().flatten())
        .filter_map(|r| r.email_address.address.as_deref())
        .map(|a| a.trim().to_lowercase())
        .filter(|a| a.contains('@') && seen.insert(a.clone()))
        .collect()
}

/// The domain of an address (`"esimerkki.fi"`), lower-cased.
pub fn domain_of(address: &str) -> Option<String> {
    address
        .rsplit_once('@')
        .map(|(_, d)| d.trim().to_lowercase())
        .filter(|d| !d.is_empty())
}

/// What one tracking run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TrackCounts {
    /// Messages the delta rounds returned.
    pub listed: usize,
    /// Emails created in the CRM.
    pub created: usize,
    /// Found already in the CRM (stored by an earlier, interrupted run or another user) and recorded.
    pub adopted: usize,
    /// Not tracked: internal only, no CRM contact, private in skip mode, or drafts.
    pub ignored: usize,
    pub failed: usize,
    /// Graph delta requests made.
    pub graph_pages: u32,
}

/// One contact found for an address: its id and account.
type ContactHit = (String, Option<String>);

/// Runs automatic email tracking for the pairing if the setting is on (see the module docs). `None`
/// when tracking is off or cannot run now (not logged in, no Outlook access: the calendar run records
/// those for the user).
/// `prefs` are the pairing's preferences as the run read them at its start.
pub async fn track(
    state: &AppState,
    pairing: &PairingRow,
    prefs: &Preferences,
) -> Result<Option<TrackCounts>, RunError> {
    if !prefs.email_tracking {
        return Ok(None);
    }
    let crm = match crm_access::session(state, pairing).await {
        Ok(s) => s,
        Err(NoSession::NotLoggedIn | NoSession::NoApiKey) => return Ok(None),
        Err(NoSession::Crm(e)) => return Err(e.into()),
        Err(NoSession::Database(e)) => return Err(e.into()),
    };
    let Some(mailbox) = state
        .graph
        .mailbox(&state.db, &state.keyring, pairing.mailbox_id)
        .await?
    else {
        return Ok(None);
    };
    // Change notifications on the folders make new mail start a run at once; without them (or while
    // they fail) the schedule's poll still tracks within a minute.
    if let Err(e) = subscriptions::ensure_mail(state, pairing, &mailbox, &TRACKED_FOLDERS).await {
        tracing::warn!(pairing_id = %pairing.id, error = %e, "subscribing to new mail failed");
    }
    let own = store::mailbox_email(&state.db, pairing.mailbox_id).await?;
    let mut t = Tracker {
        state,
        pairing_id: pairing.id,
        crm: &crm,
        own_domain: domain_of(&own),
        private: prefs.private_entries,
        lang: prefs.app_language,
        contacts: HashMap::new(),
        done: HashSet::new(),
        counts: TrackCounts::default(),
        errors: Vec::new(),
    };
    let started = Utc::now();
    let mut result = Ok(());
    for folder in TRACKED_FOLDERS {
        if let Err(e) = t.folder(&mailbox, folder, started).await {
            result = Err(e);
            break;
        }
    }
    t.record(started).await?;
    match result {
        Err(RunError::Crm(crmservice::Error::LoginRequired)) => Ok(None),
        Err(e) => Err(e),
        Ok(()) => Ok(Some(t.counts)),
    }
}

struct Tracker<'a> {
    state: &'a AppState,
    pairing_id: Uuid,
    crm: &'a Session,
    own_domain: Option<String>,
    private: PrivateEntries,
    lang: UiLanguage,
    /// Contact lookups of this run by address (empty: no contact has it).
    contacts: HashMap<String, Vec<ContactHit>>,
    /// Message ids handled in this run (a message to oneself is in both folders).
    done: HashSet<String>,
    counts: TrackCounts,
    errors: Vec<String>,
}

/// A message chosen for the CRM, with its email and relations.
struct Candidate {
    email: NewEmail,
}

impl Tracker<'_> {
    async fn folder(
        &mut self,
        mailbox: &MailboxClient,
        folder: &str,
        started: DateTime<Utc>,
    ) -> Result<(), RunError> {
        let db = &self.state.db;
        // The starting point is on record before the first request, so a retried first round covers
        // the same time.
        sqlx::query(
            "INSERT INTO mail_cursors (pairing_id, folder, since) VALUES ($1, $2, $3)
             ON CONFLICT (pairing_id, folder) DO NOTHING",
        )
        .bind(self.pairing_id)
        .bind(folder)
        .bind(started)
        .execute(db)
        .await?;
        let (link, since, synced_at): (Option<String>, DateTime<Utc>, Option<DateTime<Utc>>) =
            sqlx::query_as(
                "SELECT delta_link, since, synced_at FROM mail_cursors WHERE pairing_id = $1 AND folder = $2",
            )
            .bind(self.pairing_id)
            .bind(folder)
            .fetch_one(db)
            .await?;
        let (round, since) = match link {
            Some(link) => match mailbox.mail_folder_delta(folder, Some(&link)).await {
                Ok(r) => (r, since),
                Err(GraphError::ResyncRequired) => {
                    let from = synced_at.unwrap_or(since) - RESTART_MARGIN;
                    tracing::info!(pairing_id = %self.pairing_id, folder, "mail delta expired (410): listing again from the last round");
                    self.counts.graph_pages += 1;
                    (mailbox.mail_folder_delta_since(folder, from).await?, from)
                }
                Err(e) => return Err(e.into()),
            },
            None => (mailbox.mail_folder_delta_since(folder, since).await?, since),
        };
        self.counts.graph_pages += round.pages;
        let messages: Vec<Message> = round
            .items
            .into_iter()
            .filter_map(|i| match i {
                MessageDeltaItem::Upsert(m) => Some(*m),
                MessageDeltaItem::Removed { .. } => None,
            })
            .collect();
        self.counts.listed += messages.len();
        let complete = self.messages(messages).await?;
        if complete {
            sqlx::query(
                "UPDATE mail_cursors SET delta_link = $3, since = $4, synced_at = $5, updated_at = now()
                 WHERE pairing_id = $1 AND folder = $2",
            )
            .bind(self.pairing_id)
            .bind(folder)
            .bind(&round.delta_link)
            .bind(since)
            .bind(started)
            .execute(db)
            .await?;
        }
        Ok(())
    }

    /// Tracks one round's messages; `false` when some failed (the cursor then stays).
    async fn messages(&mut self, messages: Vec<Message>) -> Result<bool, RunError> {
        let db = &self.state.db;
        // 1. Not yet handled in this run, and not yet recorded.
        let mut fresh: Vec<Message> = Vec::new();
        for m in messages {
            match m.internet_message_id.as_deref().filter(|s| !s.is_empty()) {
                Some(id) if m.is_draft != Some(true) && self.done.insert(id.to_owned()) => {
                    fresh.push(m)
                }
                Some(_) if m.is_draft != Some(true) => {}
                _ => self.counts.ignored += 1,
            }
        }
        if fresh.is_empty() {
            return Ok(true);
        }
        let ids: Vec<String> = fresh
            .iter()
            .filter_map(|m| m.internet_message_id.clone())
            .collect();
        let recorded: HashSet<String> = sqlx::query_scalar(
            "SELECT internet_message_id FROM saved_emails WHERE pairing_id = $1 AND internet_message_id = ANY($2)",
        )
        .bind(self.pairing_id)
        .bind(&ids)
        .fetch_all(db)
        .await?
        .into_iter()
        .collect();
        fresh.retain(|m| !recorded.contains(m.internet_message_id.as_deref().unwrap_or_default()));

        // 2. External addresses; internal-only mail and private mail in skip mode are left out.
        let mut wanted: Vec<(Message, Vec<String>)> = Vec::new();
        for m in fresh {
            if m.is_private() && self.private == PrivateEntries::Skip {
                self.counts.ignored += 1;
                continue;
            }
            let external: Vec<String> = ordered_addresses(&m)
                .into_iter()
                .filter(|a| self.own_domain.as_deref() != domain_of(a).as_deref())
                .collect();
            if external.is_empty() {
                self.counts.ignored += 1;
                continue;
            }
            wanted.push((m, external));
        }

        // 3. CRM contacts of those addresses (cached for the run).
        let unknown: Vec<String> = {
            let mut set: Vec<String> = wanted
                .iter()
                .flat_map(|(_, a)| a.iter().cloned())
                .filter(|a| !self.contacts.contains_key(a))
                .collect();
            set.sort();
            set.dedup();
            set
        };
        if !unknown.is_empty() {
            let found = self.crm.contacts_by_emails(&unknown).await?;
            for a in &unknown {
                self.contacts.entry(a.clone()).or_default();
            }
            for c in found {
                if let Some(e) = c.email.as_deref().map(|e| e.trim().to_lowercase())
                    && let Some(hits) = self.contacts.get_mut(&e)
                    && !hits.iter().any(|(id, _)| *id == c.id)
                {
                    hits.push((c.id.clone(), c.account_id.clone()));
                }
            }
        }
        let mut candidates: Vec<Candidate> = Vec::new();
        for (m, external) in wanted {
            let mut contacts: Vec<String> = Vec::new();
            let mut accounts: Vec<String> = Vec::new();
            for a in &external {
                for (id, account) in self.contacts.get(a).into_iter().flatten() {
                    if !contacts.contains(id) {
                        contacts.push(id.clone());
                    }
                    if let Some(acc) = account
                        && !accounts.contains(acc)
                    {
                        accounts.push(acc.clone());
                    }
                }
            }
            if contacts.is_empty() {
                self.counts.ignored += 1;
                continue;
            }
            let hide =
                (m.is_private() && self.private == PrivateEntries::Busy).then_some(self.lang);
            let Some(mut email) = new_email(&m, hide) else {
                self.counts.ignored += 1;
                continue;
            };
            email.contacts = contacts;
            email.accounts = accounts;
            candidates.push(Candidate { email });
        }
        if candidates.is_empty() {
            return Ok(true);
        }

        // 4. Already in the CRM (an earlier run stored it but died before recording it)?
        let ids: Vec<String> = candidates
            .iter()
            .map(|c| c.email.message_id.clone())
            .collect();
        let existing: HashMap<String, String> = self
            .crm
            .find_emails_by_message_ids(&ids)
            .await?
            .into_iter()
            .filter_map(|e| Some((e.message_id.clone()?, e.id)))
            .collect();
        // Intents of every create, on record before the first POST.
        let to_create: Vec<String> = ids
            .iter()
            .filter(|i| !existing.contains_key(*i))
            .cloned()
            .collect();
        sqlx::query(
            "INSERT INTO mail_intents (pairing_id, internet_message_id)
             SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING",
        )
        .bind(self.pairing_id)
        .bind(&to_create)
        .execute(db)
        .await?;

        // 5. Create, then record each in its own transaction.
        let mut complete = true;
        for c in candidates {
            let id = &c.email.message_id;
            let crm_id = match existing.get(id) {
                Some(found) => {
                    self.counts.adopted += 1;
                    found.clone()
                }
                None => match self.crm.create_email(&c.email).await {
                    Ok(e) => {
                        self.counts.created += 1;
                        e.id
                    }
                    Err(
                        e @ (crmservice::Error::RateLimited { .. }
                        | crmservice::Error::LoginRequired),
                    ) => return Err(e.into()),
                    Err(e) => {
                        tracing::warn!(pairing_id = %self.pairing_id, error = %e, "tracking an email failed");
                        self.counts.failed += 1;
                        self.errors.push(format!("{}: {e}", c.email.subject));
                        complete = false;
                        continue;
                    }
                },
            };
            let mut tx = db.begin().await?;
            sqlx::query(
                "INSERT INTO saved_emails (pairing_id, internet_message_id, crm_email_id, source)
                 VALUES ($1, $2, $3, 'tracked') ON CONFLICT (pairing_id, internet_message_id) DO NOTHING",
            )
            .bind(self.pairing_id)
            .bind(id)
            .bind(&crm_id)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "DELETE FROM mail_intents WHERE pairing_id = $1 AND internet_message_id = $2",
            )
            .bind(self.pairing_id)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        }
        Ok(complete)
    }

    /// A run that tracked or failed something is listed with the sync runs (direction `email`); an
    /// idle one writes nothing.
    async fn record(&self, started: DateTime<Utc>) -> Result<(), sqlx::Error> {
        let c = &self.counts;
        if c.created + c.adopted + c.failed == 0 && self.errors.is_empty() {
            return Ok(());
        }
        let outcome = match (self.errors.is_empty(), c.created + c.adopted > 0) {
            (true, _) => "ok",
            (false, true) => "partial",
            (false, false) => "failed",
        };
        let now = Utc::now();
        let errors: Vec<serde_json::Value> = self
            .errors
            .iter()
            .take(50)
            .map(|m| json!({"subject": null, "message": m, "at": now}))
            .collect();
        sqlx::query(
            "INSERT INTO sync_runs (pairing_id, direction, started_at, finished_at, outcome, counts, errors)
             VALUES ($1, 'email', $2, now(), $3, $4, $5)",
        )
        .bind(self.pairing_id)
        .bind(started)
        .bind(outcome)
        .bind(json!({"created": c.created, "adopted": c.adopted, "ignored": c.ignored,
                     "errors": c.failed, "listed": c.listed}))
        .bind(serde_json::Value::Array(errors))
        .execute(&self.state.db)
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use graph::{BodyType, EmailAddress, ItemBody, Recipient};

    fn r(a: &str) -> Recipient {
        Recipient {
            email_address: EmailAddress {
                name: None,
                address: Some(a.into()),
            },
        }
    }

    #[test]
    fn html_bodies_are_stored_as_text_and_sanitised_html() {
        let m = Message {
            internet_message_id: Some("<1@x>".into()),
            subject: Some("Tarjous".into()),
            from: Some(r("teppo@asiakas.fi")),
            to_recipients: Some(vec![r("maija@esimerkki.fi"), r("liisa@asiakas.fi")]),
            cc_recipients: Some(vec![r("pekka@asiakas.fi")]),
            body: Some(ItemBody {
                content_type: BodyType::Html,
                content: "<p onclick=\"x()\">Hei <b>Maija</b></p><script>alert(1)</script>".into(),
            }),
            ..Message::default()
        };
        let e = new_email(&m, None).unwrap();
        assert_eq!(e.body.trim(), "Hei Maija");
        let html = e.body_html.unwrap();
        assert!(html.contains("<b>Maija</b>"), "{html}");
        assert!(
            !html.contains("script") && !html.contains("onclick"),
            "{html}"
        );
        assert_eq!(e.to, "maija@esimerkki.fi, liisa@asiakas.fi");
        assert_eq!(e.cc, "pekka@asiakas.fi");
        let hidden = new_email(&m, Some(UiLanguage::En)).unwrap();
        assert_eq!(hidden.subject, "Private message");
        assert!(hidden.body.is_empty() && hidden.body_html.is_none());
        assert!(
            new_email(
                &Message {
                    internet_message_id: None,
                    ..m
                },
                None
            )
            .is_none()
        );
    }

    #[test]
    fn long_recipient_lists_fit_the_crm_field() {
        let many: Vec<Recipient> = (0..40)
            .map(|i| r(&format!("henkilo{i}@asiakas.fi")))
            .collect();
        let m = Message {
            internet_message_id: Some("<2@x>".into()),
            to_recipients: Some(many),
            ..Message::default()
        };
        let e = new_email(&m, None).unwrap();
        assert_eq!(e.to.chars().count(), MAX_STRING_CHARS);
        assert!(e.to.ends_with('…'));
    }

    #[test]
    fn domains_compare_case_insensitively() {
        assert_eq!(
            domain_of("Maija@Esimerkki.FI").as_deref(),
            Some("esimerkki.fi")
        );
        assert_eq!(domain_of("nobody"), None);
    }
}
