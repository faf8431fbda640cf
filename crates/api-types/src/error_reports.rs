//! `POST /api/error-reports`: accepted only with "Lähetä virheilmoitukset ohjelmiston kehittäjille" on.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ErrorReport {
    /// What went wrong (the pane sends the error code and message it showed, never item content).
    pub message: String,
    /// Where: a screen or action name, e.g. `"pairing.save"`.
    #[serde(default)]
    pub context: Option<String>,
    /// The pane's version.
    #[serde(default)]
    pub client_version: Option<String>,
    /// Office host and platform, e.g. `"Outlook/PC 16.0"` or `"browser-preview"`.
    #[serde(default)]
    pub host: Option<String>,
}

/// Maximum accepted `message` length (characters); the server truncates or rejects beyond.
pub const MESSAGE_MAX: usize = 4000;
