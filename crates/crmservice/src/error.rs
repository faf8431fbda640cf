//! The one error type of the CRM-service boundary.
//!
//! Policy: every failure the pairing screen or the sync runner must react to differently has its own
//! variant. HTTP answers map as follows: 401 on login → [`Error::WrongApiKey`] or
//! [`Error::WrongPassword`]; 403 on login → [`Error::LockedUser`]; 401 on a later call → one re-login
//! when the session remembers credentials, else [`Error::LoginRequired`]; 403 → [`Error::Forbidden`] (or
//! `LockedUser` when the message says so); 404 on a record → [`Error::Gone`], elsewhere
//! [`Error::NotFound`]; 422 → [`Error::Validation`] with field messages; 429 → [`Error::RateLimited`]
//! with `Retry-After`; 5xx → [`Error::Server`]; other 4xx → [`Error::Rejected`]. Transport failures
//! split into [`Error::Unreachable`] (DNS, refused, TLS: nothing was sent), [`Error::Timeout`] and
//! [`Error::Interrupted`] (the request may have been processed: see [`Error::outcome_unknown`]).
//! Refusals made before sending are [`Error::InvalidAddress`], [`Error::InvalidFilter`],
//! [`Error::FileTooLarge`] and [`Error::Unsupported`]; an answer that is not what the API documents is
//! [`Error::Protocol`].

use std::fmt;
use std::time::Duration;

/// Why a host could not be reached. Nothing was sent to the CRM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnreachableKind {
    /// The host name does not resolve.
    Dns,
    /// Nothing listens on that address and port.
    Refused,
    /// The TLS handshake failed (certificate, or the server does not speak TLS).
    Tls,
    Other,
}

impl fmt::Display for UnreachableKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UnreachableKind::Dns => "the host name does not resolve",
            UnreachableKind::Refused => "the connection was refused",
            UnreachableKind::Tls => "the secure connection (TLS) failed",
            UnreachableKind::Other => "the connection failed",
        })
    }
}

/// One field's validation message from a 422 answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Attribute name (`subject`), or `None` when the message is about the whole record.
    pub field: Option<String>,
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("invalid CRM address {input:?}: {reason}")]
    InvalidAddress { input: String, reason: String },

    #[error("cannot reach the CRM at {host}: {kind} ({detail})")]
    Unreachable {
        host: String,
        kind: UnreachableKind,
        detail: String,
    },

    #[error("the CRM at {host} did not answer within {after:?}")]
    Timeout { host: String, after: Duration },

    #[error("the connection to {host} broke before the answer arrived ({detail})")]
    Interrupted { host: String, detail: String },

    #[error("the CRM rejected the API key")]
    WrongApiKey,

    #[error("wrong CRM username or password")]
    WrongPassword,

    #[error("the CRM user is locked")]
    LockedUser,

    #[error("the CRM session has ended; log in again")]
    LoginRequired,

    #[error("forbidden: {message}")]
    Forbidden { message: String },

    #[error("{module} {id} does not exist (deleted)")]
    Gone { module: String, id: String },

    #[error("not found: {message}")]
    NotFound { message: String },

    #[error("the CRM refused the values: {}", fmt_fields(errors))]
    Validation { errors: Vec<FieldError> },

    #[error("the CRM refused the request ({status}): {message}")]
    Rejected { status: u16, message: String },

    #[error("the CRM is rate limiting requests (retry after {retry_after:?})")]
    RateLimited { retry_after: Option<Duration> },

    #[error("the CRM failed ({status}): {message}")]
    Server { status: u16, message: String },

    #[error("unexpected answer from the CRM: {0}")]
    Protocol(String),

    #[error("invalid filter: {0}")]
    InvalidFilter(String),

    #[error("this CRM does not support it: {0}")]
    Unsupported(String),

    #[error("the file is {size} bytes; the CRM accepts at most {max}")]
    FileTooLarge { size: usize, max: usize },
}

fn fmt_fields(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|e| match &e.field {
            Some(f) => format!("{f}: {}", e.message),
            None => e.message.clone(),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

impl Error {
    /// A record that was looked up by id no longer exists.
    pub fn is_gone(&self) -> bool {
        matches!(self, Error::Gone { .. })
    }

    /// The request may or may not have been carried out (timeout, broken connection). A create that ends
    /// like this must be looked up before it is retried (see `Session::create_activity_once`).
    pub fn outcome_unknown(&self) -> bool {
        matches!(self, Error::Timeout { .. } | Error::Interrupted { .. })
    }

    /// Worth retrying later without any change (transport trouble, 429, 5xx).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Error::Unreachable { .. }
                | Error::Timeout { .. }
                | Error::Interrupted { .. }
                | Error::RateLimited { .. }
                | Error::Server { .. }
        )
    }

    /// Classifies a transport error from reqwest.
    pub(crate) fn from_transport(host: &str, e: &reqwest::Error, timeout: Duration) -> Error {
        let detail = chain(e);
        let lower = detail.to_lowercase();
        if e.is_timeout() {
            return Error::Timeout {
                host: host.to_owned(),
                after: timeout,
            };
        }
        if e.is_connect() {
            let kind = if lower.contains("dns error")
                || lower.contains("failed to lookup address")
                || lower.contains("name or service not known")
                || lower.contains("no such host")
            {
                UnreachableKind::Dns
            } else if lower.contains("certificate")
                || lower.contains("tls")
                || lower.contains("handshake")
                || lower.contains("corrupt message")
                || lower.contains("invalidcontenttype")
            {
                UnreachableKind::Tls
            } else if lower.contains("refused") {
                UnreachableKind::Refused
            } else {
                UnreachableKind::Other
            };
            return Error::Unreachable {
                host: host.to_owned(),
                kind,
                detail,
            };
        }
        Error::Interrupted {
            host: host.to_owned(),
            detail,
        }
    }
}

/// The error and its sources as one line (reqwest's top-level message alone says little).
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        let msg = s.to_string();
        if !out.contains(&msg) {
            out.push_str(": ");
            out.push_str(&msg);
        }
        cur = s.source();
    }
    out
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
