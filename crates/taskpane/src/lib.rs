//! The CRM-service task pane: a Leptos CSR app compiled to WASM and served from `static/`.
//!
//! Code map:
//! * [`app`] — start-up (Office or browser preview, session, language, theme, auto-login), navigation
//!   and the shared [`app::Ctx`].
//! * [`views`] — one module per screen: Preferences step 1 (`pairing`) and step 2 (`settings`),
//!   `login`, `item` ("Link to CRM"), `status`, plus `preview` and shared `widgets`.
//! * [`forms`] — form state and validation as plain structs (tested natively).
//! * [`i18n`] — the fi/en text table. [`route`] — hash routing.
//! * [`api`] — every server call. [`office`] — every Office.js call. [`browser`] — DOM helpers.
//!
//! Size (budget: everything the pane loads except office.js ≤ 200 KB gzipped; `cargo xtask bench`
//! measures it into BENCHMARKS.md). Measured 2026-11-25, wasm-bindgen 0.2.130, binaryen 132, gzip -9 of
//! `taskpane_bg.wasm`: 278 KB at the start of the size work (fat LTO, opt-level z, panic abort, no
//! wasm-opt); then `--cfg erase_components` (type-erased component views, `.cargo/config.toml`) −26 KB;
//! `cargo xtask pane`'s wasm-opt (`-Os` without inlining and call-count ordering, functions ordered by
//! name: see `xtask/src/pane.rs`) −16 KB; one non-generic API call path and JSON decoded through a
//! `serde_json::Value` (per answer type only the tree walk is compiled) −6 KB: **234 KB**, 246 KB
//! with the JS, CSS and HTML: still **over budget**. What is left (uncompressed code): the Leptos
//! runtime (reactive_graph + tachys ≈ 190 KB), our views ≈ 115 KB, serde (the derived decoders of 26
//! answer types) ≈ 115 KB, core/alloc/std ≈ 175 KB, strings (fi+en texts, error messages) ≈ 70 KB.
//! Measured and rejected: opt-level s (+16 KB, with the same wasm-opt step), plain binaryen `-Oz`
//! (+28 KB: it makes the gzipped file *bigger*), `--merge-similar-functions` (+1.5 KB),
//! `--remap-path-prefix` (no gain gzipped), Leptos event `delegation` (no change).
//!
//! Invariants: only `office.rs` touches Office.js; only `api.rs` talks to the server; views hold no
//! logic that is not in `forms`/`route`/`i18n` or `api-types`, so `cargo test -p taskpane` covers it
//! without a browser.

pub mod api;
pub mod app;
pub mod browser;
pub mod forms;
pub mod i18n;
pub mod office;
pub mod route;
pub mod views;

/// Entry point called by the wasm-bindgen glue (`static/pkg/taskpane.js`) when the module loads.
#[cfg(target_arch = "wasm32")]
#[wasm_bindgen::prelude::wasm_bindgen(start)]
pub fn start() {
    browser::mark("crm-pane-wasm-started");
    leptos::mount::mount_to_body(app::App);
}
