//! A hand-checked fast path for the most common shape of a `parse` regex:
//! a literal, then a fixed run of literals and one-character classes with
//! named groups around some of them, such as `" (?P<status>\d{3}) ` over
//! an access log. Every match of such a pattern has the same length, so
//! the leftmost match is the first place the leading literal (found with
//! `memchr::memmem`) is followed by the rest; the groups sit at fixed
//! offsets from it.
//!
//! The answer is the regex crate's, byte for byte: a class is checked
//! byte by byte only where the line holds ASCII; where a class position
//! holds a byte of a longer character and the class has such characters
//! (`\d` is Unicode's digits), the line is left to the regex
//! ([`Found::Ask`]). Patterns of any other shape (alternation, `*`, `+`,
//! anchors, look-around, a leading class) get no fast path.

use memchr::memmem;
use regex_syntax::hir::{Class, Hir, HirKind};

/// One fixed-width step after the leading literal.
#[derive(Debug, Clone)]
enum Step {
    /// These bytes, exactly.
    Lit(Box<[u8]>),
    /// One character of a class: which ASCII bytes it holds, and whether
    /// it holds characters beyond ASCII.
    Class { ascii: [bool; 128], wide: bool },
}

/// A capture group's place: its index (as the regex numbers groups) and
/// its byte offsets from the start of a match.
#[derive(Debug, Clone, Copy)]
struct Span {
    index: usize,
    from: usize,
    to: usize,
}

/// A pattern of fixed width led by a literal.
#[derive(Debug)]
pub struct Fixed {
    lead: memmem::Finder<'static>,
    lead_len: usize,
    steps: Box<[Step]>,
    spans: Box<[Span]>,
}

/// What a search of one line found.
#[derive(Debug, PartialEq, Eq)]
pub enum Found {
    /// The leftmost match starts here.
    At(usize),
    /// No match.
    None,
    /// The line holds a character this path does not decide: ask the
    /// regex.
    Ask,
}

impl Fixed {
    /// The fast path for `pattern`, when it has the shape this module
    /// takes (parsed as the regex crate parses it, Unicode on).
    pub fn new(pattern: &str) -> Option<Fixed> {
        let hir = regex_syntax::ParserBuilder::new()
            .build()
            .parse(pattern)
            .ok()?;
        let items: Vec<&Hir> = match hir.kind() {
            HirKind::Concat(items) => items.iter().collect(),
            _ => vec![&hir],
        };
        let (first, rest) = items.split_first()?;
        let HirKind::Literal(lead) = first.kind() else {
            return None;
        };
        if lead.0.is_empty() {
            return None;
        }
        let mut b = Builder {
            width: lead.0.len(),
            ..Builder::default()
        };
        for h in rest {
            b.add(h)?;
        }
        if b.steps.len() > 64 {
            return None;
        }
        Some(Fixed {
            lead: memmem::Finder::new(&lead.0[..]).into_owned(),
            lead_len: lead.0.len(),
            steps: b.steps.into(),
            spans: b.spans.into(),
        })
    }

    /// The leftmost match in `line`.
    pub fn find(&self, line: &[u8]) -> Found {
        let mut from = 0;
        while let Some(i) = self.lead.find(&line[from..]) {
            let at = from + i;
            match self.rest_at(line, at + self.lead_len) {
                Some(true) => return Found::At(at),
                Some(false) => from = at + 1,
                None => return Found::Ask,
            }
        }
        Found::None
    }

    /// The groups of the match at `at`: `(index, start, end)` each.
    pub fn captures(&self, at: usize) -> impl Iterator<Item = (usize, usize, usize)> + '_ {
        self.spans
            .iter()
            .map(move |s| (s.index, at + s.from, at + s.to))
    }

    /// Whether the steps match from `pos`; `None` when a class meets a
    /// byte of a longer character that it might hold.
    #[inline]
    fn rest_at(&self, line: &[u8], mut pos: usize) -> Option<bool> {
        for step in self.steps.iter() {
            match step {
                Step::Lit(l) => {
                    // byte by byte: these literals are a byte or two, and
                    // a call to memcmp cost more than the comparison
                    for &c in l.iter() {
                        if line.get(pos) != Some(&c) {
                            return Some(false);
                        }
                        pos += 1;
                    }
                }
                Step::Class { ascii, wide } => {
                    let Some(&b) = line.get(pos) else {
                        return Some(false);
                    };
                    if b >= 0x80 {
                        return if *wide { None } else { Some(false) };
                    }
                    if !ascii[b as usize] {
                        return Some(false);
                    }
                    pos += 1;
                }
            }
        }
        Some(true)
    }
}

#[derive(Default)]
struct Builder {
    steps: Vec<Step>,
    spans: Vec<Span>,
    /// The width so far, from the start of a match.
    width: usize,
}

impl Builder {
    fn add(&mut self, h: &Hir) -> Option<()> {
        match h.kind() {
            HirKind::Empty => {}
            HirKind::Literal(l) => {
                self.width += l.0.len();
                self.steps.push(Step::Lit(l.0.clone()));
            }
            HirKind::Class(c) => {
                self.steps.push(class_step(c)?);
                self.width += 1;
            }
            HirKind::Repetition(r) => {
                let n = r.min;
                if r.max != Some(n) || n > 64 {
                    return None;
                }
                for _ in 0..n {
                    self.add(&r.sub)?;
                }
            }
            HirKind::Capture(c) => {
                let from = self.width;
                self.add(&c.sub)?;
                self.spans.push(Span {
                    index: c.index as usize,
                    from,
                    to: self.width,
                });
            }
            HirKind::Concat(items) => {
                for i in items {
                    self.add(i)?;
                }
            }
            HirKind::Look(_) | HirKind::Alternation(_) => return None,
        }
        Some(())
    }
}

/// A class of single characters as a step; `None` when it could match a
/// byte a line of text cannot hold alone (a byte class beyond ASCII).
fn class_step(c: &Class) -> Option<Step> {
    let mut ascii = [false; 128];
    let mut wide = false;
    match c {
        Class::Unicode(u) => {
            for r in u.ranges() {
                let (lo, hi) = (r.start() as u32, r.end() as u32);
                for b in lo..=hi.min(127) {
                    ascii[b as usize] = true;
                }
                wide |= hi >= 128;
            }
        }
        Class::Bytes(b) => {
            for r in b.ranges() {
                if r.end() >= 128 {
                    return None;
                }
                for x in r.start()..=r.end() {
                    ascii[x as usize] = true;
                }
            }
        }
    }
    Some(Step::Class { ascii, wide })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use regex::Regex;

    use super::*;

    /// The fast path's answer as the regex gives it: the match's start and
    /// every group's span.
    fn fast(f: &Fixed, line: &str) -> Option<Option<Vec<(usize, usize, usize)>>> {
        match f.find(line.as_bytes()) {
            Found::At(at) => Some(Some(f.captures(at).collect())),
            Found::None => Some(None),
            Found::Ask => None,
        }
    }

    fn slow(re: &Regex, f: &Fixed, line: &str) -> Option<Vec<(usize, usize, usize)>> {
        let c = re.captures(line)?;
        Some(
            f.spans
                .iter()
                .filter_map(|s| c.get(s.index).map(|m| (s.index, m.start(), m.end())))
                .collect(),
        )
    }

    #[test]
    fn fixed_takes_the_common_shapes_only() {
        for p in [
            r#"" (?P<status>\d{3}) "#,
            r"level=(?P<l>[A-Z]{4}) ",
            r"\[(?P<d>\d\d)/(?P<m>[A-Za-z]{3})/",
            "ab",
        ] {
            assert!(Fixed::new(p).is_some(), "{p}");
        }
        for p in [
            r"(?P<a>\d+)",
            r"^x(?P<a>\d)",
            r"x(?P<a>\d)\b",
            r"x(ab|c)",
            r"\dx",
            r"x(?P<a>\d{1,3})",
            "",
        ] {
            assert!(Fixed::new(p).is_none(), "{p}");
        }
    }

    #[test]
    fn fixed_asks_the_regex_about_wide_digits() {
        let f = Fixed::new(r#"" (?P<s>\d{3}) "#).expect("fixed");
        assert_eq!(f.find("\" ٢٠٠ ".as_bytes()), Found::Ask);
        assert_eq!(f.find(b"\" 200 "), Found::At(0));
        assert_eq!(f.find(b"\" 20x \" 404 "), Found::At(6));
        assert_eq!(f.find(b"\" 20"), Found::None);
        // an ASCII-only class refuses a wide character without asking
        let f = Fixed::new(r#"" (?P<s>[0-9]{3}) "#).expect("fixed");
        assert_eq!(f.find("\" ٢٠٠ \" 200 ".as_bytes()), Found::At(9));
    }

    proptest! {
        /// On any line, the fast path finds what the regex finds, or asks.
        #[test]
        fn fixed_equals_the_regex(
            pat in prop::sample::select(vec![
                r#"" (?P<status>\d{3}) "#,
                r"a(?P<x>[ab]{2})(?P<y>\d)b",
                r"(?i)ab(?P<x>\w)",
                r"é(?P<x>.)(?P<y>\s)",
                r"x(?P<x>(?:ab){2})(c)",
            ]),
            line in "[ab\" 0-9xXé٢\\s\\wAB]{0,40}",
        ) {
            let Some(f) = Fixed::new(pat) else {
                // (?i)ab leads with a class: no fast path
                return Ok(());
            };
            let re = Regex::new(pat).expect("valid");
            if let Some(got) = fast(&f, &line) {
                prop_assert_eq!(got, slow(&re, &f, &line), "{} on {:?}", pat, line);
            }
        }
    }
}
