//! First render time of the task pane in headless Chromium (run by `cargo xtask bench`).
//!
//! The real server (demo mode: Postgres, simulators) serves the built pane (`static/`, from
//! `cargo xtask pane`); the demo mailbox is paired and logged in. Chromium opens the pane in browser
//! preview (`index.html?office=none&mailbox=…#/pairing`) and we read two `performance.mark`s the pane
//! sets, in ms since the navigation started:
//! * `crm-pane-wasm-started`: the WASM is downloaded, compiled and running (its start function);
//! * `crm-pane-first-render`: the first screen shows its content (session created, pairing loaded,
//!   Preferences step 1 with the paired account on the page).
//!
//! "Cold" runs start a new browser with an empty profile each time (nothing cached); "warm" runs
//! reload the page in one browser (HTTP cache and compiled WASM cache as a returning user has them).
//! Prints a markdown section.

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::{Api, Browser, Product};

const COLD_RUNS: usize = 10;
const WARM_RUNS: usize = 20;

const READ_MARKS: &str = "
    const get = (n) => { const e = performance.getEntriesByName(n); return e.length ? e[0].startTime : null; };
    const first = get('crm-pane-first-render');
    if (first === null) return null;
    if (!document.querySelector('dl.summary')) return 'no-summary';
    return [get('crm-pane-wasm-started'), first];";

/// Loads `url` and waits for the first-render mark; returns (wasm started, first render) in ms.
async fn load(b: &Browser, url: &str) -> (f64, f64) {
    b.open(url).await;
    let v: Value = b
        .wait_js("the pane's first screen is rendered", READ_MARKS, vec![])
        .await;
    assert_ne!(
        v,
        json!("no-summary"),
        "the first screen is the paired account's Preferences step 1"
    );
    let ms = |i: usize| v[i].as_f64().expect("a mark time");
    (ms(0), ms(1))
}

fn stats(mut xs: Vec<f64>) -> (f64, f64, f64) {
    xs.sort_by(f64::total_cmp);
    let pick = |q: f64| xs[((xs.len() as f64 - 1.0) * q).round() as usize];
    (pick(0.5), pick(0.95), xs[0])
}

fn row(md: &mut String, what: &str, runs: &[(f64, f64)]) {
    let (wasm_med, wasm_p95, _) = stats(runs.iter().map(|r| r.0).collect());
    let (med, p95, min) = stats(runs.iter().map(|r| r.1).collect());
    md.push_str(&format!(
        "| {what} | {} | {wasm_med:.0} ms | {wasm_p95:.0} ms | **{med:.0} ms** | {p95:.0} ms | {min:.0} ms |\n",
        runs.len()
    ));
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let p = Product::start().await;
    Api::session(&p).await.pair_and_log_in(&p).await;
    let url = format!(
        "{}&mailbox={}#/pairing",
        p.preview_url(),
        url::form_urlencoded::byte_serialize(p.email().as_bytes()).collect::<String>()
    );

    let mut cold = Vec::new();
    for _ in 0..COLD_RUNS {
        let b = Browser::start().await;
        cold.push(load(&b, &url).await);
        b.close().await;
    }
    let b = Browser::start().await;
    load(&b, &url).await; // fills the cache
    let mut warm = Vec::new();
    for _ in 0..WARM_RUNS {
        warm.push(load(&b, &url).await);
        // A different page in between, so the next load is a fresh navigation.
        b.open("about:blank").await;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    b.close().await;
    p.stop().await;

    let mut md = String::from(
        "Headless Chromium (Debian's, via chromedriver) on the same machine as the server; the pane in \
         browser preview for the paired demo mailbox, `#/pairing`. Times from the start of navigation \
         (`performance.mark`s set by the pane).\n\n\
         | load | runs | WASM running, median | p95 | **first screen rendered, median** | p95 | min |\n\
         |---|---:|---:|---:|---:|---:|---:|\n",
    );
    row(&mut md, "cold (new browser, empty cache)", &cold);
    row(&mut md, "warm (reload, cached)", &warm);
    // Other work on the machine slows a browser far more than it slows the server: say how busy it was.
    if let Some(load) = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
    {
        md.push_str(&format!(
            "
Load average (1 min) at the end of the run: {load}.
"
        ));
    }
    print!("{md}");
}
