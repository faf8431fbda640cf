//! `POST /api/session`: exchange the Office/Microsoft identity token for our short-lived JWT.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateSession {
    /// The identity token from Office (NAA / `getAccessToken`) or, in demo mode, from
    /// [`crate::routes::DEMO_IDENTITY_TOKEN`].
    pub identity_token: String,
}

impl std::fmt::Debug for CreateSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreateSession")
            .field("identity_token", &"<redacted>")
            .finish()
    }
}

/// Our session: send `token` as `Authorization: Bearer <token>`; refresh before `expires_at`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Session {
    pub token: String,
    pub expires_at: DateTime<Utc>,
    /// The signed-in mailbox's address.
    pub email: String,
    pub display_name: String,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("token", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .field("email", &self.email)
            .field("display_name", &self.display_name)
            .finish()
    }
}
