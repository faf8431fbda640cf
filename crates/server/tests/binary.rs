//! The real `crm-server` binary: migrates on start, serves, and exits cleanly on SIGTERM.

mod common;

use common::process::free_port;

use std::{
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use test_db::TestDb;

#[tokio::test]
async fn serve_applies_migrations_serves_and_stops_gracefully_on_sigterm() {
    let db = TestDb::new().await;
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_crm-server"))
        .arg("serve")
        .env("DATABASE_URL", db.url())
        .env(
            "SECRET_KEYS",
            "k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        )
        .env("LISTEN_ADDR", format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = reqwest::get(format!("{base}/readyz")).await {
            assert_eq!(r.status(), 200);
            break;
        }
        assert!(Instant::now() < deadline, "server did not come up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let pool = db.pool().await;
    let applied: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations WHERE success")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(applied >= 1);
    pool.close().await;

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(15);
    let exit = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "server ignored SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "exit status {exit:?}");
}

#[test]
fn serve_refuses_to_start_without_secret_keys() {
    let out = Command::new(env!("CARGO_BIN_EXE_crm-server"))
        .args(["serve", "--database-url", "postgres://127.0.0.1:1/x"])
        .env_remove("SECRET_KEYS")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("SECRET_KEYS is required"), "{err}");
}

#[test]
fn bad_configuration_is_refused_with_a_clear_message() {
    let out = Command::new(env!("CARGO_BIN_EXE_crm-server"))
        .args([
            "serve",
            "--database-url",
            "postgres://x",
            "--crm-poll-seconds",
            "1",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("crm-poll-seconds"), "{err}");
    assert!(err.contains("10..=3600") || err.contains("10"), "{err}");
}
