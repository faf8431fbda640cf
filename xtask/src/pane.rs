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
    // The wasm32 target enables these proposals by default; binaryen must be told so.
    run_cmd(
        Command::new("wasm-opt")
            .args([
                "-Oz",
                "--enable-bulk-memory",
                "--enable-nontrapping-float-to-int",
                "--enable-sign-ext",
                "--enable-reference-types",
                "--enable-multivalue",
                "--enable-mutable-globals",
            ])
            .arg(&bg)
            .arg("-o")
            .arg(&bg),
    )?;
    let size = std::fs::metadata(&bg)?.len();
    println!(
        "task pane built: static/pkg/taskpane_bg.wasm ({} KiB)",
        size / 1024
    );
    Ok(())
}
