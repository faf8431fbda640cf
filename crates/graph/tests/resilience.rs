//! Throttling, outages and dropped connections: ridden out within the documented limits.

mod common;

use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use common::{EMAIL, Harness, event_body, fast_config};
use graph::{BatchRequest, DateTimeTimeZone, EventWrite, GraphError};
use sim::graph::{Fault, FaultKind, ThrottleConfig};

fn fault(method: Option<&str>, route: &str, kind: FaultKind, times: Option<u32>) -> Fault {
    Fault { method: method.map(str::to_string), route: route.into(), mailbox: None, kind, times }
}

fn write(subject: &str) -> EventWrite {
    EventWrite {
        subject: Some(subject.into()),
        start: Some(DateTimeTimeZone::utc(Utc.with_ymd_and_hms(2026, 3, 10, 8, 0, 0).unwrap())),
        end: Some(DateTimeTimeZone::utc(Utc.with_ymd_and_hms(2026, 3, 10, 9, 0, 0).unwrap())),
        ..Default::default()
    }
}

async fn seed(h: &Harness, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| h.sim.create_event(EMAIL, None, event_body(&format!("E{i}"), "2026-03-02T10:00:00", "2026-03-02T11:00:00")).unwrap())
        .collect()
}

#[tokio::test]
async fn sixteen_parallel_calls_never_exceed_four_in_flight() {
    let h = Harness::start().await;
    let ids = seed(&h, 16).await;
    h.sim.reset_stats();
    h.sim.add_fault(fault(None, "*", FaultKind::Latency { ms: 60 }, None));
    let calls = ids.iter().map(|id| {
        let mb = h.mb.clone();
        let id = id.clone();
        tokio::spawn(async move { mb.get_event(&id).await })
    });
    for c in futures::future::join_all(calls).await {
        c.unwrap().unwrap();
    }
    let s = h.sim.stats(EMAIL);
    assert_eq!(s.requests, 16);
    assert_eq!(s.peak_in_flight, 4, "the cap is used fully but never exceeded");
    assert_eq!(s.throttled_concurrency, 0);
    h.stop().await;
}

#[tokio::test]
async fn storm_of_429_with_fractional_retry_after_is_ridden_out_within_the_cap() {
    let h = Harness::start().await;
    let ids = seed(&h, 8).await;
    h.sim.reset_stats();
    h.sim.add_fault(fault(Some("GET"), "/v1.0/me/events", FaultKind::Status { status: 429, retry_after: Some(0.15) }, Some(12)));
    let t = Instant::now();
    let calls = ids.iter().map(|id| {
        let mb = h.mb.clone();
        let id = id.clone();
        tokio::spawn(async move { mb.get_event(&id).await })
    });
    for c in futures::future::join_all(calls).await {
        c.unwrap().unwrap();
    }
    assert!(t.elapsed() >= Duration::from_millis(150), "Retry-After was honoured");
    let s = h.sim.stats(EMAIL);
    assert_eq!(s.requests, 8 + 12);
    assert!(s.peak_in_flight <= 4);
    assert_eq!(s.throttled_concurrency, 0);
    h.stop().await;
}

#[tokio::test]
async fn request_rate_limit_answers_429_and_the_client_waits_it_out() {
    let h = Harness::start().await;
    h.sim.set_throttle(ThrottleConfig { max_requests: 5, window_secs: 0.6, ..ThrottleConfig::default() });
    let t = Instant::now();
    for _ in 0..12 {
        h.mb.list_calendars().await.unwrap();
    }
    let s = h.sim.stats(EMAIL);
    assert!(s.throttled_rate > 0, "the limit was hit");
    assert!(t.elapsed() >= Duration::from_millis(1000), "two windows had to pass: {:?}", t.elapsed());
    h.stop().await;
}

#[tokio::test]
async fn service_unavailable_without_retry_after_is_retried_with_backoff() {
    let h = Harness::start().await;
    h.sim.add_fault(fault(Some("GET"), "/v1.0/me/calendars", FaultKind::Status { status: 503, retry_after: None }, Some(2)));
    h.sim.add_fault(fault(Some("GET"), "/v1.0/me/calendars", FaultKind::Status { status: 504, retry_after: None }, Some(1)));
    assert_eq!(h.mb.list_calendars().await.unwrap().len(), 2);
    assert_eq!(h.sim.stats(EMAIL).requests, 4);
    h.stop().await;
}

#[tokio::test]
async fn endless_throttling_or_outage_ends_in_a_typed_error_within_the_time_budget() {
    let h = Harness::start_with(|b| {
        let mut c = fast_config(b);
        c.max_total_time = Duration::from_millis(800);
        c
    })
    .await;
    let id = h.sim.add_fault(fault(Some("GET"), "/v1.0/me/calendars", FaultKind::Status { status: 429, retry_after: Some(0.3) }, None));
    let t = Instant::now();
    assert!(matches!(h.mb.list_calendars().await, Err(GraphError::Throttled { .. })));
    assert!(t.elapsed() < Duration::from_secs(2));
    h.sim.remove_fault(id);
    h.sim.add_fault(fault(Some("GET"), "/v1.0/me/calendars", FaultKind::Status { status: 503, retry_after: None }, None));
    assert!(matches!(h.mb.list_calendars().await, Err(GraphError::Unavailable { .. })));
    h.sim.clear_faults();
    h.stop().await;
}

#[tokio::test]
async fn dropped_connection_on_a_read_is_retried() {
    let h = Harness::start().await;
    let ids = seed(&h, 1).await;
    h.sim.add_fault(fault(Some("GET"), "/v1.0/me/events/{id}", FaultKind::Drop, Some(2)));
    let e = h.mb.get_event(&ids[0]).await.unwrap();
    assert_eq!(e.id, ids[0]);
    h.stop().await;
}

#[tokio::test]
async fn create_committed_before_the_connection_dropped_is_not_duplicated_on_retry() {
    let h = Harness::start().await;
    h.sim.add_fault(fault(Some("POST"), "/v1.0/me/calendars/{cal}/events", FaultKind::CommitThenDrop, Some(1)));
    let e = h.mb.create_event(&h.calendar_id, &write("Kerran"), &graph::transaction_id(&["p", "a1"])).await.unwrap();
    let all = h.sim.events(EMAIL);
    assert_eq!(all.len(), 1, "one event despite two POSTs");
    assert_eq!(all[0]["id"], e.id.as_str());
    assert_eq!(h.sim.stats(EMAIL).by_route.get("POST /v1.0/me/calendars/{cal}/events"), Some(&2));
    h.stop().await;
}

#[tokio::test]
async fn dropped_connection_on_a_non_idempotent_create_is_reported_not_repeated() {
    let h = Harness::start().await;
    h.sim.add_fault(fault(Some("POST"), "/v1.0/me/contactFolders", FaultKind::Drop, Some(1)));
    assert!(matches!(h.mb.ensure_contact_folder("CRM").await, Err(GraphError::Transport(_))));
    // The next attempt looks first and creates once.
    let id = h.mb.ensure_contact_folder("CRM").await.unwrap();
    assert_eq!(h.mb.ensure_contact_folder("CRM").await.unwrap(), id);
    assert_eq!(h.sim.contact_folders(EMAIL).len(), 2);
    h.stop().await;
}

#[tokio::test]
async fn batch_of_twenty_five_is_split_into_two_calls() {
    let h = Harness::start().await;
    let ids = seed(&h, 25).await;
    h.sim.reset_stats();
    let reqs = ids.iter().enumerate().map(|(i, id)| BatchRequest::new(i.to_string(), "GET", format!("/me/events/{id}"))).collect();
    let out = h.mb.batch(reqs).await.unwrap();
    assert_eq!(out.len(), 25);
    assert!(out.iter().all(|r| r.status == 200));
    assert_eq!(out[3].body.as_ref().unwrap()["id"], ids[3].as_str());
    let s = h.sim.stats(EMAIL);
    assert_eq!(s.by_route.get("POST /v1.0/$batch"), Some(&2));
    assert_eq!(s.batch_items, 25);
    h.stop().await;
}

#[tokio::test]
async fn failed_dependency_answers_424_and_is_not_retried() {
    let h = Harness::start().await;
    let reqs = vec![
        BatchRequest::new("a", "GET", "/me/events/AAMkAGInope"),
        BatchRequest::new("b", "GET", "/me/calendars").depends_on("a"),
        BatchRequest::new("c", "GET", "/me/calendars"),
    ];
    let out = h.mb.batch(reqs).await.unwrap();
    assert_eq!(out.iter().map(|r| r.status).collect::<Vec<_>>(), vec![404, 424, 200]);
    assert_eq!(h.sim.stats(EMAIL).by_route.get("POST /v1.0/$batch"), Some(&1));
    h.stop().await;
}

#[tokio::test]
async fn batch_partial_failures_are_retried_item_by_item() {
    let h = Harness::start().await;
    h.sim.reset_stats();
    h.sim.add_fault(fault(Some("POST"), "/v1.0/me/calendars/{cal}/events", FaultKind::Status { status: 429, retry_after: Some(0.1) }, Some(3)));
    h.sim.add_fault(fault(Some("GET"), "/v1.0/me/calendars", FaultKind::Status { status: 503, retry_after: None }, Some(1)));
    let mut reqs: Vec<BatchRequest> = (0..10)
        .map(|i| {
            let mut w = write(&format!("Erä {i}"));
            w.transaction_id = Some(graph::transaction_id(&["batch", &i.to_string()]));
            BatchRequest::new(format!("c{i}"), "POST", format!("/me/calendars/{}/events", h.calendar_id)).json(serde_json::to_value(&w).unwrap())
        })
        .collect();
    reqs.push(BatchRequest::new("cals", "GET", "/me/calendars"));
    reqs.push(BatchRequest::new("after", "GET", "/me/calendars").depends_on("c0"));
    let out = h.mb.batch(reqs).await.unwrap();
    assert_eq!(out.len(), 12);
    assert!(out.iter().all(|r| r.is_success()), "{:?}", out.iter().map(|r| (&r.id, r.status)).collect::<Vec<_>>());
    assert_eq!(h.sim.events(EMAIL).len(), 10);
    let s = h.sim.stats(EMAIL);
    assert_eq!(s.by_route.get("POST /v1.0/$batch"), Some(&2), "one retry round");
    // First round: 11 items run ("after" is answered 424 without running, as c0 was throttled);
    // second round: only the 3 throttled creates, the 503 item and "after".
    assert_eq!(s.batch_items, 11 + 3 + 1 + 1);
    h.stop().await;
}

#[tokio::test]
async fn dependency_chain_longer_than_a_batch_is_refused_before_sending() {
    let h = Harness::start().await;
    let reqs: Vec<BatchRequest> = (0..21)
        .map(|i| {
            let r = BatchRequest::new(i.to_string(), "GET", "/me/calendars");
            if i > 0 { r.depends_on(&(i - 1).to_string()) } else { r }
        })
        .collect();
    assert!(matches!(h.mb.batch(reqs).await, Err(GraphError::BadRequest { .. })));
    assert_eq!(h.sim.stats(EMAIL).requests, 0);
    h.stop().await;
}
