//! The worker loop: claims due jobs, runs them with bounded concurrency while keeping their leases alive,
//! reports the outcome, and stops gracefully.

use std::{future::Future, panic::AssertUnwindSafe, sync::Arc, time::Duration};

use futures::FutureExt;
use sqlx::{
    PgPool,
    postgres::{PgListener, PgPoolOptions},
};
use tokio::{
    sync::{Notify, watch},
    task::{JoinError, JoinSet},
    time::{Instant, MissedTickBehavior},
};
use tracing::Instrument;

use super::{
    backoff::Backoff,
    queue::{ClaimedJob, JobKind, JobQueue, QueueError, WAKE_CHANNEL},
};
use crate::{config::Config, metrics::Metrics};

/// Runs one kind of job for one pairing. The sync runner implements this.
///
/// A run may be cancelled at any await point — when its lease cannot be kept, or at the end of a
/// graceful shutdown — so it must be safe to stop anywhere and to run again (the sync's idempotency
/// rules guarantee that). Cancellation only happens at await points, so a run must not block its thread.
/// It must not hold secrets in its error messages: they are stored and shown.
///
/// Exclusivity is per (pairing, kind): the two directions of one pairing may run at the same time.
pub trait JobHandler: Send + Sync + 'static {
    fn run(&self, job: &ClaimedJob) -> impl Future<Output = Result<JobOutcome, JobError>> + Send;
}

/// A successful run's verdict: when the job should run next (unless something enqueues it sooner).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobOutcome {
    pub run_again_in: Duration,
    /// The run also did the work of the pairing's job of this kind: its scheduled run moves to this
    /// long from now (see [`JobQueue::complete_covering`](super::JobQueue::complete_covering)).
    pub covers: Option<(JobKind, Duration)>,
}

impl JobOutcome {
    pub fn run_again_in(delay: Duration) -> Self {
        Self {
            run_again_in: delay,
            covers: None,
        }
    }

    /// Also postpones the pairing's scheduled `kind` job to `delay` from now.
    pub fn covering(mut self, kind: JobKind, delay: Duration) -> Self {
        self.covers = Some((kind, delay));
        self
    }
}

/// A failed run. The message is stored in `jobs.last_error` and may be shown to the user, so it must
/// hold no secret and no item content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct JobError {
    message: String,
    retry_after: Option<Duration>,
}

impl JobError {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            retry_after: None,
        }
    }

    /// Retry no sooner than `delay` (a `Retry-After` from Graph or the CRM); the backoff still applies
    /// when it is longer.
    pub fn with_retry_after(mut self, delay: Duration) -> Self {
        self.retry_after = Some(delay);
        self
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }
}

/// The normal cadence of each kind, for handlers to return in their [`JobOutcome`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    /// Outlook → CRM runs on login and on each change notification; this is the fallback poll for when
    /// notifications go missing.
    pub outlook_to_crm: Duration,
    /// CRM → Outlook has no notifications: it polls.
    pub crm_to_outlook: Duration,
}

impl Schedule {
    pub const OUTLOOK_FALLBACK_POLL: Duration = Duration::from_secs(60);
    pub const MIN_CRM_POLL: Duration = Duration::from_secs(10);

    /// 60 s fallback poll for Outlook → CRM; `crm_poll_seconds` (at least 10) for CRM → Outlook.
    pub fn from_config(config: &Config) -> Self {
        Self {
            outlook_to_crm: Self::OUTLOOK_FALLBACK_POLL,
            crm_to_outlook: Duration::from_secs(config.crm_poll_seconds).max(Self::MIN_CRM_POLL),
        }
    }

    pub fn interval(&self, kind: JobKind) -> Duration {
        match kind {
            JobKind::OutlookToCrm => self.outlook_to_crm,
            JobKind::CrmToOutlook => self.crm_to_outlook,
        }
    }

    /// The outcome of a successful run of `kind` on the normal schedule.
    pub fn next(&self, kind: JobKind) -> JobOutcome {
        JobOutcome::run_again_in(self.interval(kind))
    }

    /// The outcome of a successful run of `kind` that did the other kind's work too: the other kind's
    /// scheduled run moves to its interval from now plus a twentieth (at least 1 s), so that `kind`
    /// leads and the other stays a fallback that runs only when the leader does not succeed in time.
    pub fn next_covering_other(&self, kind: JobKind) -> JobOutcome {
        let other = match kind {
            JobKind::OutlookToCrm => JobKind::CrmToOutlook,
            JobKind::CrmToOutlook => JobKind::OutlookToCrm,
        };
        let interval = self.interval(other);
        let margin = (interval / 20).max(Duration::from_secs(1));
        self.next(kind).covering(other, interval + margin)
    }
}

impl Default for Schedule {
    fn default() -> Self {
        Self {
            outlook_to_crm: Self::OUTLOOK_FALLBACK_POLL,
            crm_to_outlook: Duration::from_secs(60),
        }
    }
}

#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Written to `jobs.locked_by`; unique per process (see [`default_worker_id`]).
    pub worker_id: String,
    /// Jobs running at once in this process.
    pub concurrency: usize,
    /// How often an idle worker looks for due jobs (notifications usually wake it sooner).
    pub poll_interval: Duration,
    /// How long a claim or heartbeat holds a job: a killed process's jobs are taken over this long after
    /// its last heartbeat.
    pub lease: Duration,
    /// How often a running job's lease is extended; at most a quarter of `lease` (clamped).
    pub heartbeat: Duration,
    /// On shutdown, how long in-flight jobs may take to finish before they are cancelled and released.
    pub shutdown_grace: Duration,
    pub backoff: Backoff,
    /// `LISTEN` for [`WAKE_CHANNEL`] so enqueued jobs start without waiting for the next poll.
    pub listen: bool,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            worker_id: default_worker_id(),
            concurrency: 8,
            poll_interval: Duration::from_secs(1),
            lease: Duration::from_secs(30),
            heartbeat: Duration::from_secs(6),
            shutdown_grace: Duration::from_secs(10),
            backoff: Backoff::default(),
            listen: true,
        }
    }
}

/// `<host>-<pid>-<random>`: readable in `jobs.locked_by`, unique even when a pid is reused.
pub fn default_worker_id() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "worker".to_owned());
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!("{host}-{}-{}", std::process::id(), &random[..8])
}

/// Counts of finished runs over a worker's life, returned by [`WorkerHandle::shutdown`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WorkerReport {
    pub completed: u64,
    pub failed: u64,
    /// Runs stopped because their lease was taken over or their job removed.
    pub lease_lost: u64,
    /// Runs cancelled by shutdown and given back to the queue.
    pub released: u64,
    /// Runs whose outcome could not be recorded (database unreachable); their lease expires and the job
    /// runs again.
    pub unrecorded: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RunEnd {
    /// `due_now`: it was enqueued during the run and should be claimed again at once.
    Completed {
        due_now: bool,
    },
    Failed,
    LeaseLost,
    Released,
    Unrecorded,
}

impl RunEnd {
    fn label(self) -> &'static str {
        match self {
            RunEnd::Completed { .. } => "completed",
            RunEnd::Failed => "failed",
            RunEnd::LeaseLost => "lease_lost",
            RunEnd::Released => "released",
            RunEnd::Unrecorded => "unrecorded",
        }
    }
}

impl WorkerReport {
    fn record(&mut self, end: RunEnd) {
        match end {
            RunEnd::Completed { .. } => self.completed += 1,
            RunEnd::Failed => self.failed += 1,
            RunEnd::LeaseLost => self.lease_lost += 1,
            RunEnd::Released => self.released += 1,
            RunEnd::Unrecorded => self.unrecorded += 1,
        }
    }
}

pub struct Worker;

impl Worker {
    /// Starts the worker loop on the current Tokio runtime. Dropping the handle stops the worker as
    /// [`WorkerHandle::shutdown`] does, but without waiting for it.
    pub fn spawn<H: JobHandler>(
        queue: JobQueue,
        handler: H,
        mut config: WorkerConfig,
        metrics: Arc<Metrics>,
    ) -> WorkerHandle {
        // Zero periods would make Tokio's intervals panic.
        const MIN_PERIOD: Duration = Duration::from_millis(10);
        config.concurrency = config.concurrency.max(1);
        config.poll_interval = config.poll_interval.max(MIN_PERIOD);
        config.lease = config.lease.max(MIN_PERIOD * 4);
        config.heartbeat = config.heartbeat.min(config.lease / 4).max(MIN_PERIOD);
        let (stop_tx, stop_rx) = watch::channel(false);
        let wake = Arc::new(Notify::new());
        let worker_id = config.worker_id.clone();
        let ctx = Arc::new(Ctx {
            queue,
            handler,
            config,
            metrics,
        });
        let task = tokio::spawn(run_loop(ctx, stop_rx, wake.clone()));
        WorkerHandle {
            stop: stop_tx,
            task,
            wake,
            worker_id,
        }
    }
}

pub struct WorkerHandle {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<WorkerReport>,
    wake: Arc<Notify>,
    worker_id: String,
}

impl WorkerHandle {
    pub fn worker_id(&self) -> &str {
        &self.worker_id
    }

    /// Makes the worker look for due jobs now (after an enqueue in this process when `listen` is off).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Graceful stop: claims nothing more, lets in-flight jobs finish within `shutdown_grace`, then
    /// cancels the rest and releases their leases so another replica takes them over at once.
    pub async fn shutdown(self) -> WorkerReport {
        let _ = self.stop.send(true);
        match self.task.await {
            Ok(report) => report,
            Err(e) => {
                tracing::error!(error = %e, "worker loop ended abnormally");
                WorkerReport::default()
            }
        }
    }
}

struct Ctx<H> {
    queue: JobQueue,
    handler: H,
    config: WorkerConfig,
    metrics: Arc<Metrics>,
}

async fn run_loop<H: JobHandler>(
    ctx: Arc<Ctx<H>>,
    mut stop: watch::Receiver<bool>,
    wake: Arc<Notify>,
) -> WorkerReport {
    let config = &ctx.config;
    let (cancel_tx, cancel_rx) = watch::channel(false);
    let mut tasks: JoinSet<(JobKind, RunEnd)> = JoinSet::new();
    let mut report = WorkerReport::default();
    let listener = config
        .listen
        .then(|| tokio::spawn(listen(ctx.queue.pool().clone(), wake.clone())));
    let mut poll = tokio::time::interval(config.poll_interval);
    poll.set_missed_tick_behavior(MissedTickBehavior::Delay);
    // Whether the last claim filled every free slot, so more jobs are probably due.
    let mut backlog = false;
    let mut claim_now = true;
    tracing::info!(worker_id = %config.worker_id, "worker started");

    loop {
        if *stop.borrow() {
            break;
        }
        let free = config.concurrency - tasks.len();
        if claim_now && free > 0 {
            // The lease runs from before the claim was sent: a conservative start for the local deadline.
            let claimed_at = Instant::now();
            match ctx.queue.claim(&config.worker_id, free, config.lease).await {
                Ok(jobs) => {
                    backlog = jobs.len() == free;
                    for job in jobs {
                        let ctx = ctx.clone();
                        let cancel = cancel_rx.clone();
                        tasks.spawn(async move {
                            let kind = job.kind;
                            (kind, run_job(&ctx, job, claimed_at, cancel).await)
                        });
                    }
                }
                Err(e) => {
                    backlog = false;
                    tracing::warn!(error = %e, "claiming jobs failed; retrying at the next poll");
                }
            }
        }
        claim_now = false;
        tokio::select! {
            changed = stop.changed() => {
                if changed.is_err() {
                    break; // the handle was dropped
                }
            }
            Some(joined) = tasks.join_next() => {
                let rerun = matches!(joined, Ok((_, RunEnd::Completed { due_now: true })));
                record(&mut report, joined);
                claim_now = backlog || rerun;
            }
            _ = poll.tick() => claim_now = true,
            _ = wake.notified() => claim_now = true,
        }
    }

    tracing::info!(
        worker_id = %config.worker_id,
        in_flight = tasks.len(),
        "worker stopping; waiting for in-flight jobs"
    );
    let grace = tokio::time::sleep(config.shutdown_grace);
    tokio::pin!(grace);
    while !tasks.is_empty() {
        tokio::select! {
            Some(joined) = tasks.join_next() => record(&mut report, joined),
            _ = &mut grace => break,
        }
    }
    if !tasks.is_empty() {
        let _ = cancel_tx.send(true);
        while let Some(joined) = tasks.join_next().await {
            record(&mut report, joined);
        }
    }
    if let Some(listener) = listener {
        listener.abort();
    }
    tracing::info!(worker_id = %config.worker_id, ?report, "worker stopped");
    report
}

fn record(report: &mut WorkerReport, joined: Result<(JobKind, RunEnd), JoinError>) {
    match joined {
        Ok((kind, end)) => {
            report.record(end);
            // Run outcomes as the user sees them (ok, partial, failed) are the sync runner's metric
            // (`sync_runs`); this is the queue's view, for the logs.
            tracing::debug!(kind = %kind, end = end.label(), "job run ended");
        }
        // `run_job` catches the handler's panics, so this is a bug in the worker itself.
        Err(e) => tracing::error!(error = %e, "job task failed"),
    }
}

/// Decrements the in-flight gauge however the task ends.
struct InFlight(Arc<Metrics>);

impl InFlight {
    fn new(metrics: &Arc<Metrics>) -> Self {
        metrics.jobs_in_flight.inc();
        Self(metrics.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.jobs_in_flight.dec();
    }
}

async fn run_job<H: JobHandler>(
    ctx: &Ctx<H>,
    job: ClaimedJob,
    claimed_at: Instant,
    cancel: watch::Receiver<bool>,
) -> RunEnd {
    let _in_flight = InFlight::new(&ctx.metrics);
    let span = tracing::info_span!(
        "job",
        job_id = job.id,
        pairing_id = %job.pairing_id,
        kind = %job.kind,
        attempts = job.attempts
    );
    run_job_in_span(ctx, job, claimed_at, cancel)
        .instrument(span)
        .await
}

async fn run_job_in_span<H: JobHandler>(
    ctx: &Ctx<H>,
    job: ClaimedJob,
    claimed_at: Instant,
    mut cancel: watch::Receiver<bool>,
) -> RunEnd {
    let config = &ctx.config;
    let run = AssertUnwindSafe(ctx.handler.run(&job)).catch_unwind();
    let keep = keep_lease(&ctx.queue, &job, claimed_at, config.lease, config.heartbeat);
    let cancelled = async {
        // `wait_for` also returns (with an error) if the loop is gone; either way, stop.
        let _ = cancel.wait_for(|c| *c).await;
    };
    // Dropping the handler's future is how a run is stopped; `select!` drops every branch that did
    // not finish.
    let result = tokio::select! {
        biased;
        result = run => result,
        lost = keep => {
            tracing::warn!(reason = %lost, "lease lost; run stopped");
            return RunEnd::LeaseLost;
        }
        () = cancelled => {
            return match ctx.queue.release(&job).await {
                Ok(()) => RunEnd::Released,
                Err(QueueError::LeaseLost { .. }) => RunEnd::LeaseLost,
                Err(e) => {
                    tracing::warn!(error = %e, "releasing job failed; its lease will expire");
                    RunEnd::Unrecorded
                }
            };
        }
    };
    let reported = match result {
        Ok(Ok(outcome)) => ctx
            .queue
            .complete_covering(&job, outcome.run_again_in, outcome.covers)
            .await
            .map(|c| RunEnd::Completed { due_now: c.due_now }),
        Ok(Err(error)) => {
            tracing::info!(error = %error, "job failed");
            ctx.queue
                .fail(&job, &error, &config.backoff)
                .await
                .map(|_| RunEnd::Failed)
        }
        Err(_) => {
            tracing::error!("job handler panicked");
            ctx.queue
                .fail(&job, &JobError::new("internal error"), &config.backoff)
                .await
                .map(|_| RunEnd::Failed)
        }
    };
    match reported {
        Ok(end) => end,
        Err(QueueError::LeaseLost { .. }) => {
            tracing::warn!("lease lost before the outcome was recorded");
            RunEnd::LeaseLost
        }
        Err(e) => {
            tracing::warn!(error = %e, "recording the job's outcome failed; it will run again");
            RunEnd::Unrecorded
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum LeaseLoss {
    #[error("taken over or removed")]
    TakenOver,
    #[error("not renewed in time")]
    NotRenewed,
}

/// Extends the lease every `heartbeat` and returns only when the lease is lost: taken over, or not
/// renewed in time.
///
/// "In time" is judged on this machine's monotonic clock, never by comparing clocks across machines:
/// each expiry Postgres sets is `now() + lease` at a moment after the request was sent, so this process
/// gives up at `sent + ¾ lease`, before the database can consider the lease expired. The last quarter is
/// the margin for the handler to notice its cancellation and for clock-rate differences.
async fn keep_lease(
    queue: &JobQueue,
    job: &ClaimedJob,
    claimed_at: Instant,
    lease: Duration,
    heartbeat: Duration,
) -> LeaseLoss {
    let safe_for = lease.mul_f64(0.75);
    let mut deadline = claimed_at + safe_for;
    let mut beat = tokio::time::interval_at(Instant::now() + heartbeat, heartbeat);
    beat.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        let renewal = async {
            beat.tick().await;
            let sent = Instant::now();
            (sent, queue.extend_lease(job, lease).await)
        };
        tokio::select! {
            () = tokio::time::sleep_until(deadline) => return LeaseLoss::NotRenewed,
            (sent, renewed) = renewal => match renewed {
                Ok(_) => deadline = sent + safe_for,
                Err(QueueError::LeaseLost { .. }) => return LeaseLoss::TakenOver,
                Err(e) => tracing::warn!(error = %e, "extending the lease failed; retrying"),
            },
        }
    }
}

/// Wakes the loop whenever a job is made due early, on any replica. Best effort: the poll still runs.
async fn listen(pool: PgPool, wake: Arc<Notify>) {
    loop {
        match subscribe(&pool).await {
            Ok(mut listener) => loop {
                match listener.recv().await {
                    Ok(_) => wake.notify_one(),
                    Err(e) => {
                        tracing::debug!(error = %e, "job notifications interrupted");
                        break;
                    }
                }
            },
            Err(e) => tracing::debug!(error = %e, "cannot listen for job notifications"),
        }
        // Notifications may have been missed meanwhile.
        wake.notify_one();
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
}

async fn subscribe(pool: &PgPool) -> Result<PgListener, sqlx::Error> {
    // A one-connection pool of its own, so the long-lived `LISTEN` connection takes no slot from the
    // shared pool.
    let own = PgPoolOptions::new()
        .max_connections(1)
        .connect_with((*pool.connect_options()).clone())
        .await?;
    let mut listener = PgListener::connect_with(&own).await?;
    listener.listen(WAKE_CHANNEL).await?;
    Ok(listener)
}
