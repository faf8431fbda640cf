//! Types shared by the server (`crates/server`) and the task pane (`crates/taskpane`).
//!
//! Everything that crosses the pane ↔ server boundary is defined here once, so the two sides cannot drift:
//!
//! * [`routes`] — every path the pane calls, as constants and small builders.
//! * [`error`] — the one error body (`{code, message, field}`), the machine codes, their HTTP status and
//!   their default Finnish/English messages.
//! * [`validation`] — pure functions that check a request and return field-level errors. The pane runs
//!   them before sending (instant feedback), the server runs them again (never trust the client).
//! * One module per resource with its request/response types: [`session`], [`calendars`], [`pairing`],
//!   [`preferences`], [`login`], [`picklists`], [`relations`], [`items`], [`messages`], [`sync`],
//!   [`error_reports`], [`demo`].
//! * [`manifest`] — fills the server's public URL into the add-in manifest template.
//! * [`wire`] — the pane's small JSON codec for these types (same wire format as the serde derives,
//!   kept in step by tests; the server uses serde).
//!
//! Architecture invariant: this crate does no IO and depends on nothing but serde, chrono and thiserror,
//! because it is compiled into the WASM task pane, where every dependency costs download size.
//!
//! Wire conventions: JSON, `snake_case` field names and enum values, instants as RFC 3339 UTC strings,
//! absent optional values as `null`. Request bodies reject unknown fields.

pub mod calendars;
pub mod demo;
pub mod error;
pub mod error_reports;
pub mod items;
pub mod login;
pub mod manifest;
pub mod messages;
pub mod pairing;
pub mod picklists;
pub mod preferences;
pub mod relations;
pub mod routes;
pub mod session;
pub mod sync;
pub mod validation;
pub mod wire;

pub use error::{ApiError, ErrorCode, FieldError};
pub use preferences::{Language, UiLanguage};
