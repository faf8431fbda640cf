//! Small browser helpers (DOM, location, time formatting) that are not Office.js. Natively these are
//! never called; they compile to stubs.

use chrono::{DateTime, Utc};
use wasm_bindgen::{JsCast, JsValue};

fn window() -> Option<web_sys::Window> {
    web_sys::window()
}

pub fn hash() -> String {
    window()
        .and_then(|w| w.location().hash().ok())
        .unwrap_or_default()
}

pub fn search() -> String {
    window()
        .and_then(|w| w.location().search().ok())
        .unwrap_or_default()
}

pub fn set_hash(h: &str) {
    if let Some(w) = window() {
        let _ = w.location().set_hash(h);
    }
}

pub fn query_param(name: &str) -> Option<String> {
    let s = search();
    s.trim_start_matches('?').split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == name)
            .then(|| {
                js_sys::decode_uri_component(&v.replace('+', " "))
                    .ok()
                    .map(String::from)
            })
            .flatten()
    })
}

pub fn navigator_language() -> String {
    window()
        .and_then(|w| w.navigator().language())
        .unwrap_or_default()
}

pub fn prefers_dark() -> bool {
    window()
        .and_then(|w| w.match_media("(prefers-color-scheme: dark)").ok().flatten())
        .is_some_and(|m| m.matches())
}

fn root() -> Option<web_sys::Element> {
    window()?.document()?.document_element()
}

pub fn set_document_lang(code: &str) {
    if let Some(r) = root() {
        let _ = r.set_attribute("lang", code);
    }
}

pub fn set_theme(dark: bool) {
    if let Some(r) = root() {
        let _ = r.set_attribute("data-theme", if dark { "dark" } else { "light" });
    }
}

/// Moves keyboard focus to the element with `id` (the first field with an error).
pub fn focus(id: &str) {
    if let Some(el) = window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id(id))
        && let Ok(el) = el.dyn_into::<web_sys::HtmlElement>()
    {
        let _ = el.focus();
    }
}

/// A local date and time in the UI language, e.g. "25.11.2026 klo 14.05".
pub fn fmt_time(t: &DateTime<Utc>, locale: &str) -> String {
    let d = js_sys::Date::new(&JsValue::from_f64(t.timestamp_millis() as f64));
    let opts = js_sys::Object::new();
    for (k, v) in [("dateStyle", "short"), ("timeStyle", "short")] {
        let _ = js_sys::Reflect::set(&opts, &k.into(), &v.into());
    }
    String::from(d.to_locale_string(locale, &opts))
}

pub fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// `performance.mark(name)`: the points `cargo xtask bench` reads (the first screen, the WASM start).
pub fn mark(name: &str) {
    let perf = js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str("performance"))
        .unwrap_or(JsValue::UNDEFINED);
    if let Ok(mark) = js_sys::Reflect::get(&perf, &JsValue::from_str("mark"))
        .and_then(|f| f.dyn_into::<js_sys::Function>())
    {
        let _ = mark.call1(&perf, &JsValue::from_str(name));
    }
}
