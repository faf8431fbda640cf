//! Relation search for the item view's company / contact / project fields.

use serde::{Deserialize, Serialize};

/// What to search.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RelationKind {
    Accounts,
    Contacts,
    Projects,
    Potentials,
}

impl RelationKind {
    pub fn code(self) -> &'static str {
        match self {
            RelationKind::Accounts => "accounts",
            RelationKind::Contacts => "contacts",
            RelationKind::Projects => "projects",
            RelationKind::Potentials => "potentials",
        }
    }
}

/// `GET /api/relations/search?kind=&q=&related_to=`.
///
/// * `q` empty or absent: with `related_to`, the entities related to those ids (what "Näytä oletuksena
///   asiakkaiden relaatiot" shows before typing); without it, an empty list.
/// * `related_to`: comma-separated CRM ids of entities already chosen; results related to them come first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RelationSearchQuery {
    pub kind: RelationKind,
    #[serde(default)]
    pub q: Option<String>,
    #[serde(default)]
    pub related_to: Option<String>,
}

impl RelationSearchQuery {
    /// The ids in `related_to`.
    pub fn related_ids(&self) -> Vec<&str> {
        self.related_to
            .as_deref()
            .map(|s| {
                s.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Joins ids for `related_to`.
    pub fn join_ids<'a>(ids: impl IntoIterator<Item = &'a str>) -> Option<String> {
        let joined = ids.into_iter().collect::<Vec<_>>().join(",");
        (!joined.is_empty()).then_some(joined)
    }
}

/// One search hit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Relation {
    pub kind: RelationKind,
    /// CRM id.
    pub id: String,
    pub name: String,
    /// A second line: a contact's company, a project's account, …
    #[serde(default)]
    pub detail: Option<String>,
    /// True when found through `related_to` (shown as a suggestion).
    #[serde(default)]
    pub related: bool,
}

/// A chosen entity, as stored on an item.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RelationRef {
    pub id: String,
    pub name: String,
}

/// The three separate multi-entity fields of an item.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Relations {
    #[serde(default)]
    pub accounts: Vec<RelationRef>,
    #[serde(default)]
    pub contacts: Vec<RelationRef>,
    #[serde(default)]
    pub projects: Vec<RelationRef>,
}

impl Relations {
    pub fn is_empty(&self) -> bool {
        self.accounts.is_empty() && self.contacts.is_empty() && self.projects.is_empty()
    }

    /// The list for `kind` (`Potentials` has no field on items and gives `None`).
    pub fn list(&self, kind: RelationKind) -> Option<&Vec<RelationRef>> {
        match kind {
            RelationKind::Accounts => Some(&self.accounts),
            RelationKind::Contacts => Some(&self.contacts),
            RelationKind::Projects => Some(&self.projects),
            RelationKind::Potentials => None,
        }
    }

    pub fn list_mut(&mut self, kind: RelationKind) -> Option<&mut Vec<RelationRef>> {
        match kind {
            RelationKind::Accounts => Some(&mut self.accounts),
            RelationKind::Contacts => Some(&mut self.contacts),
            RelationKind::Projects => Some(&mut self.projects),
            RelationKind::Potentials => None,
        }
    }

    /// Every chosen id, for `related_to`.
    pub fn all_ids(&self) -> impl Iterator<Item = &str> {
        self.accounts
            .iter()
            .chain(&self.contacts)
            .chain(&self.projects)
            .map(|r| r.id.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn related_ids_round_trip() {
        let q = RelationSearchQuery {
            kind: RelationKind::Contacts,
            q: None,
            related_to: RelationSearchQuery::join_ids(["a1", "a2"]),
        };
        assert_eq!(q.related_ids(), vec!["a1", "a2"]);
        assert_eq!(RelationSearchQuery::join_ids([]), None);
        assert_eq!(
            serde_json::to_value(RelationKind::Potentials).unwrap(),
            "potentials"
        );
    }
}
