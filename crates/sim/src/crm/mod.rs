//! CRM-service simulator: the REST API of `crmservice-api.md` under `/api/v1`, in memory, multi-tenant.
//!
//! Each *company* is one customer CRM with its own API keys, users and data. A request's bearer token
//! decides the company: an Outlook-type API key (integration scope) or a user token from `POST /auth`
//! (user scope, expires). The simulator is as strict as the real API: unknown modules, fields, filter
//! operators and query parameters are 400s, writes need `Content-Type: application/vnd.api+json` (415),
//! page sizes are capped ([`MAX_PAGE_SIZE`]), and `created_at`/`updated_at` are kept by the server at
//! second resolution in the company's time zone, so equal timestamps happen as they do in reality.
//!
//! Tests drive it through the Rust methods on [`CrmSim`] (or the same over HTTP under `/_admin/crm`, see
//! [`admin`]): create companies and users, edit records "as a user would in the CRM UI", move the clock,
//! inject faults per route and read per-route request counts.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use serde_json::json;
//! use sim::crm::{CrmSim, FaultKind, FaultRule};
//!
//! let crm = CrmSim::new();
//! let demo = crm.seed_demo(); // "Esimerkki Oy", user demo/demo, API key in demo.api_key
//! let running = sim::serve(crm.router(), "127.0.0.1:0".parse().unwrap()).await?;
//! // A user edits the CRM directly (the server stamps updated_at):
//! crm.insert(demo.company_id, "activities", json!({
//!     "subject": "Soitto Virtaselle", "activity_type": "Soitto",
//!     "start_date": "2026-12-01 10:00:00", "contacts": [demo.contact_ids[0]],
//! })).unwrap();
//! // The next create answers 201 to nobody:
//! crm.inject_fault(FaultRule::new(Some("POST"), "/api/v1/activities", FaultKind::CommitThenDrop).times(1));
//! crm.advance_clock(chrono::Duration::minutes(5));
//! assert_eq!(crm.request_count("GET /api/v1/activities"), 0);
//! running.stop().await;
//! # Ok(()) }
//! ```

pub mod admin;
mod api;
pub mod faults;
pub mod filter;
pub mod schema;
mod seed;
pub mod store;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{DateTime, NaiveDateTime, Utc};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use faults::{FaultKind, FaultRule};
pub use seed::{ACTIVITY_STATUSES, ACTIVITY_TYPES, DemoCrm, POTENTIAL_STATUSES};
pub use store::Refusal;
use store::{Company, UserAuth};

/// Largest `page[size]` the API accepts; larger is a 400.
pub const MAX_PAGE_SIZE: u64 = 500;
/// `page[size]` when the request gives none.
pub const DEFAULT_PAGE_SIZE: u64 = 50;
/// Largest file `POST /{module}/{id}/files` accepts.
pub const MAX_FILE_BYTES: usize = 25 * 1024 * 1024;
/// Lifetime of a user token from `POST /auth` (on the simulator clock).
pub const TOKEN_TTL_SECS: i64 = 3600;

pub type CompanyId = u64;

/// Kinds of API key a company can create; only Outlook keys may log users in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ApiKeyKind {
    #[default]
    Outlook,
    Other,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewCompany {
    pub company_id: CompanyId,
    pub api_key: String,
}

/// A CRM user as created by an administrator in the CRM UI.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewUser {
    pub username: String,
    pub password: String,
    pub email: String,
    pub name: String,
    #[serde(default)]
    pub locked: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct KeyInfo {
    pub company: CompanyId,
    pub kind: ApiKeyKind,
}

#[derive(Debug, Clone)]
pub(crate) struct TokenInfo {
    pub company: CompanyId,
    pub user_id: u64,
    pub username: String,
    pub expires: DateTime<Utc>,
}

pub(crate) struct State {
    pub companies: BTreeMap<CompanyId, Company>,
    pub keys: HashMap<String, KeyInfo>,
    pub tokens: HashMap<String, TokenInfo>,
}

pub(crate) struct Inner {
    pub state: Mutex<State>,
    pub faults: Mutex<Vec<faults::ActiveFault>>,
    pub counts: Mutex<BTreeMap<String, u64>>,
    pub clock_offset: Mutex<chrono::Duration>,
    pub next_fault: Mutex<u64>,
}

/// The simulator. Cheap to clone (shared state); see the module docs.
#[derive(Clone)]
pub struct CrmSim {
    pub(crate) inner: Arc<Inner>,
}

impl Default for CrmSim {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for CrmSim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CrmSim")
            .field("companies", &self.inner.state.lock().companies.len())
            .finish_non_exhaustive()
    }
}

fn random_hex(bytes: usize) -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    (0..bytes)
        .map(|_| format!("{:02x}", rng.random::<u8>()))
        .collect()
}

impl CrmSim {
    pub fn new() -> Self {
        CrmSim {
            inner: Arc::new(Inner {
                state: Mutex::new(State {
                    companies: BTreeMap::new(),
                    keys: HashMap::new(),
                    tokens: HashMap::new(),
                }),
                faults: Mutex::new(Vec::new()),
                counts: Mutex::new(BTreeMap::new()),
                clock_offset: Mutex::new(chrono::Duration::zero()),
                next_fault: Mutex::new(0),
            }),
        }
    }

    /// The CRM API under `/api/v1` and the admin API under `/_admin/crm`.
    pub fn router(&self) -> axum::Router {
        api::router(self.clone()).merge(admin::router(self.clone()))
    }

    // ----- clock -----

    /// The simulator's current instant (real time plus the offset set by [`CrmSim::advance_clock`]).
    pub fn now_utc(&self) -> DateTime<Utc> {
        Utc::now() + *self.inner.clock_offset.lock()
    }

    /// Current CRM-local time of `company`, truncated to whole seconds (the resolution of `updated_at`).
    pub fn now_local(&self, company: CompanyId) -> NaiveDateTime {
        let tz = self
            .inner
            .state
            .lock()
            .companies
            .get(&company)
            .map_or(chrono_tz::Europe::Helsinki, |c| c.tz);
        let now = self.now_utc().with_timezone(&tz).naive_local();
        now.with_nanosecond_zero()
    }

    /// Moves the clock forward (or back, with a negative duration).
    pub fn advance_clock(&self, by: chrono::Duration) {
        *self.inner.clock_offset.lock() += by;
    }

    pub fn clock_offset(&self) -> chrono::Duration {
        *self.inner.clock_offset.lock()
    }

    pub fn set_clock_offset(&self, offset: chrono::Duration) {
        *self.inner.clock_offset.lock() = offset;
    }

    // ----- tenants and users -----

    /// Creates a company with one Outlook-type API key and the standard picklists (activity types
    /// Soitto, Tapaaminen, Sähköposti, Tehtävä, Muistio; activity and potential statuses; account types;
    /// each with fi/en/sv names), as every real CRM-service has them.
    pub fn create_company(&self, name: &str) -> NewCompany {
        let mut st = self.inner.state.lock();
        let id = st.companies.keys().next_back().map_or(1, |k| k + 1);
        st.companies
            .insert(id, Company::new(id, name, schema::modules()));
        drop(st);
        seed::add_standard_picklists(self, id);
        let api_key = self
            .add_api_key(id, ApiKeyKind::Outlook)
            .expect("company exists");
        NewCompany {
            company_id: id,
            api_key,
        }
    }

    /// Creates another API key for `company`.
    pub fn add_api_key(&self, company: CompanyId, kind: ApiKeyKind) -> Result<String, Refusal> {
        let mut st = self.inner.state.lock();
        if !st.companies.contains_key(&company) {
            return Err(Refusal::new(404, format!("no company {company}")));
        }
        let key = format!("crm_{}", random_hex(20));
        st.keys.insert(key.clone(), KeyInfo { company, kind });
        Ok(key)
    }

    /// Deletes an API key (as the CRM admin would in "Webservice API avaimet").
    pub fn revoke_api_key(&self, key: &str) -> bool {
        self.inner.state.lock().keys.remove(key).is_some()
    }

    /// Sets the company's time zone (CRM local time for all datetimes).
    pub fn set_time_zone(&self, company: CompanyId, tz: chrono_tz::Tz) -> Result<(), Refusal> {
        self.with_company(company, |c| {
            c.tz = tz;
            Ok(())
        })
    }

    /// Adds a user (a record in `users` plus login credentials). Returns the user id.
    pub fn add_user(&self, company: CompanyId, user: NewUser) -> Result<u64, Refusal> {
        let now = self.now_local(company);
        self.with_company(company, |c| {
            if c.users.contains_key(&user.username) {
                return Err(Refusal::new(409, format!("user {} exists", user.username)));
            }
            let mut attrs = Map::new();
            attrs.insert("name".into(), Value::String(user.name.clone()));
            attrs.insert("email".into(), Value::String(user.email.clone()));
            let id = c.insert("users", &attrs, &BTreeMap::new(), now, None, true)?;
            c.users.insert(
                user.username.clone(),
                UserAuth {
                    password: user.password.clone(),
                    locked: user.locked,
                    user_id: id,
                },
            );
            Ok(id)
        })
    }

    /// Locks or unlocks a user's login; a locked user's tokens stop working too.
    pub fn set_user_locked(
        &self,
        company: CompanyId,
        username: &str,
        locked: bool,
    ) -> Result<(), Refusal> {
        self.with_company(company, |c| {
            let u = c
                .users
                .get_mut(username)
                .ok_or_else(|| Refusal::new(404, format!("no user {username}")))?;
            u.locked = locked;
            Ok(())
        })
    }

    pub fn set_user_password(
        &self,
        company: CompanyId,
        username: &str,
        password: &str,
    ) -> Result<(), Refusal> {
        self.with_company(company, |c| {
            let u = c
                .users
                .get_mut(username)
                .ok_or_else(|| Refusal::new(404, format!("no user {username}")))?;
            u.password = password.to_owned();
            Ok(())
        })
    }

    /// Makes every user token expired, so the next call with one gets 401.
    pub fn expire_tokens(&self) {
        let past = self.now_utc() - chrono::Duration::seconds(1);
        for t in self.inner.state.lock().tokens.values_mut() {
            t.expires = past;
        }
    }

    /// Number of live (unexpired) user tokens; lets tests see how often a client logged in.
    pub fn live_tokens(&self) -> usize {
        let now = self.now_utc();
        self.inner
            .state
            .lock()
            .tokens
            .values()
            .filter(|t| t.expires > now)
            .count()
    }

    // ----- schema changes -----

    /// Adds a custom field (`cf_…`) to a module of one company.
    pub fn add_custom_field(
        &self,
        company: CompanyId,
        module: &str,
        name: &str,
        ty: schema::FieldType,
        label: &str,
    ) -> Result<(), Refusal> {
        if !name.starts_with("cf_") {
            return Err(Refusal::new(400, "custom field names start with cf_"));
        }
        self.with_company(company, |c| {
            c.module(module)
                .ok_or_else(|| Refusal::new(404, format!("unknown module {module}")))?;
            c.custom_fields
                .entry(module.to_owned())
                .or_default()
                .push(schema::FieldDef {
                    name: name.to_owned(),
                    label: label.to_owned(),
                    ty,
                    required: false,
                    readonly: false,
                });
            for row in c
                .tables
                .get_mut(module)
                .into_iter()
                .flat_map(|t| t.values_mut())
            {
                row.attrs.insert(name.to_owned(), Value::Null);
            }
            Ok(())
        })
    }

    /// Removes a field from one company's module (to simulate a CRM without an assumed field).
    pub fn hide_field(&self, company: CompanyId, module: &str, field: &str) -> Result<(), Refusal> {
        self.with_company(company, |c| {
            let m = c
                .module(module)
                .ok_or_else(|| Refusal::new(404, format!("unknown module {module}")))?;
            let f = m
                .field(field)
                .ok_or_else(|| Refusal::new(404, format!("unknown field {field}")))?;
            if f.required || f.readonly {
                return Err(Refusal::new(
                    400,
                    "cannot hide a required or read-only field",
                ));
            }
            c.hidden_fields
                .insert((module.to_owned(), field.to_owned()));
            for row in c
                .tables
                .get_mut(module)
                .into_iter()
                .flat_map(|t| t.values_mut())
            {
                row.attrs.remove(field);
            }
            Ok(())
        })
    }

    // ----- records, as a user would edit them in the CRM UI -----

    /// Inserts a record. `record` is a flat JSON object of attributes; many-to-many relations
    /// (`contacts`, `accounts`, …) may be given as arrays of ids. Returns the stored record (flat).
    pub fn insert(
        &self,
        company: CompanyId,
        module: &str,
        record: Value,
    ) -> Result<Value, Refusal> {
        let now = self.now_local(company);
        self.with_company(company, |c| {
            let (attrs, links) = split_flat(c, module, record)?;
            let id = c.insert(module, &attrs, &links, now, None, true)?;
            Ok(c.flat(module, id).expect("just inserted"))
        })
    }

    /// Updates a record (bumps `updated_at` unless the change sets it). Returns the stored record.
    pub fn update(
        &self,
        company: CompanyId,
        module: &str,
        id: u64,
        changes: Value,
    ) -> Result<Value, Refusal> {
        let now = self.now_local(company);
        self.with_company(company, |c| {
            let (attrs, links) = split_flat(c, module, changes)?;
            c.update(module, id, &attrs, &links, now, true)?;
            Ok(c.flat(module, id).expect("exists"))
        })
    }

    pub fn delete(&self, company: CompanyId, module: &str, id: u64) -> Result<(), Refusal> {
        self.with_company(company, |c| c.delete(module, id))
    }

    pub fn get(&self, company: CompanyId, module: &str, id: u64) -> Option<Value> {
        let st = self.inner.state.lock();
        st.companies.get(&company)?.flat(module, id)
    }

    /// All records of a module, in id order.
    pub fn list(&self, company: CompanyId, module: &str) -> Vec<Value> {
        let st = self.inner.state.lock();
        let Some(c) = st.companies.get(&company) else {
            return Vec::new();
        };
        c.tables
            .get(module)
            .map(|t| t.keys().filter_map(|id| c.flat(module, *id)).collect())
            .unwrap_or_default()
    }

    pub fn count(&self, company: CompanyId, module: &str) -> usize {
        let st = self.inner.state.lock();
        st.companies
            .get(&company)
            .and_then(|c| c.tables.get(module))
            .map_or(0, |t| t.len())
    }

    /// Files uploaded to a record: (name, size in bytes).
    pub fn files(&self, company: CompanyId, module: &str, id: u64) -> Vec<(String, usize)> {
        let st = self.inner.state.lock();
        st.companies
            .get(&company)
            .map(|c| {
                c.files
                    .iter()
                    .filter(|f| f.module == module && f.record_id == id)
                    .map(|f| (f.name.clone(), f.size))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Adds a picklist (`module.field`) with values and their translations (`[(value, [(lang, name)])]`).
    pub fn add_picklist(
        &self,
        company: CompanyId,
        module: &str,
        field: &str,
        values: &[(&str, &[(&str, &str)])],
    ) -> Result<u64, Refusal> {
        let now = self.now_local(company);
        self.with_company(company, |c| {
            let none = BTreeMap::new();
            let obj = |v: Value| v.as_object().cloned().expect("object");
            let pl = c.insert(
                "picklists",
                &obj(serde_json::json!({"name": format!("{module}.{field}"), "module": module, "field": field})),
                &none,
                now,
                None,
                true,
            )?;
            for (pos, (value, translations)) in values.iter().enumerate() {
                let v = c.insert(
                    "picklist_values",
                    &obj(serde_json::json!({"picklist_id": pl.to_string(), "value": value, "position": pos as i64 + 1, "active": true})),
                    &none,
                    now,
                    None,
                    true,
                )?;
                for (lang, name) in translations.iter() {
                    c.insert(
                        "picklist_value_translations",
                        &obj(serde_json::json!({"picklist_value_id": v.to_string(), "language": lang, "name": name})),
                        &none,
                        now,
                        None,
                        true,
                    )?;
                }
            }
            Ok(pl)
        })
    }

    // ----- faults and request counts -----

    /// Installs a fault; returns its id for [`CrmSim::remove_fault`].
    pub fn inject_fault(&self, rule: FaultRule) -> u64 {
        let mut n = self.inner.next_fault.lock();
        *n += 1;
        self.inner
            .faults
            .lock()
            .push(faults::ActiveFault { id: *n, rule });
        *n
    }

    pub fn remove_fault(&self, id: u64) -> bool {
        let mut f = self.inner.faults.lock();
        let before = f.len();
        f.retain(|a| a.id != id);
        f.len() != before
    }

    pub fn clear_faults(&self) {
        self.inner.faults.lock().clear();
    }

    /// Requests received per route key, e.g. `"GET /api/v1/activities"` or
    /// `"PATCH /api/v1/activities/{id}"` (numeric path segments become `{id}`).
    pub fn request_counts(&self) -> BTreeMap<String, u64> {
        self.inner.counts.lock().clone()
    }

    /// Requests received on one route key (see [`CrmSim::request_counts`]).
    pub fn request_count(&self, route: &str) -> u64 {
        self.inner.counts.lock().get(route).copied().unwrap_or(0)
    }

    /// All API requests received (admin requests are not counted).
    pub fn total_requests(&self) -> u64 {
        self.inner.counts.lock().values().sum()
    }

    pub fn reset_request_counts(&self) {
        self.inner.counts.lock().clear();
    }

    /// Seeds a realistic Finnish demo company; see [`DemoCrm`].
    pub fn seed_demo(&self) -> DemoCrm {
        seed::seed_demo(self)
    }

    pub(crate) fn with_company<T>(
        &self,
        company: CompanyId,
        f: impl FnOnce(&mut Company) -> Result<T, Refusal>,
    ) -> Result<T, Refusal> {
        let mut st = self.inner.state.lock();
        let c = st
            .companies
            .get_mut(&company)
            .ok_or_else(|| Refusal::new(404, format!("no company {company}")))?;
        f(c)
    }
}

/// Splits a flat admin record into attributes and many-to-many links.
fn split_flat(c: &Company, module: &str, record: Value) -> Result<store::WriteParts, Refusal> {
    let m = c
        .module(module)
        .ok_or_else(|| Refusal::new(404, format!("unknown module {module:?}")))?;
    let Value::Object(obj) = record else {
        return Err(Refusal::new(400, "record must be a JSON object"));
    };
    let mut attrs = Map::new();
    let mut links = BTreeMap::new();
    for (k, v) in obj {
        if k == "id" {
            continue;
        }
        if m.many(&k).is_some() {
            let ids = v
                .as_array()
                .ok_or_else(|| Refusal::new(400, format!("{k} must be an array of ids")))?
                .iter()
                .map(|i| store::id_of(i).ok_or_else(|| Refusal::new(400, format!("bad id in {k}"))))
                .collect::<Result<Vec<_>, _>>()?;
            links.insert(k, ids);
        } else {
            attrs.insert(k, v);
        }
    }
    Ok((attrs, links))
}

trait NoNanos {
    fn with_nanosecond_zero(self) -> Self;
}

impl NoNanos for NaiveDateTime {
    fn with_nanosecond_zero(self) -> Self {
        use chrono::Timelike;
        self.with_nanosecond(0).expect("0 is a valid nanosecond")
    }
}
