//! **Every assumed fact about CRM-service, in one place.**
//!
//! `crmservice-api.md` separates what was read in the vendor's own command-line client ("known") from
//! what we had to guess ("assumed"). Everything in this module is a guess; when a real CRM-service
//! answers differently, correct it here and nowhere else. Pairing checks the `activities` schema against
//! [`ACTIVITY_FIELDS`] (see [`crate::Session::check_activity_schema`]) so a CRM without one of these
//! fields is reported at pairing time, not discovered at sync time.

use chrono_tz::Tz;

// ----- authentication -----

/// `POST {base}/api/v1/auth` with the API key as bearer and `{"username", "password"}` as the body;
/// answers with the user-scoped token as a JSON string.
pub const AUTH_PATH: &str = "auth";

/// Body field names of the login request.
pub const AUTH_USERNAME_FIELD: &str = "username";
pub const AUTH_PASSWORD_FIELD: &str = "password";

/// A 401 from `POST /auth` means a wrong API key when its message contains one of these (lower-cased);
/// any other 401 there is a wrong username or password. When the message is not recognised the client
/// asks `GET /` with the API key alone to tell the two apart (see `CrmClient::login`).
pub const WRONG_KEY_MARKERS: &[&str] = &["api key", "apikey", "api-key"];

/// A 403 from `POST /auth` (or on a later call with a user token) means the user is locked when its
/// message contains one of these (lower-cased).
pub const LOCKED_MARKERS: &[&str] = &["locked", "lukittu"];

/// A 401 on a call made with a user token means the token expired or was revoked: log in again.
pub const TOKEN_EXPIRES: bool = true;

// ----- time -----

/// Wire format of datetimes in both directions, in the CRM's local time zone.
pub const DATETIME_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// The CRM's local time zone unless the pairing says otherwise.
pub const DEFAULT_TIME_ZONE: Tz = chrono_tz::Europe::Helsinki;

// ----- activities -----

/// Assumed activity fields (the known ones are `id`, `subject`, `start_date`, `activity_type`,
/// `owner_id`, `project_id`, `campaign_id`, `created_at`, `updated_at`).
pub const ACTIVITY_END: &str = "end_date";
pub const ACTIVITY_STATUS: &str = "status";
pub const ACTIVITY_DESCRIPTION: &str = "description";
pub const ACTIVITY_LOCATION: &str = "location";
pub const ACTIVITY_PRIVATE: &str = "private";
pub const ACTIVITY_ALL_DAY: &str = "all_day";

/// Fields of `activities` the client reads and writes; pairing checks that the schema has all of them.
pub const ACTIVITY_FIELDS: &[&str] = &[
    "subject",
    "start_date",
    ACTIVITY_END,
    "activity_type",
    ACTIVITY_STATUS,
    ACTIVITY_DESCRIPTION,
    ACTIVITY_LOCATION,
    ACTIVITY_PRIVATE,
    ACTIVITY_ALL_DAY,
    "owner_id",
    "project_id",
    "created_at",
    "updated_at",
];

/// Many-to-many relations of an activity, written as JSON:API `relationships` (`{"contacts": {"data":
/// [{"type": "contacts", "id": "4"}]}}`) and read back the same way. The relation names are known; the
/// write shape is assumed.
pub const ACTIVITY_RELATIONS: &[&str] = &["accounts", "contacts", "leads", "potentials"];

// ----- idempotent creates -----

/// Where the client leaves its create marker: a line appended to the activity `description`.
///
/// CRM-service has no idempotency keys, so a create that timed out must be looked up before it is
/// retried. The sync runner chooses a key for each create intent (e.g. the intent's UUID) before the
/// first attempt; [`marker`] turns it into a line that is appended to the description, and the lookup
/// is an exact `$cts` search for that line among the user's activities. The marker is short and
/// readable so a CRM user who sees it understands where the activity came from. It only matters until
/// the create is confirmed (the runner then stores the activity id), so a later description update
/// that drops it is harmless; [`crate::Activity::description_text`] hides it from synced content.
pub const MARKER_FIELD: &str = ACTIVITY_DESCRIPTION;

/// The marker text for a create key; unique as long as the key is.
pub fn marker(key: &str) -> String {
    format!("[outlook-sync:{key}]")
}

/// Strips our marker line(s) from a description, so edits made in CRM compare equal to Outlook content.
pub fn strip_marker(description: &str) -> String {
    let kept: Vec<&str> = description
        .lines()
        .filter(|l| {
            let t = l.trim();
            !(t.starts_with("[outlook-sync:") && t.ends_with(']'))
        })
        .collect();
    kept.join("\n").trim_end().to_owned()
}

// ----- picklists -----

/// A picklist is identified by the `module` and `field` it belongs to (`picklists.module`,
/// `picklists.field`); its values are `picklist_values.value` (what activities store, e.g. "Soitto")
/// ordered by `position`; names per language are `picklist_value_translations.name` with `language`.
pub const PICKLIST_MODULE_FIELD: &str = "module";
pub const PICKLIST_FIELD_FIELD: &str = "field";
pub const PICKLIST_VALUE_POSITION: &str = "position";
pub const PICKLIST_VALUE_ACTIVE: &str = "active";

/// Language codes of picklist translations.
pub const LANGUAGES: &[&str] = &["fi", "en", "sv"];

// ----- relations for the task pane -----

/// Contact fields (known: first_name, last_name, email, account_id; assumed: phone, mobile, title).
pub const CONTACT_PHONE: &str = "phone";
pub const CONTACT_MOBILE: &str = "mobile";
pub const CONTACT_TITLE: &str = "title";

/// Leads are searched by these fields.
pub const LEAD_COMPANY: &str = "company";
pub const LEAD_SEARCH_FIELDS: &[&str] = &["first_name", "last_name", LEAD_COMPANY];

/// Potentials have a `name`, an `account_id` and a `status` picklist; "open" potentials are those whose
/// status is one of these values (or empty).
pub const POTENTIAL_STATUS: &str = "status";
pub const POTENTIAL_OPEN_STATUSES: &[&str] = &["Avoin", "Open"];

/// Projects: `name` and `account_id` are assumed.
pub const PROJECT_NAME: &str = "name";

// ----- emails -----

/// Email fields: `subject`, `body` (plain text), `body_html` (sanitised HTML), `from`, `to`, `cc`,
/// `sent_at` and `message_id` (the internet message id, used to deduplicate "Save to CRM" and automatic
/// tracking). The known to-one links `account_id` / `contact_id` carry the first account and contact;
/// every linked account and contact also goes into the many-to-many relations [`EMAIL_RELATIONS`]
/// (written like an activity's).
pub const EMAIL_SUBJECT: &str = "subject";
pub const EMAIL_BODY: &str = "body";
pub const EMAIL_FROM: &str = "from";
pub const EMAIL_TO: &str = "to";
pub const EMAIL_CC: &str = "cc";
pub const EMAIL_BODY_HTML: &str = "body_html";
pub const EMAIL_SENT_AT: &str = "sent_at";
pub const EMAIL_MESSAGE_ID: &str = "message_id";
pub const EMAIL_FIELDS: &[&str] = &[
    EMAIL_SUBJECT,
    EMAIL_BODY,
    EMAIL_FROM,
    EMAIL_TO,
    EMAIL_CC,
    EMAIL_BODY_HTML,
    EMAIL_SENT_AT,
    EMAIL_MESSAGE_ID,
];

/// Many-to-many relations of an email (assumed, like [`ACTIVITY_RELATIONS`]).
pub const EMAIL_RELATIONS: &[&str] = &["accounts", "contacts"];

/// Files are uploaded as the raw request body to `POST /{module}/{id}/files`, with the file's
/// `Content-Type` and `Content-Disposition: attachment; filename="…"; filename*=UTF-8''…` (RFC 6266:
/// an ASCII fallback, and the exact name percent-encoded for names with ä/ö).
pub const MAX_FILE_BYTES: usize = 25 * 1024 * 1024;

// ----- paging -----

/// Page size the client asks for. The real cap is not documented; 100 is well below what JSON:API
/// servers usually allow and keeps a page small in memory.
pub const PAGE_SIZE: u32 = 100;

// ----- error bodies -----

/// Error bodies are the message as text; 422 answers may instead be JSON:API
/// `{"errors": [{"detail", "source": {"pointer": "/data/attributes/<field>"}}]}`. The client reads both.
pub const ATTRIBUTE_POINTER_PREFIX: &str = "/data/attributes/";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strip_marker_removes_only_marker_lines() {
        let d = format!("Agenda\n- hinnat\n\n{}", marker("abc-123"));
        assert_eq!(strip_marker(&d), "Agenda\n- hinnat");
        assert_eq!(
            strip_marker("[outlook-sync is mentioned]"),
            "[outlook-sync is mentioned]"
        );
    }
}
