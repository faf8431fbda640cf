//! Preferences step 1: pairing an Outlook mailbox with a CRM user, unpairing and forced removal.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// `POST /api/pairing`. Field names double as form field names for errors
/// ([`crate::validation::fields`]).
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PairingRequest {
    /// "API key": the CRM's Outlook-type API key.
    pub api_key: String,
    /// "CRM-osoite": with or without scheme; see [`crate::validation::normalize_crm_address`].
    pub crm_address: String,
    /// "Käyttäjä".
    pub crm_username: String,
    /// "Salasana".
    pub crm_password: String,
    /// "Sähköposti": must be the signed-in mailbox.
    pub email: String,
    /// "Kalenteri": a [`crate::calendars::Calendar::id`].
    pub calendar_id: String,
}

impl std::fmt::Debug for PairingRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PairingRequest")
            .field("api_key", &"<redacted>")
            .field("crm_address", &self.crm_address)
            .field("crm_username", &self.crm_username)
            .field("crm_password", &"<redacted>")
            .field("email", &self.email)
            .field("calendar_id", &self.calendar_id)
            .finish()
    }
}

/// The stored pairing as the pane shows it (no secrets).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PairingSummary {
    /// Normalized, with scheme (`https://crm.example.fi`).
    pub crm_address: String,
    pub crm_username: String,
    pub email: String,
    pub calendar_id: String,
    pub calendar_name: String,
    pub paired_at: DateTime<Utc>,
}

/// `DELETE /api/pairing?force=true`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UnpairQuery {
    #[serde(default)]
    pub force: bool,
}

/// What a forced removal could not clean up (it removes our side at once, whatever fails).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ForcedRemoval {
    pub left_behind: Vec<LeftBehind>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LeftBehind {
    pub kind: LeftBehindKind,
    /// Localized explanation for the user.
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum LeftBehindKind {
    /// The Graph change-notification subscription could not be deleted; it expires by itself.
    GraphSubscription,
    /// The CRM session could not be logged out; it expires by itself.
    CrmSession,
    /// Synced events keep our mark (CRM activity id) so a re-pair adopts them instead of duplicating.
    EventMarks,
    #[serde(other)]
    Other,
}
