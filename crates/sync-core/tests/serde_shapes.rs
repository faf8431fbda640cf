//! The server stores status rows (and create intents, which are whole steps) as JSON in Postgres: every
//! stored type must survive a round trip unchanged.

mod common;

use common::{World, content};
use sync_core::{Plan, PrivateMode, Settings, StatusRow, SyncInput};

fn busy_world() -> World {
    let mut w = World::new(Settings {
        default_activity_type: Some("Tapaaminen".into()),
        private_mode: PrivateMode::BusyBlock,
        ..Settings::default()
    });
    let mut private = content("Dentist", 1, 9);
    private.private = true;
    w.user_create_outlook(private);
    let mut allday = content("Offsite", 2, 0);
    allday.when = sync_core::When::AllDay {
        start: chrono::NaiveDate::from_ymd_opt(2026, 11, 27).unwrap(),
        end: chrono::NaiveDate::from_ymd_opt(2026, 11, 28).unwrap(),
    };
    w.user_create_outlook(allday);
    w
}

#[test]
fn status_rows_round_trip_through_json() {
    let mut w = busy_world();
    w.sync();
    assert_eq!(w.rows.len(), 2);
    let json = serde_json::to_string(&w.rows).unwrap();
    let back: Vec<StatusRow> = serde_json::from_str(&json).unwrap();
    assert_eq!(back, w.rows);
}

#[test]
fn plans_and_inputs_round_trip_through_json() {
    let w = busy_world();
    let input = w.input();
    let plan = sync_core::plan(&input).unwrap();
    assert!(!plan.steps.is_empty());
    let back: Plan = serde_json::from_str(&serde_json::to_string(&plan).unwrap()).unwrap();
    assert_eq!(back, plan);
    let back: SyncInput = serde_json::from_str(&serde_json::to_string(&input).unwrap()).unwrap();
    assert_eq!(back, input);
}

#[test]
fn rows_written_before_the_tag_flag_existed_read_as_tagged() {
    let mut w = busy_world();
    w.sync();
    let mut v = serde_json::to_value(&w.rows[0]).unwrap();
    v.as_object_mut().unwrap().remove("outlook_tagged");
    let row: StatusRow = serde_json::from_value(v).unwrap();
    assert!(row.outlook_tagged);
}
