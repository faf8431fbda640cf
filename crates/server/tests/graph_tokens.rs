//! The Graph refresh token across sync runs: a token rotated by a refresh is stored (sealed) once, runs
//! that did not rotate it leave the stored one alone, and a fresh process syncs with the stored one.

mod common;

use common::{Sims, TestServer, paired};
use crm_server::{AppState, sync::run_pairing, worker::JobKind};
use uuid::Uuid;

async fn stored_refresh_token(server: &TestServer) -> Vec<u8> {
    let pool = server.db.pool().await;
    let sealed: Vec<u8> =
        sqlx::query_scalar("SELECT ciphertext FROM secrets WHERE kind = 'graph_refresh_token'")
            .fetch_one(&pool)
            .await
            .unwrap();
    pool.close().await;
    sealed
}

#[tokio::test]
async fn a_rotated_refresh_token_is_stored_once_and_a_fresh_process_syncs_with_it() {
    let sims = Sims::start().await;
    let server = TestServer::start_with(|c| sims.configure(c)).await;
    paired(&server, &sims).await;
    let pool = server.db.pool().await;
    let pairing: Uuid = sqlx::query_scalar("SELECT id FROM pairings")
        .fetch_one(&pool)
        .await
        .unwrap();
    let run = |state: AppState| async move {
        run_pairing(&state, pairing, JobKind::CrmToOutlook)
            .await
            .expect("sync run")
    };
    run(server.state.clone()).await;
    let first = stored_refresh_token(&server).await;
    run(server.state.clone()).await;
    assert_eq!(
        stored_refresh_token(&server).await,
        first,
        "no refresh, nothing rewritten"
    );

    // The access token ends: the next run refreshes, which rotates the refresh token.
    sims.graph.expire_access_tokens(&sims.mailbox.email);
    run(server.state.clone()).await;
    let rotated = stored_refresh_token(&server).await;
    assert_ne!(rotated, first, "the rotated refresh token was stored");
    run(server.state.clone()).await;
    assert_eq!(stored_refresh_token(&server).await, rotated);

    // A process that starts now knows only what is stored: it syncs with the rotated token.
    let fresh = AppState::new(pool.clone(), (*server.state.config).clone()).unwrap();
    let requests_before = sims.graph.stats(&sims.mailbox.email).requests;
    run(fresh).await;
    assert!(sims.graph.stats(&sims.mailbox.email).requests > requests_before);
    let errors: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM sync_runs WHERE outcome <> 'ok' AND direction <> 'progress'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(errors, 0, "every run succeeded");
}
