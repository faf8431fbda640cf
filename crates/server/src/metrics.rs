//! Prometheus metrics (OpenMetrics text via `prometheus-client`), served at `/metrics`.

use std::{sync::Arc, time::Instant};

use axum::{
    extract::{MatchedPath, Request, State},
    middleware::Next,
    response::Response,
};
use parking_lot::Mutex;
use prometheus_client::{
    encoding::{EncodeLabelSet, text::encode},
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram},
    registry::Registry,
};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    pub method: String,
    /// The route template (`/api/items/{event_id}`), never the raw path, so cardinality stays bounded.
    pub route: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SyncLabels {
    pub direction: String,
    pub action: String,
}

pub struct Metrics {
    registry: Mutex<Registry>,
    pub http_requests: Family<HttpLabels, Counter>,
    pub http_duration: Family<HttpLabels, Histogram>,
    pub sync_actions: Family<SyncLabels, Counter>,
    pub sync_runs: Family<SyncLabels, Counter>,
    pub jobs_in_flight: Gauge,
    pub error_reports: Counter,
    pub webhook_rejected: Counter,
}

impl Metrics {
    pub fn new() -> Arc<Self> {
        let mut registry = Registry::with_prefix("crm");
        let http_requests = Family::<HttpLabels, Counter>::default();
        let http_duration = Family::<HttpLabels, Histogram>::new_with_constructor(|| {
            Histogram::new([
                0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ])
        });
        let sync_actions = Family::<SyncLabels, Counter>::default();
        let sync_runs = Family::<SyncLabels, Counter>::default();
        let jobs_in_flight = Gauge::default();
        let error_reports = Counter::default();
        let webhook_rejected = Counter::default();
        registry.register(
            "webhook_rejected",
            "Graph notifications ignored (unknown subscription or wrong clientState)",
            webhook_rejected.clone(),
        );
        registry.register(
            "error_reports",
            "Error reports received from panes",
            error_reports.clone(),
        );
        registry.register(
            "http_requests",
            "HTTP requests served",
            http_requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency",
            http_duration.clone(),
        );
        registry.register("sync_actions", "Sync actions applied", sync_actions.clone());
        registry.register(
            "sync_runs",
            "Sync runs finished, by outcome",
            sync_runs.clone(),
        );
        registry.register(
            "jobs_in_flight",
            "Sync jobs running in this process",
            jobs_in_flight.clone(),
        );
        Arc::new(Self {
            registry: Mutex::new(registry),
            http_requests,
            http_duration,
            sync_actions,
            sync_runs,
            jobs_in_flight,
            error_reports,
            webhook_rejected,
        })
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        encode(&mut out, &self.registry.lock()).expect("writing to a String cannot fail");
        out
    }
}

/// Middleware recording count and latency of every request by route template.
pub async fn track(State(metrics): State<Arc<Metrics>>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let response = next.run(req).await;
    let labels = HttpLabels {
        method,
        route,
        status: response.status().as_u16(),
    };
    metrics.http_requests.get_or_create(&labels).inc();
    metrics
        .http_duration
        .get_or_create(&labels)
        .observe(start.elapsed().as_secs_f64());
    response
}
