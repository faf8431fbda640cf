//! JSON batching: up to 20 requests per `POST /$batch`, `dependsOn`, per-item status, automatic
//! splitting and retry of only the items that got 429 or 5xx.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::client::Req;
use crate::{GraphError, MailboxClient};

/// Graph's limit of requests per batch.
pub const MAX_BATCH: usize = 20;

/// One request inside a batch; `url` is relative to the version (`/me/events/{id}`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BatchRequest {
    pub id: String,
    pub method: String,
    pub url: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
}

impl BatchRequest {
    pub fn new(id: impl Into<String>, method: &str, url: impl Into<String>) -> Self {
        BatchRequest {
            id: id.into(),
            method: method.to_string(),
            url: url.into(),
            headers: BTreeMap::new(),
            body: None,
            depends_on: vec![],
        }
    }
    /// A JSON body (sets `Content-Type`, which Graph requires for bodies in a batch).
    pub fn json(mut self, body: Value) -> Self {
        self.headers.insert("Content-Type".into(), "application/json".into());
        self.body = Some(body);
        self
    }
    pub fn header(mut self, k: &str, v: &str) -> Self {
        self.headers.insert(k.into(), v.into());
        self
    }
    pub fn depends_on(mut self, id: &str) -> Self {
        self.depends_on.push(id.into());
        self
    }
}

/// The answer to one batched request.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct BatchResponse {
    pub id: String,
    pub status: u16,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub body: Option<Value>,
}

impl BatchResponse {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
    fn retryable(&self) -> bool {
        self.status == 429 || (500..600).contains(&self.status)
    }
    fn retry_after(&self) -> Option<Duration> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("retry-after"))
            .and_then(|(_, v)| v.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(Duration::from_secs_f64)
    }
}

#[derive(Deserialize)]
struct Envelope {
    responses: Vec<BatchResponse>,
}

/// Groups requests so that every `dependsOn` chain stays in one batch, then packs the groups
/// into batches of at most [`MAX_BATCH`].
fn plan(requests: &[BatchRequest]) -> Result<Vec<Vec<BatchRequest>>, GraphError> {
    let index: HashMap<&str, usize> = requests.iter().enumerate().map(|(i, r)| (r.id.as_str(), i)).collect();
    if index.len() != requests.len() {
        return Err(GraphError::BadRequest {
            status: 400,
            code: "DuplicateBatchId".into(),
            message: "batch request ids must be unique".into(),
        });
    }
    let mut parent: Vec<usize> = (0..requests.len()).collect();
    fn find(p: &mut [usize], i: usize) -> usize {
        let mut r = i;
        while p[r] != r {
            r = p[r];
        }
        p[i] = r;
        r
    }
    for (i, r) in requests.iter().enumerate() {
        for d in &r.depends_on {
            let Some(&j) = index.get(d.as_str()) else {
                return Err(GraphError::BadRequest {
                    status: 400,
                    code: "UnknownDependency".into(),
                    message: format!("request {} depends on unknown {d}", r.id),
                });
            };
            let (a, b) = (find(&mut parent, i), find(&mut parent, j));
            parent[a] = b;
        }
    }
    let mut groups: Vec<(usize, Vec<BatchRequest>)> = vec![];
    let mut by_root: HashMap<usize, usize> = HashMap::new();
    for (i, r) in requests.iter().enumerate() {
        let root = find(&mut parent, i);
        let g = *by_root.entry(root).or_insert_with(|| {
            groups.push((root, vec![]));
            groups.len() - 1
        });
        groups[g].1.push(r.clone());
    }
    let mut batches: Vec<Vec<BatchRequest>> = vec![];
    for (_, g) in groups {
        if g.len() > MAX_BATCH {
            return Err(GraphError::BadRequest {
                status: 400,
                code: "DependencyChainTooLong".into(),
                message: format!("a dependsOn chain of {} requests does not fit in one batch", g.len()),
            });
        }
        match batches.last_mut() {
            Some(b) if b.len() + g.len() <= MAX_BATCH => b.extend(g),
            _ => batches.push(g),
        }
    }
    Ok(batches)
}

impl MailboxClient {
    async fn post_batch(&self, requests: &[BatchRequest]) -> Result<Vec<BatchResponse>, GraphError> {
        let body = serde_json::json!({ "requests": requests });
        // A batch may contain creates; only repeat it after a transport error when every item is
        // safe to repeat (GET, DELETE, If-Match updates, creates with a transactionId).
        let safe = requests.iter().all(|r| {
            r.method.eq_ignore_ascii_case("GET")
                || r.method.eq_ignore_ascii_case("DELETE")
                || r.headers.keys().any(|k| k.eq_ignore_ascii_case("if-match"))
                || r.body.as_ref().is_some_and(|b| b.get("transactionId").is_some())
        });
        let env: Envelope = self.send_json(&Req::with_body(Method::POST, "/$batch", body, safe)).await?;
        Ok(env.responses)
    }

    /// Runs any number of requests in batches of at most 20 (keeping `dependsOn` chains
    /// together). Items answered 429 or 5xx — and items that failed with 424 only because such an
    /// item failed — are sent again (alone with what they still depend on) after the longest
    /// `Retry-After` among them, until the time budget runs out. Returns one response per request,
    /// in request order, with the final status of each.
    pub async fn batch(&self, requests: Vec<BatchRequest>) -> Result<Vec<BatchResponse>, GraphError> {
        let order: Vec<String> = requests.iter().map(|r| r.id.clone()).collect();
        let by_id: HashMap<String, BatchRequest> = requests.iter().map(|r| (r.id.clone(), r.clone())).collect();
        let mut done: HashMap<String, BatchResponse> = HashMap::new();
        let mut pending: Vec<BatchRequest> = requests;
        let started = Instant::now();
        let budget = self.inner.config.max_total_time;
        let mut attempt = 0u32;
        while !pending.is_empty() {
            attempt += 1;
            let mut retry: Vec<BatchRequest> = vec![];
            let mut wait = Duration::ZERO;
            for chunk in plan(&pending)? {
                let responses = self.post_batch(&chunk).await?;
                let got: HashMap<String, BatchResponse> = responses.into_iter().map(|r| (r.id.clone(), r)).collect();
                let failed_retryable: HashSet<String> =
                    got.values().filter(|r| r.retryable()).map(|r| r.id.clone()).collect();
                for req in chunk {
                    let Some(resp) = got.get(&req.id).cloned() else {
                        return Err(GraphError::Decode(format!("batch answer lacks request {}", req.id)));
                    };
                    let dep_retry = resp.status == 424 && req.depends_on.iter().any(|d| failed_retryable.contains(d) || retry.iter().any(|r| &r.id == d));
                    if resp.retryable() || dep_retry {
                        wait = wait.max(resp.retry_after().unwrap_or(Duration::ZERO));
                        retry.push(req);
                    }
                    done.insert(resp.id.clone(), resp);
                }
            }
            if retry.is_empty() {
                break;
            }
            // Dependencies that already succeeded are not sent again.
            let retry_ids: HashSet<String> = retry.iter().map(|r| r.id.clone()).collect();
            for r in &mut retry {
                r.depends_on.retain(|d| retry_ids.contains(d));
            }
            if wait.is_zero() {
                let exp = self.inner.config.backoff_base.saturating_mul(1 << attempt.min(10));
                wait = exp.min(self.inner.config.backoff_max).mul_f64(rand::random::<f64>());
            }
            if started.elapsed() + wait > budget {
                tracing::warn!(mailbox = %self.mailbox, left = retry.len(), "graph batch: giving up on retries");
                break;
            }
            tracing::debug!(mailbox = %self.mailbox, items = retry.len(), ?wait, "graph batch: retrying items");
            tokio::time::sleep(wait).await;
            pending = retry;
        }
        let _ = by_id;
        Ok(order.into_iter().filter_map(|id| done.remove(&id)).collect())
    }
}
