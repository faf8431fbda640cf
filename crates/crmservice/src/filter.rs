//! A typed builder for CRM-service's `filter=<JSON>` grammar.
//!
//! Covers every operator of the facts document: `$eq $ne $gt $gte $lt $lte`, `$in $nin`,
//! `$between $not.between`, `$is.null $not.null`, `$beg $end $cts $not.cts $like $regex`, and
//! `$and $or $nor $not`. Values of date fields are CRM-local datetimes or `$now` expressions
//! ([`FilterValue::now`]). Like the vendor's client, [`Filter::to_json`] refuses what the server would
//! refuse (empty lists, malformed field paths) before anything is sent.

use chrono::{NaiveDate, NaiveDateTime};
use serde_json::{Value, json};

use crate::Error;
use crate::assumed::DATETIME_FORMAT;

/// A value on the right-hand side of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum FilterValue {
    Null,
    Bool(bool),
    Int(i64),
    Str(String),
    /// Sent as `YYYY-MM-DD HH:MM:SS` (CRM local time).
    DateTime(NaiveDateTime),
    /// Sent as `YYYY-MM-DD`.
    Date(NaiveDate),
    /// A `$now` expression, e.g. `$now -7 days`.
    Now(String),
}

/// What a `$now` expression starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NowBase {
    /// `$now`: the current datetime.
    Now,
    /// `$now.date`: today at midnight.
    Date,
    /// `$now.time`: the current time of day.
    Time,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NowUnit {
    Seconds,
    Minutes,
    Hours,
    Days,
    Weeks,
    Months,
    Years,
}

impl FilterValue {
    /// `$now`, `$now.date` or `$now.time`, shifted by `amount` `unit`s (0 = no shift).
    pub fn now(base: NowBase, amount: i64, unit: NowUnit) -> Self {
        let base = match base {
            NowBase::Now => "$now",
            NowBase::Date => "$now.date",
            NowBase::Time => "$now.time",
        };
        if amount == 0 {
            return FilterValue::Now(base.to_owned());
        }
        let unit = match unit {
            NowUnit::Seconds => "seconds",
            NowUnit::Minutes => "minutes",
            NowUnit::Hours => "hours",
            NowUnit::Days => "days",
            NowUnit::Weeks => "weeks",
            NowUnit::Months => "months",
            NowUnit::Years => "years",
        };
        let sign = if amount < 0 { '-' } else { '+' };
        FilterValue::Now(format!("{base} {sign}{} {unit}", amount.unsigned_abs()))
    }

    fn to_json(&self) -> Value {
        match self {
            FilterValue::Null => Value::Null,
            FilterValue::Bool(b) => json!(b),
            FilterValue::Int(i) => json!(i),
            FilterValue::Str(s) => json!(s),
            FilterValue::DateTime(d) => json!(d.format(DATETIME_FORMAT).to_string()),
            FilterValue::Date(d) => json!(d.format("%Y-%m-%d").to_string()),
            FilterValue::Now(s) => json!(s),
        }
    }
}

impl From<&str> for FilterValue {
    fn from(s: &str) -> Self {
        FilterValue::Str(s.to_owned())
    }
}
impl From<String> for FilterValue {
    fn from(s: String) -> Self {
        FilterValue::Str(s)
    }
}
impl From<&String> for FilterValue {
    fn from(s: &String) -> Self {
        FilterValue::Str(s.clone())
    }
}
impl From<i64> for FilterValue {
    fn from(i: i64) -> Self {
        FilterValue::Int(i)
    }
}
impl From<i32> for FilterValue {
    fn from(i: i32) -> Self {
        FilterValue::Int(i.into())
    }
}
impl From<u32> for FilterValue {
    fn from(i: u32) -> Self {
        FilterValue::Int(i.into())
    }
}
impl From<bool> for FilterValue {
    fn from(b: bool) -> Self {
        FilterValue::Bool(b)
    }
}
impl From<NaiveDateTime> for FilterValue {
    fn from(d: NaiveDateTime) -> Self {
        FilterValue::DateTime(d)
    }
}
impl From<NaiveDate> for FilterValue {
    fn from(d: NaiveDate) -> Self {
        FilterValue::Date(d)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Gt,
    Gte,
    Lt,
    Lte,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextOp {
    /// `$beg`: begins with.
    Begins,
    /// `$end`: ends with.
    Ends,
    /// `$cts`: contains.
    Contains,
    /// `$not.cts`: does not contain.
    NotContains,
    /// `$like`: SQL LIKE with `%` and `_`.
    Like,
    /// `$regex`: SQL REGEXP.
    Regex,
}

/// A filter expression. Build with the constructors; send with [`Filter::to_json`].
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    Cmp {
        op: CmpOp,
        field: String,
        value: FilterValue,
    },
    In {
        field: String,
        values: Vec<FilterValue>,
        negated: bool,
    },
    Between {
        field: String,
        low: FilterValue,
        high: FilterValue,
        negated: bool,
    },
    Null {
        field: String,
        is_null: bool,
    },
    Text {
        op: TextOp,
        field: String,
        pattern: String,
    },
    And(Vec<Filter>),
    Or(Vec<Filter>),
    Nor(Vec<Filter>),
    Not(Box<Filter>),
}

fn cmp(op: CmpOp, field: &str, value: impl Into<FilterValue>) -> Filter {
    Filter::Cmp {
        op,
        field: field.to_owned(),
        value: value.into(),
    }
}

fn text(op: TextOp, field: &str, pattern: &str) -> Filter {
    Filter::Text {
        op,
        field: field.to_owned(),
        pattern: pattern.to_owned(),
    }
}

impl Filter {
    pub fn eq(field: &str, v: impl Into<FilterValue>) -> Self {
        cmp(CmpOp::Eq, field, v)
    }
    pub fn ne(field: &str, v: impl Into<FilterValue>) -> Self {
        cmp(CmpOp::Ne, field, v)
    }
    pub fn gt(field: &str, v: impl Into<FilterValue>) -> Self {
        cmp(CmpOp::Gt, field, v)
    }
    pub fn gte(field: &str, v: impl Into<FilterValue>) -> Self {
        cmp(CmpOp::Gte, field, v)
    }
    pub fn lt(field: &str, v: impl Into<FilterValue>) -> Self {
        cmp(CmpOp::Lt, field, v)
    }
    pub fn lte(field: &str, v: impl Into<FilterValue>) -> Self {
        cmp(CmpOp::Lte, field, v)
    }
    /// `$in`: the field equals one of the values.
    pub fn any_of<V: Into<FilterValue>>(field: &str, values: impl IntoIterator<Item = V>) -> Self {
        Filter::In {
            field: field.to_owned(),
            values: values.into_iter().map(Into::into).collect(),
            negated: false,
        }
    }
    /// `$nin`: the field equals none of the values.
    pub fn none_of<V: Into<FilterValue>>(field: &str, values: impl IntoIterator<Item = V>) -> Self {
        Filter::In {
            field: field.to_owned(),
            values: values.into_iter().map(Into::into).collect(),
            negated: true,
        }
    }
    /// `$between`: low ≤ field ≤ high.
    pub fn between(field: &str, low: impl Into<FilterValue>, high: impl Into<FilterValue>) -> Self {
        Filter::Between {
            field: field.to_owned(),
            low: low.into(),
            high: high.into(),
            negated: false,
        }
    }
    /// `$not.between`.
    pub fn not_between(
        field: &str,
        low: impl Into<FilterValue>,
        high: impl Into<FilterValue>,
    ) -> Self {
        Filter::Between {
            field: field.to_owned(),
            low: low.into(),
            high: high.into(),
            negated: true,
        }
    }
    pub fn is_null(field: &str) -> Self {
        Filter::Null {
            field: field.to_owned(),
            is_null: true,
        }
    }
    pub fn not_null(field: &str) -> Self {
        Filter::Null {
            field: field.to_owned(),
            is_null: false,
        }
    }
    pub fn begins_with(field: &str, prefix: &str) -> Self {
        text(TextOp::Begins, field, prefix)
    }
    pub fn ends_with(field: &str, suffix: &str) -> Self {
        text(TextOp::Ends, field, suffix)
    }
    pub fn contains(field: &str, part: &str) -> Self {
        text(TextOp::Contains, field, part)
    }
    pub fn not_contains(field: &str, part: &str) -> Self {
        text(TextOp::NotContains, field, part)
    }
    /// SQL LIKE: `%` any run of characters, `_` one character.
    pub fn like(field: &str, pattern: &str) -> Self {
        text(TextOp::Like, field, pattern)
    }
    /// SQL REGEXP (an unanchored search).
    pub fn regex(field: &str, pattern: &str) -> Self {
        text(TextOp::Regex, field, pattern)
    }
    pub fn and(parts: impl IntoIterator<Item = Filter>) -> Self {
        Filter::And(parts.into_iter().collect())
    }
    pub fn or(parts: impl IntoIterator<Item = Filter>) -> Self {
        Filter::Or(parts.into_iter().collect())
    }
    pub fn nor(parts: impl IntoIterator<Item = Filter>) -> Self {
        Filter::Nor(parts.into_iter().collect())
    }
    #[expect(
        clippy::should_implement_trait,
        reason = "mirrors the $not operator name"
    )]
    pub fn not(inner: Filter) -> Self {
        Filter::Not(Box::new(inner))
    }

    /// `self AND other`, flattening nested ANDs.
    pub fn and_also(self, other: Filter) -> Self {
        match self {
            Filter::And(mut parts) => {
                parts.push(other);
                Filter::And(parts)
            }
            first => Filter::And(vec![first, other]),
        }
    }

    /// The JSON the API takes, after the checks the vendor's client makes before sending.
    pub fn to_json(&self) -> Result<Value, Error> {
        Ok(match self {
            Filter::Cmp { op, field, value } => {
                check_field(field)?;
                let name = match op {
                    CmpOp::Eq => "$eq",
                    CmpOp::Ne => "$ne",
                    CmpOp::Gt => "$gt",
                    CmpOp::Gte => "$gte",
                    CmpOp::Lt => "$lt",
                    CmpOp::Lte => "$lte",
                };
                if *value == FilterValue::Null && !matches!(op, CmpOp::Eq | CmpOp::Ne) {
                    return Err(Error::InvalidFilter(format!(
                        "{name} cannot compare {field} with null"
                    )));
                }
                json!({ name: [field, value.to_json()] })
            }
            Filter::In {
                field,
                values,
                negated,
            } => {
                check_field(field)?;
                let name = if *negated { "$nin" } else { "$in" };
                if values.is_empty() {
                    return Err(Error::InvalidFilter(format!(
                        "{name} on {field} needs at least one value"
                    )));
                }
                let vals: Vec<Value> = values.iter().map(FilterValue::to_json).collect();
                json!({ name: [field, vals] })
            }
            Filter::Between {
                field,
                low,
                high,
                negated,
            } => {
                check_field(field)?;
                let name = if *negated { "$not.between" } else { "$between" };
                if *low == FilterValue::Null || *high == FilterValue::Null {
                    return Err(Error::InvalidFilter(format!(
                        "{name} bounds cannot be null"
                    )));
                }
                json!({ name: [field, low.to_json(), high.to_json()] })
            }
            Filter::Null { field, is_null } => {
                check_field(field)?;
                let name = if *is_null { "$is.null" } else { "$not.null" };
                json!({ name: [field] })
            }
            Filter::Text { op, field, pattern } => {
                check_field(field)?;
                let name = match op {
                    TextOp::Begins => "$beg",
                    TextOp::Ends => "$end",
                    TextOp::Contains => "$cts",
                    TextOp::NotContains => "$not.cts",
                    TextOp::Like => "$like",
                    TextOp::Regex => "$regex",
                };
                json!({ name: [field, pattern] })
            }
            Filter::And(parts) => json!({"$and": list("$and", parts)?}),
            Filter::Or(parts) => json!({"$or": list("$or", parts)?}),
            Filter::Nor(parts) => json!({"$nor": list("$nor", parts)?}),
            Filter::Not(inner) => json!({"$not": inner.to_json()?}),
        })
    }

    /// The filter as the `filter=` query parameter value.
    pub fn to_query_value(&self) -> Result<String, Error> {
        Ok(self.to_json()?.to_string())
    }
}

fn list(op: &str, parts: &[Filter]) -> Result<Vec<Value>, Error> {
    if parts.is_empty() {
        return Err(Error::InvalidFilter(format!(
            "{op} needs at least one expression"
        )));
    }
    parts.iter().map(Filter::to_json).collect()
}

/// A field name or one level of relation path: `subject`, `account.name`, `cf_customer_no`.
fn check_field(field: &str) -> Result<(), Error> {
    let ok_part = |p: &str| {
        !p.is_empty()
            && p.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    };
    let parts: Vec<&str> = field.split('.').collect();
    if parts.len() > 2 || !parts.iter().all(|p| ok_part(p)) {
        return Err(Error::InvalidFilter(format!(
            "{field:?} is not a field name (lower-case name, at most one relation level)"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_the_documented_example() {
        let f = Filter::and([
            Filter::gte(
                "updated_at",
                NaiveDate::from_ymd_opt(2026, 11, 1)
                    .unwrap()
                    .and_hms_opt(0, 0, 0)
                    .unwrap(),
            ),
            Filter::any_of("activity_type", ["Soitto", "Tapaaminen"]),
        ]);
        assert_eq!(
            f.to_query_value().unwrap(),
            r#"{"$and":[{"$gte":["updated_at","2026-11-01 00:00:00"]},{"$in":["activity_type",["Soitto","Tapaaminen"]]}]}"#
        );
    }

    #[test]
    fn every_operator_has_its_wire_name_and_arity() {
        let cases = [
            (
                Filter::ne("status", "Valmis"),
                json!({"$ne": ["status", "Valmis"]}),
            ),
            (
                Filter::none_of("id", [1, 2]),
                json!({"$nin": ["id", [1, 2]]}),
            ),
            (
                Filter::not_between("id", 1, 9),
                json!({"$not.between": ["id", 1, 9]}),
            ),
            (
                Filter::is_null("end_date"),
                json!({"$is.null": ["end_date"]}),
            ),
            (
                Filter::not_null("end_date"),
                json!({"$not.null": ["end_date"]}),
            ),
            (
                Filter::begins_with("name", "Ko"),
                json!({"$beg": ["name", "Ko"]}),
            ),
            (
                Filter::ends_with("name", "Oy"),
                json!({"$end": ["name", "Oy"]}),
            ),
            (
                Filter::contains("name", "ne"),
                json!({"$cts": ["name", "ne"]}),
            ),
            (
                Filter::not_contains("name", "ne"),
                json!({"$not.cts": ["name", "ne"]}),
            ),
            (Filter::like("name", "K%"), json!({"$like": ["name", "K%"]})),
            (
                Filter::regex("name", "^K"),
                json!({"$regex": ["name", "^K"]}),
            ),
            (
                Filter::not(Filter::eq("account.name", "X")),
                json!({"$not": {"$eq": ["account.name", "X"]}}),
            ),
            (
                Filter::nor([Filter::lt("id", 3), Filter::gt("id", 7)]),
                json!({"$nor": [{"$lt": ["id", 3]}, {"$gt": ["id", 7]}]}),
            ),
            (
                Filter::or([Filter::lte("id", 3), Filter::eq("private", true)]),
                json!({"$or": [{"$lte": ["id", 3]}, {"$eq": ["private", true]}]}),
            ),
        ];
        for (f, want) in cases {
            assert_eq!(f.to_json().unwrap(), want);
        }
    }

    #[test]
    fn now_expressions_are_spelled_like_the_docs() {
        let v = FilterValue::now(NowBase::Now, -7, NowUnit::Days);
        assert_eq!(v, FilterValue::Now("$now -7 days".into()));
        let v = FilterValue::now(NowBase::Date, 1, NowUnit::Months);
        assert_eq!(v, FilterValue::Now("$now.date +1 months".into()));
    }

    #[test]
    fn refuses_what_the_server_would_refuse() {
        assert!(Filter::and([]).to_json().is_err());
        assert!(Filter::any_of::<&str>("id", []).to_json().is_err());
        assert!(Filter::eq("a.b.c", 1).to_json().is_err());
        assert!(Filter::eq("", 1).to_json().is_err());
        assert!(Filter::gt("id", FilterValue::Null).to_json().is_err());
        assert!(
            Filter::or([Filter::eq("id", 1), Filter::nor([])])
                .to_json()
                .is_err()
        );
    }
}
