//! Subscriptions: the validation handshake, change notifications POSTed to the registered URL
//! (with `clientState`) and lifecycle notifications on demand.

use axum::{
    Extension,
    body::Bytes,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use super::api::{err, ok_json};
use super::model::fmt_utc;
use super::mw::Caller;
use super::ops::Change;
use super::{Exchange, GraphSim, SimError, Subscription};

/// Graph's maximum subscription lifetime for Outlook resources.
const MAX_MINUTES: i64 = 10_080;

fn render_sub(s: &Subscription, base: &str) -> Value {
    json!({
        "@odata.context": format!("{base}/v1.0/$metadata#subscriptions/$entity"),
        "id": s.id,
        "resource": s.resource,
        "applicationId": s.client_id,
        "changeType": s.change_type,
        "clientState": s.client_state,
        "notificationUrl": s.notification_url,
        "notificationQueryOptions": Value::Null,
        "lifecycleNotificationUrl": s.lifecycle_url,
        "expirationDateTime": fmt_utc(s.expires),
        "creatorId": s.user_id,
        "includeResourceData": false,
        "latestSupportedTlsVersion": "v1_2",
        "encryptionCertificate": Value::Null,
        "encryptionCertificateId": Value::Null,
        "notificationUrlAppId": Value::Null,
    })
}

fn parse_expiry(v: Option<&Value>) -> Result<DateTime<Utc>, SimError> {
    let s = v
        .and_then(Value::as_str)
        .ok_or_else(|| SimError::new(400, "InvalidRequest", "expirationDateTime is required."))?;
    let t = super::model::parse_instant(s).ok_or_else(|| {
        SimError::new(
            400,
            "InvalidRequest",
            "expirationDateTime is not a valid date.",
        )
    })?;
    let now = Utc::now();
    if t <= now {
        return Err(SimError::new(
            400,
            "InvalidRequest",
            "Subscription expiration can only be in the future.",
        ));
    }
    if t > now + Duration::minutes(MAX_MINUTES) {
        return Err(SimError::new(
            400,
            "InvalidRequest",
            format!("Subscription expiration can only be {MAX_MINUTES} minutes in the future."),
        ));
    }
    Ok(t)
}

/// Which change collection a subscription resource covers: (collection, calendar or folder id).
fn resource_scope(resource: &str) -> Option<(&'static str, Option<String>)> {
    let r = resource.trim_start_matches('/');
    let lower = r.to_ascii_lowercase();
    let rest = lower.strip_prefix("me/").map(|_| &r[3..]).or_else(|| {
        // users/{id}/...
        let mut parts = r.splitn(3, '/');
        let u = parts.next()?;
        if !u.eq_ignore_ascii_case("users") {
            return None;
        }
        parts.next()?;
        parts.next()
    })?;
    let rl = rest.to_ascii_lowercase();
    if rl == "events" || rl == "calendar/events" {
        return Some(("Events", None));
    }
    if let Some(x) = rl.strip_prefix("calendars/")
        && x.ends_with("/events")
    {
        let id = &rest["calendars/".len()..rest.len() - "/events".len()];
        return Some(("Events", Some(id.to_string())));
    }
    if rl == "messages" {
        return Some(("Messages", None));
    }
    // `mailFolders/{id}/messages` or, as Graph's own examples write it, `mailFolders('Inbox')/messages`.
    if let Some(x) = rl
        .strip_prefix("mailfolders/")
        .or_else(|| rl.strip_prefix("mailfolders"))
        .filter(|x| x.ends_with("/messages"))
    {
        let id = &rest[rest.len() - x.len()..rest.len() - "/messages".len()];
        let id = id.trim_start_matches("('").trim_end_matches("')");
        if id.is_empty() || id.contains('/') {
            return None;
        }
        return Some(("Messages", Some(id.to_string())));
    }
    if rl == "contacts" {
        return Some(("Contacts", None));
    }
    None
}

impl GraphSim {
    /// POSTs `?validationToken=` to `url` and checks the echo (text/plain, within 10 s).
    async fn validate_endpoint(&self, url: &str) -> bool {
        let token = format!(
            "Validation: Testing client application reachability for subscription Request-Id: {}",
            uuid::Uuid::new_v4()
        );
        let sep = if url.contains('?') { '&' } else { '?' };
        let full = format!(
            "{url}{sep}validationToken={}",
            url::form_urlencoded::byte_serialize(token.as_bytes()).collect::<String>()
        );
        let res = self
            .inner
            .http
            .post(&full)
            .header("content-type", "text/plain; charset=utf-8")
            .timeout(std::time::Duration::from_secs(10))
            .send()
            .await;
        let (status, ok) = match res {
            Ok(r) => {
                let status = r.status().as_u16();
                let ct_ok = r
                    .headers()
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| v.starts_with("text/plain"));
                let body = r.text().await.unwrap_or_default();
                (status, status == 200 && ct_ok && body == token)
            }
            Err(_) => (0, false),
        };
        self.record(Exchange {
            direction: "outgoing".into(),
            method: "POST".into(),
            route: "validation".into(),
            uri: full,
            mailbox: None,
            in_batch: false,
            status,
            prefer: vec![],
            request_body: None,
            response_body: None,
        });
        ok
    }

    /// Delivers a notification collection; returns the receiver's status (0 = unreachable or
    /// slower than the 3 s Graph allows).
    async fn post_notification(&self, url: &str, body: Value, email: Option<String>) -> u16 {
        let sent = self
            .inner
            .http
            .post(url)
            .json(&body)
            .timeout(std::time::Duration::from_secs(3))
            .send()
            .await;
        let status = match sent {
            Ok(r) => r.status().as_u16(),
            Err(_) => 0,
        };
        self.record(Exchange {
            direction: "outgoing".into(),
            method: "POST".into(),
            route: "notification".into(),
            uri: url.to_string(),
            mailbox: email,
            in_batch: false,
            status,
            prefer: vec![],
            request_body: Some(body),
            response_body: None,
        });
        status
    }

    /// Sends change notifications for `changes` to every matching live subscription (in the
    /// background when a Tokio runtime is available).
    pub(crate) fn dispatch(&self, changes: Vec<Change>) {
        let now = Utc::now();
        let mut deliveries: Vec<(String, Value, String, String)> = vec![];
        {
            let st = self.inner.state.lock();
            if st.notifications_paused {
                return;
            }
            for ch in &changes {
                for s in st.subscriptions.values() {
                    if s.email != ch.email
                        || s.expires <= now
                        || !s.change_type.split(',').any(|t| t.trim() == ch.change_type)
                    {
                        continue;
                    }
                    let Some((coll, scope)) = resource_scope(&s.resource) else {
                        continue;
                    };
                    if coll != ch.collection {
                        continue;
                    }
                    let scope_ok = match (&scope, coll) {
                        (None, _) => true,
                        (Some(id), "Events") => ch.calendar_id.as_deref() == Some(id.as_str()),
                        (Some(id), _) => {
                            let mb = st.mailboxes.get(&ch.email);
                            let fid = mb
                                .and_then(|m| m.folder_by_name_or_id(id))
                                .map(|f| f.id.clone());
                            ch.folder_id.is_some() && ch.folder_id == fid
                        }
                    };
                    if !scope_ok {
                        continue;
                    }
                    let odata_type = match coll {
                        "Events" => "#Microsoft.Graph.Event",
                        "Messages" => "#Microsoft.Graph.Message",
                        _ => "#Microsoft.Graph.Contact",
                    };
                    let resource = format!("Users/{}/{}/{}", s.user_id, coll, ch.id);
                    let mut rd =
                        json!({"@odata.type": odata_type, "@odata.id": resource, "id": ch.id});
                    if !ch.change_key.is_empty() {
                        rd["@odata.etag"] = json!(format!("W/\"{}\"", ch.change_key));
                    }
                    let body = json!({"value": [{
                        "subscriptionId": s.id,
                        "subscriptionExpirationDateTime": fmt_utc(s.expires),
                        "changeType": ch.change_type,
                        "resource": resource,
                        "resourceData": rd,
                        "clientState": s.client_state,
                        "tenantId": s.tenant_id,
                    }]});
                    deliveries.push((
                        s.notification_url.clone(),
                        body,
                        ch.email.clone(),
                        s.id.clone(),
                    ));
                }
            }
        }
        if deliveries.is_empty() {
            return;
        }
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let sim = self.clone();
        handle.spawn(async move {
            for (url, body, email, sub_id) in deliveries {
                let ok = |s: u16| (200..300).contains(&s);
                if ok(sim
                    .post_notification(&url, body.clone(), Some(email.clone()))
                    .await)
                {
                    continue;
                }
                // Graph retries a failed delivery with backoff and, when it gives up, tells the
                // lifecycle endpoint that notifications were missed. One retry stands for that.
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                if !ok(sim.post_notification(&url, body, Some(email)).await) {
                    let _ = sim.send_lifecycle(&sub_id, "missed").await;
                }
            }
        });
    }

    /// Sends a lifecycle notification (`reauthorizationRequired`, `subscriptionRemoved` or
    /// `missed`) for a subscription to its `lifecycleNotificationUrl`; `subscriptionRemoved` also
    /// deletes the subscription. Returns the receiver's HTTP status (0 = unreachable).
    pub async fn send_lifecycle(
        &self,
        subscription_id: &str,
        event: &str,
    ) -> Result<u16, SimError> {
        if !["reauthorizationRequired", "subscriptionRemoved", "missed"].contains(&event) {
            return Err(SimError::new(
                400,
                "InvalidRequest",
                format!("unknown lifecycle event '{event}'"),
            ));
        }
        let (url, body, email) = {
            let mut st = self.inner.state.lock();
            let s = st
                .subscriptions
                .get(subscription_id)
                .ok_or_else(|| SimError::not_found("subscription"))?;
            let url = s.lifecycle_url.clone().ok_or_else(|| {
                SimError::new(
                    400,
                    "InvalidRequest",
                    "subscription has no lifecycleNotificationUrl",
                )
            })?;
            let body = json!({"value": [{
                "subscriptionId": s.id,
                "subscriptionExpirationDateTime": fmt_utc(s.expires),
                "tenantId": s.tenant_id,
                "clientState": s.client_state,
                "lifecycleEvent": event,
                "resource": s.resource,
            }]});
            let email = s.email.clone();
            if event == "subscriptionRemoved" {
                st.subscriptions.remove(subscription_id);
            }
            (url, body, email)
        };
        Ok(self.post_notification(&url, body, Some(email)).await)
    }

    /// Stops (or resumes) delivering change notifications, as when Graph's notifications stop
    /// arriving; subscriptions stay. Lifecycle notifications sent on demand still go out.
    pub fn set_notifications_paused(&self, paused: bool) {
        self.inner.state.lock().notifications_paused = paused;
    }

    /// All subscriptions, rendered as Graph returns them.
    pub fn subscriptions(&self) -> Vec<Value> {
        let base = self.known_base();
        self.inner
            .state
            .lock()
            .subscriptions
            .values()
            .map(|s| render_sub(s, &base))
            .collect()
    }
}

pub(crate) async fn create_sub(
    State(sim): State<GraphSim>,
    Extension(c): Extension<Caller>,
    body: Bytes,
) -> Response {
    let v: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(_) => {
            return err(SimError::new(
                400,
                "BadRequest",
                "Unable to read JSON request payload.",
            ));
        }
    };
    let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    let (Some(change_type), Some(url), Some(resource)) =
        (s("changeType"), s("notificationUrl"), s("resource"))
    else {
        return err(SimError::new(
            400,
            "InvalidRequest",
            "changeType, notificationUrl and resource are required.",
        ));
    };
    if change_type
        .split(',')
        .any(|t| !["created", "updated", "deleted"].contains(&t.trim()))
    {
        return err(SimError::new(
            400,
            "InvalidRequest",
            format!("Invalid changeType '{change_type}'."),
        ));
    }
    if resource_scope(&resource).is_none() {
        return err(SimError::new(
            400,
            "InvalidRequest",
            format!("Resource '{resource}' is not supported."),
        ));
    }
    let expires = match parse_expiry(v.get("expirationDateTime")) {
        Ok(t) => t,
        Err(e) => return err(e),
    };
    if let Some(cs) = s("clientState")
        && cs.len() > 128
    {
        return err(SimError::new(
            400,
            "InvalidRequest",
            "clientState may be at most 128 characters.",
        ));
    }
    let lifecycle = s("lifecycleNotificationUrl");
    if !sim.validate_endpoint(&url).await {
        return err(SimError::new(
            400,
            "ValidationError",
            "Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request.",
        ));
    }
    if let Some(l) = &lifecycle
        && l != &url
        && !sim.validate_endpoint(l).await
    {
        return err(SimError::new(
            400,
            "ValidationError",
            "Subscription validation request failed. Lifecycle notification endpoint must respond with 200 OK to validation request.",
        ));
    }
    let sub = Subscription {
        id: uuid::Uuid::new_v4().to_string(),
        email: c.email.clone(),
        user_id: c.user_id.clone(),
        tenant_id: c.tenant_id.clone(),
        client_id: c.client_id.clone(),
        resource,
        change_type,
        notification_url: url,
        lifecycle_url: lifecycle,
        client_state: s("clientState"),
        expires,
    };
    let out = render_sub(&sub, &c.base);
    sim.inner
        .state
        .lock()
        .subscriptions
        .insert(sub.id.clone(), sub);
    ok_json(StatusCode::CREATED, out)
}

pub(crate) async fn list_subs(
    State(sim): State<GraphSim>,
    Extension(c): Extension<Caller>,
) -> Response {
    let st = sim.inner.state.lock();
    let items: Vec<Value> = st
        .subscriptions
        .values()
        .filter(|s| s.client_id == c.client_id)
        .map(|s| render_sub(s, &c.base))
        .collect();
    ok_json(
        StatusCode::OK,
        json!({"@odata.context": format!("{}/v1.0/$metadata#subscriptions", c.base), "value": items}),
    )
}

pub(crate) async fn get_sub(
    State(sim): State<GraphSim>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
) -> Response {
    let st = sim.inner.state.lock();
    match st
        .subscriptions
        .get(&id)
        .filter(|s| s.client_id == c.client_id)
    {
        Some(s) => ok_json(StatusCode::OK, render_sub(s, &c.base)),
        None => err(SimError::new(
            404,
            "ResourceNotFound",
            "The object was not found.",
        )),
    }
}

pub(crate) async fn patch_sub(
    State(sim): State<GraphSim>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let v: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(_) => {
            return err(SimError::new(
                400,
                "BadRequest",
                "Unable to read JSON request payload.",
            ));
        }
    };
    let expires = match parse_expiry(v.get("expirationDateTime")) {
        Ok(t) => t,
        Err(e) => return err(e),
    };
    let mut st = sim.inner.state.lock();
    match st
        .subscriptions
        .get_mut(&id)
        .filter(|s| s.client_id == c.client_id)
    {
        Some(s) => {
            s.expires = expires;
            ok_json(StatusCode::OK, render_sub(s, &c.base))
        }
        None => err(SimError::new(
            404,
            "ResourceNotFound",
            "The object was not found.",
        )),
    }
}

pub(crate) async fn delete_sub(
    State(sim): State<GraphSim>,
    Extension(c): Extension<Caller>,
    Path(id): Path<String>,
) -> Response {
    let mut st = sim.inner.state.lock();
    if st
        .subscriptions
        .get(&id)
        .is_some_and(|s| s.client_id == c.client_id)
    {
        st.subscriptions.remove(&id);
        StatusCode::NO_CONTENT.into_response()
    } else {
        err(SimError::new(
            404,
            "ResourceNotFound",
            "The object was not found.",
        ))
    }
}
