//! Background work: leased jobs in Postgres, shared by all server replicas.
//!
//! # Model
//! Each pairing has one row in `jobs` per [`JobKind`] (`outlook_to_crm`, `crm_to_outlook`), created by
//! [`JobQueue::ensure_jobs`]. A row is *due* when `run_at <= now()` and *leased* while
//! `locked_until > now()`. A [`Worker`] in every replica repeatedly:
//!
//! 1. **claims** up to its free slots of due, unleased rows in one short statement
//!    (`FOR UPDATE SKIP LOCKED`), writing `locked_until = now() + lease`, `locked_by = <worker id>` and a
//!    fresh fencing token `lease_id`;
//! 2. **runs** each claimed job outside any transaction with the [`JobHandler`] (the sync runner), while a
//!    heartbeat extends the lease every `heartbeat`;
//! 3. **reports**: success → [`JobQueue::complete`] clears the lease and the failure count and sets
//!    `run_at` to the handler's [`JobOutcome`] (or keeps it due if the job was enqueued during the run);
//!    failure → [`JobQueue::fail`] counts the attempt, stores the message and sets `run_at` after an
//!    exponential, jittered, capped [`Backoff`] (or the error's `Retry-After` if later).
//!
//! A killed process simply stops heartbeating; its leases expire and any replica claims those rows, still
//! due, at its next poll. On graceful shutdown a worker stops claiming, lets in-flight runs finish within
//! `shutdown_grace`, then cancels the rest and [releases](JobQueue::release) them for immediate takeover.
//!
//! # Schedules and enqueueing
//! The queue stores when to run next; the handler decides it ([`Schedule`]: Outlook → CRM every 60 s as a
//! fallback poll, CRM → Outlook every `crm_poll_seconds`). Both kinds run the same work (the two-way
//! calendar sync and email tracking), so a successful run also *covers* the other kind
//! ([`JobOutcome::covering`]): completing it postpones the other kind's scheduled run in the same
//! statement (never a running, backing-off or newly enqueued one), and an idle pairing costs one run
//! per interval, not two. [`JobQueue::enqueue_now`] (sync now, login, a
//! Graph change notification) moves `run_at` to now and `NOTIFY`s [`WAKE_CHANNEL`] so idle workers wake
//! at once. Repeated enqueues coalesce: there is one row and `run_at` only moves earlier. A running job
//! keeps its lease; the enqueue is remembered in `run_at` and the job runs again right after.
//!
//! # Wiring
//! The sync runner is the [`JobHandler`]; `serve` spawns one [`Worker`] per process and shuts it down
//! after the HTTP server on SIGTERM. Request handlers only touch the queue ([`JobQueue::ensure_jobs`] on
//! pairing, [`JobQueue::enqueue_now`] on sync now / login / notification, [`JobQueue::remove_jobs`] on
//! unpair).
//!
//! ```no_run
//! use std::sync::Arc;
//!
//! use crm_server::{metrics::Metrics, worker::*};
//!
//! struct SyncRunner {
//!     schedule: Schedule,
//! }
//!
//! impl JobHandler for SyncRunner {
//!     async fn run(&self, job: &ClaimedJob) -> Result<JobOutcome, JobError> {
//!         // Sync `job.pairing_id` in the direction `job.kind`; map failures to a user-safe message,
//!         // e.g. `JobError::new("CRM unreachable").with_retry_after(retry_after)` on a 429.
//!         Ok(self.schedule.next(job.kind))
//!     }
//! }
//!
//! async fn start(pool: sqlx::PgPool, config: &crm_server::Config, metrics: Arc<Metrics>) {
//!     let runner = SyncRunner { schedule: Schedule::from_config(config) };
//!     let worker = Worker::spawn(JobQueue::new(pool), runner, WorkerConfig::default(), metrics);
//!     // ... serve until the shutdown signal ...
//!     let report = worker.shutdown().await;
//!     tracing::info!(?report, "worker stopped");
//! }
//! ```
//!
//! # Invariants
//! - **One run per (pairing, kind) at a time.** The row is unique; only a claim can start a run, and a claim
//!   only takes a row whose lease has expired. A run stops before its lease can expire: the heartbeat
//!   gives up at `¾ lease` after its last renewal was *sent* (measured on this machine's monotonic clock),
//!   and the handler's future is dropped. Postgres sets each expiry at or after that moment, so by the time
//!   any other worker can claim the row, the previous run is no longer executing.
//! - **All lease times are Postgres' `now()`**; no machine compares its wall clock with another's.
//! - **A stale worker cannot clobber a new lease.** `extend_lease`, `complete`, `fail` and `release` match
//!   the row by `lease_id`, which every claim renews (migration `0003_worker.sql`); a late report from a
//!   run whose lease was taken over fails with [`QueueError::LeaseLost`] and changes nothing.
//! - **Runs are cancellable and repeatable.** A run may be dropped at any await point (lease lost,
//!   shutdown) or die with its process, and then runs again; the sync's idempotency rules make that safe.
//! - **No secrets in `last_error`.** [`JobError`] messages are written by the handler for the user to see.
//!
//! Metrics: `jobs_in_flight` (gauge, this process). Run outcomes are counted by the sync runner
//! (`sync_runs`); [`WorkerHandle::shutdown`] returns this worker's counts by how runs ended.

mod backoff;
mod queue;
mod runner;

pub use backoff::Backoff;
pub use queue::{
    ClaimedJob, Completed, Enqueued, Failed, JobKind, JobQueue, JobState, QueueError, Trigger,
    WAKE_CHANNEL,
};
pub use runner::{
    JobError, JobHandler, JobOutcome, Schedule, Worker, WorkerConfig, WorkerHandle, WorkerReport,
    default_worker_id,
};
