//! Microsoft Graph client: the only code in the product that speaks Graph.
//!
//! * [`GraphClient`] holds the HTTP client and configuration; [`GraphClient::mailbox`] gives a
//!   [`MailboxClient`] for one mailbox (`/me` of its access token) with calendars, calendarView
//!   delta, events, `$batch`, contacts, mail and subscriptions.
//! * [`identity`] validates the add-in's identity token (JWKS with rotation) and exchanges it
//!   on-behalf-of for Graph tokens, refreshing them before they expire.
//!
//! Every request carries `Prefer: IdType="ImmutableId"` and `Prefer: outlook.timezone="UTC"`, at
//! most 4 requests per mailbox are in flight (a semaphore per mailbox), `Retry-After` (fractional
//! seconds) is honoured on 429 and 503, 503/504 without it back off exponentially with jitter, and a
//! request gives up after a bounded total time with a typed [`GraphError`].
//!
//! Our marks on Outlook items are single-value extended properties in one property set,
//! [`CRM_PROPERTY_SET`]: [`CRM_ACTIVITY_ID_PROP`], [`CRM_ACTIVITY_TYPE_PROP`] on events and
//! [`CRM_CONTACT_ID_PROP`] on contacts.

mod batch;
mod calendar;
mod client;
mod contacts;
mod error;
pub mod identity;
mod mail;
mod model;
mod subscriptions;

pub use batch::{BatchRequest, BatchResponse, MAX_BATCH};
pub use calendar::{DeltaItem, DeltaPage, DeltaPosition, DeltaRound, confirm_deleted_from};
pub use client::{GraphClient, GraphConfig, MailboxClient, StaticToken, TokenSource};
pub use contacts::{ContactWrite, UpsertOutcome};
pub use error::GraphError;
pub use mail::{MessageDeltaItem, MessageDeltaRound};
pub use model::*;
pub use subscriptions::{
    ChangeNotification, ChangeNotificationCollection, LifecycleEvent, NewSubscription, ResourceData, Subscription,
    validation_token_from_query,
};

/// Our property set GUID (fixed forever: changing it would orphan every mark already written).
pub const CRM_PROPERTY_SET: &str = "{6f1d2a7e-3c48-4b9a-8e15-2d7c9b40a3f6}";
/// Extended property holding the CRM activity id on an event.
pub const CRM_ACTIVITY_ID_PROP: &str = "String {6f1d2a7e-3c48-4b9a-8e15-2d7c9b40a3f6} Name CrmActivityId";
/// Extended property holding the activity type chosen for an event in the item pane.
pub const CRM_ACTIVITY_TYPE_PROP: &str = "String {6f1d2a7e-3c48-4b9a-8e15-2d7c9b40a3f6} Name CrmActivityType";
/// Extended property holding the CRM contact id on a contact in the "CRM" folder.
pub const CRM_CONTACT_ID_PROP: &str = "String {6f1d2a7e-3c48-4b9a-8e15-2d7c9b40a3f6} Name CrmContactId";

/// A secret (token, client secret) that never prints.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    /// The secret itself; call only where it is sent.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Secret(s.to_string())
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Secret(s)
    }
}

/// A deterministic `transactionId` for creating an event: the same parts always give the same
/// id, so a retried create (after a timeout or crash) cannot duplicate the event.
pub fn transaction_id(parts: &[&str]) -> String {
    let ns = uuid::Uuid::parse_str(CRM_PROPERTY_SET.trim_matches(|c| c == '{' || c == '}')).expect("constant GUID");
    uuid::Uuid::new_v5(&ns, parts.join("\u{1f}").as_bytes()).to_string()
}
