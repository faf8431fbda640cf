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
    args: &'static [&'static str],
}

const BENCHES: &[Bench] = &[
    Bench {
        title: "sync-core: planning 10,000 items",
        package: "sync-core",
        example: "bench_plan",
        args: &[],
    },
    Bench {
        title: "CRM-service client: listing 10,000 activities",
        package: "crmservice",
        example: "bench_listing",
        args: &[],
    },
    Bench {
        title: "Graph client: delta round over 5,000 events",
        package: "graph",
        example: "bench_delta",
        args: &[],
    },
];

pub fn run(root: &Path, _chaos: bool, _quick: bool) -> Result<()> {
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
    for b in BENCHES {
        step(b.title);
        md.push_str(&format!(
            "\n## {}\n\nCommand: `cargo run --release -p {} --example {}`\n\n",
            b.title, b.package, b.example
        ));
        let out = Command::new(cargo_bin())
            .args([
                "run",
                "--quiet",
                "--release",
                "-p",
                b.package,
                "--example",
                b.example,
                "--",
            ])
            .args(b.args)
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
    std::fs::write(root.join("BENCHMARKS.md"), md).context("writing BENCHMARKS.md")?;
    println!("\nwrote BENCHMARKS.md");
    Ok(())
}
