//! Real `crm-server` processes sharing one database and real pairings, with both simulators in this
//! test process (reached over HTTP through the servers' base-URL configuration):
//!
//! * two processes, 50 pairings made through the HTTP API: every pairing syncs both ways, no pairing is
//!   ever synced by two processes at once, and when one process is SIGKILLed mid-run the other takes
//!   its work over (an interrupted job only after its lease expires, or through a run of the pairing's
//!   other job, which covers it) — nothing lost, nothing duplicated;
//! * three processes killed (SIGKILL) and restarted at random points (seed printed for replay): the same
//!   guarantees. `CRM_CHAOS_ROUNDS`, `CRM_CHAOS_PAIRINGS` and `CRM_CHAOS_SEED` size and replay it; the
//!   long form runs in `cargo xtask bench --chaos`. The seed replays every choice (which pairings change,
//!   when and which process is killed, how slow the CRM is); the processes' own timing stays real.
//!
//! "At once" is judged from data: each process logs (JSON, target `RUN_JOURNAL_TARGET`) when it starts
//! and ends a run while holding the pairing's lock; the test merges the logs of all processes and checks
//! that the intervals of each pairing are disjoint. A killed process's unfinished runs end, at the
//! latest, at the moment just before the kill.

mod common;

use common::process::{free_port, wait_for};

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::Duration,
};

use chrono::{DateTime, Utc};
use common::Sims;
use crm_server::{db, sync::RUN_JOURNAL_TARGET};
use futures::StreamExt;
use rand::{Rng, SeedableRng, rngs::StdRng};
use serde_json::{Value, json};
use sqlx::PgPool;
use test_db::TestDb;
use uuid::Uuid;

const SECRET_KEYS: &str = "k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
/// Short leases, so a killed process's work is taken over within seconds.
const LEASE_SECS: u64 = 3;
/// The shortest CRM → Outlook poll the configuration allows.
const CRM_POLL_SECS: u64 = 10;

/// The tests here start several server processes each; one at a time keeps a loaded machine usable.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

/// One `crm-server serve` process. Killed (SIGKILL) when dropped, so none outlives a failed test.
struct ServerProcess {
    /// Also its `HOSTNAME`, so its worker id (`jobs.locked_by`) starts with it.
    name: String,
    port: u16,
    log: PathBuf,
    child: Child,
    /// Set by [`ServerProcess::kill`]: the moment just before the kill.
    killed_at: Option<DateTime<Utc>>,
}

impl ServerProcess {
    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    async fn ready(&self) {
        wait_for(
            &format!("server {} is ready", self.name),
            Duration::from_secs(120),
            Duration::from_millis(200),
            || async {
                matches!(client().get(self.url("/readyz")).send().await, Ok(r) if r.status() == 200)
            },
        )
        .await;
    }

    /// SIGKILL; returns once the process is gone.
    fn kill(&mut self) {
        self.killed_at = Some(Utc::now());
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reap");
    }

    /// SIGTERM and wait for a clean exit (in-flight runs finish or are released).
    async fn stop(&mut self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "{} exited with {status}", self.name);
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{} ignored SIGTERM",
                self.name
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if self.killed_at.is_none() && matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The simulators, the database and everything needed to start server processes on them.
struct Cluster {
    sims: Sims,
    db: TestDb,
    pool: PgPool,
    logs: tempdir::Dir,
    pairings: Vec<Pairing>,
}

/// A mailbox paired with its own CRM user.
#[derive(Clone)]
struct Pairing {
    email: String,
    calendar_id: String,
    crm_user_id: u64,
}

mod tempdir {
    use std::path::PathBuf;

    /// A folder in the system's temp directory, removed when dropped.
    pub struct Dir(pub PathBuf);

    impl Dir {
        pub fn new() -> Self {
            let dir = std::env::temp_dir().join(format!("crm-procs-{}", uuid::Uuid::new_v4()));
            std::fs::create_dir_all(&dir).unwrap();
            Dir(dir)
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

impl Cluster {
    async fn new() -> Self {
        let sims = Sims::start().await;
        let db = TestDb::new().await;
        let pool = db.pool().await;
        db::migrate(&pool).await.expect("migrate");
        Self {
            sims,
            db,
            pool,
            logs: tempdir::Dir::new(),
            pairings: Vec::new(),
        }
    }

    /// Starts `crm-server serve` named `name` on `port`, pointed at the simulators.
    async fn spawn(&self, name: &str, port: u16) -> ServerProcess {
        let log = self.logs.0.join(format!("{name}.log"));
        let out = std::fs::File::create(&log).unwrap();
        let graph = &self.sims.graph_url;
        let child = Command::new(env!("CARGO_BIN_EXE_crm-server"))
            .arg("serve")
            .env("DATABASE_URL", self.db.url())
            .env("SECRET_KEYS", SECRET_KEYS)
            .env("LISTEN_ADDR", format!("127.0.0.1:{port}"))
            .env("PUBLIC_URL", format!("http://127.0.0.1:{port}"))
            .env("GRAPH_BASE_URL", format!("{graph}/v1.0"))
            .env("IDENTITY_AUTHORITY", graph)
            .env("IDENTITY_TENANT", &self.sims.mailbox.tenant_id)
            .env("CLIENT_ID", sim::graph::DEFAULT_CLIENT_ID)
            .env("CLIENT_SECRET", sim::graph::DEFAULT_CLIENT_SECRET)
            .env("GRAPH_MAX_WAIT_SECS", "3")
            .env("CRM_POLL_SECONDS", CRM_POLL_SECS.to_string())
            .env("WORKER_LEASE_SECS", LEASE_SECS.to_string())
            .env("WORKER_CONCURRENCY", "4")
            .env("HOSTNAME", name)
            .env("LOG_FORMAT", "json")
            .env("RUST_LOG", format!("warn,{RUN_JOURNAL_TARGET}=debug"))
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn crm-server");
        let p = ServerProcess {
            name: name.to_owned(),
            port,
            log,
            child,
            killed_at: None,
        };
        p.ready().await;
        p
    }

    /// Creates `n` mailboxes and CRM users and pairs each through the HTTP API of one of `servers`
    /// (in turn), with "Tapaaminen" as the default activity type.
    async fn pair(&mut self, n: usize, servers: &[&ServerProcess]) {
        let sims = &self.sims;
        let company = sims.demo_crm.company_id;
        let mut work = Vec::new();
        for i in 0..n {
            let user = common::api::new_user(
                &sims.graph,
                &sims.crm,
                company,
                &sims.mailbox.tenant_id,
                "kayttaja",
                i,
            );
            let id_token = sims.graph.mint_id_token(
                &user.tenant_id,
                &user.user_id,
                &user.email,
                sim::graph::DEFAULT_CLIENT_ID,
            );
            let base = servers[i % servers.len()].url("");
            let request = json!({
                "api_key": sims.demo_crm.api_key, "crm_address": sims.crm_url,
                "crm_username": user.username, "crm_password": user.password,
                "email": user.email, "calendar_id": user.calendar_id,
            });
            self.pairings.push(Pairing {
                email: user.email,
                calendar_id: user.calendar_id,
                crm_user_id: user.crm_user_id,
            });
            work.push((base, id_token, request));
        }
        futures::stream::iter(work)
            .map(|(base, id_token, request)| async move {
                let http = client();
                let token = common::api::pair(&http, &base, &id_token, &request).await;
                common::api::update_preferences(&http, &base, &token, |p| {
                    p["default_activity_type"] = json!("Tapaaminen")
                })
                .await;
            })
            .buffer_unordered(6)
            .collect::<Vec<()>>()
            .await;
        let paired: i64 = sqlx::query_scalar("SELECT count(*) FROM pairings")
            .fetch_one(&self.pool)
            .await
            .unwrap();
        assert_eq!(paired as usize, self.pairings.len());
    }

    /// Creates, for each listed pairing, an event `"{tag} event {i}"` in its calendar and an activity
    /// `"{tag} activity {i}"` of its CRM user; returns what must arrive on the other side.
    fn create_changes(&self, tag: &str, which: &[usize]) -> Vec<Expected> {
        let day = (Utc::now() + chrono::Duration::days(2))
            .format("%Y-%m-%d")
            .to_string();
        let mut expected = Vec::new();
        for &i in which {
            let p = &self.pairings[i];
            let event = format!("{tag} event {i}");
            self.sims
                .graph
                .create_event(
                    &p.email,
                    Some(&p.calendar_id),
                    json!({
                        "subject": event,
                        "start": {"dateTime": format!("{day}T10:00:00"), "timeZone": "UTC"},
                        "end": {"dateTime": format!("{day}T11:00:00"), "timeZone": "UTC"},
                    }),
                )
                .unwrap();
            let activity = format!("{tag} activity {i}");
            self.sims
                .crm
                .insert(
                    self.sims.demo_crm.company_id,
                    "activities",
                    json!({
                        "subject": activity, "activity_type": "Soitto",
                        "start_date": format!("{day} 13:00:00"), "end_date": format!("{day} 13:30:00"),
                        "owner_id": p.crm_user_id,
                    }),
                )
                .unwrap();
            expected.push(Expected::InCrm(i, event));
            expected.push(Expected::InOutlook(i, activity));
        }
        expected
    }

    /// How many times each subject appears, per pairing, on each side.
    fn snapshot(&self) -> Snapshot {
        let mut crm: HashMap<(u64, String), usize> = HashMap::new();
        for a in self
            .sims
            .crm
            .list(self.sims.demo_crm.company_id, "activities")
        {
            let owner = a["owner_id"]
                .as_u64()
                .or_else(|| a["owner_id"].as_str().and_then(|s| s.parse().ok()))
                .unwrap_or(0);
            let subject = a["subject"].as_str().unwrap_or("").to_owned();
            *crm.entry((owner, subject)).or_default() += 1;
        }
        let mut outlook: HashMap<(usize, String), usize> = HashMap::new();
        for (i, p) in self.pairings.iter().enumerate() {
            for e in self.sims.graph.events(&p.email) {
                let subject = e["subject"].as_str().unwrap_or("").to_owned();
                *outlook.entry((i, subject)).or_default() += 1;
            }
        }
        Snapshot { crm, outlook }
    }

    fn arrivals(&self, expected: &[Expected]) -> (usize, Vec<String>) {
        let snap = self.snapshot();
        let mut arrived = 0;
        let mut duplicated = Vec::new();
        for e in expected {
            let n = match e {
                Expected::InCrm(i, s) => snap
                    .crm
                    .get(&(self.pairings[*i].crm_user_id, s.clone()))
                    .copied()
                    .unwrap_or(0),
                Expected::InOutlook(i, s) => {
                    snap.outlook.get(&(*i, s.clone())).copied().unwrap_or(0)
                }
            };
            if n >= 1 {
                arrived += 1;
            }
            if n > 1 {
                duplicated.push(format!("{e:?} ×{n}"));
            }
        }
        (arrived, duplicated)
    }

    /// Waits until everything expected has arrived; then checks that nothing arrived twice.
    async fn converge(&self, expected: &[Expected], limit: Duration) {
        wait_for(
            &format!("all {} changes arrived on the other side", expected.len()),
            limit,
            Duration::from_millis(200),
            || async { self.arrivals(expected).0 == expected.len() },
        )
        .await;
        let (_, duplicated) = self.arrivals(expected);
        assert!(duplicated.is_empty(), "duplicated: {duplicated:?}");
    }

    /// The leases a process holds now: (pairing, kind, lease expiry).
    async fn leases_of(&self, name: &str) -> Vec<(Uuid, String, DateTime<Utc>)> {
        sqlx::query_as(
            "SELECT pairing_id, kind, locked_until FROM jobs
             WHERE locked_by LIKE $1 || '-%' AND locked_until > now()",
        )
        .bind(name)
        .fetch_all(&self.pool)
        .await
        .unwrap()
    }
}

#[derive(Debug, Clone)]
enum Expected {
    /// The Outlook event with this subject of pairing `i` is in the CRM, owned by its user.
    InCrm(usize, String),
    /// The CRM activity with this subject of pairing `i` is in its calendar.
    InOutlook(usize, String),
}

struct Snapshot {
    crm: HashMap<(u64, String), usize>,
    outlook: HashMap<(usize, String), usize>,
}

/// One sync run as a process logged it.
#[derive(Debug, Clone)]
struct Run {
    process: String,
    pairing: Uuid,
    kind: String,
    started: DateTime<Utc>,
    /// `None`: not ended (yet) in the log.
    ended: Option<DateTime<Utc>>,
}

/// The runs a process has logged so far.
fn runs_of(p: &ServerProcess) -> Vec<Run> {
    let text = std::fs::read_to_string(&p.log).unwrap_or_default();
    let mut open: HashMap<(Uuid, String), usize> = HashMap::new();
    let mut runs: Vec<Run> = Vec::new();
    for line in text.lines() {
        // The last line of a killed process may be cut short.
        let Ok(v) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if v["target"] != RUN_JOURNAL_TARGET {
            continue;
        }
        let at: DateTime<Utc> = v["timestamp"].as_str().unwrap().parse().unwrap();
        let fields = &v["fields"];
        let pairing: Uuid = fields["pairing_id"].as_str().unwrap().parse().unwrap();
        let kind = fields["kind"].as_str().unwrap().to_owned();
        match fields["message"].as_str().unwrap() {
            "sync run started" => {
                let previous = open.insert((pairing, kind.clone()), runs.len());
                assert!(
                    previous.is_none(),
                    "{}: {kind} of {pairing} started twice without ending",
                    p.name
                );
                runs.push(Run {
                    process: p.name.clone(),
                    pairing,
                    kind,
                    started: at,
                    ended: None,
                });
            }
            "sync run ended" => {
                let i = open
                    .remove(&(pairing, kind.clone()))
                    .unwrap_or_else(|| panic!("{}: {kind} of {pairing} ended unstarted", p.name));
                runs[i].ended = Some(at);
            }
            other => panic!("unexpected journal line {other:?}"),
        }
    }
    runs
}

/// Every run of every process; a killed process's unfinished runs end at its kill. Panics if a process
/// that was not killed left a run unfinished.
fn all_runs(processes: &[&ServerProcess]) -> Vec<Run> {
    let mut all = Vec::new();
    for p in processes {
        for mut r in runs_of(p) {
            if r.ended.is_none() {
                let killed_at = p.killed_at.unwrap_or_else(|| {
                    panic!(
                        "{} stopped gracefully but left a run unfinished: {r:?}",
                        p.name
                    )
                });
                r.ended = Some(killed_at);
            }
            all.push(r);
        }
    }
    all
}

/// No pairing was synced by two runs at the same time (whatever process or job kind); returns how many
/// pairings were synced by more than one process.
fn assert_never_twice_at_once(runs: &[Run]) -> usize {
    let mut by_pairing: HashMap<Uuid, Vec<&Run>> = HashMap::new();
    for r in runs {
        by_pairing.entry(r.pairing).or_default().push(r);
    }
    let mut shared = 0;
    for (pairing, mut runs) in by_pairing {
        runs.sort_by_key(|r| r.started);
        for w in runs.windows(2) {
            assert!(
                w[0].ended.unwrap() <= w[1].started,
                "pairing {pairing} synced twice at once: {:?} and {:?}",
                w[0],
                w[1]
            );
        }
        if runs
            .iter()
            .map(|r| &r.process)
            .collect::<BTreeSet<_>>()
            .len()
            > 1
        {
            shared += 1;
        }
    }
    shared
}

fn runs_per_process(runs: &[Run]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for r in runs {
        *m.entry(r.process.clone()).or_default() += 1;
    }
    m
}

/// Makes the CRM's activity listing slow, so runs last long enough for a kill to land mid-run.
fn slow_crm(cluster: &Cluster, ms: u64) {
    cluster.sims.crm.inject_fault(sim::crm::FaultRule::new(
        Some("GET"),
        "/api/v1/activities",
        sim::crm::FaultKind::Latency { ms },
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_server_processes_sync_fifty_pairings_never_one_twice_at_once_and_take_over_a_killed_ones_work()
 {
    const PAIRINGS: usize = 50;
    let _serial = ONE_AT_A_TIME.lock().await;
    let mut cluster = Cluster::new().await;
    let mut a = cluster.spawn("A", free_port()).await;
    let mut b = cluster.spawn("B", free_port()).await;
    cluster.pair(PAIRINGS, &[&a, &b]).await;
    let everyone: Vec<usize> = (0..PAIRINGS).collect();

    // Every pairing syncs both ways.
    let first = cluster.create_changes("R1", &everyone);
    cluster.converge(&first, Duration::from_secs(120)).await;
    let mut before_kill = runs_of(&a);
    before_kill.extend(runs_of(&b));
    let per_process = runs_per_process(&before_kill);
    assert!(
        per_process.contains_key("A") && per_process.contains_key("B"),
        "both processes synced: {per_process:?}"
    );

    // Kill A while it is in the middle of runs.
    slow_crm(&cluster, 1500);
    let second = cluster.create_changes("R2", &everyone);
    wait_for(
        "A is in the middle of runs",
        Duration::from_secs(60),
        Duration::from_millis(200),
        || {
            let a = &a;
            let cluster = &cluster;
            async move {
                runs_of(a).iter().filter(|r| r.ended.is_none()).count() >= 2
                    && !cluster.leases_of("A").await.is_empty()
            }
        },
    )
    .await;
    let held = cluster.leases_of("A").await;
    a.kill();
    let cut_short: Vec<Run> = runs_of(&a)
        .into_iter()
        .filter(|r| r.ended.is_none())
        .collect();
    assert!(!cut_short.is_empty(), "the kill interrupted runs");
    cluster.sims.crm.clear_faults();

    // B finishes everything: all of round 2 arrives, exactly once, and round 1 is still there once.
    cluster.converge(&second, Duration::from_secs(120)).await;
    cluster.converge(&first, Duration::from_secs(5)).await;

    // B took over the pairing of every job A held: it synced each of them after the kill — by running
    // that very job, never before A's lease on it had expired, or by running the pairing's other job,
    // whose successful run covers this one (the same two-way run).
    let killed_at = a.killed_at.unwrap();
    wait_for(
        "B synced every pairing A was syncing when it was killed",
        Duration::from_secs(90),
        Duration::from_millis(200),
        || {
            let (b, held) = (&b, &held);
            async move {
                let runs = runs_of(b);
                held.iter().all(|(pairing, _, _)| {
                    runs.iter().any(|r| {
                        r.pairing == *pairing && r.started > killed_at && r.ended.is_some()
                    })
                })
            }
        },
    )
    .await;
    let b_runs = runs_of(&b);
    for (pairing, kind, expiry) in &held {
        if let Some(next) = b_runs
            .iter()
            .filter(|r| r.pairing == *pairing && &r.kind == kind && r.started > killed_at)
            .map(|r| r.started)
            .min()
        {
            assert!(
                next >= *expiry,
                "{kind} of {pairing} was taken over at {next}, before A's lease ended at {expiry}"
            );
        }
    }

    b.stop().await;
    let runs = all_runs(&[&a, &b]);
    let shared = assert_never_twice_at_once(&runs);
    let synced: BTreeSet<Uuid> = runs.iter().map(|r| r.pairing).collect();
    assert_eq!(synced.len(), PAIRINGS, "every pairing was synced");
    assert!(
        runs.iter()
            .filter(|r| r.process == "A")
            .all(|r| r.ended.unwrap() <= killed_at),
        "nothing of A's after the kill"
    );
    eprintln!(
        "{} runs {:?}; {} pairings synced by both processes; {} runs cut short by the kill; A held {} \
         leases",
        runs.len(),
        runs_per_process(&runs),
        shared,
        cut_short.len(),
        held.len()
    );
    assert!(shared > 0, "some pairings were synced by both processes");
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_server_processes_killed_at_random_lose_and_duplicate_nothing_and_never_sync_a_pairing_twice_at_once()
 {
    let _serial = ONE_AT_A_TIME.lock().await;
    let rounds: usize = env_or("CRM_CHAOS_ROUNDS", 3);
    let pairings: usize = env_or("CRM_CHAOS_PAIRINGS", 12);
    let seed: u64 = env_or("CRM_CHAOS_SEED", rand::rng().random());
    eprintln!(
        "chaos: seed {seed}, {rounds} rounds, {pairings} pairings (replay: CRM_CHAOS_SEED={seed} \
         CRM_CHAOS_ROUNDS={rounds} CRM_CHAOS_PAIRINGS={pairings})"
    );
    let mut rng = StdRng::seed_from_u64(seed);
    let mut cluster = Cluster::new().await;
    let ports = [free_port(), free_port(), free_port()];
    let mut live: Vec<ServerProcess> = Vec::new();
    for (slot, port) in ports.iter().enumerate() {
        live.push(cluster.spawn(&format!("P{slot}g0"), *port).await);
    }
    let mut dead: Vec<ServerProcess> = Vec::new();
    let mut generation = [0usize; 3];
    {
        let refs: Vec<&ServerProcess> = live.iter().collect();
        cluster.pair(pairings, &refs).await;
    }
    let mut expected = Vec::new();
    let mut kills = 0;
    for round in 0..rounds {
        // Changes on a random half of the pairings (at least one).
        let mut which: Vec<usize> = (0..pairings).filter(|_| rng.random_bool(0.5)).collect();
        if which.is_empty() {
            which.push(rng.random_range(0..pairings));
        }
        let slow = rng.random_bool(0.7);
        if slow {
            slow_crm(&cluster, rng.random_range(200..1500));
        }
        expected.extend(cluster.create_changes(&format!("C{round}"), &which));
        // Kill a random process at a random moment, and start it again (same port, so Graph's
        // notifications still reach it) after a random pause.
        tokio::time::sleep(Duration::from_millis(rng.random_range(100..2000))).await;
        let slot = rng.random_range(0..live.len());
        let mut victim = live.remove(slot);
        let port = victim.port;
        let (slot_no, _) = victim.name[1..].split_once('g').unwrap();
        let slot_no: usize = slot_no.parse().unwrap();
        victim.kill();
        kills += 1;
        eprintln!(
            "round {round}: {} changes on {} pairings, CRM slow: {slow}, killed {} ({} runs in flight)",
            which.len() * 2,
            which.len(),
            victim.name,
            runs_of(&victim)
                .iter()
                .filter(|r| r.ended.is_none())
                .count()
        );
        dead.push(victim);
        tokio::time::sleep(Duration::from_millis(rng.random_range(0..2000))).await;
        cluster.sims.crm.clear_faults();
        generation[slot_no] += 1;
        let name = format!("P{slot_no}g{}", generation[slot_no]);
        live.insert(slot, cluster.spawn(&name, port).await);
    }
    cluster.converge(&expected, Duration::from_secs(180)).await;
    for p in &mut live {
        p.stop().await;
    }
    let all: Vec<&ServerProcess> = live.iter().chain(dead.iter()).collect();
    let runs = all_runs(&all);
    let shared = assert_never_twice_at_once(&runs);
    let synced: BTreeSet<Uuid> = runs.iter().map(|r| r.pairing).collect();
    assert_eq!(synced.len(), pairings, "every pairing was synced");
    for p in &dead {
        let killed_at = p.killed_at.unwrap();
        assert!(
            runs.iter()
                .filter(|r| r.process == p.name)
                .all(|r| r.ended.unwrap() <= killed_at),
            "nothing of {}'s after its kill",
            p.name
        );
    }
    let failing: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs WHERE attempts > 0")
        .fetch_one(&cluster.pool)
        .await
        .unwrap();
    eprintln!(
        "chaos seed {seed}: {} changes converged after {kills} kills; {} runs {:?}; {shared} pairings \
         synced by more than one process; {failing} jobs retrying",
        expected.len(),
        runs.len(),
        runs_per_process(&runs)
    );
}
