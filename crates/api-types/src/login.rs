//! "Kirjaudu sisään" / "Kirjaudu ulos" with "Muista kirjautumistiedot".

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// `GET /api/login`, and the answer of every login/logout call.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoginState {
    /// A CRM session is active for this pairing.
    pub logged_in: bool,
    /// An encrypted credential is stored, so auto-login works.
    pub remembered: bool,
    /// The CRM user (from the pairing), to pre-fill the form.
    #[serde(default)]
    pub username: Option<String>,
    /// After five wrong passwords in a row: no login attempts until this instant.
    #[serde(default)]
    pub cooldown_until: Option<DateTime<Utc>>,
}

/// `POST /api/login`.
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
    /// "Muista kirjautumistiedot".
    pub remember: bool,
}

impl std::fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginRequest")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("remember", &self.remember)
            .finish()
    }
}
