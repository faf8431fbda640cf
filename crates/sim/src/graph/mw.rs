//! What every `/v1.0` request passes through: authentication, counting, fault injection,
//! throttling and recording.

use std::time::Instant;

use axum::{
    body::{Body, to_bytes},
    extract::{MatchedPath, Request, State},
    http::{HeaderValue, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use chrono::Utc;
use chrono_tz::Tz;
use serde_json::{Value, json};

use super::{Exchange, FaultKind, GraphSim, model::parse_tz};

/// Who is calling, in which time zone they want times, and where links should point.
#[derive(Clone, Debug)]
pub(crate) struct Caller {
    pub email: String,
    pub user_id: String,
    pub tenant_id: String,
    pub client_id: String,
    pub tz: Tz,
    pub tz_name: String,
    pub base: String,
    pub max_page_size: Option<usize>,
}

/// Marks a request dispatched from inside a `$batch`.
#[derive(Clone, Debug)]
pub(crate) struct BatchInner;

/// A Graph error response (`{"error": {code, message, innerError}}`).
pub(crate) fn odata_error(status: u16, code: &str, message: &str) -> Response {
    let rid = uuid::Uuid::new_v4().to_string();
    let body = json!({"error": {
        "code": code,
        "message": message,
        "innerError": {
            "date": Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            "request-id": rid,
            "client-request-id": rid,
        }
    }});
    let mut r = (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        axum::Json(body),
    )
        .into_response();
    r.headers_mut().insert(
        "request-id",
        HeaderValue::from_str(&rid).expect("uuid header"),
    );
    r
}

fn throttled(retry_after: f64, message: &str) -> Response {
    let mut r = odata_error(429, "ApplicationThrottled", message);
    let v = format!("{:.3}", retry_after.max(0.001));
    let v = v.trim_end_matches('0').trim_end_matches('.').to_string();
    r.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from_str(&v).expect("number header"),
    );
    r
}

/// Parses `Prefer` headers (comma-separated or repeated).
pub(crate) fn prefer_values(headers: &axum::http::HeaderMap) -> Vec<String> {
    headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

struct Slot {
    sim: GraphSim,
    key: (String, String),
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut st = self.sim.inner.state.lock();
        if let Some(n) = st.throttle.in_flight.get_mut(&self.key) {
            *n = n.saturating_sub(1);
        }
    }
}

impl GraphSim {
    fn take_fault(
        &self,
        method: &str,
        template: &str,
        path: &str,
        email: &str,
    ) -> Option<FaultKind> {
        let mut st = self.inner.state.lock();
        let idx = st.faults.iter().position(|r| {
            let f = &r.fault;
            r.remaining != Some(0)
                && f.method
                    .as_deref()
                    .is_none_or(|m| m.eq_ignore_ascii_case(method))
                && f.mailbox
                    .as_deref()
                    .is_none_or(|m| m.eq_ignore_ascii_case(email))
                && (f.route == "*" || f.route == template || path.starts_with(&f.route))
        })?;
        let rule = &mut st.faults[idx];
        if let Some(n) = rule.remaining.as_mut() {
            *n -= 1;
        }
        Some(rule.fault.kind.clone())
    }

    fn acquire(&self, client: &str, email: &str) -> Result<Slot, f64> {
        let key = (client.to_string(), email.to_string());
        let mut st = self.inner.state.lock();
        let max = st.throttle.config.max_concurrent;
        let retry = st.throttle.config.concurrency_retry_after;
        let n = st.throttle.in_flight.entry(key.clone()).or_insert(0);
        if *n >= max {
            st.counters
                .stats
                .entry(email.to_string())
                .or_default()
                .throttled_concurrency += 1;
            return Err(retry);
        }
        *n += 1;
        let now_in = *n;
        let stats = st.counters.stats.entry(email.to_string()).or_default();
        stats.peak_in_flight = stats.peak_in_flight.max(now_in);
        Ok(Slot {
            sim: self.clone(),
            key,
        })
    }

    fn rate_check(&self, client: &str, email: &str) -> Result<(), f64> {
        let key = (client.to_string(), email.to_string());
        let mut st = self.inner.state.lock();
        let window = std::time::Duration::from_secs_f64(st.throttle.config.window_secs);
        let max = st.throttle.config.max_requests;
        let now = Instant::now();
        let h = st.throttle.history.entry(key).or_default();
        while h.front().is_some_and(|t| now.duration_since(*t) >= window) {
            h.pop_front();
        }
        if h.len() >= max {
            let oldest = *h.front().expect("non-empty");
            let wait = window
                .saturating_sub(now.duration_since(oldest))
                .as_secs_f64();
            st.counters
                .stats
                .entry(email.to_string())
                .or_default()
                .throttled_rate += 1;
            return Err(wait);
        }
        h.push_back(now);
        Ok(())
    }

    fn count(&self, email: &str, route_key: &str, inner: bool) {
        let mut st = self.inner.state.lock();
        let s = st.counters.stats.entry(email.to_string()).or_default();
        if inner {
            s.batch_items += 1;
            *s.by_route.entry(format!("batch:{route_key}")).or_default() += 1;
        } else {
            s.requests += 1;
            *s.by_route.entry(route_key.to_string()).or_default() += 1;
        }
    }
}

pub(crate) async fn graph_mw(State(sim): State<GraphSim>, req: Request, next: Next) -> Response {
    let method = req.method().to_string();
    let template = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| req.uri().path().to_string());
    let path = req.uri().path().to_string();
    let uri = req.uri().to_string();
    let inner = req.extensions().get::<BatchInner>().is_some();
    let prefer = prefer_values(req.headers());
    let (parts, body) = req.into_parts();
    let bytes = to_bytes(body, 64 * 1024 * 1024).await.unwrap_or_default();
    let request_body: Option<Value> = serde_json::from_slice(&bytes).ok();

    let mut mailbox = None;
    let response = 'resp: {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            });
        let grant = match token {
            None => {
                break 'resp odata_error(
                    401,
                    "InvalidAuthenticationToken",
                    "Access token is empty.",
                );
            }
            Some(t) => match sim.access_grant(t) {
                Ok(g) => g,
                Err((code, msg)) => break 'resp odata_error(401, code, &msg),
            },
        };
        let email = grant.email.clone();
        mailbox = Some(email.clone());
        sim.count(&email, &format!("{method} {template}"), inner);
        if !template.starts_with("/v1.0/subscriptions")
            && !sim.inner.state.lock().mailboxes.contains_key(&email)
        {
            break 'resp odata_error(
                404,
                "MailboxNotEnabledForRESTAPI",
                "The mailbox is either inactive, soft-deleted, or is hosted on-premise.",
            );
        }
        let fault = sim.take_fault(&method, &template, &path, &email);
        let _slot = if inner {
            None
        } else {
            match sim.acquire(&grant.client_id, &email) {
                Ok(s) => Some(s),
                Err(retry) => {
                    break 'resp throttled(
                        retry,
                        "Application is over its MailboxConcurrency limit.",
                    );
                }
            }
        };
        if let Err(retry) = sim.rate_check(&grant.client_id, &email) {
            break 'resp throttled(
                retry,
                "Application is over its IncomingBytes or request limit.",
            );
        }
        let mut drop_after = false;
        match fault {
            Some(FaultKind::Latency { ms }) => {
                tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
            }
            Some(FaultKind::Status {
                status,
                retry_after,
            }) => {
                let (code, msg) = match status {
                    429 => ("TooManyRequests", "Too many requests."),
                    503 => ("ServiceUnavailable", "Service unavailable."),
                    504 => ("GatewayTimeout", "Gateway timeout."),
                    500 => ("InternalServerError", "Internal server error."),
                    _ => ("InjectedFault", "Injected fault."),
                };
                let mut r = odata_error(status, code, msg);
                if let Some(ra) = retry_after {
                    let v = format!("{ra}");
                    r.headers_mut().insert(
                        header::RETRY_AFTER,
                        HeaderValue::from_str(&v).expect("number header"),
                    );
                }
                break 'resp r;
            }
            Some(FaultKind::Drop) => {
                // Unwinding out of the connection task closes the socket without an answer.
                std::panic::resume_unwind(Box::new("sim: injected dropped connection"));
            }
            Some(FaultKind::CommitThenDrop) => drop_after = true,
            None => {}
        }
        let base = sim.base_url_from(&parts.headers);
        let (tz, tz_name) = prefer
            .iter()
            .find_map(|p| {
                let v = p.strip_prefix("outlook.timezone=")?;
                let name = v.trim_matches('"').to_string();
                parse_tz(&name).map(|tz| (tz, name))
            })
            .unwrap_or((Tz::UTC, "UTC".to_string()));
        let max_page_size = prefer.iter().find_map(|p| {
            p.strip_prefix("odata.maxpagesize=")
                .and_then(|v| v.trim().parse::<usize>().ok())
        });
        let mut req = Request::from_parts(parts, Body::from(bytes));
        req.extensions_mut().insert(super::mw::Caller {
            email: email.clone(),
            user_id: grant.user_id.clone(),
            tenant_id: grant.tenant_id.clone(),
            client_id: grant.client_id.clone(),
            tz,
            tz_name,
            base,
            max_page_size,
        });
        let r = next.run(req).await;
        if drop_after {
            std::panic::resume_unwind(Box::new("sim: injected commit-then-drop"));
        }
        r
    };

    let (parts, body) = response.into_parts();
    let out = to_bytes(body, usize::MAX).await.unwrap_or_default();
    if let Some(email) = &mailbox {
        let mut st = sim.inner.state.lock();
        st.counters
            .stats
            .entry(email.clone())
            .or_default()
            .bytes_out += out.len() as u64;
    }
    let recording = sim.inner.state.lock().recording;
    if recording {
        sim.record(Exchange {
            direction: "incoming".into(),
            method,
            route: template,
            uri,
            mailbox,
            in_batch: inner,
            status: parts.status.as_u16(),
            prefer,
            request_body,
            response_body: serde_json::from_slice(&out).ok(),
        });
    }
    Response::from_parts(parts, Body::from(out))
}
