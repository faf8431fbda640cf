//! Bad input from outside, as property tests:
//! - the Graph notification endpoints get forged `clientState`s, unknown subscriptions, garbage and
//!   huge bodies, wrong content types and odd validation tokens: never a 5xx, never a queued sync for
//!   a notification that does not verify, and a genuine notification still queues one afterwards;
//! - the Graph and CRM-service clients get malformed answers (random bytes, JSON with fields missing,
//!   of the wrong type or nonsense values, odd statuses and `Retry-After` headers) from a tiny local
//!   HTTP server: every call returns (`Ok` or a typed error), none panics or hangs.

mod common;

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Router,
    body::Body,
    http::{HeaderValue, Response, StatusCode},
};
use common::{Sims, TestServer, paired};
use proptest::prelude::*;
use rand::{Rng, SeedableRng, rngs::StdRng};
use serde_json::{Value, json};

fn json_leaf(rng: &mut StdRng) -> Value {
    match rng.random_range(0..9) {
        0 => Value::Null,
        1 => Value::Bool(rng.random()),
        2 => json!(rng.random::<i64>()),
        3 => json!(rng.random::<f64>() * 1e12),
        4 => json!(""),
        5 => json!("x".repeat(rng.random_range(0..5000))),
        6 => json!("2026-13-45T99:99:99"),
        7 => json!([]),
        _ => json!({}),
    }
}

/// A valid document with random damage: fields deleted, replaced by other types, nested garbage.
fn mutate(v: &Value, rng: &mut StdRng, depth: u32) -> Value {
    if rng.random_bool(0.08) {
        return json_leaf(rng);
    }
    match v {
        Value::Object(m) => {
            let mut out = serde_json::Map::new();
            for (k, x) in m {
                if rng.random_bool(0.1) {
                    continue;
                }
                out.insert(k.clone(), mutate(x, rng, depth + 1));
            }
            if rng.random_bool(0.05) {
                out.insert("unexpected".into(), json_leaf(rng));
            }
            Value::Object(out)
        }
        Value::Array(a) => {
            let mut out: Vec<Value> = a.iter().map(|x| mutate(x, rng, depth + 1)).collect();
            if rng.random_bool(0.1) && depth < 4 {
                out.push(json_leaf(rng));
            }
            Value::Array(out)
        }
        other => other.clone(),
    }
}

// ----- the notification endpoints -----

#[derive(Debug, Clone)]
enum Notification {
    /// The real subscription id with a random (forged) clientState.
    Forged(String),
    /// A random subscription id with a random clientState.
    Unknown(String, String),
    /// Random JSON (from a real notification, damaged).
    Damaged(u64),
    /// Random bytes.
    Bytes(Vec<u8>),
    /// A body over the size limit.
    Huge(usize),
    /// A validation request with this token.
    Validation(String),
}

fn notification() -> impl Strategy<Value = (Notification, &'static str, bool)> {
    let kind = prop_oneof![
        ".{0,60}".prop_map(Notification::Forged),
        (".{0,40}", ".{0,40}").prop_map(|(a, b)| Notification::Unknown(a, b)),
        any::<u64>().prop_map(Notification::Damaged),
        prop::collection::vec(any::<u8>(), 0..400).prop_map(Notification::Bytes),
        (1_100_000usize..3_000_000).prop_map(Notification::Huge),
        ".{0,2000}".prop_map(Notification::Validation),
    ];
    let content_type = prop_oneof![
        Just("application/json"),
        Just("text/plain"),
        Just("application/x-www-form-urlencoded"),
        Just("multipart/form-data; boundary=x"),
        Just(""),
    ];
    (kind, content_type, any::<bool>())
}

#[test]
fn forged_and_malformed_notifications_never_queue_a_sync_nor_get_a_server_error() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (sims, server, subscription) = rt.block_on(async {
        let sims = Sims::start().await;
        let server = TestServer::start_with(|c| sims.configure(c)).await;
        paired(&server, &sims).await;
        let pool = server.db.pool().await;
        let id: String = sqlx::query_scalar("SELECT id FROM graph_subscriptions")
            .fetch_one(&pool)
            .await
            .unwrap();
        // Not due: a notification that verifies pulls `run_at` to now, so a queued sync shows.
        sqlx::query("UPDATE jobs SET run_at = now() + interval '1 day', attempts = 0")
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
        (sims, server, id)
    });
    let http = reqwest::Client::new();
    let run_at = |server: &TestServer| {
        let server_db = server.db.url().to_owned();
        async move {
            let pool = sqlx::PgPool::connect(&server_db).await.unwrap();
            let v: Vec<chrono::DateTime<chrono::Utc>> =
                sqlx::query_scalar("SELECT run_at FROM jobs ORDER BY kind")
                    .fetch_all(&pool)
                    .await
                    .unwrap();
            pool.close().await;
            v
        }
    };
    let before = rt.block_on(run_at(&server));
    let real = json!({"value": [{
        "subscriptionId": subscription,
        "clientState": "not-the-secret",
        "changeType": "updated",
        "resource": "Users/x/Events/y",
        "subscriptionExpirationDateTime": "2026-12-01T00:00:00Z",
        "tenantId": sims.mailbox.tenant_id,
        "resourceData": {"@odata.type": "#Microsoft.Graph.Event", "id": "y"}
    }]});
    let config = ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(64),
        ..ProptestConfig::default()
    };
    proptest!(config, |((n, content_type, lifecycle) in notification())| {
        let path = if lifecycle { "/graph/lifecycle" } else { "/graph/notifications" };
        let mut url = server.url(path);
        let body: Vec<u8> = match &n {
            Notification::Forged(cs) => {
                let mut v = real.clone();
                v["value"][0]["clientState"] = json!(cs);
                serde_json::to_vec(&v).unwrap()
            }
            Notification::Unknown(id, cs) => {
                let mut v = real.clone();
                v["value"][0]["subscriptionId"] = json!(id);
                v["value"][0]["clientState"] = json!(cs);
                serde_json::to_vec(&v).unwrap()
            }
            Notification::Damaged(seed) => {
                let mut rng = StdRng::seed_from_u64(*seed);
                serde_json::to_vec(&mutate(&real, &mut rng, 0)).unwrap()
            }
            Notification::Bytes(b) => b.clone(),
            Notification::Huge(n) => {
                let mut v = serde_json::to_vec(&real).unwrap();
                v.resize(*n, b' ');
                v
            }
            Notification::Validation(token) => {
                url = format!("{url}?validationToken={}", urlencode(token));
                Vec::new()
            }
        };
        let resp = rt.block_on(async {
            let mut req = http.post(&url).body(body);
            if !content_type.is_empty() {
                req = req.header("content-type", content_type);
            }
            req.send().await
        });
        let resp = match resp {
            Ok(resp) => resp,
            // An oversize body is refused from its Content-Length with a 413 and the connection closed
            // without reading the rest; a client still writing it may see the close (broken pipe or
            // reset) before the answer. Refused either way; nothing may be queued (checked below).
            Err(e) if matches!(n, Notification::Huge(_)) && e.is_request() => {
                prop_assert_eq!(rt.block_on(run_at(&server)), before.clone(), "{:?} queued a sync", n);
                return Ok(());
            }
            Err(e) => panic!("{n:?}: {e}"),
        };
        let status = resp.status().as_u16();
        prop_assert!(status < 500, "{n:?} → {status}");
        match &n {
            Notification::Validation(token) if status == 200 => {
                let text = rt.block_on(resp.text()).unwrap();
                prop_assert_eq!(&text, token, "the token is echoed as is");
            }
            Notification::Huge(_) => prop_assert_eq!(status, 413),
            _ => {}
        }
        prop_assert_eq!(rt.block_on(run_at(&server)), before.clone(), "{:?} queued a sync", n);
    });
    // The endpoint still works: a genuine notification (from the simulator) queues the sync.
    rt.block_on(async {
        sims.graph
            .create_event(
                &sims.mailbox.email,
                Some(&sims.mailbox.calendar_id),
                json!({
                    "subject": "Aito muutos",
                    "start": {"dateTime": "2026-12-01T10:00:00", "timeZone": "UTC"},
                    "end": {"dateTime": "2026-12-01T11:00:00", "timeZone": "UTC"},
                }),
            )
            .unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while run_at(&server).await == before {
            assert!(
                std::time::Instant::now() < deadline,
                "a genuine notification queued nothing"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

// ----- the clients' answer parsing -----

/// One canned answer; the server gives it to the first request and a terse valid answer afterwards
/// (so a client that follows links or retries ends rather than paginating forever).
#[derive(Clone, Debug)]
struct Canned {
    status: u16,
    retry_after: Option<String>,
    content_type: &'static str,
    body: Vec<u8>,
}

struct FakeService {
    base: String,
    first: Arc<Mutex<Option<Canned>>>,
    fallback: Arc<Mutex<Vec<u8>>>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn fake_service() -> FakeService {
    let first: Arc<Mutex<Option<Canned>>> = Arc::new(Mutex::new(None));
    let fallback = Arc::new(Mutex::new(Vec::new()));
    let (f, fb) = (first.clone(), fallback.clone());
    let app = Router::new().fallback(move || {
        let canned = f.lock().unwrap().take();
        let fb = fb.lock().unwrap().clone();
        async move {
            let c = canned.unwrap_or(Canned {
                status: 200,
                retry_after: None,
                content_type: "application/json",
                body: fb,
            });
            let mut r = Response::new(Body::from(c.body));
            *r.status_mut() = StatusCode::from_u16(c.status).unwrap();
            r.headers_mut()
                .insert("content-type", HeaderValue::from_static(c.content_type));
            if let Some(ra) = c.retry_after
                && let Ok(v) = HeaderValue::from_str(&ra)
            {
                r.headers_mut().insert("retry-after", v);
            }
            r
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await
            .unwrap();
    });
    FakeService {
        base,
        first,
        fallback,
        _stop: tx,
    }
}

fn canned() -> impl Strategy<Value = (u16, Option<String>, &'static str, u64, bool)> {
    (
        prop::sample::select(vec![
            200u16, 200, 200, 200, 201, 204, 400, 401, 403, 404, 409, 410, 429, 500, 503, 504,
        ]),
        prop::option::of(prop_oneof![
            Just("0".to_owned()),
            Just("-5".to_owned()),
            Just("0.2".to_owned()),
            Just("999999999".to_owned()),
            Just("Wed, 21 Oct 2015 07:28:00 GMT".to_owned()),
            "[ -~]{0,12}",
        ]),
        prop_oneof![
            Just("application/json"),
            Just("application/vnd.api+json"),
            Just("text/html"),
        ],
        any::<u64>(),
        any::<bool>(),
    )
}

fn body_from(template: &Value, seed: u64, raw: bool) -> Vec<u8> {
    let mut rng = StdRng::seed_from_u64(seed);
    if raw {
        let n = rng.random_range(0..300);
        let mut b: Vec<u8> = (0..n).map(|_| rng.random()).collect();
        if rng.random_bool(0.5) {
            // Truncated JSON.
            b = serde_json::to_vec(template).unwrap();
            b.truncate(rng.random_range(0..b.len().max(1)));
        }
        b
    } else {
        serde_json::to_vec(&mutate(template, &mut rng, 0)).unwrap()
    }
}

fn graph_event() -> Value {
    json!({
        "id": "AAMkAD1",
        "changeKey": "ck1",
        "subject": "Palaveri",
        "start": {"dateTime": "2026-12-01T10:00:00.0000000", "timeZone": "UTC"},
        "end": {"dateTime": "2026-12-01T11:00:00.0000000", "timeZone": "UTC"},
        "isAllDay": false,
        "isCancelled": false,
        "sensitivity": "normal",
        "showAs": "busy",
        "type": "singleInstance",
        "lastModifiedDateTime": "2026-11-20T10:00:00Z",
        "body": {"contentType": "text", "content": "Asialista"},
        "location": {"displayName": "Neuvotteluhuone"},
        "attendees": [{"emailAddress": {"address": "a@example.com", "name": "A"}, "type": "required"}],
        "singleValueExtendedProperties": [{"id": graph::CRM_ACTIVITY_ID_PROP, "value": "12"}],
    })
}

fn crm_activity() -> Value {
    json!({
        "type": "activities",
        "id": "12",
        "attributes": {
            "subject": "Soitto", "activity_type": "Soitto", "owner_id": "1",
            "start_date": "2026-12-01 10:00:00", "end_date": "2026-12-01 11:00:00",
            "description": "x", "location": "y", "private": false, "all_day": false,
            "created_at": "2026-11-20 10:00:00", "updated_at": "2026-11-20 10:00:00",
        },
        "relationships": {"contacts": {"data": [{"type": "contacts", "id": "3"}]}},
    })
}

#[test]
fn malformed_graph_answers_give_errors_not_panics() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let fake = rt.block_on(fake_service());
    let mut config = graph::GraphConfig::new(format!("{}/v1.0", fake.base));
    config.max_total_time = Duration::from_secs(2);
    config.backoff_base = Duration::from_millis(1);
    config.backoff_max = Duration::from_millis(20);
    config.request_timeout = Duration::from_secs(5);
    let client = graph::GraphClient::new(config);
    let mb = client.mailbox(
        "fuzz@example.com",
        Arc::new(graph::StaticToken(graph::Secret::new("token"))),
    );
    let delta_link = format!("{}/v1.0/me/calendarView/delta?$deltatoken=t", fake.base);
    *fake.fallback.lock().unwrap() =
        serde_json::to_vec(&json!({"value": [], "@odata.deltaLink": delta_link})).unwrap();
    let delta_page = json!({
        "value": [graph_event(), {"id": "AAMkAD2", "@removed": {"reason": "deleted"}}],
        "@odata.nextLink": format!("{}/v1.0/me/calendarView/delta?$skiptoken=s", fake.base),
        "@odata.deltaLink": delta_link,
    });
    let view = json!({"value": [graph_event(), graph_event()]});
    let batch = json!({"responses": [
        {"id": "1", "status": 201, "headers": {}, "body": graph_event()},
        {"id": "2", "status": 429, "headers": {"Retry-After": "1"}, "body": {"error": {"code": "x"}}},
    ]});
    let config = ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(128),
        ..ProptestConfig::default()
    };
    proptest!(config, |((status, retry_after, content_type, seed, raw) in canned(), call in 0u8..5)| {
        let template = match call {
            0 => graph_event(),
            1 | 2 => delta_page.clone(),
            3 => view.clone(),
            _ => batch.clone(),
        };
        *fake.first.lock().unwrap() = Some(Canned {
            status,
            retry_after,
            content_type,
            body: body_from(&template, seed, raw),
        });
        let start = chrono::Utc::now();
        let end = start + chrono::Duration::days(30);
        rt.block_on(async {
            let outcome = tokio::time::timeout(Duration::from_secs(20), async {
                match call {
                    0 => mb.get_event("AAMkAD1").await.map(|_| ()),
                    1 => mb
                        .delta_round(&graph::DeltaPosition::Start {
                            calendar_id: "cal".into(),
                            start,
                            end,
                        })
                        .await
                        .map(|_| ()),
                    2 => mb.confirm_deleted("AAMkAD2").await.map(|_| ()),
                    3 => mb.calendar_view("cal", start, end).await.map(|_| ()),
                    _ => mb
                        .batch(vec![
                            graph::BatchRequest::new("1", "GET", "/me/events/AAMkAD1"),
                            graph::BatchRequest::new("2", "GET", "/me/events/AAMkAD2"),
                        ])
                        .await
                        .map(|_| ()),
                }
            })
            .await;
            prop_assert!(outcome.is_ok(), "call {call} hung");
            Ok(())
        })?;
    });
}

#[test]
fn malformed_crm_answers_give_errors_not_panics() {
    use crmservice::{ClientConfig, CrmAddress, CrmClient};
    let rt = tokio::runtime::Runtime::new().unwrap();
    let fake = rt.block_on(fake_service());
    let config = ClientConfig {
        request_timeout: Duration::from_secs(5),
        max_retries: 2,
        retry_base_delay: Duration::from_millis(1),
        max_retry_wait: Duration::from_millis(300),
        ..ClientConfig::default()
    };
    let client =
        CrmClient::with_config(CrmAddress::parse(&fake.base).unwrap(), "key", config).unwrap();
    let session = client.resume("token");
    *fake.fallback.lock().unwrap() =
        serde_json::to_vec(&json!({"data": [], "meta": {"total": 0, "page": 1, "page_size": 100}}))
            .unwrap();
    let one = json!({"data": crm_activity()});
    let list = json!({
        "data": [crm_activity(), crm_activity()],
        "meta": {"total": 2, "page": 1, "page_size": 100},
        "links": {"self": "x"},
    });
    let root = json!({"links": {"self": {"href": "/"}, "activities": {"href": "/activities", "type": "x"}}});
    let config = ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(128),
        ..ProptestConfig::default()
    };
    proptest!(config, |((status, retry_after, content_type, seed, raw) in canned(), call in 0u8..6)| {
        let template = match call {
            0 | 1 => one.clone(),
            2 | 3 => list.clone(),
            4 => json!("token-abc"),
            _ => root.clone(),
        };
        *fake.first.lock().unwrap() = Some(Canned {
            status,
            retry_after,
            content_type,
            body: body_from(&template, seed, raw),
        });
        rt.block_on(async {
            let outcome = tokio::time::timeout(Duration::from_secs(20), async {
                match call {
                    0 => session.get_activity("12").await.map(|_| ()),
                    1 => session
                        .create_activity(&crmservice::NewActivity::new(
                            "Uusi",
                            chrono::Utc::now(),
                            "Soitto",
                        ))
                        .await
                        .map(|_| ()),
                    2 => session
                        .collect_activity_changes(None, Duration::from_secs(5), None)
                        .await
                        .map(|_| ()),
                    3 => session.activity_exists("12").await.map(|_| ()),
                    4 => client.login("user", "password").await.map(|_| ()),
                    _ => client.check_api_key().await.map(|_| ()),
                }
            })
            .await;
            prop_assert!(outcome.is_ok(), "call {call} hung");
            Ok(())
        })?;
    });
}
