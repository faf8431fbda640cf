//! Benchmarks of the sync as a whole: the real server state and worker, real Postgres, both simulators
//! (in this process). Prints markdown sections for `BENCHMARKS.md`; run by `cargo xtask bench`.
//!
//! * idle cost per pairing and cycle: HTTP requests to each side, Postgres transactions and rows;
//! * initial sync of a large calendar (2,000 events) and of a large CRM (2,000 activities);
//! * throughput of idle cycles with many pairings → pairings one machine keeps within the schedule;
//! * propagation latency Outlook → CRM (change notifications) and CRM → Outlook (polling).
//!
//! `--quick` uses smaller sizes (for a smoke run).

use std::time::{Duration, Instant};

use chrono::Utc;
use crm_server::{demo::DemoEnv, sync::run_pairing, worker::JobKind};
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

struct Db {
    admin: String,
    name: String,
    url: String,
}

impl Db {
    async fn create() -> Db {
        let admin = std::env::var("DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let name = format!("crmbench_{}", Uuid::new_v4().simple());
        let pool = PgPool::connect(&admin)
            .await
            .expect("Postgres (set DATABASE_URL)");
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(r#"CREATE DATABASE "{name}""#)))
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
        let (prefix, _) = admin.rsplit_once('/').unwrap();
        Db {
            url: format!("{prefix}/{name}"),
            admin,
            name,
        }
    }

    async fn drop(self) {
        let pool = PgPool::connect(&self.admin).await.unwrap();
        let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            r#"DROP DATABASE IF EXISTS "{}" WITH (FORCE)"#,
            self.name
        )))
        .execute(&pool)
        .await;
        pool.close().await;
    }
}

fn static_dir() -> std::path::PathBuf {
    std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../static"))
}

/// With the background worker: what users get.
async fn start(db: &Db, tune: impl FnOnce(&mut crm_server::Config)) -> DemoEnv {
    DemoEnv::start(&db.url, 0, static_dir(), tune)
        .await
        .expect("demo environment")
}

/// Without the worker: the measurement drives every run itself.
async fn start_quiet(db: &Db) -> DemoEnv {
    DemoEnv::start_without_worker(&db.url, static_dir(), |_| {})
        .await
        .expect("demo environment")
}

/// Signs in as a mailbox user and pairs it with a CRM user; returns (pane token, pairing id).
async fn pair(
    env: &DemoEnv,
    email: &str,
    user_id: &str,
    tenant: &str,
    calendar_id: &str,
    username: &str,
    password: &str,
) -> (String, Uuid) {
    let id_token = env
        .graph
        .mint_id_token(tenant, user_id, email, sim::graph::DEFAULT_CLIENT_ID);
    let s: Value = client()
        .post(format!("{}/api/session", env.url))
        .json(&json!({ "identity_token": id_token }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = s["token"].as_str().expect("session").to_owned();
    let r = client()
        .post(format!("{}/api/pairing", env.url))
        .bearer_auth(&token)
        .json(&json!({
            "api_key": env.demo_crm.api_key, "crm_address": env.crm_url,
            "crm_username": username, "crm_password": password,
            "email": email, "calendar_id": calendar_id,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let mut prefs: Value = client()
        .get(format!("{}/api/preferences", env.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    prefs["default_activity_type"] = json!("Tapaaminen");
    client()
        .put(format!("{}/api/preferences", env.url))
        .bearer_auth(&token)
        .json(&prefs)
        .send()
        .await
        .unwrap();
    let pairing_id: Uuid = sqlx::query_scalar(
        "SELECT p.id FROM pairings p JOIN mailboxes m ON m.id = p.mailbox_id WHERE m.email = $1",
    )
    .bind(email)
    .fetch_one(&env.state.db)
    .await
    .unwrap();
    (token, pairing_id)
}

async fn pair_demo(env: &DemoEnv) -> (String, Uuid) {
    let m = &env.mailbox;
    pair(
        env,
        &m.email,
        &m.user_id,
        &m.tenant_id,
        &m.calendar_id,
        &env.demo_crm.username,
        &env.demo_crm.password,
    )
    .await
}

/// A new mailbox and CRM user, paired.
async fn extra_pairing(env: &DemoEnv, i: usize) -> Uuid {
    let email = format!("kayttaja{i}@esimerkki.fi");
    let info = env
        .graph
        .create_mailbox(sim::graph::MailboxSpec {
            email: email.clone(),
            display_name: format!("Käyttäjä {i}"),
            time_zone: "Europe/Helsinki".into(),
            calendars: vec![],
            tenant_id: Some(env.mailbox.tenant_id.clone()),
            user_id: None,
        })
        .unwrap();
    let username = format!("kayttaja{i}");
    env.crm
        .add_user(
            env.demo_crm.company_id,
            sim::crm::NewUser {
                username: username.clone(),
                password: "salasana".into(),
                email: email.clone(),
                name: format!("Käyttäjä {i}"),
                locked: false,
            },
        )
        .unwrap();
    let calendar = info.calendars.iter().find(|c| c.2).unwrap().0.clone();
    pair(
        env,
        &email,
        &info.user_id,
        &info.tenant_id,
        &calendar,
        &username,
        "salasana",
    )
    .await
    .1
}

async fn pg_counters(pool: &PgPool, db: &str) -> (i64, i64) {
    // Other backends flush their statistics at most once a second.
    tokio::time::sleep(Duration::from_millis(1200)).await;
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

fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

async fn idle_cost() {
    let db = Db::create().await;
    // No background worker: runs are driven here.
    let env = start_quiet(&db).await;
    let (_, pairing) = pair_demo(&env).await;
    for _ in 0..3 {
        run_pairing(&env.state, pairing, JobKind::OutlookToCrm)
            .await
            .unwrap();
    }
    let stats_pool = PgPool::connect(&db.admin).await.unwrap();
    let cycles = 50;
    env.graph.reset_stats();
    env.crm.reset_request_counts();
    let (tx0, rows0) = pg_counters(&stats_pool, &db.name).await;
    let cpu0 = cpu_seconds();
    let t0 = Instant::now();
    for _ in 0..cycles {
        run_pairing(&env.state, pairing, JobKind::CrmToOutlook)
            .await
            .unwrap();
    }
    let wall = t0.elapsed().as_secs_f64() / cycles as f64;
    let cpu = (cpu_seconds() - cpu0) / cycles as f64;
    let (tx1, rows1) = pg_counters(&stats_pool, &db.name).await;
    let graph = env.graph.stats(&env.mailbox.email).requests as f64 / cycles as f64;
    let crm = env.crm.total_requests() as f64 / cycles as f64;
    println!("## Idle cost per pairing and cycle\n");
    println!(
        "A converged pairing, {cycles} cycles in a row (the CRM id scan for deletions runs at most every 5 minutes, so it is not in this figure).\n"
    );
    println!("| measure | per cycle | goal |\n|---|---|---|");
    println!("| Graph requests (one delta) | {graph:.2} | ≤ 1 |");
    println!("| CRM requests (one change listing) | {crm:.2} | ≤ 1 |");
    println!("| HTTP requests in all | {:.2} | ≤ 2 |", graph + crm);
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
    db.drop().await;
}

async fn initial_sync(n: usize) {
    let db = Db::create().await;
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
    db.drop().await;
}

async fn scale(sizes: &[usize]) {
    println!("## Many pairings on one machine\n");
    println!(
        "Idle pairings (converged), all cycles run with 8 in parallel as the worker does. One pairing needs two cycles a minute (CRM → Outlook every 60 s, the Outlook → CRM fallback poll every 60 s).\n"
    );
    println!(
        "| pairings | cycles/s | ms per cycle (wall, 8 parallel) | pairings within the 60 s schedule | RSS of this process |\n|---|---|---|---|---|"
    );
    for &n in sizes {
        let db = Db::create().await;
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
        let rounds = 2;
        for _ in 0..rounds {
            futures::future::join_all(ids.chunks(ids.len().div_ceil(8)).map(|chunk| {
                let state = env.state.clone();
                let chunk = chunk.to_vec();
                async move {
                    for id in chunk {
                        run_pairing(&state, id, JobKind::CrmToOutlook)
                            .await
                            .unwrap();
                    }
                }
            }))
            .await;
        }
        let cycles = (n * rounds) as f64;
        let per_sec = cycles / t0.elapsed().as_secs_f64();
        let rss = std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("VmRSS"))
                    .map(|l| l.split_whitespace().nth(1).unwrap_or("0").to_owned())
            })
            .and_then(|kb| kb.parse::<u64>().ok())
            .unwrap_or(0);
        println!(
            "| {n} | {per_sec:.0} | {:.1} | {:.0} | {} MiB |",
            1000.0 / per_sec * 8.0,
            per_sec * 60.0 / 2.0,
            rss / 1024
        );
        env.stop().await;
        db.drop().await;
    }
    println!(
        "\nThe simulators run in the same process and use the same two cores, so the figures are a lower bound for the server alone.\n"
    );
}

async fn latency(samples: usize, poll: u64) {
    let db = Db::create().await;
    let env = start(&db, |c| c.crm_poll_seconds = poll).await;
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
    db.drop().await;
}

#[tokio::main]
async fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    idle_cost().await;
    initial_sync(if quick { 200 } else { 2000 }).await;
    scale(if quick { &[10, 50] } else { &[10, 100, 500] }).await;
    latency(if quick { 5 } else { 30 }, 10).await;
}
