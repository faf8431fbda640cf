//! The status table: one row per linked pair, the memory that lets the engine tell an edit from an echo
//! and a deletion from an entry that merely left the window.

use chrono::{DateTime, Datelike, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::model::{Content, CrmId, OutlookId, SeriesInstance, Side, When};

/// How the pair's content is projected between the sides ("Salaiset merkinnät").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Projection {
    /// Every field flows both ways.
    #[default]
    Full,
    /// The Outlook entry is private; the CRM holds a busy block of it.
    BusyBlockInCrm,
    /// The CRM activity is private; Outlook holds a busy block of it.
    BusyBlockInOutlook,
}

impl Projection {
    /// The side holding the private original, if this is a busy-block pair.
    pub fn private_side(self) -> Option<Side> {
        match self {
            Projection::Full => None,
            Projection::BusyBlockInCrm => Some(Side::Outlook),
            Projection::BusyBlockInOutlook => Some(Side::Crm),
        }
    }

    /// The side holding the busy block, if any.
    pub fn block_side(self) -> Option<Side> {
        self.private_side().map(Side::other)
    }
}

/// What we last knew about one side of a pair.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SideState {
    /// The version the side reported, or the one our own write returned. `None` when a write succeeded
    /// without telling us; the content hash then decides whether the side changed.
    pub version: Option<String>,
    /// SHA-256 (hex) of [`SideState::content`]; a changed version with an unchanged hash is not an edit.
    pub hash: String,
    /// The field values last synced on this side: the base of the three-way merge. For the private
    /// original of a busy-block pair the subject, body, location and attendees are blanked, so the
    /// status table never stores what the user chose to keep private.
    pub content: Content,
}

impl SideState {
    /// Stores `content` normalised, with its hash.
    pub fn new(version: Option<String>, content: Content) -> Self {
        Self::of_normalized(version, content.normalized())
    }

    pub(crate) fn of_normalized(version: Option<String>, content: Content) -> Self {
        SideState {
            version,
            hash: hash_normalized(&content),
            content,
        }
    }
}

/// One linked pair. The server stores rows per pairing; `crm_id` and `outlook_id` are each unique within a
/// pairing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusRow {
    pub crm_id: CrmId,
    pub outlook_id: OutlookId,
    pub outlook: SideState,
    pub crm: SideState,
    pub projection: Projection,
    /// The side the entry was first created on (informational; decisions never depend on it).
    pub origin: Side,
    /// The occurrence's place in its series, for occurrences of recurring events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub series: Option<SeriesInstance>,
    /// Set when this side's entry was deleted but the deletion was not allowed to propagate: the pair is
    /// frozen, so the survivor is neither deleted nor copied back as a new entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detached: Option<Side>,
    /// The `now` of the plan that last wrote this row.
    pub synced_at: DateTime<Utc>,
    /// Whether the event is known to carry our `CrmActivityId` property. The link on the event is what
    /// re-pairing adopts by, so a missing one is written even while the event is outside the window.
    #[serde(default = "yes")]
    pub outlook_tagged: bool,
}

fn yes() -> bool {
    true
}

impl StatusRow {
    pub fn key(&self) -> RowKey {
        RowKey {
            crm_id: self.crm_id.clone(),
            outlook_id: self.outlook_id.clone(),
        }
    }

    pub fn side(&self, side: Side) -> &SideState {
        match side {
            Side::Outlook => &self.outlook,
            Side::Crm => &self.crm,
        }
    }

    /// The pair's activity type as last synced. Edit/delete rules are judged by it, so re-typing an entry
    /// is itself governed by the type it had (and a deletion, which has no current type, can be judged).
    pub fn synced_type(&self) -> Option<&str> {
        self.crm.content.activity_type.as_deref()
    }

    /// When the pair happened as last synced.
    pub fn synced_when(&self) -> When {
        self.crm.content.when
    }
}

/// Identifies a status row; both ids are unique within a pairing.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RowKey {
    pub crm_id: CrmId,
    pub outlook_id: OutlookId,
}

/// A stable SHA-256 of normalised content, as lower-case hex.
///
/// The encoding is explicit (tagged, length-prefixed fields) rather than a serde format, so the hashes
/// stored in Postgres stay valid when a serialiser or field order changes.
pub fn content_hash(content: &Content) -> String {
    hash_normalized(&content.normalized())
}

/// [`content_hash`] of content that is already normalised (the planner's hot path).
pub(crate) fn hash_normalized(c: &Content) -> String {
    let mut h = Sha256::new();
    let mut put_num = |tag: &str, value: i64| {
        h.update(tag.as_bytes());
        h.update(value.to_le_bytes());
    };
    match c.when {
        When::Timed { start, end } => {
            put_num("timed.start", start.timestamp());
            put_num("timed.end", end.timestamp());
        }
        When::AllDay { start, end } => {
            put_num("allday.start", start.num_days_from_ce().into());
            put_num("allday.end", end.num_days_from_ce().into());
        }
    }
    let mut put = |tag: &str, value: &str| {
        h.update(tag.as_bytes());
        h.update((value.len() as u64).to_le_bytes());
        h.update(value.as_bytes());
    };
    put("subject", &c.subject);
    put("body", &c.body);
    put("location", &c.location);
    put("type", c.activity_type.as_deref().unwrap_or("\u{0}none"));
    put("status", c.status.as_deref().unwrap_or("\u{0}none"));
    put("private", if c.private { "1" } else { "0" });
    for a in &c.attendees {
        put("attendee", a);
    }
    hex(&h.finalize())
}

/// Lower-case hex without a formatting call per byte (hashing is on the planner's hot path).
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn content(subject: &str) -> Content {
        Content::timed(
            subject,
            Utc.with_ymd_and_hms(2026, 11, 25, 9, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(2026, 11, 25, 10, 0, 0).unwrap(),
        )
    }

    #[test]
    fn hash_ignores_differences_normalisation_removes() {
        let mut a = content("Call");
        a.body = "x\r\n".into();
        let mut b = content(" Call");
        b.body = "x".into();
        assert_eq!(content_hash(&a), content_hash(&b));
    }

    #[test]
    fn hash_changes_with_every_synced_field() {
        let base = content("Call");
        let h = content_hash(&base);
        let mut variants = Vec::new();
        let mut c = base.clone();
        c.subject = "Other".into();
        variants.push(c);
        let mut c = base.clone();
        c.body = "b".into();
        variants.push(c);
        let mut c = base.clone();
        c.location = "l".into();
        variants.push(c);
        let mut c = base.clone();
        c.activity_type = Some("Soitto".into());
        variants.push(c);
        let mut c = base.clone();
        c.status = Some("Tehty".into());
        variants.push(c);
        let mut c = base.clone();
        c.private = true;
        variants.push(c);
        let mut c = base.clone();
        c.attendees.insert("a@b.fi".into());
        variants.push(c);
        let mut c = base.clone();
        c.when = When::AllDay {
            start: chrono::NaiveDate::from_ymd_opt(2026, 11, 25).unwrap(),
            end: chrono::NaiveDate::from_ymd_opt(2026, 11, 26).unwrap(),
        };
        variants.push(c);
        for v in variants {
            assert_ne!(content_hash(&v), h, "{v:?}");
        }
    }

    #[test]
    fn hash_does_not_confuse_adjacent_fields() {
        // Without length prefixes "ab" + "" and "a" + "b" would hash alike.
        let mut a = content("ab");
        a.body = String::new();
        let mut b = content("a");
        b.body = "b".into();
        assert_ne!(content_hash(&a), content_hash(&b));
    }
}
