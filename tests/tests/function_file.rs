//! The function file (`static/functions.js`): the launch-event handler applies the default activity type
//! and logs in by itself only when "log in at Outlook start" and "remember" are both on; the ribbon's
//! Sync now / Log out call the server. Runs the real file in Node with Office.js and `fetch` stubbed.
//! Skipped (with a message) when `node` is not installed.

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

const HARNESS: &str = r#"
const fs = require("fs"), vm = require("vm");
const a = process.argv.slice(-4);
const [prefs, login, file, handler] = [JSON.parse(a[0]), JSON.parse(a[1]), a[2], a[3]];
const calls = [], props = {}, notices = {};
global.window = global;
global.location = { origin: "https://pane.test" };
global.fetch = async (url, opts) => {
  const p = url.replace("https://pane.test", "");
  calls.push(opts.method + " " + p);
  let body = null;
  if (p.startsWith("/demo/identity-token")) body = { identity_token: "idt" };
  else if (p === "/api/session") body = { token: "tok", expires_at: "2099-01-01T00:00:00Z", email: "m@x.fi", display_name: "M" };
  else if (p === "/api/preferences") body = prefs;
  else if (p === "/api/login") body = login;
  else if (p === "/api/login/auto") body = Object.assign({}, login, { logged_in: true });
  else if (p.startsWith("/api/picklists/activity-types")) body = [{ value: "meeting", label: "Tapaaminen" }];
  else if (p === "/api/sync/now") body = { queued: true };
  else if (p === "/api/logout") body = { logged_in: false, remembered: false };
  return { ok: true, status: 200, text: async () => JSON.stringify(body) };
};
const ok = (value) => ({ status: "succeeded", value });
global.Office = {
  context: { displayLanguage: "fi-FI", mailbox: { userProfile: { emailAddress: "m@x.fi" }, item: {
    notificationMessages: { replaceAsync: (k, d, cb) => { notices[k] = d.message; cb && cb(ok()); } },
    loadCustomPropertiesAsync: (cb) => cb(ok({ get: (n) => props[n], set: (n, v) => { props[n] = v; }, saveAsync: (cb2) => cb2(ok()) })),
  } } },
  AsyncResultStatus: { Succeeded: "succeeded" },
  MailboxEnums: { ItemNotificationMessageType: { InformationalMessage: "informationalMessage", ErrorMessage: "errorMessage" } },
  actions: { handlers: {}, associate(n, f) { this.handlers[n] = f; } },
  onReady(cb) { cb && cb({ host: "Outlook" }); },
};
vm.runInThisContext(fs.readFileSync(file, "utf8"));
setTimeout(() => {
  const timer = setTimeout(() => { console.log(JSON.stringify({ error: "completed() never called" })); }, 3000);
  Office.actions.handlers[handler]({ completed: () => { clearTimeout(timer); console.log(JSON.stringify({ calls, props, notices })); } });
}, 20);
"#;

/// Runs `handler` from functions.js; `None` when node is missing.
fn run(prefs: &Value, login: &Value, handler: &str) -> Option<Value> {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../static/functions.js");
    let out = match Command::new("node")
        .args(["-e", HARNESS, "--", &prefs.to_string(), &login.to_string()])
        .arg(&file)
        .arg(handler)
        .output()
    {
        Ok(o) => o,
        Err(_) => {
            eprintln!("SKIPPED: node is not installed");
            return None;
        }
    };
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("harness prints JSON");
    assert!(v.get("error").is_none(), "{v}");
    Some(v)
}

fn prefs(login_at_start: bool, default_type: Option<&str>) -> Value {
    json!({ "login_at_start": login_at_start, "default_activity_type": default_type, "picklist_language": "fi" })
}

fn login(logged_in: bool, remembered: bool) -> Value {
    json!({ "logged_in": logged_in, "remembered": remembered, "username": "maija", "cooldown_until": null })
}

fn called(v: &Value, call: &str) -> bool {
    v["calls"].as_array().unwrap().iter().any(|c| c == call)
}

#[test]
fn new_appointment_gets_the_default_type_and_auto_login_when_both_settings_are_on() {
    let Some(v) = run(
        &prefs(true, Some("meeting")),
        &login(false, true),
        "onNewAppointmentOrganizer",
    ) else {
        return;
    };
    assert!(called(&v, "POST /api/login/auto"), "{v}");
    assert_eq!(v["props"]["crmActivityType"], "meeting");
    assert_eq!(
        v["notices"]["crmType"],
        "CRM-aktiviteettityyppi: Tapaaminen"
    );
}

#[test]
fn no_auto_login_without_remembered_credentials_or_the_setting() {
    let Some(v) = run(
        &prefs(true, Some("meeting")),
        &login(false, false),
        "onNewAppointmentOrganizer",
    ) else {
        return;
    };
    assert!(!called(&v, "POST /api/login/auto"), "{v}");
    assert_eq!(v["props"]["crmActivityType"], "meeting");

    let Some(v) = run(
        &prefs(false, Some("meeting")),
        &login(false, true),
        "onNewAppointmentOrganizer",
    ) else {
        return;
    };
    assert!(
        !called(&v, "GET /api/login") && !called(&v, "POST /api/login/auto"),
        "{v}"
    );
}

#[test]
fn empty_default_type_sets_nothing_and_says_why() {
    let Some(v) = run(
        &prefs(false, None),
        &login(true, true),
        "onNewAppointmentOrganizer",
    ) else {
        return;
    };
    assert!(v["props"].get("crmActivityType").is_none(), "{v}");
    assert!(
        v["notices"]["crmType"]
            .as_str()
            .unwrap()
            .starts_with("Oletusaktiviteettityyppiä ei ole asetettu")
    );
}

#[test]
fn ribbon_sync_now_and_log_out_call_the_server() {
    let Some(v) = run(&prefs(false, None), &login(true, true), "syncNow") else {
        return;
    };
    assert!(called(&v, "POST /api/sync/now"), "{v}");
    assert_eq!(v["notices"]["crmSync"], "Synkronointi aloitettu.");
    let Some(v) = run(&prefs(false, None), &login(true, true), "logOut") else {
        return;
    };
    assert!(called(&v, "POST /api/logout"), "{v}");
    assert_eq!(v["notices"]["crmSync"], "Kirjauduttu ulos CRM:stä.");
}
