//! Mergeable percentile accumulator for the `p50 p90 p95 p99` aggregates of `stats`.
//!
//! # Contract
//!
//! Percentiles are by *nearest rank*: for `p` in `(0, 100]` over `n` values the answer is the
//! value of 1-based rank `ceil(p * n / 100)` (at least 1) in sorted order.
//!
//! * While at most [`EXACT_LIMIT`] values have been seen (directly or through merges) every raw
//!   value is kept and the answer is exactly the naive one.
//! * Beyond that the values are compressed into a sketch. Its answer is always one of the values
//!   that were added, and that value's true rank is within a small fraction of `n` of the
//!   target rank: the spec allows 1%; the tests see a few hundredths of a percent typically and
//!   at most about 0.3%.
//! * `count`, `min` and `max` are always exact, and so are the first and last ranks
//!   (`quantile(100.0)` is `max()`).
//!
//! # Design: a KLL-style compactor hierarchy
//!
//! The sketch is a stack of levels. Level `h` holds values that each stand for `2^h` inputs.
//! New values go, unsorted, into level 0. When the sketch runs out of room a level is
//! *compacted*: it is sorted, and every other value (odd or even positions, picked by a coin)
//! moves up one level with twice the weight; an odd value left over stays where it is, so the
//! total weight is always exactly `n`. For any query point a compaction of level `h` moves the
//! estimated rank by at most `2^h`, and with a fair coin that error has mean zero, so the errors
//! of many compactions largely cancel instead of adding up. Level capacities shrink
//! geometrically (by 2/3) from the top level's `K = 1024` downwards (never below 8): the error
//! is dominated by the few top levels, with a standard deviation of roughly `n / K`, so the
//! small lower levels cost little accuracy and keep memory bounded.
//!
//! Why this rather than a t-digest:
//!
//! * Rank error is exactly what the spec bounds, and it is what this construction controls. The
//!   analysis holds for any sequence of adds and merges, in any order or tree shape, so building
//!   sliding windows out of per-batch partials costs no accuracy beyond the bound. A t-digest has
//!   no worst-case rank guarantee (adversarial inputs are known) and its clusters blur as digests
//!   are merged again and again.
//! * The answer is always an observed value, as with exact nearest rank: integer latencies give
//!   integer percentiles whether or not the window was large. A t-digest interpolates values
//!   that never occurred.
//! * Memory is bounded independently of `n`: one buffer of about 3,000 values (24 KB) at any
//!   realistic count (it grows by 8 values per doubling of `n` past about 2^25).
//!
//! The price is that the tail is no more precise than the middle (additive rank error), where a
//! t-digest would be sharper at p99; the accuracy is still well inside the contract.
//!
//! The coin comes from a small generator that is reseeded from the data being compacted, so
//! results are reproducible (same adds and merges, same output) while separate partials still
//! make independent choices.
//!
//! # Determinism
//!
//! A sketch is a function of the adds and merges that built it, not of the multiset of values:
//! which records land in which worker's partial must not decide the answer. So the engine gives
//! each part of the input a *raw* accumulator ([`Quantiles::raw`]: every value kept, never a
//! sketch) and merges the parts in input order; merging raw (or exact) values stores them one by
//! one exactly as adding them would, with the generator untouched. The batch's accumulator is
//! then the one of adding every value in input order, however the input was cut. Windows merge
//! whole batches (sketches) in time order, the same way every run.
//!
//! # Cost
//!
//! All levels live in one buffer with the free space at the front, and `add` just writes the
//! value below level 0. When the buffer is full, level 0 (a batch of typically 700 to 3,000
//! values) is sorted and halved into level 1, and full upper levels are compacted until a
//! quarter of the buffer is free; so `add` is amortised O(1) stores plus a share of a sort,
//! around 20 ns per value. `merge` of a small (exact) partial adds its values; two sketches are
//! laid out level by level, the sorted levels merged pairwise in linear time, and compacted
//! until they fit. A query sorts a weighted copy of the retained values (the upper levels are
//! already sorted runs) or, in exact mode, selects in a copy; [`Quantiles::quantiles`] answers
//! several percentiles with one sort.

use std::cmp::Ordering;
use std::fmt;

use crate::state::codec::{self, DecodeError, Decoder, Encoder};

/// Up to this many values (added or merged in) the accumulator is exact.
pub const EXACT_LIMIT: usize = 4096;

/// Capacity of the top level of the sketch; accuracy is roughly `n / K`.
const K: usize = 1024;

/// Smallest capacity of any level.
const MIN_CAP: usize = 8;

/// Most levels a sketch can have: level `h` has weight `2^h` and the count is a `u64`.
const MAX_LEVELS: usize = 64;

/// `CAPS[d]`: capacity of the level `d` levels below the top one.
const CAPS: [usize; MAX_LEVELS] = level_caps();

/// `TOTAL_CAPS[l]`: total capacity of a sketch with `l` levels (level 0 included).
const TOTAL_CAPS: [usize; MAX_LEVELS + 1] = total_caps();

const fn level_caps() -> [usize; MAX_LEVELS] {
    let mut caps = [0; MAX_LEVELS];
    let mut cap = K;
    let mut d = 0;
    while d < MAX_LEVELS {
        caps[d] = if cap < MIN_CAP { MIN_CAP } else { cap };
        cap = cap * 2 / 3;
        d += 1;
    }
    caps
}

const fn total_caps() -> [usize; MAX_LEVELS + 1] {
    let caps = level_caps();
    let mut totals = [0; MAX_LEVELS + 1];
    let mut l = 1;
    while l <= MAX_LEVELS {
        let mut sum = 0;
        let mut d = 0;
        while d < l {
            sum += caps[d];
            d += 1;
        }
        totals[l] = sum;
        l += 1;
    }
    totals
}

/// Mergeable percentile accumulator over `f64` values (NaN is ignored).
#[derive(Clone)]
pub struct Quantiles {
    count: u64,
    min: f64,
    max: f64,
    /// Exact mode (`bounds` empty): every value, unsorted.
    ///
    /// Sketch mode: all levels in one buffer of `TOTAL_CAPS[levels]` slots, level 0 lowest.
    /// Level `h` is `items[bounds[h]..bounds[h + 1]]`; its values stand for `2^h` inputs each and
    /// are sorted for `h >= 1`. `items[..bounds[0]]` is free space, which level 0 grows down
    /// into.
    items: Vec<f64>,
    /// Empty in exact mode; otherwise `levels + 1` offsets, the last one `items.len()`.
    bounds: Vec<usize>,
    /// State of the coin generator.
    rng: u64,
    /// Keeps every value, never a sketch (a part's accumulator).
    raw: bool,
}

impl Default for Quantiles {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Quantiles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Quantiles")
            .field("count", &self.count)
            .field("min", &self.min())
            .field("max", &self.max())
            .field("exact", &self.is_exact())
            .field("levels", &self.bounds.len().saturating_sub(1))
            .field("retained", &self.retained())
            .finish()
    }
}

impl Quantiles {
    /// An empty accumulator; allocates nothing until the first value.
    pub const fn new() -> Self {
        Quantiles {
            count: 0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            items: Vec::new(),
            bounds: Vec::new(),
            rng: 0x9e37_79b9_7f4a_7c15,
            raw: false,
        }
    }

    /// An accumulator that keeps every value, however many: the state of
    /// one part of the input, merged into a batch's in input order (see
    /// the module's "Determinism").
    pub const fn raw() -> Self {
        let mut q = Self::new();
        q.raw = true;
        q
    }

    /// Adds one value; NaN is ignored.
    #[inline]
    pub fn add(&mut self, x: f64) {
        if x.is_nan() {
            return;
        }
        self.count += 1;
        self.min = self.min.min(x);
        self.max = self.max.max(x);
        self.store(x);
    }

    /// Stores a value whose count, min and max are already accounted for.
    #[inline]
    fn store(&mut self, x: f64) {
        match self.bounds.first_mut() {
            Some(start) if *start > 0 => {
                *start -= 1;
                self.items[*start] = x;
            }
            None if self.items.len() < self.items.capacity().min(EXACT_LIMIT) => self.items.push(x),
            None if self.raw => self.items.push(x),
            _ => self.store_slow(x),
        }
    }

    /// `store` when level 0 has no free slot, or when the exact buffer is full.
    #[cold]
    fn store_slow(&mut self, x: f64) {
        if self.bounds.is_empty() {
            if self.items.len() < EXACT_LIMIT {
                // Grow as `Vec` would, but never past the exact limit.
                let want = (2 * self.items.len()).clamp(8, EXACT_LIMIT);
                self.items.reserve_exact(want - self.items.len());
                self.items.push(x);
                return;
            }
            let raw = std::mem::take(&mut self.items);
            let len = raw.len();
            self.build_sketch(raw, vec![0, len]);
        } else {
            self.make_room();
        }
        self.bounds[0] -= 1;
        let start = self.bounds[0];
        self.items[start] = x;
    }

    /// Keeps every value ([`Quantiles::raw`]).
    pub fn is_raw(&self) -> bool {
        self.raw
    }

    /// A raw accumulator's values, in the order they were added (empty for any other).
    pub fn raw_values(&self) -> &[f64] {
        if self.raw { &self.items } else { &[] }
    }

    /// A raw accumulator turned into the one adding its values in order would have made (a
    /// part's accumulator that becomes a batch's: it is merged into, or answers).
    pub fn unraw(&mut self) {
        if !self.raw {
            return;
        }
        self.raw = false;
        if self.items.len() > EXACT_LIMIT {
            let all = std::mem::take(&mut self.items);
            self.items = all[..EXACT_LIMIT].to_vec();
            all[EXACT_LIMIT..].iter().for_each(|&x| self.store(x));
        }
    }

    /// Folds `other` into `self`. The result is exact if the combined count is at most
    /// [`EXACT_LIMIT`], and otherwise a sketch with the usual error bound.
    pub fn merge(&mut self, other: &Quantiles) {
        self.unraw();
        if other.count == 0 {
            return;
        }
        if self.count == 0 && !other.is_exact() {
            let raw = self.raw;
            self.clone_from(other);
            self.raw = raw;
            return;
        }
        self.count += other.count;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        if other.is_exact() {
            // as if each value were added here in turn: the generator is
            // left alone, so merging raw parts in input order is adding
            // every value in input order
            if self.is_exact() && (self.raw || self.items.len() + other.items.len() <= EXACT_LIMIT)
            {
                let needed = self.items.len() + other.items.len();
                if needed > self.items.capacity() {
                    let cap = if self.raw { usize::MAX } else { EXACT_LIMIT };
                    let want = needed.max(2 * self.items.len()).min(cap);
                    self.items.reserve_exact(want - self.items.len());
                }
                self.items.extend_from_slice(&other.items);
            } else {
                // A few raw values: cheaper to add them than to rebuild the sketch.
                other.items.iter().for_each(|&x| self.store(x));
            }
            return;
        }
        self.rng ^= other.rng.rotate_left(23);
        if self.is_exact() {
            let mine = std::mem::take(&mut self.items);
            self.items.clone_from(&other.items);
            self.bounds.clone_from(&other.bounds);
            mine.into_iter().for_each(|x| self.store(x));
            return;
        }
        // Lay both out level by level in a fresh buffer, then compact it down to size.
        let levels = self.num_levels().max(other.num_levels());
        let mut items = Vec::with_capacity(self.retained() + other.retained());
        let mut bounds = Vec::with_capacity(levels + 2);
        for h in 0..levels {
            bounds.push(items.len());
            let (a, b) = (self.level(h), other.level(h));
            if h == 0 {
                items.extend_from_slice(a);
                items.extend_from_slice(b);
            } else {
                merge_sorted(&mut items, a, b);
            }
        }
        bounds.push(items.len());
        self.build_sketch(items, bounds);
    }

    /// Number of values added (directly or through merges), NaN excluded.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// True when no value has been added.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// True while every value is kept, i.e. while `count() <= EXACT_LIMIT`.
    pub fn is_exact(&self) -> bool {
        self.bounds.is_empty()
    }

    /// Smallest value, exactly.
    pub fn min(&self) -> Option<f64> {
        (self.count > 0).then_some(self.min)
    }

    /// Largest value, exactly.
    pub fn max(&self) -> Option<f64> {
        (self.count > 0).then_some(self.max)
    }

    /// Number of values currently stored.
    pub fn retained(&self) -> usize {
        self.items.len() - self.bounds.first().copied().unwrap_or(0)
    }

    /// Heap memory held, in bytes.
    pub fn heap_bytes(&self) -> usize {
        self.items.capacity() * size_of::<f64>() + self.bounds.capacity() * size_of::<usize>()
    }

    /// The `p`th percentile by nearest rank (`p` is clamped to `[0, 100]`; 0 gives the
    /// minimum). `None` when empty or when `p` is NaN.
    pub fn quantile(&self, p: f64) -> Option<f64> {
        let rank = self.rank_of(p)?;
        if let Some(x) = self.extreme(rank) {
            return Some(x);
        }
        if self.is_exact() {
            let mut copy = self.items.clone();
            let (_, x, _) = copy.select_nth_unstable_by(rank as usize - 1, f64::total_cmp);
            return Some(*x);
        }
        let (values, cumulative) = self.weighted_view();
        Some(values[cumulative.partition_point(|&c| c < rank)])
    }

    /// Several percentiles at once (one sort instead of one per percentile); each entry is as
    /// [`Quantiles::quantile`] would return.
    pub fn quantiles(&self, ps: &[f64]) -> Vec<Option<f64>> {
        if self.count == 0 {
            return vec![None; ps.len()];
        }
        if self.is_exact() {
            let mut sorted = self.items.clone();
            sort_values(&mut sorted);
            return ps
                .iter()
                .map(|&p| {
                    let rank = self.rank_of(p)?;
                    Some(self.extreme(rank).unwrap_or(sorted[rank as usize - 1]))
                })
                .collect();
        }
        let (values, cumulative) = self.weighted_view();
        ps.iter()
            .map(|&p| {
                let rank = self.rank_of(p)?;
                Some(
                    self.extreme(rank)
                        .unwrap_or_else(|| values[cumulative.partition_point(|&c| c < rank)]),
                )
            })
            .collect()
    }

    /// Nearest rank of percentile `p`, in `1..=count`.
    fn rank_of(&self, p: f64) -> Option<u64> {
        if self.count == 0 || p.is_nan() {
            return None;
        }
        let p = p.clamp(0.0, 100.0);
        // `p * n` is exact for integral `p` and any realistic `n`, so whole-number ranks do not
        // pick up rounding noise that would push `ceil` one rank too far.
        let rank = (p * self.count as f64 / 100.0).ceil() as u64;
        Some(rank.clamp(1, self.count))
    }

    /// The exact answer for the first and last ranks.
    fn extreme(&self, rank: u64) -> Option<f64> {
        if rank <= 1 {
            Some(self.min)
        } else if rank >= self.count {
            Some(self.max)
        } else {
            None
        }
    }

    /// Number of levels (1 in exact mode, where all values are level 0).
    fn num_levels(&self) -> usize {
        self.bounds.len().saturating_sub(1).max(1)
    }

    /// Values of level `h` (empty if there is no such level).
    fn level(&self, h: usize) -> &[f64] {
        if self.bounds.is_empty() {
            return if h == 0 { &self.items } else { &[] };
        }
        match (self.bounds.get(h), self.bounds.get(h + 1)) {
            (Some(&start), Some(&end)) => &self.items[start..end],
            _ => &[],
        }
    }

    /// All retained values sorted, with the cumulative weight up to and including each one.
    fn weighted_view(&self) -> (Vec<f64>, Vec<u64>) {
        let mut pairs: Vec<(u64, u64)> = Vec::with_capacity(self.retained());
        pairs.extend(self.level(0).iter().map(|&x| (order_key(x), 1)));
        pairs.sort_unstable();
        for h in 1..self.num_levels() {
            let weight = 1u64 << h;
            pairs.extend(self.level(h).iter().map(|&x| (order_key(x), weight)));
        }
        // Now a concatenation of sorted runs, which the stable sort merges in near-linear time.
        pairs.sort_by_key(|&(key, _)| key);
        let mut total = 0;
        pairs
            .into_iter()
            .map(|(key, w)| {
                total += w;
                (from_order_key(key), total)
            })
            .unzip()
    }

    /// Turns a level layout that may be over capacity (level 0 unsorted, no free space needed)
    /// into this accumulator's sketch: compacts until it fits, then pads the front with free
    /// space up to the total capacity.
    fn build_sketch(&mut self, mut items: Vec<f64>, mut bounds: Vec<usize>) {
        loop {
            let levels = bounds.len() - 1;
            if items.len() - bounds[0] <= TOTAL_CAPS[levels] {
                break;
            }
            let h = lowest_full_level(&bounds);
            if h + 1 == levels {
                bounds.push(items.len());
            }
            let coin = flip(&mut self.rng, &items[bounds[h]..bounds[h + 1]]);
            compact(&mut items, &mut bounds, h, coin);
        }
        let levels = bounds.len() - 1;
        let used = items.len() - bounds[0];
        let free = TOTAL_CAPS[levels] - used;
        let mut out = Vec::with_capacity(TOTAL_CAPS[levels]);
        out.resize(free, 0.0);
        out.extend_from_slice(&items[bounds[0]..]);
        let shift = bounds[0];
        for b in &mut bounds {
            *b = *b - shift + free;
        }
        self.items = out;
        self.bounds = bounds;
    }

    /// Makes room in a full sketch. Level 0, which holds all the slack, is compacted first;
    /// then, while less than a quarter of the sketch is free, the lowest upper level at or over
    /// its capacity, adding a level on top when the top one overflows. The quarter keeps level-0
    /// batches large, so `add` mostly costs a share of one sort of a big batch; compacting upper
    /// levels only when needed lets them run over capacity, which means fewer compactions and
    /// so less error.
    fn make_room(&mut self) {
        let mut h = 0;
        loop {
            if h + 2 == self.bounds.len() {
                self.add_level();
            }
            let level = &self.items[self.bounds[h]..self.bounds[h + 1]];
            let coin = flip(&mut self.rng, level);
            compact(&mut self.items, &mut self.bounds, h, coin);
            let levels = self.bounds.len() - 1;
            if self.bounds[0] >= TOTAL_CAPS[levels] / 4 {
                break;
            }
            // While the levels fill the sketch, one of them is at or over capacity.
            match (1..levels).find(|&h| self.bounds[h + 1] - self.bounds[h] >= CAPS[levels - 1 - h])
            {
                Some(full) => h = full,
                None => break,
            }
        }
        debug_assert!(self.bounds[0] > 0);
    }

    /// Adds an empty top level, growing the buffer (at the front) by the capacity that adds.
    fn add_level(&mut self) {
        let levels = self.bounds.len() - 1;
        assert!(levels < MAX_LEVELS, "quantile sketch level overflow");
        let extra = TOTAL_CAPS[levels + 1] - TOTAL_CAPS[levels];
        let mut grown = Vec::with_capacity(TOTAL_CAPS[levels + 1]);
        grown.resize(extra, 0.0);
        grown.extend_from_slice(&self.items);
        self.items = grown;
        for b in &mut self.bounds {
            *b += extra;
        }
        self.bounds.push(self.items.len());
    }
}

/// `--state`: the accumulator as it stands (its values, levels and coin),
/// so that one read back goes on exactly as it would have; the free space
/// of a sketch is written as its length.
impl Quantiles {
    pub fn save(&self, e: &mut Encoder) {
        e.u64(self.count);
        e.f64(self.min);
        e.f64(self.max);
        e.u64(self.rng);
        e.bool(self.raw);
        e.usize(self.bounds.len());
        for b in &self.bounds {
            e.usize(*b);
        }
        let free = self.bounds.first().copied().unwrap_or(0);
        e.usize(free);
        e.usize(self.items.len() - free);
        for x in &self.items[free..] {
            e.f64(*x);
        }
    }

    pub fn load(d: &mut Decoder<'_>) -> codec::Result<Quantiles> {
        let bad = |what: &str| DecodeError(format!("a percentile sketch with {what}"));
        let (count, min, max, rng, raw) = (d.u64()?, d.f64()?, d.f64()?, d.u64()?, d.bool()?);
        let levels = d.count()?;
        if levels == 1 || levels > MAX_LEVELS + 1 {
            return Err(bad("a wrong number of levels"));
        }
        let mut bounds = Vec::with_capacity(levels);
        for _ in 0..levels {
            bounds.push(d.usize()?);
        }
        let free = d.usize()?;
        let used = d.count()?;
        // a part's accumulator keeps every value; any other, at most a
        // full sketch's
        let len = free
            .checked_add(used)
            .filter(|n| raw || *n <= 2 * TOTAL_CAPS[MAX_LEVELS])
            .ok_or_else(|| bad("too many values"))?;
        let layout_ok = match (bounds.first(), bounds.last()) {
            (None, None) => free == 0 && (raw || used <= EXACT_LIMIT),
            (Some(&first), Some(&last)) => {
                first == free && last == len && bounds.windows(2).all(|w| w[0] <= w[1])
            }
            _ => false,
        };
        if !layout_ok || (raw && !bounds.is_empty()) || used as u64 > count {
            return Err(bad("levels that do not fit its values"));
        }
        let mut items = vec![0.0; free];
        items.reserve_exact(used);
        for _ in 0..used {
            items.push(d.f64()?);
        }
        Ok(Quantiles {
            count,
            min,
            max,
            items,
            bounds,
            rng,
            raw,
        })
    }
}

/// A fair-looking coin, reseeded from the data so separate partials decorrelate.
fn flip(rng: &mut u64, level: &[f64]) -> bool {
    let mid = level.get(level.len() / 2).map_or(0, |x| x.to_bits());
    *rng = splitmix64(*rng ^ mid ^ (level.len() as u64).rotate_left(32));
    *rng >> 63 == 1
}

/// The lowest level at or over its capacity. One always exists when the levels together hold
/// at least their total capacity.
fn lowest_full_level(bounds: &[usize]) -> usize {
    let levels = bounds.len() - 1;
    (0..levels)
        .find(|&h| bounds[h + 1] - bounds[h] >= CAPS[levels - 1 - h])
        .unwrap_or(levels - 1)
}

/// Compacts level `h` of a flat layout (level `h + 1` must exist): sorts it (level 0 is
/// unsorted), keeps every other value (odd positions if `coin`) and merges those into level
/// `h + 1`. With an odd length the smallest value stays behind at level `h`. Lower levels move
/// up over the freed slots, which join the free space at the front.
fn compact(items: &mut [f64], bounds: &mut [usize], h: usize, coin: bool) {
    let (start, end, next_end) = (bounds[h], bounds[h + 1], bounds[h + 2]);
    let level = &mut items[start..end];
    if h == 0 {
        sort_values(level);
    }
    let odd = level.len() % 2;
    let leftover = level.first().copied();
    let pairs = start + odd;
    let half = (end - pairs) / 2;
    let offset = usize::from(coin);
    for j in 0..half {
        items[pairs + j] = items[pairs + 2 * j + offset];
    }
    // Merge the kept half (at `pairs..pairs + half`) with level `h + 1` (at `end..next_end`)
    // into `end - half..next_end`. Writes stay at or behind the unread part of level `h + 1`
    // and after the kept half, so this is safe in place.
    let (mut i, mut j, mut k) = (pairs, end, end - half);
    while i < pairs + half {
        if j < next_end && items[j].total_cmp(&items[i]) == Ordering::Less {
            items[k] = items[j];
            j += 1;
        } else {
            items[k] = items[i];
            i += 1;
        }
        k += 1;
    }
    // What is left of level `h + 1` is already in place (k == j).
    bounds[h + 1] = end - half;
    if let (1, Some(x)) = (odd, leftover) {
        items[end - half - 1] = x;
    }
    // Level `h` now ends at `end - half` and holds just the leftover, if any; levels below it
    // move up by `half`.
    let low = bounds[0];
    items.copy_within(low..start, low + half);
    for b in &mut bounds[..=h] {
        *b += half;
    }
}

/// Maps a value to an integer with the same order as `f64::total_cmp`: integers compare
/// faster than floats, which makes sorting about twice as fast.
fn order_key(x: f64) -> u64 {
    const SIGN: u64 = 1 << 63;
    let bits = x.to_bits();
    if bits & SIGN == 0 { bits | SIGN } else { !bits }
}

/// Inverse of [`order_key`].
fn from_order_key(key: u64) -> f64 {
    const SIGN: u64 = 1 << 63;
    f64::from_bits(if key & SIGN == 0 { !key } else { key & !SIGN })
}

/// Sorts like `sort_unstable_by(f64::total_cmp)`, faster.
fn sort_values(values: &mut [f64]) {
    let mut keys: Vec<u64> = values.iter().map(|&x| order_key(x)).collect();
    keys.sort_unstable();
    for (x, key) in values.iter_mut().zip(keys) {
        *x = from_order_key(key);
    }
}

/// Appends the merge of sorted `a` and `b` to `out`.
fn merge_sorted(out: &mut Vec<f64>, a: &[f64], b: &[f64]) {
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        if b[j].total_cmp(&a[i]) == Ordering::Less {
            out.push(b[j]);
            j += 1;
        } else {
            out.push(a[i]);
            i += 1;
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
}

fn splitmix64(state: u64) -> u64 {
    let mut z = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const PS: [f64; 6] = [1.0, 50.0, 90.0, 95.0, 99.0, 100.0];

    /// Test-only generator, so data sets are cheap to build and reproducible from a seed.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            splitmix64(self.0)
        }
        fn unit(&mut self) -> f64 {
            (self.next() >> 11) as f64 / (1u64 << 53) as f64
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
        fn normal(&mut self) -> f64 {
            let u = 1.0 - self.unit();
            let v = self.unit();
            (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
        }
    }

    const DISTRIBUTIONS: usize = 8;

    fn value(rng: &mut Rng, dist: usize) -> f64 {
        match dist {
            0 => rng.unit(),
            1 => rng.normal() * 10.0 + 100.0,
            2 => (rng.normal() * 2.0).exp(),
            3 => rng.below(5) as f64,
            4 => {
                if rng.below(20) == 0 {
                    rng.unit() * 1e6
                } else {
                    0.0
                }
            }
            5 => rng.below(1000) as f64,
            6 => {
                let sign = if rng.below(2) == 0 { -1.0 } else { 1.0 };
                sign * 10f64.powf(rng.unit() * 600.0 - 300.0)
            }
            _ => -(rng.unit() * 50.0).exp2(),
        }
    }

    /// `n` values of distribution `dist`, in random (0), ascending (1), descending (2) or
    /// sawtooth (3) order.
    fn dataset(n: usize, dist: usize, order: usize, seed: u64) -> Vec<f64> {
        let mut rng = Rng(seed);
        let mut v: Vec<f64> = (0..n).map(|_| value(&mut rng, dist)).collect();
        match order {
            1 => v.sort_by(f64::total_cmp),
            2 => v.sort_by(|a, b| b.total_cmp(a)),
            3 => v.chunks_mut(997).for_each(|c| c.sort_by(f64::total_cmp)),
            _ => {}
        }
        v
    }

    fn naive(values: &[f64], p: f64) -> f64 {
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len() as f64;
        let rank = ((p / 100.0 * n).ceil() as usize).max(1);
        sorted[rank - 1]
    }

    /// How far (in ranks) `v` is from being a correct nearest-rank answer for `p`.
    fn rank_error(sorted: &[f64], v: f64, p: f64) -> u64 {
        let n = sorted.len() as u64;
        let r = ((p * n as f64 / 100.0).ceil() as u64).clamp(1, n);
        let lo = sorted.partition_point(|&x| x < v) as u64;
        let hi = sorted.partition_point(|&x| x <= v) as u64;
        if lo < r && r <= hi {
            0
        } else {
            (lo + 1).abs_diff(r).min(hi.abs_diff(r))
        }
    }

    fn build(values: &[f64]) -> Quantiles {
        let mut q = Quantiles::new();
        values.iter().for_each(|&x| q.add(x));
        q
    }

    /// Splits into chunks of random sizes (up to `max_chunk`), one accumulator each, merged in
    /// random order, either folded one by one or paired up as a random tree.
    fn build_merged(values: &[f64], max_chunk: usize, tree: bool, seed: u64) -> Quantiles {
        let mut rng = Rng(seed);
        let mut parts = Vec::new();
        let mut rest = values;
        while !rest.is_empty() {
            let take = (1 + rng.below(max_chunk)).min(rest.len());
            parts.push(build(&rest[..take]));
            rest = &rest[take..];
        }
        for i in (1..parts.len()).rev() {
            parts.swap(i, rng.below(i + 1));
        }
        if tree {
            while parts.len() > 1 {
                let a = parts.swap_remove(rng.below(parts.len()));
                let b = parts.swap_remove(rng.below(parts.len()));
                let (mut a, b) = if rng.below(2) == 0 { (a, b) } else { (b, a) };
                a.merge(&b);
                parts.push(a);
            }
            parts.pop().unwrap_or_default()
        } else {
            let mut acc = Quantiles::new();
            parts.iter().for_each(|p| acc.merge(p));
            acc
        }
    }

    /// Layout invariants, and total weight equal to the count.
    fn check_layout(q: &Quantiles) -> Result<(), TestCaseError> {
        if q.is_exact() {
            prop_assert_eq!(q.items.len() as u64, q.count);
            prop_assert!(q.items.len() <= EXACT_LIMIT);
            return Ok(());
        }
        let levels = q.bounds.len() - 1;
        prop_assert!(levels >= 2);
        prop_assert_eq!(q.items.len(), TOTAL_CAPS[levels]);
        prop_assert_eq!(q.bounds[levels], q.items.len());
        prop_assert!(q.bounds.windows(2).all(|w| w[0] <= w[1]));
        let mut weight = 0;
        for h in 0..levels {
            let level = q.level(h);
            weight += (level.len() as u64) << h;
            if h > 0 {
                prop_assert!(level.is_sorted_by(|a, b| a.total_cmp(b).is_le()));
            }
        }
        prop_assert_eq!(weight, q.count);
        Ok(())
    }

    /// Checks count/min/max, exactness when small, and the 1% rank bound otherwise.
    fn check(values: &[f64], q: &Quantiles) -> Result<(), TestCaseError> {
        check_layout(q)?;
        let n = values.len();
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        prop_assert_eq!(q.count(), n as u64);
        prop_assert_eq!(q.is_exact(), n <= EXACT_LIMIT);
        prop_assert_eq!(q.min(), sorted.first().copied());
        prop_assert_eq!(q.max(), sorted.last().copied());
        let batch = q.quantiles(&PS);
        for (&p, &b) in PS.iter().zip(&batch) {
            let got = q.quantile(p);
            prop_assert_eq!(got, b);
            let Some(v) = got else {
                prop_assert_eq!(n, 0);
                continue;
            };
            if n <= EXACT_LIMIT {
                prop_assert_eq!(v, naive(values, p), "p{}", p);
            } else {
                let err = rank_error(&sorted, v, p);
                prop_assert!(err as f64 <= 0.01 * n as f64, "p{} n={} err={}", p, n, err);
            }
        }
        Ok(())
    }

    #[test]
    fn empty() {
        let q = Quantiles::new();
        assert_eq!(q.count(), 0);
        assert!(q.is_empty());
        assert_eq!(q.quantile(50.0), None);
        assert_eq!(q.quantiles(&[50.0, 99.0]), vec![None, None]);
        assert_eq!(q.min(), None);
        assert_eq!(q.max(), None);
        let mut m = Quantiles::default();
        m.merge(&q);
        assert_eq!(m.quantile(50.0), None);
        m.add(f64::NAN);
        assert_eq!(m.count(), 0);
        assert_eq!(m.quantile(50.0), None);
    }

    #[test]
    fn exact_matches_naive_nearest_rank() {
        let mut rng = Rng(7);
        for n in (1..=200).chain([999, 1000, 1001, 4095, EXACT_LIMIT]) {
            for dist in 0..DISTRIBUTIONS {
                let values: Vec<f64> = (0..n).map(|_| value(&mut rng, dist)).collect();
                let q = build(&values);
                assert!(q.is_exact());
                for p in PS {
                    assert_eq!(
                        q.quantile(p),
                        Some(naive(&values, p)),
                        "n={n} dist={dist} p{p}"
                    );
                }
            }
        }
    }

    #[test]
    fn nearest_rank_textbook_cases() {
        let q = build(&[15.0, 20.0, 35.0, 40.0, 50.0]);
        assert_eq!(q.quantile(5.0), Some(15.0));
        assert_eq!(q.quantile(30.0), Some(20.0));
        assert_eq!(q.quantile(40.0), Some(20.0));
        assert_eq!(q.quantile(50.0), Some(35.0));
        assert_eq!(q.quantile(100.0), Some(50.0));
        assert_eq!(q.quantile(0.0), Some(15.0));
        assert_eq!(q.quantile(-3.0), Some(15.0));
        assert_eq!(q.quantile(250.0), Some(50.0));
        assert_eq!(q.quantile(f64::NAN), None);
        // 7% of 100 is rank 7 exactly, even though 0.07 * 100 is 7.000000000000001.
        let q = build(&(1..=100).map(f64::from).collect::<Vec<_>>());
        assert_eq!(q.quantile(7.0), Some(7.0));
        assert_eq!(q.quantile(57.0), Some(57.0));
    }

    #[test]
    fn nan_ignored_and_infinities_kept() {
        let q = build(&[
            f64::NAN,
            3.0,
            f64::INFINITY,
            f64::NAN,
            -1.0,
            f64::NEG_INFINITY,
        ]);
        assert_eq!(q.count(), 4);
        assert_eq!(q.min(), Some(f64::NEG_INFINITY));
        assert_eq!(q.max(), Some(f64::INFINITY));
        assert_eq!(q.quantile(50.0), Some(-1.0));
        assert_eq!(q.quantile(75.0), Some(3.0));
    }

    #[test]
    fn exact_limit_boundary() {
        let values = dataset(EXACT_LIMIT + 1, 0, 0, 3);
        let q = build(&values[..EXACT_LIMIT]);
        assert!(q.is_exact());
        let mut q2 = q.clone();
        q2.add(values[EXACT_LIMIT]);
        assert!(!q2.is_exact());
        check(&values, &q2).unwrap();
        assert!(q2.heap_bytes() <= 8 * EXACT_LIMIT * 2);
    }

    #[test]
    fn merging_small_exact_partials() {
        // 64 partials of 64 values stay exact; one more value makes a sketch.
        let values = dataset(EXACT_LIMIT + 1, 5, 0, 11);
        let mut acc = Quantiles::new();
        for chunk in values[..EXACT_LIMIT].chunks(64) {
            acc.merge(&build(chunk));
        }
        check(&values[..EXACT_LIMIT], &acc).unwrap();
        acc.merge(&build(&values[EXACT_LIMIT..]));
        check(&values, &acc).unwrap();
        // Merging into an empty accumulator, and an empty one into a full one.
        let mut e = Quantiles::new();
        e.merge(&acc);
        e.merge(&Quantiles::new());
        check(&values, &e).unwrap();
    }

    #[test]
    fn sketch_mode_basics() {
        for (dist, order) in [(0, 0), (3, 1), (4, 2), (6, 3), (7, 0)] {
            let values = dataset(200_000, dist, order, 5);
            let q = build(&values);
            check(&values, &q).unwrap();
            assert!(q.retained() < 4 * K, "{q:?}");
            assert!(q.heap_bytes() < 80 * 1024, "{}", q.heap_bytes());
        }
    }

    #[test]
    fn deterministic() {
        let values = dataset(100_000, 2, 0, 9);
        assert_eq!(build(&values).quantiles(&PS), build(&values).quantiles(&PS));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn merged_chunks_within_bound(
            n in 0usize..20_000,
            dist in 0..DISTRIBUTIONS,
            order in 0usize..4,
            max_chunk in prop_oneof![1usize..20, 1usize..500, 1usize..5000, Just(20_000usize)],
            tree in any::<bool>(),
            seed in any::<u64>(),
        ) {
            let values = dataset(n, dist, order, seed);
            let q = build_merged(&values, max_chunk, tree, seed ^ 1);
            check(&values, &q)?;
        }

        #[test]
        fn arbitrary_vectors_within_bound(
            mut values in prop_oneof![
                prop::collection::vec(-1e9f64..1e9, 0..20_000),
                prop::collection::vec((0u8..4).prop_map(f64::from), 0..20_000),
                prop::collection::vec(
                    prop::num::f64::NORMAL | prop::num::f64::ZERO | prop::num::f64::INFINITE,
                    0..20_000,
                ),
            ],
            order in 0usize..3,
            max_chunk in 1usize..6000,
            tree in any::<bool>(),
            seed in any::<u64>(),
        ) {
            match order {
                1 => values.sort_by(f64::total_cmp),
                2 => values.sort_by(|a, b| b.total_cmp(a)),
                _ => {}
            }
            let q = build_merged(&values, max_chunk, tree, seed);
            check(&values, &q)?;
        }
    }

    fn report_errors(label: &str, values: &[f64], q: &Quantiles) -> f64 {
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        let n = values.len() as f64;
        let mut worst = 0.0f64;
        let mut line = String::new();
        for p in [50.0, 90.0, 95.0, 99.0] {
            let v = q.quantile(p).unwrap();
            let err = rank_error(&sorted, v, p) as f64 / n;
            worst = worst.max(err);
            line.push_str(&format!(" p{p}: {:.4}%", err * 100.0));
        }
        println!(
            "{label}:{line} (retained {}, {} B)",
            q.retained(),
            q.heap_bytes()
        );
        worst
    }

    #[test]
    #[ignore = "heavy: 5 million values per distribution"]
    fn five_million_values() {
        let n = 5_000_000;
        let mut worst = 0.0f64;
        for dist in 0..DISTRIBUTIONS {
            for order in 0..4 {
                let values = dataset(n, dist, order, 42 + dist as u64);
                let q = build(&values);
                check(&values, &q).unwrap();
                let label = format!("dist {dist} order {order} add");
                worst = worst.max(report_errors(&label, &values, &q));
                let q = build_merged(&values, 2 * n / 60, false, 7);
                check(&values, &q).unwrap();
                let label = format!("dist {dist} order {order} merged");
                worst = worst.max(report_errors(&label, &values, &q));
            }
        }
        println!("worst rank error: {:.4}%", worst * 100.0);
        assert!(worst <= 0.01);
    }

    /// Rank error over many random inputs, sizes and merge patterns.
    #[test]
    #[ignore = "survey; run with --release --nocapture"]
    fn error_survey() {
        let mut rng = Rng(12345);
        let mut worst = [0.0f64; 4];
        let mut sum = [0.0f64; 4];
        let mut trials = 0;
        for t in 0..3000 {
            let n = if t % 10 == 0 {
                4097 + rng.below(400_000)
            } else {
                4097 + rng.below(16_000)
            };
            let dist = rng.below(DISTRIBUTIONS);
            let order = rng.below(4);
            let values = dataset(n, dist, order, rng.next());
            let max_chunk = [10, 500, 5000, 12000, n][rng.below(5)];
            let q = build_merged(&values, max_chunk, rng.below(2) == 0, rng.next());
            let mut sorted = values.clone();
            sorted.sort_by(f64::total_cmp);
            for (i, p) in [50.0, 90.0, 95.0, 99.0].into_iter().enumerate() {
                let e = rank_error(&sorted, q.quantile(p).unwrap(), p) as f64 / n as f64;
                worst[i] = worst[i].max(e);
                sum[i] += e;
            }
            trials += 1;
        }
        let pct = |e: f64| format!("{:.4}%", e * 100.0);
        println!("{trials} trials, p50 p90 p95 p99");
        println!("worst: {:?}", worst.map(pct));
        println!("mean:  {:?}", sum.map(|e| pct(e / trials as f64)));
        assert!(worst.iter().all(|&e| e <= 0.01));
    }
}
