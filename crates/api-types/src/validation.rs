//! Pure checks of what the user typed, returning field-level errors.
//!
//! The pane calls these before sending (so the message appears next to the field at once), the server
//! calls them again on every request. They never do IO: checks that need the CRM or Graph (wrong API key,
//! calendar not found …) are the server's, with the codes in [`crate::error::ErrorCode`].

use crate::error::{ErrorCode, FieldError};
use crate::items::ItemUpdate;
use crate::login::LoginRequest;
use crate::pairing::PairingRequest;
use crate::preferences::{DirectionSettings, FUTURE_DAYS_MAX, HISTORY_DAYS_MAX, Preferences};

/// Form field names, as sent in [`crate::ApiError::field`].
pub mod fields {
    pub const API_KEY: &str = "api_key";
    pub const CRM_ADDRESS: &str = "crm_address";
    pub const CRM_USERNAME: &str = "crm_username";
    pub const CRM_PASSWORD: &str = "crm_password";
    pub const EMAIL: &str = "email";
    pub const CALENDAR_ID: &str = "calendar_id";

    pub const O2C_HISTORY_DAYS: &str = "outlook_to_crm.history_days";
    pub const O2C_FUTURE_DAYS: &str = "outlook_to_crm.future_days";
    pub const O2C_CREATE_TYPES: &str = "outlook_to_crm.create_types";
    pub const O2C_EDIT_DELETE_TYPES: &str = "outlook_to_crm.edit_delete_types";
    pub const C2O_HISTORY_DAYS: &str = "crm_to_outlook.history_days";
    pub const C2O_FUTURE_DAYS: &str = "crm_to_outlook.future_days";
    pub const C2O_CREATE_TYPES: &str = "crm_to_outlook.create_types";
    pub const C2O_EDIT_DELETE_TYPES: &str = "crm_to_outlook.edit_delete_types";
    pub const DEFAULT_ACTIVITY_TYPE: &str = "default_activity_type";

    pub const USERNAME: &str = "username";
    pub const PASSWORD: &str = "password";

    pub const ACTIVITY_TYPE: &str = "activity_type";
    pub const STATUS: &str = "status";
    pub const RELATIONS: &str = "relations";
    pub const SEARCH_QUERY: &str = "q";
}

/// Longest accepted values (characters).
pub mod limits {
    pub const API_KEY: usize = 256;
    pub const ADDRESS: usize = 2048;
    pub const USERNAME: usize = 256;
    pub const PASSWORD: usize = 1024;
    pub const EMAIL: usize = 320;
    pub const ID: usize = 1024;
    pub const SEARCH_QUERY: usize = 200;
    /// Relations per field of one item.
    pub const RELATIONS_PER_KIND: usize = 50;
}

fn required_max(errors: &mut Vec<FieldError>, field: &str, value: &str, max: usize) {
    if value.trim().is_empty() {
        errors.push(FieldError::new(field, ErrorCode::Required));
    } else if value.chars().count() > max {
        errors.push(FieldError::with_max(field, ErrorCode::TooLong, max as u32));
    }
}

/// "CRM-osoite": the user need not type the scheme. `crm.example.fi` → `https://crm.example.fi`;
/// `http://localhost:9000/` → `http://localhost:9000`. Host names are lower-cased; a path is kept.
/// Userinfo, spaces, queries, fragments and bad ports are rejected with `invalid_address`.
pub fn normalize_crm_address(input: &str) -> Result<String, ErrorCode> {
    let s = input.trim();
    if s.is_empty() {
        return Err(ErrorCode::Required);
    }
    if s.chars().count() > limits::ADDRESS {
        return Err(ErrorCode::TooLong);
    }
    let lower = s.to_ascii_lowercase();
    let (scheme, rest) = if lower.starts_with("https://") {
        ("https", &s[8..])
    } else if lower.starts_with("http://") {
        ("http", &s[7..])
    } else if s.contains("://") {
        return Err(ErrorCode::InvalidAddress);
    } else {
        ("https", s)
    };
    let rest = rest.trim_end_matches('/');
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (authority, None),
    };
    let host_ok = !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        });
    let port_ok =
        port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.parse::<u16>().is_ok_and(|n| n > 0));
    let path_ok = path.bytes().all(|b| {
        b.is_ascii_graphic() && !matches!(b, b'?' | b'#' | b'@' | b'\\' | b'"' | b'<' | b'>')
    });
    if !host_ok || !port_ok || !path_ok {
        return Err(ErrorCode::InvalidAddress);
    }
    let mut out = format!("{scheme}://{}", host.to_ascii_lowercase());
    if let Some(p) = port {
        out.push(':');
        out.push_str(p);
    }
    out.push_str(path);
    Ok(out)
}

/// A plausible email address: `local@domain.tld`, no spaces, one `@`.
pub fn is_valid_email(s: &str) -> bool {
    let s = s.trim();
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
        && s.len() <= limits::EMAIL
}

/// Step 1 before it goes to the server.
pub fn validate_pairing(req: &PairingRequest) -> Vec<FieldError> {
    let mut errors = Vec::new();
    required_max(&mut errors, fields::API_KEY, &req.api_key, limits::API_KEY);
    match normalize_crm_address(&req.crm_address) {
        Ok(_) => {}
        Err(ErrorCode::TooLong) => errors.push(FieldError::with_max(
            fields::CRM_ADDRESS,
            ErrorCode::TooLong,
            limits::ADDRESS as u32,
        )),
        Err(code) => errors.push(FieldError::new(fields::CRM_ADDRESS, code)),
    }
    required_max(
        &mut errors,
        fields::CRM_USERNAME,
        &req.crm_username,
        limits::USERNAME,
    );
    // Passwords are not trimmed: a space may be part of one. Only emptiness and length are checked.
    if req.crm_password.is_empty() {
        errors.push(FieldError::new(fields::CRM_PASSWORD, ErrorCode::Required));
    } else if req.crm_password.chars().count() > limits::PASSWORD {
        errors.push(FieldError::with_max(
            fields::CRM_PASSWORD,
            ErrorCode::TooLong,
            limits::PASSWORD as u32,
        ));
    }
    if req.email.trim().is_empty() {
        errors.push(FieldError::new(fields::EMAIL, ErrorCode::Required));
    } else if !is_valid_email(&req.email) {
        errors.push(FieldError::new(fields::EMAIL, ErrorCode::InvalidEmail));
    }
    required_max(
        &mut errors,
        fields::CALENDAR_ID,
        &req.calendar_id,
        limits::ID,
    );
    errors
}

/// Parses what the user typed into a days field: a whole number in `0..=max`.
pub fn parse_days(field: &str, text: &str, max: u16) -> Result<u16, FieldError> {
    let t = text.trim();
    if t.is_empty() {
        return Err(FieldError::new(field, ErrorCode::Required));
    }
    match t.parse::<u32>() {
        Ok(n) if n <= u32::from(max) => Ok(n as u16),
        _ => Err(FieldError::with_max(
            field,
            ErrorCode::OutOfRange,
            u32::from(max),
        )),
    }
}

/// The day limits of one direction.
fn validate_direction(
    errors: &mut Vec<FieldError>,
    d: &DirectionSettings,
    [history, future, create, edit]: [&str; 4],
    known_types: Option<&[String]>,
) {
    if d.history_days > HISTORY_DAYS_MAX {
        errors.push(FieldError::with_max(
            history,
            ErrorCode::OutOfRange,
            HISTORY_DAYS_MAX.into(),
        ));
    }
    if d.future_days > FUTURE_DAYS_MAX {
        errors.push(FieldError::with_max(
            future,
            ErrorCode::OutOfRange,
            FUTURE_DAYS_MAX.into(),
        ));
    }
    if let Some(known) = known_types {
        let unknown =
            |set: &std::collections::BTreeSet<String>| set.iter().any(|t| !known.contains(t));
        if unknown(&d.create_types) {
            errors.push(FieldError::new(create, ErrorCode::UnknownActivityType));
        }
        if unknown(&d.edit_delete_types) {
            errors.push(FieldError::new(edit, ErrorCode::UnknownActivityType));
        }
    }
}

/// Step 2. `known_types`: the CRM's activity type values, when the caller has them (the server always
/// does; the pane has them once the picklist has loaded). Empty type sets are valid ("create nothing"),
/// and so is an empty default type.
pub fn validate_preferences(p: &Preferences, known_types: Option<&[String]>) -> Vec<FieldError> {
    let mut errors = Vec::new();
    validate_direction(
        &mut errors,
        &p.outlook_to_crm,
        [
            fields::O2C_HISTORY_DAYS,
            fields::O2C_FUTURE_DAYS,
            fields::O2C_CREATE_TYPES,
            fields::O2C_EDIT_DELETE_TYPES,
        ],
        known_types,
    );
    validate_direction(
        &mut errors,
        &p.crm_to_outlook,
        [
            fields::C2O_HISTORY_DAYS,
            fields::C2O_FUTURE_DAYS,
            fields::C2O_CREATE_TYPES,
            fields::C2O_EDIT_DELETE_TYPES,
        ],
        known_types,
    );
    if let (Some(t), Some(known)) = (&p.default_activity_type, known_types)
        && !known.contains(t)
    {
        errors.push(FieldError::new(
            fields::DEFAULT_ACTIVITY_TYPE,
            ErrorCode::UnknownActivityType,
        ));
    }
    errors
}

/// "Kirjaudu sisään".
pub fn validate_login(req: &LoginRequest) -> Vec<FieldError> {
    let mut errors = Vec::new();
    required_max(
        &mut errors,
        fields::USERNAME,
        &req.username,
        limits::USERNAME,
    );
    if req.password.is_empty() {
        errors.push(FieldError::new(fields::PASSWORD, ErrorCode::Required));
    } else if req.password.chars().count() > limits::PASSWORD {
        errors.push(FieldError::with_max(
            fields::PASSWORD,
            ErrorCode::TooLong,
            limits::PASSWORD as u32,
        ));
    }
    errors
}

/// The item view. `known_types` / `known_statuses`: picklist values when available.
pub fn validate_item_update(
    u: &ItemUpdate,
    known_types: Option<&[String]>,
    known_statuses: Option<&[String]>,
) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if let (Some(t), Some(known)) = (&u.activity_type, known_types)
        && !known.contains(t)
    {
        errors.push(FieldError::new(
            fields::ACTIVITY_TYPE,
            ErrorCode::UnknownActivityType,
        ));
    }
    if let (Some(s), Some(known)) = (&u.status, known_statuses)
        && !known.contains(s)
    {
        errors.push(FieldError::new(
            fields::STATUS,
            ErrorCode::UnknownActivityStatus,
        ));
    }
    let r = &u.relations;
    if [&r.accounts, &r.contacts, &r.projects]
        .iter()
        .any(|l| l.len() > limits::RELATIONS_PER_KIND)
    {
        errors.push(FieldError::with_max(
            fields::RELATIONS,
            ErrorCode::TooLong,
            limits::RELATIONS_PER_KIND as u32,
        ));
    }
    errors
}

/// The relation search box.
pub fn validate_search_query(q: &str) -> Result<(), FieldError> {
    if q.chars().count() > limits::SEARCH_QUERY {
        Err(FieldError::with_max(
            fields::SEARCH_QUERY,
            ErrorCode::TooLong,
            limits::SEARCH_QUERY as u32,
        ))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairing() -> PairingRequest {
        PairingRequest {
            api_key: "k-123".into(),
            crm_address: "crm.example.fi".into(),
            crm_username: "maija".into(),
            crm_password: "secret".into(),
            email: "maija@example.fi".into(),
            calendar_id: "cal-1".into(),
        }
    }

    #[test]
    fn address_scheme_is_optional() {
        assert_eq!(
            normalize_crm_address("crm.example.fi").unwrap(),
            "https://crm.example.fi"
        );
        assert_eq!(
            normalize_crm_address(" HTTPS://CRM.Example.fi/ ").unwrap(),
            "https://crm.example.fi"
        );
        assert_eq!(
            normalize_crm_address("http://localhost:9000/").unwrap(),
            "http://localhost:9000"
        );
        assert_eq!(
            normalize_crm_address("crm.example.fi/tenant/a").unwrap(),
            "https://crm.example.fi/tenant/a"
        );
        assert_eq!(
            normalize_crm_address("127.0.0.1:8081").unwrap(),
            "https://127.0.0.1:8081"
        );
    }

    #[test]
    fn bad_addresses_are_rejected() {
        for bad in [
            "ftp://x.fi",
            "a b.fi",
            "user@crm.fi",
            "crm.fi:0",
            "crm.fi:99999",
            "crm.fi?x=1",
            "-crm.fi",
            "crm..fi",
            "https://",
        ] {
            assert_eq!(
                normalize_crm_address(bad),
                Err(ErrorCode::InvalidAddress),
                "{bad}"
            );
        }
        assert_eq!(normalize_crm_address("  "), Err(ErrorCode::Required));
    }

    #[test]
    fn a_complete_pairing_is_valid() {
        assert!(validate_pairing(&pairing()).is_empty());
    }

    #[test]
    fn each_missing_field_is_reported_at_its_field() {
        let errs = validate_pairing(&PairingRequest::default());
        let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "api_key",
                "crm_address",
                "crm_username",
                "crm_password",
                "email",
                "calendar_id"
            ]
        );
        assert!(errs.iter().all(|e| e.code == ErrorCode::Required));
    }

    #[test]
    fn email_must_look_like_one() {
        let mut p = pairing();
        p.email = "maija.example.fi".into();
        assert_eq!(
            validate_pairing(&p),
            vec![FieldError::new(fields::EMAIL, ErrorCode::InvalidEmail)]
        );
        for bad in ["a@b", "a@@b.fi", "a b@c.fi", "@c.fi", "a@.fi"] {
            assert!(!is_valid_email(bad), "{bad}");
        }
    }

    #[test]
    fn day_limits_are_the_guides() {
        assert_eq!(parse_days("h", "60", HISTORY_DAYS_MAX), Ok(60));
        assert_eq!(parse_days("h", " 0 ", HISTORY_DAYS_MAX), Ok(0));
        assert_eq!(
            parse_days("h", "61", HISTORY_DAYS_MAX).unwrap_err().max,
            Some(60)
        );
        assert_eq!(parse_days("f", "365", FUTURE_DAYS_MAX), Ok(365));
        assert_eq!(
            parse_days("f", "366", FUTURE_DAYS_MAX).unwrap_err().code,
            ErrorCode::OutOfRange
        );
        assert_eq!(
            parse_days("f", "-1", FUTURE_DAYS_MAX).unwrap_err().code,
            ErrorCode::OutOfRange
        );
        assert_eq!(
            parse_days("f", "1.5", FUTURE_DAYS_MAX).unwrap_err().code,
            ErrorCode::OutOfRange
        );
        assert_eq!(
            parse_days("f", "", FUTURE_DAYS_MAX).unwrap_err().code,
            ErrorCode::Required
        );
    }

    #[test]
    fn preferences_out_of_range_and_unknown_types() {
        let known = vec!["meeting".to_owned(), "call".to_owned()];
        let mut p = Preferences::new_pairing_defaults(["meeting", "call"]);
        assert!(validate_preferences(&p, Some(&known)).is_empty());
        p.outlook_to_crm.history_days = 61;
        p.crm_to_outlook.future_days = 366;
        p.crm_to_outlook.create_types.insert("party".into());
        p.default_activity_type = Some("party".into());
        let fields: Vec<_> = validate_preferences(&p, Some(&known))
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            fields,
            [
                "outlook_to_crm.history_days",
                "crm_to_outlook.future_days",
                "crm_to_outlook.create_types",
                "default_activity_type"
            ]
        );
        // Without the picklist only the limits are checked.
        assert_eq!(validate_preferences(&p, None).len(), 2);
    }

    #[test]
    fn empty_type_sets_and_empty_default_are_allowed() {
        let mut p = Preferences::default();
        p.outlook_to_crm.create_types.clear();
        p.default_activity_type = None;
        assert!(validate_preferences(&p, Some(&[])).is_empty());
    }

    #[test]
    fn login_needs_both() {
        let errs = validate_login(&LoginRequest {
            username: " ".into(),
            password: String::new(),
            remember: true,
        });
        assert_eq!(errs.len(), 2);
        assert!(
            validate_login(&LoginRequest {
                username: "u".into(),
                password: " p ".into(),
                remember: false
            })
            .is_empty()
        );
    }

    #[test]
    fn item_update_checks_picklists() {
        let u = ItemUpdate {
            activity_type: Some("x".into()),
            status: Some("y".into()),
            ..Default::default()
        };
        let errs = validate_item_update(&u, Some(&["a".into()]), Some(&["b".into()]));
        assert_eq!(errs.len(), 2);
        assert!(validate_item_update(&u, None, None).is_empty());
        assert!(validate_search_query(&"x".repeat(201)).is_err());
    }
}
