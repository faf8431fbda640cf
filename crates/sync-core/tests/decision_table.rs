//! One test per row of the decision table in `DECISIONS.md` (the crate docs); names match the table.

mod common;

use common::{World, content};
use sync_core::{
    Conflict, CrmId, CrmLink, Direction, Guard, Listing, OutlookId, PlanError, PrivateMode,
    Projection, SeriesInstance, Settings, Side, SkipReason, StepKind, TypeSet, Write, plan,
};

const MEETING: &str = "Tapaaminen";
const CALL: &str = "Soitto";

fn settings() -> Settings {
    Settings {
        default_activity_type: Some(MEETING.into()),
        ..Settings::default()
    }
}

fn crm_content(subject: &str, days: i64, hour: i64) -> sync_core::Content {
    let mut c = content(subject, days, hour);
    c.activity_type = Some(MEETING.into());
    c
}

/// An event made in Outlook and synced once: returns the event and its activity.
fn linked_pair(w: &mut World) -> (OutlookId, CrmId) {
    let o = w.user_create_outlook(content("Kickoff", 1, 9));
    w.sync();
    let c = w.partner_of_outlook(&o).expect("linked").id.clone();
    (o, c)
}

fn kinds(p: &sync_core::Plan) -> Vec<StepKind> {
    p.steps.iter().map(|s| s.kind).collect()
}

// ----- entries with a status row -----------------------------------------------------------------------

#[test]
fn row01_both_unchanged_does_nothing() {
    let mut w = World::new(settings());
    linked_pair(&mut w);
    let p = w.sync();
    assert!(p.steps.is_empty(), "{:?}", p.steps);
}

#[test]
fn row02_outlook_changed_updates_crm() {
    let mut w = World::new(settings());
    let (o, c) = linked_pair(&mut w);
    w.user_edit_outlook(&o, |x| x.subject = "Kickoff v2".into());
    let p = w.sync();
    assert_eq!(kinds(&p), vec![StepKind::Update]);
    match &p.steps[0].writes[..] {
        [Write::UpdateCrm { id, patch }] => {
            assert_eq!(id, &c);
            assert_eq!(patch.subject.as_deref(), Some("Kickoff v2"));
            assert_eq!(patch.fields().len(), 1, "only the changed field is written");
        }
        other => panic!("unexpected writes {other:?}"),
    }
    assert_eq!(w.crm[&c].content.subject, "Kickoff v2");
}

#[test]
fn row02_outlook_edit_of_type_outside_edit_set_is_not_propagated() {
    let mut s = settings();
    s.outlook_to_crm.edit_delete_types = TypeSet::only([CALL]);
    let mut w = World::new(s);
    let (o, c) = linked_pair(&mut w);
    w.user_edit_outlook(&o, |x| x.subject = "Changed".into());
    let p = w.sync();
    assert!(p.is_quiet());
    assert_eq!(
        p.steps[0].reasons,
        vec![SkipReason::EditNotAllowed {
            direction: Direction::OutlookToCrm,
            activity_type: Some(MEETING.into())
        }]
    );
    assert_eq!(w.crm[&c].content.subject, "Kickoff");
    // The edit stays pending and is reported again, until the rules let it through.
    let p = w.sync();
    assert!(p.is_quiet());
    assert!(matches!(
        p.steps[0].reasons[..],
        [SkipReason::EditNotAllowed { .. }]
    ));
    w.settings.outlook_to_crm.edit_delete_types = TypeSet::All;
    w.sync();
    assert_eq!(w.crm[&c].content.subject, "Changed");
    assert!(w.sync().steps.is_empty());
}

#[test]
fn row02_outlook_edit_outside_window_is_not_propagated() {
    let mut s = settings();
    s.outlook_to_crm.history_days = 2;
    s.crm_to_outlook.history_days = 30;
    let mut w = World::new(s);
    let c = w.user_create_crm(crm_content("Old visit", -10, 9));
    w.sync();
    let o = w.partner_of_crm(&c).expect("created in Outlook").id.clone();
    w.user_edit_outlook(&o, |x| x.location = "Elsewhere".into());
    let p = w.sync();
    assert!(p.is_quiet());
    assert_eq!(
        p.steps[0].reasons,
        vec![SkipReason::OutsideWindow {
            direction: Direction::OutlookToCrm
        }]
    );
    assert_eq!(w.crm[&c].content.location, "");
    // Moved into the window, the entry syncs again, with the edit made while it was outside.
    w.user_edit_outlook(&o, |x| x.when = content("", 1, 9).when);
    w.sync();
    assert_eq!(w.crm[&c].content.location, "Elsewhere");
    assert_eq!(w.crm[&c].content.when, content("", 1, 9).when);
}

#[test]
fn row03_crm_changed_updates_outlook() {
    let mut w = World::new(settings());
    let (o, c) = linked_pair(&mut w);
    w.user_edit_crm(&c, |x| x.body = "Agenda".into());
    let p = w.sync();
    assert_eq!(kinds(&p), vec![StepKind::Update]);
    match &p.steps[0].writes[..] {
        [Write::UpdateOutlook { id, patch, .. }] => {
            assert_eq!(id, &o);
            assert_eq!(patch.body.as_deref(), Some("Agenda"));
            assert_eq!(patch.fields().len(), 1);
        }
        other => panic!("unexpected writes {other:?}"),
    }
    assert_eq!(w.outlook[&o].content.body, "Agenda");
}

#[test]
fn row03_crm_edit_of_type_outside_edit_set_is_not_propagated() {
    let mut s = settings();
    s.crm_to_outlook.edit_delete_types = TypeSet::none();
    let mut w = World::new(s);
    let (o, c) = linked_pair(&mut w);
    w.user_edit_crm(&c, |x| x.body = "Agenda".into());
    let p = w.sync();
    assert!(p.is_quiet());
    assert!(matches!(
        p.steps[0].reasons[..],
        [SkipReason::EditNotAllowed {
            direction: Direction::CrmToOutlook,
            ..
        }]
    ));
    assert_eq!(w.outlook[&o].content.body, "");
}

#[test]
fn row04_both_changed_different_fields_merge() {
    let mut w = World::new(settings());
    let (o, c) = linked_pair(&mut w);
    w.user_edit_outlook(&o, |x| x.location = "Room 1".into());
    w.user_edit_crm(&c, |x| x.body = "Agenda".into());
    let p = w.sync();
    assert!(p.steps[0].conflicts.is_empty());
    assert_eq!(w.crm[&c].content.location, "Room 1");
    assert_eq!(w.outlook[&o].content.body, "Agenda");
    assert_eq!(w.crm[&c].content.body, "Agenda", "CRM keeps its own edit");
    assert!(w.sync().steps.is_empty(), "converged");
}

#[test]
fn row04_both_changed_same_field_later_change_wins_and_conflict_is_recorded() {
    let mut w = World::new(settings());
    let (o, c) = linked_pair(&mut w);
    w.user_edit_outlook(&o, |x| x.subject = "Outlook title".into());
    w.user_edit_crm(&c, |x| x.subject = "CRM title".into()); // later
    let p = w.sync();
    assert_eq!(
        p.steps[0].conflicts,
        vec![Conflict::Field {
            field: sync_core::Field::Subject,
            outlook_value: "Outlook title".into(),
            crm_value: "CRM title".into(),
            winner: Side::Crm,
        }]
    );
    assert_eq!(w.outlook[&o].content.subject, "CRM title");
    assert_eq!(w.crm[&c].content.subject, "CRM title");

    // And the other way round: the Outlook edit is later this time.
    w.user_edit_crm(&c, |x| x.subject = "CRM again".into());
    w.user_edit_outlook(&o, |x| x.subject = "Outlook again".into());
    w.sync();
    assert_eq!(w.crm[&c].content.subject, "Outlook again");
}

#[test]
fn row04_both_changed_to_same_value_is_no_conflict() {
    let mut w = World::new(settings());
    let (o, c) = linked_pair(&mut w);
    w.user_edit_outlook(&o, |x| x.subject = "Same".into());
    w.user_edit_crm(&c, |x| x.subject = "Same".into());
    let p = w.sync();
    assert!(p.is_quiet());
    assert!(p.steps.iter().all(|s| s.conflicts.is_empty()));
    assert_eq!(kinds(&p), vec![StepKind::Refresh]);
}

#[test]
fn row05_echo_of_own_write_is_not_a_change() {
    let mut w = World::new(settings());
    let (o, c) = linked_pair(&mut w);
    w.user_edit_crm(&c, |x| x.subject = "New".into());
    w.sync();
    assert!(
        w.sync().steps.is_empty(),
        "our own write to Outlook came back as a change"
    );
    // Outlook bumps the changeKey for things we do not sync (a reminder, a category): only the row moves.
    w.user_edit_outlook(&o, |_| {});
    let p = w.sync();
    assert_eq!(kinds(&p), vec![StepKind::Refresh]);
    assert!(p.is_quiet());
    assert!(w.sync().steps.is_empty());
}

#[test]
fn row06_outlook_deleted_deletes_in_crm() {
    let mut w = World::new(settings());
    let (o, c) = linked_pair(&mut w);
    w.user_delete_outlook(&o);
    let p = w.sync();
    assert_eq!(kinds(&p), vec![StepKind::DeleteInCrm]);
    assert!(!w.crm.contains_key(&c));
    assert!(w.rows.is_empty());
}

#[test]
fn row06_outlook_deleted_type_not_in_edit_delete_set_detaches() {
    let mut s = settings();
    s.outlook_to_crm.edit_delete_types = TypeSet::only([CALL]);
    let mut w = World::new(s);
    let (o, c) = linked_pair(&mut w);
    w.user_delete_outlook(&o);
    let p = w.sync();
    assert_eq!(kinds(&p), vec![StepKind::Detach]);
    assert!(p.is_quiet());
    assert!(w.crm.contains_key(&c));
    assert_eq!(w.row_for_crm(&c).unwrap().detached, Some(Side::Outlook));
    // The survivor is not copied back into Outlook.
    assert!(w.sync().steps.is_empty());
    assert!(w.outlook.is_empty());
}

#[test]
fn row07_outlook_deleted_crm_edited_edit_wins() {
    let mut w = World::new(settings());
    let (o, c) = linked_pair(&mut w);
    w.user_delete_outlook(&o);
    w.user_edit_crm(&c, |x| x.body = "Important notes".into());
    let p = w.sync();
    assert_eq!(kinds(&p), vec![StepKind::Unlink, StepKind::CreateInOutlook]);
    assert_eq!(
        p.steps[0].conflicts,
        vec![Conflict::EditBeatDelete {
            deleted: Side::Outlook
        }]
    );
    assert!(w.crm.contains_key(&c));
    let again = w.partner_of_crm(&c).expect("re-created and linked");
    assert_eq!(again.content.body, "Important notes");
    assert!(w.sync().steps.is_empty());
}

#[test]
fn row08_crm_deleted_deletes_in_outlook() {
    let mut w = World::new(settings());
    let (o, c) = linked_pair(&mut w);
    w.user_delete_crm(&c);
    let p = w.sync();
    assert_eq!(kinds(&p), vec![StepKind::DeleteInOutlook]);
    assert!(!w.outlook.contains_key(&o));
    assert!(w.rows.is_empty());
}

#[test]
fn row08_crm_deleted_outside_window_detaches() {
    let mut w = World::new(settings());
    let o = w.user_create_outlook(content("Last week", -10, 9));
    w.sync();
    let c = w.partner_of_outlook(&o).unwrap().id.clone();
    w.settings.crm_to_outlook.history_days = 5;
    w.user_delete_crm(&c);
    let p = w.sync();
    assert_eq!(kinds(&p), vec![StepKind::Detach]);
    assert_eq!(
        p.steps[0].reasons,
        vec![SkipReason::OutsideWindow {
            direction: Direction::CrmToOutlook
        }]
    );
    assert!(w.outlook.contains_key(&o));
}

#[test]
fn row09_crm_deleted_outlook_edited_edit_wins() {
    let mut w = World::new(settings());
    let (o, c) = linked_pair(&mut w);
    w.user_delete_crm(&c);
    w.user_edit_outlook(&o, |x| x.body = "Still happening".into());
    let p = w.sync();
    assert_eq!(kinds(&p), vec![StepKind::Unlink, StepKind::CreateInCrm]);
    let again = w.partner_of_outlook(&o).expect("re-created in CRM");
    assert_ne!(again.id, c);
    assert_eq!(again.content.body, "Still happening");
    assert_eq!(w.outlook[&o].crm_link.as_ref(), Some(&again.id));
    assert!(w.sync().steps.is_empty());
}

#[test]
fn row10_both_deleted_forgets_row() {
    let mut w = World::new(settings());
    let (o, c) = linked_pair(&mut w);
    w.user_delete_outlook(&o);
    w.user_delete_crm(&c);
    let p = w.sync();
    assert_eq!(kinds(&p), vec![StepKind::Unlink]);
    assert!(p.is_quiet());
    assert!(w.rows.is_empty());
}

#[test]
fn row11_outlook_not_listed_is_never_a_deletion() {
    let mut w = World::new(settings());
    let (o, c) = linked_pair(&mut w);
    // Moved far beyond the window: Graph reports it removed from the view, the GET finds it.
    w.user_edit_outlook(&o, |x| x.when = content("", 400, 9).when);
    w.user_edit_crm(&c, |x| x.body = "edited meanwhile".into());
    let p = w.sync();
    assert!(p.steps.is_empty(), "{:?}", p.steps);
    assert!(w.crm.contains_key(&c));
    assert_eq!(w.rows.len(), 1);
}

#[test]
fn row12_crm_not_listed_is_never_a_deletion() {
    let mut w = World::new(settings());
    let (o, c) = linked_pair(&mut w);
    w.user_edit_crm(&c, |x| x.when = content("", 400, 9).when);
    let p = w.sync();
    assert!(p.steps.is_empty(), "{:?}", p.steps);
    assert!(w.outlook.contains_key(&o));
}

#[test]
fn row13_outlook_deleted_crm_not_listed_detaches() {
    let mut w = World::new(settings());
    let (o, c) = linked_pair(&mut w);
    w.user_edit_crm(&c, |x| x.when = content("", 400, 9).when);
    w.user_delete_outlook(&o);
    let p = w.sync();
    assert_eq!(kinds(&p), vec![StepKind::Detach]);
    assert_eq!(p.steps[0].reasons, vec![SkipReason::PartnerNotListed]);
    assert!(w.crm.contains_key(&c));
}

#[test]
fn row14_crm_deleted_outlook_not_listed_detaches() {
    let mut w = World::new(settings());
    let (o, c) = linked_pair(&mut w);
    w.user_edit_outlook(&o, |x| x.when = content("", 400, 9).when);
    w.user_delete_crm(&c);
    let p = w.sync();
    assert_eq!(kinds(&p), vec![StepKind::Detach]);
    assert!(w.outlook.contains_key(&o));
}

#[test]
fn row15_detached_pair_stays_frozen() {
    let mut s = settings();
    s.outlook_to_crm.edit_delete_types = TypeSet::none();
    let mut w = World::new(s);
    let (o, c) = linked_pair(&mut w);
    w.user_delete_outlook(&o);
    w.sync();
    w.user_edit_crm(&c, |x| x.subject = "Edited after".into());
    let p = w.sync();
    assert!(p.steps.is_empty(), "{:?}", p.steps);
    assert!(w.outlook.is_empty());
}

#[test]
fn row16_detached_pair_forgotten_when_survivor_deleted() {
    let mut s = settings();
    s.outlook_to_crm.edit_delete_types = TypeSet::none();
    let mut w = World::new(s);
    let (o, c) = linked_pair(&mut w);
    w.user_delete_outlook(&o);
    w.sync();
    w.user_delete_crm(&c);
    let p = w.sync();
    assert_eq!(kinds(&p), vec![StepKind::Unlink]);
    assert!(w.rows.is_empty());
}

#[test]
fn row17_cancelled_occurrence_deletes_in_crm() {
    let mut w = World::new(settings());
    let master = OutlookId("series-1".into());
    let mut ids = Vec::new();
    for day in 1..=3 {
        let mut c = content("Weekly", day, 9);
        c.activity_type = Some(MEETING.into());
        let id = w.user_create_outlook(c);
        let when = w.outlook[&id].content.when;
        let item = w.outlook.get_mut(&id).unwrap();
        item.series = Some(SeriesInstance {
            series_id: master.clone(),
            original_start: match when {
                sync_core::When::Timed { start, .. } => start,
                sync_core::When::AllDay { .. } => unreachable!(),
            },
        });
        ids.push(id);
    }
    w.sync();
    assert_eq!(w.crm.len(), 3, "each occurrence is its own activity");
    let gone = w.partner_of_outlook(&ids[1]).unwrap().id.clone();
    w.user_edit_outlook(&ids[0], |x| x.location = "Moved room".into()); // an exception
    w.user_cancel_outlook(&ids[1]);
    let p = w.sync();
    assert_eq!(
        kinds(&p)
            .iter()
            .filter(|k| **k == StepKind::DeleteInCrm)
            .count(),
        1
    );
    assert!(!w.crm.contains_key(&gone));
    assert_eq!(
        w.partner_of_outlook(&ids[0]).unwrap().content.location,
        "Moved room"
    );
    assert_eq!(w.crm.len(), 2);
    let p = w.sync();
    assert!(p.is_quiet());
    assert_eq!(p.steps[0].reasons, vec![SkipReason::Cancelled]);
}

#[test]
fn row17_cancelled_event_with_crm_edit_detaches_without_copying_back() {
    let mut w = World::new(settings());
    let (o, c) = linked_pair(&mut w);
    w.user_edit_crm(&c, |x| x.body = "Rescheduling notes".into());
    w.user_cancel_outlook(&o);
    let p = w.sync();
    assert_eq!(kinds(&p), vec![StepKind::Detach]);
    assert_eq!(
        p.steps[0].conflicts,
        vec![Conflict::EditBeatDelete {
            deleted: Side::Outlook
        }]
    );
    assert!(w.crm.contains_key(&c), "the edit stays");
    assert_eq!(
        w.outlook.len(),
        1,
        "no second copy next to the cancelled event"
    );
    assert!(w.sync().is_quiet());
}

#[test]
fn row18_private_pair_in_skip_mode_is_frozen() {
    let mut s = settings();
    s.private_mode = PrivateMode::Skip;
    let mut w = World::new(s);
    let (o, c) = linked_pair(&mut w);
    w.user_edit_outlook(&o, |x| {
        x.private = true;
        x.subject = "Doctor".into();
    });
    let p = w.sync();
    assert!(p.is_quiet());
    assert_eq!(p.steps[0].reasons, vec![SkipReason::PrivateEntry]);
    assert_eq!(w.crm[&c].content.subject, "Kickoff");
}

#[test]
fn row19_outlook_made_private_scrubs_crm_copy() {
    let mut s = settings();
    s.private_mode = PrivateMode::BusyBlock;
    let mut w = World::new(s);
    let mut x = content("Lunch with Anna", 1, 11);
    x.body = "about the offer".into();
    x.location = "Cafe".into();
    x.attendees.insert("anna@example.com".into());
    let o = w.user_create_outlook(x);
    w.sync();
    let c = w.partner_of_outlook(&o).unwrap().id.clone();
    assert_eq!(w.crm[&c].content.location, "Cafe");
    w.user_edit_outlook(&o, |x| x.private = true);
    w.sync();
    let block = &w.crm[&c].content;
    assert_eq!(block.subject, "Varattu");
    assert_eq!(block.body, "");
    assert_eq!(block.location, "");
    assert!(block.attendees.is_empty());
    assert!(block.private);
    assert_eq!(block.when, w.outlook[&o].content.when, "time is kept");
    assert_eq!(
        w.row_for_outlook(&o).unwrap().projection,
        Projection::BusyBlockInCrm
    );
    assert!(w.sync().steps.is_empty());
    // Later private edits do not flow; a time change does.
    w.user_edit_outlook(&o, |x| x.body = "secret plans".into());
    assert!(w.sync().is_quiet());
    w.user_edit_outlook(&o, |x| x.when = content("", 2, 12).when);
    w.sync();
    assert_eq!(w.crm[&c].content.when, content("", 2, 12).when);
    assert_eq!(w.crm[&c].content.body, "");
}

#[test]
fn row20_changes_listing_absent_means_unchanged() {
    let mut w = World::new(settings());
    let (o, c) = linked_pair(&mut w);
    let mut input = w.input();
    input.outlook = Listing::changes(Vec::new());
    input.crm = Listing::changes(Vec::new());
    assert!(plan(&input).unwrap().steps.is_empty());

    // Only the changed event is listed; the unlisted activity is taken as unchanged and updated.
    w.user_edit_outlook(&o, |x| x.subject = "Delta".into());
    let mut input = w.input();
    input.crm = Listing::changes(Vec::new());
    let p = plan(&input).unwrap();
    assert_eq!(kinds(&p), vec![StepKind::Update]);
    assert!(matches!(&p.steps[0].writes[..], [Write::UpdateCrm { id, .. }] if id == &c));
}

// ----- entries without a status row --------------------------------------------------------------------

#[test]
fn row21_outlook_only_creates_in_crm() {
    let mut w = World::new(settings());
    let o = w.user_create_outlook(content("Kickoff", 1, 9));
    let p = w.sync();
    assert_eq!(kinds(&p), vec![StepKind::CreateInCrm]);
    match &p.steps[0].writes[..] {
        [
            Write::CreateCrm { content, .. },
            Write::UpdateOutlook {
                crm_link: Some(CrmLink::CreatedInThisStep),
                patch,
                ..
            },
        ] => {
            assert_eq!(
                content.activity_type.as_deref(),
                Some(MEETING),
                "default type"
            );
            assert_eq!(
                patch.activity_type,
                Some(Some(MEETING.into())),
                "type stamped"
            );
        }
        other => panic!("unexpected writes {other:?}"),
    }
    let c = w.partner_of_outlook(&o).unwrap();
    assert_eq!(w.outlook[&o].crm_link.as_ref(), Some(&c.id));
    assert!(w.sync().steps.is_empty());
}

#[test]
fn row21_no_type_and_no_default_is_not_synced() {
    let mut w = World::new(Settings::default());
    let o = w.user_create_outlook(content("Untyped", 1, 9));
    let p = w.sync();
    assert!(p.is_quiet());
    assert_eq!(p.steps[0].reasons, vec![SkipReason::NoActivityType]);
    assert!(w.crm.is_empty());
    // Choosing a type for that one event activates its sync.
    w.user_edit_outlook(&o, |x| x.activity_type = Some(CALL.into()));
    w.sync();
    assert_eq!(
        w.partner_of_outlook(&o)
            .unwrap()
            .content
            .activity_type
            .as_deref(),
        Some(CALL)
    );
}

#[test]
fn row21_chosen_type_wins_over_default() {
    let mut w = World::new(settings());
    let mut x = content("Call Bob", 1, 9);
    x.activity_type = Some(CALL.into());
    let o = w.user_create_outlook(x);
    w.sync();
    assert_eq!(
        w.partner_of_outlook(&o)
            .unwrap()
            .content
            .activity_type
            .as_deref(),
        Some(CALL)
    );
}

#[test]
fn row21_empty_create_set_creates_nothing() {
    let mut s = settings();
    s.outlook_to_crm.create_types = TypeSet::none();
    let mut w = World::new(s);
    w.user_create_outlook(content("Kickoff", 1, 9));
    let p = w.sync();
    assert!(p.is_quiet());
    assert_eq!(
        p.steps[0].reasons,
        vec![SkipReason::CreateNotAllowed {
            direction: Direction::OutlookToCrm,
            activity_type: Some(MEETING.into())
        }]
    );
    assert!(w.crm.is_empty());
}

#[test]
fn row21_outside_window_is_not_created() {
    let mut s = settings();
    s.outlook_to_crm.history_days = 5;
    s.crm_to_outlook.history_days = 30;
    let mut w = World::new(s);
    w.user_create_outlook(content("Old", -10, 9));
    let p = w.sync();
    assert!(p.is_quiet());
    assert_eq!(
        p.steps[0].reasons,
        vec![SkipReason::OutsideWindow {
            direction: Direction::OutlookToCrm
        }]
    );
}

#[test]
fn row21_series_master_is_skipped() {
    let mut w = World::new(settings());
    let o = w.user_create_outlook(content("Weekly", 1, 9));
    w.outlook.get_mut(&o).unwrap().series_master = true;
    let p = w.sync();
    assert!(p.is_quiet());
    assert_eq!(p.steps[0].reasons, vec![SkipReason::SeriesMaster]);
}

#[test]
fn row22_crm_only_creates_in_outlook() {
    let mut w = World::new(settings());
    let c = w.user_create_crm(crm_content("Visit", 2, 13));
    let p = w.sync();
    assert_eq!(kinds(&p), vec![StepKind::CreateInOutlook]);
    let o = w.partner_of_crm(&c).unwrap();
    assert_eq!(o.crm_link.as_ref(), Some(&c));
    assert_eq!(o.content.activity_type.as_deref(), Some(MEETING));
    assert!(w.sync().steps.is_empty());
}

#[test]
fn row22_type_not_in_create_set_is_skipped() {
    let mut s = settings();
    s.crm_to_outlook.create_types = TypeSet::only([CALL]);
    let mut w = World::new(s);
    w.user_create_crm(crm_content("Visit", 2, 13));
    let p = w.sync();
    assert!(p.is_quiet());
    assert!(matches!(
        p.steps[0].reasons[..],
        [SkipReason::CreateNotAllowed {
            direction: Direction::CrmToOutlook,
            ..
        }]
    ));
}

#[test]
fn row23_tagged_event_adopts_its_activity() {
    let mut w = World::new(settings());
    let (o, c) = linked_pair(&mut w);
    let c2 = w.user_create_crm(crm_content("From CRM", 3, 9));
    w.sync();
    // Forced removal: the status table is gone. Meanwhile the activity is edited.
    w.rows.clear();
    w.user_edit_crm(&c, |x| x.body = "Edited while unpaired".into());
    let p = w.sync();
    assert_eq!(kinds(&p), vec![StepKind::Link, StepKind::Link]);
    assert_eq!(w.crm.len(), 2);
    assert_eq!(w.outlook.len(), 2);
    assert_eq!(w.outlook[&o].content.body, "Edited while unpaired");
    assert!(w.partner_of_crm(&c2).is_some());
    assert!(w.duplicates().is_empty());
    assert!(w.sync().steps.is_empty());
}

#[test]
fn row23_adopted_difference_held_back_by_the_rules_flows_later() {
    let mut s = settings();
    s.outlook_to_crm.history_days = 30;
    s.crm_to_outlook.history_days = 0;
    let mut w = World::new(s);
    let c = w.user_create_crm(crm_content("Kickoff", 1, 9));
    w.sync();
    let o = w.partner_of_crm(&c).unwrap().id.clone();
    w.forget_status();
    w.user_edit_outlook(&o, |x| x.subject = "kickoff".into());
    w.user_edit_crm(&c, |x| x.when = content("", -10, 9).when); // later, outside CRM → Outlook
    let p = w.sync();
    assert_eq!(kinds(&p), vec![StepKind::Link]);
    assert_eq!(
        w.outlook[&o].content.when,
        content("", 1, 9).when,
        "held back"
    );
    w.settings.crm_to_outlook.history_days = 30;
    w.sync();
    assert_eq!(w.outlook[&o].content.when, content("", -10, 9).when);
    assert_eq!(
        w.outlook[&o].content.subject, "Kickoff",
        "the later side won"
    );
    assert!(w.sync().steps.is_empty());
}

#[test]
fn row24_exact_match_adopts_and_tags() {
    let mut w = World::new(settings());
    let o = w.user_create_outlook(content("Board  Meeting", 1, 9));
    let c = w.user_create_crm(crm_content("board meeting", 1, 9));
    let p = w.sync();
    assert_eq!(kinds(&p), vec![StepKind::Link]);
    assert!(p.steps[0].writes.iter().any(|x| matches!(
        x,
        Write::UpdateOutlook { crm_link: Some(CrmLink::Id(id)), .. } if id == &c
    )));
    assert_eq!(w.crm.len(), 1);
    assert_eq!(w.outlook[&o].crm_link.as_ref(), Some(&c));
}

#[test]
fn row25_tagged_with_unlisted_activity_is_not_duplicated() {
    let mut w = World::new(settings());
    let (o, c) = linked_pair(&mut w);
    w.rows.clear();
    w.user_edit_crm(&c, |x| x.when = content("", 400, 9).when);
    let p = w.sync();
    assert!(p.is_quiet());
    assert_eq!(
        p.steps[0].reasons,
        vec![SkipReason::LinkedActivityNotListed { crm_id: c.clone() }]
    );
    assert_eq!(w.crm.len(), 1);
    assert!(w.outlook.contains_key(&o));
}

#[test]
fn row26_copied_event_is_created_as_new() {
    let mut w = World::new(settings());
    let (_o, c) = linked_pair(&mut w);
    // Copying an event in Outlook copies our extended property too.
    let copy = w.user_create_outlook(content("Kickoff", 8, 9));
    w.outlook.get_mut(&copy).unwrap().crm_link = Some(c.clone());
    let p = w.sync();
    assert_eq!(kinds(&p), vec![StepKind::CreateInCrm]);
    let new = w.partner_of_outlook(&copy).unwrap();
    assert_ne!(new.id, c);
    assert_eq!(w.crm.len(), 2);
}

#[test]
fn row27_private_outlook_entry_creates_busy_block() {
    let mut s = settings();
    s.private_mode = PrivateMode::BusyBlock;
    s.language = sync_core::Language::En;
    let mut w = World::new(s);
    let mut x = content("Therapy", 1, 15);
    x.private = true;
    x.body = "session 4".into();
    x.location = "Clinic".into();
    let o = w.user_create_outlook(x);
    let p = w.sync();
    match &p.steps[0].writes[0] {
        Write::CreateCrm { content, .. } => {
            assert_eq!(content.subject, "Busy");
            assert_eq!(content.body, "");
            assert_eq!(content.location, "");
            assert!(content.private);
            assert_eq!(content.activity_type.as_deref(), Some(MEETING));
        }
        other => panic!("unexpected write {other:?}"),
    }
    let row = w.row_for_outlook(&o).unwrap();
    assert_eq!(
        row.outlook.content.subject, "",
        "the status table keeps no private text"
    );
    assert!(w.sync().steps.is_empty());
}

/// Gives an event a place in a series, as Graph reports occurrences.
fn make_occurrence(w: &mut World, id: &OutlookId, series: &str) {
    let when = w.outlook[id].content.when;
    let start = match when {
        sync_core::When::Timed { start, .. } => start,
        sync_core::When::AllDay { .. } => unreachable!(),
    };
    w.outlook.get_mut(id).unwrap().series = Some(SeriesInstance {
        series_id: OutlookId(series.into()),
        original_start: start,
    });
}

#[test]
fn row30_series_edited_as_a_whole_relinks_occurrences() {
    let mut w = World::new(settings());
    let mut old = Vec::new();
    for day in 1..=3 {
        let id = w.user_create_outlook(content("Weekly", day, 9));
        make_occurrence(&mut w, &id, "series-1");
        old.push(id);
    }
    w.sync();
    let activities: Vec<CrmId> = old
        .iter()
        .map(|o| w.partner_of_outlook(o).unwrap().id.clone())
        .collect();
    // The series moves from 9:00 to 10:00: Graph drops the old occurrences and lists new ones.
    for id in &old {
        w.user_delete_outlook(id);
    }
    let mut new = Vec::new();
    for day in 1..=3 {
        let id = w.user_create_outlook(content("Weekly", day, 10));
        make_occurrence(&mut w, &id, "series-1");
        new.push(id);
    }
    let p = w.sync();
    let c = p.counts();
    assert_eq!((c.delete_in_crm, c.create_in_crm), (0, 0), "{:?}", p.steps);
    assert_eq!(c.update, 3);
    for (o, a) in new.iter().zip(&activities) {
        assert_eq!(&w.partner_of_outlook(o).unwrap().id, a);
        assert_eq!(
            w.crm[a].content.when, w.outlook[o].content.when,
            "moved to 10:00"
        );
        assert_eq!(w.outlook[o].crm_link.as_ref(), Some(a));
    }
    assert!(w.sync().steps.is_empty());
}

// ----- guards --------------------------------------------------------------------------------------------

#[test]
fn row28_empty_side_stops_the_run() {
    let mut w = World::new(settings());
    for i in 0..12 {
        w.user_create_outlook(content(&format!("E{i}"), 1 + i, 9));
    }
    w.sync();
    let mut input = w.input();
    input.outlook.items.clear(); // e.g. the calendar id changed or the listing broke
    assert_eq!(
        plan(&input).unwrap_err(),
        PlanError::Guard(Guard::SideEmpty {
            side: Side::Outlook,
            linked: 12
        })
    );
}

#[test]
fn row29_mass_delete_stops_the_run() {
    let mut w = World::new(settings());
    let mut ids = Vec::new();
    for i in 0..12 {
        ids.push(w.user_create_outlook(content(&format!("E{i}"), 1 + i, 9)));
    }
    w.sync();
    for id in &ids[..8] {
        w.user_delete_outlook(id);
    }
    let err = w.plan().unwrap_err();
    assert!(matches!(
        err,
        PlanError::Guard(Guard::TooManyDeletes {
            side: Side::Crm,
            deletes: 8,
            linked: 12,
            ..
        })
    ));
    assert_eq!(w.crm.len(), 12, "nothing deleted");
    // After the user confirms, the same run goes through.
    let mut input = w.input();
    input.allow_mass_delete = true;
    assert_eq!(plan(&input).unwrap().counts().delete_in_crm, 8);
}

/// Keeps the table and the tests from drifting apart: every test the table names exists here, and every
/// `rowNN_` test here is named in the table.
#[test]
fn decision_table_names_exactly_the_row_tests() {
    let table = include_str!("../DECISIONS.md");
    let tests = include_str!("decision_table.rs");
    let named: std::collections::BTreeSet<&str> = table
        .split('`')
        .filter(|s| s.starts_with("row") && s.chars().nth(3).is_some_and(|c| c.is_ascii_digit()))
        .collect();
    let defined: std::collections::BTreeSet<&str> = tests
        .split("fn ")
        .skip(1)
        .filter_map(|s| s.split('(').next())
        .filter(|s| s.starts_with("row") && s.chars().nth(3).is_some_and(|c| c.is_ascii_digit()))
        .collect();
    assert!(!named.is_empty());
    assert_eq!(named, defined);
}
