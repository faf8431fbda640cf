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
    Bench {
        title: "Against the seed product's behaviour, and cost against pairings and items",
        package: "crm-server",
        example: "bench_compare",
        features: "demo",
        args: &[],
    },
];

pub fn run(root: &Path, chaos: bool, quick: bool) -> Result<()> {
    if chaos {
        return chaos_only(root, quick);
    }
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
        if quick && matches!(b.example, "bench_sync" | "bench_mail" | "bench_compare") {
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
    // The long chaos run is its own command (`--chaos`); keep its last result.
    if let Some(previous) = std::fs::read_to_string(root.join("BENCHMARKS.md"))
        .ok()
        .and_then(|old| section(&old, CHAOS_TITLE))
    {
        md.push_str(&previous);
    }
    md.push_str(NOT_MEASURED);
    std::fs::write(root.join("BENCHMARKS.md"), md).context("writing BENCHMARKS.md")?;
    println!("\nwrote BENCHMARKS.md");
    Ok(())
}

/// Budget for everything the pane loads except office.js (issue #8), in bytes.
const PANE_BUDGET: u64 = 200_000;

/// What the pane downloads, gzipped (office.js excluded: Microsoft serves it). The PNG logo is
/// counted as it is: images are not compressed again on the wire.
fn pane_size(root: &Path) -> Result<String> {
    let files = [
        "static/index.html",
        "static/boot.js",
        "static/office-loader.js",
        "static/taskpane.css",
        "static/icons/icon-32.png",
        "static/pkg/taskpane.js",
        "static/pkg/taskpane_bg.wasm",
    ];
    let mut md = format!(
        "\n{PANE_TITLE}\n\nEverything the pane loads except office.js, gzipped (-9; the PNG logo as it is). Budget: 200 KB. \
         Measured {} by `cargo xtask bench` (this section alone: `cargo xtask bench --pane`).\n\n\
         | file | bytes | gzipped |\n|---|---:|---:|\n",
        tools::output(Command::new("date").args(["-u", "+%Y-%m-%d %H:%M UTC"]))?.trim()
    );
    let mut total = 0;
    for f in files {
        let path = root.join(f);
        anyhow::ensure!(
            path.exists(),
            "{f} is missing: build the pane first (cargo xtask pane)"
        );
        let raw = std::fs::metadata(&path)?.len();
        let sent = if f.ends_with(".png") {
            raw
        } else {
            crate::pane::gzipped_size(&path)?
        };
        total += sent;
        md.push_str(&format!("| `{f}` | {raw} | {sent} |\n"));
    }
    md.push_str(&format!(
        "| **total** | | **{total}** ({} KB: {}) |\n",
        total / 1000,
        if total <= PANE_BUDGET {
            format!(
                "within the budget, {} KB to spare",
                (PANE_BUDGET - total) / 1000
            )
        } else {
            format!(
                "**over the budget by {} KB**",
                (total - PANE_BUDGET).div_ceil(1000)
            )
        }
    ));
    let br = |f: &str| std::fs::metadata(root.join(format!("static/pkg/{f}.br"))).map(|m| m.len());
    if let (Ok(wasm), Ok(js)) = (br("taskpane_bg.wasm"), br("taskpane.js")) {
        md.push_str(&format!(
            "\nAs the server sends them to a browser that accepts brotli (Outlook, over HTTPS): \
             `taskpane_bg.wasm` {wasm} bytes, `taskpane.js` {js} bytes (precompressed by `cargo xtask pane`).\n"
        ));
    }
    Ok(md)
}

/// Said in the file itself, so nobody reads a missing figure as a good one.
const NOT_MEASURED: &str = "
# Not measured yet

- The seed product itself: its behaviour is emulated by configuration (poll interval, no change
  notifications), not its own request pattern.
- Client timeouts of 30 s in the chaos runs (slow answers stay under the timeouts; an answer that never
  comes is covered by dropped connections and \"commit then drop\").
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

const CHAOS_TITLE: &str = "# Chaos, long form";
const PANE_TITLE: &str = "# Task pane size";

/// A whole `# ` section of a markdown file (title line to the next `# ` title), if present.
fn section(md: &str, title: &str) -> Option<String> {
    let start = md.find(&format!("\n{title}\n"))?;
    let rest = &md[start + 1..];
    let end = rest[1..].find("\n# ").map_or(rest.len(), |i| i + 2);
    Some(format!("\n{}", &rest[..end]))
}

/// Replaces the `title` section of BENCHMARKS.md with `md` (or adds it before "Not measured").
fn replace_section(root: &Path, title: &str, md: &str) -> Result<()> {
    let path = root.join("BENCHMARKS.md");
    let old = std::fs::read_to_string(&path).unwrap_or_else(|_| "# Benchmarks\n".into());
    let new = match section(&old, title) {
        Some(prev) => old.replacen(&prev, md, 1),
        None => match old.find("\n# Not measured") {
            Some(i) => format!("{}{md}{}", &old[..i], &old[i..]),
            None => format!("{old}{md}"),
        },
    };
    std::fs::write(&path, new).context("writing BENCHMARKS.md")?;
    println!(
        "\nwrote the \"{}\" section of BENCHMARKS.md",
        title.trim_start_matches("# ")
    );
    Ok(())
}

/// `cargo xtask bench --pane`: builds the pane and refreshes only the pane-size section.
pub fn pane_only(root: &Path) -> Result<()> {
    crate::tools::ensure_pane_tools(root, true)?;
    crate::pane::build(root)?;
    let md = pane_size(root)?;
    print!("{md}");
    replace_section(root, PANE_TITLE, &md)
}

/// What the chaos runs found when they were written; kept with every refreshed result.
const CHAOS_FINDINGS: &str = "
Bugs these runs found (all fixed, each now covered by the short form in `cargo xtask test`):
duplicates on both sides when a CRM create's status row was lost and the event was edited before the
next run; duplicates when a run lost its advisory lock with its database connection and a second run
took the pairing; Outlook deletions never reaching the CRM when they fell between a killed run and the
next, or just before a delta-token expiry (410); orphaned copies of originals deleted before a killed
run's row was written; CRM changes never listed after the CRM's clock stepped back (watermark ahead
of its clock); a 503 for a notification whose `subscriptionId` held a NUL byte. Known and not a bug: a
CRM clock jumping ahead past the token's hour of life ends the CRM session (\"log in again\", as the API
documents), so the clock test keeps jumps within −40…+15 minutes.
";

/// `cargo xtask bench --chaos`: the chaos tests of `cargo xtask test` with many more rounds, Postgres
/// really crash-restarted (a private cluster), in release mode; their summary replaces the chaos
/// section of `BENCHMARKS.md`.
fn chaos_only(root: &Path, quick: bool) -> Result<()> {
    let pg = crate::pg::ensure(root, false)?;
    let rounds = if quick { "8" } else { "40" };
    step(&format!("chaos tests, {rounds} rounds each (release)"));
    let date = tools::output(Command::new("date").args(["-u", "+%Y-%m-%d %H:%M UTC"]))?;
    let started = std::time::Instant::now();
    let out = Command::new(cargo_bin())
        .args([
            "test",
            "--release",
            "-p",
            "crm-server",
            "--test",
            "chaos",
            "--",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env("DATABASE_URL", &pg.admin_url)
        .env("CHAOS_ITERATIONS", rounds)
        .env("CHAOS_PG_RESTART", "1")
        .output()
        .context("running the chaos tests")?;
    let secs = started.elapsed().as_secs();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    print!("{stdout}");
    eprint!("{stderr}");
    let mut md = format!(
        "\n{CHAOS_TITLE}\n\nCommand: `cargo xtask bench --chaos` (runs `CHAOS_ITERATIONS={rounds} CHAOS_PG_RESTART=1 \
         cargo test --release -p crm-server --test chaos`) on {} — {secs} s, **{}**.\n\n\
         Each test drives the real `crm-server` binary against both simulators with random user edits on both \
         sides and one fault per round, then lets it converge and checks that every item exists exactly once \
         on each side (none once deleted) and that the status table links exactly those pairs. A seed \
         replays a run (`CHAOS_SEED=<seed>`).\n\n| test | seed | rounds | faults injected | items at the end |\n|---|---|---:|---|---|\n",
        date.trim(),
        if out.status.success() {
            "all passed"
        } else {
            "FAILED"
        }
    );
    // With `--nocapture` the harness prints `test <name> ... ` on the same line first.
    for line in stdout
        .lines()
        .filter_map(|l| l.find("CHAOS-RESULT").map(|i| &l[i..]))
    {
        let f: Vec<&str> = line.split(" | ").collect();
        if f.len() >= 6 {
            md.push_str(&format!(
                "| {} | {} | {} | {} | {} |\n",
                f[1],
                f[2].trim_start_matches("seed "),
                f[3].trim_end_matches(" rounds"),
                f[4].trim_start_matches("faults: "),
                f[5].trim_start_matches("items: ")
            ));
        }
    }
    md.push_str(CHAOS_FINDINGS);
    if !out.status.success() {
        let failed: Vec<&str> = stdout
            .lines()
            .chain(stderr.lines())
            .filter(|l| {
                l.contains("CHAOS_SEED=")
                    || l.contains("panicked")
                    || l.contains(" lost")
                    || l.contains("duplicated")
            })
            .take(30)
            .collect();
        md.push_str(&format!("\nFailures:\n\n```\n{}\n```\n", failed.join("\n")));
    }
    // Three real server processes on one database, killed at random (server_processes.rs).
    let (processes, processes_ok) = crate::bench_processes::run(&pg.admin_url, quick)?;
    md.push_str(&processes);
    md.push('\n');
    replace_section(root, CHAOS_TITLE, &md)?;
    if out.status.success() && processes_ok {
        Ok(())
    } else {
        anyhow::bail!("a chaos test failed (see BENCHMARKS.md)")
    }
}
