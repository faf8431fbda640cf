//! The sync runner: one pairing's calendar ↔ CRM activities, run by the worker.
//!
//! A run (either job kind; they serialize on a per-pairing advisory lock):
//! 1. reads settings, status rows and cursors from Postgres;
//! 2. lists Outlook changes (calendarView delta from the stored deltaLink; a fresh round — first run,
//!    new window, or 410 — lists the window in full with our marks) and confirms each `@removed` with
//!    a GET before it counts as deleted;
//! 3. lists CRM changes (`updated_at` watermark with overlap) and, every few minutes, scans the ids of
//!    the user's activities to find deletions, each confirmed by a GET answering 404;
//! 4. asks sync-core for a plan and applies it step by step with idempotent writes (Graph creates carry
//!    a deterministic `transactionId`; CRM creates write an intent first and look it up before a retry),
//!    storing each step's status-row change in its own transaction;
//! 5. records what it did for the pane and the metrics.
//!
//! An idle cycle costs one Graph delta request and one CRM listing request.
//!
//! With automatic email tracking on, every run also runs [`mail::track`] under the same lock (one more
//! Graph request per tracked folder when idle; nothing when the setting is off).

pub mod convert;
pub mod mail;
mod runner;

pub use runner::{RUN_JOURNAL_TARGET, RunEnd, SyncHandler, run_pairing};
