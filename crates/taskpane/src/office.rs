//! Every use of Office.js, in one place (plus the browser globals the loader sets).
//!
//! Office.js may be absent (browser preview, `?office=none`) or present but outside Outlook
//! (`Office.onReady` → `host: null`), so everything is looked up dynamically with `js_sys::Reflect`
//! instead of static `extern` bindings, which would throw on a missing `Office` global. Callback-style
//! Office APIs are wrapped into futures here. Natively (tests) these functions are never called.

use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

/// Where the pane runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    /// Inside Outlook (or the demo workbench's Office.js stand-in, `shim: true`).
    Outlook { shim: bool },
    /// A plain browser: no item; the mailbox is typed in by the user.
    Preview,
}

/// The open Outlook item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfficeItem {
    /// Graph (REST v2) id; `None` for an appointment being created and not yet saved.
    pub id: Option<String>,
    pub is_message: bool,
    pub subject: String,
    pub internet_message_id: Option<String>,
}

fn global() -> JsValue {
    js_sys::global().into()
}

fn get(obj: &JsValue, key: &str) -> JsValue {
    if obj.is_undefined() || obj.is_null() {
        return JsValue::UNDEFINED;
    }
    Reflect::get(obj, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

fn path(keys: &[&str]) -> JsValue {
    keys.iter().fold(global(), |obj, k| get(&obj, k))
}

fn string_at(keys: &[&str]) -> Option<String> {
    path(keys).as_string().filter(|s| !s.is_empty())
}

fn call(obj: &JsValue, method: &str, args: &[JsValue]) -> Result<JsValue, JsValue> {
    let f: Function = get(obj, method)
        .dyn_into()
        .map_err(|_| JsValue::from_str(method))?;
    let arr = js_sys::Array::new();
    for a in args {
        arr.push(a);
    }
    f.apply(obj, &arr)
}

fn office() -> JsValue {
    path(&["Office"])
}

/// Waits for `office-loader.js` and `Office.onReady`, and says where we are.
pub async fn ready() -> Host {
    let loaded = path(&["crmOfficeLoaded"]);
    if let Ok(p) = loaded.dyn_into::<Promise>() {
        let _ = JsFuture::from(p).await;
    }
    let office = office();
    if office.is_undefined() {
        return Host::Preview;
    }
    let info = match call(&office, "onReady", &[]).map(|p| p.dyn_into::<Promise>()) {
        Ok(Ok(p)) => JsFuture::from(p).await.unwrap_or(JsValue::NULL),
        _ => JsValue::NULL,
    };
    if get(&info, "host").is_null() || get(&info, "host").is_undefined() || mailbox().is_undefined()
    {
        Host::Preview
    } else {
        Host::Outlook {
            shim: get(&office, "__shim").is_truthy(),
        }
    }
}

fn mailbox() -> JsValue {
    path(&["Office", "context", "mailbox"])
}

/// The signed-in mailbox's address.
pub fn mailbox_email() -> Option<String> {
    string_at(&[
        "Office",
        "context",
        "mailbox",
        "userProfile",
        "emailAddress",
    ])
}

/// Outlook's UI language tag (`fi-FI`), used before the user's own setting has loaded.
pub fn display_language() -> Option<String> {
    string_at(&["Office", "context", "displayLanguage"])
}

/// Dark when Office's theme background is dark; `None` when Office gives no theme.
pub fn theme_is_dark() -> Option<bool> {
    let bg = string_at(&["Office", "context", "officeTheme", "bodyBackgroundColor"])?;
    let hex = bg.trim_start_matches('#');
    if hex.len() < 6 {
        return None;
    }
    let c = |i: usize| u32::from_str_radix(&hex[i..i + 2], 16).ok();
    let (r, g, b) = (c(0)?, c(2)?, c(4)?);
    Some(r * 299 + g * 587 + b * 114 < 128_000)
}

/// The open item, if any, with its id converted to the REST (Graph) form.
pub fn current_item() -> Option<OfficeItem> {
    let item = get(&mailbox(), "item");
    if item.is_undefined() || item.is_null() {
        return None;
    }
    let is_message = get(&item, "itemType").as_string().as_deref() == Some("message");
    let id = get(&item, "itemId")
        .as_string()
        .filter(|s| !s.is_empty())
        .map(|ews| to_rest_id(&ews));
    // In compose forms `subject` is an object with getAsync; only read forms give a string.
    let subject = get(&item, "subject").as_string().unwrap_or_default();
    let internet_message_id = get(&item, "internetMessageId").as_string();
    Some(OfficeItem {
        id,
        is_message,
        subject,
        internet_message_id,
    })
}

fn to_rest_id(id: &str) -> String {
    let version = path(&["Office", "MailboxEnums", "RestVersion", "v2_0"]);
    let version = if version.is_undefined() {
        JsValue::from_str("v2.0")
    } else {
        version
    };
    call(
        &mailbox(),
        "convertToRestId",
        &[JsValue::from_str(id), version],
    )
    .ok()
    .and_then(|v| v.as_string())
    .unwrap_or_else(|| id.to_owned())
}

/// Wraps an Office `xxxAsync(…, callback)` call into a future of the AsyncResult's value.
async fn office_async(
    target: &JsValue,
    method: &str,
    mut args: Vec<JsValue>,
) -> Result<JsValue, String> {
    let target = target.clone();
    let method_name = method.to_owned();
    let promise = Promise::new(&mut |resolve: Function, reject: Function| {
        let reject_now = reject.clone();
        let cb = Closure::once_into_js(move |result: JsValue| {
            if get(&result, "status").as_string().as_deref() == Some("succeeded") {
                let _ = resolve.call1(&JsValue::NULL, &get(&result, "value"));
            } else {
                let msg = get(&get(&result, "error"), "message");
                let _ = reject.call1(&JsValue::NULL, &msg);
            }
        });
        args.push(cb);
        if let Err(e) = call(&target, &method_name, &args) {
            // The method is missing or threw: the callback will never run, so settle here.
            let _ = reject_now.call1(&JsValue::NULL, &e);
        }
    });
    JsFuture::from(promise)
        .await
        .map_err(|e| e.as_string().unwrap_or_else(|| format!("{method} failed")))
}

/// Saves a new appointment so that it gets an id (the server can only link saved items).
pub async fn save_current_item() -> Result<String, String> {
    let item = get(&mailbox(), "item");
    let id = office_async(&item, "saveAsync", Vec::new()).await?;
    id.as_string()
        .map(|s| to_rest_id(&s))
        .ok_or_else(|| "no id".to_owned())
}

/// Registers `f` for Outlook's ItemChanged (a pinned pane follows the selected item). Once per page.
pub fn on_item_changed(f: impl Fn() + 'static) {
    let mbx = mailbox();
    if mbx.is_undefined() {
        return;
    }
    let event = path(&["Office", "EventType", "ItemChanged"]);
    let event = if event.is_undefined() {
        JsValue::from_str("olkItemSelectedChanged")
    } else {
        event
    };
    let handler = Closure::<dyn Fn(JsValue)>::new(move |_: JsValue| f());
    let _ = call(&mbx, "addHandlerAsync", &[event, handler.as_ref().clone()]);
    handler.forget(); // lives as long as the page
}

/// The identity token Office gives (SSO) when it can; `None` in the stand-in and in preview, where
/// the demo server's identity endpoint is used instead.
pub async fn office_identity_token() -> Option<String> {
    if get(&office(), "__shim").is_truthy() {
        return None;
    }
    let auth = path(&["OfficeRuntime", "auth"]);
    if auth.is_undefined() {
        return None;
    }
    let opts = js_sys::Object::new();
    let _ = Reflect::set(&opts, &"allowSignInPrompt".into(), &JsValue::TRUE);
    let p: Promise = call(&auth, "getAccessToken", &[opts.into()])
        .ok()?
        .dyn_into()
        .ok()?;
    JsFuture::from(p).await.ok()?.as_string()
}

/// `Office.context.roamingSettings` (UI preferences only: never secrets), falling back to
/// `localStorage` outside Office.
pub fn setting(name: &str) -> Option<String> {
    let rs = path(&["Office", "context", "roamingSettings"]);
    if !rs.is_undefined() {
        return call(&rs, "get", &[JsValue::from_str(name)])
            .ok()
            .and_then(|v| v.as_string());
    }
    web_sys::window()?
        .local_storage()
        .ok()??
        .get_item(&format!("crm-pane:{name}"))
        .ok()?
}

pub fn set_setting(name: &str, value: &str) {
    let rs = path(&["Office", "context", "roamingSettings"]);
    if !rs.is_undefined() {
        let _ = call(
            &rs,
            "set",
            &[JsValue::from_str(name), JsValue::from_str(value)],
        );
        let noop = Closure::once_into_js(|_: JsValue| {});
        let _ = call(&rs, "saveAsync", &[noop]);
        return;
    }
    if let Some(Ok(Some(storage))) = web_sys::window().map(|w| w.local_storage()) {
        let _ = storage.set_item(&format!("crm-pane:{name}"), value);
    }
}
