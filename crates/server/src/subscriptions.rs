//! Graph change-notification subscriptions for paired calendars (created on pairing) and, with automatic
//! email tracking on, for the tracked mail folders (created by the tracking run, removed when tracking is
//! switched off): renewed before they expire, removed on unpair. Each has its own random `clientState`,
//! stored only as a SHA-256 hash; `resource` says what it watches (`calendar`, `inbox`, `sentitems`).

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
    ensure_for(state, pairing, mailbox, CALENDAR).await
}

/// The `resource` of the calendar's subscription.
pub const CALENDAR: &str = "calendar";

async fn ensure_for(
    state: &AppState,
    pairing: &PairingRow,
    mailbox: &MailboxClient,
    resource: &str,
) -> Result<(), SubscriptionError> {
    let live: Option<String> = sqlx::query_scalar(
        "SELECT id FROM graph_subscriptions WHERE pairing_id = $1 AND resource = $2
           AND expires_at > now() + interval '1 hour'",
    )
    .bind(pairing.id)
    .bind(resource)
    .fetch_optional(&state.db)
    .await?;
    if live.is_some() {
        return Ok(());
    }
    create_for(state, pairing, mailbox, resource).await
}

/// Makes sure each tracked mail folder has a live subscription (new mail then starts a run at once;
/// the 60 s poll stays the fallback). Costs one statement when they exist.
pub async fn ensure_mail(
    state: &AppState,
    pairing: &PairingRow,
    mailbox: &MailboxClient,
    folders: &[&str],
) -> Result<(), SubscriptionError> {
    let live: Vec<String> = sqlx::query_scalar(
        "SELECT resource FROM graph_subscriptions WHERE pairing_id = $1 AND resource <> $2
           AND expires_at > now() + interval '1 hour'",
    )
    .bind(pairing.id)
    .bind(CALENDAR)
    .fetch_all(&state.db)
    .await?;
    for folder in folders {
        if !live.iter().any(|r| r == folder) {
            create_for(state, pairing, mailbox, folder).await?;
        }
    }
    Ok(())
}

/// The pairing's mail-folder subscriptions (tracking was switched off), if any.
pub async fn mail_subscriptions(
    db: &sqlx::PgPool,
    pairing_id: uuid::Uuid,
) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT id FROM graph_subscriptions WHERE pairing_id = $1 AND resource <> $2",
    )
    .bind(pairing_id)
    .bind(CALENDAR)
    .fetch_all(db)
    .await
}

/// Deletes subscriptions at Graph (one already gone counts as deleted) and their rows.
pub async fn remove(
    state: &AppState,
    mailbox: &MailboxClient,
    ids: &[String],
) -> Result<(), SubscriptionError> {
    for id in ids {
        match mailbox.delete_subscription(id).await {
            Ok(()) => {}
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e.into()),
        }
        sqlx::query("DELETE FROM graph_subscriptions WHERE id = $1")
            .bind(id)
            .execute(&state.db)
            .await?;
    }
    Ok(())
}

/// Replaces a subscription Graph removed with a new one on the same resource.
pub async fn replace(
    state: &AppState,
    pairing: &PairingRow,
    mailbox: &MailboxClient,
    id: &str,
) -> Result<(), SubscriptionError> {
    let resource: Option<String> =
        sqlx::query_scalar("DELETE FROM graph_subscriptions WHERE id = $1 RETURNING resource")
            .bind(id)
            .fetch_optional(&state.db)
            .await?;
    create_for(
        state,
        pairing,
        mailbox,
        resource.as_deref().unwrap_or(CALENDAR),
    )
    .await
}

/// Subscribes to the pairing's calendar.
pub async fn create(
    state: &AppState,
    pairing: &PairingRow,
    mailbox: &MailboxClient,
) -> Result<(), SubscriptionError> {
    create_for(state, pairing, mailbox, CALENDAR).await
}

/// Subscribes to `resource`: [`CALENDAR`] or a mail folder.
pub async fn create_for(
    state: &AppState,
    pairing: &PairingRow,
    mailbox: &MailboxClient,
    resource: &str,
) -> Result<(), SubscriptionError> {
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    let client_state: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let public = state.config.public_url();
    let base = public.as_str().trim_end_matches('/');
    let (url, lifecycle) = (
        format!("{base}{NOTIFICATION_PATH}"),
        format!("{base}{LIFECYCLE_PATH}"),
    );
    let expires = Utc::now() + LIFETIME;
    let request = if resource == CALENDAR {
        NewSubscription::calendar_events(
            &pairing.calendar_id,
            &url,
            Some(&lifecycle),
            &client_state,
            expires,
        )
    } else {
        NewSubscription::mail_folder_messages(
            resource,
            &url,
            Some(&lifecycle),
            &client_state,
            expires,
        )
    };
    let sub = mailbox.create_subscription(&request).await?;
    sqlx::query(
        "INSERT INTO graph_subscriptions (id, pairing_id, client_state_hash, expires_at, resource) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (id) DO UPDATE SET expires_at = EXCLUDED.expires_at, client_state_hash = EXCLUDED.client_state_hash",
    )
    .bind(&sub.id)
    .bind(pairing.id)
    .bind(hash_client_state(&client_state))
    .bind(sub.expiration_date_time)
    .bind(resource)
    .execute(&state.db)
    .await?;
    tracing::info!(pairing_id = %pairing.id, subscription = %sub.id, resource, "subscribed to changes");
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
        Err(e) if e.is_not_found() => replace(state, pairing, mailbox, id).await,
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
