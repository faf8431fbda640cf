//! One company's data: records per module, many-to-many links, validation of writes and list queries.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::NaiveDateTime;
use serde_json::{Map, Value, json};

use super::filter::{self, DATETIME_FORMAT, Expr, parse_date, stored_scalar};
use super::schema::{FieldDef, FieldType, ModuleDef, relation_name};

/// A stored record: its attributes (always including `id`, `created_at`, `updated_at`) and its
/// many-to-many links by relation name.
#[derive(Debug, Clone, Default)]
pub struct Row {
    pub attrs: Map<String, Value>,
    pub links: BTreeMap<String, BTreeSet<u64>>,
}

/// Attributes and many-to-many links of a write, as parsed from a request or an admin record.
pub type WriteParts = (Map<String, Value>, BTreeMap<String, Vec<u64>>);

#[derive(Debug, Clone)]
pub struct UserAuth {
    pub password: String,
    pub locked: bool,
    pub user_id: u64,
}

#[derive(Debug, Clone)]
pub struct StoredFile {
    pub id: u64,
    pub module: String,
    pub record_id: u64,
    pub name: String,
    pub content_type: String,
    pub size: usize,
}

/// Why a write or query was refused, with the HTTP status the API answers.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub status: u16,
    pub message: String,
    /// For 422: the offending attribute, reported as a JSON pointer.
    pub field: Option<String>,
}

impl Refusal {
    pub fn new(status: u16, message: impl Into<String>) -> Self {
        Refusal {
            status,
            message: message.into(),
            field: None,
        }
    }
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Refusal {
            status: 422,
            message: message.into(),
            field: Some(field.to_owned()),
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.field {
            Some(field) => write!(f, "{} ({field}): {}", self.status, self.message),
            None => write!(f, "{}: {}", self.status, self.message),
        }
    }
}

impl std::error::Error for Refusal {}

pub struct Company {
    pub id: u64,
    pub name: String,
    pub tz: chrono_tz::Tz,
    pub users: HashMap<String, UserAuth>,
    pub tables: BTreeMap<String, BTreeMap<u64, Row>>,
    next_id: BTreeMap<String, u64>,
    pub custom_fields: BTreeMap<String, Vec<FieldDef>>,
    pub hidden_fields: BTreeSet<(String, String)>,
    pub files: Vec<StoredFile>,
    base: Vec<ModuleDef>,
}

/// Parsed list parameters (`page[number]`, `page[size]`, `offset`, `fields[…]`, `filter`, `include`,
/// `sort`).
#[derive(Debug, Clone, Default)]
pub struct ListParams {
    pub page_number: u64,
    pub page_size: u64,
    pub offset: Option<u64>,
    pub fields: BTreeMap<String, Vec<String>>,
    pub filter: Option<Value>,
    pub include: Vec<String>,
    pub sort: Vec<(String, bool)>,
}

pub struct Page {
    pub data: Vec<Value>,
    pub included: Vec<Value>,
    pub total: u64,
}

impl Company {
    pub fn new(id: u64, name: &str, base: Vec<ModuleDef>) -> Self {
        Company {
            id,
            name: name.to_owned(),
            tz: chrono_tz::Europe::Helsinki,
            users: HashMap::new(),
            tables: base
                .iter()
                .map(|m| (m.name.to_owned(), BTreeMap::new()))
                .collect(),
            next_id: BTreeMap::new(),
            custom_fields: BTreeMap::new(),
            hidden_fields: BTreeSet::new(),
            files: Vec::new(),
            base,
        }
    }

    /// The module as this company sees it: base fields minus hidden ones plus its `cf_` fields.
    pub fn module(&self, name: &str) -> Option<ModuleDef> {
        let base = self.base.iter().find(|m| m.name == name)?;
        let mut m = base.clone();
        m.fields.retain(|f| {
            !self
                .hidden_fields
                .contains(&(name.to_owned(), f.name.clone()))
        });
        if let Some(cf) = self.custom_fields.get(name) {
            m.fields.extend(cf.iter().cloned());
        }
        Some(m)
    }

    pub fn module_names(&self) -> Vec<&'static str> {
        self.base.iter().map(|m| m.name).collect()
    }

    pub fn row(&self, module: &str, id: u64) -> Option<&Row> {
        self.tables.get(module)?.get(&id)
    }

    fn alloc_id(&mut self, module: &str) -> u64 {
        let n = self.next_id.entry(module.to_owned()).or_insert(0);
        *n += 1;
        *n
    }

    /// Type of a field path as the filter and sort see it: `field`, `to_one.field` or `many.field`.
    pub fn path_type(&self, m: &ModuleDef, path: &str) -> Option<FieldType> {
        match path.split_once('.') {
            None => m.field(path).map(|f| f.ty),
            Some((rel, field)) => {
                let target = if let Some((_, t)) = m.to_one(rel) {
                    t
                } else {
                    m.many(rel)?.module
                };
                self.module(target)?.field(field).map(|f| f.ty)
            }
        }
    }

    /// The stored value(s) at a path for one row (see [`Expr::eval`]).
    pub fn path_values(&self, m: &ModuleDef, row: &Row, path: &str) -> Vec<Value> {
        match path.split_once('.') {
            None => vec![row.attrs.get(path).cloned().unwrap_or(Value::Null)],
            Some((rel, field)) => {
                if let Some((f, target)) = m.to_one(rel) {
                    let linked = row
                        .attrs
                        .get(&f.name)
                        .and_then(id_of)
                        .and_then(|id| self.row(target, id));
                    vec![
                        linked
                            .and_then(|r| r.attrs.get(field).cloned())
                            .unwrap_or(Value::Null),
                    ]
                } else if let Some(many) = m.many(rel) {
                    row.links
                        .get(rel)
                        .into_iter()
                        .flatten()
                        .filter_map(|id| self.row(many.module, *id))
                        .map(|r| r.attrs.get(field).cloned().unwrap_or(Value::Null))
                        .collect()
                } else {
                    vec![Value::Null]
                }
            }
        }
    }

    /// Validates and normalises attribute values for a write. `existing` is the row being updated.
    fn check_attrs(
        &self,
        m: &ModuleDef,
        attrs: &Map<String, Value>,
        existing: Option<&Row>,
        admin: bool,
    ) -> Result<Map<String, Value>, Refusal> {
        let mut out = Map::new();
        for (name, v) in attrs {
            let Some(f) = m.field(name) else {
                return Err(Refusal::new(
                    400,
                    format!("unknown field {name:?} in module {}", m.name),
                ));
            };
            if f.readonly {
                if admin && matches!(name.as_str(), "created_at" | "updated_at") {
                    // The admin API may backdate records (as if they had been created earlier).
                    if v.as_str()
                        .and_then(|s| NaiveDateTime::parse_from_str(s, DATETIME_FORMAT).ok())
                        .is_none()
                    {
                        return Err(Refusal::invalid(name, "must be YYYY-MM-DD HH:MM:SS"));
                    }
                    out.insert(name.clone(), v.clone());
                    continue;
                }
                return Err(Refusal::invalid(name, format!("{name} is read-only")));
            }
            let norm = self.check_value(m, f, v)?;
            out.insert(name.clone(), norm);
        }
        // Required fields: present on create, never cleared on update.
        for f in m.fields.iter().filter(|f| f.required) {
            let new = out.get(&f.name);
            let missing = |v: Option<&Value>| match v {
                None | Some(Value::Null) => true,
                Some(Value::String(s)) => s.trim().is_empty(),
                _ => false,
            };
            let cleared = new.is_some() && missing(new);
            if cleared || (existing.is_none() && missing(new)) {
                return Err(Refusal::invalid(&f.name, format!("{} is required", f.name)));
            }
        }
        if m.name == "activities" {
            let get = |k: &str| {
                out.get(k)
                    .or_else(|| existing.and_then(|r| r.attrs.get(k)))
                    .and_then(Value::as_str)
                    .and_then(|s| NaiveDateTime::parse_from_str(s, DATETIME_FORMAT).ok())
            };
            if let (Some(s), Some(e)) = (get("start_date"), get("end_date"))
                && e < s
            {
                return Err(Refusal::invalid(
                    "end_date",
                    "end_date must not be before start_date",
                ));
            }
        }
        Ok(out)
    }

    fn check_value(&self, m: &ModuleDef, f: &FieldDef, v: &Value) -> Result<Value, Refusal> {
        let name = f.name.as_str();
        if v.is_null() {
            return Ok(Value::Null);
        }
        match f.ty {
            FieldType::Id => Err(Refusal::invalid(name, "read-only")),
            FieldType::String | FieldType::Text | FieldType::Email | FieldType::Picklist => {
                let s = v
                    .as_str()
                    .ok_or_else(|| Refusal::invalid(name, format!("{name} must be a string")))?;
                if f.ty != FieldType::Text && s.chars().count() > 255 {
                    return Err(Refusal::invalid(
                        name,
                        format!("{name} is over 255 characters"),
                    ));
                }
                if f.ty == FieldType::Email && !s.is_empty() && !s.contains('@') {
                    return Err(Refusal::invalid(
                        name,
                        format!("{name} is not an email address"),
                    ));
                }
                if f.ty == FieldType::Picklist && !s.is_empty() {
                    let allowed = self.picklist_values(m.name, name);
                    if !allowed.is_empty() && !allowed.iter().any(|a| a == s) {
                        return Err(Refusal::invalid(
                            name,
                            format!("{s:?} is not a value of picklist {}.{name}", m.name),
                        ));
                    }
                }
                Ok(Value::String(s.to_owned()))
            }
            FieldType::Integer => match v {
                Value::Number(n) if n.is_i64() => Ok(v.clone()),
                Value::String(s) if s.parse::<i64>().is_ok() => Ok(json!(s.parse::<i64>().ok())),
                _ => Err(Refusal::invalid(name, format!("{name} must be an integer"))),
            },
            FieldType::Boolean => v
                .as_bool()
                .map(Value::Bool)
                .ok_or_else(|| Refusal::invalid(name, format!("{name} must be true or false"))),
            FieldType::DateTime => v
                .as_str()
                .and_then(|s| NaiveDateTime::parse_from_str(s, DATETIME_FORMAT).ok())
                .map(|d| Value::String(d.format(DATETIME_FORMAT).to_string()))
                .ok_or_else(|| {
                    Refusal::invalid(name, format!("{name} must be YYYY-MM-DD HH:MM:SS"))
                }),
            FieldType::Date => v
                .as_str()
                .and_then(parse_date)
                .map(|d| Value::String(d.format("%Y-%m-%d").to_string()))
                .ok_or_else(|| Refusal::invalid(name, format!("{name} must be YYYY-MM-DD"))),
            FieldType::Relation(target) => {
                let id = id_of(v)
                    .ok_or_else(|| Refusal::invalid(name, format!("{name} must be an id")))?;
                if self.row(target, id).is_none() {
                    return Err(Refusal::invalid(
                        name,
                        format!("{name}: no {target} record with id {id}"),
                    ));
                }
                Ok(Value::String(id.to_string()))
            }
        }
    }

    /// Active values of the picklist for `module.field`, in position order.
    pub fn picklist_values(&self, module: &str, field: &str) -> Vec<String> {
        let Some(pl) = self.tables["picklists"].iter().find_map(|(id, r)| {
            (r.attrs.get("module") == Some(&json!(module))
                && r.attrs.get("field") == Some(&json!(field)))
            .then_some(*id)
        }) else {
            return Vec::new();
        };
        let mut vals: Vec<(i64, String)> = self.tables["picklist_values"]
            .values()
            .filter(|r| r.attrs.get("picklist_id").and_then(id_of) == Some(pl))
            .filter(|r| r.attrs.get("active") != Some(&Value::Bool(false)))
            .filter_map(|r| {
                Some((
                    r.attrs.get("position").and_then(Value::as_i64).unwrap_or(0),
                    r.attrs.get("value")?.as_str()?.to_owned(),
                ))
            })
            .collect();
        vals.sort();
        vals.into_iter().map(|(_, v)| v).collect()
    }

    fn check_links(
        &self,
        m: &ModuleDef,
        links: &BTreeMap<String, Vec<u64>>,
    ) -> Result<(), Refusal> {
        for (rel, ids) in links {
            let many = m.many(rel).ok_or_else(|| {
                Refusal::new(
                    400,
                    format!("unknown relationship {rel:?} in module {}", m.name),
                )
            })?;
            for id in ids {
                if self.row(many.module, *id).is_none() {
                    return Err(Refusal::invalid(
                        rel,
                        format!("{rel}: no {} record with id {id}", many.module),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Creates a record as the CRM UI or the API would. `actor` becomes `owner_id` when none is given.
    pub fn insert(
        &mut self,
        module: &str,
        attrs: &Map<String, Value>,
        links: &BTreeMap<String, Vec<u64>>,
        now: NaiveDateTime,
        actor: Option<u64>,
        admin: bool,
    ) -> Result<u64, Refusal> {
        let m = self
            .module(module)
            .ok_or_else(|| Refusal::new(404, format!("unknown module {module:?}")))?;
        let mut clean = self.check_attrs(&m, attrs, None, admin)?;
        self.check_links(&m, links)?;
        if let Some(actor) = actor
            && m.field("owner_id").is_some()
            && !clean.contains_key("owner_id")
        {
            clean.insert("owner_id".into(), json!(actor.to_string()));
        }
        let id = self.alloc_id(module);
        let stamp = json!(now.format(DATETIME_FORMAT).to_string());
        let mut row = Row::default();
        for f in &m.fields {
            row.attrs.insert(f.name.clone(), Value::Null);
        }
        row.attrs.insert("id".into(), json!(id.to_string()));
        row.attrs.insert("created_at".into(), stamp.clone());
        row.attrs.insert("updated_at".into(), stamp);
        for (k, v) in clean {
            row.attrs.insert(k, v);
        }
        for f in &m.fields {
            if f.ty == FieldType::Boolean && row.attrs.get(&f.name) == Some(&Value::Null) {
                row.attrs.insert(f.name.clone(), Value::Bool(false));
            }
        }
        for (rel, ids) in links {
            row.links.insert(rel.clone(), ids.iter().copied().collect());
        }
        self.tables
            .get_mut(module)
            .expect("module table exists")
            .insert(id, row);
        Ok(id)
    }

    /// Updates given attributes (and replaces given relationships); bumps `updated_at`.
    pub fn update(
        &mut self,
        module: &str,
        id: u64,
        attrs: &Map<String, Value>,
        links: &BTreeMap<String, Vec<u64>>,
        now: NaiveDateTime,
        admin: bool,
    ) -> Result<(), Refusal> {
        let m = self
            .module(module)
            .ok_or_else(|| Refusal::new(404, format!("unknown module {module:?}")))?;
        let existing = self
            .row(module, id)
            .ok_or_else(|| Refusal::new(404, format!("{module} {id} not found")))?;
        let clean = self.check_attrs(&m, attrs, Some(existing), admin)?;
        self.check_links(&m, links)?;
        let row = self
            .tables
            .get_mut(module)
            .and_then(|t| t.get_mut(&id))
            .expect("checked above");
        let backdated = clean.contains_key("updated_at");
        for (k, v) in clean {
            row.attrs.insert(k, v);
        }
        for (rel, ids) in links {
            row.links.insert(rel.clone(), ids.iter().copied().collect());
        }
        if !backdated {
            row.attrs.insert(
                "updated_at".into(),
                json!(now.format(DATETIME_FORMAT).to_string()),
            );
        }
        Ok(())
    }

    pub fn delete(&mut self, module: &str, id: u64) -> Result<(), Refusal> {
        let table = self
            .tables
            .get_mut(module)
            .ok_or_else(|| Refusal::new(404, format!("unknown module {module:?}")))?;
        table
            .remove(&id)
            .ok_or_else(|| Refusal::new(404, format!("{module} {id} not found")))?;
        // Pivot rows go with the record (ON DELETE CASCADE).
        let base = self.base.clone();
        for m in &base {
            for many in m.many.iter().filter(|r| r.module == module) {
                for row in self
                    .tables
                    .get_mut(m.name)
                    .into_iter()
                    .flat_map(|t| t.values_mut())
                {
                    if let Some(set) = row.links.get_mut(many.name) {
                        set.remove(&id);
                    }
                }
            }
        }
        Ok(())
    }

    /// Parses a filter for `module` against this company's schema.
    pub fn parse_filter(
        &self,
        m: &ModuleDef,
        filter: &Value,
        now: NaiveDateTime,
    ) -> Result<Expr, Refusal> {
        filter::parse(filter, &|p| self.path_type(m, p), now)
            .map_err(|e| Refusal::new(400, format!("invalid filter: {e}")))
    }

    /// Ids of the rows matching `filter`, sorted by `sort` (then by id).
    pub fn select(
        &self,
        m: &ModuleDef,
        filter: Option<&Expr>,
        sort: &[(String, bool)],
    ) -> Result<Vec<u64>, Refusal> {
        let mut sort_types = Vec::new();
        for (field, _) in sort {
            let ty = m.field(field).map(|f| f.ty).ok_or_else(|| {
                Refusal::new(400, format!("cannot sort by unknown field {field:?}"))
            })?;
            sort_types.push(ty);
        }
        let table = &self.tables[m.name];
        let mut ids: Vec<u64> = table
            .iter()
            .filter(|(_, row)| filter.is_none_or(|f| f.matches(&|p| self.path_values(m, row, p))))
            .map(|(id, _)| *id)
            .collect();
        // Rows are kept in id order, so a plain `sort=id` needs no work.
        let by_id_only = sort.len() == 1 && sort[0].0 == "id" && !sort[0].1;
        if !sort.is_empty() && !by_id_only {
            // Decorate once into one flat key array, then sort positions: parsing values inside the
            // comparator would cost n·log n parses, and a key vector per row n allocations.
            let k = sort.len();
            let keys: Vec<filter::Scalar> = ids
                .iter()
                .flat_map(|id| {
                    let row = &table[id];
                    sort.iter().zip(&sort_types).map(move |((field, _), ty)| {
                        stored_scalar(row.attrs.get(field).unwrap_or(&Value::Null), *ty)
                    })
                })
                .collect();
            let mut order: Vec<usize> = (0..ids.len()).collect();
            order.sort_by(|&a, &b| {
                let (ka, kb) = (&keys[a * k..(a + 1) * k], &keys[b * k..(b + 1) * k]);
                for ((va, vb), (_, desc)) in ka.iter().zip(kb).zip(sort) {
                    // NULLs sort first ascending, as in MySQL.
                    let ord = match (va, vb) {
                        (filter::Scalar::Null, filter::Scalar::Null) => std::cmp::Ordering::Equal,
                        (filter::Scalar::Null, _) => std::cmp::Ordering::Less,
                        (_, filter::Scalar::Null) => std::cmp::Ordering::Greater,
                        _ => scalar_cmp(va, vb),
                    };
                    let ord = if *desc { ord.reverse() } else { ord };
                    if ord.is_ne() {
                        return ord;
                    }
                }
                ids[a].cmp(&ids[b])
            });
            ids = order.into_iter().map(|i| ids[i]).collect();
        }
        Ok(ids)
    }

    /// Renders a row as a JSON:API resource object with a sparse fieldset.
    pub fn render(&self, m: &ModuleDef, id: u64, fields: Option<&Vec<String>>) -> Value {
        let row = &self.tables[m.name][&id];
        let wanted = |name: &str| fields.is_none_or(|f| f.iter().any(|x| x == name));
        let mut attrs = Map::new();
        for f in &m.fields {
            if f.name != "id" && wanted(&f.name) {
                attrs.insert(
                    f.name.clone(),
                    row.attrs.get(&f.name).cloned().unwrap_or(Value::Null),
                );
            }
        }
        let mut out = json!({"type": m.name, "id": id.to_string(), "attributes": attrs});
        let mut rels = Map::new();
        for many in &m.many {
            if wanted(many.name) {
                let data: Vec<Value> = row
                    .links
                    .get(many.name)
                    .into_iter()
                    .flatten()
                    .map(|i| json!({"type": many.module, "id": i.to_string()}))
                    .collect();
                rels.insert(many.name.to_owned(), json!({"data": data}));
            }
        }
        if !rels.is_empty() {
            out["relationships"] = Value::Object(rels);
        }
        out
    }

    /// Validates a sparse fieldset for `module`: attribute and relationship names only.
    pub fn check_fields(&self, module: &str, fields: &[String]) -> Result<(), Refusal> {
        let m = self
            .module(module)
            .ok_or_else(|| Refusal::new(400, format!("fields[{module}]: unknown module")))?;
        for f in fields {
            if m.field(f).is_none() && m.many(f).is_none() {
                return Err(Refusal::new(
                    400,
                    format!("fields[{module}]: unknown field {f:?}"),
                ));
            }
        }
        Ok(())
    }

    /// The records `include=…` pulls in for the given rows.
    pub fn included(
        &self,
        m: &ModuleDef,
        ids: &[u64],
        include: &[String],
        fields: &BTreeMap<String, Vec<String>>,
    ) -> Result<Vec<Value>, Refusal> {
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        for rel in include {
            let target = if let Some((_, t)) = m.to_one(rel) {
                t
            } else if let Some(many) = m.many(rel) {
                many.module
            } else {
                return Err(Refusal::new(
                    400,
                    format!("include: unknown relationship {rel:?} of {}", m.name),
                ));
            };
            let tm = self.module(target).expect("relation targets exist");
            for id in ids {
                let row = &self.tables[m.name][id];
                let linked: Vec<u64> = match m.to_one(rel) {
                    Some((f, _)) => row.attrs.get(&f.name).and_then(id_of).into_iter().collect(),
                    None => row
                        .links
                        .get(rel.as_str())
                        .into_iter()
                        .flatten()
                        .copied()
                        .collect(),
                };
                for l in linked {
                    if self.row(target, l).is_some() && seen.insert((target, l)) {
                        out.push(self.render(&tm, l, fields.get(target)));
                    }
                }
            }
        }
        Ok(out)
    }

    /// Field names of `module` that are relationships (to-one names and many-to-many names).
    pub fn relation_names(m: &ModuleDef) -> Vec<String> {
        m.fields
            .iter()
            .filter(|f| matches!(f.ty, FieldType::Relation(_)))
            .map(|f| relation_name(&f.name).to_owned())
            .chain(m.many.iter().map(|r| r.name.to_owned()))
            .collect()
    }

    /// A flat JSON view of a row for the admin API: attributes plus many-to-many ids as arrays.
    pub fn flat(&self, module: &str, id: u64) -> Option<Value> {
        let row = self.row(module, id)?;
        let mut v = Value::Object(row.attrs.clone());
        for (rel, ids) in &row.links {
            v[rel] = json!(ids.iter().map(|i| i.to_string()).collect::<Vec<_>>());
        }
        Some(v)
    }
}

fn scalar_cmp(a: &filter::Scalar, b: &filter::Scalar) -> std::cmp::Ordering {
    use filter::Scalar::*;
    match (a, b) {
        (Int(x), Int(y)) => x.cmp(y),
        (Str(x), Str(y)) => x.cmp(y),
        (Bool(x), Bool(y)) => x.cmp(y),
        (DateTime(x), DateTime(y)) => x.cmp(y),
        (Date(x), Date(y)) => x.cmp(y),
        _ => std::cmp::Ordering::Equal,
    }
}

/// A numeric id from `"12"` or `12`.
pub fn id_of(v: &Value) -> Option<u64> {
    match v {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_u64(),
        _ => None,
    }
}
