//! The schema checks used by every test really reject wrong bodies (so a passing check means
//! something), and the simulator's demo data is valid Graph.

mod common;

use common::{EMAIL, Harness, Schemas};
use serde_json::json;
use sim::graph::{Exchange, GraphSim};

fn exchange(
    method: &str,
    route: &str,
    status: u16,
    req: Option<serde_json::Value>,
    resp: Option<serde_json::Value>,
) -> Exchange {
    Exchange {
        direction: "incoming".into(),
        method: method.into(),
        route: route.into(),
        uri: route.into(),
        mailbox: None,
        in_batch: false,
        status,
        prefer: vec![],
        request_body: req,
        response_body: resp,
    }
}

#[test]
fn schema_check_rejects_misspelt_members_bad_enums_and_bad_errors() {
    let s = Schemas::load();
    let ok = json!({"subject": "x", "sensitivity": "private", "start": {"dateTime": "2026-01-01T10:00:00", "timeZone": "UTC"}});
    assert!(
        s.check(&exchange(
            "POST",
            "/v1.0/me/calendars/{cal}/events",
            201,
            Some(ok.clone()),
            Some(ok.clone())
        ))
        .is_empty()
    );
    let misspelt = json!({"subjekt": "x"});
    assert!(
        !s.check(&exchange(
            "POST",
            "/v1.0/me/calendars/{cal}/events",
            201,
            Some(misspelt),
            None
        ))
        .is_empty()
    );
    let bad_enum = json!({"id": "1", "sensitivity": "secret"});
    assert!(
        !s.check(&exchange(
            "GET",
            "/v1.0/me/events/{id}",
            200,
            None,
            Some(bad_enum)
        ))
        .is_empty()
    );
    let bad_error = json!({"error": {"code": "x"}});
    assert!(
        !s.check(&exchange(
            "GET",
            "/v1.0/me/events/{id}",
            404,
            None,
            Some(bad_error)
        ))
        .is_empty()
    );
    let too_many = json!({"requests": (0..21).map(|i| json!({"id": i.to_string(), "method": "GET", "url": "/me"})).collect::<Vec<_>>()});
    assert!(
        !s.check(&exchange("POST", "/v1.0/$batch", 200, Some(too_many), None))
            .is_empty()
    );
    let bad_notification = Exchange {
        direction: "outgoing".into(),
        ..exchange(
            "POST",
            "notification",
            202,
            Some(json!({"value": [{"changeType": "renamed"}]})),
            None,
        )
    };
    assert!(!s.check(&bad_notification).is_empty());
}

#[tokio::test]
async fn demo_mailbox_is_valid_graph_data_with_finnish_content() {
    let sim = GraphSim::new();
    let demo = sim.seed_demo();
    assert_eq!(demo.email, "demo@esimerkki.fi");
    assert_eq!(demo.display_name, "Maija Meikäläinen");
    assert_eq!(demo.time_zone, "Europe/Helsinki");
    let s = Schemas::load();
    let events = sim.events(&demo.email);
    assert!(events.len() >= 8);
    for e in &events {
        let errs = s.errors("microsoft.graph.event", e, true);
        assert!(errs.is_empty(), "{errs:?}");
    }
    let private = sim.event(&demo.email, &demo.private_event_id).unwrap();
    assert_eq!(private["sensitivity"], "private");
    let master = sim.event(&demo.email, &demo.recurring_master_id).unwrap();
    assert_eq!(master["type"], "seriesMaster");
    assert_eq!(master["cancelledOccurrences"].as_array().unwrap().len(), 1);
    let inbox = sim.messages(&demo.email, "inbox");
    assert!(inbox.iter().any(|m| {
        m["from"]["emailAddress"]["address"]
            .as_str()
            .unwrap()
            .ends_with("@konejatera.fi")
    }));
    for m in inbox
        .iter()
        .chain(sim.messages(&demo.email, "sentitems").iter())
    {
        let errs = s.errors("microsoft.graph.message", m, true);
        assert!(errs.is_empty(), "{errs:?}");
    }
    for c in sim.contacts(&demo.email) {
        let errs = s.errors("microsoft.graph.contact", &c, true);
        assert!(errs.is_empty(), "{errs:?}");
    }
}

#[tokio::test]
async fn traffic_of_a_session_is_recorded_and_checked() {
    let h = Harness::start().await;
    h.mb.list_calendars().await.unwrap();
    h.sim
        .create_event(
            EMAIL,
            None,
            common::event_body("A", "2026-03-02T10:00:00", "2026-03-02T11:00:00"),
        )
        .unwrap();
    let ex = h.sim.take_exchanges();
    assert_eq!(ex.len(), 1);
    assert_eq!(ex[0].route, "/v1.0/me/calendars");
    assert!(
        ex[0].response_body.as_ref().unwrap()["value"]
            .as_array()
            .unwrap()
            .len()
            == 2
    );
    assert!(Schemas::load().check_all(&ex).is_empty());
    h.stop().await;
}
