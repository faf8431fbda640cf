//! The client against the CRM-service simulator over real HTTP: every call and every typed error.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::{TimeZone, Utc};
use crmservice::{
    ActivityPatch, ClientConfig, CrmAddress, CrmClient, Error, Filter, FilterValue, Language,
    ListQuery, Match, NewActivity, NewEmail, NowBase, NowUnit, Session, UnreachableKind,
};
use futures::TryStreamExt;
use serde_json::json;
use sim::crm::{CrmSim, DemoCrm, FaultKind, FaultRule};

struct Env {
    sim: CrmSim,
    demo: DemoCrm,
    running: sim::Running,
}

impl Env {
    async fn start() -> Env {
        let sim = CrmSim::new();
        let demo = sim.seed_demo();
        let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let running = sim::serve(sim.router(), addr).await.unwrap();
        Env { sim, demo, running }
    }

    fn address(&self) -> CrmAddress {
        CrmAddress::parse(&self.running.base_url).unwrap()
    }

    fn config() -> ClientConfig {
        ClientConfig {
            retry_base_delay: Duration::from_millis(10),
            request_timeout: Duration::from_secs(5),
            ..ClientConfig::default()
        }
    }

    fn client(&self) -> CrmClient {
        self.client_with(Self::config())
    }

    fn client_with(&self, cfg: ClientConfig) -> CrmClient {
        CrmClient::with_config(self.address(), self.demo.api_key.as_str(), cfg).unwrap()
    }

    async fn session(&self) -> Session {
        self.client()
            .login(&self.demo.username, self.demo.password.as_str())
            .await
            .unwrap()
    }

    fn company(&self) -> u64 {
        self.demo.company_id
    }

    fn fault(&self, method: &str, path: &str, kind: FaultKind) -> FaultRule {
        FaultRule::new(Some(method), path, kind)
    }
}

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
}

fn new_call(subject: &str) -> NewActivity {
    let mut n = NewActivity::new(subject, utc(2026, 12, 3, 8, 0), "Soitto");
    n.end = Some(utc(2026, 12, 3, 8, 30));
    n
}

// ----- login, user, schema, modules -----

#[tokio::test]
async fn login_gives_a_session_for_the_demo_user() {
    let env = Env::start().await;
    let s = env.session().await;
    let me = s.current_user().await.unwrap();
    assert_eq!(me.email, "demo@esimerkki.fi");
    assert_eq!(me.id, env.demo.user_id);
    assert!(s.remembers_credentials());
    let modules = s.modules().await.unwrap();
    assert!(modules.iter().any(|m| m == "activities"), "{modules:?}");
}

#[tokio::test]
async fn check_api_key_lists_modules_without_a_user() {
    let env = Env::start().await;
    let modules = env.client().check_api_key().await.unwrap();
    assert!(modules.contains(&"picklist_values".to_owned()));
    let bad = CrmClient::with_config(env.address(), "crm_wrong", Env::config()).unwrap();
    assert!(matches!(bad.check_api_key().await, Err(Error::WrongApiKey)));
}

#[tokio::test]
async fn wrong_api_key_wrong_password_and_locked_user_are_told_apart() {
    let env = Env::start().await;
    let bad_key = CrmClient::with_config(env.address(), "crm_nope", Env::config()).unwrap();
    let e = bad_key.login("demo", "demo").await.unwrap_err();
    assert!(matches!(e, Error::WrongApiKey), "{e:?}");

    let e = env.client().login("demo", "väärä").await.unwrap_err();
    assert!(matches!(e, Error::WrongPassword), "{e:?}");
    let e = env.client().login("eiole", "demo").await.unwrap_err();
    assert!(matches!(e, Error::WrongPassword), "{e:?}");

    let e = env
        .client()
        .login(&env.demo.locked_username, "lukittu")
        .await
        .unwrap_err();
    assert!(matches!(e, Error::LockedUser), "{e:?}");
}

#[tokio::test]
async fn a_user_locked_after_login_gets_locked_user_not_forbidden() {
    let env = Env::start().await;
    let s = env.session().await;
    env.sim
        .set_user_locked(env.company(), "demo", true)
        .unwrap();
    let e = s.current_user().await.unwrap_err();
    assert!(matches!(e, Error::LockedUser), "{e:?}");
}

#[tokio::test]
async fn an_api_key_alone_is_forbidden_to_read_the_current_user() {
    let env = Env::start().await;
    let s = env.client().resume(env.demo.api_key.as_str());
    let e = s.current_user().await.unwrap_err();
    assert!(matches!(e, Error::Forbidden { .. }), "{e:?}");
}

#[tokio::test]
async fn expired_token_is_renewed_once_when_credentials_are_remembered() {
    let env = Env::start().await;
    let s = env.session().await;
    let before = s.token().await;
    env.sim.expire_tokens();
    env.sim.reset_request_counts();
    let me = s.current_user().await.unwrap();
    assert_eq!(me.id, env.demo.user_id);
    assert_ne!(s.token().await, before, "the token was renewed");
    assert_eq!(env.sim.request_count("POST /api/v1/auth"), 1);
    assert_eq!(env.sim.request_count("GET /api/v1/user"), 2);
}

#[tokio::test]
async fn expired_token_without_credentials_is_login_required() {
    let env = Env::start().await;
    let s = env.session().await.without_credentials().await;
    assert!(s.current_user().await.is_ok());
    env.sim.expire_tokens();
    let e = s.current_user().await.unwrap_err();
    assert!(matches!(e, Error::LoginRequired), "{e:?}");
    // A write is refused the same way and nothing is created.
    let before = env.sim.count(env.company(), "activities");
    let e = s.create_activity(&new_call("x")).await.unwrap_err();
    assert!(matches!(e, Error::LoginRequired), "{e:?}");
    assert_eq!(env.sim.count(env.company(), "activities"), before);
}

#[tokio::test]
async fn relogin_with_a_changed_password_reports_wrong_password() {
    let env = Env::start().await;
    let s = env.session().await;
    env.sim
        .set_user_password(env.company(), "demo", "uusi")
        .unwrap();
    env.sim.expire_tokens();
    let e = s.current_user().await.unwrap_err();
    assert!(matches!(e, Error::WrongPassword), "{e:?}");
}

#[tokio::test]
async fn schema_check_reports_missing_assumed_fields_and_custom_fields() {
    let env = Env::start().await;
    let s = env.session().await;
    let report = s.check_activity_schema().await.unwrap();
    assert!(report.is_complete(), "{report:?}");
    assert!(report.custom_fields.is_empty());

    env.sim
        .add_custom_field(
            env.company(),
            "activities",
            "cf_asiakasnumero",
            sim::crm::schema::FieldType::String,
            "Asiakasnumero",
        )
        .unwrap();
    env.sim
        .hide_field(env.company(), "activities", "location")
        .unwrap();
    let report = s.check_activity_schema().await.unwrap();
    assert_eq!(report.missing_fields, vec!["location"]);
    assert_eq!(report.custom_fields.len(), 1);
    assert_eq!(report.custom_fields[0].name, "cf_asiakasnumero");
    assert_eq!(report.custom_fields[0].label, "Asiakasnumero");

    let contacts = s.schema("contacts").await.unwrap();
    assert_eq!(
        contacts.fields["account_id"].relation_module.as_deref(),
        Some("accounts")
    );
    assert_eq!(contacts.relations["account"], "accounts");
}

#[tokio::test]
async fn unknown_module_schema_is_rejected_as_bad_request() {
    let env = Env::start().await;
    let s = env.session().await;
    let e = s.schema("Activities").await.unwrap_err();
    assert!(matches!(e, Error::Rejected { status: 400, .. }), "{e:?}");
}

// ----- transport errors -----

#[tokio::test]
async fn refused_connection_is_unreachable_refused() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let addr = CrmAddress::parse(&format!("http://127.0.0.1:{port}")).unwrap();
    let cfg = ClientConfig {
        max_retries: 0,
        ..Env::config()
    };
    let c = CrmClient::with_config(addr, "k", cfg).unwrap();
    let e = c.login("demo", "demo").await.unwrap_err();
    assert!(
        matches!(
            e,
            Error::Unreachable {
                kind: UnreachableKind::Refused,
                ..
            }
        ),
        "{e:?}"
    );
}

#[tokio::test]
async fn https_to_a_plain_http_server_is_a_tls_failure() {
    let env = Env::start().await;
    let addr =
        CrmAddress::parse(&format!("https://127.0.0.1:{}", env.running.addr.port())).unwrap();
    let c = CrmClient::with_config(addr, env.demo.api_key.as_str(), Env::config()).unwrap();
    let e = c.login("demo", "demo").await.unwrap_err();
    assert!(
        matches!(
            e,
            Error::Unreachable {
                kind: UnreachableKind::Tls,
                ..
            }
        ),
        "{e:?}"
    );
}

#[tokio::test]
async fn unknown_host_is_a_dns_failure() {
    let addr = CrmAddress::parse("crm.esimerkki.invalid").unwrap();
    let c = CrmClient::with_config(addr, "k", Env::config()).unwrap();
    let e = c.login("demo", "demo").await.unwrap_err();
    assert!(
        matches!(
            e,
            Error::Unreachable {
                kind: UnreachableKind::Dns,
                ..
            }
        ),
        "{e:?}"
    );
}

#[tokio::test]
async fn slow_answer_is_a_timeout() {
    let env = Env::start().await;
    let s = env.session().await;
    env.sim
        .inject_fault(env.fault("GET", "/api/v1/user", FaultKind::Latency { ms: 1500 }));
    let fast = env.client_with(ClientConfig {
        request_timeout: Duration::from_millis(300),
        max_retries: 0,
        ..Env::config()
    });
    let s2 = fast.resume(s.token().await);
    let e = s2.current_user().await.unwrap_err();
    assert!(matches!(e, Error::Timeout { .. }), "{e:?}");
    assert!(e.outcome_unknown());
}

#[tokio::test]
async fn an_address_that_is_not_crmservice_is_not_found() {
    let env = Env::start().await;
    let addr = CrmAddress::parse(&format!("{}/muu", env.running.base_url)).unwrap();
    let c = CrmClient::with_config(addr, env.demo.api_key.as_str(), Env::config()).unwrap();
    let e = c.check_api_key().await.unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "{e:?}");
}

// ----- retries: only safe requests -----

#[tokio::test]
async fn get_is_retried_after_5xx_and_dropped_connections() {
    let env = Env::start().await;
    let s = env.session().await;
    env.sim.inject_fault(
        env.fault("GET", "/api/v1/user", FaultKind::Status { status: 503 })
            .times(1),
    );
    env.sim.reset_request_counts();
    assert!(s.current_user().await.is_ok());
    assert_eq!(env.sim.request_count("GET /api/v1/user"), 2);

    env.sim.inject_fault(
        env.fault("GET", "/api/v1/user", FaultKind::DropConnection)
            .times(2),
    );
    env.sim.reset_request_counts();
    assert!(s.current_user().await.is_ok());
    assert_eq!(env.sim.request_count("GET /api/v1/user"), 3);
}

#[tokio::test]
async fn login_is_retried_after_5xx_and_dropped_connections_but_not_after_a_wrong_password() {
    let env = Env::start().await;
    let client = env.client();
    let password = env.demo.password.as_str();
    env.sim.inject_fault(
        env.fault("POST", "/api/v1/auth", FaultKind::Status { status: 503 })
            .times(1),
    );
    env.sim.reset_request_counts();
    let s = client.login(&env.demo.username, password).await.unwrap();
    assert!(s.current_user().await.is_ok());
    assert_eq!(env.sim.request_count("POST /api/v1/auth"), 2);

    env.sim.inject_fault(
        env.fault("POST", "/api/v1/auth", FaultKind::DropConnection)
            .times(2),
    );
    env.sim.reset_request_counts();
    assert!(client.login(&env.demo.username, password).await.is_ok());
    assert_eq!(env.sim.request_count("POST /api/v1/auth"), 3);

    // A refused login is an answer, not a failure: asked once (the CRM counts wrong passwords).
    env.sim.reset_request_counts();
    let e = client
        .login(&env.demo.username, "not the password")
        .await
        .unwrap_err();
    assert!(matches!(e, Error::WrongPassword), "{e:?}");
    assert_eq!(env.sim.request_count("POST /api/v1/auth"), 1);

    // A CRM that keeps failing: the retry budget, then the server error.
    env.sim
        .inject_fault(env.fault("POST", "/api/v1/auth", FaultKind::Status { status: 500 }));
    env.sim.reset_request_counts();
    let e = client
        .login(&env.demo.username, password)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Server { status: 500, .. }), "{e:?}");
    assert_eq!(
        env.sim.request_count("POST /api/v1/auth"),
        u64::from(Env::config().max_retries) + 1
    );
}

#[tokio::test]
async fn persistent_server_error_gives_up_after_the_retry_budget() {
    let env = Env::start().await;
    let s = env.session().await;
    env.sim
        .inject_fault(env.fault("GET", "/api/v1/user", FaultKind::Status { status: 500 }));
    env.sim.reset_request_counts();
    let e = s.current_user().await.unwrap_err();
    assert!(matches!(e, Error::Server { status: 500, .. }), "{e:?}");
    assert_eq!(
        env.sim.request_count("GET /api/v1/user"),
        u64::from(Env::config().max_retries) + 1
    );
}

#[tokio::test]
async fn post_is_never_retried_after_5xx_or_a_drop() {
    let env = Env::start().await;
    let s = env.session().await;
    let before = env.sim.count(env.company(), "activities");
    env.sim.inject_fault(
        env.fault(
            "POST",
            "/api/v1/activities",
            FaultKind::Status { status: 502 },
        )
        .times(1),
    );
    env.sim.reset_request_counts();
    let e = s.create_activity(&new_call("a")).await.unwrap_err();
    assert!(matches!(e, Error::Server { status: 502, .. }), "{e:?}");
    assert_eq!(env.sim.request_count("POST /api/v1/activities"), 1);

    env.sim.inject_fault(
        env.fault("POST", "/api/v1/activities", FaultKind::DropConnection)
            .times(1),
    );
    let e = s.create_activity(&new_call("b")).await.unwrap_err();
    assert!(matches!(e, Error::Interrupted { .. }), "{e:?}");
    assert!(e.outcome_unknown());
    assert_eq!(env.sim.request_count("POST /api/v1/activities"), 2);
    assert_eq!(env.sim.count(env.company(), "activities"), before);
}

#[tokio::test]
async fn rate_limit_is_waited_out_on_get_and_reported_on_post() {
    let env = Env::start().await;
    let s = env.session().await;
    env.sim.inject_fault(
        env.fault(
            "GET",
            "/api/v1/user",
            FaultKind::RateLimited {
                retry_after_secs: 1,
            },
        )
        .times(1),
    );
    let t = Instant::now();
    assert!(s.current_user().await.is_ok());
    assert!(
        t.elapsed() >= Duration::from_millis(950),
        "{:?}",
        t.elapsed()
    );

    env.sim.inject_fault(
        env.fault(
            "POST",
            "/api/v1/activities",
            FaultKind::RateLimited {
                retry_after_secs: 7,
            },
        )
        .times(1),
    );
    env.sim.reset_request_counts();
    let e = s.create_activity(&new_call("c")).await.unwrap_err();
    assert!(
        matches!(e, Error::RateLimited { retry_after: Some(d) } if d == Duration::from_secs(7)),
        "{e:?}"
    );
    assert_eq!(env.sim.request_count("POST /api/v1/activities"), 1);
}

#[tokio::test]
async fn a_retry_after_longer_than_allowed_is_returned_not_waited() {
    let env = Env::start().await;
    let s = env.session().await;
    env.sim.inject_fault(env.fault(
        "GET",
        "/api/v1/user",
        FaultKind::RateLimited {
            retry_after_secs: 120,
        },
    ));
    let t = Instant::now();
    let e = s.current_user().await.unwrap_err();
    assert!(
        matches!(e, Error::RateLimited { retry_after: Some(d) } if d == Duration::from_secs(120)),
        "{e:?}"
    );
    assert!(t.elapsed() < Duration::from_secs(5));
}

// ----- activities -----

#[tokio::test]
async fn create_read_update_delete_an_activity_round_trips_times_and_links() {
    let env = Env::start().await;
    let s = env.session().await;
    let mut n = new_call("Soitto Liisalle");
    n.description = Some("Muista hinnasto".into());
    n.location = Some("Teams".into());
    n.status = Some("Avoin".into());
    n.contacts = vec![env.demo.contact_ids[1].clone()];
    n.accounts = vec![env.demo.account_ids[0].clone()];
    n.project_id = Some(env.demo.project_ids[0].clone());
    let a = s.create_activity(&n).await.unwrap();
    assert_eq!(a.start, n.start);
    assert_eq!(a.end, n.end);
    assert_eq!(a.owner_id.as_deref(), Some(env.demo.user_id.as_str()));
    assert_eq!(a.contacts, n.contacts);
    // The CRM stores local Helsinki time (UTC+2 in December).
    let stored = env
        .sim
        .get(env.company(), "activities", a.id.parse().unwrap())
        .unwrap();
    assert_eq!(stored["start_date"], json!("2026-12-03 10:00:00"));

    let got = s.get_activity(&a.id).await.unwrap();
    assert_eq!(got, a);

    let patch = ActivityPatch {
        subject: Some("Soitto Liisalle (siirretty)".into()),
        end: Some(None),
        location: Some(None),
        contacts: Some(vec![]),
        private: Some(true),
        ..Default::default()
    };
    let u = s.update_activity(&a.id, &patch).await.unwrap();
    assert_eq!(u.subject, "Soitto Liisalle (siirretty)");
    assert_eq!(u.end, None);
    assert_eq!(u.location, None);
    assert!(u.contacts.is_empty() && u.private);
    assert_eq!(u.accounts, n.accounts, "relations not in the patch stay");

    s.delete_activity(&a.id).await.unwrap();
    assert!(s.get_activity(&a.id).await.unwrap_err().is_gone());
    assert!(s.delete_activity(&a.id).await.unwrap_err().is_gone());
    assert!(
        s.update_activity(&a.id, &patch)
            .await
            .unwrap_err()
            .is_gone()
    );
    assert!(!s.activity_exists(&a.id).await.unwrap());
}

#[tokio::test]
async fn validation_errors_name_the_field() {
    let env = Env::start().await;
    let s = env.session().await;
    let mut n = new_call("x");
    n.activity_type = "Lounas".into();
    let e = s.create_activity(&n).await.unwrap_err();
    match e {
        Error::Validation { errors } => {
            assert_eq!(errors[0].field.as_deref(), Some("activity_type"));
            assert!(errors[0].message.contains("Lounas"), "{errors:?}");
        }
        other => panic!("{other:?}"),
    }
    let mut n = new_call("x");
    n.end = Some(n.start - chrono::Duration::hours(1));
    let e = s.create_activity(&n).await.unwrap_err();
    assert!(
        matches!(&e, Error::Validation { errors } if errors[0].field.as_deref() == Some("end_date")),
        "{e:?}"
    );
    let mut n = new_call("x");
    n.contacts = vec!["99999".into()];
    let e = s.create_activity(&n).await.unwrap_err();
    assert!(
        matches!(&e, Error::Validation { errors } if errors[0].field.as_deref() == Some("contacts")),
        "{e:?}"
    );
}

#[tokio::test]
async fn commit_then_drop_does_not_duplicate_with_create_once() {
    let env = Env::start().await;
    let s = env.session().await;
    let before = env.sim.count(env.company(), "activities");
    env.sim.inject_fault(
        env.fault("POST", "/api/v1/activities", FaultKind::CommitThenDrop)
            .times(1),
    );
    let mut n = new_call("Tarjouspalaveri");
    n.description = Some("Agenda".into());
    let key = "8f7c1e52-intent";
    let e = s.create_activity_once(&n, key).await.unwrap_err();
    assert!(e.outcome_unknown(), "{e:?}");
    assert_eq!(
        env.sim.count(env.company(), "activities"),
        before + 1,
        "committed"
    );

    let (a, created) = s.create_activity_once(&n, key).await.unwrap();
    assert!(!created, "the retry found the committed activity");
    assert_eq!(env.sim.count(env.company(), "activities"), before + 1);
    assert_eq!(a.description_text(), "Agenda");
    assert!(a.has_marker(key));

    let (b, created) = s.create_activity_once(&n, "another-intent").await.unwrap();
    assert!(created);
    assert_ne!(a.id, b.id);
    assert_eq!(s.find_activity_by_marker("no-such").await.unwrap(), None);
}

#[tokio::test]
async fn listing_streams_every_page_once() {
    let env = Env::start().await;
    let c = env.company();
    for i in 0..230 {
        env.sim
            .insert(
                c,
                "activities",
                json!({"subject": format!("Massa {i:03}"), "activity_type": "Tehtävä",
                       "start_date": "2027-01-10 09:00:00"}),
            )
            .unwrap();
    }
    let s = env.session().await;
    env.sim.reset_request_counts();
    let q = ListQuery::new()
        .filter(Filter::begins_with("subject", "Massa"))
        .sort_desc("subject")
        .page_size(100);
    let all: Vec<_> = s.activities(&q).try_collect().await.unwrap();
    assert_eq!(all.len(), 230);
    assert_eq!(all[0].subject, "Massa 229");
    assert_eq!(all[229].subject, "Massa 000");
    assert_eq!(env.sim.request_count("GET /api/v1/activities"), 3);
    assert_eq!(
        s.count("activities", Some(Filter::begins_with("subject", "massa")))
            .await
            .unwrap(),
        230
    );
}

#[tokio::test]
async fn sparse_fieldsets_and_include_come_back_from_the_server() {
    let env = Env::start().await;
    let s = env.session().await;
    let q = ListQuery::new()
        .fields("activities", ["subject", "contacts"])
        .fields("contacts", ["last_name"])
        .include(["contacts", "owner"])
        .filter(Filter::eq("subject", "Tarjouspalaveri"));
    let page = s.list_page("activities", &q, 1).await.unwrap();
    assert_eq!(page.data.len(), 1);
    let a = &page.data[0];
    assert_eq!(
        a.attributes.keys().collect::<Vec<_>>(),
        vec!["subject"],
        "only the asked fields"
    );
    assert_eq!(a.relationships["contacts"].len(), 2);
    let names: Vec<_> = page
        .included
        .iter()
        .filter(|r| r.module == "contacts")
        .map(|r| r.attributes["last_name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, vec!["Virtanen", "Korhonen"]);
    assert!(page.included.iter().any(|r| r.module == "users"));
    assert_eq!(page.total, Some(1));
}

#[tokio::test]
async fn filters_with_now_and_relation_paths_are_evaluated_by_the_server() {
    let env = Env::start().await;
    let s = env.session().await;
    // Demo activities: one two days ago, five in the coming two weeks.
    let future = ListQuery::new().filter(Filter::gte(
        "start_date",
        FilterValue::now(NowBase::Date, 0, NowUnit::Days),
    ));
    let n = s
        .activities(&future)
        .try_collect::<Vec<_>>()
        .await
        .unwrap()
        .len();
    assert_eq!(n, 5);
    let this_week = ListQuery::new().filter(Filter::between(
        "start_date",
        FilterValue::now(NowBase::Now, -7, NowUnit::Days),
        FilterValue::now(NowBase::Date, 4, NowUnit::Days),
    ));
    let n = s
        .activities(&this_week)
        .try_collect::<Vec<_>>()
        .await
        .unwrap()
        .len();
    assert_eq!(n, 4);
    let with_korhonen = ListQuery::new().filter(Filter::eq("contacts.last_name", "korhonen"));
    let subjects: Vec<String> = s
        .activities(&with_korhonen)
        .map_ok(|a| a.subject)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(subjects, vec!["Tarjouspalaveri"]);
    let in_project = ListQuery::new().filter(Filter::like("project.name", "%automaatio%"));
    let n = s
        .activities(&in_project)
        .try_collect::<Vec<_>>()
        .await
        .unwrap()
        .len();
    assert_eq!(n, 1);
}

#[tokio::test]
async fn unknown_filter_fields_are_rejected_by_the_server() {
    let env = Env::start().await;
    let s = env.session().await;
    let q = ListQuery::new().filter(Filter::eq("aihe", "x"));
    let e = s.list_page("activities", &q, 1).await.unwrap_err();
    match e {
        Error::Rejected {
            status: 400,
            message,
        } => assert!(message.contains("aihe"), "{message}"),
        other => panic!("{other:?}"),
    }
    // The client refuses an empty $in before sending anything.
    env.sim.reset_request_counts();
    let q = ListQuery::new().filter(Filter::any_of::<&str>("id", []));
    assert!(matches!(
        s.list_page("activities", &q, 1).await,
        Err(Error::InvalidFilter(_))
    ));
    assert_eq!(env.sim.total_requests(), 0);
}

// ----- incremental changes and deletions -----

#[tokio::test]
async fn change_listing_sees_edits_in_the_same_second_and_costs_one_request_when_idle() {
    let env = Env::start().await;
    let c = env.company();
    let s = env.session().await;
    let first = s
        .collect_activity_changes(None, Duration::from_secs(2), None)
        .await
        .unwrap();
    assert_eq!(first.activities.len(), env.demo.activity_ids.len());
    let wm = first.watermark.unwrap();

    // A user edits an activity in the CRM UI, possibly in the same second as the listing.
    let id: u64 = env.demo.activity_ids[0].parse().unwrap();
    env.sim
        .update(c, "activities", id, json!({"subject": "Puhelu (muutettu)"}))
        .unwrap();
    let next = s
        .collect_activity_changes(Some(wm), Duration::from_secs(2), None)
        .await
        .unwrap();
    let changed: Vec<_> = next
        .activities
        .iter()
        .filter(|a| a.subject == "Puhelu (muutettu)")
        .collect();
    assert_eq!(changed.len(), 1, "the edit is seen exactly once");
    assert!(next.watermark >= Some(wm));

    // Idle: nothing changed since → one request; only the overlap is read again.
    env.sim.advance_clock(chrono::Duration::minutes(5));
    let wm = next.watermark.unwrap();
    env.sim.reset_request_counts();
    let idle = s
        .collect_activity_changes(Some(wm), Duration::from_secs(2), None)
        .await
        .unwrap();
    assert_eq!(env.sim.total_requests(), 1);
    let floor = crmservice::CrmTime(wm.0 - chrono::Duration::seconds(2));
    assert!(idle.activities.iter().all(|a| a.updated_at >= floor));
    assert_eq!(idle.watermark, Some(wm));
}

#[tokio::test]
async fn change_listing_pages_through_ties_without_skipping_or_repeating() {
    let env = Env::start().await;
    let c = env.company();
    // 45 activities all updated in the same second, listed 10 at a time.
    for i in 0..45 {
        env.sim
            .insert(
                c,
                "activities",
                json!({"subject": format!("Tasan {i}"), "activity_type": "Muistio",
                       "start_date": "2027-02-01 12:00:00",
                       "created_at": "2026-11-20 10:00:00", "updated_at": "2026-11-20 10:00:00"}),
            )
            .unwrap();
    }
    let client = env.client_with(ClientConfig {
        page_size: 10,
        ..Env::config()
    });
    let s = client.login("demo", "demo").await.unwrap();
    let since = crmservice::CrmTime::parse("2026-11-20 10:00:00").unwrap();
    let scope = Filter::begins_with("subject", "Tasan");
    env.sim.reset_request_counts();
    let got = s
        .collect_activity_changes(Some(since), Duration::ZERO, Some(scope))
        .await
        .unwrap();
    assert_eq!(got.activities.len(), 45);
    let mut ids: Vec<u64> = got
        .activities
        .iter()
        .map(|a| a.id.parse().unwrap())
        .collect();
    let sorted = {
        let mut v = ids.clone();
        v.sort();
        v
    };
    assert_eq!(ids, sorted, "stable (updated_at, id) order");
    ids.dedup();
    assert_eq!(ids.len(), 45);
    assert_eq!(env.sim.request_count("GET /api/v1/activities"), 5);
    assert_eq!(got.watermark, Some(since));
}

#[tokio::test]
async fn id_listing_and_existence_check_confirm_deletions() {
    let env = Env::start().await;
    let s = env.session().await;
    let scope = ListQuery::new().filter(Filter::eq("owner_id", env.demo.user_id.as_str()));
    let ids: Vec<String> = s.activity_ids(&scope).try_collect().await.unwrap();
    assert_eq!(ids, env.demo.activity_ids);
    let victim = &env.demo.activity_ids[2];
    env.sim
        .delete(env.company(), "activities", victim.parse().unwrap())
        .unwrap();
    let ids: Vec<String> = s.activity_ids(&scope).try_collect().await.unwrap();
    assert!(!ids.contains(victim));
    assert!(!s.activity_exists(victim).await.unwrap());
    assert!(s.activity_exists(&env.demo.activity_ids[0]).await.unwrap());
    // A 5xx is not mistaken for a deletion.
    env.sim.inject_fault(FaultRule::new(
        Some("GET"),
        "/api/v1/activities/{id}",
        FaultKind::Status { status: 500 },
    ));
    assert!(matches!(
        s.activity_exists(&env.demo.activity_ids[0]).await,
        Err(Error::Server { .. })
    ));
}

// ----- picklists -----

#[tokio::test]
async fn activity_types_come_in_the_picklist_language() {
    let env = Env::start().await;
    let s = env.session().await;
    let fi = s.activity_types(Language::Fi).await.unwrap();
    let en = s.activity_types(Language::En).await.unwrap();
    let sv = s.activity_types(Language::Sv).await.unwrap();
    let labels =
        |v: &[crmservice::PicklistEntry]| v.iter().map(|e| e.label.clone()).collect::<Vec<_>>();
    assert_eq!(
        labels(&fi),
        ["Soitto", "Tapaaminen", "Sähköposti", "Tehtävä", "Muistio"]
    );
    assert_eq!(labels(&en), ["Call", "Meeting", "Email", "Task", "Memo"]);
    assert_eq!(labels(&sv)[0], "Samtal");
    assert!(
        en.iter().zip(&fi).all(|(e, f)| e.value == f.value),
        "values stay Finnish"
    );
    let st = s.activity_statuses(Language::En).await.unwrap();
    assert_eq!(labels(&st), ["Open", "Done", "Cancelled"]);
}

#[tokio::test]
async fn a_new_activity_type_added_in_crm_appears_without_resaving_settings() {
    let env = Env::start().await;
    let s = env.session().await;
    let before = s.activity_types(Language::Fi).await.unwrap().len();
    // The CRM admin adds a value (with no English name yet).
    let pl = env
        .sim
        .list(env.company(), "picklists")
        .into_iter()
        .find(|p| p["field"] == "activity_type")
        .unwrap();
    env.sim
        .insert(
            env.company(),
            "picklist_values",
            json!({"picklist_id": pl["id"], "value": "Lounas", "position": 9, "active": true}),
        )
        .unwrap();
    let en = s.activity_types(Language::En).await.unwrap();
    assert_eq!(en.len(), before + 1);
    assert_eq!(
        en.last().unwrap().label,
        "Lounas",
        "falls back to the value"
    );
}

// ----- relation search -----

#[tokio::test]
async fn relation_search_by_prefix_and_contains() {
    let env = Env::start().await;
    let s = env.session().await;
    let acc = s.search_accounts("kone", Match::Prefix, 10).await.unwrap();
    assert_eq!(
        acc.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(),
        ["Kone ja Terä Oy"]
    );
    let acc = s.search_accounts("OY", Match::Contains, 10).await.unwrap();
    let names: Vec<_> = acc.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["Kone ja Terä Oy", "Savon Sähkö Oyj"]);
    let c = s
        .search_contacts("matti vir", Match::Prefix, 10)
        .await
        .unwrap();
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].full_name(), "Matti Virtanen");
    let leads = s
        .search_leads("kahvila", Match::Contains, 10)
        .await
        .unwrap();
    assert_eq!(leads[0].last_name.as_deref(), Some("Koskinen"));
    let pots = s
        .search_potentials("huolto", Match::Prefix, 10)
        .await
        .unwrap();
    assert_eq!(pots.len(), 1);
    let projects = s.search_projects("saha", Match::Prefix, 10).await.unwrap();
    assert_eq!(projects[0].name, "Sahan automaatio");
    assert!(matches!(
        s.search_accounts("  ", Match::Prefix, 10).await,
        Err(Error::InvalidFilter(_))
    ));
}

#[tokio::test]
async fn account_relations_list_contacts_and_only_open_potentials() {
    let env = Env::start().await;
    let s = env.session().await;
    let r = s.account_relations(&env.demo.account_ids[0]).await.unwrap();
    let contacts: Vec<_> = r.contacts.iter().map(|c| c.full_name()).collect();
    assert_eq!(contacts, ["Liisa Korhonen", "Matti Virtanen"]);
    let pots: Vec<_> = r.open_potentials.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(pots, ["Huoltosopimus 2027"]);
    assert_eq!(r.projects.len(), 1);
    let acc = s.get_account(&env.demo.account_ids[0]).await.unwrap();
    assert_eq!(acc.account_type.as_deref(), Some("Customer"));
    let c = s.get_contact(&env.demo.contact_ids[0]).await.unwrap();
    assert_eq!(
        c.account_id.as_deref(),
        Some(env.demo.account_ids[0].as_str())
    );
    assert!(s.get_project("424242").await.unwrap_err().is_gone());
}

// ----- emails and files -----

#[tokio::test]
async fn saving_an_email_twice_stores_it_once() {
    let env = Env::start().await;
    let s = env.session().await;
    let new = NewEmail {
        subject: "Tarjous".into(),
        body: "Hei, liitteenä tarjous.".into(),
        from: "demo@esimerkki.fi".into(),
        to: "matti.virtanen@example.fi".into(),
        sent_at: Some(utc(2026, 11, 24, 12, 0)),
        message_id: "<AAMkAG123@esimerkki.fi>".into(),
        account_id: Some(env.demo.account_ids[0].clone()),
        contact_id: Some(env.demo.contact_ids[0].clone()),
        ..Default::default()
    };
    let (e1, created) = s.save_email_once(&new).await.unwrap();
    assert!(created);
    let (e2, created) = s.save_email_once(&new).await.unwrap();
    assert!(!created);
    assert_eq!(e1.id, e2.id);
    assert_eq!(env.sim.count(env.company(), "emails"), 1);
    let got = s.get_email(&e1.id).await.unwrap();
    assert_eq!(got.sent_at, new.sent_at);
    assert_eq!(got.message_id.as_deref(), Some("<AAMkAG123@esimerkki.fi>"));
    assert_eq!(s.find_email_by_message_id("<other@x>").await.unwrap(), None);
    assert_eq!(got.contacts, vec![env.demo.contact_ids[0].clone()]);
}

#[tokio::test]
async fn an_email_is_updated_in_place_with_cc_html_and_several_links() {
    let env = Env::start().await;
    let s = env.session().await;
    let mut new = NewEmail {
        subject: "Tarjous".into(),
        body: "Hei".into(),
        message_id: "<paivitys@x>".into(),
        contacts: vec![env.demo.contact_ids[0].clone()],
        ..Default::default()
    };
    let (e, _) = s.save_email_once(&new).await.unwrap();
    new.subject = "Tarjous (korjattu)".into();
    new.cc = "a@x.fi, b@x.fi".into();
    new.body_html = Some("<p>Hei</p>".into());
    new.contacts = env.demo.contact_ids[..2].to_vec();
    new.accounts = vec![env.demo.account_ids[0].clone()];
    let u = s.update_email(&e.id, &new).await.unwrap();
    assert_eq!(u.id, e.id);
    assert_eq!(env.sim.count(env.company(), "emails"), 1);
    let got = s.get_email(&e.id).await.unwrap();
    assert_eq!(got.subject.as_deref(), Some("Tarjous (korjattu)"));
    assert_eq!(got.cc.as_deref(), Some("a@x.fi, b@x.fi"));
    assert_eq!(got.body_html.as_deref(), Some("<p>Hei</p>"));
    assert_eq!(got.contacts, env.demo.contact_ids[..2].to_vec());
    assert_eq!(
        got.contact_id.as_deref(),
        Some(env.demo.contact_ids[0].as_str())
    );
    assert_eq!(
        got.account_id.as_deref(),
        Some(env.demo.account_ids[0].as_str())
    );
    let found = s
        .find_emails_by_message_ids(&["<paivitys@x>".into(), "<none@x>".into()])
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
}

#[tokio::test]
async fn file_upload_stores_the_file_and_refuses_over_25_mib_before_sending() {
    let env = Env::start().await;
    let s = env.session().await;
    let (email, _) = s
        .save_email_once(&NewEmail {
            subject: "Liite".into(),
            message_id: "<liite@x>".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let f = s
        .upload_file(
            "emails",
            &email.id,
            "tarjous.pdf",
            "application/pdf",
            Bytes::from_static(b"%PDF-1.7 test"),
        )
        .await
        .unwrap();
    assert_eq!(f.name, "tarjous.pdf");
    assert_eq!(f.size, 13);
    assert_eq!(
        env.sim
            .files(env.company(), "emails", email.id.parse().unwrap()),
        vec![("tarjous.pdf".to_owned(), 13)]
    );
    env.sim.reset_request_counts();
    let big = Bytes::from(vec![0u8; 25 * 1024 * 1024 + 1]);
    let e = s
        .upload_file(
            "emails",
            &email.id,
            "iso.bin",
            "application/octet-stream",
            big,
        )
        .await
        .unwrap_err();
    assert!(matches!(e, Error::FileTooLarge { .. }), "{e:?}");
    assert_eq!(env.sim.total_requests(), 0);
    let e = s
        .upload_file(
            "emails",
            "999",
            "x.txt",
            "text/plain",
            Bytes::from_static(b"x"),
        )
        .await
        .unwrap_err();
    assert!(e.is_gone(), "{e:?}");
}

#[tokio::test]
async fn pages_report_totals_and_typed_lists_read_any_module() {
    let env = Env::start().await;
    let s = env.session().await;
    let q = ListQuery::new().sort_asc("last_name").page_size(4);
    let pages: Vec<crmservice::Page> = s.pages("contacts", &q).try_collect().await.unwrap();
    assert_eq!(pages.len(), 2);
    assert_eq!(pages[0].total, Some(6));
    assert!(pages[0].has_next && !pages[1].has_next);
    assert_eq!(pages[0].data.len() + pages[1].data.len(), 6);
    let contacts: Vec<crmservice::Contact> = s.list(&q).try_collect().await.unwrap();
    let names: Vec<&str> = contacts.iter().map(|c| c.last_name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Heikkinen",
            "Järvinen",
            "Korhonen",
            "Mäkinen",
            "Nieminen",
            "Virtanen"
        ]
    );
    let users: Vec<crmservice::User> = s.list(&ListQuery::new()).try_collect().await.unwrap();
    assert!(users.iter().any(|u| u.email == "demo@esimerkki.fi"));
}

#[tokio::test]
async fn a_server_that_answers_html_is_a_protocol_error_not_a_crash() {
    // A captive portal or a web site at the typed address answers 200 with HTML.
    let html = || async {
        (
            [("content-type", "text/html")],
            "<html><body>Kirjaudu</body></html>",
        )
    };
    let router = axum::Router::new()
        .route("/api/v1/auth", axum::routing::post(html))
        .route("/api/v1/", axum::routing::get(html));
    let running = sim::serve(router, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let c = CrmClient::with_config(
        CrmAddress::parse(&running.base_url).unwrap(),
        "k",
        Env::config(),
    )
    .unwrap();
    let e = c.login("demo", "demo").await.unwrap_err();
    assert!(matches!(e, Error::Protocol(_)), "{e:?}");
    let e = c.check_api_key().await.unwrap_err();
    assert!(matches!(e, Error::Protocol(_)), "{e:?}");
    running.stop().await;
}

#[tokio::test]
async fn concurrent_calls_with_an_expired_token_log_in_only_once() {
    let env = Env::start().await;
    let s = env.session().await;
    env.sim.expire_tokens();
    env.sim.reset_request_counts();
    let calls = (0..6).map(|_| {
        let s = s.clone();
        tokio::spawn(async move { s.current_user().await })
    });
    for r in futures::future::join_all(calls).await {
        assert!(r.unwrap().is_ok());
    }
    assert_eq!(env.sim.request_count("POST /api/v1/auth"), 1);
}

#[tokio::test]
async fn writes_leave_out_fields_the_crm_lacks_after_the_schema_check() {
    let env = Env::start().await;
    let c = env.company();
    env.sim.hide_field(c, "activities", "location").unwrap();
    env.sim.hide_field(c, "activities", "all_day").unwrap();
    let s = env.session().await;
    let mut n = new_call("Soitto ilman paikkaa");
    n.location = Some("Teams".into());
    // Unadapted, the CRM refuses the unknown field.
    let e = s.create_activity(&n).await.unwrap_err();
    assert!(matches!(e, Error::Rejected { status: 400, .. }), "{e:?}");

    let report = s.check_activity_schema().await.unwrap();
    assert_eq!(report.missing_fields, vec!["location", "all_day"]);
    assert_eq!(s.skipped_activity_fields(), vec!["location", "all_day"]);
    let a = s.create_activity(&n).await.unwrap();
    assert_eq!(a.location, None);
    let patch = ActivityPatch {
        location: Some(Some("Toimisto".into())),
        subject: Some("Päivitetty".into()),
        ..Default::default()
    };
    assert_eq!(
        s.update_activity(&a.id, &patch).await.unwrap().subject,
        "Päivitetty"
    );
    // A session without credentials keeps the adaptation.
    let plain = s.without_credentials().await;
    assert_eq!(plain.skipped_activity_fields(), vec!["location", "all_day"]);
}

#[tokio::test]
async fn idempotent_create_is_refused_clearly_when_the_crm_has_no_description() {
    let env = Env::start().await;
    env.sim
        .hide_field(env.company(), "activities", "description")
        .unwrap();
    let s = env.session().await;
    s.check_activity_schema().await.unwrap();
    let before = env.sim.count(env.company(), "activities");
    let e = s
        .create_activity_once(&new_call("x"), "intent-1")
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Unsupported(_)), "{e:?}");
    assert_eq!(env.sim.count(env.company(), "activities"), before);
    // A plain create still works.
    assert!(s.create_activity(&new_call("x")).await.is_ok());
}
