//! CRM-service REST client: everything the product knows about CRM-service goes through this crate.
//!
//! * [`CrmAddress`] normalises the address as users type it; [`CrmClient`] holds it with the
//!   Outlook-type API key and [`ClientConfig`] (timeouts, retries, time zone, page size).
//! * [`CrmClient::login`] → [`Session`], a user-scoped session that renews an expired token once by
//!   itself when it remembers the credentials ([`CrmClient::resume`] gives one that does not, and then
//!   answers [`Error::LoginRequired`]).
//! * Typed models ([`Activity`], [`Contact`], [`Account`], [`Project`], [`Lead`], [`Potential`],
//!   [`Email`], [`User`]), a typed [`Filter`] builder for the JSON filter grammar, [`ListQuery`] and
//!   page streams ([`Session::list`], [`Session::pages`]) that hold one page in memory at a time.
//! * Sync support: incremental change listing ([`Session::activity_changes`]), id listing and
//!   existence checks for deletions ([`Session::activity_ids`], [`Session::activity_exists`]),
//!   idempotent creates ([`Session::create_activity_once`]).
//! * Pairing: [`Session::check_activity_schema`] reports assumed fields this CRM lacks and its custom
//!   `cf_` fields, and makes the session leave the missing fields out of writes.
//! * [`assumed`] holds every guessed fact about the API in one place.
//!
//! Policy: GETs are retried on transient failures with backoff that honours `Retry-After`; writes are
//! never retried blindly (see [`Error::outcome_unknown`]). Secrets never appear in `Debug` output.
//!
//! Architecture invariant: this crate knows nothing about Graph or the sync rules.

pub mod address;
pub mod assumed;
pub mod client;
pub mod error;
pub mod filter;
pub mod models;
pub mod ops;
pub mod query;

pub use address::CrmAddress;
pub use client::{ClientConfig, CrmClient, Secret, Session};
pub use error::{Error, FieldError, Result, UnreachableKind};
pub use filter::{Filter, FilterValue, NowBase, NowUnit};
pub use models::{
    Account, Activity, ActivityPatch, Contact, CrmTime, Email, Language, Lead, NewActivity,
    NewEmail, PicklistEntry, Potential, Project, RawResource, Resource, Schema, SchemaField,
    SchemaReport, StoredFile, User,
};
pub use ops::{AccountRelations, ChangeSet, Match};
pub use query::{ListQuery, Page};
