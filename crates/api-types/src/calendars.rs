//! `GET /api/calendars`: the signed-in mailbox's calendars, for "Kalenteri" in step 1.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Calendar {
    /// Graph calendar id.
    pub id: String,
    pub name: String,
    /// The mailbox's default calendar (pre-selected in the pane).
    pub is_default: bool,
}
