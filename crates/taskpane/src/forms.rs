//! Form state as plain structs, so the logic is tested natively (`cargo test -p taskpane`). The views
//! hold one `RwSignal<Form>` each and only render and forward events.
//!
//! Forms keep what the user typed: a failed save never resets them, errors are kept beside them in
//! [`FormErrors`].

use std::collections::BTreeSet;

use api_types::error::{ApiError, ErrorCode, FieldError};
use api_types::items::{ItemInfo, ItemUpdate};
use api_types::login::LoginRequest;
use api_types::pairing::PairingRequest;
use api_types::preferences::{
    DirectionSettings, FUTURE_DAYS_MAX, HISTORY_DAYS_MAX, Language, Preferences, PrivateEntries,
    UiLanguage,
};
use api_types::relations::{Relation, RelationKind, RelationRef, Relations};
use api_types::validation::{self, fields};

/// One error message, either found locally (rendered in the current language, so it switches with the
/// UI) or sent by the server (already localized).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Msg {
    Local(FieldError),
    Server(String),
}

impl Msg {
    pub fn text(&self, lang: UiLanguage) -> String {
        match self {
            Msg::Local(e) => e.message(lang),
            Msg::Server(s) => s.clone(),
        }
    }
}

/// The messages of a form's fields by field name: a handful at most, so a list, not a map (a `BTreeMap`
/// here was the pane's only one and cost its own copy of the B-tree code in the WASM).
#[derive(Debug, Clone, Default)]
pub struct FieldMsgs(Vec<(String, Msg)>);

impl FieldMsgs {
    pub fn get(&self, name: &str) -> Option<&Msg> {
        self.0.iter().find(|(f, _)| f == name).map(|(_, m)| m)
    }

    pub fn contains_key(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Sets the message of `name`, replacing an earlier one.
    pub fn insert(&mut self, name: String, msg: Msg) {
        match self.0.iter_mut().find(|(f, _)| *f == name) {
            Some((_, m)) => *m = msg,
            None => self.0.push((name, msg)),
        }
    }

    /// Sets the message of `name` unless it has one.
    pub fn insert_if_absent(&mut self, name: &str, msg: impl FnOnce() -> Msg) {
        if !self.contains_key(name) {
            self.0.push((name.to_owned(), msg()));
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }
}

/// Equal when the same fields have the same messages, in any order (as a map would compare).
impl PartialEq for FieldMsgs {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.0.iter().all(|(f, m)| other.get(f) == Some(m))
    }
}

impl Eq for FieldMsgs {}

/// Errors of one form: per field, plus one for the whole action (shown next to its button).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FormErrors {
    pub fields: FieldMsgs,
    pub action: Option<Msg>,
    /// The code of the action-level error, for the views that branch on it (forced removal).
    pub action_code: Option<ErrorCode>,
}

impl FormErrors {
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.action.is_none()
    }

    pub fn from_local(errors: &[FieldError]) -> Self {
        let mut out = Self::default();
        for e in errors {
            out.fields
                .insert_if_absent(&e.field, || Msg::Local(e.clone()));
        }
        out
    }

    /// Server errors: a field error goes next to its field (when the form has it), anything else next to
    /// the action's button.
    pub fn from_api(err: &ApiError, form_fields: &[&str]) -> Self {
        let mut out = Self::default();
        for d in &err.details {
            if form_fields.contains(&d.field.as_str()) {
                out.fields.insert(d.field.clone(), Msg::Local(d.clone()));
            }
        }
        match err.field.as_deref() {
            Some(f) if form_fields.contains(&f) => {
                out.fields
                    .insert(f.to_owned(), Msg::Server(err.message.clone()));
            }
            _ => {
                out.action = Some(Msg::Server(err.message.clone()));
                out.action_code = Some(err.code);
            }
        }
        out
    }

    pub fn field(&self, name: &str, lang: UiLanguage) -> Option<String> {
        self.fields.get(name).map(|m| m.text(lang))
    }

    pub fn action_text(&self, lang: UiLanguage) -> Option<String> {
        self.action.as_ref().map(|m| m.text(lang))
    }

    /// The first field in form order that has an error (focus goes there).
    pub fn first_field<'a>(&self, order: &[&'a str]) -> Option<&'a str> {
        order.iter().copied().find(|f| self.fields.contains_key(f))
    }
}

// ---------------------------------------------------------------------------------------------------
// Preferences step 1

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PairingForm {
    pub api_key: String,
    pub crm_address: String,
    pub crm_username: String,
    pub crm_password: String,
    pub email: String,
    pub calendar_id: String,
}

impl PairingForm {
    pub const FIELDS: [&'static str; 6] = [
        fields::API_KEY,
        fields::CRM_ADDRESS,
        fields::CRM_USERNAME,
        fields::CRM_PASSWORD,
        fields::EMAIL,
        fields::CALENDAR_ID,
    ];

    /// The request to send, or the errors to show. Text fields are trimmed (not the password).
    pub fn to_request(&self) -> Result<PairingRequest, FormErrors> {
        let req = PairingRequest {
            api_key: self.api_key.trim().to_owned(),
            crm_address: self.crm_address.trim().to_owned(),
            crm_username: self.crm_username.trim().to_owned(),
            crm_password: self.crm_password.clone(),
            email: self.email.trim().to_owned(),
            calendar_id: self.calendar_id.clone(),
        };
        let errors = validation::validate_pairing(&req);
        if errors.is_empty() {
            Ok(req)
        } else {
            Err(FormErrors::from_local(&errors))
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// Preferences step 2

/// One direction as typed: the day fields stay text until saved, so "61" can be shown with its error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectionForm {
    pub history_days: String,
    pub future_days: String,
    /// Ticked activity types (lists, not sets, while edited: B-tree removal is WASM size the pane need
    /// not carry; they become the preferences' sets when saved).
    pub create_types: Vec<String>,
    pub edit_delete_types: Vec<String>,
}

impl DirectionForm {
    pub fn from_settings(d: &DirectionSettings) -> Self {
        Self {
            history_days: d.history_days.to_string(),
            future_days: d.future_days.to_string(),
            create_types: d.create_types.iter().cloned().collect(),
            edit_delete_types: d.edit_delete_types.iter().cloned().collect(),
        }
    }
}

/// Ticks `value` in a list of ticked types (once).
fn tick(types: &mut Vec<String>, value: &str) {
    if !types.iter().any(|t| t == value) {
        types.push(value.to_owned());
    }
}

/// The ticked types as the preferences' set.
fn type_set(types: &[String]) -> BTreeSet<String> {
    let mut set = BTreeSet::new();
    for t in types {
        set.insert(t.clone());
    }
    set
}

/// Which direction a field of [`SettingsForm`] belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    OutlookToCrm,
    CrmToOutlook,
}

impl Dir {
    /// Field names in the order of the form: history, future, create, edit/delete.
    pub fn fields(self) -> [&'static str; 4] {
        match self {
            Dir::OutlookToCrm => [
                fields::O2C_HISTORY_DAYS,
                fields::O2C_FUTURE_DAYS,
                fields::O2C_CREATE_TYPES,
                fields::O2C_EDIT_DELETE_TYPES,
            ],
            Dir::CrmToOutlook => [
                fields::C2O_HISTORY_DAYS,
                fields::C2O_FUTURE_DAYS,
                fields::C2O_CREATE_TYPES,
                fields::C2O_EDIT_DELETE_TYPES,
            ],
        }
    }
}

/// Which type list of a direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypeList {
    Create,
    EditDelete,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsForm {
    pub outlook_to_crm: DirectionForm,
    pub crm_to_outlook: DirectionForm,
    pub app_language: UiLanguage,
    pub picklist_language: Language,
    pub auto_sync: bool,
    pub login_at_start: bool,
    pub add_contacts_to_address_book: bool,
    pub send_error_reports: bool,
    pub private_entries: PrivateEntries,
    pub show_customer_relations: bool,
    /// Empty string = the empty choice.
    pub default_activity_type: String,
    pub email_tracking: bool,
}

impl SettingsForm {
    pub const FIELDS: [&'static str; 9] = [
        fields::O2C_HISTORY_DAYS,
        fields::O2C_FUTURE_DAYS,
        fields::O2C_CREATE_TYPES,
        fields::O2C_EDIT_DELETE_TYPES,
        fields::C2O_HISTORY_DAYS,
        fields::C2O_FUTURE_DAYS,
        fields::C2O_CREATE_TYPES,
        fields::C2O_EDIT_DELETE_TYPES,
        fields::DEFAULT_ACTIVITY_TYPE,
    ];

    pub fn from_prefs(p: &Preferences) -> Self {
        Self {
            outlook_to_crm: DirectionForm::from_settings(&p.outlook_to_crm),
            crm_to_outlook: DirectionForm::from_settings(&p.crm_to_outlook),
            app_language: p.app_language,
            picklist_language: p.picklist_language,
            auto_sync: p.auto_sync,
            login_at_start: p.login_at_start,
            add_contacts_to_address_book: p.add_contacts_to_address_book,
            send_error_reports: p.send_error_reports,
            private_entries: p.private_entries,
            show_customer_relations: p.show_customer_relations,
            default_activity_type: p.default_activity_type.clone().unwrap_or_default(),
            email_tracking: p.email_tracking,
        }
    }

    pub fn dir(&self, d: Dir) -> &DirectionForm {
        match d {
            Dir::OutlookToCrm => &self.outlook_to_crm,
            Dir::CrmToOutlook => &self.crm_to_outlook,
        }
    }

    pub fn dir_mut(&mut self, d: Dir) -> &mut DirectionForm {
        match d {
            Dir::OutlookToCrm => &mut self.outlook_to_crm,
            Dir::CrmToOutlook => &mut self.crm_to_outlook,
        }
    }

    pub fn types(&self, d: Dir, list: TypeList) -> &[String] {
        match list {
            TypeList::Create => &self.dir(d).create_types,
            TypeList::EditDelete => &self.dir(d).edit_delete_types,
        }
    }

    /// Ticks or unticks one activity type in one list.
    pub fn toggle_type(&mut self, d: Dir, list: TypeList, value: &str, on: bool) {
        let dir = self.dir_mut(d);
        let set = match list {
            TypeList::Create => &mut dir.create_types,
            TypeList::EditDelete => &mut dir.edit_delete_types,
        };
        if on {
            tick(set, value);
        } else {
            set.retain(|t| t != value);
        }
    }

    /// "All" / "none" for one list.
    pub fn set_all_types<'a>(
        &mut self,
        d: Dir,
        list: TypeList,
        values: impl IntoIterator<Item = &'a str>,
    ) {
        let mut set: Vec<String> = Vec::new();
        for v in values {
            tick(&mut set, v);
        }
        let dir = self.dir_mut(d);
        match list {
            TypeList::Create => dir.create_types = set,
            TypeList::EditDelete => dir.edit_delete_types = set,
        }
    }

    fn direction(d: &DirectionForm, dir: Dir, errors: &mut Vec<FieldError>) -> DirectionSettings {
        let [h, f, _, _] = dir.fields();
        let history_days = validation::parse_days(h, &d.history_days, HISTORY_DAYS_MAX)
            .unwrap_or_else(|e| {
                errors.push(e);
                0
            });
        let future_days = validation::parse_days(f, &d.future_days, FUTURE_DAYS_MAX)
            .unwrap_or_else(|e| {
                errors.push(e);
                0
            });
        DirectionSettings {
            history_days,
            future_days,
            create_types: type_set(&d.create_types),
            edit_delete_types: type_set(&d.edit_delete_types),
        }
    }

    /// The preferences to send, or the errors to show. `known_types`: the loaded picklist values.
    pub fn to_prefs(&self, known_types: Option<&[String]>) -> Result<Preferences, FormErrors> {
        let mut errors = Vec::new();
        let prefs = Preferences {
            outlook_to_crm: Self::direction(&self.outlook_to_crm, Dir::OutlookToCrm, &mut errors),
            crm_to_outlook: Self::direction(&self.crm_to_outlook, Dir::CrmToOutlook, &mut errors),
            app_language: self.app_language,
            picklist_language: self.picklist_language,
            auto_sync: self.auto_sync,
            login_at_start: self.login_at_start,
            add_contacts_to_address_book: self.add_contacts_to_address_book,
            send_error_reports: self.send_error_reports,
            private_entries: self.private_entries,
            show_customer_relations: self.show_customer_relations,
            default_activity_type: Some(self.default_activity_type.trim().to_owned())
                .filter(|s| !s.is_empty()),
            email_tracking: self.email_tracking,
        };
        // Range errors were found while parsing; the rest (unknown types) by the shared validation.
        errors.extend(
            validation::validate_preferences(&prefs, known_types)
                .into_iter()
                .filter(|e| e.code != ErrorCode::OutOfRange),
        );
        if errors.is_empty() {
            Ok(prefs)
        } else {
            Err(FormErrors::from_local(&errors))
        }
    }

    /// The guide's warnings that apply to the current choices (shown, not blocking).
    pub fn warnings(&self) -> Vec<Warning> {
        let mut w = Vec::new();
        if self.default_activity_type.trim().is_empty() {
            w.push(Warning::EmptyDefaultType);
        }
        if self.outlook_to_crm.create_types.is_empty()
            || self.crm_to_outlook.create_types.is_empty()
        {
            w.push(Warning::NothingCreated);
        }
        w
    }
}

/// Consequences of a setting that the user should see before saving.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Warning {
    /// "Oletusaktiviteettityyppi" empty: Outlook entries do not go to the CRM until a type is chosen.
    EmptyDefaultType,
    /// A "Luo uusia" list is empty: nothing new is created in that direction.
    NothingCreated,
}

// ---------------------------------------------------------------------------------------------------
// Login

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoginForm {
    pub username: String,
    pub password: String,
    pub remember: bool,
}

impl LoginForm {
    pub const FIELDS: [&'static str; 2] = [fields::USERNAME, fields::PASSWORD];

    pub fn to_request(&self) -> Result<LoginRequest, FormErrors> {
        let req = LoginRequest {
            username: self.username.trim().to_owned(),
            password: self.password.clone(),
            remember: self.remember,
        };
        let errors = validation::validate_login(&req);
        if errors.is_empty() {
            Ok(req)
        } else {
            Err(FormErrors::from_local(&errors))
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// Item view

/// The three relation fields of the item view.
pub const RELATION_KINDS: [RelationKind; 3] = [
    RelationKind::Accounts,
    RelationKind::Contacts,
    RelationKind::Projects,
];

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ItemForm {
    /// Empty = no type chosen.
    pub activity_type: String,
    pub status: String,
    pub relations: Relations,
    pub include_attachments: bool,
}

impl ItemForm {
    pub const FIELDS: [&'static str; 3] =
        [fields::ACTIVITY_TYPE, fields::STATUS, fields::RELATIONS];

    pub fn from_info(info: &ItemInfo) -> Self {
        Self {
            activity_type: info.activity_type.clone().unwrap_or_default(),
            status: info.status.clone().unwrap_or_default(),
            relations: info.relations.clone(),
            include_attachments: false,
        }
    }

    /// Adds a chosen entity to its field; a second pick of the same entity is ignored.
    pub fn add_relation(&mut self, r: &Relation) -> bool {
        let Some(list) = self.relations.list_mut(r.kind) else {
            return false;
        };
        if list.iter().any(|x| x.id == r.id) {
            return false;
        }
        list.push(RelationRef {
            id: r.id.clone(),
            name: r.name.clone(),
        });
        true
    }

    pub fn remove_relation(&mut self, kind: RelationKind, id: &str) {
        if let Some(list) = self.relations.list_mut(kind) {
            list.retain(|x| x.id != id);
        }
    }

    pub fn to_update(
        &self,
        known_types: Option<&[String]>,
        known_statuses: Option<&[String]>,
    ) -> Result<ItemUpdate, FormErrors> {
        let nonempty = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        let u = ItemUpdate {
            activity_type: nonempty(&self.activity_type),
            status: nonempty(&self.status),
            relations: self.relations.clone(),
        };
        let errors = validation::validate_item_update(&u, known_types, known_statuses);
        if errors.is_empty() {
            Ok(u)
        } else {
            Err(FormErrors::from_local(&errors))
        }
    }
}

/// Search hits for one relation field, minus what is already chosen; related suggestions first.
pub fn visible_hits(hits: &[Relation], chosen: &[RelationRef]) -> Vec<Relation> {
    let out: Vec<Relation> = hits
        .iter()
        .filter(|h| !chosen.iter().any(|c| c.id == h.id))
        .cloned()
        .collect();
    // Related first, each group in the server's order (a stable partition; no sort code in the WASM).
    let (mut related, other): (Vec<Relation>, Vec<Relation>) =
        out.into_iter().partition(|h| h.related);
    related.extend(other);
    related
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filled_pairing() -> PairingForm {
        PairingForm {
            api_key: " key ".into(),
            crm_address: "crm.example.fi".into(),
            crm_username: "maija".into(),
            crm_password: " pw ".into(),
            email: "maija@example.fi".into(),
            calendar_id: "cal".into(),
        }
    }

    #[test]
    fn pairing_form_trims_but_keeps_the_password() {
        let req = filled_pairing().to_request().unwrap();
        assert_eq!(req.api_key, "key");
        assert_eq!(req.crm_password, " pw ");
    }

    #[test]
    fn pairing_form_errors_land_on_their_fields_and_the_form_is_kept() {
        let mut f = filled_pairing();
        f.email = "not-an-address".into();
        f.crm_address = "bad address".into();
        let before = f.clone();
        let errs = f.to_request().unwrap_err();
        assert_eq!(f, before, "input is kept");
        assert_eq!(
            errs.first_field(&PairingForm::FIELDS),
            Some(fields::CRM_ADDRESS)
        );
        assert!(
            errs.field(fields::EMAIL, UiLanguage::Fi)
                .unwrap()
                .contains("sähköpostiosoite")
        );
        assert!(
            errs.field(fields::EMAIL, UiLanguage::En)
                .unwrap()
                .contains("email address")
        );
        assert!(errs.action.is_none());
    }

    #[test]
    fn server_errors_go_next_to_their_field_or_the_button() {
        let wrong_pw = ApiError::new(ErrorCode::WrongPassword, UiLanguage::Fi)
            .with_field(fields::CRM_PASSWORD);
        let e = FormErrors::from_api(&wrong_pw, &PairingForm::FIELDS);
        assert_eq!(
            e.field(fields::CRM_PASSWORD, UiLanguage::Fi).as_deref(),
            Some(wrong_pw.message.as_str())
        );
        assert!(e.action.is_none());

        let paired = ApiError::new(ErrorCode::AlreadyPaired, UiLanguage::En);
        let e = FormErrors::from_api(&paired, &PairingForm::FIELDS);
        assert!(e.fields.is_empty());
        assert_eq!(e.action_code, Some(ErrorCode::AlreadyPaired));

        // A field this form does not have becomes an action error instead of disappearing.
        let odd = ApiError::new(ErrorCode::Required, UiLanguage::En).with_field("elsewhere");
        assert!(
            FormErrors::from_api(&odd, &PairingForm::FIELDS)
                .action
                .is_some()
        );
    }

    #[test]
    fn settings_round_trip_and_limits() {
        let prefs = Preferences::new_pairing_defaults(["meeting", "call"]);
        let form = SettingsForm::from_prefs(&prefs);
        assert_eq!(form.to_prefs(None).unwrap(), prefs);

        let mut bad = form.clone();
        bad.outlook_to_crm.history_days = "61".into();
        bad.crm_to_outlook.future_days = "abc".into();
        let errs = bad.to_prefs(None).unwrap_err();
        assert_eq!(
            errs.field(fields::O2C_HISTORY_DAYS, UiLanguage::Fi)
                .as_deref(),
            Some("Anna kokonaisluku väliltä 0–60.")
        );
        assert_eq!(
            errs.field(fields::C2O_FUTURE_DAYS, UiLanguage::En)
                .as_deref(),
            Some("Enter a whole number from 0 to 365.")
        );
        assert_eq!(errs.fields.len(), 2);
    }

    #[test]
    fn type_lists_and_default_type() {
        let known = vec!["meeting".to_owned(), "call".to_owned()];
        let mut form =
            SettingsForm::from_prefs(&Preferences::new_pairing_defaults(["meeting", "call"]));
        form.toggle_type(Dir::OutlookToCrm, TypeList::Create, "call", false);
        assert_eq!(form.types(Dir::OutlookToCrm, TypeList::Create).len(), 1);
        form.set_all_types(Dir::CrmToOutlook, TypeList::Create, []);
        assert!(form.warnings().contains(&Warning::NothingCreated));
        assert!(form.warnings().contains(&Warning::EmptyDefaultType));

        form.default_activity_type = "meeting".into();
        let p = form.to_prefs(Some(&known)).unwrap();
        assert_eq!(p.default_activity_type.as_deref(), Some("meeting"));
        assert!(p.crm_to_outlook.create_types.is_empty());

        form.default_activity_type = "gone".into();
        let errs = form.to_prefs(Some(&known)).unwrap_err();
        assert!(errs.fields.contains_key(fields::DEFAULT_ACTIVITY_TYPE));

        form.default_activity_type = String::new();
        assert_eq!(
            form.to_prefs(Some(&known)).unwrap().default_activity_type,
            None
        );
    }

    #[test]
    fn login_form() {
        let f = LoginForm {
            username: "".into(),
            password: "".into(),
            remember: true,
        };
        let errs = f.to_request().unwrap_err();
        assert_eq!(errs.first_field(&LoginForm::FIELDS), Some(fields::USERNAME));
        let ok = LoginForm {
            username: " u ".into(),
            password: "p".into(),
            remember: true,
        }
        .to_request()
        .unwrap();
        assert_eq!((ok.username.as_str(), ok.remember), ("u", true));
    }

    fn rel(kind: RelationKind, id: &str, related: bool) -> Relation {
        Relation {
            kind,
            id: id.into(),
            name: format!("N{id}"),
            detail: None,
            related,
        }
    }

    #[test]
    fn relations_are_added_once_and_removed() {
        let mut f = ItemForm::default();
        assert!(f.add_relation(&rel(RelationKind::Accounts, "a1", false)));
        assert!(!f.add_relation(&rel(RelationKind::Accounts, "a1", false)));
        assert!(f.add_relation(&rel(RelationKind::Contacts, "c1", true)));
        assert!(!f.add_relation(&rel(RelationKind::Potentials, "p1", false)));
        assert_eq!(f.relations.all_ids().collect::<Vec<_>>(), ["a1", "c1"]);
        f.remove_relation(RelationKind::Accounts, "a1");
        assert!(f.relations.accounts.is_empty());
    }

    #[test]
    fn hits_hide_chosen_and_put_related_first() {
        let hits = vec![
            rel(RelationKind::Contacts, "1", false),
            rel(RelationKind::Contacts, "2", true),
            rel(RelationKind::Contacts, "3", false),
        ];
        let chosen = vec![RelationRef {
            id: "3".into(),
            name: "x".into(),
        }];
        let ids: Vec<_> = visible_hits(&hits, &chosen)
            .into_iter()
            .map(|h| h.id)
            .collect();
        assert_eq!(ids, ["2", "1"]);
    }

    #[test]
    fn item_update_empty_choice_is_none() {
        let f = ItemForm {
            activity_type: " ".into(),
            status: "done".into(),
            ..Default::default()
        };
        let u = f.to_update(None, Some(&["done".into()])).unwrap();
        assert_eq!(u.activity_type, None);
        assert_eq!(u.status.as_deref(), Some("done"));
        let bad = ItemForm {
            activity_type: "x".into(),
            ..Default::default()
        };
        assert!(
            bad.to_update(Some(&["y".into()]), None)
                .unwrap_err()
                .fields
                .contains_key(fields::ACTIVITY_TYPE)
        );
    }
}
