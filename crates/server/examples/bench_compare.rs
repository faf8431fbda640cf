//! Benchmarks against the seed product's behaviour, and how cost grows: the real server state and
//! worker, real Postgres, both simulators (in this process). Prints markdown sections for
//! `BENCHMARKS.md` and writes `docs/bench-cost.svg`; run by `cargo xtask bench`.
//!
//! * The seed product's behaviour emulated by configuration — CRM → Outlook polled every 300 s and no
//!   change notifications — next to ours (notifications, 60 s poll), both running at the same time:
//!   propagation latency each way (median, p99) over changes made at random moments, and requests per
//!   idle cycle and per idle hour.
//! * Cost of an idle cycle against the number of pairings and the items per pairing (table and plot).
//!
//! `--quick` uses smaller sizes and shorter poll intervals (for a smoke run).

#[path = "support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use chrono::Utc;
use crm_server::{demo::DemoEnv, sync::run_pairing, worker::JobKind};
use rand::{Rng, SeedableRng, rngs::StdRng};
use serde_json::json;
use support::{User, cpu_seconds, pair_demo, pct, start_quiet};
use test_db::TestDb;
use uuid::Uuid;

/// A new mailbox and CRM user with `items` events and `items` activities, paired; returns
/// (pairing, email).
async fn extra_pairing(env: &DemoEnv, i: usize, items: usize) -> (Uuid, String) {
    let (user, crm_user) = User::create(env, "kustannus", i);
    let (email, calendar) = (&user.email, &user.calendar_id);
    let base = Utc::now() + chrono::Duration::days(1);
    for k in 0..items {
        let day = base + chrono::Duration::hours(5 * k as i64 % (24 * 300));
        let start = day.format("%Y-%m-%dT%H:00:00").to_string();
        let end = day.format("%Y-%m-%dT%H:30:00").to_string();
        env.graph
            .create_event(email, Some(calendar), json!({"subject": format!("Tapaaminen {k}"), "start": {"dateTime": start, "timeZone": "UTC"}, "end": {"dateTime": end, "timeZone": "UTC"}}))
            .unwrap();
        let d = (base + chrono::Duration::days((k % 300) as i64)).format("%Y-%m-%d");
        env.crm
            .insert(
                env.demo_crm.company_id,
                "activities",
                json!({"subject": format!("Soitto {k}"), "activity_type": "Soitto", "start_date": format!("{d} 07:00:00"),
                       "end_date": format!("{d} 07:15:00"), "owner_id": crm_user}),
            )
            .unwrap();
    }
    let (_, id) = support::pair(env, &user, |_| {}).await;
    (id, user.email)
}

// ----- the seed product's behaviour, side by side -----

struct Latencies {
    o2c: Vec<f64>,
    c2o: Vec<f64>,
}

/// `samples` changes each way, each at a random moment within `spread`, every one timed from the
/// change until it is visible on the other side (all waits run at once).
async fn latencies(
    env: &DemoEnv,
    samples: usize,
    spread: Duration,
    give_up: Duration,
    seed: u64,
) -> Latencies {
    let mut rng = StdRng::seed_from_u64(seed);
    let email = env.mailbox.email.clone();
    let cal = env.mailbox.calendar_id.clone();
    let company = env.demo_crm.company_id;
    let mut tasks = Vec::new();
    for i in 0..samples * 2 {
        let delay = Duration::from_millis(rng.random_range(0..spread.as_millis() as u64));
        let (graph, crm) = (env.graph.clone(), env.crm.clone());
        let (email, cal, user) = (email.clone(), cal.clone(), env.demo_crm.user_id.clone());
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let to_crm = i % 2 == 0;
            let subject = format!("Viive {i}");
            let day = (Utc::now() + chrono::Duration::days(2 + (i % 20) as i64)).format("%Y-%m-%d").to_string();
            let t0 = Instant::now();
            if to_crm {
                graph
                    .create_event(&email, Some(&cal), json!({"subject": subject, "start": {"dateTime": format!("{day}T09:00:00"), "timeZone": "UTC"}, "end": {"dateTime": format!("{day}T09:30:00"), "timeZone": "UTC"}}))
                    .unwrap();
            } else {
                crm.insert(company, "activities", json!({"subject": subject, "activity_type": "Soitto", "start_date": format!("{day} 12:00:00"), "end_date": format!("{day} 12:30:00"), "owner_id": user}))
                    .unwrap();
            }
            loop {
                let there = if to_crm {
                    crm.list(company, "activities").iter().any(|a| a["subject"] == subject.as_str())
                } else {
                    graph.events(&email).iter().any(|e| e["subject"] == subject.as_str())
                };
                if there {
                    return (to_crm, t0.elapsed().as_secs_f64());
                }
                if t0.elapsed() > give_up {
                    return (to_crm, f64::INFINITY);
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }));
    }
    let mut out = Latencies {
        o2c: Vec::new(),
        c2o: Vec::new(),
    };
    for t in tasks {
        let (to_crm, secs) = t.await.unwrap();
        if to_crm {
            out.o2c.push(secs)
        } else {
            out.c2o.push(secs)
        }
    }
    out.o2c.sort_by(f64::total_cmp);
    out.c2o.sort_by(f64::total_cmp);
    out
}

/// Requests of one idle cycle of a converged pairing (the same code runs in both set-ups; only the
/// schedule differs).
async fn idle_cycle_requests() -> (f64, f64) {
    let db = TestDb::new().await;
    let (env, pairing) = support::converged_demo(&db).await;
    env.graph.reset_stats();
    env.crm.reset_request_counts();
    let cycles = 20;
    for _ in 0..cycles {
        run_pairing(&env.state, pairing, JobKind::CrmToOutlook)
            .await
            .unwrap();
    }
    let graph = env.graph.stats(&env.mailbox.email).requests as f64 / cycles as f64;
    let crm = env.crm.total_requests() as f64 / cycles as f64;
    env.stop().await;
    db.drop_now().await;
    (graph, crm)
}

async fn seed_comparison(quick: bool) {
    let (ours_poll, seed_poll) = if quick { (10u64, 60u64) } else { (60, 300) };
    let samples = if quick { 4 } else { 12 };
    let spread = Duration::from_secs(if quick { 30 } else { 240 });
    let (db_ours, db_seed) = (TestDb::new().await, TestDb::new().await);
    let ours = support::start(&db_ours, |c| c.crm_poll_seconds = ours_poll).await;
    let seed = support::start(&db_seed, |c| c.crm_poll_seconds = seed_poll).await;
    // The seed product had no change notifications: Graph delivers none to this server.
    seed.graph.set_notifications_paused(true);
    pair_demo(&ours).await;
    pair_demo(&seed).await;
    // Let the first syncs finish.
    tokio::time::sleep(Duration::from_secs(8)).await;
    let give_up = Duration::from_secs(seed_poll * 2 + 60);
    let (l_ours, l_seed) = tokio::join!(
        latencies(&ours, samples, spread, give_up, 1),
        latencies(&seed, samples, spread, give_up, 1)
    );
    ours.stop().await;
    seed.stop().await;
    db_ours.drop_now().await;
    db_seed.drop_now().await;
    let (graph, crm) = idle_cycle_requests().await;
    let fallback = crm_server::worker::Schedule::OUTLOOK_FALLBACK_POLL.as_secs();
    // A finished two-way run postpones the pairing's other job kind: one idle run per the shorter
    // of the two intervals.
    let cycles_per_hour = |poll: u64| 3600.0 / poll.min(fallback) as f64;
    let per_hour = |poll: u64| cycles_per_hour(poll) * (graph + crm);

    println!("## The seed product's behaviour side by side\n");
    println!(
        "Two servers at the same time, each with its own simulators and database. **Ours**: Graph change notifications, CRM → Outlook poll every {ours_poll} s. \
         **Seed emulation** (by configuration): no change notifications (the Graph simulator delivers none), CRM → Outlook poll every {seed_poll} s; \
         Outlook → CRM then rests on our {fallback} s fallback poll, which the seed product did not have (it synced Outlook → CRM at login), \
         so its Outlook → CRM row flatters the seed. {samples} new entries each way per server, made at random moments over {} s; \
         latency from the change until it is visible on the other side.\n",
        spread.as_secs()
    );
    println!("| set-up | direction | samples | median | p99 | max |\n|---|---|---|---|---|---|");
    for (name, l) in [("ours", &l_ours), ("seed emulation", &l_seed)] {
        for (dir, v) in [("Outlook → CRM", &l.o2c), ("CRM → Outlook", &l.c2o)] {
            println!(
                "| {name} | {dir} | {} | {:.1} s | {:.1} s | {:.1} s |",
                v.len(),
                pct(v, 0.5),
                pct(v, 0.99),
                pct(v, 1.0)
            );
        }
    }
    println!(
        "\n| set-up | HTTP requests per idle cycle (Graph + CRM, measured) | idle cycles per hour (schedule) | HTTP requests per idle hour |\n|---|---|---|---|"
    );
    for (name, poll) in [("ours", ours_poll), ("seed emulation", seed_poll)] {
        println!(
            "| {name} | {:.2} + {:.2} | {:.0} | {:.0} |",
            graph,
            crm,
            cycles_per_hour(poll),
            per_hour(poll)
        );
    }
    println!(
        "\nAn idle cycle is the same code in both set-ups (one delta request, one CRM change listing); the seed product's own request pattern (no delta) cannot be reproduced by configuration.\n"
    );
}

// ----- cost against pairings and items per pairing -----

struct Point {
    pairings: usize,
    items: usize,
    cpu_ms: f64,
    wall_ms: f64,
    requests: f64,
}

async fn cost_grid(pairings: &[usize], items: &[usize]) -> Vec<Point> {
    let mut out = Vec::new();
    for &m in items {
        for &n in pairings {
            let db = TestDb::new().await;
            let env = start_quiet(&db).await;
            let mut ids = Vec::new();
            let mut emails = Vec::new();
            for i in 0..n {
                let (id, email) = extra_pairing(&env, i, m).await;
                ids.push(id);
                emails.push(email);
            }
            for id in &ids {
                for _ in 0..2 {
                    run_pairing(&env.state, *id, JobKind::OutlookToCrm)
                        .await
                        .unwrap();
                }
            }
            env.graph.reset_stats();
            env.crm.reset_request_counts();
            let rounds = 3;
            let cpu0 = cpu_seconds();
            let t0 = Instant::now();
            for _ in 0..rounds {
                support::run_each(&env, &ids, JobKind::CrmToOutlook).await;
            }
            let cycles = (n * rounds) as f64;
            let wall_ms = t0.elapsed().as_secs_f64() * 1000.0 / cycles;
            let cpu_ms = (cpu_seconds() - cpu0) * 1000.0 / cycles;
            let graph: u64 = emails.iter().map(|e| env.graph.stats(e).requests).sum();
            let requests = (graph + env.crm.total_requests()) as f64 / cycles;
            out.push(Point {
                pairings: n,
                items: m,
                cpu_ms,
                wall_ms,
                requests,
            });
            env.stop().await;
            db.drop_now().await;
        }
    }
    out
}

/// A line chart of CPU ms per idle cycle against pairings, one line per items-per-pairing size.
fn svg(points: &[Point]) -> String {
    let (w, h, left, right, top, bottom) = (640.0, 400.0, 70.0, 170.0, 40.0, 60.0);
    let max_x = points.iter().map(|p| p.pairings).max().unwrap_or(1) as f64;
    let max_y = points.iter().map(|p| p.cpu_ms).fold(0.0, f64::max).max(0.1) * 1.15;
    let x = |v: f64| left + (w - left - right) * v / max_x;
    let y = |v: f64| h - bottom - (h - top - bottom) * v / max_y;
    let mut s = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="12">
<rect width="100%" height="100%" fill="white"/>
<text x="{}" y="22" text-anchor="middle" font-size="14">CPU time per idle sync cycle</text>
<line x1="{left}" y1="{}" x2="{}" y2="{}" stroke="black"/>
<line x1="{left}" y1="{top}" x2="{left}" y2="{}" stroke="black"/>
<text x="{}" y="{}" text-anchor="middle">pairings</text>
<text x="16" y="{}" transform="rotate(-90 16 {})" text-anchor="middle">CPU ms per cycle</text>
"#,
        w / 2.0,
        h - bottom,
        w - right,
        h - bottom,
        h - bottom,
        left + (w - left - right) / 2.0,
        h - 20.0,
        h / 2.0,
        h / 2.0
    );
    for i in 0..=5 {
        let v = max_y * i as f64 / 5.0;
        s.push_str(&format!(
            "<line x1=\"{left}\" y1=\"{0:.1}\" x2=\"{1}\" y2=\"{0:.1}\" stroke=\"#ddd\"/><text x=\"{2}\" y=\"{3:.1}\" text-anchor=\"end\">{v:.2}</text>\n",
            y(v),
            w - right,
            left - 6.0,
            y(v) + 4.0
        ));
    }
    let mut xs: Vec<usize> = points.iter().map(|p| p.pairings).collect();
    xs.sort();
    xs.dedup();
    for p in xs {
        s.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{p}</text>\n",
            x(p as f64),
            h - bottom + 18.0
        ));
    }
    let colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"];
    let mut sizes: Vec<usize> = points.iter().map(|p| p.items).collect();
    sizes.sort();
    sizes.dedup();
    for (k, m) in sizes.iter().enumerate() {
        let c = colors[k % colors.len()];
        let mut line: Vec<&Point> = points.iter().filter(|p| p.items == *m).collect();
        line.sort_by_key(|p| p.pairings);
        let path: Vec<String> = line
            .iter()
            .map(|p| format!("{:.1},{:.1}", x(p.pairings as f64), y(p.cpu_ms)))
            .collect();
        s.push_str(&format!(
            "<polyline fill=\"none\" stroke=\"{c}\" stroke-width=\"2\" points=\"{}\"/>\n",
            path.join(" ")
        ));
        for p in &line {
            s.push_str(&format!(
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"{c}\"/>\n",
                x(p.pairings as f64),
                y(p.cpu_ms)
            ));
        }
        let ly = top + 20.0 * k as f64;
        s.push_str(&format!(
            "<line x1=\"{0}\" y1=\"{ly}\" x2=\"{1}\" y2=\"{ly}\" stroke=\"{c}\" stroke-width=\"2\"/><text x=\"{2}\" y=\"{3}\">{m} items per pairing</text>\n",
            w - right + 12.0,
            w - right + 32.0,
            w - right + 38.0,
            ly + 4.0
        ));
    }
    s.push_str("</svg>\n");
    s
}

async fn cost(quick: bool) {
    let (pairings, items): (&[usize], &[usize]) = if quick {
        (&[1, 4], &[10, 50])
    } else {
        (&[1, 10, 40], &[10, 100, 400])
    };
    let points = cost_grid(pairings, items).await;
    let file = std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/bench-cost.svg"
    ));
    std::fs::write(file, svg(&points)).expect("writing docs/bench-cost.svg");
    println!("## Cost against pairings and items per pairing\n");
    println!(
        "Converged pairings, each with its own mailbox and CRM user holding *items* events and *items* activities; idle cycles, 8 at a time as the worker runs them, 3 rounds. CPU time is this whole process (server **and** both simulators).\n"
    );
    println!("![CPU time per idle cycle against pairings](docs/bench-cost.svg)\n");
    println!(
        "| pairings | items per pairing | CPU ms per cycle | wall ms per cycle (8 parallel) | HTTP requests per cycle |\n|---|---|---|---|---|"
    );
    for p in &points {
        println!(
            "| {} | {} | {:.2} | {:.1} | {:.2} |",
            p.pairings, p.items, p.cpu_ms, p.wall_ms, p.requests
        );
    }
    println!();
}

#[tokio::main]
async fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    cost(quick).await;
    seed_comparison(quick).await;
}
