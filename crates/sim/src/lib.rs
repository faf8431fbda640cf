//! Faithful HTTP simulators of the two systems the product talks to, for tests, the demo and benchmarks.
//!
//! * [`crm`] — the CRM-service REST API (`/api/v1`, JSON:API style), multi-tenant by API key, with
//!   admin endpoints under `/_admin/crm` for seeding, inspection, clock control and fault injection.
//! * [`graph`] — Microsoft Graph v1.0 (`/v1.0`) for calendars, events, contacts, mail and subscriptions,
//!   plus the identity endpoints (OpenID configuration, JWKS, token endpoint), with admin endpoints
//!   under `/_admin/graph`.
//!
//! Both are written from `../shared/docs/` independently of the client crates: they never reuse the
//! clients' types, so a misreading in a client shows up as a failing test instead of agreeing with itself.
//! Production code never depends on this crate (the server links it only behind its `demo` feature).

pub mod crm;
pub mod graph;

use std::net::SocketAddr;

/// A simulator listening on a real TCP port; dropping it does not stop the server, call [`Running::stop`].
pub struct Running {
    pub addr: SocketAddr,
    pub base_url: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Stops accepting connections and waits for the server task to finish.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.task).await;
    }
}

/// Serves `router` on `addr` (use port 0 for a free port) until [`Running::stop`].
pub async fn serve(router: axum::Router, addr: SocketAddr) -> std::io::Result<Running> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            let _ = rx.await;
        })
        .await;
    });
    Ok(Running {
        addr,
        base_url: format!("http://{addr}"),
        shutdown: Some(tx),
        task,
    })
}
