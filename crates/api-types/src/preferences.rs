//! All settings of the user guide's step 2 ("Asetukset", detailed settings).
//!
//! `GET /api/preferences` returns them, `PUT` replaces them all (the pane always sends the whole form).
//! Limits: [`HISTORY_DAYS_MAX`], [`FUTURE_DAYS_MAX`]; checked by
//! [`crate::validation::validate_preferences`] on both sides.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

/// "Synkronoi historiaan": at most 60 days back.
pub const HISTORY_DAYS_MAX: u16 = 60;
/// "Synkronoi tulevaisuuteen": at most 365 days ahead.
pub const FUTURE_DAYS_MAX: u16 = 365;

/// "Sovelluksen kieli": the add-in's own UI language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
/// The order (Fi, En) is an index into the text tables (`lang as usize`).
pub enum UiLanguage {
    #[default]
    Fi,
    En,
}

impl UiLanguage {
    pub const ALL: [UiLanguage; 2] = [UiLanguage::Fi, UiLanguage::En];

    pub fn code(self) -> &'static str {
        match self {
            UiLanguage::Fi => "fi",
            UiLanguage::En => "en",
        }
    }

    /// From a BCP 47 tag such as Office's `displayLanguage` ("fi-FI") or `Accept-Language`'s first entry;
    /// anything not Finnish is English.
    pub fn from_tag(tag: &str) -> Self {
        let primary = tag.trim().split(['-', '_', ',', ';']).next().unwrap_or("");
        if primary.eq_ignore_ascii_case("fi") {
            UiLanguage::Fi
        } else {
            UiLanguage::En
        }
    }
}

/// "Valintalistojen kieli": the language of picklists fetched from the CRM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Language {
    #[default]
    Fi,
    En,
    Sv,
}

impl Language {
    pub const ALL: [Language; 3] = [Language::Fi, Language::En, Language::Sv];

    pub fn code(self) -> &'static str {
        match self {
            Language::Fi => "fi",
            Language::En => "en",
            Language::Sv => "sv",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.code() == code)
    }
}

/// "Salaiset merkinnät": what happens to private (and confidential) entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PrivateEntries {
    /// Sync them like any other entry.
    Full,
    /// Sync only the time as a busy block, not the content.
    #[default]
    Busy,
    /// Do not sync them at all.
    Skip,
}

impl PrivateEntries {
    pub const ALL: [PrivateEntries; 3] = [
        PrivateEntries::Full,
        PrivateEntries::Busy,
        PrivateEntries::Skip,
    ];

    pub fn code(self) -> &'static str {
        match self {
            PrivateEntries::Full => "full",
            PrivateEntries::Busy => "busy",
            PrivateEntries::Skip => "skip",
        }
    }
}

/// One direction's section ("Outlookista CRM:ään" or "CRM:stä Outlookiin").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DirectionSettings {
    /// "Synkronoi historiaan", 0..=60.
    pub history_days: u16,
    /// "Synkronoi tulevaisuuteen", 0..=365.
    pub future_days: u16,
    /// "Luo uusia": activity type values (picklist `value`, language independent) whose new entries are
    /// created on the other side. Empty = nothing is created. The server fills in all types on pairing.
    pub create_types: BTreeSet<String>,
    /// "Muokkaa/Poista": activity type values whose edits and deletions are propagated.
    pub edit_delete_types: BTreeSet<String>,
}

impl Default for DirectionSettings {
    fn default() -> Self {
        Self {
            history_days: 30,
            future_days: 365,
            create_types: BTreeSet::new(),
            edit_delete_types: BTreeSet::new(),
        }
    }
}

impl DirectionSettings {
    /// The defaults of a new pairing: all of the CRM's activity types in both lists.
    pub fn with_all_types<'a>(types: impl IntoIterator<Item = &'a str>) -> Self {
        let all: BTreeSet<String> = types.into_iter().map(str::to_owned).collect();
        Self {
            create_types: all.clone(),
            edit_delete_types: all,
            ..Self::default()
        }
    }
}

/// Every setting of step 2.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Preferences {
    /// "Outlookista CRM:ään".
    pub outlook_to_crm: DirectionSettings,
    /// "CRM:stä Outlookiin".
    pub crm_to_outlook: DirectionSettings,
    /// "Sovelluksen kieli".
    pub app_language: UiLanguage,
    /// "Valintalistojen kieli".
    pub picklist_language: Language,
    /// "Synkronoi kalenteri".
    pub auto_sync: bool,
    /// "Kirjaudu CRM:ään Outlookin käynnistyessä" (needs remembered credentials).
    pub login_at_start: bool,
    /// "Lisää liitetyt CRM kontaktit Outlookin osoitekirjaan".
    pub add_contacts_to_address_book: bool,
    /// "Lähetä virheilmoitukset ohjelmiston kehittäjille".
    pub send_error_reports: bool,
    /// "Salaiset merkinnät".
    pub private_entries: PrivateEntries,
    /// "Näytä oletuksena asiakkaiden relaatiot".
    pub show_customer_relations: bool,
    /// "Oletusaktiviteettityyppi": a picklist value, or `None` ("empty": Outlook entries are not synced
    /// until a type is chosen for the event by hand).
    pub default_activity_type: Option<String>,
    /// Automatic email tracking (our addition, off by default): messages in Inbox and Sent Items
    /// exchanged with CRM contacts are stored in the CRM's emails within a minute, linked to those
    /// contacts and their accounts. Internal-only mail is not tracked; private messages follow
    /// `private_entries`. "Save to CRM" on a message works either way.
    #[serde(default)]
    pub email_tracking: bool,
}

impl Default for Preferences {
    fn default() -> Self {
        Self {
            outlook_to_crm: DirectionSettings::default(),
            crm_to_outlook: DirectionSettings::default(),
            app_language: UiLanguage::Fi,
            picklist_language: Language::Fi,
            auto_sync: true,
            login_at_start: false,
            add_contacts_to_address_book: false,
            send_error_reports: false,
            private_entries: PrivateEntries::Busy,
            show_customer_relations: true,
            default_activity_type: None,
            email_tracking: false,
        }
    }
}

impl Preferences {
    /// The settings a new pairing starts with, given the CRM's activity type values.
    pub fn new_pairing_defaults<'a>(types: impl IntoIterator<Item = &'a str> + Clone) -> Self {
        Self {
            outlook_to_crm: DirectionSettings::with_all_types(types.clone()),
            crm_to_outlook: DirectionSettings::with_all_types(types),
            ..Self::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_shape() {
        let p = Preferences::new_pairing_defaults(["meeting", "call"]);
        let v = serde_json::to_value(&p).unwrap();
        assert_eq!(
            v["outlook_to_crm"]["create_types"],
            serde_json::json!(["call", "meeting"])
        );
        assert_eq!(v["private_entries"], "busy");
        assert_eq!(v["app_language"], "fi");
        assert!(v["default_activity_type"].is_null());
        let back: Preferences = serde_json::from_value(v).unwrap();
        assert_eq!(back, p);
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let mut v = serde_json::to_value(Preferences::default()).unwrap();
        v["surprise"] = serde_json::json!(1);
        assert!(serde_json::from_value::<Preferences>(v).is_err());
    }

    #[test]
    fn ui_language_from_office_tags() {
        assert_eq!(UiLanguage::from_tag("fi-FI"), UiLanguage::Fi);
        assert_eq!(UiLanguage::from_tag("en-US"), UiLanguage::En);
        assert_eq!(UiLanguage::from_tag("sv-SE"), UiLanguage::En);
        assert_eq!(UiLanguage::from_tag("FI"), UiLanguage::Fi);
    }
}
