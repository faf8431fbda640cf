//! `cargo xtask <task>`: the project's own commands, so a fresh clone needs nothing but cargo.
//!
//! * `test`  — installs what is missing, checks formatting and lints, builds the task pane, runs every test.
//! * `demo`  — builds the pane, finds or starts Postgres, runs the product on the embedded simulators.
//! * `bench` — runs the benchmark programs and writes `BENCHMARKS.md`.
//!
//! It prints every step and stops at the first failure with the reason.

mod bench;
mod bench_processes;
mod pane;
mod pg;
mod tools;

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context, Result, bail};

const USAGE: &str = "\
usage: cargo xtask <task> [options]

tasks:
  test [--private-pg] [--skip-install]   fmt + clippy + pane build + all tests
  demo [--private-pg] [--port N]          run the product on the embedded simulators
  bench [--chaos] [--quick] [--pane]      run benchmarks, write BENCHMARKS.md (--pane: pane size only)
  pane                                    build the task pane WASM into static/pkg

options:
  --private-pg   ignore DATABASE_URL and 127.0.0.1:5432; start a private cluster under target/pg
";

fn main() {
    if let Err(e) = run() {
        eprintln!("\nxtask: FAILED: {e:#}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let task = args.next().unwrap_or_default();
    let rest: Vec<String> = args.collect();
    let flag = |name: &str| rest.iter().any(|a| a == name);
    let root = project_root();
    std::env::set_current_dir(&root)?;
    match task.as_str() {
        "test" => test(&root, flag("--private-pg"), flag("--skip-install")),
        "demo" => {
            let port = rest
                .iter()
                .position(|a| a == "--port")
                .and_then(|i| rest.get(i + 1))
                .map(|p| p.parse::<u16>().context("--port takes a number"))
                .transpose()?
                .unwrap_or(8080);
            demo(&root, flag("--private-pg"), port)
        }
        "bench" if flag("--pane") => bench::pane_only(&root),
        "bench" => bench::run(&root, flag("--chaos"), flag("--quick")),
        "pane" => {
            tools::ensure_pane_tools(&root, true)?;
            pane::build(&root)
        }
        "" | "help" | "--help" | "-h" => {
            print!("{USAGE}");
            Ok(())
        }
        other => bail!("unknown task `{other}`\n\n{USAGE}"),
    }
}

fn test(root: &Path, private_pg: bool, skip_install: bool) -> Result<()> {
    tools::ensure_pane_tools(root, !skip_install)?;
    tools::ensure_test_tools(!skip_install)?;
    step("cargo fmt --check");
    cargo(&["fmt", "--all", "--", "--check"])
        .context("code is not formatted: run `cargo fmt --all`")?;
    step("cargo clippy (all targets, all features, warnings are errors)");
    cargo(&[
        "clippy",
        "--workspace",
        "--all-targets",
        "--all-features",
        "--",
        "-D",
        "warnings",
    ])?;
    pane::build(root)?;
    let pg = pg::ensure(root, private_pg)?;
    pg.sweep_test_databases()?;
    step("cargo test (workspace, all features)");
    let status = Command::new(cargo_bin())
        .args(["test", "--workspace", "--all-features", "--no-fail-fast"])
        .env("DATABASE_URL", &pg.admin_url)
        .env("CRM_STATIC_DIR", root.join("static"))
        .status()
        .context("running cargo test")?;
    if !status.success() {
        bail!("tests failed (see above)");
    }
    println!("\nxtask: all checks and tests passed");
    Ok(())
}

fn demo(root: &Path, private_pg: bool, port: u16) -> Result<()> {
    tools::ensure_pane_tools(root, true)?;
    pane::build(root)?;
    let pg = pg::ensure(root, private_pg)?;
    let url = pg.ensure_database("crm_demo")?;
    step("building and starting the server with the simulators (Ctrl-C stops everything)");
    let mut child = Command::new(cargo_bin())
        .args([
            "run",
            "--quiet",
            "-p",
            "crm-server",
            "--features",
            "demo",
            "--",
            "demo",
            "--port",
            &port.to_string(),
        ])
        .env("DATABASE_URL", &url)
        .env("STATIC_DIR", root.join("static"))
        .spawn()
        .context("starting the demo server")?;
    // The terminal sends Ctrl-C to the whole process group; the server shuts down by itself. We only
    // need to survive it, wait for the child, and then stop a private Postgres if we started one.
    let child_id = child.id();
    ctrlc::set_handler(move || {
        // Forward for the case where only we got the signal (e.g. `kill -INT` on xtask).
        let _ = Command::new("kill")
            .args(["-INT", &child_id.to_string()])
            .status();
    })
    .context("installing the Ctrl-C handler")?;
    let status = child.wait()?;
    drop(pg);
    if !status.success() && status.code().is_some() {
        bail!("demo server exited with {status}");
    }
    Ok(())
}

pub fn step(what: &str) {
    println!("\n==> {what}");
}

pub fn cargo_bin() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}

pub fn cargo(args: &[&str]) -> Result<()> {
    run_cmd(Command::new(cargo_bin()).args(args))
}

pub fn run_cmd(cmd: &mut Command) -> Result<()> {
    let shown = format!("{cmd:?}");
    let status = cmd
        .status()
        .with_context(|| format!("cannot run {shown}"))?;
    if !status.success() {
        bail!("{shown} failed with {status}");
    }
    Ok(())
}

fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the project root")
        .to_path_buf()
}
