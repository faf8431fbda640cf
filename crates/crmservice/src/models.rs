//! Typed records of the modules we use, read from JSON:API resource objects.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde_json::{Map, Value, json};

use crate::Error;
use crate::assumed::{self, DATETIME_FORMAT};

/// A JSON:API resource object: `{"type", "id", "attributes", "relationships"}`.
#[derive(Debug, Clone, PartialEq)]
pub struct RawResource {
    pub module: String,
    pub id: String,
    pub attributes: Map<String, Value>,
    /// Many-to-many links by relation name (ids).
    pub relationships: BTreeMap<String, Vec<String>>,
}

impl RawResource {
    pub(crate) fn from_json(v: Value) -> Result<Self, Error> {
        let Value::Object(mut obj) = v else {
            return Err(Error::Protocol("a resource is not an object".into()));
        };
        let module = obj
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let id = obj
            .get("id")
            .and_then(id_string)
            .ok_or_else(|| Error::Protocol("a resource has no id".into()))?;
        let attributes = match obj.remove("attributes") {
            Some(Value::Object(a)) => a,
            None | Some(Value::Null) => Map::new(),
            Some(_) => return Err(Error::Protocol("attributes is not an object".into())),
        };
        let mut relationships = BTreeMap::new();
        if let Some(Value::Object(rels)) = obj.remove("relationships") {
            for (name, rel) in rels {
                let ids = match rel.get("data") {
                    Some(Value::Array(items)) => items
                        .iter()
                        .filter_map(|i| i.get("id").and_then(id_string))
                        .collect(),
                    Some(Value::Object(one)) => {
                        one.get("id").and_then(id_string).into_iter().collect()
                    }
                    _ => Vec::new(),
                };
                relationships.insert(name, ids);
            }
        }
        Ok(RawResource {
            module,
            id,
            attributes,
            relationships,
        })
    }

    fn str(&self, k: &str) -> Option<String> {
        match self.attributes.get(k) {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        }
    }

    fn id_attr(&self, k: &str) -> Option<String> {
        self.attributes.get(k).and_then(id_string)
    }

    fn bool(&self, k: &str) -> bool {
        match self.attributes.get(k) {
            Some(Value::Bool(b)) => *b,
            Some(Value::Number(n)) => n.as_i64() == Some(1),
            Some(Value::String(s)) => s == "1" || s == "true",
            _ => false,
        }
    }

    fn time(&self, k: &str) -> Result<Option<CrmTime>, Error> {
        match self.attributes.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) => CrmTime::parse(s).map(Some),
            Some(other) => Err(Error::Protocol(format!("{k} is not a datetime: {other}"))),
        }
    }
}

/// `"12"` or `12` → `"12"`.
fn id_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A CRM-local timestamp at second resolution (`created_at`, `updated_at`, raw `start_date`). Ordered, so
/// it serves as a watermark; convert with [`CrmTime::to_utc`] for display or comparison with Outlook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CrmTime(pub NaiveDateTime);

impl CrmTime {
    pub fn parse(s: &str) -> Result<Self, Error> {
        NaiveDateTime::parse_from_str(s.trim(), DATETIME_FORMAT)
            .map(CrmTime)
            .map_err(|_| Error::Protocol(format!("not a CRM datetime: {s:?}")))
    }

    /// The instant in `tz`; a local time that falls in a DST gap is read one hour later (as the clock
    /// shows it after the jump), an ambiguous one as the earlier instant.
    pub fn to_utc(self, tz: Tz) -> DateTime<Utc> {
        to_utc(self.0, tz)
    }

    pub fn from_utc(t: DateTime<Utc>, tz: Tz) -> Self {
        CrmTime(t.with_timezone(&tz).naive_local())
    }
}

impl fmt::Display for CrmTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format(DATETIME_FORMAT))
    }
}

pub(crate) fn to_utc(local: NaiveDateTime, tz: Tz) -> DateTime<Utc> {
    match tz.from_local_datetime(&local).earliest() {
        Some(t) => t.with_timezone(&Utc),
        None => to_utc(local + chrono::Duration::hours(1), tz),
    }
}

pub(crate) fn local_string(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz)
        .naive_local()
        .format(DATETIME_FORMAT)
        .to_string()
}

/// A typed record of one module.
pub trait Resource: Sized {
    const MODULE: &'static str;
    fn from_raw(raw: RawResource, tz: Tz) -> Result<Self, Error>;
}

impl Resource for RawResource {
    const MODULE: &'static str = "";
    fn from_raw(raw: RawResource, _tz: Tz) -> Result<Self, Error> {
        Ok(raw)
    }
}

/// A CRM activity (calendar entry). Times are instants; the CRM stores them in its local time zone.
#[derive(Debug, Clone, PartialEq)]
pub struct Activity {
    pub id: String,
    pub subject: String,
    pub start: DateTime<Utc>,
    pub end: Option<DateTime<Utc>>,
    /// Picklist value as stored (e.g. "Soitto"); see `Session::activity_types` for names.
    pub activity_type: String,
    pub status: Option<String>,
    /// The description as stored, including our create marker if any; see [`Activity::description_text`].
    pub description: Option<String>,
    pub location: Option<String>,
    pub private: bool,
    pub all_day: bool,
    pub owner_id: Option<String>,
    pub project_id: Option<String>,
    pub campaign_id: Option<String>,
    pub accounts: Vec<String>,
    pub contacts: Vec<String>,
    pub leads: Vec<String>,
    pub potentials: Vec<String>,
    pub created_at: CrmTime,
    pub updated_at: CrmTime,
    /// Custom `cf_…` fields as sent.
    pub custom: Map<String, Value>,
}

impl Activity {
    /// The description without our create marker.
    pub fn description_text(&self) -> String {
        self.description
            .as_deref()
            .map(assumed::strip_marker)
            .unwrap_or_default()
    }

    /// Whether this activity carries the create marker for `key`.
    pub fn has_marker(&self, key: &str) -> bool {
        let m = assumed::marker(key);
        self.description
            .as_deref()
            .is_some_and(|d| d.lines().any(|l| l.trim() == m))
    }
}

impl Resource for Activity {
    const MODULE: &'static str = "activities";
    fn from_raw(r: RawResource, tz: Tz) -> Result<Self, Error> {
        let missing = |k: &str| Error::Protocol(format!("activity {} has no {k}", r.id));
        let start = r.time("start_date")?.ok_or_else(|| missing("start_date"))?;
        let rel = |k: &str| r.relationships.get(k).cloned().unwrap_or_default();
        Ok(Activity {
            subject: r.str("subject").unwrap_or_default(),
            start: start.to_utc(tz),
            end: r.time(assumed::ACTIVITY_END)?.map(|t| t.to_utc(tz)),
            activity_type: r.str("activity_type").unwrap_or_default(),
            status: r.str(assumed::ACTIVITY_STATUS).filter(|s| !s.is_empty()),
            description: r.str(assumed::ACTIVITY_DESCRIPTION),
            location: r.str(assumed::ACTIVITY_LOCATION).filter(|s| !s.is_empty()),
            private: r.bool(assumed::ACTIVITY_PRIVATE),
            all_day: r.bool(assumed::ACTIVITY_ALL_DAY),
            owner_id: r.id_attr("owner_id"),
            project_id: r.id_attr("project_id"),
            campaign_id: r.id_attr("campaign_id"),
            accounts: rel("accounts"),
            contacts: rel("contacts"),
            leads: rel("leads"),
            potentials: rel("potentials"),
            created_at: r.time("created_at")?.ok_or_else(|| missing("created_at"))?,
            updated_at: r.time("updated_at")?.ok_or_else(|| missing("updated_at"))?,
            custom: r
                .attributes
                .iter()
                .filter(|(k, _)| k.starts_with("cf_"))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            id: r.id,
        })
    }
}

/// A new activity. `start`/`end` are instants, written in the CRM's local time.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NewActivity {
    pub subject: String,
    pub start: DateTime<Utc>,
    pub end: Option<DateTime<Utc>>,
    pub activity_type: String,
    pub status: Option<String>,
    pub description: Option<String>,
    pub location: Option<String>,
    pub private: bool,
    pub all_day: bool,
    /// Defaults to the logged-in user on the CRM side.
    pub owner_id: Option<String>,
    pub project_id: Option<String>,
    pub accounts: Vec<String>,
    pub contacts: Vec<String>,
    pub leads: Vec<String>,
    pub potentials: Vec<String>,
    /// Extra fields (e.g. custom `cf_…` ones) sent as they are.
    pub extra: Map<String, Value>,
}

impl NewActivity {
    pub fn new(subject: &str, start: DateTime<Utc>, activity_type: &str) -> Self {
        NewActivity {
            subject: subject.to_owned(),
            start,
            activity_type: activity_type.to_owned(),
            ..Default::default()
        }
    }

    pub(crate) fn to_body(&self, tz: Tz, marker: Option<&str>) -> Value {
        let mut a = Map::new();
        a.insert("subject".into(), json!(self.subject));
        a.insert("start_date".into(), json!(local_string(self.start, tz)));
        a.insert("activity_type".into(), json!(self.activity_type));
        if let Some(e) = self.end {
            a.insert(assumed::ACTIVITY_END.into(), json!(local_string(e, tz)));
        }
        if let Some(s) = &self.status {
            a.insert(assumed::ACTIVITY_STATUS.into(), json!(s));
        }
        let description = match (&self.description, marker) {
            (Some(d), Some(m)) if !d.is_empty() => Some(format!("{d}\n\n{m}")),
            (_, Some(m)) => Some(m.to_owned()),
            (d, None) => d.clone(),
        };
        if let Some(d) = description {
            a.insert(assumed::ACTIVITY_DESCRIPTION.into(), json!(d));
        }
        if let Some(l) = &self.location {
            a.insert(assumed::ACTIVITY_LOCATION.into(), json!(l));
        }
        a.insert(assumed::ACTIVITY_PRIVATE.into(), json!(self.private));
        a.insert(assumed::ACTIVITY_ALL_DAY.into(), json!(self.all_day));
        if let Some(o) = &self.owner_id {
            a.insert("owner_id".into(), json!(o));
        }
        if let Some(p) = &self.project_id {
            a.insert("project_id".into(), json!(p));
        }
        for (k, v) in &self.extra {
            a.insert(k.clone(), v.clone());
        }
        let mut rels = Map::new();
        for (name, ids) in [
            ("accounts", &self.accounts),
            ("contacts", &self.contacts),
            ("leads", &self.leads),
            ("potentials", &self.potentials),
        ] {
            if !ids.is_empty() {
                rels.insert(name.into(), relationship(name, ids));
            }
        }
        let mut data = json!({"type": "activities", "attributes": a});
        if !rels.is_empty() {
            data["relationships"] = Value::Object(rels);
        }
        json!({ "data": data })
    }
}

fn relationship(module: &str, ids: &[String]) -> Value {
    json!({"data": ids.iter().map(|i| json!({"type": module, "id": i})).collect::<Vec<_>>()})
}

/// Changes to an activity: `None` leaves a field alone; `Some(None)` clears an optional one.
/// Relation lists, when given, replace the current links.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ActivityPatch {
    pub subject: Option<String>,
    pub start: Option<DateTime<Utc>>,
    pub end: Option<Option<DateTime<Utc>>>,
    pub activity_type: Option<String>,
    pub status: Option<Option<String>>,
    pub description: Option<Option<String>>,
    pub location: Option<Option<String>>,
    pub private: Option<bool>,
    pub all_day: Option<bool>,
    pub owner_id: Option<String>,
    pub project_id: Option<Option<String>>,
    pub accounts: Option<Vec<String>>,
    pub contacts: Option<Vec<String>>,
    pub leads: Option<Vec<String>>,
    pub potentials: Option<Vec<String>>,
    pub extra: Map<String, Value>,
}

impl ActivityPatch {
    pub(crate) fn to_body(&self, id: &str, tz: Tz) -> Value {
        let mut a = Map::new();
        let opt = |v: &Option<String>| v.as_ref().map_or(Value::Null, |s| json!(s));
        if let Some(s) = &self.subject {
            a.insert("subject".into(), json!(s));
        }
        if let Some(s) = self.start {
            a.insert("start_date".into(), json!(local_string(s, tz)));
        }
        if let Some(e) = &self.end {
            a.insert(
                assumed::ACTIVITY_END.into(),
                e.map_or(Value::Null, |e| json!(local_string(e, tz))),
            );
        }
        if let Some(t) = &self.activity_type {
            a.insert("activity_type".into(), json!(t));
        }
        if let Some(s) = &self.status {
            a.insert(assumed::ACTIVITY_STATUS.into(), opt(s));
        }
        if let Some(d) = &self.description {
            a.insert(assumed::ACTIVITY_DESCRIPTION.into(), opt(d));
        }
        if let Some(l) = &self.location {
            a.insert(assumed::ACTIVITY_LOCATION.into(), opt(l));
        }
        if let Some(p) = self.private {
            a.insert(assumed::ACTIVITY_PRIVATE.into(), json!(p));
        }
        if let Some(p) = self.all_day {
            a.insert(assumed::ACTIVITY_ALL_DAY.into(), json!(p));
        }
        if let Some(o) = &self.owner_id {
            a.insert("owner_id".into(), json!(o));
        }
        if let Some(p) = &self.project_id {
            a.insert("project_id".into(), opt(p));
        }
        for (k, v) in &self.extra {
            a.insert(k.clone(), v.clone());
        }
        let mut rels = Map::new();
        for (name, ids) in [
            ("accounts", &self.accounts),
            ("contacts", &self.contacts),
            ("leads", &self.leads),
            ("potentials", &self.potentials),
        ] {
            if let Some(ids) = ids {
                rels.insert(name.into(), relationship(name, ids));
            }
        }
        let mut data = json!({"type": "activities", "id": id, "attributes": a});
        if !rels.is_empty() {
            data["relationships"] = Value::Object(rels);
        }
        json!({ "data": data })
    }
}

/// The logged-in user (`GET /user`) or a row of `users`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: String,
    pub name: String,
    pub email: String,
}

impl Resource for User {
    const MODULE: &'static str = "users";
    fn from_raw(r: RawResource, _tz: Tz) -> Result<Self, Error> {
        Ok(User {
            name: r.str("name").unwrap_or_default(),
            email: r.str("email").unwrap_or_default(),
            id: r.id,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: String,
    pub name: String,
    pub account_type: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

impl Resource for Account {
    const MODULE: &'static str = "accounts";
    fn from_raw(r: RawResource, _tz: Tz) -> Result<Self, Error> {
        Ok(Account {
            name: r.str("name").unwrap_or_default(),
            account_type: r.str("account_type"),
            email: r.str("email"),
            phone: r.str("phone"),
            id: r.id,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    pub id: String,
    pub first_name: Option<String>,
    pub last_name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub mobile: Option<String>,
    pub title: Option<String>,
    pub account_id: Option<String>,
}

impl Contact {
    /// "Matti Virtanen".
    pub fn full_name(&self) -> String {
        match &self.first_name {
            Some(f) if !f.is_empty() => format!("{f} {}", self.last_name),
            _ => self.last_name.clone(),
        }
    }
}

impl Resource for Contact {
    const MODULE: &'static str = "contacts";
    fn from_raw(r: RawResource, _tz: Tz) -> Result<Self, Error> {
        Ok(Contact {
            first_name: r.str("first_name"),
            last_name: r.str("last_name").unwrap_or_default(),
            email: r.str("email"),
            phone: r.str(assumed::CONTACT_PHONE),
            mobile: r.str(assumed::CONTACT_MOBILE),
            title: r.str(assumed::CONTACT_TITLE),
            account_id: r.id_attr("account_id"),
            id: r.id,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    pub id: String,
    pub name: String,
    pub account_id: Option<String>,
}

impl Resource for Project {
    const MODULE: &'static str = "projects";
    fn from_raw(r: RawResource, _tz: Tz) -> Result<Self, Error> {
        Ok(Project {
            name: r.str(assumed::PROJECT_NAME).unwrap_or_default(),
            account_id: r.id_attr("account_id"),
            id: r.id,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lead {
    pub id: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub company: Option<String>,
    pub email: Option<String>,
}

impl Resource for Lead {
    const MODULE: &'static str = "leads";
    fn from_raw(r: RawResource, _tz: Tz) -> Result<Self, Error> {
        Ok(Lead {
            first_name: r.str("first_name"),
            last_name: r.str("last_name"),
            company: r.str(assumed::LEAD_COMPANY),
            email: r.str("email"),
            id: r.id,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Potential {
    pub id: String,
    pub name: String,
    pub account_id: Option<String>,
    pub status: Option<String>,
}

impl Potential {
    pub fn is_open(&self) -> bool {
        self.status
            .as_deref()
            .is_none_or(|s| s.is_empty() || assumed::POTENTIAL_OPEN_STATUSES.contains(&s))
    }
}

impl Resource for Potential {
    const MODULE: &'static str = "potentials";
    fn from_raw(r: RawResource, _tz: Tz) -> Result<Self, Error> {
        Ok(Potential {
            name: r.str("name").unwrap_or_default(),
            account_id: r.id_attr("account_id"),
            status: r.str(assumed::POTENTIAL_STATUS),
            id: r.id,
        })
    }
}

/// An email stored in CRM ("Save to CRM" and automatic tracking).
#[derive(Debug, Clone, PartialEq)]
pub struct Email {
    pub id: String,
    pub subject: Option<String>,
    pub body: Option<String>,
    pub body_html: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub cc: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
    pub message_id: Option<String>,
    pub account_id: Option<String>,
    pub contact_id: Option<String>,
    pub accounts: Vec<String>,
    pub contacts: Vec<String>,
}

impl Resource for Email {
    const MODULE: &'static str = "emails";
    fn from_raw(r: RawResource, tz: Tz) -> Result<Self, Error> {
        let rel = |k: &str| r.relationships.get(k).cloned().unwrap_or_default();
        Ok(Email {
            subject: r.str(assumed::EMAIL_SUBJECT),
            body: r.str(assumed::EMAIL_BODY),
            body_html: r.str(assumed::EMAIL_BODY_HTML),
            from: r.str(assumed::EMAIL_FROM),
            to: r.str(assumed::EMAIL_TO),
            cc: r.str(assumed::EMAIL_CC),
            sent_at: r.time(assumed::EMAIL_SENT_AT)?.map(|t| t.to_utc(tz)),
            message_id: r.str(assumed::EMAIL_MESSAGE_ID),
            account_id: r.id_attr("account_id"),
            contact_id: r.id_attr("contact_id"),
            accounts: rel("accounts"),
            contacts: rel("contacts"),
            id: r.id,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct NewEmail {
    pub subject: String,
    /// The body as plain text.
    pub body: String,
    /// The body as sanitised HTML (`None`: the message had no HTML body).
    pub body_html: Option<String>,
    pub from: String,
    /// Recipients, comma-separated.
    pub to: String,
    /// Copy recipients, comma-separated.
    pub cc: String,
    pub sent_at: Option<DateTime<Utc>>,
    /// The internet message id; saves and tracking are deduplicated on it.
    pub message_id: String,
    /// The primary account and contact (the known to-one links); when `None`, the first of
    /// `accounts` / `contacts` is used.
    pub account_id: Option<String>,
    pub contact_id: Option<String>,
    /// Every linked account and contact (many-to-many, [`assumed::EMAIL_RELATIONS`]).
    pub accounts: Vec<String>,
    pub contacts: Vec<String>,
}

impl NewEmail {
    fn attributes(&self, tz: Tz) -> Map<String, Value> {
        let mut a = Map::new();
        a.insert(assumed::EMAIL_SUBJECT.into(), json!(self.subject));
        a.insert(assumed::EMAIL_BODY.into(), json!(self.body));
        a.insert(
            assumed::EMAIL_BODY_HTML.into(),
            json!(self.body_html.clone().unwrap_or_default()),
        );
        a.insert(assumed::EMAIL_FROM.into(), json!(self.from));
        a.insert(assumed::EMAIL_TO.into(), json!(self.to));
        a.insert(assumed::EMAIL_CC.into(), json!(self.cc));
        a.insert(assumed::EMAIL_MESSAGE_ID.into(), json!(self.message_id));
        if let Some(t) = self.sent_at {
            a.insert(assumed::EMAIL_SENT_AT.into(), json!(local_string(t, tz)));
        }
        let account = self.account_id.clone().or(self.accounts.first().cloned());
        let contact = self.contact_id.clone().or(self.contacts.first().cloned());
        a.insert("account_id".into(), json!(account));
        a.insert("contact_id".into(), json!(contact));
        a
    }

    fn relationships(&self) -> Map<String, Value> {
        let mut rels = Map::new();
        let mut accounts = self.accounts.clone();
        accounts.extend(self.account_id.clone());
        let mut contacts = self.contacts.clone();
        contacts.extend(self.contact_id.clone());
        for (name, mut ids) in [("accounts", accounts), ("contacts", contacts)] {
            let mut seen = std::collections::HashSet::new();
            ids.retain(|i| seen.insert(i.clone()));
            rels.insert(name.into(), relationship(name, &ids));
        }
        rels
    }

    pub(crate) fn to_body(&self, tz: Tz) -> Value {
        let mut a = self.attributes(tz);
        // A create leaves unset links out rather than sending nulls.
        a.retain(|_, v| !v.is_null());
        let mut rels = self.relationships();
        rels.retain(|_, v| v["data"].as_array().is_some_and(|d| !d.is_empty()));
        let mut data = json!({"type": "emails", "attributes": a});
        if !rels.is_empty() {
            data["relationships"] = Value::Object(rels);
        }
        json!({ "data": data })
    }

    /// The body of a `PATCH` that makes the stored email equal to this one (links included, so a
    /// relation removed since the last save is removed in the CRM too).
    pub(crate) fn to_patch_body(&self, id: &str, tz: Tz) -> Value {
        json!({"data": {"type": "emails", "id": id, "attributes": self.attributes(tz),
                        "relationships": self.relationships()}})
    }
}

/// A file attached to a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFile {
    pub id: String,
    pub name: String,
    pub size: u64,
}

/// One picklist value with its name in the requested language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PicklistEntry {
    /// What records store (e.g. "Soitto").
    pub value: String,
    /// The name in the requested language, or the value when there is no translation.
    pub label: String,
    pub position: i64,
}

/// Picklist languages (`fi`, `en`, `sv`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Language {
    Fi,
    En,
    Sv,
}

impl Language {
    pub fn code(self) -> &'static str {
        match self {
            Language::Fi => "fi",
            Language::En => "en",
            Language::Sv => "sv",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        match code.to_ascii_lowercase().as_str() {
            "fi" => Some(Language::Fi),
            "en" => Some(Language::En),
            "sv" => Some(Language::Sv),
            _ => None,
        }
    }
}

/// One field of `GET /schema/{module}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaField {
    pub name: String,
    pub field_type: String,
    pub label: String,
    pub relation_module: Option<String>,
}

/// `GET /schema/{module}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schema {
    pub module: String,
    pub fields: BTreeMap<String, SchemaField>,
    /// Relation name → target module.
    pub relations: BTreeMap<String, String>,
}

impl Schema {
    pub(crate) fn from_json(module: &str, v: &Value) -> Result<Self, Error> {
        // Some deployments wrap the description in `data`; accept both.
        let v = v
            .get("data")
            .filter(|d| d.get("attributes").is_some())
            .unwrap_or(v);
        let attrs = v
            .get("attributes")
            .and_then(Value::as_object)
            .ok_or_else(|| Error::Protocol(format!("schema of {module} has no attributes")))?;
        let fields = attrs
            .iter()
            .map(|(name, d)| {
                let s = |k: &str| d.get(k).and_then(Value::as_str).map(str::to_owned);
                (
                    name.clone(),
                    SchemaField {
                        name: name.clone(),
                        field_type: s("type").unwrap_or_default(),
                        label: s("label").unwrap_or_default(),
                        relation_module: s("relationModule"),
                    },
                )
            })
            .collect();
        let relations = v
            .get("relations")
            .and_then(Value::as_object)
            .map(|r| {
                r.iter()
                    .filter_map(|(name, d)| {
                        Some((name.clone(), d.get("class")?.as_str()?.to_owned()))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(Schema {
            module: module.to_owned(),
            fields,
            relations,
        })
    }

    pub fn has_field(&self, name: &str) -> bool {
        self.fields.contains_key(name)
    }

    /// Custom fields (`cf_…`).
    pub fn custom_fields(&self) -> Vec<&SchemaField> {
        self.fields
            .values()
            .filter(|f| f.name.starts_with("cf_"))
            .collect()
    }
}

/// What pairing learns from the `activities` schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaReport {
    /// Fields the client relies on that this CRM does not have (pairing should warn and the sync skip them).
    pub missing_fields: Vec<String>,
    /// Many-to-many relations the client relies on that this CRM does not have.
    pub missing_relations: Vec<String>,
    /// Custom fields of this CRM's activities.
    pub custom_fields: Vec<SchemaField>,
}

impl SchemaReport {
    pub fn is_complete(&self) -> bool {
        self.missing_fields.is_empty() && self.missing_relations.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_times_convert_across_dst() {
        let tz = chrono_tz::Europe::Helsinki;
        // Summer: UTC+3; winter: UTC+2.
        let s = CrmTime::parse("2026-07-01 12:00:00").unwrap().to_utc(tz);
        assert_eq!(s.to_rfc3339(), "2026-07-01T09:00:00+00:00");
        let w = CrmTime::parse("2026-12-01 12:00:00").unwrap().to_utc(tz);
        assert_eq!(w.to_rfc3339(), "2026-12-01T10:00:00+00:00");
        // 2026-03-29 03:30 does not exist in Helsinki (clocks jump 03:00 → 04:00).
        let gap = CrmTime::parse("2026-03-29 03:30:00").unwrap().to_utc(tz);
        assert_eq!(gap.to_rfc3339(), "2026-03-29T01:30:00+00:00");
        assert_eq!(local_string(w, tz), "2026-12-01 12:00:00");
    }

    #[test]
    fn activity_reads_relationships_and_custom_fields() {
        let raw = RawResource::from_json(json!({
            "type": "activities", "id": "7",
            "attributes": {"subject": "Soitto", "start_date": "2026-12-01 09:00:00",
                "end_date": null, "activity_type": "Soitto", "private": true, "owner_id": "2",
                "created_at": "2026-11-01 10:00:00", "updated_at": "2026-11-02 10:00:00",
                "cf_asiakasnumero": "A-1"},
            "relationships": {"contacts": {"data": [{"type": "contacts", "id": "4"}]}}
        }))
        .unwrap();
        let a = Activity::from_raw(raw, chrono_tz::Europe::Helsinki).unwrap();
        assert_eq!(a.contacts, vec!["4"]);
        assert!(a.private && !a.all_day);
        assert_eq!(a.owner_id.as_deref(), Some("2"));
        assert_eq!(a.custom["cf_asiakasnumero"], json!("A-1"));
        assert_eq!(a.end, None);
    }

    #[test]
    fn new_activity_appends_the_marker_to_the_description() {
        let mut n = NewActivity::new("Palaveri", Utc::now(), "Tapaaminen");
        n.description = Some("Agenda".into());
        let body = n.to_body(chrono_tz::Europe::Helsinki, Some("[outlook-sync:k1]"));
        assert_eq!(
            body["data"]["attributes"]["description"],
            json!("Agenda\n\n[outlook-sync:k1]")
        );
        assert!(body["data"].get("relationships").is_none());
    }
}
