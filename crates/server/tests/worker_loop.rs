//! The worker loop in one process on real Postgres: running due jobs, storing the handler's schedule,
//! failures and panics, heartbeats, lost leases, bounded concurrency, wake-up by NOTIFY, graceful stop.

mod common;

use common::worker::{fixture, pairing};
use std::{
    future::Future,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::Duration,
};

use chrono::{DateTime, Utc};
use crm_server::{
    metrics::Metrics,
    worker::{
        Backoff, ClaimedJob, Enqueued, JobError, JobHandler, JobKind, JobOutcome, JobQueue,
        Trigger, Worker, WorkerConfig,
    },
};
use sqlx::PgPool;

const HOUR: Duration = Duration::from_secs(3600);

fn config() -> WorkerConfig {
    WorkerConfig {
        worker_id: "test-worker".into(),
        concurrency: 4,
        poll_interval: Duration::from_millis(50),
        lease: Duration::from_secs(2),
        heartbeat: Duration::from_millis(400),
        shutdown_grace: Duration::from_secs(5),
        backoff: Backoff::default(),
        listen: false,
    }
}

/// A handler made of a closure, so each test states its behaviour inline.
struct FnHandler<F>(F);

impl<F, Fut> JobHandler for FnHandler<F>
where
    F: Fn(ClaimedJob) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<JobOutcome, JobError>> + Send,
{
    fn run(&self, job: &ClaimedJob) -> impl Future<Output = Result<JobOutcome, JobError>> + Send {
        (self.0)(job.clone())
    }
}

/// Polls `check` until it holds; a liveness bound, not a timing assertion.
async fn eventually<Fut: Future<Output = bool>>(what: &str, mut check: impl FnMut() -> Fut) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting: {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn count(pool: &PgPool, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

async fn db_now(pool: &PgPool) -> DateTime<Utc> {
    sqlx::query_scalar("SELECT now()")
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn the_worker_runs_every_due_job_and_stores_the_handlers_next_run() {
    let f = fixture().await;
    for _ in 0..5 {
        pairing(&f).await;
    }
    let runs = Arc::new(AtomicUsize::new(0));
    let handler = FnHandler({
        let runs = runs.clone();
        move |_job| {
            let runs = runs.clone();
            async move {
                runs.fetch_add(1, Ordering::SeqCst);
                Ok(JobOutcome::run_again_in(HOUR))
            }
        }
    });
    let metrics = Metrics::new();
    let worker = Worker::spawn(f.queue.clone(), handler, config(), metrics.clone());
    eventually("all ten jobs scheduled an hour ahead", || async {
        count(
            &f.pool,
            "SELECT count(*) FROM jobs
             WHERE run_at > now() + interval '59 minutes' AND locked_until IS NULL",
        )
        .await
            == 10
    })
    .await;
    let report = worker.shutdown().await;
    assert_eq!(report.completed, 10);
    assert_eq!(runs.load(Ordering::SeqCst), 10, "each job ran once");
    let rendered = metrics.render();
    assert!(rendered.contains("crm_jobs_in_flight 0"), "{rendered}");
}

#[tokio::test]
async fn a_failing_run_is_retried_after_backoff_with_its_error_recorded() {
    let f = fixture().await;
    let p = pairing(&f).await;
    let handler = FnHandler(|job: ClaimedJob| async move {
        match job.kind {
            JobKind::OutlookToCrm => Err(JobError::new("CRM unreachable")),
            JobKind::CrmToOutlook => Ok(JobOutcome::run_again_in(HOUR)),
        }
    });
    let worker = Worker::spawn(f.queue.clone(), handler, config(), Metrics::new());
    eventually("the failure recorded", || async {
        count(&f.pool, "SELECT count(*) FROM jobs WHERE attempts = 1").await == 1
    })
    .await;
    let report = worker.shutdown().await;
    assert_eq!(report.failed, 1);
    let jobs = f.queue.jobs(p).await.unwrap();
    let failed = jobs.iter().find(|j| j.kind == "outlook_to_crm").unwrap();
    assert_eq!(failed.last_error.as_deref(), Some("CRM unreachable"));
    assert!(
        failed.run_at >= db_now(&f.pool).await + Duration::from_secs(1),
        "backing off"
    );
    assert_eq!(failed.locked_by, None);
}

#[tokio::test]
async fn a_panicking_handler_counts_as_a_failure_without_leaking_the_panic_message() {
    let f = fixture().await;
    let p = pairing(&f).await;
    let handler = FnHandler(|job: ClaimedJob| async move {
        if job.kind == JobKind::CrmToOutlook {
            panic!("secret-token-123");
        }
        Ok(JobOutcome::run_again_in(HOUR))
    });
    let worker = Worker::spawn(f.queue.clone(), handler, config(), Metrics::new());
    eventually("the panic recorded as a failure", || async {
        count(&f.pool, "SELECT count(*) FROM jobs WHERE attempts = 1").await == 1
    })
    .await;
    let report = worker.shutdown().await;
    assert_eq!((report.failed, report.completed), (1, 1));
    let row = f
        .queue
        .jobs(p)
        .await
        .unwrap()
        .into_iter()
        .find(|j| j.kind == "crm_to_outlook")
        .unwrap();
    assert_eq!(row.last_error.as_deref(), Some("internal error"));
}

#[tokio::test]
async fn heartbeats_keep_a_run_leased_well_past_its_initial_lease() {
    let f = fixture().await;
    let p = pairing(&f).await;
    sqlx::query("UPDATE jobs SET run_at = now() + interval '1 hour' WHERE kind = 'crm_to_outlook'")
        .execute(&f.pool)
        .await
        .unwrap();
    let config = WorkerConfig {
        lease: Duration::from_secs(3),
        heartbeat: Duration::from_millis(300),
        ..config()
    };
    let handler = FnHandler(|_job| async move {
        // One and a half initial leases long.
        tokio::time::sleep(Duration::from_millis(4500)).await;
        Ok(JobOutcome::run_again_in(HOUR))
    });
    let worker = Worker::spawn(f.queue.clone(), handler, config, Metrics::new());
    eventually("the job claimed", || async {
        count(
            &f.pool,
            "SELECT count(*) FROM jobs WHERE locked_by IS NOT NULL",
        )
        .await
            == 1
    })
    .await;
    let first_lease: DateTime<Utc> =
        sqlx::query_scalar("SELECT locked_until FROM jobs WHERE locked_by IS NOT NULL")
            .fetch_one(&f.pool)
            .await
            .unwrap();
    // Meanwhile nobody else may claim it, at any point of the run.
    let other = JobQueue::new(f.pool.clone());
    let mut extended = false;
    while count(
        &f.pool,
        "SELECT count(*) FROM jobs WHERE locked_by IS NOT NULL",
    )
    .await
        == 1
    {
        assert!(
            other
                .claim("intruder", 10, Duration::from_secs(2))
                .await
                .unwrap()
                .is_empty()
        );
        let lease: Option<DateTime<Utc>> =
            sqlx::query_scalar("SELECT locked_until FROM jobs WHERE locked_by IS NOT NULL")
                .fetch_optional(&f.pool)
                .await
                .unwrap()
                .flatten();
        extended |= lease.is_some_and(|l| l > first_lease);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let report = worker.shutdown().await;
    assert!(extended, "the lease was extended");
    assert_eq!((report.completed, report.lease_lost), (1, 0));
    let row = f
        .queue
        .jobs(p)
        .await
        .unwrap()
        .into_iter()
        .find(|j| j.kind == "outlook_to_crm")
        .unwrap();
    assert!(
        row.run_at > db_now(&f.pool).await + Duration::from_secs(3000),
        "completed normally"
    );
}

#[tokio::test]
async fn a_run_whose_lease_is_taken_over_is_stopped() {
    let f = fixture().await;
    pairing(&f).await;
    sqlx::query("UPDATE jobs SET run_at = now() + interval '1 hour' WHERE kind = 'crm_to_outlook'")
        .execute(&f.pool)
        .await
        .unwrap();
    let started = Arc::new(AtomicBool::new(false));
    let dropped = Arc::new(AtomicBool::new(false));
    struct SetOnDrop(Arc<AtomicBool>);
    impl Drop for SetOnDrop {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }
    let handler = FnHandler({
        let (started, dropped) = (started.clone(), dropped.clone());
        move |_job| {
            let (started, dropped) = (started.clone(), dropped.clone());
            async move {
                let _guard = SetOnDrop(dropped);
                started.store(true, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_secs(60)).await;
                Ok(JobOutcome::run_again_in(HOUR))
            }
        }
    });
    let worker = Worker::spawn(f.queue.clone(), handler, config(), Metrics::new());
    eventually("the run started", || {
        let started = started.load(Ordering::SeqCst);
        async move { started }
    })
    .await;
    // Another worker takes the job over (as after an expiry): the token changes.
    sqlx::query(
        "UPDATE jobs SET lease_id = gen_random_uuid(), locked_by = 'other'
         WHERE locked_by IS NOT NULL",
    )
    .execute(&f.pool)
    .await
    .unwrap();
    eventually("the run stopped at its next heartbeat", || {
        let dropped = dropped.load(Ordering::SeqCst);
        async move { dropped }
    })
    .await;
    let report = worker.shutdown().await;
    assert_eq!((report.lease_lost, report.completed), (1, 0));
    let holder: Option<String> =
        sqlx::query_scalar("SELECT locked_by FROM jobs WHERE kind = 'outlook_to_crm'")
            .fetch_one(&f.pool)
            .await
            .unwrap();
    assert_eq!(
        holder.as_deref(),
        Some("other"),
        "the new holder's lease is untouched"
    );
}

#[tokio::test]
async fn a_run_that_cannot_renew_its_lease_stops_working_before_the_lease_expires() {
    let f = fixture().await;
    pairing(&f).await;
    sqlx::query("UPDATE jobs SET run_at = now() + interval '1 hour' WHERE kind = 'crm_to_outlook'")
        .execute(&f.pool)
        .await
        .unwrap();
    // Every heartbeat fails with a database error (as when the database is unreachable); claims and
    // completions still work.
    sqlx::raw_sql(
        "CREATE TABLE alive (at TIMESTAMPTZ NOT NULL);
         CREATE FUNCTION refuse_heartbeat() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN RAISE EXCEPTION 'heartbeat refused by the test'; END $$;
         CREATE TRIGGER refuse_heartbeat BEFORE UPDATE ON jobs FOR EACH ROW
         WHEN (OLD.lease_id = NEW.lease_id AND NEW.locked_until > OLD.locked_until)
         EXECUTE FUNCTION refuse_heartbeat();",
    )
    .execute(&f.pool)
    .await
    .unwrap();
    let dropped = Arc::new(AtomicBool::new(false));
    struct SetOnDrop(Arc<AtomicBool>);
    impl Drop for SetOnDrop {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }
    let handler = FnHandler({
        let (pool, dropped) = (f.pool.clone(), dropped.clone());
        move |_job| {
            let (pool, dropped) = (pool.clone(), dropped.clone());
            async move {
                let _guard = SetOnDrop(dropped);
                // Work that leaves a trace in database time, until stopped.
                loop {
                    sqlx::query("INSERT INTO alive VALUES (clock_timestamp())")
                        .execute(&pool)
                        .await
                        .unwrap();
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }
    });
    let worker = Worker::spawn(f.queue.clone(), handler, config(), Metrics::new());
    eventually("the run was stopped", || {
        let dropped = dropped.load(Ordering::SeqCst);
        async move { dropped }
    })
    .await;
    let report = worker.shutdown().await;
    assert_eq!((report.lease_lost, report.completed), (1, 0));
    let (last_work, lease_end): (DateTime<Utc>, DateTime<Utc>) = sqlx::query_as(
        "SELECT (SELECT max(at) FROM alive), locked_until FROM jobs WHERE kind = 'outlook_to_crm'",
    )
    .fetch_one(&f.pool)
    .await
    .unwrap();
    assert!(
        last_work < lease_end,
        "the handler worked until {last_work}, after its lease ended at {lease_end}"
    );
}

#[tokio::test]
async fn no_more_jobs_run_at_once_than_the_concurrency_limit() {
    let f = fixture().await;
    for _ in 0..10 {
        pairing(&f).await;
    }
    let running = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let handler = FnHandler({
        let (running, peak) = (running.clone(), peak.clone());
        move |_job| {
            let (running, peak) = (running.clone(), peak.clone());
            async move {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(50)).await;
                running.fetch_sub(1, Ordering::SeqCst);
                Ok(JobOutcome::run_again_in(HOUR))
            }
        }
    });
    let config = WorkerConfig {
        concurrency: 3,
        ..config()
    };
    let worker = Worker::spawn(f.queue.clone(), handler, config, Metrics::new());
    eventually("all twenty jobs ran", || async {
        count(
            &f.pool,
            "SELECT count(*) FROM jobs WHERE run_at > now() + interval '59 minutes'",
        )
        .await
            == 20
    })
    .await;
    let report = worker.shutdown().await;
    assert_eq!(report.completed, 20);
    assert_eq!(
        peak.load(Ordering::SeqCst),
        3,
        "saturated but never above the limit"
    );
}

#[tokio::test]
async fn an_enqueue_on_another_connection_wakes_an_idle_worker_through_notify() {
    let f = fixture().await;
    let p = pairing(&f).await;
    sqlx::query("UPDATE jobs SET run_at = now() + interval '1 hour'")
        .execute(&f.pool)
        .await
        .unwrap();
    let runs = Arc::new(AtomicUsize::new(0));
    let handler = FnHandler({
        let runs = runs.clone();
        move |_job| {
            let runs = runs.clone();
            async move {
                runs.fetch_add(1, Ordering::SeqCst);
                Ok(JobOutcome::run_again_in(HOUR))
            }
        }
    });
    let config = WorkerConfig {
        // Only a notification can make it look again within this test.
        poll_interval: HOUR,
        listen: true,
        ..config()
    };
    let worker = Worker::spawn(f.queue.clone(), handler, config, Metrics::new());
    eventually("the worker listening", || async {
        count(
            &f.pool,
            "SELECT count(*) FROM pg_stat_activity
             WHERE datname = current_database() AND query LIKE 'LISTEN%'",
        )
        .await
            == 1
    })
    .await;
    let other_process = JobQueue::new(f.pool.clone());
    other_process
        .enqueue_now(p, JobKind::OutlookToCrm, Trigger::User)
        .await
        .unwrap();
    eventually("the enqueued job ran", || {
        let n = runs.load(Ordering::SeqCst);
        async move { n == 1 }
    })
    .await;
    let report = worker.shutdown().await;
    assert_eq!(report.completed, 1);
}

#[tokio::test]
async fn a_job_enqueued_during_its_run_runs_again_right_after_without_waiting_for_a_poll() {
    let f = fixture().await;
    let p = pairing(&f).await;
    sqlx::query("UPDATE jobs SET run_at = now() + interval '1 hour' WHERE kind = 'crm_to_outlook'")
        .execute(&f.pool)
        .await
        .unwrap();
    let runs = Arc::new(AtomicUsize::new(0));
    let handler = FnHandler({
        let (runs, queue) = (runs.clone(), f.queue.clone());
        move |job: ClaimedJob| {
            let (runs, queue) = (runs.clone(), queue.clone());
            async move {
                if runs.fetch_add(1, Ordering::SeqCst) == 0 {
                    // A change notification arrives while the first run is in progress.
                    let enqueued = queue
                        .enqueue_now(job.pairing_id, job.kind, Trigger::ChangeNotification)
                        .await
                        .unwrap();
                    assert_eq!(enqueued, Enqueued::AfterCurrentRun);
                }
                Ok(JobOutcome::run_again_in(HOUR))
            }
        }
    });
    let config = WorkerConfig {
        // Neither a poll nor a notification can start the second run within this test.
        poll_interval: HOUR,
        listen: false,
        ..config()
    };
    let worker = Worker::spawn(f.queue.clone(), handler, config, Metrics::new());
    eventually("the second run", || {
        let n = runs.load(Ordering::SeqCst);
        async move { n == 2 }
    })
    .await;
    let report = worker.shutdown().await;
    assert_eq!(report.completed, 2);
    let row = f
        .queue
        .jobs(p)
        .await
        .unwrap()
        .into_iter()
        .find(|j| j.kind == "outlook_to_crm")
        .unwrap();
    assert!(row.run_at > db_now(&f.pool).await + Duration::from_secs(3000));
}

#[tokio::test]
async fn shutdown_lets_short_runs_finish() {
    let f = fixture().await;
    pairing(&f).await;
    let started = Arc::new(AtomicUsize::new(0));
    let handler = FnHandler({
        let started = started.clone();
        move |_job| {
            let started = started.clone();
            async move {
                started.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(500)).await;
                Ok(JobOutcome::run_again_in(HOUR))
            }
        }
    });
    let worker = Worker::spawn(f.queue.clone(), handler, config(), Metrics::new());
    eventually("both runs started", || {
        let n = started.load(Ordering::SeqCst);
        async move { n == 2 }
    })
    .await;
    let report = worker.shutdown().await;
    assert_eq!((report.completed, report.released), (2, 0));
    assert_eq!(
        count(
            &f.pool,
            "SELECT count(*) FROM jobs WHERE locked_by IS NOT NULL"
        )
        .await,
        0
    );
}

#[tokio::test]
async fn shutdown_releases_runs_that_outlast_the_grace_period_for_immediate_takeover() {
    let f = fixture().await;
    pairing(&f).await;
    let started = Arc::new(AtomicUsize::new(0));
    let handler = FnHandler({
        let started = started.clone();
        move |_job| {
            let started = started.clone();
            async move {
                started.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_secs(60)).await;
                Ok(JobOutcome::run_again_in(HOUR))
            }
        }
    });
    let config = WorkerConfig {
        shutdown_grace: Duration::from_millis(200),
        ..config()
    };
    let metrics = Metrics::new();
    let worker = Worker::spawn(f.queue.clone(), handler, config, metrics.clone());
    eventually("both runs started", || {
        let n = started.load(Ordering::SeqCst);
        async move { n == 2 }
    })
    .await;
    assert!(metrics.render().contains("crm_jobs_in_flight 2"));
    let report = worker.shutdown().await;
    assert!(metrics.render().contains("crm_jobs_in_flight 0"));
    assert_eq!((report.released, report.completed), (2, 0));
    let other = JobQueue::new(f.pool.clone());
    let taken = other
        .claim("next", 10, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(taken.len(), 2, "due and unleased at once");
    assert!(
        taken.iter().all(|j| j.attempts == 0),
        "a release is not a failure"
    );
}

#[tokio::test]
async fn dropping_the_handle_stops_the_worker() {
    let f = fixture().await;
    pairing(&f).await;
    sqlx::query("UPDATE jobs SET run_at = now() + interval '1 hour'")
        .execute(&f.pool)
        .await
        .unwrap();
    let runs = Arc::new(AtomicUsize::new(0));
    let handler = FnHandler({
        let runs = runs.clone();
        move |_job| {
            let runs = runs.clone();
            async move {
                runs.fetch_add(1, Ordering::SeqCst);
                Ok(JobOutcome::run_again_in(HOUR))
            }
        }
    });
    let worker = Worker::spawn(f.queue.clone(), handler, config(), Metrics::new());
    drop(worker);
    // Give a still-running loop ample polls to notice the due jobs, then check it did not.
    tokio::time::sleep(Duration::from_millis(300)).await;
    sqlx::query("UPDATE jobs SET run_at = now()")
        .execute(&f.pool)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(runs.load(Ordering::SeqCst), 0);
    assert_eq!(
        count(
            &f.pool,
            "SELECT count(*) FROM jobs WHERE locked_by IS NOT NULL"
        )
        .await,
        0
    );
}
