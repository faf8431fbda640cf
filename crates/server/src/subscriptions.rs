//! Graph change-notification subscriptions for paired calendars: created on pairing, renewed before
//! they expire, removed on unpair. Each has its own random `clientState`, stored only as a SHA-256 hash.

use chrono::{Duration, Utc};
use graph::{GraphError, MailboxClient, NewSubscription};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::{state::AppState, store::PairingRow};

/// Outlook resources allow at most 10,080 minutes; we ask for a little less and renew a day ahead.
pub const LIFETIME: Duration = Duration::minutes(10_080 - 60);
pub const RENEW_BEFORE: Duration = Duration::hours(24);

pub const NOTIFICATION_PATH: &str = "/graph/notifications";
pub const LIFECYCLE_PATH: &str = "/graph/lifecycle";

pub fn hash_client_state(client_state: &str) -> Vec<u8> {
    Sha256::digest(client_state.as_bytes()).to_vec()
}

/// Constant-time comparison of a received `clientState` with a stored hash.
pub fn client_state_matches(received: &str, stored_hash: &[u8]) -> bool {
    let h = hash_client_state(received);
    h.len() == stored_hash.len()
        && h.iter()
            .zip(stored_hash)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

#[derive(Debug, thiserror::Error)]
pub enum SubscriptionError {
    #[error(transparent)]
    Graph(#[from] GraphError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Makes sure the pairing's calendar has a live subscription (creates one when there is none).
pub async fn ensure(
    state: &AppState,
    pairing: &PairingRow,
    mailbox: &MailboxClient,
) -> Result<(), SubscriptionError> {
    let live: Option<String> = sqlx::query_scalar(
        "SELECT id FROM graph_subscriptions WHERE pairing_id = $1 AND expires_at > now() + interval '1 hour'",
    )
    .bind(pairing.id)
    .fetch_optional(&state.db)
    .await?;
    if live.is_some() {
        return Ok(());
    }
    create(state, pairing, mailbox).await
}

pub async fn create(
    state: &AppState,
    pairing: &PairingRow,
    mailbox: &MailboxClient,
) -> Result<(), SubscriptionError> {
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    let client_state: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let public = state.config.public_url();
    let base = public.as_str().trim_end_matches('/');
    let request = NewSubscription::calendar_events(
        &pairing.calendar_id,
        &format!("{base}{NOTIFICATION_PATH}"),
        Some(&format!("{base}{LIFECYCLE_PATH}")),
        &client_state,
        Utc::now() + LIFETIME,
    );
    let sub = mailbox.create_subscription(&request).await?;
    sqlx::query(
        "INSERT INTO graph_subscriptions (id, pairing_id, client_state_hash, expires_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (id) DO UPDATE SET expires_at = EXCLUDED.expires_at, client_state_hash = EXCLUDED.client_state_hash",
    )
    .bind(&sub.id)
    .bind(pairing.id)
    .bind(hash_client_state(&client_state))
    .bind(sub.expiration_date_time)
    .execute(&state.db)
    .await?;
    tracing::info!(pairing_id = %pairing.id, subscription = %sub.id, "subscribed to calendar changes");
    Ok(())
}

/// Renews one subscription; a subscription Graph no longer knows is replaced by a new one.
pub async fn renew(
    state: &AppState,
    pairing: &PairingRow,
    mailbox: &MailboxClient,
    id: &str,
) -> Result<(), SubscriptionError> {
    match mailbox.renew_subscription(id, Utc::now() + LIFETIME).await {
        Ok(sub) => {
            sqlx::query("UPDATE graph_subscriptions SET expires_at = $2 WHERE id = $1")
                .bind(id)
                .bind(sub.expiration_date_time)
                .execute(&state.db)
                .await?;
            Ok(())
        }
        Err(e) if e.is_not_found() => {
            sqlx::query("DELETE FROM graph_subscriptions WHERE id = $1")
                .bind(id)
                .execute(&state.db)
                .await?;
            create(state, pairing, mailbox).await
        }
        Err(e) => Err(e.into()),
    }
}

/// Renews every subscription that expires within [`RENEW_BEFORE`]; run periodically by each replica
/// (renewing twice is harmless).
pub async fn renew_due(state: &AppState) -> Result<usize, SubscriptionError> {
    let due: Vec<(String, uuid::Uuid)> = sqlx::query_as(
        "SELECT id, pairing_id FROM graph_subscriptions WHERE expires_at < now() + $1::interval",
    )
    .bind(format!("{} hours", RENEW_BEFORE.num_hours()))
    .fetch_all(&state.db)
    .await?;
    let mut renewed = 0;
    for (id, pairing_id) in due {
        let Some(pairing) = crate::store::pairing(&state.db, pairing_id).await? else {
            continue;
        };
        let Some(mailbox) = state
            .graph
            .mailbox(&state.db, &state.keyring, pairing.mailbox_id)
            .await?
        else {
            continue;
        };
        match renew(state, &pairing, &mailbox, &id).await {
            Ok(()) => renewed += 1,
            Err(e) => {
                tracing::warn!(subscription = %id, error = %e, "renewing a subscription failed")
            }
        }
    }
    Ok(renewed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_state_matches_only_the_exact_secret() {
        let h = hash_client_state("abc123");
        assert!(client_state_matches("abc123", &h));
        assert!(!client_state_matches("abc124", &h));
        assert!(!client_state_matches("", &h));
    }
}
