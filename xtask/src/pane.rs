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
    // The wasm32 target enables these proposals by default; binaryen must be told so. Debian's
    // binaryen 108 sometimes makes the *gzipped* file larger (measured: 278 → 309 KB), and gzipped is
    // what the pane downloads, so the optimised file is kept only when it is smaller gzipped.
    let optimised = out.join("taskpane_bg.opt.wasm");
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
            .arg(&optimised),
    )?;
    let (plain, opt) = (gzipped_size(&bg)?, gzipped_size(&optimised)?);
    if opt < plain {
        std::fs::rename(&optimised, &bg)?;
        println!(
            "wasm-opt: kept ({} → {} KiB gzipped)",
            plain / 1024,
            opt / 1024
        );
    } else {
        std::fs::remove_file(&optimised)?;
        println!(
            "wasm-opt: discarded ({} → {} KiB gzipped would be larger)",
            plain / 1024,
            opt / 1024
        );
    }
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
