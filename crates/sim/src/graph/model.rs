//! The simulated mailbox store: calendars, events (with recurrence expansion), contacts, mail.
//!
//! Everything is kept as Graph would: ids are opaque and immutable, every write bumps `changeKey`
//! and `lastModifiedDateTime`, and events are rendered as JSON in the time zone asked for with
//! `Prefer: outlook.timezone`.

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine as _;
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use serde_json::{Map, Value, json};

pub(crate) const B64: base64::engine::GeneralPurpose =
    base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// A fresh opaque id that looks like an Exchange immutable id.
pub(crate) fn new_id(prefix: &str) -> String {
    let bytes: [u8; 24] = rand::random();
    format!("{prefix}{}", B64.encode(bytes))
}

pub(crate) fn new_change_key() -> String {
    let bytes: [u8; 12] = rand::random();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Formats an instant as Graph does (`2024-04-15T12:00:00.0000000`, no offset).
pub(crate) fn fmt_local(dt: NaiveDateTime) -> String {
    format!(
        "{}.{:07}",
        dt.format("%Y-%m-%dT%H:%M:%S"),
        dt.and_utc().timestamp_subsec_nanos() / 100
    )
}

/// `createdDateTime`-style instants, with `Z`.
pub(crate) fn fmt_utc(dt: DateTime<Utc>) -> String {
    format!("{}Z", fmt_local(dt.naive_utc()))
}

/// Windows time zone names Graph accepts besides IANA names (the ones a Finnish tenant meets).
const WINDOWS_TZ: &[(&str, &str)] = &[
    ("FLE Standard Time", "Europe/Helsinki"),
    ("W. Europe Standard Time", "Europe/Berlin"),
    ("Romance Standard Time", "Europe/Paris"),
    ("Central European Standard Time", "Europe/Warsaw"),
    ("GMT Standard Time", "Europe/London"),
    ("Russian Standard Time", "Europe/Moscow"),
    ("Pacific Standard Time", "America/Los_Angeles"),
    ("Eastern Standard Time", "America/New_York"),
    ("Tokyo Standard Time", "Asia/Tokyo"),
    ("Coordinated Universal Time", "UTC"),
];

pub(crate) fn parse_tz(name: &str) -> Option<Tz> {
    let n = name.trim();
    if n.eq_ignore_ascii_case("utc") || n.eq_ignore_ascii_case("tzone://Microsoft/Utc") {
        return Some(Tz::UTC);
    }
    if let Some((_, iana)) = WINDOWS_TZ.iter().find(|(w, _)| w.eq_ignore_ascii_case(n)) {
        return iana.parse().ok();
    }
    n.parse().ok()
}

/// Parses Graph's `dateTime` member (no offset; a trailing `Z` is tolerated as Graph does).
pub(crate) fn parse_local(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim().trim_end_matches('Z');
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M"))
        .ok()
}

/// Parses an ISO instant with offset (query parameters such as `startDateTime`).
pub(crate) fn parse_instant(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Some(d.with_timezone(&Utc));
    }
    parse_local(s).map(|n| n.and_utc())
}

pub(crate) fn to_utc(local: NaiveDateTime, tz: Tz) -> DateTime<Utc> {
    match tz.from_local_datetime(&local) {
        chrono::LocalResult::Single(d) => d.with_timezone(&Utc),
        chrono::LocalResult::Ambiguous(a, _) => a.with_timezone(&Utc),
        // A time inside a DST gap: Exchange moves it forward by the gap.
        chrono::LocalResult::None => tz
            .from_local_datetime(&(local + Duration::hours(1)))
            .earliest()
            .map(|d| d.with_timezone(&Utc))
            .unwrap_or_else(|| local.and_utc()),
    }
}

/// A wall-clock time in a zone, as the user entered it.
#[derive(Clone, Debug)]
pub(crate) struct When {
    pub local: NaiveDateTime,
    pub tz: Tz,
    pub tz_name: String,
}

impl When {
    pub fn parse(v: &Value) -> Result<When, String> {
        let dt = v
            .get("dateTime")
            .and_then(Value::as_str)
            .ok_or("dateTime is required")?;
        let local = parse_local(dt).ok_or_else(|| format!("cannot parse dateTime '{dt}'"))?;
        let tz_name = v
            .get("timeZone")
            .and_then(Value::as_str)
            .unwrap_or("UTC")
            .to_string();
        let tz =
            parse_tz(&tz_name).ok_or_else(|| format!("time zone '{tz_name}' is not supported"))?;
        Ok(When { local, tz, tz_name })
    }
    pub fn utc(&self) -> DateTime<Utc> {
        to_utc(self.local, self.tz)
    }
    /// Renders as `dateTimeTimeZone` in `out` (all-day values stay floating midnights).
    pub fn render(&self, out: Tz, out_name: &str, all_day: bool) -> Value {
        let local = if all_day {
            self.local
        } else {
            self.utc().with_timezone(&out).naive_local()
        };
        json!({"dateTime": fmt_local(local), "timeZone": out_name})
    }
}

#[derive(Clone, Debug)]
pub(crate) struct ExceptionRec {
    pub id: String,
    pub change_key: String,
    pub modified: DateTime<Utc>,
    pub start: When,
    pub end: When,
    pub fields: Map<String, Value>,
    pub ext: BTreeMap<String, (String, String)>,
}

#[derive(Clone, Debug)]
pub(crate) struct EventRec {
    pub id: String,
    pub calendar_id: String,
    pub ical_uid: String,
    pub change_key: String,
    pub created: DateTime<Utc>,
    pub modified: DateTime<Utc>,
    pub start: When,
    pub end: When,
    pub all_day: bool,
    /// Plain members as last written: subject, body, location, sensitivity, showAs, categories,
    /// attendees, organizer, importance, isReminderOn, reminderMinutesBeforeStart.
    pub fields: Map<String, Value>,
    pub recurrence: Option<Value>,
    /// Extended properties keyed by lower-cased id → (id as written, value).
    pub ext: BTreeMap<String, (String, String)>,
    pub transaction_id: Option<String>,
    pub exceptions: BTreeMap<NaiveDate, ExceptionRec>,
    pub cancelled: BTreeSet<NaiveDate>,
}

/// Which member of a calendar view an id points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Single,
    Master,
    Occurrence,
    Exception,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Single => "singleInstance",
            Kind::Master => "seriesMaster",
            Kind::Occurrence => "occurrence",
            Kind::Exception => "exception",
        }
    }
}

/// One entry of a calendar view.
#[derive(Clone, Debug)]
pub(crate) struct Inst {
    pub id: String,
    pub kind: Kind,
    pub master_id: String,
    pub date: Option<NaiveDate>,
    pub start: DateTime<Utc>,
    #[expect(dead_code, reason = "kept for debugging output of views")]
    pub end: DateTime<Utc>,
    /// Changes whenever anything a client would see changes (used by delta).
    pub version: String,
}

pub(crate) fn occurrence_id(master_id: &str, date: NaiveDate) -> String {
    format!(
        "AAMkO{}",
        B64.encode(format!("{master_id}|{}", date.format("%Y%m%d")))
    )
}

pub(crate) fn parse_occurrence_id(id: &str) -> Option<(String, NaiveDate)> {
    let rest = id.strip_prefix("AAMkO")?;
    let raw = String::from_utf8(B64.decode(rest).ok()?).ok()?;
    let (m, d) = raw.rsplit_once('|')?;
    Some((m.to_string(), NaiveDate::parse_from_str(d, "%Y%m%d").ok()?))
}

fn weekday_of(name: &str) -> Option<Weekday> {
    Some(match name.to_ascii_lowercase().as_str() {
        "monday" => Weekday::Mon,
        "tuesday" => Weekday::Tue,
        "wednesday" => Weekday::Wed,
        "thursday" => Weekday::Thu,
        "friday" => Weekday::Fri,
        "saturday" => Weekday::Sat,
        "sunday" => Weekday::Sun,
        _ => return None,
    })
}

fn month_len(d: NaiveDate) -> u32 {
    let (y, m) = (d.year(), d.month());
    let next = if m == 12 {
        NaiveDate::from_ymd_opt(y + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(y, m + 1, 1)
    };
    next.map(|n| (n - Duration::days(1)).day()).unwrap_or(28)
}

fn index_matches(index: &str, d: NaiveDate) -> bool {
    let day = d.day();
    match index {
        "first" => day <= 7,
        "second" => (8..=14).contains(&day),
        "third" => (15..=21).contains(&day),
        "fourth" => (22..=28).contains(&day),
        "last" => day + 7 > month_len(d),
        _ => false,
    }
}

/// Validates a `patternedRecurrence` the way Graph does for the members we simulate.
pub(crate) fn check_recurrence(r: &Value) -> Result<(), String> {
    let p = r.get("pattern").ok_or("recurrence.pattern is required")?;
    let t = p
        .get("type")
        .and_then(Value::as_str)
        .ok_or("pattern.type is required")?;
    if ![
        "daily",
        "weekly",
        "absoluteMonthly",
        "relativeMonthly",
        "absoluteYearly",
        "relativeYearly",
    ]
    .contains(&t)
    {
        return Err(format!("unknown recurrence pattern type '{t}'"));
    }
    let range = r.get("range").ok_or("recurrence.range is required")?;
    range
        .get("startDate")
        .and_then(Value::as_str)
        .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
        .ok_or("range.startDate must be a date")?;
    Ok(())
}

/// The dates (in the series' zone) on which a series has an occurrence, up to `until` inclusive.
pub(crate) fn series_dates(rec: &Value, first: NaiveDate, until: NaiveDate) -> Vec<NaiveDate> {
    let p = &rec["pattern"];
    let r = &rec["range"];
    let ptype = p["type"].as_str().unwrap_or("daily");
    let interval = p["interval"].as_i64().unwrap_or(1).max(1);
    let days: Vec<Weekday> = p["daysOfWeek"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|d| d.as_str().and_then(weekday_of))
                .collect()
        })
        .unwrap_or_default();
    let first_dow = p["firstDayOfWeek"]
        .as_str()
        .and_then(weekday_of)
        .unwrap_or(Weekday::Sun);
    let index = p["index"].as_str().unwrap_or("first");
    let dom = p["dayOfMonth"].as_u64().unwrap_or(0) as u32;
    let month = p["month"].as_u64().unwrap_or(0) as u32;
    let start = r["startDate"]
        .as_str()
        .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
        .unwrap_or(first);
    let rtype = r["type"].as_str().unwrap_or("noEnd");
    let end = match rtype {
        "endDate" => r["endDate"]
            .as_str()
            .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
            .unwrap_or(until)
            .min(until),
        _ => until,
    };
    let count_limit = if rtype == "numbered" {
        r["numberOfOccurrences"].as_u64().unwrap_or(1) as usize
    } else {
        usize::MAX
    };
    let week_start = |d: NaiveDate| {
        let back = (7 + d.weekday().num_days_from_monday() as i64
            - first_dow.num_days_from_monday() as i64)
            % 7;
        d - Duration::days(back)
    };
    let months_between = |d: NaiveDate| {
        (d.year() as i64 * 12 + d.month() as i64)
            - (start.year() as i64 * 12 + start.month() as i64)
    };
    let mut out = Vec::new();
    let mut count = 0usize;
    let mut d = start;
    // Twenty years of days is far beyond any window Graph accepts (1825 days).
    let hard_stop = start + Duration::days(366 * 20);
    while d <= end && d <= hard_stop && count < count_limit {
        let hit = match ptype {
            "daily" => (d - start).num_days() % interval == 0,
            "weekly" => {
                days.contains(&d.weekday())
                    && ((week_start(d) - week_start(start)).num_days() / 7) % interval == 0
            }
            "absoluteMonthly" => d.day() == dom && months_between(d) % interval == 0,
            "relativeMonthly" => {
                days.contains(&d.weekday())
                    && index_matches(index, d)
                    && months_between(d) % interval == 0
            }
            "absoluteYearly" => {
                d.month() == month
                    && d.day() == dom
                    && (d.year() - start.year()) as i64 % interval == 0
            }
            "relativeYearly" => {
                d.month() == month
                    && days.contains(&d.weekday())
                    && index_matches(index, d)
                    && (d.year() - start.year()) as i64 % interval == 0
            }
            _ => false,
        };
        if hit {
            count += 1;
            out.push(d);
        }
        d += Duration::days(1);
    }
    out
}

impl EventRec {
    pub fn is_series(&self) -> bool {
        self.recurrence.is_some()
    }

    fn duration(&self) -> Duration {
        self.end.utc() - self.start.utc()
    }

    /// The instances of this event that overlap `[from, to)` (for a series: occurrences and
    /// exceptions, never the master; cancelled occurrences are gone).
    pub fn instances(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Inst> {
        let overlaps = |s: DateTime<Utc>, e: DateTime<Utc>| {
            if s == e {
                s >= from && s < to
            } else {
                s < to && e > from
            }
        };
        let Some(rec) = &self.recurrence else {
            let (s, e) = (self.start.utc(), self.end.utc());
            return if overlaps(s, e) {
                vec![Inst {
                    id: self.id.clone(),
                    kind: Kind::Single,
                    master_id: self.id.clone(),
                    date: None,
                    start: s,
                    end: e,
                    version: self.change_key.clone(),
                }]
            } else {
                vec![]
            };
        };
        let tz = self.start.tz;
        let until = (to + Duration::days(2)).with_timezone(&tz).date_naive();
        let dur = self.duration();
        let mut out = Vec::new();
        for date in series_dates(rec, self.start.local.date(), until) {
            if self.cancelled.contains(&date) {
                continue;
            }
            if let Some(x) = self.exceptions.get(&date) {
                let (s, e) = (x.start.utc(), x.end.utc());
                if overlaps(s, e) {
                    out.push(Inst {
                        id: x.id.clone(),
                        kind: Kind::Exception,
                        master_id: self.id.clone(),
                        date: Some(date),
                        start: s,
                        end: e,
                        version: x.change_key.clone(),
                    });
                }
                continue;
            }
            let s = to_utc(date.and_time(self.start.local.time()), tz);
            let e = s + dur;
            if overlaps(s, e) {
                out.push(Inst {
                    id: occurrence_id(&self.id, date),
                    kind: Kind::Occurrence,
                    master_id: self.id.clone(),
                    date: Some(date),
                    start: s,
                    end: e,
                    version: format!("{}|{}", self.change_key, s.timestamp()),
                });
            }
        }
        out
    }

    /// Whether the series has an (uncancelled) occurrence on `date`.
    pub fn has_occurrence(&self, date: NaiveDate) -> bool {
        match &self.recurrence {
            Some(rec) => {
                !self.cancelled.contains(&date)
                    && series_dates(rec, self.start.local.date(), date).last() == Some(&date)
            }
            None => false,
        }
    }

    /// The start/end of the occurrence on `date` before any exception.
    pub fn occurrence_times(&self, date: NaiveDate) -> (When, When) {
        let start_local = date.and_time(self.start.local.time());
        let start = When {
            local: start_local,
            tz: self.start.tz,
            tz_name: self.start.tz_name.clone(),
        };
        let end_utc = start.utc() + self.duration();
        let end = When {
            local: end_utc.with_timezone(&self.end.tz).naive_local(),
            tz: self.end.tz,
            tz_name: self.end.tz_name.clone(),
        };
        (start, end)
    }
}

/// Which extended properties to include in a rendering (`$expand=singleValueExtendedProperties(...)`).
#[derive(Clone, Debug, Default)]
pub(crate) enum ExpandExt {
    #[default]
    None,
    All,
    Ids(Vec<String>),
}

pub(crate) fn render_ext(
    ext: &BTreeMap<String, (String, String)>,
    expand: &ExpandExt,
) -> Option<Value> {
    let items: Vec<Value> = ext
        .iter()
        .filter(|(k, _)| match expand {
            ExpandExt::None => false,
            ExpandExt::All => true,
            ExpandExt::Ids(ids) => ids.iter().any(|i| i.to_ascii_lowercase() == **k),
        })
        .map(|(_, (id, v))| json!({"id": id, "value": v}))
        .collect();
    if items.is_empty() {
        None
    } else {
        Some(Value::Array(items))
    }
}

/// Renders a view of an event.
pub(crate) struct RenderCtx<'a> {
    pub tz: Tz,
    pub tz_name: &'a str,
    pub expand: &'a ExpandExt,
    pub organizer: Value,
}

fn body_preview(fields: &Map<String, Value>) -> String {
    let content = fields
        .get("body")
        .and_then(|b| b.get("content"))
        .and_then(Value::as_str)
        .unwrap_or("");
    // Strip tags the way bodyPreview does (roughly) and keep 255 characters.
    let mut out = String::new();
    let mut in_tag = false;
    for c in content.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(255)
        .collect()
}

pub(crate) fn render_event(ev: &EventRec, inst: Option<&Inst>, ctx: &RenderCtx) -> Value {
    let kind = inst.map(|i| i.kind).unwrap_or(if ev.is_series() {
        Kind::Master
    } else {
        Kind::Single
    });
    let exc = inst
        .and_then(|i| i.date)
        .filter(|_| kind == Kind::Exception)
        .and_then(|d| ev.exceptions.get(&d));
    let mut fields = ev.fields.clone();
    let mut ext = ev.ext.clone();
    let (id, change_key, modified, start, end) = match (kind, inst, exc) {
        (Kind::Exception, Some(i), Some(x)) => {
            for (k, v) in &x.fields {
                fields.insert(k.clone(), v.clone());
            }
            for (k, v) in &x.ext {
                ext.insert(k.clone(), v.clone());
            }
            (
                i.id.clone(),
                x.change_key.clone(),
                x.modified,
                x.start.clone(),
                x.end.clone(),
            )
        }
        (Kind::Occurrence, Some(i), _) => {
            let (s, e) = ev.occurrence_times(i.date.unwrap_or(ev.start.local.date()));
            (i.id.clone(), ev.change_key.clone(), ev.modified, s, e)
        }
        _ => (
            ev.id.clone(),
            ev.change_key.clone(),
            ev.modified,
            ev.start.clone(),
            ev.end.clone(),
        ),
    };
    let series_master_id = match kind {
        Kind::Occurrence | Kind::Exception => Value::String(ev.id.clone()),
        _ => Value::Null,
    };
    let get = |k: &str, d: Value| fields.get(k).cloned().unwrap_or(d);
    let location = get("location", json!({"displayName": ""}));
    let location = if location.is_null() {
        json!({"displayName": ""})
    } else {
        location
    };
    let mut locations = vec![];
    if location
        .get("displayName")
        .and_then(Value::as_str)
        .is_some_and(|s| !s.is_empty())
    {
        locations.push(location.clone());
    }
    let original_start = match kind {
        Kind::Occurrence | Kind::Exception => inst
            .and_then(|i| i.date)
            .map(|d| Value::String(fmt_utc(ev.occurrence_times(d).0.utc())))
            .unwrap_or(Value::Null),
        _ => Value::Null,
    };
    let mut v = json!({
        "@odata.etag": format!("W/\"{change_key}\""),
        "id": id,
        "createdDateTime": fmt_utc(ev.created),
        "lastModifiedDateTime": fmt_utc(modified),
        "changeKey": change_key,
        "categories": get("categories", json!([])),
        "transactionId": ev.transaction_id.clone(),
        "originalStartTimeZone": ev.start.tz_name.clone(),
        "originalEndTimeZone": ev.end.tz_name.clone(),
        "iCalUId": ev.ical_uid.clone(),
        "uid": Value::Null,
        "reminderMinutesBeforeStart": get("reminderMinutesBeforeStart", json!(15)),
        "isReminderOn": get("isReminderOn", json!(true)),
        "hasAttachments": false,
    });
    let more = json!({
        "subject": get("subject", json!("")),
        "bodyPreview": body_preview(&fields),
        "importance": get("importance", json!("normal")),
        "sensitivity": get("sensitivity", json!("normal")),
        "isAllDay": ev.all_day,
        "isCancelled": false,
        "isOrganizer": true,
        "responseRequested": true,
        "seriesMasterId": series_master_id,
        "showAs": get("showAs", json!("busy")),
        "type": kind.as_str(),
        "webLink": format!("https://outlook.office365.com/owa/?itemid={}&exvsurl=1&path=/calendar/item", id),
        "onlineMeetingUrl": Value::Null,
        "isOnlineMeeting": false,
        "onlineMeetingProvider": "unknown",
        "allowNewTimeProposals": true,
        "isDraft": false,
        "hideAttendees": false,
        "recurrence": if kind == Kind::Master { ev.recurrence.clone().unwrap_or(Value::Null) } else { Value::Null },
        "responseStatus": {"response": "organizer", "time": "0001-01-01T00:00:00Z"},
        "body": get("body", json!({"contentType": "text", "content": ""})),
        "start": start.render(ctx.tz, ctx.tz_name, ev.all_day),
        "end": end.render(ctx.tz, ctx.tz_name, ev.all_day),
        "location": location,
        "locations": locations,
        "attendees": get("attendees", json!([])),
        "organizer": get("organizer", ctx.organizer.clone()),
        "onlineMeeting": Value::Null,
    });
    let obj = v.as_object_mut().expect("object");
    if let Value::Object(m) = more {
        obj.extend(m);
    }
    // `uid` is beta-only; v1.0 does not send it.
    obj.remove("uid");
    if !original_start.is_null() {
        obj.insert("originalStart".into(), original_start);
    }
    if kind == Kind::Master {
        obj.insert(
            "cancelledOccurrences".into(),
            Value::Array(
                ev.cancelled
                    .iter()
                    .map(|d| Value::String(format!("OID.{}.{}", ev.id, d.format("%Y-%m-%d"))))
                    .collect(),
            ),
        );
    }
    if let Some(x) = render_ext(&ext, ctx.expand) {
        obj.insert("singleValueExtendedProperties".into(), x);
    }
    v
}

/// What an occurrence looks like in a delta page: only a few members (Graph documents that
/// occurrences in delta responses may carry partial data; clients must read the series master).
pub(crate) fn render_partial_occurrence(ev: &EventRec, inst: &Inst, ctx: &RenderCtx) -> Value {
    let (s, e) = ev.occurrence_times(inst.date.unwrap_or(ev.start.local.date()));
    json!({
        "@odata.type": "#microsoft.graph.event",
        "@odata.etag": format!("W/\"{}\"", ev.change_key),
        "id": inst.id,
        "type": "occurrence",
        "seriesMasterId": ev.id,
        "start": s.render(ctx.tz, ctx.tz_name, ev.all_day),
        "end": e.render(ctx.tz, ctx.tz_name, ev.all_day),
    })
}

#[derive(Clone, Debug)]
pub(crate) struct Calendar {
    pub id: String,
    pub name: String,
    pub is_default: bool,
    pub can_edit: bool,
    pub change_key: String,
    pub color: String,
}

impl Calendar {
    pub fn render(&self, owner_name: &str, owner_email: &str) -> Value {
        json!({
            "@odata.etag": format!("W/\"{}\"", self.change_key),
            "id": self.id,
            "name": self.name,
            "color": self.color,
            "hexColor": "",
            "isDefaultCalendar": self.is_default,
            "changeKey": self.change_key,
            "canShare": self.can_edit,
            "canViewPrivateItems": true,
            "canEdit": self.can_edit,
            "allowedOnlineMeetingProviders": ["teamsForBusiness"],
            "defaultOnlineMeetingProvider": "teamsForBusiness",
            "isTallyingResponses": true,
            "isRemovable": !self.is_default,
            "owner": {"name": owner_name, "address": owner_email},
        })
    }
}

#[derive(Clone, Debug)]
pub(crate) struct ContactFolder {
    pub id: String,
    pub name: String,
    pub parent: String,
}

#[derive(Clone, Debug)]
pub(crate) struct ContactRec {
    pub id: String,
    pub folder_id: String,
    pub change_key: String,
    pub created: DateTime<Utc>,
    pub modified: DateTime<Utc>,
    pub fields: Map<String, Value>,
    pub ext: BTreeMap<String, (String, String)>,
}

impl ContactRec {
    pub fn render(&self, expand: &ExpandExt) -> Value {
        let mut v = json!({
            "@odata.etag": format!("W/\"{}\"", self.change_key),
            "id": self.id,
            "createdDateTime": fmt_utc(self.created),
            "lastModifiedDateTime": fmt_utc(self.modified),
            "changeKey": self.change_key,
            "categories": [],
            "parentFolderId": self.folder_id,
            "displayName": "",
            "givenName": Value::Null,
            "surname": Value::Null,
            "companyName": Value::Null,
            "jobTitle": Value::Null,
            "emailAddresses": [],
            "businessPhones": [],
            "homePhones": [],
            "mobilePhone": Value::Null,
            "imAddresses": [],
            "children": [],
        });
        let obj = v.as_object_mut().expect("object");
        for (k, val) in &self.fields {
            obj.insert(k.clone(), val.clone());
        }
        if let Some(x) = render_ext(&self.ext, expand) {
            obj.insert("singleValueExtendedProperties".into(), x);
        }
        v
    }
}

#[derive(Clone, Debug)]
pub(crate) struct MailFolder {
    pub id: String,
    pub well_known: String,
    pub name: String,
}

#[derive(Clone, Debug)]
pub(crate) struct MessageRec {
    pub id: String,
    pub folder_id: String,
    pub change_key: String,
    pub created: DateTime<Utc>,
    pub modified: DateTime<Utc>,
    pub fields: Map<String, Value>,
    pub attachments: Vec<AttachmentRec>,
    /// Single-value extended properties (e.g. `Integer 0x0036`, PidTagSensitivity).
    pub ext: BTreeMap<String, (String, String)>,
}

/// A message attachment (`fileAttachment` with its bytes; other kinds carry none).
#[derive(Clone, Debug)]
pub(crate) struct AttachmentRec {
    pub id: String,
    pub odata_type: String,
    pub name: String,
    pub content_type: String,
    pub is_inline: bool,
    pub modified: DateTime<Utc>,
    pub bytes: std::sync::Arc<Vec<u8>>,
}

impl AttachmentRec {
    pub fn is_file(&self) -> bool {
        self.odata_type == "#microsoft.graph.fileAttachment"
    }

    /// Graph's `size` is the whole attachment item's size, a little over the content's.
    pub fn size(&self) -> usize {
        self.bytes.len() + 200 + self.name.len()
    }

    /// The attachment as Graph renders it; `select` (property names) leaves the rest out, and
    /// `contentBytes` is only rendered for files when selected or when nothing is selected.
    pub fn render(&self, select: Option<&[String]>) -> Value {
        use base64::Engine as _;
        let mut v = json!({
            "@odata.type": self.odata_type,
            "id": self.id,
            "lastModifiedDateTime": fmt_utc(self.modified),
            "name": self.name,
            "contentType": self.content_type,
            "size": self.size(),
            "isInline": self.is_inline,
        });
        if self.is_file() {
            v["contentId"] = Value::Null;
            v["contentLocation"] = Value::Null;
            v["contentBytes"] =
                json!(base64::engine::general_purpose::STANDARD.encode(self.bytes.as_slice()));
        }
        if let Some(sel) = select {
            let obj = v.as_object_mut().expect("object");
            obj.retain(|k, _| {
                k == "@odata.type" || k == "id" || sel.iter().any(|s| s.eq_ignore_ascii_case(k))
            });
        }
        v
    }
}

impl MessageRec {
    pub fn render(&self, expand: &ExpandExt) -> Value {
        let mut v = json!({
            "@odata.etag": format!("W/\"{}\"", self.change_key),
            "id": self.id,
            "createdDateTime": fmt_utc(self.created),
            "lastModifiedDateTime": fmt_utc(self.modified),
            "changeKey": self.change_key,
            "categories": [],
            "parentFolderId": self.folder_id,
            "hasAttachments": self.attachments.iter().any(|a| !a.is_inline),
            "importance": "normal",
            "isRead": true,
            "isDraft": false,
            "inferenceClassification": "focused",
            "ccRecipients": [],
            "bccRecipients": [],
            "replyTo": [],
            "flag": {"flagStatus": "notFlagged"},
        });
        let obj = v.as_object_mut().expect("object");
        for (k, val) in &self.fields {
            obj.insert(k.clone(), val.clone());
        }
        if !obj.contains_key("bodyPreview") {
            let p = body_preview(&self.fields);
            obj.insert("bodyPreview".into(), Value::String(p));
        }
        if let Some(x) = render_ext(&self.ext, expand) {
            obj.insert("singleValueExtendedProperties".into(), x);
        }
        v
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Mailbox {
    pub user_id: String,
    pub tenant_id: String,
    pub email: String,
    pub display_name: String,
    pub time_zone: String,
    pub calendars: Vec<Calendar>,
    pub events: BTreeMap<String, EventRec>,
    pub contact_folders: Vec<ContactFolder>,
    pub contacts: BTreeMap<String, ContactRec>,
    pub mail_folders: Vec<MailFolder>,
    pub messages: BTreeMap<String, MessageRec>,
}

impl Mailbox {
    pub fn organizer(&self) -> Value {
        json!({"emailAddress": {"name": self.display_name, "address": self.email}})
    }
    pub fn default_calendar(&self) -> &Calendar {
        self.calendars
            .iter()
            .find(|c| c.is_default)
            .unwrap_or(&self.calendars[0])
    }
    pub fn calendar(&self, id: Option<&str>) -> Option<&Calendar> {
        match id {
            None => Some(self.default_calendar()),
            Some(id) => self.calendars.iter().find(|c| c.id == id),
        }
    }
    /// Resolves an event id (master, single, occurrence or exception) to (master id, instance).
    pub fn resolve(&self, id: &str) -> Option<(String, Option<NaiveDate>)> {
        if self.events.contains_key(id) {
            return Some((id.to_string(), None));
        }
        if let Some((m, d)) = parse_occurrence_id(id) {
            let ev = self.events.get(&m)?;
            if ev.exceptions.get(&d).is_some_and(|x| x.id == id) {
                return Some((m, Some(d)));
            }
            if ev.has_occurrence(d) && !ev.exceptions.contains_key(&d) {
                return Some((m, Some(d)));
            }
            return None;
        }
        for ev in self.events.values() {
            for (d, x) in &ev.exceptions {
                if x.id == id {
                    return Some((ev.id.clone(), Some(*d)));
                }
            }
        }
        None
    }
    /// All calendar-view instances of a calendar (or every calendar) in a window, by start.
    pub fn view(
        &self,
        calendar: Option<&str>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Vec<Inst> {
        let mut out: Vec<Inst> = self
            .events
            .values()
            .filter(|e| calendar.is_none_or(|c| e.calendar_id == c))
            .flat_map(|e| e.instances(from, to))
            .collect();
        out.sort_by(|a, b| a.start.cmp(&b.start).then(a.id.cmp(&b.id)));
        out
    }
}

/// Parses and normalises extended properties from a POST/PATCH body.
pub(crate) fn parse_ext(v: &Value) -> Result<Vec<(String, String)>, String> {
    let Some(arr) = v.as_array() else {
        return Err("singleValueExtendedProperties must be an array".into());
    };
    let mut out = vec![];
    for p in arr {
        let id = p
            .get("id")
            .and_then(Value::as_str)
            .ok_or("extended property id is required")?;
        let value = p.get("value").and_then(Value::as_str).unwrap_or("");
        let parts: Vec<&str> = id.split_whitespace().collect();
        let typed = |t: &str| {
            ["string", "integer", "boolean", "systemtime", "guid"]
                .contains(&t.to_ascii_lowercase().as_str())
        };
        // A named property (`String {guid} Name X`) or a MAPI property tag (`Integer 0x0036`).
        let valid = (parts.len() == 4
            && typed(parts[0])
            && parts[1].starts_with('{')
            && parts[1].ends_with('}')
            && uuid::Uuid::parse_str(parts[1].trim_matches(|c| c == '{' || c == '}')).is_ok()
            && (parts[2] == "Name" || parts[2] == "Id"))
            || (parts.len() == 2
                && typed(parts[0])
                && parts[1]
                    .strip_prefix("0x")
                    .is_some_and(|h| !h.is_empty() && u16::from_str_radix(h, 16).is_ok()));
        if !valid {
            return Err(format!("'{id}' is not a valid extended property id"));
        }
        out.push((id.to_string(), value.to_string()));
    }
    Ok(out)
}

pub(crate) fn ext_key(id: &str) -> String {
    id.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn dates(rec: Value, until: &str) -> Vec<String> {
        let first = d(rec["range"]["startDate"].as_str().unwrap());
        series_dates(&rec, first, d(until))
            .iter()
            .map(|x| x.to_string())
            .collect()
    }

    #[test]
    fn relative_monthly_last_friday() {
        let rec = json!({"pattern": {"type": "relativeMonthly", "interval": 1, "daysOfWeek": ["friday"], "index": "last"},
                         "range": {"type": "noEnd", "startDate": "2026-01-01"}});
        assert_eq!(
            dates(rec, "2026-04-30"),
            vec!["2026-01-30", "2026-02-27", "2026-03-27", "2026-04-24"]
        );
    }

    #[test]
    fn absolute_yearly_and_end_date_range() {
        let rec = json!({"pattern": {"type": "absoluteYearly", "interval": 1, "month": 12, "dayOfMonth": 6},
                         "range": {"type": "endDate", "startDate": "2025-12-06", "endDate": "2027-12-05"}});
        assert_eq!(dates(rec, "2030-01-01"), vec!["2025-12-06", "2026-12-06"]);
    }

    #[test]
    fn biweekly_numbered_series_counts_occurrences_not_days() {
        let rec = json!({"pattern": {"type": "weekly", "interval": 2, "daysOfWeek": ["tuesday", "friday"], "firstDayOfWeek": "monday"},
                         "range": {"type": "numbered", "startDate": "2026-03-03", "numberOfOccurrences": 3}});
        assert_eq!(
            dates(rec, "2026-12-31"),
            vec!["2026-03-03", "2026-03-06", "2026-03-17"]
        );
    }

    #[test]
    fn wall_clock_time_inside_a_dst_gap_moves_forward() {
        let tz: Tz = "Europe/Helsinki".parse().unwrap();
        // 29 March 2026 03:30 does not exist in Helsinki (clocks jump from 03:00 to 04:00).
        let local =
            NaiveDateTime::parse_from_str("2026-03-29T03:30:00", "%Y-%m-%dT%H:%M:%S").unwrap();
        assert_eq!(fmt_utc(to_utc(local, tz)), "2026-03-29T01:30:00.0000000Z");
    }

    #[test]
    fn occurrence_ids_round_trip() {
        let id = occurrence_id("AAMkAGIxyz", d("2026-03-02"));
        assert_eq!(
            parse_occurrence_id(&id),
            Some(("AAMkAGIxyz".to_string(), d("2026-03-02")))
        );
        assert_eq!(parse_occurrence_id("AAMkAGIxyz"), None);
    }

    #[test]
    fn windows_and_iana_zone_names_are_accepted() {
        assert_eq!(
            parse_tz("FLE Standard Time"),
            Some(chrono_tz::Europe::Helsinki)
        );
        assert_eq!(
            parse_tz("Europe/Helsinki"),
            Some(chrono_tz::Europe::Helsinki)
        );
        assert_eq!(parse_tz("UTC"), Some(Tz::UTC));
        assert_eq!(parse_tz("Mars/Olympus"), None);
    }
}
