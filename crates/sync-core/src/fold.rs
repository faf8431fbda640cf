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

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::model::{Content, CrmItem, OutlookItem};
    use crate::plan::{Listing, StepKind, SyncInput};
    use crate::settings::Settings;
    use crate::status::{SideState, StatusRow};

    fn at(h: u32) -> chrono::DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, h, 0, 0).unwrap()
    }

    fn content(subject: &str) -> Content {
        let mut c = Content::timed(subject, at(9), at(10));
        c.activity_type = Some("Tapaaminen".into());
        c
    }

    fn event(version: &str, subject: &str, link: Option<&str>) -> OutlookItem {
        OutlookItem {
            id: OutlookId("o1".into()),
            version: version.into(),
            modified: at(7),
            crm_link: link.map(|l| CrmId(l.into())),
            content: content(subject),
            series: None,
            series_master: false,
            cancelled: false,
        }
    }

    fn activity(version: &str, subject: &str) -> CrmItem {
        CrmItem {
            id: CrmId("c1".into()),
            version: version.into(),
            modified: at(6),
            content: content(subject),
        }
    }

    fn input(o: Vec<OutlookItem>, c: Vec<CrmItem>, rows: Vec<StatusRow>) -> SyncInput {
        SyncInput {
            now: at(8),
            settings: Settings::default(),
            outlook: Listing::full(o),
            crm: Listing::full(c),
            rows,
            allow_mass_delete: false,
        }
    }

    fn linked_row() -> StatusRow {
        StatusRow {
            crm_id: CrmId("c1".into()),
            outlook_id: OutlookId("o1".into()),
            outlook: SideState::new(Some("ck1".into()), content("Old")),
            crm: SideState::new(Some("u1".into()), content("Old")),
            projection: crate::status::Projection::Full,
            origin: crate::model::Side::Outlook,
            series: None,
            detached: None,
            synced_at: at(7),
            outlook_tagged: true,
        }
    }

    fn only_step(i: &SyncInput) -> Step {
        let p = crate::plan(i).expect("plan");
        assert_eq!(p.steps.len(), 1, "{:?}", p.steps);
        p.steps.into_iter().next().expect("one step")
    }

    #[test]
    fn successful_update_stores_the_version_the_write_returned() {
        let i = input(
            vec![event("ck2", "New", Some("c1"))],
            vec![activity("u1", "Old")],
            vec![linked_row()],
        );
        let step = only_step(&i);
        assert_eq!(step.kind, StepKind::Update);
        let change = step
            .fold(&[WriteOutcome::Updated {
                version: Some("u2".into()),
            }])
            .unwrap();
        let RowChange::Upsert { row, .. } = change else {
            panic!("expected an upsert, got {change:?}");
        };
        assert_eq!(row.crm.version.as_deref(), Some("u2"));
        assert_eq!(row.outlook.version.as_deref(), Some("ck2"));
        assert_eq!(row.crm.content.subject, "New");
    }

    #[test]
    fn failed_update_keeps_the_old_row_so_the_next_run_decides_again() {
        let i = input(
            vec![event("ck2", "New", Some("c1"))],
            vec![activity("u1", "Old")],
            vec![linked_row()],
        );
        let step = only_step(&i);
        assert_eq!(step.fold(&[WriteOutcome::Failed]).unwrap(), RowChange::Keep);
        assert_eq!(
            step.fold(&[]).unwrap(),
            RowChange::Keep,
            "missing outcome = failed"
        );
    }

    #[test]
    fn failed_create_stores_nothing() {
        let i = input(vec![event("ck1", "New", None)], vec![], vec![]);
        let step = only_step(&i);
        assert_eq!(step.kind, StepKind::CreateInCrm);
        assert_eq!(step.fold(&[WriteOutcome::Failed]).unwrap(), RowChange::Keep);
    }

    #[test]
    fn create_with_failed_tagging_is_recorded_with_the_untagged_event() {
        let i = input(vec![event("ck1", "New", None)], vec![], vec![]);
        let step = only_step(&i);
        let change = step
            .fold(&[
                WriteOutcome::Created {
                    id: "900".into(),
                    version: Some("u900".into()),
                },
                WriteOutcome::Failed,
            ])
            .unwrap();
        let RowChange::Upsert { row, .. } = change else {
            panic!("a create that happened must be recorded, got {change:?}");
        };
        assert_eq!(row.crm_id, CrmId("900".into()));
        assert_eq!(row.crm.version.as_deref(), Some("u900"));
        assert_eq!(
            row.outlook.version.as_deref(),
            Some("ck1"),
            "event unchanged"
        );
        assert!(!row.outlook_tagged);
    }

    #[test]
    fn create_and_tagging_fill_both_ids_and_versions() {
        let i = input(vec![event("ck1", "New", None)], vec![], vec![]);
        let step = only_step(&i);
        let change = step
            .fold(&[
                WriteOutcome::Created {
                    id: "900".into(),
                    version: Some("u900".into()),
                },
                WriteOutcome::Updated {
                    version: Some("ck2".into()),
                },
            ])
            .unwrap();
        let RowChange::Upsert { row, .. } = change else {
            panic!("expected an upsert, got {change:?}");
        };
        assert_eq!(row.crm_id, CrmId("900".into()));
        assert_eq!(row.outlook.version.as_deref(), Some("ck2"));
        assert!(row.outlook_tagged);
    }

    #[test]
    fn delete_of_an_already_missing_entry_counts_as_done() {
        let i = SyncInput {
            outlook: Listing::full(vec![]).with_deleted(vec![OutlookId("o1".into())]),
            ..input(vec![], vec![activity("u1", "Old")], vec![linked_row()])
        };
        let step = only_step(&i);
        assert_eq!(step.kind, StepKind::DeleteInCrm);
        assert!(matches!(
            step.fold(&[WriteOutcome::NotFound]).unwrap(),
            RowChange::Remove { .. }
        ));
        assert_eq!(step.fold(&[WriteOutcome::Failed]).unwrap(), RowChange::Keep);
    }

    #[test]
    fn outcome_that_does_not_fit_the_write_is_an_error() {
        let i = input(vec![event("ck1", "New", None)], vec![], vec![]);
        let step = only_step(&i);
        assert!(matches!(
            step.fold(&[WriteOutcome::Deleted]),
            Err(FoldError::OutcomeMismatch { index: 0, .. })
        ));
        assert!(matches!(
            step.fold(&[
                WriteOutcome::Failed,
                WriteOutcome::Failed,
                WriteOutcome::Failed
            ]),
            Err(FoldError::TooManyOutcomes { .. })
        ));
    }
}
