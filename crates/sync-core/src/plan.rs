//! The plan: what the runner must do, and the status rows it should store afterwards.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::model::{Content, CrmId, CrmItem, Field, OutlookId, OutlookItem, Patch, Side};
use crate::settings::{Settings, SettingsError};
use crate::status::{RowKey, StatusRow};
use crate::time::Windows;

/// How complete a side's listing is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListingMode {
    /// `items` is everything the side holds in [`Windows::listing`]. A linked entry missing from it is
    /// *not listed* (it left the window, or the listing lags): it is frozen, never deleted.
    #[default]
    Full,
    /// `items` holds only what changed since the last run (Graph delta, CRM `updated_at` watermark). A linked
    /// entry missing from it is unchanged, and its last synced content stands in for it.
    ///
    /// Unlinked entries are only matched against what is listed, so use [`ListingMode::Full`] on the first
    /// run, after re-pairing, after a lost delta state (410), when the window moved (a new day) and after
    /// a settings change; that is what keeps adoption from creating duplicates. A delta also never
    /// reports an entry again by itself, so add every entry of a step that did not complete in the
    /// previous run (fetched by id), or it would wait for its next edit.
    Changes,
}

/// One side's input.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Listing<T, Id> {
    pub items: Vec<T>,
    pub mode: ListingMode,
    /// Ids the runner has **confirmed** deleted (GET answered 404). Nothing else ever counts as a deletion.
    pub confirmed_deleted: Vec<Id>,
}

impl<T, Id> Listing<T, Id> {
    pub fn full(items: Vec<T>) -> Self {
        Listing {
            items,
            mode: ListingMode::Full,
            confirmed_deleted: Vec::new(),
        }
    }

    pub fn changes(items: Vec<T>) -> Self {
        Listing {
            items,
            mode: ListingMode::Changes,
            confirmed_deleted: Vec::new(),
        }
    }

    pub fn with_deleted(mut self, ids: Vec<Id>) -> Self {
        self.confirmed_deleted = ids;
        self
    }
}

pub type OutlookListing = Listing<OutlookItem, OutlookId>;
pub type CrmListing = Listing<CrmItem, CrmId>;

/// Everything one planning run looks at.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SyncInput {
    /// The instant the run is planned for; the core reads no clock.
    pub now: DateTime<Utc>,
    pub settings: Settings,
    pub outlook: OutlookListing,
    pub crm: CrmListing,
    /// The pairing's status rows.
    pub rows: Vec<StatusRow>,
    /// Set after the user confirmed a guarded run in the pane: the safety guards are not applied.
    #[serde(default)]
    pub allow_mass_delete: bool,
}

/// A sync direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    OutlookToCrm,
    CrmToOutlook,
}

impl Direction {
    pub fn from_side(source: Side) -> Direction {
        match source {
            Side::Outlook => Direction::OutlookToCrm,
            Side::Crm => Direction::CrmToOutlook,
        }
    }

    pub fn source(self) -> Side {
        match self {
            Direction::OutlookToCrm => Side::Outlook,
            Direction::CrmToOutlook => Side::Crm,
        }
    }

    pub fn target(self) -> Side {
        self.source().other()
    }
}

/// Why an entry (or one direction of a pair) was not synced; machine-readable for the pane.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum SkipReason {
    /// An Outlook entry with no type chosen and no default type: choose a type for it in the item pane.
    NoActivityType,
    /// "Luo uusia" of this direction does not include the entry's type.
    CreateNotAllowed {
        direction: Direction,
        activity_type: Option<String>,
    },
    /// "Muokkaa/Poista" of this direction does not include the pair's type; the edit was not propagated.
    EditNotAllowed {
        direction: Direction,
        activity_type: Option<String>,
    },
    /// "Muokkaa/Poista" of this direction does not include the pair's type; the deletion was not
    /// propagated and the pair is frozen.
    DeleteNotAllowed {
        direction: Direction,
        activity_type: Option<String>,
    },
    /// The entry is outside this direction's window ([today − history, today + future]).
    OutsideWindow { direction: Direction },
    /// A private entry while private entries are set to "do not sync".
    PrivateEntry,
    /// A recurring series' master; its occurrences are synced one by one.
    SeriesMaster,
    /// A cancelled Outlook entry with nothing linked to it.
    Cancelled,
    /// The event carries our link to a CRM activity the run cannot see; creating another would duplicate it.
    LinkedActivityNotListed { crm_id: CrmId },
    /// One side was deleted while its partner was not listed, so the partner's state is unknown; the pair
    /// is frozen instead of deleting blind.
    PartnerNotListed,
}

/// A same-field conflict or an edit that beat a deletion; recorded for the pane.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Conflict {
    /// Both sides changed `field` since the last sync; the later change (by each side's modification time,
    /// Outlook on a tie) won.
    Field {
        field: Field,
        outlook_value: String,
        crm_value: String,
        winner: Side,
    },
    /// One side was deleted while the other was edited; the edit won, the pair was unlinked and the edited
    /// entry is treated as new.
    EditBeatDelete { deleted: Side },
}

/// Which CRM activity an Outlook event should be tagged with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CrmLink {
    Id(CrmId),
    /// The id the `CreateCrm` earlier in the same step returned.
    CreatedInThisStep,
}

/// One write the runner performs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Write {
    /// Create a CRM activity with exactly these fields. `idempotency_key` is deterministic: record it with
    /// the create intent and look the activity up by it before any retry; an activity found that way is
    /// answered as [`WriteOutcome::Created`](crate::WriteOutcome::Created) with `version: None`.
    CreateCrm {
        source: OutlookId,
        content: Content,
        idempotency_key: String,
    },
    /// Create an Outlook event with exactly these fields, our `CrmActivityId` property set to `crm_link` and
    /// the chosen-type property set to `content.activity_type`. Use `transaction_id` as Graph's
    /// `transactionId` so a retried create does not duplicate.
    ///
    /// Before creating, look for an event that already carries `CrmActivityId = crm_link` anywhere in the
    /// calendar (`$filter` on the extended property): after a forced removal it may lie outside the
    /// listing window, where the planner cannot see it. If one exists, do not create; answer
    /// [`WriteOutcome::Created`](crate::WriteOutcome::Created) with its id and `version: None`, so the next
    /// run compares its real content with the row instead of trusting a version.
    CreateOutlook {
        source: CrmId,
        content: Content,
        crm_link: CrmId,
        transaction_id: String,
    },
    /// PATCH the listed fields of a CRM activity.
    UpdateCrm {
        id: CrmId,
        patch: Patch,
    },
    /// PATCH an Outlook event (`If-Match: if_version` when known); `crm_link` sets our `CrmActivityId`
    /// property. `patch.activity_type` and `patch.status` are our extended properties.
    UpdateOutlook {
        id: OutlookId,
        if_version: Option<String>,
        patch: Patch,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        crm_link: Option<CrmLink>,
    },
    DeleteCrm {
        id: CrmId,
    },
    /// Delete an Outlook event (`If-Match: if_version` when known, so an edit made since the listing
    /// stops the delete).
    DeleteOutlook {
        id: OutlookId,
        if_version: Option<String>,
    },
}

impl Write {
    pub fn target(&self) -> Side {
        match self {
            Write::CreateCrm { .. } | Write::UpdateCrm { .. } | Write::DeleteCrm { .. } => {
                Side::Crm
            }
            Write::CreateOutlook { .. }
            | Write::UpdateOutlook { .. }
            | Write::DeleteOutlook { .. } => Side::Outlook,
        }
    }

    pub fn is_delete(&self) -> bool {
        matches!(self, Write::DeleteCrm { .. } | Write::DeleteOutlook { .. })
    }

    pub fn is_create(&self) -> bool {
        matches!(self, Write::CreateCrm { .. } | Write::CreateOutlook { .. })
    }
}

/// What happens to the status table when a step is applied.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
#[expect(
    clippy::large_enum_variant,
    reason = "a row is the payload of nearly every step; boxing it would only add an allocation"
)]
pub enum RowChange {
    /// Leave the stored rows as they are.
    Keep,
    /// Delete the row with key `replaces` (if any) and any row with the same `crm_id` or the same
    /// `outlook_id` as `row` (both ids are unique per pairing), then store `row`. Replacing by either id
    /// matters when an idempotent create turned out to find an entry another step of the same plan also
    /// linked.
    Upsert {
        replaces: Option<RowKey>,
        row: StatusRow,
    },
    /// Forget the row (unlink).
    Remove { key: RowKey },
}

/// The main effect of a step, for counts and the pane.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    CreateInCrm,
    CreateInOutlook,
    /// Writes to one or both sides of a linked pair.
    Update,
    DeleteInCrm,
    DeleteInOutlook,
    /// Adopt an existing pair (by our link property or an exact match); may carry writes.
    Link,
    /// Forget a row; nothing is written to either side.
    Unlink,
    /// One side was deleted and the deletion may not propagate: the row is kept, frozen.
    Detach,
    /// Only the status row changes (a version moved without a content change, or an edit was dropped by
    /// the rules).
    Refresh,
    /// Nothing happens; `reasons` say why.
    Skip,
}

/// One unit of work: the writes for one entry or pair, applied in order, and the row to store after.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub kind: StepKind,
    pub outlook_id: Option<OutlookId>,
    pub crm_id: Option<CrmId>,
    pub writes: Vec<Write>,
    pub conflicts: Vec<Conflict>,
    pub reasons: Vec<SkipReason>,
    /// The row change if every write succeeds. Versions of written sides are `None` and the id of a
    /// created entry is empty here; [`Step::fold`] fills them from the real results.
    pub row: RowChange,
    /// The Outlook side's state if the tagging write of a create step fails (the create itself stands).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) outlook_fallback: Option<crate::status::SideState>,
    /// Sides whose stored content will not be exactly what they hold after this step: written without
    /// having been read in this run (a changes listing did not mention them), or holding an edit that may
    /// not flow yet. The version a write to them returns is not stored, so a later read compares content
    /// instead of trusting the version.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) unverified: Vec<Side>,
}

/// The result of [`crate::plan()`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub now: DateTime<Utc>,
    pub windows: Windows,
    pub steps: Vec<Step>,
}

/// Counts of a plan by step kind, for run reports and metrics.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanCounts {
    pub create_in_crm: usize,
    pub create_in_outlook: usize,
    pub update: usize,
    pub delete_in_crm: usize,
    pub delete_in_outlook: usize,
    pub link: usize,
    pub unlink: usize,
    pub detach: usize,
    pub refresh: usize,
    pub skip: usize,
    pub conflicts: usize,
    pub writes: usize,
}

impl Plan {
    pub fn counts(&self) -> PlanCounts {
        let mut c = PlanCounts::default();
        for s in &self.steps {
            match s.kind {
                StepKind::CreateInCrm => c.create_in_crm += 1,
                StepKind::CreateInOutlook => c.create_in_outlook += 1,
                StepKind::Update => c.update += 1,
                StepKind::DeleteInCrm => c.delete_in_crm += 1,
                StepKind::DeleteInOutlook => c.delete_in_outlook += 1,
                StepKind::Link => c.link += 1,
                StepKind::Unlink => c.unlink += 1,
                StepKind::Detach => c.detach += 1,
                StepKind::Refresh => c.refresh += 1,
                StepKind::Skip => c.skip += 1,
            }
            c.conflicts += s.conflicts.len();
            c.writes += s.writes.len();
        }
        c
    }

    /// Whether applying the plan changes nothing on either side.
    pub fn is_quiet(&self) -> bool {
        self.steps.iter().all(|s| s.writes.is_empty())
    }
}

/// A safety guard stopped the run before anything was deleted.
#[derive(Clone, Debug, PartialEq, Error, Serialize, Deserialize)]
#[serde(tag = "guard", rename_all = "snake_case")]
pub enum Guard {
    #[error(
        "{side:?} listed nothing while {linked} linked pairs are in the window; stopped instead of syncing"
    )]
    SideEmpty { side: Side, linked: usize },
    #[error(
        "the run would delete {deletes} of {linked} linked entries in {side:?} (more than {max_share} of them); stopped"
    )]
    TooManyDeletes {
        side: Side,
        deletes: usize,
        linked: usize,
        max_share: f64,
    },
}

/// Why no plan could be made.
#[derive(Clone, Debug, PartialEq, Error)]
pub enum PlanError {
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error("the {side:?} listing contains id {id} twice")]
    DuplicateItem { side: Side, id: String },
    #[error("the status table has two rows for {side:?} id {id}")]
    DuplicateRow { side: Side, id: String },
    #[error("safety guard: {0}")]
    Guard(#[from] Guard),
}
