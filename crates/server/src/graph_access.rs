//! The server's way into a mailbox through Microsoft Graph: the identity client (token validation and
//! on-behalf-of exchange), the shared Graph client, and per-mailbox token sources built from the stored
//! (encrypted) refresh token and kept in memory while they are fresh.

use std::{collections::HashMap, sync::Arc};

use api_types::{ApiError, ErrorCode, UiLanguage};
use chrono::Utc;
use graph::{
    GraphClient, GraphConfig, GraphError, MailboxClient, Secret,
    identity::{IdentityClient, IdentityConfig, TokenSet, UserTokens},
};
use parking_lot::Mutex;
use secrecy::ExposeSecret;
use uuid::Uuid;

use crate::{
    config::Config,
    crypto::Keyring,
    error::AppError,
    store::{self, SecretKind},
};

/// Graph-side services, shared by handlers and the runner.
pub struct GraphAccess {
    pub identity: IdentityClient,
    pub client: GraphClient,
    tokens: Mutex<HashMap<Uuid, Arc<UserTokens>>>,
    /// A digest of the refresh token this process last read from or wrote to the database, per
    /// mailbox: [`GraphAccess::persist_rotation`] reads the stored token only when the one in memory
    /// differs from it (a refresh rotated it), not after every sync run.
    persisted: Mutex<HashMap<Uuid, [u8; 32]>>,
}

fn digest(token: &str) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    Sha256::digest(token.as_bytes()).into()
}

impl GraphAccess {
    pub fn new(config: &Config) -> Self {
        let secret = config
            .client_secret
            .as_ref()
            .map(|s| Secret::new(s.expose_secret()))
            .unwrap_or_else(|| Secret::new(""));
        let identity = IdentityClient::new(IdentityConfig::for_authority(
            config.identity_authority.as_str(),
            &config.identity_tenant,
            &config.client_id,
            secret,
        ));
        let base = config
            .graph_base_url
            .as_str()
            .trim_end_matches('/')
            .to_owned();
        Self {
            identity,
            client: GraphClient::new(GraphConfig {
                max_total_time: std::time::Duration::from_secs(config.graph_max_wait_secs),
                ..GraphConfig::new(base)
            }),
            tokens: Mutex::new(HashMap::new()),
            persisted: Mutex::new(HashMap::new()),
        }
    }

    /// Remembers fresh tokens from an on-behalf-of exchange (and stores the refresh token sealed).
    pub async fn adopt(
        &self,
        db: &sqlx::PgPool,
        keyring: &Keyring,
        mailbox_id: Uuid,
        tokens: TokenSet,
    ) -> Result<(), sqlx::Error> {
        if let Some(rt) = &tokens.refresh_token {
            store::put_secret(
                db,
                keyring,
                mailbox_id,
                SecretKind::GraphRefreshToken,
                rt.expose(),
            )
            .await?;
            self.persisted
                .lock()
                .insert(mailbox_id, digest(rt.expose()));
        }
        let source = Arc::new(UserTokens::new(self.identity.clone(), tokens));
        self.tokens.lock().insert(mailbox_id, source);
        Ok(())
    }

    /// A Graph handle for the mailbox, or `None` when we hold no usable token (the user must open the
    /// pane again so a new identity token can be exchanged).
    pub async fn mailbox(
        &self,
        db: &sqlx::PgPool,
        keyring: &Keyring,
        mailbox_id: Uuid,
    ) -> Result<Option<MailboxClient>, sqlx::Error> {
        let cached = self.tokens.lock().get(&mailbox_id).cloned();
        let source = match cached {
            Some(s) => s,
            None => {
                let Some(rt) =
                    store::get_secret(db, keyring, mailbox_id, SecretKind::GraphRefreshToken)
                        .await?
                else {
                    return Ok(None);
                };
                self.persisted.lock().insert(mailbox_id, digest(&rt));
                // An already expired access token makes the first call redeem the refresh token.
                let set = TokenSet {
                    access_token: Secret::new(""),
                    refresh_token: Some(Secret::new(rt)),
                    expires_at: Utc::now() - chrono::Duration::seconds(1),
                    scope: String::new(),
                };
                let s = Arc::new(UserTokens::new(self.identity.clone(), set));
                self.tokens.lock().insert(mailbox_id, s.clone());
                s
            }
        };
        Ok(Some(self.client.mailbox(&mailbox_id.to_string(), source)))
    }

    /// Stores the refresh token again if a refresh rotated it.
    pub async fn persist_rotation(
        &self,
        db: &sqlx::PgPool,
        keyring: &Keyring,
        mailbox_id: Uuid,
    ) -> Result<(), sqlx::Error> {
        let source = self.tokens.lock().get(&mailbox_id).cloned();
        let Some(source) = source else { return Ok(()) };
        if let Some(rt) = source.current().await.refresh_token {
            let current = digest(rt.expose());
            if self.persisted.lock().get(&mailbox_id) == Some(&current) {
                // Unchanged since this process read or stored it: nothing to do.
                return Ok(());
            }
            let stored =
                store::get_secret(db, keyring, mailbox_id, SecretKind::GraphRefreshToken).await?;
            if stored.as_deref() != Some(rt.expose()) {
                store::put_secret(
                    db,
                    keyring,
                    mailbox_id,
                    SecretKind::GraphRefreshToken,
                    rt.expose(),
                )
                .await?;
            }
            self.persisted.lock().insert(mailbox_id, current);
        }
        Ok(())
    }

    pub fn forget(&self, mailbox_id: Uuid) {
        self.tokens.lock().remove(&mailbox_id);
        self.persisted.lock().remove(&mailbox_id);
    }
}

/// The pane's error for a Graph failure.
pub fn api_error(e: &GraphError, lang: UiLanguage) -> AppError {
    tracing::info!(error = %e, "Graph call failed");
    let err = match e {
        GraphError::ConsentRequired(_) => ApiError::new(ErrorCode::Forbidden, lang).with_message(match lang {
            UiLanguage::Fi => "Lisäosalla ei ole lupaa Outlook-tiliisi. Hyväksy käyttöoikeudet ja avaa lisäosa uudelleen.",
            UiLanguage::En => "The add-in has no consent for your Outlook account. Grant the permissions and open the add-in again.",
        }),
        GraphError::ReloginRequired(_) | GraphError::Unauthorized { .. } | GraphError::Token(_) => {
            ApiError::new(ErrorCode::TokenExpired, lang)
        }
        GraphError::NotFound { .. } => ApiError::new(ErrorCode::ItemNotFound, lang),
        _ => ApiError::new(ErrorCode::GraphUnreachable, lang),
    };
    AppError::Api(err)
}
