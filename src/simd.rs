//! Sixteen bytes compared at once, for the scans that look at every byte:
//! SSE2 on x86-64 (every x86-64 has it; reached through safe_arch's safe
//! wrappers, so no unsafe code here), a byte loop elsewhere. A mask has
//! bit `k` set for `b[k]`.

#[cfg(target_arch = "x86_64")]
mod imp {
    use safe_arch::{
        add_i8_m128i, bitor_m128i, cmp_eq_mask_i8_m128i, load_unaligned_m128i, move_mask_i8_m128i,
        set_splat_i8_m128i, sub_i8_m128i, sub_saturating_u8_m128i, sum_of_u8_abs_diff_m128i,
        zeroed_m128i,
    };

    /// Asks for the cache line of `b`'s first byte.
    #[inline(always)]
    pub fn prefetch(b: &[u8]) {
        if let Some(first) = b.first() {
            safe_arch::prefetch_t0(first);
        }
    }

    #[inline(always)]
    pub fn eq16(b: &[u8; 16], c: u8) -> u16 {
        let v = load_unaligned_m128i(b);
        move_mask_i8_m128i(cmp_eq_mask_i8_m128i(v, set_splat_i8_m128i(c as i8))) as u16
    }

    /// Bytes counted into byte-wide sums before these are added up: 63
    /// blocks of 64, at most 252 a lane.
    const RUN: usize = 63 * 64;

    /// The newlines of `b` if every byte of it is ASCII: one pass, each
    /// 16 bytes compared with a newline (into byte-wide sums) and or-ed
    /// together (their high bits).
    #[inline]
    pub fn ascii_newlines(b: &[u8]) -> Option<u64> {
        let newline = set_splat_i8_m128i(b'\n' as i8);
        let mut total = 0u64;
        for run in b.chunks(RUN) {
            let parts = run.chunks_exact(16);
            let rest = parts.remainder();
            let (mut sums, mut high) = (zeroed_m128i(), zeroed_m128i());
            for part in parts {
                let mut a = [0u8; 16];
                a.copy_from_slice(part);
                let v = load_unaligned_m128i(&a);
                // a newline compares as -1: less it, one more
                sums = sub_i8_m128i(sums, cmp_eq_mask_i8_m128i(v, newline));
                high = bitor_m128i(high, v);
            }
            if move_mask_i8_m128i(high) != 0 || !rest.is_ascii() {
                return None;
            }
            let [lo, hi]: [u64; 2] = sum_of_u8_abs_diff_m128i(sums, zeroed_m128i()).into();
            total += lo + hi + rest.iter().filter(|&&c| c == b'\n').count() as u64;
        }
        Some(total)
    }

    /// Space, or one of \t \n \v \f \r (9 to 13: less 9, then less 4
    /// saturating, is zero exactly for them).
    #[inline(always)]
    pub fn space16(b: &[u8; 16]) -> u16 {
        let v = load_unaligned_m128i(b);
        let space = cmp_eq_mask_i8_m128i(v, set_splat_i8_m128i(b' ' as i8));
        let low = sub_saturating_u8_m128i(
            add_i8_m128i(v, set_splat_i8_m128i(-9)),
            set_splat_i8_m128i(4),
        );
        let control = cmp_eq_mask_i8_m128i(low, zeroed_m128i());
        move_mask_i8_m128i(bitor_m128i(space, control)) as u16
    }
}

#[cfg(not(target_arch = "x86_64"))]
mod imp {
    #[inline(always)]
    pub fn prefetch(_b: &[u8]) {}

    #[inline(always)]
    fn mask(b: &[u8; 16], f: impl Fn(u8) -> bool) -> u16 {
        let mut m = 0u16;
        for (k, &c) in b.iter().enumerate() {
            m |= u16::from(f(c)) << k;
        }
        m
    }

    #[inline(always)]
    pub fn eq16(b: &[u8; 16], c: u8) -> u16 {
        mask(b, |x| x == c)
    }

    #[inline(always)]
    pub fn space16(b: &[u8; 16]) -> u16 {
        mask(b, |x| x == b' ' || (9..=13).contains(&x))
    }

    pub fn ascii_newlines(b: &[u8]) -> Option<u64> {
        b.is_ascii()
            .then(|| b.iter().filter(|&&c| c == b'\n').count() as u64)
    }
}

/// Asks for the cache line holding the start of `b`, to be read soon (a
/// hint: nothing on targets other than x86-64).
#[inline(always)]
pub fn prefetch(b: &[u8]) {
    imp::prefetch(b);
}

/// The bytes equal to `c`.
#[inline(always)]
pub fn eq16(b: &[u8; 16], c: u8) -> u16 {
    imp::eq16(b, c)
}

/// The ASCII white space among `b`: space, \t, \n, \v, \f and \r
/// (the bytes Unicode calls white space below 0x80).
#[inline(always)]
pub fn space16(b: &[u8; 16]) -> u16 {
    imp::space16(b)
}

/// The number of newlines in `b` if all of it is ASCII, else None: the
/// check and the count in one pass over the bytes.
pub fn ascii_newlines(b: &[u8]) -> Option<u64> {
    imp::ascii_newlines(b)
}

/// The white space ([`space16`]) and the newlines of the first 64 bytes
/// of `b`; bytes past its end count as white space, not as newlines.
#[inline(always)]
pub fn space_newlines64(b: &[u8]) -> (u64, u64) {
    let space = mask64(b, space16);
    let newlines = mask64(b, |x| eq16(x, b'\n'));
    let past = if b.len() >= 64 {
        0
    } else {
        u64::MAX << b.len()
    };
    (space | past, newlines)
}

/// The mask of the first 64 bytes of `b` (bytes past its end count as
/// zeros).
#[inline(always)]
pub fn mask64(b: &[u8], f: impl Fn(&[u8; 16]) -> u16) -> u64 {
    let block = |b: &[u8]| {
        let mut a = [0u8; 16];
        a.copy_from_slice(b);
        u64::from(f(&a))
    };
    // `g` is 64 bytes long
    let all = |g: &[u8]| {
        block(&g[..16]) | block(&g[16..32]) << 16 | block(&g[32..48]) << 32 | block(&g[48..]) << 48
    };
    if let Some(g) = b.get(..64) {
        return all(g);
    }
    let mut a = [0u8; 64];
    a[..b.len()].copy_from_slice(b);
    all(&a)
}

/// Where the newlines of `data` are, in order: memchr's iterator for the
/// short lines of logs, without its setup per line (a mask of 64 bytes at
/// a time, read bit by bit).
pub struct Newlines<'a> {
    data: &'a [u8],
    /// Where the next 64 bytes to classify start.
    next: usize,
    /// The newlines not yet given of the 64 bytes before `next`.
    bits: u64,
}

impl<'a> Newlines<'a> {
    pub fn new(data: &'a [u8]) -> Newlines<'a> {
        Newlines {
            data,
            next: 0,
            bits: 0,
        }
    }
}

impl Iterator for Newlines<'_> {
    type Item = usize;

    #[inline]
    fn next(&mut self) -> Option<usize> {
        while self.bits == 0 {
            let rest = self.data.get(self.next..).filter(|r| !r.is_empty())?;
            self.bits = mask64(rest, |b| eq16(b, b'\n'));
            self.next += 64;
        }
        let at = self.next - 64 + self.bits.trailing_zeros() as usize;
        self.bits &= self.bits - 1;
        Some(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn prefetch_takes_any_slice() {
        // a hint only: nothing to see, and no byte to ask for in an empty one
        prefetch(b"");
        prefetch(b"a key");
        prefetch(&[0u8; 4096][4095..]);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(5_000))]
        /// Every newline, in order, as memchr finds them, over lines of
        /// every length around the 64-byte steps.
        #[test]
        fn newlines_are_memchrs(b in prop::collection::vec(prop_oneof![Just(b'\n'), Just(b'\n'), any::<u8>()], 0..300)) {
            let fast: Vec<usize> = Newlines::new(&b).collect();
            let slow: Vec<usize> = memchr::memchr_iter(b'\n', &b).collect();
            prop_assert_eq!(fast, slow);
        }

        /// The one-pass count of ASCII text's newlines is memchr's, and
        /// None exactly when a byte is not ASCII, over lengths around the
        /// 16-byte parts and the runs of 63 blocks of 64.
        #[test]
        fn ascii_newlines_are_counted(b in prop::collection::vec(prop_oneof![Just(b'\n'), 0u8..0x80, any::<u8>()], 0..300), lead in 0usize..5000, at in any::<prop::sample::Index>()) {
            // long inputs with the bytes somewhere past the first runs
            let mut long = vec![b'\n'; lead];
            long.splice(at.index(lead + 1)..at.index(lead + 1), b.iter().copied());
            for data in [&b[..], &long[..]] {
                let want = data.is_ascii().then(|| memchr::memchr_iter(b'\n', data).count() as u64);
                prop_assert_eq!(ascii_newlines(data), want);
            }
        }

        /// The white space and newline masks, byte by byte, for every
        /// byte value and length around 64.
        #[test]
        fn space_newlines_are_bytes(b in prop::collection::vec(prop_oneof![0u8..=32, any::<u8>()], 0..80)) {
            let (space, newlines) = space_newlines64(&b);
            for k in 0..64 {
                let c = b.get(k).copied();
                prop_assert_eq!(space >> k & 1 == 1, c.is_none_or(|c| c == b' ' || (9..=13).contains(&c)), "byte {} of {:?}", k, c);
                prop_assert_eq!(newlines >> k & 1 == 1, c == Some(b'\n'));
            }
        }
    }
}
