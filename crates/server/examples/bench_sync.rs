//! Benchmarks of the sync as a whole: the real server state and worker, real Postgres, both simulators
//! (in this process). Prints markdown sections for `BENCHMARKS.md`; run by `cargo xtask bench`.
//!
//! * idle cost per pairing and cycle: HTTP requests to each side, Postgres transactions and rows;
//! * initial sync of a large calendar (2,000 events) and of a large CRM (2,000 activities);
//! * throughput of idle cycles with many pairings → pairings one machine keeps within the schedule;
//! * propagation latency Outlook → CRM (change notifications) and CRM → Outlook (polling).
//!
//! `--quick` uses smaller sizes (for a smoke run); `--only=worker --pairings=10000` re-runs one size;
//! `--statements` also lists (on stderr) the SQL statements of one idle run.

#[path = "support/mod.rs"]
mod support;

use std::{
    collections::BTreeMap,
    sync::atomic::{AtomicBool, AtomicU64, Ordering},
    time::{Duration, Instant},
};

use chrono::Utc;
use crm_server::{
    AppState,
    demo::DemoEnv,
    sync::{RUN_JOURNAL_TARGET, run_pairing},
    worker::JobKind,
};
use futures::StreamExt;
use serde_json::{Value, json};
use sqlx::PgPool;
use support::{User, cpu_seconds, pair_demo, pct, proc_cpu_seconds, start_quiet};
use test_db::TestDb;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use uuid::Uuid;

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

/// A new mailbox and CRM user, paired.
async fn extra_pairing(env: &DemoEnv, i: usize) -> Uuid {
    let (user, _) = User::create(env, "kayttaja", i);
    support::pair(env, &user, |_| {}).await.1
}

async fn pg_counters(pool: &PgPool, db: &str) -> (i64, i64) {
    // Other backends flush their statistics when they go idle, but at most once a second; an idle
    // backend with pending counts flushes them within 10 s (PGSTAT_IDLE_INTERVAL).
    tokio::time::sleep(Duration::from_millis(11_000)).await;
    let _ = sqlx::query("SELECT pg_stat_force_next_flush()")
        .execute(pool)
        .await;
    sqlx::query_as(
        "SELECT (xact_commit + xact_rollback)::bigint, (tup_inserted + tup_updated + tup_deleted)::bigint
         FROM pg_stat_database WHERE datname = $1",
    )
    .bind(db)
    .fetch_one(pool)
    .await
    .unwrap()
}

/// `list_statements`: also print (to stderr) the statements of one more idle run.
async fn idle_cost(list_statements: bool) {
    let db = TestDb::new().await;
    // No background worker: runs are driven here.
    let (env, pairing) = support::converged_demo(&db).await;
    let stats_pool = PgPool::connect(&test_db::admin_url()).await.unwrap();
    let cycles = 50;
    env.graph.reset_stats();
    env.crm.reset_request_counts();
    let (tx0, rows0) = pg_counters(&stats_pool, db.name()).await;
    let cpu0 = cpu_seconds();
    let t0 = Instant::now();
    COUNT.start();
    for _ in 0..cycles {
        run_pairing(&env.state, pairing, JobKind::OutlookToCrm)
            .await
            .unwrap();
    }
    let counted = COUNT.stop();
    let wall = t0.elapsed().as_secs_f64() / cycles as f64;
    let cpu = (cpu_seconds() - cpu0) / cycles as f64;
    let (tx1, rows1) = pg_counters(&stats_pool, db.name()).await;
    let graph = env.graph.stats(&env.mailbox.email).requests as f64 / cycles as f64;
    let crm = env.crm.total_requests() as f64 / cycles as f64;
    if list_statements {
        // One more idle run, its statements listed (after the figures, so it does not touch them).
        STATEMENTS.lock().unwrap().replace(Vec::new());
        COUNT.start();
        run_pairing(&env.state, pairing, JobKind::OutlookToCrm)
            .await
            .unwrap();
        COUNT.stop();
        let listed = STATEMENTS.lock().unwrap().take().unwrap_or_default();
        eprintln!("The statements of one idle run ({}):", listed.len());
        for (i, (sql, rows)) in listed.iter().enumerate() {
            eprintln!("{:>3}. [{rows} rows] {sql}", i + 1);
        }
    }
    println!("## Idle cost per pairing and cycle\n");
    println!(
        "A converged pairing, {cycles} runs in a row, driven directly (the CRM id scan for deletions runs at most every 5 minutes, so it is not in this figure). An idle pairing needs one run a minute. Statements are counted from sqlx's statement log; through the worker a run also costs its completion (one statement, which also postpones the covered kind) and a share of a batched claim — see \"Many pairings through the worker\" for the figure with both.\n"
    );
    println!("| measure | per cycle | goal |\n|---|---|---|");
    println!("| Graph requests (one delta) | {graph:.2} | ≤ 1 |");
    println!("| CRM requests (one change listing) | {crm:.2} | ≤ 1 |");
    println!("| HTTP requests in all | {:.2} | ≤ 2 |", graph + crm);
    println!(
        "| SQL statements (sqlx's log: the lock's ROLLBACK is in it, its BEGIN is not) | {:.1} | |",
        counted.statements as f64 / cycles as f64
    );
    println!(
        "| rows they returned to the server | {:.1} | |",
        counted.rows_returned as f64 / cycles as f64,
    );
    println!(
        "| Postgres transactions (incl. autocommit statements) | {:.1} | |",
        (tx1 - tx0) as f64 / cycles as f64
    );
    println!(
        "| Postgres rows written | {:.1} | |",
        (rows1 - rows0) as f64 / cycles as f64
    );
    println!("| wall time | {:.1} ms | |", wall * 1000.0);
    println!(
        "| CPU time (server **and** both simulators, one process) | {:.2} ms | |\n",
        cpu * 1000.0
    );
    stats_pool.close().await;
    env.stop().await;
    db.drop_now().await;
}

async fn initial_sync(n: usize) {
    let db = TestDb::new().await;
    let env = start_quiet(&db).await;
    let email = env.mailbox.email.clone();
    let cal = env.mailbox.calendar_id.clone();
    let base = Utc::now() + chrono::Duration::days(1);
    for i in 0..n {
        let day = base + chrono::Duration::hours(4 * i as i64 % (24 * 300));
        let start = day.format("%Y-%m-%dT%H:00:00").to_string();
        let end = (day + chrono::Duration::minutes(30))
            .format("%Y-%m-%dT%H:%M:00")
            .to_string();
        env.graph
            .create_event(&email, Some(&cal), json!({"subject": format!("Tapaaminen {i}"), "start": {"dateTime": start, "timeZone": "UTC"}, "end": {"dateTime": end, "timeZone": "UTC"}}))
            .unwrap();
    }
    for i in 0..n {
        let day = (base + chrono::Duration::days((i % 300) as i64))
            .format("%Y-%m-%d")
            .to_string();
        let h = 8 + (i % 9);
        env.crm
            .insert(
                env.demo_crm.company_id,
                "activities",
                json!({"subject": format!("Soitto {i}"), "activity_type": "Soitto", "start_date": format!("{day} {h:02}:00:00"),
                       "end_date": format!("{day} {h:02}:15:00"), "owner_id": env.demo_crm.user_id}),
            )
            .unwrap();
    }
    let (_, pairing) = pair_demo(&env).await;
    env.graph.reset_stats();
    env.crm.reset_request_counts();
    let t0 = Instant::now();
    run_pairing(&env.state, pairing, JobKind::OutlookToCrm)
        .await
        .unwrap();
    let secs = t0.elapsed().as_secs_f64();
    let stats = env.graph.stats(&email);
    let crm_requests = env.crm.total_requests();
    let to_crm = env
        .crm
        .list(env.demo_crm.company_id, "activities")
        .iter()
        .filter(|a| {
            a["subject"]
                .as_str()
                .unwrap_or("")
                .starts_with("Tapaaminen ")
        })
        .count();
    let to_outlook = env
        .graph
        .events(&email)
        .iter()
        .filter(|e| e["subject"].as_str().unwrap_or("").starts_with("Soitto "))
        .count();
    println!("## Initial sync of a large calendar and CRM\n");
    println!(
        "{n} events in the calendar and {n} activities in the CRM, 60/365-day windows (defaults 30/365 here), one run.\n"
    );
    println!("| measure | value |\n|---|---|");
    println!("| events copied to the CRM | {to_crm} |");
    println!("| activities copied to the calendar | {to_outlook} |");
    println!("| time | {secs:.1} s |");
    println!(
        "| Graph HTTP requests | {} ({:.2} per item created in Outlook) |",
        stats.requests,
        stats.requests as f64 / to_outlook.max(1) as f64
    );
    println!("| Graph requests inside `$batch` | {} |", stats.batch_items);
    println!(
        "| Graph 429 answers (concurrency / rate) | {} / {} |",
        stats.throttled_concurrency, stats.throttled_rate
    );
    println!(
        "| Graph peak requests in flight | {} (limit 4) |",
        stats.peak_in_flight
    );
    println!(
        "| CRM HTTP requests | {crm_requests} ({:.2} per activity created) |\n",
        crm_requests as f64 / to_crm.max(1) as f64
    );
    println!(
        "Events created in Outlook, and the PATCHes that tag Outlook events with the activity they were copied to, go through `$batch`, 20 to a request. The CRM has no batch API: every created activity costs a marker lookup and a POST (the idempotency rule).\n"
    );
    env.stop().await;
    db.drop_now().await;
}

// ----- counting Postgres statements and sync runs (a tracing layer) -----

/// Counts, while switched on, every statement sqlx runs in this process (with the rows it returned) and every sync run started. Other events at WARN and above are printed.
struct Counters {
    on: AtomicBool,
    statements: AtomicU64,
    rows_returned: AtomicU64,
    runs: AtomicU64,
}

/// While `Some`, every counted statement (its SQL on one line, and the rows it returned) is kept here.
static STATEMENTS: std::sync::Mutex<Option<Vec<(String, u64)>>> = std::sync::Mutex::new(None);

static COUNT: Counters = Counters {
    on: AtomicBool::new(false),
    statements: AtomicU64::new(0),
    rows_returned: AtomicU64::new(0),
    runs: AtomicU64::new(0),
};

#[derive(Debug, Clone, Copy, Default)]
struct Counted {
    statements: u64,
    rows_returned: u64,
    runs: u64,
}

impl Counters {
    fn start(&self) {
        self.statements.store(0, Ordering::SeqCst);
        self.rows_returned.store(0, Ordering::SeqCst);
        self.runs.store(0, Ordering::SeqCst);
        self.on.store(true, Ordering::SeqCst);
    }

    fn stop(&self) -> Counted {
        self.on.store(false, Ordering::SeqCst);
        Counted {
            statements: self.statements.load(Ordering::SeqCst),
            rows_returned: self.rows_returned.load(Ordering::SeqCst),
            runs: self.runs.load(Ordering::SeqCst),
        }
    }
}

struct CountLayer;

fn counted_target(target: &str) -> bool {
    target == "sqlx::query" || target == RUN_JOURNAL_TARGET
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for CountLayer {
    fn register_callsite(
        &self,
        meta: &'static tracing::Metadata<'static>,
    ) -> tracing::subscriber::Interest {
        if counted_target(meta.target()) {
            tracing::subscriber::Interest::sometimes()
        } else if *meta.level() <= tracing::Level::WARN {
            tracing::subscriber::Interest::always()
        } else {
            tracing::subscriber::Interest::never()
        }
    }

    fn enabled(
        &self,
        meta: &tracing::Metadata<'_>,
        _: tracing_subscriber::layer::Context<'_, S>,
    ) -> bool {
        if counted_target(meta.target()) {
            COUNT.on.load(Ordering::Relaxed)
        } else {
            *meta.level() <= tracing::Level::WARN
        }
    }

    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        struct Fields<'a>(&'a mut Vec<(String, String)>);
        impl tracing::field::Visit for Fields<'_> {
            fn record_u64(&mut self, f: &tracing::field::Field, v: u64) {
                self.0.push((f.name().to_owned(), v.to_string()));
            }
            fn record_debug(&mut self, f: &tracing::field::Field, v: &dyn std::fmt::Debug) {
                self.0.push((f.name().to_owned(), format!("{v:?}")));
            }
        }
        let target = event.metadata().target();
        let mut fields = Vec::new();
        event.record(&mut Fields(&mut fields));
        let get = |name: &str| {
            fields
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        if target == "sqlx::query" {
            COUNT.statements.fetch_add(1, Ordering::Relaxed);
            let n = |name| get(name).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
            COUNT
                .rows_returned
                .fetch_add(n("rows_returned"), Ordering::Relaxed);
            if let Some(list) = STATEMENTS.lock().unwrap().as_mut() {
                let sql = [get("db.statement"), get("summary")]
                    .into_iter()
                    .flatten()
                    .find(|s| !s.trim_matches('"').trim().is_empty())
                    .unwrap_or_default()
                    .replace("\\n", " ");
                let sql = sql.split_whitespace().collect::<Vec<_>>().join(" ");
                list.push((sql, n("rows_returned")));
            }
        } else if target == RUN_JOURNAL_TARGET {
            if get("message").is_some_and(|m| m.contains("started")) {
                COUNT.runs.fetch_add(1, Ordering::Relaxed);
            }
        } else {
            eprintln!("{} {target}: {fields:?}", event.metadata().level());
        }
    }
}

// ----- simulators, in this process or in a child process, driven through their admin HTTP API -----

/// Where the simulators are and what the measurement needs of them.
struct SimsAt {
    crm_url: String,
    graph_url: String,
    tenant_id: String,
    company_id: Value,
    api_key: String,
    /// The simulators' own process (when separate), for its CPU time; it exits when its stdin closes.
    child: Option<std::process::Child>,
    inproc: Vec<sim::Running>,
}

const SERVE_SIMS: &str = "--serve-sims";

/// Starts both simulators (demo seed) on this runtime; returns their description.
async fn serve_sims() -> (Value, Vec<sim::Running>) {
    let any = "127.0.0.1:0".parse().unwrap();
    let crm = sim::crm::CrmSim::new();
    let demo = crm.seed_demo();
    let crm_running = sim::serve(crm.router(), any).await.unwrap();
    let graph = sim::graph::GraphSim::new();
    let graph_running = sim::serve(graph.router(), any).await.unwrap();
    graph.set_base_url(&graph_running.base_url);
    let mailbox = graph.seed_demo();
    let info = json!({
        "crm_url": crm_running.base_url, "graph_url": graph_running.base_url,
        "tenant_id": mailbox.tenant_id, "company_id": demo.company_id, "api_key": demo.api_key,
    });
    (info, vec![crm_running, graph_running])
}

/// The child process's body: serve the simulators until stdin closes.
async fn sims_process() {
    let (info, running) = serve_sims().await;
    println!("{info}");
    tokio::task::spawn_blocking(|| {
        let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut Vec::new());
    })
    .await
    .unwrap();
    for r in running {
        r.stop().await;
    }
}

fn sims_from(
    info: &Value,
    child: Option<std::process::Child>,
    inproc: Vec<sim::Running>,
) -> SimsAt {
    let s = |k: &str| info[k].as_str().unwrap().to_owned();
    SimsAt {
        crm_url: s("crm_url"),
        graph_url: s("graph_url"),
        tenant_id: s("tenant_id"),
        company_id: info["company_id"].clone(),
        api_key: s("api_key"),
        child,
        inproc,
    }
}

async fn sims_in_process() -> SimsAt {
    let (info, running) = serve_sims().await;
    sims_from(&info, None, running)
}

fn sims_in_child() -> SimsAt {
    use std::io::BufRead;
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .arg(SERVE_SIMS)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("simulator process");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let info: Value = serde_json::from_str(&line).expect("simulator description");
    sims_from(&info, Some(child), Vec::new())
}

impl SimsAt {
    async fn stop(mut self) {
        if let Some(mut c) = self.child.take() {
            drop(c.stdin.take());
            let _ = c.wait();
        }
        for r in self.inproc.drain(..) {
            r.stop().await;
        }
    }

    fn child_cpu(&self) -> f64 {
        self.child
            .as_ref()
            .map(|c| proc_cpu_seconds(&format!("/proc/{}/stat", c.id())))
            .unwrap_or(0.0)
    }

    /// CRM requests so far, by route.
    async fn crm_requests(&self) -> BTreeMap<String, u64> {
        client()
            .get(format!("{}/_admin/crm/requests", self.crm_url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// A new mailbox and CRM user, paired through the server's HTTP API.
    async fn pair_new(&self, http: &reqwest::Client, server: &str, i: usize) {
        let email = format!("kayttaja{i}@esimerkki.fi");
        let info: Value = http
            .post(format!("{}/_admin/graph/mailboxes", self.graph_url))
            .json(&json!({"email": email, "display_name": format!("Käyttäjä {i}"),
                          "time_zone": "Europe/Helsinki", "calendars": [], "tenant_id": self.tenant_id}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let calendar = info["calendars"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c[2] == true)
            .unwrap()[0]
            .as_str()
            .unwrap()
            .to_owned();
        let username = format!("kayttaja{i}");
        let company = match &self.company_id {
            Value::String(s) => s.clone(),
            v => v.to_string(),
        };
        let r = http
            .post(format!(
                "{}/_admin/crm/companies/{company}/users",
                self.crm_url
            ))
            .json(
                &json!({"username": username, "password": "salasana", "email": email,
                          "name": format!("Käyttäjä {i}")}),
            )
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.text().await.unwrap());
        let t: Value = http
            .post(format!("{}/_admin/graph/identity/id-token", self.graph_url))
            .json(
                &json!({"tenant_id": info["tenant_id"], "object_id": info["user_id"],
                          "email": email, "audience": sim::graph::DEFAULT_CLIENT_ID}),
            )
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let request = json!({
            "api_key": self.api_key, "crm_address": self.crm_url,
            "crm_username": username, "crm_password": "salasana",
            "email": email, "calendar_id": calendar,
        });
        let id_token = t["id_token"].as_str().expect("an identity token");
        support::api::pair(http, server, id_token, &request).await;
    }
}

/// The server with its worker, as `crm-server serve` runs it, on the simulators.
struct Served {
    state: AppState,
    url: String,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    background: crm_server::background::Background,
}

async fn serve_on_sims(db: &TestDb, sims: &SimsAt) -> Served {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let mut config = crm_server::Config::for_database(db.url());
    config.listen = listener.local_addr().unwrap();
    config.public_url = Some(url.parse().unwrap());
    config.graph_base_url = format!("{}/v1.0", sims.graph_url).parse().unwrap();
    config.identity_authority = sims.graph_url.parse().unwrap();
    config.identity_tenant = sims.tenant_id.clone();
    config.client_id = sim::graph::DEFAULT_CLIENT_ID.into();
    config.client_secret = Some(sim::graph::DEFAULT_CLIENT_SECRET.into());
    let pool = crm_server::db::connect(db.url()).await.unwrap();
    crm_server::db::migrate(&pool).await.unwrap();
    let state = AppState::new(pool, config).unwrap();
    let background = crm_server::background::start(&state);
    let (stop, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(crm_server::serve::serve_on(
        listener,
        state.clone(),
        async {
            let _ = rx.await;
        },
    ));
    Served {
        state,
        url,
        stop,
        task,
        background,
    }
}

impl Served {
    async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
        self.background.stop().await;
    }
}

/// CPU seconds of every `postgres` process on this machine (the whole cluster, every database).
fn postgres_cpu() -> f64 {
    let mut total = 0.0;
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let path = entry.path();
        if std::fs::read_to_string(path.join("comm")).is_ok_and(|c| c.trim() == "postgres") {
            total += proc_cpu_seconds(&path.join("stat").to_string_lossy());
        }
    }
    total
}

/// (busy, total) jiffies of the whole machine.
fn machine_jiffies() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let v: Vec<f64> = stat
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    let total: f64 = v.iter().sum();
    let idle = v.get(3).copied().unwrap_or(0.0) + v.get(4).copied().unwrap_or(0.0);
    (total - idle, total)
}

/// The machine's 1-minute load average (other work on the shared machine shows here).
fn load_avg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_default()
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS"))
                .map(|l| l.split_whitespace().nth(1).unwrap_or("0").to_owned())
        })
        .and_then(|kb| kb.parse::<u64>().ok())
        .unwrap_or(0)
}

/// One row of the "many pairings through the worker" table.
struct Observed {
    pairings: usize,
    sims: &'static str,
    runs_per_sec: f64,
    needed_per_sec: f64,
    max_lateness: f64,
    max_staleness: f64,
    server_cpu_ms_per_run: f64,
    sims_cpu_ms_per_run: Option<f64>,
    pg_cpu_ms_per_run: f64,
    machine_busy: f64,
    statements_per_run: f64,
    rows_per_run: f64,
    written_per_run: f64,
    crm_listings_per_run: f64,
    rss_per_pairing_kib: f64,
    load_avg: String,
}

/// Poll schedule the pairings must keep: every pairing polled within this many seconds.
const SCHEDULE_SECS: f64 = 60.0;
/// How late a poll may be (claim delay, run time, the covered kind's margin) and still count as kept.
const SLACK_SECS: f64 = 5.0;

/// Pairs up to `n` pairings (adding to those already there), lets them settle, then watches the real
/// worker keep them for `window`.
async fn observe(
    served: &Served,
    sims: &SimsAt,
    paired: &mut usize,
    n: usize,
    window: Duration,
    rss_before: u64,
    label: &'static str,
) -> Observed {
    let http = client();
    let started = Instant::now();
    futures::stream::iter(*paired..n)
        .map(|i| {
            let http = http.clone();
            let url = served.url.clone();
            async move { sims.pair_new(&http, &url, i).await }
        })
        .buffer_unordered(16)
        .collect::<Vec<()>>()
        .await;
    eprintln!(
        "paired {} more in {:.0} s",
        n - *paired,
        started.elapsed().as_secs_f64()
    );
    *paired = n;
    let db = &served.state.db;
    // Every pairing has finished its first sync…
    loop {
        let synced: i64 = sqlx::query_scalar("SELECT count(*) FROM sync_cursors")
            .fetch_one(db)
            .await
            .unwrap();
        if synced as usize >= n {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    // …and a whole schedule has gone by, so the first syncs' bunching is behind us.
    tokio::time::sleep(Duration::from_secs(SCHEDULE_SECS as u64 + 5)).await;

    let written = |db: sqlx::PgPool| async move {
        let _ = sqlx::query("SELECT pg_stat_force_next_flush()")
            .execute(&db)
            .await;
        sqlx::query_scalar::<_, i64>(
            "SELECT (tup_inserted + tup_updated + tup_deleted)::bigint FROM pg_stat_database
             WHERE datname = current_database()",
        )
        .fetch_one(&db)
        .await
        .unwrap()
    };
    let written0 = written(db.clone()).await;
    let crm0 = sims.crm_requests().await;
    let (cpu0, sims_cpu0, pg0, m0) = (
        cpu_seconds(),
        sims.child_cpu(),
        postgres_cpu(),
        machine_jiffies(),
    );
    let t0 = Instant::now();
    COUNT.start();
    let (mut max_lateness, mut max_staleness, mut samples) = (0.0f64, 0.0f64, 0u64);
    while t0.elapsed() < window {
        tokio::time::sleep(Duration::from_secs(1)).await;
        // How long the most overdue job has been waiting for a worker, and how long ago the least
        // recently synced pairing finished a run.
        let (lateness, staleness): (f64, f64) = sqlx::query_as(
            "SELECT (SELECT coalesce(extract(epoch FROM max(now() - run_at)), 0)::float8 FROM jobs
                     WHERE run_at <= now() AND (locked_until IS NULL OR locked_until <= now())),
                    (SELECT coalesce(extract(epoch FROM now() - min(updated_at)), 0)::float8 FROM sync_cursors)",
        )
        .fetch_one(db)
        .await
        .unwrap();
        samples += 1;
        max_lateness = max_lateness.max(lateness);
        max_staleness = max_staleness.max(staleness);
    }
    let counted = COUNT.stop();
    let secs = t0.elapsed().as_secs_f64();
    let (cpu1, sims_cpu1, pg1, m1) = (
        cpu_seconds(),
        sims.child_cpu(),
        postgres_cpu(),
        machine_jiffies(),
    );
    let crm1 = sims.crm_requests().await;
    // Backends flush their row counts within 10 s of going idle; the window's length is what counts.
    tokio::time::sleep(Duration::from_secs(11)).await;
    let written1 = written(db.clone()).await;
    let listing = "GET /api/v1/activities";
    let listings =
        crm1.get(listing).copied().unwrap_or(0) - crm0.get(listing).copied().unwrap_or(0);
    let runs = counted.runs.max(1) as f64;
    // The sampler's own statement is not the worker's.
    let statements = counted.statements.saturating_sub(samples) as f64;
    Observed {
        pairings: n,
        sims: label,
        runs_per_sec: counted.runs as f64 / secs,
        needed_per_sec: n as f64 / SCHEDULE_SECS,
        max_lateness,
        max_staleness,
        server_cpu_ms_per_run: (cpu1 - cpu0) * 1000.0 / runs,
        sims_cpu_ms_per_run: sims
            .child
            .as_ref()
            .map(|_| (sims_cpu1 - sims_cpu0) * 1000.0 / runs),
        pg_cpu_ms_per_run: (pg1 - pg0) * 1000.0 / runs,
        machine_busy: (m1.0 - m0.0) / (m1.1 - m0.1).max(1.0),
        statements_per_run: statements / runs,
        rows_per_run: counted.rows_returned as f64 / runs,
        written_per_run: (written1 - written0) as f64 / runs,
        crm_listings_per_run: listings as f64 / runs,
        rss_per_pairing_kib: rss_kib().saturating_sub(rss_before) as f64 / n as f64,
        load_avg: load_avg(),
    }
}

/// Many idle pairings kept by the real worker (claims, leases, covering, completion), as in production.
async fn scale_worker(sizes: &[usize], inproc_size: usize, window: Duration) {
    println!("## Many pairings through the worker\n");
    println!(
        "The real server and worker (8 runs at a time, CRM poll 60 s) keep N idle, converged pairings, \
         paired through the HTTP API, for {} s after every pairing has synced once and a full minute has \
         passed. A pairing is *within schedule* when no job waits more than {SLACK_SECS:.0} s past its \
         time and every pairing has finished a run within the last {:.0} s. A run is either kind; a \
         successful run covers the other kind, so an idle pairing needs one run a minute. Runs, \
         statements and rows are counted in-process (sqlx's statement log; the sampler's one statement \
         a second is subtracted; rows written are from `pg_stat_database`). Postgres CPU is every `postgres` process on the machine, and the \
         machine is shared with other work, so that column and \"machine busy\" are upper bounds.\n",
        window.as_secs(),
        SCHEDULE_SECS + SLACK_SECS
    );
    println!(
        "| pairings | simulators | runs/s done / needed | max job lateness | max time since a pairing's last run | within schedule | server CPU per run | simulators' CPU per run | Postgres CPU per run | machine busy | SQL statements per run | rows returned / written per run | CRM listings per run | server RSS per pairing | load average | pairings 2 cores keep, from CPU per run |\n\
         |---:|---|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    let mut rows = Vec::new();
    {
        let db = TestDb::new().await;
        let sims = sims_in_child();
        let rss0 = rss_kib();
        let served = serve_on_sims(&db, &sims).await;
        let mut paired = 0;
        for &n in sizes {
            let o = observe(
                &served,
                &sims,
                &mut paired,
                n,
                window,
                rss0,
                "separate process",
            )
            .await;
            print_observed(&o);
            rows.push(o);
        }
        served.stop().await;
        sims.stop().await;
        db.drop_now().await;
    }
    if inproc_size > 0 {
        let db = TestDb::new().await;
        let sims = sims_in_process().await;
        let rss0 = rss_kib();
        let served = serve_on_sims(&db, &sims).await;
        let mut paired = 0;
        let o = observe(
            &served,
            &sims,
            &mut paired,
            inproc_size,
            window,
            rss0,
            "same process",
        )
        .await;
        print_observed(&o);
        served.stop().await;
        sims.stop().await;
        db.drop_now().await;
    }
    println!(
        "\nWith the simulators in the same process their CPU is in the server's column and their state in its RSS. Both simulators and Postgres share the machine's 2 cores with the server in every row. The last column divides two cores' CPU time in a minute by the CPU one run costs (server + simulators + Postgres, the Postgres part an upper bound): what the machine could keep if nothing else ran on it, where \"within schedule\" is what it kept at that load average.\n"
    );
}

fn print_observed(o: &Observed) {
    let within = o.max_lateness <= SLACK_SECS && o.max_staleness <= SCHEDULE_SECS + SLACK_SECS;
    println!(
        "| {} | {} | {:.0} / {:.0} | {:.1} s | {:.1} s | {} | {:.2} ms | {} | {:.2} ms | {:.0} % | {:.1} | {:.1} / {:.1} | {:.2} | {:.1} KiB | {} | {:.0} |",
        o.pairings,
        o.sims,
        o.runs_per_sec,
        o.needed_per_sec,
        o.max_lateness,
        o.max_staleness,
        if within { "**yes**" } else { "no" },
        o.server_cpu_ms_per_run,
        o.sims_cpu_ms_per_run
            .map(|v| format!("{v:.2} ms"))
            .unwrap_or_else(|| "(in server's)".into()),
        o.pg_cpu_ms_per_run,
        o.machine_busy * 100.0,
        o.statements_per_run,
        o.rows_per_run,
        o.written_per_run,
        o.crm_listings_per_run,
        o.rss_per_pairing_kib,
        o.load_avg,
        // Two cores' CPU seconds in a minute over the CPU one run costs (server, simulators, Postgres).
        2.0 * 60_000.0
            / (o.server_cpu_ms_per_run
                + o.sims_cpu_ms_per_run.unwrap_or(0.0)
                + o.pg_cpu_ms_per_run)
                .max(0.001),
    );
}

/// Runs back to back without the worker: the most runs per second this machine does (the capacity).
async fn scale_direct(sizes: &[usize]) {
    println!("## Run capacity (runs driven back to back)\n");
    println!(
        "Idle pairings (converged); runs started directly, 8 at a time as the worker does, with no pause: the most idle runs per second the machine sustains, simulators in the same process. An idle pairing needs one run a minute (a successful run covers the other job kind; before that it needed two).\n"
    );
    println!(
        "| pairings | runs/s | ms per run (wall, 8 parallel) | CPU per run (server + simulators) | pairings one machine can keep at one run a minute | load average | RSS of this process |\n|---|---|---|---|---|---|---|"
    );
    for &n in sizes {
        let db = TestDb::new().await;
        let env = start_quiet(&db).await;
        let mut ids = vec![pair_demo(&env).await.1];
        for i in 1..n {
            ids.push(extra_pairing(&env, i).await);
        }
        for id in &ids {
            run_pairing(&env.state, *id, JobKind::OutlookToCrm)
                .await
                .unwrap();
        }
        let t0 = Instant::now();
        let cpu0 = cpu_seconds();
        let rounds = 2;
        for _ in 0..rounds {
            support::run_each(&env, &ids, JobKind::OutlookToCrm).await;
        }
        let runs = (n * rounds) as f64;
        let per_sec = runs / t0.elapsed().as_secs_f64();
        let cpu_ms = (cpu_seconds() - cpu0) * 1000.0 / runs;
        println!(
            "| {n} | {per_sec:.0} | {:.1} | {cpu_ms:.2} ms | {:.0} | {} | {} MiB |",
            1000.0 / per_sec * 8.0,
            per_sec * 60.0,
            load_avg(),
            rss_kib() / 1024
        );
        env.stop().await;
        db.drop_now().await;
    }
    println!();
}

async fn latency(samples: usize, poll: u64) {
    let db = TestDb::new().await;
    let env = support::start(&db, |c| c.crm_poll_seconds = poll).await;
    let (_, _pairing) = pair_demo(&env).await;
    // Let the first sync finish.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let email = env.mailbox.email.clone();
    let cal = env.mailbox.calendar_id.clone();
    let company = env.demo_crm.company_id;
    let mut o2c = Vec::new();
    for i in 0..samples {
        let subject = format!("Latenssi O→C {i}");
        let day = (Utc::now() + chrono::Duration::days(2))
            .format("%Y-%m-%dT09:00:00")
            .to_string();
        let t0 = Instant::now();
        env.graph
            .create_event(&email, Some(&cal), json!({"subject": subject, "start": {"dateTime": day, "timeZone": "UTC"}, "end": {"dateTime": day, "timeZone": "UTC"}}))
            .unwrap();
        loop {
            if env
                .crm
                .list(company, "activities")
                .iter()
                .any(|a| a["subject"] == subject.as_str())
            {
                o2c.push(t0.elapsed().as_secs_f64());
                break;
            }
            if t0.elapsed() > Duration::from_secs(90) {
                o2c.push(f64::INFINITY);
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let mut c2o = Vec::new();
    for i in 0..samples.min(10) {
        let subject = format!("Latenssi C→O {i}");
        let day = (Utc::now() + chrono::Duration::days(3))
            .format("%Y-%m-%d")
            .to_string();
        let t0 = Instant::now();
        env.crm
            .insert(company, "activities", json!({"subject": subject, "activity_type": "Soitto", "start_date": format!("{day} 12:00:00"), "end_date": format!("{day} 12:30:00"), "owner_id": env.demo_crm.user_id}))
            .unwrap();
        loop {
            if env
                .graph
                .events(&email)
                .iter()
                .any(|e| e["subject"] == subject.as_str())
            {
                c2o.push(t0.elapsed().as_secs_f64());
                break;
            }
            if t0.elapsed() > Duration::from_secs(poll * 3 + 30) {
                c2o.push(f64::INFINITY);
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    o2c.sort_by(f64::total_cmp);
    c2o.sort_by(f64::total_cmp);
    println!("## Propagation latency\n");
    println!(
        "Through the real worker, webhooks and Postgres, from the change in one simulator until it is visible in the other.\n"
    );
    println!("| direction | samples | median | p99 | max | goal |\n|---|---|---|---|---|---|");
    println!(
        "| Outlook → CRM (change notifications) | {} | {:.2} s | {:.2} s | {:.2} s | < 2 s (seed product ≈ 5 s after login) |",
        o2c.len(),
        pct(&o2c, 0.5),
        pct(&o2c, 0.99),
        pct(&o2c, 1.0)
    );
    println!(
        "| CRM → Outlook (poll every {poll} s) | {} | {:.2} s | {:.2} s | {:.2} s | ≤ poll + 1 s (seed product polls every 300 s) |\n",
        c2o.len(),
        pct(&c2o, 0.5),
        pct(&c2o, 0.99),
        pct(&c2o, 1.0)
    );
    env.stop().await;
    db.drop_now().await;
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == SERVE_SIMS) {
        sims_process().await;
        return;
    }
    tracing_subscriber::registry().with(CountLayer).init();
    let quick = args.iter().any(|a| a == "--quick");
    // `--only=<section>[,<section>]`: idle, initial, capacity, worker, latency.
    let only: Option<Vec<String>> = args
        .iter()
        .find_map(|a| a.strip_prefix("--only="))
        .map(|v| v.split(',').map(str::to_owned).collect());
    let run = |name: &str| only.as_ref().is_none_or(|o| o.iter().any(|x| x == name));
    if run("idle") {
        idle_cost(args.iter().any(|a| a == "--statements")).await;
    }
    if run("initial") {
        initial_sync(if quick { 200 } else { 2000 }).await;
    }
    if run("capacity") {
        scale_direct(if quick { &[10, 50] } else { &[10, 100, 500] }).await;
    }
    if run("worker") {
        // `--pairings=N[,M]`: only these sizes, simulators in their own process (a focused re-run).
        let sizes: Option<Vec<usize>> = args
            .iter()
            .find_map(|a| a.strip_prefix("--pairings="))
            .map(|v| {
                v.split(',')
                    .map(|n| n.parse().expect("--pairings takes numbers"))
                    .collect()
            });
        if let Some(sizes) = sizes {
            scale_worker(&sizes, 0, Duration::from_secs(90)).await;
        } else if quick {
            scale_worker(&[200], 200, Duration::from_secs(70)).await;
        } else {
            scale_worker(&[10_000, 12_500], 5_000, Duration::from_secs(90)).await;
        }
    }
    if run("latency") {
        latency(if quick { 5 } else { 30 }, 10).await;
    }
}
