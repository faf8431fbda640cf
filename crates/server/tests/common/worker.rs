//! The worker tests' fixture: a migrated database, its queue, and pairings with their jobs.

use crm_server::{db, worker::JobQueue};
use sqlx::{PgPool, postgres::PgPoolOptions};
use test_db::TestDb;
use uuid::Uuid;

pub struct Fixture {
    pub _db: TestDb,
    pub pool: PgPool,
    pub queue: JobQueue,
}

pub async fn fixture() -> Fixture {
    let db = TestDb::new().await;
    let pool = PgPoolOptions::new()
        .max_connections(16)
        .connect(db.url())
        .await
        .expect("connect");
    db::migrate(&pool).await.expect("migrate");
    let queue = JobQueue::new(pool.clone());
    Fixture {
        _db: db,
        pool,
        queue,
    }
}

/// Inserts a mailbox and its pairing (the minimum the `jobs` foreign key needs) and its jobs.
pub async fn pairing(f: &Fixture) -> Uuid {
    let mailbox = Uuid::new_v4();
    let pairing = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO mailboxes (id, tenant_id, object_id, email)
         VALUES ($1, 'tenant', $1::text, 'user@example.com')",
    )
    .bind(mailbox)
    .execute(&f.pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO pairings (id, mailbox_id, crm_address, crm_username, crm_user_id, calendar_id)
         VALUES ($1, $2, 'https://crm.example', 'user', '1', 'calendar')",
    )
    .bind(pairing)
    .bind(mailbox)
    .execute(&f.pool)
    .await
    .unwrap();
    f.queue.ensure_jobs(pairing).await.unwrap();
    pairing
}
