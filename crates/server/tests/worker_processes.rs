//! Several worker processes on one database: each pairing runs, no (pairing, kind) ever runs twice at
//! the same time, and a SIGKILLed process's jobs are taken over after their leases expire.
//!
//! The worker processes are this test binary itself, re-executed with `CHILD_DB_ENV` set and told to run
//! only [`worker_child_process`]. Each child's handler records every run's start and end, taken from
//! Postgres' `clock_timestamp()`, in `worker_runs`; the assertions are on those recorded intervals, never
//! on how long anything took. A child stops gracefully when its stdin closes, so children never outlive
//! the test even if it panics.

mod common;

use common::process::wait_for;

use std::{
    collections::{BTreeMap, HashMap},
    io::Read,
    process::{Child, Command, Stdio},
    time::Duration,
};

use chrono::{DateTime, Utc};
use crm_server::{
    db,
    metrics::Metrics,
    worker::{ClaimedJob, JobError, JobHandler, JobOutcome, JobQueue, Worker, WorkerConfig},
};
use sqlx::{PgPool, postgres::PgPoolOptions};
use test_db::TestDb;
use uuid::Uuid;

const CHILD_DB_ENV: &str = "CRM_WORKER_CHILD_DATABASE_URL";
const CHILD_NAME_ENV: &str = "CRM_WORKER_CHILD_NAME";
const CHILD_TEST: &str = "worker_child_process";
const PAIRINGS: usize = 50;
const LEASE: Duration = Duration::from_secs(2);

/// Records each run in `worker_runs` and sleeps in between, so runs of different jobs overlap across
/// processes and a kill lands mid-run.
struct RecordingHandler {
    pool: PgPool,
    process: String,
}

impl JobHandler for RecordingHandler {
    async fn run(&self, job: &ClaimedJob) -> Result<JobOutcome, JobError> {
        let err = |e: sqlx::Error| JobError::new(e.to_string());
        let run: i64 = sqlx::query_scalar(
            "INSERT INTO worker_runs (pairing_id, kind, process, started_at)
             VALUES ($1, $2, $3, clock_timestamp()) RETURNING id",
        )
        .bind(job.pairing_id)
        .bind(job.kind.as_str())
        .bind(&self.process)
        .fetch_one(&self.pool)
        .await
        .map_err(err)?;
        // Should the run be stopped (its lease could not be renewed in time on a starved machine), record
        // when: the write happens after the stop, so the recorded interval still covers the run.
        let guard = EndOnDrop {
            pool: self.pool.clone(),
            run: Some(run),
        };
        let (_, random) = Uuid::new_v4().as_u64_pair();
        // Mostly short runs; one in ten outlasts the lease, so only heartbeats keep it exclusive.
        let sleep = if random % 10 == 0 {
            LEASE + LEASE / 4
        } else {
            Duration::from_millis(100 + random % 300)
        };
        tokio::time::sleep(sleep).await;
        guard.finish().await.map_err(err)?;
        // Come back soon, so every job runs many times and in several processes during the test.
        Ok(JobOutcome::run_again_in(Duration::from_millis(300)))
    }
}

/// Records the end of a run: normally through [`EndOnDrop::finish`], or, if the run's future is dropped
/// (stopped by the worker), from a task spawned in `drop`, marked `stopped`.
struct EndOnDrop {
    pool: PgPool,
    run: Option<i64>,
}

impl EndOnDrop {
    async fn finish(mut self) -> Result<(), sqlx::Error> {
        let run = self.run.take().expect("finished once");
        sqlx::query("UPDATE worker_runs SET ended_at = clock_timestamp() WHERE id = $1")
            .bind(run)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

impl Drop for EndOnDrop {
    fn drop(&mut self) {
        if let Some(run) = self.run.take() {
            let pool = self.pool.clone();
            tokio::spawn(async move {
                let _ = sqlx::query(
                    "UPDATE worker_runs SET ended_at = clock_timestamp(), stopped = true
                     WHERE id = $1",
                )
                .bind(run)
                .execute(&pool)
                .await;
            });
        }
    }
}

/// Not a test on its own: the body of a worker process started by the multi-process test. Without
/// `CHILD_DB_ENV` it does nothing.
#[test]
fn worker_child_process() {
    let Ok(url) = std::env::var(CHILD_DB_ENV) else {
        return;
    };
    let name = std::env::var(CHILD_NAME_ENV).expect("child name");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let pool = PgPoolOptions::new()
            .max_connections(6)
            .connect(&url)
            .await
            .expect("child connects");
        let config = WorkerConfig {
            worker_id: format!("{name}-{}", std::process::id()),
            concurrency: 8,
            poll_interval: Duration::from_millis(100),
            lease: LEASE,
            heartbeat: Duration::from_millis(400),
            shutdown_grace: Duration::from_secs(5),
            listen: true,
            ..WorkerConfig::default()
        };
        let handler = RecordingHandler {
            pool: pool.clone(),
            process: name.clone(),
        };
        let worker = Worker::spawn(JobQueue::new(pool), handler, config, Metrics::new());
        // Run until the parent closes our stdin (or dies).
        tokio::task::spawn_blocking(|| {
            let _ = std::io::stdin().read_to_end(&mut Vec::new());
        })
        .await
        .unwrap();
        let report = worker.shutdown().await;
        eprintln!("worker process {name} stopped: {report:?}");
    });
}

struct ChildProcess {
    name: &'static str,
    child: Child,
}

fn spawn_child(db_url: &str, name: &'static str) -> ChildProcess {
    let child = Command::new(std::env::current_exe().expect("test binary path"))
        .args([CHILD_TEST, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_DB_ENV, db_url)
        .env(CHILD_NAME_ENV, name)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn worker process");
    ChildProcess { name, child }
}

impl ChildProcess {
    /// Closes stdin (the child's cue for a graceful stop) and waits for it to exit.
    async fn stop(mut self) {
        drop(self.child.stdin.take());
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(
                    status.success(),
                    "worker process {} exited with {status}",
                    self.name
                );
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "worker process {} did not stop",
                self.name
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGKILL, and wait until the process is gone (so it can write nothing more).
    fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reap");
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct Run {
    pairing_id: Uuid,
    kind: String,
    process: String,
    started_at: DateTime<Utc>,
    ended_at: Option<DateTime<Utc>>,
    /// Stopped by the worker (lease not renewed in time) rather than finished.
    stopped: bool,
}

async fn runs(pool: &PgPool) -> Vec<Run> {
    sqlx::query_as(
        "SELECT pairing_id, kind, process, started_at, ended_at, stopped FROM worker_runs ORDER BY id",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

async fn scalar(pool: &PgPool, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

async fn setup() -> (TestDb, PgPool) {
    let db = TestDb::new().await;
    let pool = db.pool().await;
    db::migrate(&pool).await.expect("migrate");
    sqlx::query(
        "CREATE TABLE worker_runs (
             id          BIGSERIAL PRIMARY KEY,
             pairing_id  UUID NOT NULL,
             kind        TEXT NOT NULL,
             process     TEXT NOT NULL,
             started_at  TIMESTAMPTZ NOT NULL,
             ended_at    TIMESTAMPTZ,
             stopped     BOOLEAN NOT NULL DEFAULT false
         )",
    )
    .execute(&pool)
    .await
    .unwrap();
    let queue = JobQueue::new(pool.clone());
    for _ in 0..PAIRINGS {
        let (mailbox, pairing) = (Uuid::new_v4(), Uuid::new_v4());
        sqlx::query(
            "INSERT INTO mailboxes (id, tenant_id, object_id, email)
             VALUES ($1, 'tenant', $1::text, 'user@example.com')",
        )
        .bind(mailbox)
        .execute(&pool)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO pairings (id, mailbox_id, crm_address, crm_username, crm_user_id, calendar_id)
             VALUES ($1, $2, 'https://crm.example', 'user', '1', 'calendar')",
        )
        .bind(pairing)
        .bind(mailbox)
        .execute(&pool)
        .await
        .unwrap();
        queue.ensure_jobs(pairing).await.unwrap();
    }
    (db, pool)
}

/// Checks that the runs of each (pairing, kind) are disjoint in time. A run without an end was cut short
/// by the kill; it ended by `killed_at` at the latest.
fn assert_no_overlap(runs: &[Run], killed_at: DateTime<Utc>) {
    let mut by_job: HashMap<(Uuid, &str), Vec<&Run>> = HashMap::new();
    for run in runs {
        by_job
            .entry((run.pairing_id, &run.kind))
            .or_default()
            .push(run);
    }
    for ((pairing, kind), mut runs) in by_job {
        runs.sort_by_key(|r| r.started_at);
        for pair in runs.windows(2) {
            let (earlier, later) = (pair[0], pair[1]);
            let end = earlier.ended_at.unwrap_or(killed_at);
            assert!(
                end <= later.started_at,
                "{kind} of pairing {pairing} ran twice at once: {earlier:?} and {later:?}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_processes_share_all_pairings_never_overlap_a_job_and_take_over_a_killed_ones_jobs()
{
    let (db, pool) = setup().await;
    let jobs = (PAIRINGS * 2) as i64;

    // Two processes first.
    let a = spawn_child(db.url(), "A");
    let b = spawn_child(db.url(), "B");
    wait_for(
        "every (pairing, kind) has run",
        Duration::from_secs(30),
        Duration::from_millis(50),
        || async {
            scalar(
                &pool,
                "SELECT count(DISTINCT (pairing_id, kind)) FROM worker_runs
             WHERE ended_at IS NOT NULL AND NOT stopped",
            )
            .await
                == jobs
        },
    )
    .await;

    // Then a third joins.
    let c = spawn_child(db.url(), "C");
    wait_for(
        "the third process has finished runs",
        Duration::from_secs(20),
        Duration::from_millis(50),
        || async {
            scalar(
                &pool,
                "SELECT count(*) FROM worker_runs WHERE process = 'C' AND ended_at IS NOT NULL",
            )
            .await
                >= 5
        },
    )
    .await;

    // Kill A in the middle of runs.
    wait_for(
        "A is mid-run",
        Duration::from_secs(10),
        Duration::from_millis(50),
        || async {
            scalar(
                &pool,
                "SELECT count(*) FROM worker_runs WHERE process = 'A' AND ended_at IS NULL",
            )
            .await
                >= 2
        },
    )
    .await;
    a.kill();
    let killed_at: DateTime<Utc> = sqlx::query_scalar("SELECT clock_timestamp()")
        .fetch_one(&pool)
        .await
        .unwrap();
    // A's leases as it left them (it is dead, so they can only change by being taken over).
    let a_leases: Vec<(Uuid, String, DateTime<Utc>)> = sqlx::query_as(
        "SELECT pairing_id, kind, locked_until FROM jobs WHERE locked_by LIKE 'A-%'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let cut_short: Vec<Run> = runs(&pool)
        .await
        .into_iter()
        .filter(|r| r.process == "A" && r.ended_at.is_none())
        .collect();
    assert!(!cut_short.is_empty(), "the kill interrupted runs");

    wait_for(
        "B and C took over every job A was running",
        Duration::from_secs(20),
        Duration::from_millis(50),
        || async {
            let all = runs(&pool).await;
            cut_short.iter().all(|dead| {
                all.iter().any(|r| {
                    r.pairing_id == dead.pairing_id
                        && r.kind == dead.kind
                        && r.process != "A"
                        && r.started_at > killed_at
                        && r.ended_at.is_some()
                })
            })
        },
    )
    .await;

    b.stop().await;
    c.stop().await;

    let all = runs(&pool).await;
    let mut per_process: BTreeMap<&str, usize> = BTreeMap::new();
    for run in &all {
        *per_process.entry(&run.process).or_default() += 1;
    }
    eprintln!(
        "{} runs in total, per process: {per_process:?}; {} cut short by the kill, {} stopped for a \
         lease not renewed in time, {} of A's leases taken over",
        all.len(),
        cut_short.len(),
        all.iter().filter(|r| r.stopped).count(),
        a_leases.len()
    );
    assert_eq!(
        per_process.len(),
        3,
        "all three processes ran jobs: {per_process:?}"
    );

    assert_no_overlap(&all, killed_at);
    let outlasted_lease = all
        .iter()
        .filter(|r| r.ended_at.is_some_and(|e| e > r.started_at + LEASE))
        .count();
    assert!(
        outlasted_lease > 0,
        "some runs outlasted the lease on heartbeats alone"
    );

    let unfinished_survivors: Vec<&Run> = all
        .iter()
        .filter(|r| r.process != "A" && r.ended_at.is_none())
        .collect();
    assert!(
        unfinished_survivors.is_empty(),
        "a graceful stop finishes its runs: {unfinished_survivors:?}"
    );
    assert_eq!(
        all.iter()
            .filter(|r| r.ended_at.is_some() && !r.stopped)
            .map(|r| (r.pairing_id, &r.kind))
            .collect::<std::collections::HashSet<_>>()
            .len() as i64,
        jobs,
        "every (pairing, kind) ran"
    );
    assert!(
        all.iter()
            .filter(|r| r.process == "A")
            .all(|r| r.started_at < killed_at && r.ended_at.is_none_or(|e| e <= killed_at)),
        "nothing of A's after the kill"
    );
    assert!(!a_leases.is_empty(), "A held leases when killed");
    for (pairing, kind, expiry) in &a_leases {
        let next = all
            .iter()
            .filter(|r| r.pairing_id == *pairing && &r.kind == kind && r.started_at > killed_at)
            .map(|r| r.started_at)
            .min();
        if let Some(next) = next {
            assert!(
                next >= *expiry,
                "{kind} of {pairing} restarted at {next}, before A's lease ended at {expiry}"
            );
        }
    }
    let survivors_leases = scalar(
        &pool,
        "SELECT count(*) FROM jobs WHERE locked_by LIKE 'B-%' OR locked_by LIKE 'C-%'",
    )
    .await;
    assert_eq!(
        survivors_leases, 0,
        "stopped processes leave no lease behind"
    );
    let failures = scalar(&pool, "SELECT count(*) FROM jobs WHERE attempts > 0").await;
    assert_eq!(failures, 0, "no run failed");
}
