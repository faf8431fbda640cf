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
