//! Change-notification subscriptions and the payloads Graph POSTs to us. The validation
//! handshake and the `clientState` check run in the server; the types live here.

use chrono::{DateTime, Utc};
use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::client::Req;
use crate::{GraphError, MailboxClient};

/// `POST /subscriptions` body.
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct NewSubscription {
    /// e.g. `created,updated,deleted`.
    pub change_type: String,
    pub notification_url: String,
    /// e.g. `/me/events` or `/me/calendars/{id}/events`.
    pub resource: String,
    /// At most 10,080 minutes ahead for Outlook resources.
    pub expiration_date_time: DateTime<Utc>,
    /// Our secret, echoed in every notification.
    pub client_state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lifecycle_notification_url: Option<String>,
}

impl NewSubscription {
    /// Event changes of a calendar.
    pub fn calendar_events(
        calendar_id: &str,
        notification_url: &str,
        lifecycle_url: Option<&str>,
        client_state: &str,
        expires: DateTime<Utc>,
    ) -> Self {
        NewSubscription {
            change_type: "created,updated,deleted".into(),
            notification_url: notification_url.into(),
            resource: format!("/me/calendars/{calendar_id}/events"),
            expiration_date_time: expires,
            client_state: client_state.into(),
            lifecycle_notification_url: lifecycle_url.map(str::to_string),
        }
    }
}

impl NewSubscription {
    /// New messages in a mail folder (`inbox`, `sentitems` or an id).
    pub fn mail_folder_messages(
        folder: &str,
        notification_url: &str,
        lifecycle_url: Option<&str>,
        client_state: &str,
        expires: DateTime<Utc>,
    ) -> Self {
        NewSubscription {
            change_type: "created".into(),
            notification_url: notification_url.into(),
            resource: format!("/me/mailFolders('{folder}')/messages"),
            expiration_date_time: expires,
            client_state: client_state.into(),
            lifecycle_notification_url: lifecycle_url.map(str::to_string),
        }
    }
}

/// A subscription as Graph returns it (`clientState` is not kept here on purpose).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    pub id: String,
    pub resource: String,
    pub change_type: String,
    pub notification_url: String,
    pub expiration_date_time: DateTime<Utc>,
    #[serde(default)]
    pub lifecycle_notification_url: Option<String>,
}

/// Lifecycle events.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum LifecycleEvent {
    ReauthorizationRequired,
    SubscriptionRemoved,
    Missed,
    #[serde(other)]
    Unknown,
}

/// `resourceData` of a notification.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct ResourceData {
    #[serde(rename = "@odata.type", default)]
    pub odata_type: Option<String>,
    #[serde(rename = "@odata.id", default)]
    pub odata_id: Option<String>,
    #[serde(rename = "@odata.etag", default)]
    pub etag: Option<String>,
    #[serde(default)]
    pub id: Option<String>,
}

/// One notification (change or lifecycle).
#[derive(Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ChangeNotification {
    pub subscription_id: String,
    #[serde(default)]
    pub subscription_expiration_date_time: Option<DateTime<Utc>>,
    #[serde(default)]
    pub change_type: Option<String>,
    #[serde(default)]
    pub resource: Option<String>,
    #[serde(default)]
    pub resource_data: Option<ResourceData>,
    #[serde(default)]
    pub client_state: Option<String>,
    #[serde(default)]
    pub tenant_id: Option<String>,
    #[serde(default)]
    pub lifecycle_event: Option<LifecycleEvent>,
}

impl std::fmt::Debug for ChangeNotification {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChangeNotification")
            .field("subscription_id", &self.subscription_id)
            .field("change_type", &self.change_type)
            .field("resource", &self.resource)
            .field("lifecycle_event", &self.lifecycle_event)
            .field("client_state", &self.client_state.as_ref().map(|_| "***"))
            .finish()
    }
}

impl ChangeNotification {
    /// Compares `clientState` with ours in constant time.
    pub fn client_state_matches(&self, expected: &str) -> bool {
        let Some(got) = self.client_state.as_deref() else {
            return false;
        };
        let (a, b) = (got.as_bytes(), expected.as_bytes());
        if a.len() != b.len() {
            return false;
        }
        a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

/// The body Graph POSTs to a notification URL.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct ChangeNotificationCollection {
    pub value: Vec<ChangeNotification>,
}

/// The `validationToken` of a validation request's query string (already URL-decoded), which the
/// endpoint must echo as `text/plain` within 10 seconds.
pub fn validation_token_from_query(query: &str) -> Option<String> {
    url::form_urlencoded::parse(query.trim_start_matches('?').as_bytes())
        .find(|(k, _)| k == "validationToken")
        .map(|(_, v)| v.into_owned())
}

impl MailboxClient {
    /// `POST /subscriptions` (Graph validates the notification URL before answering).
    pub async fn create_subscription(
        &self,
        s: &NewSubscription,
    ) -> Result<Subscription, GraphError> {
        let body = serde_json::to_value(s).map_err(|e| GraphError::Decode(e.to_string()))?;
        self.send_json(&Req::with_body(Method::POST, "/subscriptions", body, false))
            .await
    }

    /// Renews (`PATCH expirationDateTime`).
    pub async fn renew_subscription(
        &self,
        id: &str,
        expires: DateTime<Utc>,
    ) -> Result<Subscription, GraphError> {
        let body = serde_json::json!({ "expirationDateTime": expires });
        self.send_json(&Req::with_body(
            Method::PATCH,
            format!("/subscriptions/{id}"),
            body,
            true,
        ))
        .await
    }

    /// Deletes; an unknown subscription counts as deleted.
    pub async fn delete_subscription(&self, id: &str) -> Result<(), GraphError> {
        let mut req = Req::get(format!("/subscriptions/{id}"));
        req.method = Method::DELETE;
        let resp = self.send(&req).await?;
        match resp.status.as_u16() {
            200..=299 | 404 => Ok(()),
            _ => Err(crate::client::error_for(&resp)),
        }
    }
}
