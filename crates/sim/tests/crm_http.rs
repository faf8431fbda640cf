//! The CRM-service simulator over raw HTTP: strictness, paging, server-kept timestamps, tenants, the
//! admin API and fault injection. (The client crate's tests cover the happy paths through the client.)

use std::net::SocketAddr;

use reqwest::StatusCode;
use serde_json::{Value, json};
use sim::crm::{ApiKeyKind, CrmSim, FaultKind, FaultRule};

const JSONAPI: &str = "application/vnd.api+json";

struct Env {
    sim: CrmSim,
    base: String,
    http: reqwest::Client,
    _running: sim::Running,
}

async fn start() -> Env {
    let sim = CrmSim::new();
    let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let running = sim::serve(sim.router(), addr).await.unwrap();
    Env {
        sim,
        base: running.base_url.clone(),
        http: reqwest::Client::new(),
        _running: running,
    }
}

impl Env {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn get(&self, token: &str, path: &str) -> (StatusCode, String) {
        let r = self
            .http
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        (r.status(), r.text().await.unwrap())
    }

    async fn get_json(&self, token: &str, path: &str) -> Value {
        let (s, body) = self.get(token, path).await;
        assert_eq!(s, StatusCode::OK, "{path}: {body}");
        serde_json::from_str(&body).unwrap()
    }

    async fn send(
        &self,
        method: reqwest::Method,
        token: &str,
        path: &str,
        body: Value,
    ) -> (StatusCode, String) {
        let r = self
            .http
            .request(method, self.url(path))
            .bearer_auth(token)
            .header("content-type", JSONAPI)
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        (r.status(), r.text().await.unwrap())
    }

    async fn login(&self, key: &str, user: &str, pw: &str) -> String {
        let (s, body) = self
            .send(
                reqwest::Method::POST,
                key,
                "/api/v1/auth",
                json!({"username": user, "password": pw}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{body}");
        serde_json::from_str::<Value>(&body)
            .unwrap()
            .as_str()
            .unwrap()
            .to_owned()
    }
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn requests_without_a_valid_bearer_are_401() {
    let env = start().await;
    let demo = env.sim.seed_demo();
    let r = env
        .http
        .get(env.url("/api/v1/activities"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        env.get("nope", "/api/v1/activities").await.0,
        StatusCode::UNAUTHORIZED
    );
    let r = env
        .http
        .get(env.url("/api/v1/activities"))
        .basic_auth("demo", Some("demo"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        env.get(&demo.api_key, "/api/v1/activities").await.0,
        StatusCode::OK
    );
    assert!(env.sim.revoke_api_key(&demo.api_key));
    assert_eq!(
        env.get(&demo.api_key, "/api/v1/activities").await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn login_needs_an_outlook_key_and_the_right_password() {
    let env = start().await;
    let demo = env.sim.seed_demo();
    let other = env
        .sim
        .add_api_key(demo.company_id, ApiKeyKind::Other)
        .unwrap();
    let body = json!({"username": "demo", "password": "demo"});
    let (s, _) = env
        .send(reqwest::Method::POST, &other, "/api/v1/auth", body.clone())
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, msg) = env
        .send(reqwest::Method::POST, "bad", "/api/v1/auth", body.clone())
        .await;
    assert_eq!(
        (s, msg.as_str()),
        (StatusCode::UNAUTHORIZED, "Invalid API key")
    );
    let (s, msg) = env
        .send(
            reqwest::Method::POST,
            &demo.api_key,
            "/api/v1/auth",
            json!({"username": "demo", "password": "x"}),
        )
        .await;
    assert_eq!(
        (s, msg.as_str()),
        (StatusCode::UNAUTHORIZED, "Invalid username or password")
    );
    let (s, _) = env
        .send(
            reqwest::Method::POST,
            &demo.api_key,
            "/api/v1/auth",
            json!({"username": "lukittu", "password": "lukittu"}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let token = env.login(&demo.api_key, "demo", "demo").await;
    let me = env.get_json(&token, "/api/v1/user").await;
    assert_eq!(me["data"]["attributes"]["email"], "demo@esimerkki.fi");
    // Tokens expire on the simulator clock.
    env.sim.advance_clock(chrono::Duration::hours(2));
    let (s, msg) = env.get(&token, "/api/v1/user").await;
    assert_eq!(
        (s, msg.as_str()),
        (StatusCode::UNAUTHORIZED, "Token expired")
    );
}

#[tokio::test]
async fn writes_need_the_jsonapi_content_type() {
    let env = start().await;
    let demo = env.sim.seed_demo();
    let body = json!({"data": {"type": "activities", "attributes": {
        "subject": "x", "start_date": "2026-12-01 10:00:00", "activity_type": "Soitto"}}});
    let r = env
        .http
        .post(env.url("/api/v1/activities"))
        .bearer_auth(&demo.api_key)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let (s, _) = env
        .send(
            reqwest::Method::POST,
            &demo.api_key,
            "/api/v1/activities",
            body,
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
}

#[tokio::test]
async fn unknown_modules_fields_operators_and_parameters_are_400() {
    let env = start().await;
    let demo = env.sim.seed_demo();
    let k = &demo.api_key;
    let cases = [
        "/api/v1/Activities".to_owned(),
        "/api/v1/meetings".to_owned(),
        "/api/v1/schema/meetings".to_owned(),
        format!("/api/v1/activities?filter={}", enc("{\"subject\":")),
        format!(
            "/api/v1/activities?filter={}",
            enc(r#"{"$foo":["subject","x"]}"#)
        ),
        format!(
            "/api/v1/activities?filter={}",
            enc(r#"{"$eq":["aihe","x"]}"#)
        ),
        format!("/api/v1/activities?filter={}", enc(r#"{"$and":[]}"#)),
        format!(
            "/api/v1/activities?filter={}",
            enc(r#"{"$between":["id",1]}"#)
        ),
        format!(
            "/api/v1/activities?filter={}",
            enc(r#"{"$gte":["start_date","$now -1 fortnight"]}"#)
        ),
        format!("/api/v1/activities?{}=aihe", enc("fields[activities]")),
        "/api/v1/activities?include=owners".to_owned(),
        "/api/v1/activities?sort=-aihe".to_owned(),
        format!("/api/v1/activities?{}=501", enc("page[size]")),
        "/api/v1/activities?limit=5".to_owned(),
    ];
    for path in cases {
        let (s, msg) = env.get(k, &path).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{path}: {msg}");
        assert!(!msg.is_empty(), "{path}: the 400 explains itself");
    }
    let (_, msg) = env
        .get(
            k,
            &format!(
                "/api/v1/activities?filter={}",
                enc(r#"{"$eq":["aihe","x"]}"#)
            ),
        )
        .await;
    assert!(msg.contains("aihe"), "{msg}");
    // Unknown attributes in a write are refused as well.
    let (s, msg) = env
        .send(reqwest::Method::POST, k, "/api/v1/activities", json!({"data": {"type": "activities",
            "attributes": {"subject": "x", "start_date": "2026-12-01 10:00:00", "activity_type": "Soitto", "aihe": 1}}}))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{msg}");
}

#[tokio::test]
async fn paging_reports_meta_and_links() {
    let env = start().await;
    let demo = env.sim.seed_demo();
    for i in 0..12 {
        env.sim
            .insert(
                demo.company_id,
                "accounts",
                json!({"name": format!("Testi {i:02} Oy")}),
            )
            .unwrap();
    }
    let q = format!(
        "/api/v1/accounts?filter={}&sort=name&{}=5&{}=2",
        enc(r#"{"$beg":["name","testi"]}"#),
        enc("page[size]"),
        enc("page[number]")
    );
    let v = env.get_json(&demo.api_key, &q).await;
    assert_eq!(v["meta"], json!({"total": 12, "page": 2, "page_size": 5}));
    let names: Vec<&str> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["attributes"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "Testi 05 Oy",
            "Testi 06 Oy",
            "Testi 07 Oy",
            "Testi 08 Oy",
            "Testi 09 Oy"
        ]
    );
    for (link, page) in [("next", 3), ("prev", 1), ("first", 1), ("last", 3)] {
        let href = v["links"][link].as_str().unwrap();
        assert!(
            href.contains(&format!("page%5Bnumber%5D={page}")),
            "{link}: {href}"
        );
        assert!(href.starts_with(&env.base), "{href}");
    }
    // The last page has no next link.
    let last = env
        .get_json(
            &demo.api_key,
            &v["links"]["last"].as_str().unwrap().replace(&env.base, ""),
        )
        .await;
    assert_eq!(last["data"].as_array().unwrap().len(), 2);
    assert!(last["links"]["next"].is_null());
    // offset skips records directly.
    let off = env.get_json(&demo.api_key, &format!("{q}&offset=10")).await;
    assert_eq!(off["data"][0]["attributes"]["name"], "Testi 10 Oy");
}

#[tokio::test]
async fn the_server_keeps_created_and_updated_at_at_second_resolution() {
    let env = start().await;
    let demo = env.sim.seed_demo();
    let k = &demo.api_key;
    let (s, body) = env
        .send(reqwest::Method::POST, k, "/api/v1/activities", json!({"data": {"type": "activities", "attributes": {
            "subject": "Aikaleima", "start_date": "2026-12-01 10:00:00", "activity_type": "Soitto"}}}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    let id = v["data"]["id"].as_str().unwrap().to_owned();
    let created = v["data"]["attributes"]["created_at"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(created.len(), "2026-11-25 14:00:00".len());
    assert_eq!(v["data"]["attributes"]["updated_at"], json!(created));

    env.sim.advance_clock(chrono::Duration::minutes(3));
    let (s, body) = env
        .send(reqwest::Method::PATCH, k, &format!("/api/v1/activities/{id}"), json!({"data": {"type": "activities", "id": id, "attributes": {"subject": "Muutettu"}}}))
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["data"]["attributes"]["created_at"], json!(created));
    let updated = v["data"]["attributes"]["updated_at"].as_str().unwrap();
    assert!(updated > created.as_str(), "{updated} > {created}");

    let (s, _) = env
        .send(reqwest::Method::PATCH, k, &format!("/api/v1/activities/{id}"), json!({"data": {"type": "activities", "id": id, "attributes": {"updated_at": "2020-01-01 00:00:00"}}}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = env
        .send(
            reqwest::Method::PATCH,
            k,
            "/api/v1/activities/9999",
            json!({"data": {"type": "activities", "attributes": {}}}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let r = env
        .http
        .delete(env.url(&format!("/api/v1/activities/{id}")))
        .bearer_auth(k)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        env.get(k, &format!("/api/v1/activities/{id}")).await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn users_and_picklists_cannot_be_written_through_the_api() {
    let env = start().await;
    let demo = env.sim.seed_demo();
    let (s, _) = env
        .send(
            reqwest::Method::POST,
            &demo.api_key,
            "/api/v1/users",
            json!({"data": {"type": "users", "attributes": {"name": "x", "email": "x@y.fi"}}}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn companies_do_not_see_each_others_data() {
    let env = start().await;
    let demo = env.sim.seed_demo();
    let other = env.sim.create_company("Toinen Oy");
    env.sim
        .insert(
            other.company_id,
            "accounts",
            json!({"name": "Salainen Asiakas Oy"}),
        )
        .unwrap();
    let mine = env.get_json(&demo.api_key, "/api/v1/accounts").await;
    assert!(!mine.to_string().contains("Salainen"));
    let theirs = env.get_json(&other.api_key, "/api/v1/accounts").await;
    assert_eq!(theirs["meta"]["total"], 1);
    // Same id space per company: account 1 of the other company is theirs, not the demo's.
    let one = env.get_json(&other.api_key, "/api/v1/accounts/1").await;
    assert_eq!(one["data"]["attributes"]["name"], "Salainen Asiakas Oy");
    // A demo user cannot log in with the other company's key.
    let (s, _) = env
        .send(
            reqwest::Method::POST,
            &other.api_key,
            "/api/v1/auth",
            json!({"username": "demo", "password": "demo"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn relation_paths_and_include_work_for_to_one_links() {
    let env = start().await;
    let demo = env.sim.seed_demo();
    let q = format!(
        "/api/v1/contacts?filter={}&include=account&sort=last_name",
        enc(r#"{"account.name":"Pohjolan Puu Ab"}"#)
    );
    let v = env.get_json(&demo.api_key, &q).await;
    let names: Vec<&str> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["attributes"]["last_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Mäkinen", "Nieminen"]);
    assert_eq!(v["included"].as_array().unwrap().len(), 1);
    assert_eq!(v["included"][0]["type"], "accounts");
}

#[tokio::test]
async fn faults_apply_per_route_and_requests_are_counted() {
    let env = start().await;
    let demo = env.sim.seed_demo();
    let k = &demo.api_key;
    env.sim.inject_fault(
        FaultRule::new(
            Some("GET"),
            "/api/v1/accounts",
            FaultKind::Status { status: 503 },
        )
        .times(1),
    );
    assert_eq!(
        env.get(k, "/api/v1/accounts").await.0,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(env.get(k, "/api/v1/accounts").await.0, StatusCode::OK);
    assert_eq!(env.get(k, "/api/v1/contacts").await.0, StatusCode::OK);
    env.sim.inject_fault(FaultRule::new(
        None,
        "/api/v1/*",
        FaultKind::RateLimited {
            retry_after_secs: 9,
        },
    ));
    let r = env
        .http
        .get(env.url("/api/v1/accounts/1"))
        .bearer_auth(k)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.headers()["retry-after"], "9");
    env.sim.clear_faults();
    env.sim.inject_fault(
        FaultRule::new(Some("GET"), "/api/v1/accounts", FaultKind::DropConnection).times(1),
    );
    let r = env
        .http
        .get(env.url("/api/v1/accounts"))
        .bearer_auth(k)
        .send()
        .await;
    let broken = match r {
        Err(_) => true,
        Ok(resp) => resp.bytes().await.is_err(),
    };
    assert!(broken, "the connection was dropped");
    let counts = env.sim.request_counts();
    assert_eq!(counts["GET /api/v1/accounts"], 3);
    assert_eq!(counts["GET /api/v1/accounts/{id}"], 1);
    assert_eq!(counts["GET /api/v1/contacts"], 1);
}

#[tokio::test]
async fn commit_then_drop_commits_the_write_but_loses_the_answer() {
    let env = start().await;
    let demo = env.sim.seed_demo();
    let before = env.sim.count(demo.company_id, "activities");
    env.sim.inject_fault(
        FaultRule::new(
            Some("POST"),
            "/api/v1/activities",
            FaultKind::CommitThenDrop,
        )
        .times(1),
    );
    let r = env
        .http
        .post(env.url("/api/v1/activities"))
        .bearer_auth(&demo.api_key)
        .header("content-type", JSONAPI)
        .body(json!({"data": {"type": "activities", "attributes": {"subject": "Kadonnut vastaus", "start_date": "2026-12-01 10:00:00", "activity_type": "Soitto"}}}).to_string())
        .send()
        .await;
    let broken = match r {
        Err(_) => true,
        Ok(resp) => resp.bytes().await.is_err(),
    };
    assert!(broken);
    assert_eq!(env.sim.count(demo.company_id, "activities"), before + 1);
}

#[tokio::test]
async fn files_over_25_mib_are_413() {
    let env = start().await;
    let demo = env.sim.seed_demo();
    let aid = &demo.account_ids[0];
    let big = vec![b'x'; 25 * 1024 * 1024 + 10];
    let r = env
        .http
        .post(env.url(&format!("/api/v1/accounts/{aid}/files")))
        .bearer_auth(&demo.api_key)
        .header("content-type", "application/octet-stream")
        .header("content-disposition", "attachment; filename=\"iso.bin\"")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let r = env
        .http
        .post(env.url(&format!("/api/v1/accounts/{aid}/files")))
        .bearer_auth(&demo.api_key)
        .header("content-type", "text/plain")
        .body("ei nimeä")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::BAD_REQUEST,
        "a filename is required"
    );
}

#[tokio::test]
async fn admin_http_api_drives_the_same_state() {
    let env = start().await;
    let post = |path: &str, body: Value| env.http.post(env.url(path)).json(&body).send();
    let c: Value = post("/_admin/crm/companies", json!({"name": "Admin Oy"}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let cid = c["company_id"].as_u64().unwrap();
    let key = c["api_key"].as_str().unwrap().to_owned();
    let r = post(
        &format!("/_admin/crm/companies/{cid}/users"),
        json!({"username": "anna", "password": "salasana", "email": "anna@admin.fi", "name": "Anna Admin"}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let token = env.login(&key, "anna", "salasana").await;

    let r = post(
        &format!("/_admin/crm/companies/{cid}/records/accounts"),
        json!({"name": "Asiakas Oy"}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let acc: Value = r.json().await.unwrap();
    let v = env.get_json(&token, "/api/v1/accounts").await;
    assert_eq!(v["data"][0]["id"], acc["id"]);
    let bad = post(
        &format!("/_admin/crm/companies/{cid}/records/accounts"),
        json!({"nimi": "x"}),
    )
    .await
    .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);

    let r = env
        .http
        .patch(env.url(&format!("/_admin/crm/companies/{cid}/users/anna")))
        .json(&json!({"locked": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        env.get(&token, "/api/v1/user").await.0,
        StatusCode::FORBIDDEN
    );

    let clock: Value = post("/_admin/crm/clock", json!({"advance_secs": 86400}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(clock["offset_secs"], 86400);

    let f: Value = post("/_admin/crm/faults", json!({"method": "GET", "path": "/api/v1/accounts", "kind": "status", "status": 500, "times": 1}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(f["id"].as_u64().is_some());
    assert_eq!(
        env.get(&key, "/api/v1/accounts").await.0,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    let counts: Value = env
        .http
        .get(env.url("/_admin/crm/requests"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(counts["GET /api/v1/accounts"], 2);

    let demo: Value = post("/_admin/crm/seed-demo", json!({}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(demo["username"], "demo");
    let list: Value = env
        .http
        .get(env.url(&format!(
            "/_admin/crm/companies/{}/records/activities",
            demo["company_id"]
        )))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        list.as_array().unwrap().len(),
        demo["activity_ids"].as_array().unwrap().len()
    );
    assert!(list[0]["contacts"].is_array());
}

#[tokio::test]
async fn demo_seed_is_finnish_and_complete() {
    let sim = CrmSim::new();
    let d = sim.seed_demo();
    assert_eq!(d.company_name, "Esimerkki Oy");
    assert_eq!(
        (d.username.as_str(), d.password.as_str(), d.email.as_str()),
        ("demo", "demo", "demo@esimerkki.fi")
    );
    let types: Vec<String> = sim
        .list(d.company_id, "picklist_values")
        .iter()
        .take(5)
        .map(|v| v["value"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        types,
        ["Soitto", "Tapaaminen", "Sähköposti", "Tehtävä", "Muistio"]
    );
    let tr = sim.list(d.company_id, "picklist_value_translations");
    assert!(
        tr.iter()
            .any(|t| t["language"] == "sv" && t["name"] == "Möte")
    );
    let today = sim.now_local(d.company_id).date().to_string();
    let upcoming = sim
        .list(d.company_id, "activities")
        .iter()
        .filter(|a| a["start_date"].as_str().unwrap() > today.as_str())
        .count();
    assert!(upcoming >= 4);
}

#[tokio::test]
async fn reporting_counts_matching_records() {
    let env = start().await;
    let demo = env.sim.seed_demo();
    let (s, body) = env
        .send(
            reqwest::Method::POST,
            &demo.api_key,
            "/api/v1/reporting",
            json!({"module": "activities", "filter": {"activity_type": "Tapaaminen"}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    let meetings = env
        .sim
        .list(demo.company_id, "activities")
        .iter()
        .filter(|a| a["activity_type"] == "Tapaaminen")
        .count();
    assert!(meetings > 0);
    assert_eq!(v["data"]["count"], json!(meetings));
    let (s, _) = env
        .send(
            reqwest::Method::POST,
            &demo.api_key,
            "/api/v1/reporting",
            json!({"module": "activities", "filter": {"$nope": []}}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn admin_http_changes_schema_time_zone_and_keys() {
    let env = start().await;
    let demo = env.sim.seed_demo();
    let c = demo.company_id;
    let k = &demo.api_key;
    let r = env
        .http
        .post(env.url(&format!(
            "/_admin/crm/companies/{c}/custom-fields/activities"
        )))
        .json(&json!({"name": "cf_laskutettava", "type": "boolean", "label": "Laskutettava"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = env
        .http
        .delete(env.url(&format!(
            "/_admin/crm/companies/{c}/fields/activities/location"
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let schema = env.get_json(k, "/api/v1/schema/activities").await;
    assert_eq!(schema["attributes"]["cf_laskutettava"]["type"], "boolean");
    assert!(schema["attributes"].get("location").is_none());
    assert_eq!(schema["relations"]["contacts"]["class"], "contacts");
    // The hidden field is now unknown to filters too.
    let (s, _) = env
        .get(
            k,
            &format!("/api/v1/activities?filter={}", enc(r#"{"location":"x"}"#)),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    // CRM local time follows the company's time zone (Stockholm is an hour behind Helsinki).
    let helsinki = env.sim.now_local(c);
    let r = env
        .http
        .patch(env.url(&format!("/_admin/crm/companies/{c}")))
        .json(&json!({"time_zone": "Europe/Stockholm"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let diff = helsinki - env.sim.now_local(c);
    assert!(
        (diff - chrono::Duration::hours(1)).num_seconds().abs() <= 2,
        "{diff}"
    );

    let r: Value = env
        .http
        .post(env.url(&format!("/_admin/crm/companies/{c}/api-keys")))
        .json(&json!({"kind": "outlook"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let second = r["api_key"].as_str().unwrap().to_owned();
    assert_eq!(env.get(&second, "/api/v1/accounts").await.0, StatusCode::OK);
    let r = env
        .http
        .delete(env.url(&format!("/_admin/crm/api-keys/{second}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        env.get(&second, "/api/v1/accounts").await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn every_new_company_has_the_standard_picklists() {
    let sim = CrmSim::new();
    let c = sim.create_company("Uusi Oy").company_id;
    let values: Vec<String> = sim
        .list(c, "picklist_values")
        .iter()
        .map(|v| v["value"].as_str().unwrap().to_owned())
        .collect();
    for (fi, _, _) in sim::crm::ACTIVITY_TYPES {
        assert!(values.iter().any(|v| v == fi), "{fi} missing");
    }
    // And the picklist is enforced on writes.
    let bad = sim.insert(
        c,
        "activities",
        json!({"subject": "x", "activity_type": "Lounas", "start_date": "2026-12-01 10:00:00"}),
    );
    assert_eq!(bad.unwrap_err().field.as_deref(), Some("activity_type"));
}

#[tokio::test]
async fn sort_puts_nulls_first_ascending_and_breaks_ties_by_id() {
    let env = start().await;
    let c = env.sim.create_company("Lajittelu Oy");
    for (name, phone) in [
        ("B", Some("2")),
        ("A", None),
        ("C", Some("1")),
        ("D", Some("2")),
    ] {
        env.sim
            .insert(
                c.company_id,
                "accounts",
                json!({"name": name, "phone": phone}),
            )
            .unwrap();
    }
    let names = |v: Value| -> Vec<String> {
        v["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["attributes"]["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let asc = env
        .get_json(&c.api_key, "/api/v1/accounts?sort=phone")
        .await;
    assert_eq!(names(asc), ["A", "C", "B", "D"]);
    let desc = env
        .get_json(&c.api_key, "/api/v1/accounts?sort=-phone,-name")
        .await;
    assert_eq!(names(desc), ["D", "B", "C", "A"]);
    let by_id = env.get_json(&c.api_key, "/api/v1/accounts?sort=id").await;
    assert_eq!(names(by_id), ["B", "A", "C", "D"]);
    let by_id_desc = env.get_json(&c.api_key, "/api/v1/accounts?sort=-id").await;
    assert_eq!(names(by_id_desc), ["D", "C", "A", "B"]);
}
