//! The one error body of the API and its machine codes.
//!
//! Policy: every non-2xx response of the pane-facing API carries an [`ApiError`]. `code` is stable and
//! machine-readable (the pane branches on it, e.g. offers forced removal on `crm_unreachable` during
//! unpair); `message` is already in the user's language (fi/en) and safe to show as is; `field` names the
//! form field the error belongs to (one of [`crate::validation::fields`]) or is `null` when the error
//! concerns the whole action. [`ErrorCode::http_status`] is the one mapping from code to HTTP status, and
//! [`ErrorCode::message`] gives the default text in both languages, so the server needs no text of its own.

use serde::{Deserialize, Serialize};

use crate::preferences::UiLanguage;

/// The body of every error response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiError {
    pub code: ErrorCode,
    /// Localized, user-presentable text (never contains secrets or internals).
    pub message: String,
    /// The form field this error belongs to, `None` for the whole action.
    #[serde(default)]
    pub field: Option<String>,
    /// More field errors when a validation found several (the first one is also in `code`/`field`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<FieldError>,
}

impl ApiError {
    /// An error with the default message of `code` in `lang`.
    pub fn new(code: ErrorCode, lang: UiLanguage) -> Self {
        Self {
            code,
            message: code.message(lang).to_owned(),
            field: None,
            details: Vec::new(),
        }
    }

    /// Attaches the error to a form field.
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// Replaces the default message (e.g. to include a time or a name).
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = message.into();
        self
    }

    /// Turns the output of a [`crate::validation`] function into one error body, or `None` when valid.
    /// The first error becomes `code`/`field`/`message`; all of them are listed in `details`.
    pub fn from_field_errors(errors: &[FieldError], lang: UiLanguage) -> Option<Self> {
        let first = errors.first()?;
        Some(Self {
            code: first.code,
            message: first.message(lang),
            field: Some(first.field.clone()),
            details: if errors.len() > 1 {
                errors.to_vec()
            } else {
                Vec::new()
            },
        })
    }

    /// The HTTP status this error is sent with.
    pub fn http_status(&self) -> u16 {
        self.code.http_status()
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.field {
            Some(field) => write!(f, "{} ({field}): {}", self.code.as_str(), self.message),
            None => write!(f, "{}: {}", self.code.as_str(), self.message),
        }
    }
}

impl std::error::Error for ApiError {}

/// One problem with one form field, as found by [`crate::validation`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldError {
    /// One of [`crate::validation::fields`].
    pub field: String,
    pub code: ErrorCode,
    /// For `out_of_range` and `too_long`: the allowed maximum, so the message can say it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<u32>,
}

impl FieldError {
    pub fn new(field: &str, code: ErrorCode) -> Self {
        Self {
            field: field.to_owned(),
            code,
            max: None,
        }
    }

    pub fn with_max(field: &str, code: ErrorCode, max: u32) -> Self {
        Self {
            field: field.to_owned(),
            code,
            max: Some(max),
        }
    }

    /// The text shown next to the field.
    pub fn message(&self, lang: UiLanguage) -> String {
        match (self.code, self.max, lang) {
            (ErrorCode::OutOfRange, Some(max), UiLanguage::Fi) => {
                format!("Anna kokonaisluku väliltä 0–{max}.")
            }
            (ErrorCode::OutOfRange, Some(max), UiLanguage::En) => {
                format!("Enter a whole number from 0 to {max}.")
            }
            (ErrorCode::TooLong, Some(max), UiLanguage::Fi) => format!("Enintään {max} merkkiä."),
            (ErrorCode::TooLong, Some(max), UiLanguage::En) => format!("At most {max} characters."),
            _ => self.code.message(lang).to_owned(),
        }
    }
}

macro_rules! error_codes {
    ($( $(#[$doc:meta])* $variant:ident = $text:literal, $status:literal, fi: $fi:literal, en: $en:literal; )*) => {
        /// Machine-readable error codes (`snake_case` on the wire).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(rename_all = "snake_case")]
        pub enum ErrorCode {
            $( $(#[$doc])* $variant, )*
            /// A code this build does not know (a newer server); treat as a generic failure.
            #[serde(other)]
            Unknown,
        }

        impl ErrorCode {
            /// Every known code, for tests and documentation.
            pub const ALL: &'static [ErrorCode] = &[ $( ErrorCode::$variant, )* ];

            /// The wire name.
            pub fn as_str(self) -> &'static str {
                match self { $( ErrorCode::$variant => $text, )* ErrorCode::Unknown => "unknown" }
            }

            /// The HTTP status sent with this code.
            pub fn http_status(self) -> u16 {
                match self { $( ErrorCode::$variant => $status, )* ErrorCode::Unknown => 500 }
            }

            /// The default user-facing text.
            pub fn message(self, lang: UiLanguage) -> &'static str {
                // A table in variant order (`Unknown` last), indexed by language (Fi, En): one lookup
                // instead of a branch per text in the pane's WASM.
                const MESSAGES: &[[&str; 2]] = &[
                    $( [$fi, $en], )*
                    [
                        "Tapahtui odottamaton virhe. Yritä uudelleen.",
                        "Something unexpected went wrong. Please try again.",
                    ],
                ];
                MESSAGES[self as usize][lang as usize]
            }
        }
    };
}

error_codes! {
    // --- request shape and authentication ---
    /// Malformed JSON, wrong types, unknown fields, bad query string.
    BadRequest = "bad_request", 400,
        fi: "Pyyntö oli virheellinen.", en: "The request was malformed.";
    /// Body larger than the server accepts.
    PayloadTooLarge = "payload_too_large", 413,
        fi: "Pyyntö on liian suuri.", en: "The request is too large.";
    /// No, malformed or badly signed bearer token, or an identity token that failed verification.
    Unauthorized = "unauthorized", 401,
        fi: "Kirjautuminen lisäosaan vaaditaan.", en: "Please sign in to the add-in.";
    /// The bearer token has expired: refresh the session.
    TokenExpired = "token_expired", 401,
        fi: "Istunto on vanhentunut. Avaa lisäosa uudelleen.", en: "Your session has expired. Open the add-in again.";
    /// Authenticated but not allowed (e.g. another user's data).
    Forbidden = "forbidden", 403,
        fi: "Sinulla ei ole oikeutta tähän.", en: "You are not allowed to do this.";
    NotFound = "not_found", 404,
        fi: "Kohdetta ei löytynyt.", en: "Not found.";
    /// The request took longer than the server's time limit (`REQUEST_TIMEOUT_SECS`) and was stopped.
    RequestTimeout = "request_timeout", 408,
        fi: "Pyyntö kesti liian kauan. Yritä uudelleen.", en: "The request took too long. Please try again.";
    RateLimited = "rate_limited", 429,
        fi: "Liian monta pyyntöä. Odota hetki ja yritä uudelleen.", en: "Too many requests. Wait a moment and try again.";
    Internal = "internal", 500,
        fi: "Palvelussa tapahtui virhe. Yritä hetken päästä uudelleen.", en: "The service had a problem. Please try again shortly.";

    // --- field validation (sent with `field`) ---
    Required = "required", 422,
        fi: "Tämä kenttä on pakollinen.", en: "This field is required.";
    /// Days out of their limits (history 0–60, future 0–365); `FieldError::max` says which.
    OutOfRange = "out_of_range", 422,
        fi: "Arvo on sallitun alueen ulkopuolella.", en: "The value is out of the allowed range.";
    TooLong = "too_long", 422,
        fi: "Arvo on liian pitkä.", en: "The value is too long.";
    InvalidEmail = "invalid_email", 422,
        fi: "Anna kelvollinen sähköpostiosoite.", en: "Enter a valid email address.";
    /// The CRM address is not a host name or http(s) URL.
    InvalidAddress = "invalid_address", 422,
        fi: "Anna CRM:n internet-osoite, esim. crm.yritys.fi.", en: "Enter the CRM's internet address, e.g. crm.company.com.";
    /// An activity type that is not in the CRM's picklist.
    UnknownActivityType = "unknown_activity_type", 422,
        fi: "Aktiviteettityyppiä ei ole CRM:ssä.", en: "This activity type does not exist in the CRM.";
    /// An activity status that is not in the CRM's picklist.
    UnknownActivityStatus = "unknown_activity_status", 422,
        fi: "Tilaa ei ole CRM:ssä.", en: "This status does not exist in the CRM.";

    // --- pairing ---
    /// The API key is not a valid Outlook-type key of that CRM (field `api_key`).
    WrongApiKey = "wrong_api_key", 422,
        fi: "API-avain ei kelpaa. Tarkista CRM:n Asetukset → Webservice API avaimet (tyyppi Outlook).",
        en: "The API key is not valid. Check the CRM's Settings → Webservice API keys (type Outlook).";
    /// CRM user or password wrong (field `crm_password`, or `password` on login).
    WrongPassword = "wrong_password", 422,
        fi: "Käyttäjätunnus tai salasana on väärin.", en: "The user name or password is wrong.";
    /// The CRM address did not answer (field `crm_address`; without field during unpair).
    CrmUnreachable = "crm_unreachable", 502,
        fi: "CRM-palveluun ei saatu yhteyttä. Tarkista osoite tai yritä myöhemmin.",
        en: "Could not reach the CRM. Check the address or try again later.";
    /// Microsoft Graph (the mailbox) did not answer.
    GraphUnreachable = "graph_unreachable", 502,
        fi: "Outlook-postilaatikkoon ei saatu yhteyttä. Yritä myöhemmin uudelleen.",
        en: "Could not reach the Outlook mailbox. Try again later.";
    /// The email is not the signed-in mailbox (field `email`).
    EmailMismatch = "email_mismatch", 422,
        fi: "Sähköpostiosoite ei ole tämän Outlook-tilin osoite.", en: "The email address is not this Outlook account's address.";
    /// The chosen calendar does not exist in the mailbox (field `calendar_id`).
    CalendarNotFound = "calendar_not_found", 422,
        fi: "Valittua kalenteria ei löydy postilaatikosta.", en: "The chosen calendar was not found in the mailbox.";
    /// The mailbox already has a pairing: unpair first.
    AlreadyPaired = "already_paired", 409,
        fi: "Tili on jo liitetty CRM:ään. Pura vanha synkronointipari ensin.",
        en: "This account is already paired with a CRM. Unpair the old sync pair first.";
    /// No pairing yet (GET /api/pairing, and everything that needs one).
    NotPaired = "not_paired", 404,
        fi: "Tiliä ei ole vielä liitetty CRM:ään. Täytä Asetukset.", en: "This account is not paired with a CRM yet. Fill in Preferences.";
    /// Unpair could not finish because CRM or Graph failed; the pane offers forced removal.
    UnpairFailed = "unpair_failed", 502,
        fi: "Synkronointiparin purkaminen ei onnistunut.", en: "Unpairing did not succeed.";

    // --- login ---
    /// Too many wrong passwords: wait until `LoginState::cooldown_until`.
    LoginCooldown = "login_cooldown", 429,
        fi: "Liian monta väärää salasanaa. Odota hetki ennen uutta yritystä.",
        en: "Too many wrong passwords. Wait a while before trying again.";
    /// The action needs a CRM login (sync now, item save …).
    NotLoggedIn = "not_logged_in", 409,
        fi: "Kirjaudu ensin sisään CRM:ään.", en: "Log in to the CRM first.";
    /// Auto-login asked but nothing is remembered.
    NoRememberedCredentials = "no_remembered_credentials", 409,
        fi: "Kirjautumistietoja ei ole muistettu. Kirjaudu sisään.", en: "No remembered credentials. Please log in.";

    // --- items, messages, sync, reports ---
    /// The Outlook item is not in the mailbox (or not yet saved).
    ItemNotFound = "item_not_found", 404,
        fi: "Kohdetta ei löytynyt Outlookista. Tallenna merkintä ensin.", en: "The item was not found in Outlook. Save it first.";
    /// A sync run for this pairing is already in progress; the request was merged into it.
    SyncInProgress = "sync_in_progress", 409,
        fi: "Synkronointi on jo käynnissä.", en: "A sync is already running.";
    /// The user has turned error reports off.
    ErrorReportsDisabled = "error_reports_disabled", 403,
        fi: "Virheilmoitusten lähetys on poistettu käytöstä asetuksista.", en: "Sending error reports is turned off in Preferences.";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_shape_is_code_message_field() {
        let e = ApiError::new(ErrorCode::WrongApiKey, UiLanguage::En).with_field("api_key");
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["code"], "wrong_api_key");
        assert_eq!(v["field"], "api_key");
        assert!(v["message"].as_str().unwrap().contains("API key"));
        assert!(v.get("details").is_none(), "empty details are omitted");
        let null_field =
            serde_json::to_value(ApiError::new(ErrorCode::Internal, UiLanguage::Fi)).unwrap();
        assert!(null_field["field"].is_null());
    }

    #[test]
    fn wire_names_match_serde() {
        for code in ErrorCode::ALL {
            let json = serde_json::to_value(code).unwrap();
            assert_eq!(json, code.as_str());
            assert_eq!(serde_json::from_value::<ErrorCode>(json).unwrap(), *code);
            assert!((400..600).contains(&code.http_status()));
            assert_ne!(code.message(UiLanguage::Fi), code.message(UiLanguage::En));
        }
        // The message table is in variant order: spot-check both ends and a middle code.
        assert_eq!(
            ErrorCode::BadRequest.message(UiLanguage::Fi),
            "Pyyntö oli virheellinen."
        );
        assert_eq!(ErrorCode::NotFound.message(UiLanguage::En), "Not found.");
        assert_eq!(
            ErrorCode::Unknown.message(UiLanguage::En),
            "Something unexpected went wrong. Please try again."
        );
    }

    #[test]
    fn unknown_codes_do_not_break_the_pane() {
        let e: ApiError =
            serde_json::from_str(r#"{"code":"brand_new","message":"x","field":null}"#).unwrap();
        assert_eq!(e.code, ErrorCode::Unknown);
    }

    #[test]
    fn field_errors_fold_into_one_body() {
        let errs = vec![
            FieldError::with_max("outlook_to_crm.history_days", ErrorCode::OutOfRange, 60),
            FieldError::new("default_activity_type", ErrorCode::UnknownActivityType),
        ];
        let e = ApiError::from_field_errors(&errs, UiLanguage::Fi).unwrap();
        assert_eq!(e.field.as_deref(), Some("outlook_to_crm.history_days"));
        assert_eq!(e.message, "Anna kokonaisluku väliltä 0–60.");
        assert_eq!(e.details.len(), 2);
        assert_eq!(e.http_status(), 422);
        assert!(ApiError::from_field_errors(&[], UiLanguage::Fi).is_none());
    }
}
