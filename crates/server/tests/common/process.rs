//! For tests that start real `crm-server` processes: ports and bounded waits.

use std::{future::Future, net::TcpListener, time::Duration};

/// A port that was free a moment ago (the OS picks it), for a child process to listen on.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Polls `check` every `every` until it holds: a bound on liveness, not a timing assertion.
pub async fn wait_for<F: Future<Output = bool>>(
    what: &str,
    limit: Duration,
    every: Duration,
    mut check: impl FnMut() -> F,
) {
    let deadline = tokio::time::Instant::now() + limit;
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        tokio::time::sleep(every).await;
    }
}
