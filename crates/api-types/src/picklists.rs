//! CRM picklists in the user's picklist language.

use serde::{Deserialize, Serialize};

use crate::preferences::Language;

/// `?lang=` of the picklist routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PicklistQuery {
    pub lang: Language,
}

/// One choice: `value` is stored (language independent), `label` is shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PicklistEntry {
    pub value: String,
    pub label: String,
}
