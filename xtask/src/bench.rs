//! `cargo xtask bench`: runs the benchmark programs (release builds) and writes `BENCHMARKS.md`.
//!
//! Each benchmark is an example program of the crate it measures; it prints a markdown section.
//! A missing example is reported, not faked.

use std::{path::Path, process::Command};

use anyhow::{Context, Result};

use crate::{cargo_bin, step, tools};

struct Bench {
    title: &'static str,
    package: &'static str,
    example: &'static str,
    features: &'static str,
    args: &'static [&'static str],
}

const BENCHES: &[Bench] = &[
    Bench {
        title: "sync-core: planning 10,000 items",
        package: "sync-core",
        example: "bench_plan",
        features: "",
        args: &[],
    },
    Bench {
        title: "CRM-service client: listing 10,000 activities",
        package: "crmservice",
        example: "bench_listing",
        features: "",
        args: &[],
    },
    Bench {
        title: "Graph client: delta round over 5,000 events",
        package: "graph",
        example: "bench_delta",
        features: "",
        args: &[],
    },
    Bench {
        title: "The whole sync: idle cost, initial sync, many pairings, propagation latency",
        package: "crm-server",
        example: "bench_sync",
        features: "demo",
        args: &[],
    },
    Bench {
        title: "Automatic email tracking: 1,000 new messages",
        package: "crm-server",
        example: "bench_mail",
        features: "demo",
        args: &[],
    },
    Bench {
        title: "Task pane first render in headless Chromium",
        package: "e2e",
        example: "bench_first_render",
        features: "",
        args: &[],
    },
];

pub fn run(root: &Path, _chaos: bool, quick: bool) -> Result<()> {
    let date = tools::output(Command::new("date").args(["-u", "+%Y-%m-%d %H:%M UTC"]))?;
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .next()
                .map(|l| l.split_whitespace().nth(1).unwrap_or("0").to_owned())
        })
        .and_then(|kb| kb.parse::<u64>().ok())
        .map(|kb| format!("{} GiB", kb / 1024 / 1024))
        .unwrap_or_default();
    let mut md = format!(
        "# Benchmarks\n\nProduced by `cargo xtask bench` on {date_t} — {cpu}, {cores} cores, {mem} RAM.\n\
         Every figure below is printed by the program named in its section; rerun the command to refresh.\n",
        date_t = date.trim()
    );
    crate::tools::ensure_pane_tools(root, true)?;
    crate::tools::ensure_test_tools(true)?;
    crate::pane::build(root)?;
    md.push_str(&pane_size(root)?);
    let pg = crate::pg::ensure(root, false)?;
    for b in BENCHES {
        step(b.title);
        let features = if b.features.is_empty() {
            String::new()
        } else {
            format!(" --features {}", b.features)
        };
        md.push_str(&format!(
            "\n# {}\n\nCommand: `cargo run --release -p {}{features} --example {}`\n\n",
            b.title, b.package, b.example
        ));
        let mut cmd = Command::new(cargo_bin());
        cmd.args([
            "run",
            "--quiet",
            "--release",
            "-p",
            b.package,
            "--example",
            b.example,
        ]);
        if !b.features.is_empty() {
            cmd.args(["--features", b.features]);
        }
        cmd.arg("--").args(b.args);
        if quick && (b.example == "bench_sync" || b.example == "bench_mail") {
            cmd.arg("--quick");
        }
        let out = cmd
            .env("DATABASE_URL", &pg.admin_url)
            .output()
            .with_context(|| format!("running {}", b.example))?;
        if out.status.success() {
            let text = String::from_utf8_lossy(&out.stdout);
            print!("{text}");
            md.push_str(text.trim());
            md.push('\n');
        } else {
            let err = String::from_utf8_lossy(&out.stderr);
            eprintln!("{err}");
            md.push_str(&format!(
                "**Not measured:** the benchmark failed or does not exist yet:\n\n```\n{}\n```\n",
                err.trim()
                    .lines()
                    .rev()
                    .take(5)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect::<Vec<_>>()
                    .join("\n")
            ));
        }
    }
    md.push_str(&long_property_run(quick)?);
    md.push_str(NOT_MEASURED);
    std::fs::write(root.join("BENCHMARKS.md"), md).context("writing BENCHMARKS.md")?;
    println!("\nwrote BENCHMARKS.md");
    Ok(())
}

/// What the pane downloads, gzipped (office.js excluded: Microsoft serves it).
fn pane_size(root: &Path) -> Result<String> {
    let files = [
        "static/index.html",
        "static/boot.js",
        "static/office-loader.js",
        "static/taskpane.css",
        "static/pkg/taskpane.js",
        "static/pkg/taskpane_bg.wasm",
    ];
    let mut md = String::from(
        "\n# Task pane size\n\nEverything the pane loads except office.js, gzipped (-9). Budget: 200 KB.\n\n| file | bytes | gzipped |\n|---|---:|---:|\n",
    );
    let mut total = 0;
    for f in files {
        let path = root.join(f);
        if !path.exists() {
            continue;
        }
        let raw = std::fs::metadata(&path)?.len();
        let gz = crate::pane::gzipped_size(&path)?;
        total += gz;
        md.push_str(&format!("| `{f}` | {raw} | {gz} |\n"));
    }
    md.push_str(&format!(
        "| **total** | | **{total}** ({} KB) |\n",
        total / 1000
    ));
    Ok(md)
}

/// Said in the file itself, so nobody reads a missing figure as a good one.
const NOT_MEASURED: &str = "
# Not measured yet

- The long chaos runs (`--chaos`: kill -9 loops, Postgres restarts, clock jumps); the flag is accepted
  and does nothing yet. Short fault tests (outage, lost create answer, 410, 429 storms, SIGKILLed
  workers) run in `cargo xtask test`.
- The seed product's behaviour (5 min poll, no webhooks) side by side in one run, and a plot image of
  cost against pairings.
";

/// The sync-core property tests with many more cases than `cargo xtask test` runs (nightly-sized).
fn long_property_run(quick: bool) -> Result<String> {
    let cases = if quick { "2000" } else { "20000" };
    step(&format!(
        "sync-core property tests, {cases} cases per property (release)"
    ));
    let started = std::time::Instant::now();
    let status = Command::new(cargo_bin())
        .args([
            "test",
            "--quiet",
            "--release",
            "-p",
            "sync-core",
            "--test",
            "properties",
        ])
        .env("PROPTEST_CASES", cases)
        .status()
        .context("running the property tests")?;
    let secs = started.elapsed().as_secs();
    Ok(format!(
        "\n# sync-core property tests, long run\n\nCommand: `PROPTEST_CASES={cases} cargo test --release -p sync-core --test properties`\n\n\
         {} cases per property: **{}** in {secs} s.\n",
        cases,
        if status.success() { "passed" } else { "FAILED" }
    ))
}
