//! "Synkronoi nyt" and the sync status view.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The two directions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    OutlookToCrm,
    CrmToOutlook,
}

/// `POST /api/sync/now` → 202.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SyncNowResponse {
    /// A run was queued (false: one was already queued or running and will pick the changes up).
    pub queued: bool,
}

/// `GET /api/sync/status`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SyncStatus {
    /// "Synkronoi kalenteri" is on and a CRM session (or remembered credential) exists.
    pub auto_sync_active: bool,
    /// Localized reason why automatic sync is not active (not logged in, session ended without remember …).
    #[serde(default)]
    pub inactive_reason: Option<String>,
    pub outlook_to_crm: DirectionStatus,
    pub crm_to_outlook: DirectionStatus,
}

/// One direction's state.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DirectionStatus {
    /// The most recent run (running or finished).
    pub last_run: Option<SyncRun>,
    /// Set while a run is going on: items done / total (a long first sync shows a progress bar).
    pub progress: Option<Progress>,
    /// When the next scheduled run is due.
    #[serde(default)]
    pub next_run_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SyncRun {
    pub started_at: DateTime<Utc>,
    /// `None` while running.
    pub finished_at: Option<DateTime<Utc>>,
    pub outcome: RunOutcome,
    pub counts: SyncCounts,
    /// Conflicts resolved in this run.
    #[serde(default)]
    pub conflicts: Vec<SyncConflict>,
    /// Errors of this run, localized.
    #[serde(default)]
    pub errors: Vec<SyncErrorEntry>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RunOutcome {
    Running,
    Ok,
    /// Finished with some item errors.
    Partial,
    Failed,
    #[serde(other)]
    Unknown,
}

/// Counts by action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SyncCounts {
    pub created: u32,
    pub updated: u32,
    pub deleted: u32,
    /// Not synced by the rules (type filters, private entries, window).
    pub skipped: u32,
    pub conflicts: u32,
    pub errors: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Progress {
    pub done: u32,
    pub total: u32,
}

impl Progress {
    /// 0..=100, for a progress bar.
    pub fn percent(self) -> u32 {
        if self.total == 0 {
            100
        } else {
            (u64::from(self.done.min(self.total)) * 100 / u64::from(self.total)) as u32
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SyncConflict {
    /// The entry's subject as shown to the user (a neutral word for private entries).
    pub subject: String,
    /// Localized: what was kept.
    pub resolution: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SyncErrorEntry {
    #[serde(default)]
    pub subject: Option<String>,
    /// Localized.
    pub message: String,
    pub at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_is_bounded() {
        assert_eq!(Progress { done: 0, total: 0 }.percent(), 100);
        assert_eq!(Progress { done: 1, total: 3 }.percent(), 33);
        assert_eq!(Progress { done: 9, total: 3 }.percent(), 100);
    }
}
