//! Translation between the wire models of Graph and CRM-service and sync-core's one item model.
//!
//! Not synced (on purpose, for now): attendees ↔ related contacts (they need contact lookups by
//! address); both sides report an empty attendee set so the field never looks changed.

use chrono::{DateTime, Days, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;
use crmservice::{Activity, ActivityPatch, NewActivity};
use graph::{
    BodyType, DateTimeTimeZone, Event, EventType, EventWrite, ExtendedProperty, ItemBody, Location,
    Sensitivity,
};
use sync_core::{Content, CrmId, CrmItem, OutlookId, OutlookItem, Patch, SeriesInstance, When};

/// An event as sync-core sees it; `None` for an event without usable times (never synced).
pub fn outlook_item(e: &Event) -> Option<OutlookItem> {
    let all_day = e.is_all_day == Some(true);
    let when = if all_day {
        let start = date_of(e.start.as_ref()?)?;
        let end = e
            .end
            .as_ref()
            .and_then(date_of)
            .filter(|d| *d > start)
            .unwrap_or(start + Days::new(1));
        When::AllDay { start, end }
    } else {
        let start = e.start_utc()?;
        let end = e.end_utc().unwrap_or(start).max(start);
        When::Timed { start, end }
    };
    let body = e
        .body
        .as_ref()
        .map(|b| match b.content_type {
            BodyType::Text => b.content.clone(),
            BodyType::Html => html_to_text(&b.content),
        })
        .unwrap_or_default();
    let series = match e.kind {
        Some(EventType::Occurrence | EventType::Exception) => {
            e.series_master_id.as_ref().map(|m| SeriesInstance {
                series_id: OutlookId(m.clone()),
                original_start: e
                    .original_start
                    .or_else(|| e.start_utc())
                    .unwrap_or_else(Utc::now),
            })
        }
        _ => None,
    };
    Some(OutlookItem {
        id: OutlookId(e.id.clone()),
        version: e.change_key.clone().unwrap_or_default(),
        modified: e.last_modified_date_time.unwrap_or_else(Utc::now),
        crm_link: e.crm_activity_id().map(|s| CrmId(s.to_owned())),
        content: Content {
            when,
            subject: e.subject.clone().unwrap_or_default(),
            body,
            location: e
                .location
                .as_ref()
                .and_then(|l| l.display_name.clone())
                .unwrap_or_default(),
            activity_type: e.crm_activity_type().map(str::to_owned),
            status: None,
            private: e.is_private(),
            attendees: Default::default(),
        },
        series,
        series_master: e.kind == Some(EventType::SeriesMaster),
        cancelled: e.is_cancelled == Some(true),
    })
}

/// The calendar date of an all-day boundary (Graph gives midnight of that date).
fn date_of(t: &DateTimeTimeZone) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(t.date_time.get(..10)?, "%Y-%m-%d").ok()
}

/// The CRM has no version field and `updated_at` has one-second resolution, so a user's edit in the
/// same second as our own write would keep the old `updated_at`. The version is therefore
/// `updated_at` plus a digest of everything the activity holds: any change moves it.
pub fn crm_version(a: &Activity) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    let mut part = |bytes: &[u8]| {
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(bytes);
    };
    let opt = |s: &Option<String>| s.clone().unwrap_or_else(|| "\u{0}".into());
    for field in [
        a.subject.clone(),
        a.start.to_rfc3339(),
        a.end.map(|e| e.to_rfc3339()).unwrap_or_default(),
        a.activity_type.clone(),
        opt(&a.status),
        opt(&a.description),
        opt(&a.location),
        a.private.to_string(),
        a.all_day.to_string(),
        opt(&a.owner_id),
        opt(&a.project_id),
        opt(&a.campaign_id),
        a.accounts.join(","),
        a.contacts.join(","),
        a.leads.join(","),
        a.potentials.join(","),
        serde_json::Value::Object(a.custom.clone()).to_string(),
    ] {
        part(field.as_bytes());
    }
    let digest = h.finalize();
    let short: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("{}#{short}", a.updated_at)
}

pub fn crm_item(a: &Activity, crm_tz: Tz) -> CrmItem {
    let when = if a.all_day {
        let start = a.start.with_timezone(&crm_tz).date_naive();
        let end = a
            .end
            .map(|e| e.with_timezone(&crm_tz).date_naive())
            .filter(|d| *d > start)
            .unwrap_or(start + Days::new(1));
        When::AllDay { start, end }
    } else {
        When::Timed {
            start: a.start,
            end: a.end.unwrap_or(a.start).max(a.start),
        }
    };
    CrmItem {
        id: CrmId(a.id.clone()),
        version: crm_version(a),
        modified: a.updated_at.to_utc(crm_tz),
        content: Content {
            when,
            subject: a.subject.clone(),
            body: a.description_text(),
            location: a.location.clone().unwrap_or_default(),
            activity_type: Some(a.activity_type.clone()).filter(|t| !t.is_empty()),
            status: a.status.clone(),
            private: a.private,
            attendees: Default::default(),
        },
    }
}

fn day_start(d: NaiveDate, tz: Tz) -> DateTime<Utc> {
    sync_core::time::crm_local_to_utc(d.and_time(NaiveTime::MIN), tz)
}

fn crm_times(when: &When, crm_tz: Tz) -> (DateTime<Utc>, DateTime<Utc>, bool) {
    match *when {
        When::Timed { start, end } => (start, end, false),
        When::AllDay { start, end } => (day_start(start, crm_tz), day_start(end, crm_tz), true),
    }
}

fn non_empty(s: &str) -> Option<String> {
    Some(s.to_owned()).filter(|s| !s.trim().is_empty())
}

pub fn new_activity(c: &Content, crm_tz: Tz) -> NewActivity {
    let (start, end, all_day) = crm_times(&c.when, crm_tz);
    NewActivity {
        subject: c.subject.clone(),
        start,
        end: Some(end),
        activity_type: c.activity_type.clone().unwrap_or_default(),
        status: c.status.clone(),
        description: non_empty(&c.body),
        location: non_empty(&c.location),
        private: c.private,
        all_day,
        ..Default::default()
    }
}

pub fn activity_patch(p: &Patch, crm_tz: Tz) -> ActivityPatch {
    let mut out = ActivityPatch::default();
    if let Some(when) = &p.when {
        let (start, end, all_day) = crm_times(when, crm_tz);
        out.start = Some(start);
        out.end = Some(Some(end));
        out.all_day = Some(all_day);
    }
    out.subject = p.subject.clone();
    out.description = p.body.as_deref().map(non_empty);
    out.location = p.location.as_deref().map(non_empty);
    if let Some(Some(t)) = &p.activity_type {
        out.activity_type = Some(t.clone());
    }
    out.status = p.status.clone();
    out.private = p.private;
    out
}

fn graph_times(when: &When) -> (DateTimeTimeZone, DateTimeTimeZone, bool) {
    match *when {
        When::Timed { start, end } => (
            DateTimeTimeZone::utc(start),
            DateTimeTimeZone::utc(end),
            false,
        ),
        When::AllDay { start, end } => (
            DateTimeTimeZone::local(start.and_time(NaiveTime::MIN), "UTC"),
            DateTimeTimeZone::local(end.and_time(NaiveTime::MIN), "UTC"),
            true,
        ),
    }
}

fn text_body(s: &str) -> ItemBody {
    ItemBody {
        content_type: BodyType::Text,
        content: s.to_owned(),
    }
}

fn sensitivity(private: bool) -> Sensitivity {
    if private {
        Sensitivity::Private
    } else {
        Sensitivity::Normal
    }
}

pub fn event_write(c: &Content, crm_link: &str) -> EventWrite {
    let (start, end, all_day) = graph_times(&c.when);
    EventWrite {
        subject: Some(c.subject.clone()),
        body: Some(text_body(&c.body)),
        start: Some(start),
        end: Some(end),
        is_all_day: Some(all_day),
        location: Some(Location {
            display_name: Some(c.location.clone()),
        }),
        sensitivity: Some(sensitivity(c.private)),
        ..Default::default()
    }
    .with_crm_marks(crm_link, c.activity_type.as_deref())
}

pub fn event_patch(p: &Patch, crm_link: Option<&str>, activity_type: Option<&str>) -> EventWrite {
    let mut w = EventWrite::default();
    if let Some(when) = &p.when {
        let (start, end, all_day) = graph_times(when);
        w.start = Some(start);
        w.end = Some(end);
        w.is_all_day = Some(all_day);
    }
    w.subject = p.subject.clone();
    w.body = p.body.as_deref().map(text_body);
    w.location = p.location.as_ref().map(|l| Location {
        display_name: Some(l.clone()),
    });
    w.sensitivity = p.private.map(sensitivity);
    let mut props = Vec::new();
    if let Some(id) = crm_link {
        props.push(ExtendedProperty {
            id: graph::CRM_ACTIVITY_ID_PROP.into(),
            value: Some(id.into()),
        });
    }
    // The synced type is stamped on the event so the item pane shows it and a default-type change
    // later does not re-type old entries.
    let new_type = match &p.activity_type {
        Some(t) => t.as_deref(),
        None => activity_type,
    };
    if let Some(t) = new_type.filter(|_| crm_link.is_some() || p.activity_type.is_some()) {
        props.push(ExtendedProperty {
            id: graph::CRM_ACTIVITY_TYPE_PROP.into(),
            value: Some(t.into()),
        });
    }
    if !props.is_empty() {
        w.single_value_extended_properties = Some(props);
    }
    w
}

/// Plain text of an HTML body: tags dropped, block ends as new lines, common entities decoded.
pub fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    let mut tag = String::new();
    let mut skip_depth = 0usize; // inside <style> or <script>
    for ch in html.chars() {
        match (in_tag, ch) {
            (false, '<') => {
                in_tag = true;
                tag.clear();
            }
            (true, '>') => {
                in_tag = false;
                let name: String = tag
                    .trim_start_matches('/')
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric())
                    .collect::<String>()
                    .to_ascii_lowercase();
                let closing = tag.starts_with('/');
                if name == "style" || name == "script" {
                    if closing {
                        skip_depth = skip_depth.saturating_sub(1);
                    } else {
                        skip_depth += 1;
                    }
                }
                if matches!(
                    name.as_str(),
                    "br" | "p" | "div" | "li" | "tr" | "h1" | "h2" | "h3"
                ) && (closing || name == "br")
                {
                    out.push('\n');
                }
            }
            (true, c) => tag.push(c),
            (false, c) if skip_depth == 0 => out.push(c),
            _ => {}
        }
    }
    let decoded = out
        .replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    decoded
        .lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_bodies_become_plain_text() {
        assert_eq!(
            html_to_text(
                "<html><head><style>p{x:1}</style></head><body><p>Hei &amp; tervetuloa</p><p>Rivi 2<br>Rivi 3</p></body></html>"
            ),
            "Hei & tervetuloa\nRivi 2\nRivi 3"
        );
    }

    #[test]
    fn an_all_day_event_keeps_its_dates_through_graph() {
        let e = Event {
            id: "e1".into(),
            is_all_day: Some(true),
            start: Some(DateTimeTimeZone::local(
                NaiveDate::from_ymd_opt(2026, 12, 24)
                    .unwrap()
                    .and_time(NaiveTime::MIN),
                "UTC",
            )),
            end: Some(DateTimeTimeZone::local(
                NaiveDate::from_ymd_opt(2026, 12, 25)
                    .unwrap()
                    .and_time(NaiveTime::MIN),
                "UTC",
            )),
            ..Default::default()
        };
        let item = outlook_item(&e).unwrap();
        assert_eq!(
            item.content.when,
            When::AllDay {
                start: NaiveDate::from_ymd_opt(2026, 12, 24).unwrap(),
                end: NaiveDate::from_ymd_opt(2026, 12, 25).unwrap()
            }
        );
        let w = event_write(&item.content, "42");
        assert_eq!(w.start.unwrap().date_time, "2026-12-24T00:00:00");
        assert_eq!(w.is_all_day, Some(true));
    }

    #[test]
    fn an_all_day_activity_maps_to_crm_local_midnights_and_back() {
        let tz = chrono_tz::Europe::Helsinki;
        let c = Content {
            when: When::AllDay {
                start: NaiveDate::from_ymd_opt(2026, 6, 1).unwrap(),
                end: NaiveDate::from_ymd_opt(2026, 6, 2).unwrap(),
            },
            ..Content::timed("Juhannus", Utc::now(), Utc::now())
        };
        let n = new_activity(&c, tz);
        assert!(n.all_day);
        assert_eq!(
            n.start.with_timezone(&tz).format("%H:%M").to_string(),
            "00:00"
        );
    }
}
