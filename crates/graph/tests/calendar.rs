//! Calendars, events and calendarView delta against the simulator.

mod common;

use chrono::{Duration, TimeZone, Utc};
use common::{EMAIL, Harness, event_body};
use graph::{
    BodyType, DateTimeTimeZone, DeltaItem, DeltaPosition, EventType, EventWrite, GraphError,
    ItemBody, Sensitivity,
};
use serde_json::json;

fn window() -> (chrono::DateTime<Utc>, chrono::DateTime<Utc>) {
    (
        Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap(),
        Utc.with_ymd_and_hms(2026, 4, 1, 0, 0, 0).unwrap(),
    )
}

fn start(h: &Harness) -> DeltaPosition {
    let (s, e) = window();
    DeltaPosition::Start {
        calendar_id: h.calendar_id.clone(),
        start: s,
        end: e,
    }
}

fn upserts(items: &[DeltaItem]) -> Vec<graph::Event> {
    items
        .iter()
        .filter_map(|i| match i {
            DeltaItem::Upsert(e) => Some((**e).clone()),
            _ => None,
        })
        .collect()
}

fn removed(items: &[DeltaItem]) -> Vec<String> {
    items
        .iter()
        .filter_map(|i| match i {
            DeltaItem::Removed { id } => Some(id.clone()),
            _ => None,
        })
        .collect()
}

fn new_event(subject: &str) -> EventWrite {
    EventWrite {
        subject: Some(subject.into()),
        body: Some(ItemBody {
            content_type: BodyType::Text,
            content: "Sopimuksesta".into(),
        }),
        start: Some(DateTimeTimeZone::utc(
            Utc.with_ymd_and_hms(2026, 3, 10, 8, 0, 0).unwrap(),
        )),
        end: Some(DateTimeTimeZone::utc(
            Utc.with_ymd_and_hms(2026, 3, 10, 9, 0, 0).unwrap(),
        )),
        sensitivity: Some(Sensitivity::Normal),
        ..Default::default()
    }
}

#[tokio::test]
async fn lists_default_and_other_calendars() {
    let h = Harness::start().await;
    let cals = h.mb.list_calendars().await.unwrap();
    assert_eq!(cals.len(), 2);
    assert!(
        cals.iter()
            .any(|c| c.name == "Calendar" && c.is_default_calendar == Some(true))
    );
    assert!(
        cals.iter()
            .any(|c| c.name == "Asiakastapaamiset" && c.can_edit == Some(true))
    );
    h.stop().await;
}

#[tokio::test]
async fn every_request_prefers_immutable_ids_and_utc() {
    let h = Harness::start().await;
    h.mb.list_calendars().await.unwrap();
    h.mb.delta_round(&start(&h)).await.unwrap();
    let ex = h.sim.take_exchanges();
    assert!(!ex.is_empty());
    for e in &ex {
        assert!(
            e.prefer.iter().any(|p| p == "IdType=\"ImmutableId\""),
            "{e:?}"
        );
        assert!(
            e.prefer.iter().any(|p| p == "outlook.timezone=\"UTC\""),
            "{e:?}"
        );
    }
    h.stop().await;
}

#[tokio::test]
async fn create_with_same_transaction_id_returns_the_first_event_instead_of_a_duplicate() {
    let h = Harness::start().await;
    let tx = graph::transaction_id(&["pairing-1", "activity-42"]);
    assert_eq!(tx, graph::transaction_id(&["pairing-1", "activity-42"]));
    let w = new_event("Asiakastapaaminen").with_crm_marks("activity-42", Some("Tapaaminen"));
    let a = h.mb.create_event(&h.calendar_id, &w, &tx).await.unwrap();
    let b = h.mb.create_event(&h.calendar_id, &w, &tx).await.unwrap();
    assert_eq!(a.id, b.id);
    assert_eq!(h.sim.events(EMAIL).len(), 1);
    assert_eq!(a.transaction_id.as_deref(), Some(tx.as_str()));
    assert_eq!(
        a.start_utc(),
        Some(Utc.with_ymd_and_hms(2026, 3, 10, 8, 0, 0).unwrap())
    );
    h.stop().await;
}

#[tokio::test]
async fn get_event_expands_our_extended_properties() {
    let h = Harness::start().await;
    let w = new_event("Tarjous").with_crm_marks("act-7", Some("Puhelu"));
    let e =
        h.mb.create_event(&h.calendar_id, &w, &graph::transaction_id(&["x"]))
            .await
            .unwrap();
    let got = h.mb.get_event(&e.id).await.unwrap();
    assert_eq!(got.crm_activity_id(), Some("act-7"));
    assert_eq!(got.crm_activity_type(), Some("Puhelu"));
    // Without our property on an Outlook-made event there is nothing to expand.
    let id = h
        .sim
        .create_event(
            EMAIL,
            None,
            event_body("Oma", "2026-03-11T10:00:00", "2026-03-11T11:00:00"),
        )
        .unwrap();
    let got = h.mb.get_event(&id).await.unwrap();
    assert_eq!(got.crm_activity_id(), None);
    h.stop().await;
}

#[tokio::test]
async fn update_with_stale_change_key_is_a_conflict_and_fresh_key_succeeds() {
    let h = Harness::start().await;
    let e =
        h.mb.create_event(
            &h.calendar_id,
            &new_event("A"),
            &graph::transaction_id(&["a"]),
        )
        .await
        .unwrap();
    let ck = e.change_key.clone().unwrap();
    // The user edits it in Outlook meanwhile.
    h.sim
        .update_event(EMAIL, &e.id, json!({"subject": "Käyttäjän muokkaama"}))
        .unwrap();
    let patch = EventWrite {
        subject: Some("Meidän".into()),
        ..Default::default()
    };
    assert!(matches!(
        h.mb.update_event(&e.id, &ck, &patch).await,
        Err(GraphError::Conflict { .. })
    ));
    let fresh = h.mb.get_event(&e.id).await.unwrap();
    let updated =
        h.mb.update_event(&e.id, fresh.change_key.as_deref().unwrap(), &patch)
            .await
            .unwrap();
    assert_eq!(updated.subject.as_deref(), Some("Meidän"));
    assert_ne!(updated.change_key, fresh.change_key);
    h.stop().await;
}

#[tokio::test]
async fn delete_then_confirm_deleted_and_deleting_again_is_fine() {
    let h = Harness::start().await;
    let e =
        h.mb.create_event(
            &h.calendar_id,
            &new_event("Poistettava"),
            &graph::transaction_id(&["d"]),
        )
        .await
        .unwrap();
    assert!(!h.mb.confirm_deleted(&e.id).await.unwrap());
    h.mb.delete_event(&e.id, e.change_key.as_deref())
        .await
        .unwrap();
    assert!(h.mb.confirm_deleted(&e.id).await.unwrap());
    h.mb.delete_event(&e.id, None).await.unwrap();
    assert!(h.mb.get_event(&e.id).await.unwrap_err().is_not_found());
    h.stop().await;
}

#[tokio::test]
async fn find_events_by_activity_id_finds_only_ours() {
    let h = Harness::start().await;
    h.mb.create_event(
        &h.calendar_id,
        &new_event("1").with_crm_marks("act-1", None),
        &graph::transaction_id(&["1"]),
    )
    .await
    .unwrap();
    h.mb.create_event(
        &h.calendar_id,
        &new_event("2").with_crm_marks("act-2", None),
        &graph::transaction_id(&["2"]),
    )
    .await
    .unwrap();
    h.sim
        .create_event(
            EMAIL,
            None,
            event_body("Outlook", "2026-03-12T10:00:00", "2026-03-12T11:00:00"),
        )
        .unwrap();
    let found = h.mb.find_events_by_activity_id("act-2").await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].subject.as_deref(), Some("2"));
    assert_eq!(found[0].crm_activity_id(), Some("act-2"));
    assert!(
        h.mb.find_calendar_events_by_activity_id(&h.calendar_id, "it's-missing")
            .await
            .unwrap()
            .is_empty()
    );
    h.stop().await;
}

#[tokio::test]
async fn first_delta_round_pages_through_everything_in_the_window() {
    let h = Harness::start().await;
    for d in 1..=25 {
        h.sim
            .create_event(
                EMAIL,
                None,
                event_body(
                    &format!("T{d}"),
                    &format!("2026-03-{d:02}T10:00:00"),
                    &format!("2026-03-{d:02}T11:00:00"),
                ),
            )
            .unwrap();
    }
    // Outside the window and in another calendar: not reported.
    h.sim
        .create_event(
            EMAIL,
            None,
            event_body("Huhtikuu", "2026-04-15T10:00:00", "2026-04-15T11:00:00"),
        )
        .unwrap();
    h.sim
        .create_event(
            EMAIL,
            Some("Asiakastapaamiset"),
            event_body("Muu", "2026-03-05T10:00:00", "2026-03-05T11:00:00"),
        )
        .unwrap();
    let round = h.mb.delta_round(&start(&h)).await.unwrap();
    assert_eq!(round.pages, 3, "page size 10");
    assert_eq!(upserts(&round.items).len(), 25);
    // Nothing changed: the next round is empty.
    let again =
        h.mb.delta_round(&DeltaPosition::Link(round.delta_link.clone()))
            .await
            .unwrap();
    assert!(again.items.is_empty());
    assert_eq!(again.pages, 1);
    h.stop().await;
}

#[tokio::test]
async fn later_rounds_report_only_changes_and_removals() {
    let h = Harness::start().await;
    let keep = h
        .sim
        .create_event(
            EMAIL,
            None,
            event_body("Pysyy", "2026-03-02T10:00:00", "2026-03-02T11:00:00"),
        )
        .unwrap();
    let edit = h
        .sim
        .create_event(
            EMAIL,
            None,
            event_body("Muuttuu", "2026-03-03T10:00:00", "2026-03-03T11:00:00"),
        )
        .unwrap();
    let gone = h
        .sim
        .create_event(
            EMAIL,
            None,
            event_body("Poistuu", "2026-03-04T10:00:00", "2026-03-04T11:00:00"),
        )
        .unwrap();
    let moved = h
        .sim
        .create_event(
            EMAIL,
            None,
            event_body("Siirtyy", "2026-03-05T10:00:00", "2026-03-05T11:00:00"),
        )
        .unwrap();
    let r1 = h.mb.delta_round(&start(&h)).await.unwrap();
    assert_eq!(upserts(&r1.items).len(), 4);
    h.sim
        .update_event(EMAIL, &edit, json!({"subject": "Muutettu"}))
        .unwrap();
    h.sim.delete_event(EMAIL, &gone).unwrap();
    h.sim
        .update_event(
            EMAIL,
            &moved,
            json!({"start": {"dateTime": "2026-05-05T10:00:00", "timeZone": "Europe/Helsinki"},
        "end": {"dateTime": "2026-05-05T11:00:00", "timeZone": "Europe/Helsinki"}}),
        )
        .unwrap();
    let added = h
        .sim
        .create_event(
            EMAIL,
            None,
            event_body("Uusi", "2026-03-06T10:00:00", "2026-03-06T11:00:00"),
        )
        .unwrap();
    let r2 =
        h.mb.delta_round(&DeltaPosition::Link(r1.delta_link))
            .await
            .unwrap();
    let mut changed: Vec<String> = upserts(&r2.items).into_iter().map(|e| e.id).collect();
    changed.sort();
    let mut expect = vec![edit.clone(), added.clone()];
    expect.sort();
    assert_eq!(changed, expect);
    let mut rem = removed(&r2.items);
    rem.sort();
    let mut expect = vec![gone.clone(), moved.clone()];
    expect.sort();
    assert_eq!(rem, expect);
    assert!(!changed.contains(&keep));
    // @removed means deleted OR out of the window: only the GET tells them apart.
    assert!(h.mb.confirm_deleted(&gone).await.unwrap());
    assert!(!h.mb.confirm_deleted(&moved).await.unwrap());
    h.stop().await;
}

#[tokio::test]
async fn expired_delta_token_is_resync_required_and_a_new_round_recovers() {
    let h = Harness::start().await;
    h.sim
        .create_event(
            EMAIL,
            None,
            event_body("A", "2026-03-02T10:00:00", "2026-03-02T11:00:00"),
        )
        .unwrap();
    let r1 = h.mb.delta_round(&start(&h)).await.unwrap();
    assert!(h.sim.expire_delta_tokens(EMAIL) > 0);
    let err =
        h.mb.delta_round(&DeltaPosition::Link(r1.delta_link))
            .await
            .unwrap_err();
    assert!(matches!(err, GraphError::ResyncRequired), "{err:?}");
    let r2 = h.mb.delta_round(&start(&h)).await.unwrap();
    assert_eq!(upserts(&r2.items).len(), 1);
    h.stop().await;
}

#[tokio::test]
async fn recurring_series_comes_as_master_and_occurrences_with_exceptions_and_cancellations() {
    let h = Harness::start().await;
    // Mondays 9-10 Helsinki time in March 2026: 2, 9, 16, 23, 30.
    let master = h.sim.create_event(EMAIL, None, json!({
        "subject": "Viikkopalaveri",
        "start": {"dateTime": "2026-03-02T09:00:00", "timeZone": "Europe/Helsinki"},
        "end": {"dateTime": "2026-03-02T10:00:00", "timeZone": "Europe/Helsinki"},
        "recurrence": {"pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["monday"], "firstDayOfWeek": "monday"},
                       "range": {"type": "endDate", "startDate": "2026-03-02", "endDate": "2026-03-30"}}})).unwrap();
    let r1 = h.mb.delta_round(&start(&h)).await.unwrap();
    let ups = upserts(&r1.items);
    assert_eq!(
        ups.iter()
            .filter(|e| e.kind == Some(EventType::SeriesMaster))
            .count(),
        1
    );
    let occ: Vec<_> = ups
        .iter()
        .filter(|e| e.kind == Some(EventType::Occurrence))
        .collect();
    assert_eq!(occ.len(), 5);
    assert!(
        occ.iter()
            .all(|o| o.series_master_id.as_deref() == Some(master.as_str()))
    );
    // Occurrences in delta carry only a few members.
    assert!(occ[0].subject.is_none());
    // 9:00 Helsinki (UTC+2 in early March) is 07:00 UTC.
    assert_eq!(
        occ[0].start_utc(),
        Some(Utc.with_ymd_and_hms(2026, 3, 2, 7, 0, 0).unwrap())
    );
    // After the switch to summer time (29 March) it is 06:00 UTC.
    assert_eq!(
        occ[4].start_utc(),
        Some(Utc.with_ymd_and_hms(2026, 3, 30, 6, 0, 0).unwrap())
    );
    // The user moves the 9 March occurrence and cancels the 16 March one.
    let occ9 = occ[1].id.clone();
    let occ16 = occ[2].id.clone();
    h.sim
        .update_event(EMAIL, &occ9, json!({"subject": "Siirretty palaveri"}))
        .unwrap();
    h.sim.delete_event(EMAIL, &occ16).unwrap();
    let r2 =
        h.mb.delta_round(&DeltaPosition::Link(r1.delta_link))
            .await
            .unwrap();
    let ups2 = upserts(&r2.items);
    let exc: Vec<_> = ups2
        .iter()
        .filter(|e| e.kind == Some(EventType::Exception))
        .collect();
    assert_eq!(exc.len(), 1);
    assert_eq!(exc[0].subject.as_deref(), Some("Siirretty palaveri"));
    assert!(removed(&r2.items).contains(&occ16));
    assert!(h.mb.confirm_deleted(&occ16).await.unwrap());
    let got = h.mb.get_event(&exc[0].id).await.unwrap();
    assert_eq!(got.kind, Some(EventType::Exception));
    h.stop().await;
}

#[tokio::test]
async fn all_day_and_private_events_keep_their_nature() {
    let h = Harness::start().await;
    h.sim
        .create_event(
            EMAIL,
            None,
            json!({"subject": "Messut", "isAllDay": true,
        "start": {"dateTime": "2026-03-20T00:00:00", "timeZone": "Europe/Helsinki"},
        "end": {"dateTime": "2026-03-21T00:00:00", "timeZone": "Europe/Helsinki"}}),
        )
        .unwrap();
    h.sim
        .create_event(
            EMAIL,
            None,
            json!({"subject": "Lääkäri", "sensitivity": "private",
        "start": {"dateTime": "2026-03-19T08:00:00", "timeZone": "Europe/Helsinki"},
        "end": {"dateTime": "2026-03-19T09:00:00", "timeZone": "Europe/Helsinki"}}),
        )
        .unwrap();
    let r = h.mb.delta_round(&start(&h)).await.unwrap();
    let ups = upserts(&r.items);
    let all_day = ups
        .iter()
        .find(|e| e.subject.as_deref() == Some("Messut"))
        .unwrap();
    assert_eq!(all_day.is_all_day, Some(true));
    assert_eq!(
        all_day.start.as_ref().unwrap().date_time,
        "2026-03-20T00:00:00.0000000"
    );
    let private = ups
        .iter()
        .find(|e| e.subject.as_deref() == Some("Lääkäri"))
        .unwrap();
    assert!(private.is_private());
    h.stop().await;
}

#[tokio::test]
async fn delta_page_by_page_can_be_resumed_from_a_next_link() {
    let h = Harness::start().await;
    for d in 1..=15 {
        h.sim
            .create_event(
                EMAIL,
                None,
                event_body(
                    "x",
                    &format!("2026-03-{d:02}T10:00:00"),
                    &format!("2026-03-{d:02}T11:00:00"),
                ),
            )
            .unwrap();
    }
    let p1 = h.mb.delta_page(&start(&h)).await.unwrap();
    assert_eq!(p1.items.len(), 10);
    let next = p1.next.clone().unwrap();
    // A retry of the same page (e.g. after a crash) gives the same items.
    let p2a = h.mb.delta_page(&next).await.unwrap();
    let p2b = h.mb.delta_page(&next).await.unwrap();
    assert_eq!(p2a.items, p2b.items);
    assert_eq!(p2a.items.len(), 5);
    assert!(p2a.delta_link.is_some());
    h.stop().await;
}

#[tokio::test]
async fn calendar_view_expands_occurrences_with_our_marks() {
    let h = Harness::start().await;
    let e =
        h.mb.create_event(
            &h.calendar_id,
            &new_event("Merkitty").with_crm_marks("act-9", None),
            &graph::transaction_id(&["v"]),
        )
        .await
        .unwrap();
    let (s, en) = window();
    let v =
        h.mb.calendar_view(&h.calendar_id, s, en - Duration::days(1))
            .await
            .unwrap();
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].id, e.id);
    assert_eq!(v[0].crm_activity_id(), Some("act-9"));
    h.stop().await;
}

#[tokio::test]
async fn me_and_time_zone_identify_the_mailbox_and_a_user_without_one_is_typed() {
    let h = Harness::start().await;
    let me = h.mb.me().await.unwrap();
    assert_eq!(me.mail.as_deref(), Some(EMAIL));
    assert_eq!(me.id, h.user_id);
    assert_eq!(
        h.mb.mailbox_time_zone().await.unwrap().as_deref(),
        Some("Europe/Helsinki")
    );
    let t = h.sim.mint_id_token(
        sim::graph::DEFAULT_TENANT_ID,
        "0c1d2e3f-0000-4000-8000-000000000009",
        "ei-postia@esimerkki.fi",
        sim::graph::DEFAULT_CLIENT_ID,
    );
    let tokens = h.identity.exchange_on_behalf_of(&t).await.unwrap();
    let ghost = h.client.mailbox(
        "ei-postia@esimerkki.fi",
        std::sync::Arc::new(graph::StaticToken(tokens.access_token)),
    );
    assert!(matches!(
        ghost.me().await,
        Err(GraphError::MailboxNotEnabled)
    ));
    h.stop().await;
}

#[tokio::test]
async fn occurrence_marked_as_its_own_activity_is_found_in_the_view_but_not_in_events() {
    let h = Harness::start().await;
    let master = h
        .sim
        .create_event(EMAIL, None, json!({"subject": "Viikkopalaveri",
            "start": {"dateTime": "2026-03-02T09:00:00", "timeZone": "Europe/Helsinki"},
            "end": {"dateTime": "2026-03-02T10:00:00", "timeZone": "Europe/Helsinki"},
            "recurrence": {"pattern": {"type": "daily", "interval": 7},
                           "range": {"type": "numbered", "startDate": "2026-03-02", "numberOfOccurrences": 4}}}))
        .unwrap();
    let (s, e) = window();
    let view = h.mb.calendar_view(&h.calendar_id, s, e).await.unwrap();
    assert_eq!(view.len(), 4);
    let occ = &view[1];
    assert_eq!(occ.series_master_id.as_deref(), Some(master.as_str()));
    let marked =
        h.mb.set_crm_marks(
            &occ.id,
            occ.change_key.as_deref().unwrap(),
            "act-occ-2",
            Some("Palaveri"),
        )
        .await
        .unwrap();
    assert_eq!(
        marked.kind,
        Some(EventType::Exception),
        "writing to an occurrence makes it an exception"
    );
    let found =
        h.mb.find_in_view_by_activity_id(&h.calendar_id, s, e, "act-occ-2")
            .await
            .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, occ.id);
    assert_eq!(found[0].crm_activity_type(), Some("Palaveri"));
    assert!(
        h.mb.find_events_by_activity_id("act-occ-2")
            .await
            .unwrap()
            .is_empty()
    );
    h.stop().await;
}

#[tokio::test]
async fn calendar_scoped_search_by_activity_id_ignores_other_calendars() {
    let h = Harness::start().await;
    let cals = h.mb.list_calendars().await.unwrap();
    let other = cals.iter().find(|c| c.name == "Asiakastapaamiset").unwrap();
    let w = new_event("Toinen").with_crm_marks("act-x", None);
    h.mb.create_event(&other.id, &w, &graph::transaction_id(&["o"]))
        .await
        .unwrap();
    assert!(
        h.mb.find_calendar_events_by_activity_id(&h.calendar_id, "act-x")
            .await
            .unwrap()
            .is_empty()
    );
    let found =
        h.mb.find_calendar_events_by_activity_id(&other.id, "act-x")
            .await
            .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].crm_activity_id(), Some("act-x"));
    h.stop().await;
}
