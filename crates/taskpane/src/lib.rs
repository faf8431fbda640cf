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
//! Size (budget: everything the pane loads except office.js ≤ 200 KB gzipped; `cargo xtask bench --pane`
//! measures it into BENCHMARKS.md). Measured 2026-11-25, wasm-bindgen 0.2.130, binaryen 132, gzip -9 of
//! `taskpane_bg.wasm`: 278 KB at the start of the size work (fat LTO, opt-level z, panic abort, no
//! wasm-opt); `--cfg erase_components` (type-erased component views, `.cargo/config.toml`) −26 KB;
//! `cargo xtask pane`'s wasm-opt (`-Os` without inlining and call-count ordering, functions ordered by
//! name, a second round around `--flatten --rereloop`: see `xtask/src/pane.rs`) −17 KB; one
//! non-generic API call path −6 KB: 234 KB. Then: JSON through `api_types::wire` instead of serde_json
//! (serde's deserializers, monomorphised per answer type, were the biggest non-Leptos part) −37 KB; no
//! B-tree map and no sort in the pane (form errors in a list, ticked types as lists while edited, sets
//! built by insertion) −7 KB; every reactive child through one boxed type (`widgets::dynamic`), every
//! event handler boxed per event kind (`widgets::handler`), list items as `AnyView`, the text tables
//! indexed instead of matched, `<Show>` replaced by a memo'd closure: −8 KB. **179 KB**, 191 KB with
//! the JS glue (minified by terser), CSS, HTML and logo: within budget. Measured and rejected: opt-level
//! s (+16 KB), plain binaryen `-Oz` (+28 KB: it makes the gzipped file *bigger*),
//! `--merge-similar-functions` (+1.5 KB), `--remap-path-prefix` (no gain gzipped), Leptos event
//! `delegation` (no change), talc instead of dlmalloc (+0.4 KB), LLVM `-inline-threshold=0` (+1 KB),
//! reactive attribute values boxed like children (−0.1 KB, not worth the noise).
//! The server sends `static/pkg` precompressed (brotli: 145 KB for the WASM).
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
