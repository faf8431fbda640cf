//! Benchmark: list 10,000 activities through the client from the CRM simulator, page by page.
//!
//! Prints a markdown table: records, page size, requests made, elapsed time and the growth of the
//! client's peak resident memory during the listing. The simulator runs in one child process (this
//! example started with `--serve <records>`) and every row runs in a fresh client process (`--row …`), so
//! a row's memory is its own listing's alone and no row can reuse heap another left behind. Peak memory
//! is `VmHWM` in `/proc/self/status`, reset through `/proc/self/clear_refs` just before the listing
//! (Linux only; elsewhere the column says "n/a").
//!
//! Streaming rows should show no more memory growth for 10,000 records than for 1,000 (a larger page
//! size costs more, as it should); the "collected" row keeps every activity and shows what
//! non-streaming would cost. The last row is one idle cycle of the
//! incremental change listing (nothing changed since the watermark): it must cost one request and
//! return only what the overlap re-reads.
//!
//! Run: `cargo run --release -p crmservice --example bench_listing [-- <records>]`.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crmservice::{ClientConfig, CrmAddress, CrmClient, Filter, ListQuery, Session};
use futures::{StreamExt, TryStreamExt};
use serde_json::json;
use sim::crm::CrmSim;
use std::io::BufRead;

fn stamp(i: usize) -> String {
    let base = chrono::NaiveDate::from_ymd_opt(2026, 10, 1)
        .and_then(|d| d.and_hms_opt(8, 0, 0))
        .expect("valid date");
    (base + chrono::Duration::seconds(i64::try_from(i).expect("fits")))
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

fn status_kib(key: &str) -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    s.lines()
        .find(|l| l.starts_with(key))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Resets VmHWM to the current RSS (Linux `clear_refs` value 5).
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

#[derive(Debug)]
struct Row {
    records: usize,
    requests: u64,
    elapsed: Duration,
    peak_growth_kib: Option<u64>,
}

/// The simulator in the child process, reached through its admin API.
struct Remote {
    base: String,
    http: reqwest::Client,
}

impl Remote {
    async fn reset_requests(&self) {
        self.http
            .delete(format!("{}/_admin/crm/requests", self.base))
            .send()
            .await
            .expect("admin API");
    }

    async fn total_requests(&self) -> u64 {
        let counts: serde_json::Value = self
            .http
            .get(format!("{}/_admin/crm/requests", self.base))
            .send()
            .await
            .expect("admin API")
            .json()
            .await
            .expect("JSON");
        counts
            .as_object()
            .expect("object")
            .values()
            .filter_map(serde_json::Value::as_u64)
            .sum()
    }

    async fn advance_clock(&self, secs: i64) {
        self.http
            .post(format!("{}/_admin/crm/clock", self.base))
            .json(&json!({"advance_secs": secs}))
            .send()
            .await
            .expect("admin API");
    }
}

async fn measure<F, Fut>(sim: &Remote, f: F) -> Row
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = usize>,
{
    sim.reset_requests().await;
    let can_reset = reset_peak();
    let before = status_kib("VmRSS:");
    let t = Instant::now();
    let records = f().await;
    let elapsed = t.elapsed();
    let peak = status_kib("VmHWM:");
    Row {
        records,
        requests: sim.total_requests().await,
        elapsed,
        peak_growth_kib: match (can_reset, before, peak) {
            (true, Some(b), Some(p)) => Some(p.saturating_sub(b)),
            _ => None,
        },
    }
}

async fn stream_count(s: &Session, q: &ListQuery) -> usize {
    s.activities(q)
        .map(|r| r.expect("listing works"))
        .fold(0usize, |n, a| async move {
            std::hint::black_box(&a);
            n + 1
        })
        .await
}

/// Child mode: seed the simulator with `total` activities, print `READY <base_url> <api_key> <first_id>`
/// and serve until stdin closes.
async fn serve(total: usize) {
    let sim = CrmSim::new();
    let demo = sim.seed_demo();
    let c = demo.company_id;
    let types = ["Soitto", "Tapaaminen", "Sähköposti", "Tehtävä", "Muistio"];
    let mut first_id = None;
    for i in 0..total {
        let rec = sim
            .insert(
                c,
                "activities",
                json!({
                    "subject": format!("Asiakaskäynti {i:05}"),
                    "activity_type": types[i % types.len()],
                    "start_date": format!("2027-{:02}-{:02} {:02}:00:00", 1 + (i / 28) % 12, 1 + i % 28, 8 + i % 9),
                    "description": "Käydään läpi tilanne ja seuraavat askeleet. ".repeat(4),
                    "location": "Asiakkaan toimisto",
                    "owner_id": demo.user_id,
                    "contacts": [demo.contact_ids[i % demo.contact_ids.len()]],
                    "accounts": [demo.account_ids[i % demo.account_ids.len()]],
                    // Last edited in the past, one second apart, as an existing CRM would be.
                    "created_at": stamp(i),
                    "updated_at": stamp(i),
                }),
            )
            .expect("valid activity");
        first_id.get_or_insert_with(|| rec["id"].as_str().expect("id").to_owned());
    }
    let addr: SocketAddr = "127.0.0.1:0".parse().expect("valid address");
    let running = sim::serve(sim.router(), addr).await.expect("bind");
    println!(
        "READY {} {} {}",
        running.base_url,
        demo.api_key,
        first_id.unwrap_or_default()
    );
    // Serve until the parent closes our stdin.
    tokio::task::spawn_blocking(|| {
        let mut sink = String::new();
        while std::io::stdin()
            .read_line(&mut sink)
            .map(|n| n > 0)
            .unwrap_or(false)
        {}
    })
    .await
    .expect("stdin watcher");
    running.stop().await;
}

fn spawn_self(args: &[&str]) -> std::process::Child {
    std::process::Command::new(std::env::current_exe().expect("own path"))
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("start a child process")
}

fn first_line(child: &mut std::process::Child) -> String {
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().expect("piped"))
        .read_line(&mut line)
        .expect("child output");
    line
}

/// Row mode: run one scenario against the simulator at `base` and print the row as
/// `ROW <records> <requests> <elapsed_ms> <peak_kib or ->`.
async fn row(
    scenario: &str,
    page_size: u32,
    limit: usize,
    base: &str,
    api_key: &str,
    first_id: i64,
) {
    let remote = Remote {
        base: base.to_owned(),
        http: reqwest::Client::new(),
    };
    let client = CrmClient::with_config(
        CrmAddress::parse(base).expect("address"),
        api_key,
        ClientConfig {
            page_size,
            ..ClientConfig::default()
        },
    )
    .expect("client");
    let s = client.login("demo", "demo").await.expect("login");
    // Warm up the connection and the runtime so they are not counted.
    let _ = s
        .list_page("activities", &ListQuery::new().page_size(1), 1)
        .await;
    let last_id = first_id + i64::try_from(limit).expect("fits") - 1;
    let q = ListQuery::new()
        .filter(Filter::begins_with("subject", "Asiakaskäynti"))
        .filter(Filter::lte("id", last_id))
        .sort_asc("id");
    let r = match scenario {
        "stream" => measure(&remote, || stream_count(&s, &q)).await,
        "collect" => {
            measure(&remote, || async {
                let all: Vec<_> = s.activities(&q).try_collect().await.expect("listing works");
                let n = all.len();
                std::hint::black_box(all);
                n
            })
            .await
        }
        "changes" | "idle" => {
            // The first sync streams the changes and keeps only the watermark, as the runner does.
            let mut watermark = None;
            let first = measure(&remote, || async {
                s.activity_changes(None, Duration::from_secs(2), None)
                    .map(|r| r.expect("change listing works"))
                    .fold(0usize, |n, a| {
                        watermark = watermark.max(Some(a.updated_at));
                        async move { n + 1 }
                    })
                    .await
            })
            .await;
            if scenario == "changes" {
                first
            } else {
                remote.advance_clock(60).await;
                measure(&remote, || async {
                    s.collect_activity_changes(watermark, Duration::from_secs(2), None)
                        .await
                        .expect("idle listing")
                        .activities
                        .len()
                })
                .await
            }
        }
        other => panic!("unknown scenario {other}"),
    };
    println!(
        "ROW {} {} {} {}",
        r.records,
        r.requests,
        r.elapsed.as_millis(),
        r.peak_growth_kib
            .map_or_else(|| "-".to_owned(), |k| k.to_string())
    );
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("--serve") => {
            let total = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(10_000);
            return serve(total).await;
        }
        Some("--row") => {
            let num = |i: usize| args[i].parse::<i64>().expect("number");
            let page = u32::try_from(num(3)).expect("page size");
            let limit = usize::try_from(num(4)).expect("limit");
            return row(&args[2], page, limit, &args[5], &args[6], num(7)).await;
        }
        _ => {}
    }
    let total: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let mut sim = spawn_self(&["--serve", &total.to_string()]);
    let line = first_line(&mut sim);
    let parts: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(parts.first(), Some(&"READY"), "unexpected: {line}");
    let (base, api_key, first_id) = (parts[1], parts[2], parts[3]);

    let scenarios: [(&str, &str, u32, usize); 6] = [
        ("stream", "stream", 100, total / 10),
        ("stream", "stream", 100, total),
        ("stream", "stream", 500, total),
        (
            "collected into a Vec (not streaming)",
            "collect",
            100,
            total,
        ),
        (
            "change listing, first sync (streamed)",
            "changes",
            100,
            total,
        ),
        ("idle change cycle", "idle", 100, total),
    ];
    println!("| scenario | records | page size | requests | elapsed | peak RSS growth |");
    println!("|---|---:|---:|---:|---:|---:|");
    for (label, scenario, page, limit) in scenarios {
        let mut child = spawn_self(&[
            "--row",
            scenario,
            &page.to_string(),
            &limit.to_string(),
            base,
            api_key,
            first_id,
        ]);
        let out = first_line(&mut child);
        let _ = child.wait();
        let f: Vec<&str> = out.split_whitespace().collect();
        assert_eq!(f.first(), Some(&"ROW"), "unexpected: {out}");
        let peak = f[4]
            .parse::<f64>()
            .map_or_else(|_| "n/a".to_owned(), |k| format!("{:.1} MiB", k / 1024.0));
        println!(
            "| {label} | {} | {page} | {} | {} ms | {peak} |",
            f[1], f[2], f[3]
        );
    }
    drop(sim.stdin.take());
    let _ = sim.wait();
}
