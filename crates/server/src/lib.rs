//! The CRM-service for Outlook server: the task pane's API, the sync worker and the Graph webhooks.
//!
//! `crm-server serve` runs it; `crm-server migrate` applies the database migrations; `crm-server demo`
//! (with the `demo` feature) runs it against the embedded simulators.

pub mod app;
pub mod audit;
pub mod auth;
pub mod background;
pub mod config;
pub mod crm_access;
pub mod crypto;
pub mod db;
#[cfg(feature = "demo")]
pub mod demo;
pub mod error;
pub mod extract;
pub mod graph_access;
pub mod http;
pub mod metrics;
pub mod serve;
pub mod state;
pub mod store;
pub mod subscriptions;
pub mod sync;
pub mod worker;

pub use app::app;
pub use config::Config;
pub use state::AppState;
