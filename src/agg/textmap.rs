//! Counts keyed by text, for the hottest path (word counts, statuses).
//!
//! Most keys are short: a key of up to 16 bytes is stored inline in its
//! 24-byte slot (the bytes, zero-padded, then the length and the count in
//! one word), so a lookup compares two words and never follows a pointer,
//! and 50,000 words fit in 1.5 MB, inside a core's L2 cache. Longer keys
//! live in one arena per table; their slot holds the offset and length.
//! A slot also holds the rank of the values its key was counted from (text,
//! or a number that printed as this text), so that a key's row shows the
//! same value whatever order they came in. Where each key was first seen
//! (for `--max-keys`, see [`super::key`]) is written to a log beside the
//! table when the key comes in: a lookup never touches it, so the slots stay
//! 24 bytes (a wider slot cost a word count a fifth more cache misses).

use std::hash::BuildHasher;
use std::sync::Mutex;

use hashbrown::HashTable;

use super::key::{Pos, Rank};
use crate::state::codec::{self, DecodeError, Decoder, Encoder};
use crate::value::parse_num;

/// Keys up to this many bytes are stored in the slot itself.
const INLINE: usize = 16;
/// The length tag of a slot whose key is in the arena.
const LONG: u64 = 0xFF;
/// Counts share their word with the length tag and the rank: 53 bits,
/// saturating (9e15, more than any stream's line count).
const COUNT_MASK: u64 = (1 << 53) - 1;
/// Where the rank sits in a slot's `meta` (the tag is its low byte).
const RANK_SHIFT: u32 = 8;
/// Where the count sits in a slot's `meta`: its top bits, so that adding
/// one to a count that is at its saturation carries out of the word.
const COUNT_SHIFT: u32 = 11;
/// The tag and the rank: a slot's `meta` without its count.
const NOT_COUNT: u64 = (1 << COUNT_SHIFT) - 1;

#[derive(Debug, Clone, Copy)]
struct Slot {
    /// Inline: the key's bytes, zero-padded. Long: the arena offset and
    /// the length, little-endian.
    key: [u8; INLINE],
    /// The count (top 53 bits), the rank (3 bits) and the length tag
    /// (low 8 bits: 0..=16 inline, [`LONG`]).
    meta: u64,
}

/// Where a key was first seen: its slot's key and length tag, which name
/// the slot in its table (a long key by its arena offset), and a position.
#[derive(Debug, Clone, Copy)]
struct First {
    key: [u8; INLINE],
    tag: u64,
    pos: Pos,
}

/// A slot's `meta`: the count saturates at [`COUNT_MASK`].
fn meta(tag: u64, rank: Rank, count: u64) -> u64 {
    (count.min(COUNT_MASK) << COUNT_SHIFT) | ((rank as u64) << RANK_SHIFT) | tag
}

impl Slot {
    #[inline(always)]
    fn tag(&self) -> u64 {
        self.meta & 0xFF
    }

    fn rank(&self) -> Rank {
        Rank::from_bits((self.meta >> RANK_SHIFT) & 7)
    }

    fn raise(&mut self, r: Rank) {
        if r > self.rank() {
            self.meta = (self.meta & !(7 << RANK_SHIFT)) | ((r as u64) << RANK_SHIFT);
        }
    }

    /// Whether the slot holds the inline key `k` of `len` bytes (its
    /// bytes compared as one 128-bit value).
    #[inline(always)]
    fn holds(&self, k: &[u8; INLINE], len: u64) -> bool {
        u128::from_ne_bytes(self.key) == u128::from_ne_bytes(*k) && self.tag() == len
    }

    #[inline(always)]
    fn count(&self) -> u64 {
        self.meta >> COUNT_SHIFT
    }

    #[inline(always)]
    fn bump(&mut self, n: u64) {
        if n == 1 {
            // the hot case (a word counted once): an add that carries out
            // of the word finds the count at its saturation, and is dropped
            if let Some(m) = self.meta.checked_add(1 << COUNT_SHIFT) {
                self.meta = m;
            }
            return;
        }
        let c = self.count().saturating_add(n).min(COUNT_MASK);
        self.meta = (self.meta & NOT_COUNT) | (c << COUNT_SHIFT);
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
    } else if n > 0 {
        // 1 to 3 bytes: the first, the middle and the last (some the same
        // byte, OR-ed onto itself), without a loop
        let byte = |i: usize| u64::from(t[i]) << (8 * i);
        (byte(0) | byte(n / 2) | byte(n - 1), 0)
    } else {
        (0, 0)
    };
    let mut k = [0u8; INLINE];
    k[..8].copy_from_slice(&lo.to_le_bytes());
    k[8..].copy_from_slice(&hi.to_le_bytes());
    k
}

/// For a key of n bytes (n = 0..=16), the masks that keep the first n of
/// 16 bytes read as two little-endian words.
static MASKS: [[u64; 2]; INLINE + 1] = {
    let mut m = [[0u64; 2]; INLINE + 1];
    let mut n = 0;
    while n <= INLINE {
        let lo = if n >= 8 { u64::MAX } else { (1 << (8 * n)) - 1 };
        let hi = match n {
            0..=8 => 0,
            16 => u64::MAX,
            _ => (1 << (8 * (n - 8))) - 1,
        };
        m[n] = [lo, hi];
        n += 1;
    }
    m
};

/// [`pack`] of `b[s..e]` from one 16-byte load at `s` and a mask for the
/// length: none if that is past the end of `b` or over 16 bytes.
#[inline(always)]
fn pack_at(b: &[u8], s: usize, e: usize) -> Option<[u8; INLINE]> {
    let w = b.get(s..)?.get(..INLINE)?;
    let &[lo_mask, hi_mask] = MASKS.get(e.wrapping_sub(s))?;
    let mut lo = [0u8; 8];
    let mut hi = [0u8; 8];
    lo.copy_from_slice(&w[..8]);
    hi.copy_from_slice(&w[8..]);
    let mut k = [0u8; INLINE];
    k[..8].copy_from_slice(&(u64::from_le_bytes(lo) & lo_mask).to_le_bytes());
    k[8..].copy_from_slice(&(u64::from_le_bytes(hi) & hi_mask).to_le_bytes());
    Some(k)
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
    seeds: [u64; 2],
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
            let seeds = [1u64, 2].map(|i| long.hash_one(i) | 1);
            Hasher { seeds, long }
        })
    }

    /// An inline key's hash: one folded multiply of its two halves, each
    /// with a seed, the length in the top byte (a zero byte in a key
    /// shorter than 16, so that "a" and "a\0" hash apart); keys that
    /// collide are told apart by their slots' compare.
    #[inline(always)]
    fn inline(&self, k: &[u8; INLINE], len: u64) -> u64 {
        let mut lo = [0u8; 8];
        let mut hi = [0u8; 8];
        lo.copy_from_slice(&k[..8]);
        hi.copy_from_slice(&k[8..]);
        let s = &self.seeds;
        folded_multiply(
            u64::from_le_bytes(lo) ^ s[0],
            u64::from_le_bytes(hi) ^ s[1] ^ (len << 56),
        )
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
    /// Some key ranks above text (see [`TextCounts::add_ranked`]).
    ranked: bool,
    /// Where keys were first seen, in the order they came in; a key may
    /// appear more than once after merges (its earliest counts).
    firsts: Vec<First>,
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
type Pooled = (HashTable<Slot>, Vec<u8>, Vec<First>);
static POOL: Mutex<Vec<Pooled>> = Mutex::new(Vec::new());
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
        let mut firsts = std::mem::take(&mut self.firsts);
        table.clear();
        arena.clear();
        firsts.clear();
        if let Ok(mut pool) = POOL.lock() {
            if pool.len() < POOL_TABLES {
                pool.push((table, arena, firsts));
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
                ranked: false,
                firsts: Vec::new(),
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
            ranked: false,
            firsts: Vec::new(),
        };
        match reused {
            Some((table, arena, firsts)) => {
                this.table = table;
                this.arena = arena;
                this.firsts = firsts;
                this.reserve(n);
            }
            None => this.table = HashTable::with_capacity(n),
        }
        this
    }
    /// Adds `n` to the count of `t`, at no particular position (after
    /// every numbered one).
    #[inline]
    pub fn add(&mut self, t: &str, n: u64) {
        self.add_bytes(t.as_bytes(), n);
    }

    /// [`TextCounts::add`] for text given as bytes (UTF-8; invalid bytes
    /// are replaced in the stored key).
    #[inline]
    pub fn add_bytes(&mut self, t: &[u8], n: u64) {
        self.add_at(t, n, Pos::MAX, true);
    }

    /// Adds `n` to the count of `t`, first seen at `first`, if `t` is
    /// already a key or `room` says a new key may be added; returns
    /// whether it was counted. Positions only grow within one table, so a
    /// known key keeps the position it has.
    #[inline(always)]
    pub fn add_at(&mut self, t: &[u8], n: u64, first: Pos, room: bool) -> bool {
        self.add_rank(t, n, first, room, Rank::Text)
    }

    /// [`TextCounts::add_at`] for a value other than text that prints as
    /// `t` (a number, a boolean, JSON): the key also remembers the highest
    /// [`Rank`] it was counted from.
    pub fn add_ranked(&mut self, t: &[u8], n: u64, first: Pos, room: bool, rank: Rank) -> bool {
        self.ranked |= rank != Rank::Text;
        self.add_rank(t, n, first, room, rank)
    }

    #[inline(always)]
    fn add_rank(&mut self, t: &[u8], n: u64, first: Pos, room: bool, rank: Rank) -> bool {
        if t.len() > INLINE {
            return self.add_long(t, n, first, room, rank);
        }
        let k = pack(t);
        let len = t.len() as u64;
        let h = self.hasher.inline(&k, len);
        if let Some(s) = self.table.find_mut(h, |s| s.holds(&k, len)) {
            s.bump(n);
            if rank != Rank::Text {
                s.raise(rank);
            }
            return true;
        }
        if !room {
            return false;
        }
        if std::str::from_utf8(t).is_err() {
            return self.add_lossy(t, n, first);
        }
        let slot = Slot {
            key: k,
            meta: meta(len, rank, n),
        };
        self.insert(h, slot, first);
        true
    }

    /// [`TextCounts::add_at`] of `b[s..e]`, counted once. A key found
    /// takes one 16-byte load from `s` and a mask for its length, no
    /// branch on the length (the lengths of words in a text vary too much
    /// for a branch on them to be guessed, and each wrong guess stalls the
    /// loads of the words after it); near the end of `b`, a long key or a
    /// new one goes the way of [`TextCounts::add_at`].
    #[inline(always)]
    pub fn add_span(&mut self, b: &[u8], s: usize, e: usize, first: Pos, room: bool) -> bool {
        if let Some(k) = pack_at(b, s, e) {
            let len = e.wrapping_sub(s) as u64;
            let h = self.hasher.inline(&k, len);
            if let Some(slot) = self.table.find_mut(h, |x| x.holds(&k, len)) {
                slot.bump(1);
                return true;
            }
        }
        self.add_at(&b[s..e], 1, first, room)
    }

    fn hash_bytes(&self, t: &[u8]) -> u64 {
        if t.len() > INLINE {
            self.hasher.long.hash_one(t)
        } else {
            self.hasher.inline(&pack(t), t.len() as u64)
        }
    }

    /// The slot of the key `t` (hashing to `h`).
    fn find_text(&self, h: u64, t: &[u8]) -> Option<&Slot> {
        if t.len() > INLINE {
            let arena = &self.arena;
            return self
                .table
                .find(h, |s| s.tag() == LONG && s.bytes(arena) == t);
        }
        let (k, len) = (pack(t), t.len() as u64);
        self.table.find(h, |s| s.holds(&k, len))
    }

    /// The slot of the key `t` (hashing to `h`), to change.
    fn find_text_mut(&mut self, h: u64, t: &[u8]) -> Option<&mut Slot> {
        if t.len() > INLINE {
            let arena = &self.arena;
            return self
                .table
                .find_mut(h, |s| s.tag() == LONG && s.bytes(arena) == t);
        }
        let (k, len) = (pack(t), t.len() as u64);
        self.table.find_mut(h, |s| s.holds(&k, len))
    }

    #[inline(never)]
    fn add_long(&mut self, t: &[u8], n: u64, first: Pos, room: bool, rank: Rank) -> bool {
        let h = self.hasher.long.hash_one(t);
        let arena = &self.arena;
        let found = self
            .table
            .find_mut(h, |s| s.tag() == LONG && s.bytes(arena) == t);
        if let Some(s) = found {
            s.bump(n);
            s.raise(rank);
            return true;
        }
        if !room {
            return false;
        }
        if std::str::from_utf8(t).is_err() {
            return self.add_lossy(t, n, first);
        }
        let key = self.store_long(t);
        let slot = Slot {
            key,
            meta: meta(LONG, rank, n),
        };
        self.insert(h, slot, first);
        true
    }

    /// Copies a long key into the arena; returns its slot key.
    fn store_long(&mut self, t: &[u8]) -> [u8; INLINE] {
        let off = self.arena.len() as u64;
        self.arena.extend_from_slice(t);
        let mut key = [0u8; INLINE];
        key[..8].copy_from_slice(&off.to_le_bytes());
        key[8..].copy_from_slice(&(t.len() as u64).to_le_bytes());
        key
    }

    /// A new key that is not UTF-8: counted under its replaced form.
    #[cold]
    fn add_lossy(&mut self, t: &[u8], n: u64, first: Pos) -> bool {
        let fixed = String::from_utf8_lossy(t).into_owned();
        self.add_at(fixed.as_bytes(), n, first, true)
    }

    /// Inserts a new key's slot, first seen at `first`.
    fn insert(&mut self, h: u64, slot: Slot, first: Pos) {
        self.firsts.push(First {
            key: slot.key,
            tag: slot.tag(),
            pos: first,
        });
        let (arena, hasher) = (&self.arena, self.hasher);
        self.table.insert_unique(h, slot, |s| hasher.slot(s, arena));
    }

    /// Makes room for `n` more keys.
    pub fn reserve(&mut self, n: usize) {
        let (arena, hasher) = (&self.arena, self.hasher);
        self.table.reserve(n, |s| hasher.slot(s, arena));
    }

    /// Folds in `other`: counts add up, a key keeps its earlier position
    /// and higher rank, and every key of `other` comes in (see
    /// [`TextCounts::bound`] for the limit).
    pub fn merge(&mut self, other: &TextCounts) {
        self.ranked |= other.ranked;
        self.reserve(other.len());
        for s in other.table.iter() {
            let t = s.bytes(&other.arena);
            let h = self.hash_bytes(t);
            if let Some(mine) = self.find_text_mut(h, t) {
                mine.bump(s.count());
                mine.raise(s.rank());
                continue;
            }
            let key = if t.len() > INLINE {
                self.store_long(t)
            } else {
                s.key
            };
            let (arena, hasher) = (&self.arena, self.hasher);
            self.table
                .insert_unique(h, Slot { key, meta: s.meta }, |s| hasher.slot(s, arena));
        }
        // their first positions, under this table's names for the keys (an
        // inline key is named by its bytes in both; a long one by where it
        // sits in this arena)
        self.firsts.reserve(other.firsts.len());
        for f in &other.firsts {
            if f.tag != LONG {
                self.firsts.push(*f);
                continue;
            }
            let theirs = Slot {
                key: f.key,
                meta: LONG,
            };
            let t = theirs.bytes(&other.arena);
            let h = self.hash_bytes(t);
            if let Some(mine) = self.find_text(h, t) {
                self.firsts.push(First {
                    key: mine.key,
                    tag: LONG,
                    pos: f.pos,
                });
            }
        }
        if self.firsts.len() > 2 * self.table.len() + 1024 {
            self.firsts = self.first_positions();
        }
    }

    /// Each key's first position, one entry a key, sorted by key name.
    fn first_positions(&self) -> Vec<First> {
        let mut all = self.firsts.clone();
        all.sort_unstable_by_key(|f| (f.tag, f.key, f.pos));
        all.dedup_by(|later, earlier| later.tag == earlier.tag && later.key == earlier.key);
        all
    }

    /// The first position of slot `s`, from [`TextCounts::first_positions`].
    fn first_of(s: &Slot, firsts: &[First]) -> Pos {
        let name = (s.tag(), s.key);
        firsts
            .binary_search_by(|f| (f.tag, f.key).cmp(&name))
            .map_or(Pos::MAX, |i| firsts[i].pos)
    }

    /// Keeps the `max` keys first seen (ties by text), and returns what
    /// the others counted: past `--max-keys`, for the `(other)` row.
    pub fn bound(&mut self, max: usize) -> u64 {
        if self.len() <= max {
            return 0;
        }
        let firsts = self.first_positions();
        let arena = &self.arena;
        let mut order: Vec<(Pos, &[u8])> = self
            .table
            .iter()
            .map(|s| (Self::first_of(s, &firsts), s.bytes(arena)))
            .collect();
        order.sort_unstable();
        let (last_pos, last_key) = order[max - 1];
        let last_key = last_key.to_vec();
        let mut dropped = 0u64;
        let arena = &self.arena;
        self.table.retain(|s| {
            let keep = (Self::first_of(s, &firsts), s.bytes(arena)) <= (last_pos, &last_key[..]);
            if !keep {
                dropped = dropped.saturating_add(s.count());
            }
            keep
        });
        let table = &self.table;
        let hasher = self.hasher;
        self.firsts = firsts
            .into_iter()
            .filter(|f| {
                let s = Slot {
                    key: f.key,
                    meta: f.tag,
                };
                let h = hasher.slot(&s, arena);
                table
                    .find(h, |o| o.key == s.key && o.tag() == f.tag)
                    .is_some()
            })
            .collect();
        dropped
    }

    /// The same keys, positions and ranks, counting nothing.
    pub fn frozen(&self) -> TextCounts {
        let mut t = TextCounts::with_capacity(self.len());
        t.ranked = self.ranked;
        t.arena.extend_from_slice(&self.arena);
        t.firsts = self.first_positions();
        for s in self.table.iter() {
            let h = self.hasher.slot(s, &self.arena);
            let zero = Slot {
                key: s.key,
                meta: s.meta & NOT_COUNT,
            };
            let (arena, hasher) = (&t.arena, t.hasher);
            t.table.insert_unique(h, zero, |s| hasher.slot(s, arena));
        }
        t
    }

    pub fn len(&self) -> usize {
        self.table.len()
    }

    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// The entries in the order of count-by-key's rows: count descending,
    /// then the key in `sort`'s order ([`crate::value::SortKey`]: numbers
    /// numerically first, then text bytewise, the empty key last).
    pub fn sorted(&self) -> Sorted<'_> {
        Self::sorted_union(&[self])
    }

    /// The entries of several tables taken as one (a key's counts added
    /// up), in the order of [`TextCounts::sorted`]: a batch's partial
    /// tables, one per worker, sorted without first merging them into one.
    /// Inside a rayon pool and from [`PAR_ROWS`] entries, on all of its
    /// threads: each entry looks its key up in the other tables (all hash
    /// alike), and only the first table holding a key makes its entry.
    /// Keys that counted nothing (copies of settled keys) are left out.
    pub fn sorted_union<'a>(tables: &[&'a TextCounts]) -> Sorted<'a> {
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
            (count > 0).then(|| Entry::new(s, &tables[i].arena, count))
        };
        let mut v: Vec<Entry<'a>> = Vec::with_capacity(total);
        if par {
            use rayon::prelude::*;
            for (i, t) in tables.iter().enumerate() {
                v.par_extend(t.table.par_iter().filter_map(|s| entry(i, s)));
            }
            v.par_sort_unstable_by(Entry::cmp);
            let keys = v.par_iter().map(|e| (e.text, e.count())).collect();
            return Sorted::new(keys, tables);
        }
        for (i, t) in tables.iter().enumerate() {
            v.extend(t.table.iter().filter_map(|s| entry(i, s)));
        }
        v.sort_unstable_by(Entry::cmp);
        let keys = v.iter().map(|e| (e.text, e.count())).collect();
        Sorted::new(keys, tables)
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
            _ => self.table.find(h, |o| o.key == s.key && o.tag() == s.tag()),
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, u64)> {
        self.table
            .iter()
            .map(|s| (slot_text(s, &self.arena), s.count()))
    }

    /// Every key with its count, first position and rank, in the order
    /// of their names in the table (not of their text).
    pub fn entries(&self) -> Vec<(&str, u64, Pos, Rank)> {
        // the slots sorted as the first positions are, and the two walked
        // together: a binary search a slot missed the cache at every step
        // (a million keys took a second)
        let firsts = self.first_positions();
        let mut slots: Vec<(u64, [u8; INLINE], &Slot)> =
            self.table.iter().map(|s| (s.tag(), s.key, s)).collect();
        slots.sort_unstable_by_key(|&(tag, key, _)| (tag, key));
        let mut at = 0;
        slots
            .into_iter()
            .map(|(tag, key, s)| {
                while firsts.get(at).is_some_and(|f| (f.tag, f.key) < (tag, key)) {
                    at += 1;
                }
                let first = firsts
                    .get(at)
                    .filter(|f| (f.tag, f.key) == (tag, key))
                    .map_or(Pos::MAX, |f| f.pos);
                (slot_text(s, &self.arena), s.count(), first, s.rank())
            })
            .collect()
    }
}

/// `--state`: each key with its count, first position and rank (read
/// back, a key's row and its place under `--max-keys` are what they were).
impl TextCounts {
    pub fn save(&self, e: &mut Encoder) {
        e.bool(self.ranked);
        let entries = self.entries();
        e.usize(entries.len());
        for (text, count, first, rank) in entries {
            e.str(text);
            e.u64(count);
            e.u64(first);
            e.u8(rank as u8);
        }
    }

    pub fn load(d: &mut Decoder<'_>) -> codec::Result<TextCounts> {
        let ranked = d.bool()?;
        let n = d.count()?;
        let mut t = TextCounts::with_capacity(n);
        t.ranked = ranked;
        for _ in 0..n {
            let text = d.str()?;
            let count = d.u64()?;
            let first = d.u64()?;
            let rank = d.u8()?;
            if count > COUNT_MASK || rank > Rank::Int as u8 {
                return Err(DecodeError(format!(
                    "a count of {count} or a rank of {rank}"
                )));
            }
            let before = t.len();
            t.add_rank(
                text.as_bytes(),
                count,
                first,
                true,
                Rank::from_bits(u64::from(rank)),
            );
            if t.len() != before + 1 {
                return Err(DecodeError("a key twice in one table".into()));
            }
        }
        Ok(t)
    }
}

/// Sorted keys and counts ([`TextCounts::sorted_union`]), and the few keys
/// whose row is not plain text: the empty key (null) and keys counted from
/// numbers, booleans or JSON.
pub struct Sorted<'a> {
    pub keys: Vec<(&'a str, u64)>,
    /// Indexes into `keys` of keys of a rank above text, in order.
    ranks: Vec<(usize, Rank)>,
    /// The index of the empty key.
    empty: Option<usize>,
}

impl<'a> Sorted<'a> {
    fn new(keys: Vec<(&'a str, u64)>, tables: &[&TextCounts]) -> Self {
        let empty = keys.iter().position(|k| k.0.is_empty());
        let mut ranks = Vec::new();
        if tables.iter().any(|t| t.ranked) {
            for (i, (t, _)) in keys.iter().enumerate() {
                let b = t.as_bytes();
                let rank = tables
                    .iter()
                    .filter(|t| t.ranked)
                    .filter_map(|tab| {
                        let h = tab.hash_bytes(b);
                        tab.find_text(h, b).map(Slot::rank)
                    })
                    .max()
                    .unwrap_or(Rank::Text);
                if rank != Rank::Text {
                    ranks.push((i, rank));
                }
            }
        }
        Sorted { keys, ranks, empty }
    }

    /// The rank of the `i`-th key.
    pub fn rank(&self, i: usize) -> Rank {
        if self.ranks.is_empty() {
            return Rank::Text;
        }
        match self.ranks.binary_search_by_key(&i, |r| r.0) {
            Ok(at) => self.ranks[at].1,
            Err(_) => Rank::Text,
        }
    }

    /// Whether every key in `range` is plain non-empty text (its row is
    /// its text).
    pub fn plain(&self, range: std::ops::Range<usize>) -> bool {
        self.empty.is_none_or(|e| !range.contains(&e))
            && self.ranks.iter().all(|(i, _)| !range.contains(i))
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// The class bits of an [`Entry`]'s key: numbers, then text, then the
/// empty key.
const CLASS_SHIFT: u32 = 62;
const TEXT_CLASS: u64 = 1 << CLASS_SHIFT;
const EMPTY_CLASS: u64 = 2 << CLASS_SHIFT;

/// An entry to sort: count-by-key's row order as one 128-bit integer
/// (count descending, numbers before text before the empty key, the key's
/// first 62 bits); only ties look further. The count is read back from the
/// key.
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
        let (class, head) = if number {
            (0, 0)
        } else if text.is_empty() {
            (EMPTY_CLASS, 0)
        } else {
            (TEXT_CLASS, u64::from_be_bytes(h) >> 2)
        };
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
            // equal keys: both of one class
            if (a.key as u64) >> CLASS_SHIFT != 0 {
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

    /// A count stops at its saturation, by ones or more, and leaves the
    /// length tag and the rank beside it alone.
    #[test]
    fn textmap_counts_saturate_in_place() {
        let meta = meta(3, Rank::Float, COUNT_MASK - 1);
        let mut s = Slot {
            key: pack(b"abc"),
            meta,
        };
        for n in [1, 1, 1, 7, u64::MAX] {
            s.bump(n);
            assert_eq!(s.count(), COUNT_MASK);
            assert_eq!((s.tag(), s.rank()), (3, Rank::Float));
        }
        s.meta = 3;
        s.bump(1);
        s.bump(2);
        assert_eq!((s.count(), s.tag()), (3, 3));
    }

    /// A key packed from a load and a mask is [`pack`] of its bytes, for
    /// every start and length in a buffer of distinct bytes; none where
    /// the load would pass the buffer's end or the key is long.
    #[test]
    fn textmap_pack_at_is_pack() {
        let b: Vec<u8> = (1..=40u8).collect();
        for s in 0..=b.len() {
            for e in s..=b.len() {
                let want = (s + INLINE <= b.len() && e - s <= INLINE).then(|| pack(&b[s..e]));
                assert_eq!(pack_at(&b, s, e), want, "{s}..{e}");
            }
        }
        assert_eq!(pack_at(&b, 5, 4), None);
    }

    /// A key of every inline length is its bytes, zero-padded.
    #[test]
    fn textmap_pack_pads_every_length() {
        let bytes: Vec<u8> = (1..=16u8).map(|i| i.wrapping_mul(37)).collect();
        for n in 0..=INLINE {
            let mut want = [0u8; INLINE];
            want[..n].copy_from_slice(&bytes[..n]);
            assert_eq!(pack(&bytes[..n]), want, "{n} bytes");
        }
    }

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
        assert!(a.add_at(b"x", 1, 0, true));
        assert!(a.add_at(b"x", 2, 1, false), "a known key always counts");
        assert!(!a.add_at(b"y", 1, 2, false));
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
        assert_eq!(a.sorted().keys[0], (long, 5));
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
        let serial = TextCounts::sorted_union(&refs).keys;
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .expect("a pool");
        let parallel = pool.install(|| TextCounts::sorted_union(&refs).keys);
        assert!(serial.len() >= PAR_ROWS);
        assert_eq!(parallel, serial);
        let total: u64 = serial.iter().map(|(_, c)| c).sum();
        let want: u64 = parts.iter().flat_map(|p| p.iter().map(|(_, c)| c)).sum();
        assert_eq!(total, want);
    }

    #[test]
    fn textmap_bound_keeps_the_keys_first_seen() {
        let mut a = TextCounts::default();
        let mut b = TextCounts::default();
        a.add_at(b"late", 3, 50, true);
        a.add_at(b"x", 1, 10, true);
        b.add_at(b"early", 2, 5, true);
        b.add_at(b"x", 4, 7, true);
        b.add_at(b"a-key-longer-than-sixteen-bytes", 1, 8, true);
        a.merge(&b);
        assert_eq!(a.bound(3), 3, "late (3) goes to (other)");
        let mut kept: Vec<(&str, u64, Pos)> = a
            .entries()
            .into_iter()
            .map(|(t, c, p, _)| (t, c, p))
            .collect();
        kept.sort();
        assert_eq!(
            kept,
            [
                ("a-key-longer-than-sixteen-bytes", 1, 8),
                ("early", 2, 5),
                ("x", 5, 7)
            ]
        );
        let f = a.frozen();
        assert_eq!(f.len(), 3);
        assert!(f.entries().iter().all(|(_, c, _, _)| *c == 0));
        assert_eq!(f.entries().len(), 3);
        assert!(
            f.sorted().is_empty(),
            "keys that counted nothing make no row"
        );
    }

    #[test]
    fn textmap_rank_is_the_highest_whatever_the_order() {
        for ranks in [[Rank::Text, Rank::Int], [Rank::Int, Rank::Text]] {
            let mut a = TextCounts::default();
            for (i, r) in ranks.iter().enumerate() {
                a.add_ranked(b"200", 1, i as Pos, true, *r);
            }
            a.add("7", 5);
            let s = a.sorted();
            assert_eq!(s.keys, [("7", 5), ("200", 2)]);
            assert_eq!((s.rank(0), s.rank(1)), (Rank::Text, Rank::Int));
            assert!(s.plain(0..1) && !s.plain(0..2));
        }
        let mut e = TextCounts::default();
        e.add("", 1);
        e.add("b", 1);
        assert_eq!(e.sorted().keys, [("b", 1), ("", 1)], "the empty key last");
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

        /// Keys added as spans of a buffer (one load and a mask, or the
        /// plain way near its end) equal the same keys added as slices:
        /// the counts, the first positions and the limit on new keys, for
        /// every length on both sides of 16, anywhere in the buffer (the
        /// packing itself: `textmap_pack_at_is_pack`).
        #[test]
        fn textmap_spans_equal_slices(
            buf in prop::collection::vec(prop::sample::select(vec![b'\0', b'\0', b'a', b'\xc3']), 0..48),
            spans in prop::collection::vec((0usize..48, 0usize..20), 0..300),
            max in 0usize..40,
        ) {
            let (mut a, mut b) = (TextCounts::default(), TextCounts::default());
            for (i, &(s, n)) in spans.iter().enumerate() {
                let s = s.min(buf.len());
                let e = (s + n).min(buf.len());
                let first = i as Pos;
                let took = a.add_span(&buf, s, e, first, a.len() < max);
                prop_assert_eq!(took, b.add_at(&buf[s..e], 1, first, b.len() < max));
            }
            prop_assert_eq!(a.entries(), b.entries());
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
            let got = a.sorted().keys;
            let mut want: Vec<(&str, u64)> = a.iter().collect();
            want.sort_by(|x, y| {
                // the empty key sorts last
                y.1.cmp(&x.1).then_with(|| x.0.is_empty().cmp(&y.0.is_empty())).then_with(|| {
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
            prop_assert_eq!(TextCounts::sorted_union(&refs).keys, merged.sorted().keys);
        }

        /// Tables fed interleaved records (each at its input position),
        /// merged in any order and bounded: the keys kept are the first
        /// `max` in input order, with all their counts, and the rest is
        /// returned; inline and long keys alike.
        #[test]
        fn textmap_bound_after_merges_keeps_the_first_keys(
            events in prop::collection::vec((0usize..3, 0u8..30), 0..300),
            max in 1usize..12,
            order in 0usize..6,
        ) {
            let key = |k: u8| if k % 3 == 0 {
                format!("a-long-key-beyond-sixteen-bytes-{k}")
            } else {
                format!("k{k}")
            };
            let mut tables = [TextCounts::default(), TextCounts::default(), TextCounts::default()];
            for (i, (t, k)) in events.iter().enumerate() {
                tables[*t].add_at(key(*k).as_bytes(), 1, i as Pos, true);
            }
            let perms = [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]];
            let [a, b, c] = perms[order];
            let mut all = tables[a].clone();
            all.merge(&tables[b]);
            all.merge(&tables[c]);
            let dropped = all.bound(max);
            // naive: first `max` distinct keys in input order
            let mut firsts: Vec<String> = Vec::new();
            for (_, k) in &events {
                let k = key(*k);
                if !firsts.contains(&k) {
                    firsts.push(k);
                }
            }
            firsts.truncate(max);
            let count = |k: &str| events.iter().filter(|(_, e)| key(*e) == k).count() as u64;
            let mut want: Vec<(String, u64)> = firsts.iter().map(|k| (k.clone(), count(k))).collect();
            want.sort();
            let mut got: Vec<(String, u64)> = all.iter().map(|(k, c)| (k.to_string(), c)).collect();
            got.sort();
            prop_assert_eq!(&got, &want);
            let kept: u64 = want.iter().map(|(_, c)| c).sum();
            prop_assert_eq!(dropped, events.len() as u64 - kept);
            // positions survive: bounding again keeps the same keys
            let again = all.bound(max.saturating_sub(1).max(1));
            let firsts_kept: Vec<String> = all.iter().map(|(k, _)| k.to_string()).collect();
            prop_assert!(firsts_kept.iter().all(|k| firsts.contains(k)));
            prop_assert!(again <= kept);
        }

        #[test]
        fn textmap_bytes_eq_matches_slice_eq(a in prop::collection::vec(0u8..3, 0..40), b in prop::collection::vec(0u8..3, 0..40)) {
            prop_assert_eq!(bytes_eq(&a, &b), a == b);
            prop_assert!(bytes_eq(&a, &a.clone()));
        }
    }
}
