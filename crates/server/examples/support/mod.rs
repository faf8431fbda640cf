//! What the bench programs share: starting the demo environment, pairing mailboxes over the server's
//! HTTP API, running idle cycles as the worker does, and reading CPU time and percentiles.
//!
//! Included by each bench with `#[path = "support/mod.rs"] mod support;`. Cargo does not build this
//! folder as an example of its own: it auto-discovers only `examples/*.rs` and `examples/*/main.rs`.

#![allow(dead_code)] // each bench uses a different part

use std::path::PathBuf;

use crm_server::{demo::DemoEnv, sync::run_pairing, worker::JobKind};
use serde_json::Value;
use test_db::TestDb;
use uuid::Uuid;

/// Sign-in, pairing and preferences over HTTP, and new simulator users: the same steps the server's
/// integration tests take.
#[path = "../../tests/common/api.rs"]
pub mod api;

pub fn static_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../static"))
}

/// With the background worker: what users get.
pub async fn start(db: &TestDb, tune: impl FnOnce(&mut crm_server::Config)) -> DemoEnv {
    DemoEnv::start(db.url(), 0, static_dir(), tune)
        .await
        .expect("demo environment")
}

/// Without the worker: the measurement drives every run itself.
pub async fn start_quiet(db: &TestDb) -> DemoEnv {
    DemoEnv::start_without_worker(db.url(), static_dir(), |_| {})
        .await
        .expect("demo environment")
}

/// A mailbox of the demo tenant and the CRM user it is to be paired with.
pub struct User {
    pub email: String,
    /// The mailbox user's object id (in the identity token).
    pub user_id: String,
    pub calendar_id: String,
    pub username: String,
    pub password: String,
}

impl User {
    /// The demo mailbox and the demo CRM user.
    pub fn demo(env: &DemoEnv) -> Self {
        Self {
            email: env.mailbox.email.clone(),
            user_id: env.mailbox.user_id.clone(),
            calendar_id: env.mailbox.calendar_id.clone(),
            username: env.demo_crm.username.clone(),
            password: env.demo_crm.password.clone(),
        }
    }

    /// Creates the mailbox `{name}{i}@esimerkki.fi` in the demo tenant and the CRM user `{name}{i}`
    /// (password "salasana") in the demo company; returns them and the CRM user's id.
    pub fn create(env: &DemoEnv, name: &str, i: usize) -> (Self, u64) {
        let u = api::new_user(
            &env.graph,
            &env.crm,
            env.demo_crm.company_id,
            &env.mailbox.tenant_id,
            name,
            i,
        );
        let user = Self {
            email: u.email,
            user_id: u.user_id,
            calendar_id: u.calendar_id,
            username: u.username,
            password: u.password,
        };
        (user, u.crm_user_id)
    }
}

/// Signs in as `user`'s mailbox and pairs it with its CRM user over the server's HTTP API, as the
/// pane does; sets "Tapaaminen" as the default activity type and lets `prefs` change the preferences
/// further. Returns (pane token, pairing id).
pub async fn pair(env: &DemoEnv, user: &User, prefs: impl FnOnce(&mut Value)) -> (String, Uuid) {
    let http = reqwest::Client::new();
    let id_token = env.graph.mint_id_token(
        &env.mailbox.tenant_id,
        &user.user_id,
        &user.email,
        sim::graph::DEFAULT_CLIENT_ID,
    );
    let request = serde_json::json!({
        "api_key": env.demo_crm.api_key, "crm_address": env.crm_url,
        "crm_username": user.username, "crm_password": user.password,
        "email": user.email, "calendar_id": user.calendar_id,
    });
    let token = api::pair(&http, &env.url, &id_token, &request).await;
    api::update_preferences(&http, &env.url, &token, |p| {
        p["default_activity_type"] = serde_json::json!("Tapaaminen");
        prefs(p)
    })
    .await;
    let pairing_id = sqlx::query_scalar(
        "SELECT p.id FROM pairings p JOIN mailboxes m ON m.id = p.mailbox_id WHERE m.email = $1",
    )
    .bind(&user.email)
    .fetch_one(&env.state.db)
    .await
    .unwrap();
    (token, pairing_id)
}

/// Pairs the demo mailbox with the demo CRM user (see [`pair`]).
pub async fn pair_demo(env: &DemoEnv) -> (String, Uuid) {
    pair(env, &User::demo(env), |_| {}).await
}

/// The demo mailbox paired on an environment without the worker, then converged: three runs, so
/// that what follows measures idle cycles.
pub async fn converged_demo(db: &TestDb) -> (DemoEnv, Uuid) {
    let env = start_quiet(db).await;
    let (_, pairing) = pair_demo(&env).await;
    for _ in 0..3 {
        run_pairing(&env.state, pairing, JobKind::OutlookToCrm)
            .await
            .unwrap();
    }
    (env, pairing)
}

/// One run of `kind` for each of `pairings`, 8 at a time as the worker runs them.
pub async fn run_each(env: &DemoEnv, pairings: &[Uuid], kind: JobKind) {
    futures::future::join_all(pairings.chunks(pairings.len().div_ceil(8)).map(|chunk| {
        let state = env.state.clone();
        let chunk = chunk.to_vec();
        async move {
            for id in chunk {
                run_pairing(&state, id, kind).await.unwrap();
            }
        }
    }))
    .await;
}

/// User + system CPU seconds of the process whose `/proc/<pid>/stat` is at `stat_path` (0 when it
/// cannot be read).
pub fn proc_cpu_seconds(stat_path: &str) -> f64 {
    let stat = std::fs::read_to_string(stat_path).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

/// User + system CPU seconds of this process (server and, when in-process, the simulators).
pub fn cpu_seconds() -> f64 {
    proc_cpu_seconds("/proc/self/stat")
}

/// The `p` quantile (0 < p ≤ 1) of the ascending `sorted` by the nearest-rank method: the
/// ⌈p·n⌉-th smallest of its n values. The median of an even number of values is the lower middle
/// one, and `p = 1.0` is the maximum. NaN when there are no values.
pub fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}
