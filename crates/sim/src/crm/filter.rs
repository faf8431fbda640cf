//! The `filter=<JSON>` grammar of CRM-service and its evaluation.
//!
//! Grammar (from `crmservice-api.md`): comparison operators take an array whose first element is a field
//! name; `$and`/`$or`/`$nor` take a non-empty array of expressions, `$not` one expression; `{"field": v}` is
//! `$eq`; an object with several keys means all of them. Everything else is a 400.
//!
//! Semantics are those of the SQL the real server runs the filter as:
//! * three-valued logic: a comparison against a NULL field is *unknown*, `$not` of unknown stays unknown,
//!   and a record matches only when the whole filter is *true* (so `{"$ne": ["status", "x"]}` does not
//!   match records whose status is NULL, exactly as `status != 'x'` in SQL);
//! * `$eq`/`$ne` with a `null` value mean `IS NULL`/`IS NOT NULL`; nulls inside `$in` lists never match;
//! * text comparisons are case-insensitive (MySQL's default `_ci` collations), `$like` is anchored with
//!   `%`/`_` wildcards, `$regex` is an unanchored search;
//! * ids and to-one links compare as integers, dates and datetimes as points in time (a date-only value
//!   means midnight), and `$now` expressions are evaluated against the simulator clock in CRM local time;
//! * a `relation.field` path over a to-one link reads the linked record (NULL when unlinked); over a
//!   many-to-many relation it matches when any linked record matches (no linked records reads as NULL).

use std::cmp::Ordering;

use chrono::{Duration, Months, NaiveDate, NaiveDateTime, NaiveTime};
use regex::{Regex, RegexBuilder};
use serde_json::Value;

use super::schema::FieldType;

pub const DATETIME_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// A parsed filter expression.
#[derive(Debug, Clone)]
pub enum Expr {
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Nor(Vec<Expr>),
    Not(Box<Expr>),
    Test {
        path: String,
        ty: FieldType,
        test: Test,
    },
}

/// One comparison against the value(s) at a path.
#[derive(Debug, Clone)]
pub enum Test {
    Cmp(CmpOp, Scalar),
    IsNull(bool),
    In(Vec<Scalar>, bool),
    Between(Scalar, Scalar, bool),
    /// `$beg`, `$end`, `$cts`, `$not.cts`, `$like`, `$regex`: a pattern over the value's text.
    Text(Regex, bool),
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

/// A typed value, normalised for comparison (text is lower-cased).
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    Null,
    Int(i64),
    Str(String),
    Bool(bool),
    DateTime(NaiveDateTime),
    Date(NaiveDate),
    Time(NaiveTime),
}

impl Scalar {
    fn compare(&self, other: &Scalar) -> Option<Ordering> {
        use Scalar::*;
        match (self, other) {
            (Int(a), Int(b)) => Some(a.cmp(b)),
            (Str(a), Str(b)) => Some(a.cmp(b)),
            (Bool(a), Bool(b)) => Some(a.cmp(b)),
            (DateTime(a), DateTime(b)) => Some(a.cmp(b)),
            (Date(a), Date(b)) => Some(a.cmp(b)),
            (DateTime(a), Time(b)) => Some(a.time().cmp(b)),
            (DateTime(a), Date(b)) => Some(a.cmp(&b.and_time(NaiveTime::MIN))),
            (Date(a), DateTime(b)) => Some(a.and_time(NaiveTime::MIN).cmp(b)),
            _ => None,
        }
    }
}

/// Parses `YYYY-MM-DD HH:MM:SS`, `YYYY-MM-DDTHH:MM:SS` or `YYYY-MM-DD` (midnight).
pub fn parse_datetime(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim();
    NaiveDateTime::parse_from_str(s, DATETIME_FORMAT)
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S"))
        .ok()
        .or_else(|| parse_date(s).map(|d| d.and_time(NaiveTime::MIN)))
}

pub fn parse_date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok()
}

/// Converts a stored record value of type `ty` to a comparable scalar.
pub fn stored_scalar(v: &Value, ty: FieldType) -> Scalar {
    match (v, ty) {
        (Value::Null, _) => Scalar::Null,
        (_, t) if t.is_numeric() => match v {
            Value::Number(n) => n.as_i64().map_or(Scalar::Null, Scalar::Int),
            Value::String(s) => s.parse().map_or(Scalar::Null, Scalar::Int),
            _ => Scalar::Null,
        },
        (Value::Bool(b), FieldType::Boolean) => Scalar::Bool(*b),
        (Value::String(s), FieldType::DateTime) => {
            parse_datetime(s).map_or(Scalar::Null, Scalar::DateTime)
        }
        (Value::String(s), FieldType::Date) => parse_date(s).map_or(Scalar::Null, Scalar::Date),
        (Value::String(s), _) => Scalar::Str(s.to_lowercase()),
        (Value::Number(n), _) => Scalar::Str(n.to_string()),
        (Value::Bool(b), _) => Scalar::Bool(*b),
        _ => Scalar::Null,
    }
}

/// The text a string operator sees for a stored value (None for NULL).
pub fn stored_text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(if *b { "1" } else { "0" }.to_owned()),
        other => Some(other.to_string()),
    }
}

/// Evaluates a `$now` expression: `$now`, `$now.date`, `$now.time`, each optionally followed by
/// `+N unit` or `-N unit` (second, minute, hour, day, week, month, year; singular or plural).
pub fn eval_now(expr: &str, now: NaiveDateTime) -> Result<Scalar, String> {
    let bad = || format!("invalid $now expression: {expr:?}");
    let rest = expr.trim().strip_prefix("$now").ok_or_else(bad)?;
    let (base, rest) = if let Some(r) = rest.strip_prefix(".date") {
        (Scalar::DateTime(now.date().and_time(NaiveTime::MIN)), r)
    } else if let Some(r) = rest.strip_prefix(".time") {
        (Scalar::Time(now.time()), r)
    } else {
        (Scalar::DateTime(now), rest)
    };
    let rest = rest.trim();
    if rest.is_empty() {
        return Ok(base);
    }
    let (sign, rest) = match rest.as_bytes()[0] {
        b'+' => (1i64, &rest[1..]),
        b'-' => (-1i64, &rest[1..]),
        _ => return Err(bad()),
    };
    let mut parts = rest.split_whitespace();
    let n: i64 = parts.next().and_then(|n| n.parse().ok()).ok_or_else(bad)?;
    let unit = parts.next().ok_or_else(bad)?;
    if parts.next().is_some() || n > 100_000 {
        return Err(bad());
    }
    let n = sign * n;
    let unit = unit.strip_suffix('s').unwrap_or(unit);
    let shift_dt = |dt: NaiveDateTime| -> Option<NaiveDateTime> {
        match unit {
            "second" => dt.checked_add_signed(Duration::seconds(n)),
            "minute" => dt.checked_add_signed(Duration::minutes(n)),
            "hour" => dt.checked_add_signed(Duration::hours(n)),
            "day" => dt.checked_add_signed(Duration::days(n)),
            "week" => dt.checked_add_signed(Duration::weeks(n)),
            "month" | "year" => {
                let months = if unit == "year" { n * 12 } else { n };
                let m = Months::new(u32::try_from(months.unsigned_abs()).ok()?);
                if months >= 0 {
                    dt.checked_add_months(m)
                } else {
                    dt.checked_sub_months(m)
                }
            }
            _ => None,
        }
    };
    match base {
        Scalar::DateTime(dt) => shift_dt(dt).map(Scalar::DateTime).ok_or_else(bad),
        Scalar::Time(t) => shift_dt(now.date().and_time(t))
            .map(|dt| Scalar::Time(dt.time()))
            .ok_or_else(bad),
        _ => unreachable!("$now bases are datetimes or times"),
    }
}

const OPERATORS: &[&str] = &[
    "$eq",
    "$ne",
    "$gt",
    "$gte",
    "$lt",
    "$lte",
    "$in",
    "$nin",
    "$between",
    "$not.between",
    "$is.null",
    "$not.null",
    "$beg",
    "$end",
    "$cts",
    "$not.cts",
    "$like",
    "$regex",
];

/// Parses a filter. `lookup` gives the type of a field path (`subject`, `account.name`) or `None` when the
/// module has no such field; `now` is the clock `$now` expressions read.
pub fn parse(
    v: &Value,
    lookup: &dyn Fn(&str) -> Option<FieldType>,
    now: NaiveDateTime,
) -> Result<Expr, String> {
    Parser { lookup, now }.expr(v)
}

struct Parser<'a> {
    lookup: &'a dyn Fn(&str) -> Option<FieldType>,
    now: NaiveDateTime,
}

impl Parser<'_> {
    fn expr(&self, v: &Value) -> Result<Expr, String> {
        let obj = v
            .as_object()
            .ok_or_else(|| format!("filter expression must be an object, got {v}"))?;
        if obj.is_empty() {
            return Err("empty filter object".into());
        }
        let mut parts = Vec::with_capacity(obj.len());
        for (key, arg) in obj {
            parts.push(self.entry(key, arg)?);
        }
        Ok(if parts.len() == 1 {
            parts.pop().expect("one part")
        } else {
            Expr::And(parts)
        })
    }

    fn list(&self, op: &str, arg: &Value) -> Result<Vec<Expr>, String> {
        let items = arg
            .as_array()
            .ok_or_else(|| format!("{op} takes an array of expressions"))?;
        if items.is_empty() {
            return Err(format!("{op} takes a non-empty array"));
        }
        items.iter().map(|i| self.expr(i)).collect()
    }

    fn entry(&self, key: &str, arg: &Value) -> Result<Expr, String> {
        match key {
            "$and" => return Ok(Expr::And(self.list(key, arg)?)),
            "$or" => return Ok(Expr::Or(self.list(key, arg)?)),
            "$nor" => return Ok(Expr::Nor(self.list(key, arg)?)),
            "$not" => return Ok(Expr::Not(Box::new(self.expr(arg)?))),
            _ => {}
        }
        if key.starts_with('$') {
            if !OPERATORS.contains(&key) {
                return Err(format!("unknown filter operator {key}"));
            }
            let args = arg
                .as_array()
                .ok_or_else(|| format!("{key} takes an array [field, ...]"))?;
            let field = args
                .first()
                .and_then(Value::as_str)
                .ok_or_else(|| format!("{key}: the first element must be a field name"))?;
            return self.comparison(key, field, &args[1..]);
        }
        // Shorthand {"field": value} is $eq.
        if arg.is_array() || arg.is_object() {
            return Err(format!("shorthand value for {key} must be a scalar"));
        }
        self.comparison("$eq", key, std::slice::from_ref(arg))
    }

    fn field(&self, path: &str) -> Result<FieldType, String> {
        if path.is_empty() || path.split('.').count() > 2 {
            return Err(format!("invalid field {path:?}"));
        }
        (self.lookup)(path).ok_or_else(|| format!("unknown field {path:?}"))
    }

    fn comparison(&self, op: &str, path: &str, args: &[Value]) -> Result<Expr, String> {
        let ty = self.field(path)?;
        let arity = |n: usize| -> Result<(), String> {
            if args.len() == n {
                Ok(())
            } else {
                Err(format!("{op} takes {} argument(s) after the field", n))
            }
        };
        let test = match op {
            "$eq" | "$ne" | "$gt" | "$gte" | "$lt" | "$lte" => {
                arity(1)?;
                let cmp = match op {
                    "$eq" => CmpOp::Eq,
                    "$ne" => CmpOp::Ne,
                    "$gt" => CmpOp::Gt,
                    "$gte" => CmpOp::Gte,
                    "$lt" => CmpOp::Lt,
                    _ => CmpOp::Lte,
                };
                match (&args[0], cmp) {
                    (Value::Null, CmpOp::Eq) => Test::IsNull(true),
                    (Value::Null, CmpOp::Ne) => Test::IsNull(false),
                    (Value::Null, _) => return Err(format!("{op} cannot compare with null")),
                    (v, _) => Test::Cmp(cmp, self.operand(path, ty, v)?),
                }
            }
            "$in" | "$nin" => {
                arity(1)?;
                let vals = args[0]
                    .as_array()
                    .ok_or_else(|| format!("{op} takes [field, [values…]]"))?;
                if vals.is_empty() {
                    return Err(format!("{op} takes a non-empty list of values"));
                }
                let vals = vals
                    .iter()
                    .map(|v| match v {
                        Value::Null => Ok(Scalar::Null),
                        v => self.operand(path, ty, v),
                    })
                    .collect::<Result<_, _>>()?;
                Test::In(vals, op == "$in")
            }
            "$between" | "$not.between" => {
                arity(2)?;
                let lo = self.operand(path, ty, &args[0])?;
                let hi = self.operand(path, ty, &args[1])?;
                Test::Between(lo, hi, op == "$between")
            }
            "$is.null" | "$not.null" => {
                arity(0)?;
                Test::IsNull(op == "$is.null")
            }
            _ => {
                arity(1)?;
                let pat = args[0]
                    .as_str()
                    .ok_or_else(|| format!("{op} takes a string pattern"))?;
                let (source, positive) = match op {
                    "$beg" => (format!("^{}", regex::escape(pat)), true),
                    "$end" => (format!("{}$", regex::escape(pat)), true),
                    "$cts" => (regex::escape(pat), true),
                    "$not.cts" => (regex::escape(pat), false),
                    "$like" => (like_to_regex(pat), true),
                    _ => (pat.to_owned(), true),
                };
                let re = RegexBuilder::new(&source)
                    .case_insensitive(true)
                    .dot_matches_new_line(true)
                    .size_limit(1 << 20)
                    .build()
                    .map_err(|e| format!("{op}: invalid pattern {pat:?}: {e}"))?;
                Test::Text(re, positive)
            }
        };
        Ok(Expr::Test {
            path: path.to_owned(),
            ty,
            test,
        })
    }

    fn operand(&self, path: &str, ty: FieldType, v: &Value) -> Result<Scalar, String> {
        let bad = || format!("invalid value {v} for field {path:?}");
        if let Some(s) = v.as_str()
            && s.trim_start().starts_with("$now")
        {
            if !matches!(ty, FieldType::DateTime | FieldType::Date) {
                return Err(format!("$now used with non-date field {path:?}"));
            }
            let n = eval_now(s, self.now)?;
            return Ok(match (n, ty) {
                (Scalar::DateTime(dt), FieldType::Date) => Scalar::Date(dt.date()),
                (n, _) => n,
            });
        }
        match ty {
            t if t.is_numeric() => match v {
                Value::Number(n) => n.as_i64().map(Scalar::Int).ok_or_else(bad),
                Value::String(s) => s.trim().parse().map(Scalar::Int).map_err(|_| bad()),
                _ => Err(bad()),
            },
            FieldType::Boolean => match v {
                Value::Bool(b) => Ok(Scalar::Bool(*b)),
                Value::Number(n) if n.as_i64() == Some(0) => Ok(Scalar::Bool(false)),
                Value::Number(n) if n.as_i64() == Some(1) => Ok(Scalar::Bool(true)),
                Value::String(s) if s == "0" || s == "false" => Ok(Scalar::Bool(false)),
                Value::String(s) if s == "1" || s == "true" => Ok(Scalar::Bool(true)),
                _ => Err(bad()),
            },
            FieldType::DateTime => v
                .as_str()
                .and_then(parse_datetime)
                .map(Scalar::DateTime)
                .ok_or_else(bad),
            FieldType::Date => v
                .as_str()
                .and_then(|s| parse_date(s).or_else(|| parse_datetime(s).map(|d| d.date())))
                .map(Scalar::Date)
                .ok_or_else(bad),
            _ => match v {
                Value::String(s) => Ok(Scalar::Str(s.to_lowercase())),
                Value::Number(n) => Ok(Scalar::Str(n.to_string())),
                _ => Err(bad()),
            },
        }
    }
}

/// SQL LIKE → an anchored regex: `%` any run, `_` one character, `\` escapes the next character.
pub fn like_to_regex(pat: &str) -> String {
    let mut out = String::from("^");
    let mut chars = pat.chars();
    while let Some(c) = chars.next() {
        match c {
            '%' => out.push_str(".*"),
            '_' => out.push('.'),
            '\\' => {
                if let Some(n) = chars.next() {
                    out.push_str(&regex::escape(&n.to_string()));
                }
            }
            c => out.push_str(&regex::escape(&c.to_string())),
        }
    }
    out.push('$');
    out
}

/// Three-valued AND/OR over an iterator of results.
fn all(items: impl Iterator<Item = Option<bool>>) -> Option<bool> {
    let mut unknown = false;
    for i in items {
        match i {
            Some(false) => return Some(false),
            None => unknown = true,
            Some(true) => {}
        }
    }
    if unknown { None } else { Some(true) }
}

fn any(items: impl Iterator<Item = Option<bool>>) -> Option<bool> {
    let mut unknown = false;
    for i in items {
        match i {
            Some(true) => return Some(true),
            None => unknown = true,
            Some(false) => {}
        }
    }
    if unknown { None } else { Some(false) }
}

impl Expr {
    /// Evaluates the filter on one record. `values(path)` returns the stored value(s) at the path: one for
    /// an own field or a to-one link (NULL when unlinked), one per linked record for a many-to-many path.
    /// `Some(true)` is a match; `None` is SQL's unknown.
    pub fn eval(&self, values: &dyn Fn(&str) -> Vec<Value>) -> Option<bool> {
        match self {
            Expr::And(xs) => all(xs.iter().map(|x| x.eval(values))),
            Expr::Or(xs) => any(xs.iter().map(|x| x.eval(values))),
            Expr::Nor(xs) => any(xs.iter().map(|x| x.eval(values))).map(|b| !b),
            Expr::Not(x) => x.eval(values).map(|b| !b),
            Expr::Test { path, ty, test } => {
                let vals = values(path);
                if vals.is_empty() {
                    return test.eval(&Value::Null, *ty);
                }
                any(vals.iter().map(|v| test.eval(v, *ty)))
            }
        }
    }

    pub fn matches(&self, values: &dyn Fn(&str) -> Vec<Value>) -> bool {
        self.eval(values) == Some(true)
    }

    /// Every field path the filter reads.
    pub fn paths(&self, out: &mut Vec<String>) {
        match self {
            Expr::And(xs) | Expr::Or(xs) | Expr::Nor(xs) => xs.iter().for_each(|x| x.paths(out)),
            Expr::Not(x) => x.paths(out),
            Expr::Test { path, .. } => out.push(path.clone()),
        }
    }
}

impl Test {
    fn eval(&self, v: &Value, ty: FieldType) -> Option<bool> {
        match self {
            Test::IsNull(want) => Some(v.is_null() == *want),
            Test::Text(re, positive) => stored_text(v).map(|t| re.is_match(&t) == *positive),
            Test::Cmp(op, operand) => {
                let s = stored_scalar(v, ty);
                if s == Scalar::Null {
                    return None;
                }
                let ord = s.compare(operand)?;
                Some(match op {
                    CmpOp::Eq => ord == Ordering::Equal,
                    CmpOp::Ne => ord != Ordering::Equal,
                    CmpOp::Gt => ord == Ordering::Greater,
                    CmpOp::Gte => ord != Ordering::Less,
                    CmpOp::Lt => ord == Ordering::Less,
                    CmpOp::Lte => ord != Ordering::Greater,
                })
            }
            Test::In(list, positive) => {
                let s = stored_scalar(v, ty);
                if s == Scalar::Null {
                    return None;
                }
                // SQL: x IN (a, NULL) is true when x = a, else unknown; NOT IN negates that.
                let hit = any(list.iter().map(|item| match item {
                    Scalar::Null => None,
                    item => s.compare(item).map(|o| o == Ordering::Equal),
                }));
                hit.map(|h| h == *positive)
            }
            Test::Between(lo, hi, positive) => {
                let s = stored_scalar(v, ty);
                if s == Scalar::Null {
                    return None;
                }
                let inside =
                    s.compare(lo)? != Ordering::Less && s.compare(hi)? != Ordering::Greater;
                Some(inside == *positive)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> NaiveDateTime {
        parse_datetime("2026-11-25 14:30:00").unwrap()
    }

    fn lookup(p: &str) -> Option<FieldType> {
        Some(match p {
            "id" => FieldType::Id,
            "subject" => FieldType::String,
            "start_date" => FieldType::DateTime,
            "private" => FieldType::Boolean,
            "status" => FieldType::Picklist,
            "contacts.last_name" => FieldType::String,
            _ => return None,
        })
    }

    fn check(filter: Value, rec: Value) -> bool {
        let e = parse(&filter, &lookup, now()).unwrap();
        e.matches(
            &|p| match rec.pointer(&format!("/{}", p.replace('.', "/"))) {
                Some(Value::Array(a)) => a.clone(),
                Some(v) => vec![v.clone()],
                None => vec![Value::Null],
            },
        )
    }

    #[test]
    fn now_expressions_shift_by_calendar_units() {
        let n = now();
        assert_eq!(
            eval_now("$now -7 days", n).unwrap(),
            Scalar::DateTime(parse_datetime("2026-11-18 14:30:00").unwrap())
        );
        assert_eq!(
            eval_now("$now.date +1 month", n).unwrap(),
            Scalar::DateTime(parse_datetime("2026-12-25 00:00:00").unwrap())
        );
        assert_eq!(
            eval_now("$now.time +2 hours", n).unwrap(),
            Scalar::Time(NaiveTime::from_hms_opt(16, 30, 0).unwrap())
        );
        assert!(eval_now("$now +7 fortnights", n).is_err());
        assert!(eval_now("$nowish", n).is_err());
    }

    #[test]
    fn ne_does_not_match_null_like_sql() {
        assert!(!check(
            json!({"$ne": ["status", "Valmis"]}),
            json!({"status": null})
        ));
        assert!(check(
            json!({"$ne": ["status", "Valmis"]}),
            json!({"status": "Avoin"})
        ));
        assert!(!check(
            json!({"$not": {"$eq": ["status", "x"]}}),
            json!({"status": null})
        ));
    }

    #[test]
    fn text_operators_are_case_insensitive() {
        let r = json!({"subject": "Palaveri Virtasen kanssa"});
        assert!(check(json!({"$beg": ["subject", "palaveri"]}), r.clone()));
        assert!(check(json!({"$end": ["subject", "KANSSA"]}), r.clone()));
        assert!(check(
            json!({"$like": ["subject", "%virta_en%"]}),
            r.clone()
        ));
        assert!(!check(json!({"$like": ["subject", "virta%"]}), r.clone()));
        assert!(check(
            json!({"$regex": ["subject", "v[a-z]+sen"]}),
            r.clone()
        ));
        assert!(check(json!({"subject": "palaveri virtasen kanssa"}), r));
    }

    #[test]
    fn datetimes_compare_as_time_and_accept_now() {
        let r = json!({"start_date": "2026-11-20 09:00:00"});
        assert!(check(
            json!({"$gte": ["start_date", "$now -7 days"]}),
            r.clone()
        ));
        assert!(!check(
            json!({"$gte": ["start_date", "$now.date"]}),
            r.clone()
        ));
        assert!(check(
            json!({"$between": ["start_date", "2026-11-20", "2026-11-20T09:00:00"]}),
            r
        ));
    }

    #[test]
    fn many_relation_path_matches_any_linked_record() {
        let r = json!({"contacts": {"last_name": ["Virtanen", "Korhonen"]}});
        assert!(check(json!({"contacts.last_name": "korhonen"}), r.clone()));
        assert!(!check(json!({"contacts.last_name": "Mäkinen"}), r));
    }

    #[test]
    fn malformed_filters_are_rejected_with_a_reason() {
        for bad in [
            json!({}),
            json!({"$and": []}),
            json!({"$eq": ["subject"]}),
            json!({"$eq": [1, "x"]}),
            json!({"$foo": ["subject", "x"]}),
            json!({"$in": ["subject", []]}),
            json!({"nope": "x"}),
            json!({"$gt": ["id", "abc"]}),
            json!({"$regex": ["subject", "("]}),
            json!({"subject": ["a"]}),
        ] {
            assert!(parse(&bad, &lookup, now()).is_err(), "{bad} accepted");
        }
    }
}
