//! Background work of one server process: the sync worker and the subscription renewer.

use std::time::Duration;

use crate::{
    config::Config,
    state::AppState,
    subscriptions,
    sync::SyncHandler,
    worker::{JobQueue, Worker, WorkerConfig, WorkerHandle},
};

pub struct Background {
    worker: WorkerHandle,
    renewer: tokio::task::JoinHandle<()>,
}

/// Starts the worker (leased jobs shared with every other replica) and the subscription renewer.
pub fn start(state: &AppState) -> Background {
    let worker = Worker::spawn(
        JobQueue::new(state.db.clone()),
        SyncHandler::new(state.clone()),
        worker_config(&state.config),
        state.metrics.clone(),
    );
    let renew_state = state.clone();
    let renewer = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(600));
        loop {
            tick.tick().await;
            match subscriptions::renew_due(&renew_state).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(renewed = n, "renewed Graph subscriptions"),
                Err(e) => tracing::warn!(error = %e, "renewing Graph subscriptions failed"),
            }
        }
    });
    Background { worker, renewer }
}

/// The worker's settings from the configuration (lease and concurrency); the rest are defaults.
pub fn worker_config(config: &Config) -> WorkerConfig {
    let lease = Duration::from_secs(config.worker_lease_secs);
    WorkerConfig {
        concurrency: config.worker_concurrency as usize,
        lease,
        heartbeat: lease / 5,
        ..WorkerConfig::default()
    }
}

impl Background {
    /// Stops claiming work, lets running syncs finish (or releases them), stops the renewer.
    pub async fn stop(self) {
        self.renewer.abort();
        let report = self.worker.shutdown().await;
        tracing::info!(?report, "background work stopped");
    }
}
