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

/// Answer of a save. Saving twice is harmless: the CRM copy is found by `internetMessageId` and
/// updated (content and relations), never duplicated; `already_saved` tells the pane it existed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SaveMessageResponse {
    pub crm_email_id: String,
    pub crm_url: Option<String>,
    pub saved: bool,
    #[serde(default)]
    pub already_saved: bool,
    /// With `include_attachments`: what happened to each attachment (the email itself is saved
    /// whatever happens to them).
    #[serde(default)]
    pub attachments: Vec<SavedAttachment>,
}

impl SaveMessageResponse {
    /// The attachments that are not in the CRM after this save.
    pub fn not_uploaded(&self) -> impl Iterator<Item = &SavedAttachment> {
        self.attachments.iter().filter(|a| !a.outcome.is_in_crm())
    }
}

/// One attachment of a saved message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SavedAttachment {
    pub name: String,
    /// Bytes, as Outlook reports it.
    pub size: u64,
    pub outcome: AttachmentOutcome,
    /// Why it was not uploaded, in the caller's language.
    #[serde(default)]
    pub message: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AttachmentOutcome {
    /// Uploaded now.
    Uploaded,
    /// Uploaded by an earlier save of the same message; not sent again.
    AlreadyUploaded,
    /// Larger than the CRM's file limit ([`MAX_ATTACHMENT_BYTES`]); not uploaded.
    TooLarge,
    /// Not a file (an attached Outlook item or a cloud link); not uploaded.
    NotAFile,
    /// The upload failed; saving again retries it.
    Failed,
}

impl AttachmentOutcome {
    pub fn is_in_crm(self) -> bool {
        matches!(
            self,
            AttachmentOutcome::Uploaded | AttachmentOutcome::AlreadyUploaded
        )
    }
}

/// The CRM's file upload limit: 25 MiB per file.
pub const MAX_ATTACHMENT_BYTES: u64 = 25 * 1024 * 1024;
