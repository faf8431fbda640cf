//! The modules the simulated CRM-service knows, their fields and relations.
//!
//! Field names follow `crmservice-api.md`: the "known" fields and the "assumed" ones (the simulator has to
//! pick something for those; the client keeps its own reading in `crmservice::assumed`). Labels are the
//! Finnish ones a CRM-service UI would show; only field names go over the wire.

use serde_json::{Map, Value, json};

/// The type of a field, as reported by `GET /schema/{module}` and used for filter semantics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// Numeric id of the record itself (sent as a numeric string).
    Id,
    String,
    Text,
    Email,
    Integer,
    Boolean,
    Date,
    DateTime,
    Picklist,
    /// A to-one link (`…_id`) to another module; the value is a numeric string id.
    Relation(&'static str),
}

impl FieldType {
    pub fn wire_name(self) -> &'static str {
        match self {
            FieldType::Id => "id",
            FieldType::String => "string",
            FieldType::Text => "text",
            FieldType::Email => "email",
            FieldType::Integer => "integer",
            FieldType::Boolean => "boolean",
            FieldType::Date => "date",
            FieldType::DateTime => "datetime",
            FieldType::Picklist => "picklist",
            FieldType::Relation(_) => "relation",
        }
    }

    /// Parses the type names accepted by the admin API for custom fields.
    pub fn from_wire(name: &str) -> Option<FieldType> {
        Some(match name {
            "string" => FieldType::String,
            "text" => FieldType::Text,
            "email" => FieldType::Email,
            "integer" => FieldType::Integer,
            "boolean" => FieldType::Boolean,
            "date" => FieldType::Date,
            "datetime" => FieldType::DateTime,
            "picklist" => FieldType::Picklist,
            _ => return None,
        })
    }

    /// Ids and to-one links compare as integers.
    pub fn is_numeric(self) -> bool {
        matches!(
            self,
            FieldType::Id | FieldType::Integer | FieldType::Relation(_)
        )
    }
}

#[derive(Debug, Clone)]
pub struct FieldDef {
    pub name: String,
    pub label: String,
    pub ty: FieldType,
    /// Must be present and non-empty on create.
    pub required: bool,
    /// Maintained by the server; writes are refused.
    pub readonly: bool,
}

/// A many-to-many relation (e.g. an activity's contacts).
#[derive(Debug, Clone, Copy)]
pub struct ManyDef {
    pub name: &'static str,
    pub module: &'static str,
}

#[derive(Debug, Clone)]
pub struct ModuleDef {
    pub name: &'static str,
    pub fields: Vec<FieldDef>,
    pub many: Vec<ManyDef>,
    /// Whether the API accepts POST/PATCH/DELETE on this module (users and picklists are managed in the UI).
    pub writable: bool,
}

impl ModuleDef {
    pub fn field(&self, name: &str) -> Option<&FieldDef> {
        self.fields.iter().find(|f| f.name == name)
    }

    pub fn many(&self, name: &str) -> Option<ManyDef> {
        self.many.iter().copied().find(|m| m.name == name)
    }

    /// The to-one relation called `name` (`account` for `account_id`) and its target module.
    pub fn to_one(&self, name: &str) -> Option<(&FieldDef, &'static str)> {
        self.fields.iter().find_map(|f| match f.ty {
            FieldType::Relation(target) if relation_name(&f.name) == name => Some((f, target)),
            _ => None,
        })
    }

    /// The JSON served by `GET /schema/{module}`.
    pub fn to_json(&self) -> Value {
        let mut attributes = Map::new();
        for f in &self.fields {
            let mut d = json!({"type": f.ty.wire_name(), "label": f.label});
            if let FieldType::Relation(target) = f.ty {
                d["relationModule"] = json!(target);
                d["relationType"] = json!("belongsTo");
                d["relationName"] = json!(relation_name(&f.name));
            }
            if f.required {
                d["required"] = json!(true);
            }
            if f.readonly {
                d["readonly"] = json!(true);
            }
            attributes.insert(f.name.clone(), d);
        }
        let mut relations = Map::new();
        for f in &self.fields {
            if let FieldType::Relation(target) = f.ty {
                relations.insert(
                    relation_name(&f.name).to_owned(),
                    json!({"class": target, "type": "belongsTo", "field": f.name}),
                );
            }
        }
        for m in &self.many {
            relations.insert(
                m.name.to_owned(),
                json!({"class": m.module, "type": "belongsToMany"}),
            );
        }
        json!({"attributes": attributes, "relations": relations})
    }
}

/// `account_id` → `account`.
pub fn relation_name(field: &str) -> &str {
    field.strip_suffix("_id").unwrap_or(field)
}

fn f(name: &str, label: &str, ty: FieldType) -> FieldDef {
    FieldDef {
        name: name.to_owned(),
        label: label.to_owned(),
        ty,
        required: false,
        readonly: false,
    }
}

fn req(name: &str, label: &str, ty: FieldType) -> FieldDef {
    FieldDef {
        required: true,
        ..f(name, label, ty)
    }
}

fn common(mut fields: Vec<FieldDef>) -> Vec<FieldDef> {
    let mut all = vec![FieldDef {
        readonly: true,
        ..f("id", "Tunniste", FieldType::Id)
    }];
    all.append(&mut fields);
    all.push(FieldDef {
        readonly: true,
        ..f("created_at", "Luotu", FieldType::DateTime)
    });
    all.push(FieldDef {
        readonly: true,
        ..f("updated_at", "Muokattu", FieldType::DateTime)
    });
    all
}

use FieldType as T;

/// Every module the simulator serves, in the order `GET /api/v1/` lists them.
pub fn modules() -> Vec<ModuleDef> {
    let m = |name, fields, many: Vec<ManyDef>, writable| ModuleDef {
        name,
        fields: common(fields),
        many,
        writable,
    };
    let many = |name, module| ManyDef { name, module };
    vec![
        m(
            "activities",
            vec![
                req("subject", "Aihe", T::String),
                req("start_date", "Alkaa", T::DateTime),
                f("end_date", "Päättyy", T::DateTime),
                req("activity_type", "Tyyppi", T::Picklist),
                f("status", "Tila", T::Picklist),
                f("description", "Kuvaus", T::Text),
                f("location", "Paikka", T::String),
                f("private", "Yksityinen", T::Boolean),
                f("all_day", "Koko päivä", T::Boolean),
                f("owner_id", "Vastuuhenkilö", T::Relation("users")),
                f("project_id", "Projekti", T::Relation("projects")),
                f("campaign_id", "Kampanja", T::Integer),
            ],
            vec![
                many("accounts", "accounts"),
                many("contacts", "contacts"),
                many("leads", "leads"),
                many("potentials", "potentials"),
                many("tickets", "tickets"),
            ],
            true,
        ),
        m(
            "accounts",
            vec![
                req("name", "Nimi", T::String),
                f("account_type", "Tyyppi", T::Picklist),
                f("email", "Sähköposti", T::Email),
                f("phone", "Puhelin", T::String),
                f("owner_id", "Vastuuhenkilö", T::Relation("users")),
            ],
            vec![],
            true,
        ),
        m(
            "contacts",
            vec![
                f("first_name", "Etunimi", T::String),
                req("last_name", "Sukunimi", T::String),
                f("email", "Sähköposti", T::Email),
                f("phone", "Puhelin", T::String),
                f("mobile", "Matkapuhelin", T::String),
                f("title", "Titteli", T::String),
                f("account_id", "Asiakas", T::Relation("accounts")),
                f("owner_id", "Vastuuhenkilö", T::Relation("users")),
            ],
            vec![],
            true,
        ),
        m(
            "projects",
            vec![
                req("name", "Nimi", T::String),
                f("account_id", "Asiakas", T::Relation("accounts")),
                f("owner_id", "Vastuuhenkilö", T::Relation("users")),
            ],
            vec![],
            true,
        ),
        m(
            "leads",
            vec![
                f("first_name", "Etunimi", T::String),
                req("last_name", "Sukunimi", T::String),
                f("company", "Yritys", T::String),
                f("email", "Sähköposti", T::Email),
                f("phone", "Puhelin", T::String),
                f("owner_id", "Vastuuhenkilö", T::Relation("users")),
            ],
            vec![],
            true,
        ),
        m(
            "potentials",
            vec![
                req("name", "Nimi", T::String),
                f("account_id", "Asiakas", T::Relation("accounts")),
                f("status", "Tila", T::Picklist),
                f("amount", "Summa", T::Integer),
                f("closing_date", "Arvioitu päätöspäivä", T::Date),
                f("owner_id", "Vastuuhenkilö", T::Relation("users")),
            ],
            vec![],
            true,
        ),
        m(
            "tickets",
            vec![
                req("subject", "Aihe", T::String),
                f("account_id", "Asiakas", T::Relation("accounts")),
            ],
            vec![],
            true,
        ),
        m(
            "emails",
            vec![
                f("subject", "Aihe", T::String),
                f("body", "Sisältö", T::Text),
                f("from", "Lähettäjä", T::String),
                f("to", "Vastaanottajat", T::String),
                f("cc", "Kopio", T::Text),
                f("body_html", "Sisältö (HTML)", T::Text),
                f("sent_at", "Lähetetty", T::DateTime),
                f("message_id", "Viestin tunniste", T::String),
                f("account_id", "Asiakas", T::Relation("accounts")),
                f("contact_id", "Yhteyshenkilö", T::Relation("contacts")),
                f("owner_id", "Vastuuhenkilö", T::Relation("users")),
            ],
            vec![many("accounts", "accounts"), many("contacts", "contacts")],
            true,
        ),
        m(
            "users",
            vec![
                req("name", "Nimi", T::String),
                req("email", "Sähköposti", T::Email),
            ],
            vec![],
            false,
        ),
        m(
            "picklists",
            vec![
                req("name", "Nimi", T::String),
                req("module", "Moduuli", T::String),
                req("field", "Kenttä", T::String),
            ],
            vec![],
            false,
        ),
        m(
            "picklist_values",
            vec![
                req("picklist_id", "Valintalista", T::Relation("picklists")),
                req("value", "Arvo", T::String),
                f("position", "Järjestys", T::Integer),
                f("active", "Käytössä", T::Boolean),
            ],
            vec![],
            false,
        ),
        m(
            "picklist_value_translations",
            vec![
                req("picklist_value_id", "Arvo", T::Relation("picklist_values")),
                req("language", "Kieli", T::String),
                req("name", "Nimi", T::String),
            ],
            vec![],
            false,
        ),
    ]
}
