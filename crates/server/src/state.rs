use std::sync::Arc;

use sqlx::PgPool;

use crate::{config::Config, metrics::Metrics};

/// Everything a handler may need; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub db: PgPool,
    pub config: Arc<Config>,
    pub metrics: Arc<Metrics>,
}

impl AppState {
    pub fn new(db: PgPool, config: Config) -> Self {
        Self {
            db,
            config: Arc::new(config),
            metrics: Metrics::new(),
        }
    }
}
