//! A fresh Postgres database per test, so tests never see each other's data.
//!
//! The server to use comes from `DATABASE_URL` (which `cargo xtask test` sets, possibly to a private
//! cluster it started) or else `postgres://postgres@127.0.0.1:5432/postgres`. Each [`TestDb`] creates a
//! database named `crmtest_<unix seconds>_<uuid>` and drops it (with `FORCE`) when dropped. Databases
//! left behind by a killed run are swept by `cargo xtask test` before the next run — only those older
//! than six hours (by the time in their name) and not in use, so a sweep never pulls a database from under a test or
//! benchmark that is running at the same time.

use sqlx::{AssertSqlSafe, Connection, PgConnection, PgPool, postgres::PgPoolOptions};
use url::Url;

pub const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// The server-level URL tests create their databases on.
pub fn admin_url() -> String {
    std::env::var("DATABASE_URL").unwrap_or_else(|_| DEFAULT_ADMIN_URL.to_owned())
}

pub struct TestDb {
    name: String,
    url: String,
    admin_url: String,
}

impl TestDb {
    /// Creates an empty database. Panics with a clear message when Postgres is not reachable: a test
    /// that needs a database must not silently pass without one.
    pub async fn new() -> Self {
        let admin_url = admin_url();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let name = format!("crmtest_{now}_{}", uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::connect(&admin_url).await.unwrap_or_else(|e| {
            panic!("cannot reach Postgres at {admin_url} (set DATABASE_URL or run `cargo xtask test`): {e}")
        });
        sqlx::raw_sql(AssertSqlSafe(format!(r#"CREATE DATABASE "{name}""#)))
            .execute(&mut admin)
            .await
            .expect("create test database");
        let _ = admin.close().await;
        let mut url = Url::parse(&admin_url).expect("DATABASE_URL is a URL");
        url.set_path(&name);
        Self {
            name,
            url: url.to_string(),
            admin_url,
        }
    }

    /// The connection string of this test's database.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// A small pool on this database.
    pub async fn pool(&self) -> PgPool {
        PgPoolOptions::new()
            .max_connections(8)
            .connect(&self.url)
            .await
            .expect("connect to test database")
    }

    /// Drops the database now, terminating its connections (used to simulate a database outage).
    pub async fn drop_now(&self) {
        drop_database(&self.admin_url, &self.name).await;
    }
}

async fn drop_database(admin_url: &str, name: &str) {
    if let Ok(mut admin) = PgConnection::connect(admin_url).await {
        let _ = sqlx::raw_sql(AssertSqlSafe(format!(
            r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#
        )))
        .execute(&mut admin)
        .await;
        let _ = admin.close().await;
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // Drop runs outside async context (or inside a runtime that is shutting down), so clean up on a
        // thread with its own small runtime.
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        let _ = std::thread::spawn(move || {
            if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                rt.block_on(drop_database(&admin_url, &name));
            }
        })
        .join();
    }
}
