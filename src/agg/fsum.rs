//! Exact sums of floats, for `stats`' `sum` and `mean`: the sum is kept as
//! one long fixed-point integer, so adding values in any order and merging
//! partial sums in any grouping give the same bits. A float sum added up
//! as floats rounds at every step, and the rounding depends on the order:
//! two runs that split the input differently (threads, chunks, file or
//! pipe) printed different last digits of a large sum.
//!
//! Every finite double is an integer multiple of 2^-1074, below 2^1024:
//! scaled by 2^1074 it is an integer of at most 2098 bits. The sum is held
//! in 32-bit chunks of that integer, each in an `i64` so that carries can
//! wait: an add touches three chunks and no loop, and carries are
//! propagated once every 2^30 adds. Only the chunks the values reach are
//! kept (a window that grows when a value falls outside it): sums of
//! latencies in milliseconds take four or five chunks. The result is the
//! exact sum rounded once to the nearest double.

use crate::state::codec::{self, DecodeError, Decoder, Encoder};

/// Adds between carry propagations: each chunk gains less than 2^32 per
/// add, so a chunk stays below 2^62 plus its own 32 bits.
const CARRY_EVERY: u32 = 1 << 30;

/// Bits per chunk.
const BITS: u32 = 32;
const MASK: i64 = (1 << BITS) - 1;

/// Where the bit of weight 2^0 sits in the scaled integer.
const ONE: usize = 1074;

#[derive(Debug, Clone, Default)]
pub struct ExactSum {
    /// `chunks[j]` holds bits `32 * (lo + j) ..` of the scaled sum, and
    /// may run past its 32 bits until [`ExactSum::carry`].
    chunks: Vec<i64>,
    lo: usize,
    adds: u32,
    pos_inf: bool,
    neg_inf: bool,
}

impl ExactSum {
    /// Adds `x` exactly (NaN is the caller's to keep out: it adds as
    /// nothing).
    #[inline]
    pub fn add(&mut self, x: f64) {
        let bits = x.to_bits();
        let exp = ((bits >> 52) & 0x7ff) as usize;
        let neg = bits >> 63 == 1;
        if exp == 0x7ff {
            if bits & ((1 << 52) - 1) == 0 {
                if neg {
                    self.neg_inf = true;
                } else {
                    self.pos_inf = true;
                }
            }
            return;
        }
        let mut m = bits & ((1 << 52) - 1);
        if exp != 0 {
            m |= 1 << 52;
        }
        if m == 0 {
            return;
        }
        // the mantissa's lowest bit in the scaled integer
        let p = exp.max(1) - 1;
        let c = p / BITS as usize;
        let v = u128::from(m) << (p % BITS as usize);
        // the window holds chunks `c..=c + 2` and one above for carries
        if c < self.lo || c + 3 >= self.lo + self.chunks.len() {
            self.cover(c, c + 2);
        }
        let at = c - self.lo;
        let low = (v as u64 & MASK as u64) as i64;
        let mid = ((v >> 32) as u64 & MASK as u64) as i64;
        let high = (v >> 64) as i64;
        let (low, mid, high) = if neg {
            (-low, -mid, -high)
        } else {
            (low, mid, high)
        };
        if let [a, b, d, ..] = &mut self.chunks[at..] {
            *a += low;
            *b += mid;
            *d += high;
        }
        self.adds += 1;
        if self.adds >= CARRY_EVERY {
            self.carry();
        }
    }

    /// Adds an integer exactly.
    pub fn add_int(&mut self, i: i128) {
        if i == 0 {
            return;
        }
        let neg = i < 0;
        let mut mag = i.unsigned_abs();
        let p = ONE;
        let mut c = p / BITS as usize;
        // the integer's bits start `p % 32` bits into chunk `c`
        let shift = p % BITS as usize;
        let low = ((mag << shift) as u64 & MASK as u64) as i64;
        let mut parts = vec![low];
        mag >>= BITS as usize - shift;
        while mag != 0 {
            parts.push((mag as u64 & MASK as u64) as i64);
            mag >>= BITS;
        }
        self.cover(c, c + parts.len() - 1);
        for part in parts {
            let ch = &mut self.chunks[c - self.lo];
            if neg {
                *ch -= part;
            } else {
                *ch += part;
            }
            c += 1;
        }
        self.carry();
    }

    /// Folds in another sum.
    pub fn merge(&mut self, o: &ExactSum) {
        self.pos_inf |= o.pos_inf;
        self.neg_inf |= o.neg_inf;
        if o.chunks.is_empty() {
            return;
        }
        // both below 2^62 a chunk once this one's carries are done
        self.carry();
        self.cover(o.lo, o.lo + o.chunks.len() - 1);
        let at = o.lo - self.lo;
        for (mine, theirs) in self.chunks[at..].iter_mut().zip(&o.chunks) {
            *mine += theirs;
        }
        self.carry();
    }

    /// Grows the window to hold chunks `from..=to`, with one more on top
    /// for carries.
    #[cold]
    fn cover(&mut self, from: usize, to: usize) {
        if self.chunks.is_empty() {
            self.lo = from;
            self.chunks.resize(to - from + 2, 0);
            return;
        }
        if from < self.lo {
            let more = self.lo - from;
            self.chunks.splice(0..0, std::iter::repeat_n(0, more));
            self.lo = from;
        }
        let need = to + 2 - self.lo;
        if need > self.chunks.len() {
            self.chunks.resize(need, 0);
        }
    }

    /// Propagates carries: every chunk but the top one within its 32 bits,
    /// the top one holding the sign.
    fn carry(&mut self) {
        self.adds = 0;
        let n = self.chunks.len();
        for j in 0..n.saturating_sub(1) {
            let v = self.chunks[j];
            self.chunks[j] = v & MASK;
            self.chunks[j + 1] += v >> BITS;
        }
        // the top chunk within 31 bits and a sign, growing the window
        while let Some(&top) = self.chunks.last() {
            if (-(1i64 << 31)..(1i64 << 31)).contains(&top) {
                break;
            }
            let last = self.chunks.len() - 1;
            self.chunks[last] = top & MASK;
            self.chunks.push(top >> BITS);
        }
    }

    /// The exact sum rounded once to the nearest double (ties to even);
    /// infinities as floats add them (both signs: NaN).
    pub fn value(&self) -> f64 {
        match (self.pos_inf, self.neg_inf) {
            (true, true) => return f64::NAN,
            (true, false) => return f64::INFINITY,
            (false, true) => return f64::NEG_INFINITY,
            _ => {}
        }
        let mut s = self.clone();
        s.carry();
        let neg = s.chunks.last().is_some_and(|&t| t < 0);
        if neg {
            for c in &mut s.chunks {
                *c = -*c;
            }
            s.carry();
        }
        // the magnitude: every chunk within 32 bits, none negative
        let Some(top) = s.chunks.iter().rposition(|&c| c != 0) else {
            return 0.0;
        };
        let at = |j: usize| -> u128 { s.chunks.get(j).map_or(0, |&c| c as u128) };
        let (t1, t2) = (top.checked_sub(1), top.checked_sub(2));
        let mut mant = (at(top) << 64) | t1.map_or(0, |j| at(j) << 32) | t2.map_or(0, at);
        // below the 65 or more bits taken: only whether any is set
        if s.chunks[..top.saturating_sub(2)].iter().any(|&c| c != 0) {
            mant |= 1;
        }
        // `mant` is bits from chunk `top - 2` up
        let exp = 32 * (s.lo as i64 + top as i64 - 2) - ONE as i64;
        let v = scale(mant as f64, exp);
        if neg { -v } else { v }
    }
}

/// The most chunks a sum can span: 2098 bits of scaled doubles, an
/// integer's 128 and room for carries, with a margin.
const MAX_CHUNKS: usize = 128;

/// `--state`: the sum as it stands, chunks and all (read back it goes on
/// exactly as it would have).
impl ExactSum {
    pub fn save(&self, e: &mut Encoder) {
        e.usize(self.lo);
        e.usize(self.chunks.len());
        for c in &self.chunks {
            e.i64(*c);
        }
        e.u64(u64::from(self.adds));
        e.bool(self.pos_inf);
        e.bool(self.neg_inf);
    }

    pub fn load(d: &mut Decoder<'_>) -> codec::Result<ExactSum> {
        let lo = d.usize()?;
        let n = d.count()?;
        if lo.saturating_add(n) > MAX_CHUNKS {
            return Err(DecodeError(format!("an exact sum of {n} chunks from {lo}")));
        }
        let mut chunks = Vec::with_capacity(n);
        for _ in 0..n {
            chunks.push(d.i64()?);
        }
        let adds = u32::try_from(d.u64()?)
            .ok()
            .filter(|a| *a < CARRY_EVERY)
            .ok_or_else(|| DecodeError("an exact sum past its carries".into()))?;
        Ok(ExactSum {
            chunks,
            lo,
            adds,
            pos_inf: d.bool()?,
            neg_inf: d.bool()?,
        })
    }
}

/// `x * 2^exp`, by exact steps (only the last can round, under or over
/// the range).
fn scale(mut x: f64, mut exp: i64) -> f64 {
    while exp > 1000 {
        x *= f64::powi(2.0, 1000);
        exp -= 1000;
    }
    while exp < -1000 {
        x *= f64::powi(2.0, -1000);
        exp += 1000;
    }
    x * f64::powi(2.0, exp as i32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sum(xs: &[f64]) -> f64 {
        let mut s = ExactSum::default();
        xs.iter().for_each(|&x| s.add(x));
        s.value()
    }

    #[test]
    fn fsum_is_exact_where_floats_round() {
        assert_eq!(sum(&[0.1, 0.2, 0.3]), 0.6);
        assert_eq!(sum(&[1e100, 1.0, -1e100]), 1.0);
        assert_eq!(sum(&[1e308, 1e308, -1e308]), 1e308);
        assert_eq!(
            sum(&[f64::MIN_POSITIVE / 4.0, f64::MIN_POSITIVE / 4.0]),
            f64::MIN_POSITIVE / 2.0
        );
        assert_eq!(sum(&[]), 0.0);
        assert_eq!(sum(&[-0.0]), 0.0);
        assert_eq!(sum(&[-2.5, 1.0]), -1.5);
        assert_eq!(sum(&[f64::INFINITY, 1.0]), f64::INFINITY);
        assert!(sum(&[f64::INFINITY, f64::NEG_INFINITY]).is_nan());
        assert_eq!(sum(&[f64::MAX, f64::MAX]), f64::INFINITY);
        let mut s = ExactSum::default();
        s.add(0.5);
        s.add_int(-3);
        s.add_int(i128::from(i64::MAX));
        assert_eq!(s.value(), i64::MAX as f64 - 2.5);
    }

    #[test]
    fn fsum_rounds_once_to_nearest_even() {
        // 2^53 + 1 is a tie between 2^53 and 2^53 + 2: even wins
        let big = 9_007_199_254_740_992.0;
        assert_eq!(sum(&[big, 1.0]), big);
        assert_eq!(sum(&[big, 1.0, 1e-30]), big + 2.0);
        assert_eq!(sum(&[big, 3.0]), big + 4.0);
    }

    #[test]
    fn fsum_carries_past_many_adds() {
        let mut s = ExactSum::default();
        for _ in 0..3000 {
            s.add(4294967295.0);
            s.add(-1.0);
        }
        assert_eq!(s.value(), 3000.0 * 4294967294.0);
        s.carry();
        assert!(s.chunks.len() < 8, "{:?}", s.chunks);
    }

    fn naive_exact(xs: &[(i64, i32)]) -> f64 {
        // small ints scaled by powers of two: exact in i128 at 2^-80
        let total: i128 = xs.iter().map(|&(m, e)| i128::from(m) << (80 + e)).sum();
        total as f64 / 2f64.powi(80)
    }

    proptest! {
        /// Any order, any grouping into merged parts: the same bits, and
        /// the exact sum rounded once.
        #[test]
        fn fsum_is_a_function_of_the_multiset(
            xs in prop::collection::vec((-1_000_000i64..1_000_000, -40i32..20), 0..200),
            cuts in prop::collection::vec(0usize..200, 0..5),
            rot in 0usize..200,
        ) {
            let vals: Vec<f64> = xs.iter().map(|&(m, e)| m as f64 * 2f64.powi(e)).collect();
            let whole = sum(&vals);
            prop_assert_eq!(whole, naive_exact(&xs));
            let mut shuffled = vals.clone();
            if !shuffled.is_empty() {
                let r = rot % shuffled.len();
                shuffled.rotate_left(r);
            }
            let mut bounds: Vec<usize> = cuts.iter().map(|c| c.min(&shuffled.len()).to_owned()).collect();
            bounds.push(0);
            bounds.push(shuffled.len());
            bounds.sort_unstable();
            let mut merged = ExactSum::default();
            for w in bounds.windows(2).rev() {
                let mut part = ExactSum::default();
                shuffled[w[0]..w[1]].iter().for_each(|&x| part.add(x));
                merged.merge(&part);
            }
            prop_assert_eq!(merged.value().to_bits(), whole.to_bits());
        }

        #[test]
        fn fsum_of_any_doubles_does_not_depend_on_order(
            xs in prop::collection::vec(prop::num::f64::NORMAL | prop::num::f64::SUBNORMAL | prop::num::f64::ZERO, 0..60),
        ) {
            let mut rev = xs.clone();
            rev.reverse();
            prop_assert_eq!(sum(&xs).to_bits(), sum(&rev).to_bits());
        }
    }
}
