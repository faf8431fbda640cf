//! `GET` / `PUT /api/items/{event_id}`: an Outlook appointment as a CRM activity ("Link to CRM").

use serde::{Deserialize, Serialize};

use crate::relations::Relations;

/// Where this item stands in the sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SyncState {
    /// Linked and both sides agree.
    Synced,
    /// Will be synced in the next run.
    Pending,
    /// Deliberately not synced; `reason` says why (no activity type, type not in "Luo uusia", private and
    /// skipped, outside the window …).
    Excluded,
    /// Both sides changed the same field; the later change won, `reason` says what happened.
    Conflict,
    /// The last attempt failed; `reason` has the error.
    Error,
}

/// `GET /api/items/{event_id}` (`event_id`: the Graph REST id, from `convertToRestId`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ItemInfo {
    pub event_id: String,
    /// The chosen type (picklist value); the default type when none was chosen by hand.
    pub activity_type: Option<String>,
    /// True when `activity_type` comes from "Oletusaktiviteettityyppi", not from a choice for this event.
    #[serde(default)]
    pub type_is_default: bool,
    pub status: Option<String>,
    pub relations: Relations,
    pub sync_state: SyncState,
    /// Localized explanation of `sync_state` (None when synced).
    pub reason: Option<String>,
    /// The linked CRM activity, when there is one.
    #[serde(default)]
    pub crm_activity_id: Option<String>,
    #[serde(default)]
    pub crm_url: Option<String>,
}

/// `PUT /api/items/{event_id}`: what the user chose. `activity_type: None` clears a hand-picked type
/// (the default type applies again).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ItemUpdate {
    pub activity_type: Option<String>,
    pub status: Option<String>,
    #[serde(default)]
    pub relations: Relations,
}
