//! Folding the real results of a step's writes into the status row.
//!
//! The point is echo suppression: the row must hold the versions our own writes returned, so the next run
//! sees our writes as "unchanged". The rules mirror vdirsyncer and CalDav Synchronizer: a failed update or
//! delete keeps the old row (the next run simply decides again), a failed create stores nothing (the
//! entry is still new and is retried with the same idempotency key), and a create that succeeded is always
//! recorded, even when a later write of the same step failed, because forgetting it is how duplicates
//! happen.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::model::{CrmId, OutlookId, Side};
use crate::plan::{RowChange, Step, Write};

/// What became of one write.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum WriteOutcome {
    /// A create succeeded: the new entry's id and version (Graph `changeKey`, CRM `updated_at`).
    Created { id: String, version: Option<String> },
    /// An update succeeded; the version it returned, if it did.
    Updated { version: Option<String> },
    /// A delete succeeded.
    Deleted,
    /// The target does not exist (404/410). For a delete that is success.
    NotFound,
    /// Anything else (412 stale version, 5xx, timeout after retries, not attempted).
    Failed,
}

#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum FoldError {
    #[error("write {index} ({write}) cannot have outcome {outcome:?}")]
    OutcomeMismatch {
        index: usize,
        write: &'static str,
        outcome: WriteOutcome,
    },
    #[error("{given} outcomes given for {expected} writes")]
    TooManyOutcomes { given: usize, expected: usize },
}

impl Step {
    /// The row change to store after the runner applied this step's writes in order.
    ///
    /// `outcomes[i]` is the result of `self.writes[i]`; a runner that stops at the first failure passes
    /// only the outcomes it has (missing ones count as [`WriteOutcome::Failed`]).
    pub fn fold(&self, outcomes: &[WriteOutcome]) -> Result<RowChange, FoldError> {
        if outcomes.len() > self.writes.len() {
            return Err(FoldError::TooManyOutcomes {
                given: outcomes.len(),
                expected: self.writes.len(),
            });
        }
        let mut row = self.row.clone();
        let mut created = false;
        let mut all_ok = true;
        for (index, write) in self.writes.iter().enumerate() {
            let outcome = outcomes.get(index).unwrap_or(&WriteOutcome::Failed);
            let mismatch = || FoldError::OutcomeMismatch {
                index,
                write: write_name(write),
                outcome: outcome.clone(),
            };
            match (write, outcome) {
                (Write::CreateCrm { .. }, WriteOutcome::Created { id, version }) => {
                    if let RowChange::Upsert { row, .. } = &mut row {
                        row.crm_id = CrmId(id.clone());
                        row.crm.version = version.clone();
                    }
                    created = true;
                }
                (Write::CreateOutlook { .. }, WriteOutcome::Created { id, version }) => {
                    if let RowChange::Upsert { row, .. } = &mut row {
                        row.outlook_id = OutlookId(id.clone());
                        row.outlook.version = version.clone();
                    }
                    created = true;
                }
                (
                    Write::CreateCrm { .. } | Write::CreateOutlook { .. },
                    WriteOutcome::Failed | WriteOutcome::NotFound,
                ) => {
                    // Nothing was created; whatever row existed stays, and the entry is retried.
                    return Ok(RowChange::Keep);
                }
                (Write::UpdateCrm { .. }, WriteOutcome::Updated { version }) => {
                    if let RowChange::Upsert { row, .. } = &mut row
                        && !self.unverified.contains(&Side::Crm)
                    {
                        row.crm.version = version.clone();
                    }
                }
                (Write::UpdateOutlook { .. }, WriteOutcome::Updated { version }) => {
                    if let RowChange::Upsert { row, .. } = &mut row
                        && !self.unverified.contains(&Side::Outlook)
                    {
                        row.outlook.version = version.clone();
                    }
                }
                (
                    Write::UpdateCrm { .. } | Write::UpdateOutlook { .. },
                    WriteOutcome::Failed | WriteOutcome::NotFound,
                ) => {
                    all_ok = false;
                    if created {
                        // Only the tagging write follows a create; the event keeps its old state.
                        if let (RowChange::Upsert { row, .. }, Some(fallback)) =
                            (&mut row, &self.outlook_fallback)
                        {
                            row.outlook = fallback.clone();
                            row.outlook_tagged = false;
                        }
                    }
                }
                (
                    Write::DeleteCrm { .. } | Write::DeleteOutlook { .. },
                    WriteOutcome::Deleted | WriteOutcome::NotFound,
                ) => {}
                (Write::DeleteCrm { .. } | Write::DeleteOutlook { .. }, WriteOutcome::Failed) => {
                    all_ok = false;
                }
                _ => return Err(mismatch()),
            }
        }
        if all_ok || created {
            Ok(row)
        } else {
            Ok(RowChange::Keep)
        }
    }
}

fn write_name(w: &Write) -> &'static str {
    match w {
        Write::CreateCrm { .. } => "create_crm",
        Write::CreateOutlook { .. } => "create_outlook",
        Write::UpdateCrm { .. } => "update_crm",
        Write::UpdateOutlook { .. } => "update_outlook",
        Write::DeleteCrm { .. } => "delete_crm",
        Write::DeleteOutlook { .. } => "delete_outlook",
    }
}
