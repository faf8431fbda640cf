//! Property tests: random edits on both sides, random settings, random interleavings of sync runs and
//! random write failures (including "committed, but the answer was lost").
//!
//! The default run (1,024 cases per property) is sized for `cargo test` in debug: about 4 s of CPU. Set
//! `PROPTEST_CASES` for a longer run, e.g. `PROPTEST_CASES=150000 cargo test -p sync-core --release --test
//! properties` (about 2 minutes on two busy cores), which is what a nightly run should do.

mod common;

use std::collections::HashMap;

use common::{Fault, World, content};
use proptest::prelude::*;
use proptest::sample::Index;
use sync_core::{
    Content, CrmId, DirectionSettings, Language, OutlookId, Plan, PrivateMode, Safety, Settings,
    StatusRow, SyncInput, TypeSet, Write, plan,
};

const TYPES: [&str; 2] = ["Tapaaminen", "Soitto"];
const SUBJECTS: [&str; 4] = ["Kickoff", "kickoff", "Review", "Lunch"];
const WORDS: [&str; 3] = ["", "alpha", "beta"];

fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[derive(Clone, Debug)]
enum Edit {
    Subject(usize),
    Body(usize),
    Location(usize),
    Move(i64, i64),
    /// Turn into an all-day entry on that day (date semantics, no instants).
    AllDay(i64),
    Private(bool),
    Type(Option<usize>),
    Status(Option<usize>),
    Attendee(usize),
}

#[derive(Clone, Debug)]
enum Op {
    CreateOutlook {
        day: i64,
        hour: i64,
        subject: usize,
        private: bool,
        typ: Option<usize>,
    },
    CreateCrm {
        day: i64,
        hour: i64,
        subject: usize,
        private: bool,
        typ: usize,
    },
    EditOutlook(Index, Edit),
    EditCrm(Index, Edit),
    DeleteOutlook(Index),
    DeleteCrm(Index),
    CancelOutlook(Index),
    /// A recurring series in Outlook: occurrences on consecutive days.
    CreateSeries {
        day: i64,
        hour: i64,
        count: i64,
        subject: usize,
    },
    /// The whole series moved to another hour: Graph replaces every occurrence with a new id.
    MoveSeries(Index, i64),
    Sync(Vec<u8>),
    /// Forced removal and re-pairing: the status table is lost.
    ForgetStatus,
    NextDay,
}

fn day() -> impl Strategy<Value = i64> {
    // Mostly near today, some far in the past or at the future edge of a 365-day window.
    prop_oneof![8 => -5i64..=10, 1 => -70i64..=-50, 1 => 360i64..=370]
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (0..SUBJECTS.len()).prop_map(Edit::Subject),
        (0..WORDS.len()).prop_map(Edit::Body),
        (0..WORDS.len()).prop_map(Edit::Location),
        (day(), 0i64..23).prop_map(|(d, h)| Edit::Move(d, h)),
        day().prop_map(Edit::AllDay),
        any::<bool>().prop_map(Edit::Private),
        proptest::option::of(0..TYPES.len()).prop_map(Edit::Type),
        proptest::option::of(0..2usize).prop_map(Edit::Status),
        (0..3usize).prop_map(Edit::Attendee),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (day(), 8i64..12, 0..SUBJECTS.len(), prop::bool::weighted(0.3), proptest::option::of(0..TYPES.len()))
            .prop_map(|(day, hour, subject, private, typ)| Op::CreateOutlook { day, hour, subject, private, typ }),
        3 => (day(), 8i64..12, 0..SUBJECTS.len(), prop::bool::weighted(0.3), 0..TYPES.len())
            .prop_map(|(day, hour, subject, private, typ)| Op::CreateCrm { day, hour, subject, private, typ }),
        3 => (any::<Index>(), edit()).prop_map(|(i, e)| Op::EditOutlook(i, e)),
        3 => (any::<Index>(), edit()).prop_map(|(i, e)| Op::EditCrm(i, e)),
        1 => any::<Index>().prop_map(Op::DeleteOutlook),
        1 => any::<Index>().prop_map(Op::DeleteCrm),
        1 => any::<Index>().prop_map(Op::CancelOutlook),
        4 => proptest::collection::vec(any::<u8>(), 0..6).prop_map(Op::Sync),
        1 => Just(Op::ForgetStatus),
        1 => Just(Op::NextDay),
        1 => (day(), 8i64..12, 2i64..4, 0..SUBJECTS.len())
            .prop_map(|(day, hour, count, subject)| Op::CreateSeries { day, hour, count, subject }),
        1 => (any::<Index>(), 8i64..12).prop_map(|(i, h)| Op::MoveSeries(i, h)),
    ]
}

fn type_set() -> impl Strategy<Value = TypeSet> {
    prop_oneof![
        3 => Just(TypeSet::All),
        1 => Just(TypeSet::none()),
        1 => Just(TypeSet::only([TYPES[0]])),
        1 => Just(TypeSet::only([TYPES[1]])),
    ]
}

fn direction() -> impl Strategy<Value = DirectionSettings> {
    (
        prop::sample::select(vec![0u32, 1, 7, 60]),
        prop::sample::select(vec![0u32, 3, 30, 365]),
        type_set(),
        type_set(),
    )
        .prop_map(
            |(history_days, future_days, create_types, edit_delete_types)| DirectionSettings {
                history_days,
                future_days,
                create_types,
                edit_delete_types,
            },
        )
}

fn settings() -> impl Strategy<Value = Settings> {
    (
        direction(),
        direction(),
        proptest::option::of(0..TYPES.len()),
        prop::sample::select(vec![
            PrivateMode::Full,
            PrivateMode::BusyBlock,
            PrivateMode::Skip,
        ]),
        any::<bool>(),
        prop::sample::select(vec![
            chrono_tz::Europe::Helsinki,
            chrono_tz::UTC,
            chrono_tz::America::New_York,
        ]),
    )
        .prop_map(|(o2c, c2o, default, private_mode, en, tz)| Settings {
            outlook_to_crm: o2c,
            crm_to_outlook: c2o,
            default_activity_type: default.map(|i| TYPES[i].to_owned()),
            private_mode,
            language: if en { Language::En } else { Language::Fi },
            user_tz: tz,
            crm_tz: chrono_tz::Europe::Helsinki,
            // The guards are tested on their own; here they would only stop runs the test wants to see.
            safety: Safety {
                max_delete_share: 1.0,
                min_linked_for_guard: usize::MAX,
            },
        })
}

fn apply_edit(c: &mut Content, e: &Edit) {
    match e {
        Edit::Subject(i) => c.subject = SUBJECTS[*i].into(),
        Edit::Body(i) => c.body = WORDS[*i].into(),
        Edit::Location(i) => c.location = WORDS[*i].into(),
        Edit::Move(d, h) => c.when = content("", *d, *h).when,
        Edit::AllDay(d) => {
            let start = (common::t0() + chrono::Duration::days(*d)).date_naive();
            c.when = sync_core::When::AllDay {
                start,
                end: start.succ_opt().expect("a next day"),
            };
        }
        Edit::Private(p) => c.private = *p,
        Edit::Type(t) => c.activity_type = t.map(|i| TYPES[i].to_owned()),
        Edit::Status(s) => c.status = s.map(|i| ["Suunniteltu", "Tehty"][i].to_owned()),
        Edit::Attendee(i) => {
            let a = format!("person{i}@example.com");
            if !c.attendees.remove(&a) {
                c.attendees.insert(a);
            }
        }
    }
}

fn pick<K: Clone + Ord, V>(m: &std::collections::BTreeMap<K, V>, i: &Index) -> Option<K> {
    if m.is_empty() {
        None
    } else {
        m.keys().nth(i.index(m.len())).cloned()
    }
}

fn is_neutral(c: &Content) -> bool {
    ["Varattu", "Busy"].contains(&c.subject.as_str())
        && c.body.is_empty()
        && c.location.is_empty()
        && c.attendees.is_empty()
}

fn patch_is_neutral(p: &sync_core::Patch) -> bool {
    p.subject
        .as_deref()
        .is_none_or(|s| ["Varattu", "Busy"].contains(&s))
        && p.body.as_deref().is_none_or(str::is_empty)
        && p.location.as_deref().is_none_or(str::is_empty)
        && p.attendees.as_ref().is_none_or(|a| a.is_empty())
}

/// The rules every single plan must obey, whatever the history.
fn check_plan(input: &SyncInput, plan: &Plan) -> Result<(), TestCaseError> {
    let s = &input.settings;
    let rows_by_c: HashMap<&CrmId, &StatusRow> =
        input.rows.iter().map(|r| (&r.crm_id, r)).collect();
    let rows_by_o: HashMap<&OutlookId, &StatusRow> =
        input.rows.iter().map(|r| (&r.outlook_id, r)).collect();
    let o_items: HashMap<&OutlookId, &sync_core::OutlookItem> =
        input.outlook.items.iter().map(|i| (&i.id, i)).collect();
    let c_items: HashMap<&CrmId, &sync_core::CrmItem> =
        input.crm.items.iter().map(|i| (&i.id, i)).collect();
    for step in &plan.steps {
        // The Outlook / CRM entries this step is about, as listed.
        let o = step
            .outlook_id
            .as_ref()
            .and_then(|id| o_items.get(id))
            .copied();
        let c = step.crm_id.as_ref().and_then(|id| c_items.get(id)).copied();
        for w in &step.writes {
            match w {
                Write::DeleteCrm { id } => {
                    let row = rows_by_c.get(id);
                    prop_assert!(row.is_some(), "deleting an unlinked activity {id}");
                    let row = row.unwrap();
                    let gone = input.outlook.confirmed_deleted.contains(&row.outlook_id)
                        || o_items.get(&row.outlook_id).is_some_and(|i| i.cancelled);
                    prop_assert!(gone, "deleting {id} although its event is not deleted");
                    prop_assert!(
                        s.outlook_to_crm
                            .edit_delete_types
                            .contains(row.synced_type()),
                        "delete of type {:?} not allowed",
                        row.synced_type()
                    );
                }
                Write::DeleteOutlook { id, .. } => {
                    let row = rows_by_o.get(id);
                    prop_assert!(row.is_some(), "deleting an unlinked event {id}");
                    let row = row.unwrap();
                    prop_assert!(
                        input.crm.confirmed_deleted.contains(&row.crm_id),
                        "deleting {id} although its activity is not deleted"
                    );
                    prop_assert!(
                        s.crm_to_outlook
                            .edit_delete_types
                            .contains(row.synced_type())
                    );
                }
                Write::CreateCrm {
                    source, content, ..
                } => {
                    let src = o_items[source];
                    prop_assert!(
                        s.outlook_to_crm
                            .create_types
                            .contains(content.activity_type.as_deref())
                    );
                    if src.content.private {
                        prop_assert!(s.private_mode != PrivateMode::Skip);
                        if s.private_mode == PrivateMode::BusyBlock {
                            prop_assert!(
                                is_neutral(content),
                                "private content leaked: {content:?}"
                            );
                        }
                    }
                }
                Write::CreateOutlook {
                    source, content, ..
                } => {
                    let src = c_items[source];
                    prop_assert!(
                        s.crm_to_outlook
                            .create_types
                            .contains(src.content.activity_type.as_deref())
                    );
                    if src.content.private {
                        prop_assert!(s.private_mode != PrivateMode::Skip);
                        if s.private_mode == PrivateMode::BusyBlock {
                            prop_assert!(
                                is_neutral(content),
                                "private content leaked: {content:?}"
                            );
                        }
                    }
                }
                Write::UpdateCrm { patch, .. } => {
                    if let Some(o) = o
                        && o.content.private
                    {
                        prop_assert!(
                            s.private_mode != PrivateMode::Skip,
                            "synced a private entry"
                        );
                        if s.private_mode == PrivateMode::BusyBlock {
                            prop_assert!(
                                patch_is_neutral(patch),
                                "private content leaked: {patch:?}"
                            );
                        }
                    }
                }
                Write::UpdateOutlook { patch, .. } => {
                    if let Some(c) = c
                        && c.content.private
                        && !patch.is_empty()
                    {
                        prop_assert!(
                            s.private_mode != PrivateMode::Skip,
                            "synced a private entry"
                        );
                        if s.private_mode == PrivateMode::BusyBlock {
                            prop_assert!(
                                patch_is_neutral(patch),
                                "private content leaked: {patch:?}"
                            );
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

fn faults(seed: &[u8]) -> impl FnMut(&Write) -> Fault + '_ {
    let mut i = 0;
    move |_| {
        let f = match seed.get(i).map(|b| b % 10) {
            Some(8) => Fault::FailBefore,
            Some(9) => Fault::CommitThenDrop,
            _ => Fault::None,
        };
        i += 1;
        f
    }
}

fn run_checked(w: &mut World, seed: &[u8]) -> Result<Plan, TestCaseError> {
    w.begin_run();
    let input = w.next_input();
    let p = plan(&input).map_err(|e| TestCaseError::fail(format!("plan failed: {e}")))?;
    check_plan(&input, &p)?;
    w.apply(&p, &mut faults(seed));
    prop_assert!(
        w.duplicates().is_empty(),
        "duplicates {:?} after {:?}",
        w.duplicates(),
        p.steps
    );
    Ok(p)
}

fn play(w: &mut World, ops: &[Op]) -> Result<(), TestCaseError> {
    for op in ops {
        match op {
            Op::CreateOutlook {
                day,
                hour,
                subject,
                private,
                typ,
            } => {
                let mut c = content(SUBJECTS[*subject], *day, *hour);
                c.private = *private;
                c.activity_type = typ.map(|i| TYPES[i].to_owned());
                w.user_create_outlook(c);
            }
            Op::CreateCrm {
                day,
                hour,
                subject,
                private,
                typ,
            } => {
                let mut c = content(SUBJECTS[*subject], *day, *hour);
                c.private = *private;
                c.activity_type = Some(TYPES[*typ].to_owned());
                w.user_create_crm(c);
            }
            Op::EditOutlook(i, e) => {
                if let Some(id) = pick(&w.outlook, i) {
                    w.user_edit_outlook(&id, |c| apply_edit(c, e));
                }
            }
            Op::EditCrm(i, e) => {
                if let Some(id) = pick(&w.crm, i) {
                    // A CRM activity always has a type.
                    if !matches!(e, Edit::Type(None)) {
                        w.user_edit_crm(&id, |c| apply_edit(c, e));
                    }
                }
            }
            Op::DeleteOutlook(i) => {
                if let Some(id) = pick(&w.outlook, i) {
                    w.user_delete_outlook(&id);
                }
            }
            Op::DeleteCrm(i) => {
                if let Some(id) = pick(&w.crm, i) {
                    w.user_delete_crm(&id);
                }
            }
            Op::CancelOutlook(i) => {
                if let Some(id) = pick(&w.outlook, i) {
                    w.user_cancel_outlook(&id);
                }
            }
            Op::CreateSeries {
                day,
                hour,
                count,
                subject,
            } => {
                w.series_seq += 1;
                let series = OutlookId(format!("series-{}", w.series_seq));
                for k in 0..*count {
                    let id = w.user_create_outlook(content(SUBJECTS[*subject], day + k, *hour));
                    let (start, _) = common::slot(day + k, *hour);
                    w.outlook.get_mut(&id).expect("created").series =
                        Some(sync_core::SeriesInstance {
                            series_id: series.clone(),
                            original_start: start,
                        });
                }
            }
            Op::MoveSeries(i, hour) => {
                // Only series whose occurrences are all linked: a series edited while the status table
                // is gone cannot be related to its old activities (see "Known limits").
                let mut ids: Vec<OutlookId> = w
                    .outlook
                    .values()
                    .filter_map(|o| o.series.as_ref().map(|s| s.series_id.clone()))
                    .collect();
                ids.dedup();
                ids.retain(|series| {
                    w.outlook
                        .values()
                        .filter(|o| o.series.as_ref().is_some_and(|s| &s.series_id == series))
                        .all(|o| w.row_for_outlook(&o.id).is_some())
                });
                if !ids.is_empty() {
                    let series = ids[i.index(ids.len())].clone();
                    let old: Vec<sync_core::OutlookItem> = w
                        .outlook
                        .values()
                        .filter(|o| o.series.as_ref().is_some_and(|s| s.series_id == series))
                        .cloned()
                        .collect();
                    for o in old {
                        w.user_delete_outlook(&o.id);
                        let si = o.series.expect("occurrence");
                        let day = si.original_start.date_naive();
                        let start = day.and_hms_opt(*hour as u32, 0, 0).expect("hour").and_utc();
                        let mut c = o.content.clone();
                        c.when = sync_core::When::Timed {
                            start,
                            end: start + chrono::Duration::hours(1),
                        };
                        let id = w.user_create_outlook(c);
                        // A cancelled occurrence stays cancelled.
                        w.outlook.get_mut(&id).expect("created").cancelled = o.cancelled;
                        // A new occurrence of the same series; its lineage is the old one's.
                        let lineage = w.lineage_o[&o.id];
                        w.lineage_o.insert(id.clone(), lineage);
                        w.outlook.get_mut(&id).expect("created").series =
                            Some(sync_core::SeriesInstance {
                                series_id: series.clone(),
                                original_start: start,
                            });
                    }
                }
            }
            Op::Sync(seed) => {
                run_checked(w, seed)?;
            }
            Op::ForgetStatus => {
                // Modelled after one completed run: a forced removal straight after a run whose tagging
                // write failed can pair identical-looking entries the wrong way round (see the report in
                // DECISIONS.md, "Known limits").
                run_checked(w, &[])?;
                w.forget_status();
            }
            Op::NextDay => w.now += chrono::Duration::days(1),
        }
    }
    Ok(())
}

/// Runs fault-free syncs until a plan writes nothing; fails if that takes more than a few runs.
fn settle(w: &mut World) -> Result<(), TestCaseError> {
    // Edits held back by the rules are looked at again on full listings, which the runner makes at
    // least daily (the window moves); settling starts with one.
    w.full_next();
    for _ in 0..4 {
        let p = run_checked(w, &[])?;
        if p.is_quiet() {
            // And it stays quiet: the row updates of that run did not set anything off.
            let again = run_checked(w, &[])?;
            prop_assert!(again.is_quiet(), "not stable: {:?}", again.steps);
            return Ok(());
        }
    }
    Err(TestCaseError::fail(format!(
        "did not converge: {:?}",
        w.plan().map(|p| p.steps)
    )))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(1024)))]

    /// Whatever the settings and history: no duplicates, no deletion the rules forbid, no private
    /// content in busy-block mode, and the sides settle once the user stops editing.
    #[test]
    fn random_histories_converge_without_duplicates_forbidden_deletes_or_leaks(
        settings in settings(),
        delta in any::<bool>(),
        ops in proptest::collection::vec(op(), 1..40),
    ) {
        let mut w = World::new(settings);
        w.delta = delta;
        play(&mut w, &ops)?;
        settle(&mut w)?;
    }
}

fn permissive() -> Settings {
    let wide = DirectionSettings {
        history_days: 60,
        future_days: 365,
        create_types: TypeSet::All,
        edit_delete_types: TypeSet::All,
    };
    Settings {
        outlook_to_crm: wide.clone(),
        crm_to_outlook: wide,
        default_activity_type: Some(TYPES[0].into()),
        private_mode: PrivateMode::Full,
        safety: Safety {
            max_delete_share: 1.0,
            min_linked_for_guard: usize::MAX,
        },
        ..Settings::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(1024)))]

    /// With nothing excluded by the settings, settling means agreeing: every listed entry is linked and
    /// both sides of every pair that is listed on both sides hold the same values.
    #[test]
    fn with_permissive_settings_both_sides_end_up_equal(
        delta in any::<bool>(),
        ops in proptest::collection::vec(op(), 1..40),
    ) {
        let mut w = World::new(permissive());
        w.delta = delta;
        let ops: Vec<Op> = ops.into_iter().filter(|o| !matches!(o, Op::CancelOutlook(_))).collect();
        play(&mut w, &ops)?;
        settle(&mut w)?;
        let input = w.input();
        let default = permissive().default_activity_type;
        for o in &input.outlook.items {
            let row = w.row_for_outlook(&o.id);
            // After a forced removal an event whose activity has left the window cannot be re-linked
            // yet (and must not be copied again).
            let partner_unlisted = o.crm_link.as_ref().is_some_and(|x| {
                w.crm.contains_key(x) && !input.crm.items.iter().any(|c| &c.id == x)
            });
            if row.is_none() && partner_unlisted {
                continue;
            }
            prop_assert!(row.is_some(), "event {} not linked", o.id);
            // A partner that left the window (moved there on its side) is legitimately not synced.
            let Some(c) = input.crm.items.iter().find(|c| c.id == row.unwrap().crm_id) else {
                continue;
            };
            let mut oc = o.content.normalized();
            oc.activity_type = oc.activity_type.or(default.clone());
            prop_assert_eq!(oc, c.content.normalized());
        }
        for c in &input.crm.items {
            prop_assert!(w.row_for_crm(&c.id).is_some(), "activity {} not linked", c.id);
        }
    }
}
