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
//! Size (budget: everything the pane loads except office.js ≤ 200 KB gzipped). Measured 2026-11-25 with
//! profile `wasm-release` (opt-level z, fat LTO, panic abort) and wasm-bindgen 0.2.130: `taskpane_bg.wasm`
//! 952 KB, **278 KB gzipped**; `taskpane.js` 7.4 KB, CSS 2.6 KB, loader/boot/HTML ≈ 2 KB gzipped: about
//! 290 KB in all, **over budget**. Where it goes (gzipped, by removing one screen at a time): item view
//! ≈ 37 KB, settings ≈ 31 KB, pairing ≈ 19 KB, status ≈ 18 KB; the shell with API client, serde_json,
//! chrono and the Leptos runtime ≈ 136 KB. Already done: one reactive text closure type ([`app::Ctx::tx`])
//! and type-erased form widgets (−13 KB). Measured and rejected: opt-level s (301 KB), binaryen 108
//! `wasm-opt -Oz` on the wasm-bindgen output (309 KB: it makes the gzipped file *bigger*; `-O1` gains 1%),
//! `with`/`update` replaced by clone-and-set (no change).
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
    leptos::mount::mount_to_body(app::App);
}
