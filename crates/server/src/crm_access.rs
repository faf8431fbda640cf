//! The server's way into a pairing's CRM: building clients from stored (encrypted) credentials, and
//! turning the CRM client's typed errors into the pane's error codes.

use api_types::{ApiError, ErrorCode, UiLanguage};
use crmservice::{CrmAddress, CrmClient, Error as CrmError, Session};
use uuid::Uuid;

use crate::{
    error::AppError,
    state::AppState,
    store::{self, PairingRow, SecretKind},
};

/// A client for the CRM at `address` with `api_key`. All clients of this process share one HTTP client
/// (built once: TLS roots, connection pool), so a sync run reuses connections instead of building a
/// client and opening a connection each time.
pub fn client(address: &str, api_key: &str) -> Result<CrmClient, CrmError> {
    static HTTP: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    let address = CrmAddress::parse(address)?;
    let config = crmservice::ClientConfig::default();
    let http = match HTTP.get() {
        Some(http) => http.clone(),
        None => {
            let built = CrmClient::http_client(&config)?;
            HTTP.get_or_init(|| built).clone()
        }
    };
    Ok(CrmClient::with_http(
        address,
        api_key.to_owned(),
        config,
        http,
    ))
}

/// Why a pairing's CRM session cannot be had right now.
#[derive(Debug, thiserror::Error)]
pub enum NoSession {
    #[error("not logged in to the CRM")]
    NotLoggedIn,
    #[error("the pairing's API key is missing")]
    NoApiKey,
    #[error(transparent)]
    Crm(#[from] CrmError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// A session for the pairing's CRM user: the stored token, renewed with the remembered password when
/// it has expired (only with "Muista kirjautumistiedot"). The renewed token is stored again.
pub async fn session(state: &AppState, pairing: &PairingRow) -> Result<Session, NoSession> {
    let [api_key, token] = store::get_secrets(
        &state.db,
        &state.keyring,
        pairing.mailbox_id,
        [SecretKind::CrmApiKey, SecretKind::CrmToken],
    )
    .await?;
    let api_key = api_key.ok_or(NoSession::NoApiKey)?;
    let client = client(&pairing.crm_address, &api_key)?;
    if let Some(token) = token {
        return Ok(client.resume(token));
    }
    relogin(state, pairing.mailbox_id, &pairing.crm_username, &client).await
}

/// Logs in again with the remembered password (if any) and stores the new token.
pub async fn relogin(
    state: &AppState,
    mailbox_id: Uuid,
    username: &str,
    client: &CrmClient,
) -> Result<Session, NoSession> {
    let password = store::get_secret(
        &state.db,
        &state.keyring,
        mailbox_id,
        SecretKind::CrmPassword,
    )
    .await?
    .ok_or(NoSession::NotLoggedIn)?;
    let session = client.login(username, password).await?;
    store::put_secret(
        &state.db,
        &state.keyring,
        mailbox_id,
        SecretKind::CrmToken,
        session.token().await.expose(),
    )
    .await?;
    Ok(session)
}

/// The pane's error for a CRM failure. `field` attaches credential errors to the form field they concern.
pub fn api_error(e: &CrmError, lang: UiLanguage) -> AppError {
    let (code, field) = match e {
        CrmError::InvalidAddress { .. } => (ErrorCode::InvalidAddress, Some("crm_address")),
        CrmError::Unreachable { .. } | CrmError::Timeout { .. } | CrmError::Interrupted { .. } => {
            (ErrorCode::CrmUnreachable, Some("crm_address"))
        }
        CrmError::WrongApiKey => (ErrorCode::WrongApiKey, Some("api_key")),
        CrmError::WrongPassword => (ErrorCode::WrongPassword, Some("crm_password")),
        CrmError::LockedUser => (ErrorCode::Forbidden, Some("crm_username")),
        CrmError::LoginRequired => (ErrorCode::NotLoggedIn, None),
        CrmError::Forbidden { .. } => (ErrorCode::Forbidden, None),
        CrmError::Gone { .. } | CrmError::NotFound { .. } => (ErrorCode::NotFound, None),
        CrmError::RateLimited { .. } => (ErrorCode::RateLimited, None),
        CrmError::Server { .. } | CrmError::Protocol(_) | CrmError::Rejected { .. } => {
            (ErrorCode::CrmUnreachable, None)
        }
        _ => (ErrorCode::BadRequest, None),
    };
    let mut err = ApiError::new(code, lang);
    if matches!(e, CrmError::LockedUser) {
        err = err.with_message(match lang {
            UiLanguage::Fi => "CRM-käyttäjä on lukittu. Pyydä CRM:n pääkäyttäjää avaamaan tunnus.",
            UiLanguage::En => "The CRM user is locked. Ask your CRM administrator to unlock it.",
        });
    }
    if let Some(f) = field {
        err = err.with_field(f);
    }
    tracing::info!(error = %e, code = err.code.as_str(), "CRM call failed");
    AppError::Api(err)
}

impl NoSession {
    pub fn into_app(self, lang: UiLanguage) -> AppError {
        match self {
            NoSession::NotLoggedIn | NoSession::NoApiKey => {
                AppError::code(ErrorCode::NotLoggedIn, lang)
            }
            NoSession::Crm(e) => api_error(&e, lang),
            NoSession::Database(e) => AppError::Database(e),
        }
    }
}
