//! Field values: text (borrowed from the input buffer where possible),
//! numbers, booleans, null and nested JSON, with equality of kind and value
//! (`PartialEq`) and `sort`'s order (numbers and numeric-looking text
//! numerically and first, other text by bytes); and the one thing text
//! carries besides its characters, whether it was a JSON string
//! ([`Text::quoted`]), which only `jsonl` and `json` read. Grouping keys
//! compare by the text they print as instead: see `agg::key`.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::ops::Deref;

use crate::numfmt;

/// One value of a record's field.
#[derive(Debug, Clone)]
pub enum Value<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Text<'a>),
    /// A JSON object or array kept whole; dotted names reach into it.
    Json(Box<serde_json::Value>),
}

/// Text: its characters, and whether it was read as a JSON string.
///
/// Every operator treats the two kinds alike (they compare, hash, sort and
/// print the same in `tsv`); only `jsonl` and `json` tell them apart: a
/// JSON string stays a JSON string, while other text (a raw line, and what
/// `parse`, `csv`, `logfmt`, `split` and `map` make) that reads exactly as
/// spate writes a number is written as a JSON number, as Miller does. The
/// flag rides in the padding after the `Cow`: a `Value` is one word larger
/// than it was without it, whichever way the kinds are told apart.
#[derive(Debug, Clone)]
pub struct Text<'a> {
    pub s: Cow<'a, str>,
    /// Read as a JSON string (by `json`, or reached by a dotted name into
    /// a JSON value).
    pub quoted: bool,
}

impl<'a> Text<'a> {
    /// Text made from the data (not a JSON string).
    pub fn made(s: Cow<'a, str>) -> Self {
        Text { s, quoted: false }
    }

    /// A JSON string's text.
    pub fn quoted(s: Cow<'a, str>) -> Self {
        Text { s, quoted: true }
    }

    /// The text when it borrows from the input (for `'a` rather than the
    /// borrow of `self`).
    pub fn borrowed(&self) -> Option<&'a str> {
        match self.s {
            Cow::Borrowed(s) => Some(s),
            Cow::Owned(_) => None,
        }
    }

    pub fn into_owned(self) -> Text<'static> {
        Text {
            s: Cow::Owned(self.s.into_owned()),
            quoted: self.quoted,
        }
    }
}

impl Deref for Text<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.s
    }
}

impl AsRef<str> for Text<'_> {
    fn as_ref(&self) -> &str {
        &self.s
    }
}

/// Equal text is equal whatever its kind (they print the same).
impl PartialEq for Text<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.s == other.s
    }
}

impl Eq for Text<'_> {}

impl PartialEq<str> for Text<'_> {
    fn eq(&self, other: &str) -> bool {
        self.s == other
    }
}

impl PartialEq<&str> for Text<'_> {
    fn eq(&self, other: &&str) -> bool {
        self.s == *other
    }
}

impl<'a> From<Cow<'a, str>> for Text<'a> {
    fn from(s: Cow<'a, str>) -> Self {
        Text::made(s)
    }
}

impl<'a> From<&'a str> for Text<'a> {
    fn from(s: &'a str) -> Self {
        Text::made(Cow::Borrowed(s))
    }
}

impl From<String> for Text<'static> {
    fn from(s: String) -> Self {
        Text::made(Cow::Owned(s))
    }
}

/// A number as read from a value: integers stay integers so that sums of
/// integers print as integers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Num {
    Int(i64),
    Float(f64),
}

impl Num {
    pub fn as_f64(self) -> f64 {
        match self {
            Num::Int(i) => i as f64,
            Num::Float(f) => f,
        }
    }
    pub fn to_value(self) -> Value<'static> {
        match self {
            Num::Int(i) => Value::Int(i),
            Num::Float(f) => Value::Float(f),
        }
    }
    /// Numeric comparison; NaN sorts after every other number.
    pub fn cmp_num(self, other: Num) -> Ordering {
        match (self, other) {
            (Num::Int(a), Num::Int(b)) => a.cmp(&b),
            (a, b) => {
                let (x, y) = (a.as_f64(), b.as_f64());
                x.partial_cmp(&y)
                    .unwrap_or_else(|| x.is_nan().cmp(&y.is_nan()))
            }
        }
    }
}

/// Reads text as a number the way awk's "numeric string" does, but strictly:
/// optional surrounding blanks, an optional sign, digits with an optional
/// fraction and exponent. `inf`, `nan`, hex and empty text are not numbers.
pub fn parse_num(s: &str) -> Option<Num> {
    // most text is no number: told by its first byte, before any trimming
    if !matches!(
        s.as_bytes().first(),
        Some(b'0'..=b'9' | b'-' | b'+' | b'.' | b' ' | b'\t')
    ) {
        return None;
    }
    let t = s.trim_matches(|c: char| c == ' ' || c == '\t');
    let b = t.as_bytes();
    let first = *b.first()?;
    if !(first.is_ascii_digit() || first == b'-' || first == b'+' || first == b'.') {
        return None;
    }
    let digits = if first == b'-' || first == b'+' {
        &b[1..]
    } else {
        b
    };
    if !digits.is_empty() && digits.iter().all(u8::is_ascii_digit) && digits.len() <= 18 {
        // fast path for plain integers (the common case for counts and codes)
        let mut v: i64 = 0;
        for &d in digits {
            v = v * 10 + i64::from(d - b'0');
        }
        return Some(Num::Int(if first == b'-' { -v } else { v }));
    }
    // Rust's float parser also accepts "inf"/"nan"; the first-byte check
    // above and this one keep them out.
    if !digits.iter().any(u8::is_ascii_digit)
        || digits
            .iter()
            .any(|c| c.is_ascii_alphabetic() && *c != b'e' && *c != b'E')
    {
        return None;
    }
    if let Ok(i) = t.parse::<i64>() {
        return Some(Num::Int(i));
    }
    t.parse::<f64>()
        .ok()
        .filter(|f| f.is_finite())
        .map(Num::Float)
}

impl<'a> Value<'a> {
    /// Text made from the data (see [`Text`]).
    pub fn str(s: &'a str) -> Self {
        Value::Str(Text::made(Cow::Borrowed(s)))
    }

    /// Owned text made from the data.
    pub fn owned_str(s: String) -> Value<'static> {
        Value::Str(Text::made(Cow::Owned(s)))
    }

    /// Text made from the data, borrowed or owned.
    pub fn text_of(s: Cow<'a, str>) -> Self {
        Value::Str(Text::made(s))
    }

    /// A JSON string's text (see [`Text::quoted`]).
    pub fn json_str(s: Cow<'a, str>) -> Self {
        Value::Str(Text::quoted(s))
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The value as a number, if it is one or is text that reads as one.
    pub fn as_num(&self) -> Option<Num> {
        match self {
            Value::Int(i) => Some(Num::Int(*i)),
            Value::Float(f) => Some(Num::Float(*f)),
            Value::Str(s) => parse_num(s),
            Value::Bool(_) | Value::Null | Value::Json(_) => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        self.as_num().map(Num::as_f64)
    }

    /// The value's text when it is text, without copying.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The value as text: text as is, numbers in the SPEC's number format,
    /// JSON compact. Borrows when the value already is text.
    pub fn text(&self) -> Cow<'_, str> {
        match self {
            Value::Str(s) => Cow::Borrowed(s),
            _ => {
                let mut out = String::new();
                self.write_text(&mut out);
                Cow::Owned(out)
            }
        }
    }

    /// Appends the value's text form (see [`Value::text`]).
    pub fn write_text(&self, out: &mut String) {
        match self {
            Value::Null => {}
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Int(i) => numfmt::write_int(out, *i),
            Value::Float(f) => numfmt::write_float(out, *f),
            Value::Str(s) => out.push_str(s),
            Value::Json(j) => out.push_str(&j.to_string()),
        }
    }

    pub fn into_owned(self) -> Value<'static> {
        match self {
            Value::Null => Value::Null,
            Value::Bool(b) => Value::Bool(b),
            Value::Int(i) => Value::Int(i),
            Value::Float(f) => Value::Float(f),
            Value::Str(s) => Value::Str(s.into_owned()),
            Value::Json(j) => Value::Json(j),
        }
    }

    pub fn to_owned_value(&self) -> Value<'static> {
        self.clone().into_owned()
    }

    /// Converts a JSON value: scalars become scalars, objects and arrays stay
    /// JSON.
    pub fn from_json(v: serde_json::Value) -> Value<'static> {
        match v {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(b),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            serde_json::Value::String(s) => Value::json_str(Cow::Owned(s)),
            other => Value::Json(Box::new(other)),
        }
    }

    /// The value as JSON (for the jsonl and json formats).
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Int(i) => serde_json::Value::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null),
            Value::Str(s) => serde_json::Value::String(s.to_string()),
            Value::Json(j) => (**j).clone(),
        }
    }

    /// `sort`'s order: numbers and numeric-looking text numerically, before
    /// any other value; other values compare by the bytes of their text;
    /// null (a missing value) last.
    pub fn sort_cmp(&self, other: &Value<'_>) -> Ordering {
        // a missing value (null) sorts after every other value
        match (self.is_null(), other.is_null()) {
            (true, true) => return Ordering::Equal,
            (true, false) => return Ordering::Greater,
            (false, true) => return Ordering::Less,
            _ => {}
        }
        match (self.as_num(), other.as_num()) {
            (Some(a), Some(b)) => a.cmp_num(b).then_with(|| self.text().cmp(&other.text())),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => self.text().as_bytes().cmp(other.text().as_bytes()),
        }
    }
}

/// A value's place in `sort`'s order, computed once so that sorting many
/// rows does not read text as numbers at every comparison. Orders exactly
/// as [`Value::sort_cmp`].
#[derive(Debug, Clone)]
pub struct SortKey<'v> {
    /// 0: a number, 1: other text, 2: null.
    class: u8,
    num: Option<Num>,
    text: Cow<'v, str>,
}

impl<'v> SortKey<'v> {
    pub fn of(v: &'v Value<'_>) -> Self {
        if v.is_null() {
            return SortKey {
                class: 2,
                num: None,
                text: Cow::Borrowed(""),
            };
        }
        let num = v.as_num();
        SortKey {
            class: if num.is_some() { 0 } else { 1 },
            num,
            text: v.text(),
        }
    }

    /// The key of text (a key made of one text value).
    pub fn of_text(t: &'v str) -> Self {
        Self::with_num(t, parse_num(t))
    }

    /// The key of text already read as a number (or not).
    pub fn with_num(t: &'v str, num: Option<Num>) -> Self {
        SortKey {
            class: if num.is_some() { 0 } else { 1 },
            num,
            text: Cow::Borrowed(t),
        }
    }
}

impl Ord for SortKey<'_> {
    fn cmp(&self, o: &Self) -> Ordering {
        self.class
            .cmp(&o.class)
            .then_with(|| match (self.num, o.num) {
                (Some(a), Some(b)) => a.cmp_num(b).then_with(|| self.text.cmp(&o.text)),
                _ => self.text.as_bytes().cmp(o.text.as_bytes()),
            })
    }
}

impl PartialOrd for SortKey<'_> {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

impl PartialEq for SortKey<'_> {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}

impl Eq for SortKey<'_> {}

fn float_key(f: f64) -> u64 {
    if f == 0.0 {
        0
    } else if f.is_nan() {
        f64::NAN.to_bits()
    } else {
        f.to_bits()
    }
}

impl PartialEq<Value<'_>> for Value<'_> {
    fn eq(&self, other: &Value<'_>) -> bool {
        match (self, other) {
            (Value::Null, Value::Null) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::Float(a), Value::Float(b)) => float_key(*a) == float_key(*b),
            (Value::Str(a), Value::Str(b)) => a == b,
            (Value::Json(a), Value::Json(b)) => a == b,
            _ => false,
        }
    }
}

impl Eq for Value<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_num_reads_numbers_and_rejects_words() {
        assert_eq!(parse_num("42"), Some(Num::Int(42)));
        assert_eq!(parse_num("-7"), Some(Num::Int(-7)));
        assert_eq!(parse_num(" 3.5 "), Some(Num::Float(3.5)));
        assert_eq!(parse_num("1e3"), Some(Num::Float(1000.0)));
        assert_eq!(parse_num("007"), Some(Num::Int(7)));
        assert_eq!(parse_num(".5"), Some(Num::Float(0.5)));
        for s in [
            "", "abc", "inf", "nan", "-", "1.2.3", "12abc", "0x10", "+", "e5", "-inf",
        ] {
            assert_eq!(parse_num(s), None, "{s}");
        }
        assert_eq!(parse_num("99999999999999999999"), Some(Num::Float(1e20)));
    }

    #[test]
    fn sort_cmp_puts_numbers_first_and_numerically() {
        let mut v = [
            Value::str("b"),
            Value::str("10"),
            Value::Int(9),
            Value::str("a"),
            Value::Float(9.5),
        ];
        v.sort_by(|a, b| a.sort_cmp(b));
        let t: Vec<String> = v.iter().map(|x| x.text().into_owned()).collect();
        assert_eq!(t, ["9", "9.5", "10", "a", "b"]);
    }

    /// A JSON string and made text of the same characters are one value
    /// to every operator (equal, same order); the kind survives copies, and
    /// JSON's own strings are JSON strings.
    #[test]
    fn text_kinds_compare_alike_and_the_kind_is_kept() {
        let quoted = Value::json_str(Cow::Borrowed("3"));
        let made = Value::str("3");
        assert_eq!(quoted, made);
        assert_eq!(quoted.sort_cmp(&made), Ordering::Equal);
        assert_eq!(quoted.as_num(), Some(Num::Int(3)));
        let kind = |v: &Value<'_>| matches!(v, Value::Str(t) if t.quoted);
        assert!(kind(&quoted.to_owned_value()));
        assert!(kind(&quoted.clone().into_owned()));
        assert!(!kind(&made.to_owned_value()));
        assert!(kind(&Value::from_json(serde_json::json!("x"))));
        assert!(matches!(
            Value::from_json(serde_json::json!(3)),
            Value::Int(3)
        ));
    }

    #[test]
    fn equal_values_across_lifetimes() {
        let owned = Value::owned_str("x".to_string());
        let borrowed = Value::str("x");
        assert_eq!(owned, borrowed);
        assert_eq!(Value::Float(0.0), Value::Float(-0.0));
    }
}
