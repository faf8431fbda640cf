//! HTTP routes: one module per resource, each with its own `router()`; [`crate::app`] puts them together.

pub mod crm;
pub mod error_reports;
pub mod health;
pub mod items;
pub mod login;
pub mod manifest;
pub mod messages;
pub mod openapi;
pub mod pairing;
pub mod preferences;
pub mod session;
pub mod sync;
pub mod webhooks;
