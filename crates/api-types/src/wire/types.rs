//! The wire shape of every type the pane sends or receives (see the module above for why and how).

use super::{FromJson, Json, ToJson, WireError, json, wire_enum, wire_struct};
use crate::calendars::Calendar;
use crate::demo::DemoIdentityToken;
use crate::error::{ApiError, ErrorCode, FieldError};
use crate::error_reports::ErrorReport;
use crate::items::{ItemInfo, ItemUpdate, SyncState};
use crate::login::{LoginRequest, LoginState};
use crate::messages::{
    AttachmentOutcome, MessageInfo, SaveMessageRequest, SaveMessageResponse, SavedAttachment,
};
use crate::pairing::{ForcedRemoval, LeftBehind, LeftBehindKind, PairingRequest, PairingSummary};
use crate::picklists::PicklistEntry;
use crate::preferences::{DirectionSettings, Language, Preferences, PrivateEntries, UiLanguage};
use crate::relations::{Relation, RelationKind, RelationRef, Relations};
use crate::session::{CreateSession, Session};
use crate::sync::{
    DirectionStatus, Progress, RunOutcome, SyncConflict, SyncCounts, SyncErrorEntry,
    SyncNowResponse, SyncRun, SyncStatus,
};

// --- errors ---

impl FromJson for ErrorCode {
    fn from_json(v: &Json) -> Result<Self, WireError> {
        match v {
            Json::Str(s) => Ok(ErrorCode::ALL
                .iter()
                .copied()
                .find(|c| c.as_str() == s)
                .unwrap_or(ErrorCode::Unknown)),
            _ => Err(WireError::expected("an error code")),
        }
    }

    fn placeholder() -> Self {
        ErrorCode::Unknown
    }
}

impl ToJson for ErrorCode {
    fn write_json(&self, out: &mut String) {
        json::write_str(out, self.as_str());
    }
}

wire_struct!(ApiError { code, message } default: { field, details });
wire_struct!(FieldError { field, code } default: { max });
wire_struct!(ErrorReport { message } default: { context, client_version, host });

// --- session, pairing, login ---

wire_struct!(DemoIdentityToken { identity_token });
wire_struct!(CreateSession { identity_token });
wire_struct!(Session {
    token,
    expires_at,
    email,
    display_name
});
wire_struct!(Calendar {
    id,
    name,
    is_default
});
wire_struct!(PairingRequest {
    api_key,
    crm_address,
    crm_username,
    crm_password,
    email,
    calendar_id,
});
wire_struct!(PairingSummary {
    crm_address,
    crm_username,
    email,
    calendar_id,
    calendar_name,
    paired_at,
});
wire_struct!(ForcedRemoval { left_behind });
wire_struct!(LeftBehind { kind, detail });
wire_enum!(LeftBehindKind {
    GraphSubscription = "graph_subscription",
    CrmSession = "crm_session",
    EventMarks = "event_marks",
    Other = "other",
} other: Other);
wire_struct!(LoginState { logged_in, remembered } default: { username, cooldown_until });
wire_struct!(LoginRequest {
    username,
    password,
    remember
});

// --- preferences and picklists ---

wire_enum!(UiLanguage { Fi = "fi", En = "en" });
wire_enum!(Language { Fi = "fi", En = "en", Sv = "sv" });
wire_enum!(PrivateEntries { Full = "full", Busy = "busy", Skip = "skip" });
wire_struct!(DirectionSettings {
    history_days,
    future_days,
    create_types,
    edit_delete_types
});
wire_struct!(Preferences {
    outlook_to_crm,
    crm_to_outlook,
    app_language,
    picklist_language,
    auto_sync,
    login_at_start,
    add_contacts_to_address_book,
    send_error_reports,
    private_entries,
    show_customer_relations,
    default_activity_type,
} default: { email_tracking });
wire_struct!(PicklistEntry { value, label });

// --- items, relations, messages ---

wire_enum!(RelationKind {
    Accounts = "accounts",
    Contacts = "contacts",
    Projects = "projects",
    Potentials = "potentials",
});
wire_struct!(Relation { kind, id, name } default: { detail, related });
wire_struct!(RelationRef { id, name });
wire_struct!(Relations {} default: { accounts, contacts, projects });
wire_enum!(SyncState {
    Synced = "synced",
    Pending = "pending",
    Excluded = "excluded",
    Conflict = "conflict",
    Error = "error",
});
wire_struct!(ItemInfo {
    event_id,
    activity_type,
    status,
    relations,
    sync_state,
    reason,
} default: { type_is_default, crm_activity_id, crm_url });
wire_struct!(ItemUpdate { activity_type, status } default: { relations });
wire_struct!(MessageInfo {
    message_id,
    saved,
    crm_email_id,
    crm_url,
    relations
});
wire_struct!(SaveMessageRequest {
    relations,
    include_attachments
});
wire_struct!(SaveMessageResponse { crm_email_id, crm_url, saved } default: { already_saved, attachments });
wire_struct!(SavedAttachment { name, size, outcome } default: { message });
wire_enum!(AttachmentOutcome {
    Uploaded = "uploaded",
    AlreadyUploaded = "already_uploaded",
    TooLarge = "too_large",
    NotAFile = "not_a_file",
    Failed = "failed",
});

// --- sync status ---

wire_struct!(SyncNowResponse { queued });
wire_struct!(SyncStatus { auto_sync_active, outlook_to_crm, crm_to_outlook } default: { inactive_reason });
wire_struct!(DirectionStatus { last_run, progress } default: { next_run_at });
wire_struct!(SyncRun { started_at, finished_at, outcome, counts } default: { conflicts, errors });
wire_enum!(RunOutcome {
    Running = "running",
    Ok = "ok",
    Partial = "partial",
    Failed = "failed",
    Unknown = "unknown",
} other: Unknown);
wire_struct!(SyncCounts {
    created,
    updated,
    deleted,
    skipped,
    conflicts,
    errors
});
wire_struct!(Progress { done, total });
wire_struct!(SyncConflict {
    subject,
    resolution,
    at
});
wire_struct!(SyncErrorEntry { message, at } default: { subject });

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::fmt::Debug;

    use chrono::{TimeZone, Utc};
    use proptest::prelude::*;
    use serde::Serialize;
    use serde::de::DeserializeOwned;

    use super::*;
    use crate::wire::from_str;

    /// A string that needs every kind of escaping.
    const AWKWARD: &str = "Tiimi \"Ä\" \\ palaveri\n\t\u{1}/😀 <b>&</b>";

    /// serde → this codec, this codec → serde, and this codec → itself all give back `value`.
    fn agrees<T>(value: T)
    where
        T: Serialize + DeserializeOwned + FromJson + ToJson + PartialEq + Debug,
    {
        let by_serde = serde_json::to_string(&value).unwrap();
        assert_eq!(
            from_str::<T>(&by_serde).unwrap(),
            value,
            "reading serde's {by_serde}"
        );
        let ours = value.to_json();
        assert_eq!(
            serde_json::from_str::<T>(&ours).unwrap(),
            value,
            "serde reading {ours}"
        );
        assert_eq!(from_str::<T>(&ours).unwrap(), value);
        // Same members, same values (member order may differ); serde leaves out the members marked
        // `skip_serializing_if` when empty (only in error bodies, which the pane never sends).
        let mut ours = serde_json::from_str::<serde_json::Value>(&ours).unwrap();
        let theirs = serde_json::from_str::<serde_json::Value>(&by_serde).unwrap();
        drop_skipped_empties(&mut ours, &theirs);
        assert_eq!(ours, theirs);
    }

    fn drop_skipped_empties(ours: &mut serde_json::Value, theirs: &serde_json::Value) {
        use serde_json::Value;
        match (ours, theirs) {
            (Value::Object(o), Value::Object(t)) => {
                o.retain(|k, v| {
                    t.contains_key(k)
                        || !(["details", "max"].contains(&k.as_str())
                            && (v.is_null() || v.as_array().is_some_and(Vec::is_empty)))
                });
                for (k, v) in o.iter_mut() {
                    if let Some(tv) = t.get(k) {
                        drop_skipped_empties(v, tv);
                    }
                }
            }
            (Value::Array(o), Value::Array(t)) => {
                for (ov, tv) in o.iter_mut().zip(t) {
                    drop_skipped_empties(ov, tv);
                }
            }
            _ => {}
        }
    }

    fn at(s: i64) -> chrono::DateTime<Utc> {
        Utc.timestamp_opt(1_790_000_000 + s, 123_000_000).unwrap()
    }

    fn rel(id: &str) -> RelationRef {
        RelationRef {
            id: id.into(),
            name: AWKWARD.into(),
        }
    }

    fn relations() -> Relations {
        Relations {
            accounts: vec![rel("a1"), rel("a2")],
            contacts: vec![rel("c1")],
            projects: vec![],
        }
    }

    #[test]
    fn every_error_code_and_error_body_agrees_with_serde() {
        for &code in ErrorCode::ALL {
            agrees(code);
            agrees(ApiError::new(code, UiLanguage::En).with_field("crm_address"));
        }
        agrees(ErrorCode::Unknown);
        let errors = [
            FieldError::with_max("history_days", ErrorCode::OutOfRange, 60),
            FieldError::new("email", ErrorCode::Required),
        ];
        agrees(ApiError::from_field_errors(&errors, UiLanguage::Fi).unwrap());
        agrees(ErrorReport {
            message: AWKWARD.into(),
            context: Some("pairing.save".into()),
            client_version: None,
            host: Some("browser-preview".into()),
        });
    }

    #[test]
    fn unknown_codes_and_outcomes_read_as_their_fallback_like_serde_other() {
        assert_eq!(
            from_str::<ErrorCode>("\"from_a_newer_server\"").unwrap(),
            ErrorCode::Unknown
        );
        assert_eq!(
            from_str::<RunOutcome>("\"paused\"").unwrap(),
            RunOutcome::Unknown
        );
        assert_eq!(
            from_str::<LeftBehindKind>("\"webhook\"").unwrap(),
            LeftBehindKind::Other
        );
        assert!(from_str::<SyncState>("\"maybe\"").is_err());
    }

    #[test]
    fn session_pairing_and_login_agree_with_serde() {
        agrees(DemoIdentityToken {
            identity_token: "eyJ.x.y".into(),
        });
        agrees(CreateSession {
            identity_token: AWKWARD.into(),
        });
        agrees(Session {
            token: "t".into(),
            expires_at: at(0),
            email: "maija@asiakas.fi".into(),
            display_name: AWKWARD.into(),
        });
        agrees(vec![
            Calendar {
                id: "AAMk=".into(),
                name: "Kalenteri".into(),
                is_default: true,
            },
            Calendar {
                id: "AAMl=".into(),
                name: AWKWARD.into(),
                is_default: false,
            },
        ]);
        agrees(PairingRequest {
            api_key: "k".into(),
            crm_address: "https://crm.example.fi".into(),
            crm_username: "maija".into(),
            crm_password: AWKWARD.into(),
            email: "maija@asiakas.fi".into(),
            calendar_id: "AAMk=".into(),
        });
        agrees(PairingSummary {
            crm_address: "https://crm.example.fi".into(),
            crm_username: "maija".into(),
            email: "maija@asiakas.fi".into(),
            calendar_id: "AAMk=".into(),
            calendar_name: "Kalenteri".into(),
            paired_at: at(5),
        });
        agrees(ForcedRemoval {
            left_behind: [
                LeftBehindKind::GraphSubscription,
                LeftBehindKind::CrmSession,
                LeftBehindKind::EventMarks,
                LeftBehindKind::Other,
            ]
            .into_iter()
            .map(|kind| LeftBehind {
                kind,
                detail: AWKWARD.into(),
            })
            .collect(),
        });
        agrees(LoginState {
            logged_in: true,
            remembered: false,
            username: Some("maija".into()),
            cooldown_until: Some(at(60)),
        });
        agrees(LoginState::default());
        agrees(LoginRequest {
            username: "maija".into(),
            password: AWKWARD.into(),
            remember: true,
        });
    }

    #[test]
    fn preferences_in_every_choice_agree_with_serde() {
        for (i, ((app, pick), private)) in UiLanguage::ALL
            .into_iter()
            .cycle()
            .zip(Language::ALL)
            .zip(PrivateEntries::ALL)
            .enumerate()
        {
            let mut p = Preferences::new_pairing_defaults(["meeting", "call", AWKWARD]);
            p.app_language = app;
            p.picklist_language = pick;
            p.private_entries = private;
            p.outlook_to_crm.history_days = i as u16;
            p.crm_to_outlook.edit_delete_types = BTreeSet::new();
            p.default_activity_type = (i % 2 == 0).then(|| "meeting".into());
            p.email_tracking = i == 1;
            agrees(p);
        }
        agrees(Preferences::default());
        agrees(vec![
            PicklistEntry {
                value: "meeting".into(),
                label: "Tapaaminen".into(),
            },
            PicklistEntry {
                value: "x".into(),
                label: AWKWARD.into(),
            },
        ]);
    }

    #[test]
    fn items_relations_and_messages_agree_with_serde() {
        for kind in [
            RelationKind::Accounts,
            RelationKind::Contacts,
            RelationKind::Projects,
            RelationKind::Potentials,
        ] {
            agrees(Relation {
                kind,
                id: "1".into(),
                name: AWKWARD.into(),
                detail: Some("Oy Asiakas Ab".into()),
                related: true,
            });
        }
        agrees(Relations::default());
        for (state, reason) in [
            (SyncState::Synced, None),
            (SyncState::Pending, None),
            (SyncState::Excluded, Some(AWKWARD.to_owned())),
            (SyncState::Conflict, Some("x".into())),
            (SyncState::Error, Some("y".into())),
        ] {
            agrees(ItemInfo {
                event_id: "AAMkAG=".into(),
                activity_type: Some("meeting".into()),
                type_is_default: true,
                status: None,
                relations: relations(),
                sync_state: state,
                reason,
                crm_activity_id: Some("42".into()),
                crm_url: Some("https://crm.example.fi/activities/42".into()),
            });
        }
        agrees(ItemUpdate {
            activity_type: None,
            status: Some("done".into()),
            relations: relations(),
        });
        agrees(MessageInfo {
            message_id: "m".into(),
            saved: false,
            crm_email_id: None,
            crm_url: None,
            relations: relations(),
        });
        agrees(SaveMessageRequest {
            relations: relations(),
            include_attachments: true,
        });
        agrees(SaveMessageResponse {
            crm_email_id: "e1".into(),
            crm_url: None,
            saved: true,
            already_saved: true,
            attachments: [
                AttachmentOutcome::Uploaded,
                AttachmentOutcome::AlreadyUploaded,
                AttachmentOutcome::TooLarge,
                AttachmentOutcome::NotAFile,
                AttachmentOutcome::Failed,
            ]
            .into_iter()
            .map(|outcome| SavedAttachment {
                name: AWKWARD.into(),
                size: u64::MAX,
                outcome,
                message: Some("liian suuri".into()),
            })
            .collect(),
        });
    }

    #[test]
    fn sync_status_agrees_with_serde() {
        agrees(SyncNowResponse { queued: true });
        agrees(SyncStatus::default());
        for outcome in [
            RunOutcome::Running,
            RunOutcome::Ok,
            RunOutcome::Partial,
            RunOutcome::Failed,
            RunOutcome::Unknown,
        ] {
            let run = SyncRun {
                started_at: at(0),
                finished_at: Some(at(3)),
                outcome,
                counts: SyncCounts {
                    created: 1,
                    updated: 2,
                    deleted: 3,
                    skipped: 4,
                    conflicts: 5,
                    errors: u32::MAX,
                },
                conflicts: vec![SyncConflict {
                    subject: AWKWARD.into(),
                    resolution: "CRM won".into(),
                    at: at(1),
                }],
                errors: vec![SyncErrorEntry {
                    subject: None,
                    message: AWKWARD.into(),
                    at: at(2),
                }],
            };
            agrees(SyncStatus {
                auto_sync_active: false,
                inactive_reason: Some(AWKWARD.into()),
                outlook_to_crm: DirectionStatus {
                    last_run: Some(run),
                    progress: Some(Progress { done: 3, total: 9 }),
                    next_run_at: Some(at(60)),
                },
                crm_to_outlook: DirectionStatus::default(),
            });
        }
    }

    #[test]
    fn absent_defaults_follow_serde_and_missing_required_members_are_errors() {
        // `#[serde(default)]` members and `Option`s may be absent; required ones may not.
        let min = r#"{"logged_in": true, "remembered": false}"#;
        assert_eq!(
            from_str::<LoginState>(min).unwrap(),
            serde_json::from_str::<LoginState>(min).unwrap()
        );
        let e = from_str::<LoginState>(r#"{"logged_in": true}"#).unwrap_err();
        assert_eq!(e.path, "remembered");
        let e = from_str::<ItemUpdate>(r#"{"activity_type": null, "status": 5}"#).unwrap_err();
        assert_eq!(e.path, "status");
        let e = from_str::<ItemInfo>(
            r#"{"event_id":"e","relations":{"accounts":[{"id":1}]},"sync_state":"synced"}"#,
        )
        .unwrap_err();
        assert_eq!(e.path, "relations.accounts.id");
        assert!(from_str::<Calendar>("[]").is_err());
        assert!(from_str::<SyncCounts>(r#"{"created":-1}"#).is_err());
        assert!(from_str::<Progress>(r#"{"done":1.5,"total":2}"#).is_err());
        assert!(from_str::<Progress>(r#"{"done":70000,"total":2}"#).is_ok());
        assert!(
            from_str::<DirectionSettings>(
                r#"{"history_days":70000,"future_days":1,"create_types":[],"edit_delete_types":[]}"#
            )
            .is_err()
        );
        // Members this build does not know are ignored in answers (a newer server).
        let newer = r#"{"queued": true, "position": 3}"#;
        assert!(from_str::<SyncNowResponse>(newer).unwrap().queued);
        assert_eq!(from_str::<()>("null"), Ok(()));
    }

    #[test]
    fn instants_in_the_forms_the_server_writes_are_read() {
        for (text, ms) in [
            ("2026-11-25T09:00:00Z", 1_795_597_200_000),
            ("2026-11-25T09:00:00.123Z", 1_795_597_200_123),
            ("2026-11-25T11:00:00.123456789+02:00", 1_795_597_200_123),
            ("2026-11-25T04:00:00-05:00", 1_795_597_200_000),
        ] {
            let t = crate::wire::parse_rfc3339(text).unwrap();
            assert_eq!(t.timestamp_millis(), ms, "{text}");
            assert_eq!(
                Some(t),
                chrono::DateTime::parse_from_rfc3339(text)
                    .ok()
                    .map(|t| t.to_utc())
            );
        }
        // A leap second across an offset stays a leap second, as chrono keeps it (found by the proptest).
        for leap in ["0000-01-01 00:00:60-00:01", "2016-12-31T23:59:60.5Z"] {
            assert_eq!(
                crate::wire::parse_rfc3339(leap),
                chrono::DateTime::parse_from_rfc3339(leap)
                    .ok()
                    .map(|t| t.to_utc()),
                "{leap}"
            );
        }
        for bad in [
            "2026-02-30T09:00:00Z",
            "2026-11-25T24:00:00Z",
            "2026-11-25T09:00:00",
            "2026-11-25",
        ] {
            assert_eq!(crate::wire::parse_rfc3339(bad), None, "{bad}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Any string survives our writer → serde_json, and serde_json's writer → our parser.
        #[test]
        fn strings_cross_between_this_codec_and_serde_json(s in any::<String>()) {
            let ours = s.to_json();
            prop_assert_eq!(serde_json::from_str::<String>(&ours).unwrap(), s.clone());
            let theirs = serde_json::to_string(&s).unwrap();
            prop_assert_eq!(from_str::<String>(&theirs).unwrap(), s);
        }

        /// Instants read exactly as chrono's RFC 3339 parser reads them, valid or not.
        #[test]
        fn instants_read_like_chrono_reads_them(
            date in "[0-9]{4}-[0-1][0-9]-[0-3][0-9]",
            sep in "[Tt ]",
            time in "[0-2][0-9]:[0-6][0-9]:[0-6][0-9]",
            frac in "(\\.[0-9]{0,12})?",
            zone in "[Zz]|[+-][0-2][0-9]:[0-6][0-9]|[+-][0-9]{4}|",
            noise in "|[ x:]",
        ) {
            let s = format!("{date}{sep}{time}{frac}{zone}{noise}");
            let chrono = chrono::DateTime::parse_from_rfc3339(&s).ok().map(|t| t.to_utc());
            prop_assert_eq!(crate::wire::parse_rfc3339(&s), chrono, "on {:?}", s);
        }

        /// Whatever serde_json accepts as JSON, this parser accepts; whatever it refuses, this one refuses.
        #[test]
        fn the_parser_accepts_exactly_what_serde_json_accepts(
            s in r#"[\[\]{}",:0-9eE.+\-a-z\\ ]{0,24}"#
        ) {
            let theirs = serde_json::from_str::<serde_json::Value>(&s).is_ok();
            prop_assert_eq!(crate::wire::parse(&s).is_ok(), theirs, "on {:?}", s);
        }
    }
}
