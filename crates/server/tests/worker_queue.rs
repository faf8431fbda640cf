//! The leased job queue on real Postgres: claiming, leases and their expiry, completion, failure with
//! backoff, enqueueing, and the fencing token that keeps a stale worker from touching a new lease.

mod common;

use common::worker::{Fixture, fixture, pairing};
use std::{collections::HashSet, time::Duration};

use chrono::{DateTime, Utc};
use crm_server::worker::{Backoff, ClaimedJob, Enqueued, JobError, JobKind, QueueError, Trigger};
use sqlx::PgPool;
use uuid::Uuid;

const LEASE: Duration = Duration::from_secs(30);
const HOUR: Duration = Duration::from_secs(3600);

async fn db_now(pool: &PgPool) -> DateTime<Utc> {
    sqlx::query_scalar("SELECT now()")
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn run_at(f: &Fixture, pairing: Uuid, kind: JobKind) -> DateTime<Utc> {
    sqlx::query_scalar("SELECT run_at FROM jobs WHERE pairing_id = $1 AND kind = $2")
        .bind(pairing)
        .bind(kind.as_str())
        .fetch_one(&f.pool)
        .await
        .unwrap()
}

/// Makes every lease look expired, as if its holder had died long ago (no waiting on the wall clock).
async fn expire_leases(f: &Fixture) {
    sqlx::query(
        "UPDATE jobs SET locked_until = now() - interval '1 second' WHERE locked_until IS NOT NULL",
    )
    .execute(&f.pool)
    .await
    .unwrap();
}

async fn make_due(f: &Fixture) {
    sqlx::query("UPDATE jobs SET run_at = now() - interval '1 second'")
        .execute(&f.pool)
        .await
        .unwrap();
}

fn claimed_kind(jobs: &[ClaimedJob], kind: JobKind) -> &ClaimedJob {
    jobs.iter()
        .find(|j| j.kind == kind)
        .expect("a job of the kind")
}

#[tokio::test]
async fn ensure_jobs_creates_one_due_job_per_kind_and_is_idempotent() {
    let f = fixture().await;
    let p = pairing(&f).await;
    assert_eq!(
        f.queue.ensure_jobs(p).await.unwrap(),
        0,
        "second call creates nothing"
    );
    let jobs = f.queue.jobs(p).await.unwrap();
    let kinds: Vec<&str> = jobs.iter().map(|j| j.kind.as_str()).collect();
    assert_eq!(kinds, ["crm_to_outlook", "outlook_to_crm"]);
    let now = db_now(&f.pool).await;
    for job in &jobs {
        assert!(job.run_at <= now, "due at once");
        assert_eq!((job.attempts, job.locked_by.as_deref()), (0, None));
    }
}

#[tokio::test]
async fn claim_leases_due_jobs_to_the_worker_until_now_plus_the_lease() {
    let f = fixture().await;
    let p = pairing(&f).await;
    let before = db_now(&f.pool).await;
    let jobs = f.queue.claim("worker-a", 10, LEASE).await.unwrap();
    let after = db_now(&f.pool).await;
    assert_eq!(jobs.len(), 2);
    for job in &jobs {
        assert_eq!(job.pairing_id, p);
        assert!(job.locked_until >= before + LEASE && job.locked_until <= after + LEASE);
    }
    for row in f.queue.jobs(p).await.unwrap() {
        assert_eq!(row.locked_by.as_deref(), Some("worker-a"));
        let claimed = jobs.iter().find(|j| j.id == row.id).unwrap();
        assert_eq!(row.locked_until, Some(claimed.locked_until));
    }
}

#[tokio::test]
async fn claim_takes_at_most_max_jobs_oldest_run_at_first() {
    let f = fixture().await;
    for _ in 0..3 {
        pairing(&f).await;
    }
    sqlx::query("UPDATE jobs SET run_at = now() - make_interval(secs => id)")
        .execute(&f.pool)
        .await
        .unwrap();
    let first = f.queue.claim("w", 4, LEASE).await.unwrap();
    assert_eq!(first.len(), 4);
    let rest = f.queue.claim("w", 4, LEASE).await.unwrap();
    assert_eq!(rest.len(), 2);
    let oldest_rest = rest.iter().map(|j| j.run_at).min().unwrap();
    let youngest_first = first.iter().map(|j| j.run_at).max().unwrap();
    assert!(youngest_first <= oldest_rest, "claimed in run_at order");
    assert!(f.queue.claim("w", 0, LEASE).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_leased_job_is_not_claimed_again_until_its_lease_expires() {
    let f = fixture().await;
    pairing(&f).await;
    let a = f.queue.claim("worker-a", 10, LEASE).await.unwrap();
    assert_eq!(a.len(), 2);
    assert!(
        f.queue
            .claim("worker-b", 10, LEASE)
            .await
            .unwrap()
            .is_empty()
    );
    expire_leases(&f).await;
    let b = f.queue.claim("worker-b", 10, LEASE).await.unwrap();
    let ids = |jobs: &[ClaimedJob]| jobs.iter().map(|j| j.id).collect::<HashSet<_>>();
    assert_eq!(ids(&a), ids(&b), "the expired leases were taken over");
    for (old, new) in a.iter().zip(&b) {
        assert_ne!(old.lease_id, new.lease_id, "every claim gets a fresh token");
    }
}

#[tokio::test]
async fn a_job_that_is_not_due_is_not_claimed() {
    let f = fixture().await;
    let p = pairing(&f).await;
    let jobs = f.queue.claim("w", 10, LEASE).await.unwrap();
    for job in &jobs {
        f.queue.complete(job, HOUR).await.unwrap();
    }
    assert!(f.queue.claim("w", 10, LEASE).await.unwrap().is_empty());
    assert!(run_at(&f, p, JobKind::OutlookToCrm).await > db_now(&f.pool).await);
}

#[tokio::test]
async fn an_expired_lease_is_taken_over_only_after_its_expiry_in_database_time() {
    let f = fixture().await;
    pairing(&f).await;
    let short = Duration::from_millis(800);
    let a = f.queue.claim("worker-a", 1, short).await.unwrap().remove(0);
    // Worker B keeps trying; whatever the timing of this loop, it may only succeed after A's expiry.
    let b = loop {
        let mut got = f.queue.claim("worker-b", 2, short).await.unwrap();
        if let Some(pos) = got.iter().position(|j| j.id == a.id) {
            break got.remove(pos);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let b_claimed_at = b.locked_until - short;
    assert!(
        b_claimed_at >= a.locked_until,
        "taken over at {b_claimed_at}, before A's lease ended at {}",
        a.locked_until
    );
}

#[tokio::test]
async fn a_worker_whose_lease_was_taken_over_can_no_longer_touch_the_job() {
    let f = fixture().await;
    let p = pairing(&f).await;
    let a = f.queue.claim("worker-a", 1, LEASE).await.unwrap().remove(0);
    expire_leases(&f).await;
    let b = f.queue.claim("worker-b", 1, LEASE).await.unwrap().remove(0);
    assert_eq!(a.id, b.id);

    let lost = |r: Result<_, QueueError>| matches!(r, Err(QueueError::LeaseLost { job_id }) if job_id == a.id);
    assert!(lost(f.queue.extend_lease(&a, LEASE).await.map(|_| ())));
    assert!(lost(f.queue.complete(&a, HOUR).await.map(|_| ())));
    assert!(lost(
        f.queue
            .fail(&a, &JobError::new("late"), &Backoff::default())
            .await
            .map(|_| ())
    ));
    assert!(lost(f.queue.release(&a).await));

    let row = f
        .queue
        .jobs(p)
        .await
        .unwrap()
        .into_iter()
        .find(|j| j.id == b.id)
        .unwrap();
    assert_eq!(row.locked_by.as_deref(), Some("worker-b"));
    assert_eq!(row.locked_until, Some(b.locked_until));
    assert_eq!((row.attempts, row.last_error), (0, None));
    f.queue
        .complete(&b, HOUR)
        .await
        .expect("the new holder reports normally");
}

#[tokio::test]
async fn concurrent_claims_never_return_the_same_job() {
    let f = fixture().await;
    for _ in 0..100 {
        pairing(&f).await;
    }
    let mut claimers = tokio::task::JoinSet::new();
    for w in 0..12 {
        let queue = f.queue.clone();
        claimers.spawn(async move {
            let mut mine = Vec::new();
            loop {
                let got = queue.claim(&format!("w{w}"), 3, LEASE).await.unwrap();
                if got.is_empty() {
                    break mine;
                }
                mine.extend(got.into_iter().map(|j| j.id));
            }
        });
    }
    let mut all = Vec::new();
    while let Some(ids) = claimers.join_next().await {
        all.extend(ids.unwrap());
    }
    let distinct: HashSet<i64> = all.iter().copied().collect();
    assert_eq!(all.len(), distinct.len(), "a job was claimed twice");
    assert_eq!(distinct.len(), 200, "every job was claimed");
}

#[tokio::test]
async fn extend_lease_moves_the_expiry_from_the_database_clock() {
    let f = fixture().await;
    pairing(&f).await;
    let job = f
        .queue
        .claim("w", 1, Duration::from_secs(5))
        .await
        .unwrap()
        .remove(0);
    let before = db_now(&f.pool).await;
    let until = f.queue.extend_lease(&job, LEASE).await.unwrap();
    let after = db_now(&f.pool).await;
    assert!(until >= before + LEASE && until <= after + LEASE);
    assert!(
        f.queue.claim("other", 2, LEASE).await.unwrap().len() == 1,
        "only the other kind"
    );
}

#[tokio::test]
async fn complete_clears_the_lease_and_failures_and_schedules_the_next_run() {
    let f = fixture().await;
    let p = pairing(&f).await;
    let job = f.queue.claim("w", 1, LEASE).await.unwrap().remove(0);
    f.queue
        .fail(&job, &JobError::new("CRM unreachable"), &Backoff::default())
        .await
        .unwrap();
    make_due(&f).await;
    let job = f.queue.claim("w", 2, LEASE).await.unwrap();
    let job = claimed_kind(&job, JobKind::OutlookToCrm).clone();
    let before = db_now(&f.pool).await;
    let next = f
        .queue
        .complete(&job, Duration::from_secs(60))
        .await
        .unwrap();
    assert!(!next.due_now);
    let next = next.run_at;
    let after = db_now(&f.pool).await;
    assert!(next >= before + Duration::from_secs(60) && next <= after + Duration::from_secs(60));
    let row = f
        .queue
        .jobs(p)
        .await
        .unwrap()
        .into_iter()
        .find(|j| j.id == job.id)
        .unwrap();
    assert_eq!(row.run_at, next);
    assert_eq!((row.locked_by, row.locked_until), (None, None));
    assert_eq!((row.attempts, row.last_error), (0, None));
}

#[tokio::test]
async fn failures_count_attempts_record_the_error_and_back_off_exponentially_up_to_the_cap() {
    let f = fixture().await;
    let p = pairing(&f).await;
    let backoff = Backoff {
        base: Duration::from_secs(10),
        cap: Duration::from_secs(40),
    };
    let ceilings = [10, 20, 40, 40, 40];
    for (n, ceiling) in ceilings.into_iter().enumerate() {
        make_due(&f).await;
        let jobs = f.queue.claim("w", 2, LEASE).await.unwrap();
        let job = claimed_kind(&jobs, JobKind::CrmToOutlook);
        assert_eq!(job.attempts, n as i32, "attempts before this run");
        for other in jobs.iter().filter(|j| j.id != job.id) {
            f.queue.release(other).await.unwrap();
        }
        let before = db_now(&f.pool).await;
        let failed = f
            .queue
            .fail(job, &JobError::new(format!("failure {n}")), &backoff)
            .await
            .unwrap();
        let after = db_now(&f.pool).await;
        let ceiling = Duration::from_secs(ceiling);
        assert_eq!(failed.attempts, n as i32 + 1);
        assert!(
            failed.run_at >= before + ceiling / 2 && failed.run_at <= after + ceiling,
            "attempt {}: retry at {} not within [{}, {}]",
            n + 1,
            failed.run_at,
            before + ceiling / 2,
            after + ceiling
        );
        let row = f
            .queue
            .jobs(p)
            .await
            .unwrap()
            .into_iter()
            .find(|j| j.id == job.id)
            .unwrap();
        assert_eq!(
            row.last_error.as_deref(),
            Some(format!("failure {n}").as_str())
        );
        assert_eq!((row.locked_by, row.locked_until), (None, None));
    }
}

#[tokio::test]
async fn a_retry_after_longer_than_the_backoff_is_respected() {
    let f = fixture().await;
    pairing(&f).await;
    let job = f.queue.claim("w", 1, LEASE).await.unwrap().remove(0);
    let error = JobError::new("throttled").with_retry_after(Duration::from_secs(600));
    let before = db_now(&f.pool).await;
    let failed = f
        .queue
        .fail(&job, &error, &Backoff::default())
        .await
        .unwrap();
    assert!(failed.run_at >= before + Duration::from_secs(600));
}

#[tokio::test]
async fn a_long_error_message_is_stored_shortened() {
    let f = fixture().await;
    let p = pairing(&f).await;
    let job = f.queue.claim("w", 1, LEASE).await.unwrap().remove(0);
    f.queue
        .fail(&job, &JobError::new("é".repeat(5000)), &Backoff::default())
        .await
        .unwrap();
    let row = f
        .queue
        .jobs(p)
        .await
        .unwrap()
        .into_iter()
        .find(|j| j.id == job.id)
        .unwrap();
    assert_eq!(row.last_error.unwrap().chars().count(), 500);
}

#[tokio::test]
async fn enqueue_now_makes_a_scheduled_job_due_and_repeated_enqueues_coalesce() {
    let f = fixture().await;
    let p = pairing(&f).await;
    for job in f.queue.claim("w", 2, LEASE).await.unwrap() {
        f.queue.complete(&job, HOUR).await.unwrap();
    }
    assert_eq!(
        f.queue
            .enqueue_now(p, JobKind::OutlookToCrm, Trigger::ChangeNotification)
            .await
            .unwrap(),
        Enqueued::Due
    );
    let first = run_at(&f, p, JobKind::OutlookToCrm).await;
    assert!(first <= db_now(&f.pool).await);
    for _ in 0..5 {
        f.queue
            .enqueue_now(p, JobKind::OutlookToCrm, Trigger::ChangeNotification)
            .await
            .unwrap();
    }
    assert_eq!(
        run_at(&f, p, JobKind::OutlookToCrm).await,
        first,
        "run_at only moves earlier"
    );
    let claimed = f.queue.claim("w", 10, LEASE).await.unwrap();
    assert_eq!(claimed.len(), 1, "six enqueues, one run");
    assert_eq!(claimed[0].kind, JobKind::OutlookToCrm);
    assert!(
        run_at(&f, p, JobKind::CrmToOutlook).await > db_now(&f.pool).await,
        "other kind untouched"
    );
}

#[tokio::test]
async fn enqueue_now_during_a_run_keeps_the_lease_and_runs_again_right_after() {
    let f = fixture().await;
    let p = pairing(&f).await;
    let jobs = f.queue.claim("w", 2, LEASE).await.unwrap();
    let job = claimed_kind(&jobs, JobKind::OutlookToCrm);
    assert_eq!(
        f.queue
            .enqueue_now(p, JobKind::OutlookToCrm, Trigger::ChangeNotification)
            .await
            .unwrap(),
        Enqueued::AfterCurrentRun
    );
    let row = f
        .queue
        .jobs(p)
        .await
        .unwrap()
        .into_iter()
        .find(|j| j.id == job.id)
        .unwrap();
    assert_eq!(row.locked_by.as_deref(), Some("w"));
    assert_eq!(
        row.locked_until,
        Some(job.locked_until),
        "lease undisturbed"
    );
    assert!(
        f.queue.claim("other", 10, LEASE).await.unwrap().is_empty(),
        "still not claimable while leased"
    );
    let next = f.queue.complete(job, HOUR).await.unwrap();
    assert!(next.due_now, "due again at once, not in an hour");
    assert!(next.run_at <= db_now(&f.pool).await);
    let again = f.queue.claim("other", 10, LEASE).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].id, job.id);
    // Without an enqueue during the run, the handler's schedule applies.
    let next = f.queue.complete(&again[0], HOUR).await.unwrap();
    assert!(!next.due_now);
    assert!(next.run_at > db_now(&f.pool).await + Duration::from_secs(3500));
}

#[tokio::test]
async fn change_notifications_respect_the_failure_backoff_but_user_requests_override_it() {
    let f = fixture().await;
    let p = pairing(&f).await;
    let jobs = f.queue.claim("w", 2, LEASE).await.unwrap();
    for job in &jobs {
        f.queue
            .fail(job, &JobError::new("CRM unreachable"), &Backoff::default())
            .await
            .unwrap();
    }
    let backing_off = run_at(&f, p, JobKind::OutlookToCrm).await;
    assert_eq!(
        f.queue
            .enqueue_now(p, JobKind::OutlookToCrm, Trigger::ChangeNotification)
            .await
            .unwrap(),
        Enqueued::BackingOff
    );
    assert_eq!(run_at(&f, p, JobKind::OutlookToCrm).await, backing_off);
    assert!(f.queue.claim("w", 10, LEASE).await.unwrap().is_empty());
    assert_eq!(
        f.queue
            .enqueue_now(p, JobKind::OutlookToCrm, Trigger::User)
            .await
            .unwrap(),
        Enqueued::Due
    );
    let claimed = f.queue.claim("w", 10, LEASE).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(
        claimed[0].attempts, 1,
        "the failure count is kept for the next backoff"
    );
}

#[tokio::test]
async fn enqueue_now_for_an_unknown_pairing_reports_no_such_job() {
    let f = fixture().await;
    let result = f
        .queue
        .enqueue_now(Uuid::new_v4(), JobKind::CrmToOutlook, Trigger::User)
        .await
        .unwrap();
    assert_eq!(result, Enqueued::NoSuchJob);
}

#[tokio::test]
async fn remove_jobs_deletes_the_rows_and_a_running_job_finds_its_lease_lost() {
    let f = fixture().await;
    let p = pairing(&f).await;
    let other = pairing(&f).await;
    let running = f.queue.claim("w", 10, LEASE).await.unwrap();
    assert_eq!(f.queue.remove_jobs(p).await.unwrap(), 2);
    assert!(f.queue.jobs(p).await.unwrap().is_empty());
    assert_eq!(f.queue.jobs(other).await.unwrap().len(), 2);
    for job in running.iter().filter(|j| j.pairing_id == p) {
        assert!(matches!(
            f.queue.complete(job, HOUR).await,
            Err(QueueError::LeaseLost { .. })
        ));
    }
}

#[tokio::test]
async fn release_gives_the_job_back_due_with_its_attempts_unchanged() {
    let f = fixture().await;
    let p = pairing(&f).await;
    let jobs = f.queue.claim("w", 2, LEASE).await.unwrap();
    let job = claimed_kind(&jobs, JobKind::CrmToOutlook);
    f.queue.release(job).await.unwrap();
    let row = f
        .queue
        .jobs(p)
        .await
        .unwrap()
        .into_iter()
        .find(|j| j.id == job.id)
        .unwrap();
    assert_eq!((row.locked_by, row.locked_until), (None, None));
    assert_eq!(row.run_at, job.run_at);
    assert_eq!(row.attempts, job.attempts);
    let again = f.queue.claim("other", 10, LEASE).await.unwrap();
    assert_eq!(again.iter().map(|j| j.id).collect::<Vec<_>>(), [job.id]);
}

/// Makes the job of `kind` of pairing `p` due and claims only it (the other kind keeps its `run_at`).
async fn claim_only(f: &Fixture, p: Uuid, kind: JobKind) -> ClaimedJob {
    set_run_at(f, p, kind, "now() - interval '1 second'").await;
    let other = match kind {
        JobKind::OutlookToCrm => JobKind::CrmToOutlook,
        JobKind::CrmToOutlook => JobKind::OutlookToCrm,
    };
    let saved = run_at(f, p, other).await;
    sqlx::query(
        "UPDATE jobs SET run_at = now() + interval '1 day' WHERE pairing_id = $1 AND kind = $2",
    )
    .bind(p)
    .bind(other.as_str())
    .execute(&f.pool)
    .await
    .unwrap();
    let job = f.queue.claim("w", 1, LEASE).await.unwrap().remove(0);
    assert_eq!(job.kind, kind);
    sqlx::query("UPDATE jobs SET run_at = $3 WHERE pairing_id = $1 AND kind = $2")
        .bind(p)
        .bind(other.as_str())
        .bind(saved)
        .execute(&f.pool)
        .await
        .unwrap();
    job
}

async fn set_run_at(f: &Fixture, p: Uuid, kind: JobKind, sql_time: &str) {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE jobs SET run_at = {sql_time} WHERE pairing_id = $1 AND kind = $2"
    )))
    .bind(p)
    .bind(kind.as_str())
    .execute(&f.pool)
    .await
    .unwrap();
}

const COVER: Duration = Duration::from_secs(63);

#[tokio::test]
async fn a_completed_run_that_covers_the_other_kind_postpones_its_scheduled_run() {
    let f = fixture().await;
    let p = pairing(&f).await;
    // The other kind is scheduled 10 s ahead: the run just did its work, so it moves to 63 s.
    set_run_at(
        &f,
        p,
        JobKind::OutlookToCrm,
        "now() + interval '10 seconds'",
    )
    .await;
    let job = claim_only(&f, p, JobKind::CrmToOutlook).await;
    let before = db_now(&f.pool).await;
    f.queue
        .complete_covering(
            &job,
            Duration::from_secs(60),
            Some((JobKind::OutlookToCrm, COVER)),
        )
        .await
        .unwrap();
    let other = run_at(&f, p, JobKind::OutlookToCrm).await;
    assert!(other >= before + COVER, "postponed: {other} vs {before}");
    // A job of another pairing is never touched.
    let q = pairing(&f).await;
    let due = run_at(&f, q, JobKind::OutlookToCrm).await;
    let job = claim_only(&f, p, JobKind::OutlookToCrm).await;
    set_run_at(&f, p, JobKind::CrmToOutlook, "now() + interval '5 seconds'").await;
    f.queue
        .complete_covering(
            &job,
            Duration::from_secs(60),
            Some((JobKind::CrmToOutlook, COVER)),
        )
        .await
        .unwrap();
    assert_eq!(run_at(&f, q, JobKind::OutlookToCrm).await, due);
}

#[tokio::test]
async fn a_covering_run_postpones_a_job_due_before_its_claim_but_not_one_enqueued_during_the_run() {
    let f = fixture().await;
    let p = pairing(&f).await;
    // Due before the claim (a notification arrived, then this run read both sides): covered.
    set_run_at(&f, p, JobKind::OutlookToCrm, "now() - interval '1 second'").await;
    let job = claim_only(&f, p, JobKind::CrmToOutlook).await;
    f.queue
        .complete_covering(
            &job,
            Duration::from_secs(60),
            Some((JobKind::OutlookToCrm, COVER)),
        )
        .await
        .unwrap();
    assert!(run_at(&f, p, JobKind::OutlookToCrm).await > db_now(&f.pool).await);

    // Enqueued while the run went on: the change may be one the run did not see, so it stays due.
    let job = claim_only(&f, p, JobKind::CrmToOutlook).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(
        f.queue
            .enqueue_now(p, JobKind::OutlookToCrm, Trigger::ChangeNotification)
            .await
            .unwrap(),
        Enqueued::Due
    );
    f.queue
        .complete_covering(
            &job,
            Duration::from_secs(60),
            Some((JobKind::OutlookToCrm, COVER)),
        )
        .await
        .unwrap();
    assert!(
        run_at(&f, p, JobKind::OutlookToCrm).await <= db_now(&f.pool).await,
        "still due"
    );
}

#[tokio::test]
async fn a_covering_run_leaves_a_running_or_backing_off_job_alone() {
    let f = fixture().await;
    let p = pairing(&f).await;
    let both = f.queue.claim("w", 2, LEASE).await.unwrap();
    let (c2o, o2c) = (
        claimed_kind(&both, JobKind::CrmToOutlook).clone(),
        claimed_kind(&both, JobKind::OutlookToCrm).clone(),
    );
    // Running: untouched (its own completion schedules it).
    set_run_at(
        &f,
        p,
        JobKind::OutlookToCrm,
        "now() + interval '10 seconds'",
    )
    .await;
    let running = run_at(&f, p, JobKind::OutlookToCrm).await;
    f.queue
        .complete_covering(
            &c2o,
            Duration::from_secs(60),
            Some((JobKind::OutlookToCrm, COVER)),
        )
        .await
        .unwrap();
    assert_eq!(run_at(&f, p, JobKind::OutlookToCrm).await, running);
    // Backing off after a failure: its retry time stands.
    let failed = f
        .queue
        .fail(&o2c, &JobError::new("CRM unreachable"), &Backoff::default())
        .await
        .unwrap();
    let job = claim_only(&f, p, JobKind::CrmToOutlook).await;
    set_run_at(
        &f,
        p,
        JobKind::OutlookToCrm,
        &format!("'{}'::timestamptz", failed.run_at.to_rfc3339()),
    )
    .await;
    f.queue
        .complete_covering(
            &job,
            Duration::from_secs(60),
            Some((JobKind::OutlookToCrm, COVER)),
        )
        .await
        .unwrap();
    assert_eq!(run_at(&f, p, JobKind::OutlookToCrm).await, failed.run_at);
}
