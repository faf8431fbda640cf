//! The planner: compares both sides with the status table and decides, row by row of the decision table
//! in `DECISIONS.md`.

use std::borrow::Cow;
use std::cell::OnceCell;
use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::model::{
    Content, CrmId, CrmItem, Field, OutlookId, OutlookItem, Patch, Side, When, field_display,
    field_eq, match_subject,
};
use crate::plan::{
    Conflict, CrmLink, Direction, Guard, ListingMode, Plan, PlanError, RowChange, SkipReason, Step,
    StepKind, SyncInput, Write,
};
use crate::settings::{BUSY_WORDS, PrivateMode, Settings};
use crate::status::{Projection, SideState, StatusRow, hash_normalized};
use crate::time::Windows;

/// Plans one run. Pure: the same input always gives the same plan.
pub fn plan(input: &SyncInput) -> Result<Plan, PlanError> {
    input.settings.validate()?;
    let prepared = Prepared::new(input);
    let mut engine = Engine::new(input, &prepared)?;
    let steps = engine.run();
    let plan = Plan {
        now: input.now,
        windows: engine.w,
        steps,
    };
    if !input.allow_mass_delete {
        check_guards(input, &plan)?;
    }
    Ok(plan)
}

/// Normalised copies of the listed contents, made on first use: in a steady state most pairs are
/// decided from their versions alone, and normalising 20,000 entries up front would dominate the run.
struct Prepared<'a> {
    input: &'a SyncInput,
    o_content: Vec<OnceCell<Content>>,
    c_content: Vec<OnceCell<Content>>,
}

impl<'a> Prepared<'a> {
    fn new(input: &'a SyncInput) -> Prepared<'a> {
        Prepared {
            input,
            o_content: (0..input.outlook.items.len())
                .map(|_| OnceCell::new())
                .collect(),
            c_content: (0..input.crm.items.len())
                .map(|_| OnceCell::new())
                .collect(),
        }
    }

    fn o(&self, i: usize) -> &Content {
        self.o_content[i].get_or_init(|| self.input.outlook.items[i].content.normalized())
    }

    fn c(&self, i: usize) -> &Content {
        self.c_content[i].get_or_init(|| self.input.crm.items[i].content.normalized())
    }
}

/// One side of a pair as this run sees it.
#[derive(Clone)]
struct Cur<'a> {
    content: &'a Content,
    version: Option<&'a str>,
    modified: DateTime<Utc>,
    /// False when a [`ListingMode::Changes`] listing did not mention the entry and the last synced content
    /// stands in for it.
    listed: bool,
    crm_link: Option<&'a CrmId>,
}

enum State<'a> {
    Present(Cur<'a>),
    /// Missing from a full listing and not confirmed deleted: left the window, or the listing lags.
    Unlisted,
    /// Confirmed deleted (or, for Outlook, cancelled).
    Deleted,
}

enum Change {
    Same,
    /// The version moved but the content did not (our own echo, or a change to something we do not sync).
    VersionMoved,
    Changed(Vec<Field>),
}

impl Change {
    fn fields(&self) -> &[Field] {
        match self {
            Change::Changed(f) => f,
            _ => &[],
        }
    }

    fn is_changed(&self) -> bool {
        matches!(self, Change::Changed(f) if !f.is_empty())
    }
}

struct Merge {
    o_patch: Patch,
    c_patch: Patch,
    /// Last synced values of fields whose edit on that side may not flow yet (outside the window, type
    /// not in the edit/delete set). The row keeps them, so the edit is still an edit next run and flows
    /// once the rules allow it, e.g. when the calendar day moves the entry back into the window.
    o_pending: Patch,
    c_pending: Patch,
    conflicts: Vec<Conflict>,
    reasons: Vec<SkipReason>,
}

struct Engine<'a> {
    input: &'a SyncInput,
    p: &'a Prepared<'a>,
    s: &'a Settings,
    /// The default activity type, normalised like every other value.
    default_type: Option<String>,
    w: Windows,
    o_idx: FastMap<&'a OutlookId, usize>,
    c_idx: FastMap<&'a CrmId, usize>,
    o_deleted: FastSet<&'a OutlookId>,
    c_deleted: FastSet<&'a CrmId>,
    rows_by_o: FastSet<&'a OutlookId>,
    rows_by_c: FastSet<&'a CrmId>,
    /// Entries whose row this plan removes because their edit beat the partner's deletion; they are
    /// planned again as new, with the old partner id salting their idempotency key.
    released_o: HashMap<usize, String>,
    /// Unlinked occurrences taken over by a pair whose occurrence vanished (see `relink_occurrence`).
    relinked_o: FastSet<usize>,
    /// Unlinked occurrences by series id, built on first use.
    occurrences: Option<FastMap<&'a OutlookId, Vec<usize>>>,
    released_c: HashMap<usize, String>,
}

fn index_unique<'a, T, Id: std::hash::Hash + Eq + ToString>(
    items: &'a [T],
    id: impl Fn(&'a T) -> &'a Id,
    side: Side,
) -> Result<FastMap<&'a Id, usize>, PlanError> {
    let mut m = FastMap::with_capacity_and_hasher(items.len(), Default::default());
    for (i, it) in items.iter().enumerate() {
        if m.insert(id(it), i).is_some() {
            return Err(PlanError::DuplicateItem {
                side,
                id: id(it).to_string(),
            });
        }
    }
    Ok(m)
}

/// FxHash (as in rustc): ids are short strings, and SipHash's protection against crafted collisions buys
/// nothing for one user's own calendar while costing a good part of a steady-state run.
#[derive(Clone, Copy, Default)]
struct Fx(u64);

impl std::hash::Hasher for Fx {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            self.0 =
                (self.0.rotate_left(5) ^ u64::from_le_bytes(b)).wrapping_mul(0x517c_c1b7_2722_0a95);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type FastMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<Fx>>;
type FastSet<K> = HashSet<K, std::hash::BuildHasherDefault<Fx>>;

impl<'a> Engine<'a> {
    fn new(input: &'a SyncInput, p: &'a Prepared<'a>) -> Result<Engine<'a>, PlanError> {
        let mut rows_by_o = FastSet::with_capacity_and_hasher(input.rows.len(), Default::default());
        let mut rows_by_c = FastSet::with_capacity_and_hasher(input.rows.len(), Default::default());
        for r in &input.rows {
            if !rows_by_o.insert(&r.outlook_id) {
                return Err(PlanError::DuplicateRow {
                    side: Side::Outlook,
                    id: r.outlook_id.0.clone(),
                });
            }
            if !rows_by_c.insert(&r.crm_id) {
                return Err(PlanError::DuplicateRow {
                    side: Side::Crm,
                    id: r.crm_id.0.clone(),
                });
            }
        }
        Ok(Engine {
            input,
            p,
            s: &input.settings,
            default_type: input
                .settings
                .default_activity_type
                .as_deref()
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned),
            w: Windows::compute(&input.settings, input.now),
            o_idx: index_unique(&input.outlook.items, |i| &i.id, Side::Outlook)?,
            c_idx: index_unique(&input.crm.items, |i| &i.id, Side::Crm)?,
            o_deleted: input.outlook.confirmed_deleted.iter().collect(),
            c_deleted: input.crm.confirmed_deleted.iter().collect(),
            rows_by_o,
            rows_by_c,
            released_o: HashMap::new(),
            released_c: HashMap::new(),
            relinked_o: FastSet::default(),
            occurrences: None,
        })
    }

    fn run(&mut self) -> Vec<Step> {
        let mut rows: Vec<&StatusRow> = self.input.rows.iter().collect();
        rows.sort_by(|a, b| a.crm_id.cmp(&b.crm_id));
        let mut steps = Vec::new();
        for row in rows {
            if let Some(step) = self.plan_row(row) {
                steps.push(step);
            }
        }
        self.plan_unlinked(&mut steps);
        steps
    }

    // ----- reading the current state -------------------------------------------------------------------

    fn o_state(&self, row: &'a StatusRow) -> State<'a> {
        if let Some(&i) = self.o_idx.get(&row.outlook_id) {
            let item = &self.input.outlook.items[i];
            if item.cancelled {
                return State::Deleted;
            }
            return State::Present(self.o_cur(i));
        }
        if self.o_deleted.contains(&row.outlook_id) {
            return State::Deleted;
        }
        match self.input.outlook.mode {
            ListingMode::Full => State::Unlisted,
            ListingMode::Changes => State::Present(Cur {
                content: &row.outlook.content,
                version: row.outlook.version.as_deref(),
                modified: row.synced_at,
                listed: false,
                crm_link: None,
            }),
        }
    }

    fn c_state(&self, row: &'a StatusRow) -> State<'a> {
        if let Some(&i) = self.c_idx.get(&row.crm_id) {
            return State::Present(self.c_cur(i));
        }
        if self.c_deleted.contains(&row.crm_id) {
            return State::Deleted;
        }
        match self.input.crm.mode {
            ListingMode::Full => State::Unlisted,
            ListingMode::Changes => State::Present(Cur {
                content: &row.crm.content,
                version: row.crm.version.as_deref(),
                modified: row.synced_at,
                listed: false,
                crm_link: None,
            }),
        }
    }

    fn o_cur(&self, i: usize) -> Cur<'a> {
        let item: &'a OutlookItem = &self.input.outlook.items[i];
        Cur {
            content: self.p.o(i),
            version: Some(&item.version),
            modified: item.modified,
            listed: true,
            crm_link: item.crm_link.as_ref(),
        }
    }

    fn c_cur(&self, i: usize) -> Cur<'a> {
        let item: &'a CrmItem = &self.input.crm.items[i];
        Cur {
            content: self.p.c(i),
            version: Some(&item.version),
            modified: item.modified,
            listed: true,
            crm_link: None,
        }
    }

    // ----- rules ---------------------------------------------------------------------------------------

    /// The Outlook entry in CRM terms: its type is the chosen one, else the default.
    fn outlook_as_crm<'c>(&self, o: &'c Content) -> Cow<'c, Content> {
        match (&o.activity_type, &self.default_type) {
            (None, Some(t)) => Cow::Owned(Content {
                activity_type: Some(t.clone()),
                ..o.clone()
            }),
            _ => Cow::Borrowed(o),
        }
    }

    /// What a busy block of `from` looks like: time, type and status kept, everything else neutral.
    fn block_of(&self, from: &Content) -> Content {
        Content {
            when: from.when,
            subject: self.s.busy_word().to_owned(),
            body: String::new(),
            location: String::new(),
            activity_type: from.activity_type.clone(),
            status: from.status.clone(),
            private: true,
            attendees: Default::default(),
        }
    }

    fn projection(
        &self,
        before: Option<Projection>,
        o: &Content,
        c: &Content,
    ) -> Result<Projection, SkipReason> {
        match self.s.private_mode {
            PrivateMode::Full => Ok(Projection::Full),
            PrivateMode::Skip => {
                if o.private || c.private {
                    Err(SkipReason::PrivateEntry)
                } else {
                    Ok(Projection::Full)
                }
            }
            PrivateMode::BusyBlock => Ok(match before {
                // The block side is marked private too, so an existing pair keeps its original side.
                Some(Projection::BusyBlockInCrm) => {
                    if o.private {
                        Projection::BusyBlockInCrm
                    } else {
                        Projection::Full
                    }
                }
                Some(Projection::BusyBlockInOutlook) => {
                    if c.private {
                        Projection::BusyBlockInOutlook
                    } else {
                        Projection::Full
                    }
                }
                // A block we wrote is private too, but it is never an original: treating it as one would
                // scrub the real entry on the other side.
                _ => {
                    if o.private && !is_block(o) {
                        Projection::BusyBlockInCrm
                    } else if c.private && !is_block(c) {
                        Projection::BusyBlockInOutlook
                    } else if before.is_none() && o.private {
                        // Adopting one of our blocks: the other side holds the content.
                        Projection::BusyBlockInOutlook
                    } else if before.is_none() && c.private {
                        Projection::BusyBlockInCrm
                    } else {
                        Projection::Full
                    }
                }
            }),
        }
    }

    /// Whether edits may flow in `dir` for a pair of `pair_type` whose source entry is at `when`.
    fn edit_gate(
        &self,
        dir: Direction,
        pair_type: Option<&str>,
        when: &When,
    ) -> Result<(), SkipReason> {
        let (d, w) = self.direction(dir);
        if !w.contains(when) {
            return Err(SkipReason::OutsideWindow { direction: dir });
        }
        if !d.edit_delete_types.contains(pair_type) {
            return Err(SkipReason::EditNotAllowed {
                direction: dir,
                activity_type: pair_type.map(str::to_owned),
            });
        }
        Ok(())
    }

    fn direction(
        &self,
        dir: Direction,
    ) -> (&crate::settings::DirectionSettings, crate::time::Window) {
        match dir {
            Direction::OutlookToCrm => (&self.s.outlook_to_crm, self.w.outlook_to_crm),
            Direction::CrmToOutlook => (&self.s.crm_to_outlook, self.w.crm_to_outlook),
        }
    }

    // ----- linked pairs --------------------------------------------------------------------------------

    fn plan_row(&mut self, row: &'a StatusRow) -> Option<Step> {
        if let Some(gone) = row.detached {
            // A frozen pair only ends when the survivor goes too.
            let survivor_deleted = match gone.other() {
                Side::Outlook => matches!(self.o_state(row), State::Deleted),
                Side::Crm => matches!(self.c_state(row), State::Deleted),
            };
            return survivor_deleted.then(|| unlink_step(row, Vec::new()));
        }
        if self.untouched(row) {
            return None;
        }
        match (self.o_state(row), self.c_state(row)) {
            (State::Deleted, State::Deleted) => Some(unlink_step(row, Vec::new())),
            (State::Deleted, State::Unlisted) => self.relink_occurrence(row, None).or_else(|| {
                Some(self.detach(row, Side::Outlook, vec![SkipReason::PartnerNotListed]))
            }),
            (State::Unlisted, State::Deleted) => Some(detach_step(
                row,
                Side::Crm,
                vec![SkipReason::PartnerNotListed],
            )),
            // Missing from a windowed listing is never a deletion: the pair just is not synced now. An
            // event that never got its link property gets it now, wherever it is, so that re-pairing
            // finds it.
            (State::Unlisted, _) => (!row.outlook_tagged).then(|| tag_step(row, None)),
            (State::Present(o), State::Unlisted) => self.link_property_only(row, &o, Vec::new()),
            (State::Deleted, State::Present(c)) => self
                .relink_occurrence(row, Some(&c))
                .or_else(|| self.deleted_step(row, Side::Outlook, c)),
            (State::Present(o), State::Deleted) => self.deleted_step(row, Side::Crm, o),
            (State::Present(o), State::Present(c)) => self.pair_step(row, o, c),
        }
    }

    /// For a pair that is otherwise left alone (frozen, or its partner not listed): make sure the event
    /// carries our link property and the row knows it.
    fn link_property_only(
        &self,
        row: &StatusRow,
        o: &Cur<'_>,
        reasons: Vec<SkipReason>,
    ) -> Option<Step> {
        let needs_tag = if o.listed {
            o.crm_link != Some(&row.crm_id)
        } else {
            !row.outlook_tagged
        };
        let mut step = if needs_tag {
            tag_step(row, o.version)
        } else if o.listed && !row.outlook_tagged {
            // The event shows the link after all (a tagging write whose answer was lost).
            let mut r = row.clone();
            r.outlook_tagged = true;
            Step {
                kind: StepKind::Refresh,
                row: RowChange::Upsert {
                    replaces: Some(row.key()),
                    row: r,
                },
                ..skip_step(
                    Some(row.outlook_id.clone()),
                    Some(row.crm_id.clone()),
                    Vec::new(),
                )
            }
        } else {
            return None;
        };
        step.reasons = reasons;
        Some(step)
    }

    /// The steady-state shortcut: both sides listed with the versions the row holds, the event tagged and
    /// the projection unchanged. Nothing can be decided for such a pair, so no content is even looked at.
    fn untouched(&self, row: &StatusRow) -> bool {
        let (Some(&i), Some(&j)) = (self.o_idx.get(&row.outlook_id), self.c_idx.get(&row.crm_id))
        else {
            return false;
        };
        let o = &self.input.outlook.items[i];
        let c = &self.input.crm.items[j];
        let same = !o.cancelled
            && row.outlook.version.as_deref() == Some(o.version.as_str())
            && row.crm.version.as_deref() == Some(c.version.as_str())
            && o.crm_link.as_ref() == Some(&row.crm_id);
        // Only private entries can change projection (or be frozen by "skip") without an edit.
        same && if o.content.private || c.content.private {
            self.projection(Some(row.projection), self.p.o(i), self.p.c(j)) == Ok(row.projection)
        } else {
            row.projection == Projection::Full
        }
    }

    fn change_of(&self, row: &StatusRow, side: Side, cur: &Cur<'_>) -> Change {
        let state = row.side(side);
        if cur.version.is_some() && state.version.as_deref() == cur.version {
            return Change::Same;
        }
        let redacted;
        let cmp: &Content = if row.projection.private_side() == Some(side) {
            redacted = redact(cur.content);
            &redacted
        } else {
            cur.content
        };
        if hash_normalized(cmp) == state.hash {
            return Change::VersionMoved;
        }
        Change::Changed(
            Field::ALL
                .into_iter()
                .filter(|f| !field_eq(*f, cmp, &state.content))
                .collect(),
        )
    }

    /// Freezes a pair whose `gone` side will not be propagated. A cancelled event is still in the calendar;
    /// if it never got our link property it gets it now, so that after a forced removal the surviving
    /// activity finds it instead of being copied into the calendar a second time.
    fn detach(&self, row: &StatusRow, gone: Side, reasons: Vec<SkipReason>) -> Step {
        let mut step = detach_step(row, gone, reasons);
        if gone == Side::Outlook
            && let Some(&i) = self.o_idx.get(&row.outlook_id)
        {
            let item = &self.input.outlook.items[i];
            if item.crm_link.as_ref() != Some(&row.crm_id) {
                step.writes.push(Write::UpdateOutlook {
                    id: row.outlook_id.clone(),
                    if_version: Some(item.version.clone()),
                    patch: Patch::default(),
                    crm_link: Some(CrmLink::Id(row.crm_id.clone())),
                });
                if let RowChange::Upsert { row, .. } = &mut step.row {
                    row.outlook_tagged = true;
                    row.outlook.version = None;
                }
            }
        }
        step
    }

    /// An occurrence that vanished while its series still has an unlinked occurrence on the same original
    /// day: editing a whole series gives its occurrences new ids, which is not a deletion. The pair moves
    /// to the new occurrence and is merged as usual, instead of deleting the activity and creating it
    /// again.
    fn relink_occurrence(&mut self, row: &'a StatusRow, c: Option<&Cur<'a>>) -> Option<Step> {
        let series = row.series.as_ref()?;
        if self.o_idx.contains_key(&row.outlook_id) {
            return None; // cancelled, not gone
        }
        let tz = self.s.user_tz;
        let day = series.original_start.with_timezone(&tz).date_naive();
        let items = &self.input.outlook.items;
        let rows_by_o = &self.rows_by_o;
        let occurrences = self.occurrences.get_or_insert_with(|| {
            let mut m: FastMap<&'a OutlookId, Vec<usize>> = FastMap::default();
            for (i, item) in items.iter().enumerate() {
                if let Some(si) = &item.series
                    && !item.cancelled
                    && !rows_by_o.contains(&item.id)
                {
                    m.entry(&si.series_id).or_default().push(i);
                }
            }
            m
        });
        let i = occurrences
            .get(&series.series_id)?
            .iter()
            .copied()
            .find(|&i| {
                !self.relinked_o.contains(&i)
                    && items[i]
                        .series
                        .as_ref()
                        .is_some_and(|si| si.original_start.with_timezone(&tz).date_naive() == day)
            })?;
        self.relinked_o.insert(i);
        let moved = StatusRow {
            outlook_id: items[i].id.clone(),
            ..row.clone()
        };
        let mut step = match c {
            Some(c) => self
                .pair_step(&moved, self.o_cur(i), c.clone())
                .unwrap_or_else(|| skip_step(None, None, Vec::new())),
            // The activity is not listed: only move the link, and let a later read compare content.
            None => {
                let mut step = tag_step(&moved, Some(&items[i].version));
                if let RowChange::Upsert { row, .. } = &mut step.row {
                    row.series = items[i].series.clone();
                }
                step
            }
        };
        let new_row = match std::mem::replace(&mut step.row, RowChange::Keep) {
            RowChange::Upsert { row, .. } => row,
            _ => moved,
        };
        step.row = RowChange::Upsert {
            replaces: Some(row.key()),
            row: new_row,
        };
        if step.writes.is_empty() {
            step.kind = StepKind::Refresh;
        }
        step.outlook_id = Some(items[i].id.clone());
        step.crm_id = Some(row.crm_id.clone());
        Some(step)
    }

    /// One side is gone (confirmed), the other is here.
    fn deleted_step(
        &mut self,
        row: &'a StatusRow,
        deleted: Side,
        survivor: Cur<'a>,
    ) -> Option<Step> {
        let dir = Direction::from_side(deleted);
        let (d, w) = self.direction(dir);
        let pair_type = row.synced_type();
        if !w.contains(&row.side(deleted).content.when) {
            return Some(self.detach(
                row,
                deleted,
                vec![SkipReason::OutsideWindow { direction: dir }],
            ));
        }
        if !d.edit_delete_types.contains(pair_type) {
            return Some(self.detach(
                row,
                deleted,
                vec![SkipReason::DeleteNotAllowed {
                    direction: dir,
                    activity_type: pair_type.map(str::to_owned),
                }],
            ));
        }
        let survivor_side = deleted.other();
        if survivor.listed && self.change_of(row, survivor_side, &survivor).is_changed() {
            if deleted == Side::Outlook && self.o_idx.contains_key(&row.outlook_id) {
                // A cancelled event is still in the calendar: copying the edited activity back would show
                // the meeting twice. The edit stays in the CRM, the pair is frozen.
                let mut step = self.detach(row, deleted, Vec::new());
                step.conflicts.push(Conflict::EditBeatDelete { deleted });
                return Some(step);
            }
            // The edit beats the delete (nothing the user typed is lost): forget the pair and plan the
            // survivor again as a new entry, under the create rules of its direction.
            match survivor_side {
                Side::Outlook => {
                    if let Some(&i) = self.o_idx.get(&row.outlook_id) {
                        self.released_o.insert(i, row.crm_id.0.clone());
                    }
                }
                Side::Crm => {
                    if let Some(&i) = self.c_idx.get(&row.crm_id) {
                        self.released_c.insert(i, row.outlook_id.0.clone());
                    }
                }
            }
            return Some(unlink_step(row, vec![Conflict::EditBeatDelete { deleted }]));
        }
        let write = match survivor_side {
            Side::Crm => Write::DeleteCrm {
                id: row.crm_id.clone(),
            },
            Side::Outlook => Write::DeleteOutlook {
                id: row.outlook_id.clone(),
                if_version: survivor.version.map(str::to_owned),
            },
        };
        Some(Step {
            kind: match survivor_side {
                Side::Crm => StepKind::DeleteInCrm,
                Side::Outlook => StepKind::DeleteInOutlook,
            },
            outlook_id: Some(row.outlook_id.clone()),
            crm_id: Some(row.crm_id.clone()),
            writes: vec![write],
            conflicts: Vec::new(),
            reasons: Vec::new(),
            row: RowChange::Remove { key: row.key() },
            outlook_fallback: None,
            unverified: Vec::new(),
        })
    }

    /// Both sides are here: three-way merge against the row.
    fn pair_step(&self, row: &StatusRow, o: Cur<'a>, c: Cur<'a>) -> Option<Step> {
        let before = row.projection;
        let needs_tag = if o.listed {
            o.crm_link != Some(&row.crm_id)
        } else {
            !row.outlook_tagged
        };
        let mut proj = match self.projection(Some(before), o.content, c.content) {
            Ok(p) => p,
            Err(reason) => {
                // Frozen, but the link property is identity, not content: it is still written, or a
                // re-pairing could copy the activity into the calendar a second time.
                return self
                    .link_property_only(row, &o, vec![reason.clone()])
                    .or_else(|| {
                        Some(skip_step(
                            Some(row.outlook_id.clone()),
                            Some(row.crm_id.clone()),
                            vec![reason],
                        ))
                    });
            }
        };
        // Leaving a busy block pushes the original's content; wait until the original is actually read.
        if proj != before
            && before.private_side().is_some_and(|s| match s {
                Side::Outlook => !o.listed,
                Side::Crm => !c.listed,
            })
        {
            proj = before;
        }
        let pair_type = row.synced_type();
        let o2c = self.edit_gate(Direction::OutlookToCrm, pair_type, &o.content.when);
        let c2o = self.edit_gate(Direction::CrmToOutlook, pair_type, &c.content.when);
        let mut held_back = None;
        if let Some(original) = before.private_side()
            && proj == Projection::Full
            && let Err(r) = match original {
                Side::Outlook => &o2c,
                Side::Crm => &c2o,
            }
        {
            // The original is no longer private, but its content may not flow yet: the block stays a
            // block (and known as one) until it can be replaced.
            proj = before;
            held_back = Some(r.clone());
        }
        let o_change = self.change_of(row, Side::Outlook, &o);
        let c_change = self.change_of(row, Side::Crm, &c);
        if matches!((&o_change, &c_change), (Change::Same, Change::Same))
            && proj == before
            && !needs_tag
        {
            return None;
        }
        let mut m = self.merge(
            &o,
            &c,
            o_change.fields(),
            c_change.fields(),
            Some((&row.outlook.content, &row.crm.content)),
            false,
            Some(before),
            proj,
            &o2c,
            &c2o,
        );
        // A re-typing that lands in this run decides the pair's type for the rest of the run too;
        // otherwise an edit held back under the old type would only flow on the next run.
        let new_type = match &m.c_patch.activity_type {
            Some(t) => t.as_deref(),
            None => c.content.activity_type.as_deref(),
        };
        if new_type != pair_type && held_back.is_none() {
            let o2c = self.edit_gate(Direction::OutlookToCrm, new_type, &o.content.when);
            let c2o = self.edit_gate(Direction::CrmToOutlook, new_type, &c.content.when);
            m = self.merge(
                &o,
                &c,
                o_change.fields(),
                c_change.fields(),
                Some((&row.outlook.content, &row.crm.content)),
                false,
                Some(before),
                proj,
                &o2c,
                &c2o,
            );
        }
        let tag = needs_tag;
        if let Some(r) = held_back {
            push_reason(&mut m.reasons, &r);
        }
        let series = self
            .o_idx
            .get(&row.outlook_id)
            .map(|&i| self.input.outlook.items[i].series.clone())
            .unwrap_or_else(|| row.series.clone());
        let (writes, new_row) = self.pair_writes(
            row.crm_id.clone(),
            row.outlook_id.clone(),
            &o,
            &c,
            &m,
            tag,
            proj,
            row.origin,
            series,
            row.synced_at,
            row.outlook_tagged,
        );
        let quiet = writes.is_empty() && new_row == *row;
        if quiet && m.reasons.is_empty() && m.conflicts.is_empty() {
            return None;
        }
        let kind = if !writes.is_empty() {
            StepKind::Update
        } else if new_row != *row {
            StepKind::Refresh
        } else {
            StepKind::Skip
        };
        let unverified: Vec<Side> = writes
            .iter()
            .map(Write::target)
            .filter(|side| match side {
                Side::Outlook => !o.listed || !m.o_pending.is_empty(),
                Side::Crm => !c.listed || !m.c_pending.is_empty(),
            })
            .collect();
        Some(Step {
            kind,
            outlook_id: Some(row.outlook_id.clone()),
            crm_id: Some(row.crm_id.clone()),
            writes,
            conflicts: m.conflicts,
            reasons: m.reasons,
            row: if new_row == *row {
                RowChange::Keep
            } else {
                RowChange::Upsert {
                    replaces: Some(row.key()),
                    row: new_row,
                }
            },
            outlook_fallback: None,
            unverified,
        })
    }

    /// The writes for a pair after a merge, and the row expected once they succeed.
    #[expect(
        clippy::too_many_arguments,
        reason = "the pieces of one pair decision; a struct for them would only be built here"
    )]
    fn pair_writes(
        &self,
        crm_id: CrmId,
        outlook_id: OutlookId,
        o: &Cur<'_>,
        c: &Cur<'_>,
        m: &Merge,
        tag: bool,
        proj: Projection,
        origin: Side,
        series: Option<crate::model::SeriesInstance>,
        synced_at: DateTime<Utc>,
        was_tagged: bool,
    ) -> (Vec<Write>, StatusRow) {
        let mut writes = Vec::new();
        let c_written = !m.c_patch.is_empty();
        let o_written = !m.o_patch.is_empty() || tag;
        if c_written {
            writes.push(Write::UpdateCrm {
                id: crm_id.clone(),
                patch: m.c_patch.clone(),
            });
        }
        if o_written {
            writes.push(Write::UpdateOutlook {
                id: outlook_id.clone(),
                if_version: o.version.map(str::to_owned),
                patch: m.o_patch.clone(),
                crm_link: tag.then(|| CrmLink::Id(crm_id.clone())),
            });
        }
        // Known tagged if we tag it now, if the listed event shows the link, or (for an event a changes
        // listing did not mention) if it was known before.
        let outlook_tagged = tag || o.crm_link == Some(&crm_id) || (!o.listed && was_tagged);
        let o_new = m.o_pending.apply(&m.o_patch.apply(o.content));
        let c_new = m.c_pending.apply(&m.c_patch.apply(c.content));
        // A side with a pending edit forgets its version, so the next run compares content again.
        let o_version = (!o_written && m.o_pending.is_empty())
            .then(|| o.version.map(str::to_owned))
            .flatten();
        let c_version = (!c_written && m.c_pending.is_empty())
            .then(|| c.version.map(str::to_owned))
            .flatten();
        let row = StatusRow {
            crm_id,
            outlook_id,
            outlook: SideState::of_normalized(
                o_version,
                redact_if(proj.private_side() == Some(Side::Outlook), o_new),
            ),
            crm: SideState::of_normalized(
                c_version,
                redact_if(proj.private_side() == Some(Side::Crm), c_new),
            ),
            projection: proj,
            origin,
            series,
            detached: None,
            outlook_tagged,
            synced_at: if writes.is_empty() {
                synced_at
            } else {
                self.input.now
            },
        };
        (writes, row)
    }

    /// Field-level three-way merge. `adoption` = there is no base: every differing field counts as
    /// changed on both sides and the later side wins, without recording a conflict.
    #[expect(
        clippy::too_many_arguments,
        reason = "both sides, their change sets and bases, the projection and both gates are the merge"
    )]
    fn merge(
        &self,
        o: &Cur<'_>,
        c: &Cur<'_>,
        o_changed: &[Field],
        c_changed: &[Field],
        bases: Option<(&Content, &Content)>,
        adoption: bool,
        before: Option<Projection>,
        proj: Projection,
        o2c: &Result<(), SkipReason>,
        c2o: &Result<(), SkipReason>,
    ) -> Merge {
        let mut m = Merge {
            o_patch: Patch::default(),
            c_patch: Patch::default(),
            o_pending: Patch::default(),
            c_pending: Patch::default(),
            conflicts: Vec::new(),
            reasons: Vec::new(),
        };
        let o_crm = self.outlook_as_crm(o.content);
        let transition = before != Some(proj);
        // Only a pair entering busy-block mode needs the block's values.
        let block = (transition && before.is_some() && proj.block_side().is_some())
            .then(|| self.block_of(&o_crm));
        let later = if c.modified > o.modified {
            Side::Crm
        } else {
            Side::Outlook
        };
        for f in Field::ALL {
            let busy_field = f.is_content() || f == Field::Private;
            if busy_field && let Some(block_side) = proj.block_side() {
                // Nothing of the original's content flows, nothing typed into a block flows back. The block
                // is written only when a linked pair enters busy-block mode (scrubbing what we copied
                // earlier); an adopted pair keeps what the CRM user wrote, since we did not put it there.
                if let Some(block) = &block {
                    match block_side {
                        Side::Crm if !field_eq(f, block, c.content) => m.c_patch.set_from(f, block),
                        Side::Outlook if !field_eq(f, block, o.content) => {
                            m.o_patch.set_from(f, block)
                        }
                        _ => {}
                    }
                }
                continue;
            }
            let (mut o_ch, mut c_ch) = if adoption {
                (true, true)
            } else {
                (o_changed.contains(&f), c_changed.contains(&f))
            };
            if busy_field
                && transition
                && let Some(original) = before.and_then(Projection::private_side)
            {
                // Leaving busy-block mode: the original's content replaces the block.
                o_ch = original == Side::Outlook;
                c_ch = original == Side::Crm;
            }
            if field_eq(f, &o_crm, c.content) {
                continue;
            }
            let source = match (o_ch, c_ch) {
                (true, false) => Side::Outlook,
                (false, true) => Side::Crm,
                (false, false) => continue,
                (true, true) => {
                    if !adoption {
                        m.conflicts.push(Conflict::Field {
                            field: f,
                            outlook_value: field_display(f, &o_crm),
                            crm_value: field_display(f, c.content),
                            winner: later,
                        });
                    }
                    later
                }
            };
            match source {
                Side::Outlook => match o2c {
                    Err(r) => {
                        push_reason(&mut m.reasons, r);
                        // Without a base (adoption) the pair counts as synced at the other side's value,
                        // so the difference is still this side's edit next time.
                        m.o_pending
                            .set_from(f, bases.map(|(o_base, _)| o_base).unwrap_or(c.content));
                    }
                    Ok(()) => {
                        // An entry with no type (none chosen, no default) cannot clear the CRM's type.
                        if !(f == Field::ActivityType && o_crm.activity_type.is_none()) {
                            m.c_patch.set_from(f, &o_crm);
                        }
                    }
                },
                Side::Crm => match c2o {
                    Err(r) => {
                        push_reason(&mut m.reasons, r);
                        m.c_pending
                            .set_from(f, bases.map(|(_, c_base)| c_base).unwrap_or(&o_crm));
                    }
                    Ok(()) => m.o_patch.set_from(f, c.content),
                },
            }
        }
        m
    }

    // ----- entries with no row -------------------------------------------------------------------------

    fn plan_unlinked(&mut self, steps: &mut Vec<Step>) {
        let o_items = &self.input.outlook.items;
        let c_items = &self.input.crm.items;
        let mut o_pool: Vec<usize> = (0..o_items.len())
            .filter(|&i| {
                (!self.rows_by_o.contains(&o_items[i].id) || self.released_o.contains_key(&i))
                    && !self.relinked_o.contains(&i)
            })
            .collect();
        o_pool.sort_by(|&a, &b| o_items[a].id.cmp(&o_items[b].id));
        let mut c_pool: Vec<usize> = (0..c_items.len())
            .filter(|&i| {
                !self.rows_by_c.contains(&c_items[i].id) || self.released_c.contains_key(&i)
            })
            .collect();
        c_pool.sort_by(|&a, &b| c_items[a].id.cmp(&c_items[b].id));
        let c_pool_idx: FastMap<&CrmId, usize> =
            c_pool.iter().map(|&i| (&c_items[i].id, i)).collect();
        let mut c_taken = vec![false; c_items.len()];
        let mut c_private = vec![false; c_items.len()];
        let skip_private = self.s.private_mode == PrivateMode::Skip;

        // CRM entries that are never synced are set aside first, so nothing links to them.
        for &j in &c_pool {
            if skip_private && self.p.c(j).private {
                c_taken[j] = true;
                c_private[j] = true;
                steps.push(skip_step(
                    None,
                    Some(c_items[j].id.clone()),
                    vec![SkipReason::PrivateEntry],
                ));
            }
        }

        // 1. Adopt by our link property.
        let mut o_rest = Vec::new();
        for &i in &o_pool {
            let item = &o_items[i];
            let reason = if item.series_master {
                Some(SkipReason::SeriesMaster)
            } else if item.cancelled {
                Some(SkipReason::Cancelled)
            } else if skip_private && self.p.o(i).private {
                Some(SkipReason::PrivateEntry)
            } else {
                None
            };
            if let Some(reason) = reason {
                steps.push(skip_step(Some(item.id.clone()), None, vec![reason]));
                continue;
            }
            if let Some(x) = &item.crm_link {
                if let Some(&j) = c_pool_idx.get(x) {
                    if c_private[j] {
                        // Its activity is private and not synced: so is the pair, and it is no copy.
                        steps.push(skip_step(
                            Some(item.id.clone()),
                            Some(x.clone()),
                            vec![SkipReason::PrivateEntry],
                        ));
                        continue;
                    }
                    if !c_taken[j] {
                        c_taken[j] = true;
                        steps.push(self.link_step(i, j));
                        continue;
                    }
                    // Taken by an earlier event with the same link: this one is a copy, so it is new.
                } else if !(self.rows_by_c.contains(x) || self.c_deleted.contains(x)) {
                    // Linked to something we cannot see (outside the listing, or a lagging listing): a
                    // create here would duplicate it.
                    steps.push(skip_step(
                        Some(item.id.clone()),
                        None,
                        vec![SkipReason::LinkedActivityNotListed { crm_id: x.clone() }],
                    ));
                    continue;
                }
                // Otherwise the linked activity belongs to another pair (a copied event) or is confirmed
                // deleted: the event is treated as new.
            }
            o_rest.push(i);
        }

        // 2. Adopt by exact (start, end, subject); busy blocks match their private original by time.
        let mut by_key: FastMap<(When, String), Vec<usize>> = FastMap::default();
        for &j in &c_pool {
            if c_taken[j] {
                continue;
            }
            for key in self.match_keys(self.p.c(j)) {
                by_key.entry(key).or_default().push(j);
            }
        }
        let mut o_unmatched = Vec::new();
        for i in o_rest {
            let found = self.match_keys(self.p.o(i)).into_iter().find_map(|k| {
                by_key
                    .get(&k)
                    .and_then(|js| js.iter().copied().find(|&j| !c_taken[j]))
            });
            match found {
                Some(j) => {
                    c_taken[j] = true;
                    steps.push(self.link_step(i, j));
                }
                None => o_unmatched.push(i),
            }
        }

        // 3. Create what is left, under each direction's rules.
        for i in o_unmatched {
            steps.push(self.create_in_crm_step(i));
        }
        for &j in &c_pool {
            if !c_taken[j] {
                steps.push(self.create_in_outlook_step(j));
            }
        }
    }

    fn match_keys(&self, c: &Content) -> Vec<(When, String)> {
        let mut keys = vec![(c.when, match_subject(&c.subject))];
        if c.private && self.s.private_mode == PrivateMode::BusyBlock {
            for w in BUSY_WORDS {
                keys.push((c.when, match_subject(w)));
            }
        }
        keys
    }

    fn link_step(&self, i: usize, j: usize) -> Step {
        let o = self.o_cur(i);
        let c = self.c_cur(j);
        let o_item = &self.input.outlook.items[i];
        let c_item = &self.input.crm.items[j];
        let proj = match self.projection(None, o.content, c.content) {
            Ok(p) => p,
            Err(r) => return skip_step(Some(o_item.id.clone()), Some(c_item.id.clone()), vec![r]),
        };
        // One of our blocks whose original is no longer private: adopt it as a pair leaving busy-block
        // mode, so the original's content replaces the block now rather than on the next run.
        let (before, proj) = match proj {
            Projection::BusyBlockInOutlook if !c.content.private => (Some(proj), Projection::Full),
            Projection::BusyBlockInCrm if !o.content.private => (Some(proj), Projection::Full),
            p => (None, p),
        };
        let pair_type = c.content.activity_type.as_deref();
        let o2c = self.edit_gate(Direction::OutlookToCrm, pair_type, &o.content.when);
        let c2o = self.edit_gate(Direction::CrmToOutlook, pair_type, &c.content.when);
        let m = self.merge(&o, &c, &[], &[], None, true, before, proj, &o2c, &c2o);
        let tag = o.crm_link != Some(&c_item.id);
        let (writes, row) = self.pair_writes(
            c_item.id.clone(),
            o_item.id.clone(),
            &o,
            &c,
            &m,
            tag,
            proj,
            Side::Outlook,
            o_item.series.clone(),
            self.input.now,
            false,
        );
        let unverified: Vec<Side> = writes
            .iter()
            .map(Write::target)
            .filter(|side| match side {
                Side::Outlook => !m.o_pending.is_empty(),
                Side::Crm => !m.c_pending.is_empty(),
            })
            .collect();
        Step {
            kind: StepKind::Link,
            outlook_id: Some(o_item.id.clone()),
            crm_id: Some(c_item.id.clone()),
            writes,
            conflicts: Vec::new(),
            reasons: Vec::new(),
            row: RowChange::Upsert {
                replaces: None,
                row: StatusRow {
                    synced_at: self.input.now,
                    ..row
                },
            },
            outlook_fallback: None,
            unverified,
        }
    }

    fn create_in_crm_step(&self, i: usize) -> Step {
        let item = &self.input.outlook.items[i];
        let o = self.p.o(i);
        let dir = Direction::OutlookToCrm;
        let skip = |r| skip_step(Some(item.id.clone()), None, vec![r]);
        if !self.w.outlook_to_crm.contains(&o.when) {
            return skip(SkipReason::OutsideWindow { direction: dir });
        }
        let as_crm = self.outlook_as_crm(o);
        let Some(activity_type) = as_crm.activity_type.clone() else {
            return skip(SkipReason::NoActivityType);
        };
        if !self
            .s
            .outlook_to_crm
            .create_types
            .contains(Some(&activity_type))
        {
            return skip(SkipReason::CreateNotAllowed {
                direction: dir,
                activity_type: Some(activity_type),
            });
        }
        let busy = self.s.private_mode == PrivateMode::BusyBlock && o.private;
        let content = if busy {
            self.block_of(&as_crm)
        } else {
            as_crm.into_owned()
        };
        // Stamp the type on the event with the link, so a later change of the default type does not
        // retype entries that are already in the CRM.
        let mut stamp = Patch::default();
        if o.activity_type.is_none() {
            stamp.activity_type = Some(Some(activity_type));
        }
        let o_new = stamp.apply(o);
        let salt = self.released_o.get(&i).map(String::as_str).unwrap_or("");
        Step {
            kind: StepKind::CreateInCrm,
            outlook_id: Some(item.id.clone()),
            crm_id: None,
            writes: vec![
                Write::CreateCrm {
                    source: item.id.clone(),
                    content: content.clone(),
                    idempotency_key: idempotency_key("outlook-event", &item.id.0, salt),
                },
                Write::UpdateOutlook {
                    id: item.id.clone(),
                    if_version: Some(item.version.clone()),
                    patch: stamp,
                    crm_link: Some(CrmLink::CreatedInThisStep),
                },
            ],
            conflicts: Vec::new(),
            reasons: Vec::new(),
            row: RowChange::Upsert {
                replaces: None,
                row: StatusRow {
                    crm_id: CrmId(String::new()),
                    outlook_id: item.id.clone(),
                    outlook: SideState::of_normalized(None, redact_if(busy, o_new)),
                    crm: SideState::of_normalized(None, content),
                    projection: if busy {
                        Projection::BusyBlockInCrm
                    } else {
                        Projection::Full
                    },
                    origin: Side::Outlook,
                    series: item.series.clone(),
                    detached: None,
                    synced_at: self.input.now,
                    outlook_tagged: true,
                },
            },
            outlook_fallback: Some(SideState::of_normalized(
                Some(item.version.clone()),
                redact_if(busy, o.clone()),
            )),
            unverified: Vec::new(),
        }
    }

    fn create_in_outlook_step(&self, j: usize) -> Step {
        let item = &self.input.crm.items[j];
        let c = self.p.c(j);
        let dir = Direction::CrmToOutlook;
        let skip = |r| skip_step(None, Some(item.id.clone()), vec![r]);
        if !self.w.crm_to_outlook.contains(&c.when) {
            return skip(SkipReason::OutsideWindow { direction: dir });
        }
        if !self
            .s
            .crm_to_outlook
            .create_types
            .contains(c.activity_type.as_deref())
        {
            return skip(SkipReason::CreateNotAllowed {
                direction: dir,
                activity_type: c.activity_type.clone(),
            });
        }
        let busy = self.s.private_mode == PrivateMode::BusyBlock && c.private;
        let content = if busy { self.block_of(c) } else { c.clone() };
        let salt = self.released_c.get(&j).map(String::as_str).unwrap_or("");
        Step {
            kind: StepKind::CreateInOutlook,
            outlook_id: None,
            crm_id: Some(item.id.clone()),
            writes: vec![Write::CreateOutlook {
                source: item.id.clone(),
                content: content.clone(),
                crm_link: item.id.clone(),
                transaction_id: idempotency_key("crm-activity", &item.id.0, salt),
            }],
            conflicts: Vec::new(),
            reasons: Vec::new(),
            row: RowChange::Upsert {
                replaces: None,
                row: StatusRow {
                    crm_id: item.id.clone(),
                    outlook_id: OutlookId(String::new()),
                    outlook: SideState::of_normalized(None, content),
                    crm: SideState::of_normalized(
                        Some(item.version.clone()),
                        redact_if(busy, c.clone()),
                    ),
                    projection: if busy {
                        Projection::BusyBlockInOutlook
                    } else {
                        Projection::Full
                    },
                    origin: Side::Crm,
                    series: None,
                    detached: None,
                    synced_at: self.input.now,
                    outlook_tagged: true,
                },
            },
            outlook_fallback: None,
            unverified: Vec::new(),
        }
    }
}

/// A busy block we wrote (or one that looks exactly like it).
fn is_block(c: &Content) -> bool {
    BUSY_WORDS.contains(&c.subject.as_str())
        && c.body.is_empty()
        && c.location.is_empty()
        && c.attendees.is_empty()
}

/// The private original as the status table stores it: nothing the user chose to keep private.
fn redact(c: &Content) -> Content {
    Content {
        subject: String::new(),
        body: String::new(),
        location: String::new(),
        attendees: Default::default(),
        ..c.clone()
    }
}

fn redact_if(cond: bool, c: Content) -> Content {
    if cond { redact(&c) } else { c }
}

fn push_reason(reasons: &mut Vec<SkipReason>, r: &SkipReason) {
    if !reasons.contains(r) {
        reasons.push(r.clone());
    }
}

/// A deterministic key for a create: the same entry always gets the same key, so a retried create is
/// recognised; `salt` separates a re-creation after an edit beat a delete from the first creation.
fn idempotency_key(kind: &str, id: &str, salt: &str) -> String {
    let mut h = Sha256::new();
    h.update(kind.as_bytes());
    h.update([0]);
    h.update(id.as_bytes());
    h.update([0]);
    h.update(salt.as_bytes());
    h.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn skip_step(
    outlook_id: Option<OutlookId>,
    crm_id: Option<CrmId>,
    reasons: Vec<SkipReason>,
) -> Step {
    Step {
        kind: StepKind::Skip,
        outlook_id,
        crm_id,
        writes: Vec::new(),
        conflicts: Vec::new(),
        reasons,
        row: RowChange::Keep,
        outlook_fallback: None,
        unverified: Vec::new(),
    }
}

fn unlink_step(row: &StatusRow, conflicts: Vec<Conflict>) -> Step {
    Step {
        kind: StepKind::Unlink,
        outlook_id: Some(row.outlook_id.clone()),
        crm_id: Some(row.crm_id.clone()),
        writes: Vec::new(),
        conflicts,
        reasons: Vec::new(),
        row: RowChange::Remove { key: row.key() },
        outlook_fallback: None,
        unverified: Vec::new(),
    }
}

/// Writes our link property to an event we cannot see in the listing.
fn tag_step(row: &StatusRow, if_version: Option<&str>) -> Step {
    let mut new_row = row.clone();
    new_row.outlook_tagged = true;
    // The write moves the change key; leaving the version unknown makes the next run compare content.
    new_row.outlook.version = None;
    Step {
        kind: StepKind::Update,
        outlook_id: Some(row.outlook_id.clone()),
        crm_id: Some(row.crm_id.clone()),
        writes: vec![Write::UpdateOutlook {
            id: row.outlook_id.clone(),
            if_version: if_version.map(str::to_owned),
            patch: Patch::default(),
            crm_link: Some(CrmLink::Id(row.crm_id.clone())),
        }],
        conflicts: Vec::new(),
        reasons: Vec::new(),
        row: RowChange::Upsert {
            replaces: Some(row.key()),
            row: new_row,
        },
        outlook_fallback: None,
        unverified: vec![Side::Outlook],
    }
}

fn detach_step(row: &StatusRow, gone: Side, reasons: Vec<SkipReason>) -> Step {
    Step {
        kind: StepKind::Detach,
        outlook_id: Some(row.outlook_id.clone()),
        crm_id: Some(row.crm_id.clone()),
        writes: Vec::new(),
        conflicts: Vec::new(),
        reasons,
        row: RowChange::Upsert {
            replaces: Some(row.key()),
            row: StatusRow {
                detached: Some(gone),
                ..row.clone()
            },
        },
        outlook_fallback: None,
        unverified: Vec::new(),
    }
}

fn check_guards(input: &SyncInput, plan: &Plan) -> Result<(), Guard> {
    let safety = &input.settings.safety;
    let active: Vec<&StatusRow> = input.rows.iter().filter(|r| r.detached.is_none()).collect();
    let listing = plan.windows.listing();
    for side in [Side::Outlook, Side::Crm] {
        let (mode, empty) = match side {
            Side::Outlook => (input.outlook.mode, input.outlook.items.is_empty()),
            Side::Crm => (input.crm.mode, input.crm.items.is_empty()),
        };
        if mode == ListingMode::Full && empty {
            let linked = active
                .iter()
                .filter(|r| listing.contains(&r.side(side).content.when))
                .count();
            if linked >= safety.min_linked_for_guard.max(1) {
                return Err(Guard::SideEmpty { side, linked });
            }
        }
        let deletes = plan
            .steps
            .iter()
            .flat_map(|s| &s.writes)
            .filter(|w| w.is_delete() && w.target() == side)
            .count();
        let linked = active.len();
        if linked >= safety.min_linked_for_guard
            && deletes > 0
            && deletes as f64 > safety.max_delete_share * linked as f64
        {
            return Err(Guard::TooManyDeletes {
                side,
                deletes,
                linked,
                max_share: safety.max_delete_share,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::plan::Listing;

    fn content(subject: &str, private: bool) -> Content {
        let t = Utc.with_ymd_and_hms(2026, 11, 25, 9, 0, 0).unwrap();
        let mut c = Content::timed(subject, t, t + chrono::Duration::hours(1));
        c.private = private;
        c
    }

    fn input(mode: PrivateMode) -> SyncInput {
        SyncInput {
            now: Utc.with_ymd_and_hms(2026, 11, 25, 8, 0, 0).unwrap(),
            settings: Settings {
                private_mode: mode,
                ..Settings::default()
            },
            outlook: Listing::full(Vec::new()),
            crm: Listing::full(Vec::new()),
            rows: Vec::new(),
            allow_mass_delete: false,
        }
    }

    fn projection(
        mode: PrivateMode,
        before: Option<Projection>,
        o: &Content,
        c: &Content,
    ) -> Result<Projection, SkipReason> {
        let i = input(mode);
        let p = Prepared::new(&i);
        Engine::new(&i, &p)
            .expect("engine")
            .projection(before, o, c)
    }

    #[test]
    fn our_block_is_never_taken_for_a_private_original() {
        let block = content("Varattu", true);
        let original = content("Dentist", false);
        assert_eq!(
            projection(
                PrivateMode::BusyBlock,
                Some(Projection::Full),
                &block,
                &original
            ),
            Ok(Projection::Full)
        );
    }

    #[test]
    fn a_private_original_makes_the_other_side_a_block() {
        let original = content("Dentist", true);
        let copy = content("Dentist", false);
        assert_eq!(
            projection(
                PrivateMode::BusyBlock,
                Some(Projection::Full),
                &original,
                &copy
            ),
            Ok(Projection::BusyBlockInCrm)
        );
        assert_eq!(
            projection(
                PrivateMode::BusyBlock,
                Some(Projection::Full),
                &copy,
                &original
            ),
            Ok(Projection::BusyBlockInOutlook)
        );
    }

    #[test]
    fn skip_mode_freezes_any_pair_with_a_private_side() {
        assert_eq!(
            projection(
                PrivateMode::Skip,
                Some(Projection::Full),
                &content("a", false),
                &content("a", true)
            ),
            Err(SkipReason::PrivateEntry)
        );
        assert_eq!(
            projection(
                PrivateMode::Skip,
                None,
                &content("a", false),
                &content("a", false)
            ),
            Ok(Projection::Full)
        );
    }

    #[test]
    fn full_mode_ignores_privacy() {
        assert_eq!(
            projection(
                PrivateMode::Full,
                Some(Projection::BusyBlockInCrm),
                &content("a", true),
                &content("b", true)
            ),
            Ok(Projection::Full)
        );
    }

    #[test]
    fn redaction_keeps_time_type_status_and_privacy_only() {
        let mut c = content("Dentist", true);
        c.body = "root canal".into();
        c.location = "Clinic".into();
        c.attendees.insert("dr@example.com".into());
        c.status = Some("Suunniteltu".into());
        let r = redact(&c);
        assert_eq!(r.subject, "");
        assert_eq!(r.body, "");
        assert_eq!(r.location, "");
        assert!(r.attendees.is_empty());
        assert_eq!((r.when, r.status, r.private), (c.when, c.status, true));
    }

    #[test]
    fn idempotency_key_is_stable_and_salted() {
        let a = idempotency_key("crm-activity", "42", "");
        assert_eq!(a, idempotency_key("crm-activity", "42", ""));
        assert_eq!(a.len(), 32);
        assert_ne!(a, idempotency_key("crm-activity", "43", ""));
        assert_ne!(a, idempotency_key("crm-activity", "42", "o7"));
        assert_ne!(a, idempotency_key("outlook-event", "42", ""));
    }

    #[test]
    fn is_block_requires_the_whole_neutral_shape() {
        assert!(is_block(&content("Busy", true)));
        let mut c = content("Busy", true);
        c.body = "x".into();
        assert!(!is_block(&c));
        assert!(!is_block(&content("Lunch", true)));
    }

    #[test]
    fn duplicate_ids_in_a_listing_are_rejected() {
        let item = crate::model::CrmItem {
            id: CrmId("1".into()),
            version: "u".into(),
            modified: Utc.with_ymd_and_hms(2026, 11, 25, 8, 0, 0).unwrap(),
            content: content("a", false),
        };
        let mut i = input(PrivateMode::Full);
        i.crm = Listing::full(vec![item.clone(), item]);
        assert!(matches!(
            plan(&i),
            Err(PlanError::DuplicateItem {
                side: Side::Crm,
                ..
            })
        ));
    }
}
