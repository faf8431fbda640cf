//! What the browser tests share: the product in-process ([`Product`]: a fresh Postgres database, the
//! server, its worker and both simulators), a headless Chromium driven over WebDriver ([`Browser`]:
//! Debian's `chromedriver` started on a free port and killed on drop) and explicit waits.
//!
//! Every wait polls a condition with a deadline and fails with what the page showed at that moment;
//! nothing here sleeps to let time pass as a substitute for checking.

#![allow(dead_code)] // each test binary uses a different part

use std::future::Future;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crm_server::demo::DemoEnv;
use crm_server::worker::JobKind;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};
use test_db::TestDb;
use uuid::Uuid;

pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// How long a screen may take to show what a step expects.
pub const UI_TIMEOUT: Duration = Duration::from_secs(15);
/// How long an item may take to cross between Outlook and the CRM.
pub const SYNC_TIMEOUT: Duration = Duration::from_secs(30);

/// The repository root (the workspace).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ lives in the workspace")
        .to_path_buf()
}

/// The pane's static files; fails clearly when the WASM has not been built.
pub fn static_dir() -> PathBuf {
    let dir = root().join("static");
    let wasm = dir.join("pkg/taskpane_bg.wasm");
    assert!(
        wasm.is_file(),
        "{} is missing: build the task pane first with `cargo xtask pane` \
         (`cargo xtask test` does it before running the tests)",
        wasm.display()
    );
    dir
}

/// Where the run's screenshots go (`target/screenshots/*.png` at the repository root).
pub fn screenshot_dir() -> PathBuf {
    let dir = root().join("target/screenshots");
    std::fs::create_dir_all(&dir).expect("create target/screenshots");
    dir
}

// ---------------------------------------------------------------------------------------------------
// The product

/// The whole product on a fresh database.
pub struct Product {
    pub env: DemoEnv,
    // Dropped after the environment (declared after it): the database outlives the server.
    _db: TestDb,
}

impl Product {
    pub async fn start() -> Self {
        let db = TestDb::new().await;
        let env = DemoEnv::start(db.url(), 0, static_dir(), |config| {
            config.crm_poll_seconds = 10;
        })
        .await
        .expect("the demo environment starts");
        Self { env, _db: db }
    }

    pub async fn stop(self) {
        let Product { env, _db } = self;
        env.stop().await;
    }

    pub fn email(&self) -> &str {
        &self.env.mailbox.email
    }

    /// The pane in browser preview (no Office.js), as a user opens it outside Outlook.
    pub fn preview_url(&self) -> String {
        format!("{}/index.html?office=none", self.env.url)
    }

    /// The pane in browser preview acting for the demo mailbox, at `route` (`#/settings`, ...).
    pub fn pane_url(&self, route: &str) -> String {
        format!("{}&mailbox={}{route}", self.preview_url(), self.email())
    }

    /// The id of the mailbox's pairing (the server's own table), waiting for it to exist.
    pub async fn pairing_id(&self) -> Uuid {
        let db = self.env.state.db.clone();
        eventually("the pairing is stored", UI_TIMEOUT, || {
            let db = db.clone();
            async move {
                sqlx::query_scalar::<_, Uuid>("SELECT id FROM pairings")
                    .fetch_optional(&db)
                    .await
                    .ok()
                    .flatten()
            }
        })
        .await
    }

    /// One sync run of `kind` now. When the worker is already running one for this pairing (the runs
    /// serialize on a lock) the call waits for its turn, so a completed run always follows.
    pub async fn sync(&self, pairing: Uuid, kind: JobKind) {
        let deadline = Instant::now() + SYNC_TIMEOUT;
        loop {
            let end = crm_server::sync::run_pairing(&self.env.state, pairing, kind)
                .await
                .unwrap_or_else(|e| panic!("sync run {kind:?} failed: {e}"));
            // `RunEnd` is not exported by the server crate; its Debug name is stable.
            if format!("{end:?}") != "Busy" {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the pairing stayed busy for {SYNC_TIMEOUT:?}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Both directions, one after the other.
    pub async fn sync_both(&self, pairing: Uuid) {
        self.sync(pairing, JobKind::OutlookToCrm).await;
        self.sync(pairing, JobKind::CrmToOutlook).await;
    }

    pub fn crm_activities(&self) -> Vec<Value> {
        self.env
            .crm
            .list(self.env.demo_crm.company_id, "activities")
    }

    pub fn outlook_events(&self) -> Vec<Value> {
        self.env.graph.events(self.email())
    }

    /// Creates an event as the user would in Outlook, `days` from now at 10–11 UTC.
    pub fn create_outlook_event(&self, subject: &str, days: i64) -> String {
        let day = (chrono::Utc::now() + chrono::Duration::days(days)).format("%Y-%m-%d");
        self.env
            .graph
            .create_event(
                self.email(),
                Some(&self.env.mailbox.calendar_id),
                json!({
                    "subject": subject,
                    "start": {"dateTime": format!("{day}T10:00:00"), "timeZone": "UTC"},
                    "end": {"dateTime": format!("{day}T11:00:00"), "timeZone": "UTC"},
                    "body": {"contentType": "text", "content": "Asialista: tarjous ja aikataulu"},
                    "location": {"displayName": "Neuvotteluhuone 2"},
                }),
            )
            .expect("the Graph simulator creates the event")
    }

    /// Creates an activity in the CRM as a CRM user would, owned by the demo user.
    pub fn create_crm_activity(&self, subject: &str, activity_type: &str, days: i64) -> Value {
        let day = (chrono::Utc::now() + chrono::Duration::days(days)).format("%Y-%m-%d");
        self.env
            .crm
            .insert(
                self.env.demo_crm.company_id,
                "activities",
                json!({
                    "subject": subject, "activity_type": activity_type, "status": "Avoin",
                    "start_date": format!("{day} 09:00:00"), "end_date": format!("{day} 10:00:00"),
                    "owner_id": self.env.demo_crm.user_id,
                }),
            )
            .expect("the CRM simulator stores the activity")
    }

    /// Waits until the CRM has an activity with `subject`, running Outlook → CRM syncs meanwhile.
    pub async fn wait_crm_activity(&self, pairing: Uuid, subject: &str) -> Value {
        eventually(
            &format!("the CRM has an activity {subject:?}"),
            SYNC_TIMEOUT,
            || async {
                if let Some(a) = by_subject(&self.crm_activities(), subject).first() {
                    return Some((*a).clone());
                }
                self.sync(pairing, JobKind::OutlookToCrm).await;
                None
            },
        )
        .await
    }

    /// Waits until the calendar has an event with `subject`, running CRM → Outlook syncs meanwhile.
    pub async fn wait_outlook_event(&self, pairing: Uuid, subject: &str) -> Value {
        eventually(
            &format!("the calendar has an event {subject:?}"),
            SYNC_TIMEOUT,
            || async {
                if let Some(e) = by_subject(&self.outlook_events(), subject).first() {
                    return Some((*e).clone());
                }
                self.sync(pairing, JobKind::CrmToOutlook).await;
                None
            },
        )
        .await
    }
}

pub fn by_subject<'a>(items: &'a [Value], subject: &str) -> Vec<&'a Value> {
    items.iter().filter(|v| v["subject"] == subject).collect()
}

/// Subject → how many items carry it.
pub fn subject_counts(items: &[Value]) -> std::collections::BTreeMap<String, usize> {
    let mut m = std::collections::BTreeMap::new();
    for v in items {
        *m.entry(v["subject"].as_str().unwrap_or("").to_owned())
            .or_insert(0) += 1;
    }
    m
}

/// Polls `check` until it gives a value or `timeout` passes (then panics naming `what`).
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

// ---------------------------------------------------------------------------------------------------
// The browser

static PROFILE_SEQ: AtomicU32 = AtomicU32::new(0);

/// `chromedriver` on a free port, in its own process group so that the Chromium it starts goes with it.
struct Driver {
    child: Child,
    port: u16,
    profile: PathBuf,
}

impl Driver {
    fn start() -> Self {
        assert!(
            Path::new(CHROMEDRIVER).is_file() && Path::new(CHROMIUM).is_file(),
            "{CHROMEDRIVER} and {CHROMIUM} are needed (Debian packages chromium-driver and chromium; \
             `cargo xtask test` installs them)"
        );
        let port = free_port();
        let profile = std::env::temp_dir().join(format!(
            "e2e-chromium-{}-{}",
            std::process::id(),
            PROFILE_SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&profile);
        std::fs::create_dir_all(&profile).expect("create the browser profile dir");
        let child = {
            use std::os::unix::process::CommandExt;
            let mut cmd = Command::new(CHROMEDRIVER);
            cmd.arg(format!("--port={port}"));
            // E2E_DRIVER_LOG=<dir>: chromedriver's log with Chromium's own output (console messages
            // included), one file per browser, for diagnosing a failing run.
            if let Some(dir) = std::env::var_os("E2E_DRIVER_LOG") {
                let _ = std::fs::create_dir_all(&dir);
                let file = Path::new(&dir).join(format!(
                    "chromedriver-{}.log",
                    profile.file_name().unwrap_or_default().to_string_lossy()
                ));
                cmd.arg(format!("--log-path={}", file.display()))
                    .arg("--enable-chrome-logs");
            }
            cmd.stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .process_group(0)
                .spawn()
                .expect("start chromedriver")
        };
        Self {
            child,
            port,
            profile,
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // The whole group: chromedriver and the Chromium processes it started (ours only).
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// chromedriver's (non-W3C, widely supported) browser log endpoint.
#[derive(Debug)]
struct BrowserLog;

impl fantoccini::wd::WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/se/log", session.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(r#"{"type":"browser"}"#.to_owned()))
    }
}

/// Pane width as Outlook docks it, and a height that fits most screens.
pub const WIDTH: u32 = 480;
pub const HEIGHT: u32 = 900;

pub struct Browser {
    pub client: Client,
    driver: Driver,
}

impl Browser {
    /// Starts headless Chromium (Finnish UI language, the guide's) with a fresh profile.
    pub async fn start() -> Self {
        let driver = Driver::start();
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), json!("chrome"));
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": CHROMIUM,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--no-first-run", "--lang=fi-FI",
                    format!("--user-data-dir={}", driver.profile.display()),
                    format!("--window-size={WIDTH},{HEIGHT}"),
                    "--enable-logging=stderr", "--v=0",
                ],
                "prefs": {"intl.accept_languages": "fi-FI,fi"},
            }),
        );
        // The page's console, read back on failures.
        caps.insert("goog:loggingPrefs".into(), json!({"browser": "ALL"}));
        let url = driver.url();
        let client = eventually("chromedriver accepts a session", UI_TIMEOUT, || {
            let caps = caps.clone();
            let url = url.clone();
            async move {
                ClientBuilder::new(HttpConnector::new())
                    .capabilities(caps)
                    .connect(&url)
                    .await
                    .ok()
            }
        })
        .await;
        Self { client, driver }
    }

    /// Ends the session (Chromium exits); the driver is killed on drop.
    pub async fn close(self) {
        let Browser { client, driver } = self;
        let _ = client.close().await;
        drop(driver);
    }

    pub async fn open(&self, url: &str) {
        self.client.goto(url).await.expect("navigate");
    }

    /// Runs `script` (a function body; `arguments` are `args`) and returns its value.
    pub async fn js(&self, script: &str, args: Vec<Value>) -> Value {
        self.client
            .execute(script, args)
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// The page's console messages since the last call (chromedriver's `se/log`).
    pub async fn console(&self) -> Vec<String> {
        match self.client.issue_cmd(BrowserLog).await {
            Ok(Value::Array(entries)) => entries
                .iter()
                .map(|e| {
                    format!(
                        "{} {}",
                        e["level"].as_str().unwrap_or(""),
                        e["message"].as_str().unwrap_or("")
                    )
                })
                .collect(),
            Ok(other) => vec![other.to_string()],
            Err(e) => vec![format!("(console not available: {e})")],
        }
    }

    /// Opens the pane at `url` and waits until it started: fails at once, with the console's
    /// message, when the WASM could not start (the page's "failed to load" notice).
    pub async fn open_pane(&self, url: &str) {
        self.open(url).await;
        let state = self
            .wait_js(
                "the pane starts (or shows its load error)",
                "const err = document.getElementById('boot-error');
                 if (err && !err.hidden) return 'failed';
                 return document.querySelector('.app') ? 'started' : null;",
                vec![],
            )
            .await;
        if state == json!("failed") {
            let console = self.console().await.join("\n");
            let hint = if console.contains("WebAssembly.Table.set") {
                "\nA known cause: binaryen's wasm-opt 108 (Debian bookworm) re-points the \
                 `__wbindgen_externrefs` export at the funcref table; see `wasm-dis \
                 static/pkg/taskpane_bg.wasm | grep __wbindgen_externrefs`."
            } else {
                ""
            };
            panic!(
                "the task pane failed to start in Chromium (its WASM is static/pkg, built by \
                 `cargo xtask pane`). The browser console said:\n{console}{hint}"
            );
        }
    }

    /// The visible text of the page (for failure messages and text checks).
    pub async fn page_text(&self) -> String {
        self.js(
            "return document.body ? document.body.innerText : '';",
            vec![],
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
    }

    /// Waits until `script` returns something truthy and returns it.
    pub async fn wait_js(&self, what: &str, script: &str, args: Vec<Value>) -> Value {
        let deadline = Instant::now() + UI_TIMEOUT;
        loop {
            let v = self
                .client
                .execute(script, args.clone())
                .await
                .unwrap_or(Value::Null);
            let truthy = match &v {
                Value::Null => false,
                Value::Bool(b) => *b,
                Value::String(s) => !s.is_empty(),
                Value::Number(n) => n.as_f64() != Some(0.0),
                _ => true,
            };
            if truthy {
                return v;
            }
            if Instant::now() >= deadline {
                panic!(
                    "timed out after {UI_TIMEOUT:?} waiting until {what}.\nThe page showed:\n{}\n\
                     The browser console said:\n{}",
                    self.page_text().await,
                    self.console().await.join("\n")
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits for an element matching `css` to be present.
    pub async fn wait_for(&self, css: &str) {
        self.wait_js(
            &format!("{css} is on the page"),
            "return !!document.querySelector(arguments[0]);",
            vec![json!(css)],
        )
        .await;
    }

    /// Waits until the element matching `css` has text containing `text`; returns its whole text.
    pub async fn wait_text(&self, css: &str, text: &str) -> String {
        self.wait_js(
            &format!("{css} shows {text:?}"),
            "const e = document.querySelector(arguments[0]);
             return e && e.textContent.includes(arguments[1]) ? e.textContent : null;",
            vec![json!(css), json!(text)],
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
    }

    /// Waits until the page text contains `text`.
    pub async fn wait_page_text(&self, text: &str) {
        self.wait_js(
            &format!("the page shows {text:?}"),
            "return document.body.innerText.includes(arguments[0]);",
            vec![json!(text)],
        )
        .await;
    }

    /// The text of the element matching `css` ("" when absent).
    pub async fn text(&self, css: &str) -> String {
        self.js(
            "const e = document.querySelector(arguments[0]); return e ? e.textContent : '';",
            vec![json!(css)],
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
    }

    /// The `value` property of the input or select matching `css`.
    pub async fn value(&self, css: &str) -> String {
        self.js(
            "const e = document.querySelector(arguments[0]); return e ? e.value : null;",
            vec![json!(css)],
        )
        .await
        .as_str()
        .unwrap_or_else(|| panic!("no input {css}"))
        .to_owned()
    }

    pub async fn attr(&self, css: &str, name: &str) -> Option<String> {
        self.js(
            "const e = document.querySelector(arguments[0]); return e ? e.getAttribute(arguments[1]) : null;",
            vec![json!(css), json!(name)],
        )
        .await
        .as_str()
        .map(str::to_owned)
    }

    async fn element(&self, css: &str) -> fantoccini::elements::Element {
        self.wait_for(css).await;
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("find {css}: {e}"))
    }

    /// Types into a field as a user would (key events), after clearing it.
    pub async fn fill(&self, css: &str, text: &str) {
        let e = self.element(css).await;
        e.clear()
            .await
            .unwrap_or_else(|e| panic!("clear {css}: {e}"));
        if !text.is_empty() {
            e.send_keys(text)
                .await
                .unwrap_or_else(|e| panic!("type into {css}: {e}"));
        }
        let now = self.value(css).await;
        assert_eq!(now, text, "{css} holds what was typed");
    }

    /// Clicks as a user would: first scrolled to the middle of the pane, as WebDriver's own minimal
    /// scrolling leaves a button at the bottom edge, under the pane's sticky status line.
    pub async fn click(&self, css: &str) {
        let e = self.element(css).await;
        self.client
            .execute(
                "arguments[0].scrollIntoView({block: 'center'});",
                vec![serde_json::to_value(&e).expect("element reference")],
            )
            .await
            .expect("scroll into view");
        e.click()
            .await
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    /// Clicks the button whose visible text is exactly `label`.
    pub async fn click_button(&self, label: &str) {
        let xpath = format!("//button[normalize-space(.)='{label}']");
        self.wait_js(
            &format!("a button {label:?} is on the page"),
            "return document.evaluate(arguments[0], document, null, XPathResult.FIRST_ORDERED_NODE_TYPE, null).singleNodeValue !== null;",
            vec![json!(xpath)],
        )
        .await;
        let e = self
            .client
            .find(Locator::XPath(&xpath))
            .await
            .unwrap_or_else(|e| panic!("find button {label:?}: {e}"));
        self.client
            .execute(
                "arguments[0].scrollIntoView({block: 'center'});",
                vec![serde_json::to_value(&e).expect("element reference")],
            )
            .await
            .expect("scroll into view");
        e.click()
            .await
            .unwrap_or_else(|e| panic!("click button {label:?}: {e}"));
    }

    /// Picks the option with `value` in the select matching `css` (waiting until it is offered).
    pub async fn select(&self, css: &str, value: &str) {
        self.wait_js(
            &format!("{css} offers {value:?}"),
            "const e = document.querySelector(arguments[0]);
             return !!e && [...e.options].some(o => o.value === arguments[1]);",
            vec![json!(css), json!(value)],
        )
        .await;
        // The pane may re-render the options while they load (a stale element): pick again then.
        let deadline = Instant::now() + UI_TIMEOUT;
        loop {
            let picked = self.element(css).await.select_by_value(value).await;
            match picked {
                Ok(()) if self.value(css).await == value => return,
                Ok(()) => {}
                Err(e) if Instant::now() >= deadline => panic!("select {value:?} in {css}: {e}"),
                Err(_) => {}
            }
            assert!(
                Instant::now() < deadline,
                "{css} does not keep the choice {value:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Clicks the checkbox matching `css` and waits until it is ticked.
    pub async fn tick(&self, css: &str) {
        self.click(css).await;
        self.wait_js(
            &format!("{css} is ticked"),
            "return document.querySelector(arguments[0]).checked;",
            vec![json!(css)],
        )
        .await;
    }

    /// Waits until the input or select matching `css` has the value `value`.
    pub async fn wait_value(&self, css: &str, value: &str) {
        self.wait_js(
            &format!("{css} has the value {value:?}"),
            "const e = document.querySelector(arguments[0]); return !!e && e.value === arguments[1];",
            vec![json!(css), json!(value)],
        )
        .await;
    }

    /// The text of the chosen option of the select matching `css`.
    pub async fn selected_text(&self, css: &str) -> String {
        self.js(
            "const s = document.querySelector(arguments[0]); return s.options[s.selectedIndex].text;",
            vec![json!(css)],
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
    }

    /// Marks the document now shown, so that [`Browser::same_page`] can tell whether it was
    /// reloaded since.
    pub async fn mark_page(&self) {
        self.js("window.__e2eSamePage = true; return true;", vec![])
            .await;
    }

    /// Whether the document marked by [`Browser::mark_page`] is still the one shown (no reload).
    pub async fn same_page(&self) -> bool {
        self.js("return window.__e2eSamePage === true;", vec![])
            .await
            == json!(true)
    }

    /// Waits for the frame matching `css` and switches into it (`client.enter_parent_frame()` goes
    /// back).
    pub async fn enter_frame(&self, css: &str) {
        self.element(css)
            .await
            .enter_frame()
            .await
            .unwrap_or_else(|e| panic!("enter the frame {css}: {e}"));
    }

    /// Follows an in-pane link (`#/login`, ...) by clicking it, as a user would.
    pub async fn nav(&self, hash: &str) {
        self.click(&format!("nav.tabs a[href='{hash}']")).await;
        self.wait_js(
            &format!("the pane is at {hash}"),
            "return location.hash === arguments[0];",
            vec![json!(hash)],
        )
        .await;
    }

    /// The UI language the pane is in (`<html lang>`).
    pub async fn lang(&self) -> String {
        self.js("return document.documentElement.lang;", vec![])
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Makes the page's local time zone `zone` (an IANA name), whatever the machine's is.
    pub async fn set_time_zone(&self, zone: &str) {
        self.client
            .issue_cmd(Cdp {
                cmd: "Emulation.setTimezoneOverride",
                params: json!({"timezoneId": zone}),
            })
            .await
            .unwrap_or_else(|e| panic!("set the browser's time zone to {zone}: {e}"));
    }

    /// Saves a screenshot of the whole pane, beyond the window's height when the screen is long, as
    /// `target/screenshots/<name>.png`.
    pub async fn screenshot(&self, name: &str) {
        // Let pending renders settle: wait for two animation frames.
        self.client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 requestAnimationFrame(() => requestAnimationFrame(() => done(true)));",
                vec![],
            )
            .await
            .expect("animation frames");
        let size = self
            .js(
                "const d = document.documentElement;
                 return [d.clientWidth, Math.max(d.scrollHeight, document.body.scrollHeight)];",
                vec![],
            )
            .await;
        let (w, h) = (
            size[0].as_f64().unwrap_or(0.0),
            size[1].as_f64().unwrap_or(0.0),
        );
        // Chromium's DevTools screenshot (chromedriver's CDP passthrough) of the whole document: the
        // viewport is made as tall as the document for the shot, then given back to the window.
        let tall = self
            .client
            .issue_cmd(Cdp {
                cmd: "Emulation.setDeviceMetricsOverride",
                params: json!({"width": w as u64, "height": (h as u64).max(HEIGHT as u64),
                               "deviceScaleFactor": 1, "mobile": false}),
            })
            .await
            .is_ok();
        let shot = self
            .client
            .issue_cmd(Cdp {
                cmd: "Page.captureScreenshot",
                params: json!({"format": "png"}),
            })
            .await;
        if tall {
            let _ = self
                .client
                .issue_cmd(Cdp {
                    cmd: "Emulation.clearDeviceMetricsOverride",
                    params: json!({}),
                })
                .await;
        }
        let png = match shot {
            Ok(v) if v["data"].is_string() => {
                use base64::Engine;
                base64::engine::general_purpose::STANDARD
                    .decode(v["data"].as_str().unwrap_or_default())
                    .expect("base64 screenshot")
            }
            _ => self.client.screenshot().await.expect("screenshot"),
        };
        let path = screenshot_dir().join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    }
}

/// A Chrome DevTools Protocol command through chromedriver (`goog/cdp/execute`).
#[derive(Debug)]
struct Cdp {
    cmd: &'static str,
    params: Value,
}

impl fantoccini::wd::WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!(
            "session/{}/goog/cdp/execute",
            session.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        let body = json!({"cmd": self.cmd, "params": self.params});
        (http::Method::POST, Some(body.to_string()))
    }
}

// ---------------------------------------------------------------------------------------------------
// Steps a user takes in the pane

/// In browser preview: names the mailbox and connects, then waits for the first screen's content.
pub async fn connect_preview(b: &Browser, email: &str) {
    b.fill("#preview-mailbox", email).await;
    b.click("form.preview button[type=submit]").await;
}

/// Preferences step 1 with the given password; returns after Save was pressed.
pub async fn fill_pairing(b: &Browser, p: &Product, password: &str) {
    let crm = &p.env.demo_crm;
    b.fill("#api_key", &crm.api_key).await;
    b.fill("#crm_address", &p.env.crm_url).await;
    b.fill("#crm_username", &crm.username).await;
    b.fill("#crm_password", password).await;
    // The email comes from the signed-in mailbox.
    assert_eq!(b.value("#email").await, p.email());
    b.select("#calendar_id", &p.env.mailbox.calendar_id).await;
}

/// Pairs with the right password and waits for step 2 (`#/settings`).
pub async fn pair(b: &Browser, p: &Product) {
    fill_pairing(b, p, &p.env.demo_crm.password.clone()).await;
    save_pairing(b).await;
}

/// Presses Save on preferences step 1 and waits for step 2 (`#/settings`), which opens once the
/// pairing is made.
pub async fn save_pairing(b: &Browser) {
    b.click("#pair-save").await;
    b.wait_js(
        "step 2 opens after pairing",
        "return location.hash === '#/settings' && !!document.querySelector('#default_activity_type');",
        vec![],
    )
    .await;
}

/// Logs in on `#/login` with "Muista kirjautumistiedot" ticked; waits for the logged-in notice.
pub async fn log_in(b: &Browser, p: &Product, screenshot: Option<&str>) {
    b.nav("#/login").await;
    // Pairing already signs the user in (without "remember"); the screen then shows that state and
    // still offers the form, so "Muista kirjautumistiedot" can be ticked without logging out.
    b.wait_for("#password").await;
    b.fill("#username", &p.env.demo_crm.username).await;
    b.fill("#password", &p.env.demo_crm.password).await;
    // "Muista kirjautumistiedot".
    b.tick("#remember").await;
    if let Some(name) = screenshot {
        b.screenshot(name).await;
    }
    b.click("#login-submit").await;
    // Logged in with remembered credentials: the form gives way to the logged-in notice.
    b.wait_js(
        "the login form gives way to the logged-in state",
        "return !document.querySelector('#password') && !!document.querySelector('section[aria-labelledby=login-title] .notice.success');",
        vec![],
    )
    .await;
}

// ---------------------------------------------------------------------------------------------------
// The server's API, for the setup of focused tests (what earlier tests already did through the UI)

pub struct Api {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl Api {
    /// A session for the demo mailbox, from the demo server's identity token (as the pane gets it in
    /// browser preview).
    pub async fn session(p: &Product) -> Self {
        let http = reqwest::Client::new();
        let base = p.env.url.clone();
        let identity: Value = http
            .get(format!("{base}{}", api_types::routes::DEMO_IDENTITY_TOKEN))
            .query(&[("email", p.email())])
            .send()
            .await
            .expect("identity token")
            .json()
            .await
            .expect("identity token JSON");
        let session: Value = http
            .post(format!("{base}{}", api_types::routes::SESSION))
            .json(&json!({"identity_token": identity["identity_token"]}))
            .send()
            .await
            .expect("session")
            .json()
            .await
            .expect("session JSON");
        let token = session["token"]
            .as_str()
            .unwrap_or_else(|| panic!("no session token: {session}"))
            .to_owned();
        Self { base, token, http }
    }

    pub async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self
            .http
            .request(method.clone(), format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("API call");
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        assert!(status.is_success(), "{method} {path}: {status} {text}");
        if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).expect("API JSON")
        }
    }

    /// Pairs the demo mailbox with the demo CRM user, sets the default activity type and logs in
    /// with "remember": the state a user has after Preferences and Log in.
    pub async fn pair_and_log_in(&self, p: &Product) {
        use reqwest::Method;
        let crm = &p.env.demo_crm;
        self.call(
            Method::POST,
            api_types::routes::PAIRING,
            Some(json!({
                "api_key": crm.api_key, "crm_address": p.env.crm_url, "crm_username": crm.username,
                "crm_password": crm.password, "email": p.email(), "calendar_id": p.env.mailbox.calendar_id,
            })),
        )
        .await;
        let mut prefs = self
            .call(Method::GET, api_types::routes::PREFERENCES, None)
            .await;
        prefs["default_activity_type"] = json!("Tapaaminen");
        self.call(Method::PUT, api_types::routes::PREFERENCES, Some(prefs))
            .await;
        self.call(
            Method::POST,
            api_types::routes::LOGIN,
            Some(json!({"username": crm.username, "password": crm.password, "remember": true})),
        )
        .await;
    }

    pub async fn sync_status(&self) -> Value {
        self.call(reqwest::Method::GET, api_types::routes::SYNC_STATUS, None)
            .await
    }
}
