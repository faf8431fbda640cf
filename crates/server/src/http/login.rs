//! "Kirjaudu sisään" / "Kirjaudu ulos" with "Muista kirjautumistiedot".
//!
//! Remember on: the CRM password is stored encrypted, so auto-login (Outlook start) and token renewal in
//! background sync work. Remember off: only the current CRM token is kept; when it ends, background
//! sync stops and the pane says so. Logout forgets both. Five wrong passwords in a row start a cool-down.

use api_types::{
    ErrorCode, UiLanguage,
    login::{LoginRequest, LoginState},
    routes, validation,
};
use axum::{
    Json, Router,
    extract::State,
    routing::{get, post},
};
use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use crate::{
    auth::Caller,
    crm_access,
    error::{AppError, AppResult},
    extract::ApiJson,
    state::AppState,
    store::{self, PairingRow, SecretKind},
    worker::JobQueue,
};

/// Wrong passwords in a row before the cool-down starts, and its length.
pub const MAX_FAILURES: i32 = 5;
pub const COOLDOWN: Duration = Duration::minutes(5);

pub fn router() -> Router<AppState> {
    Router::new()
        .route(routes::LOGIN, get(state_of).post(login))
        .route(routes::LOGIN_AUTO, post(auto_login))
        .route(routes::LOGOUT, post(logout))
}

async fn paired(state: &AppState, caller: &Caller) -> AppResult<PairingRow> {
    store::pairing_of_mailbox(&state.db, caller.mailbox_id)
        .await?
        .ok_or_else(|| AppError::code(ErrorCode::NotPaired, caller.lang))
}

async fn current(state: &AppState, pairing: &PairingRow) -> AppResult<LoginState> {
    let has = |kind| store::get_secret(&state.db, &state.keyring, pairing.mailbox_id, kind);
    let logged_in = has(SecretKind::CrmToken).await?.is_some();
    let remembered = has(SecretKind::CrmPassword).await?.is_some();
    let cooldown_until: Option<DateTime<Utc>> = sqlx::query_scalar(
        "SELECT cooldown_until FROM login_throttle WHERE mailbox_id = $1 AND cooldown_until > now()",
    )
    .bind(pairing.mailbox_id)
    .fetch_optional(&state.db)
    .await?
    .flatten();
    Ok(LoginState {
        logged_in,
        remembered,
        username: Some(pairing.crm_username.clone()),
        cooldown_until,
    })
}

async fn state_of(State(state): State<AppState>, caller: Caller) -> AppResult<Json<LoginState>> {
    let pairing = paired(&state, &caller).await?;
    Ok(Json(current(&state, &pairing).await?))
}

fn cooldown_error(until: DateTime<Utc>, lang: UiLanguage) -> AppError {
    let secs = (until - Utc::now()).num_seconds().max(1) as u64;
    let minutes = secs.div_ceil(60);
    let message = match lang {
        UiLanguage::Fi => {
            format!("Liian monta väärää salasanaa. Yritä uudelleen {minutes} minuutin kuluttua.")
        }
        UiLanguage::En => format!("Too many wrong passwords. Try again in {minutes} minutes."),
    };
    AppError::Throttled {
        error: api_types::ApiError::new(ErrorCode::LoginCooldown, lang).with_message(message),
        retry_after_secs: secs,
    }
}

async fn check_cooldown(state: &AppState, mailbox_id: Uuid, lang: UiLanguage) -> AppResult<()> {
    let until: Option<DateTime<Utc>> = sqlx::query_scalar(
        "SELECT cooldown_until FROM login_throttle WHERE mailbox_id = $1 AND cooldown_until > now()",
    )
    .bind(mailbox_id)
    .fetch_optional(&state.db)
    .await?
    .flatten();
    match until {
        Some(until) => Err(cooldown_error(until, lang)),
        None => Ok(()),
    }
}

/// Counts a wrong password; the fifth in a row starts the cool-down (and resets the count).
async fn record_failure(state: &AppState, mailbox_id: Uuid) -> AppResult<Option<DateTime<Utc>>> {
    let (failures,): (i32,) = sqlx::query_as(
        "INSERT INTO login_throttle (mailbox_id, failures) VALUES ($1, 1)
         ON CONFLICT (mailbox_id) DO UPDATE SET failures = login_throttle.failures + 1
         RETURNING failures",
    )
    .bind(mailbox_id)
    .fetch_one(&state.db)
    .await?;
    if failures >= MAX_FAILURES {
        let until = Utc::now() + COOLDOWN;
        sqlx::query(
            "UPDATE login_throttle SET failures = 0, cooldown_until = $2 WHERE mailbox_id = $1",
        )
        .bind(mailbox_id)
        .bind(until)
        .execute(&state.db)
        .await?;
        return Ok(Some(until));
    }
    Ok(None)
}

async fn succeeded(
    state: &AppState,
    pairing: &PairingRow,
    token: &str,
    remember: Option<&str>,
) -> AppResult<()> {
    let mut tx = state.db.begin().await?;
    sqlx::query("DELETE FROM login_throttle WHERE mailbox_id = $1")
        .bind(pairing.mailbox_id)
        .execute(&mut *tx)
        .await?;
    store::put_secret(
        &mut *tx,
        &state.keyring,
        pairing.mailbox_id,
        SecretKind::CrmToken,
        token,
    )
    .await?;
    match remember {
        Some(password) => {
            store::put_secret(
                &mut *tx,
                &state.keyring,
                pairing.mailbox_id,
                SecretKind::CrmPassword,
                password,
            )
            .await?
        }
        None => store::delete_secret(&mut *tx, pairing.mailbox_id, SecretKind::CrmPassword).await?,
    }
    crate::audit::record(
        &mut *tx,
        Some(pairing.mailbox_id),
        "user",
        "login",
        &serde_json::json!({"remember": remember.is_some()}),
    )
    .await?;
    tx.commit().await?;
    // Outlook → CRM starts right after login (the seed product: about 5 s), CRM → Outlook too.
    JobQueue::new(state.db.clone())
        .run_all_now(pairing.id)
        .await
        .map_err(AppError::internal)?;
    Ok(())
}

async fn login(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<LoginRequest>,
) -> AppResult<Json<LoginState>> {
    AppError::check(validation::validate_login(&req), caller.lang)?;
    let pairing = paired(&state, &caller).await?;
    check_cooldown(&state, pairing.mailbox_id, caller.lang).await?;
    if !req
        .username
        .trim()
        .eq_ignore_ascii_case(&pairing.crm_username)
    {
        let message = match caller.lang {
            UiLanguage::Fi => format!(
                "Kirjaudu liitetyllä CRM-käyttäjällä {}.",
                pairing.crm_username
            ),
            UiLanguage::En => format!("Log in as the paired CRM user {}.", pairing.crm_username),
        };
        return Err(AppError::Api(
            api_types::ApiError::new(ErrorCode::WrongPassword, caller.lang)
                .with_field("username")
                .with_message(message),
        ));
    }
    let api_key = store::get_secret(
        &state.db,
        &state.keyring,
        pairing.mailbox_id,
        SecretKind::CrmApiKey,
    )
    .await?
    .ok_or_else(|| AppError::code(ErrorCode::NotPaired, caller.lang))?;
    let client = crm_access::client(&pairing.crm_address, &api_key)
        .map_err(|e| crm_access::api_error(&e, caller.lang))?;
    match client
        .login(&pairing.crm_username, req.password.clone())
        .await
    {
        Ok(session) => {
            let token = session.token().await;
            let remember = req.remember.then_some(req.password.as_str());
            succeeded(&state, &pairing, token.expose(), remember).await?;
            Ok(Json(current(&state, &pairing).await?))
        }
        Err(crmservice::Error::WrongPassword) => {
            if let Some(until) = record_failure(&state, pairing.mailbox_id).await? {
                return Err(cooldown_error(until, caller.lang));
            }
            Err(AppError::field(
                ErrorCode::WrongPassword,
                caller.lang,
                "password",
            ))
        }
        Err(e) => Err(crm_access::api_error(&e, caller.lang)),
    }
}

async fn auto_login(State(state): State<AppState>, caller: Caller) -> AppResult<Json<LoginState>> {
    let pairing = paired(&state, &caller).await?;
    check_cooldown(&state, pairing.mailbox_id, caller.lang).await?;
    let password = store::get_secret(
        &state.db,
        &state.keyring,
        pairing.mailbox_id,
        SecretKind::CrmPassword,
    )
    .await?
    .ok_or_else(|| AppError::code(ErrorCode::NoRememberedCredentials, caller.lang))?;
    let api_key = store::get_secret(
        &state.db,
        &state.keyring,
        pairing.mailbox_id,
        SecretKind::CrmApiKey,
    )
    .await?
    .ok_or_else(|| AppError::code(ErrorCode::NotPaired, caller.lang))?;
    let client = crm_access::client(&pairing.crm_address, &api_key)
        .map_err(|e| crm_access::api_error(&e, caller.lang))?;
    match client.login(&pairing.crm_username, password.clone()).await {
        Ok(session) => {
            succeeded(
                &state,
                &pairing,
                session.token().await.expose(),
                Some(&password),
            )
            .await?;
            Ok(Json(current(&state, &pairing).await?))
        }
        Err(crmservice::Error::WrongPassword) => {
            // The password was changed in the CRM: the remembered one is useless now.
            store::delete_secret(&state.db, pairing.mailbox_id, SecretKind::CrmPassword).await?;
            Err(AppError::code(
                ErrorCode::NoRememberedCredentials,
                caller.lang,
            ))
        }
        Err(e) => Err(crm_access::api_error(&e, caller.lang)),
    }
}

async fn logout(State(state): State<AppState>, caller: Caller) -> AppResult<Json<LoginState>> {
    let pairing = paired(&state, &caller).await?;
    let mut tx = state.db.begin().await?;
    store::delete_secret(&mut *tx, pairing.mailbox_id, SecretKind::CrmToken).await?;
    store::delete_secret(&mut *tx, pairing.mailbox_id, SecretKind::CrmPassword).await?;
    crate::audit::record(
        &mut *tx,
        Some(pairing.mailbox_id),
        "user",
        "logout",
        &serde_json::json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(current(&state, &pairing).await?))
}
