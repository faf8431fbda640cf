//! # sync-core: the reconciliation engine of CRM-service for Outlook
//!
//! Decides how an Outlook calendar and a CRM-service user's activities are brought into agreement.
//!
//! **Architecture invariant:** the core does no IO, reads no clock and knows no HTTP, Graph or CRM wire
//! types, and so cannot fail on the network. The runner in the server lists both sides, confirms
//! deletions, calls [`plan()`], applies the [`Plan`] and stores the status rows.
//!
//! ## How the runner drives it
//! 1. **List.** Compute [`Windows::compute`]`(&settings, now)` and list **both** sides over
//!    [`Windows::listing`] (the union of the two directional windows, so the partner of anything that may
//!    flow is visible). Normalise each Graph event into an [`OutlookItem`] (immutable id, `changeKey`,
//!    `lastModifiedDateTime`, our `CrmActivityId` and chosen-type extended properties, `isCancelled`,
//!    series info) and each activity into a [`CrmItem`] (times via [`time::crm_local_to_utc`]). Use
//!    [`ListingMode::Full`] on the first run, after re-pairing, after a 410, when the day changes and after
//!    a settings change; otherwise [`ListingMode::Changes`] (delta / `updated_at` watermark) plus the
//!    entries of steps that did not complete last time, fetched by id.
//! 2. **Confirm deletions.** A linked id reported `@removed` or missing from the CRM's ID scan goes into
//!    [`Listing::confirmed_deleted`] only after a GET answered 404. An entry the GET finds (it left the
//!    window) is passed as an item instead. Also confirm the activity an unlinked event's link property
//!    points at when the listing lacks it.
//! 3. **Resolve lost creates.** Before planning, look up the creates of an earlier run whose outcome is
//!    unknown (persist the [`Step`], it is serde, as the create intent before writing): if the entry
//!    exists, store [`Step::fold`]`(&[WriteOutcome::Created { id, version: None }])`.
//! 4. **Plan.** Call [`plan()`] with the pairing's [`StatusRow`]s and `now`. A [`Guard`] error means: stop,
//!    report, delete nothing (run again with [`SyncInput::allow_mass_delete`] once the user confirms).
//! 5. **Apply.** For each [`Step`] in order: perform its [`Write`]s in order (stop at the first failure),
//!    collect a [`WriteOutcome`] for each, and store [`Step::fold`]`(&outcomes)` — a [`RowChange`] — in
//!    the same transaction as the step's record. Storing the versions our writes returned is what keeps
//!    our own writes from coming back as changes (echo suppression); comparing normalised content hashes
//!    after the private-entry projection catches the rest. Steps are independent of each other.
//! 6. **Report.** [`Plan::counts`], and per entry [`Step::reasons`] and [`Step::conflicts`], are what the
//!    run report and the pane show.
//!
//! ## Where things are
//! - [`model`]: the item model shared by both sides ([`Content`], [`When`], [`Patch`]).
//! - [`settings`]: the guide's settings and their limits.
//! - [`time`]: windows in the user's time zone, CRM local time with DST edges.
//! - [`status`]: status rows and the content hash.
//! - [`plan`](mod@plan): inputs, steps, writes, reasons, guards.
//! - `engine` (private): the decisions; `fold` (private): folding results into rows.
//!
//! Tests: unit tests beside the code; `tests/decision_table.rs` has one test per row below (checked
//! against this table); `tests/properties.rs` runs random histories against an in-memory model of both
//! systems and of the runner (`tests/common`). `examples/bench_plan.rs` times planning 10,000 entries.
//!
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
