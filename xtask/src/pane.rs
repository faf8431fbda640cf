//! Builds the task pane: Leptos CSR → wasm32 → wasm-bindgen (`--target web`) → wasm-opt, into `static/pkg/`.

use std::{path::Path, process::Command};

use anyhow::{Context, Result};

use crate::{cargo, run_cmd, step};

pub fn build(root: &Path) -> Result<()> {
    step("building the task pane (wasm32, profile wasm-release)");
    cargo(&[
        "build",
        "-p",
        "taskpane",
        "--lib",
        "--target",
        "wasm32-unknown-unknown",
        "--profile",
        "wasm-release",
    ])?;
    let target_dir = std::env::var("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| root.join("target"));
    let wasm = target_dir.join("wasm32-unknown-unknown/wasm-release/taskpane.wasm");
    let out = root.join("static/pkg");
    std::fs::create_dir_all(&out).context("creating static/pkg")?;
    run_cmd(
        Command::new("wasm-bindgen")
            .arg(&wasm)
            .args([
                "--target",
                "web",
                "--no-typescript",
                "--out-name",
                "taskpane",
                "--out-dir",
            ])
            .arg(&out),
    )?;
    let bg = out.join("taskpane_bg.wasm");
    // No `wasm-opt` pass: Debian's binaryen 108 re-points wasm-bindgen's `__wbindgen_externrefs`
    // export at the funcref table, so the optimised pane fails to start in the browser (the e2e tests
    // caught it), and its -Oz output was larger gzipped anyway (278 → 309 KB). The release profile
    // (`opt-level = "z"`, LTO, one codegen unit, abort on panic) does the size work instead.
    let size = std::fs::metadata(&bg)?.len();
    println!(
        "task pane built: static/pkg/taskpane_bg.wasm ({} KiB)",
        size / 1024
    );
    Ok(())
}

/// Size of `path` after `gzip -9`, which is what a browser downloads.
pub fn gzipped_size(path: &Path) -> Result<u64> {
    let out = Command::new("gzip")
        .args(["-9", "-c"])
        .arg(path)
        .output()
        .context("running gzip")?;
    anyhow::ensure!(out.status.success(), "gzip failed on {}", path.display());
    Ok(out.stdout.len() as u64)
}
