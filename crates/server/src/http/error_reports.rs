//! `POST /api/error-reports`: accepted only when the user turned on "Lähetä virheilmoitukset
//! ohjelmiston kehittäjille"; secrets and item content are scrubbed before anything is stored.

use api_types::{
    ErrorCode,
    error_reports::{ErrorReport, MESSAGE_MAX},
    routes,
};
use axum::{Router, extract::State, http::StatusCode, routing::post};

use crate::{
    auth::Caller,
    error::{AppError, AppResult},
    extract::ApiJson,
    http::preferences,
    state::AppState,
};

pub fn router() -> Router<AppState> {
    Router::new().route(routes::ERROR_REPORTS, post(submit))
}

async fn submit(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(report): ApiJson<ErrorReport>,
) -> AppResult<StatusCode> {
    let prefs = preferences::load(&state.db, caller.mailbox_id).await?;
    if !prefs.send_error_reports {
        return Err(AppError::code(ErrorCode::ErrorReportsDisabled, caller.lang));
    }
    let clip = |s: &str, n: usize| scrub(s).chars().take(n).collect::<String>();
    sqlx::query(
        "INSERT INTO error_reports (mailbox_id, message, context, client_version, host) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(caller.mailbox_id)
    .bind(clip(&report.message, MESSAGE_MAX))
    .bind(report.context.as_deref().map(|s| clip(s, 200)))
    .bind(report.client_version.as_deref().map(|s| clip(s, 50)))
    .bind(report.host.as_deref().map(|s| clip(s, 100)))
    .execute(&state.db)
    .await?;
    state.metrics.error_reports.inc();
    Ok(StatusCode::ACCEPTED)
}

/// Removes what must never leave the user's hands: credentials after their keywords, bearer tokens,
/// JWT-like strings, email addresses (they identify people in item content) and long opaque ids.
pub fn scrub(text: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut redact_next = false;
    for word in text.split_whitespace() {
        let lower = word.to_ascii_lowercase();
        let secret_key = [
            "password", "salasana", "api_key", "apikey", "token", "secret", "bearer",
        ]
        .iter()
        .any(|k| lower.contains(k));
        if redact_next {
            out.push("[redacted]".into());
            redact_next = false;
            continue;
        }
        if secret_key {
            // `password=abc` keeps the key and drops the value; `password: abc` drops the next word.
            match word.split_once(['=', ':']) {
                Some((k, v)) if !v.is_empty() => out.push(format!("{k}=[redacted]")),
                _ => {
                    out.push(word.to_owned());
                    redact_next = true;
                }
            }
            continue;
        }
        if word.contains('@') && word.contains('.') {
            out.push("[email]".into());
        } else if word.split('.').count() == 3 && word.len() > 40 {
            out.push("[token]".into());
        } else if word.len() >= 24
            && word
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+/=_-".contains(c))
        {
            out.push("[id]".into());
        } else {
            out.push(word.to_owned());
        }
    }
    out.join(" ")
}

#[cfg(test)]
mod tests {
    use super::scrub;

    #[test]
    fn scrub_removes_credentials_tokens_addresses_and_long_ids() {
        let s = scrub(
            "login failed password=hunter2 for maija@esimerkki.fi Bearer eyJhbGciOi.eyJzdWIiOiIxMjM0NTY3ODkwIn0.abcdefghijklmnop \
             salasana: kissa123 event AAMkAGI2TG93AAA1234567890abcdef",
        );
        for secret in [
            "hunter2",
            "maija@esimerkki.fi",
            "eyJhbGciOi",
            "kissa123",
            "AAMkAGI2TG93AAA1234567890abcdef",
        ] {
            assert!(!s.contains(secret), "{secret} survived: {s}");
        }
        assert!(s.starts_with("login failed password=[redacted]"), "{s}");
    }

    #[test]
    fn scrub_keeps_ordinary_text() {
        assert_eq!(
            scrub("CRM did not answer in 30 s"),
            "CRM did not answer in 30 s"
        );
    }
}
