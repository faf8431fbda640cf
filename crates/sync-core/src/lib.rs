//! # sync-core: the reconciliation engine of CRM-service for Outlook
//!
//! Decides how an Outlook calendar and a CRM-service user's activities are brought into agreement.
//!
//! **Architecture invariant:** the core does no IO, reads no clock and knows no HTTP, Graph or CRM wire
//! types, and so cannot fail on the network. The runner in the server lists both sides, confirms
//! deletions, calls [`plan`], applies the [`Plan`] and stores the status rows.
//!
//! ## How the runner drives it
//! 1. Compute [`Windows::compute`]`(&settings, now)` and list **both** sides over
//!    [`Windows::listing`] (the union of the two directional windows). Normalise each Graph event into an
//!    [`OutlookItem`] (immutable id, `changeKey`, our `CrmActivityId` and chosen-type extended
//!    properties, `isCancelled`, series info) and each activity into a [`CrmItem`] (times via
//!    [`time::crm_local_to_utc`]).
//! 2. Confirm deletions: a linked id reported `@removed` or missing from the CRM's ID scan goes into
//!    [`Listing::confirmed_deleted`] only after a GET answered 404.
//! 3. Call [`plan`] with the pairing's [`StatusRow`]s and `now`. A [`Guard`] error means: stop, report,
//!    delete nothing (rerun with [`SyncInput::allow_mass_delete`] once the user confirms).
//! 4. For each [`Step`] in order: perform its [`Write`]s in order, collect a [`WriteOutcome`] for each,
//!    then store [`Step::fold`]`(&outcomes)` — a [`RowChange`] — in the same transaction as the write
//!    record. Storing the versions our writes returned is what keeps our own writes from coming back
//!    as changes (echo suppression); comparing normalised content hashes (after the private-entry
//!    projection) catches the rest.
//! 5. [`Step::reasons`] and [`Step::conflicts`] are what the pane shows per item.
//!
//! See the decision table below for what happens in each case.
#![doc = include_str!("../DECISIONS.md")]

mod engine;
mod fold;
pub mod model;
pub mod plan;
pub mod settings;
pub mod status;
pub mod time;

pub use engine::plan;
pub use fold::{FoldError, WriteOutcome};
pub use model::{
    Content, CrmId, CrmItem, Field, OutlookId, OutlookItem, Patch, SeriesInstance, Side, When,
};
pub use plan::{
    Conflict, CrmLink, CrmListing, Direction, Guard, Listing, ListingMode, OutlookListing, Plan,
    PlanCounts, PlanError, RowChange, SkipReason, Step, StepKind, SyncInput, Write,
};
pub use settings::{
    DirectionSettings, Language, PrivateMode, Safety, Settings, SettingsError, TypeSet,
};
pub use status::{Projection, RowKey, SideState, StatusRow, content_hash};
pub use time::{Window, Windows};
