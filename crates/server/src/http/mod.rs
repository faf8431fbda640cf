//! HTTP routes: one module per resource, each with its own `router()`; [`crate::app`] puts them together.

pub mod health;
pub mod manifest;
