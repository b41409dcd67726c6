//! Grouping keys, the one notion every keyed aggregation shares
//! (`count-by-key`, `stats -g`, `distinct`; later `top -g` and `join`):
//!
//! - Identity: two values are one key exactly when they print the same in
//!   `tsv` ([`same`], [`hash_value`]): the numbers `200` and `200.0` and the
//!   text `200` are one key, the texts `007` and `7` two; null (a missing
//!   field) and the empty text are the empty key.
//! - The value a key's row shows ([`Rank`]): of the values that print
//!   alike, the same one whatever order they came in: a number before a
//!   boolean before nested JSON before text, and the empty key as null.
//! - Input positions ([`Pos`]): where a key was first seen, so that
//!   `--max-keys` keeps the first N keys in input order however the input
//!   was cut into parts and threads.
//! - [`KeyTable`]: keys with their first position and a value, bounded by
//!   `--max-keys`.

use std::cmp::Ordering;
use std::hash::{BuildHasher as _, Hash, Hasher};

use hashbrown::{Equivalent, HashTable};

use crate::state::codec::{self, DecodeError, Decoder, Encoder};
use crate::value::{SortKey, Value};

/// The fast hasher every aggregation map uses.
pub type BuildHasher = foldhash::fast::RandomState;
pub type Map<K, V> = hashbrown::HashMap<K, V, BuildHasher>;

/// A record's place in the input: the engine numbers the parts it cuts the
/// input into in input order (`seq`), and a record's index within its part
/// follows; positions compare as the records came. Only their order
/// matters, never their value, so any cut of the same input orders the
/// same records alike.
pub type Pos = u64;

/// Bits of a position for the record's index within its part: a part is
/// at most one read chunk (64 MiB), and a record takes at least one byte.
const IDX_BITS: u32 = 28;

/// The position of the `idx`-th record of part `seq`. Both saturate
/// (2^36 parts, 2^28 records a part): past that, positions tie and keys
/// that tie order by their text.
pub fn pos(seq: u64, idx: u64) -> Pos {
    (seq.min((1 << (64 - IDX_BITS)) - 1) << IDX_BITS) | idx.min((1 << IDX_BITS) - 1)
}

/// Calls `f` with the text `v` prints as in `tsv` (before escaping, which
/// is one-to-one): null as the empty text.
pub fn with_text<R>(v: &Value<'_>, f: impl FnOnce(&str) -> R) -> R {
    match v {
        Value::Str(s) => f(s),
        _ => with_bytes(v, |b| f(std::str::from_utf8(b).unwrap_or_default())),
    }
}

/// A key's values as one byte string, equal for two keys exactly when
/// they are one key (each value's text, after its length): `--max-keys`'
/// tally tells a window's keys by it.
pub fn key_bytes<'v>(vals: impl IntoIterator<Item = &'v Value<'v>>) -> Vec<u8> {
    let mut out = Vec::new();
    for v in vals {
        with_bytes(v, |b| {
            out.extend_from_slice(&(b.len() as u64).to_le_bytes());
            out.extend_from_slice(b);
        });
    }
    out
}

/// [`with_text`] as bytes: a float's text is written without the
/// formatting machinery and never checked as UTF-8 (it is ASCII).
pub fn with_bytes<R>(v: &Value<'_>, f: impl FnOnce(&[u8]) -> R) -> R {
    match v {
        Value::Str(s) => f(s.as_bytes()),
        Value::Null => f(b""),
        Value::Bool(b) => f(if *b { b"true" } else { b"false" }),
        Value::Int(i) => f(itoa::Buffer::new().format(*i).as_bytes()),
        Value::Float(x) => {
            let mut buf = [0u8; 40];
            match crate::numfmt::float_text_fast(*x, &mut buf) {
                Some(t) => f(t),
                None => {
                    let mut s = String::new();
                    v.write_text(&mut s);
                    f(s.as_bytes())
                }
            }
        }
        Value::Json(_) => {
            let mut s = String::new();
            v.write_text(&mut s);
            f(s.as_bytes())
        }
    }
}

/// Hashes `v` as a key: by its text, so that values that print alike hash
/// alike.
#[inline(always)]
pub fn hash_value<H: Hasher>(v: &Value<'_>, state: &mut H) {
    match v {
        Value::Str(s) => hash_text(s, state),
        _ => hash_other(v, state),
    }
}

#[inline(always)]
fn hash_text<H: Hasher>(t: &str, state: &mut H) {
    hash_bytes(t.as_bytes(), state);
}

#[inline(always)]
fn hash_bytes<H: Hasher>(t: &[u8], state: &mut H) {
    state.write(t);
    state.write_u8(0xff);
}

#[inline(never)]
fn hash_other<H: Hasher>(v: &Value<'_>, state: &mut H) {
    with_bytes(v, |t| hash_bytes(t, state));
}

/// Whether `a` and `b` are one key: they print the same in `tsv`.
#[inline(always)]
pub fn same(a: &Value<'_>, b: &Value<'_>) -> bool {
    match (a, b) {
        (Value::Str(x), Value::Str(y)) => x == y,
        _ => same_other(a, b),
    }
}

#[inline(never)]
fn same_other(a: &Value<'_>, b: &Value<'_>) -> bool {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::Null, Value::Null) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Float(x), Value::Float(y)) if x.to_bits() == y.to_bits() => true,
        _ => with_bytes(a, |x| with_bytes(b, |y| x == y)),
    }
}

/// Which of the values that print alike a key's row shows: the highest
/// rank, so that the row is the same whatever order they came in. A
/// number tells more than the text it prints as (jq can compare it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum Rank {
    Text = 0,
    /// A JSON string read by `json`: `jsonl` keeps it a string.
    Quoted = 1,
    Json = 2,
    Bool = 3,
    Float = 4,
    Int = 5,
}

impl Rank {
    pub fn of(v: &Value<'_>) -> Rank {
        match v {
            Value::Str(t) if t.quoted => Rank::Quoted,
            Value::Str(_) | Value::Null => Rank::Text,
            Value::Json(_) => Rank::Json,
            Value::Bool(_) => Rank::Bool,
            Value::Float(_) => Rank::Float,
            Value::Int(_) => Rank::Int,
        }
    }

    pub fn from_bits(b: u64) -> Rank {
        match b {
            1 => Rank::Quoted,
            2 => Rank::Json,
            3 => Rank::Bool,
            4 => Rank::Float,
            5 => Rank::Int,
            _ => Rank::Text,
        }
    }

    /// The value a key of this rank that prints as `text` shows: the
    /// empty key is null; a number, boolean or JSON read back from its
    /// text (one value for all the floats that print alike).
    pub fn value(self, text: &str) -> Value<'static> {
        if text.is_empty() {
            return Value::Null;
        }
        let parsed = match self {
            Rank::Text => None,
            Rank::Quoted => Some(Value::json_str(std::borrow::Cow::Owned(text.to_string()))),
            Rank::Int => text.parse::<i64>().ok().map(Value::Int),
            Rank::Float => text.parse::<f64>().ok().map(Value::Float),
            Rank::Bool => match text {
                "true" => Some(Value::Bool(true)),
                "false" => Some(Value::Bool(false)),
                _ => None,
            },
            Rank::Json => serde_json::from_str(text).ok().map(Value::from_json),
        };
        parsed.unwrap_or_else(|| Value::owned_str(text.to_string()))
    }
}

/// `v` as a key's stored value: the one [`Rank::value`] gives for its text
/// where values that print alike may differ (floats, the empty text).
pub fn canonical(v: &Value<'_>) -> Value<'static> {
    match v {
        Value::Str(s) if s.is_empty() => Value::Null,
        Value::Float(_) => with_text(v, |t| Rank::Float.value(t)),
        _ => v.to_owned_value(),
    }
}

/// Makes `stored` stand for a key `v` is also of, when `v` ranks higher.
fn upgrade(stored: &mut Value<'static>, v: &Value<'_>) {
    if Rank::of(v) > Rank::of(stored) && !stored.is_null() {
        *stored = canonical(v);
    }
}

/// An owned grouping key: the values of the key fields, in order.
#[derive(Debug, Clone)]
pub struct Key(pub Box<[Value<'static>]>);

/// A borrowed key: references to a record's key values.
pub struct KeyRef<'r, 'a>(pub &'r [&'r Value<'a>]);

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        for v in self.0.iter() {
            hash_value(v, state);
        }
    }
}

impl PartialEq for Key {
    fn eq(&self, o: &Key) -> bool {
        self.0.len() == o.0.len() && self.0.iter().zip(o.0.iter()).all(|(a, b)| same(a, b))
    }
}

impl Eq for Key {}

impl Hash for KeyRef<'_, '_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        for v in self.0 {
            hash_value(v, state);
        }
    }
}

impl Equivalent<Key> for KeyRef<'_, '_> {
    fn equivalent(&self, key: &Key) -> bool {
        self.0.len() == key.0.len() && self.0.iter().zip(key.0.iter()).all(|(a, b)| same(a, b))
    }
}

impl KeyRef<'_, '_> {
    pub fn to_key(&self) -> Key {
        Key(self.0.iter().map(|v| canonical(v)).collect())
    }
}

impl Key {
    /// Keys in `sort`'s order, field by field (the empty key last).
    pub fn sort_cmp(&self, other: &Key) -> Ordering {
        for (a, b) in self.0.iter().zip(other.0.iter()) {
            let o = a.sort_cmp(b);
            if o != Ordering::Equal {
                return o;
            }
        }
        self.0.len().cmp(&other.0.len())
    }

    /// Each field's [`SortKey`], for sorting many keys.
    pub fn sort_keys(&self) -> Vec<SortKey<'_>> {
        self.0.iter().map(SortKey::of).collect()
    }
}

/// A single value hashed as a key (`distinct`'s values).
pub struct KeyValueRef<'r, 'a>(pub &'r Value<'a>);

impl Hash for KeyValueRef<'_, '_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        hash_value(self.0, state);
    }
}

/// The value a missing key field groups under.
pub static MISSING: Value<'static> = Value::Null;

/// One key of a [`KeyTable`].
#[derive(Debug, Clone)]
pub struct Entry<V> {
    pub key: Key,
    /// Where the key was first seen.
    pub first: Pos,
    pub val: V,
}

/// Keys with a value each (a count, a group's accumulators), bounded by
/// `--max-keys`.
///
/// A table told nothing of the records before its own (a worker's share of
/// a batch, a part) takes every key it is given, even past the bound: it
/// cannot know which of its keys came first in the whole input. Tables
/// combine by [`KeyTable::merge`], which keeps the first `max` keys by
/// position and hands back the rest for the `(other)` row; from then on the
/// table is *sealed*: it holds the first keys of all it has seen, so a new
/// key comes after them and goes to `(other)` straight away.
#[derive(Debug, Clone)]
pub struct KeyTable<V> {
    table: HashTable<Entry<V>>,
    hasher: BuildHasher,
    max: usize,
    sealed: bool,
}

impl<V> KeyTable<V> {
    pub fn new(max: usize) -> Self {
        KeyTable {
            table: HashTable::new(),
            hasher: BuildHasher::default(),
            max: max.max(1),
            sealed: false,
        }
    }

    /// A table that takes no key at all: every record goes to `(other)`
    /// (`window session`'s sessions of keys past `--max-keys`).
    pub fn closed() -> Self {
        KeyTable {
            table: HashTable::new(),
            hasher: BuildHasher::default(),
            max: 0,
            sealed: true,
        }
    }

    /// The hash of a borrowed key, as [`Key`]'s `Hash` makes it.
    #[inline(always)]
    fn hash_key(&self, key: &[&Value<'_>]) -> u64 {
        let mut state = self.hasher.build_hasher();
        for v in key {
            hash_value(v, &mut state);
        }
        state.finish()
    }

    pub fn len(&self) -> usize {
        self.table.len()
    }

    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// Holds more keys than the bound (it is not sealed yet).
    pub fn over(&self) -> bool {
        self.table.len() > self.max
    }

    pub fn sealed(&self) -> bool {
        self.sealed
    }

    pub fn iter(&self) -> impl Iterator<Item = &Entry<V>> {
        self.table.iter()
    }

    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        self.table.iter_mut().map(|e| &mut e.val)
    }

    pub fn into_entries(self) -> impl Iterator<Item = Entry<V>> {
        self.table.into_iter()
    }

    /// The value of `key`, first seen at `first`: found (the key's
    /// representative upgraded when `key` ranks higher), or made by `new`
    /// when the table may take a new key; `None` sends the record to
    /// `(other)`.
    #[inline]
    pub fn entry(
        &mut self,
        key: &[&Value<'_>],
        first: Pos,
        new: impl FnOnce() -> V,
    ) -> Option<&mut V> {
        let h = self.hash_key(key);
        let r = KeyRef(key);
        if let Some(i) = self.table.find_bucket_index(h, |e| r.equivalent(&e.key)) {
            let e = self
                .table
                .get_bucket_mut(i)
                .expect("invariant: the bucket was just found");
            if key.iter().any(|v| !matches!(v, Value::Str(_))) {
                for (stored, v) in e.key.0.iter_mut().zip(key) {
                    upgrade(stored, v);
                }
            }
            return Some(&mut e.val);
        }
        if self.sealed && self.table.len() >= self.max {
            return None;
        }
        let hasher = &self.hasher;
        let e = self.table.insert_unique(
            h,
            Entry {
                key: r.to_key(),
                first,
                val: new(),
            },
            |e| hasher.hash_one(&e.key),
        );
        Some(&mut e.into_mut().val)
    }

    /// Folds in `other`: a key both hold keeps the earlier position and the
    /// higher-ranked representative, its values folded by `fold`; keys
    /// only `other` holds come in as `copy` makes them, even past the
    /// bound: the caller bounds ([`KeyTable::bound`]) once the tables that
    /// hold the records before are all in. Bounding after each of several
    /// tables whose records interleave in the input would lose counts: a
    /// key dropped for a late position in one may turn out early in the
    /// next.
    pub fn merge(
        &mut self,
        other: &KeyTable<V>,
        mut fold: impl FnMut(&mut V, &V),
        copy: impl Fn(&V) -> V,
    ) {
        self.table
            .reserve(other.len(), |e| self.hasher.hash_one(&e.key));
        for theirs in other.table.iter() {
            let h = self.hasher.hash_one(&theirs.key);
            let hasher = &self.hasher;
            match self
                .table
                .entry(h, |e| e.key == theirs.key, |e| hasher.hash_one(&e.key))
            {
                hashbrown::hash_table::Entry::Occupied(o) => {
                    let mine = o.into_mut();
                    fold(&mut mine.val, &theirs.val);
                    mine.first = mine.first.min(theirs.first);
                    for (stored, v) in mine.key.0.iter_mut().zip(theirs.key.0.iter()) {
                        upgrade(stored, v);
                    }
                }
                hashbrown::hash_table::Entry::Vacant(v) => {
                    v.insert(Entry {
                        key: theirs.key.clone(),
                        first: theirs.first,
                        val: copy(&theirs.val),
                    });
                }
            }
        }
        self.sealed |= other.sealed;
    }

    /// Folds in `other`, whose records all come after this table's (the
    /// parts of a batch in order): keys both hold as [`KeyTable::merge`];
    /// keys only `other` holds come after all of these, so they join in
    /// their own order while there is room (`copy`), and the rest are
    /// returned, in that order, for the `(other)` row (the table is sealed
    /// then). This table is within the bound.
    pub fn merge_in<'o>(
        &mut self,
        other: &'o KeyTable<V>,
        mut fold: impl FnMut(&mut V, &V),
        copy: impl Fn(&V) -> V,
    ) -> Vec<&'o Entry<V>> {
        let mut new: Vec<&'o Entry<V>> = Vec::new();
        for theirs in other.table.iter() {
            let h = self.hasher.hash_one(&theirs.key);
            match self.table.find_mut(h, |e| e.key == theirs.key) {
                Some(mine) => {
                    fold(&mut mine.val, &theirs.val);
                    mine.first = mine.first.min(theirs.first);
                    for (stored, v) in mine.key.0.iter_mut().zip(theirs.key.0.iter()) {
                        upgrade(stored, v);
                    }
                }
                None => new.push(theirs),
            }
        }
        sort_by_first(&mut new, |e| (e.first, &e.key));
        let room = if self.sealed && self.table.len() >= self.max {
            0
        } else {
            self.max.saturating_sub(self.table.len())
        };
        let dropped = new.split_off(room.min(new.len()));
        for theirs in new {
            let h = self.hasher.hash_one(&theirs.key);
            let hasher = &self.hasher;
            self.table.insert_unique(
                h,
                Entry {
                    key: theirs.key.clone(),
                    first: theirs.first,
                    val: copy(&theirs.val),
                },
                |e| hasher.hash_one(&e.key),
            );
        }
        self.sealed |= other.sealed || !dropped.is_empty();
        dropped
    }

    /// Back within the bound: keeps the `max` keys first seen (ties by
    /// key), seals the table when it had to drop any, and returns the
    /// values of those it dropped.
    pub fn bound(&mut self) -> Vec<V> {
        if self.table.len() <= self.max {
            return Vec::new();
        }
        let mut all: Vec<Entry<V>> = std::mem::take(&mut self.table).into_iter().collect();
        sort_by_first(&mut all, |e| (e.first, &e.key));
        let dropped = all.split_off(self.max);
        let mut table = HashTable::with_capacity(all.len());
        for e in all {
            let h = self.hasher.hash_one(&e.key);
            table.insert_unique(h, e, |e| self.hasher.hash_one(&e.key));
        }
        self.table = table;
        self.sealed = true;
        dropped.into_iter().map(|e| e.val).collect()
    }

    /// [`KeyTable::bound`], and sealed whether or not it had to drop any:
    /// it holds every record of its batch so far.
    pub fn seal(&mut self) -> Vec<V> {
        let dropped = self.bound();
        self.sealed = true;
        dropped
    }

    /// The same keys at the same positions with values made by `zero`,
    /// sealed: for the other workers of a batch whose keys are settled,
    /// so that each counts the known keys and sends new ones to `(other)`.
    pub fn frozen(&self, zero: impl Fn(&V) -> V) -> KeyTable<V> {
        let mut table = HashTable::with_capacity(self.table.len());
        for e in self.table.iter() {
            let h = self.hasher.hash_one(&e.key);
            table.insert_unique(
                h,
                Entry {
                    key: e.key.clone(),
                    first: e.first,
                    val: zero(&e.val),
                },
                |e| self.hasher.hash_one(&e.key),
            );
        }
        KeyTable {
            table,
            hasher: self.hasher.clone(),
            max: self.max,
            sealed: true,
        }
    }
}

/// `--state`: the table as it stands (its bound, whether it is sealed, each
/// key with its first position and its value, which the caller writes).
impl<V> KeyTable<V> {
    pub fn save(&self, e: &mut Encoder, mut val: impl FnMut(&V, &mut Encoder)) {
        e.usize(self.max);
        e.bool(self.sealed);
        e.usize(self.table.len());
        for en in self.table.iter() {
            e.usize(en.key.0.len());
            for v in en.key.0.iter() {
                e.value(v);
            }
            e.u64(en.first);
            val(&en.val, e);
        }
    }

    /// Reads back what [`KeyTable::save`] wrote, each value by `val`.
    pub fn load(
        d: &mut Decoder<'_>,
        mut val: impl FnMut(&mut Decoder<'_>) -> codec::Result<V>,
    ) -> codec::Result<Self> {
        let max = d.usize()?;
        let sealed = d.bool()?;
        let n = d.count()?;
        let mut t = KeyTable {
            table: HashTable::with_capacity(n),
            hasher: BuildHasher::default(),
            max,
            sealed,
        };
        for _ in 0..n {
            let fields = d.count()?;
            let mut key = Vec::with_capacity(fields);
            for _ in 0..fields {
                key.push(d.value()?);
            }
            let key = Key(key.into());
            let first = d.u64()?;
            let val = val(d)?;
            let h = t.hasher.hash_one(&key);
            if t.table.find(h, |e| e.key == key).is_some() {
                return Err(DecodeError("a key twice in one table".into()));
            }
            let hasher = &t.hasher;
            t.table
                .insert_unique(h, Entry { key, first, val }, |e| hasher.hash_one(&e.key));
        }
        Ok(t)
    }
}

/// Sorts entries by first position; keys that tie (only past the
/// positions' range, or in states no engine numbered) by `sort`'s order.
fn sort_by_first<E>(all: &mut [E], key: impl Fn(&E) -> (Pos, &Key)) {
    all.sort_unstable_by(|a, b| {
        let (pa, ka) = key(a);
        let (pb, kb) = key(b);
        pa.cmp(&pb)
            .then_with(|| ka.sort_keys().cmp(&kb.sort_keys()))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(v: &Value<'_>) -> u64 {
        let s = foldhash::fast::FixedState::with_seed(7);
        let mut hasher = s.build_hasher();
        hash_value(v, &mut hasher);
        hasher.finish()
    }

    #[test]
    fn key_ref_hashes_like_key() {
        let s = BuildHasher::default();
        let a = Value::str("x");
        let b = Value::Int(3);
        let r = KeyRef(&[&a, &b]);
        let k = r.to_key();
        assert_eq!(s.hash_one(&r), s.hash_one(&k));
        assert!(r.equivalent(&k));
    }

    /// One key exactly when they print the same in tsv.
    #[test]
    fn key_values_that_print_alike_are_one_key() {
        let one = [
            vec![
                Value::Int(200),
                Value::Float(200.0),
                Value::str("200"),
                Value::owned_str("200".into()),
            ],
            vec![Value::Null, Value::str("")],
            vec![Value::Bool(true), Value::str("true")],
            vec![
                Value::Float(0.1234567),
                Value::Float(0.1234568),
                Value::str("0.123457"),
            ],
            vec![
                Value::Json(Box::new(serde_json::json!({"a": [1, 2]}))),
                Value::str(r#"{"a":[1,2]}"#),
            ],
            vec![Value::Float(-0.0), Value::Int(0), Value::str("0")],
        ];
        for group in &one {
            for a in group {
                for b in group {
                    assert!(same(a, b), "{a:?} {b:?}");
                    assert_eq!(h(a), h(b), "{a:?} {b:?}");
                }
            }
        }
        for (a, b) in [
            (Value::str("007"), Value::str("7")),
            (Value::str("007"), Value::Int(7)),
            (Value::str("200.0"), Value::Int(200)),
            (Value::str(" 1"), Value::Int(1)),
            (Value::Null, Value::str(" ")),
            (Value::Bool(false), Value::Int(0)),
        ] {
            assert!(!same(&a, &b), "{a:?} {b:?}");
        }
    }

    #[test]
    fn key_representative_is_the_highest_rank_whatever_the_order() {
        let vals = [Value::str("200"), Value::Float(200.0), Value::Int(200)];
        let mut seen = Vec::new();
        for order in [[0, 1, 2], [2, 1, 0], [1, 0, 2], [1, 2, 0]] {
            let mut t: KeyTable<u64> = KeyTable::new(10);
            for (i, &k) in order.iter().enumerate() {
                *t.entry(&[&vals[k]], i as u64, || 0).expect("room") += 1;
            }
            let e = t.iter().next().expect("one key");
            assert_eq!(e.val, 3);
            seen.push(format!("{:?}", e.key.0[0]));
        }
        assert!(seen.iter().all(|s| s == "Int(200)"), "{seen:?}");
        // floats that print alike show one of them, the same each time
        assert_eq!(
            format!("{:?}", canonical(&Value::Float(0.1234567))),
            format!("{:?}", canonical(&Value::Float(0.1234568)))
        );
        // the empty key is null, however it came
        assert!(canonical(&Value::str("")).is_null());
        assert!(Rank::Int.value("").is_null());
        assert_eq!(format!("{:?}", Rank::Int.value("-12")), "Int(-12)");
        assert_eq!(format!("{:?}", Rank::Bool.value("true")), "Bool(true)");
    }

    #[test]
    fn key_table_keeps_the_first_keys_by_position() {
        let mut a: KeyTable<u64> = KeyTable::new(2);
        let mut b: KeyTable<u64> = KeyTable::new(2);
        let (x, y, z, w) = (
            Value::str("x"),
            Value::str("y"),
            Value::str("z"),
            Value::str("w"),
        );
        // a saw z at 5 and x at 9; b saw y at 2, w at 3 and x at 4
        *a.entry(&[&z], 5, || 0).expect("room") += 1;
        *a.entry(&[&x], 9, || 0).expect("room") += 1;
        for (v, p) in [(&y, 2), (&w, 3), (&x, 4)] {
            *b.entry(&[v], p, || 0).expect("unsealed: room") += 1;
        }
        assert!(b.over() && !b.sealed());
        a.merge(&b, |m, t| *m += t, |t| *t);
        let dropped = a.bound();
        let mut kept: Vec<(String, u64, Pos)> = a
            .iter()
            .map(|e| (e.key.0[0].text().into_owned(), e.val, e.first))
            .collect();
        kept.sort();
        assert_eq!(kept, [("w".into(), 1, 3), ("y".into(), 1, 2)]);
        // x (first at 4, counted twice) and z went to (other)
        assert_eq!(dropped.iter().sum::<u64>(), 3);
        assert!(a.sealed());
        // sealed: a new key has no room; a known one counts
        assert!(a.entry(&[&z], 20, || 0).is_none());
        assert!(a.entry(&[&y], 21, || 0).is_some());
        let f = a.frozen(|_| 0);
        assert_eq!(f.len(), 2);
        assert!(f.iter().all(|e| e.val == 0) && f.sealed());
    }

    #[test]
    fn key_positions_order_parts_then_records() {
        assert!(pos(1, 0) > pos(0, 1_000_000));
        assert!(pos(3, 7) < pos(3, 8));
        assert_eq!(pos(u64::MAX, u64::MAX), u64::MAX);
    }
}
