//! One sync run of one pairing (see the module docs of [`crate::sync`]).

use std::{collections::HashSet, time::Duration};

use api_types::{
    preferences::{Preferences, PrivateEntries},
    sync::{SyncConflict, SyncCounts, SyncErrorEntry},
};
use chrono::{DateTime, Utc};
use crmservice::{CrmTime, Filter, ListQuery, Session};
use futures::{StreamExt, TryStreamExt};
use graph::{DeltaItem, DeltaPosition, GraphError, MailboxClient};
use serde_json::{Value, json};
use sqlx::PgPool;
use sync_core::{
    Conflict, CrmItem, CrmLink, CrmListing, Direction, Listing, OutlookItem, OutlookListing, Plan,
    PlanError, RowChange, Settings, Side, StatusRow, Step, StepKind, SyncInput, TypeSet, Window,
    Windows, Write, WriteOutcome,
};
use uuid::Uuid;

use super::convert;
use crate::{
    crm_access::{self, NoSession},
    http::preferences,
    metrics::SyncLabels,
    state::AppState,
    store::{self, PairingRow},
    worker::{ClaimedJob, JobError, JobHandler, JobKind, JobOutcome, Schedule},
};

/// Re-read this much before the CRM watermark: `updated_at` has second resolution.
const CRM_OVERLAP: Duration = Duration::from_secs(5);
/// How often the CRM's ids are scanned for deletions (it has no deletion feed).
const ID_SCAN_EVERY: chrono::Duration = chrono::Duration::minutes(5);

/// The worker's handler: both job kinds run the same two-way sync, one at a time per pairing.
pub struct SyncHandler {
    state: AppState,
    schedule: Schedule,
}

impl SyncHandler {
    pub fn new(state: AppState) -> Self {
        let schedule = Schedule::from_config(&state.config);
        Self { state, schedule }
    }
}

impl JobHandler for SyncHandler {
    fn run(&self, job: &ClaimedJob) -> impl Future<Output = Result<JobOutcome, JobError>> + Send {
        let (pairing_id, kind) = (job.pairing_id, job.kind);
        async move {
            match run_pairing(&self.state, pairing_id, kind).await {
                Ok(RunEnd::Busy) => Ok(JobOutcome::run_again_in(Duration::from_secs(2))),
                // Both kinds run the same work (the two-way calendar sync, which polls both sides, and
                // email tracking), so a run is the other kind's poll too.
                Ok(RunEnd::Done) => Ok(self.schedule.next_covering_other(kind)),
                Ok(_) => Ok(self.schedule.next(kind)),
                Err(e) => {
                    let mut err = JobError::new(e.to_string());
                    if let Some(after) = e.retry_after() {
                        err = err.with_retry_after(after);
                    }
                    Err(err)
                }
            }
        }
    }
}

/// How a run ended (failures the user must fix are recorded in the run, not raised).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunEnd {
    Done,
    /// The other job kind of this pairing is running; try again in a moment.
    Busy,
    /// Nothing to do: no pairing, or automatic sync is off and nobody asked.
    Skipped,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("Microsoft Graph: {0}")]
    Graph(#[from] GraphError),
    #[error("CRM: {0}")]
    Crm(#[from] crmservice::Error),
    #[error("sync engine: {0}")]
    Plan(String),
}

impl RunError {
    fn retry_after(&self) -> Option<Duration> {
        match self {
            RunError::Crm(crmservice::Error::RateLimited { retry_after }) => *retry_after,
            RunError::Graph(GraphError::Throttled { .. }) => Some(Duration::from_secs(30)),
            _ => None,
        }
    }
}

fn lock_key(pairing_id: Uuid) -> i64 {
    let b = pairing_id.as_bytes();
    i64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
}

/// Runs one sync of the pairing unless another run of it holds the pairing's lock. The lock is a
/// transaction-scoped advisory lock: if this task is cancelled (lease lost, shutdown), dropping the
/// transaction releases it.
pub async fn run_pairing(
    state: &AppState,
    pairing_id: Uuid,
    kind: JobKind,
) -> Result<RunEnd, RunError> {
    let mut lock = state.db.begin().await?;
    let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)")
        .bind(lock_key(pairing_id))
        .fetch_one(&mut *lock)
        .await?;
    if !got {
        return Ok(RunEnd::Busy);
    }
    // Read once the lock is held (a statement's snapshot is taken when it starts), so the cursors are
    // the ones the previous run stored; on the lock's connection, in one statement.
    let Some(start) = RunStart::read(&mut lock, pairing_id).await? else {
        return Ok(RunEnd::Skipped);
    };
    let pairing = start.pairing;
    // Declared after `lock`, so it is dropped (and logs the end) before the lock is released: the logged
    // interval lies within the time the run held the pairing.
    let journal = RunJournal::start(pairing_id, kind);
    let prefs = preferences::from_stored(&state.db, pairing.mailbox_id, start.settings)
        .await
        .map_err(|e| RunError::Plan(e.to_string()))?;
    let lock = std::sync::Arc::new(tokio::sync::Mutex::new(lock));
    let result = Run::new(state, pairing.clone(), kind, lock.clone())
        .go(&prefs, start.cursors)
        .await;
    let lock = std::sync::Arc::into_inner(lock)
        .expect("the run has ended")
        .into_inner();
    // Email tracking is part of every run (whichever job kind leads the pairing's schedule), under the
    // same lock; it runs even when the calendar run failed or calendar sync is off.
    let mail = super::mail::track(state, &pairing, &prefs).await;
    drop(journal);
    lock.rollback().await?;
    match (result, mail) {
        (Err(e), _) | (Ok(_), Err(e)) => Err(e),
        (Ok(RunEnd::Skipped), Ok(Some(_))) => Ok(RunEnd::Done),
        (Ok(end), Ok(_)) => Ok(end),
    }
}

/// Logs (target [`RUN_JOURNAL_TARGET`], level debug) when a run starts and when it ends, however it ends
/// (also when the run is dropped), while it holds the pairing's lock: multi-process tests check from
/// these lines that no pairing is ever synced by two processes at once.
struct RunJournal {
    pairing_id: Uuid,
    kind: JobKind,
}

/// The `tracing` target of the run start/end lines.
pub const RUN_JOURNAL_TARGET: &str = "crm_server::sync::journal";

impl RunJournal {
    fn start(pairing_id: Uuid, kind: JobKind) -> Self {
        tracing::debug!(target: RUN_JOURNAL_TARGET, %pairing_id, %kind, "sync run started");
        Self { pairing_id, kind }
    }
}

impl Drop for RunJournal {
    fn drop(&mut self) {
        let (pairing_id, kind) = (self.pairing_id, self.kind);
        tracing::debug!(target: RUN_JOURNAL_TARGET, %pairing_id, %kind, "sync run ended");
    }
}

/// What a run reads first, in one statement: the pairing, its stored preferences (`None`: never saved)
/// and its cursors (all `None` before the first complete run).
#[derive(sqlx::FromRow)]
struct RunStart {
    #[sqlx(flatten)]
    pairing: PairingRow,
    settings: Option<Value>,
    #[sqlx(flatten)]
    cursors: Cursors,
}

impl RunStart {
    /// `None` when the pairing is gone.
    async fn read(
        lock: &mut sqlx::Transaction<'static, sqlx::Postgres>,
        pairing_id: Uuid,
    ) -> sqlx::Result<Option<Self>> {
        sqlx::query_as(
            "SELECT p.id, p.mailbox_id, p.crm_address, p.crm_username, p.crm_user_id, p.calendar_id,
                    p.calendar_name, p.created_at,
                    s.settings,
                    c.delta_link, c.delta_window_start, c.delta_window_end, c.crm_watermark,
                    c.last_id_scan_at, c.manual_requested_at, c.settings_hash, c.updated_at
             FROM pairings p
             LEFT JOIN preferences s ON s.mailbox_id = p.mailbox_id
             LEFT JOIN sync_cursors c ON c.pairing_id = p.id
             WHERE p.id = $1",
        )
        .bind(pairing_id)
        .fetch_optional(&mut **lock)
        .await
    }
}

#[derive(Debug, Default, sqlx::FromRow)]
struct Cursors {
    delta_link: Option<String>,
    delta_window_start: Option<DateTime<Utc>>,
    delta_window_end: Option<DateTime<Utc>>,
    crm_watermark: Option<DateTime<Utc>>,
    last_id_scan_at: Option<DateTime<Utc>>,
    manual_requested_at: Option<DateTime<Utc>>,
    settings_hash: Option<String>,
    /// When the cursors were last stored (the last complete listing), by the database's clock.
    updated_at: Option<DateTime<Utc>>,
}

pub fn settings_from(p: &Preferences) -> Settings {
    let dir = |d: &api_types::preferences::DirectionSettings| sync_core::DirectionSettings {
        history_days: d.history_days.into(),
        future_days: d.future_days.into(),
        create_types: TypeSet::Only(d.create_types.clone()),
        edit_delete_types: TypeSet::Only(d.edit_delete_types.clone()),
    };
    Settings {
        outlook_to_crm: dir(&p.outlook_to_crm),
        crm_to_outlook: dir(&p.crm_to_outlook),
        default_activity_type: p
            .default_activity_type
            .clone()
            .filter(|t| !t.trim().is_empty()),
        private_mode: match p.private_entries {
            PrivateEntries::Full => sync_core::PrivateMode::Full,
            PrivateEntries::Busy => sync_core::PrivateMode::BusyBlock,
            PrivateEntries::Skip => sync_core::PrivateMode::Skip,
        },
        language: match p.app_language {
            api_types::UiLanguage::Fi => sync_core::Language::Fi,
            api_types::UiLanguage::En => sync_core::Language::En,
        },
        ..Settings::default()
    }
}

struct Run<'a> {
    state: &'a AppState,
    db: &'a PgPool,
    pairing: PairingRow,
    kind: JobKind,
    started: DateTime<Utc>,
    errors: Vec<(Direction, SyncErrorEntry)>,
    /// CRM contacts linked to activities this run created, updated or linked (for the address book).
    touched_contacts: std::collections::BTreeSet<String>,
    /// Contacts of the activities the CRM listing returned, by activity id.
    listed_contacts: std::collections::HashMap<String, Vec<String>>,
    /// The transaction holding the pairing's advisory lock.
    lock: PairingLock,
}

type PairingLock = std::sync::Arc<tokio::sync::Mutex<sqlx::Transaction<'static, sqlx::Postgres>>>;

/// Counts of one direction for the pane.
#[derive(Default)]
struct DirCounts {
    counts: SyncCounts,
    conflicts: Vec<SyncConflict>,
}

impl<'a> Run<'a> {
    fn new(state: &'a AppState, pairing: PairingRow, kind: JobKind, lock: PairingLock) -> Self {
        Self {
            lock,
            state,
            db: &state.db,
            pairing,
            kind,
            started: Utc::now(),
            errors: Vec::new(),
            touched_contacts: Default::default(),
            listed_contacts: Default::default(),
        }
    }

    /// Whether this run still holds the pairing's lock. The lock lives on a connection of its own; when
    /// that connection dies (terminated, database restarted) the lock is gone while the run goes on with
    /// fresh connections, and another run may take the pairing. Checked before each CRM create, the one
    /// write that a concurrent run would repeat (both find no marker, both create): the chaos tests
    /// found such duplicates.
    async fn lock_held(&self) -> Result<(), String> {
        let mut lock = self.lock.lock().await;
        sqlx::query("SELECT 1")
            .execute(&mut **lock)
            .await
            .map(|_| ())
            .map_err(|e| format!("the pairing's lock was lost: {e}"))
    }

    /// `prefs` and `cursors` as read under the lock at the start of the run.
    async fn go(mut self, prefs: &Preferences, cursors: Cursors) -> Result<RunEnd, RunError> {
        if !prefs.auto_sync && cursors.manual_requested_at.is_none() {
            return Ok(RunEnd::Skipped);
        }
        let settings = settings_from(prefs);
        let now = self.started;
        let settings_hash = settings_hash(&settings);
        let mut cursors = cursors;
        if cursors.settings_hash.as_deref() != Some(settings_hash.as_str()) {
            // New rules: list both sides in full so entries the old settings skipped are seen again.
            cursors.delta_link = None;
            cursors.crm_watermark = None;
        }

        let crm = match crm_access::session(self.state, &self.pairing).await {
            Ok(s) => s,
            Err(NoSession::NotLoggedIn | NoSession::NoApiKey) => {
                return self
                    .stopped("Not logged in to the CRM: log in to resume syncing.")
                    .await;
            }
            Err(NoSession::Crm(e)) => return Err(e.into()),
            Err(NoSession::Database(e)) => return Err(e.into()),
        };
        let Some(mailbox) = self
            .state
            .graph
            .mailbox(self.db, &self.state.keyring, self.pairing.mailbox_id)
            .await?
        else {
            return self
                .stopped("Outlook access has ended: open the add-in in Outlook again.")
                .await;
        };

        let windows = Windows::compute(&settings, now);
        let window = windows.listing();
        let rows = load_rows(self.db, self.pairing.id).await?;
        let linked_outlook: HashSet<&str> = rows.iter().map(|r| r.outlook_id.0.as_str()).collect();

        let (outlook, delta_link) = self
            .list_outlook(&mailbox, &cursors, &window, &linked_outlook)
            .await?;
        let (crm_listing, watermark, scanned) =
            match self.list_crm(&crm, &cursors, &window, &rows, now).await {
                Ok(v) => v,
                Err(crmservice::Error::LoginRequired) => {
                    // The stored token ended and nothing is remembered to renew it.
                    store::delete_secret(
                        self.db,
                        self.pairing.mailbox_id,
                        store::SecretKind::CrmToken,
                    )
                    .await?;
                    return self
                        .stopped("The CRM session has ended: log in again to resume syncing.")
                        .await;
                }
                Err(e) => return Err(e.into()),
            };

        let outlook = self
            .recheck_missing_rows(&mailbox, outlook, &rows, cursors.updated_at, &window)
            .await?;
        let (outlook, crm_listing) = self
            .relink_lost_creates(
                &crm,
                &mailbox,
                outlook,
                crm_listing,
                &settings,
                cursors.updated_at,
                &rows,
            )
            .await?;

        let input = SyncInput {
            now,
            settings: settings.clone(),
            outlook,
            crm: crm_listing,
            rows,
            allow_mass_delete: false,
        };
        let plan = match sync_core::plan(&input) {
            Ok(p) => p,
            Err(PlanError::Guard(g)) => {
                // Nothing is deleted and the cursors stay where they were, so the same changes are seen
                // again once the cause is cleared.
                tracing::warn!(pairing_id = %self.pairing.id, guard = %g, "sync stopped by a safety guard");
                return self.stopped(&format!("Stopped for safety: {g}")).await;
            }
            Err(e) => return Err(RunError::Plan(e.to_string())),
        };
        let (o2c, c2o) = self.apply(&plan, &crm, &mailbox, &settings).await?;
        if !self.errors.is_empty() {
            // Some writes failed: keep the cursors where they were so the same changes are listed
            // again next run (applying them again is idempotent); a consumed delta would lose them.
            self.record_both(o2c, c2o).await?;
            return Ok(RunEnd::Done);
        }

        sqlx::query(
            "INSERT INTO sync_cursors (pairing_id, delta_link, delta_window_start, delta_window_end, crm_watermark, last_id_scan_at,
                                       settings_hash)
             VALUES ($1, $2, $3, $4, $5, $6, $8)
             ON CONFLICT (pairing_id) DO UPDATE SET delta_link = EXCLUDED.delta_link,
               delta_window_start = EXCLUDED.delta_window_start, delta_window_end = EXCLUDED.delta_window_end,
               crm_watermark = EXCLUDED.crm_watermark, settings_hash = EXCLUDED.settings_hash,
               last_id_scan_at = coalesce(EXCLUDED.last_id_scan_at, sync_cursors.last_id_scan_at),
               manual_requested_at = CASE WHEN sync_cursors.manual_requested_at <= $7 THEN NULL
                                          ELSE sync_cursors.manual_requested_at END,
               updated_at = now()",
        )
        .bind(self.pairing.id)
        .bind(&delta_link)
        .bind(window.start)
        .bind(window.end)
        .bind(watermark.map(|w| w.0.and_utc()))
        .bind(scanned.then_some(now))
        .bind(self.started)
        .bind(&settings_hash)
        .execute(self.db)
        .await?;
        if prefs.add_contacts_to_address_book
            && !self.touched_contacts.is_empty()
            && let Err(e) = self.address_book(&crm, &mailbox).await
        {
            tracing::warn!(pairing_id = %self.pairing.id, error = %e, "updating the address book failed");
            self.errors.push((
                Direction::CrmToOutlook,
                SyncErrorEntry {
                    subject: None,
                    message: format!("Address book: {e}"),
                    at: Utc::now(),
                },
            ));
        }
        self.record_both(o2c, c2o).await?;
        if let Err(e) = self
            .state
            .graph
            .persist_rotation(self.db, &self.state.keyring, self.pairing.mailbox_id)
            .await
        {
            tracing::warn!(error = %e, "could not store the rotated Graph refresh token");
        }
        let _ = self.kind;
        Ok(RunEnd::Done)
    }

    /// Records a run that could not proceed for a reason the user must fix.
    async fn stopped(&mut self, message: &str) -> Result<RunEnd, RunError> {
        let entry = SyncErrorEntry {
            subject: None,
            message: message.to_owned(),
            at: Utc::now(),
        };
        self.errors.push((Direction::OutlookToCrm, entry.clone()));
        self.errors.push((Direction::CrmToOutlook, entry));
        self.record_both(DirCounts::default(), DirCounts::default())
            .await?;
        Ok(RunEnd::Done)
    }

    // ----- listing -----

    async fn list_outlook(
        &self,
        mailbox: &MailboxClient,
        cursors: &Cursors,
        window: &Window,
        linked: &HashSet<&str>,
    ) -> Result<(OutlookListing, String), RunError> {
        let same_window = cursors.delta_window_start == Some(window.start)
            && cursors.delta_window_end == Some(window.end);
        if let (Some(link), true) = (&cursors.delta_link, same_window) {
            match mailbox
                .delta_round(&DeltaPosition::Link(link.clone()))
                .await
            {
                Ok(round) => {
                    let listing = self.changes_listing(mailbox, round.items, linked).await?;
                    return Ok((listing, round.delta_link));
                }
                Err(GraphError::ResyncRequired) => {
                    tracing::info!(pairing_id = %self.pairing.id, "delta state expired (410): full resync of the window");
                }
                Err(e) => return Err(e.into()),
            }
        }
        // A fresh round: its first pass lists everything, which calendarView gives with our marks.
        let calendar_id = self.pairing.calendar_id.clone();
        let round = mailbox
            .delta_round(&DeltaPosition::Start {
                calendar_id: calendar_id.clone(),
                start: window.start,
                end: window.end,
            })
            .await?;
        let events = mailbox
            .calendar_view(&calendar_id, window.start, window.end)
            .await?;
        let mut seen = HashSet::new();
        let items: Vec<OutlookItem> = events
            .iter()
            .filter_map(convert::outlook_item)
            .filter(|i| seen.insert(i.id.clone()))
            .collect();
        Ok((Listing::full(items), round.delta_link))
    }

    /// A delta round's changes: upserts are read again with our marks (delta never expands extended
    /// properties and gives occurrences partially); removals count only when a GET confirms them.
    async fn changes_listing(
        &self,
        mailbox: &MailboxClient,
        delta: Vec<DeltaItem>,
        linked: &HashSet<&str>,
    ) -> Result<OutlookListing, RunError> {
        let mut upserts = Vec::new();
        let mut removed = Vec::new();
        let mut seen = HashSet::new();
        for item in delta {
            match item {
                DeltaItem::Upsert(e) => {
                    if seen.insert(e.id.clone()) {
                        upserts.push(e.id.clone());
                    }
                }
                DeltaItem::Removed { id } => {
                    if linked.contains(id.as_str()) && seen.insert(id.clone()) {
                        removed.push(id);
                    }
                }
            }
        }
        let fetched: Vec<(String, Result<graph::Event, GraphError>)> =
            futures::stream::iter(upserts)
                .map(|id| async move {
                    let r = mailbox.get_event(&id).await;
                    (id, r)
                })
                .buffer_unordered(4)
                .collect()
                .await;
        let mut items = Vec::new();
        for (id, r) in fetched {
            match r {
                Ok(e) if e.is_cancelled == Some(true) => {
                    if linked.contains(id.as_str()) {
                        removed.push(id);
                    }
                }
                Ok(e) => items.extend(convert::outlook_item(&e)),
                Err(e) if e.is_not_found() => {
                    if linked.contains(id.as_str()) {
                        removed.push(id);
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
        let mut confirmed = Vec::new();
        for id in removed {
            if mailbox.confirm_deleted(&id).await? {
                confirmed.push(sync_core::OutlookId(id));
            }
        }
        Ok(Listing::changes(items).with_deleted(confirmed))
    }

    async fn list_crm(
        &mut self,
        crm: &Session,
        cursors: &Cursors,
        window: &Window,
        rows: &[StatusRow],
        now: DateTime<Utc>,
    ) -> Result<(CrmListing, Option<CrmTime>, bool), crmservice::Error> {
        let owner = Filter::eq("owner_id", self.pairing.crm_user_id.as_str());
        let tz = crm.client().config().time_zone;
        let since = cursors.crm_watermark.map(|t| CrmTime(t.naive_utc()));
        let full = since.is_none();
        let scope = if full {
            // The first listing covers the window only; later change listings cover all of the user's
            // activities so that one moved into or out of the window is seen.
            Filter::and([
                owner.clone(),
                Filter::between("start_date", crm.local(window.start), crm.local(window.end)),
            ])
        } else {
            owner.clone()
        };
        // Besides everything stamped since the watermark, whatever the CRM stamped (by its own clock)
        // since our last listing: a CRM clock that stepped back stamps changes before the watermark.
        let lookback = cursors.updated_at.map(|t| {
            (now - t)
                .to_std()
                .unwrap_or_default()
                .min(Duration::from_secs(30 * 86_400))
                + Duration::from_secs(120)
        });
        let changes = crm
            .collect_activity_changes_with_lookback(since, CRM_OVERLAP, lookback, Some(scope))
            .await?;
        self.listed_contacts = changes
            .activities
            .iter()
            .map(|a| (a.id.clone(), a.contacts.clone()))
            .collect();
        let items: Vec<CrmItem> = changes
            .activities
            .iter()
            .map(|a| convert::crm_item(a, tz))
            .collect();
        let listed: HashSet<&str> = items.iter().map(|i| i.id.0.as_str()).collect();

        // Deletions: a linked id missing from the id scan is deleted only if a GET answers 404.
        let scan_due = !full
            && cursors
                .last_id_scan_at
                .is_none_or(|t| now - t >= ID_SCAN_EVERY);
        let mut confirmed = Vec::new();
        if scan_due && !rows.is_empty() {
            let ids: HashSet<String> = crm
                .activity_ids(&ListQuery::new().filter(owner))
                .try_collect()
                .await?;
            for row in rows {
                let id = row.crm_id.0.as_str();
                if !ids.contains(id) && !listed.contains(id) && !crm.activity_exists(id).await? {
                    confirmed.push(row.crm_id.clone());
                }
            }
        }
        let listing = if full {
            Listing::full(items)
        } else {
            Listing::changes(items)
        };
        Ok((
            listing.with_deleted(confirmed),
            changes.watermark,
            scan_due || full,
        ))
    }

    /// Linked events whose deletion no listing would ever report, read by id: gone → a confirmed
    /// deletion; still there → listed.
    /// - Rows stored by a run that never stored its cursors (killed, or its database went away): a delta
    ///   round from the older cursor need not report their events (one created and deleted since that
    ///   cursor is not in it), so the deletion was never seen and the copy stayed.
    /// - In a full listing (first run, new window, 410), a linked event of the window that is missing:
    ///   a full listing alone never counts as a deletion, so one deleted just before a 410 stayed linked
    ///   to a copy forever.
    async fn recheck_missing_rows(
        &self,
        mailbox: &MailboxClient,
        mut outlook: OutlookListing,
        rows: &[StatusRow],
        cursors_saved: Option<DateTime<Utc>>,
        window: &Window,
    ) -> Result<OutlookListing, RunError> {
        let full = outlook.mode == sync_core::ListingMode::Full;
        let seen: HashSet<String> = outlook
            .items
            .iter()
            .map(|i| i.id.0.clone())
            .chain(outlook.confirmed_deleted.iter().map(|i| i.0.clone()))
            .collect();
        for row in rows {
            let unsaved = cursors_saved.is_none_or(|t| row.synced_at > t);
            let expected = full && window.contains(&row.outlook.content.when);
            if !(unsaved || expected) || seen.contains(&row.outlook_id.0) {
                continue;
            }
            match mailbox.get_event(&row.outlook_id.0).await {
                Ok(e) if e.is_cancelled != Some(true) => {
                    outlook.items.extend(convert::outlook_item(&e));
                }
                Ok(_) => outlook.confirmed_deleted.push(row.outlook_id.clone()),
                Err(e) if e.is_not_found() => {
                    outlook.confirmed_deleted.push(row.outlook_id.clone())
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(outlook)
    }

    /// CRM creates whose status row was lost (the process or the database went away between the CRM's
    /// answer and storing the row) are linked again through their intent, as the event's tag would have
    /// linked them. Without this, an edit made in between (so no exact match any more) made the event
    /// and its activity both look new, and each was copied again: a duplicate on both sides.
    /// - A listed, untagged event with such an intent gets its activity as link (the activity is read if
    ///   this run did not list it; an unanswered create is found by its marker).
    /// - A listed activity of such an intent whose event was not listed brings its event along; if the
    ///   event is gone, the activity is our copy of a deleted event: deleted when the settings let
    ///   deletions through, otherwise kept out of this plan (never copied back to Outlook).
    #[expect(
        clippy::too_many_arguments,
        reason = "both listings, both clients, the rows, settings and the last finished run's time"
    )]
    async fn relink_lost_creates(
        &mut self,
        crm: &Session,
        mailbox: &MailboxClient,
        mut outlook: OutlookListing,
        mut crm_listing: CrmListing,
        settings: &Settings,
        cursors_saved: Option<DateTime<Utc>>,
        rows: &[StatusRow],
    ) -> Result<(OutlookListing, CrmListing), RunError> {
        // `unsaved`: written by a run that did not store its cursors (an unanswered create of such a run
        // is looked up by its marker; older ones were settled by the run that saved the cursors).
        let intents: Vec<(String, String, Option<String>, bool)> = sqlx::query_as(
            "SELECT i.outlook_id, i.idempotency_key, i.crm_id,
                    i.created_at > coalesce($2, '-infinity'::timestamptz)
             FROM crm_create_intents i
             WHERE i.pairing_id = $1 AND NOT EXISTS (
               SELECT 1 FROM sync_rows r WHERE r.pairing_id = i.pairing_id
                 AND (r.outlook_id = i.outlook_id OR r.crm_id = i.crm_id))",
        )
        .bind(self.pairing.id)
        .bind(cursors_saved)
        .fetch_all(self.db)
        .await?;
        let tz = crm.client().config().time_zone;
        for (outlook_id, key, crm_id, unsaved) in intents {
            let listed = |l: &CrmListing, id: &str| l.items.iter().any(|c| c.id.0 == id);
            match outlook.items.iter().position(|i| i.id.0 == outlook_id) {
                Some(i) if outlook.items[i].crm_link.is_none() => {
                    let activity = match crm_id {
                        Some(id) if listed(&crm_listing, &id) => Some(id),
                        Some(id) => match crm.get_activity(&id).await {
                            Ok(a) => {
                                crm_listing.items.push(convert::crm_item(&a, tz));
                                Some(a.id)
                            }
                            Err(e) if e.is_gone() => None,
                            Err(e) => return Err(e.into()),
                        },
                        None => match crm.find_activity_by_marker(&key).await {
                            Ok(Some(a)) => {
                                if !listed(&crm_listing, &a.id) {
                                    crm_listing.items.push(convert::crm_item(&a, tz));
                                }
                                Some(a.id)
                            }
                            Ok(None) | Err(crmservice::Error::Unsupported(_)) => None,
                            Err(e) => return Err(e.into()),
                        },
                    };
                    if let Some(id) = activity {
                        tracing::info!(pairing_id = %self.pairing.id, crm_id = %id, "relinking a create whose status row was lost");
                        outlook.items[i].crm_link = Some(sync_core::CrmId(id));
                    }
                }
                None => {
                    let id = match crm_id {
                        Some(id) if listed(&crm_listing, &id) => id,
                        None if unsaved => match crm.find_activity_by_marker(&key).await {
                            Ok(Some(a)) => {
                                if !listed(&crm_listing, &a.id) {
                                    crm_listing.items.push(convert::crm_item(&a, tz));
                                }
                                a.id
                            }
                            Ok(None) | Err(crmservice::Error::Unsupported(_)) => continue,
                            Err(e) => return Err(e.into()),
                        },
                        _ => continue,
                    };
                    let event = match mailbox.get_event(&outlook_id).await {
                        Ok(e) if e.is_cancelled != Some(true) => convert::outlook_item(&e),
                        Ok(_) => None,
                        Err(e) if e.is_not_found() => None,
                        Err(e) => return Err(e.into()),
                    };
                    if let Some(mut item) = event {
                        item.crm_link.get_or_insert(sync_core::CrmId(id));
                        outlook.items.push(item);
                        continue;
                    }
                    let activity_type = crm_listing
                        .items
                        .iter()
                        .find(|c| c.id.0 == id)
                        .and_then(|c| c.content.activity_type.clone());
                    crm_listing.items.retain(|c| c.id.0 != id);
                    if settings
                        .outlook_to_crm
                        .edit_delete_types
                        .contains(activity_type.as_deref())
                    {
                        match crm.delete_activity(&id).await {
                            Ok(()) => {}
                            Err(e) if e.is_gone() => {}
                            Err(e) => return Err(e.into()),
                        }
                        // Settled: the event is gone and so is its copy.
                        sqlx::query(
                            "DELETE FROM crm_create_intents WHERE pairing_id = $1 AND idempotency_key = $2",
                        )
                        .bind(self.pairing.id)
                        .bind(&key)
                        .execute(self.db)
                        .await?;
                    }
                }
                _ => {}
            }
        }
        // Copies made in Outlook by a run that did not finish (no row), whose activity was deleted
        // before the next run: the event names an activity nobody lists and no row links. Confirmed gone
        // (404), the event is our copy of a deleted activity: deleted when the settings let deletions
        // through, otherwise kept out of this plan (never copied to the CRM as new). Only events
        // changed since the last finished run (or, before one, since pairing) qualify, so old marks
        // (another pairing's) are left alone.
        let since = cursors_saved.unwrap_or(self.pairing.created_at);
        let linked_c: HashSet<&str> = rows.iter().map(|r| r.crm_id.0.as_str()).collect();
        let linked_o: HashSet<&str> = rows.iter().map(|r| r.outlook_id.0.as_str()).collect();
        let mut orphans = Vec::new();
        for item in &outlook.items {
            let Some(link) = &item.crm_link else { continue };
            if item.modified <= since
                || linked_o.contains(item.id.0.as_str())
                || linked_c.contains(link.0.as_str())
                || crm_listing.items.iter().any(|c| c.id == *link)
            {
                continue;
            }
            if !crm.activity_exists(&link.0).await? {
                orphans.push((item.id.clone(), item.content.activity_type.clone()));
            }
        }
        for (id, activity_type) in orphans {
            outlook.items.retain(|i| i.id != id);
            if settings
                .crm_to_outlook
                .edit_delete_types
                .contains(activity_type.as_deref())
            {
                match mailbox.delete_event(&id.0, None).await {
                    Ok(()) => {}
                    Err(e) if e.is_not_found() => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        Ok((outlook, crm_listing))
    }

    // ----- applying -----

    async fn apply(
        &mut self,
        plan: &Plan,
        crm: &Session,
        mailbox: &MailboxClient,
        settings: &Settings,
    ) -> Result<(DirCounts, DirCounts), RunError> {
        let mut o2c = DirCounts::default();
        let mut c2o = DirCounts::default();
        let total_writes = plan.steps.iter().filter(|s| !s.writes.is_empty()).count();
        let mut progress_row = None;
        if total_writes > 0 {
            // A run with work shows live progress in the pane.
            progress_row = Some(
                sqlx::query_scalar::<_, i64>(
                    "INSERT INTO sync_runs (pairing_id, direction, progress_total) VALUES ($1, 'progress', $2) RETURNING id",
                )
                .bind(self.pairing.id)
                .bind(total_writes as i32)
                .fetch_one(self.db)
                .await?,
            );
        }
        let mut batched = self.create_events_in_batches(plan, mailbox).await;
        batched.extend(
            self.create_activities_and_tag_in_batches(plan, crm, mailbox)
                .await,
        );
        let mut done = 0;
        for (index, step) in plan.steps.iter().enumerate() {
            let outcomes = if let Some(outcomes) = batched.remove(&index) {
                outcomes
            } else if step.writes.is_empty() {
                Vec::new()
            } else {
                self.perform(step, crm, mailbox, settings).await
            };
            let change = step
                .fold(&outcomes)
                .map_err(|e| RunError::Plan(e.to_string()))?;
            if let RowChange::Upsert { row, .. } = &change
                && step.kind != StepKind::Skip
                && let Some(contacts) = self.listed_contacts.get(&row.crm_id.0)
            {
                self.touched_contacts.extend(contacts.iter().cloned());
            }
            let failed =
                outcomes.len() < step.writes.len() || outcomes.contains(&WriteOutcome::Failed);
            self.store_step(step, &change, failed).await?;
            count(
                step,
                &outcomes,
                failed,
                &mut o2c,
                &mut c2o,
                &self.state.metrics,
            );
            if !step.writes.is_empty() {
                done += 1;
                if let Some(id) = progress_row.filter(|_| done % 10 == 0) {
                    sqlx::query("UPDATE sync_runs SET progress_done = $2 WHERE id = $1")
                        .bind(id)
                        .bind(done)
                        .execute(self.db)
                        .await?;
                }
            }
        }
        if let Some(id) = progress_row {
            sqlx::query("DELETE FROM sync_runs WHERE id = $1")
                .bind(id)
                .execute(self.db)
                .await?;
        }
        Ok((o2c, c2o))
    }

    /// Creates the events of every step that only creates one (new CRM activities copied to the
    /// calendar) through `$batch`, 20 to a request; returns each such step's outcome by step index.
    /// The creates carry their deterministic `transactionId`, so a batch repeated after a lost answer
    /// does not duplicate anything.
    async fn create_events_in_batches(
        &mut self,
        plan: &Plan,
        mailbox: &MailboxClient,
    ) -> std::collections::HashMap<usize, Vec<WriteOutcome>> {
        let mut out = std::collections::HashMap::new();
        let creates: Vec<usize> = plan
            .steps
            .iter()
            .enumerate()
            .filter(|(_, s)| {
                s.writes.len() == 1 && matches!(s.writes[0], Write::CreateOutlook { .. })
            })
            .map(|(i, _)| i)
            .collect();
        // A single create is no cheaper batched.
        if creates.len() < 2 {
            return out;
        }
        let url = format!("/me/calendars/{}/events", self.pairing.calendar_id);
        for chunk in creates.chunks(graph::MAX_BATCH) {
            let requests: Vec<graph::BatchRequest> = chunk
                .iter()
                .filter_map(|&i| match &plan.steps[i].writes[0] {
                    Write::CreateOutlook {
                        content,
                        crm_link,
                        transaction_id,
                        ..
                    } => {
                        let mut event = convert::event_write(content, &crm_link.0);
                        event.transaction_id = Some(transaction_id.clone());
                        let body = serde_json::to_value(&event).ok()?;
                        Some(
                            graph::BatchRequest::new(i.to_string(), "POST", url.clone()).json(body),
                        )
                    }
                    _ => None,
                })
                .collect();
            match mailbox.batch(requests).await {
                Ok(responses) => {
                    for r in responses {
                        let Ok(i) = r.id.parse::<usize>() else {
                            continue;
                        };
                        let created = r
                            .is_success()
                            .then(|| {
                                r.body.as_ref().and_then(|b| {
                                    serde_json::from_value::<graph::Event>(b.clone()).ok()
                                })
                            })
                            .flatten();
                        let outcome = match created {
                            Some(e) => WriteOutcome::Created {
                                id: e.id,
                                version: e.change_key,
                            },
                            None => {
                                let message = format!(
                                    "creating the event failed ({}): {}",
                                    r.status,
                                    r.body
                                        .as_ref()
                                        .map(|b| b["error"]["message"].to_string())
                                        .unwrap_or_default()
                                );
                                self.errors.push((
                                    Direction::CrmToOutlook,
                                    SyncErrorEntry {
                                        subject: step_subject(&plan.steps[i]),
                                        message,
                                        at: Utc::now(),
                                    },
                                ));
                                WriteOutcome::Failed
                            }
                        };
                        out.insert(i, vec![outcome]);
                    }
                }
                Err(e) => {
                    for &i in chunk {
                        self.errors.push((
                            Direction::CrmToOutlook,
                            SyncErrorEntry {
                                subject: step_subject(&plan.steps[i]),
                                message: e.to_string(),
                                at: Utc::now(),
                            },
                        ));
                        out.insert(i, vec![WriteOutcome::Failed]);
                    }
                }
            }
        }
        out
    }

    /// Steps that copy an Outlook event to the CRM: the activities are created one by one (the CRM has
    /// no batch API), then the events are tagged with their new activity id through `$batch`, 20 to a
    /// request (each PATCH carries `If-Match`, so a stale event fails alone and is retried next run).
    async fn create_activities_and_tag_in_batches(
        &mut self,
        plan: &Plan,
        crm: &Session,
        mailbox: &MailboxClient,
    ) -> std::collections::HashMap<usize, Vec<WriteOutcome>> {
        let mut out = std::collections::HashMap::new();
        let steps: Vec<usize> = plan
            .steps
            .iter()
            .enumerate()
            .filter(|(_, s)| {
                matches!(
                    s.writes.as_slice(),
                    [
                        Write::CreateCrm { .. },
                        Write::UpdateOutlook {
                            if_version: Some(_),
                            crm_link: Some(CrmLink::CreatedInThisStep),
                            ..
                        }
                    ]
                )
            })
            .map(|(i, _)| i)
            .collect();
        if steps.len() < 2 {
            return out;
        }
        let tz = crm.client().config().time_zone;
        let mut tags: Vec<(usize, graph::BatchRequest)> = Vec::new();
        for &i in &steps {
            let step = &plan.steps[i];
            let mut synced_type = None;
            let created = match self
                .write(&step.writes[0], crm, mailbox, tz, &None, &mut synced_type)
                .await
            {
                Ok(o) => o,
                Err(message) => {
                    self.errors.push((
                        Direction::OutlookToCrm,
                        SyncErrorEntry {
                            subject: step_subject(step),
                            message,
                            at: Utc::now(),
                        },
                    ));
                    out.insert(i, vec![WriteOutcome::Failed]);
                    continue;
                }
            };
            let WriteOutcome::Created {
                id: activity_id, ..
            } = &created
            else {
                out.insert(i, vec![created]);
                continue;
            };
            if let Write::UpdateOutlook {
                id,
                if_version: Some(v),
                patch,
                ..
            } = &step.writes[1]
            {
                let body = convert::event_patch(patch, Some(activity_id), synced_type.as_deref());
                if let Ok(body) = serde_json::to_value(&body) {
                    tags.push((
                        i,
                        graph::BatchRequest::new(
                            i.to_string(),
                            "PATCH",
                            format!("/me/events/{}", id.0),
                        )
                        .json(body)
                        .header("If-Match", &format!("W/\"{v}\"")),
                    ));
                }
            }
            out.insert(i, vec![created]);
        }
        for chunk in tags.chunks(graph::MAX_BATCH) {
            let requests: Vec<graph::BatchRequest> = chunk.iter().map(|(_, r)| r.clone()).collect();
            let responses = match mailbox.batch(requests).await {
                Ok(r) => r,
                Err(e) => {
                    // Leave these steps to be tagged one by one below... they already created their
                    // activity, so record the tag as failed: the next run tags (or adopts) them.
                    for (i, _) in chunk {
                        self.errors.push((
                            Direction::OutlookToCrm,
                            SyncErrorEntry {
                                subject: step_subject(&plan.steps[*i]),
                                message: e.to_string(),
                                at: Utc::now(),
                            },
                        ));
                        if let Some(o) = out.get_mut(i) {
                            o.push(WriteOutcome::Failed);
                        }
                    }
                    continue;
                }
            };
            for r in responses {
                let Ok(i) = r.id.parse::<usize>() else {
                    continue;
                };
                let outcome = if r.is_success() {
                    let version = r
                        .body
                        .as_ref()
                        .and_then(|b| b["changeKey"].as_str())
                        .map(str::to_owned);
                    WriteOutcome::Updated { version }
                } else if r.status == 404 {
                    WriteOutcome::NotFound
                } else {
                    self.errors.push((
                        Direction::OutlookToCrm,
                        SyncErrorEntry {
                            subject: step_subject(&plan.steps[i]),
                            message: format!(
                                "tagging the event failed ({}); retrying next run",
                                r.status
                            ),
                            at: Utc::now(),
                        },
                    ));
                    WriteOutcome::Failed
                };
                if let Some(o) = out.get_mut(&i) {
                    o.push(outcome);
                }
            }
        }
        // A tag Graph never answered counts as failed, so the cursors stay and the next run retries.
        for (&i, o) in &out {
            if o.len() == 1 && matches!(o[0], WriteOutcome::Created { .. }) {
                self.errors.push((
                    Direction::OutlookToCrm,
                    SyncErrorEntry {
                        subject: step_subject(&plan.steps[i]),
                        message: "tagging the event got no answer; retrying next run".into(),
                        at: Utc::now(),
                    },
                ));
            }
        }
        out
    }

    /// Performs a step's writes in order, stopping at the first failure (the row then stays as it was,
    /// so the step is planned again next run).
    async fn perform(
        &mut self,
        step: &Step,
        crm: &Session,
        mailbox: &MailboxClient,
        _settings: &Settings,
    ) -> Vec<WriteOutcome> {
        let tz = crm.client().config().time_zone;
        let mut outcomes = Vec::new();
        let mut created_crm: Option<String> = None;
        let mut synced_type: Option<String> = None;
        for write in &step.writes {
            let result = self
                .write(write, crm, mailbox, tz, &created_crm, &mut synced_type)
                .await;
            let outcome = match result {
                Ok(o) => o,
                Err(message) => {
                    let direction = match write.target() {
                        Side::Crm => Direction::OutlookToCrm,
                        Side::Outlook => Direction::CrmToOutlook,
                    };
                    let subject = step_subject(step);
                    tracing::warn!(pairing_id = %self.pairing.id, %message, "sync write failed");
                    self.errors.push((
                        direction,
                        SyncErrorEntry {
                            subject,
                            message,
                            at: Utc::now(),
                        },
                    ));
                    WriteOutcome::Failed
                }
            };
            if let (Write::CreateCrm { .. }, WriteOutcome::Created { id, .. }) = (write, &outcome) {
                created_crm = Some(id.clone());
            }
            let stop = outcome == WriteOutcome::Failed;
            outcomes.push(outcome);
            if stop {
                break;
            }
        }
        outcomes
    }

    async fn write(
        &mut self,
        write: &Write,
        crm: &Session,
        mailbox: &MailboxClient,
        tz: chrono_tz::Tz,
        created_crm: &Option<String>,
        synced_type: &mut Option<String>,
    ) -> Result<WriteOutcome, String> {
        match write {
            Write::CreateCrm {
                source,
                content,
                idempotency_key,
            } => {
                // The intent is on record before the POST; a retry finds the activity by its marker.
                sqlx::query(
                    "INSERT INTO crm_create_intents (pairing_id, idempotency_key, outlook_id) VALUES ($1, $2, $3)
                     ON CONFLICT DO NOTHING",
                )
                .bind(self.pairing.id)
                .bind(idempotency_key)
                .bind(&source.0)
                .execute(self.db)
                .await
                .map_err(|e| e.to_string())?;
                *synced_type = content.activity_type.clone();
                let mut new = convert::new_activity(content, tz);
                // Status and relations the user chose in the item pane before the first sync.
                let choice: Option<(Option<String>, Value)> = sqlx::query_as(
                    "SELECT status, relations FROM item_choices WHERE pairing_id = $1 AND outlook_id = $2",
                )
                .bind(self.pairing.id)
                .bind(&source.0)
                .fetch_optional(self.db)
                .await
                .map_err(|e| e.to_string())?;
                if let Some((status, relations)) = choice {
                    let r: api_types::relations::Relations =
                        serde_json::from_value(relations).unwrap_or_default();
                    new.status = status.or(new.status);
                    new.accounts = r.accounts.into_iter().map(|x| x.id).collect();
                    new.contacts = r.contacts.into_iter().map(|x| x.id).collect();
                    new.project_id = r.projects.into_iter().next().map(|x| x.id);
                }
                self.lock_held().await?;
                let (activity, _) = crm
                    .create_activity_once(&new, idempotency_key)
                    .await
                    .map_err(|e| e.to_string())?;
                self.touched_contacts.extend(new.contacts.iter().cloned());
                sqlx::query("UPDATE crm_create_intents SET crm_id = $3 WHERE pairing_id = $1 AND idempotency_key = $2")
                    .bind(self.pairing.id)
                    .bind(idempotency_key)
                    .bind(&activity.id)
                    .execute(self.db)
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(WriteOutcome::Created {
                    id: activity.id.clone(),
                    version: Some(convert::crm_version(&activity)),
                })
            }
            Write::CreateOutlook {
                content,
                crm_link,
                transaction_id,
                ..
            } => {
                let event = convert::event_write(content, &crm_link.0);
                let created = mailbox
                    .create_event(&self.pairing.calendar_id, &event, transaction_id)
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(WriteOutcome::Created {
                    id: created.id,
                    version: created.change_key,
                })
            }
            Write::UpdateCrm { id, patch } => {
                match crm
                    .update_activity(&id.0, &convert::activity_patch(patch, tz))
                    .await
                {
                    Ok(a) => {
                        self.touched_contacts.extend(a.contacts.iter().cloned());
                        Ok(WriteOutcome::Updated {
                            version: Some(convert::crm_version(&a)),
                        })
                    }
                    Err(e) if e.is_gone() => Ok(WriteOutcome::NotFound),
                    Err(e) => Err(e.to_string()),
                }
            }
            Write::UpdateOutlook {
                id,
                if_version,
                patch,
                crm_link,
            } => {
                let link = match crm_link {
                    Some(CrmLink::Id(c)) => Some(c.0.clone()),
                    Some(CrmLink::CreatedInThisStep) => created_crm.clone(),
                    None => None,
                };
                let change_key = match if_version {
                    Some(v) => v.clone(),
                    None => match mailbox.get_event(&id.0).await {
                        Ok(e) => e.change_key.unwrap_or_default(),
                        Err(e) if e.is_not_found() => return Ok(WriteOutcome::NotFound),
                        Err(e) => return Err(e.to_string()),
                    },
                };
                let w = convert::event_patch(patch, link.as_deref(), synced_type.as_deref());
                match mailbox.update_event(&id.0, &change_key, &w).await {
                    Ok(e) => Ok(WriteOutcome::Updated {
                        version: e.change_key,
                    }),
                    Err(e) if e.is_not_found() => Ok(WriteOutcome::NotFound),
                    // Changed meanwhile: the next run reads the new version and merges.
                    Err(GraphError::Conflict { .. }) => {
                        Err("the event changed while it was being synced; retrying next run".into())
                    }
                    Err(e) => Err(e.to_string()),
                }
            }
            Write::DeleteCrm { id } => match crm.delete_activity(&id.0).await {
                Ok(()) => Ok(WriteOutcome::Deleted),
                Err(e) if e.is_gone() => Ok(WriteOutcome::NotFound),
                Err(e) => Err(e.to_string()),
            },
            Write::DeleteOutlook { id, if_version } => {
                match mailbox.delete_event(&id.0, if_version.as_deref()).await {
                    Ok(()) => Ok(WriteOutcome::Deleted),
                    Err(e) if e.is_not_found() => Ok(WriteOutcome::NotFound),
                    Err(GraphError::Conflict { .. }) => Err(
                        "the event changed before it could be deleted; retrying next run".into(),
                    ),
                    Err(e) => Err(e.to_string()),
                }
            }
        }
    }

    /// "Lisää liitetyt CRM kontaktit Outlookin osoitekirjaan": upserts the touched contacts into the
    /// mailbox's "CRM" contact folder (tagged with the CRM contact id; no other folder is touched),
    /// skipping contacts whose content is unchanged since they were last written.
    async fn address_book(&mut self, crm: &Session, mailbox: &MailboxClient) -> Result<(), String> {
        use sha2::{Digest, Sha256};
        let mut folder: Option<String> = None;
        let ids: Vec<String> = std::mem::take(&mut self.touched_contacts)
            .into_iter()
            .collect();
        for id in ids.iter().take(200) {
            let contact = match crm.get_contact(id).await {
                Ok(c) => c,
                Err(e) if e.is_gone() => continue,
                Err(e) => return Err(e.to_string()),
            };
            let write = graph::ContactWrite {
                given_name: contact.first_name.clone(),
                surname: Some(contact.last_name.clone()),
                display_name: Some(contact.full_name()),
                job_title: contact.title.clone(),
                email_addresses: contact.email.clone().map(|e| {
                    vec![graph::EmailAddress {
                        name: Some(contact.full_name()),
                        address: Some(e),
                    }]
                }),
                business_phones: contact.phone.clone().map(|p| vec![p]),
                mobile_phone: contact.mobile.clone(),
                ..Default::default()
            };
            let hash: String = Sha256::digest(serde_json::to_vec(&write).unwrap_or_default())
                .iter()
                .take(12)
                .map(|b| format!("{b:02x}"))
                .collect();
            let stored: Option<String> = sqlx::query_scalar(
                "SELECT content_hash FROM address_book WHERE pairing_id = $1 AND crm_contact_id = $2",
            )
            .bind(self.pairing.id)
            .bind(id)
            .fetch_optional(self.db)
            .await
            .map_err(|e| e.to_string())?;
            if stored.as_deref() == Some(hash.as_str()) {
                continue;
            }
            let folder_id = match &folder {
                Some(f) => f.clone(),
                None => {
                    let f = mailbox
                        .ensure_contact_folder("CRM")
                        .await
                        .map_err(|e| e.to_string())?;
                    folder = Some(f.clone());
                    f
                }
            };
            mailbox
                .upsert_contact(&folder_id, id, &write)
                .await
                .map_err(|e| e.to_string())?;
            sqlx::query(
                "INSERT INTO address_book (pairing_id, crm_contact_id, content_hash) VALUES ($1, $2, $3)
                 ON CONFLICT (pairing_id, crm_contact_id) DO UPDATE SET content_hash = EXCLUDED.content_hash, updated_at = now()",
            )
            .bind(self.pairing.id)
            .bind(id)
            .bind(&hash)
            .execute(self.db)
            .await
            .map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    /// Stores a step's row change and the item's state for the pane, in one transaction.
    async fn store_step(
        &self,
        step: &Step,
        change: &RowChange,
        failed: bool,
    ) -> Result<(), sqlx::Error> {
        let mut tx = self.db.begin().await?;
        let mut outlook_id = step.outlook_id.as_ref().map(|o| o.0.clone());
        let mut crm_id = step.crm_id.as_ref().map(|c| c.0.clone());
        match change {
            RowChange::Keep => {}
            RowChange::Upsert { replaces, row } => {
                if let Some(old) = replaces {
                    sqlx::query("DELETE FROM sync_rows WHERE pairing_id = $1 AND crm_id = $2 AND outlook_id = $3")
                        .bind(self.pairing.id)
                        .bind(&old.crm_id.0)
                        .bind(&old.outlook_id.0)
                        .execute(&mut *tx)
                        .await?;
                }
                // A row for either id that is not this pair is stale (replaced by this one).
                sqlx::query(
                    "DELETE FROM sync_rows WHERE pairing_id = $1 AND (crm_id = $2 OR outlook_id = $3)
                     AND NOT (crm_id = $2 AND outlook_id = $3)",
                )
                .bind(self.pairing.id)
                .bind(&row.crm_id.0)
                .bind(&row.outlook_id.0)
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "INSERT INTO sync_rows (pairing_id, crm_id, outlook_id, row) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (pairing_id, crm_id) DO UPDATE SET outlook_id = EXCLUDED.outlook_id, row = EXCLUDED.row, updated_at = now()",
                )
                .bind(self.pairing.id)
                .bind(&row.crm_id.0)
                .bind(&row.outlook_id.0)
                .bind(serde_json::to_value(row).map_err(|e| sqlx::Error::Protocol(e.to_string()))?)
                .execute(&mut *tx)
                .await?;
                outlook_id = Some(row.outlook_id.0.clone());
                crm_id = Some(row.crm_id.0.clone());
            }
            RowChange::Remove { key } => {
                sqlx::query("DELETE FROM sync_rows WHERE pairing_id = $1 AND crm_id = $2 AND outlook_id = $3")
                    .bind(self.pairing.id)
                    .bind(&key.crm_id.0)
                    .bind(&key.outlook_id.0)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        if let Some(oid) = outlook_id.filter(|_| step.kind != StepKind::Refresh || failed) {
            let state = if failed {
                "error"
            } else if !step.conflicts.is_empty() {
                "conflict"
            } else if step.kind == StepKind::Skip || !step.reasons.is_empty() {
                "excluded"
            } else if matches!(change, RowChange::Remove { .. }) {
                "unlinked"
            } else {
                "synced"
            };
            sqlx::query(
                "INSERT INTO sync_item_states (pairing_id, outlook_id, crm_id, state, reasons, conflicts) VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (pairing_id, outlook_id) DO UPDATE SET crm_id = EXCLUDED.crm_id, state = EXCLUDED.state,
                   reasons = EXCLUDED.reasons, conflicts = EXCLUDED.conflicts, updated_at = now()",
            )
            .bind(self.pairing.id)
            .bind(oid)
            .bind(crm_id)
            .bind(state)
            .bind(serde_json::to_value(&step.reasons).unwrap_or(Value::Null))
            .bind(serde_json::to_value(&step.conflicts).unwrap_or(Value::Null))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await
    }

    /// Records both directions' results. A quiet direction (nothing done, no error) refreshes its
    /// previous record if that was quiet too, both directions in one statement, so an idle pairing costs
    /// one statement a cycle; any other result gets a new record.
    async fn record_both(&mut self, o2c: DirCounts, c2o: DirCounts) -> Result<(), sqlx::Error> {
        let quiet_o2c = self.quiet(Direction::OutlookToCrm, &o2c);
        let quiet_c2o = self.quiet(Direction::CrmToOutlook, &c2o);
        let mut refreshed: Vec<String> = Vec::new();
        if quiet_o2c || quiet_c2o {
            refreshed = sqlx::query_scalar(
                "UPDATE sync_runs SET started_at = $2, finished_at = now()
                 WHERE id IN ((SELECT id FROM sync_runs WHERE $3 AND pairing_id = $1 AND direction = 'outlook_to_crm'
                               ORDER BY id DESC LIMIT 1),
                              (SELECT id FROM sync_runs WHERE $4 AND pairing_id = $1 AND direction = 'crm_to_outlook'
                               ORDER BY id DESC LIMIT 1))
                   AND outcome = 'ok' AND (counts->>'quiet')::boolean
                 RETURNING direction",
            )
            .bind(self.pairing.id)
            .bind(self.started)
            .bind(quiet_o2c)
            .bind(quiet_c2o)
            .fetch_all(self.db)
            .await?;
        }
        for (direction, c) in [
            (Direction::OutlookToCrm, o2c),
            (Direction::CrmToOutlook, c2o),
        ] {
            if !refreshed.iter().any(|d| d == direction_name(direction)) {
                self.record(direction, c).await?;
            }
        }
        Ok(())
    }

    fn quiet(&self, direction: Direction, c: &DirCounts) -> bool {
        c.counts == SyncCounts::default() && !self.errors.iter().any(|(d, _)| *d == direction)
    }

    /// Adds a record of one direction's result.
    async fn record(&mut self, direction: Direction, c: DirCounts) -> Result<(), sqlx::Error> {
        let name = direction_name(direction);
        let errors: Vec<SyncErrorEntry> = self
            .errors
            .iter()
            .filter(|(d, _)| *d == direction)
            .map(|(_, e)| e.clone())
            .take(50)
            .collect();
        let counts = c.counts;
        let quiet = counts == SyncCounts::default() && errors.is_empty();
        let outcome = if errors.is_empty() {
            "ok"
        } else if counts.created + counts.updated + counts.deleted > 0 {
            "partial"
        } else {
            "failed"
        };
        let mut counts_json = serde_json::to_value(counts).unwrap_or(json!({}));
        counts_json["quiet"] = json!(quiet);
        counts_json["conflict_list"] = serde_json::to_value(&c.conflicts).unwrap_or(Value::Null);
        sqlx::query(
            "INSERT INTO sync_runs (pairing_id, direction, started_at, finished_at, outcome, counts, errors)
             VALUES ($1, $2, $3, now(), $4, $5, $6)",
        )
        .bind(self.pairing.id)
        .bind(name)
        .bind(self.started)
        .bind(outcome)
        .bind(counts_json)
        .bind(serde_json::to_value(&errors).unwrap_or(Value::Null))
        .execute(self.db)
        .await?;
        self.state
            .metrics
            .sync_runs
            .get_or_create(&SyncLabels {
                direction: name.into(),
                action: outcome.into(),
            })
            .inc();
        Ok(())
    }
}

fn direction_name(direction: Direction) -> &'static str {
    match direction {
        Direction::OutlookToCrm => "outlook_to_crm",
        Direction::CrmToOutlook => "crm_to_outlook",
    }
}

/// A fingerprint of the settings that decide what is listed and created.
fn settings_hash(settings: &Settings) -> String {
    use sha2::{Digest, Sha256};
    let json = serde_json::to_vec(settings).unwrap_or_default();
    Sha256::digest(&json)
        .iter()
        .take(12)
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn step_subject(step: &Step) -> Option<String> {
    step.writes.iter().find_map(|w| match w {
        Write::CreateCrm { content, .. } | Write::CreateOutlook { content, .. } => {
            Some(content.subject.clone())
        }
        Write::UpdateCrm { patch, .. } | Write::UpdateOutlook { patch, .. } => {
            patch.subject.clone()
        }
        _ => None,
    })
}

fn count(
    step: &Step,
    outcomes: &[WriteOutcome],
    failed: bool,
    o2c: &mut DirCounts,
    c2o: &mut DirCounts,
    metrics: &crate::metrics::Metrics,
) {
    for (write, outcome) in step.writes.iter().zip(outcomes) {
        let (dir, name) = match write.target() {
            Side::Crm => (&mut *o2c, "outlook_to_crm"),
            Side::Outlook => (&mut *c2o, "crm_to_outlook"),
        };
        let action = match (write, outcome) {
            (_, WriteOutcome::Failed) => {
                dir.counts.errors += 1;
                "error"
            }
            (Write::CreateCrm { .. } | Write::CreateOutlook { .. }, _) => {
                dir.counts.created += 1;
                "create"
            }
            (Write::DeleteCrm { .. } | Write::DeleteOutlook { .. }, _) => {
                dir.counts.deleted += 1;
                "delete"
            }
            // Tagging an event with the activity it was copied to is part of the create, not an edit.
            (Write::UpdateOutlook { patch, .. }, _) if patch.is_empty() => "tag",
            _ => {
                dir.counts.updated += 1;
                "update"
            }
        };
        metrics
            .sync_actions
            .get_or_create(&SyncLabels {
                direction: name.into(),
                action: action.into(),
            })
            .inc();
    }
    if failed && outcomes.is_empty() {
        o2c.counts.errors += 1;
    }
    if step.kind == StepKind::Skip {
        let dir = step
            .reasons
            .iter()
            .find_map(|r| match r {
                sync_core::SkipReason::CreateNotAllowed { direction, .. }
                | sync_core::SkipReason::EditNotAllowed { direction, .. }
                | sync_core::SkipReason::DeleteNotAllowed { direction, .. }
                | sync_core::SkipReason::OutsideWindow { direction } => Some(*direction),
                _ => None,
            })
            .unwrap_or(if step.outlook_id.is_some() {
                Direction::OutlookToCrm
            } else {
                Direction::CrmToOutlook
            });
        match dir {
            Direction::OutlookToCrm => o2c.counts.skipped += 1,
            Direction::CrmToOutlook => c2o.counts.skipped += 1,
        }
    }
    for conflict in &step.conflicts {
        let resolution = match conflict {
            Conflict::Field { field, winner, .. } => {
                format!("{field:?}: {winner:?} kept (the later change)")
            }
            Conflict::EditBeatDelete { deleted } => {
                format!("edited entry kept although deleted in {deleted:?}")
            }
        };
        let subject = step_subject(step).unwrap_or_default();
        o2c.counts.conflicts += 1;
        o2c.conflicts.push(SyncConflict {
            subject,
            resolution,
            at: Utc::now(),
        });
    }
}

async fn load_rows(db: &PgPool, pairing_id: Uuid) -> Result<Vec<StatusRow>, RunError> {
    let raw: Vec<Value> = sqlx::query_scalar("SELECT row FROM sync_rows WHERE pairing_id = $1")
        .bind(pairing_id)
        .fetch_all(db)
        .await?;
    raw.into_iter()
        .map(|v| {
            serde_json::from_value(v)
                .map_err(|e| RunError::Plan(format!("stored status row unreadable: {e}")))
        })
        .collect()
}
