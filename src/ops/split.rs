//! `split [SEP]` / `split -r REGEX`: one record per token of `_` (or of
//! `-f FIELD`); runs of whitespace by default; empty tokens are dropped.
//! An empty separator, literal or regex (`split ''`, `split -r ''`), cuts
//! into characters, as gawk's empty FS and Spark's `split(col, '')` do.

use std::borrow::Cow;

use clap::{Arg, ArgMatches};

use crate::accounting::Ctx;
use crate::ops::spark::{JAVA_WHITESPACE, Spark, SparkCx, SparkMap, arg, py, reads_field};
use crate::ops::{BuildCx, Built, Operator, RecordOp, Stage, compile_regex};
use crate::record::{CURRENT, Record};
use crate::value::{Text, Value};

pub struct Split;

impl Operator for Split {
    fn name(&self) -> &'static str {
        "split"
    }
    fn summary(&self) -> &'static str {
        "One record per token of _ (default: runs of whitespace)"
    }
    fn args(&self, cmd: clap::Command) -> clap::Command {
        cmd.arg(
            Arg::new("sep")
                .value_name("SEP")
                .help("Split at this literal text instead of at runs of whitespace; '' splits into characters"),
        )
        .arg(
            Arg::new("regex")
                .short('r')
                .long("regex")
                .value_name("REGEX")
                .conflicts_with("sep")
                .help("Split at every match of REGEX; '' splits into characters"),
        )
        .arg(
            Arg::new("field")
                .short('f')
                .long("field")
                .value_name("FIELD")
                .default_value(CURRENT)
                .help("Split this field instead of _; each token becomes _"),
        )
        .after_help(
            "Empty tokens are always dropped. An empty SEP or REGEX ('') splits into characters, \
             white space included (one record per character). Other fields of the record are kept \
             on every token.\n\n\
             Examples:\n  spate -b eof split then count-by-key\n  spate split , then count-by-key\n  \
             spate split -r '[^a-z]+' then count-by-key\n  spate -b eof split '' then count-by-key",
        )
    }
    fn stage(&self) -> Stage {
        Stage::PerRecord
    }
    fn fields(&self, m: &ArgMatches) -> Vec<String> {
        crate::ops::one(m, "field")
    }
    fn build(&self, m: &ArgMatches, _cx: &BuildCx) -> Result<Built, String> {
        let how = if let Some(re) = m.get_one::<String>("regex") {
            if re.is_empty() {
                How::Chars
            } else {
                How::Regex(compile_regex(re)?)
            }
        } else if let Some(sep) = m.get_one::<String>("sep") {
            if sep.is_empty() {
                How::Chars
            } else {
                How::Literal(sep.clone())
            }
        } else {
            How::Whitespace
        };
        let field = crate::ops::field_or_current(m);
        Ok(Built::Record(Box::new(SplitOp { how, field })))
    }
    fn spark(&self) -> Spark {
        Spark::Map(SparkMap {
            reads: reads_field,
            map: to_spark,
        })
    }
}

/// `explode` of `split`, empty tokens dropped; each token is `_`.
fn to_spark(m: &ArgMatches, cx: &mut dyn SparkCx) -> Result<(), String> {
    let src = cx.expr(&crate::ops::field_or_current(m));
    let pattern = if let Some(re) = arg(m, "regex") {
        cx.java_regex(&re)?.pattern
    } else if let Some(sep) = arg(m, "sep") {
        cx.java_quote(&sep)
    } else {
        JAVA_WHITESPACE.to_string()
    };
    cx.line(format!(
        "df = df.withColumn(\"__tok\", F.explode(F.split(txt({src}), {}, -1))).filter(F.col(\"__tok\") != \"\")",
        py(&pattern)
    ));
    cx.set(CURRENT, "text_value(F.col(\"__tok\"))".into());
    cx.line("df = df.drop(\"__tok\")".into());
    Ok(())
}

enum How {
    Whitespace,
    /// An empty separator: one token per character.
    Chars,
    Literal(String),
    Regex(regex::Regex),
}

struct SplitOp {
    how: How,
    field: String,
}

impl How {
    fn each<'t>(&self, s: &'t str, mut f: impl FnMut(&'t str)) {
        match self {
            How::Whitespace if s.is_ascii() => ascii_words(s, f),
            How::Whitespace => s.split_whitespace().for_each(f),
            How::Chars => {
                for (i, c) in s.char_indices() {
                    f(&s[i..i + c.len_utf8()]);
                }
            }
            How::Literal(sep) => s.split(sep.as_str()).filter(|t| !t.is_empty()).for_each(f),
            How::Regex(re) => re.split(s).filter(|t| !t.is_empty()).for_each(&mut f),
        }
    }
}

/// The ASCII bytes Unicode calls white space.
const WS: [bool; 256] = {
    let mut t = [false; 256];
    t[b' ' as usize] = true;
    t[b'\t' as usize] = true;
    t[b'\n' as usize] = true;
    t[0x0b] = true;
    t[0x0c] = true;
    t[b'\r' as usize] = true;
    t
};

/// Splits ASCII text at runs of whitespace (the bytes Unicode calls white
/// space: space, \t, \n, \v, \f, \r), with a byte table instead of char
/// decoding.
fn ascii_words<'t>(s: &'t str, mut f: impl FnMut(&'t str)) {
    let b = s.as_bytes();
    let n = b.len();
    let mut i = 0;
    while i < n {
        while i < n && WS[b[i] as usize] {
            i += 1;
        }
        let start = i;
        while i < n && !WS[b[i] as usize] {
            i += 1;
        }
        if i > start {
            // ASCII: every byte offset is a character boundary
            if let Some(t) = s.get(start..i) {
                f(t);
            }
        }
    }
}

/// Splits many ASCII lines at once at runs of whitespace (a newline is
/// whitespace too), counting the lines that had tokens and those that had
/// none. 64 bytes at a time: their white space and newlines as two bit
/// masks ([`crate::simd::space_newlines64`]), from which the tokens'
/// starts (a byte that is not white space after one that is) and ends (the
/// reverse) come out as masks too, read a bit at a time; a token may go
/// on over the next 64 bytes.
pub fn ascii_words_lines(b: &[u8], mut f: impl FnMut(&[u8])) -> (u64, u64) {
    ascii_words_spans(b, |s, e| f(&b[s..e]))
}

/// [`ascii_words_lines`], giving each token as where it starts and ends
/// in `b` (so that a caller may read the bytes after it).
#[inline(always)]
pub fn ascii_words_spans(b: &[u8], mut f: impl FnMut(usize, usize)) -> (u64, u64) {
    /// No token goes on from the 64 bytes before.
    const NONE: usize = usize::MAX;
    let (mut with, mut without) = (0u64, 0u64);
    // a token since the last newline
    let mut had = false;
    // where the token that goes on into these 64 bytes started, or NONE
    let mut open = NONE;
    let mut at = 0;
    // past the end only to end a token that reaches it (bytes past the end
    // count as white space)
    while at < b.len() || (at == b.len() && open != NONE) {
        let (space, newlines) = crate::simd::space_newlines64(b.get(at..).unwrap_or_default());
        // bit k: the byte before byte k is white space (or the input's start)
        let after_space = (space << 1) | u64::from(open == NONE);
        let tokens = !space & after_space;
        // the lines that end here: each had a token if one started since
        // the newline before it (or the line began earlier with one)
        let mut nl = newlines;
        let mut since = u64::MAX;
        while nl != 0 {
            let k = nl.trailing_zeros();
            nl &= nl - 1;
            let before = !(u64::MAX << k);
            if had || tokens & since & before != 0 {
                with += 1;
            } else {
                without += 1;
            }
            had = false;
            since = u64::MAX.checked_shl(k + 1).unwrap_or(0);
        }
        had |= tokens & since != 0;
        let mut starts = tokens;
        let mut ends = space & !after_space;
        // each end closes the open token, else the next start: they
        // alternate, so at most one start is left over, a token that goes
        // on; one place calls `f`, so that it is inlined once
        while ends != 0 {
            let e = at + ends.trailing_zeros() as usize;
            ends &= ends - 1;
            let s = if open != NONE {
                open
            } else {
                let k = starts.trailing_zeros() as usize;
                starts &= starts - 1;
                at + k
            };
            open = NONE;
            f(s, e);
        }
        if starts != 0 {
            open = at + starts.trailing_zeros() as usize;
        }
        at += 64;
    }
    if had {
        with += 1;
    }
    (with, without)
}

impl RecordOp for SplitOp {
    /// The columns it takes, and `_`, each token.
    fn columns(&self, input: Option<&[String]>) -> Option<Vec<String>> {
        crate::ops::with_columns(input, [CURRENT])
    }

    fn splits_ascii_whitespace(&self) -> bool {
        matches!(self.how, How::Whitespace) && self.field == CURRENT
    }

    fn tokens_block(&self, text: &[u8], f: &mut dyn FnMut(&[u8])) -> Option<(u64, u64)> {
        match (&self.how, self.field == CURRENT) {
            (How::Whitespace, true) => Some(ascii_words_lines(text, f)),
            _ => None,
        }
    }

    fn tokens<'a>(&self, text: &'a str, f: &mut dyn FnMut(&'a str)) -> bool {
        if self.field != CURRENT {
            return false;
        }
        self.how.each(text, f);
        true
    }

    fn process<'a>(&self, mut rec: Record<'a>, out: &mut Vec<Record<'a>>, _cx: &mut Ctx) {
        let src = if self.field == CURRENT {
            rec.take_current()
        } else {
            rec.get(&self.field).cloned()
        };
        let Some(src) = src else { return };
        let mut emit = |tok: Value<'a>| {
            out.push(Record {
                value: Some(tok),
                fields: rec.fields.clone(),
                raw: rec.raw,
            })
        };
        match src {
            Value::Str(Text {
                s: Cow::Borrowed(s),
                ..
            }) => self.how.each(s, |t| emit(Value::str(t))),
            other => {
                let text = other.text();
                self.how
                    .each(&text, |t| emit(Value::owned_str(t.to_string())));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::record_op;

    fn run(args: &[&str], line: &str) -> Vec<String> {
        let op = record_op(&[&["split"], args].concat()).expect("valid split");
        let mut out = Vec::new();
        op.process(
            Record::from_line(Cow::Borrowed(line), line),
            &mut out,
            &mut Ctx::default(),
        );
        out.iter()
            .map(|r| {
                r.get("_")
                    .map(|v| v.text().into_owned())
                    .unwrap_or_default()
            })
            .collect()
    }

    #[test]
    fn split_whitespace_drops_empty_tokens() {
        assert_eq!(run(&[], "  a b\t\tc  "), ["a", "b", "c"]);
        assert_eq!(run(&[], "héllo  wörld\u{a0}x"), ["héllo", "wörld", "x"]);
        assert!(run(&[], "   ").is_empty());
    }

    proptest::proptest! {
        #[test]
        fn split_block_equals_per_line_split(lines in proptest::collection::vec("[a-c \t\r\x0b\x0c\x01]{0,20}", 0..30)) {
            let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
            let mut got: Vec<String> = Vec::new();
            let (with, without) =
                ascii_words_lines(text.as_bytes(), |t| got.push(String::from_utf8_lossy(t).into_owned()));
            let mut want: Vec<String> = Vec::new();
            let (mut w, mut wo) = (0u64, 0u64);
            for l in &lines {
                let before = want.len();
                ascii_words(l, |t| want.push(t.to_string()));
                if want.len() > before { w += 1 } else { wo += 1 }
            }
            proptest::prop_assert_eq!(&got, &want);
            proptest::prop_assert_eq!((with, without), (w, wo));
            // without the last newline: the same tokens, the last line's
            // among them (a line without a token is then not seen)
            let mut cut: Vec<String> = Vec::new();
            let (cut_with, _) = ascii_words_lines(&text.as_bytes()[..text.len().saturating_sub(1)], |t| {
                cut.push(String::from_utf8_lossy(t).into_owned())
            });
            proptest::prop_assert_eq!(cut, want);
            proptest::prop_assert_eq!(cut_with, w);
        }
    }

    proptest::proptest! {
        /// Tokens and runs of white space of every length around the
        /// 64-byte steps (a token over several of them, one that ends
        /// the input on a step), against a byte-by-byte split.
        #[test]
        fn split_block_equals_naive_over_long_tokens(
            parts in proptest::collection::vec((1usize..150, proptest::prop_oneof![
                proptest::strategy::Just(" "), proptest::strategy::Just("\n"),
                proptest::strategy::Just(" \n\t"), proptest::strategy::Just("\r\n\n"),
                proptest::strategy::Just("\x0b\x0c  ")]), 0..12),
            pad in 0usize..64,
            close in proptest::bool::ANY,
        ) {
            let mut text = " ".repeat(pad);
            for (i, (len, sep)) in parts.iter().enumerate() {
                text.extend(std::iter::repeat_n(char::from(b'a' + (i % 26) as u8), *len));
                text.push_str(sep);
            }
            if !close {
                text = text.trim_end().to_string();
            }
            let mut got: Vec<String> = Vec::new();
            let (with, without) =
                ascii_words_lines(text.as_bytes(), |t| got.push(String::from_utf8_lossy(t).into_owned()));
            // \v too, unlike split_ascii_whitespace
            let words = |l: &str| -> Vec<String> {
                l.split(|c: char| c == ' ' || ('\t'..='\r').contains(&c))
                    .filter(|t| !t.is_empty())
                    .map(str::to_string)
                    .collect()
            };
            proptest::prop_assert_eq!(&got, &words(&text));
            // lines: those split by newlines, a last one without a newline
            // only when it has a token
            let mut lines: Vec<&str> = text.split('\n').collect();
            if lines.last().is_some_and(|l| words(l).is_empty()) {
                lines.pop();
            }
            let w = lines.iter().filter(|l| !words(l).is_empty()).count() as u64;
            proptest::prop_assert_eq!((with, without), (w, lines.len() as u64 - w));
        }
    }

    #[test]
    fn split_literal_and_regex() {
        assert_eq!(run(&[","], "a,,b,"), ["a", "b"]);
        assert_eq!(run(&["-r", "[0-9]+"], "a1b22c"), ["a", "b", "c"]);
    }

    #[test]
    fn split_empty_separator_and_empty_regex_agree_on_characters() {
        assert_eq!(run(&[""], "hé b"), ["h", "é", " ", "b"]);
        assert_eq!(run(&["-r", ""], "hé b"), ["h", "é", " ", "b"]);
        assert!(run(&[""], "").is_empty());
    }
}
