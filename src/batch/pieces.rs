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

use std::borrow::Borrow;
use std::sync::Arc;

use super::Partial;
use super::session::{Piece, bucket};
use crate::agg::key::Map;
use crate::agg::{AggState, Aggregation};
use crate::record::Record;
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
}

impl Borrow<[u8]> for SessionKey {
    fn borrow(&self) -> &[u8] {
        &self.0
    }
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

/// One key's pieces, by bucket (a batch's records of a key fall in one or
/// a few buckets).
type Buckets = Vec<(i64, Piece<Box<dyn AggState>>)>;

/// A batch's pieces, by key (in the order keys first came) and bucket.
pub struct Pieces {
    gap: Nanos,
    max_keys: usize,
    fields: Arc<[String]>,
    index: Map<SessionKey, usize>,
    keys: Vec<(SessionKey, Buckets)>,
    /// Where the key of the record being added is made.
    scratch: Vec<u8>,
}

impl Pieces {
    /// Pieces GAP wide of an aggregation whose keys are `fields`, with at
    /// most `max_keys` keys besides `(other)`.
    pub fn new(gap: Nanos, max_keys: usize, fields: Arc<[String]>) -> Pieces {
        Pieces {
            gap: gap.max(1),
            max_keys: max_keys.max(1),
            fields,
            index: Map::default(),
            keys: Vec::new(),
            scratch: Vec::new(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// How many keys have pieces, `(other)` aside.
    fn real_keys(&self) -> usize {
        self.keys.len() - usize::from(self.index.contains_key(&[OTHER][..]))
    }

    /// The index of `key`'s entry, made when it is new.
    fn entry(&mut self, key: SessionKey) -> usize {
        match self.index.get(&key) {
            Some(&i) => i,
            None => {
                self.index.insert(key.clone(), self.keys.len());
                self.keys.push((key, Vec::new()));
                self.keys.len() - 1
            }
        }
    }

    /// Adds a record whose time is `ts`, to `agg`'s accumulator of its
    /// key's piece in its bucket.
    pub fn add(&mut self, rec: &Record<'_>, ts: Nanos, agg: &dyn Aggregation) {
        key_of(rec, &self.fields, &mut self.scratch);
        let (at, other) = match self.index.get(&self.scratch[..]) {
            Some(&i) => (i, false),
            None if self.real_keys() < self.max_keys => (
                self.entry(SessionKey(self.scratch.as_slice().into())),
                false,
            ),
            None => (self.entry(SessionKey::other()), true),
        };
        let b = bucket(ts, self.gap);
        let list = &mut self.keys[at].1;
        let piece = match list.iter().position(|(x, _)| *x == b) {
            Some(i) => &mut list[i].1,
            None => {
                let state = agg.new_state();
                let state = match other {
                    true => state.other().unwrap_or(state),
                    false => state,
                };
                list.push((
                    b,
                    Piece {
                        first: ts,
                        last: ts,
                        partial: state,
                    },
                ));
                let last = list.len() - 1;
                &mut list[last].1
            }
        };
        piece.first = piece.first.min(ts);
        piece.last = piece.last.max(ts);
        piece.partial.add(rec);
    }

    /// Takes in `key`'s pieces.
    fn put(&mut self, key: SessionKey, buckets: Buckets) {
        let (at, buckets) = match self.index.get(&key) {
            Some(&i) => (i, buckets),
            None if key.is_other() || self.real_keys() < self.max_keys => {
                (self.entry(key), buckets)
            }
            None => {
                let moved = buckets.into_iter().map(|(b, p)| (b, to_other(p))).collect();
                (self.entry(SessionKey::other()), moved)
            }
        };
        let list = &mut self.keys[at].1;
        for (b, p) in buckets {
            match list.iter_mut().find(|(x, _)| *x == b) {
                Some((_, mine)) => mine.absorb(p),
                None => list.push((b, p)),
            }
        }
    }

    /// The pieces by key, in the order keys first came.
    pub fn into_pieces(self) -> impl Iterator<Item = (SessionKey, Piece<Box<dyn AggState>>)> {
        self.keys
            .into_iter()
            .flat_map(|(k, list)| list.into_iter().map(move |(_, p)| (k.clone(), p)))
    }
}

impl Partial for Pieces {
    /// Takes in another partial of the same batch, key by key in the order
    /// its keys came.
    fn absorb(&mut self, other: Pieces) {
        for (k, buckets) in other.keys {
            self.put(k, buckets);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;
    use crate::ops::aggregation_capped;

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
        let (agg, _) = aggregation_capped(&["count-by-key", "user"], 10).expect("count-by-key");
        let fields: Arc<[String]> = agg.key_fields().into();
        let mut a = Pieces::new(10, 10, Arc::clone(&fields));
        a.add(&rec("u"), 1, agg.as_ref());
        a.add(&rec("v"), 2, agg.as_ref());
        a.add(&rec("u"), 9, agg.as_ref());
        a.add(&rec("u"), 12, agg.as_ref());
        let mut b = Pieces::new(10, 10, fields);
        b.add(&rec("u"), 5, agg.as_ref());
        b.add(&rec("w"), 30, agg.as_ref());
        a.absorb(b);
        assert_eq!(
            texts(a),
            ["1..9 u,3", "12..12 u,1", "2..2 v,1", "30..30 w,1"]
        );
    }

    #[test]
    fn pieces_past_max_keys_count_under_other() {
        let (agg, _) = aggregation_capped(&["count-by-key", "user"], 2).expect("count-by-key");
        let fields: Arc<[String]> = agg.key_fields().into();
        let mut a = Pieces::new(10, 2, Arc::clone(&fields));
        for (u, t) in [("a", 1), ("b", 2), ("c", 3), ("d", 4), ("a", 5)] {
            a.add(&rec(u), t, agg.as_ref());
        }
        let mut b = Pieces::new(10, 2, fields);
        for (u, t) in [("e", 6), ("b", 7)] {
            b.add(&rec(u), t, agg.as_ref());
        }
        a.absorb(b);
        assert_eq!(texts(a), ["1..5 a,2", "2..7 b,2", "other 3..6 (other),3"]);
    }
}
