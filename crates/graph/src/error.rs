use std::time::Duration;

/// Everything a Graph call can fail with. Callers match on the variants; messages never contain
/// tokens.
#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    /// 404: the item (or calendar, folder, subscription) does not exist.
    #[error("not found: {code}: {message}")]
    NotFound { code: String, message: String },
    /// 412: the item changed since the `changeKey` we sent with `If-Match`.
    #[error("conflict: the item changed since it was read (412 {code})")]
    Conflict { code: String },
    /// 410 on a delta or skip token: the sync state is gone; resync the window from scratch.
    #[error("delta sync state expired (410); a full resync of the window is required")]
    ResyncRequired,
    /// Still throttled (429) when the time budget ran out.
    #[error("throttled by Graph; gave up after {waited:?}")]
    Throttled { waited: Duration },
    /// Still unavailable (5xx) or unreachable when the time budget ran out.
    #[error("Graph unavailable ({last}); gave up after {waited:?}")]
    Unavailable { last: String, waited: Duration },
    /// 401 even with a fresh access token.
    #[error("unauthorized: {code}: {message}")]
    Unauthorized { code: String, message: String },
    /// The user has no Exchange Online mailbox reachable with REST.
    #[error("mailbox not enabled for REST API")]
    MailboxNotEnabled,
    /// The user (or an admin) must consent to the app again (`AADSTS65001`).
    #[error("consent required: {0}")]
    ConsentRequired(String),
    /// The refresh token or identity token can no longer be used: the user must log in again.
    #[error("re-login required: {0}")]
    ReloginRequired(String),
    /// Our app registration is wrong (bad client secret, unknown client).
    #[error("identity configuration: {0}")]
    Config(String),
    /// 400 and other 4xx: our request was wrong.
    #[error("Graph rejected the request ({status} {code}): {message}")]
    BadRequest { status: u16, code: String, message: String },
    /// Any other status.
    #[error("Graph error ({status} {code}): {message}")]
    Api { status: u16, code: String, message: String },
    /// A non-idempotent request failed in transport and was not retried.
    #[error("transport: {0}")]
    Transport(String),
    /// The answer was not what Graph documents.
    #[error("unexpected response: {0}")]
    Decode(String),
    /// The identity token was rejected.
    #[error("identity token rejected: {0}")]
    Token(#[from] crate::identity::TokenError),
}

impl GraphError {
    /// Whether this is a "gone" answer for an item (404).
    pub fn is_not_found(&self) -> bool {
        matches!(self, GraphError::NotFound { .. })
    }
}
