//! Saving an email to the CRM ("Save to CRM" on a message).

use serde::{Deserialize, Serialize};

use crate::relations::Relations;

/// `GET /api/messages/{message_id}` (`message_id`: Graph REST id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MessageInfo {
    pub message_id: String,
    /// Already saved to the CRM (looked up by `internetMessageId`).
    pub saved: bool,
    pub crm_email_id: Option<String>,
    pub crm_url: Option<String>,
    /// The relations it was saved with, or suggestions from the sender/recipients when not saved.
    pub relations: Relations,
}

/// `POST /api/messages/{message_id}/save`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SaveMessageRequest {
    pub relations: Relations,
    pub include_attachments: bool,
}

/// Answer of a save. Saving twice is harmless: the CRM copy is deduplicated by `internetMessageId`,
/// and `already_saved` tells the pane it existed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SaveMessageResponse {
    pub crm_email_id: String,
    pub crm_url: Option<String>,
    pub saved: bool,
    #[serde(default)]
    pub already_saved: bool,
}
