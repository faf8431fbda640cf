//! Per-route fault injection and request counting for the CRM API.
//!
//! A route key is the method and the path with numeric segments replaced by `{id}`:
//! `GET /api/v1/activities`, `PATCH /api/v1/activities/{id}`, `POST /api/v1/auth`. A [`FaultRule`] matches
//! a route by method (or any) and path (exact, or a prefix ending in `*`), and fires on the next `times`
//! matching requests (or forever).

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{OriginalUri, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::CrmSim;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FaultKind {
    /// Delays the request by `ms` before handling it (the request still succeeds).
    Latency { ms: u64 },
    /// Answers with this status (e.g. 500, 502, 503) without handling the request.
    Status { status: u16 },
    /// Answers 429 with `Retry-After: secs` without handling the request.
    RateLimited { retry_after_secs: u64 },
    /// Breaks the connection without handling the request.
    DropConnection,
    /// Handles the request (a write is committed) and then breaks the connection instead of answering.
    CommitThenDrop,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FaultRule {
    /// `GET`, `POST`, …; `None` matches any method.
    #[serde(default)]
    pub method: Option<String>,
    /// Route path such as `/api/v1/activities/{id}`, or a prefix ending in `*` (`/api/v1/*`).
    pub path: String,
    #[serde(flatten)]
    pub kind: FaultKind,
    /// How many matching requests the fault affects; `None` = every one until removed.
    #[serde(default)]
    pub times: Option<u32>,
}

impl FaultRule {
    pub fn new(method: Option<&str>, path: &str, kind: FaultKind) -> Self {
        FaultRule {
            method: method.map(str::to_owned),
            path: path.to_owned(),
            kind,
            times: None,
        }
    }

    /// Limits the fault to the next `n` matching requests.
    pub fn times(mut self, n: u32) -> Self {
        self.times = Some(n);
        self
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        let method_ok = self
            .method
            .as_deref()
            .is_none_or(|m| m.eq_ignore_ascii_case(method));
        let path_ok = match self.path.strip_suffix('*') {
            Some(prefix) => path.starts_with(prefix),
            None => self.path == path,
        };
        method_ok && path_ok
    }
}

#[derive(Debug, Clone)]
pub(crate) struct ActiveFault {
    pub id: u64,
    pub rule: FaultRule,
}

/// `/api/v1/activities/12/files` → `/api/v1/activities/{id}/files`.
pub fn route_path(path: &str) -> String {
    let trimmed = if path.len() > 1 {
        path.trim_end_matches('/')
    } else {
        path
    };
    trimmed
        .split('/')
        .map(|seg| {
            if !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_digit()) {
                "{id}"
            } else {
                seg
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// A body that fails on first poll: hyper closes the connection without completing the response.
fn broken_body() -> Body {
    Body::from_stream(futures::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::other("simulated connection drop"))
    }))
}

fn dropped() -> Response {
    // No Content-Length: the response is chunked, so the broken body cannot be mistaken for a
    // complete (empty) one.
    let mut r = Response::new(broken_body());
    *r.status_mut() = StatusCode::OK;
    r
}

/// Middleware on `/api/v1`: counts the request, then applies matching faults.
pub(crate) async fn layer(State(sim): State<CrmSim>, req: Request, next: Next) -> Response {
    let method = req.method().as_str().to_owned();
    // Inside the nested `/api/v1` router the URI has lost its prefix; count the full path.
    let full = req
        .extensions()
        .get::<OriginalUri>()
        .map_or_else(|| req.uri().path().to_owned(), |o| o.path().to_owned());
    let path = route_path(&full);
    *sim.inner
        .counts
        .lock()
        .entry(format!("{method} {path}"))
        .or_insert(0) += 1;

    let mut fired = Vec::new();
    {
        let mut faults = sim.inner.faults.lock();
        for f in faults.iter_mut() {
            if f.rule.matches(&method, &path) && f.rule.times != Some(0) {
                if let Some(n) = f.rule.times.as_mut() {
                    *n -= 1;
                }
                fired.push(f.rule.kind.clone());
            }
        }
        faults.retain(|f| f.rule.times != Some(0));
    }

    let mut commit_then_drop = false;
    for kind in &fired {
        if let FaultKind::Latency { ms } = kind {
            tokio::time::sleep(Duration::from_millis(*ms)).await;
        }
    }
    for kind in fired {
        match kind {
            FaultKind::Latency { .. } => {}
            FaultKind::Status { status } => {
                let status =
                    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                return (status, format!("simulated {status}")).into_response();
            }
            FaultKind::RateLimited { retry_after_secs } => {
                let mut r = (StatusCode::TOO_MANY_REQUESTS, "Too many requests").into_response();
                r.headers_mut().insert(
                    header::RETRY_AFTER,
                    HeaderValue::from_str(&retry_after_secs.to_string()).expect("digits"),
                );
                return r;
            }
            FaultKind::DropConnection => return dropped(),
            FaultKind::CommitThenDrop => commit_then_drop = true,
        }
    }
    let response = next.run(req).await;
    if commit_then_drop {
        // The handler ran to completion (the write is committed); the client never learns.
        drop(response);
        return dropped();
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_path_replaces_numeric_segments() {
        assert_eq!(
            route_path("/api/v1/activities/12"),
            "/api/v1/activities/{id}"
        );
        assert_eq!(
            route_path("/api/v1/emails/3/files/"),
            "/api/v1/emails/{id}/files"
        );
        assert_eq!(route_path("/api/v1/"), "/api/v1");
    }

    #[test]
    fn rule_matches_method_and_prefix() {
        let r = FaultRule::new(Some("get"), "/api/v1/*", FaultKind::DropConnection);
        assert!(r.matches("GET", "/api/v1/activities"));
        assert!(!r.matches("POST", "/api/v1/activities"));
        let exact = FaultRule::new(None, "/api/v1/activities", FaultKind::DropConnection);
        assert!(exact.matches("POST", "/api/v1/activities"));
        assert!(!exact.matches("GET", "/api/v1/activities/{id}"));
    }
}
