//! The Graph simulator over raw HTTP: the documented behaviour a client can rely on or must cope
//! with, independent of our client crate.

use std::time::Duration;

use serde_json::{Value, json};
use sim::graph::{
    DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT_ID, Fault, FaultKind, GraphSim,
    MailboxSpec, ThrottleConfig,
};

const EMAIL: &str = "testi@esimerkki.fi";

struct T {
    sim: GraphSim,
    run: sim::Running,
    http: reqwest::Client,
    token: String,
}

impl T {
    async fn start() -> T {
        let sim = GraphSim::new();
        let run = sim::serve(sim.router(), "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        sim.set_base_url(&run.base_url);
        let info = sim
            .create_mailbox(MailboxSpec {
                email: EMAIL.into(),
                display_name: "Testi Käyttäjä".into(),
                time_zone: "Europe/Helsinki".into(),
                calendars: vec![],
                tenant_id: None,
                user_id: None,
            })
            .unwrap();
        let http = reqwest::Client::new();
        let token = obo(
            &http,
            &run.base_url,
            &sim.mint_id_token(DEFAULT_TENANT_ID, &info.user_id, EMAIL, DEFAULT_CLIENT_ID),
        )
        .await["access_token"]
            .as_str()
            .unwrap()
            .to_string();
        T {
            sim,
            run,
            http,
            token,
        }
    }
    fn url(&self, p: &str) -> String {
        format!("{}{p}", self.run.base_url)
    }
    async fn get(&self, p: &str) -> (u16, Value) {
        let r = self
            .http
            .get(self.url(p))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        let s = r.status().as_u16();
        (s, r.json().await.unwrap_or(Value::Null))
    }
    async fn send(
        &self,
        m: reqwest::Method,
        p: &str,
        body: Value,
        headers: &[(&str, &str)],
    ) -> (u16, Value, reqwest::header::HeaderMap) {
        let mut b = self
            .http
            .request(m, self.url(p))
            .bearer_auth(&self.token)
            .json(&body);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        let r = b.send().await.unwrap();
        let s = r.status().as_u16();
        let h = r.headers().clone();
        (s, r.json().await.unwrap_or(Value::Null), h)
    }
}

async fn obo(http: &reqwest::Client, base: &str, assertion: &str) -> Value {
    http.post(format!("{base}/{DEFAULT_TENANT_ID}/oauth2/v2.0/token"))
        .form(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("client_id", DEFAULT_CLIENT_ID),
            ("client_secret", DEFAULT_CLIENT_SECRET),
            ("assertion", assertion),
            (
                "scope",
                "offline_access https://graph.microsoft.com/Calendars.ReadWrite",
            ),
            ("requested_token_use", "on_behalf_of"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn ev(subject: &str, start: &str, end: &str) -> Value {
    json!({"subject": subject, "start": {"dateTime": start, "timeZone": "Europe/Helsinki"}, "end": {"dateTime": end, "timeZone": "Europe/Helsinki"}})
}

#[tokio::test]
async fn graph_routes_require_a_bearer_token_from_the_token_endpoint() {
    let t = T::start().await;
    let r = t
        .http
        .get(t.url("/v1.0/me/calendars"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "InvalidAuthenticationToken");
    let r = t
        .http
        .get(t.url("/v1.0/me/calendars"))
        .bearer_auth("made-up")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(t.get("/v1.0/me/calendars").await.0, 200);
}

#[tokio::test]
async fn user_without_mailbox_gets_mailbox_not_enabled() {
    let t = T::start().await;
    let tok = obo(
        &t.http,
        &t.run.base_url,
        &t.sim.mint_id_token(
            DEFAULT_TENANT_ID,
            "00000000-0000-0000-0000-000000000001",
            "ghost@esimerkki.fi",
            DEFAULT_CLIENT_ID,
        ),
    )
    .await;
    let r = t
        .http
        .get(t.url("/v1.0/me/calendars"))
        .bearer_auth(tok["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["code"],
        "MailboxNotEnabledForRESTAPI"
    );
}

#[tokio::test]
async fn token_endpoint_rejects_bad_client_foreign_audience_and_unknown_grant() {
    let t = T::start().await;
    let r = t
        .http
        .post(t.url(&format!("/{DEFAULT_TENANT_ID}/oauth2/v2.0/token")))
        .form(&[
            ("grant_type", "refresh_token"),
            ("client_id", DEFAULT_CLIENT_ID),
            ("client_secret", "x"),
            ("refresh_token", "y"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_client");
    let foreign = t
        .sim
        .mint_id_token(DEFAULT_TENANT_ID, "u", EMAIL, "api://other-app");
    let v = obo(&t.http, &t.run.base_url, &foreign).await;
    assert_eq!(v["error"], "invalid_grant");
    assert_eq!(v["error_codes"][0], 50013);
    t.sim.revoke_consent(EMAIL);
    let v = obo(
        &t.http,
        &t.run.base_url,
        &t.sim
            .mint_id_token(DEFAULT_TENANT_ID, "u", EMAIL, DEFAULT_CLIENT_ID),
    )
    .await;
    assert_eq!(v["suberror"], "consent_required");
    assert_eq!(
        t.get("/v1.0/me/calendars").await.0,
        401,
        "existing access tokens stop working"
    );
}

#[tokio::test]
async fn discovery_and_jwks_publish_the_rotated_key() {
    let t = T::start().await;
    let conf: Value = t
        .http
        .get(t.url(&format!(
            "/{DEFAULT_TENANT_ID}/v2.0/.well-known/openid-configuration"
        )))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(conf["issuer"], t.sim.issuer(DEFAULT_TENANT_ID));
    assert_eq!(conf["jwks_uri"], t.sim.jwks_url(DEFAULT_TENANT_ID));
    let jwks = |t: &T| {
        let url = t.sim.jwks_url(DEFAULT_TENANT_ID);
        let http = t.http.clone();
        async move {
            http.get(url)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let k1 = jwks(&t).await;
    assert_eq!(k1["keys"].as_array().unwrap().len(), 1);
    assert_eq!(k1["keys"][0]["kid"], "sim-key-1");
    assert!(k1["keys"][0]["n"].as_str().unwrap().len() > 300);
    assert!(k1["keys"][0].get("d").is_none(), "no private parts");
    t.sim.rotate_signing_key();
    let k2 = jwks(&t).await;
    let kids: Vec<&str> = k2["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids, vec!["sim-key-1", "sim-key-2"]);
    assert_eq!(t.sim.active_kid(), "sim-key-2");
}

#[tokio::test]
async fn more_than_four_concurrent_requests_get_429_with_retry_after() {
    let t = T::start().await;
    t.sim.add_fault(Fault {
        method: None,
        route: "*".into(),
        mailbox: None,
        kind: FaultKind::Latency { ms: 300 },
        times: None,
    });
    let calls = (0..6).map(|_| {
        let http = t.http.clone();
        let url = t.url("/v1.0/me/calendars");
        let tok = t.token.clone();
        tokio::spawn(async move {
            let r = http.get(url).bearer_auth(tok).send().await.unwrap();
            (
                r.status().as_u16(),
                r.headers()
                    .get("retry-after")
                    .map(|v| v.to_str().unwrap().to_string()),
            )
        })
    });
    let res: Vec<_> = futures::future::join_all(calls)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(res.iter().filter(|r| r.0 == 200).count(), 4);
    let throttled: Vec<_> = res.iter().filter(|r| r.0 == 429).collect();
    assert_eq!(throttled.len(), 2);
    assert_eq!(
        throttled[0].1.as_deref(),
        Some("0.5"),
        "fractional Retry-After"
    );
    assert_eq!(t.sim.stats(EMAIL).throttled_concurrency, 2);
}

#[tokio::test]
async fn request_rate_limit_answers_429_with_the_time_until_a_slot_frees() {
    let t = T::start().await;
    t.sim.set_throttle(ThrottleConfig {
        max_requests: 3,
        window_secs: 2.0,
        ..ThrottleConfig::default()
    });
    for _ in 0..3 {
        assert_eq!(t.get("/v1.0/me/calendars").await.0, 200);
    }
    let r = t
        .http
        .get(t.url("/v1.0/me/calendars"))
        .bearer_auth(&t.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    let ra: f64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(ra > 1.0 && ra <= 2.0, "{ra}");
}

#[tokio::test]
async fn stale_if_match_answers_412_and_repeated_transaction_id_does_not_duplicate() {
    let t = T::start().await;
    let mut body = ev("A", "2026-03-02T10:00:00", "2026-03-02T11:00:00");
    body["transactionId"] = json!("7E163156-7762-4BEB-A1C6-729EA81755A7");
    let (s1, e1, _) = t
        .send(reqwest::Method::POST, "/v1.0/me/events", body.clone(), &[])
        .await;
    let (s2, e2, _) = t
        .send(reqwest::Method::POST, "/v1.0/me/events", body, &[])
        .await;
    assert_eq!((s1, s2), (201, 201));
    assert_eq!(e1["id"], e2["id"]);
    let id = e1["id"].as_str().unwrap();
    let etag = format!("W/\"{}\"", e1["changeKey"].as_str().unwrap());
    let (s, e, _) = t
        .send(
            reqwest::Method::PATCH,
            &format!("/v1.0/me/events/{id}"),
            json!({"subject": "B"}),
            &[("If-Match", &etag)],
        )
        .await;
    assert_eq!(s, 200);
    assert_ne!(e["changeKey"], e1["changeKey"]);
    let (s, e, _) = t
        .send(
            reqwest::Method::PATCH,
            &format!("/v1.0/me/events/{id}"),
            json!({"subject": "C"}),
            &[("If-Match", &etag)],
        )
        .await;
    assert_eq!(s, 412);
    assert_eq!(e["error"]["code"], "ErrorIrresolvableConflict");
    let (s, e, _) = t
        .send(
            reqwest::Method::PATCH,
            &format!("/v1.0/me/events/{id}"),
            json!({"subjekt": "C"}),
            &[],
        )
        .await;
    assert_eq!(s, 400, "{e}");
}

#[tokio::test]
async fn delta_refuses_select_and_needs_a_window_and_expired_tokens_answer_410() {
    let t = T::start().await;
    assert_eq!(t.get("/v1.0/me/calendarView/delta").await.0, 400);
    let w = "startDateTime=2026-03-01T00:00:00Z&endDateTime=2026-04-01T00:00:00Z";
    assert_eq!(
        t.get(&format!("/v1.0/me/calendarView/delta?{w}&$select=subject"))
            .await
            .0,
        400
    );
    assert_eq!(t.get("/v1.0/me/calendarView/delta?startDateTime=2020-01-01T00:00:00Z&endDateTime=2026-01-02T00:00:00Z").await.0, 400, "over 1825 days");
    t.sim
        .create_event(
            EMAIL,
            None,
            ev("A", "2026-03-02T10:00:00", "2026-03-02T11:00:00"),
        )
        .unwrap();
    let (s, page) = t.get(&format!("/v1.0/me/calendarView/delta?{w}")).await;
    assert_eq!(s, 200);
    let link = page["@odata.deltaLink"].as_str().unwrap();
    assert!(link.starts_with(&t.run.base_url), "absolute link");
    t.sim.expire_delta_tokens(EMAIL);
    let r = t.http.get(link).bearer_auth(&t.token).send().await.unwrap();
    assert_eq!(r.status(), 410);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"]["code"],
        "SyncStateNotFound"
    );
}

#[tokio::test]
async fn calendar_view_expands_weekly_series_with_exception_and_cancellation() {
    let t = T::start().await;
    let master = t.sim.create_event(EMAIL, None, json!({"subject": "Palaveri",
        "start": {"dateTime": "2026-03-02T09:00:00", "timeZone": "FLE Standard Time"},
        "end": {"dateTime": "2026-03-02T09:30:00", "timeZone": "FLE Standard Time"},
        "recurrence": {"pattern": {"type": "weekly", "interval": 2, "daysOfWeek": ["monday", "thursday"], "firstDayOfWeek": "monday"},
                       "range": {"type": "numbered", "startDate": "2026-03-02", "numberOfOccurrences": 6}}})).unwrap();
    let w = "startDateTime=2026-03-01T00:00:00Z&endDateTime=2026-05-01T00:00:00Z";
    let (_, v) = t.get(&format!("/v1.0/me/calendarView?{w}&$top=50")).await;
    let starts: Vec<&str> = v["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["start"]["dateTime"].as_str().unwrap())
        .collect();
    // Every other week, Monday and Thursday, six in all; 09:00 Helsinki in UTC (DST from 29 March).
    assert_eq!(
        starts,
        vec![
            "2026-03-02T07:00:00.0000000",
            "2026-03-05T07:00:00.0000000",
            "2026-03-16T07:00:00.0000000",
            "2026-03-19T07:00:00.0000000",
            "2026-03-30T06:00:00.0000000",
            "2026-04-02T06:00:00.0000000"
        ]
    );
    let occ: Vec<String> = v["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    t.sim
        .update_event(EMAIL, &occ[1], json!({"subject": "Poikkeus"}))
        .unwrap();
    t.sim.delete_event(EMAIL, &occ[2]).unwrap();
    let (_, v) = t.get(&format!("/v1.0/me/calendarView?{w}&$top=50")).await;
    let items = v["value"].as_array().unwrap();
    assert_eq!(items.len(), 5);
    assert_eq!(items[1]["type"], "exception");
    assert_eq!(items[1]["subject"], "Poikkeus");
    assert_eq!(items[0]["type"], "occurrence");
    assert_eq!(items[0]["seriesMasterId"], master.as_str());
    assert_eq!(
        t.get(&format!("/v1.0/me/events/{}", occ[2])).await.0,
        404,
        "cancelled occurrence is gone"
    );
    let (_, m) = t.get(&format!("/v1.0/me/events/{master}")).await;
    assert_eq!(m["type"], "seriesMaster");
    assert_eq!(m["cancelledOccurrences"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn batch_enforces_twenty_items_content_type_and_depends_on() {
    let t = T::start().await;
    let many: Vec<Value> = (0..21)
        .map(|i| json!({"id": i.to_string(), "method": "GET", "url": "/me/calendars"}))
        .collect();
    assert_eq!(
        t.send(
            reqwest::Method::POST,
            "/v1.0/$batch",
            json!({"requests": many}),
            &[]
        )
        .await
        .0,
        400
    );
    let no_ct = json!({"requests": [{"id": "1", "method": "POST", "url": "/me/events", "body": {"subject": "x"}}]});
    assert_eq!(
        t.send(reqwest::Method::POST, "/v1.0/$batch", no_ct, &[])
            .await
            .0,
        400
    );
    let unknown_dep = json!({"requests": [{"id": "1", "method": "GET", "url": "/me/calendars", "dependsOn": ["9"]}]});
    assert_eq!(
        t.send(reqwest::Method::POST, "/v1.0/$batch", unknown_dep, &[])
            .await
            .0,
        400
    );
    let ok = json!({"requests": [
        {"id": "1", "method": "POST", "url": "/me/events", "headers": {"Content-Type": "application/json"}, "body": {"subject": "puuttuu aika"}},
        {"id": "2", "method": "GET", "url": "/me/calendars", "dependsOn": ["1"]},
        {"id": "3", "method": "GET", "url": "me/calendars"}]});
    let (s, v, _) = t.send(reqwest::Method::POST, "/v1.0/$batch", ok, &[]).await;
    assert_eq!(s, 200);
    let st: Vec<u64> = v["responses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_u64().unwrap())
        .collect();
    assert_eq!(st, vec![400, 424, 200]);
    t.sim.add_fault(Fault {
        method: Some("GET".into()),
        route: "/v1.0/me/calendars".into(),
        mailbox: None,
        kind: FaultKind::Status {
            status: 429,
            retry_after: Some(1.5),
        },
        times: Some(1),
    });
    let (_, v, _) = t
        .send(
            reqwest::Method::POST,
            "/v1.0/$batch",
            json!({"requests": [{"id": "a", "method": "GET", "url": "/me/calendars"}]}),
            &[],
        )
        .await;
    assert_eq!(v["responses"][0]["status"], 429);
    assert_eq!(v["responses"][0]["headers"]["Retry-After"], "1.5");
}

#[tokio::test]
async fn dropped_connection_gives_no_answer_and_commit_then_drop_still_commits() {
    let t = T::start().await;
    t.sim.add_fault(Fault {
        method: Some("POST".into()),
        route: "/v1.0/me/events".into(),
        mailbox: None,
        kind: FaultKind::Drop,
        times: Some(1),
    });
    let r = t
        .http
        .post(t.url("/v1.0/me/events"))
        .bearer_auth(&t.token)
        .json(&ev("A", "2026-03-02T10:00:00", "2026-03-02T11:00:00"))
        .send()
        .await;
    assert!(r.is_err());
    assert!(t.sim.events(EMAIL).is_empty());
    t.sim.add_fault(Fault {
        method: Some("POST".into()),
        route: "/v1.0/me/events".into(),
        mailbox: None,
        kind: FaultKind::CommitThenDrop,
        times: Some(1),
    });
    let r = t
        .http
        .post(t.url("/v1.0/me/events"))
        .bearer_auth(&t.token)
        .json(&ev("B", "2026-03-02T10:00:00", "2026-03-02T11:00:00"))
        .send()
        .await;
    assert!(r.is_err());
    assert_eq!(t.sim.events(EMAIL).len(), 1);
    // The server is still healthy afterwards.
    assert_eq!(t.get("/v1.0/me/calendars").await.0, 200);
}

#[tokio::test]
async fn admin_http_endpoints_seed_edit_inspect_and_inject_faults() {
    let t = T::start().await;
    let http = &t.http;
    let a = |p: &str| t.url(&format!("/_admin/graph{p}"));
    let demo: Value = http
        .post(a("/seed-demo"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(demo["email"], "demo@esimerkki.fi");
    let created: Value = http
        .post(a(&format!("/mailboxes/{EMAIL}/events")))
        .json(&ev("Adminin", "2026-03-03T12:00:00", "2026-03-03T13:00:00"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap();
    let r = http
        .patch(a(&format!("/mailboxes/{EMAIL}/events/{id}")))
        .json(&json!({"sensitivity": "private"}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let e: Value = http
        .get(a(&format!("/mailboxes/{EMAIL}/events/{id}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(e["sensitivity"], "private");
    let view: Value = http
        .get(a(&format!(
            "/mailboxes/{EMAIL}/calendarView?start=2026-03-01T00:00:00Z&end=2026-03-31T00:00:00Z"
        )))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(view.as_array().unwrap().len(), 1);
    let f: Value = http
        .post(a("/faults"))
        .json(&json!({"route": "*", "kind": "status", "status": 503, "times": 1}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(f["id"].as_u64().is_some());
    assert_eq!(t.get("/v1.0/me/calendars").await.0, 503);
    assert_eq!(t.get("/v1.0/me/calendars").await.0, 200);
    let stats: Value = http
        .get(a(&format!("/mailboxes/{EMAIL}/stats")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["requests"], 2);
    assert_eq!(stats["by_route"]["GET /v1.0/me/calendars"], 2);
    let tok: Value = http.post(a("/identity/id-token")).json(&json!({"tenant_id": DEFAULT_TENANT_ID, "object_id": "o", "email": EMAIL, "audience": DEFAULT_CLIENT_ID})).send().await.unwrap().json().await.unwrap();
    assert_eq!(tok["id_token"].as_str().unwrap().split('.').count(), 3);
    let r = http
        .delete(a(&format!("/mailboxes/{EMAIL}/events/{id}")))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    assert!(t.sim.events(EMAIL).is_empty());
    let f: Value = http
        .post(a(&format!("/mailboxes/{EMAIL}/contactFolders")))
        .json(&json!({"name": "CRM"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(f["id"].as_str().is_some());
    let again = http
        .post(a(&format!("/mailboxes/{EMAIL}/contactFolders")))
        .json(&json!({"name": "CRM"}))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 409);
    http.post(a("/recording"))
        .json(&json!({"on": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(t.get("/v1.0/me/contactFolders").await.0, 200);
    let ex: Value = http
        .get(a("/exchanges"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ex.as_array().unwrap().len(), 1);
    assert_eq!(ex[0]["route"], "/v1.0/me/contactFolders");
    assert_eq!(
        ex[0]["response_body"]["value"][0]["displayName"], "CRM",
        "the default Contacts folder is not listed"
    );
    tokio::time::sleep(Duration::from_millis(10)).await;
}
