//! The settings of the user guide that change what the engine decides, and their limits.

use std::collections::BTreeSet;

use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// "Synkronoi historiaan": at most 60 days back.
pub const MAX_HISTORY_DAYS: u32 = 60;
/// "Synkronoi tulevaisuuteen": at most 365 days ahead.
pub const MAX_FUTURE_DAYS: u32 = 365;

/// A set of activity types ("Luo uusia", "Muokkaa/Poista").
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "types", rename_all = "snake_case")]
pub enum TypeSet {
    /// Every activity type, including ones added to the CRM later (the guide's default for "create new").
    #[default]
    All,
    /// Exactly these types; empty means none.
    Only(BTreeSet<String>),
}

impl TypeSet {
    pub fn none() -> Self {
        TypeSet::Only(BTreeSet::new())
    }

    pub fn only<I: IntoIterator<Item = S>, S: Into<String>>(types: I) -> Self {
        TypeSet::Only(types.into_iter().map(Into::into).collect())
    }

    /// Whether an entry of `activity_type` is covered; an entry without a type is covered only by `All`.
    pub fn contains(&self, activity_type: Option<&str>) -> bool {
        match self {
            TypeSet::All => true,
            TypeSet::Only(set) => activity_type.is_some_and(|t| set.contains(t)),
        }
    }
}

/// The settings of one direction ("Outlookista CRM:ään" or "CRM:stä Outlookiin").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectionSettings {
    /// Days back from today, 0–60.
    pub history_days: u32,
    /// Days ahead from today, 0–365.
    pub future_days: u32,
    /// "Luo uusia": new entries of these types are created on the other side; empty = create nothing.
    pub create_types: TypeSet,
    /// "Muokkaa/Poista": edits and deletions of entries of these types are propagated.
    pub edit_delete_types: TypeSet,
}

impl Default for DirectionSettings {
    fn default() -> Self {
        DirectionSettings {
            history_days: 30,
            future_days: 365,
            create_types: TypeSet::All,
            edit_delete_types: TypeSet::All,
        }
    }
}

/// "Salaiset merkinnät".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrivateMode {
    /// Private entries sync like any other.
    #[default]
    Full,
    /// Only a busy block goes to the other side: time kept, subject replaced by a neutral word, body,
    /// location and attendees dropped.
    BusyBlock,
    /// Private entries are not synced at all.
    Skip,
}

/// The app language; picks the neutral busy-block subject.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Language {
    #[default]
    Fi,
    En,
}

impl Language {
    /// The subject a busy block carries.
    pub fn busy_word(self) -> &'static str {
        match self {
            Language::Fi => "Varattu",
            Language::En => "Busy",
        }
    }
}

/// Every busy word we might have written, so a block made under another app language is still
/// recognised as ours.
pub(crate) const BUSY_WORDS: [&str; 2] = ["Varattu", "Busy"];

/// Guards that stop a run instead of letting it delete en masse.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Safety {
    /// A run may delete at most this share (0.0–1.0) of the linked pairs on one side.
    pub max_delete_share: f64,
    /// Below this many linked pairs the guards stay quiet: deleting 2 of 3 entries is ordinary use.
    pub min_linked_for_guard: usize,
}

impl Default for Safety {
    fn default() -> Self {
        Safety {
            max_delete_share: 0.5,
            min_linked_for_guard: 10,
        }
    }
}

/// Everything the engine needs to know about a pairing's configuration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    pub outlook_to_crm: DirectionSettings,
    pub crm_to_outlook: DirectionSettings,
    /// "Oletusaktiviteettityyppi": the type of Outlook entries with no type chosen; `None` = such entries
    /// are not synced until a type is chosen for them.
    pub default_activity_type: Option<String>,
    pub private_mode: PrivateMode,
    pub language: Language,
    /// The user's time zone; the windows' "today" is computed in it.
    pub user_tz: Tz,
    /// The CRM's local time zone (CRM timestamps carry no offset).
    pub crm_tz: Tz,
    pub safety: Safety,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            outlook_to_crm: DirectionSettings::default(),
            crm_to_outlook: DirectionSettings::default(),
            default_activity_type: None,
            private_mode: PrivateMode::Full,
            language: Language::Fi,
            user_tz: chrono_tz::Europe::Helsinki,
            crm_tz: chrono_tz::Europe::Helsinki,
            safety: Safety::default(),
        }
    }
}

/// A setting outside its allowed range.
#[derive(Clone, Debug, PartialEq, Error)]
pub enum SettingsError {
    #[error("{direction}: history days {value} is more than the maximum {MAX_HISTORY_DAYS}")]
    HistoryTooLong { direction: &'static str, value: u32 },
    #[error("{direction}: future days {value} is more than the maximum {MAX_FUTURE_DAYS}")]
    FutureTooLong { direction: &'static str, value: u32 },
    #[error("delete share {0} is not between 0 and 1")]
    DeleteShare(f64),
}

impl Settings {
    /// Rejects values the guide does not allow; the server validates the same limits on input.
    pub fn validate(&self) -> Result<(), SettingsError> {
        for (direction, d) in [
            ("outlook_to_crm", &self.outlook_to_crm),
            ("crm_to_outlook", &self.crm_to_outlook),
        ] {
            if d.history_days > MAX_HISTORY_DAYS {
                return Err(SettingsError::HistoryTooLong {
                    direction,
                    value: d.history_days,
                });
            }
            if d.future_days > MAX_FUTURE_DAYS {
                return Err(SettingsError::FutureTooLong {
                    direction,
                    value: d.future_days,
                });
            }
        }
        if !(0.0..=1.0).contains(&self.safety.max_delete_share) {
            return Err(SettingsError::DeleteShare(self.safety.max_delete_share));
        }
        Ok(())
    }

    pub fn busy_word(&self) -> &'static str {
        self.language.busy_word()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_type_set_contains_nothing() {
        assert!(!TypeSet::none().contains(Some("Soitto")));
        assert!(!TypeSet::none().contains(None));
    }

    #[test]
    fn all_type_set_contains_unknown_types_and_untyped() {
        assert!(TypeSet::All.contains(Some("Uusi tyyppi")));
        assert!(TypeSet::All.contains(None));
    }

    #[test]
    fn only_type_set_contains_listed_types_only() {
        let s = TypeSet::only(["Soitto"]);
        assert!(s.contains(Some("Soitto")));
        assert!(!s.contains(Some("Tapaaminen")));
        assert!(!s.contains(None));
    }

    #[test]
    fn validate_accepts_the_guide_maximums() {
        let mut s = Settings::default();
        s.outlook_to_crm.history_days = 60;
        s.crm_to_outlook.future_days = 365;
        assert_eq!(s.validate(), Ok(()));
    }

    #[test]
    fn validate_rejects_61_history_days() {
        let mut s = Settings::default();
        s.crm_to_outlook.history_days = 61;
        assert!(matches!(
            s.validate(),
            Err(SettingsError::HistoryTooLong { value: 61, .. })
        ));
    }

    #[test]
    fn validate_rejects_366_future_days() {
        let mut s = Settings::default();
        s.outlook_to_crm.future_days = 366;
        assert!(matches!(
            s.validate(),
            Err(SettingsError::FutureTooLong { value: 366, .. })
        ));
    }

    #[test]
    fn busy_word_follows_language() {
        assert_eq!(Language::Fi.busy_word(), "Varattu");
        assert_eq!(Language::En.busy_word(), "Busy");
    }
}
