//! `window session GAP`: per key, a session is a run of records less than
//! GAP apart. Sessions are built from pieces, never from records: a piece
//! is the partial result of one key's records within one bucket of time
//! GAP wide (any two of them are less than GAP apart, so they are in one
//! session), with the first and last of their times. A piece joins every
//! open session it comes less than GAP near (a late piece may bridge two,
//! which then merge), and sessions of a key never come that near one
//! another. So the sessions equal those of the records taken one by one,
//! in any order the pieces arrive, and memory grows with the sessions open
//! per key, not with records.
//!
//! A session closes when the watermark (event time) or the clock
//! (processing time) reaches its last record's time + GAP, and is written
//! with the first batch whose end is at or after that `session_end`.

use std::collections::BTreeMap;

use super::Partial;
use crate::timestamp::Nanos;

/// One session of one key.
#[derive(Debug, Clone, PartialEq)]
pub struct Session<P> {
    /// Its first record's time.
    pub start: Nanos,
    /// Its last record's time.
    pub last: Nanos,
    pub partial: P,
}

impl<P> Session<P> {
    /// Its last record's time + GAP.
    pub fn end(&self, gap: Nanos) -> Nanos {
        self.last.saturating_add(gap)
    }
}

/// A piece: the partial of one key's records in one bucket.
#[derive(Debug, Clone, PartialEq)]
pub struct Piece<P> {
    pub first: Nanos,
    pub last: Nanos,
    pub partial: P,
}

impl<P: Partial> Piece<P> {
    /// Takes in another piece of the same key and bucket.
    pub fn absorb(&mut self, other: Piece<P>) {
        self.first = self.first.min(other.first);
        self.last = self.last.max(other.last);
        self.partial.absorb(other.partial);
    }
}

/// The bucket a time falls in: pieces are cut GAP wide.
pub fn bucket(ts: Nanos, gap: Nanos) -> i64 {
    ts.div_euclid(gap.max(1))
}

/// The open sessions of every key.
#[derive(Debug, Clone)]
pub struct Sessions<K, P> {
    gap: Nanos,
    /// Per key, its sessions by start; any two are GAP or more apart.
    open: BTreeMap<K, Vec<Session<P>>>,
}

impl<K: Ord + Clone, P: Partial> Sessions<K, P> {
    pub fn new(gap: Nanos) -> Self {
        Sessions {
            gap: gap.max(1),
            open: BTreeMap::new(),
        }
    }

    pub fn gap(&self) -> Nanos {
        self.gap
    }

    /// How many sessions are open, over every key.
    pub fn len(&self) -> usize {
        self.open.values().map(Vec::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.open.is_empty()
    }

    /// How many keys have a session open.
    pub fn keys(&self) -> usize {
        self.open.len()
    }

    /// Whether `key` has a session open.
    pub fn has(&self, key: &K) -> bool {
        self.open.contains_key(key)
    }

    /// The earliest start of an open session.
    pub fn earliest_start(&self) -> Option<Nanos> {
        self.open
            .values()
            .filter_map(|l| l.first())
            .map(|s| s.start)
            .min()
    }

    /// Every key's open sessions, by key (`--state`).
    pub fn open(&self) -> impl Iterator<Item = (&K, &[Session<P>])> {
        self.open.iter().map(|(k, l)| (k, l.as_slice()))
    }

    /// Puts back a key's open sessions as [`Sessions::open`] listed them
    /// (`--state`): by start, any two GAP or more apart.
    pub fn restore(&mut self, key: K, list: Vec<Session<P>>) {
        if !list.is_empty() {
            self.open.insert(key, list);
        }
    }

    /// Takes in a piece of `key`'s records.
    pub fn add(&mut self, key: K, piece: Piece<P>) {
        let gap = self.gap;
        let list = self.open.entry(key).or_default();
        // the sessions the piece comes less than GAP near: a run of them
        let near = |s: &Session<P>| {
            piece.first < s.last.saturating_add(gap) && s.start < piece.last.saturating_add(gap)
        };
        let from = list.iter().position(near);
        let Some(from) = from else {
            let at = list.partition_point(|s| s.start < piece.first);
            list.insert(
                at,
                Session {
                    start: piece.first,
                    last: piece.last,
                    partial: piece.partial,
                },
            );
            return;
        };
        let to = from + list[from..].iter().take_while(|s| near(s)).count();
        let mut joined: Vec<Session<P>> = list.drain(from..to).collect();
        let mut first = joined.remove(0);
        for s in joined {
            first.start = first.start.min(s.start);
            first.last = first.last.max(s.last);
            first.partial.absorb(s.partial);
        }
        first.start = first.start.min(piece.first);
        first.last = first.last.max(piece.last);
        first.partial.absorb(piece.partial);
        list.insert(from, first);
    }

    /// Takes out every session whose end (last + GAP) is at or before
    /// `upto` (every session, with `None`): by key, then by start.
    pub fn close(&mut self, upto: Option<Nanos>) -> Vec<(K, Session<P>)> {
        let gap = self.gap;
        let mut out = Vec::new();
        let is_done = |s: &Session<P>| upto.is_none_or(|u| s.end(gap) <= u);
        self.open.retain(|k, list| {
            if !list.iter().any(is_done) {
                return true;
            }
            let (done, keep): (Vec<_>, Vec<_>) =
                std::mem::take(list).into_iter().partition(is_done);
            out.extend(done.into_iter().map(|s| (k.clone(), s)));
            *list = keep;
            !list.is_empty()
        });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A partial that lists its records' times, to see which went where.
    #[derive(Debug, Clone, PartialEq)]
    struct Times(Vec<Nanos>);
    impl Partial for Times {
        fn absorb(&mut self, mut o: Times) {
            self.0.append(&mut o.0);
        }
    }

    /// The sessions of one key's record times, taken one by one in order.
    fn naive(mut times: Vec<Nanos>, gap: Nanos) -> Vec<(Nanos, Nanos, usize)> {
        times.sort_unstable();
        let mut out: Vec<(Nanos, Nanos, usize)> = Vec::new();
        for t in times {
            match out.last_mut() {
                Some(s) if t - s.1 < gap => {
                    s.1 = t;
                    s.2 += 1;
                }
                _ => out.push((t, t, 1)),
            }
        }
        out
    }

    /// Records fed in the given order, some alone, some gathered into
    /// their key's and bucket's piece first (as a part of the input makes
    /// them), those pieces fed at the end.
    fn by_pieces(records: &[(u8, Nanos)], gap: Nanos, order: &[usize]) -> Sessions<u8, Times> {
        let mut pending: BTreeMap<(u8, i64), Piece<Times>> = BTreeMap::new();
        let mut s = Sessions::new(gap);
        for &i in order {
            let (k, t) = records[i];
            let p = Piece {
                first: t,
                last: t,
                partial: Times(vec![t]),
            };
            if i % 3 == 0 {
                match pending.get_mut(&(k, bucket(t, gap))) {
                    Some(existing) => existing.absorb(p),
                    None => {
                        pending.insert((k, bucket(t, gap)), p);
                    }
                }
            } else {
                s.add(k, p);
            }
        }
        for ((k, _), p) in pending {
            s.add(k, p);
        }
        s
    }

    proptest! {
        /// Pieces in any order give the sessions of the records taken one
        /// by one, key by key.
        #[test]
        fn session_pieces_equal_naive_sessions(
            records in proptest::collection::vec((0u8..3, 0i64..500), 0..80),
            gap in 1i64..60,
            seed in any::<u64>(),
        ) {
            let mut order: Vec<usize> = (0..records.len()).collect();
            let mut x = seed | 1;
            for i in (1..order.len()).rev() {
                x ^= x << 13; x ^= x >> 7; x ^= x << 17;
                order.swap(i, (x % (i as u64 + 1)) as usize);
            }
            let mut s = by_pieces(&records, gap, &order);
            let got: Vec<(u8, Nanos, Nanos, usize)> = s
                .close(None)
                .into_iter()
                .map(|(k, s)| (k, s.start, s.last, s.partial.0.len()))
                .collect();
            let mut want = Vec::new();
            for k in 0u8..3 {
                let times: Vec<Nanos> = records.iter().filter(|r| r.0 == k).map(|r| r.1).collect();
                for (a, b, n) in naive(times, gap) {
                    want.push((k, a, b, n));
                }
            }
            prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn session_late_piece_bridges_two_sessions() {
        let mut s: Sessions<&str, Times> = Sessions::new(10);
        let piece = |t| Piece {
            first: t,
            last: t,
            partial: Times(vec![t]),
        };
        s.add("a", piece(0));
        s.add("a", piece(15));
        assert_eq!(s.len(), 2);
        s.add("a", piece(7));
        assert_eq!(s.len(), 1);
        let closed = s.close(Some(24));
        assert!(closed.is_empty(), "ends at 25");
        let closed = s.close(Some(25));
        assert_eq!(closed.len(), 1);
        assert_eq!((closed[0].1.start, closed[0].1.last), (0, 15));
    }
}
