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
/// none. Eight bytes at a time: for ASCII bytes, adding 0x5f to the low
/// seven bits sets the high bit exactly for the bytes above 0x20, so the
/// candidates for white space come out as a bit mask without carries
/// between bytes; the rare control byte that is not white space is
/// skipped by a table check.
pub fn ascii_words_lines(b: &[u8], mut f: impl FnMut(&[u8])) -> (u64, u64) {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const ADD: u64 = 0x5f5f_5f5f_5f5f_5f5f;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let n = b.len();
    let (mut with, mut without) = (0u64, 0u64);
    let mut had = false;
    // the byte after the last separator: where the next token starts
    let mut prev = 0;
    let mut i = 0;
    // one loop, so that `f` is called (and inlined) at one place only: the
    // last word is the bytes left, then a space that ends the last token,
    // then letters
    loop {
        let last = i + 8 > n;
        let mut w = [b'a'; 8];
        if last {
            let left = n - i;
            w[..left].copy_from_slice(&b[i..]);
            w[left] = b' ';
        } else {
            w.copy_from_slice(&b[i..i + 8]);
        }
        let x = u64::from_le_bytes(w);
        let mut sep = !((x & LOW7) + ADD) & HIGH;
        while sep != 0 {
            let k = sep.trailing_zeros() / 8;
            sep &= sep - 1;
            let c = (x >> (8 * k)) as u8;
            if !WS[c as usize] {
                continue;
            }
            let p = i + k as usize;
            if p > prev {
                f(&b[prev..p]);
                had = true;
            }
            prev = p + 1;
            if c == b'\n' {
                if had {
                    with += 1;
                } else {
                    without += 1;
                }
                had = false;
            }
        }
        if last {
            break;
        }
        i += 8;
    }
    if had {
        with += 1;
    }
    (with, without)
}

impl RecordOp for SplitOp {
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
