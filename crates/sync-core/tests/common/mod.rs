//! A small in-memory model of both systems and of the runner, for the decision-table and property tests.
//!
//! The runner model behaves like the real one is specified to: it lists both sides over the listing
//! window, confirms deletions by "GET" (an id is confirmed deleted only when it is really gone from the
//! store), applies each step's writes in order (stopping at the first failure), honours idempotency
//! keys like Graph's `transactionId` and the CRM create-intent lookup, and stores `Step::fold` results.

#![allow(
    dead_code,
    reason = "each test binary uses a different part of the model"
)]

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, TimeZone, Utc};
use sync_core::{
    Content, CrmId, CrmItem, CrmLink, Listing, OutlookId, OutlookItem, Plan, PlanError, RowChange,
    Settings, StatusRow, Step, SyncInput, Windows, Write, WriteOutcome, plan,
};

/// What the fault injector does to one write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    None,
    /// The request fails before reaching the server.
    FailBefore,
    /// The server commits, the answer is lost (the worker dies, the connection drops).
    CommitThenDrop,
}

pub struct World {
    pub settings: Settings,
    pub now: DateTime<Utc>,
    pub outlook: BTreeMap<OutlookId, OutlookItem>,
    pub crm: BTreeMap<CrmId, CrmItem>,
    pub rows: Vec<StatusRow>,
    /// Which user-made entry each item descends from; two items on one side with the same lineage are a
    /// duplicate made by the sync.
    pub lineage_o: HashMap<OutlookId, u64>,
    pub lineage_c: HashMap<CrmId, u64>,
    seq: u64,
    o_keys: HashMap<String, OutlookId>,
    c_keys: HashMap<String, CrmId>,
    /// Every plan applied so far.
    pub plans: Vec<Plan>,
    /// Create steps whose outcome was lost: the runner's create intents, resolved before the next run.
    pending: Vec<Step>,
    /// List changes only (Graph delta, CRM `updated_at` watermark) while the listing window stays put,
    /// like the steady-state runner; a moved window or a lost status table means a full listing.
    pub delta: bool,
    delta_state: Option<DeltaState>,
    /// Entries of steps that did not complete: a delta will not report them again, so the runner
    /// fetches them by id for the next run.
    retry_o: Vec<OutlookId>,
    retry_c: Vec<CrmId>,
    /// Numbers recurring series made by the property tests.
    pub series_seq: u64,
}

/// What the runner's delta tokens remember: the window of the round and the versions it has reported.
struct DeltaState {
    window: sync_core::Window,
    seen_o: HashMap<OutlookId, String>,
    seen_c: HashMap<CrmId, String>,
}

pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 8, 0, 0).unwrap()
}

/// A one-hour entry starting `days` days and `hour` hours after midnight UTC of t0's day.
pub fn slot(days: i64, hour: i64) -> (DateTime<Utc>, DateTime<Utc>) {
    let base = Utc.with_ymd_and_hms(2026, 11, 25, 0, 0, 0).unwrap();
    let start = base + Duration::days(days) + Duration::hours(hour);
    (start, start + Duration::hours(1))
}

pub fn content(subject: &str, days: i64, hour: i64) -> Content {
    let (s, e) = slot(days, hour);
    Content::timed(subject, s, e)
}

impl World {
    pub fn new(settings: Settings) -> World {
        World {
            settings,
            now: t0(),
            outlook: BTreeMap::new(),
            crm: BTreeMap::new(),
            rows: Vec::new(),
            lineage_o: HashMap::new(),
            lineage_c: HashMap::new(),
            seq: 0,
            o_keys: HashMap::new(),
            c_keys: HashMap::new(),
            plans: Vec::new(),
            pending: Vec::new(),
            delta: false,
            delta_state: None,
            retry_o: Vec::new(),
            retry_c: Vec::new(),
            series_seq: 0,
        }
    }

    fn next(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// Moves the clock on; every user action and write happens at a distinct instant, so "later" is
    /// always well defined.
    pub fn tick(&mut self) {
        self.now += Duration::seconds(1);
    }

    // ----- the user -----------------------------------------------------------------------------------

    pub fn user_create_outlook(&mut self, content: Content) -> OutlookId {
        self.tick();
        let n = self.next();
        let id = OutlookId(format!("o{n}"));
        self.outlook.insert(
            id.clone(),
            OutlookItem {
                id: id.clone(),
                version: format!("ck{n}"),
                modified: self.now,
                crm_link: None,
                content,
                series: None,
                series_master: false,
                cancelled: false,
            },
        );
        self.lineage_o.insert(id.clone(), n);
        id
    }

    pub fn user_create_crm(&mut self, content: Content) -> CrmId {
        self.tick();
        let n = self.next();
        let id = CrmId(format!("{n}"));
        self.crm.insert(
            id.clone(),
            CrmItem {
                id: id.clone(),
                version: format!("u{n}"),
                modified: self.now,
                content,
            },
        );
        self.lineage_c.insert(id.clone(), n);
        id
    }

    pub fn user_edit_outlook(&mut self, id: &OutlookId, f: impl FnOnce(&mut Content)) {
        self.tick();
        let n = self.next();
        let now = self.now;
        let item = self.outlook.get_mut(id).expect("no such event");
        f(&mut item.content);
        item.version = format!("ck{n}");
        item.modified = now;
    }

    pub fn user_edit_crm(&mut self, id: &CrmId, f: impl FnOnce(&mut Content)) {
        self.tick();
        let n = self.next();
        let now = self.now;
        let item = self.crm.get_mut(id).expect("no such activity");
        f(&mut item.content);
        item.version = format!("u{n}");
        item.modified = now;
    }

    pub fn user_cancel_outlook(&mut self, id: &OutlookId) {
        self.tick();
        let n = self.next();
        let item = self.outlook.get_mut(id).expect("no such event");
        item.cancelled = true;
        item.version = format!("ck{n}");
    }

    pub fn user_delete_outlook(&mut self, id: &OutlookId) {
        self.tick();
        self.outlook.remove(id);
    }

    pub fn user_delete_crm(&mut self, id: &CrmId) {
        self.tick();
        self.crm.remove(id);
    }

    // ----- the runner ---------------------------------------------------------------------------------

    /// What a runner would hand to `plan` now: full listings over the listing window, with deletions
    /// confirmed by looking the ids up.
    pub fn input(&self) -> SyncInput {
        let listing = Windows::compute(&self.settings, self.now).listing();
        let o_items: Vec<OutlookItem> = self
            .outlook
            .values()
            .filter(|i| listing.contains(&i.content.when))
            .cloned()
            .collect();
        let c_items: Vec<CrmItem> = self
            .crm
            .values()
            .filter(|i| listing.contains(&i.content.when))
            .cloned()
            .collect();
        let mut o_gone = Vec::new();
        let mut c_gone = Vec::new();
        for r in &self.rows {
            if !self.outlook.contains_key(&r.outlook_id) {
                o_gone.push(r.outlook_id.clone());
            }
            if !self.crm.contains_key(&r.crm_id) {
                c_gone.push(r.crm_id.clone());
            }
        }
        // A runner also looks up the activities listed events are linked to but the listing lacks.
        for i in &o_items {
            if let Some(x) = &i.crm_link
                && !self.crm.contains_key(x)
                && !c_gone.contains(x)
            {
                c_gone.push(x.clone());
            }
        }
        SyncInput {
            now: self.now,
            settings: self.settings.clone(),
            outlook: Listing::full(o_items).with_deleted(o_gone),
            crm: Listing::full(c_items).with_deleted(c_gone),
            rows: self.rows.clone(),
            allow_mass_delete: false,
        }
    }

    /// The input of the next run: [`World::input`], or in delta mode only what changed since the last
    /// run. An entry that left the window is reported too (Graph says `@removed`, the GET finds it).
    pub fn next_input(&mut self) -> SyncInput {
        let mut input = self.input();
        let window = Windows::compute(&self.settings, self.now).listing();
        let all_o: HashMap<OutlookId, String> = input
            .outlook
            .items
            .iter()
            .map(|i| (i.id.clone(), i.version.clone()))
            .collect();
        let all_c: HashMap<CrmId, String> = input
            .crm
            .items
            .iter()
            .map(|i| (i.id.clone(), i.version.clone()))
            .collect();
        if self.delta
            && let Some(state) = &self.delta_state
            && state.window == window
        {
            input.outlook.mode = sync_core::ListingMode::Changes;
            input.crm.mode = sync_core::ListingMode::Changes;
            input.outlook.items.retain(|i| {
                state.seen_o.get(&i.id) != Some(&i.version) || self.retry_o.contains(&i.id)
            });
            input.crm.items.retain(|i| {
                state.seen_c.get(&i.id) != Some(&i.version) || self.retry_c.contains(&i.id)
            });
            // Entries that left the window, and entries of failed steps, fetched by id.
            for id in state.seen_o.keys().chain(&self.retry_o) {
                if !all_o.contains_key(id)
                    && !input.outlook.items.iter().any(|i| &i.id == id)
                    && let Some(item) = self.outlook.get(id)
                {
                    input.outlook.items.push(item.clone());
                }
            }
            for id in state.seen_c.keys().chain(&self.retry_c) {
                if !all_c.contains_key(id)
                    && !input.crm.items.iter().any(|i| &i.id == id)
                    && let Some(item) = self.crm.get(id)
                {
                    input.crm.items.push(item.clone());
                }
            }
        }
        self.retry_o.clear();
        self.retry_c.clear();
        self.delta_state = Some(DeltaState {
            window,
            seen_o: all_o,
            seen_c: all_c,
        });
        input
    }

    /// The next run lists everything, as the runner does when the day (and so the window) changes.
    pub fn full_next(&mut self) {
        self.delta_state = None;
    }

    /// Forced removal: the status table and the runner's delta state are gone.
    pub fn forget_status(&mut self) {
        self.rows.clear();
        self.delta_state = None;
    }

    pub fn plan(&self) -> Result<Plan, PlanError> {
        plan(&self.input())
    }

    /// Plans and applies one run without faults.
    pub fn sync(&mut self) -> Plan {
        self.sync_with(|_| Fault::None).expect("plan failed")
    }

    pub fn sync_with(&mut self, mut fault: impl FnMut(&Write) -> Fault) -> Result<Plan, PlanError> {
        self.begin_run();
        let plan = plan(&self.next_input())?;
        self.apply(&plan, &mut fault);
        self.plans.push(plan.clone());
        Ok(plan)
    }

    /// What a runner does before planning: resolve the create intents of an earlier run that died (or
    /// lost the answer) by looking the entries up, and fold what it finds into the status table.
    pub fn begin_run(&mut self) {
        self.tick();
        for step in std::mem::take(&mut self.pending) {
            let found = match step.writes.first() {
                Some(Write::CreateCrm {
                    idempotency_key, ..
                }) => self
                    .c_keys
                    .get(idempotency_key)
                    .filter(|id| self.crm.contains_key(*id))
                    .map(|id| id.0.clone()),
                Some(Write::CreateOutlook { transaction_id, .. }) => self
                    .o_keys
                    .get(transaction_id)
                    .filter(|id| self.outlook.contains_key(*id))
                    .map(|id| id.0.clone()),
                _ => None,
            };
            if let Some(id) = found {
                let change = step
                    .fold(&[WriteOutcome::Created { id, version: None }])
                    .expect("fold");
                self.store(change);
            }
        }
    }

    pub fn apply(&mut self, plan: &Plan, fault: &mut impl FnMut(&Write) -> Fault) {
        for step in &plan.steps {
            let mut outcomes = Vec::new();
            let mut created_crm: Option<CrmId> = None;
            for w in &step.writes {
                let f = fault(w);
                if f == Fault::FailBefore {
                    outcomes.push(WriteOutcome::Failed);
                    break;
                }
                let outcome = self.perform(w, &mut created_crm);
                let failed = matches!(outcome, WriteOutcome::Failed);
                if f == Fault::CommitThenDrop {
                    outcomes.push(WriteOutcome::Failed);
                    break;
                }
                outcomes.push(outcome);
                if failed {
                    break;
                }
            }
            let create_lost = step.writes.first().is_some_and(Write::is_create)
                && matches!(outcomes.first(), Some(WriteOutcome::Failed));
            if create_lost {
                self.pending.push(step.clone());
            }
            let completed = outcomes.len() == step.writes.len()
                && outcomes
                    .iter()
                    .all(|o| !matches!(o, WriteOutcome::Failed | WriteOutcome::NotFound));
            if !completed {
                self.retry_o.extend(step.outlook_id.iter().cloned());
                self.retry_c.extend(step.crm_id.iter().cloned());
            }
            let change = step.fold(&outcomes).expect("fold");
            self.store(change);
        }
    }

    fn store(&mut self, change: RowChange) {
        match change {
            RowChange::Keep => {}
            RowChange::Remove { key } => {
                self.rows
                    .retain(|r| !(r.crm_id == key.crm_id && r.outlook_id == key.outlook_id));
            }
            RowChange::Upsert { replaces, row } => {
                if let Some(key) = replaces {
                    self.rows
                        .retain(|r| !(r.crm_id == key.crm_id && r.outlook_id == key.outlook_id));
                }
                // Both ids are unique per pairing (unique indexes in Postgres).
                self.rows
                    .retain(|r| r.crm_id != row.crm_id && r.outlook_id != row.outlook_id);
                self.rows.push(row);
            }
        }
    }

    fn perform(&mut self, w: &Write, created_crm: &mut Option<CrmId>) -> WriteOutcome {
        self.tick();
        let n = self.next();
        let now = self.now;
        match w {
            Write::CreateCrm {
                source,
                content,
                idempotency_key,
            } => {
                if let Some(id) = self.c_keys.get(idempotency_key)
                    && self.crm.contains_key(id)
                {
                    *created_crm = Some(id.clone());
                    return WriteOutcome::Created {
                        id: id.0.clone(),
                        version: None,
                    };
                }
                let id = CrmId(format!("{n}"));
                self.crm.insert(
                    id.clone(),
                    CrmItem {
                        id: id.clone(),
                        version: format!("u{n}"),
                        modified: now,
                        content: content.clone(),
                    },
                );
                let lineage = self.lineage_o.get(source).copied().unwrap_or(0);
                self.lineage_c.insert(id.clone(), lineage);
                self.c_keys.insert(idempotency_key.clone(), id.clone());
                *created_crm = Some(id.clone());
                WriteOutcome::Created {
                    id: id.0,
                    version: Some(format!("u{n}")),
                }
            }
            Write::CreateOutlook {
                source,
                content,
                crm_link,
                transaction_id,
            } => {
                if let Some(id) = self.o_keys.get(transaction_id)
                    && self.outlook.contains_key(id)
                {
                    return WriteOutcome::Created {
                        id: id.0.clone(),
                        version: None,
                    };
                }
                // The runner first looks for an event already carrying this link anywhere in the calendar
                // (after a forced removal it may lie outside the listing window) and adopts it.
                if let Some(existing) = self
                    .outlook
                    .values()
                    .find(|i| i.crm_link.as_ref() == Some(crm_link))
                {
                    return WriteOutcome::Created {
                        id: existing.id.0.clone(),
                        version: None,
                    };
                }
                let id = OutlookId(format!("o{n}"));
                self.outlook.insert(
                    id.clone(),
                    OutlookItem {
                        id: id.clone(),
                        version: format!("ck{n}"),
                        modified: now,
                        crm_link: Some(crm_link.clone()),
                        content: content.clone(),
                        series: None,
                        series_master: false,
                        cancelled: false,
                    },
                );
                let lineage = self.lineage_c.get(source).copied().unwrap_or(0);
                self.lineage_o.insert(id.clone(), lineage);
                self.o_keys.insert(transaction_id.clone(), id.clone());
                WriteOutcome::Created {
                    id: id.0,
                    version: Some(format!("ck{n}")),
                }
            }
            Write::UpdateCrm { id, patch } => match self.crm.get_mut(id) {
                None => WriteOutcome::NotFound,
                Some(item) => {
                    item.content = patch.apply(&item.content);
                    item.version = format!("u{n}");
                    item.modified = now;
                    WriteOutcome::Updated {
                        version: Some(item.version.clone()),
                    }
                }
            },
            Write::UpdateOutlook {
                id,
                if_version,
                patch,
                crm_link,
            } => match self.outlook.get_mut(id) {
                None => WriteOutcome::NotFound,
                Some(item) => {
                    if if_version.as_ref().is_some_and(|v| v != &item.version) {
                        return WriteOutcome::Failed;
                    }
                    item.content = patch.apply(&item.content);
                    match crm_link {
                        Some(CrmLink::Id(x)) => item.crm_link = Some(x.clone()),
                        Some(CrmLink::CreatedInThisStep) => item.crm_link = created_crm.clone(),
                        None => {}
                    }
                    item.version = format!("ck{n}");
                    item.modified = now;
                    WriteOutcome::Updated {
                        version: Some(item.version.clone()),
                    }
                }
            },
            Write::DeleteCrm { id } => match self.crm.remove(id) {
                Some(_) => WriteOutcome::Deleted,
                None => WriteOutcome::NotFound,
            },
            Write::DeleteOutlook { id, if_version } => match self.outlook.get(id) {
                None => WriteOutcome::NotFound,
                Some(item) if if_version.as_ref().is_some_and(|v| v != &item.version) => {
                    WriteOutcome::Failed
                }
                Some(_) => {
                    self.outlook.remove(id);
                    WriteOutcome::Deleted
                }
            },
        }
    }

    // ----- lookups for assertions ---------------------------------------------------------------------

    pub fn row_for_outlook(&self, id: &OutlookId) -> Option<&StatusRow> {
        self.rows.iter().find(|r| &r.outlook_id == id)
    }

    pub fn row_for_crm(&self, id: &CrmId) -> Option<&StatusRow> {
        self.rows.iter().find(|r| &r.crm_id == id)
    }

    /// The CRM activity linked to an event.
    pub fn partner_of_outlook(&self, id: &OutlookId) -> Option<&CrmItem> {
        self.row_for_outlook(id)
            .and_then(|r| self.crm.get(&r.crm_id))
    }

    pub fn partner_of_crm(&self, id: &CrmId) -> Option<&OutlookItem> {
        self.row_for_crm(id)
            .and_then(|r| self.outlook.get(&r.outlook_id))
    }

    /// Lineages that occur more than once on one side.
    pub fn duplicates(&self) -> Vec<(char, u64)> {
        let mut out = Vec::new();
        let mut seen = HashMap::new();
        for id in self.outlook.keys() {
            let l = self.lineage_o[id];
            *seen.entry(('o', l)).or_insert(0) += 1;
        }
        for id in self.crm.keys() {
            let l = self.lineage_c[id];
            *seen.entry(('c', l)).or_insert(0) += 1;
        }
        for (k, n) in seen {
            if n > 1 {
                out.push(k);
            }
        }
        out.sort();
        out
    }
}
