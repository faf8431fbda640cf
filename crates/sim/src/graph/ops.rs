//! Mailbox operations shared by the Graph routes and the admin API ("as the user would in Outlook").

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::model::{
    AttachmentRec, Calendar, ContactFolder, ContactRec, EventRec, ExceptionRec, ExpandExt,
    MailFolder, Mailbox, MessageRec, RenderCtx, When, check_recurrence, ext_key, new_change_key,
    new_id, parse_ext, render_event,
};
use super::{DEFAULT_TENANT_ID, GraphSim, SimError};

/// A mailbox to create.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MailboxSpec {
    pub email: String,
    pub display_name: String,
    /// IANA name, e.g. `Europe/Helsinki`.
    pub time_zone: String,
    /// Calendars besides the default "Calendar".
    #[serde(default)]
    pub calendars: Vec<String>,
    #[serde(default)]
    pub tenant_id: Option<String>,
    #[serde(default)]
    pub user_id: Option<String>,
}

/// What a mailbox looks like from the outside.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct MailboxInfo {
    pub email: String,
    pub display_name: String,
    pub time_zone: String,
    pub user_id: String,
    pub tenant_id: String,
    /// (id, name, is default)
    pub calendars: Vec<(String, String, bool)>,
    /// (id, name)
    pub contact_folders: Vec<(String, String)>,
    /// (id, well-known name)
    pub mail_folders: Vec<(String, String)>,
}

/// A change that subscriptions may need to hear about.
#[derive(Clone, Debug)]
pub(crate) struct Change {
    pub email: String,
    /// `Events`, `Messages` or `Contacts`.
    pub collection: &'static str,
    pub calendar_id: Option<String>,
    pub folder_id: Option<String>,
    pub id: String,
    pub change_key: String,
    pub change_type: &'static str,
}

const EVENT_WRITABLE: &[&str] = &[
    "subject",
    "body",
    "location",
    "sensitivity",
    "showAs",
    "categories",
    "attendees",
    "importance",
    "isReminderOn",
    "reminderMinutesBeforeStart",
    "responseRequested",
    "allowNewTimeProposals",
    "hideAttendees",
];
/// Members that exist on `event` but are ignored or handled separately when written.
const EVENT_OTHER: &[&str] = &[
    "start",
    "end",
    "isAllDay",
    "recurrence",
    "transactionId",
    "singleValueExtendedProperties",
    "multiValueExtendedProperties",
    "id",
    "changeKey",
    "createdDateTime",
    "lastModifiedDateTime",
    "iCalUId",
    "type",
    "seriesMasterId",
    "organizer",
    "isOrganizer",
    "isCancelled",
    "isDraft",
    "isOnlineMeeting",
    "onlineMeeting",
    "onlineMeetingProvider",
    "onlineMeetingUrl",
    "originalStartTimeZone",
    "originalEndTimeZone",
    "originalStart",
    "locations",
    "bodyPreview",
    "hasAttachments",
    "webLink",
    "responseStatus",
    "cancelledOccurrences",
];

fn check_enum(body: &Value, key: &str, allowed: &[&str]) -> Result<(), SimError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(()),
        Some(Value::String(s)) if allowed.contains(&s.as_str()) => Ok(()),
        Some(v) => Err(SimError::new(
            400,
            "RequestBodyRead",
            format!("Requested value '{v}' was not found for property '{key}'."),
        )),
    }
}

fn check_event_body(body: &Value) -> Result<&Map<String, Value>, SimError> {
    let obj = body.as_object().ok_or_else(|| {
        SimError::new(
            400,
            "RequestBodyRead",
            "The request body must be a JSON object.",
        )
    })?;
    for k in obj.keys() {
        if k.contains('@') {
            continue;
        }
        if !EVENT_WRITABLE.contains(&k.as_str()) && !EVENT_OTHER.contains(&k.as_str()) {
            return Err(SimError::new(
                400,
                "RequestBodyRead",
                format!(
                    "The property '{k}' does not exist on type 'microsoft.graph.event'. Make sure to only use property names that are defined by the type or mark the type as open type."
                ),
            ));
        }
    }
    check_enum(
        body,
        "sensitivity",
        &["normal", "personal", "private", "confidential"],
    )?;
    check_enum(
        body,
        "showAs",
        &[
            "unknown",
            "free",
            "tentative",
            "busy",
            "oof",
            "workingElsewhere",
        ],
    )?;
    check_enum(body, "importance", &["low", "normal", "high"])?;
    if let Some(b) = obj.get("body").filter(|b| !b.is_null()) {
        check_enum(b, "contentType", &["text", "html"])?;
    }
    if let Some(a) = obj.get("attendees").filter(|a| !a.is_null()) {
        for at in a
            .as_array()
            .ok_or_else(|| SimError::new(400, "RequestBodyRead", "attendees must be an array"))?
        {
            check_enum(at, "type", &["required", "optional", "resource"])?;
        }
    }
    if let Some(c) = obj.get("categories").filter(|c| !c.is_null())
        && !c.as_array().is_some_and(|a| a.iter().all(Value::is_string))
    {
        return Err(SimError::new(
            400,
            "RequestBodyRead",
            "categories must be an array of strings",
        ));
    }
    Ok(obj)
}

fn parse_when(v: Option<&Value>, which: &str) -> Result<When, SimError> {
    let v = v.ok_or_else(|| {
        SimError::new(
            400,
            "ErrorInvalidRequest",
            format!("'{which}' is required."),
        )
    })?;
    When::parse(v).map_err(|m| {
        if m.contains("time zone") {
            SimError::new(400, "TimeZoneNotSupportedException", m)
        } else {
            SimError::new(400, "ErrorInvalidRequest", m)
        }
    })
}

fn check_times(start: &When, end: &When, all_day: bool) -> Result<(), SimError> {
    if end.utc() < start.utc() {
        return Err(SimError::new(
            400,
            "ErrorInvalidRequest",
            "The end time must be after the start time.",
        ));
    }
    if all_day
        && (start.local.time() != chrono::NaiveTime::MIN
            || end.local.time() != chrono::NaiveTime::MIN
            || end.local <= start.local)
    {
        return Err(SimError::new(
            400,
            "ErrorPropertyValidationFailure",
            "When an event is all-day, the start and end times must be midnight and the event must last at least a day.",
        ));
    }
    Ok(())
}

fn apply_ext(ext: &mut BTreeMap<String, (String, String)>, v: &Value) -> Result<(), SimError> {
    for (id, value) in parse_ext(v).map_err(|m| SimError::new(400, "ErrorInvalidProperty", m))? {
        ext.insert(ext_key(&id), (id, value));
    }
    Ok(())
}

pub(crate) fn etag_matches(if_match: Option<&str>, change_key: &str) -> bool {
    match if_match {
        None => true,
        Some(m) => {
            let m = m.trim();
            m == "*" || m.trim_start_matches("W/").trim_matches('"') == change_key
        }
    }
}

fn precondition_failed() -> SimError {
    SimError::new(
        412,
        "ErrorIrresolvableConflict",
        "The send or update operation could not be performed because the change key passed in the request does not match the current change key for the item.",
    )
}

impl Mailbox {
    /// Creates an event; a repeated `transactionId` returns the event created first.
    pub(crate) fn create_event(
        &mut self,
        calendar_id: &str,
        body: &Value,
    ) -> Result<(String, bool), SimError> {
        let obj = check_event_body(body)?;
        if let Some(tx) = obj.get("transactionId").and_then(Value::as_str)
            && let Some(e) = self
                .events
                .values()
                .find(|e| e.transaction_id.as_deref() == Some(tx))
        {
            return Ok((e.id.clone(), false));
        }
        let all_day = obj
            .get("isAllDay")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let start = parse_when(obj.get("start"), "start")?;
        let end = parse_when(obj.get("end"), "end")?;
        check_times(&start, &end, all_day)?;
        let recurrence = match obj.get("recurrence") {
            None | Some(Value::Null) => None,
            Some(r) => {
                check_recurrence(r)
                    .map_err(|m| SimError::new(400, "ErrorPropertyValidationFailure", m))?;
                Some(r.clone())
            }
        };
        let mut fields = Map::new();
        for k in EVENT_WRITABLE {
            if let Some(v) = obj.get(*k).filter(|v| !v.is_null()) {
                fields.insert((*k).to_string(), v.clone());
            }
        }
        let mut ext = BTreeMap::new();
        if let Some(v) = obj.get("singleValueExtendedProperties") {
            apply_ext(&mut ext, v)?;
        }
        let now = Utc::now();
        let id = new_id("AAMkAGI");
        let uid: [u8; 16] = rand::random();
        let ical_uid = format!(
            "040000008200E00074C5B7101A82E008000000000000000000000000000000001000000{}",
            uid.iter().map(|b| format!("{b:02X}")).collect::<String>()
        );
        self.events.insert(
            id.clone(),
            EventRec {
                id: id.clone(),
                calendar_id: calendar_id.to_string(),
                ical_uid,
                change_key: new_change_key(),
                created: now,
                modified: now,
                start,
                end,
                all_day,
                fields,
                recurrence,
                ext,
                transaction_id: obj
                    .get("transactionId")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                exceptions: BTreeMap::new(),
                cancelled: BTreeSet::new(),
            },
        );
        Ok((id, true))
    }

    /// Updates an event, an occurrence (which becomes an exception) or an exception.
    /// Returns the id of the item changed and its new change key.
    pub(crate) fn patch_event(
        &mut self,
        id: &str,
        body: &Value,
        if_match: Option<&str>,
    ) -> Result<(String, String), SimError> {
        let obj = check_event_body(body)?;
        let (master_id, date) = self
            .resolve(id)
            .ok_or_else(|| SimError::not_found("event"))?;
        let ev = self.events.get_mut(&master_id).expect("resolved");
        let now = Utc::now();
        match date {
            None => {
                if !etag_matches(if_match, &ev.change_key) {
                    return Err(precondition_failed());
                }
                let all_day = obj
                    .get("isAllDay")
                    .and_then(Value::as_bool)
                    .unwrap_or(ev.all_day);
                let start = match obj.get("start") {
                    Some(v) => parse_when(Some(v), "start")?,
                    None => ev.start.clone(),
                };
                let end = match obj.get("end") {
                    Some(v) => parse_when(Some(v), "end")?,
                    None => ev.end.clone(),
                };
                check_times(&start, &end, all_day)?;
                if let Some(r) = obj.get("recurrence") {
                    if r.is_null() {
                        ev.recurrence = None;
                        ev.exceptions.clear();
                        ev.cancelled.clear();
                    } else {
                        check_recurrence(r)
                            .map_err(|m| SimError::new(400, "ErrorPropertyValidationFailure", m))?;
                        ev.recurrence = Some(r.clone());
                    }
                }
                if let Some(v) = obj.get("singleValueExtendedProperties") {
                    apply_ext(&mut ev.ext, v)?;
                }
                for k in EVENT_WRITABLE {
                    match obj.get(*k) {
                        Some(Value::Null) => {
                            ev.fields.remove(*k);
                        }
                        Some(v) => {
                            ev.fields.insert((*k).to_string(), v.clone());
                        }
                        None => {}
                    }
                }
                ev.start = start;
                ev.end = end;
                ev.all_day = all_day;
                ev.change_key = new_change_key();
                ev.modified = now;
                Ok((ev.id.clone(), ev.change_key.clone()))
            }
            Some(d) => {
                let (s0, e0) = ev.occurrence_times(d);
                let x = ev.exceptions.entry(d).or_insert_with(|| ExceptionRec {
                    id: id.to_string(),
                    change_key: ev.change_key.clone(),
                    modified: now,
                    start: s0,
                    end: e0,
                    fields: Map::new(),
                    ext: BTreeMap::new(),
                });
                if !etag_matches(if_match, &x.change_key) {
                    return Err(precondition_failed());
                }
                let start = match obj.get("start") {
                    Some(v) => parse_when(Some(v), "start")?,
                    None => x.start.clone(),
                };
                let end = match obj.get("end") {
                    Some(v) => parse_when(Some(v), "end")?,
                    None => x.end.clone(),
                };
                check_times(&start, &end, ev.all_day)?;
                if let Some(v) = obj.get("singleValueExtendedProperties") {
                    apply_ext(&mut x.ext, v)?;
                }
                for k in EVENT_WRITABLE {
                    if let Some(v) = obj.get(*k) {
                        x.fields.insert((*k).to_string(), v.clone());
                    }
                }
                x.start = start;
                x.end = end;
                x.change_key = new_change_key();
                x.modified = now;
                Ok((x.id.clone(), x.change_key.clone()))
            }
        }
    }

    /// Deletes an event; deleting an occurrence or exception cancels that occurrence.
    pub(crate) fn delete_event(
        &mut self,
        id: &str,
        if_match: Option<&str>,
    ) -> Result<String, SimError> {
        let (master_id, date) = self
            .resolve(id)
            .ok_or_else(|| SimError::not_found("event"))?;
        let ev = self.events.get_mut(&master_id).expect("resolved");
        match date {
            None => {
                if !etag_matches(if_match, &ev.change_key) {
                    return Err(precondition_failed());
                }
                self.events.remove(&master_id);
            }
            Some(d) => {
                let ck = ev
                    .exceptions
                    .get(&d)
                    .map(|x| x.change_key.clone())
                    .unwrap_or(ev.change_key.clone());
                if !etag_matches(if_match, &ck) {
                    return Err(precondition_failed());
                }
                ev.exceptions.remove(&d);
                ev.cancelled.insert(d);
                ev.change_key = new_change_key();
                ev.modified = Utc::now();
            }
        }
        Ok(master_id)
    }

    pub(crate) fn render_ctx<'a>(
        &self,
        tz: chrono_tz::Tz,
        tz_name: &'a str,
        expand: &'a ExpandExt,
    ) -> RenderCtx<'a> {
        RenderCtx {
            tz,
            tz_name,
            expand,
            organizer: self.organizer(),
        }
    }

    /// Renders the item an id points at (master, single, occurrence or exception).
    pub(crate) fn render_by_id(&self, id: &str, ctx: &RenderCtx) -> Option<Value> {
        let (master_id, date) = self.resolve(id)?;
        let ev = self.events.get(&master_id)?;
        match date {
            None => Some(render_event(ev, None, ctx)),
            Some(d) => {
                let (s, e) = match ev.exceptions.get(&d) {
                    Some(x) => (x.start.utc(), x.end.utc()),
                    None => {
                        let (s, e) = ev.occurrence_times(d);
                        (s.utc(), e.utc())
                    }
                };
                let inst = ev
                    .instances(
                        s - chrono::Duration::seconds(1),
                        e + chrono::Duration::seconds(1),
                    )
                    .into_iter()
                    .find(|i| i.id == id)?;
                Some(render_event(ev, Some(&inst), ctx))
            }
        }
    }

    pub(crate) fn folder_by_name_or_id(&self, name_or_id: &str) -> Option<&MailFolder> {
        self.mail_folders
            .iter()
            .find(|f| f.id == name_or_id || f.well_known.eq_ignore_ascii_case(name_or_id))
    }

    pub(crate) fn create_contact(
        &mut self,
        folder_id: &str,
        body: &Value,
    ) -> Result<String, SimError> {
        let obj = body.as_object().ok_or_else(|| {
            SimError::new(
                400,
                "RequestBodyRead",
                "The request body must be a JSON object.",
            )
        })?;
        let mut fields = Map::new();
        let mut ext = BTreeMap::new();
        for (k, v) in obj {
            if k == "singleValueExtendedProperties" {
                apply_ext(&mut ext, v)?;
            } else if !k.contains('@')
                && ![
                    "id",
                    "changeKey",
                    "parentFolderId",
                    "createdDateTime",
                    "lastModifiedDateTime",
                ]
                .contains(&k.as_str())
            {
                fields.insert(k.clone(), v.clone());
            }
        }
        if !fields.contains_key("displayName") {
            let dn = [fields.get("givenName"), fields.get("surname")]
                .iter()
                .filter_map(|v| v.and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join(" ");
            fields.insert("displayName".into(), json!(dn));
        }
        let now = Utc::now();
        let id = new_id("AAMkAGC");
        self.contacts.insert(
            id.clone(),
            ContactRec {
                id: id.clone(),
                folder_id: folder_id.to_string(),
                change_key: new_change_key(),
                created: now,
                modified: now,
                fields,
                ext,
            },
        );
        Ok(id)
    }

    pub(crate) fn patch_contact(&mut self, id: &str, body: &Value) -> Result<(), SimError> {
        let c = self
            .contacts
            .get_mut(id)
            .ok_or_else(|| SimError::not_found("contact"))?;
        let obj = body.as_object().ok_or_else(|| {
            SimError::new(
                400,
                "RequestBodyRead",
                "The request body must be a JSON object.",
            )
        })?;
        for (k, v) in obj {
            if k == "singleValueExtendedProperties" {
                apply_ext(&mut c.ext, v)?;
            } else if !k.contains('@')
                && !["id", "changeKey", "parentFolderId"].contains(&k.as_str())
            {
                c.fields.insert(k.clone(), v.clone());
            }
        }
        c.change_key = new_change_key();
        c.modified = Utc::now();
        Ok(())
    }

    pub(crate) fn add_message(
        &mut self,
        folder_id: &str,
        body: &Value,
    ) -> Result<String, SimError> {
        let obj = body.as_object().ok_or_else(|| {
            SimError::new(
                400,
                "RequestBodyRead",
                "The request body must be a JSON object.",
            )
        })?;
        let now = Utc::now();
        let id = new_id("AAMkAGM");
        let mut fields = obj.clone();
        fields.remove("id");
        fields.remove("hasAttachments");
        let mut ext = BTreeMap::new();
        if let Some(v) = fields.remove("singleValueExtendedProperties") {
            apply_ext(&mut ext, &v)?;
        }
        let attachments = match fields.remove("attachments") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(list)) => list
                .iter()
                .map(|a| parse_attachment(a, now))
                .collect::<Result<Vec<_>, _>>()?,
            Some(_) => {
                return Err(SimError::new(
                    400,
                    "RequestBodyRead",
                    "attachments must be an array.",
                ));
            }
        };
        let sent = fields
            .get("sentDateTime")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| super::model::fmt_utc(now));
        fields.entry("sentDateTime").or_insert(json!(sent));
        fields.entry("receivedDateTime").or_insert(json!(sent));
        fields
            .entry("internetMessageId")
            .or_insert_with(|| json!(format!("<{}@esimerkki.fi>", uuid::Uuid::new_v4().simple())));
        fields
            .entry("conversationId")
            .or_insert_with(|| json!(new_id("AAQkAGC")));
        fields.entry("toRecipients").or_insert(json!([]));
        fields
            .entry("body")
            .or_insert(json!({"contentType": "text", "content": ""}));
        self.messages.insert(
            id.clone(),
            MessageRec {
                id: id.clone(),
                folder_id: folder_id.to_string(),
                change_key: new_change_key(),
                created: now,
                modified: now,
                fields,
                attachments,
                ext,
            },
        );
        Ok(id)
    }
}

/// A `fileAttachment` (`name`, `contentType`, base64 `contentBytes`, `isInline`) as posted to Graph.
fn parse_attachment(a: &Value, now: chrono::DateTime<Utc>) -> Result<AttachmentRec, SimError> {
    use base64::Engine as _;
    let bad = |m: &str| SimError::new(400, "ErrorInvalidRequest", m.to_string());
    let kind = a
        .get("@odata.type")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("An attachment needs @odata.type."))?;
    if kind != "#microsoft.graph.fileAttachment" {
        return Err(bad("Only #microsoft.graph.fileAttachment can be seeded."));
    }
    let name = a
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("An attachment needs a name."))?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(a.get("contentBytes").and_then(Value::as_str).unwrap_or(""))
        .map_err(|_| bad("contentBytes is not base64."))?;
    Ok(AttachmentRec {
        id: new_id("AAMkAGA"),
        odata_type: kind.to_string(),
        name: name.to_string(),
        content_type: a
            .get("contentType")
            .and_then(Value::as_str)
            .unwrap_or("application/octet-stream")
            .to_string(),
        is_inline: a.get("isInline").and_then(Value::as_bool).unwrap_or(false),
        modified: now,
        bytes: std::sync::Arc::new(bytes),
    })
}

impl GraphSim {
    pub(crate) fn with_mailbox<R>(
        &self,
        email: &str,
        f: impl FnOnce(&mut Mailbox) -> R,
    ) -> Result<R, SimError> {
        let mut st = self.inner.state.lock();
        let mb = st
            .mailboxes
            .get_mut(&email.to_ascii_lowercase())
            .ok_or_else(|| {
                SimError::new(
                    404,
                    "MailboxNotEnabledForRESTAPI",
                    format!("No mailbox for '{email}'."),
                )
            })?;
        Ok(f(mb))
    }

    /// Creates a mailbox with its default "Calendar", any extra calendars, the default contact
    /// folder ("Contacts") and the mail folders Inbox and Sent Items.
    pub fn create_mailbox(&self, spec: MailboxSpec) -> Result<MailboxInfo, SimError> {
        if super::model::parse_tz(&spec.time_zone).is_none() {
            return Err(SimError::new(
                400,
                "TimeZoneNotSupportedException",
                spec.time_zone,
            ));
        }
        let email = spec.email.to_ascii_lowercase();
        {
            let mut st = self.inner.state.lock();
            if st.mailboxes.contains_key(&email) {
                return Err(SimError::new(
                    409,
                    "ErrorMailboxExists",
                    format!("{email} exists"),
                ));
            }
            let cal = |name: &str, default: bool| Calendar {
                id: new_id("AAMkAGK"),
                name: name.to_string(),
                is_default: default,
                can_edit: true,
                change_key: new_change_key(),
                color: "auto".into(),
            };
            let mut calendars = vec![cal("Calendar", true)];
            calendars.extend(spec.calendars.iter().map(|n| cal(n, false)));
            let root = new_id("AAMkAGR");
            st.mailboxes.insert(
                email.clone(),
                Mailbox {
                    user_id: spec
                        .user_id
                        .clone()
                        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
                    tenant_id: spec
                        .tenant_id
                        .clone()
                        .unwrap_or_else(|| DEFAULT_TENANT_ID.to_string()),
                    email: email.clone(),
                    display_name: spec.display_name.clone(),
                    time_zone: spec.time_zone.clone(),
                    calendars,
                    events: BTreeMap::new(),
                    contact_folders: vec![ContactFolder {
                        id: new_id("AAMkAGF"),
                        name: "Contacts".into(),
                        parent: root,
                    }],
                    contacts: BTreeMap::new(),
                    mail_folders: vec![
                        MailFolder {
                            id: new_id("AAMkAGI"),
                            well_known: "inbox".into(),
                            name: "Inbox".into(),
                        },
                        MailFolder {
                            id: new_id("AAMkAGS"),
                            well_known: "sentitems".into(),
                            name: "Sent Items".into(),
                        },
                    ],
                    messages: BTreeMap::new(),
                },
            );
        }
        Ok(self.mailbox_info(&email).expect("just created"))
    }

    pub fn mailbox_info(&self, email: &str) -> Option<MailboxInfo> {
        self.with_mailbox(email, |mb| MailboxInfo {
            email: mb.email.clone(),
            display_name: mb.display_name.clone(),
            time_zone: mb.time_zone.clone(),
            user_id: mb.user_id.clone(),
            tenant_id: mb.tenant_id.clone(),
            calendars: mb
                .calendars
                .iter()
                .map(|c| (c.id.clone(), c.name.clone(), c.is_default))
                .collect(),
            contact_folders: mb
                .contact_folders
                .iter()
                .map(|c| (c.id.clone(), c.name.clone()))
                .collect(),
            mail_folders: mb
                .mail_folders
                .iter()
                .map(|c| (c.id.clone(), c.well_known.clone()))
                .collect(),
        })
        .ok()
    }

    /// Adds a calendar; returns its id.
    pub fn add_calendar(&self, email: &str, name: &str) -> Result<String, SimError> {
        self.with_mailbox(email, |mb| {
            let id = new_id("AAMkAGK");
            mb.calendars.push(Calendar {
                id: id.clone(),
                name: name.into(),
                is_default: false,
                can_edit: true,
                change_key: new_change_key(),
                color: "auto".into(),
            });
            id
        })
    }

    fn calendar_id(mb: &Mailbox, calendar: Option<&str>) -> Result<String, SimError> {
        match calendar {
            None => Ok(mb.default_calendar().id.clone()),
            Some(c) => mb
                .calendars
                .iter()
                .find(|x| x.id == c || x.name == c)
                .map(|x| x.id.clone())
                .ok_or_else(|| SimError::not_found("calendar")),
        }
    }

    /// Creates an event as the user would in Outlook (`event` is a Graph event body:
    /// `subject`, `start`/`end` with `timeZone`, `isAllDay`, `sensitivity`, `recurrence`, ...).
    /// `calendar` is a calendar id or name (`None` = the default calendar).
    pub fn create_event(
        &self,
        email: &str,
        calendar: Option<&str>,
        event: Value,
    ) -> Result<String, SimError> {
        let (id, ck, cal) = self.with_mailbox(email, |mb| {
            let cal = Self::calendar_id(mb, calendar)?;
            let (id, _) = mb.create_event(&cal, &event)?;
            let ck = mb.events[&id].change_key.clone();
            Ok::<_, SimError>((id, ck, cal))
        })??;
        self.dispatch(vec![Change {
            email: email.to_ascii_lowercase(),
            collection: "Events",
            calendar_id: Some(cal),
            folder_id: None,
            id: id.clone(),
            change_key: ck,
            change_type: "created",
        }]);
        Ok(id)
    }

    /// Updates an event (an occurrence id turns that occurrence into an exception).
    pub fn update_event(&self, email: &str, id: &str, patch: Value) -> Result<(), SimError> {
        let (changed, ck, cal) = self.with_mailbox(email, |mb| {
            let (changed, ck) = mb.patch_event(id, &patch, None)?;
            let cal = mb
                .resolve(&changed)
                .and_then(|(m, _)| mb.events.get(&m))
                .map(|e| e.calendar_id.clone());
            Ok::<_, SimError>((changed, ck, cal))
        })??;
        self.dispatch(vec![Change {
            email: email.to_ascii_lowercase(),
            collection: "Events",
            calendar_id: cal,
            folder_id: None,
            id: changed,
            change_key: ck,
            change_type: "updated",
        }]);
        Ok(())
    }

    /// Deletes an event (an occurrence id cancels that occurrence).
    pub fn delete_event(&self, email: &str, id: &str) -> Result<(), SimError> {
        let cal = self.with_mailbox(email, |mb| {
            let cal = mb
                .resolve(id)
                .and_then(|(m, _)| mb.events.get(&m))
                .map(|e| e.calendar_id.clone());
            mb.delete_event(id, None).map(|_| cal)
        })??;
        self.dispatch(vec![Change {
            email: email.to_ascii_lowercase(),
            collection: "Events",
            calendar_id: cal,
            folder_id: None,
            id: id.to_string(),
            change_key: String::new(),
            change_type: "deleted",
        }]);
        Ok(())
    }

    /// An event (any kind of id) rendered in UTC with all extended properties.
    pub fn event(&self, email: &str, id: &str) -> Option<Value> {
        self.with_mailbox(email, |mb| {
            let ctx = mb.render_ctx(chrono_tz::Tz::UTC, "UTC", &ExpandExt::All);
            mb.render_by_id(id, &ctx)
        })
        .ok()
        .flatten()
    }

    /// All single events and series masters (as `/me/events` lists them), in UTC with all
    /// extended properties.
    pub fn events(&self, email: &str) -> Vec<Value> {
        self.with_mailbox(email, |mb| {
            let ctx = mb.render_ctx(chrono_tz::Tz::UTC, "UTC", &ExpandExt::All);
            mb.events
                .values()
                .map(|e| render_event(e, None, &ctx))
                .collect()
        })
        .unwrap_or_default()
    }

    /// The expanded calendar view (occurrences and exceptions, no masters) of a calendar (id or
    /// name; `None` = all calendars), in UTC with all extended properties.
    pub fn calendar_view(
        &self,
        email: &str,
        calendar: Option<&str>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Vec<Value> {
        self.with_mailbox(email, |mb| {
            let cal = match calendar {
                Some(c) => Some(Self::calendar_id(mb, Some(c)).ok()?),
                None => None,
            };
            let ctx = mb.render_ctx(chrono_tz::Tz::UTC, "UTC", &ExpandExt::All);
            Some(
                mb.view(cal.as_deref(), from, to)
                    .iter()
                    .map(|i| render_event(&mb.events[&i.master_id], Some(i), &ctx))
                    .collect::<Vec<_>>(),
            )
        })
        .ok()
        .flatten()
        .unwrap_or_default()
    }

    /// Contact folders as `{id, displayName, parentFolderId}`.
    pub fn contact_folders(&self, email: &str) -> Vec<Value> {
        self.with_mailbox(email, |mb| {
            mb.contact_folders
                .iter()
                .map(|f| json!({"id": f.id, "displayName": f.name, "parentFolderId": f.parent}))
                .collect()
        })
        .unwrap_or_default()
    }

    /// Creates a contact folder; returns its id.
    pub fn create_contact_folder(&self, email: &str, name: &str) -> Result<String, SimError> {
        self.with_mailbox(email, |mb| {
            if mb
                .contact_folders
                .iter()
                .any(|f| f.name.eq_ignore_ascii_case(name))
            {
                return Err(SimError::new(
                    409,
                    "ErrorFolderExists",
                    "A folder with the specified name already exists.",
                ));
            }
            let id = new_id("AAMkAGF");
            let parent = mb.contact_folders[0].id.clone();
            mb.contact_folders.push(ContactFolder {
                id: id.clone(),
                name: name.into(),
                parent,
            });
            Ok(id)
        })?
    }

    /// All contacts in all folders, with all extended properties.
    pub fn contacts(&self, email: &str) -> Vec<Value> {
        self.with_mailbox(email, |mb| {
            mb.contacts
                .values()
                .map(|c| c.render(&ExpandExt::All))
                .collect()
        })
        .unwrap_or_default()
    }

    /// Creates a contact in a folder (id or name; `None` = the default "Contacts").
    pub fn create_contact(
        &self,
        email: &str,
        folder: Option<&str>,
        contact: Value,
    ) -> Result<String, SimError> {
        self.with_mailbox(email, |mb| {
            let fid = match folder {
                None => mb.contact_folders[0].id.clone(),
                Some(f) => mb
                    .contact_folders
                    .iter()
                    .find(|x| x.id == f || x.name == f)
                    .map(|x| x.id.clone())
                    .ok_or_else(|| SimError::not_found("contact folder"))?,
            };
            mb.create_contact(&fid, &contact)
        })?
    }

    /// Puts a message into a mail folder (`inbox`, `sentitems` or a folder id). The body is a
    /// Graph message (`subject`, `body`, `from`, `toRecipients`, `ccRecipients`, `sentDateTime`,
    /// `internetMessageId`, ...), optionally with `attachments` (`#microsoft.graph.fileAttachment`s
    /// with base64 `contentBytes`) and `singleValueExtendedProperties` (e.g. `Integer 0x0036` = "2"
    /// for a private message).
    pub fn add_message(
        &self,
        email: &str,
        folder: &str,
        message: Value,
    ) -> Result<String, SimError> {
        let (id, fid, ck) = self.with_mailbox(email, |mb| {
            let fid = mb
                .folder_by_name_or_id(folder)
                .map(|f| f.id.clone())
                .ok_or_else(|| SimError::not_found("mail folder"))?;
            let id = mb.add_message(&fid, &message)?;
            let ck = mb.messages[&id].change_key.clone();
            Ok::<_, SimError>((id, fid, ck))
        })??;
        self.dispatch(vec![Change {
            email: email.to_ascii_lowercase(),
            collection: "Messages",
            calendar_id: None,
            folder_id: Some(fid),
            id: id.clone(),
            change_key: ck,
            change_type: "created",
        }]);
        Ok(id)
    }

    /// Adds a file attachment to a message (`bytes` as they are; no base64 needed); returns its id.
    pub fn add_attachment(
        &self,
        email: &str,
        message_id: &str,
        name: &str,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> Result<String, SimError> {
        self.with_mailbox(email, |mb| {
            let m = mb
                .messages
                .get_mut(message_id)
                .ok_or_else(|| SimError::not_found("message"))?;
            let now = Utc::now();
            let id = new_id("AAMkAGA");
            m.attachments.push(AttachmentRec {
                id: id.clone(),
                odata_type: "#microsoft.graph.fileAttachment".into(),
                name: name.into(),
                content_type: content_type.into(),
                is_inline: false,
                modified: now,
                bytes: std::sync::Arc::new(bytes),
            });
            m.change_key = new_change_key();
            m.modified = now;
            Ok(id)
        })?
    }

    /// Deletes a message.
    pub fn delete_message(&self, email: &str, id: &str) -> Result<(), SimError> {
        self.with_mailbox(email, |mb| {
            mb.messages
                .remove(id)
                .map(|_| ())
                .ok_or_else(|| SimError::not_found("message"))
        })?
    }

    /// Messages of a folder (`inbox`, `sentitems` or id).
    pub fn messages(&self, email: &str, folder: &str) -> Vec<Value> {
        self.with_mailbox(email, |mb| {
            let Some(fid) = mb.folder_by_name_or_id(folder).map(|f| f.id.clone()) else {
                return vec![];
            };
            mb.messages
                .values()
                .filter(|m| m.folder_id == fid)
                .map(|m| m.render(&ExpandExt::All))
                .collect()
        })
        .unwrap_or_default()
    }
}
