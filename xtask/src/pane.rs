//! Builds the task pane: Leptos CSR → wasm32 → wasm-bindgen (`--target web`) → wasm-opt (and terser on
//! the JS glue), into `static/pkg/`.
//!
//! The wasm32 build uses `--cfg erase_components` (`.cargo/config.toml`) and the `wasm-release`
//! profile, which keeps function names for the wasm-opt step (it strips them).

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
    optimize(root, &bg)?;
    minify_js(root, &out.join("taskpane.js"))?;
    let size = std::fs::metadata(&bg)?.len();
    println!(
        "task pane built: static/pkg/taskpane_bg.wasm ({} KiB, {} KiB gzipped)",
        size / 1024,
        gzipped_size(&bg)? / 1024
    );
    Ok(())
}

/// The features rustc's wasm32 target enables by default (the module uses reference types for
/// wasm-bindgen's externref table; binaryen must keep them as they are).
const WASM_FEATURES: &[&str] = &[
    "--enable-bulk-memory",
    "--enable-multivalue",
    "--enable-mutable-globals",
    "--enable-nontrapping-float-to-int",
    "--enable-reference-types",
    "--enable-sign-ext",
];

/// binaryen's `-Os`, tuned for what the browser downloads (gzip). Measured on this pane
/// (`taskpane_bg.wasm` gzipped, 2026-11-25; about 249 KB without wasm-opt):
/// * plain `-Oz` makes it *bigger* (276 KB): inlining and `reorder-functions` (by call count) tear
///   apart the runs of similar monomorphised functions that gzip compresses well. Both are skipped.
/// * `-Os` without them: 242 KB (`-Oz` is 2 KB larger gzipped); ordering the functions by name (the
///   copies of one generic function side by side) before the names are stripped: 234 KB.
/// * no gain: `--converge`, `--merge-similar-functions`, `-O3` (same as `-Os`).
fn optimize(root: &Path, wasm: &Path) -> Result<()> {
    step("wasm-opt (binaryen): -Os without inlining, functions ordered by name, names stripped");
    let wasm_opt = crate::tools::ensure_wasm_opt(root, true)?;
    let tmp = wasm.with_extension("opt.wasm");
    run_cmd(
        Command::new("node")
            .arg(&wasm_opt)
            .args(WASM_FEATURES)
            .args([
                "-Os",
                "--skip-pass=inlining",
                "--skip-pass=inlining-optimizing",
                "--skip-pass=reorder-functions",
                "--reorder-functions-by-name",
                "--strip-debug",
                "--strip-producers",
            ])
            .arg(wasm)
            .arg("-o")
            .arg(&tmp),
    )?;
    std::fs::rename(&tmp, wasm).context("replacing the WASM with the optimised one")?;
    Ok(())
}

/// terser on the wasm-bindgen glue (an ES module): comments and whitespace out, local names shortened.
/// Export and import names stay (terser leaves property names alone), so the module still links to the
/// WASM. 7.5 → 5.5 KB gzipped (2026-11-25).
fn minify_js(root: &Path, js: &Path) -> Result<()> {
    step("terser: minifying the JS glue");
    let terser = crate::tools::ensure_terser(root, true)?;
    let tmp = js.with_extension("min.js");
    run_cmd(
        Command::new("node")
            .arg(&terser)
            .arg(js)
            .args(["--module", "--compress", "--mangle", "--output"])
            .arg(&tmp),
    )?;
    std::fs::rename(&tmp, js).context("replacing the JS glue with the minified one")?;
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
