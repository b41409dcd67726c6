//! Counts keyed by text, for the hottest path (word counts, statuses).
//!
//! Most keys are short: a key of up to 16 bytes is stored inline in its
//! 24-byte slot (the bytes, zero-padded, then the length and the count in
//! one word), so a lookup compares two words and never follows a pointer,
//! and 50,000 words fit in 1.5 MB, inside a core's L2 cache. Longer keys
//! live in one arena per table; their slot holds the offset and length.

use std::hash::BuildHasher;
use std::sync::Mutex;

use hashbrown::HashTable;

use crate::value::parse_num;

/// Keys up to this many bytes are stored in the slot itself.
const INLINE: usize = 16;
/// The length tag of a slot whose key is in the arena.
const LONG: u64 = 0xFF;
/// Counts share their word with the length tag: 56 bits, saturating
/// (7.2e16, more than any stream's line count).
const COUNT_MASK: u64 = (1 << 56) - 1;

#[derive(Debug, Clone, Copy)]
struct Slot {
    /// Inline: the key's bytes, zero-padded. Long: the arena offset and
    /// the length, little-endian.
    key: [u8; INLINE],
    /// Length tag (top 8 bits: 0..=16 inline, [`LONG`]) and count.
    meta: u64,
}

impl Slot {
    #[inline(always)]
    fn tag(&self) -> u64 {
        self.meta >> 56
    }

    #[inline(always)]
    fn count(&self) -> u64 {
        self.meta & COUNT_MASK
    }

    #[inline(always)]
    fn bump(&mut self, n: u64) {
        let c = self.count().saturating_add(n).min(COUNT_MASK);
        self.meta = (self.meta & !COUNT_MASK) | c;
    }

    fn long_span(&self) -> (usize, usize) {
        let (a, b) = self.key.split_at(8);
        let mut off = [0u8; 8];
        let mut len = [0u8; 8];
        off.copy_from_slice(a);
        len.copy_from_slice(b);
        (
            u64::from_le_bytes(off) as usize,
            u64::from_le_bytes(len) as usize,
        )
    }

    /// The key's bytes (`arena` is the table's).
    fn bytes<'a>(&'a self, arena: &'a [u8]) -> &'a [u8] {
        match self.tag() {
            LONG => {
                let (off, len) = self.long_span();
                arena.get(off..off + len).unwrap_or_default()
            }
            n => &self.key[..(n as usize).min(INLINE)],
        }
    }
}

/// `t` (at most 16 bytes) zero-padded to 16, with a few word loads rather
/// than a variable-length copy.
#[inline(always)]
fn pack(t: &[u8]) -> [u8; INLINE] {
    #[inline(always)]
    fn load8(s: &[u8], i: usize) -> u64 {
        let mut w = [0u8; 8];
        w.copy_from_slice(&s[i..i + 8]);
        u64::from_le_bytes(w)
    }
    #[inline(always)]
    fn load4(s: &[u8], i: usize) -> u64 {
        let mut w = [0u8; 4];
        w.copy_from_slice(&s[i..i + 4]);
        u64::from(u32::from_le_bytes(w))
    }
    let n = t.len();
    let (lo, hi) = if n >= 8 {
        // bytes 8..n are the top (n - 8) bytes of the last word
        let hi = load8(t, n - 8)
            .checked_shr(8 * (16 - n) as u32)
            .unwrap_or(0);
        (load8(t, 0), hi)
    } else if n >= 4 {
        // the two loads overlap on equal bytes, so OR-ing them is exact
        (load4(t, 0) | (load4(t, n - 4) << (8 * (n - 4))), 0)
    } else {
        let mut lo = 0u64;
        for (i, b) in t.iter().enumerate() {
            lo |= u64::from(*b) << (8 * i);
        }
        (lo, 0)
    };
    let mut k = [0u8; INLINE];
    k[..8].copy_from_slice(&lo.to_le_bytes());
    k[8..].copy_from_slice(&hi.to_le_bytes());
    k
}

#[inline(always)]
fn folded_multiply(a: u64, b: u64) -> u64 {
    let p = u128::from(a) * u128::from(b);
    (p as u64) ^ ((p >> 64) as u64)
}

/// The table's hash functions, apart from the table so that a rehash can
/// borrow them while the table is borrowed mutably.
#[derive(Debug, Clone)]
struct Hasher {
    seeds: [u64; 4],
    long: foldhash::fast::RandomState,
}

/// One set of seeds per process: every table hashes a key alike, so a
/// batch's partial tables can be read side by side without rehashing
/// (see [`TextCounts::sorted_union`]).
static HASHER: std::sync::OnceLock<Hasher> = std::sync::OnceLock::new();

impl Hasher {
    fn get() -> &'static Hasher {
        HASHER.get_or_init(|| {
            let long = foldhash::fast::RandomState::default();
            let seeds = [1u64, 2, 3, 4].map(|i| long.hash_one(i) | 1);
            Hasher { seeds, long }
        })
    }

    #[inline(always)]
    fn inline(&self, k: &[u8; INLINE], len: u64) -> u64 {
        let mut lo = [0u8; 8];
        let mut hi = [0u8; 8];
        lo.copy_from_slice(&k[..8]);
        hi.copy_from_slice(&k[8..]);
        let s = &self.seeds;
        let x = folded_multiply(u64::from_le_bytes(lo) ^ s[0], u64::from_le_bytes(hi) ^ s[1]);
        folded_multiply(x ^ s[2], len ^ s[3])
    }

    fn slot(&self, s: &Slot, arena: &[u8]) -> u64 {
        match s.tag() {
            LONG => self.long.hash_one(s.bytes(arena)),
            n => self.inline(&s.key, n),
        }
    }
}

/// A text → u64 map.
#[derive(Debug, Clone)]
pub struct TextCounts {
    table: HashTable<Slot>,
    /// The bytes of keys longer than [`INLINE`].
    arena: Vec<u8>,
    hasher: &'static Hasher,
}

impl Default for TextCounts {
    fn default() -> Self {
        TextCounts::with_capacity(0)
    }
}

/// Byte equality, inlined for short slices.
#[inline(always)]
pub fn bytes_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    if a.len() <= INLINE {
        return pack(a) == pack(b);
    }
    a == b
}

/// Emptied tables kept for the next batch: a live stream builds a table per
/// worker per batch, and allocating them afresh costs page faults on every
/// batch (a 50,000-key table is 1.5 MB). At most [`POOL_TABLES`] are kept,
/// none over [`POOL_MAX_SLOTS`] and none under [`POOL_MIN_SLOTS`] (a small
/// table costs less to allocate than the pool's lock: `window session`
/// makes one per key and slice of time).
static POOL: Mutex<Vec<(HashTable<Slot>, Vec<u8>)>> = Mutex::new(Vec::new());
const POOL_TABLES: usize = 8;
const POOL_MAX_SLOTS: usize = 1 << 20;
const POOL_MIN_SLOTS: usize = 256;
/// From how many keys closing a batch is worth the pool's workers.
pub const PAR_ROWS: usize = 8192;

impl Drop for TextCounts {
    fn drop(&mut self) {
        let cap = self.table.capacity();
        if !(POOL_MIN_SLOTS..=POOL_MAX_SLOTS).contains(&cap) {
            return;
        }
        let mut table = std::mem::take(&mut self.table);
        let mut arena = std::mem::take(&mut self.arena);
        table.clear();
        arena.clear();
        if let Ok(mut pool) = POOL.lock() {
            if pool.len() < POOL_TABLES {
                pool.push((table, arena));
            }
        }
    }
}

impl TextCounts {
    /// An empty map with room for `n` keys (an emptied table of an earlier
    /// batch if one is free).
    pub fn with_capacity(n: usize) -> Self {
        if n < POOL_MIN_SLOTS {
            return TextCounts {
                table: HashTable::with_capacity(n),
                arena: Vec::new(),
                hasher: Hasher::get(),
            };
        }
        let reused = POOL.lock().ok().and_then(|mut pool| {
            let best = (0..pool.len()).max_by_key(|&i| pool[i].0.capacity())?;
            Some(pool.swap_remove(best))
        });
        let mut this = TextCounts {
            table: HashTable::new(),
            arena: Vec::new(),
            hasher: Hasher::get(),
        };
        match reused {
            Some((table, arena)) => {
                this.table = table;
                this.arena = arena;
                this.reserve(n);
            }
            None => this.table = HashTable::with_capacity(n),
        }
        this
    }

    /// Adds `n` to the count of `t`.
    #[inline]
    pub fn add(&mut self, t: &str, n: u64) {
        self.add_bytes(t.as_bytes(), n);
    }

    /// Adds `n` to the count of the text `t` (UTF-8; invalid bytes are
    /// replaced in the stored key).
    #[inline]
    pub fn add_bytes(&mut self, t: &[u8], n: u64) {
        self.add_bytes_if_room(t, n, true);
    }

    /// Adds `n` to the count of `t` if `t` is already a key or `room` says
    /// a new key may be added; returns whether it was counted.
    #[inline]
    pub fn add_if_room(&mut self, t: &str, n: u64, room: bool) -> bool {
        self.add_bytes_if_room(t.as_bytes(), n, room)
    }

    /// [`TextCounts::add_if_room`] for text given as bytes.
    #[inline(always)]
    pub fn add_bytes_if_room(&mut self, t: &[u8], n: u64, room: bool) -> bool {
        if t.len() > INLINE {
            return self.add_long(t, n, room);
        }
        let k = pack(t);
        let len = t.len() as u64;
        let h = self.hasher.inline(&k, len);
        if let Some(s) = self.table.find_mut(h, |s| s.key == k && s.tag() == len) {
            s.bump(n);
            return true;
        }
        if !room {
            return false;
        }
        if std::str::from_utf8(t).is_err() {
            return self.add_lossy(t, n);
        }
        let slot = Slot {
            key: k,
            meta: (len << 56) | n.min(COUNT_MASK),
        };
        self.insert(h, slot);
        true
    }

    #[inline(never)]
    fn add_long(&mut self, t: &[u8], n: u64, room: bool) -> bool {
        let h = self.hasher.long.hash_one(t);
        let arena = &self.arena;
        let found = self
            .table
            .find_mut(h, |s| s.tag() == LONG && s.bytes(arena) == t);
        if let Some(s) = found {
            s.bump(n);
            return true;
        }
        if !room {
            return false;
        }
        if std::str::from_utf8(t).is_err() {
            return self.add_lossy(t, n);
        }
        let off = self.arena.len() as u64;
        self.arena.extend_from_slice(t);
        let mut key = [0u8; INLINE];
        key[..8].copy_from_slice(&off.to_le_bytes());
        key[8..].copy_from_slice(&(t.len() as u64).to_le_bytes());
        let slot = Slot {
            key,
            meta: (LONG << 56) | n.min(COUNT_MASK),
        };
        self.insert(h, slot);
        true
    }

    /// A new key that is not UTF-8: counted under its replaced form.
    #[cold]
    fn add_lossy(&mut self, t: &[u8], n: u64) -> bool {
        let fixed = String::from_utf8_lossy(t).into_owned();
        self.add_bytes_if_room(fixed.as_bytes(), n, true)
    }

    fn insert(&mut self, h: u64, slot: Slot) {
        let (arena, hasher) = (&self.arena, self.hasher);
        self.table.insert_unique(h, slot, |s| hasher.slot(s, arena));
    }

    /// Makes room for `n` more keys.
    pub fn reserve(&mut self, n: usize) {
        let (arena, hasher) = (&self.arena, self.hasher);
        self.table.reserve(n, |s| hasher.slot(s, arena));
    }

    pub fn merge(&mut self, other: &TextCounts) {
        self.reserve(other.len());
        for (k, c) in other.iter() {
            self.add(k, c);
        }
    }

    pub fn len(&self) -> usize {
        self.table.len()
    }

    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// The entries in the order of count-by-key's rows: count descending,
    /// then the key in `sort`'s order ([`crate::value::SortKey`]: numbers
    /// numerically first, then text bytewise).
    pub fn sorted(&self) -> Vec<(&str, u64)> {
        Self::sorted_union(&[self])
    }

    /// The entries of several tables taken as one (a key's counts added
    /// up), in the order of [`TextCounts::sorted`]: a batch's partial
    /// tables, one per worker, sorted without first merging them into one.
    /// Inside a rayon pool and from [`PAR_ROWS`] entries, on all of its
    /// threads: each entry looks its key up in the other tables (all hash
    /// alike), and only the first table holding a key makes its entry.
    pub fn sorted_union<'a>(tables: &[&'a TextCounts]) -> Vec<(&'a str, u64)> {
        let total: usize = tables.iter().map(|t| t.len()).sum();
        let par = rayon::current_thread_index().is_some() && total >= PAR_ROWS;
        // the entry of slot `s` of table `i`, or none when an earlier
        // table holds its key
        let entry = |i: usize, s: &'a Slot| -> Option<Entry<'a>> {
            let mut count = s.count();
            if tables.len() > 1 {
                let arena = &tables[i].arena[..];
                let h = Hasher::get().slot(s, arena);
                for (j, t) in tables.iter().enumerate() {
                    if j == i {
                        continue;
                    }
                    if let Some(o) = t.find_slot(h, s, arena) {
                        if j < i {
                            return None;
                        }
                        count = count.saturating_add(o.count()).min(COUNT_MASK);
                    }
                }
            }
            Some(Entry::new(s, &tables[i].arena, count))
        };
        let mut v: Vec<Entry<'a>> = Vec::with_capacity(total);
        if par {
            use rayon::prelude::*;
            for (i, t) in tables.iter().enumerate() {
                v.par_extend(t.table.par_iter().filter_map(|s| entry(i, s)));
            }
            v.par_sort_unstable_by(Entry::cmp);
            return v.par_iter().map(|e| (e.text, e.count())).collect();
        }
        for (i, t) in tables.iter().enumerate() {
            v.extend(t.table.iter().filter_map(|s| entry(i, s)));
        }
        v.sort_unstable_by(Entry::cmp);
        v.into_iter().map(|e| (e.text, e.count())).collect()
    }

    /// The slot holding the key of `s` (a slot of another table, whose
    /// arena is `arena`, and whose key hashes to `h`).
    #[inline]
    fn find_slot(&self, h: u64, s: &Slot, arena: &[u8]) -> Option<&Slot> {
        match s.tag() {
            LONG => {
                let key = s.bytes(arena);
                let mine = &self.arena[..];
                self.table
                    .find(h, |o| o.tag() == LONG && o.bytes(mine) == key)
            }
            _ => self
                .table
                .find(h, |o| o.key == s.key && o.meta >> 56 == s.meta >> 56),
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, u64)> {
        self.table
            .iter()
            .map(|s| (slot_text(s, &self.arena), s.count()))
    }
}

/// The class bit of an [`Entry`]'s key: set for text, clear for numbers.
const TEXT_CLASS: u128 = 1 << 63;

/// An entry to sort: count-by-key's row order as one 128-bit integer
/// (count descending, numbers before text, the key's first 63 bits); only
/// ties look further. 32 bytes: the count is read back from the key.
struct Entry<'a> {
    key: u128,
    text: &'a str,
}

impl<'a> Entry<'a> {
    fn new(s: &'a Slot, arena: &'a [u8], count: u64) -> Self {
        let text = slot_text(s, arena);
        let number = parse_num(text).is_some();
        let head = match s.tag() {
            LONG => pack(&text.as_bytes()[..INLINE.min(text.len())]),
            _ => s.key,
        };
        let mut h = [0u8; 8];
        h.copy_from_slice(&head[..8]);
        // numbers order by value: their ties go to the full comparison
        let head = if number {
            0
        } else {
            u64::from_be_bytes(h) >> 1
        };
        let class = if number { 0 } else { TEXT_CLASS as u64 };
        Entry {
            key: (u128::from(COUNT_MASK - count.min(COUNT_MASK)) << 64) | u128::from(class | head),
            text,
        }
    }

    fn count(&self) -> u64 {
        COUNT_MASK - (self.key >> 64) as u64
    }

    fn cmp(a: &Self, b: &Self) -> std::cmp::Ordering {
        a.key.cmp(&b.key).then_with(|| {
            // equal keys: both numbers or both text (the class bit)
            if a.key & TEXT_CLASS != 0 {
                return a.text.as_bytes().cmp(b.text.as_bytes());
            }
            match (parse_num(a.text), parse_num(b.text)) {
                (Some(x), Some(y)) => x.cmp_num(y).then_with(|| a.text.cmp(b.text)),
                _ => a.text.as_bytes().cmp(b.text.as_bytes()),
            }
        })
    }
}

/// A slot's key as text: keys are UTF-8 by construction (checked when
/// inserted), so the replacement character never shows.
fn slot_text<'a>(s: &'a Slot, arena: &'a [u8]) -> &'a str {
    std::str::from_utf8(s.bytes(arena)).unwrap_or("\u{FFFD}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn textmap_counts_and_merges() {
        let mut a = TextCounts::default();
        for w in [
            "x",
            "y",
            "x",
            "longer-than-sixteen-bytes",
            "longer-than-sixteen-bytes",
        ] {
            a.add(w, 1);
        }
        let mut b = TextCounts::default();
        b.add("x", 5);
        b.add("z", 1);
        a.merge(&b);
        let mut v: Vec<(&str, u64)> = a.iter().collect();
        v.sort();
        assert_eq!(
            v,
            [
                ("longer-than-sixteen-bytes", 2),
                ("x", 7),
                ("y", 1),
                ("z", 1)
            ]
        );
    }

    #[test]
    fn textmap_add_if_room_keeps_out_new_keys_only() {
        let mut a = TextCounts::default();
        assert!(a.add_if_room("x", 1, true));
        assert!(a.add_if_room("x", 2, false), "a known key always counts");
        assert!(!a.add_if_room("y", 1, false));
        let v: Vec<(&str, u64)> = a.iter().collect();
        assert_eq!(v, [("x", 3)]);
    }

    #[test]
    fn textmap_long_keys_and_bad_utf8() {
        let mut a = TextCounts::default();
        let long = "a key well beyond the sixteen inline bytes";
        a.add(long, 2);
        a.add_bytes(long.as_bytes(), 3);
        a.add_bytes(b"sixteen_bytes_16", 1);
        a.add_bytes(b"sixteen_bytes_16", 1);
        a.add_bytes(b"bad \xff byte", 1);
        a.add("bad \u{FFFD} byte", 1);
        let mut v: Vec<(&str, u64)> = a.iter().collect();
        v.sort();
        assert_eq!(
            v,
            [(long, 5), ("bad \u{FFFD} byte", 2), ("sixteen_bytes_16", 2)]
        );
        assert_eq!(a.sorted()[0], (long, 5));
    }

    /// On a pool, from [`PAR_ROWS`] keys, the union is made in parallel:
    /// the same entries as one thread makes, in the same order.
    #[test]
    fn textmap_sorted_union_in_a_pool_equals_one_thread() {
        let mut parts = [
            TextCounts::default(),
            TextCounts::default(),
            TextCounts::default(),
        ];
        for i in 0..30_000u64 {
            // overlapping key sets, some keys long, some numbers
            let key = match i % 3 {
                0 => format!("w{}", i % 20_000),
                1 => format!("a-much-longer-key-number-{}", i % 7_000),
                _ => (i % 5_000).to_string(),
            };
            parts[(i % 3) as usize].add(&key, 1 + i % 4);
            parts[(i % 2) as usize].add(&key, 1);
        }
        let refs: Vec<&TextCounts> = parts.iter().collect();
        let serial = TextCounts::sorted_union(&refs);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .expect("a pool");
        let parallel = pool.install(|| TextCounts::sorted_union(&refs));
        assert!(serial.len() >= PAR_ROWS);
        assert_eq!(parallel, serial);
        let total: u64 = serial.iter().map(|(_, c)| c).sum();
        let want: u64 = parts.iter().flat_map(|p| p.iter().map(|(_, c)| c)).sum();
        assert_eq!(total, want);
    }

    #[test]
    fn textmap_counts_saturate_instead_of_wrapping() {
        let mut a = TextCounts::default();
        a.add("x", COUNT_MASK - 1);
        a.add("x", 5);
        assert_eq!(a.iter().next(), Some(("x", COUNT_MASK)));
    }

    proptest! {
        /// The table equals a naive map, over keys on both sides of the
        /// inline limit, with NUL bytes (so padding must not make "a" and
        /// "a\0" one key) and with merges.
        #[test]
        fn textmap_equals_naive_map(
            keys in prop::collection::vec(
                prop::collection::vec(prop::sample::select(vec![b'\0', b'a', b'b', b'\xc3', b'\xa9']), 0..24),
                0..300,
            ),
            split in 0usize..300,
        ) {
            let mut naive: std::collections::HashMap<String, u64> = Default::default();
            let (mut a, mut b) = (TextCounts::default(), TextCounts::with_capacity(4));
            for (i, k) in keys.iter().enumerate() {
                *naive.entry(String::from_utf8_lossy(k).into_owned()).or_default() += 1;
                if i < split { a.add_bytes(k, 1) } else { b.add_bytes(k, 1) }
            }
            a.merge(&b);
            let mut got: Vec<(String, u64)> = a.iter().map(|(k, c)| (k.to_string(), c)).collect();
            got.sort();
            let mut want: Vec<(String, u64)> = naive.into_iter().collect();
            want.sort();
            prop_assert_eq!(got, want);
        }

        /// `sorted` orders exactly as count descending then `SortKey`.
        #[test]
        fn textmap_sorted_matches_sort_keys(
            keys in prop::collection::vec(
                prop::collection::vec(prop::sample::select(vec![b'\0', b' ', b'1', b'-', b'.', b'a', b'e', b'\xc3', b'\xa9']), 0..20),
                0..200,
            ),
        ) {
            let mut a = TextCounts::default();
            for k in &keys {
                a.add_bytes(k, 1);
            }
            let got = a.sorted();
            let mut want: Vec<(&str, u64)> = a.iter().collect();
            want.sort_by(|x, y| {
                y.1.cmp(&x.1).then_with(|| {
                    crate::value::SortKey::of_text(x.0).cmp(&crate::value::SortKey::of_text(y.0))
                })
            });
            prop_assert_eq!(got, want);
        }

        /// Several tables read side by side equal one merged table,
        /// sorted: each key once with its counts added, whichever tables
        /// hold it (keys inline and long, numbers and text).
        #[test]
        fn textmap_sorted_union_equals_merged_then_sorted(
            tables in prop::collection::vec(
                prop::collection::vec(
                    (prop::collection::vec(prop::sample::select(vec![b'1', b'-', b'.', b'a', b'b', b'\xc3', b'\xa9']), 0..22), 1u64..4),
                    0..120,
                ),
                1..4,
            ),
        ) {
            let parts: Vec<TextCounts> = tables
                .iter()
                .map(|keys| {
                    let mut t = TextCounts::default();
                    for (k, n) in keys {
                        t.add_bytes(k, *n);
                    }
                    t
                })
                .collect();
            let mut merged = TextCounts::default();
            for p in &parts {
                merged.merge(p);
            }
            let refs: Vec<&TextCounts> = parts.iter().collect();
            prop_assert_eq!(TextCounts::sorted_union(&refs), merged.sorted());
        }

        #[test]
        fn textmap_bytes_eq_matches_slice_eq(a in prop::collection::vec(0u8..3, 0..40), b in prop::collection::vec(0u8..3, 0..40)) {
            prop_assert_eq!(bytes_eq(&a, &b), a == b);
            prop_assert!(bytes_eq(&a, &a.clone()));
        }
    }
}
