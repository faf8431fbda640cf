//! Builds the task pane: Leptos CSR → wasm32 → wasm-bindgen (`--target web`) → wasm-opt (and terser on
//! the JS glue), into `static/pkg/`, then writes each file's precompressed siblings (`.br`, `.gz`) for
//! the server's `ServeDir` to send.
//!
//! The wasm32 build uses `--cfg erase_components` (`.cargo/config.toml`) and the `wasm-release`
//! profile, which keeps function names for the wasm-opt step (it strips them).

use std::{
    io::Write,
    path::{Path, PathBuf},
    process::Command,
};

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
    // Siblings of the previous build must never outlive it: the server would send them instead.
    remove_precompressed(&out)?;
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
    // The sizes (plain, brotli, gzip) are printed by the precompression, which compresses anyway.
    step("precompressing static/pkg (brotli quality 11, gzip level 9)");
    for file in precompress(&out)? {
        println!(
            "  {}: {} B, .br {} B, .gz {} B",
            file.path.strip_prefix(root).unwrap_or(&file.path).display(),
            file.plain,
            file.br,
            file.gz
        );
    }
    println!("task pane built into static/pkg");
    Ok(())
}

/// Sizes in bytes of one file and its precompressed siblings.
#[derive(Debug)]
pub struct Precompressed {
    pub path: PathBuf,
    pub plain: u64,
    pub br: u64,
    pub gz: u64,
}

/// Writes `<file>.br` (brotli, quality 11) and `<file>.gz` (gzip, level 9) next to every file under
/// `dir` (recursively), replacing older ones. tower-http's `ServeDir` (`precompressed_br`/`_gzip`)
/// sends them, with the plain file's `Content-Type`, to browsers that accept the encoding.
pub fn precompress(dir: &Path) -> Result<Vec<Precompressed>> {
    let mut done = Vec::new();
    for path in files(dir)? {
        if is_generated(&path) {
            continue;
        }
        let plain = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let br = brotli_bytes(&plain)?;
        let gz = gzip_bytes(&plain)?;
        write_atomically(&sibling(&path, "br"), &br)?;
        write_atomically(&sibling(&path, "gz"), &gz)?;
        done.push(Precompressed {
            path,
            plain: plain.len() as u64,
            br: br.len() as u64,
            gz: gz.len() as u64,
        });
    }
    done.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(done)
}

/// Removes every `.br` / `.gz` (and interrupted `.tmp`) file under `dir`, recursively; a missing `dir`
/// is fine.
fn remove_precompressed(dir: &Path) -> Result<()> {
    if !dir.exists() {
        return Ok(());
    }
    for path in files(dir)? {
        if is_generated(&path) {
            std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
        }
    }
    Ok(())
}

/// Regular files under `dir`, recursively (wasm-bindgen may add a `snippets/` folder).
fn files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in
            std::fs::read_dir(&dir).with_context(|| format!("listing {}", dir.display()))?
        {
            let entry = entry?;
            let kind = entry.file_type()?;
            if kind.is_dir() {
                pending.push(entry.path());
            } else if kind.is_file() {
                found.push(entry.path());
            }
        }
    }
    Ok(found)
}

/// Written by [`precompress`], never a source of it.
fn is_generated(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("br" | "gz" | "tmp")
    )
}

/// `taskpane.js` → `taskpane.js.br`: the name `ServeDir` looks for.
fn sibling(path: &Path, encoding: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".");
    name.push(encoding);
    PathBuf::from(name)
}

/// Brotli at quality 11 with the largest standard window (2^24 bytes; the non-standard "large window"
/// is not used: browsers do not decode it).
fn brotli_bytes(plain: &[u8]) -> Result<Vec<u8>> {
    let params = brotli::enc::BrotliEncoderParams {
        quality: 11,
        lgwin: 24,
        size_hint: plain.len(),
        ..Default::default()
    };
    let mut out = Vec::new();
    brotli::BrotliCompress(&mut &plain[..], &mut out, &params).context("brotli")?;
    Ok(out)
}

fn gzip_bytes(plain: &[u8]) -> Result<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(plain)?;
    Ok(encoder.finish()?)
}

/// Writes through a temporary file and a rename, so a running server never sends a half-written file.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = sibling(path, "tmp");
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))
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

/// `-Os` without inlining and call-count ordering, functions ordered by name (see [`optimize`]).
const OS_FOR_GZIP: &[&str] = &[
    "-Os",
    "--skip-pass=inlining",
    "--skip-pass=inlining-optimizing",
    "--skip-pass=reorder-functions",
    "--reorder-functions-by-name",
];

/// binaryen's `-Os`, tuned for what the browser downloads (gzip). Measured on this pane
/// (`taskpane_bg.wasm` gzipped, 2026-11-25; about 249 KB without wasm-opt):
/// * plain `-Oz` makes it *bigger* (276 KB): inlining and `reorder-functions` (by call count) tear
///   apart the runs of similar monomorphised functions that gzip compresses well. Both are skipped.
/// * `-Os` without them: 242 KB (`-Oz` is 2 KB larger gzipped); ordering the functions by name (the
///   copies of one generic function side by side) before the names are stripped: 234 KB.
/// * no gain: `--converge`, `--merge-similar-functions`, `-O3` (same as `-Os`).
/// * then (after the pane's own size work, 187.4 KB): a second `-Os` round after `--flatten --rereloop`
///   (control flow rebuilt from scratch) −0.65 KB for 4 s more; `--gufa`, `--dae-optimizing`,
///   `--monomorphize` make it bigger. Left out on purpose: `--traps-never-happen` and
///   `--low-memory-unused` (−0.2/−0.3 KB for assumptions about the program we cannot check).
fn optimize(root: &Path, wasm: &Path) -> Result<()> {
    step(
        "wasm-opt (binaryen): -Os without inlining, functions ordered by name, twice around --flatten --rereloop",
    );
    let wasm_opt = crate::tools::ensure_wasm_opt(root, true)?;
    let tmp = wasm.with_extension("opt.wasm");
    run_cmd(
        Command::new("node")
            .arg(&wasm_opt)
            .args(WASM_FEATURES)
            .args(OS_FOR_GZIP)
            .args(["--flatten", "--rereloop"])
            .args(OS_FOR_GZIP)
            .args(["--strip-debug", "--strip-producers"])
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

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("xtask-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("snippets")).unwrap();
        dir
    }

    #[test]
    fn precompressed_siblings_decode_to_the_original_bytes() {
        let dir = scratch("precompress");
        let wasm: Vec<u8> = (0..50_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        let js = "export function f() { return 1; }\n".repeat(200);
        std::fs::write(dir.join("taskpane_bg.wasm"), &wasm).unwrap();
        std::fs::write(dir.join("snippets/inline.js"), &js).unwrap();
        // Left over from an earlier build: replaced, and never compressed again (no `.br.gz`).
        std::fs::write(dir.join("taskpane_bg.wasm.br"), b"stale").unwrap();

        let done = precompress(&dir).unwrap();

        assert_eq!(done.len(), 2, "{done:?}");
        for (path, plain) in [
            (dir.join("taskpane_bg.wasm"), wasm.as_slice()),
            (dir.join("snippets/inline.js"), js.as_bytes()),
        ] {
            let br = std::fs::read(sibling(&path, "br")).unwrap();
            let gz = std::fs::read(sibling(&path, "gz")).unwrap();
            assert!(br.len() < plain.len() / 4 && gz.len() < plain.len() / 4);
            let mut decoded = Vec::new();
            brotli::Decompressor::new(&br[..], 4096)
                .read_to_end(&mut decoded)
                .unwrap();
            assert_eq!(decoded, plain);
            decoded.clear();
            flate2::read::GzDecoder::new(&gz[..])
                .read_to_end(&mut decoded)
                .unwrap();
            assert_eq!(decoded, plain);
        }
        let mut names: Vec<_> = files(&dir).unwrap();
        names.sort();
        assert_eq!(names.len(), 6, "{names:?}");

        remove_precompressed(&dir).unwrap();
        let mut left = files(&dir).unwrap();
        left.sort();
        assert_eq!(
            left,
            [dir.join("snippets/inline.js"), dir.join("taskpane_bg.wasm")]
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
