//! The task pane's JSON codec for the types of this crate: the same wire format as their serde derives,
//! without serde's generic machinery.
//!
//! Why not serde in the pane: the pane's download budget is 200 KB gzipped, and serde_json's
//! deserializers, monomorphised for every answer type, were the largest part of the WASM that is not
//! Leptos (about 30 KB gzipped). Here every type is read from one [`Json`] tree by a few lines of
//! non-generic code. The server keeps serde (with `deny_unknown_fields` on requests, OpenAPI schemas).
//!
//! The two cannot drift apart silently:
//! * [`wire_struct!`] builds each struct with a struct literal and [`wire_enum!`] matches every variant,
//!   so a field or variant added to a type does not compile until it is added here;
//! * the tests below send a sample of every type through serde one way and this codec the other way
//!   (and back), including strings that need escaping, so names and shapes must agree.

pub mod json;
mod types;

use std::collections::BTreeSet;

use chrono::{DateTime, TimeZone, Utc};

pub use json::{Json, SyntaxError, parse};

/// A JSON document that does not have the shape of the expected type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireError {
    /// Where, as member names from the outside in (`"relations.accounts"`); empty for the whole value.
    pub path: String,
    /// What was expected there, or what was wrong.
    pub expected: &'static str,
}

impl WireError {
    pub(crate) fn expected(expected: &'static str) -> Self {
        Self {
            path: String::new(),
            expected,
        }
    }

    fn within(mut self, name: &str) -> Self {
        self.path = if self.path.is_empty() {
            name.to_owned()
        } else {
            format!("{name}.{}", self.path)
        };
        self
    }
}

impl std::fmt::Display for WireError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() {
            write!(f, "expected {}", self.expected)
        } else {
            write!(f, "{}: expected {}", self.path, self.expected)
        }
    }
}

impl std::error::Error for WireError {}

/// A value read from JSON.
pub trait FromJson: Sized {
    fn from_json(v: &Json) -> Result<Self, WireError>;

    /// The value of an absent member: `None` (an error) except for `Option`, which is `None` — the
    /// same rule as serde's derive.
    fn absent() -> Option<Self> {
        None
    }

    /// Any value of the type, standing in for a member that failed to read while the rest of its
    /// object is read (see [`Members`]); never returned to a caller.
    fn placeholder() -> Self;
}

/// Reads the members of one object into a struct literal. A member that fails to read is remembered
/// (the first one) and replaced by a placeholder, so the literal is built without an early exit per
/// field — whose clean-up code was most of the decoders' WASM — and [`Members::finish`] returns the
/// error instead of the struct.
pub struct Members<'a> {
    v: &'a Json,
    err: Option<WireError>,
}

impl<'a> Members<'a> {
    pub fn new(v: &'a Json) -> Result<Self, WireError> {
        match v {
            Json::Obj(_) => Ok(Self { v, err: None }),
            _ => Err(WireError::expected("an object")),
        }
    }

    /// A member that must be there (or is an `Option`).
    pub fn req<T: FromJson>(&mut self, name: &str) -> T {
        let r = field(self.v, name);
        self.keep(r)
    }

    /// A member that takes its default when absent (`#[serde(default)]`).
    pub fn or_default<T: FromJson + Default>(&mut self, name: &str) -> T {
        let r = field_or_default(self.v, name);
        self.keep(r)
    }

    fn keep<T: FromJson>(&mut self, r: Result<T, WireError>) -> T {
        r.unwrap_or_else(|e| {
            self.err.get_or_insert(e);
            T::placeholder()
        })
    }

    /// `value`, unless a member failed to read.
    pub fn finish<T>(self, value: T) -> Result<T, WireError> {
        match self.err {
            None => Ok(value),
            Some(e) => Err(e),
        }
    }
}

/// A value written as JSON.
pub trait ToJson {
    fn write_json(&self, out: &mut String);

    fn to_json(&self) -> String {
        let mut out = String::new();
        self.write_json(&mut out);
        out
    }
}

/// Parses `text` and reads a `T` from it.
pub fn from_str<T: FromJson>(text: &str) -> Result<T, WireError> {
    let v = parse(text).map_err(|_| WireError::expected("JSON"))?;
    T::from_json(&v)
}

/// Member `name` of object `v` (absent: [`FromJson::absent`]).
pub fn field<T: FromJson>(v: &Json, name: &str) -> Result<T, WireError> {
    match v.get(name) {
        Some(x) => T::from_json(x).map_err(|e| e.within(name)),
        None => T::absent().ok_or_else(|| WireError::expected("a value").within(name)),
    }
}

/// Member `name` of object `v`, or `T::default()` when absent (serde's `#[serde(default)]`).
pub fn field_or_default<T: FromJson + Default>(v: &Json, name: &str) -> Result<T, WireError> {
    match v.get(name) {
        Some(x) => T::from_json(x).map_err(|e| e.within(name)),
        None => Ok(T::default()),
    }
}

/// Writes `"name":value`, after a comma unless it is the first member.
pub fn member<T: ToJson + ?Sized>(out: &mut String, name: &str, v: &T) {
    if !out.ends_with('{') {
        out.push(',');
    }
    json::write_str(out, name);
    out.push(':');
    v.write_json(out);
}

/// `FromJson` and `ToJson` for a struct with named fields: every field, the ones after `default:`
/// taking their `Default` when absent (`#[serde(default)]`).
macro_rules! wire_struct {
    ($ty:ident { $($f:ident),* $(,)? } $(default: { $($d:ident),* $(,)? })?) => {
        impl $crate::wire::FromJson for $ty {
            fn from_json(v: &$crate::wire::Json) -> Result<Self, $crate::wire::WireError> {
                let mut m = $crate::wire::Members::new(v)?;
                let value = $ty {
                    $($f: m.req(stringify!($f)),)*
                    $($($d: m.or_default(stringify!($d)),)*)?
                };
                m.finish(value)
            }

            fn placeholder() -> Self {
                $ty {
                    $($f: $crate::wire::FromJson::placeholder(),)*
                    $($($d: Default::default(),)*)?
                }
            }
        }
        impl $crate::wire::ToJson for $ty {
            fn write_json(&self, out: &mut String) {
                out.push('{');
                $($crate::wire::member(out, stringify!($f), &self.$f);)*
                $($($crate::wire::member(out, stringify!($d), &self.$d);)*)?
                out.push('}');
            }
        }
    };
}

/// `FromJson` and `ToJson` for a fieldless enum written as its snake_case name; with `other:`, an
/// unknown name reads as that variant (`#[serde(other)]`).
macro_rules! wire_enum {
    ($ty:ident { $first:ident = $first_name:literal $(, $v:ident = $name:literal)* $(,)? } $(other: $other:ident)?) => {
        impl $crate::wire::FromJson for $ty {
            fn placeholder() -> Self {
                $ty::$first
            }

            fn from_json(v: &$crate::wire::Json) -> Result<Self, $crate::wire::WireError> {
                let wrong = || $crate::wire::WireError::expected(concat!("a ", stringify!($ty), " name"));
                let $crate::wire::Json::Str(s) = v else {
                    return Err(wrong());
                };
                Ok(match s.as_str() {
                    $first_name => $ty::$first,
                    $($name => $ty::$v,)*
                    $(_ => $ty::$other,)?
                    #[allow(unreachable_patterns)]
                    _ => return Err(wrong()),
                })
            }
        }
        impl $crate::wire::ToJson for $ty {
            fn write_json(&self, out: &mut String) {
                $crate::wire::json::write_str(out, match self {
                    $ty::$first => $first_name,
                    $($ty::$v => $name,)*
                });
            }
        }
    };
}
pub(crate) use {wire_enum, wire_struct};

impl FromJson for String {
    fn from_json(v: &Json) -> Result<Self, WireError> {
        match v {
            Json::Str(s) => Ok(s.clone()),
            _ => Err(WireError::expected("a string")),
        }
    }

    fn placeholder() -> Self {
        String::new()
    }
}

impl ToJson for String {
    fn write_json(&self, out: &mut String) {
        json::write_str(out, self);
    }
}

impl ToJson for str {
    fn write_json(&self, out: &mut String) {
        json::write_str(out, self);
    }
}

impl FromJson for bool {
    fn from_json(v: &Json) -> Result<Self, WireError> {
        match v {
            Json::Bool(b) => Ok(*b),
            _ => Err(WireError::expected("true or false")),
        }
    }

    fn placeholder() -> Self {
        false
    }
}

impl ToJson for bool {
    fn write_json(&self, out: &mut String) {
        out.push_str(if *self { "true" } else { "false" });
    }
}

/// Unsigned integers: a JSON number without fraction or exponent that fits (as serde_json reads them).
fn unsigned(v: &Json) -> Result<u64, WireError> {
    match v {
        Json::Num(n) => n.parse().map_err(|_| WireError::expected("a whole number")),
        _ => Err(WireError::expected("a whole number")),
    }
}

macro_rules! wire_unsigned {
    ($($t:ty),*) => {$(
        impl FromJson for $t {
            fn from_json(v: &Json) -> Result<Self, WireError> {
                <$t>::try_from(unsigned(v)?).map_err(|_| WireError::expected("a smaller number"))
            }

            fn placeholder() -> Self {
                0
            }
        }
        impl ToJson for $t {
            fn write_json(&self, out: &mut String) {
                out.push_str(&self.to_string());
            }
        }
    )*};
}
wire_unsigned!(u16, u32, u64);

impl<T: FromJson> FromJson for Option<T> {
    fn from_json(v: &Json) -> Result<Self, WireError> {
        match v {
            Json::Null => Ok(None),
            v => T::from_json(v).map(Some),
        }
    }

    fn absent() -> Option<Self> {
        Some(None)
    }

    fn placeholder() -> Self {
        None
    }
}

impl<T: ToJson> ToJson for Option<T> {
    fn write_json(&self, out: &mut String) {
        match self {
            Some(v) => v.write_json(out),
            None => out.push_str("null"),
        }
    }
}

fn items(v: &Json) -> Result<&[Json], WireError> {
    match v {
        Json::Arr(items) => Ok(items),
        _ => Err(WireError::expected("an array")),
    }
}

fn write_items<'a, T: ToJson + 'a>(out: &mut String, items: impl IntoIterator<Item = &'a T>) {
    out.push('[');
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        item.write_json(out);
    }
    out.push(']');
}

impl<T: FromJson> FromJson for Vec<T> {
    fn from_json(v: &Json) -> Result<Self, WireError> {
        items(v)?.iter().map(T::from_json).collect()
    }

    fn placeholder() -> Self {
        Vec::new()
    }
}

impl<T: ToJson> ToJson for Vec<T> {
    fn write_json(&self, out: &mut String) {
        write_items(out, self);
    }
}

impl<T: FromJson + Ord> FromJson for BTreeSet<T> {
    fn from_json(v: &Json) -> Result<Self, WireError> {
        // Inserted one by one rather than collected: collecting sorts first, which brings a whole
        // stable sort into the pane's WASM for a few activity types.
        let mut set = BTreeSet::new();
        for item in items(v)? {
            set.insert(T::from_json(item)?);
        }
        Ok(set)
    }

    fn placeholder() -> Self {
        BTreeSet::new()
    }
}

impl<T: ToJson> ToJson for BTreeSet<T> {
    fn write_json(&self, out: &mut String) {
        write_items(out, self);
    }
}

/// Instants are RFC 3339 strings (chrono's serde format).
impl FromJson for DateTime<Utc> {
    fn from_json(v: &Json) -> Result<Self, WireError> {
        match v {
            Json::Str(s) => parse_rfc3339(s).ok_or(WireError::expected("an RFC 3339 instant")),
            _ => Err(WireError::expected("an RFC 3339 instant")),
        }
    }

    fn placeholder() -> Self {
        DateTime::<Utc>::MIN_UTC
    }
}

impl ToJson for DateTime<Utc> {
    fn write_json(&self, out: &mut String) {
        json::write_str(
            out,
            &self.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
        );
    }
}

/// An RFC 3339 instant (`2026-11-25T09:00:00Z`, `2026-11-25T11:00:00.5+02:00`) as chrono's
/// `DateTime::parse_from_rfc3339` reads it (a test compares the two on generated input). Read here
/// rather than by chrono's general parser, which was 4 KB of the pane's WASM; chrono still does the
/// calendar arithmetic.
pub fn parse_rfc3339(s: &str) -> Option<DateTime<Utc>> {
    let b = s.as_bytes();
    let num = |from: usize, to: usize| -> Option<u32> {
        let digits = b.get(from..to)?;
        digits.iter().try_fold(0u32, |n, c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    let at = |i: usize, c: u8| b.get(i) == Some(&c);
    let shaped = at(4, b'-')
        && at(7, b'-')
        && matches!(b.get(10), Some(b'T' | b't' | b' '))
        && at(13, b':')
        && at(16, b':');
    if !shaped {
        return None;
    }
    let date = chrono::NaiveDate::from_ymd_opt(num(0, 4)? as i32, num(5, 7)?, num(8, 10)?)?;
    let (hour, minute, mut second) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    let mut i = 19;
    let mut nanos = 0;
    if at(i, b'.') {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            if i - start < 9 {
                nanos = nanos * 10 + u32::from(b[i] - b'0');
            }
            i += 1;
        }
        if i == start {
            return None;
        }
        nanos *= 10u32.pow(9u32.saturating_sub((i - start) as u32));
    }
    // A leap second (`:60`) is kept the way chrono keeps it: as second 59 plus one more second of nanos.
    if second == 60 {
        second = 59;
        nanos += 1_000_000_000;
    }
    let local = date.and_hms_nano_opt(hour, minute, second, nanos)?;
    let offset = match b.get(i)? {
        b'Z' | b'z' if b.len() == i + 1 => 0,
        &sign @ (b'+' | b'-') if b.len() == i + 6 && at(i + 3, b':') => {
            let (h, m) = (num(i + 1, i + 3)?, num(i + 4, i + 6)?);
            if h > 23 || m > 59 {
                return None;
            }
            let secs = i64::from(h * 3600 + m * 60);
            if sign == b'-' { -secs } else { secs }
        }
        _ => return None,
    };
    // Through chrono's offset type, as its parser does (a leap second stays one across the offset).
    chrono::FixedOffset::east_opt(i32::try_from(offset).ok()?)?
        .from_local_datetime(&local)
        .single()
        .map(|t| t.to_utc())
}

/// An empty answer (`204`, read as `null`).
impl FromJson for () {
    fn from_json(v: &Json) -> Result<Self, WireError> {
        match v {
            Json::Null => Ok(()),
            _ => Err(WireError::expected("no content")),
        }
    }

    fn placeholder() -> Self {}
}
