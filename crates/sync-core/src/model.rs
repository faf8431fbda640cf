//! The one normalised item model both sides are translated into before planning.
//!
//! The runner converts Graph events and CRM activities into [`OutlookItem`] and [`CrmItem`]; everything the
//! rules compare lives in [`Content`], which is the same type on both sides so that "is this the same
//! appointment?" is a plain equality after [`Content::normalized`].

use std::collections::BTreeSet;
use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// The immutable Graph event id (`Prefer: IdType="ImmutableId"`), so that moving an event between folders
/// does not look like a delete plus a create.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OutlookId(pub String);

/// A CRM-service activity id (numeric string in the API; kept opaque here).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CrmId(pub String);

impl fmt::Display for OutlookId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for CrmId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for OutlookId {
    fn from(s: &str) -> Self {
        Self(s.to_owned())
    }
}

impl From<&str> for CrmId {
    fn from(s: &str) -> Self {
        Self(s.to_owned())
    }
}

/// One of the two systems.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Outlook,
    Crm,
}

impl Side {
    pub fn other(self) -> Side {
        match self {
            Side::Outlook => Side::Crm,
            Side::Crm => Side::Outlook,
        }
    }
}

/// When an entry happens.
///
/// All-day entries are dates, not instants: storing them as UTC midnights is what shifts them by a day
/// when the two systems' time zones differ (the ±1 day bug in the research notes), so they keep date
/// semantics all the way through.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum When {
    /// A timed entry; both instants in UTC, `end >= start`.
    Timed {
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    },
    /// An all-day entry covering the dates `start..end` (end exclusive, like Graph and iCalendar).
    AllDay { start: NaiveDate, end: NaiveDate },
}

impl When {
    pub fn is_all_day(&self) -> bool {
        matches!(self, When::AllDay { .. })
    }
}

/// The fields that are synchronised, identical in shape on both sides.
///
/// Values are compared after [`Content::normalized`]; the runner should fill them as read (body as plain
/// text, attendees as e-mail addresses) and must be able to write back every field it reads, or the
/// difference will look like an edit on the next run.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Content {
    pub when: When,
    pub subject: String,
    /// Plain text body (Outlook HTML is flattened by the runner).
    pub body: String,
    pub location: String,
    /// The CRM activity type (picklist value). On the Outlook side this is the type chosen for the event in
    /// the item pane (our extended property); `None` there means "not chosen", and the default type applies.
    pub activity_type: Option<String>,
    /// The CRM activity status (picklist value). On the Outlook side the runner keeps it in an extended
    /// property so that it round-trips.
    pub status: Option<String>,
    /// Outlook sensitivity private/confidential, or the CRM `private` flag.
    pub private: bool,
    /// Outlook attendees / CRM related contacts, as lower-case e-mail addresses (the runner maps CRM contact
    /// ids to addresses and back).
    pub attendees: BTreeSet<String>,
}

impl Content {
    /// A minimal timed entry; handy for callers and tests.
    pub fn timed(subject: &str, start: DateTime<Utc>, end: DateTime<Utc>) -> Self {
        Content {
            when: When::Timed { start, end },
            subject: subject.to_owned(),
            body: String::new(),
            location: String::new(),
            activity_type: None,
            status: None,
            private: false,
            attendees: BTreeSet::new(),
        }
    }

    /// The canonical form used for every comparison and hash.
    ///
    /// Both systems mangle whitespace differently (Graph returns CRLF bodies, CRM trims), so without this an
    /// untouched item would read back "changed" and bounce between the systems forever.
    pub fn normalized(&self) -> Content {
        Content {
            when: match self.when {
                When::Timed { start, end } => When::Timed {
                    start,
                    end: end.max(start),
                },
                When::AllDay { start, end } => When::AllDay {
                    start,
                    // An all-day entry covers at least its first day.
                    end: end.max(start.succ_opt().unwrap_or(start)),
                },
            },
            subject: self.subject.trim().to_owned(),
            body: normalize_body(&self.body),
            location: self.location.trim().to_owned(),
            activity_type: normalize_opt(&self.activity_type),
            status: normalize_opt(&self.status),
            private: self.private,
            attendees: if self.attendees.iter().all(|a| is_normal_address(a)) {
                // Usually already normal; rebuilding the set would only allocate.
                self.attendees.clone()
            } else {
                self.attendees
                    .iter()
                    .map(|a| a.trim().to_lowercase())
                    .filter(|a| !a.is_empty())
                    .collect()
            },
        }
    }
}

fn normalize_opt(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn is_normal_address(a: &str) -> bool {
    !a.is_empty() && a.trim() == a && !a.chars().any(char::is_uppercase)
}

fn normalize_body(body: &str) -> String {
    // Most bodies are already normal (we wrote them, or the runner flattened them); check before copying.
    if !body.contains('\r') && body.trim() == body && body.lines().all(|l| l.trim_end() == l) {
        return body.to_owned();
    }
    let unified = body.replace("\r\n", "\n").replace('\r', "\n");
    let lines: Vec<&str> = unified.lines().map(str::trim_end).collect();
    lines.join("\n").trim().to_owned()
}

/// The subject as used for matching: case, surrounding and repeated whitespace do not matter.
pub fn match_subject(subject: &str) -> String {
    subject
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// Where an occurrence sits in its recurring series.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SeriesInstance {
    /// The series master's id (Graph `seriesMasterId`).
    pub series_id: OutlookId,
    /// The start the occurrence had in the series pattern (Graph `originalStart`), in UTC.
    pub original_start: DateTime<Utc>,
}

/// A calendar event as read from Graph, normalised.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutlookItem {
    pub id: OutlookId,
    /// Graph `changeKey`: any change to the event changes it.
    pub version: String,
    /// Graph `lastModifiedDateTime`; decides which side's edit is later in a same-field conflict.
    pub modified: DateTime<Utc>,
    /// Our `CrmActivityId` extended property, if the event carries one.
    pub crm_link: Option<CrmId>,
    /// `content.activity_type` is our chosen-type extended property.
    pub content: Content,
    /// Set for occurrences and exceptions of a recurring series.
    pub series: Option<SeriesInstance>,
    /// A series master is not an appointment of its own: its occurrences are synced one by one.
    pub series_master: bool,
    /// Graph `isCancelled`: a cancelled occurrence or meeting counts as a deletion.
    pub cancelled: bool,
}

/// A CRM activity as read from CRM-service, normalised (times converted to UTC with
/// [`crate::time::crm_local_to_utc`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrmItem {
    pub id: CrmId,
    /// Opaque version: any change to the activity must move it (the runner uses `updated_at` plus a
    /// digest of the attributes, since `updated_at` alone has one-second resolution).
    pub version: String,
    /// `updated_at`; decides which side's edit is later in a same-field conflict.
    pub modified: DateTime<Utc>,
    pub content: Content,
}

/// One synchronised field, as named in conflicts and patches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// Start, end and the all-day flag move together: merging a start from one side with an end from the
    /// other could produce an entry that ends before it starts.
    When,
    Subject,
    Body,
    Location,
    ActivityType,
    Status,
    Private,
    Attendees,
}

impl Field {
    pub const ALL: [Field; 8] = [
        Field::When,
        Field::Subject,
        Field::Body,
        Field::Location,
        Field::ActivityType,
        Field::Status,
        Field::Private,
        Field::Attendees,
    ];

    /// The fields a busy block replaces; they never flow out of a private original, nor back from a block.
    pub const CONTENT: [Field; 4] = [
        Field::Subject,
        Field::Body,
        Field::Location,
        Field::Attendees,
    ];

    pub fn is_content(self) -> bool {
        Field::CONTENT.contains(&self)
    }
}

/// The exact values to write to one side; `None` leaves the field alone, so CRM-only data such as linked
/// accounts and projects is never touched by an update.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Patch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<When>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// `Some(None)` clears the field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity_type: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attendees: Option<BTreeSet<String>>,
}

impl Patch {
    pub fn is_empty(&self) -> bool {
        self == &Patch::default()
    }

    /// The fields this patch writes.
    pub fn fields(&self) -> Vec<Field> {
        Field::ALL
            .into_iter()
            .filter(|f| match f {
                Field::When => self.when.is_some(),
                Field::Subject => self.subject.is_some(),
                Field::Body => self.body.is_some(),
                Field::Location => self.location.is_some(),
                Field::ActivityType => self.activity_type.is_some(),
                Field::Status => self.status.is_some(),
                Field::Private => self.private.is_some(),
                Field::Attendees => self.attendees.is_some(),
            })
            .collect()
    }

    /// Copies `field` from `from` into the patch.
    pub(crate) fn set_from(&mut self, field: Field, from: &Content) {
        match field {
            Field::When => self.when = Some(from.when),
            Field::Subject => self.subject = Some(from.subject.clone()),
            Field::Body => self.body = Some(from.body.clone()),
            Field::Location => self.location = Some(from.location.clone()),
            Field::ActivityType => self.activity_type = Some(from.activity_type.clone()),
            Field::Status => self.status = Some(from.status.clone()),
            Field::Private => self.private = Some(from.private),
            Field::Attendees => self.attendees = Some(from.attendees.clone()),
        }
    }

    /// What the side will hold after the patch is written.
    pub fn apply(&self, to: &Content) -> Content {
        let mut c = to.clone();
        if let Some(v) = self.when {
            c.when = v;
        }
        if let Some(v) = &self.subject {
            c.subject = v.clone();
        }
        if let Some(v) = &self.body {
            c.body = v.clone();
        }
        if let Some(v) = &self.location {
            c.location = v.clone();
        }
        if let Some(v) = &self.activity_type {
            c.activity_type = v.clone();
        }
        if let Some(v) = &self.status {
            c.status = v.clone();
        }
        if let Some(v) = self.private {
            c.private = v;
        }
        if let Some(v) = &self.attendees {
            c.attendees = v.clone();
        }
        c
    }
}

/// Whether `field` holds the same value in `a` and `b`.
pub(crate) fn field_eq(field: Field, a: &Content, b: &Content) -> bool {
    match field {
        Field::When => a.when == b.when,
        Field::Subject => a.subject == b.subject,
        Field::Body => a.body == b.body,
        Field::Location => a.location == b.location,
        Field::ActivityType => a.activity_type == b.activity_type,
        Field::Status => a.status == b.status,
        Field::Private => a.private == b.private,
        Field::Attendees => a.attendees == b.attendees,
    }
}

/// A short human-readable rendering of one field, for conflict records shown in the pane.
pub(crate) fn field_display(field: Field, c: &Content) -> String {
    match field {
        Field::When => match c.when {
            When::Timed { start, end } => format!("{} – {}", start.to_rfc3339(), end.to_rfc3339()),
            When::AllDay { start, end } => format!("{start} – {end} (all day)"),
        },
        Field::Subject => c.subject.clone(),
        Field::Body => c.body.clone(),
        Field::Location => c.location.clone(),
        Field::ActivityType => c.activity_type.clone().unwrap_or_default(),
        Field::Status => c.status.clone().unwrap_or_default(),
        Field::Private => c.private.to_string(),
        Field::Attendees => c.attendees.iter().cloned().collect::<Vec<_>>().join(", "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, h, 0, 0).unwrap()
    }

    #[test]
    fn normalization_makes_crlf_and_trailing_spaces_irrelevant() {
        let mut a = Content::timed(" Meeting ", t(9), t(10));
        a.body = "line one  \r\nline two\r\n".into();
        a.attendees = ["  Bob@Example.com ".to_owned()].into();
        let mut b = Content::timed("Meeting", t(9), t(10));
        b.body = "line one\nline two".into();
        b.attendees = ["bob@example.com".to_owned()].into();
        assert_eq!(a.normalized(), b.normalized());
    }

    #[test]
    fn normalization_turns_blank_type_into_none() {
        let mut a = Content::timed("x", t(9), t(10));
        a.activity_type = Some("  ".into());
        assert_eq!(a.normalized().activity_type, None);
    }

    #[test]
    fn match_subject_ignores_case_and_spacing() {
        assert_eq!(
            match_subject("  Sales   Call "),
            match_subject("sales call")
        );
        assert_ne!(match_subject("Sales call"), match_subject("Sales calls"));
    }

    #[test]
    fn patch_apply_writes_only_listed_fields() {
        let base = Content::timed("a", t(9), t(10));
        let mut other = Content::timed("b", t(11), t(12));
        other.location = "Room".into();
        let mut p = Patch::default();
        p.set_from(Field::Subject, &other);
        let out = p.apply(&base);
        assert_eq!(out.subject, "b");
        assert_eq!(out.when, base.when);
        assert_eq!(out.location, "");
        assert_eq!(p.fields(), vec![Field::Subject]);
    }
}
