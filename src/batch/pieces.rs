//! `window session GAP`'s partial result of a batch (of one worker's share
//! of it, or of one part of a chunk in event time): per key of the
//! aggregation and per bucket of time GAP wide ([`super::session::bucket`]),
//! a [`Piece`] holding the aggregation's own accumulator of those records
//! and their first and last times. Pieces of one batch merge piece by piece
//! ([`Pieces::absorb`]); when the batch closes, the engine hands its pieces
//! to the [`super::session::Sessions`] it keeps.
//!
//! A key is the text its key fields print as in `tsv` ([`key_of`]), so
//! values that print alike are one key. Past `--max-keys` keys in one
//! partial, the records of further keys go to the one `(other)` key, whose
//! accumulators count everything as `(other)` ([`AggState::other`]).

use std::hash::BuildHasher as _;
use std::sync::Arc;

use hashbrown::HashTable;

use super::Partial;
use super::session::{Piece, bucket};
use crate::agg::key::{BuildHasher, Pos};
use crate::agg::{AggState, Aggregation};
use crate::record::Record;
use crate::state::codec::{self, Decoder, Encoder};
use crate::timestamp::Nanos;
use crate::value::Value;

/// Ends each key field's text in a key: no UTF-8 text holds this byte, so
/// keys of different texts never encode alike.
const END: u8 = 0xff;
/// The whole of the `(other)` key: no key of fields ends with it.
const OTHER: u8 = 0xfe;

/// A session's key: the texts of its key fields, each ended by a byte no
/// text holds; empty for an aggregation without keys (`count`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionKey(Box<[u8]>);

impl SessionKey {
    /// The key that every key past `--max-keys` counts under.
    pub fn other() -> SessionKey {
        SessionKey(Box::new([OTHER]))
    }

    pub fn is_other(&self) -> bool {
        self.0[..] == [OTHER]
    }

    /// Its bytes, as [`SessionKey::from_bytes`] takes them back (`--state`).
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    pub fn from_bytes(b: &[u8]) -> SessionKey {
        SessionKey(b.into())
    }
}

/// A piece for `--state`: its times, then its accumulator.
pub fn save_piece(p: &Piece<Box<dyn AggState>>, e: &mut Encoder) {
    e.i64(p.first);
    e.i64(p.last);
    p.partial.save(e);
}

/// Reads back what [`save_piece`] wrote.
pub fn load_piece(
    agg: &dyn Aggregation,
    d: &mut Decoder<'_>,
) -> codec::Result<Piece<Box<dyn AggState>>> {
    Ok(Piece {
        first: d.i64()?,
        last: d.i64()?,
        partial: agg.load(d)?,
    })
}

/// Writes into `out` the key of `rec` under the key fields `fields`: the
/// text each prints as in `tsv` (a missing field as the empty text, which
/// null also prints as). The one place a record's session key is made, so
/// that the notion of "the same key" can change here alone.
pub fn key_of(rec: &Record<'_>, fields: &[String], out: &mut Vec<u8>) {
    out.clear();
    for f in fields {
        match rec.lookup(f).as_deref() {
            Some(Value::Str(s)) => out.extend_from_slice(s.as_bytes()),
            Some(Value::Int(i)) => out.extend_from_slice(itoa::Buffer::new().format(*i).as_bytes()),
            Some(v) => {
                let mut text = String::new();
                v.write_text(&mut text);
                out.extend_from_slice(text.as_bytes());
            }
            None => {}
        }
        out.push(END);
    }
}

/// An accumulator's records as `(other)`'s: a new `(other)` accumulator
/// with everything merged in (itself when the aggregation has no keys).
pub fn to_other(piece: Piece<Box<dyn AggState>>) -> Piece<Box<dyn AggState>> {
    match piece.partial.other() {
        Some(mut o) => {
            o.merge(piece.partial.as_ref());
            Piece {
                first: piece.first,
                last: piece.last,
                partial: o,
            }
        }
        None => piece,
    }
}

impl Partial for Box<dyn AggState> {
    fn absorb(&mut self, other: Self) {
        self.merge(other.as_ref());
    }
}

/// One key's pieces: the first in its bucket, the others (rare: a batch's
/// records of a key mostly fall in one or two buckets) after it.
struct Entry {
    key: SessionKey,
    /// Where in the input the key's first record is.
    first: Pos,
    bucket: i64,
    piece: Piece<Box<dyn AggState>>,
    more: Vec<(i64, Piece<Box<dyn AggState>>)>,
}

impl Entry {
    /// The piece of `bucket`, if there is one.
    fn piece(&mut self, bucket: i64) -> Option<&mut Piece<Box<dyn AggState>>> {
        if self.bucket == bucket {
            return Some(&mut self.piece);
        }
        self.more
            .iter_mut()
            .find(|(b, _)| *b == bucket)
            .map(|(_, p)| p)
    }

    /// Takes in a piece of the same key.
    fn put(&mut self, bucket: i64, p: Piece<Box<dyn AggState>>) {
        match self.piece(bucket) {
            Some(mine) => mine.absorb(p),
            None => self.more.push((bucket, p)),
        }
    }

    fn into_pieces(self) -> impl Iterator<Item = (i64, Piece<Box<dyn AggState>>)> {
        std::iter::once((self.bucket, self.piece)).chain(self.more)
    }
}

/// A batch's pieces, by key (in the order keys first came) and bucket.
pub struct Pieces {
    gap: Nanos,
    max_keys: usize,
    fields: Arc<[String]>,
    /// Where each key's entry is in `entries`, hashed by its bytes.
    index: HashTable<usize>,
    hasher: BuildHasher,
    entries: Vec<Entry>,
    /// The entry of `(other)`, once a key went over `--max-keys`.
    other: Option<usize>,
    /// Where the key of the record being added is made.
    scratch: Vec<u8>,
    /// The input position of the next record added.
    pos: Pos,
}

impl Pieces {
    /// Pieces GAP wide of an aggregation whose keys are `fields`, with at
    /// most `max_keys` keys besides `(other)`.
    pub fn new(gap: Nanos, max_keys: usize, fields: Arc<[String]>) -> Pieces {
        Pieces {
            gap: gap.max(1),
            max_keys: max_keys.max(1),
            fields,
            index: HashTable::new(),
            hasher: BuildHasher::default(),
            entries: Vec::new(),
            other: None,
            scratch: Vec::new(),
            pos: 0,
        }
    }

    /// The input position of the next record added (records added one
    /// after another are at positions one after another).
    pub fn at(&mut self, pos: Pos) {
        self.pos = pos;
    }

    /// Empty pieces of the same gap, bound and keys.
    pub fn fresh(&self) -> Pieces {
        Pieces::new(self.gap, self.max_keys, Arc::clone(&self.fields))
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether more keys than `--max-keys` have pieces of their own.
    pub fn over(&self) -> bool {
        self.entries.len() - usize::from(self.other.is_some()) > self.max_keys
    }

    /// The entry of the key whose bytes are `key`.
    fn find(&self, key: &[u8]) -> Option<usize> {
        let entries = &self.entries;
        self.index
            .find(self.hasher.hash_one(key), |&i| *entries[i].key.0 == *key)
            .copied()
    }

    /// A new entry for `key` (not there yet) with its first piece.
    fn push(
        &mut self,
        key: SessionKey,
        first: Pos,
        bucket: i64,
        piece: Piece<Box<dyn AggState>>,
    ) -> usize {
        let at = self.entries.len();
        if key.is_other() {
            self.other = Some(at);
        }
        let (entries, hasher) = (&self.entries, &self.hasher);
        self.index
            .insert_unique(hasher.hash_one(&*key.0), at, |&i| {
                hasher.hash_one(&*entries[i].key.0)
            });
        self.entries.push(Entry {
            key,
            first,
            bucket,
            piece,
            more: Vec::new(),
        });
        at
    }

    /// Adds a record whose time is `ts`, to `agg`'s accumulator of its
    /// key's piece in its bucket. Every key gets pieces of its own here
    /// (a part of a chunk has only so many); which keys keep them past
    /// `--max-keys` is decided when partials merge ([`Pieces::absorb`])
    /// and settle ([`Pieces::over`]), by where each key first came in the
    /// whole input, which one part alone cannot know.
    pub fn add(&mut self, rec: &Record<'_>, ts: Nanos, agg: &dyn Aggregation) {
        key_of(rec, &self.fields, &mut self.scratch);
        let b = bucket(ts, self.gap);
        let pos = self.pos;
        self.pos += 1;
        let found = self.find(&self.scratch);
        let entry = match found {
            Some(i) => &mut self.entries[i],
            None => {
                let key = SessionKey(self.scratch.as_slice().into());
                let piece = Piece {
                    first: ts,
                    last: ts,
                    partial: agg.new_state(),
                };
                let i = self.push(key, pos, b, piece);
                &mut self.entries[i]
            }
        };
        let piece = match entry.piece(b) {
            Some(p) => p,
            None => {
                let state = agg.new_state();
                let state = match entry.key.is_other() {
                    true => state.other().unwrap_or(state),
                    false => state,
                };
                let fresh = Piece {
                    first: ts,
                    last: ts,
                    partial: state,
                };
                entry.more.push((b, fresh));
                let last = entry.more.len() - 1;
                &mut entry.more[last].1
            }
        };
        piece.first = piece.first.min(ts);
        piece.last = piece.last.max(ts);
        piece.partial.add(rec);
    }

    /// Takes in the pieces of `(other)`.
    fn put_other(&mut self, first: Pos, b: i64, p: Piece<Box<dyn AggState>>) {
        match self.other {
            Some(o) => {
                let e = &mut self.entries[o];
                e.first = e.first.min(first);
                e.put(b, p);
            }
            None => {
                self.push(SessionKey::other(), first, b, p);
            }
        }
    }

    /// Writes its keys and pieces for `--state` (its gap, bound and key
    /// fields are the chain's).
    pub fn save(&self, e: &mut Encoder) {
        e.u64(self.pos);
        e.usize(self.entries.len());
        for en in &self.entries {
            e.bytes(en.key.as_bytes());
            e.u64(en.first);
            e.i64(en.bucket);
            save_piece(&en.piece, e);
            e.usize(en.more.len());
            for (b, p) in &en.more {
                e.i64(*b);
                save_piece(p, e);
            }
        }
    }

    /// Reads back into these (empty) pieces what [`Pieces::save`] wrote.
    pub fn load(&mut self, agg: &dyn Aggregation, d: &mut Decoder<'_>) -> codec::Result<()> {
        self.pos = d.u64()?;
        let n = d.count()?;
        for _ in 0..n {
            let key = SessionKey::from_bytes(d.bytes()?);
            if self.find(&key.0).is_some() {
                return Err(codec::DecodeError("a session key twice".into()));
            }
            let first = d.u64()?;
            let bucket = d.i64()?;
            let piece = load_piece(agg, d)?;
            let i = self.push(key, first, bucket, piece);
            let m = d.count()?;
            for _ in 0..m {
                let b = d.i64()?;
                let p = load_piece(agg, d)?;
                self.entries[i].more.push((b, p));
            }
        }
        Ok(())
    }

    /// The pieces by key, the keys by where their first record is.
    pub fn into_pieces(mut self) -> impl Iterator<Item = (SessionKey, Piece<Box<dyn AggState>>)> {
        self.entries
            .sort_unstable_by(|a, b| (a.first, &a.key).cmp(&(b.first, &b.key)));
        self.entries.into_iter().flat_map(|e| {
            let key = e.key.clone();
            e.into_pieces().map(move |(_, p)| (key.clone(), p))
        })
    }

    /// Back within `--max-keys`: the keys whose first records come first
    /// keep their pieces, the others' go to `(other)`. Partials hold each
    /// key's first record of their share, so the keys kept are the
    /// batch's first, whatever the order partials merge in; a key dropped
    /// has `--max-keys` keys before it, which only ever get earlier, so
    /// its later records stay in `(other)`.
    pub fn bound(&mut self) {
        if !self.over() {
            return;
        }
        let mut all = std::mem::take(&mut self.entries);
        all.sort_unstable_by(|a, b| {
            (a.key.is_other(), a.first, &a.key).cmp(&(b.key.is_other(), b.first, &b.key))
        });
        let mut rest = all.split_off(self.max_keys);
        self.index.clear();
        self.other = None;
        for e in all {
            let Entry {
                key,
                first,
                bucket,
                piece,
                more,
            } = e;
            let i = self.push(key, first, bucket, piece);
            for (b, p) in more {
                self.entries[i].put(b, p);
            }
        }
        for e in rest.drain(..) {
            let (first, other) = (e.first, e.key.is_other());
            for (b, p) in e.into_pieces() {
                let p = if other { p } else { to_other(p) };
                self.put_other(first, b, p);
            }
        }
    }
}

impl Partial for Pieces {
    /// Takes in another partial of the same batch: keys of both keep
    /// their pieces up to `--max-keys`, the first in the input first.
    fn absorb(&mut self, other: Pieces) {
        for e in other.entries {
            if let Some(i) = self.find(&e.key.0) {
                let mine = &mut self.entries[i];
                mine.first = mine.first.min(e.first);
                for (b, p) in e.into_pieces() {
                    mine.put(b, p);
                }
                continue;
            }
            let Entry {
                key,
                first,
                bucket,
                piece,
                more,
            } = e;
            let i = self.push(key, first, bucket, piece);
            for (b, p) in more {
                self.entries[i].put(b, p);
            }
        }
        self.bound();
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;
    use std::collections::BTreeMap;

    use super::*;

    /// A count per `user`, as count-by-key counts (batch sits below the
    /// operators), `(other)` included.
    struct ByUser(Vec<String>);

    #[derive(Default)]
    struct Counts {
        by: BTreeMap<String, u64>,
        all_other: bool,
        other: u64,
    }

    impl Aggregation for ByUser {
        fn new_state(&self) -> Box<dyn AggState> {
            Box::new(Counts::default())
        }
        fn load(&self, d: &mut Decoder<'_>) -> codec::Result<Box<dyn AggState>> {
            let mut c = Counts {
                all_other: d.bool()?,
                other: d.u64()?,
                ..Counts::default()
            };
            for _ in 0..d.count()? {
                c.by.insert(d.str()?.to_string(), d.u64()?);
            }
            Ok(Box::new(c))
        }
        fn key_fields(&self) -> &[String] {
            &self.0
        }
    }

    impl AggState for Counts {
        fn save(&self, e: &mut Encoder) {
            e.bool(self.all_other);
            e.u64(self.other);
            e.usize(self.by.len());
            for (k, c) in &self.by {
                e.str(k);
                e.u64(*c);
            }
        }
        fn add(&mut self, rec: &Record<'_>) {
            match (self.all_other, rec.get("user")) {
                (false, Some(v)) => *self.by.entry(v.text().into_owned()).or_default() += 1,
                _ => self.other += 1,
            }
        }
        fn merge(&mut self, other: &dyn AggState) {
            let o = crate::agg::same::<Counts>(other, "test");
            for (k, c) in &o.by {
                match self.all_other {
                    false => *self.by.entry(k.clone()).or_default() += c,
                    true => self.other += c,
                }
            }
            self.other += o.other;
        }
        fn emit(&self, _: bool) -> Vec<Record<'static>> {
            let row = |k: &str, c: u64| {
                Record::row(vec![
                    (Cow::Borrowed("user"), Value::owned_str(k.into())),
                    (Cow::Borrowed("count"), Value::Int(c as i64)),
                ])
            };
            let mut rows: Vec<Record<'static>> = self.by.iter().map(|(k, c)| row(k, *c)).collect();
            if self.other > 0 {
                rows.push(row("(other)", self.other));
            }
            rows
        }
        fn as_any(&self) -> &dyn std::any::Any {
            self
        }
        fn is_empty(&self) -> bool {
            self.by.is_empty() && self.other == 0
        }
        fn other(&self) -> Option<Box<dyn AggState>> {
            Some(Box::new(Counts {
                all_other: true,
                ..Counts::default()
            }))
        }
    }

    fn agg() -> ByUser {
        ByUser(vec!["user".into()])
    }

    fn rec(user: &str) -> Record<'static> {
        Record::row(vec![(Cow::Borrowed("user"), Value::owned_str(user.into()))])
    }

    fn texts(p: Pieces) -> Vec<String> {
        p.into_pieces()
            .map(|(k, p)| {
                let rows: Vec<String> = p
                    .partial
                    .into_rows(false)
                    .iter()
                    .map(|r| {
                        r.columns()
                            .map(|(_, v)| v.text().into_owned())
                            .collect::<Vec<_>>()
                            .join(",")
                    })
                    .collect();
                let other = if k.is_other() { "other " } else { "" };
                format!("{other}{}..{} {}", p.first, p.last, rows.join(";"))
            })
            .collect()
    }

    #[test]
    fn pieces_key_values_that_print_alike_as_one() {
        let fields: Vec<String> = vec!["a".into(), "b".into()];
        let mut x = Vec::new();
        let mut y = Vec::new();
        let r = |a: Value<'static>, b: Value<'static>| {
            Record::row(vec![(Cow::Borrowed("a"), a), (Cow::Borrowed("b"), b)])
        };
        key_of(&r(Value::Int(200), Value::Null), &fields, &mut x);
        key_of(&r(Value::str("200"), Value::str("")), &fields, &mut y);
        assert_eq!(x, y);
        // the texts "a" + "bc" and "ab" + "c" are two keys
        key_of(&r(Value::str("a"), Value::str("bc")), &fields, &mut x);
        key_of(&r(Value::str("ab"), Value::str("c")), &fields, &mut y);
        assert_ne!(x, y);
        key_of(&Record::row(Vec::new()), &[], &mut x);
        assert!(x.is_empty());
    }

    #[test]
    fn pieces_cut_by_key_and_bucket_and_merge_piece_by_piece() {
        let agg = agg();
        let fields: Arc<[String]> = agg.key_fields().into();
        let mut a = Pieces::new(10, 10, Arc::clone(&fields));
        a.add(&rec("u"), 1, &agg);
        a.add(&rec("v"), 2, &agg);
        a.add(&rec("u"), 9, &agg);
        a.add(&rec("u"), 12, &agg);
        let mut b = Pieces::new(10, 10, fields);
        b.add(&rec("u"), 5, &agg);
        b.add(&rec("w"), 30, &agg);
        b.add(&rec("u"), 25, &agg);
        a.absorb(b);
        assert_eq!(
            texts(a),
            [
                "1..9 u,3",
                "12..12 u,1",
                "25..25 u,1",
                "2..2 v,1",
                "30..30 w,1"
            ]
        );
    }

    /// Pieces written for `--state` and read back are the same pieces, and
    /// go on alike: the same keys by first position, buckets, times and
    /// accumulators, `(other)` included.
    #[test]
    fn pieces_saved_and_loaded_go_on_alike() {
        let agg = agg();
        let fields: Arc<[String]> = agg.key_fields().into();
        let fill = |p: &mut Pieces, from: usize| {
            for (i, (u, t)) in [("a", 1), ("b", 2), ("c", 3), ("a", 15), ("d", 4), ("b", 27)]
                .iter()
                .enumerate()
                .skip(from)
            {
                p.add(&rec(u), *t + i as i64, &agg);
            }
        };
        let mut a = Pieces::new(10, 2, Arc::clone(&fields));
        fill(&mut a, 0);
        a.bound();
        let mut e = Encoder::new();
        a.save(&mut e);
        let mut b = Pieces::new(10, 2, Arc::clone(&fields));
        let mut d = Decoder::new(&e.buf);
        b.load(&agg, &mut d).expect("the pieces just saved");
        assert!(d.is_done());
        fill(&mut a, 3);
        fill(&mut b, 3);
        assert_eq!(texts(b), texts(a));
        // cut anywhere: an error, never a panic
        for n in 0..e.buf.len() {
            let mut c = Pieces::new(10, 2, Arc::clone(&fields));
            let mut d = Decoder::new(&e.buf[..n]);
            assert!(c.load(&agg, &mut d).is_err() || !d.is_done() || n == e.buf.len());
        }
    }

    #[test]
    fn pieces_past_max_keys_count_under_other() {
        let agg = agg();
        let fields: Arc<[String]> = agg.key_fields().into();
        let mut a = Pieces::new(10, 2, Arc::clone(&fields));
        for (u, t) in [("a", 1), ("b", 2), ("c", 3), ("d", 4), ("a", 5), ("c", 15)] {
            a.add(&rec(u), t, &agg);
        }
        let mut b = Pieces::new(10, 2, fields);
        b.at(100);
        for (u, t) in [("e", 6), ("b", 7)] {
            b.add(&rec(u), t, &agg);
        }
        a.absorb(b);
        assert_eq!(
            texts(a),
            [
                "1..5 a,2",
                "2..7 b,2",
                "other 3..6 (other),3",
                "other 15..15 (other),1"
            ]
        );
    }
}
