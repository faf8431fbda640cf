//! Graph resources as the client reads and writes them (our own reading of the documentation;
//! unknown members are ignored, every member is optional because Graph omits what it likes,
//! e.g. occurrences in delta pages carry only a few members).

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{CRM_ACTIVITY_ID_PROP, CRM_ACTIVITY_TYPE_PROP, CRM_CONTACT_ID_PROP};

/// `GET /me/calendars` item.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Calendar {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub is_default_calendar: Option<bool>,
    #[serde(default)]
    pub can_edit: Option<bool>,
    #[serde(default)]
    pub change_key: Option<String>,
}

/// `dateTimeTimeZone`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DateTimeTimeZone {
    pub date_time: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
}

impl DateTimeTimeZone {
    /// A UTC instant as Graph wants it (`2024-04-15T12:00:00.0000000`, `UTC`).
    pub fn utc(t: DateTime<Utc>) -> Self {
        DateTimeTimeZone {
            date_time: format!(
                "{}.{:07}",
                t.format("%Y-%m-%dT%H:%M:%S"),
                t.timestamp_subsec_nanos() / 100
            ),
            time_zone: Some("UTC".into()),
        }
    }
    /// A wall-clock time in a named zone (IANA or Windows name).
    pub fn local(t: NaiveDateTime, zone: &str) -> Self {
        DateTimeTimeZone {
            date_time: t.format("%Y-%m-%dT%H:%M:%S").to_string(),
            time_zone: Some(zone.into()),
        }
    }
    /// The instant, when the zone is UTC (which we always ask for with `Prefer: outlook.timezone`).
    pub fn to_utc(&self) -> Option<DateTime<Utc>> {
        let tz = self.time_zone.as_deref().unwrap_or("UTC");
        if !tz.eq_ignore_ascii_case("utc") {
            return None;
        }
        NaiveDateTime::parse_from_str(self.date_time.trim_end_matches('Z'), "%Y-%m-%dT%H:%M:%S%.f")
            .ok()
            .map(|n| n.and_utc())
    }
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ItemBody {
    pub content_type: BodyType,
    pub content: String,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum BodyType {
    Text,
    Html,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Location {
    #[serde(default)]
    pub display_name: Option<String>,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct EmailAddress {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Recipient {
    pub email_address: EmailAddress,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Attendee {
    pub email_address: EmailAddress,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<AttendeeType>,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum AttendeeType {
    Required,
    Optional,
    Resource,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum Sensitivity {
    Normal,
    Personal,
    Private,
    Confidential,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum ShowAs {
    Unknown,
    Free,
    Tentative,
    Busy,
    Oof,
    WorkingElsewhere,
}

#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum EventType {
    SingleInstance,
    Occurrence,
    Exception,
    SeriesMaster,
}

/// A single-value extended property.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct ExtendedProperty {
    pub id: String,
    pub value: Option<String>,
}

/// An event as read. `start`/`end` are in UTC because every call asks for UTC.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    pub id: String,
    #[serde(default, rename = "iCalUId")]
    pub ical_uid: Option<String>,
    #[serde(default)]
    pub change_key: Option<String>,
    #[serde(default)]
    pub last_modified_date_time: Option<DateTime<Utc>>,
    #[serde(default)]
    pub subject: Option<String>,
    #[serde(default)]
    pub body: Option<ItemBody>,
    #[serde(default)]
    pub start: Option<DateTimeTimeZone>,
    #[serde(default)]
    pub end: Option<DateTimeTimeZone>,
    #[serde(default)]
    pub is_all_day: Option<bool>,
    #[serde(default)]
    pub location: Option<Location>,
    #[serde(default)]
    pub sensitivity: Option<Sensitivity>,
    #[serde(default)]
    pub show_as: Option<ShowAs>,
    #[serde(default)]
    pub categories: Option<Vec<String>>,
    #[serde(default)]
    pub attendees: Option<Vec<Attendee>>,
    #[serde(default)]
    pub organizer: Option<Recipient>,
    #[serde(default, rename = "type")]
    pub kind: Option<EventType>,
    #[serde(default)]
    pub series_master_id: Option<String>,
    #[serde(default)]
    pub is_cancelled: Option<bool>,
    #[serde(default)]
    pub transaction_id: Option<String>,
    #[serde(default)]
    pub recurrence: Option<serde_json::Value>,
    #[serde(default)]
    pub original_start: Option<DateTime<Utc>>,
    #[serde(default)]
    pub single_value_extended_properties: Option<Vec<ExtendedProperty>>,
}

fn prop<'a>(props: &'a Option<Vec<ExtendedProperty>>, id: &str) -> Option<&'a str> {
    props
        .as_ref()?
        .iter()
        .find(|p| p.id.eq_ignore_ascii_case(id))
        .and_then(|p| p.value.as_deref())
}

impl Event {
    /// Our CRM activity id, when the event was read with extended properties expanded.
    pub fn crm_activity_id(&self) -> Option<&str> {
        prop(&self.single_value_extended_properties, CRM_ACTIVITY_ID_PROP)
    }
    /// The activity type chosen for the event in the item pane.
    pub fn crm_activity_type(&self) -> Option<&str> {
        prop(
            &self.single_value_extended_properties,
            CRM_ACTIVITY_TYPE_PROP,
        )
    }
    /// Start as a UTC instant.
    pub fn start_utc(&self) -> Option<DateTime<Utc>> {
        self.start.as_ref()?.to_utc()
    }
    /// End as a UTC instant.
    pub fn end_utc(&self) -> Option<DateTime<Utc>> {
        self.end.as_ref()?.to_utc()
    }
    /// Private or confidential.
    pub fn is_private(&self) -> bool {
        matches!(
            self.sensitivity,
            Some(Sensitivity::Private | Sensitivity::Confidential)
        )
    }
}

/// What we write on an event (create or update); `None` members are left out of the body.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct EventWrite {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<ItemBody>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<DateTimeTimeZone>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end: Option<DateTimeTimeZone>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_all_day: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sensitivity: Option<Sensitivity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub show_as: Option<ShowAs>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub categories: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attendees: Option<Vec<Attendee>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub single_value_extended_properties: Option<Vec<ExtendedProperty>>,
}

impl EventWrite {
    /// Sets our marks (activity id and, when given, the chosen activity type).
    pub fn with_crm_marks(mut self, activity_id: &str, activity_type: Option<&str>) -> Self {
        let mut props = vec![ExtendedProperty {
            id: CRM_ACTIVITY_ID_PROP.into(),
            value: Some(activity_id.into()),
        }];
        if let Some(t) = activity_type {
            props.push(ExtendedProperty {
                id: CRM_ACTIVITY_TYPE_PROP.into(),
                value: Some(t.into()),
            });
        }
        self.single_value_extended_properties = Some(props);
        self
    }
}

/// A contact as read.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Contact {
    pub id: String,
    #[serde(default)]
    pub change_key: Option<String>,
    #[serde(default)]
    pub parent_folder_id: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub given_name: Option<String>,
    #[serde(default)]
    pub surname: Option<String>,
    #[serde(default)]
    pub company_name: Option<String>,
    #[serde(default)]
    pub job_title: Option<String>,
    #[serde(default)]
    pub email_addresses: Option<Vec<EmailAddress>>,
    #[serde(default)]
    pub business_phones: Option<Vec<String>>,
    #[serde(default)]
    pub mobile_phone: Option<String>,
    #[serde(default)]
    pub single_value_extended_properties: Option<Vec<ExtendedProperty>>,
}

impl Contact {
    pub fn crm_contact_id(&self) -> Option<&str> {
        prop(&self.single_value_extended_properties, CRM_CONTACT_ID_PROP)
    }
}

/// `contactFolder`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ContactFolder {
    pub id: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub parent_folder_id: Option<String>,
}

/// A message as read for "save to CRM" and mail archiving.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    pub id: String,
    #[serde(default)]
    pub change_key: Option<String>,
    #[serde(default)]
    pub subject: Option<String>,
    #[serde(default)]
    pub body: Option<ItemBody>,
    #[serde(default)]
    pub body_preview: Option<String>,
    #[serde(default)]
    pub from: Option<Recipient>,
    #[serde(default)]
    pub to_recipients: Option<Vec<Recipient>>,
    #[serde(default)]
    pub cc_recipients: Option<Vec<Recipient>>,
    #[serde(default)]
    pub sent_date_time: Option<DateTime<Utc>>,
    #[serde(default)]
    pub received_date_time: Option<DateTime<Utc>>,
    #[serde(default)]
    pub internet_message_id: Option<String>,
    #[serde(default)]
    pub conversation_id: Option<String>,
    #[serde(default)]
    pub parent_folder_id: Option<String>,
    #[serde(default)]
    pub has_attachments: Option<bool>,
    #[serde(default)]
    pub is_draft: Option<bool>,
    /// Expanded on reads: [`MESSAGE_SENSITIVITY_PROPERTY`] (v1.0 messages have no `sensitivity`).
    #[serde(default)]
    pub single_value_extended_properties: Option<Vec<ExtendedProperty>>,
}

/// PidTagSensitivity: 0 normal, 1 personal, 2 private, 3 confidential. Graph v1.0 exposes a message's
/// sensitivity only as this MAPI property.
pub const MESSAGE_SENSITIVITY_PROPERTY: &str = "Integer 0x0036";

impl Message {
    /// The sensitivity from [`MESSAGE_SENSITIVITY_PROPERTY`] (normal when absent).
    pub fn sensitivity(&self) -> Sensitivity {
        let v = self
            .single_value_extended_properties
            .iter()
            .flatten()
            .find(|p| p.id.eq_ignore_ascii_case(MESSAGE_SENSITIVITY_PROPERTY))
            .and_then(|p| p.value.as_deref())
            .and_then(|v| v.trim().parse::<u8>().ok());
        match v {
            Some(1) => Sensitivity::Personal,
            Some(2) => Sensitivity::Private,
            Some(3) => Sensitivity::Confidential,
            _ => Sensitivity::Normal,
        }
    }

    /// Private or confidential (the same rule as [`Event::is_private`]).
    pub fn is_private(&self) -> bool {
        matches!(
            self.sensitivity(),
            Sensitivity::Private | Sensitivity::Confidential
        )
    }

    /// Every address on the message (sender, to, cc), trimmed and lower-cased, each once.
    pub fn addresses(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .from
            .iter()
            .chain(self.to_recipients.iter().flatten())
            .chain(self.cc_recipients.iter().flatten())
            .filter_map(|r| r.email_address.address.as_deref())
            .map(|a| a.trim().to_lowercase())
            .filter(|a| a.contains('@'))
            .collect();
        out.sort();
        out.dedup();
        out
    }
}

/// A message attachment's metadata (`GET /me/messages/{id}/attachments` without the content).
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AttachmentInfo {
    pub id: String,
    #[serde(rename = "@odata.type", default)]
    pub odata_type: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub content_type: Option<String>,
    #[serde(default)]
    pub size: u64,
    #[serde(default)]
    pub is_inline: bool,
}

impl AttachmentInfo {
    /// A file (not an attached Outlook item or a cloud link): only these have bytes to upload.
    pub fn is_file(&self) -> bool {
        self.odata_type
            .as_deref()
            .is_none_or(|t| t.eq_ignore_ascii_case("#microsoft.graph.fileAttachment"))
    }
}

/// `GET /me`: who the mailbox belongs to (pairing checks the address matches).
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub id: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub mail: Option<String>,
    #[serde(default)]
    pub user_principal_name: Option<String>,
}
