//! The sync runner end to end: real server state, real Postgres, both simulators. Each test pairs the
//! demo mailbox with the demo CRM user and drives sync runs directly (the worker calls the same
//! function), so every assertion is about outcomes, not timing.

mod common;

use chrono::{Duration, Utc};
use common::{Sims, TestServer, paired};
use crm_server::{sync::run_pairing, worker::JobKind};
use serde_json::{Value, json};
use uuid::Uuid;

struct World {
    sims: Sims,
    server: TestServer,
    token: String,
    pairing_id: Uuid,
}

impl World {
    async fn new() -> Self {
        Self::with_prefs(|_| {}).await
    }

    /// Pairs, then adjusts the preferences before the first sync.
    async fn with_prefs(adjust: impl FnOnce(&mut Value)) -> Self {
        let sims = Sims::start().await;
        let server = TestServer::start_with(|c| sims.configure(c)).await;
        let token = paired(&server, &sims).await;
        common::api::update_preferences(&client(), &server.base, &token, |p| {
            p["default_activity_type"] = json!("Tapaaminen");
            adjust(p)
        })
        .await;
        let pairing_id = server.pairing_id().await;
        Self {
            sims,
            server,
            token,
            pairing_id,
        }
    }

    async fn sync(&self) {
        run_pairing(&self.server.state, self.pairing_id, JobKind::OutlookToCrm)
            .await
            .expect("sync run");
    }

    fn email(&self) -> &str {
        &self.sims.mailbox.email
    }

    fn crm_activities(&self) -> Vec<Value> {
        self.sims
            .crm
            .list(self.sims.demo_crm.company_id, "activities")
    }

    fn crm_subjects(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .crm_activities()
            .iter()
            .map(|a| a["subject"].as_str().unwrap_or("").to_owned())
            .collect();
        v.sort();
        v
    }

    /// Events in the paired calendar (occurrences expanded), over the next weeks.
    fn outlook_subjects(&self) -> Vec<String> {
        let now = Utc::now();
        let mut v: Vec<String> = self
            .sims
            .graph
            .calendar_view(
                self.email(),
                Some(&self.sims.mailbox.calendar_id),
                now - Duration::days(70),
                now + Duration::days(370),
            )
            .iter()
            .map(|e| e["subject"].as_str().unwrap_or("").to_owned())
            .collect();
        v.sort();
        v
    }

    fn create_outlook_event(&self, subject: &str, days: i64, extra: Value) -> String {
        let start = (Utc::now() + Duration::days(days))
            .format("%Y-%m-%dT10:00:00")
            .to_string();
        let end = (Utc::now() + Duration::days(days))
            .format("%Y-%m-%dT11:00:00")
            .to_string();
        let mut body = json!({
            "subject": subject,
            "start": {"dateTime": start, "timeZone": "UTC"},
            "end": {"dateTime": end, "timeZone": "UTC"},
            "body": {"contentType": "text", "content": "Asialista: budjetti"},
            "location": {"displayName": "Neuvotteluhuone 2"},
        });
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                b.insert(k.clone(), v.clone());
            }
        }
        self.sims
            .graph
            .create_event(self.email(), Some(&self.sims.mailbox.calendar_id), body)
            .unwrap()
    }

    fn create_crm_activity(&self, subject: &str, activity_type: &str, days: i64) {
        let day = (Utc::now() + Duration::days(days))
            .format("%Y-%m-%d")
            .to_string();
        self.sims
            .crm
            .insert(
                self.sims.demo_crm.company_id,
                "activities",
                json!({
                    "subject": subject, "activity_type": activity_type,
                    "start_date": format!("{day} 09:00:00"), "end_date": format!("{day} 10:00:00"),
                    "owner_id": self.sims.demo_crm.user_id,
                }),
            )
            .unwrap();
    }

    /// Deletes the activity in the CRM (as a user would) and makes the next run scan the CRM's ids,
    /// which it otherwise does only every few minutes (the CRM has no deletion feed).
    async fn delete_crm_activity_and_rescan(&self, subject: &str) {
        let activity = self
            .crm_activities()
            .into_iter()
            .find(|a| a["subject"] == subject)
            .expect("activity");
        let id = activity["id"]
            .as_str()
            .map(str::to_owned)
            .or_else(|| activity["id"].as_u64().map(|n| n.to_string()))
            .expect("activity id");
        self.sims
            .crm
            .delete(
                self.sims.demo_crm.company_id,
                "activities",
                id.parse().unwrap(),
            )
            .unwrap();
        let pool = self.server.db.pool().await;
        sqlx::query("UPDATE sync_cursors SET last_id_scan_at = NULL")
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

fn count(v: &[String], s: &str) -> usize {
    v.iter().filter(|x| x.as_str() == s).count()
}

#[tokio::test]
async fn first_sync_copies_both_ways_and_a_second_run_changes_nothing() {
    let w = World::new().await;
    let crm_before = w.crm_subjects();
    let outlook_before = w.outlook_subjects();
    w.sync().await;
    let crm_after = w.crm_subjects();
    let outlook_after = w.outlook_subjects();
    // Every seeded CRM activity in the window is now also in the calendar, exactly once (a subject
    // may also name an unrelated event the mailbox already had).
    for s in &crm_before {
        assert_eq!(
            count(&outlook_after, s),
            count(&outlook_before, s) + count(&crm_before, s),
            "{s} in Outlook: {outlook_after:?}, before {outlook_before:?}, CRM {crm_before:?}"
        );
    }
    assert!(
        crm_after.len() > crm_before.len(),
        "Outlook entries were copied to the CRM"
    );
    // A second run (and a third) creates nothing new: no duplicates.
    w.sync().await;
    w.sync().await;
    assert_eq!(w.crm_subjects(), crm_after);
    assert_eq!(w.outlook_subjects(), outlook_after);
}

#[tokio::test]
async fn a_new_outlook_event_reaches_the_crm_with_the_default_type() {
    let w = World::new().await;
    w.sync().await;
    w.create_outlook_event("Palaveri Virtasen kanssa", 3, json!({}));
    w.sync().await;
    let created: Vec<Value> = w
        .crm_activities()
        .into_iter()
        .filter(|a| a["subject"] == "Palaveri Virtasen kanssa")
        .collect();
    assert_eq!(created.len(), 1, "{created:?}");
    assert_eq!(created[0]["activity_type"], "Tapaaminen");
    assert_eq!(created[0]["location"], "Neuvotteluhuone 2");
    assert!(
        created[0]["description"]
            .as_str()
            .unwrap()
            .contains("Asialista: budjetti")
    );
}

#[tokio::test]
async fn a_new_crm_activity_reaches_the_calendar_and_carries_our_mark() {
    let w = World::new().await;
    w.sync().await;
    w.create_crm_activity("Soita Järviselle", "Soitto", 4);
    w.sync().await;
    let events: Vec<Value> = w
        .sims
        .graph
        .events(w.email())
        .into_iter()
        .filter(|e| e["subject"] == "Soita Järviselle")
        .collect();
    assert_eq!(events.len(), 1);
    let props = events[0]["singleValueExtendedProperties"].to_string();
    assert!(props.contains("CrmActivityId"), "{props}");
}

#[tokio::test]
async fn with_an_empty_default_type_outlook_entries_wait_for_a_type() {
    let w = World::with_prefs(|p| p["default_activity_type"] = Value::Null).await;
    w.create_outlook_event("Tyypitön tapaaminen", 2, json!({}));
    w.sync().await;
    assert_eq!(count(&w.crm_subjects(), "Tyypitön tapaaminen"), 0);
    let pool = w.server.db.pool().await;
    let reasons: Vec<Value> =
        sqlx::query_scalar("SELECT reasons FROM sync_item_states WHERE state = 'excluded'")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert!(
        reasons
            .iter()
            .any(|r| r.to_string().contains("no_activity_type")),
        "{reasons:?}"
    );
    pool.close().await;
}

#[tokio::test]
async fn an_empty_create_set_creates_nothing_in_that_direction() {
    let w = World::with_prefs(|p| p["crm_to_outlook"]["create_types"] = json!([])).await;
    w.create_crm_activity("Ei kalenteriin", "Soitto", 4);
    w.sync().await;
    assert_eq!(count(&w.outlook_subjects(), "Ei kalenteriin"), 0);
}

#[tokio::test]
async fn private_entries_in_busy_mode_reach_the_crm_without_content() {
    let w = World::with_prefs(|p| p["private_entries"] = json!("busy")).await;
    w.create_outlook_event("Lääkäri", 2, json!({"sensitivity": "private"}));
    w.sync().await;
    let all = w.crm_activities();
    assert!(
        all.iter().all(|a| a["subject"] != "Lääkäri"),
        "private subject leaked"
    );
    assert!(
        all.iter().all(|a| !a["description"]
            .as_str()
            .unwrap_or("")
            .contains("Asialista")),
        "private body leaked"
    );
    assert!(
        all.iter().any(|a| a["subject"] == "Varattu"),
        "busy block missing"
    );
}

#[tokio::test]
async fn private_entries_in_skip_mode_are_not_synced() {
    let w = World::with_prefs(|p| p["private_entries"] = json!("skip")).await;
    w.create_outlook_event("Hammaslääkäri", 2, json!({"sensitivity": "private"}));
    w.sync().await;
    assert!(
        w.crm_activities()
            .iter()
            .all(|a| a["subject"] != "Hammaslääkäri" && a["subject"] != "Varattu")
    );
}

#[tokio::test]
async fn forced_removal_and_pairing_again_creates_zero_duplicates() {
    let w = World::new().await;
    w.sync().await;
    let (crm, outlook) = (w.crm_subjects(), w.outlook_subjects());
    let resp = client()
        .delete(w.server.url("/api/pairing?force=true"))
        .bearer_auth(&w.token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let resp = client()
        .post(w.server.url("/api/pairing"))
        .bearer_auth(&w.token)
        .json(&w.sims.pairing_request())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let pairing_id = w.server.pairing_id().await;
    run_pairing(&w.server.state, pairing_id, JobKind::OutlookToCrm)
        .await
        .unwrap();
    run_pairing(&w.server.state, pairing_id, JobKind::CrmToOutlook)
        .await
        .unwrap();
    assert_eq!(
        w.crm_subjects(),
        crm,
        "CRM gained duplicates after re-pairing"
    );
    assert_eq!(
        w.outlook_subjects(),
        outlook,
        "Outlook gained duplicates after re-pairing"
    );
}

#[tokio::test]
async fn an_expired_delta_token_resyncs_without_duplicates() {
    let w = World::new().await;
    w.sync().await;
    w.sync().await;
    let (crm, outlook) = (w.crm_subjects(), w.outlook_subjects());
    assert!(w.sims.graph.expire_delta_tokens(w.email()) > 0);
    w.create_outlook_event("Tehty 410:n aikana", 5, json!({}));
    w.sync().await;
    let crm_after = w.crm_subjects();
    assert_eq!(count(&crm_after, "Tehty 410:n aikana"), 1);
    assert_eq!(crm_after.len(), crm.len() + 1);
    assert_eq!(w.outlook_subjects().len(), outlook.len() + 1);
}

#[tokio::test]
async fn an_idle_cycle_costs_one_graph_and_one_crm_request() {
    let w = World::new().await;
    w.sync().await;
    w.sync().await;
    w.sims.graph.reset_stats();
    w.sims.crm.reset_request_counts();
    w.sync().await;
    let graph = w.sims.graph.stats(w.email());
    assert_eq!(
        w.sims.crm.total_requests(),
        1,
        "{:?}",
        w.sims.crm.request_counts()
    );
    assert_eq!(graph.requests, 1, "{graph:?}");
}

#[tokio::test]
async fn deleting_a_synced_event_in_outlook_deletes_the_activity_in_the_crm() {
    let w = World::new().await;
    let id = w.create_outlook_event("Peruttava palaveri", 3, json!({}));
    w.sync().await;
    assert_eq!(count(&w.crm_subjects(), "Peruttava palaveri"), 1);
    w.sims.graph.delete_event(w.email(), &id).unwrap();
    w.sync().await;
    assert_eq!(count(&w.crm_subjects(), "Peruttava palaveri"), 0);
}

#[tokio::test]
async fn status_shows_the_last_runs_and_counts() {
    let w = World::new().await;
    w.sync().await;
    let status: Value = client()
        .get(w.server.url("/api/sync/status"))
        .bearer_auth(&w.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let o2c = &status["outlook_to_crm"]["last_run"];
    assert_eq!(o2c["outcome"], "ok", "{status}");
    assert!(o2c["counts"]["created"].as_u64().unwrap() > 0, "{status}");
    assert!(
        status["crm_to_outlook"]["last_run"]["counts"]["created"]
            .as_u64()
            .unwrap()
            > 0,
        "{status}"
    );
}

#[tokio::test]
async fn a_crm_outage_loses_nothing_the_change_crosses_once_the_crm_is_back() {
    let w = World::new().await;
    w.sync().await;
    w.create_outlook_event("Katkon aikana", 2, json!({}));
    let fault = w.sims.crm.inject_fault(sim::crm::FaultRule::new(
        Some("POST"),
        "/api/v1/activities",
        sim::crm::FaultKind::Status { status: 503 },
    ));
    w.sync().await;
    assert_eq!(count(&w.crm_subjects(), "Katkon aikana"), 0);
    w.sims.crm.remove_fault(fault);
    w.sync().await;
    assert_eq!(count(&w.crm_subjects(), "Katkon aikana"), 1);
}

#[tokio::test]
async fn a_crm_create_whose_answer_is_lost_is_not_duplicated() {
    let w = World::new().await;
    w.sync().await;
    w.create_outlook_event("Vastaus katosi", 2, json!({}));
    w.sims.crm.inject_fault(
        sim::crm::FaultRule::new(
            Some("POST"),
            "/api/v1/activities",
            sim::crm::FaultKind::CommitThenDrop,
        )
        .times(1),
    );
    w.sync().await;
    w.sync().await;
    w.sync().await;
    assert_eq!(count(&w.crm_subjects(), "Vastaus katosi"), 1);
}

#[tokio::test]
async fn widening_the_create_types_later_brings_over_entries_skipped_before() {
    let w =
        World::with_prefs(|p| p["crm_to_outlook"]["create_types"] = json!(["Tapaaminen"])).await;
    w.create_crm_activity("Soitto myöhemmin", "Soitto", 3);
    w.sync().await;
    assert_eq!(count(&w.outlook_subjects(), "Soitto myöhemmin"), 0);
    common::api::update_preferences(&client(), &w.server.base, &w.token, |p| {
        p["crm_to_outlook"]["create_types"] = json!(["Tapaaminen", "Soitto"])
    })
    .await;
    w.sync().await;
    assert_eq!(count(&w.outlook_subjects(), "Soitto myöhemmin"), 1);
}

#[tokio::test]
async fn with_the_address_book_setting_linked_crm_contacts_land_in_the_crm_contact_folder_only() {
    let w = World::with_prefs(|p| p["add_contacts_to_address_book"] = json!(true)).await;
    w.sync().await;
    let folders = w.sims.graph.contact_folders(w.email());
    let crm_folder = folders
        .iter()
        .find(|f| f["displayName"] == "CRM")
        .expect("a CRM contact folder");
    let contacts = w.sims.graph.contacts(w.email());
    let in_folder: Vec<&Value> = contacts
        .iter()
        .filter(|c| c["parentFolderId"] == crm_folder["id"])
        .collect();
    assert!(!in_folder.is_empty(), "no contact was added: {contacts:?}");
    assert!(
        in_folder.iter().any(|c| c["surname"] == "Virtanen"),
        "{in_folder:?}"
    );
    // Running again writes nothing new (unchanged contacts are skipped).
    let before = contacts.len();
    w.sync().await;
    assert_eq!(w.sims.graph.contacts(w.email()).len(), before);
}

#[tokio::test]
async fn without_the_address_book_setting_no_contact_is_written() {
    let w = World::new().await;
    w.sync().await;
    assert!(
        w.sims
            .graph
            .contact_folders(w.email())
            .iter()
            .all(|f| f["displayName"] != "CRM")
    );
}

#[tokio::test]
async fn runs_aborted_at_any_point_lose_and_duplicate_nothing() {
    let w = World::new().await;
    for i in 0..25 {
        w.create_outlook_event(&format!("Keskeytetty {i}"), 1 + i % 20, json!({}));
        w.create_crm_activity(&format!("Katkaistu {i}"), "Soitto", 1 + i % 20);
    }
    // Each run is cut off after a growing time: wherever it stops (mid-listing, between a write and
    // its status row, inside a batch), the next run must pick up without losing or repeating work.
    for ms in [3u64, 10, 25, 50, 80, 120, 200, 300, 500, 800] {
        let _ = tokio::time::timeout(
            std::time::Duration::from_millis(ms),
            run_pairing(&w.server.state, w.pairing_id, JobKind::OutlookToCrm),
        )
        .await;
    }
    w.sync().await;
    w.sync().await;
    let (crm, outlook) = (w.crm_subjects(), w.outlook_subjects());
    for i in 0..25 {
        assert_eq!(
            count(&crm, &format!("Keskeytetty {i}")),
            1,
            "Keskeytetty {i} in the CRM"
        );
        assert_eq!(
            count(&outlook, &format!("Katkaistu {i}")),
            1,
            "Katkaistu {i} in Outlook"
        );
        assert_eq!(count(&outlook, &format!("Keskeytetty {i}")), 1);
        assert_eq!(count(&crm, &format!("Katkaistu {i}")), 1);
    }
}

#[tokio::test]
async fn the_future_days_setting_limits_what_is_copied() {
    let w = World::with_prefs(|p| p["crm_to_outlook"]["future_days"] = json!(5)).await;
    w.create_crm_activity("Pian", "Soitto", 3);
    w.create_crm_activity("Liian kaukana", "Soitto", 20);
    w.sync().await;
    let outlook = w.outlook_subjects();
    assert_eq!(count(&outlook, "Pian"), 1);
    assert_eq!(count(&outlook, "Liian kaukana"), 0);
}

#[tokio::test]
async fn an_empty_edit_delete_set_keeps_the_copy_when_the_original_is_deleted() {
    let w = World::with_prefs(|p| p["crm_to_outlook"]["edit_delete_types"] = json!([])).await;
    w.create_crm_activity("Jää kalenteriin", "Soitto", 3);
    w.sync().await;
    assert_eq!(count(&w.outlook_subjects(), "Jää kalenteriin"), 1);
    w.delete_crm_activity_and_rescan("Jää kalenteriin").await;
    w.sync().await;
    assert_eq!(
        count(&w.outlook_subjects(), "Jää kalenteriin"),
        1,
        "deleted although edits and deletions are off"
    );
}

#[tokio::test]
async fn with_edits_allowed_a_crm_deletion_removes_the_calendar_copy() {
    let w = World::new().await;
    w.create_crm_activity("Poistuu kalenterista", "Soitto", 3);
    w.sync().await;
    assert_eq!(count(&w.outlook_subjects(), "Poistuu kalenterista"), 1);
    w.delete_crm_activity_and_rescan("Poistuu kalenterista")
        .await;
    w.sync().await;
    assert_eq!(count(&w.outlook_subjects(), "Poistuu kalenterista"), 0);
}

#[tokio::test]
async fn a_crm_edit_in_the_same_second_as_our_own_write_still_reaches_outlook() {
    let w = World::new().await;
    w.sync().await;
    w.create_crm_activity("Sama sekunti", "Soitto", 3);
    w.sync().await;
    let activity = w
        .crm_activities()
        .into_iter()
        .find(|a| a["subject"] == "Sama sekunti")
        .expect("activity");
    let id: u64 = activity["id"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| activity["id"].to_string())
        .parse()
        .unwrap();
    // The CRM's `updated_at` has one-second resolution: an edit within the second of the last
    // synced state leaves it as it was.
    w.sims
        .crm
        .update(
            w.sims.demo_crm.company_id,
            "activities",
            id,
            json!({"subject": "Sama sekunti, uusi aihe", "updated_at": activity["updated_at"]}),
        )
        .unwrap();
    w.sync().await;
    let subjects = w.outlook_subjects();
    assert_eq!(
        count(&subjects, "Sama sekunti, uusi aihe"),
        1,
        "{subjects:?}"
    );
    assert_eq!(count(&subjects, "Sama sekunti"), 0, "{subjects:?}");
}

/// The next daylight-saving switch in Helsinki (the last Sunday of March or October), as a local date.
fn next_helsinki_dst_switch() -> chrono::NaiveDate {
    use chrono::{Offset, TimeZone};
    let tz = chrono_tz::Europe::Helsinki;
    let offset = |d: chrono::NaiveDate| {
        tz.from_utc_datetime(&d.and_hms_opt(12, 0, 0).unwrap())
            .offset()
            .fix()
    };
    let mut d = (Utc::now() + Duration::days(2)).date_naive();
    while offset(d) == offset(d + Duration::days(1)) {
        d += Duration::days(1);
    }
    d + Duration::days(1)
}

#[tokio::test]
async fn entries_around_the_dst_switch_in_helsinki_cross_once_at_the_right_instant_and_stay_put() {
    use chrono::TimeZone;
    let w = World::new().await;
    w.sync().await;
    let day = next_helsinki_dst_switch();
    let tz = chrono_tz::Europe::Helsinki;
    let local = |h: u32, m: u32| day.and_hms_opt(h, m, 0).unwrap();
    // Outlook: entries in Helsinki time over the switch (03:00–04:00 is skipped in March and repeated
    // in October) and after it.
    for (subject, (sh, sm), (eh, em)) in [
        ("DST yön yli", (1, 30), (5, 0)),
        ("DST kesken", (3, 30), (4, 45)),
        ("DST aamu", (10, 0), (11, 0)),
    ] {
        w.sims
            .graph
            .create_event(
                w.email(),
                Some(&w.sims.mailbox.calendar_id),
                json!({
                    "subject": subject,
                    "start": {"dateTime": local(sh, sm).format("%Y-%m-%dT%H:%M:00").to_string(), "timeZone": "Europe/Helsinki"},
                    "end": {"dateTime": local(eh, em).format("%Y-%m-%dT%H:%M:00").to_string(), "timeZone": "Europe/Helsinki"},
                }),
            )
            .unwrap_or_else(|e| panic!("{subject}: {e:?}"));
    }
    // The CRM (Helsinki local time): the same shapes the other way.
    for (subject, start, end) in [
        ("DST CRM yö", local(2, 30), local(4, 30)),
        ("DST CRM aamu", local(9, 0), local(9, 45)),
    ] {
        w.sims
            .crm
            .insert(
                w.sims.demo_crm.company_id,
                "activities",
                json!({
                    "subject": subject, "activity_type": "Soitto",
                    "start_date": start.format("%Y-%m-%d %H:%M:%S").to_string(),
                    "end_date": end.format("%Y-%m-%d %H:%M:%S").to_string(),
                    "owner_id": w.sims.demo_crm.user_id,
                }),
            )
            .unwrap();
    }
    w.sync().await;
    w.sync().await;
    let (crm, outlook) = (w.crm_subjects(), w.outlook_subjects());
    for s in [
        "DST yön yli",
        "DST kesken",
        "DST aamu",
        "DST CRM yö",
        "DST CRM aamu",
    ] {
        assert_eq!(count(&crm, s), 1, "{s} in the CRM: {crm:?}");
        assert_eq!(count(&outlook, s), 1, "{s} in Outlook: {outlook:?}");
    }
    // Unambiguous times keep their instant across the sides.
    let utc = |h: u32, m: u32| {
        tz.from_local_datetime(&local(h, m))
            .single()
            .unwrap()
            .with_timezone(&Utc)
    };
    let activity = w
        .crm_activities()
        .into_iter()
        .find(|a| a["subject"] == "DST aamu")
        .unwrap();
    assert_eq!(
        activity["start_date"],
        local(10, 0).format("%Y-%m-%d %H:%M:%S").to_string(),
        "{activity}"
    );
    let event = w
        .sims
        .graph
        .events(w.email())
        .into_iter()
        .find(|e| e["subject"] == "DST CRM aamu")
        .unwrap();
    let start = chrono::NaiveDateTime::parse_from_str(
        event["start"]["dateTime"].as_str().unwrap(),
        "%Y-%m-%dT%H:%M:%S%.f",
    )
    .unwrap()
    .and_utc();
    assert_eq!(start, utc(9, 0), "{event}");
    // And nothing moves on later runs (no rewrite loop between the two time conversions).
    let snapshot = (w.crm_activities(), w.sims.graph.events(w.email()));
    w.sync().await;
    w.sync().await;
    assert_eq!(
        (w.crm_activities(), w.sims.graph.events(w.email())),
        snapshot
    );
}

#[tokio::test]
async fn reinstalling_the_add_in_and_pairing_again_creates_zero_duplicates() {
    let w = World::new().await;
    w.create_outlook_event("Ennen uudelleenasennusta", 3, json!({}));
    w.create_crm_activity("CRM ennen uudelleenasennusta", "Soitto", 4);
    w.sync().await;
    let (crm, outlook) = (w.crm_subjects(), w.outlook_subjects());
    // The add-in is removed (an ordinary unpair), installed again: a new session, a fresh pairing of
    // the same mailbox with the same CRM user.
    let resp = client()
        .delete(w.server.url("/api/pairing"))
        .bearer_auth(&w.token)
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{:?}", resp.status());
    paired(&w.server, &w.sims).await;
    let pairing_id = w.server.pairing_id().await;
    for kind in [JobKind::OutlookToCrm, JobKind::CrmToOutlook] {
        run_pairing(&w.server.state, pairing_id, kind)
            .await
            .unwrap();
    }
    assert_eq!(w.crm_subjects(), crm, "CRM gained duplicates");
    assert_eq!(w.outlook_subjects(), outlook, "Outlook gained duplicates");
}

#[tokio::test]
async fn moving_to_a_new_mailbox_with_the_calendar_carried_over_creates_zero_duplicates() {
    let w = World::new().await;
    w.create_outlook_event("Vanhasta postilaatikosta", 3, json!({}));
    w.create_crm_activity("CRM:stä vanhaan", "Soitto", 4);
    w.sync().await;
    let crm = w.crm_subjects();
    // The user moves to a new mailbox; the calendar is carried over (as a migration does, with the
    // events' extended properties), then the old pairing is removed and the new mailbox paired with the
    // same CRM user.
    let new_email = "maija.uusi@esimerkki.fi";
    let info = w
        .sims
        .graph
        .create_mailbox(sim::graph::MailboxSpec {
            email: new_email.into(),
            display_name: "Maija Meikäläinen".into(),
            time_zone: "Europe/Helsinki".into(),
            calendars: vec![],
            tenant_id: Some(w.sims.mailbox.tenant_id.clone()),
            user_id: None,
        })
        .unwrap();
    let calendar = info.calendars.iter().find(|c| c.2).unwrap().0.clone();
    // Single entries only: series with exceptions are beyond what this test emulates.
    let carried: Vec<Value> = w
        .sims
        .graph
        .events(w.email())
        .into_iter()
        .filter(|e| e["type"] == "singleInstance")
        .collect();
    for e in &carried {
        let mut body = json!({
            "subject": e["subject"], "start": e["start"], "end": e["end"],
            "isAllDay": e["isAllDay"], "body": e["body"], "location": e["location"],
            "sensitivity": e["sensitivity"],
        });
        if let Some(props) = e.get("singleValueExtendedProperties") {
            body["singleValueExtendedProperties"] = props.clone();
        }
        w.sims
            .graph
            .create_event(new_email, Some(&calendar), body)
            .unwrap();
    }
    let resp = client()
        .delete(w.server.url("/api/pairing"))
        .bearer_auth(&w.token)
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{:?}", resp.status());
    let id_token = w.sims.graph.mint_id_token(
        &info.tenant_id,
        &info.user_id,
        new_email,
        sim::graph::DEFAULT_CLIENT_ID,
    );
    let mut request = w.sims.pairing_request();
    request["email"] = json!(new_email);
    request["calendar_id"] = json!(calendar);
    common::api::pair(&client(), &w.server.base, &id_token, &request).await;
    let pool = w.server.db.pool().await;
    let pairing_id: Uuid = sqlx::query_scalar(
        "SELECT p.id FROM pairings p JOIN mailboxes m ON m.id = p.mailbox_id WHERE m.email = $1",
    )
    .bind(new_email)
    .fetch_one(&pool)
    .await
    .unwrap();
    pool.close().await;
    for kind in [JobKind::OutlookToCrm, JobKind::CrmToOutlook] {
        run_pairing(&w.server.state, pairing_id, kind)
            .await
            .unwrap();
    }
    assert_eq!(w.crm_subjects(), crm, "CRM gained duplicates");
    let now = Utc::now();
    let new_calendar: Vec<String> = w
        .sims
        .graph
        .calendar_view(
            new_email,
            Some(&calendar),
            now - Duration::days(70),
            now + Duration::days(370),
        )
        .iter()
        .map(|e| e["subject"].as_str().unwrap_or("").to_owned())
        .collect();
    for e in &carried {
        let subject = e["subject"].as_str().unwrap();
        let expected = carried.iter().filter(|c| c["subject"] == subject).count();
        assert_eq!(
            count(&new_calendar, subject),
            expected,
            "{subject} in the new calendar: {new_calendar:?}"
        );
    }
    assert_eq!(count(&new_calendar, "Vanhasta postilaatikosta"), 1);
    assert_eq!(count(&new_calendar, "CRM:stä vanhaan"), 1);
}
