//! `json [-f FIELD]`: parses `_` (or FIELD) as one JSON object and makes
//! each of its top-level keys a field. Strings borrow from the input line
//! when they hold no escapes; the top level is deserialized straight into
//! the record, and only nested objects and arrays become `serde_json`
//! values (kept whole as [`Value::Json`], reachable through dotted names).

use std::borrow::Cow;
use std::fmt;

use clap::{Arg, ArgMatches};
use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer as _, MapAccess, SeqAccess, Visitor};

use crate::accounting::{Ctx, Reason};
use crate::ops::spark::{Spark, SparkCx, SparkMap, py, py_list, reads_field};
use crate::ops::{BuildCx, Built, Operator, RecordOp, Stage, ValueSlots};
use crate::record::{CURRENT, Record};
use crate::value::{Text, Value};

pub struct Json;

impl Operator for Json {
    fn name(&self) -> &'static str {
        "json"
    }
    fn summary(&self) -> &'static str {
        "Parse _ as a JSON object; each top-level key becomes a field"
    }
    fn args(&self, cmd: clap::Command) -> clap::Command {
        cmd.arg(
            Arg::new("field")
                .short('f')
                .long("field")
                .value_name("FIELD")
                .default_value(CURRENT)
                .help("Parse this field instead of _"),
        )
        .after_help(
            "Strings become text (jsonl and json write them back as strings, even \
             \"3\"); integers in the signed 64-bit range become integers and \
             every other number a float; true and false are booleans, null is empty; nested \
             objects and arrays are kept whole and dotted names reach into them (user.id, \
             items.0). _ is kept. When a key \
             repeats, the last value wins; a key named _ replaces _. With -f, a field that \
             already holds a JSON object (from an earlier json) has its keys lifted as they \
             are.\n\n\
             A line that is not valid JSON, or is valid JSON but not an object, is dropped and \
             counted as invalid JSON (with --strict: exit 1 at that line, with the parser's \
             message).\n\n\
             Examples:\n  \
             spate -i events.jsonl -b eof json then stats -f latency_ms -a mean -g service\n  \
             spate -i events.jsonl json then where level == error then count-by-key service\n  \
             spate -b eof json then count-by-key user.id",
        )
    }
    fn stage(&self) -> Stage {
        Stage::PerRecord
    }
    fn build(&self, m: &ArgMatches, _cx: &BuildCx) -> Result<Built, String> {
        let field = crate::ops::field_or_current(m);
        if field.is_empty() {
            return Err("the field name must not be empty".into());
        }
        Ok(Built::Record(Box::new(JsonOp {
            field,
            keep: None,
            slots: ValueSlots::default(),
        })))
    }
    fn spark(&self) -> Spark {
        Spark::Map(SparkMap {
            reads: reads_field,
            map: to_spark,
        })
    }
}

/// `from_json` on the keys the chain reads (typed, so that a number stays
/// a number: the runtime's `json_fields`); lines that are not a JSON
/// object are dropped.
fn to_spark(m: &ArgMatches, cx: &mut dyn SparkCx) -> Result<(), String> {
    let c = cx.expr(&crate::ops::field_or_current(m));
    let mut paths = Vec::new();
    for name in cx.wanted() {
        let parts: Vec<String> = name.split('.').map(str::to_string).collect();
        if parts.len() > 1
            && parts
                .iter()
                .any(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(format!(
                "'{name}' indexes a JSON array, which --emit pyspark does not support"
            ));
        }
        paths.push((name, parts));
    }
    let spec: Vec<String> = paths
        .iter()
        .map(|(_, parts)| py_list(&parts.iter().map(|p| py(p)).collect::<Vec<_>>()))
        .collect();
    cx.line(format!(
        "df = df.withColumn(\"__j\", json_fields(txt({c}), {}))",
        py_list(&spec)
    ));
    cx.line("df = df.filter(F.col(\"__j\").isNotNull())".into());
    for (i, (name, _)) in paths.iter().enumerate() {
        cx.set_maybe(name, format!("F.col(\"__j\")[{}]", py(&format!("v{i}"))));
    }
    cx.line("df = df.drop(\"__j\")".into());
    cx.open_fields("json");
    Ok(())
}

struct JsonOp {
    field: String,
    /// The only keys to make fields of, when later operators read only
    /// these (see [`RecordOp::keep_only`]): the others' values are checked,
    /// not built.
    keep: Option<Keep>,
    /// For [`RecordOp::values`]: where each kept key's value goes.
    slots: ValueSlots,
}

/// The top-level keys a record needs: the names later operators read, and
/// the first part of each dotted one (`user` for `user.id`).
#[derive(Debug, Clone)]
struct Keep {
    keys: Vec<String>,
    /// Bit `n` set when a key is `n` bytes long (n < 64; bit 63 for the
    /// longer ones): most keys a line has are told apart by their length
    /// alone, without a comparison.
    lengths: u64,
}

impl Keep {
    fn new(names: &[String]) -> Keep {
        let mut keys: Vec<String> = Vec::new();
        for name in names {
            let mut cut = name.len();
            loop {
                let key = &name[..cut];
                if !keys.iter().any(|k| k == key) {
                    keys.push(key.to_string());
                }
                match key.rfind('.') {
                    Some(i) => cut = i,
                    None => break,
                }
            }
        }
        let lengths = keys.iter().fold(0, |m, k| m | Keep::length_bit(k.len()));
        Keep { keys, lengths }
    }

    #[inline]
    fn length_bit(len: usize) -> u64 {
        1 << len.min(63)
    }

    #[inline(always)]
    fn wants(&self, key: &[u8]) -> bool {
        self.find(key).is_some()
    }

    /// The index of `key` among the kept keys.
    #[inline(always)]
    fn find(&self, key: &[u8]) -> Option<usize> {
        if self.lengths & Keep::length_bit(key.len()) == 0 {
            return None;
        }
        self.keys.iter().position(|k| k.as_bytes() == key)
    }

    fn has(&self, key: &[u8]) -> bool {
        self.keys.iter().any(|k| k.as_bytes() == key)
    }
}

/// What there is to parse, taken out of the record so that the record can
/// be written while the text is read.
enum Source<'a> {
    /// Text borrowed from the input: values borrow from it too.
    Borrowed(&'a str),
    /// Text the record owns (a repaired line, a number, ...): parsed from a
    /// copy, values owned.
    Owned(String),
    /// A JSON object an earlier operator already parsed.
    Object(serde_json::Map<String, serde_json::Value>),
    Missing,
}

fn source<'a>(rec: &Record<'a>, field: &str) -> Source<'a> {
    match rec.lookup(field).as_deref() {
        None => Source::Missing,
        Some(Value::Str(Text {
            s: Cow::Borrowed(s),
            ..
        })) => Source::Borrowed(s),
        Some(Value::Json(j)) => match &**j {
            serde_json::Value::Object(m) => Source::Object(m.clone()),
            other => Source::Owned(other.to_string()),
        },
        Some(other) => Source::Owned(other.text().into_owned()),
    }
}

impl RecordOp for JsonOp {
    fn keep_only(&mut self, names: &[String]) {
        self.keep = Some(Keep::new(names));
    }

    fn gives_values(&self, names: &[String]) -> bool {
        // the line itself is parsed, and every name asked for is kept
        let Some(keep) = self.keep.as_ref().filter(|_| self.field == CURRENT) else {
            return false;
        };
        if !names.iter().all(|n| keep.has(n.as_bytes())) {
            return false;
        }
        self.slots.ask(names, keep.keys.iter().map(String::as_str))
    }

    fn values<'t>(&self, text: &'t str, _names: &[String], out: &mut [Option<Value<'t>>]) -> bool {
        let to = self.slots.slots();
        // the record `process` makes: `_` (not asked for), then each key's
        // value, the last of a repeated key winning; only a flat object
        // (scan_flat's) is taken, the rest goes the general way
        scan_flat(text, self.keep.as_ref(), &mut |kept, _, v| {
            if let Some(slot) = kept
                .and_then(|k| to.get(k).copied().flatten())
                .and_then(|i| out.get_mut(i))
            {
                *slot = Some(v);
            }
        })
        .is_some()
    }

    fn process<'a>(&self, mut rec: Record<'a>, out: &mut Vec<Record<'a>>, cx: &mut Ctx) {
        let keep = self.keep.as_ref().filter(|_| cx.project);
        let parsed = match source(&rec, &self.field) {
            Source::Borrowed(s) => {
                if rec.fields.is_empty() {
                    // one allocation for a typical event's keys, not two
                    rec.fields.reserve(if keep.is_some() { 4 } else { 8 });
                }
                parse_object(s, keep, |k, v| rec.set(k, v)).map_err(|e| e.to_string())
            }
            Source::Owned(s) => parse_object(&s, keep, |k, v| {
                rec.set(Cow::Owned(k.into_owned()), v.into_owned())
            })
            .map_err(|e| e.to_string()),
            Source::Object(map) => {
                for (k, v) in map {
                    if keep.is_none_or(|keep| keep.wants(k.as_bytes())) {
                        rec.set(Cow::Owned(k), Value::from_json(v));
                    }
                }
                Ok(())
            }
            Source::Missing => Err(format!("no field '{}'", self.field)),
        };
        match parsed {
            Ok(()) => out.push(rec),
            Err(detail) => cx.drop_line(Reason::InvalidJson, detail),
        }
    }
}

/// Parses `text` as one JSON object (surrounding whitespace allowed,
/// nothing else), handing each top-level key and value to `put` in order.
/// On an error some pairs may already have been handed over.
///
/// The validation is serde_json's own: it rejects exactly what
/// `serde_json::from_str::<serde_json::Map<..>>` rejects, with the same
/// messages (`expected value at line 1 column 5`), depth limit included.
/// A flat object (no nested object or array) is read by [`scan_flat`]
/// first; anything it does not take on is read again by serde_json.
///
/// With `keep`, only the keys it wants are handed over; the others'
/// values are validated alike but not built.
fn parse_object<'de>(
    text: &'de str,
    keep: Option<&Keep>,
    mut put: impl FnMut(Cow<'de, str>, Value<'de>),
) -> Result<(), serde_json::Error> {
    if scan_flat(text, keep, &mut |_, k, v| put(k, v)).is_some() {
        return Ok(());
    }
    // Pairs the scan handed over before giving up are handed over again,
    // in the same order: the record ends up the same.
    let mut de = serde_json::Deserializer::from_str(text);
    match keep {
        None => de.deserialize_map(Top(put))?,
        Some(keep) => de.deserialize_map(Top(|k: Cow<'de, str>, v| {
            if keep.wants(k.as_bytes()) {
                put(k, v);
            }
        }))?,
    }
    de.end()
}

/// The fast path: a top-level object whose values are all strings,
/// numbers, booleans or null, read without serde's machinery. Gives up
/// (`None`) on nested values and on anything invalid, leaving the verdict
/// and the message to serde_json; it accepts only what serde_json accepts,
/// with the same values (numbers follow serde_json's rules: `-0` is a
/// float, integers beyond 64 bits and out of `i64` are floats). `put` is
/// also told a kept key's index in `keep`.
fn scan_flat<'de>(
    text: &'de str,
    keep: Option<&Keep>,
    put: &mut impl FnMut(Option<usize>, Cow<'de, str>, Value<'de>),
) -> Option<()> {
    let b = text.as_bytes();
    let mut i = skip_ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    i = skip_ws(b, i + 1);
    if b.get(i) == Some(&b'}') {
        i += 1;
    } else {
        loop {
            // a key without escapes is looked at as bytes, and made a
            // string only when kept
            let (key, j) = match plain_end(b, i)? {
                Ok(j) => {
                    let key = b.get(i + 1..j)?;
                    match keep.map(|keep| keep.find(key)) {
                        None => (Some((None, Cow::Borrowed(text.get(i + 1..j)?))), j + 1),
                        Some(Some(k)) => {
                            (Some((Some(k), Cow::Borrowed(text.get(i + 1..j)?))), j + 1)
                        }
                        Some(None) => (None, j + 1),
                    }
                }
                Err(()) => {
                    let (key, j) = scan_escaped(text, i)?;
                    match keep.map(|keep| keep.find(key.as_bytes())) {
                        None => (Some((None, key)), j),
                        Some(Some(k)) => (Some((Some(k), key)), j),
                        Some(None) => (None, j),
                    }
                }
            };
            i = skip_ws(b, j);
            if b.get(i) != Some(&b':') {
                return None;
            }
            i = skip_ws(b, i + 1);
            let j = match key {
                Some((kept, key)) => {
                    let (value, j) = scan_scalar(text, i)?;
                    put(kept, key, value);
                    j
                }
                None => skip_scalar(text, i)?,
            };
            i = skip_ws(b, j);
            match b.get(i) {
                Some(b',') => i = skip_ws(b, i + 1),
                Some(b'}') => {
                    i += 1;
                    break;
                }
                _ => return None,
            }
        }
    }
    (skip_ws(b, i) == b.len()).then_some(())
}

#[inline(always)]
fn skip_ws(b: &[u8], i: usize) -> usize {
    // mostly there is none: one comparison says so
    match b.get(i) {
        Some(&c) if c > b' ' => i,
        _ => skip_ws_run(b, i),
    }
}

fn skip_ws_run(b: &[u8], mut i: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = b.get(i) {
        i += 1;
    }
    i
}

/// Where the string starting at `b[i]` (which must be its quote) ends when
/// it has no escape: `Ok` with the index of its closing quote; `Err(())`
/// when it has an escape (to be decoded); `None` when it is no string.
#[inline]
fn plain_end(b: &[u8], i: usize) -> Option<Result<usize, ()>> {
    if b.get(i) != Some(&b'"') {
        return None;
    }
    let mut j = i + 1 + plain_run(b.get(i + 1..)?);
    loop {
        match *b.get(j)? {
            b'"' => return Some(Ok(j)),
            b'\\' => return Some(Err(())),
            c if c < 0x20 => return None,
            _ => j += 1,
        }
    }
}

/// A string starting at `b[i]` (which must be its quote), and the index
/// after its closing quote. Strings with escapes are decoded by serde_json.
fn scan_string(text: &str, i: usize) -> Option<(Cow<'_, str>, usize)> {
    match plain_end(text.as_bytes(), i)? {
        Ok(j) => Some((Cow::Borrowed(text.get(i + 1..j)?), j + 1)),
        Err(()) => scan_escaped(text, i),
    }
}

/// [`scan_string`] for a string with an escape.
#[cold]
fn scan_escaped(text: &str, i: usize) -> Option<(Cow<'_, str>, usize)> {
    let b = text.as_bytes();
    // find the closing quote, skipping every `\x`
    let mut j = i + 1;
    loop {
        match b.get(j)? {
            b'\\' => j += 2,
            b'"' => break,
            _ => j += 1,
        }
    }
    let s: String = serde_json::from_str(text.get(i..=j)?).ok()?;
    Some((Cow::Owned(s), j + 1))
}

/// How many bytes at the start of `b` need no look in a string: not a
/// quote, a backslash or a control character. Eight bytes at a time (a
/// log's strings are short: memchr's setup costs more than it saves);
/// the few left are for the caller's byte loop.
fn plain_run(b: &[u8]) -> usize {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    // a byte of `v` below `n` (n <= 0x80) sets its high bit; the lowest
    // byte set is exact (a borrow only reaches bytes above it)
    let below = |v: u64, n: u8| v.wrapping_sub(ONES * u64::from(n)) & !v & HIGHS;
    let mut j = 0;
    while let Some(word) = b.get(j..j + 8) {
        let mut w = [0u8; 8];
        w.copy_from_slice(word);
        let w = u64::from_le_bytes(w);
        let hit = below(w ^ (ONES * u64::from(b'"')), 1)
            | below(w ^ (ONES * u64::from(b'\\')), 1)
            | below(w, 0x20);
        if hit != 0 {
            return j + (hit.trailing_zeros() / 8) as usize;
        }
        j += 8;
    }
    j
}

/// Where the string, number, boolean or null starting at `b[i]` ends, if
/// [`scan_scalar`] would take it, without valuing it.
fn skip_scalar(text: &str, i: usize) -> Option<usize> {
    let b = text.as_bytes();
    match *b.get(i)? {
        b'"' => match plain_end(b, i)? {
            Ok(j) => Some(j + 1),
            // escapes are checked by decoding them
            Err(()) => scan_escaped(text, i).map(|(_, j)| j),
        },
        b'-' | b'0'..=b'9' => {
            let n = Number::scan(b, i)?;
            if n.surely_finite() {
                return Some(n.end);
            }
            n.value(text, i).map(|_| n.end)
        }
        _ => scan_scalar(text, i).map(|(_, j)| j),
    }
}

/// A string, number, boolean or null starting at `b[i]`, and the index
/// after it.
fn scan_scalar(text: &str, i: usize) -> Option<(Value<'_>, usize)> {
    let b = text.as_bytes();
    let word = |w: &str, v: Value<'static>| {
        b.get(i..i + w.len())
            .filter(|s| *s == w.as_bytes())
            .map(|_| (v, i + w.len()))
    };
    match *b.get(i)? {
        b'"' => scan_string(text, i).map(|(s, j)| (Value::json_str(s), j)),
        b't' => word("true", Value::Bool(true)),
        b'f' => word("false", Value::Bool(false)),
        b'n' => word("null", Value::Null),
        b'-' | b'0'..=b'9' => scan_number(text, i),
        _ => None,
    }
}

/// A number in JSON's grammar, as one pass over it reads it.
struct Number {
    /// The index after it.
    end: usize,
    neg: bool,
    /// Its digits as an integer (exact while `digits` <= 19).
    mantissa: u64,
    /// How many digits it has (integer and fraction parts).
    digits: usize,
    /// How many of them are after the point (`None`: no point).
    frac: Option<usize>,
    exp: bool,
}

impl Number {
    /// The number starting at `b[i]`, if it is one.
    #[inline]
    fn scan(b: &[u8], i: usize) -> Option<Number> {
        let mut n = Number {
            end: i,
            neg: b.get(i) == Some(&b'-'),
            mantissa: 0,
            digits: 0,
            frac: None,
            exp: false,
        };
        let mut j = i + usize::from(n.neg);
        let digits = |j: &mut usize, n: &mut Number| {
            let from = *j;
            while let Some(&c) = b.get(*j).filter(|c| c.is_ascii_digit()) {
                n.mantissa = n
                    .mantissa
                    .wrapping_mul(10)
                    .wrapping_add(u64::from(c - b'0'));
                *j += 1;
            }
            n.digits += *j - from;
            *j - from
        };
        match b.get(j)? {
            b'0' => {
                n.digits = 1;
                j += 1;
            }
            b'1'..=b'9' => {
                digits(&mut j, &mut n);
            }
            _ => return None,
        }
        if b.get(j) == Some(&b'.') {
            j += 1;
            let k = digits(&mut j, &mut n);
            if k == 0 {
                return None;
            }
            n.frac = Some(k);
        }
        if let Some(b'e' | b'E') = b.get(j) {
            n.exp = true;
            j += 1;
            if let Some(b'+' | b'-') = b.get(j) {
                j += 1;
            }
            let d = j;
            while b.get(j).is_some_and(u8::is_ascii_digit) {
                j += 1;
            }
            if j == d {
                return None;
            }
        }
        n.end = j;
        Some(n)
    }

    /// Whether serde_json takes it without valuing it: a number without
    /// exponent and with fewer than 300 digits is finite.
    fn surely_finite(&self) -> bool {
        !self.exp && self.digits < 300
    }

    /// Its value as serde_json values it (`None`: out of range).
    fn value(&self, text: &str, i: usize) -> Option<Value<'static>> {
        const POW10: [f64; 16] = [
            1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
        ];
        if !self.exp && self.digits <= 15 {
            // the digits and the power of ten are exact in an f64 (below
            // 2^53): one division rounds correctly, as a full parse would
            // (Clinger's fast path); integers are exact in an i64
            let m = self.mantissa;
            return Some(match self.frac {
                None if self.neg && m == 0 => Value::Float(-0.0),
                // m < 10^15: no overflow
                None => Value::Int(if self.neg { -(m as i64) } else { m as i64 }),
                Some(k) => {
                    let f = m as f64 / POW10.get(k)?;
                    Value::Float(if self.neg { -f } else { f })
                }
            });
        }
        let tok = text.get(i..self.end)?;
        if self.frac.is_none() && !self.exp {
            match tok.parse::<i64>() {
                // serde_json reads `-0` as the float -0.0
                Ok(0) if self.neg => return Some(Value::Float(-0.0)),
                Ok(v) => return Some(Value::Int(v)),
                Err(_) => {}
            }
        }
        // beyond i64 (as u64 or wider) and every other non-integer: the
        // nearest f64, which is what serde_json's float_roundtrip parse
        // gives
        let f: f64 = tok.parse().ok()?;
        f.is_finite().then_some(Value::Float(f))
    }
}

/// A number in JSON's grammar, valued as serde_json values it.
fn scan_number(text: &str, i: usize) -> Option<(Value<'_>, usize)> {
    let n = Number::scan(text.as_bytes(), i)?;
    Some((n.value(text, i)?, n.end))
}

/// The top-level object: its pairs go straight into the record.
struct Top<F>(F);

impl<'de, F: FnMut(Cow<'de, str>, Value<'de>)> Visitor<'de> for Top<F> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key_seed(KeySeed)? {
            let value = map.next_value_seed(ValueSeed)?;
            (self.0)(key, value);
        }
        Ok(())
    }
}

/// A key, borrowed when it has no escapes.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string key")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
}

/// A top-level value: scalars become record values directly, nested
/// objects and arrays become `serde_json` values.
struct ValueSeed;

impl<'de> DeserializeSeed<'de> for ValueSeed {
    type Value = Value<'de>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Value::Null)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Value::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        // as `Value::from_json` does for nested numbers
        Ok(i64::try_from(v).map_or(Value::Float(v as f64), Value::Int))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Value::Float(v))
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Value::json_str(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Value::json_str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Value::json_str(Cow::Owned(v)))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        let v = serde_json::Value::deserialize(de::value::MapAccessDeserializer::new(map))?;
        Ok(Value::Json(Box::new(v)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        let v = serde_json::Value::deserialize(de::value::SeqAccessDeserializer::new(seq))?;
        Ok(Value::Json(Box::new(v)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::record_op;

    /// Runs one record through `op`: the records out, and the context.
    fn run_rec<'a>(op: &dyn RecordOp, rec: Record<'a>) -> (Vec<Record<'a>>, Ctx) {
        let mut out = Vec::new();
        let mut cx = Ctx::new(true);
        op.process(rec, &mut out, &mut cx);
        (out, cx)
    }

    fn run<'a>(args: &[&str], line: &'a str) -> (Vec<Record<'a>>, Ctx) {
        run_rec(
            record_op(&[&["json"], args].concat())
                .expect("valid json")
                .as_ref(),
            Record::from_line(Cow::Borrowed(line), line),
        )
    }

    /// The record's named fields as `name=text` (JSON compact).
    fn fields(r: &Record<'_>) -> Vec<String> {
        r.fields
            .iter()
            .map(|(n, v)| format!("{n}={}", v.text()))
            .collect()
    }

    fn detail(cx: &Ctx) -> String {
        cx.offence
            .as_ref()
            .map(|o| o.detail.clone())
            .unwrap_or_default()
    }

    #[test]
    fn json_top_level_keys_become_typed_fields() {
        let line = r#"{"ts":"2024-03-10T12:00:00.000Z","service":"auth","latency_ms":61.921,"n":3,"ok":true,"x":null}"#;
        let (out, cx) = run(&[], line);
        assert_eq!(cx.counts.get(Reason::InvalidJson), 0);
        let r = &out[0];
        assert_eq!(
            fields(r),
            [
                "ts=2024-03-10T12:00:00.000Z",
                "service=auth",
                "latency_ms=61.921",
                "n=3",
                "ok=true",
                "x="
            ]
        );
        assert!(matches!(r.get("latency_ms"), Some(Value::Float(f)) if *f == 61.921));
        assert!(matches!(r.get("n"), Some(Value::Int(3))));
        assert!(matches!(r.get("ok"), Some(Value::Bool(true))));
        assert!(matches!(r.get("x"), Some(Value::Null)));
        // _ is kept
        assert_eq!(
            r.get("_").map(|v| v.text().into_owned()).as_deref(),
            Some(line)
        );
    }

    #[test]
    fn json_strings_borrow_from_the_line_unless_escaped() {
        let (out, _) = run(&[], r#"{"plain":"abc","esc":"a\"b\u00e9","k\u0065y":1}"#);
        let r = &out[0];
        assert!(matches!(
            r.get("plain"),
            Some(Value::Str(Text {
                s: Cow::Borrowed("abc"),
                ..
            }))
        ));
        assert!(
            matches!(r.get("esc"), Some(Value::Str(Text { s: Cow::Owned(s), .. })) if s == "a\"bé")
        );
        assert!(
            r.fields
                .iter()
                .any(|(n, _)| matches!(n, Cow::Owned(s) if s == "key"))
        );
        assert!(
            r.fields
                .iter()
                .any(|(n, _)| matches!(n, Cow::Borrowed("plain")))
        );
    }

    #[test]
    fn json_nested_values_are_reachable_by_dotted_names() {
        let (out, _) = run(
            &[],
            r#"{"user":{"id":7,"tags":["a","b"]},"items":[1,{"k":"v"}]}"#,
        );
        let r = &out[0];
        assert!(matches!(r.get("user"), Some(Value::Json(_))));
        let at = |p: &str| r.lookup(p).map(|v| v.text().into_owned());
        assert_eq!(at("user.id").as_deref(), Some("7"));
        assert_eq!(at("user.tags.1").as_deref(), Some("b"));
        assert_eq!(at("items.1.k").as_deref(), Some("v"));
        assert_eq!(at("user").as_deref(), Some(r#"{"id":7,"tags":["a","b"]}"#));
    }

    #[test]
    fn json_big_integers_become_floats() {
        let (out, _) = run(
            &[],
            r#"{"max":9223372036854775807,"over":9223372036854775808,"neg":-9223372036854775809,"big":123456789012345678901234567890}"#,
        );
        let r = &out[0];
        assert!(matches!(r.get("max"), Some(Value::Int(i64::MAX))));
        assert!(matches!(r.get("over"), Some(Value::Float(f)) if *f == 9223372036854775808.0));
        assert!(matches!(r.get("neg"), Some(Value::Float(f)) if *f == -9223372036854775809.0));
        assert!(matches!(r.get("big"), Some(Value::Float(f)) if *f == 1.2345678901234568e29));
    }

    #[test]
    fn json_number_out_of_range_is_invalid() {
        let (out, cx) = run(&[], r#"{"huge":1e400}"#);
        assert!(out.is_empty());
        assert_eq!(cx.counts.get(Reason::InvalidJson), 1);
        assert!(
            detail(&cx).contains("number out of range"),
            "{}",
            detail(&cx)
        );
    }

    #[test]
    fn json_duplicate_keys_last_wins_in_first_place() {
        let (out, _) = run(&[], r#"{"a":1,"b":2,"a":3}"#);
        assert_eq!(fields(&out[0]), ["a=3", "b=2"]);
    }

    #[test]
    fn json_keys_replace_existing_fields_and_underscore() {
        let line = r#"{"a":"new","_":"current"}"#;
        let mut rec = Record::from_line(Cow::Borrowed(line), line);
        rec.set(Cow::Borrowed("a"), Value::str("old"));
        rec.set(Cow::Borrowed("z"), Value::Int(1));
        let (out, _) = run_rec(record_op(&["json"]).expect("valid json").as_ref(), rec);
        assert_eq!(fields(&out[0]), ["a=new", "z=1"]);
        assert_eq!(
            out[0].get("_").map(|v| v.text().into_owned()).as_deref(),
            Some("current")
        );
    }

    #[test]
    fn json_empty_object_and_whitespace() {
        let (out, cx) = run(&[], "  { }\t ");
        assert_eq!(out.len(), 1);
        assert!(out[0].fields.is_empty());
        assert!(cx.offence.is_none());
        let (out, _) = run(&[], " {\"a\" : [ 1 , 2 ] } ");
        assert_eq!(fields(&out[0]), ["a=[1,2]"]);
    }

    #[test]
    fn json_invalid_is_dropped_with_serde_message() {
        let (out, cx) = run(&[], r#"{"a": }"#);
        assert!(out.is_empty());
        assert_eq!(cx.counts.get(Reason::InvalidJson), 1);
        assert_eq!(detail(&cx), "expected value at line 1 column 7");
        for bad in [
            "",
            "   ",
            "{",
            "{\"a\":1",
            "{\"a\":1}}",
            "{\"a\":1} x",
            "{\"a\":1,}",
            "{'a':1}",
            "{\"a\":01}",
            "{\"a\":1.}",
            "{\"a\":\"\\x\"}",
            "{\"a\":\"\\ud800\"}",
            "{\"a\":\"tab\there\"}",
            "{a:1}",
            "{\"a\" 1}",
            "{\"a\":tru}",
            "{\"a\":NaN}",
            "{\"a\":[1,]}",
            "{\"a\":{\"b\":}}",
            "{1:2}",
        ] {
            let (out, cx) = run(&[], bad);
            assert!(out.is_empty(), "{bad:?} was accepted");
            assert_eq!(cx.counts.get(Reason::InvalidJson), 1, "{bad:?}");
            assert!(!detail(&cx).is_empty(), "{bad:?}");
        }
    }

    #[test]
    fn json_non_object_is_dropped() {
        for line in ["[1,2]", "42", "\"s\"", "null", " true "] {
            let (out, cx) = run(&[], line);
            assert!(out.is_empty(), "{line}");
            assert_eq!(cx.counts.get(Reason::InvalidJson), 1);
            assert!(
                detail(&cx).contains("expected a JSON object"),
                "{}",
                detail(&cx)
            );
        }
        let (_, cx) = run(&[], "42");
        assert_eq!(
            detail(&cx),
            "invalid type: integer `42`, expected a JSON object at line 1 column 2"
        );
    }

    /// The drop detail is serde_json's own message for the same text.
    #[test]
    fn json_detail_is_serde_jsons_message() {
        for line in [
            "{\"a\": }",
            "[1]",
            "{\"a\":1} x",
            "",
            "{\"a\":\"\\q\"}",
            "7",
        ] {
            let (_, cx) = run(&[], line);
            let want = serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(line)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert_eq!(
                detail(&cx).replace("a JSON object", "a map"),
                want,
                "{line:?}"
            );
        }
    }

    #[test]
    fn json_deep_nesting_is_invalid_not_a_crash() {
        for depth in [127, 200, 100_000] {
            let line = format!("{{\"a\":{}{}}}", "[".repeat(depth), "]".repeat(depth));
            let (out, cx) = run(&[], &line);
            if depth < 127 {
                assert_eq!(out.len(), 1);
            } else {
                assert!(out.is_empty(), "depth {depth}");
                assert_eq!(cx.counts.get(Reason::InvalidJson), 1);
                assert!(detail(&cx).contains("recursion limit"), "{}", detail(&cx));
            }
        }
        // just inside the limit: the top object plus 127 levels
        let line = format!("{{\"a\":{}{}}}", "[".repeat(126), "]".repeat(126));
        assert_eq!(run(&[], &line).0.len(), 1);
    }

    #[test]
    fn json_field_option_parses_another_field() {
        let line = "x";
        let mut rec = Record::from_line(Cow::Borrowed(line), line);
        rec.set(Cow::Borrowed("payload"), Value::str(r#"{"k":"v","n":1.5}"#));
        let (out, _) = run_rec(
            record_op(&["json", "-f", "payload"])
                .expect("valid json")
                .as_ref(),
            rec,
        );
        assert_eq!(
            fields(&out[0]),
            [r#"payload={"k":"v","n":1.5}"#, "k=v", "n=1.5"]
        );
        assert_eq!(
            out[0].get("_").map(|v| v.text().into_owned()).as_deref(),
            Some("x")
        );
    }

    #[test]
    fn json_field_option_lifts_a_parsed_object() {
        let line = r#"{"user":{"id":7,"name":"ann"},"list":[1]}"#;
        let (first, _) = run(&[], line);
        let rec = first.into_iter().next().expect("parsed");
        let (out, _) = run_rec(
            record_op(&["json", "-f", "user"])
                .expect("valid json")
                .as_ref(),
            rec.clone(),
        );
        assert_eq!(
            fields(&out[0]),
            [
                r#"user={"id":7,"name":"ann"}"#,
                "list=[1]",
                "id=7",
                "name=ann"
            ]
        );
        assert!(matches!(out[0].get("id"), Some(Value::Int(7))));
        // an array is not an object
        let (out, cx) = run_rec(
            record_op(&["json", "-f", "list"])
                .expect("valid json")
                .as_ref(),
            rec,
        );
        assert!(out.is_empty());
        assert_eq!(cx.counts.get(Reason::InvalidJson), 1);
    }

    #[test]
    fn json_field_option_missing_field_is_dropped() {
        let (out, cx) = run(&["-f", "payload"], r#"{"a":1}"#);
        assert!(out.is_empty());
        assert_eq!(cx.counts.get(Reason::InvalidJson), 1);
        assert_eq!(detail(&cx), "no field 'payload'");
    }

    #[test]
    fn json_owned_line_gives_owned_values() {
        // a repaired (invalid UTF-8) line is owned by the record
        let text = String::from("{\"a\":\"\u{fffd}x\",\"b\":2}");
        let rec = Record::from_line(Cow::Owned(text), "");
        let (out, _) = run_rec(record_op(&["json"]).expect("valid json").as_ref(), rec);
        assert_eq!(fields(&out[0]), ["a=\u{fffd}x", "b=2"]);
        let owned = out.into_iter().next().map(Record::into_owned);
        assert!(owned.is_some());
    }

    #[test]
    fn json_number_value_is_not_an_object() {
        let line = "x";
        let mut rec = Record::from_line(Cow::Borrowed(line), line);
        rec.set(Cow::Borrowed("n"), Value::Int(5));
        let (out, cx) = run_rec(
            record_op(&["json", "-f", "n"])
                .expect("valid json")
                .as_ref(),
            rec,
        );
        assert!(out.is_empty());
        assert_eq!(cx.counts.get(Reason::InvalidJson), 1);
    }

    /// Every field as `name: value` in Debug form (so that `-0.0` and
    /// `0.0`, 1 and 1.0 differ), for comparison with serde_json's own parse.
    fn via_op(line: &str) -> Option<Vec<String>> {
        let (out, _) = run(&[], line);
        let r = out.into_iter().next()?;
        Some(
            r.fields
                .iter()
                .map(|(n, v)| format!("{n}: {v:?}"))
                .collect(),
        )
    }

    fn via_serde(line: &str) -> Option<Vec<String>> {
        let m: serde_json::Map<String, serde_json::Value> = serde_json::from_str(line).ok()?;
        Some(
            m.into_iter()
                .map(|(k, v)| format!("{k}: {:?}", Value::from_json(v)))
                .collect(),
        )
    }

    #[test]
    fn json_numbers_are_valued_as_serde_json_values_them() {
        for n in [
            "0",
            "-0",
            "-0.0",
            "0.0",
            "7",
            "-7",
            "1.5",
            "1E+2",
            "1e-2",
            "1e-400",
            "-1e-400",
            "1e400",
            "1e0000000000000000000001",
            "9223372036854775807",
            "9223372036854775808",
            "-9223372036854775808",
            "-9223372036854775809",
            "18446744073709551615",
            "18446744073709551616",
            "123456789012345678901234567890",
            "0.1000000000000000055511151231257827021181583404541015625",
            "1.7976931348623157e308",
            "1.7976931348623159e308",
            "2.4703282292062327e-324",
            "2.4703282292062328e-324",
            "61.921",
            "1564.460",
            "-1564.460",
            "0.5",
            "-0.5",
            "123456789012345",
            "-123456789012345",
            "1234567890123456",
            "12345678901234.5",
            "1234567890123456.7",
            "0.000000000000001",
            "0.0000000000000001",
            "9007199254740993",
            "9007199254740993.0",
            "0.30000000000000004",
            "00",
            "01",
            "1.",
            ".5",
            "+1",
            "1e",
            "1e+",
            "-",
            "--1",
            "0x10",
        ] {
            let line = format!("{{\"n\":{n}}}");
            assert_eq!(via_op(&line), via_serde(&line), "{n}");
        }
    }

    /// `seed` with `edits` applied: (position, character of `alphabet`,
    /// insert / remove / replace).
    fn mutated(seed: &str, edits: &[(usize, usize, u8)], alphabet: &[char]) -> String {
        let mut chars: Vec<char> = seed.chars().collect();
        for &(pos, c, kind) in edits {
            let pos = pos % (chars.len() + 1);
            match kind {
                0 => chars.insert(pos, alphabet[c]),
                1 if pos < chars.len() => {
                    chars.remove(pos);
                }
                _ if pos < chars.len() => chars[pos] = alphabet[c],
                _ => chars.push(alphabet[c]),
            }
        }
        chars.into_iter().collect()
    }

    /// Random edits of valid lines: the operator must accept exactly what
    /// serde_json accepts as an object, and give the same fields.
    #[test]
    fn json_agrees_with_serde_json_on_mutated_inputs() {
        use proptest::prelude::*;
        use proptest::test_runner::{Config, TestRunner};
        let seeds = [
            r#"{"ts":"2024-03-10T12:00:00.000Z","service":"auth","latency_ms":61.921,"user":"u046229"}"#,
            r#"{"a":[1,2,{"b":null}],"c":{"d":"e\"f"},"g":-0,"h":1e5,"i":true,"a":false}"#,
            r#" { "k\u00e9" : "\ud83d\ude00" , "n" : -12.5E-3 , "big" : 18446744073709551616 } "#,
            r#"{"":"","x":"\\\/\b\f\n\r\t"}"#,
            r#"{"n":-0,"m":0.5e-3,"u":18446744073709551615,"w":-9223372036854775808,"s":"\ud83d\ude00x"}"#,
            r#"{"a":"x","b":[],"c":{}}"#,
            r#"{"a":1}"#,
        ];
        let alphabet: Vec<char> = "{}[]\":,.-+eE0123456789 \\u/abtnrfl\u{e9}xd8\t\n\u{1}"
            .chars()
            .collect();
        let edit = (
            0..seeds.len(),
            prop::collection::vec((0usize..200, 0usize..alphabet.len(), 0u8..3), 1..4),
        );
        let mut runner = TestRunner::new(Config {
            cases: 20_000,
            ..Config::default()
        });
        runner
            .run(&edit, |(s, edits)| {
                let line = mutated(seeds[s], &edits, &alphabet);
                prop_assert_eq!(via_op(&line), via_serde(&line), "{}", line);
                Ok(())
            })
            .expect("json agrees with serde_json");
    }

    /// Short decimals take a fast path: any mix of digits and point
    /// positions is valued as serde_json values it.
    #[test]
    fn json_short_decimals_are_valued_as_serde_json_values_them() {
        use proptest::prelude::*;
        let number = (
            any::<bool>(),
            "[0-9]{1,18}",
            prop::option::of("[0-9]{1,18}"),
        );
        proptest!(ProptestConfig::with_cases(20_000), |((neg, int, frac) in number)| {
            let n = format!(
                "{}{int}{}",
                if neg { "-" } else { "" },
                frac.map(|f| format!(".{f}")).unwrap_or_default()
            );
            let line = format!("{{\"n\":{n}}}");
            prop_assert_eq!(via_op(&line), via_serde(&line), "{}", n);
        });
    }

    /// With the keys to keep given, a line is accepted or dropped exactly
    /// as without, and the record has exactly the kept keys' fields.
    #[test]
    fn json_keep_only_validates_alike_and_keeps_the_wanted_keys() {
        use proptest::prelude::*;
        use proptest::test_runner::{Config, TestRunner};
        let seeds = [
            r#"{"ts":"2024-03-10T12:00:00.000Z","service":"auth","latency_ms":61.921,"user":"u046229"}"#,
            r#"{"a":[1,2,{"b":null}],"c":{"d":"e\"f"},"g":-0,"h":1e5,"i":true,"a":false}"#,
            r#" { "k\u00e9" : "\ud83d\ude00" , "n" : -12.5E-3 , "big" : 1e400 } "#,
            r#"{"":"","x":"\\\/\b\f\n\r\t","s":"a\qb"}"#,
            r#"{"n":-0,"m":0.5e-3,"u":18446744073709551615,"g":1e999,"s":"\ud83d\ude00x"}"#,
            r#"{"service":"a","latency_ms":1,"x":null,"service":"b\"","s\u0065rvice":"c","a":2}"#,
        ];
        let keeps: [&[&str]; 5] = [
            &["service", "latency_ms"],
            &["a", "x", "n"],
            &["k\u{e9}", "s"],
            &[],
            &["g", "c.d", "_"],
        ];
        let alphabet: Vec<char> = "{}[]\":,.-+eE0123456789 \\u/abtnrfl\u{e9}xd8\t\n\u{1}"
            .chars()
            .collect();
        let edit = (
            0..seeds.len(),
            0..keeps.len(),
            prop::collection::vec((0usize..200, 0usize..alphabet.len(), 0u8..3), 0..4),
        );
        let mut runner = TestRunner::new(Config {
            cases: 20_000,
            ..Config::default()
        });
        runner
            .run(&edit, |(s, k, edits)| {
                let line = mutated(seeds[s], &edits, &alphabet);
                let names: Vec<String> = keeps[k].iter().map(|n| n.to_string()).collect();
                let keep = Keep::new(&names);
                let mut op = JsonOp {
                    field: CURRENT.to_string(),
                    keep: None,
                    slots: ValueSlots::default(),
                };
                op.keep_only(&names);
                // the values path, asked for the plain names in another
                // order: when it takes the line, `process` makes a record
                // of the same values
                let plain: Vec<String> = names
                    .iter()
                    .rev()
                    .filter(|n| *n != CURRENT && !n.contains('.'))
                    .cloned()
                    .collect();
                let mut vals: Vec<Option<Value<'_>>> = vec![None; plain.len()];
                let direct =
                    (op.gives_values(&plain) && op.values(&line, &plain, &mut vals)).then(|| {
                        plain
                            .iter()
                            .zip(&vals)
                            .filter_map(|(n, v)| Some(format!("{n}: {:?}", v.as_ref()?)))
                            .collect::<Vec<_>>()
                    });
                let mut out = Vec::new();
                let mut cx = Ctx::new(false);
                cx.project = true;
                op.process(
                    Record::from_line(Cow::Borrowed(&line), &line),
                    &mut out,
                    &mut cx,
                );
                let got = out.first().map(|r| {
                    r.fields
                        .iter()
                        .map(|(n, v)| format!("{n}: {v:?}"))
                        .collect::<Vec<_>>()
                });
                let want = via_serde(&line).map(|all| {
                    all.into_iter()
                        .filter(|f| keep.keys.iter().any(|k| f.starts_with(&format!("{k}: "))))
                        .collect::<Vec<_>>()
                });
                if let Some(mut direct) = direct {
                    let mut made = got.clone().unwrap_or_default();
                    made.retain(|f| plain.iter().any(|n| f.starts_with(&format!("{n}: "))));
                    made.sort();
                    direct.sort();
                    prop_assert!(
                        got.is_some(),
                        "{} taken by values, dropped by process",
                        line
                    );
                    prop_assert_eq!(direct, made, "{} values of {:?}", line, plain);
                }
                prop_assert_eq!(got, want, "{} keeping {:?}", line, names);
                Ok(())
            })
            .expect("json with keep_only agrees with serde_json");
    }

    /// Keys to keep: the names read and each dotted name's parents.
    #[test]
    fn json_keep_tells_long_keys_apart() {
        let long = "k".repeat(70);
        let keep = Keep::new(&[long.clone(), "m".repeat(64), "id".to_string()]);
        assert!(keep.wants(long.as_bytes()));
        assert!(keep.wants("m".repeat(64).as_bytes()));
        assert!(keep.wants(b"id"));
        // the same lengths, other bytes; lengths of no kept key
        assert!(
            !keep.wants(
                "k".repeat(69)
                    .as_bytes()
                    .iter()
                    .chain(b"x")
                    .copied()
                    .collect::<Vec<_>>()
                    .as_slice()
            )
        );
        assert!(!keep.wants("j".repeat(64).as_bytes()));
        assert!(!keep.wants("k".repeat(65).as_bytes()));
        assert!(!keep.wants(b"ix"));
        assert!(!keep.wants(b"i"));
        assert!(!keep.wants(b""));
    }

    #[test]
    fn json_keep_takes_dotted_names_parents() {
        let keep = Keep::new(&["user.id".to_string(), "a.b.c".to_string(), "x".to_string()]);
        assert_eq!(keep.keys, ["user.id", "user", "a.b.c", "a.b", "a", "x"]);
        assert!(keep.wants(b"user") && keep.wants(b"a.b") && !keep.wants(b"id"));
    }

    /// The eight-at-a-time scan stops where a byte loop would: at the first
    /// quote, backslash or control character, wherever it lies in a word.
    #[test]
    fn json_plain_run_stops_at_the_first_byte_to_look_at() {
        use proptest::prelude::*;
        use proptest::test_runner::{Config, TestRunner};
        let byte = prop_oneof![
            Just(b'"'),
            Just(b'\\'),
            0u8..0x20,
            0x20u8..=0xff,
            b'a'..=b'z',
            b'a'..=b'z',
            b'a'..=b'z',
        ];
        let mut runner = TestRunner::new(Config {
            cases: 20_000,
            ..Config::default()
        });
        runner
            .run(&prop::collection::vec(byte, 0..40), |b| {
                let naive = b
                    .iter()
                    .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
                    .unwrap_or(b.len());
                let fast = plain_run(&b);
                // whole words: exact; the tail under eight is the caller's
                prop_assert!(fast <= naive, "{b:?}");
                prop_assert!(naive - fast < 8, "{b:?}");
                prop_assert!(fast == naive || b.len() - fast < 8, "{b:?}");
                Ok(())
            })
            .expect("plain_run agrees with a byte loop");
    }
}
