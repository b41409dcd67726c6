//! Rendering numbers and text for the output formats: the SPEC's own number
//! format ([`write_float`], [`write_int`]) used by `tsv`, `csv`, `json`,
//! `jsonl` and `pretty`, and Python's `repr` of floats and strings
//! ([`write_py_float`], [`write_py_str_repr`]) used by the `spark` format to
//! print rows the way PySpark's `pprint()` does.
//!
//! Everything appends to a caller's `String`, so a sink can reuse one buffer
//! per line instead of allocating per value.

use std::fmt::Write as _;

/// Whether `s` is written exactly as spate writes a number: an optional
/// `-`, then `0` or a digit 1-9 followed by digits, then optionally `.` and
/// one to six digits, the last not `0` (`200`, `-3`, `0.25`; not `007`,
/// `1.50`, `1e5`, `+1`, ` 1`, `.5`). `jsonl` and `json` write such text as
/// a JSON number (it always is a valid one), other text as a string.
pub fn is_number_text(s: &str) -> bool {
    let b = s.as_bytes();
    let b = b.strip_prefix(b"-").unwrap_or(b);
    let (int, frac) = match b.iter().position(|&c| c == b'.') {
        Some(i) => (&b[..i], Some(&b[i + 1..])),
        None => (b, None),
    };
    let int_ok = match int {
        [b'0'] => true,
        [b'1'..=b'9', rest @ ..] => rest.iter().all(u8::is_ascii_digit),
        _ => false,
    };
    int_ok
        && frac.is_none_or(|f| {
            (1..=6).contains(&f.len())
                && f.iter().all(u8::is_ascii_digit)
                && f.last() != Some(&b'0')
        })
}

/// Appends `x` in decimal (`-42`).
pub fn write_int(out: &mut String, x: i64) {
    out.push_str(itoa::Buffer::new().format(x));
}

/// 2^63: below it every integral float converts to `i64` exactly.
const I64_LIMIT: f64 = 9_223_372_036_854_775_808.0;

/// Where integral floats stop printing as integers; well inside `i128`.
const INTEGER_LIMIT: f64 = 1e21;

/// Appends `x` in the SPEC's number format.
///
/// - An integral value below 1e21 prints as an integer, digit for digit the
///   float's exact value, as gawk does: `2`, `-7`, `1000000000000000`,
///   `100000000000000000000`. From 1e21 up it prints as Python does
///   (`1e+300`): no reader of a table wants three hundred digits, and
///   nothing spate counts gets there.
/// - Any other value prints rounded to 6 decimals with trailing zeros
///   dropped (`0.333333`, `2.5`); one that rounds to zero prints `0`, never
///   `-0`.
/// - `-0` prints `0`; NaN `nan`; infinities `inf` and `-inf`.
pub fn write_float(out: &mut String, x: f64) {
    if !x.is_finite() {
        write_non_finite(out, x);
    } else if x.trunc() == x {
        // The casts are exact: the value is integral and in range.
        if x.abs() < I64_LIMIT {
            write_int(out, x as i64);
        } else if x.abs() < INTEGER_LIMIT {
            out.push_str(itoa::Buffer::new().format(x as i128));
        } else {
            write_py_float(out, x);
        }
    } else {
        let start = out.len();
        // Rounds the exact binary value (as printf's %.6f does); a
        // `fmt::Write` into a `String` cannot fail.
        let _ = write!(out, "{x:.6}");
        // There is always a '.', so trimming cannot reach the integer part.
        let kept = out[start..]
            .trim_end_matches('0')
            .trim_end_matches('.')
            .len();
        out.truncate(start + kept);
        if &out[start..] == "-0" {
            out.truncate(start);
            out.push('0');
        }
    }
}

/// The text [`write_float`] makes for `x` (ASCII), from exact integer
/// arithmetic instead of the formatting machinery (several times faster:
/// grouping keys hash a float by its text), when `x` is finite and below
/// 2^33 in magnitude; `None` otherwise. Rounds half to even, as `{:.6}`
/// does.
pub fn float_text_fast(x: f64, buf: &mut [u8; 40]) -> Option<&[u8]> {
    if !x.is_finite() || x.abs() >= 8_589_934_592.0 {
        return None;
    }
    let bits = x.to_bits();
    let neg = bits >> 63 == 1;
    // x * 10^6, rounded: below 2^33 * 10^6 < 2^53
    let q: u64 = if x.trunc() == x {
        // `write_int` of the exact integer; -0 is 0
        (x.abs() as u64) * 1_000_000
    } else {
        // x = m * 2^-k with k > 0 (not integral)
        let exp = ((bits >> 52) & 0x7ff) as i64;
        let mut m = u128::from(bits & ((1 << 52) - 1));
        if exp != 0 {
            m |= 1 << 52;
        }
        let k = (1075 - exp.max(1)) as u32;
        let n = m * 1_000_000;
        if k > 73 {
            // n < 2^73 <= half of 2^k: below a half, rounds to 0
            0
        } else {
            let q = (n >> k) as u64;
            let rem = n & ((1u128 << k) - 1);
            let half = 1u128 << (k - 1);
            if rem > half || (rem == half && q & 1 == 1) {
                q + 1
            } else {
                q
            }
        }
    };
    if q == 0 {
        buf[0] = b'0';
        return Some(&buf[..1]);
    }
    let mut at = 0;
    if neg {
        buf[0] = b'-';
        at = 1;
    }
    let mut ints = itoa::Buffer::new();
    let int = ints.format(q / 1_000_000).as_bytes();
    buf[at..at + int.len()].copy_from_slice(int);
    at += int.len();
    let frac = q % 1_000_000;
    if frac != 0 {
        // 1_000_000 + frac: "1" and the six digits, zeros kept
        let mut fracs = itoa::Buffer::new();
        let digits = &fracs.format(1_000_000 + frac).as_bytes()[1..];
        let keep = digits.len() - digits.iter().rev().take_while(|&&d| d == b'0').count();
        buf[at] = b'.';
        buf[at + 1..at + 1 + keep].copy_from_slice(&digits[..keep]);
        at += 1 + keep;
    }
    Some(&buf[..at])
}

fn write_non_finite(out: &mut String, x: f64) {
    out.push_str(if x.is_nan() {
        "nan"
    } else if x > 0.0 {
        "inf"
    } else {
        "-inf"
    });
}

/// The shortest decimal digits that read back as a float (from ryu), with
/// no leading or trailing zeros, and where the decimal point goes: the value
/// is `0.DIGITS × 10^point`.
struct ShortestDigits {
    digits: [u8; 24],
    len: usize,
    point: i32,
}

impl ShortestDigits {
    /// `x` must be finite and non-zero; its sign is ignored.
    fn of(x: f64) -> Self {
        let mut buf = ryu::Buffer::new();
        let text = buf.format_finite(x.abs());
        let (mantissa, exponent) = match text.split_once(['e', 'E']) {
            Some((m, e)) => (m, e.parse::<i32>().unwrap_or(0)),
            None => (text, 0),
        };
        let mut digits = [0u8; 24];
        let mut len = 0;
        let mut integer_digits = 0i32;
        let mut seen_point = false;
        for &c in mantissa.as_bytes() {
            if c == b'.' {
                seen_point = true;
                continue;
            }
            if !c.is_ascii_digit() {
                continue;
            }
            if !seen_point {
                integer_digits += 1;
            }
            if len == 0 && c == b'0' {
                // A leading zero moves the point left instead of being kept.
                integer_digits -= 1;
                continue;
            }
            if len < digits.len() {
                digits[len] = c;
                len += 1;
            }
        }
        while len > 1 && digits[len - 1] == b'0' {
            len -= 1;
        }
        ShortestDigits {
            digits,
            len,
            point: integer_digits + exponent,
        }
    }

    fn as_str(&self) -> &str {
        // Only ASCII digits were stored.
        std::str::from_utf8(&self.digits[..self.len]).unwrap_or("0")
    }
}

/// `x` rounded to `digits` decimals (to tens, hundreds... when negative),
/// half away from zero, on its shortest decimal form rather than its
/// binary value: `1.005` has the digits 1005 and rounds to `1.01` at two
/// decimals, as a reader of the number expects (and as Spark's `round`
/// does, through the same digits), where scaling by 100 first would give
/// `1.0`. Non-finite values come back as they are.
pub fn round_half_away(x: f64, digits: i32) -> f64 {
    if !x.is_finite() || x == 0.0 {
        return x;
    }
    round_scaled(x, digits).unwrap_or_else(|| round_on_digits(x, digits))
}

/// The powers of ten a float holds exactly.
const EXACT_POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// [`round_half_away`] without the decimal digits, when that gives the
/// same: `x` scaled by the power of ten, rounded, scaled back. The shortest
/// digits of `x`, scaled, lie within about one unit in the last place of
/// the scaled float (half a unit for the digits, half for the scaling), so
/// a fraction farther than four units from one half rounds the same way;
/// nearer, or too large for units below a quarter, it is `None`. Scaling
/// back divides (or multiplies) two exact values, which gives the float
/// nearest the decimal result, as reading its digits would.
fn round_scaled(x: f64, digits: i32) -> Option<f64> {
    let p = *EXACT_POW10.get(digits.unsigned_abs() as usize)?;
    let y = if digits >= 0 { x * p } else { x / p };
    let a = y.abs();
    // x is finite, so a is a number: not NaN
    if a >= (1u64 << 50) as f64 {
        return None;
    }
    let floor = a.floor();
    let frac = a - floor;
    if (frac - 0.5).abs() <= 4.0 * f64::EPSILON * a {
        return None;
    }
    let r = if frac > 0.5 { floor + 1.0 } else { floor }.copysign(x);
    Some(if digits >= 0 { r / p } else { r * p })
}

/// [`round_half_away`] on the shortest decimal digits of `x` (finite, not
/// zero).
fn round_on_digits(x: f64, digits: i32) -> f64 {
    let d = ShortestDigits::of(x);
    let sign = if x < 0.0 { -1.0 } else { 1.0 };
    // `x` is 0.DIGITS × 10^point: keep the first `keep` digits
    let keep = i64::from(d.point) + i64::from(digits);
    let len = d.len as i64;
    if keep >= len {
        return x;
    }
    if keep < 0 {
        return 0.0 * sign;
    }
    let keep = keep as usize;
    let up = d.digits[keep] >= b'5';
    // at most 17 significant digits: the kept ones fit in a u64
    let mut m: u64 = d.digits[..keep]
        .iter()
        .fold(0, |m, c| m * 10 + u64::from(c - b'0'));
    if up {
        m += 1;
    }
    // m × 10^(point - keep), read back as the nearest float
    let exponent = i64::from(d.point) - keep as i64;
    let mut buf = [0u8; 48];
    let mut w = Cursor {
        buf: &mut buf,
        len: 0,
    };
    let _ = write!(w, "{m}e{exponent}");
    let len = w.len;
    let text = std::str::from_utf8(&buf[..len]).unwrap_or("0");
    sign * text.parse::<f64>().unwrap_or(0.0)
}

/// A `fmt::Write` into a fixed buffer, for number text that must not
/// allocate; what does not fit is an error.
struct Cursor<'b> {
    buf: &'b mut [u8],
    len: usize,
}

impl std::fmt::Write for Cursor<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        let slot = self.buf.get_mut(self.len..end).ok_or(std::fmt::Error)?;
        slot.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Appends `x` exactly as Python 3's `repr(float)` writes it: the shortest
/// digits that read back as `x`, in positional form when the decimal
/// exponent is from -4 to 15 (`0.0001`, `123456789012345.0`, always with a
/// fractional part), else in exponent form with a sign and at least two
/// exponent digits (`1e-05`, `1.5e-07`, `1e+16`). Also `nan`, `inf`, `-inf`,
/// `0.0` and `-0.0`.
pub fn write_py_float(out: &mut String, x: f64) {
    if !x.is_finite() {
        write_non_finite(out, x);
        return;
    }
    if x.is_sign_negative() {
        out.push('-');
    }
    if x == 0.0 {
        out.push_str("0.0");
        return;
    }
    let d = ShortestDigits::of(x);
    let digits = d.as_str();
    let point = d.point;
    // Python's repr switches at a decimal exponent (point - 1) of -5 or 16.
    if point > -4 && point <= 16 {
        if point <= 0 {
            out.push_str("0.");
            for _ in point..0 {
                out.push('0');
            }
            out.push_str(digits);
        } else {
            let point = point as usize;
            if point < digits.len() {
                out.push_str(&digits[..point]);
                out.push('.');
                out.push_str(&digits[point..]);
            } else {
                out.push_str(digits);
                for _ in digits.len()..point {
                    out.push('0');
                }
                out.push_str(".0");
            }
        }
    } else {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let exponent = point - 1;
        out.push_str(if exponent < 0 { "e-" } else { "e+" });
        let magnitude = exponent.unsigned_abs();
        if magnitude < 10 {
            out.push('0');
        }
        out.push_str(itoa::Buffer::new().format(magnitude));
    }
}

/// Code points above U+007F that Python 3.11 (Unicode 14) does not print
/// as-is in a `repr`: categories Cc, Cf, Co, Zl, Zp and Zs other than the
/// space. Generated from `unicodedata`; inclusive ranges, sorted.
const NON_PRINTABLE: &[(u32, u32)] = &[
    (0x0080, 0x00A0),
    (0x00AD, 0x00AD),
    (0x0600, 0x0605),
    (0x061C, 0x061C),
    (0x06DD, 0x06DD),
    (0x070F, 0x070F),
    (0x0890, 0x0891),
    (0x08E2, 0x08E2),
    (0x1680, 0x1680),
    (0x180E, 0x180E),
    (0x2000, 0x200F),
    (0x2028, 0x202F),
    (0x205F, 0x2064),
    (0x2066, 0x206F),
    (0x3000, 0x3000),
    (0xE000, 0xF8FF),
    (0xFEFF, 0xFEFF),
    (0xFFF9, 0xFFFB),
    (0x110BD, 0x110BD),
    (0x110CD, 0x110CD),
    (0x13430, 0x13438),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0001, 0xE0001),
    (0xE0020, 0xE007F),
    (0xF0000, 0xFFFFD),
    (0x100000, 0x10FFFD),
];

/// Python's rule for a character it escapes in a `repr`, approximated: the
/// table above plus the noncharacters (U+FDD0..U+FDEF and U+xFFFE/U+xFFFF).
/// Other unassigned code points (category Cn), which Python also escapes,
/// print as-is: telling them apart needs the whole Unicode database, and
/// they do not occur in real text.
fn is_non_printable(c: char) -> bool {
    let cp = u32::from(c);
    if cp < 0x80 {
        return cp < 0x20 || cp == 0x7f;
    }
    if (0xFDD0..=0xFDEF).contains(&cp) || cp & 0xFFFE == 0xFFFE {
        return true;
    }
    let i = NON_PRINTABLE.partition_point(|&(_, last)| last < cp);
    NON_PRINTABLE.get(i).is_some_and(|&(first, _)| first <= cp)
}

/// Appends Python 3's `repr(s)`: single quotes, unless `s` holds a `'` and
/// no `"`; backslash, the chosen quote, `\n`, `\r` and `\t` escaped with a
/// backslash; other control and non-printable characters as `\xNN`,
/// `\uNNNN` or `\UNNNNNNNN` (see [`is_non_printable`] for how closely that
/// follows Python); everything else as it is.
pub fn write_py_str_repr(out: &mut String, s: &str) {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    out.push(quote);
    let mut clean_from = 0;
    for (i, c) in s.char_indices() {
        let escape = match c {
            '\\' => "\\\\",
            '\n' => "\\n",
            '\r' => "\\r",
            '\t' => "\\t",
            _ if c == quote => {
                if quote == '"' {
                    "\\\""
                } else {
                    "\\'"
                }
            }
            _ if is_non_printable(c) => "",
            _ => continue,
        };
        out.push_str(&s[clean_from..i]);
        clean_from = i + c.len_utf8();
        if escape.is_empty() {
            let cp = u32::from(c);
            // A `fmt::Write` into a `String` cannot fail.
            let _ = if cp <= 0xff {
                write!(out, "\\x{cp:02x}")
            } else if cp <= 0xffff {
                write!(out, "\\u{cp:04x}")
            } else {
                write!(out, "\\U{cp:08x}")
            };
        } else {
            out.push_str(escape);
        }
    }
    out.push_str(&s[clean_from..]);
    out.push(quote);
}

#[cfg(test)]
mod tests {
    #[test]
    fn numfmt_number_text_is_exactly_what_spate_writes() {
        for yes in [
            "0",
            "7",
            "200",
            "-3",
            "-0",
            "0.5",
            "-0.25",
            "1.000001",
            "12.3",
            "123456789012345678901234",
        ] {
            assert!(super::is_number_text(yes), "{yes}");
        }
        for no in [
            "",
            "-",
            "007",
            "00",
            "-01",
            "1.50",
            "1.0",
            "1.",
            ".5",
            "1e5",
            "1E5",
            "+1",
            " 1",
            "1 ",
            "1.0000001",
            "0x10",
            "inf",
            "nan",
            "1,5",
            "--1",
            "1.2.3",
            "١",
        ] {
            assert!(!super::is_number_text(no), "{no}");
        }
    }

    /// Every number spate writes reads back as number text, and number text
    /// is valid JSON that parses to the value it reads as.
    #[test]
    fn numfmt_what_spate_writes_is_number_text() {
        for x in [
            0.0,
            2.0,
            -7.0,
            0.5,
            1.0 / 3.0,
            -2.0 / 3.0,
            1e15,
            123.456,
            1e-7,
            -1e-9,
            1e20,
        ] {
            let mut s = String::new();
            super::write_float(&mut s, x);
            assert!(super::is_number_text(&s), "{x} as {s}");
            let back: serde_json::Value = serde_json::from_str(&s).expect("valid JSON");
            assert!(back.is_number(), "{s}");
        }
        for i in [0i64, 1, -1, i64::MAX, i64::MIN] {
            let mut s = String::new();
            super::write_int(&mut s, i);
            assert!(super::is_number_text(&s), "{s}");
        }
    }

    use super::*;
    use proptest::prelude::*;

    fn float(x: f64) -> String {
        let mut out = String::new();
        write_float(&mut out, x);
        out
    }

    proptest! {
        /// The scaled fast path rounds exactly as the decimal digits do.
        #[test]
        fn round_scaled_agrees_with_the_digits(
            m in -10_000_000i64..10_000_000,
            e in -12i32..12,
            d in -6i32..10,
            bits in any::<u64>(),
        ) {
            // decimal-looking values (m × 10^e, halves included) and
            // arbitrary floats
            let decimal = format!("{m}e{e}").parse::<f64>().unwrap_or(0.0);
            let any = f64::from_bits(bits);
            for x in [decimal, any, decimal + 0.5 / EXACT_POW10[d.clamp(0, 9) as usize]] {
                if !x.is_finite() || x == 0.0 {
                    continue;
                }
                if let Some(fast) = round_scaled(x, d) {
                    let slow = round_on_digits(x, d);
                    prop_assert!(
                        fast == slow || (fast == 0.0 && slow == 0.0),
                        "round({x:e}, {d}): scaled {fast:e}, digits {slow:e}"
                    );
                }
            }
        }
    }

    #[test]
    fn round_half_away_on_the_decimal_digits() {
        let r = round_half_away;
        assert_eq!(r(2.5, 0), 3.0);
        assert_eq!(r(-2.5, 0), -3.0);
        assert_eq!(r(2.4999, 0), 2.0);
        assert_eq!(r(1.005, 2), 1.01, "the digits 1005, not the binary value");
        assert_eq!(r(-1.005, 2), -1.01);
        assert_eq!(r(0.125, 2), 0.13);
        assert_eq!(r(4.56789, 3), 4.568);
        assert_eq!(r(9.995, 2), 10.0, "a carry into a new digit");
        assert_eq!(r(0.6, 0), 1.0);
        assert_eq!(r(0.4, 0), 0.0);
        assert_eq!(r(0.05, 1), 0.1);
        assert_eq!(r(0.004, 2), 0.0);
        assert_eq!(r(1234.5, -2), 1200.0);
        assert_eq!(r(1250.0, -2), 1300.0);
        assert_eq!(r(-1250.0, -2), -1300.0);
        assert_eq!(r(49.0, -2), 0.0);
        assert_eq!(r(50.0, -2), 100.0);
        assert_eq!(r(1.5, 10), 1.5, "fewer digits than asked: unchanged");
        assert_eq!(r(1e-300, 2), 0.0);
        assert_eq!(r(0.0, 2), 0.0);
        assert!(r(f64::NAN, 1).is_nan());
        assert!(r(1.7976931348623157e308, -308).is_infinite());
    }

    fn py_float(x: f64) -> String {
        let mut out = String::new();
        write_py_float(&mut out, x);
        out
    }

    fn py_str(s: &str) -> String {
        let mut out = String::new();
        write_py_str_repr(&mut out, s);
        out
    }

    #[test]
    fn ints() {
        for (x, text) in [
            (0, "0"),
            (-1, "-1"),
            (42, "42"),
            (i64::MAX, "9223372036854775807"),
            (i64::MIN, "-9223372036854775808"),
        ] {
            let mut out = String::from(">");
            write_int(&mut out, x);
            assert_eq!(out, format!(">{text}"));
        }
    }

    #[test]
    fn spec_floats_by_hand() {
        assert_eq!(float(2.0), "2");
        assert_eq!(float(-2.0), "-2");
        assert_eq!(float(2.5), "2.5");
        assert_eq!(float(1.0 / 3.0), "0.333333");
        assert_eq!(float(2.0 / 3.0), "0.666667");
        assert_eq!(float(-1.0 / 3.0), "-0.333333");
        assert_eq!(float(0.1 + 0.2), "0.3");
        assert_eq!(float(0.0), "0");
        assert_eq!(float(-0.0), "0");
        assert_eq!(float(1e-7), "0");
        assert_eq!(float(-1e-7), "0");
        // The exact binary value decides a tie: 5e-7 is just below it.
        assert_eq!(float(0.0000005), "0");
        assert_eq!(float(0.0000015), "0.000002");
        assert_eq!(float(2.9999999), "3");
        assert_eq!(float(-2.9999999), "-3");
        assert_eq!(float(f64::NAN), "nan");
        assert_eq!(float(f64::INFINITY), "inf");
        assert_eq!(float(f64::NEG_INFINITY), "-inf");
        assert_eq!(float(1e15), "1000000000000000");
        assert_eq!(float(1e15 + 0.5), "1000000000000000.5");
        assert_eq!(float(1e16), "10000000000000000");
        assert_eq!(float(9007199254740993.0), "9007199254740992");
        assert_eq!(float(-9.223372036854775e18), "-9223372036854774784");
        assert_eq!(float(I64_LIMIT), "9223372036854775808");
        assert_eq!(float(-I64_LIMIT), "-9223372036854775808");
        assert_eq!(float(1e20), "100000000000000000000");
        assert_eq!(float(1.2345678901234567e20), "123456789012345667584");
        assert_eq!(float(999999999999999868928.0), "999999999999999868928");
        assert_eq!(float(1e21), "1e+21");
        assert_eq!(float(-1e300), "-1e+300");
        assert_eq!(float(f64::MAX), "1.7976931348623157e+308");
    }

    #[test]
    fn write_float_appends() {
        let mut out = String::from("x=");
        write_float(&mut out, 0.5);
        out.push(' ');
        write_float(&mut out, -0.0000001);
        assert_eq!(out, "x=0.5 0");
    }

    /// The fast path writes exactly what `write_float` writes.
    #[test]
    fn float_text_fast_matches_write_float() {
        let mut cases: Vec<f64> = SPEC_FLOAT.iter().map(|&(b, _)| f64::from_bits(b)).collect();
        cases.extend([
            0.0078125,
            0.0234375,
            -0.0078125,
            1.0078125,
            2.5e-7,
            5e-7,
            1.5e-6,
            0.5,
            -0.0,
            0.0,
            200.0,
            -7.0,
            0.1234565,
            8_589_934_591.999_999,
            4e-324,
            1e-300,
            123.456,
        ]);
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for i in 0..200_000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            cases.push(match i % 4 {
                0 => f64::from_bits(x),
                1 => (x % 10_000_000_000) as f64 / 1e6,
                2 => (x >> 11) as f64 / (1u64 << 53) as f64 * 1e4 - 5e3,
                _ => ((x % 2_000_000) as f64 - 1e6) / 1024.0,
            });
        }
        let mut buf = [0u8; 40];
        for c in cases {
            let mut want = String::new();
            write_float(&mut want, c);
            if let Some(got) = float_text_fast(c, &mut buf) {
                assert_eq!(got, want.as_bytes(), "{c:e} ({:#x})", c.to_bits());
            } else {
                assert!(!c.is_finite() || c.abs() >= 8_589_934_592.0, "{c:e}");
            }
        }
    }

    #[test]
    fn spec_floats_match_python_reference() {
        // Expected: str(int(x)) when integral, else
        // ('%.6f' % x).rstrip('0').rstrip('.'), '-0' as '0' (python3).
        for &(bits, text) in SPEC_FLOAT {
            let x = f64::from_bits(bits);
            assert_eq!(float(x), text, "{x:e}");
        }
    }

    #[test]
    fn py_floats_by_hand() {
        assert_eq!(py_float(2.0), "2.0");
        assert_eq!(py_float(0.1), "0.1");
        assert_eq!(py_float(1e-5), "1e-05");
        assert_eq!(py_float(1.5e-7), "1.5e-07");
        assert_eq!(py_float(1e16), "1e+16");
        assert_eq!(py_float(1.2345678901234567e19), "1.2345678901234567e+19");
        assert_eq!(py_float(123456789012345.0), "123456789012345.0");
        assert_eq!(py_float(9999999999999998.0), "9999999999999998.0");
        assert_eq!(py_float(0.0001), "0.0001");
        assert_eq!(py_float(1.0 / 3.0), "0.3333333333333333");
        assert_eq!(py_float(f64::INFINITY), "inf");
        assert_eq!(py_float(f64::NEG_INFINITY), "-inf");
        assert_eq!(py_float(f64::NAN), "nan");
        assert_eq!(py_float(-0.0), "-0.0");
        assert_eq!(py_float(0.0), "0.0");
        assert_eq!(py_float(5e-324), "5e-324");
        assert_eq!(py_float(1e100), "1e+100");
    }

    #[test]
    fn py_floats_match_python() {
        for &(bits, text) in PY_REPR {
            let x = f64::from_bits(bits);
            assert_eq!(py_float(x), text, "{x:e}");
        }
    }

    #[test]
    fn py_strs_match_python() {
        for &(s, text) in PY_STR_REPR {
            assert_eq!(py_str(s), text, "{s:?}");
        }
    }

    #[test]
    fn py_str_approximation_is_documented() {
        // Python escapes unassigned code points (U+0378 as '\u0378'); these
        // print as-is here.
        assert_eq!(py_str("\u{378}"), "'\u{378}'");
    }

    #[test]
    fn non_printable_table_is_sorted_and_disjoint() {
        for pair in NON_PRINTABLE.windows(2) {
            assert!(pair[0].0 <= pair[0].1 && pair[0].1 < pair[1].0, "{pair:?}");
        }
    }

    proptest! {
        #[test]
        fn py_float_reads_back(bits in any::<u64>()) {
            let x = f64::from_bits(bits);
            let text = py_float(x);
            if x.is_nan() {
                prop_assert_eq!(text, "nan");
            } else {
                let back: f64 = text.parse().map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
                prop_assert_eq!(back.to_bits(), x.to_bits(), "{}", text);
                prop_assert!(text.contains(['.', 'e', 'n']), "{}", text);
            }
        }

        #[test]
        fn spec_float_is_close(x in -1e12f64..1e12) {
            let text = float(x);
            let back: f64 = text.parse().map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
            prop_assert!((back - x).abs() <= 5e-7 + x.abs() * 1e-15, "{} {}", x, text);
            prop_assert!(!text.contains('e') && !text.starts_with("-0") && !text.ends_with('.'), "{}", text);
            if text.contains('.') {
                prop_assert!(!text.ends_with('0'), "{}", text);
                prop_assert!(text.split('.').nth(1).is_some_and(|f| f.len() <= 6), "{}", text);
            }
        }

        #[test]
        fn spec_float_never_panics(bits in any::<u64>()) {
            let _ = float(f64::from_bits(bits));
        }

        #[test]
        fn py_str_is_quoted_and_plain_text_is_kept(s in "\\PC{0,30}") {
            let text = py_str(&s);
            prop_assert!(text.len() >= 2);
            let first = text.chars().next();
            prop_assert!(first == Some('\'') || first == Some('"'));
            prop_assert_eq!(text.chars().last(), first);
            if s.chars().all(|c| c.is_ascii_alphanumeric() || c == ' ') {
                prop_assert_eq!(text, format!("'{s}'"));
            }
        }
    }

    const PY_REPR: &[(u64, &str)] = &[
        (0x0000000000000000, "0.0"),
        (0x8000000000000000, "-0.0"),
        (0x3ff0000000000000, "1.0"),
        (0xbff0000000000000, "-1.0"),
        (0x4000000000000000, "2.0"),
        (0x3fb999999999999a, "0.1"),
        (0x3fc999999999999a, "0.2"),
        (0x3fd3333333333334, "0.30000000000000004"),
        (0x3fd5555555555555, "0.3333333333333333"),
        (0x3fe5555555555555, "0.6666666666666666"),
        (0xc004000000000000, "-2.5"),
        (0x3fe0000000000000, "0.5"),
        (0x3ee4f8b588e368f1, "1e-05"),
        (0x3e8421f5f40d8376, "1.5e-07"),
        (0x4341c37937e08000, "1e+16"),
        (0x430c6bf526340000, "1000000000000000.0"),
        (0x4341c37937e07fff, "9999999999999998.0"),
        (0x4376345785d8a000, "1e+17"),
        (0x43e56a95319d63e1, "1.2345678901234567e+19"),
        (0x42dc12218377de40, "123456789012345.0"),
        (0x43118b54f22aeb00, "1234567890123456.0"),
        (0x4345ee2a2eb5a5c4, "1.2345678901234568e+16"),
        (0x3f1a36e2eb1c432d, "0.0001"),
        (0x3f202e4b6ce5dc68, "0.00012345"),
        (0x3f50624dd2f1a9fc, "0.001"),
        (0x3f1a36371ea531a8, "9.999e-05"),
        (0x0000000000000001, "5e-324"),
        (0x8000000000000001, "-5e-324"),
        (0x7fefffffffffffff, "1.7976931348623157e+308"),
        (0xffefffffffffffff, "-1.7976931348623157e+308"),
        (0x0010000000000000, "2.2250738585072014e-308"),
        (0x4340000000000000, "9007199254740992.0"),
        (0x4340000000000001, "9007199254740994.0"),
        (0x43e0000000000000, "9.223372036854776e+18"),
        (0x43f0000000000000, "1.8446744073709552e+19"),
        (0x444b1ae4d6e2ef50, "1e+21"),
        (0x4480f0cf064dd592, "1e+22"),
        (0x44b52d02c7e14af6, "1e+23"),
        (0x54b249ad2594c37d, "1e+100"),
        (0x2b2bff2ee48e0530, "1e-100"),
        (0x4059000000000000, "100.0"),
        (0x412e848000000000, "1000000.0"),
        (0x400921f9f01b866e, "3.14159"),
        (0x4005bf0a8b145769, "2.718281828459045"),
        (0x7e37e43c8800759c, "1e+300"),
        (0x405edd2f1a9fbe77, "123.456"),
        (0x3f202e85be111841, "0.000123456789"),
        (0x41b1de784a000000, "299792458.0"),
        (0x44dfe185ca57c517, "6.02214076e+23"),
        (0x3c07a4da290c1653, "1.602176634e-19"),
        (0x4011666666666666, "4.35"),
        (0x3fb1eb851eb851ec, "0.07"),
        (0x3ff199999999999a, "1.1"),
        (0x4059200000000000, "100.5"),
        (0x3e7ad7f29abcaf48, "1e-07"),
        (0x3eb0c6f7a0b5ed8d, "1e-06"),
        (0x3ee9e0fcaf9380fc, "1.234e-05"),
        (0x3ff0000000000001, "1.0000000000000002"),
        (0x3fefffffffffffff, "0.9999999999999999"),
        (0x4024000000000000, "10.0"),
        (0x408f400000000000, "1000.0"),
        (0x40c3880000000000, "10000.0"),
        (0x40f86a0000000000, "100000.0"),
        (0x416312d000000000, "10000000.0"),
        (0x4197d78400000000, "100000000.0"),
        (0x41cdcd6500000000, "1000000000.0"),
        (0x4202a05f20000000, "10000000000.0"),
        (0x42374876e8000000, "100000000000.0"),
        (0x426d1a94a2000000, "1000000000000.0"),
        (0x42a2309ce5400000, "10000000000000.0"),
        (0x42d6bcc41e900000, "100000000000000.0"),
        (0x43abc16d674ec800, "1e+18"),
        (0x43e158e460913d00, "1e+19"),
        (0x4415af1d78b58c40, "1e+20"),
        (0x44ea784379d99db4, "1e+24"),
        (0x3f847ae147ae147b, "0.01"),
        (0x3e45798ee2308c3a, "1e-08"),
        (0x3e112e0be826d695, "1e-09"),
        (0x3ddb7cdfd9d7bdbb, "1e-10"),
        (0x3da5fd7fe1796495, "1e-11"),
        (0xac039d09582cf551, "-1.1477962825229548e-96"),
        (0x39ad2c25c4cf18b9, "7.191564482720996e-31"),
        (0x72d0dbacf48992c3, "1.151079489229316e+245"),
        (0xa5d2255d430fa790, "-1.675412081854542e-126"),
        (0x2115ad76a4dc612a, "2.648946515737057e-149"),
        (0x0106e6ddadc897b0, "1.0436247778719208e-303"),
        (0xf280c82bcc1db6f4, "-3.580866348707438e+243"),
        (0x41980a94265dd543, "100836617.59163384"),
        (0xe595c2d08121d064, "-2.257439587526295e+181"),
        (0x53d670b0d922b3ee, "7.48937079005371e+95"),
        (0xc455cad113184c71, "-1.6079844352351087e+21"),
        (0xa9ca65ad1001961d, "-2.2479619631485778e-107"),
        (0x984da3d8d954cb7f, "-1.2993057920756346e-191"),
        (0x86ccd157cb705e4b, "-6.502704100841262e-276"),
        (0xa9f84cd6da43d54e, "-1.655505235882246e-106"),
        (0x5299501912fc8844, "8.056758206843468e+89"),
        (0x1294effec7e3c61f, "3.707042830332949e-219"),
        (0x0eda413e1e6063a9, "4.0319304756550016e-237"),
        (0xa482b9183234206c, "-8.243050273448766e-133"),
        (0x85d4d9513eaa779e, "-1.435711277262939e-280"),
        (0xa60400a07881a6f2, "-1.4774574410043472e-125"),
        (0x5fa55ddbc739421a, "5.59530733399206e+152"),
        (0xae515f4e110b686f, "-1.3972630820062838e-85"),
        (0x5a8f3b61a2a3e9fe, "1.6913262685615215e+128"),
        (0xc7f0ea2477b00cb9, "-3.597341607494019e+38"),
        (0xfe0d93f8e25eeb9c, "-1.547514608405207e+299"),
        (0xa9de47728beb0a6f, "-5.157086239579475e-107"),
        (0x8ca9bfa77dbf03b3, "-1.150821672723254e-247"),
        (0xe9e0d991996edc8d, "-1.0318198215951456e+202"),
        (0xf6603eb9e89b4990, "-1.5985513970953998e+262"),
        (0x3f72710dc58b9cc4, "0.00450234775119113"),
        (0xc52e114a34407d09, "-1.817471182142794e+25"),
        (0x7f6a3dd28d274905, "5.758563675378219e+305"),
        (0x8919ce68e070f0b8, "-8.003304866168604e-265"),
        (0xafa193575bc28848, "-2.9645591254550254e-79"),
        (0x8187cfb46a44533f, "-2.7777829438719234e-301"),
        (0x0a2bc9b89455f812, "1.1295634061307415e-259"),
        (0x660fe59e27d4e257, "4.2354197713816155e+183"),
        (0xeba04ba8e80ac390, "-2.6786495891119406e+210"),
        (0x89cc14be672b9027, "-1.7835562679681991e-261"),
        (0x260efe7f38f160af, "2.2893450249638525e-125"),
        (0xcde4b0e8d82a01d7, "-1.7432177603228264e+67"),
        (0x04fd2d15d90f1697, "1.226285426545603e-284"),
        (0xd1d98a4c86b85067, "-1.9846484282301776e+86"),
        (0xb938ec38dd3caee2, "-4.799945642163387e-33"),
        (0xa25782e685cd81a7, "-3.012584725232972e-143"),
        (0x7227f54c3ed86756, "7.987679390212221e+241"),
        (0xd4bfeb75f56391ad, "-1.7454134281192402e+100"),
        (0x58e2d0904b5b2a80, "1.518258166211569e+120"),
        (0xf89fd79fa705d445, "-1.0766145475278307e+273"),
        (0xf783f59bf05f8a6d, "-5.148656011738455e+267"),
        (0xe428feafb0ee7138, "-3.0909954099102873e+174"),
        (0xeca6c5c9bfca19cd, "-2.45323820738879e+215"),
        (0x5cd239f0997520fb, "1.3565543048365017e+139"),
        (0x82aaad9192cefd19, "-8.158448573091891e-296"),
        (0x0894276f2b996850, "2.4415519918077632e-267"),
        (0xcd9c9d733becda76, "-7.533788486565446e+65"),
        (0xec879d29d901e8fe, "-6.359676277247256e+214"),
        (0x38671bdb3db1db28, "5.432856086243808e-37"),
        (0x546e9a5f1ececf50, "5.229411279672103e+98"),
        (0xbfd83b830836d1e7, "-0.37863231470262665"),
        (0x8a4e7468b26b24e8, "-4.951860359938286e-259"),
        (0xcf43d0d09831fa97, "-7.002256233571391e+73"),
        (0xb6d906ee5093b45f, "-1.7535200107494348e-44"),
        (0x6794d48bf7fe050d, "9.280940208586592e+190"),
        (0x024d1cb9f0ca9e5d, "1.3910716685714554e-297"),
        (0xcec9af2c62624886, "-3.545326471002914e+71"),
        (0xb69036bb46585128, "-7.100114423596707e-46"),
        (0xa7f71bf74456219f, "-3.665619465682012e-116"),
        (0xf35037a5b723c6a1, "-2.834764215118516e+247"),
        (0x74cc49d259ac22a5, "4.147956706218786e+254"),
        (0x8e3bb3f823a2eb26, "-4.1546108414492174e-240"),
        (0x22c670de14764ecc, "3.68054467368678e-141"),
        (0x558cd99567002d3a, "1.2923298470738496e+104"),
        (0xc05d82120edabe6d, "-118.0323521743937"),
        (0x8f17459222ca1ba0, "-5.718112007886465e-236"),
        (0x10af973a101c0329, "2.604551550290039e-228"),
        (0x5e08bdd5417d1b07, "9.654606484860761e+144"),
        (0x030dfd1b3356ac34, "5.869374636426781e-294"),
        (0x6dda4ff088dbcb63, "1.4861240173721427e+221"),
        (0x5c707549f095a646, "1.9139884226928333e+137"),
        (0xde494c334fcddda1, "-1.5794585409445365e+146"),
        (0xc7357e338a5dcd1d, "-1.115979010979098e+35"),
        (0x2a8ddd1bc07a406f, "1.0416820660506456e-103"),
        (0xed962ef72121680c, "-7.830799520210179e+219"),
        (0x9077dd2a0747230e, "-2.4593772062336796e-229"),
        (0x8ea5d7c94ab5e479, "-4.192992046229709e-238"),
        (0x253a4d62888cf598, "2.371566725577788e-129"),
        (0x912a4eb10c7b421e, "-5.552531262939488e-226"),
        (0x991e1bf7c709792c, "-1.08124134803353e-187"),
        (0x8327941e1f19575c, "-1.845916143117936e-293"),
        (0xc583b4848c15a838, "-7.623059713270822e+26"),
        (0xc1eb998e0a212de7, "-3704385617.0368533"),
        (0x78999fbbb59973db, "8.663677990655146e+272"),
        (0x7d0e07c64ceffdc1, "2.3974328844053993e+294"),
        (0xb7dbb1432515cb48, "-1.2715740611378903e-39"),
        (0x6c825ad435225330, "4.94329575604694e+214"),
        (0x93bc129242bf6b76, "-1.3029413364336855e-213"),
        (0x9d75904efb9de817, "-9.142096398735772e-167"),
        (0x59e81c87ca1549a5, "1.2751212754694617e+125"),
        (0xf95851dcd64a2998, "-3.3680273273347573e+276"),
        (0x81ff828eff291400, "-4.70514103132246e-299"),
        (0x6f820f0619aa76b0, "1.3689667007182807e+229"),
        (0xab628ab185c787a7, "-1.0596505392276155e-99"),
        (0x4f769e9be3ecc517, "6.394450262870794e+74"),
        (0x26dd0f17e4dba5a9, "1.758335736462784e-121"),
        (0xcf98721fc13c102e, "-2.764287023778745e+75"),
        (0xfa6314faf5a266e0, "-3.463768157681612e+281"),
        (0xb7332ff400964ff1, "-8.603890479315816e-43"),
        (0x012b76ae0fd654b6, "5.006010277727488e-303"),
        (0x1eb73070d6c6b9e6, "1.030880912373342e-160"),
        (0xb55905d044c650d8, "-1.0449970943796015e-51"),
        (0xa17a9b6c121a5be9, "-2.0808461216937164e-147"),
        (0x13631b1000927e1f, "2.7711265342152634e-215"),
        (0xa72925a8fd36fe8b, "-4.869224708410584e-120"),
        (0x8869e5203e5d4758, "-3.921300974710459e-268"),
        (0x53fa5fa1d6ac1932, "3.520849319292169e+96"),
        (0xc77e7e8b54289b87, "-2.5333684500244278e+36"),
        (0xb41c2b80292f62bc, "-1.1219319646763681e-57"),
        (0x39e127cfee2b9a0b, "6.766658143933554e-30"),
        (0xb2844f161196fdd7, "-2.410560316609436e-65"),
        (0x8d3582d561c13150, "-4.92249768310688e-245"),
        (0x12b5d33d53480851, "1.5456831884834685e-218"),
        (0xa735a8cb197c0eac, "-8.387782002424469e-120"),
        (0xf54d43271afa0503, "-1.0984366284798512e+257"),
        (0x132a1a53361db59f, "2.3662507134179012e-216"),
        (0x93e123d8b4efa3e6, "-6.364210507205528e-213"),
        (0xce1aa18aaba73a81, "-1.794927345119745e+68"),
        (0xa3809da88a687d92, "-1.1162324171654872e-137"),
        (0xaab2635ca2c7d8a2, "-5.131201983310865e-103"),
        (0x7400f93be1e0bf89, "6.076305498324344e+250"),
        (0xe9f41f8afe572bd9, "-2.46453200680617e+202"),
        (0x8b74b1cde363c6bc, "-1.7641666251801568e-253"),
        (0xb66e20eff7d54b3c, "-1.649189346246242e-46"),
        (0x1f307cc7e5db4e96, "1.8763555132813887e-158"),
        (0xb9b28da0ca35316d, "-9.147450954462962e-31"),
        (0xcd86a6c7e60693d7, "-2.9818501005032183e+65"),
        (0x73eb8394402bf707, "2.4624070459823647e+250"),
        (0x34331101f3c02e8b, "3.037458502540748e-57"),
        (0x001f462285f1d452, "4.349180023562033e-308"),
        (0x32cdc0b0fdac4e44, "5.650375696050182e-64"),
        (0x80822186aa0d43e1, "-3.2274181993804915e-306"),
        (0xe62c7e9bfb985148, "-1.5134547445778793e+184"),
        (0x3724a1e9e3215044, "4.625960904486231e-43"),
        (0x85e4c8bd798c7dc9, "-2.8625041749574207e-280"),
        (0x80c0099cab4471f4, "-4.567644954206295e-305"),
        (0x432fbbd7ebe3a76a, "4466130163979189.0"),
        (0xd93a22f56fd4e275, "-6.749112259616673e+121"),
        (0x8bf35572abc2dd74, "-4.2193001355678874e-251"),
        (0xa8b345947d822830, "-1.2521139191531942e-112"),
        (0x4128d69e3fd36f7e, "813903.12466"),
        (0x4119cba915cfaace, "422634.2713"),
        (0x4100f3eb233eff19, "138877.39221"),
        (0xc10ac84000000000, "-219400.0"),
        (0xc1177c2688bf3beb, "-384777.633542"),
        (0xc0d3d43a96e9bbf1, "-20304.915461"),
        (0xc1114c2396872b02, "-283400.897"),
        (0xc110ecf60985f06f, "-277309.5093"),
        (0x411416fb1c28f5c3, "329150.7775"),
        (0xc12df576dba1f055, "-981691.42896987"),
        (0xc127c22400000000, "-778514.0"),
        (0xc117d09400000000, "-390181.0"),
        (0xc1268f2004c3f085, "-739216.0093074"),
        (0x4110a5c6cc060177, "272753.69924166"),
        (0xc12011fbf5c28f5c, "-526589.98"),
        (0x410d05c086b6d366, "237752.0657784"),
        (0x4109427800000000, "206927.0"),
        (0xc12b19a495876b9a, "-888018.2920488"),
        (0xc102229800000000, "-148563.0"),
        (0xc12d2626e9cb1009, "-955155.45662737"),
        (0xc0fab4c19999999a, "-109388.1"),
        (0xc129e751cd7f0ed4, "-848808.90136"),
        (0xc101fc39016a39b0, "-147335.12569089"),
        (0x412191c433333333, "575714.1"),
        (0x41240a4600000000, "656675.0"),
        (0x411da0b55357a604, "485421.33138904"),
        (0x40bc65fb0f27bb30, "7269.9807"),
        (0x40f92ad610624dd3, "103085.379"),
        (0xc11129a05e981388, "-281192.092377"),
        (0x40f038d678281243, "66445.40433509"),
        (0xc0fd4556ae6e3cf4, "-119893.4175856"),
        (0x40c2aecb851eb852, "9565.59"),
        (0xc129a8cea9fa9b3c, "-840807.3319901"),
        (0x412969bc643fe5c9, "832734.1958"),
        (0x41208d1655810625, "542347.167"),
        (0xc0fa78e97dbf4880, "-108430.5932"),
        (0xc0fcadb4f8e80b6d, "-117467.31076817"),
        (0xc1225e29d3b70ef5, "-601876.913506"),
        (0x4104bbb99999999a, "169847.2"),
        (0xc105a8ae1707d40a, "-177429.7612454"),
        (0xc1281dc8b1ceaf25, "-790244.34728"),
        (0xc1219e9a6e978d50, "-577357.216"),
        (0x412604419999999a, "721440.8"),
        (0x40fc7a731eb851ec, "116647.195"),
        (0x4129597e24b7ffb6, "830655.0717163"),
        (0xc0b7066666666666, "-5894.4"),
        (0xc11c91ff514983d8, "-468095.829382"),
        (0xc12c6db19999999a, "-931544.8"),
        (0xc12b5854f0da3210, "-896042.4704147"),
        (0xc12053a79fdb7359, "-534995.81222115"),
        (0x410eb103a3a29c78, "251424.4549"),
        (0x4116bb4933333333, "372434.3"),
        (0xc12c60bd49374bc7, "-929886.643"),
        (0xc12daabfa7952d23, "-972127.82731"),
        (0x411c1d239999999a, "460616.9"),
        (0xc1200d3f70b4e321, "-525983.72013006"),
        (0xc0d416e8d4fdf3b6, "-20571.638"),
        (0x4129e66600000000, "848691.0"),
        (0x41157c5c7c060426, "352023.1211167"),
        (0xc1115eac3fb15b57, "-284587.0622"),
        (0xc1237bdedcdfce31, "-638447.431395"),
        (0x4105e6f733333333, "179422.9"),
        (0xc1203074c1ac14c6, "-530490.378266"),
        (0xc11608f533336181, "-361021.30000069"),
        (0xc108cdccadab9f56, "-203193.5848"),
        (0xc0df54a000000000, "-32082.5"),
        (0xc10952df58adab9f, "-207451.9183"),
        (0xc1204e967020c49c, "-534347.219"),
        (0xc0dc525cc7e28241, "-29001.4497"),
        (0x4125d1699ae685db, "714932.80254"),
        (0x412898a745b6291c, "805971.6361554"),
        (0x41223d49f0b3f7ea, "597668.97012305"),
        (0xc11ec05e4ffc115e, "-503831.57811"),
        (0x4128e752cccccccd, "816041.4"),
        (0xc118705486a7ef9e, "-400405.1315"),
        (0xc0ec705b5cf7f2eb, "-58242.8550987"),
        (0xc1044cbd20c49ba6, "-166295.641"),
        (0x41272b2cb0fcf80e, "759190.34568"),
        (0x411e20c533333333, "493617.3"),
        (0x41021f7bfdfe32a0, "148463.49902"),
        (0x4107d748cccccccd, "195305.1"),
        (0xc1105dfde8db8bac, "-268159.4774"),
        (0x412db152428f5c29, "972969.13"),
        (0xc10e8bdc00000000, "-250235.5"),
        (0xc1201c412f4a7a78, "-527904.5923651"),
        (0x40ea38c000000000, "53702.0"),
        (0xc1187af200000000, "-401084.5"),
        (0xc12a876f33333333, "-869303.6"),
        (0xc0e6f84df487fcb9, "-47042.4361"),
        (0x40e4321333333333, "41360.6"),
        (0x41196214d9652bd4, "415877.2123"),
        (0x4126568788f5c28f, "731971.7675"),
        (0xc1288a26491d14e4, "-804115.1428"),
        (0xc12a389600000000, "-859211.0"),
        (0xc111630c00000000, "-284867.0"),
        (0x412377945851654d, "637898.172496"),
        (0x4102d19bfaf36fa4, "154163.49753463"),
        (0xc114d821dd701237, "-341512.46624783"),
        (0x411307dde841aac5, "311799.476813"),
        (0xc123b11a76dc5d64, "-645261.23215"),
        (0x411cc581cccccccd, "471392.45"),
        (0xc126a63400000000, "-742170.0"),
        (0x4125d425891fb3fa, "715282.76782"),
        (0xc0ff7f0800000000, "-129008.5"),
        (0x411acd9326ae3a3b, "439140.787774"),
        (0xc12b8268ab386aab, "-901428.3344148"),
        (0xc1217a7ec5641b08, "-572735.38552937"),
        (0xc1208c7cce65bea1, "-542270.40312"),
        (0x41037b71b15825dc, "159598.21159391"),
        (0x411402cf526e978d, "327859.8305"),
        (0x41129a6b78ef34d7, "304794.8681"),
        (0x4117e87309374bc7, "391708.759"),
        (0x4111586fe5022574, "284187.973641"),
        (0x410c57f000000000, "232190.0"),
        (0xc1213a767674233d, "-564539.23135481"),
        (0x40e16f5666666666, "35706.7"),
        (0xc12248ac00000000, "-599126.0"),
        (0xc0f179ec139eadd6, "-71582.75479"),
        (0x411239787226c3b9, "298590.111476"),
        (0xc1231b7600000000, "-626107.0"),
        (0xc112045e47d2c7b9, "-295191.57014"),
        (0xc116b82800000000, "-372234.0"),
        (0x40fde010c4d98394, "122369.048059"),
        (0xc12315a190344582, "-625360.7816488"),
        (0xc112919400000000, "-304229.0"),
        (0x412bea3600000000, "914715.0"),
        (0x4121082d50ca8199, "558102.657795"),
        (0x41205a4085dcc63f, "535840.26145"),
        (0x4103faecb676640a, "163677.589093"),
        (0x4125ab2e00000000, "710039.0"),
        (0xc10ce836cccccccd, "-236806.85"),
        (0x412601b372d77319, "721113.7243"),
        (0x4129a3ab973d4be6, "840149.79538953"),
        (0x412162fa00000000, "569725.0"),
        (0xc129a29000000000, "-840008.0"),
        (0xc126489900000000, "-730188.5"),
        (0x4114058202c625ea, "328032.502709"),
        (0xc10b5b552c3c9eed, "-224106.6466"),
        (0x40f1e8033f141206, "73344.2029"),
        (0xc11b3d0f6782d384, "-446275.851085"),
        (0x4121157e51a9fbe7, "559807.1595"),
        (0x40e9b532978d4fdf, "52649.581"),
        (0xc1237aaf51eb851f, "-638295.66"),
        (0xc12e522d42007dd4, "-993558.62891"),
        (0x412973ac7a858794, "834006.2393"),
        (0xc1286b1766666666, "-800139.7"),
        (0xc128470e4a18ac9f, "-795527.1447195"),
        (0xc1082ba21b71758e, "-198004.2634"),
        (0xc121ebf47ae147ae, "-587258.24"),
        (0x411df825a667e99e, "491017.41250577"),
        (0x3fb5f022865f59e3, "0.08569541721894995"),
        (0x42b591a8a51b21e1, "23715343833889.88"),
        (0x419101969489abea, "71329189.13444486"),
        (0x3d7b23b433199353, "1.5427001686602404e-12"),
        (0x421b247794ab3ee6, "29143983402.811424"),
        (0x43de0cbde91309e3, "8.661257318411242e+18"),
        (0x446ef74a7a78a56a, "4.5697720939641695e+21"),
        (0x3dd5bc3a1c6df943, "7.907242144683886e-11"),
        (0x3da59eae00c71c10, "9.831566137861817e-12"),
        (0x41d3001616798db8, "1275091033.8992748"),
        (0x4464322028f5efd2, "2.9803745072967823e+21"),
        (0x4293ca4b01f786b9, "5439890685409.681"),
        (0x3e4279485c952e80, "8.602515049825365e-09"),
        (0x440b84b209d2de6d, "6.345297571878729e+19"),
        (0x3d92b47f226c29e3, "4.253039359799155e-12"),
        (0x3e84b66e7d0d0071, "1.543210701674571e-07"),
        (0x41efdd7966b8147d, "4276865845.752501"),
        (0x43bd778da0e7aa49, "2.1233214715494587e+18"),
        (0x41c8fef7a63aea65, "838725452.4602782"),
        (0x3f006d08fc685bb2, "3.13299529361358e-05"),
        (0x3dfb49c58bf13b95, "3.970951449105241e-10"),
        (0x42bb662f3c7f4e3f, "30125693108046.246"),
        (0x3e17686448d566d0, "1.3625121337901282e-09"),
        (0x4305a5bc97f94c73, "761650491632014.4"),
        (0x3ea9b7992577a457, "7.664317064867834e-07"),
        (0x4371b67295fdbd76, "7.977084580867875e+16"),
        (0x3f747dd674b0e9e9, "0.005002820699753199"),
        (0x43bb8e4d11baa371, "1.9856092242580237e+18"),
        (0x411755d9682b687a, "382326.3517280888"),
        (0x3fa14aacc32efdd0, "0.03377284891712018"),
        (0x404f7aa9d63cacda, "62.95830800974518"),
        (0x41e7f4486510326a, "3215082280.506154"),
        (0x427c6f92bfaae979, "1954095561390.592"),
        (0x424fbacade9308ec, "272555687206.0697"),
        (0x415e98945150637f, "8020561.270531534"),
        (0x436091ad8599ebc6, "3.731019267357854e+16"),
        (0x3f2fae1eeec85571, "0.00024170043560959754"),
        (0x3facf1a5a7f6db0f, "0.05653112101884094"),
        (0x4006d6965efc562f, "2.854778997493461"),
        (0x3e435ff8cdc1db90, "9.022136309079679e-09"),
        (0x404439aa304b3fd8, "40.450506245367876"),
        (0x41e2a54e5dd1d9a4, "2502587118.5578175"),
        (0x415192a6ef10c4d3, "4606619.735398489"),
        (0x42377a3f1d2f21c1, "100835204399.13185"),
        (0x3ddac7b1a40008a7, "9.742527010833755e-11"),
        (0x42df302b998a962c, "137167001496152.69"),
        (0x43936621745de16a, "3.494603795050236e+17"),
        (0x3dfc7fc7c960c5e9, "4.1471710213356386e-10"),
        (0x3f810db62299c9bf, "0.008326933794909118"),
        (0x3e01969ee5090445, "5.118887068306471e-10"),
        (0x3eaf90407723e11f, "9.406651158275171e-07"),
        (0x3e4f16f6a5ffa919, "1.4477270215936643e-08"),
        (0x3e24192cfb47be55, "2.3397550236187724e-09"),
        (0x40a0ddd0aff71c45, "2158.9075925085076"),
        (0x430affbc965c165e, "949941854503627.8"),
        (0x3f50c5adcea0aa8f, "0.0010236928305952552"),
        (0x430c240178c50bf5, "990111010955646.6"),
        (0x4332e7667e4aec7b, "5320976972311675.0"),
        (0x4296bcd2dfb2b89a, "6250061884590.15"),
        (0x40a637d973c25644, "2843.9247112970643"),
        (0x3fd254f57e2f3f6c, "0.28643548319541057"),
        (0x4190d23ab268dfa2, "70553260.60241559"),
        (0x422c732cd6dfd544, "61095701359.916534"),
        (0x41a7ecaec2eeee1c, "200693601.46666038"),
        (0x3fb0d4f1d6107d97, "0.06574927784139671"),
        (0x42ee414468da1e02, "266125355438320.06"),
        (0x436ab8b3f38465c3, "6.017145934939292e+16"),
        (0x3e39b40bc1e9564a, "5.984516908578609e-09"),
        (0x3f0ba0bcb106c068, "5.269599762713976e-05"),
        (0x4160d86c5341fa34, "8831842.601803876"),
        (0x3dd638fff881cf14, "8.084555085001314e-11"),
        (0x418a0344d7185501, "54552730.88688088"),
        (0x4188da52d890e9c8, "52120155.0707584"),
        (0x3d70674d871abd79, "9.324325406857257e-13"),
        (0x412345a53004e1db, "631506.5937872486"),
        (0x4447aa4e66bfde96, "8.7309394540842e+20"),
        (0x4293159bb783218d, "5245881934024.388"),
        (0x401fa718c9c2d69f, "7.91318049670886"),
        (0x4361fd059ac59701, "4.0506200939083784e+16"),
        (0x433401cd9b050a2a, "5631482114935338.0"),
    ];

    const SPEC_FLOAT: &[(u64, &str)] = &[
        (0x0000000000000000, "0"),
        (0x8000000000000000, "0"),
        (0x3ff0000000000000, "1"),
        (0xbff0000000000000, "-1"),
        (0x4000000000000000, "2"),
        (0x3fb999999999999a, "0.1"),
        (0x3fc999999999999a, "0.2"),
        (0x3fd3333333333334, "0.3"),
        (0x3fd5555555555555, "0.333333"),
        (0x3fe5555555555555, "0.666667"),
        (0xc004000000000000, "-2.5"),
        (0x3fe0000000000000, "0.5"),
        (0x3ee4f8b588e368f1, "0.00001"),
        (0x3e8421f5f40d8376, "0"),
        (0x4341c37937e08000, "10000000000000000"),
        (0x430c6bf526340000, "1000000000000000"),
        (0x4341c37937e07fff, "9999999999999998"),
        (0x4376345785d8a000, "100000000000000000"),
        (0x42dc12218377de40, "123456789012345"),
        (0x43118b54f22aeb00, "1234567890123456"),
        (0x4345ee2a2eb5a5c4, "12345678901234568"),
        (0x3f1a36e2eb1c432d, "0.0001"),
        (0x3f202e4b6ce5dc68, "0.000123"),
        (0x3f50624dd2f1a9fc, "0.001"),
        (0x3f1a36371ea531a8, "0.0001"),
        (0x0000000000000001, "0"),
        (0x8000000000000001, "0"),
        (0x0010000000000000, "0"),
        (0x4340000000000000, "9007199254740992"),
        (0x4340000000000001, "9007199254740994"),
        (0x2b2bff2ee48e0530, "0"),
        (0x4059000000000000, "100"),
        (0x412e848000000000, "1000000"),
        (0x400921f9f01b866e, "3.14159"),
        (0x4005bf0a8b145769, "2.718282"),
        (0x405edd2f1a9fbe77, "123.456"),
        (0x3f202e85be111841, "0.000123"),
        (0x41b1de784a000000, "299792458"),
        (0x3c07a4da290c1653, "0"),
        (0x4011666666666666, "4.35"),
        (0x3fb1eb851eb851ec, "0.07"),
        (0x3ff199999999999a, "1.1"),
        (0x4059200000000000, "100.5"),
        (0x3e7ad7f29abcaf48, "0"),
        (0x3eb0c6f7a0b5ed8d, "0.000001"),
        (0x3ee9e0fcaf9380fc, "0.000012"),
        (0x3ff0000000000001, "1"),
        (0x3fefffffffffffff, "1"),
        (0x4024000000000000, "10"),
        (0x408f400000000000, "1000"),
        (0x40c3880000000000, "10000"),
        (0x40f86a0000000000, "100000"),
        (0x416312d000000000, "10000000"),
        (0x4197d78400000000, "100000000"),
        (0x41cdcd6500000000, "1000000000"),
        (0x4202a05f20000000, "10000000000"),
        (0x42374876e8000000, "100000000000"),
        (0x426d1a94a2000000, "1000000000000"),
        (0x42a2309ce5400000, "10000000000000"),
        (0x42d6bcc41e900000, "100000000000000"),
        (0x43abc16d674ec800, "1000000000000000000"),
        (0x3f847ae147ae147b, "0.01"),
        (0x3e45798ee2308c3a, "0"),
        (0x3e112e0be826d695, "0"),
        (0x3ddb7cdfd9d7bdbb, "0"),
        (0x3da5fd7fe1796495, "0"),
        (0xac039d09582cf551, "0"),
        (0x39ad2c25c4cf18b9, "0"),
        (0xa5d2255d430fa790, "0"),
        (0x2115ad76a4dc612a, "0"),
        (0x0106e6ddadc897b0, "0"),
        (0x41980a94265dd543, "100836617.591634"),
        (0xa9ca65ad1001961d, "0"),
        (0x984da3d8d954cb7f, "0"),
        (0x86ccd157cb705e4b, "0"),
        (0xa9f84cd6da43d54e, "0"),
        (0x1294effec7e3c61f, "0"),
        (0x0eda413e1e6063a9, "0"),
        (0xa482b9183234206c, "0"),
        (0x85d4d9513eaa779e, "0"),
        (0xa60400a07881a6f2, "0"),
        (0xae515f4e110b686f, "0"),
        (0xa9de47728beb0a6f, "0"),
        (0x8ca9bfa77dbf03b3, "0"),
        (0x3f72710dc58b9cc4, "0.004502"),
        (0x8919ce68e070f0b8, "0"),
        (0xafa193575bc28848, "0"),
        (0x8187cfb46a44533f, "0"),
        (0x0a2bc9b89455f812, "0"),
        (0x89cc14be672b9027, "0"),
        (0x260efe7f38f160af, "0"),
        (0x04fd2d15d90f1697, "0"),
        (0xb938ec38dd3caee2, "0"),
        (0xa25782e685cd81a7, "0"),
        (0x82aaad9192cefd19, "0"),
        (0x0894276f2b996850, "0"),
        (0x38671bdb3db1db28, "0"),
        (0xbfd83b830836d1e7, "-0.378632"),
        (0x8a4e7468b26b24e8, "0"),
        (0xb6d906ee5093b45f, "0"),
        (0x024d1cb9f0ca9e5d, "0"),
        (0xb69036bb46585128, "0"),
        (0xa7f71bf74456219f, "0"),
        (0x8e3bb3f823a2eb26, "0"),
        (0x22c670de14764ecc, "0"),
        (0xc05d82120edabe6d, "-118.032352"),
        (0x8f17459222ca1ba0, "0"),
        (0x10af973a101c0329, "0"),
        (0x030dfd1b3356ac34, "0"),
        (0x2a8ddd1bc07a406f, "0"),
        (0x9077dd2a0747230e, "0"),
        (0x8ea5d7c94ab5e479, "0"),
        (0x253a4d62888cf598, "0"),
        (0x912a4eb10c7b421e, "0"),
        (0x991e1bf7c709792c, "0"),
        (0x8327941e1f19575c, "0"),
        (0xc1eb998e0a212de7, "-3704385617.036853"),
        (0xb7dbb1432515cb48, "0"),
        (0x93bc129242bf6b76, "0"),
        (0x9d75904efb9de817, "0"),
        (0x81ff828eff291400, "0"),
        (0xab628ab185c787a7, "0"),
        (0x26dd0f17e4dba5a9, "0"),
        (0xb7332ff400964ff1, "0"),
        (0x012b76ae0fd654b6, "0"),
        (0x1eb73070d6c6b9e6, "0"),
        (0xb55905d044c650d8, "0"),
        (0xa17a9b6c121a5be9, "0"),
        (0x13631b1000927e1f, "0"),
        (0xa72925a8fd36fe8b, "0"),
        (0x8869e5203e5d4758, "0"),
        (0xb41c2b80292f62bc, "0"),
        (0x39e127cfee2b9a0b, "0"),
        (0xb2844f161196fdd7, "0"),
        (0x8d3582d561c13150, "0"),
        (0x12b5d33d53480851, "0"),
        (0xa735a8cb197c0eac, "0"),
        (0x132a1a53361db59f, "0"),
        (0x93e123d8b4efa3e6, "0"),
        (0xa3809da88a687d92, "0"),
        (0xaab2635ca2c7d8a2, "0"),
        (0x8b74b1cde363c6bc, "0"),
        (0xb66e20eff7d54b3c, "0"),
        (0x1f307cc7e5db4e96, "0"),
        (0xb9b28da0ca35316d, "0"),
        (0x34331101f3c02e8b, "0"),
        (0x001f462285f1d452, "0"),
        (0x32cdc0b0fdac4e44, "0"),
        (0x80822186aa0d43e1, "0"),
        (0x3724a1e9e3215044, "0"),
        (0x85e4c8bd798c7dc9, "0"),
        (0x80c0099cab4471f4, "0"),
        (0x432fbbd7ebe3a76a, "4466130163979189"),
        (0x8bf35572abc2dd74, "0"),
        (0xa8b345947d822830, "0"),
        (0x4128d69e3fd36f7e, "813903.12466"),
        (0x4119cba915cfaace, "422634.2713"),
        (0x4100f3eb233eff19, "138877.39221"),
        (0xc10ac84000000000, "-219400"),
        (0xc1177c2688bf3beb, "-384777.633542"),
        (0xc0d3d43a96e9bbf1, "-20304.915461"),
        (0xc1114c2396872b02, "-283400.897"),
        (0xc110ecf60985f06f, "-277309.5093"),
        (0x411416fb1c28f5c3, "329150.7775"),
        (0xc12df576dba1f055, "-981691.42897"),
        (0xc127c22400000000, "-778514"),
        (0xc117d09400000000, "-390181"),
        (0xc1268f2004c3f085, "-739216.009307"),
        (0x4110a5c6cc060177, "272753.699242"),
        (0xc12011fbf5c28f5c, "-526589.98"),
        (0x410d05c086b6d366, "237752.065778"),
        (0x4109427800000000, "206927"),
        (0xc12b19a495876b9a, "-888018.292049"),
        (0xc102229800000000, "-148563"),
        (0xc12d2626e9cb1009, "-955155.456627"),
        (0xc0fab4c19999999a, "-109388.1"),
        (0xc129e751cd7f0ed4, "-848808.90136"),
        (0xc101fc39016a39b0, "-147335.125691"),
        (0x412191c433333333, "575714.1"),
        (0x41240a4600000000, "656675"),
        (0x411da0b55357a604, "485421.331389"),
        (0x40bc65fb0f27bb30, "7269.9807"),
        (0x40f92ad610624dd3, "103085.379"),
        (0xc11129a05e981388, "-281192.092377"),
        (0x40f038d678281243, "66445.404335"),
        (0xc0fd4556ae6e3cf4, "-119893.417586"),
        (0x40c2aecb851eb852, "9565.59"),
        (0xc129a8cea9fa9b3c, "-840807.33199"),
        (0x412969bc643fe5c9, "832734.1958"),
        (0x41208d1655810625, "542347.167"),
        (0xc0fa78e97dbf4880, "-108430.5932"),
        (0xc0fcadb4f8e80b6d, "-117467.310768"),
        (0xc1225e29d3b70ef5, "-601876.913506"),
        (0x4104bbb99999999a, "169847.2"),
        (0xc105a8ae1707d40a, "-177429.761245"),
        (0xc1281dc8b1ceaf25, "-790244.34728"),
        (0xc1219e9a6e978d50, "-577357.216"),
        (0x412604419999999a, "721440.8"),
        (0x40fc7a731eb851ec, "116647.195"),
        (0x4129597e24b7ffb6, "830655.071716"),
        (0xc0b7066666666666, "-5894.4"),
        (0xc11c91ff514983d8, "-468095.829382"),
        (0xc12c6db19999999a, "-931544.8"),
        (0xc12b5854f0da3210, "-896042.470415"),
        (0xc12053a79fdb7359, "-534995.812221"),
        (0x410eb103a3a29c78, "251424.4549"),
        (0x4116bb4933333333, "372434.3"),
        (0xc12c60bd49374bc7, "-929886.643"),
        (0xc12daabfa7952d23, "-972127.82731"),
        (0x411c1d239999999a, "460616.9"),
        (0xc1200d3f70b4e321, "-525983.72013"),
        (0xc0d416e8d4fdf3b6, "-20571.638"),
        (0x4129e66600000000, "848691"),
        (0x41157c5c7c060426, "352023.121117"),
        (0xc1115eac3fb15b57, "-284587.0622"),
        (0xc1237bdedcdfce31, "-638447.431395"),
        (0x4105e6f733333333, "179422.9"),
        (0xc1203074c1ac14c6, "-530490.378266"),
        (0xc11608f533336181, "-361021.300001"),
        (0xc108cdccadab9f56, "-203193.5848"),
        (0xc0df54a000000000, "-32082.5"),
        (0xc10952df58adab9f, "-207451.9183"),
        (0xc1204e967020c49c, "-534347.219"),
        (0xc0dc525cc7e28241, "-29001.4497"),
        (0x4125d1699ae685db, "714932.80254"),
        (0x412898a745b6291c, "805971.636155"),
        (0x41223d49f0b3f7ea, "597668.970123"),
        (0xc11ec05e4ffc115e, "-503831.57811"),
        (0x4128e752cccccccd, "816041.4"),
        (0xc118705486a7ef9e, "-400405.1315"),
        (0xc0ec705b5cf7f2eb, "-58242.855099"),
        (0xc1044cbd20c49ba6, "-166295.641"),
        (0x41272b2cb0fcf80e, "759190.34568"),
        (0x411e20c533333333, "493617.3"),
        (0x41021f7bfdfe32a0, "148463.49902"),
        (0x4107d748cccccccd, "195305.1"),
        (0xc1105dfde8db8bac, "-268159.4774"),
        (0x412db152428f5c29, "972969.13"),
        (0xc10e8bdc00000000, "-250235.5"),
        (0xc1201c412f4a7a78, "-527904.592365"),
        (0x40ea38c000000000, "53702"),
        (0xc1187af200000000, "-401084.5"),
        (0xc12a876f33333333, "-869303.6"),
        (0xc0e6f84df487fcb9, "-47042.4361"),
        (0x40e4321333333333, "41360.6"),
        (0x41196214d9652bd4, "415877.2123"),
        (0x4126568788f5c28f, "731971.7675"),
        (0xc1288a26491d14e4, "-804115.1428"),
        (0xc12a389600000000, "-859211"),
        (0xc111630c00000000, "-284867"),
        (0x412377945851654d, "637898.172496"),
        (0x4102d19bfaf36fa4, "154163.497535"),
        (0xc114d821dd701237, "-341512.466248"),
        (0x411307dde841aac5, "311799.476813"),
        (0xc123b11a76dc5d64, "-645261.23215"),
        (0x411cc581cccccccd, "471392.45"),
        (0xc126a63400000000, "-742170"),
        (0x4125d425891fb3fa, "715282.76782"),
        (0xc0ff7f0800000000, "-129008.5"),
        (0x411acd9326ae3a3b, "439140.787774"),
        (0xc12b8268ab386aab, "-901428.334415"),
        (0xc1217a7ec5641b08, "-572735.385529"),
        (0xc1208c7cce65bea1, "-542270.40312"),
        (0x41037b71b15825dc, "159598.211594"),
        (0x411402cf526e978d, "327859.8305"),
        (0x41129a6b78ef34d7, "304794.8681"),
        (0x4117e87309374bc7, "391708.759"),
        (0x4111586fe5022574, "284187.973641"),
        (0x410c57f000000000, "232190"),
        (0xc1213a767674233d, "-564539.231355"),
        (0x40e16f5666666666, "35706.7"),
        (0xc12248ac00000000, "-599126"),
        (0xc0f179ec139eadd6, "-71582.75479"),
        (0x411239787226c3b9, "298590.111476"),
        (0xc1231b7600000000, "-626107"),
        (0xc112045e47d2c7b9, "-295191.57014"),
        (0xc116b82800000000, "-372234"),
        (0x40fde010c4d98394, "122369.048059"),
        (0xc12315a190344582, "-625360.781649"),
        (0xc112919400000000, "-304229"),
        (0x412bea3600000000, "914715"),
        (0x4121082d50ca8199, "558102.657795"),
        (0x41205a4085dcc63f, "535840.26145"),
        (0x4103faecb676640a, "163677.589093"),
        (0x4125ab2e00000000, "710039"),
        (0xc10ce836cccccccd, "-236806.85"),
        (0x412601b372d77319, "721113.7243"),
        (0x4129a3ab973d4be6, "840149.79539"),
        (0x412162fa00000000, "569725"),
        (0xc129a29000000000, "-840008"),
        (0xc126489900000000, "-730188.5"),
        (0x4114058202c625ea, "328032.502709"),
        (0xc10b5b552c3c9eed, "-224106.6466"),
        (0x40f1e8033f141206, "73344.2029"),
        (0xc11b3d0f6782d384, "-446275.851085"),
        (0x4121157e51a9fbe7, "559807.1595"),
        (0x40e9b532978d4fdf, "52649.581"),
        (0xc1237aaf51eb851f, "-638295.66"),
        (0xc12e522d42007dd4, "-993558.62891"),
        (0x412973ac7a858794, "834006.2393"),
        (0xc1286b1766666666, "-800139.7"),
        (0xc128470e4a18ac9f, "-795527.144719"),
        (0xc1082ba21b71758e, "-198004.2634"),
        (0xc121ebf47ae147ae, "-587258.24"),
        (0x411df825a667e99e, "491017.412506"),
        (0x3fb5f022865f59e3, "0.085695"),
        (0x42b591a8a51b21e1, "23715343833889.878906"),
        (0x419101969489abea, "71329189.134445"),
        (0x3d7b23b433199353, "0"),
        (0x421b247794ab3ee6, "29143983402.811424"),
        (0x43de0cbde91309e3, "8661257318411242496"),
        (0x3dd5bc3a1c6df943, "0"),
        (0x3da59eae00c71c10, "0"),
        (0x41d3001616798db8, "1275091033.899275"),
        (0x4293ca4b01f786b9, "5439890685409.680664"),
        (0x3e4279485c952e80, "0"),
        (0x3d92b47f226c29e3, "0"),
        (0x3e84b66e7d0d0071, "0"),
        (0x41efdd7966b8147d, "4276865845.752501"),
        (0x43bd778da0e7aa49, "2123321471549458688"),
        (0x41c8fef7a63aea65, "838725452.460278"),
        (0x3f006d08fc685bb2, "0.000031"),
        (0x3dfb49c58bf13b95, "0"),
        (0x42bb662f3c7f4e3f, "30125693108046.246094"),
        (0x3e17686448d566d0, "0"),
        (0x4305a5bc97f94c73, "761650491632014.375"),
        (0x3ea9b7992577a457, "0.000001"),
        (0x4371b67295fdbd76, "79770845808678752"),
        (0x3f747dd674b0e9e9, "0.005003"),
        (0x43bb8e4d11baa371, "1985609224258023680"),
        (0x411755d9682b687a, "382326.351728"),
        (0x3fa14aacc32efdd0, "0.033773"),
        (0x404f7aa9d63cacda, "62.958308"),
        (0x41e7f4486510326a, "3215082280.506154"),
        (0x427c6f92bfaae979, "1954095561390.592041"),
        (0x424fbacade9308ec, "272555687206.069702"),
        (0x415e98945150637f, "8020561.270532"),
        (0x436091ad8599ebc6, "37310192673578544"),
        (0x3f2fae1eeec85571, "0.000242"),
        (0x3facf1a5a7f6db0f, "0.056531"),
        (0x4006d6965efc562f, "2.854779"),
        (0x3e435ff8cdc1db90, "0"),
        (0x404439aa304b3fd8, "40.450506"),
        (0x41e2a54e5dd1d9a4, "2502587118.557817"),
        (0x415192a6ef10c4d3, "4606619.735398"),
        (0x42377a3f1d2f21c1, "100835204399.131851"),
        (0x3ddac7b1a40008a7, "0"),
        (0x42df302b998a962c, "137167001496152.6875"),
        (0x43936621745de16a, "349460379505023616"),
        (0x3dfc7fc7c960c5e9, "0"),
        (0x3f810db62299c9bf, "0.008327"),
        (0x3e01969ee5090445, "0"),
        (0x3eaf90407723e11f, "0.000001"),
        (0x3e4f16f6a5ffa919, "0"),
        (0x3e24192cfb47be55, "0"),
        (0x40a0ddd0aff71c45, "2158.907593"),
        (0x430affbc965c165e, "949941854503627.75"),
        (0x3f50c5adcea0aa8f, "0.001024"),
        (0x430c240178c50bf5, "990111010955646.625"),
        (0x4332e7667e4aec7b, "5320976972311675"),
        (0x4296bcd2dfb2b89a, "6250061884590.150391"),
        (0x40a637d973c25644, "2843.924711"),
        (0x3fd254f57e2f3f6c, "0.286435"),
        (0x4190d23ab268dfa2, "70553260.602416"),
        (0x422c732cd6dfd544, "61095701359.916534"),
        (0x41a7ecaec2eeee1c, "200693601.46666"),
        (0x3fb0d4f1d6107d97, "0.065749"),
        (0x42ee414468da1e02, "266125355438320.0625"),
        (0x436ab8b3f38465c3, "60171459349392920"),
        (0x3e39b40bc1e9564a, "0"),
        (0x3f0ba0bcb106c068, "0.000053"),
        (0x4160d86c5341fa34, "8831842.601804"),
        (0x3dd638fff881cf14, "0"),
        (0x418a0344d7185501, "54552730.886881"),
        (0x4188da52d890e9c8, "52120155.070758"),
        (0x3d70674d871abd79, "0"),
        (0x412345a53004e1db, "631506.593787"),
        (0x4293159bb783218d, "5245881934024.387695"),
        (0x401fa718c9c2d69f, "7.91318"),
        (0x4361fd059ac59701, "40506200939083784"),
        (0x433401cd9b050a2a, "5631482114935338"),
        (0x3ea0c6f7a0b5ed8d, "0"),
        (0x3eb92a737110e454, "0.000002"),
        (0x3ec4f8b588e368f1, "0.000003"),
        (0xbea0c6f7a0b5ed8d, "0"),
        (0x4007fffff29406b3, "3"),
        (0xc007fffff29406b3, "-3"),
        (0x3feffffef39085f5, "1"),
        (0xbe7ad7f29abcaf48, "0"),
        (0x3fbf9ad85dfa871a, "0.123456"),
        (0x3ff000008637bd06, "1.000001"),
        (0x4132d6871f9ad85e, "1234567.123457"),
    ];

    const PY_STR_REPR: &[(&str, &str)] = &[
        ("", "''"),
        ("hello", "'hello'"),
        ("it's", "\"it's\""),
        ("say \"hi\"", "'say \"hi\"'"),
        ("both ' and \"", "'both \\' and \"'"),
        ("back\\slash", "'back\\\\slash'"),
        ("tab\u{9}here", "'tab\\there'"),
        ("line\u{a}break", "'line\\nbreak'"),
        ("cr\u{d}lf\u{d}\u{a}", "'cr\\rlf\\r\\n'"),
        ("\u{0}\u{1}\u{1f}", "'\\x00\\x01\\x1f'"),
        ("\u{7f}", "'\\x7f'"),
        ("bell\u{7}", "'bell\\x07'"),
        ("esc\u{1b}[0m", "'esc\\x1b[0m'"),
        ("caf\u{e9}", "'caf\u{e9}'"),
        ("na\u{ef}ve \u{fc}ber", "'na\u{ef}ve \u{fc}ber'"),
        ("\u{80}\u{85}\u{9f}", "'\\x80\\x85\\x9f'"),
        ("\u{a0}nbsp", "'\\xa0nbsp'"),
        ("soft\u{ad}hyphen", "'soft\\xadhyphen'"),
        ("\u{a1}\u{bf}\u{ff}", "'\u{a1}\u{bf}\u{ff}'"),
        ("\u{4e2d}\u{6587}", "'\u{4e2d}\u{6587}'"),
        ("emoji \u{1f600}", "'emoji \u{1f600}'"),
        ("zw\u{200b}sp", "'zw\\u200bsp'"),
        ("\u{200d}\u{200e}\u{200f}", "'\\u200d\\u200e\\u200f'"),
        ("\u{2028}\u{2029}", "'\\u2028\\u2029'"),
        ("\u{3000}ideo", "'\\u3000ideo'"),
        ("\u{feff}bom", "'\\ufeffbom'"),
        ("\u{e000}private", "'\\ue000private'"),
        ("\u{f0000}\u{10fffd}", "'\\U000f0000\\U0010fffd'"),
        ("\u{e0001}\u{e0020}", "'\\U000e0001\\U000e0020'"),
        ("\u{fdd0}\u{fffe}\u{ffff}", "'\\ufdd0\\ufffe\\uffff'"),
        ("\u{1fffe}", "'\\U0001fffe'"),
        ("\u{600}\u{61c}\u{6dd}", "'\\u0600\\u061c\\u06dd'"),
        ("\u{1680}\u{180e}", "'\\u1680\\u180e'"),
        ("\u{2060}\u{2066}\u{206f}", "'\\u2060\\u2066\\u206f'"),
        (
            "\u{fff9}\u{fffb}\u{fffc}\u{fffd}",
            "'\\ufff9\\ufffb\u{fffc}\u{fffd}'",
        ),
        ("'", "\"'\""),
        ("\"", "'\"'"),
        ("'\"", "'\\'\"'"),
        ("\\'", "\"\\\\'\""),
        ("\\\"", "'\\\\\"'"),
        ("\u{9}\u{a}\u{d}\u{b}\u{c}", "'\\t\\n\\r\\x0b\\x0c'"),
        ("\u{8}", "'\\x08'"),
        ("\u{300}combining", "'\u{300}combining'"),
        ("\u{110bd}\u{110cd}", "'\\U000110bd\\U000110cd'"),
        ("\u{890}\u{891}\u{8e2}", "'\\u0890\\u0891\\u08e2'"),
        ("\u{1d173}\u{1d17a}", "'\\U0001d173\\U0001d17a'"),
        ("\u{13430}\u{13438}", "'\\U00013430\\U00013438'"),
        ("\u{1bca0}\u{1bca3}", "'\\U0001bca0\\U0001bca3'"),
        (
            "r\u{e9}sum\u{e9} \u{2014} \u{201c}quoted\u{201d}",
            "'r\u{e9}sum\u{e9} \u{2014} \u{201c}quoted\u{201d}'",
        ),
        ("\u{ad}", "'\\xad'"),
        ("xxx'y", "\"xxx'y\""),
    ];
}
