//! Installs what the build and the tests need on a fresh machine of this kind: the wasm target,
//! `wasm-bindgen-cli` at exactly the version in Cargo.lock, binaryen's `wasm-opt` and terser from npm,
//! and Debian packages.

use std::{path::Path, process::Command};

use anyhow::{Context, Result, bail};

use crate::{cargo, run_cmd, step};

/// For building the pane: wasm target, matching wasm-bindgen CLI, wasm-opt (binaryen) and terser (npm).
pub fn ensure_pane_tools(root: &Path, install: bool) -> Result<()> {
    step("checking build tools (wasm32 target, wasm-bindgen-cli, binaryen, terser)");
    let targets = output(Command::new("rustup").args(["target", "list", "--installed"]))
        .context("rustup is needed to add the wasm32-unknown-unknown target")?;
    if !targets
        .lines()
        .any(|l| l.trim() == "wasm32-unknown-unknown")
    {
        require(install, "the wasm32-unknown-unknown target")?;
        run_cmd(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))?;
    }
    let wanted = wasm_bindgen_version(root)?;
    let have = output(Command::new("wasm-bindgen").arg("--version")).unwrap_or_default();
    if have.split_whitespace().nth(1) != Some(wanted.as_str()) {
        require(install, &format!("wasm-bindgen-cli {wanted}"))?;
        println!(
            "installing wasm-bindgen-cli {wanted} (found: {}); this takes a few minutes once",
            if have.is_empty() { "none" } else { have.trim() }
        );
        let install = |locked: bool| {
            let mut args = vec![
                "install",
                "wasm-bindgen-cli",
                "--version",
                &wanted,
                "--force",
            ];
            if locked {
                args.push("--locked");
            }
            cargo(&args)
        };
        // `--locked` reproduces upstream's lock file, but a registry mirror may lack a locked version
        // (seen here: webpki-roots 1.0.11); then let cargo resolve compatible versions.
        if install(true).is_err() {
            println!("locked install failed; retrying with freshly resolved dependencies");
            install(false)?;
        }
    }
    ensure_wasm_opt(root, install)?;
    ensure_terser(root, install).map(|_| ())
}

/// binaryen from npm, pinned: Debian's binaryen 108 breaks wasm-bindgen's externref table.
pub const BINARYEN_VERSION: &str = "132.0.0";

/// terser from npm, pinned: minifies the wasm-bindgen JS glue of the task pane.
pub const TERSER_VERSION: &str = "5.51.4";

/// The project's own `wasm-opt` (npm package `binaryen`, a Node build of binaryen), installed under
/// `target/tools/` on first use.
pub fn ensure_wasm_opt(root: &Path, install: bool) -> Result<std::path::PathBuf> {
    let major = BINARYEN_VERSION.split('.').next().unwrap_or_default();
    ensure_npm_tool(
        root,
        install,
        "binaryen",
        BINARYEN_VERSION,
        "bin/wasm-opt",
        &format!("version {major}"),
    )
}

/// The project's own `terser` (npm), installed under `target/tools/` on first use.
pub fn ensure_terser(root: &Path, install: bool) -> Result<std::path::PathBuf> {
    ensure_npm_tool(
        root,
        install,
        "terser",
        TERSER_VERSION,
        "bin/terser",
        &format!("terser {TERSER_VERSION}"),
    )
}

/// An npm package's script `bin` at a pinned version, installed into `target/tools/<package>-<version>`
/// on first use (Node.js and npm come from Debian when missing). It counts as installed when
/// `node <bin> --version` prints something containing `version_says`.
fn ensure_npm_tool(
    root: &Path,
    install: bool,
    package: &str,
    version: &str,
    bin: &str,
    version_says: &str,
) -> Result<std::path::PathBuf> {
    let dir = root
        .join("target/tools")
        .join(format!("{package}-{version}"));
    let bin = dir.join("node_modules").join(package).join(bin);
    let works = |bin: &Path| {
        output(Command::new("node").arg(bin).arg("--version"))
            .is_ok_and(|v| v.contains(version_says))
    };
    if bin.is_file() && on_path("node") && works(&bin) {
        return Ok(bin);
    }
    ensure_debian(&[("node", "nodejs"), ("npm", "npm")], install)?;
    require(install, &format!("{package} {version} (npm)"))?;
    println!(
        "installing {package} {version} from npm into {}",
        dir.display()
    );
    std::fs::create_dir_all(&dir).context("creating target/tools")?;
    run_cmd(
        Command::new("npm")
            .args(["install", "--prefix"])
            .arg(&dir)
            .args([
                "--no-save",
                "--no-package-lock",
                "--no-audit",
                "--no-fund",
                &format!("{package}@{version}"),
            ]),
    )?;
    if !works(&bin) {
        bail!(
            "{package} {version} installed but {} does not run",
            bin.display()
        );
    }
    Ok(bin)
}

/// For the tests: schema validation and the browser end-to-end tests.
pub fn ensure_test_tools(install: bool) -> Result<()> {
    step("checking test tools (xmllint, chromium, chromedriver)");
    ensure_debian(
        &[
            ("xmllint", "libxml2-utils"),
            ("chromium", "chromium"),
            ("chromedriver", "chromium-driver"),
        ],
        install,
    )
}

/// The `wasm-bindgen` version locked in Cargo.lock (the CLI must match it exactly).
pub fn wasm_bindgen_version(root: &Path) -> Result<String> {
    let lock = std::fs::read_to_string(root.join("Cargo.lock")).context("reading Cargo.lock")?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == "name = \"wasm-bindgen\""
            && let Some(v) = lines
                .next()
                .and_then(|l| l.trim().strip_prefix("version = "))
        {
            return Ok(v.trim_matches('"').to_owned());
        }
    }
    bail!("wasm-bindgen is not in Cargo.lock")
}

fn ensure_debian(wanted: &[(&str, &str)], install: bool) -> Result<()> {
    let missing: Vec<&str> = wanted
        .iter()
        .filter(|(bin, _)| !on_path(bin))
        .map(|(_, pkg)| *pkg)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    require(install, &missing.join(", "))?;
    println!("installing Debian packages: {}", missing.join(" "));
    let apt = |args: &[&str]| -> Result<()> {
        let mut cmd = if is_root() {
            Command::new("apt-get")
        } else if on_path("sudo") {
            let mut c = Command::new("sudo");
            c.arg("apt-get");
            c
        } else {
            bail!("need root (or sudo) to install {}", missing.join(" "))
        };
        cmd.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        run_cmd(&mut cmd)
    };
    let mut install_args = vec!["install", "-y", "--no-install-recommends"];
    install_args.extend(&missing);
    if apt(&install_args).is_err() {
        // The package lists may be missing or stale on a fresh machine.
        apt(&["update"])?;
        apt(&install_args).context("apt-get install failed")?;
    }
    for (bin, pkg) in wanted {
        if !on_path(bin) {
            bail!("package {pkg} installed but `{bin}` is still not on PATH");
        }
    }
    Ok(())
}

fn require(install: bool, what: &str) -> Result<()> {
    if install {
        Ok(())
    } else {
        bail!("{what} is missing and --skip-install was given")
    }
}

pub fn on_path(bin: &str) -> bool {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(bin).is_file()))
        .unwrap_or(false)
}

pub fn is_root() -> bool {
    output(Command::new("id").arg("-u"))
        .map(|s| s.trim() == "0")
        .unwrap_or(false)
}

pub fn output(cmd: &mut Command) -> Result<String> {
    let out = cmd
        .output()
        .with_context(|| format!("cannot run {cmd:?}"))?;
    if !out.status.success() {
        bail!(
            "{cmd:?} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
