//! `cargo xtask bench --chaos`, server-process part: the three-process random-kill test of
//! `crates/server/tests/server_processes.rs` in its long form (more rounds and pairings, release build),
//! reported in `BENCHMARKS.md` with its seed so any run can be replayed.

use std::process::Command;

use anyhow::{Context, Result};

use crate::{cargo_bin, step};

const TEST: &str = "three_server_processes_killed_at_random_lose_and_duplicate_nothing_and_never_sync_a_pairing_twice_at_once";

/// Runs the long form; returns its markdown (a subsection of the chaos section) and whether it passed.
pub fn run(database_url: &str, quick: bool) -> Result<(String, bool)> {
    let (rounds, pairings) = if quick { ("6", "20") } else { ("30", "50") };
    step(&format!(
        "three crm-server processes, {rounds} random SIGKILLs, {pairings} pairings (release)"
    ));
    let started = std::time::Instant::now();
    let out = Command::new(cargo_bin())
        .args([
            "test",
            "--quiet",
            "--release",
            "-p",
            "crm-server",
            "--test",
            "server_processes",
            TEST,
            "--",
            "--exact",
            "--nocapture",
        ])
        .env("DATABASE_URL", database_url)
        .env("CRM_CHAOS_ROUNDS", rounds)
        .env("CRM_CHAOS_PAIRINGS", pairings)
        .output()
        .context("running the server-process chaos test")?;
    let secs = started.elapsed().as_secs();
    let log = String::from_utf8_lossy(&out.stderr);
    eprint!("{log}");
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| l.starts_with("chaos") || l.starts_with("round "))
        .collect();
    let summary = lines
        .iter()
        .rev()
        .find(|l| l.starts_with("chaos seed"))
        .copied()
        .unwrap_or("(no summary: the test stopped before converging)");
    let seed_line = lines
        .iter()
        .find(|l| l.starts_with("chaos: seed"))
        .copied()
        .unwrap_or("(no seed printed)");
    let passed = out.status.success();
    let md = format!(
        "\n## Three server processes killed at random\n\n\
         Command: `CRM_CHAOS_ROUNDS={rounds} CRM_CHAOS_PAIRINGS={pairings} cargo test --release -p crm-server \
         --test server_processes three_server_processes -- --nocapture`\n\n\
         Three real `crm-server` processes on one database; every round changes a random half of the \
         pairings on both sides, SIGKILLs a random process at a random moment (often mid-run, with the CRM \
         made slow) and starts it again. Checked: every change arrives exactly once, no pairing is synced \
         by two runs at once (from every process's run journal), nothing of a killed process's after its \
         kill. Result: **{}** in {secs} s.\n\n- {seed_line}\n- {summary}\n",
        if passed { "passed" } else { "FAILED" }
    );
    Ok((md, passed))
}
