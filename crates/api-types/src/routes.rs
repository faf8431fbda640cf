//! Every path of the pane-facing API. The server mounts exactly these; the pane calls exactly these.
//!
//! Authentication: every route except [`SESSION`] (POST), [`DEMO_IDENTITY_TOKEN`] and [`MANIFEST`] needs
//! `Authorization: Bearer <token>` with the token from [`SESSION`].

/// `POST` [`crate::session::CreateSession`] → [`crate::session::Session`]; `DELETE` → 204 (log the pane out).
pub const SESSION: &str = "/api/session";
/// `POST` (bearer) → a fresh [`crate::session::Session`].
pub const SESSION_REFRESH: &str = "/api/session/refresh";

/// `GET` → `Vec<`[`crate::calendars::Calendar`]`>` of the signed-in mailbox.
pub const CALENDARS: &str = "/api/calendars";

/// `GET` → [`crate::pairing::PairingSummary`] or 404 `not_paired`;
/// `POST` [`crate::pairing::PairingRequest`] → [`crate::pairing::PairingSummary`] (201);
/// `DELETE` → 204 (unpair); `DELETE ?force=true` → [`crate::pairing::ForcedRemoval`].
pub const PAIRING: &str = "/api/pairing";

/// `GET` / `PUT` [`crate::preferences::Preferences`].
pub const PREFERENCES: &str = "/api/preferences";

/// `GET` → [`crate::login::LoginState`]; `POST` [`crate::login::LoginRequest`] → [`crate::login::LoginState`].
pub const LOGIN: &str = "/api/login";
/// `POST` (no body) → [`crate::login::LoginState`]; logs in with the remembered credential.
pub const LOGIN_AUTO: &str = "/api/login/auto";
/// `POST` (no body) → [`crate::login::LoginState`]; ends the CRM session and forgets the remembered credential.
pub const LOGOUT: &str = "/api/logout";

/// `GET ?lang=fi|en|sv` → `Vec<`[`crate::picklists::PicklistEntry`]`>`.
pub const PICKLIST_ACTIVITY_TYPES: &str = "/api/picklists/activity-types";
/// `GET ?lang=fi|en|sv` → `Vec<`[`crate::picklists::PicklistEntry`]`>`.
pub const PICKLIST_ACTIVITY_STATUSES: &str = "/api/picklists/activity-statuses";

/// `GET ?kind=&q=&related_to=` ([`crate::relations::RelationSearchQuery`]) → `Vec<`[`crate::relations::Relation`]`>`.
pub const RELATIONS_SEARCH: &str = "/api/relations/search";

/// Prefix of `GET` / `PUT /api/items/{event_id}` ([`crate::items::ItemInfo`] / [`crate::items::ItemUpdate`]).
pub const ITEMS_PREFIX: &str = "/api/items/";
/// The axum route pattern for one item.
pub const ITEM_PATTERN: &str = "/api/items/{event_id}";
/// Prefix of `GET /api/messages/{message_id}` and `POST /api/messages/{message_id}/save`.
pub const MESSAGES_PREFIX: &str = "/api/messages/";
/// The axum route pattern for one message ([`crate::messages::MessageInfo`]).
pub const MESSAGE_PATTERN: &str = "/api/messages/{message_id}";
/// The axum route pattern for saving a message ([`crate::messages::SaveMessageRequest`] →
/// [`crate::messages::SaveMessageResponse`]).
pub const MESSAGE_SAVE_PATTERN: &str = "/api/messages/{message_id}/save";

/// `POST` (no body) → 202 [`crate::sync::SyncNowResponse`].
pub const SYNC_NOW: &str = "/api/sync/now";
/// `GET` → [`crate::sync::SyncStatus`].
pub const SYNC_STATUS: &str = "/api/sync/status";

/// `POST` [`crate::error_reports::ErrorReport`] → 202, or 403 `error_reports_disabled`.
pub const ERROR_REPORTS: &str = "/api/error-reports";

/// `GET` → the OpenAPI description of this API.
pub const OPENAPI: &str = "/api/openapi.json";

/// Demo mode only: `GET ?email=` → [`crate::demo::DemoIdentityToken`], an identity token for the
/// simulated mailbox, used by the pane's browser-preview mode.
pub const DEMO_IDENTITY_TOKEN: &str = "/demo/identity-token";

/// The add-in manifest with the server's public URL filled in (see [`crate::manifest::render`]).
pub const MANIFEST: &str = "/manifest.xml";

/// `/api/items/{event_id}` with the id percent-encoded (Graph ids contain `/`, `+` and `=`).
pub fn item(event_id: &str) -> String {
    format!("{ITEMS_PREFIX}{}", encode_segment(event_id))
}

/// `/api/messages/{message_id}` with the id percent-encoded.
pub fn message(message_id: &str) -> String {
    format!("{MESSAGES_PREFIX}{}", encode_segment(message_id))
}

/// `/api/messages/{message_id}/save` with the id percent-encoded.
pub fn message_save(message_id: &str) -> String {
    format!("{}/save", message(message_id))
}

/// Percent-encodes everything but RFC 3986 unreserved characters, so any string is one path segment
/// or one query value. (A tiny copy instead of a dependency: the pane pays for every crate in WASM size.)
pub fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(char::from(HEX[(b >> 4) as usize]));
            out.push(char::from(HEX[(b & 15) as usize]));
        }
    }
    out
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// Builds `path?k=v&k2=v2` with encoded values, skipping `None`s.
pub fn with_query(path: &str, params: &[(&str, Option<&str>)]) -> String {
    let mut out = path.to_owned();
    let mut sep = '?';
    for (k, v) in params {
        if let Some(v) = v {
            out.push(sep);
            out.push_str(k);
            out.push('=');
            out.push_str(&encode_segment(v));
            sep = '&';
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graph_ids_become_one_segment() {
        assert_eq!(item("AAMk/a+b=="), "/api/items/AAMk%2Fa%2Bb%3D%3D");
        assert_eq!(message_save("x y"), "/api/messages/x%20y/save");
    }

    #[test]
    fn query_skips_none_and_encodes() {
        assert_eq!(
            with_query(
                RELATIONS_SEARCH,
                &[
                    ("kind", Some("accounts")),
                    ("q", None),
                    ("related_to", Some("1,2"))
                ]
            ),
            "/api/relations/search?kind=accounts&related_to=1%2C2"
        );
    }

    #[test]
    fn unicode_is_utf8_encoded() {
        assert_eq!(encode_segment("ä"), "%C3%A4");
    }
}
