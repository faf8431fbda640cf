//! Demo mode only (`crm-server demo`): helpers for the browser-preview mode of the pane.

use serde::{Deserialize, Serialize};

/// `GET /demo/identity-token?email=`: query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DemoIdentityQuery {
    pub email: String,
}

/// `GET /demo/identity-token?email=`: an identity token for the simulated mailbox, to be posted to
/// [`crate::routes::SESSION`] exactly like Office's token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DemoIdentityToken {
    pub identity_token: String,
}
