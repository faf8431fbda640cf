//! The `jobs` table as a leased queue: every statement here is one short transaction, and every lease
//! time comes from Postgres' `now()`.

use std::{fmt, str::FromStr, time::Duration};

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use super::{backoff::Backoff, runner::JobError};

/// The channel `NOTIFY`'d when a job becomes due before its schedule (enqueue, new pairing), so idle
/// workers wake at once instead of at their next poll.
pub const WAKE_CHANNEL: &str = "crm_jobs";

/// `last_error` is kept short: it is shown to the user in the sync status and must stay a summary.
const MAX_ERROR_CHARS: usize = 500;

/// What a job does. Each pairing has exactly one row per kind (`UNIQUE (pairing_id, kind)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum JobKind {
    /// Outlook → CRM: read the calendar's changes (delta) and apply them to the CRM.
    OutlookToCrm,
    /// CRM → Outlook: poll the CRM's changes and apply them to the calendar.
    CrmToOutlook,
}

impl JobKind {
    pub const ALL: [JobKind; 2] = [JobKind::OutlookToCrm, JobKind::CrmToOutlook];

    /// The name stored in `jobs.kind` (and used as the `direction` metric label).
    pub const fn as_str(self) -> &'static str {
        match self {
            JobKind::OutlookToCrm => "outlook_to_crm",
            JobKind::CrmToOutlook => "crm_to_outlook",
        }
    }

    fn all_names() -> Vec<String> {
        Self::ALL.iter().map(|k| k.as_str().to_owned()).collect()
    }
}

impl fmt::Display for JobKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for JobKind {
    type Err = QueueError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| QueueError::UnknownKind(s.to_owned()))
    }
}

/// Who asked for a run now; decides whether a job that is backing off after failures runs anyway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// The user acted ("sync now", login, pairing saved): run now even if the job is backing off, since
    /// the user may just have fixed the cause.
    User,
    /// A Graph change notification: run now, unless the job is backing off after failures — a stream
    /// of notifications must not defeat the backoff that protects a failing CRM or a throttled mailbox.
    ChangeNotification,
}

/// What [`JobQueue::enqueue_now`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enqueued {
    /// The job is due now; a worker will claim it at once (idle workers are woken).
    Due,
    /// The job is running; it runs again as soon as the current run finishes successfully.
    AfterCurrentRun,
    /// The job is backing off after failures and a change notification does not override that.
    BackingOff,
    /// There is no such job (the pairing does not exist or was removed).
    NoSuchJob,
}

/// A job this worker holds a lease on. The handler receives it; the queue's `complete`/`fail`/
/// `extend_lease`/`release` take it back as proof of the lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedJob {
    pub id: i64,
    pub pairing_id: Uuid,
    pub kind: JobKind,
    /// `run_at` when claimed: a later value at completion means someone enqueued it during the run.
    pub run_at: DateTime<Utc>,
    /// Consecutive failures before this run (0 on the normal schedule).
    pub attempts: i32,
    /// The fencing token written by this claim.
    pub lease_id: Uuid,
    /// Lease expiry as of the claim (database time); heartbeats move it later.
    pub locked_until: DateTime<Utc>,
    /// When it was claimed (database time): the run started after this.
    pub claimed_at: DateTime<Utc>,
}

/// A job row as stored, for status pages and tests.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct JobState {
    pub id: i64,
    pub pairing_id: Uuid,
    pub kind: String,
    pub run_at: DateTime<Utc>,
    pub locked_until: Option<DateTime<Utc>>,
    pub locked_by: Option<String>,
    pub attempts: i32,
    pub last_error: Option<String>,
}

/// The result of [`JobQueue::complete`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Completed {
    /// When the job runs next (database time).
    pub run_at: DateTime<Utc>,
    /// It was enqueued during the run and is due again already.
    pub due_now: bool,
}

/// The result of [`JobQueue::fail`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failed {
    /// Consecutive failures including this one.
    pub attempts: i32,
    /// When the job runs again (database time).
    pub run_at: DateTime<Utc>,
}

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// The lease was taken over (it expired) or the job was removed; the caller must stop working on it.
    #[error("lease on job {job_id} was lost")]
    LeaseLost { job_id: i64 },
    #[error("unknown job kind {0:?}")]
    UnknownKind(String),
    #[error("job queue database error: {0}")]
    Database(#[from] sqlx::Error),
}

/// The leased job queue. Cheap to clone (it holds the pool).
#[derive(Debug, Clone)]
pub struct JobQueue {
    pool: PgPool,
}

type ClaimRow = (
    i64,
    Uuid,
    String,
    DateTime<Utc>,
    i32,
    Uuid,
    DateTime<Utc>,
    DateTime<Utc>,
);

impl JobQueue {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Creates the pairing's jobs (one per kind), due now, and wakes the workers. Existing rows are left
    /// alone, so calling this again (each login) is harmless. Returns how many rows were created.
    pub async fn ensure_jobs(&self, pairing_id: Uuid) -> Result<u64, QueueError> {
        let mut tx = self.pool.begin().await?;
        let created = sqlx::query(
            "INSERT INTO jobs (pairing_id, kind, run_at)
             SELECT $1, kind, now() FROM unnest($2::text[]) AS kind
             ON CONFLICT (pairing_id, kind) DO NOTHING",
        )
        .bind(pairing_id)
        .bind(JobKind::all_names())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if created > 0 {
            notify(&mut tx).await?;
        }
        tx.commit().await?;
        Ok(created)
    }

    /// Deletes the pairing's jobs (unpair). A run in progress finds its lease lost at its next heartbeat
    /// and is stopped. Deleting the pairing itself also deletes them (`ON DELETE CASCADE`).
    pub async fn remove_jobs(&self, pairing_id: Uuid) -> Result<u64, QueueError> {
        Ok(sqlx::query("DELETE FROM jobs WHERE pairing_id = $1")
            .bind(pairing_id)
            .execute(&self.pool)
            .await?
            .rows_affected())
    }

    /// Everything the user's "run now" needs (pairing saved, login, "sync now"): both jobs exist and
    /// are due now. Returns whether any job was queued.
    pub async fn run_all_now(&self, pairing_id: Uuid) -> Result<bool, QueueError> {
        self.ensure_jobs(pairing_id).await?;
        let mut queued = false;
        for kind in JobKind::ALL {
            let r = self.enqueue_now(pairing_id, kind, Trigger::User).await?;
            queued |= r != Enqueued::NoSuchJob;
        }
        Ok(queued)
    }

    /// Makes the job due now. Repeated calls coalesce into one run (there is one row; `run_at` only
    /// moves earlier). A running job keeps its lease; its `run_at` is set to now so that completion
    /// sees the request and schedules the next run immediately instead of after the usual interval.
    pub async fn enqueue_now(
        &self,
        pairing_id: Uuid,
        kind: JobKind,
        trigger: Trigger,
    ) -> Result<Enqueued, QueueError> {
        let override_backoff = trigger == Trigger::User;
        let mut tx = self.pool.begin().await?;
        let row: Option<(bool, bool)> = sqlx::query_as(
            "UPDATE jobs SET run_at = CASE
                 WHEN coalesce(locked_until > now(), false) THEN now()
                 WHEN attempts > 0 AND NOT $3 THEN run_at
                 ELSE least(run_at, now())
             END
             WHERE pairing_id = $1 AND kind = $2
             RETURNING coalesce(locked_until > now(), false), attempts > 0 AND NOT $3",
        )
        .bind(pairing_id)
        .bind(kind.as_str())
        .bind(override_backoff)
        .fetch_optional(&mut *tx)
        .await?;
        let result = match row {
            None => Enqueued::NoSuchJob,
            Some((true, _)) => Enqueued::AfterCurrentRun,
            Some((false, true)) => Enqueued::BackingOff,
            Some((false, false)) => {
                notify(&mut tx).await?;
                Enqueued::Due
            }
        };
        tx.commit().await?;
        Ok(result)
    }

    /// Claims up to `max` due jobs for `worker_id` with a lease of `lease`, in `run_at` order.
    ///
    /// One statement: it locks due, unleased rows with `FOR UPDATE SKIP LOCKED` (so concurrent claims
    /// never wait for nor return the same row; Postgres re-checks the `WHERE` on the locked row version,
    /// so a row claimed by a transaction that committed meanwhile is skipped) and writes the lease.
    pub async fn claim(
        &self,
        worker_id: &str,
        max: usize,
        lease: Duration,
    ) -> Result<Vec<ClaimedJob>, QueueError> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let rows: Vec<ClaimRow> = sqlx::query_as(
            "WITH due AS (
                 SELECT id FROM jobs
                 WHERE run_at <= now()
                   AND (locked_until IS NULL OR locked_until <= now())
                   AND kind = ANY($4)
                 ORDER BY run_at
                 LIMIT $2
                 FOR UPDATE SKIP LOCKED
             )
             UPDATE jobs AS j
             SET locked_until = now() + make_interval(secs => $3),
                 locked_by = $1,
                 lease_id = gen_random_uuid()
             FROM due
             WHERE j.id = due.id
             RETURNING j.id, j.pairing_id, j.kind, j.run_at, j.attempts, j.lease_id, j.locked_until, now()",
        )
        .bind(worker_id)
        .bind(i64::try_from(max).unwrap_or(i64::MAX))
        .bind(lease.as_secs_f64())
        .bind(JobKind::all_names())
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(
                |(id, pairing_id, kind, run_at, attempts, lease_id, locked_until, claimed_at)| {
                    Ok(ClaimedJob {
                        id,
                        pairing_id,
                        kind: kind.parse()?,
                        run_at,
                        attempts,
                        lease_id,
                        locked_until,
                        claimed_at,
                    })
                },
            )
            .collect()
    }

    /// Heartbeat: moves the lease's expiry to `now() + lease`. Fails with [`QueueError::LeaseLost`] when
    /// the job was taken over or removed. Returns the new expiry (database time).
    pub async fn extend_lease(
        &self,
        job: &ClaimedJob,
        lease: Duration,
    ) -> Result<DateTime<Utc>, QueueError> {
        sqlx::query_scalar(
            "UPDATE jobs SET locked_until = now() + make_interval(secs => $3)
             WHERE id = $1 AND lease_id = $2
             RETURNING locked_until",
        )
        .bind(job.id)
        .bind(job.lease_id)
        .bind(lease.as_secs_f64())
        .fetch_optional(&self.pool)
        .await?
        .ok_or(QueueError::LeaseLost { job_id: job.id })
    }

    /// Success: clears the lease and the failure count, and schedules the next run `next_run_in` from
    /// now — or keeps it due now if the job was enqueued during the run.
    pub async fn complete(
        &self,
        job: &ClaimedJob,
        next_run_in: Duration,
    ) -> Result<Completed, QueueError> {
        self.complete_covering(job, next_run_in, None).await
    }

    /// [`complete`](Self::complete), and when the run also did the work of the pairing's job of kind
    /// `covered.0` (both kinds run the same two-way sync), postpones that job's *scheduled* run to
    /// `covered.1` from now, in the same statement. Never postponed: a job that is running, backing off
    /// after failures, or was made due (enqueued, or its time came) after this job was claimed — such a
    /// request may concern a change this run did not see. A job due before the claim is covered: the
    /// run read both sides after it became due.
    ///
    /// An enqueue sets `run_at` to its transaction's `now()`, which is before it commits; so a `run_at`
    /// later than `clock_timestamp()` at the moment Postgres evaluates the row (also on its re-check
    /// after waiting for a concurrent enqueue's row lock) can only be a schedule.
    pub async fn complete_covering(
        &self,
        job: &ClaimedJob,
        next_run_in: Duration,
        covered: Option<(JobKind, Duration)>,
    ) -> Result<Completed, QueueError> {
        let (covered_kind, covered_in) = match covered {
            Some((kind, delay)) => (Some(kind.as_str()), delay.as_secs_f64()),
            None => (None, 0.0),
        };
        let (run_at, due_now) = sqlx::query_as(
            "WITH done AS (
                 UPDATE jobs SET
                     run_at = CASE WHEN run_at > $3 THEN run_at
                                   ELSE now() + make_interval(secs => $4) END,
                     locked_until = NULL, locked_by = NULL, lease_id = NULL,
                     attempts = 0, last_error = NULL
                 WHERE id = $1 AND lease_id = $2
                 RETURNING pairing_id, run_at, run_at <= now() AS due_now
             ), covered AS (
                 UPDATE jobs AS o SET run_at = now() + make_interval(secs => $6)
                 FROM done
                 WHERE $5::text IS NOT NULL
                   AND o.pairing_id = done.pairing_id AND o.kind = $5 AND o.id <> $1
                   AND o.attempts = 0
                   AND (o.locked_until IS NULL OR o.locked_until <= now())
                   AND (o.run_at <= $7 OR o.run_at > clock_timestamp())
                   AND o.run_at < now() + make_interval(secs => $6)
                 RETURNING o.id
             )
             SELECT run_at, due_now FROM done",
        )
        .bind(job.id)
        .bind(job.lease_id)
        .bind(job.run_at)
        .bind(next_run_in.as_secs_f64())
        .bind(covered_kind)
        .bind(covered_in)
        .bind(job.claimed_at)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(QueueError::LeaseLost { job_id: job.id })?;
        Ok(Completed { run_at, due_now })
    }

    /// Failure: counts the attempt, records the error's message (which must hold no secret; it is
    /// shortened here) and retries after `backoff` — or after the error's `retry_after`, if later.
    pub async fn fail(
        &self,
        job: &ClaimedJob,
        error: &JobError,
        backoff: &Backoff,
    ) -> Result<Failed, QueueError> {
        let attempt = u32::try_from(job.attempts).unwrap_or(0).saturating_add(1);
        let mut delay = backoff.delay(attempt);
        if let Some(after) = error.retry_after() {
            delay = delay.max(after);
        }
        let message = truncate(error.message(), MAX_ERROR_CHARS);
        let (attempts, run_at) = sqlx::query_as(
            "UPDATE jobs SET
                 attempts = attempts + 1, last_error = $3,
                 run_at = now() + make_interval(secs => $4),
                 locked_until = NULL, locked_by = NULL, lease_id = NULL
             WHERE id = $1 AND lease_id = $2
             RETURNING attempts, run_at",
        )
        .bind(job.id)
        .bind(job.lease_id)
        .bind(message)
        .bind(delay.as_secs_f64())
        .fetch_optional(&self.pool)
        .await?
        .ok_or(QueueError::LeaseLost { job_id: job.id })?;
        Ok(Failed { attempts, run_at })
    }

    /// Gives the job back unfinished (shutdown): the lease is cleared and `run_at`, `attempts` are left
    /// as they were, so another worker picks it up at once.
    pub async fn release(&self, job: &ClaimedJob) -> Result<(), QueueError> {
        let released = sqlx::query(
            "UPDATE jobs SET locked_until = NULL, locked_by = NULL, lease_id = NULL
             WHERE id = $1 AND lease_id = $2",
        )
        .bind(job.id)
        .bind(job.lease_id)
        .execute(&self.pool)
        .await?
        .rows_affected();
        if released == 0 {
            return Err(QueueError::LeaseLost { job_id: job.id });
        }
        // The job is due: wake an idle worker of another replica rather than wait for its poll.
        sqlx::query("SELECT pg_notify($1, '')")
            .bind(WAKE_CHANNEL)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The pairing's job rows (for the sync status).
    pub async fn jobs(&self, pairing_id: Uuid) -> Result<Vec<JobState>, QueueError> {
        Ok(sqlx::query_as(
            "SELECT id, pairing_id, kind, run_at, locked_until, locked_by, attempts, last_error
             FROM jobs WHERE pairing_id = $1 ORDER BY kind",
        )
        .bind(pairing_id)
        .fetch_all(&self.pool)
        .await?)
    }
}

async fn notify(tx: &mut sqlx::PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_notify($1, '')")
        .bind(WAKE_CHANNEL)
        .execute(tx)
        .await?;
    Ok(())
}

fn truncate(s: &str, max_chars: usize) -> &str {
    match s.char_indices().nth(max_chars) {
        Some((end, _)) => &s[..end],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_through_their_stored_names() {
        for kind in JobKind::ALL {
            assert_eq!(kind.as_str().parse::<JobKind>().unwrap(), kind);
        }
        assert!("email".parse::<JobKind>().is_err());
    }

    #[test]
    fn truncate_cuts_on_character_boundaries() {
        assert_eq!(truncate("äöå", 2), "äö");
        assert_eq!(truncate("abc", 10), "abc");
    }
}
