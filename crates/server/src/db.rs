//! Postgres pool and migrations (the `migrations/` folder at the repository root, embedded at build time).

use std::time::Duration;

use sqlx::{PgPool, postgres::PgPoolOptions};

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations");

/// Opens a pool. Each running sync holds one connection for its per-pairing lock, so the pool is
/// sized for the worker's 8 concurrent runs plus the API, heartbeats and the runs' own queries.
/// Acquiring a connection gives up after a few seconds so that a database outage shows
/// as a quick 503 from `/readyz`, not as a hung request.
pub async fn connect(url: &str) -> Result<PgPool, sqlx::Error> {
    PgPoolOptions::new()
        .max_connections(32)
        .acquire_timeout(Duration::from_secs(3))
        .connect(url)
        .await
}

pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    MIGRATOR.run(pool).await
}
