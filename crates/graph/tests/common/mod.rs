//! Test harness: a Graph simulator on a real port, a client logged in on-behalf-of a user, and
//! schema validation of every body that crossed the wire.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use graph::identity::{IdentityClient, IdentityConfig, UserTokens};
use graph::{GraphClient, GraphConfig, MailboxClient, Secret};
use serde_json::{Value, json};
use sim::graph::{
    DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_TENANT_ID, Exchange, GraphSim, MailboxSpec,
};

pub const EMAIL: &str = "maija@esimerkki.fi";

pub struct Harness {
    pub sim: GraphSim,
    pub running: Option<sim::Running>,
    pub base: String,
    pub client: GraphClient,
    pub identity: IdentityClient,
    pub mb: MailboxClient,
    pub user_id: String,
    pub calendar_id: String,
}

pub fn fast_config(base: &str) -> GraphConfig {
    let mut c = GraphConfig::new(format!("{base}/v1.0"));
    c.max_total_time = Duration::from_secs(20);
    c.backoff_base = Duration::from_millis(20);
    c.backoff_max = Duration::from_millis(200);
    c.page_size = 10;
    c
}

pub fn identity_config(base: &str) -> IdentityConfig {
    let mut c = IdentityConfig::for_authority(
        base,
        DEFAULT_TENANT_ID,
        DEFAULT_CLIENT_ID,
        Secret::new(DEFAULT_CLIENT_SECRET),
    );
    c.jwks_refetch_cooldown = Duration::ZERO;
    c
}

impl Harness {
    pub async fn start() -> Harness {
        Self::start_with(fast_config).await
    }

    pub async fn start_with(cfg: impl FnOnce(&str) -> GraphConfig) -> Harness {
        let sim = GraphSim::new();
        let running = sim::serve(sim.router(), "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let base = running.base_url.clone();
        sim.set_base_url(&base);
        sim.set_recording(true);
        let info = sim
            .create_mailbox(MailboxSpec {
                email: EMAIL.into(),
                display_name: "Maija Meikäläinen".into(),
                time_zone: "Europe/Helsinki".into(),
                calendars: vec!["Asiakastapaamiset".into()],
                tenant_id: None,
                user_id: None,
            })
            .unwrap();
        let identity = IdentityClient::new(identity_config(&base));
        let client = GraphClient::new(cfg(&base));
        let id_token =
            sim.mint_id_token(DEFAULT_TENANT_ID, &info.user_id, EMAIL, DEFAULT_CLIENT_ID);
        identity
            .validate_id_token(&id_token)
            .await
            .expect("valid identity token");
        let tokens = identity
            .exchange_on_behalf_of(&id_token)
            .await
            .expect("OBO");
        let mb = client.mailbox(EMAIL, Arc::new(UserTokens::new(identity.clone(), tokens)));
        let calendar_id = info.calendars.iter().find(|c| c.2).unwrap().0.clone();
        Harness {
            sim,
            running: Some(running),
            base,
            client,
            identity,
            mb,
            user_id: info.user_id,
            calendar_id,
        }
    }

    /// Validates every recorded body against the Graph schemas and fails the test on any error.
    pub fn check_schemas(&self) {
        let ex = self.sim.take_exchanges();
        let errors = Schemas::load().check_all(&ex);
        assert!(
            errors.is_empty(),
            "schema violations:\n{}",
            errors.join("\n")
        );
    }

    pub async fn stop(mut self) {
        self.check_schemas();
        if let Some(r) = self.running.take() {
            r.stop().await;
        }
    }
}

/// A timed event body as a user types it in Outlook (Helsinki time).
pub fn event_body(subject: &str, start: &str, end: &str) -> Value {
    json!({"subject": subject, "start": {"dateTime": start, "timeZone": "Europe/Helsinki"},
           "end": {"dateTime": end, "timeZone": "Europe/Helsinki"}})
}

pub struct Schemas {
    doc: Value,
    cache:
        std::cell::RefCell<std::collections::HashMap<(String, bool), Arc<jsonschema::Validator>>>,
}

impl Schemas {
    pub fn load() -> Schemas {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../schemas/graph-v1.0-subset.schemas.json"
        );
        let doc =
            serde_json::from_str(&std::fs::read_to_string(path).expect("vendored schema")).unwrap();
        Schemas {
            doc,
            cache: Default::default(),
        }
    }

    /// Validates `v` against `$defs/name`; `closed` also rejects unknown top-level members
    /// (OData annotations with `@` stay allowed).
    pub fn errors(&self, name: &str, v: &Value, closed: bool) -> Vec<String> {
        let key = (name.to_string(), closed);
        let cached = self.cache.borrow().get(&key).cloned();
        let validator = match cached {
            Some(v) => v,
            None => {
                let v = Arc::new(self.compile(name, closed));
                self.cache.borrow_mut().insert(key, v.clone());
                v
            }
        };
        validator
            .iter_errors(v)
            .map(|e| format!("{name}: {e} at {}", e.instance_path))
            .collect()
    }

    fn compile(&self, name: &str, closed: bool) -> jsonschema::Validator {
        let mut root = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$defs": self.doc["$defs"].clone(),
            "$ref": format!("#/$defs/{name}"),
        });
        if closed {
            root["patternProperties"] = json!({"@": true});
            root["unevaluatedProperties"] = json!(false);
        }
        jsonschema::validator_for(&root).expect("schema compiles")
    }

    fn batch_request_errors(v: &Value) -> Vec<String> {
        let schema = json!({
            "type": "object", "required": ["requests"], "additionalProperties": false,
            "properties": {"requests": {"type": "array", "maxItems": 20, "items": {
                "type": "object", "required": ["id", "method", "url"], "additionalProperties": false,
                "properties": {"id": {"type": "string"}, "method": {"enum": ["GET", "POST", "PATCH", "PUT", "DELETE"]},
                    "url": {"type": "string", "pattern": "^/"}, "headers": {"type": "object", "additionalProperties": {"type": "string"}},
                    "body": {}, "dependsOn": {"type": "array", "items": {"type": "string"}}}}}}
        });
        let v2 = jsonschema::validator_for(&schema).unwrap();
        v2.iter_errors(v)
            .map(|e| format!("batch request: {e} at {}", e.instance_path))
            .collect()
    }

    fn batch_response_errors(v: &Value) -> Vec<String> {
        let schema = json!({
            "type": "object", "required": ["responses"], "additionalProperties": false,
            "properties": {"responses": {"type": "array", "maxItems": 20, "items": {
                "type": "object", "required": ["id", "status"], "additionalProperties": false,
                "properties": {"id": {"type": "string"}, "status": {"type": "integer", "minimum": 100, "maximum": 599},
                    "headers": {"type": "object", "additionalProperties": {"type": "string"}}, "body": {}}}}}
        });
        let v2 = jsonschema::validator_for(&schema).unwrap();
        v2.iter_errors(v)
            .map(|e| format!("batch response: {e} at {}", e.instance_path))
            .collect()
    }

    fn item_schema(route: &str) -> Option<&'static str> {
        if route.contains("/subscriptions") {
            Some("microsoft.graph.subscription")
        } else if route.contains("/contactFolders/{f}/contacts") || route.ends_with("/me/contacts")
        {
            Some("microsoft.graph.contact")
        } else if route.contains("/contactFolders") {
            Some("microsoft.graph.contactFolder")
        } else if route.ends_with("/$value") {
            None
        } else if route.contains("/attachments") {
            Some("microsoft.graph.fileAttachment")
        } else if route.contains("/messages") {
            Some("microsoft.graph.message")
        } else if route.contains("/events") || route.contains("/calendarView") {
            Some("microsoft.graph.event")
        } else if route.contains("/calendars") || route.ends_with("/me/calendar") {
            Some("microsoft.graph.calendar")
        } else {
            None
        }
    }

    /// Checks one exchange; returns the problems found (empty = fine).
    pub fn check(&self, ex: &Exchange) -> Vec<String> {
        let mut errs = vec![];
        let tag = |e: Vec<String>| {
            e.into_iter()
                .map(|m| format!("{} {} [{}]: {m}", ex.method, ex.uri, ex.status))
                .collect::<Vec<_>>()
        };
        if ex.direction == "outgoing" {
            if let Some(b) = &ex.request_body {
                errs.extend(tag(self.errors(
                    "microsoft.graph.changeNotificationCollection",
                    b,
                    true,
                )));
            }
            return errs;
        }
        let route = ex.route.as_str();
        if route.ends_with("/$batch") {
            if let Some(b) = &ex.request_body {
                errs.extend(tag(Self::batch_request_errors(b)));
            }
            if let Some(b) = &ex.response_body {
                if ex.status < 400 {
                    errs.extend(tag(Self::batch_response_errors(b)));
                    for r in b["responses"].as_array().into_iter().flatten() {
                        if r["status"].as_u64().is_some_and(|s| s >= 400) {
                            errs.extend(tag(self.errors(
                                "microsoft.graph.ODataErrors.ODataError",
                                &r["body"],
                                true,
                            )));
                        }
                    }
                } else {
                    errs.extend(tag(self.errors(
                        "microsoft.graph.ODataErrors.ODataError",
                        b,
                        true,
                    )));
                }
            }
            return errs;
        }
        let item = Self::item_schema(route);
        if let (Some(b), Some(item)) = (&ex.request_body, item)
            && (ex.method == "POST" || ex.method == "PATCH")
        {
            errs.extend(tag(self.errors(item, b, true)));
        }
        let Some(b) = &ex.response_body else {
            return errs;
        };
        if ex.status >= 400 {
            errs.extend(tag(self.errors(
                "microsoft.graph.ODataErrors.ODataError",
                b,
                true,
            )));
            return errs;
        }
        let Some(item) = item else { return errs };
        if b.get("value").is_some() {
            let coll = if route.contains("delta") {
                "BaseDeltaFunctionResponse".to_string()
            } else if !self.doc["$defs"]
                .as_object()
                .is_some_and(|d| d.contains_key(&format!("{item}CollectionResponse")))
            {
                // The vendored subset has no collection type for this item (attachments, messages).
                "BaseCollectionPaginationCountResponse".to_string()
            } else {
                format!("{item}CollectionResponse")
            };
            errs.extend(tag(self.errors(&coll, b, false)));
            for v in b["value"].as_array().into_iter().flatten() {
                errs.extend(tag(self.errors(item, v, true)));
            }
        } else {
            errs.extend(tag(self.errors(item, b, true)));
        }
        errs
    }

    pub fn check_all(&self, exchanges: &[Exchange]) -> Vec<String> {
        exchanges.iter().flat_map(|e| self.check(e)).collect()
    }
}
