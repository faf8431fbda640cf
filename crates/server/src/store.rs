//! Typed access to the pairing and secret rows that several handlers and the runner share.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

use crate::crypto::{Keyring, Sealed};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PairingRow {
    pub id: Uuid,
    pub mailbox_id: Uuid,
    pub crm_address: String,
    pub crm_username: String,
    pub crm_user_id: String,
    pub calendar_id: String,
    pub calendar_name: String,
    pub created_at: DateTime<Utc>,
}

const PAIRING_COLUMNS: &str = "id, mailbox_id, crm_address, crm_username, crm_user_id, calendar_id, calendar_name, created_at";

pub async fn pairing_of_mailbox(
    db: impl PgExecutor<'_>,
    mailbox_id: Uuid,
) -> sqlx::Result<Option<PairingRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {PAIRING_COLUMNS} FROM pairings WHERE mailbox_id = $1"
    )))
    .bind(mailbox_id)
    .fetch_optional(db)
    .await
}

pub async fn pairing(
    db: impl PgExecutor<'_>,
    pairing_id: Uuid,
) -> sqlx::Result<Option<PairingRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {PAIRING_COLUMNS} FROM pairings WHERE id = $1"
    )))
    .bind(pairing_id)
    .fetch_optional(db)
    .await
}

/// The signed-in address of a mailbox.
pub async fn mailbox_email(db: impl PgExecutor<'_>, mailbox_id: Uuid) -> sqlx::Result<String> {
    sqlx::query_scalar("SELECT email FROM mailboxes WHERE id = $1")
        .bind(mailbox_id)
        .fetch_one(db)
        .await
}

/// The kinds of secrets we keep, one row each per mailbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretKind {
    /// The CRM's Outlook-type API key (needed for every CRM call).
    CrmApiKey,
    /// The CRM password, kept only with "Muista kirjautumistiedot".
    CrmPassword,
    /// The current CRM user token (lets background sync run while the CRM session lasts).
    CrmToken,
    /// Graph refresh token from the on-behalf-of exchange.
    GraphRefreshToken,
}

impl SecretKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SecretKind::CrmApiKey => "crm_api_key",
            SecretKind::CrmPassword => "crm_password",
            SecretKind::CrmToken => "crm_token",
            SecretKind::GraphRefreshToken => "graph_refresh_token",
        }
    }
}

fn aad(mailbox_id: Uuid, kind: SecretKind) -> String {
    format!("{mailbox_id}/{}", kind.as_str())
}

pub async fn put_secret(
    db: impl PgExecutor<'_>,
    keyring: &Keyring,
    mailbox_id: Uuid,
    kind: SecretKind,
    plaintext: &str,
) -> sqlx::Result<()> {
    let sealed = keyring.seal(&aad(mailbox_id, kind), plaintext.as_bytes());
    sqlx::query(
        "INSERT INTO secrets (mailbox_id, kind, key_id, nonce, ciphertext) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (mailbox_id, kind) DO UPDATE
         SET key_id = EXCLUDED.key_id, nonce = EXCLUDED.nonce, ciphertext = EXCLUDED.ciphertext, updated_at = now()",
    )
    .bind(mailbox_id)
    .bind(kind.as_str())
    .bind(&sealed.key_id)
    .bind(&sealed.nonce)
    .bind(&sealed.ciphertext)
    .execute(db)
    .await?;
    Ok(())
}

/// Several secrets of one mailbox in one statement, in the order of `kinds` (each as [`get_secret`]).
pub async fn get_secrets<const N: usize>(
    db: impl PgExecutor<'_>,
    keyring: &Keyring,
    mailbox_id: Uuid,
    kinds: [SecretKind; N],
) -> sqlx::Result<[Option<String>; N]> {
    let names: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
    let rows: Vec<(String, String, Vec<u8>, Vec<u8>)> = sqlx::query_as(
        "SELECT kind, key_id, nonce, ciphertext FROM secrets WHERE mailbox_id = $1 AND kind = ANY($2)",
    )
    .bind(mailbox_id)
    .bind(&names)
    .fetch_all(db)
    .await?;
    let mut out: [Option<String>; N] = std::array::from_fn(|_| None);
    for (kind_name, key_id, nonce, ciphertext) in rows {
        let Some(i) = names.iter().position(|n| *n == kind_name) else {
            continue;
        };
        out[i] = open_sealed(
            keyring,
            mailbox_id,
            kinds[i],
            Sealed {
                key_id,
                nonce,
                ciphertext,
            },
        );
    }
    Ok(out)
}

/// The secret in clear, `None` when not stored. A secret that no longer opens (key removed from the
/// configuration, or tampered with) is logged and treated as absent, so the user is asked again.
pub async fn get_secret(
    db: impl PgExecutor<'_>,
    keyring: &Keyring,
    mailbox_id: Uuid,
    kind: SecretKind,
) -> sqlx::Result<Option<String>> {
    let row: Option<(String, Vec<u8>, Vec<u8>)> = sqlx::query_as(
        "SELECT key_id, nonce, ciphertext FROM secrets WHERE mailbox_id = $1 AND kind = $2",
    )
    .bind(mailbox_id)
    .bind(kind.as_str())
    .fetch_optional(db)
    .await?;
    let Some((key_id, nonce, ciphertext)) = row else {
        return Ok(None);
    };
    Ok(open_sealed(
        keyring,
        mailbox_id,
        kind,
        Sealed {
            key_id,
            nonce,
            ciphertext,
        },
    ))
}

fn open_sealed(
    keyring: &Keyring,
    mailbox_id: Uuid,
    kind: SecretKind,
    sealed: Sealed,
) -> Option<String> {
    match keyring.open(&aad(mailbox_id, kind), &sealed) {
        Ok(bytes) => String::from_utf8(bytes).ok(),
        Err(e) => {
            tracing::warn!(%mailbox_id, kind = kind.as_str(), error = %e, "stored secret unusable");
            None
        }
    }
}

pub async fn delete_secret(
    db: impl PgExecutor<'_>,
    mailbox_id: Uuid,
    kind: SecretKind,
) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM secrets WHERE mailbox_id = $1 AND kind = $2")
        .bind(mailbox_id)
        .bind(kind.as_str())
        .execute(db)
        .await?;
    Ok(())
}
