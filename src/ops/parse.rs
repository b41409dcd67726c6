//! `parse REGEX`: the regex's named captures become text fields of the
//! record, borrowed from the line; a line that does not match is dropped and
//! counted as unparsed. Also owns [`LocalRegex`], the allocation-free way
//! to run a regex on the hot path from every worker (`map`, `grep` and
//! `where` share it).

use std::borrow::Cow;
use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};

use clap::{Arg, ArgMatches};
use regex::{CaptureLocations, Regex};

use crate::accounting::{Ctx, Reason};
use crate::ops::fixed::{Fixed, Found};
use crate::ops::spark::{Spark, SparkCx, SparkMap, arg, py, reads_field};
use crate::ops::{BuildCx, Built, Operator, RecordOp, Stage, ValueSlots, compile_regex};
use crate::record::{CURRENT, Record};
use crate::value::{Text, Value};

pub struct Parse;

impl Operator for Parse {
    fn name(&self) -> &'static str {
        "parse"
    }
    fn summary(&self) -> &'static str {
        "Named captures of a regex become fields; lines that do not match are dropped"
    }
    fn args(&self, cmd: clap::Command) -> clap::Command {
        cmd.arg(
            Arg::new("regex")
                .value_name("REGEX")
                .allow_hyphen_values(true)
                .help("A regex with named groups such as (?P<status>\\d{3})"),
        )
        .arg(
            Arg::new("field")
                .short('f')
                .long("field")
                .value_name("FIELD")
                .default_value(CURRENT)
                .help("Parse this field instead of _"),
        )
        .after_help(
            "Each named group that takes part in the match sets the field of its name, as \
             text; unnamed groups are ignored, and an optional group that did not take part \
             leaves its field unset. The regex may match anywhere in the line (anchor it with \
             ^ and $ to match all of it). _ is kept. A line that does not match, or that lacks \
             FIELD, is dropped and counted as unparsed (--strict stops at it).\n\n\
             Examples:\n  \
             spate -b 10s parse '\" (?P<status>\\d{3}) ' then count-by-key status\n  \
             spate parse '^(?P<ip>\\S+) .* (?P<bytes>\\d+)$' then stats -f bytes -a sum -g ip\n  \
             spate json then parse -f msg 'user=(?P<user>\\w+)' then count-by-key user",
        )
    }
    fn stage(&self) -> Stage {
        Stage::PerRecord
    }
    fn build(&self, m: &ArgMatches, _cx: &BuildCx) -> Result<Built, String> {
        let Some(pattern) = m.get_one::<String>("regex") else {
            return Err(
                "needs a REGEX with named groups, e.g. parse '\" (?P<status>\\d{3}) '".into(),
            );
        };
        let re = compile_regex(pattern)?;
        // The op lives for the whole run while records borrow names only for
        // their own lifetime 'a, which the op is not borrowed for; leaking the
        // few names once per build gives `&'static str` names that every
        // record can borrow, so no line allocates a field name.
        let groups: Box<[(usize, &'static str)]> = re
            .capture_names()
            .enumerate()
            .filter_map(|(i, n)| n.map(|n| (i, &*Box::leak(n.to_owned().into_boxed_str()))))
            .collect();
        if groups.is_empty() {
            return Err(format!(
                "'{pattern}' has no named group; parse needs at least one named group such as \
                 (?P<status>\\d+)"
            ));
        }
        let field = crate::ops::field_or_current(m);
        let sets_current = groups.iter().any(|(_, n)| *n == CURRENT);
        let fast = Fixed::new(pattern).and_then(|f| {
            let named: Option<Named> = groups
                .iter()
                .map(|&(i, name)| {
                    f.captures(0)
                        .find(|&(j, _, _)| j == i)
                        .map(|(_, a, b)| (a, b, name))
                })
                .collect();
            named.map(|n| (f, n))
        });
        Ok(Built::Record(Box::new(ParseOp {
            re: LocalRegex::new(re),
            fast,
            sets_current,
            groups,
            field,
            slots: ValueSlots::default(),
        })))
    }
    fn spark(&self) -> Spark {
        Spark::Map(SparkMap {
            reads: reads_field,
            map: to_spark,
        })
    }
}

/// One `regexp_extract` per named group, and a filter that drops the lines
/// that do not match.
fn to_spark(m: &ArgMatches, cx: &mut dyn SparkCx) -> Result<(), String> {
    let pattern = arg(m, "regex").unwrap_or_default();
    let re = cx.java_regex(&pattern)?;
    let rust = Regex::new(&pattern).map_err(|e| e.to_string())?;
    if rust.static_captures_len().is_none() {
        return Err(
            "a group of this regex may not take part in a match, and Spark's regexp_extract \
             reads such a group as empty text where spate leaves the field unset; make every \
             group take part (e.g. (?P<x>a|) instead of (?P<x>a)?)"
                .into(),
        );
    }
    let c = cx.expr(&crate::ops::field_or_current(m));
    let p = py(&re.pattern);
    cx.line(format!(
        "df = df.filter(F.coalesce(txt({c}).rlike({p}), F.lit(False)))"
    ));
    for (name, idx) in &re.names {
        cx.set(
            name,
            format!("text_value(F.regexp_extract(txt({c}), {p}, {idx}))"),
        );
    }
    Ok(())
}

/// Each named group's start and end in a match of a [`Fixed`] pattern,
/// and its name.
type Named = Box<[(usize, usize, &'static str)]>;

struct ParseOp {
    re: LocalRegex,
    /// The hand-checked path for a regex of fixed width led by a literal
    /// ([`Fixed`]), with each named group's offsets in a match.
    fast: Option<(Fixed, Named)>,
    /// Each named group: its index among the captures, and its name.
    groups: Box<[(usize, &'static str)]>,
    /// Whether a group is named `_`, which replaces the current value.
    sets_current: bool,
    field: String,
    /// For [`RecordOp::values`]: where each group's text goes.
    slots: ValueSlots,
}

impl RecordOp for ParseOp {
    /// The columns it takes, then its named groups that are new (a
    /// group that does not take part in a match leaves an empty cell).
    fn columns(&self, input: Option<&[String]>) -> Option<Vec<String>> {
        crate::ops::with_columns(input, self.groups.iter().map(|&(_, n)| n))
    }

    fn gives_values(&self, names: &[String]) -> bool {
        // the line itself is parsed; its record has `_` and the groups
        self.field == CURRENT && self.slots.ask(names, self.groups.iter().map(|&(_, n)| n))
    }

    fn values<'t>(&self, text: &'t str, _names: &[String], out: &mut [Option<Value<'t>>]) -> bool {
        // a line that does not match is dropped by `process`, with its
        // reason
        let to = self.slots.slots();
        let mut put = |k: usize, t: Option<&'t str>| {
            if let (Some(t), Some(slot)) = (t, to.get(k).copied().flatten()) {
                if let Some(v) = out.get_mut(slot) {
                    *v = Some(Value::str(t));
                }
            }
        };
        if let Some((f, named)) = &self.fast {
            match f.find(text.as_bytes()) {
                Found::At(at) => {
                    for (k, &(a, b, _)) in named.iter().enumerate() {
                        put(k, text.get(at + a..at + b));
                    }
                    return true;
                }
                Found::None => return false,
                Found::Ask => {}
            }
        }
        self.re
            .captures(text, |locs| {
                for (k, &(i, _)) in self.groups.iter().enumerate() {
                    put(k, locs.get(i).and_then(|(a, b)| text.get(a..b)));
                }
            })
            .is_some()
    }

    fn process<'a>(&self, mut rec: Record<'a>, out: &mut Vec<Record<'a>>, cx: &mut Ctx) {
        if let Some(Value::Str(Text {
            s: Cow::Borrowed(s),
            ..
        })) = rec.get(&self.field)
        {
            // the hot path: the line as read, borrowed from the input buffer
            let s: &'a str = s;
            if let Some((f, named)) = &self.fast {
                match f.find(s.as_bytes()) {
                    Found::At(at) => {
                        let fresh = rec.fields.is_empty() && !self.sets_current;
                        rec.fields.reserve(named.len());
                        for &(a, b, name) in named.iter() {
                            // a match is whole characters: its groups too
                            if let Some(t) = s.get(at + a..at + b) {
                                if fresh {
                                    rec.fields.push((Cow::Borrowed(name), Value::str(t)));
                                } else {
                                    rec.set(Cow::Borrowed(name), Value::str(t));
                                }
                            }
                        }
                        return self.finish(true, rec, out, cx);
                    }
                    Found::None => return self.finish(false, rec, out, cx),
                    Found::Ask => {}
                }
            }
            let hit = self.re.captures(s, |locs| {
                // A record with no fields yet (the usual first parse) cannot
                // hold a field of these names: the regex crate refuses
                // duplicate group names, and `_` goes through `set`.
                let fresh = rec.fields.is_empty() && !self.sets_current;
                rec.fields.reserve(self.groups.len());
                for &(i, name) in &self.groups {
                    if let Some(t) = locs.get(i).and_then(|(a, b)| s.get(a..b)) {
                        if fresh {
                            rec.fields.push((Cow::Borrowed(name), Value::str(t)));
                        } else {
                            rec.set(Cow::Borrowed(name), Value::str(t));
                        }
                    }
                }
            });
            return self.finish(hit.is_some(), rec, out, cx);
        }
        let Some(text) = rec.lookup(&self.field).map(|v| v.text().into_owned()) else {
            cx.drop_line(
                Reason::Unparsed,
                format_args!("no field '{}' to parse", self.field),
            );
            return;
        };
        let hit = self.re.captures(&text, |locs| {
            for &(i, name) in &self.groups {
                if let Some(t) = locs.get(i).and_then(|(a, b)| text.get(a..b)) {
                    rec.set(Cow::Borrowed(name), Value::owned_str(t.to_owned()));
                }
            }
        });
        self.finish(hit.is_some(), rec, out, cx);
    }
}

impl ParseOp {
    fn finish<'a>(&self, hit: bool, rec: Record<'a>, out: &mut Vec<Record<'a>>, cx: &mut Ctx) {
        if hit {
            out.push(rec);
        } else {
            cx.drop_line(Reason::Unparsed, "does not match the parse regex");
        }
    }
}

/// A regex for the hot path, used from every worker thread. Each thread
/// keeps its own clone of the regex and one `CaptureLocations` for it:
/// - a `Regex` shared by threads serves only one of them from its fast
///   cache path, the others go through a mutex-guarded pool on every search
///   (the regex crate recommends a clone per thread); a clone shares the
///   compiled program and has its own cache pool;
/// - `Regex::capture_locations()` per line would allocate on every line,
///   and the locations of one regex must not be used with another, hence
///   the id.
pub(crate) struct LocalRegex {
    re: Regex,
    id: u64,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// More regexes than this on one thread means builds come and go (tests);
/// the cache then starts over rather than grow.
const MAX_CACHED: usize = 64;

thread_local! {
    static LOCAL: RefCell<Vec<(u64, Regex, CaptureLocations)>> = const { RefCell::new(Vec::new()) };
}

impl LocalRegex {
    pub(crate) fn new(re: Regex) -> Self {
        LocalRegex {
            re,
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// Runs `f` with this thread's clone of the regex and its locations.
    fn with_local<R>(&self, mut f: impl FnMut(&Regex, &mut CaptureLocations) -> R) -> R {
        let local = LOCAL.try_with(|cell| {
            // Busy only if `f` searched with another LocalRegex on this
            // thread; that search then takes the slow path below.
            let mut cache = cell.try_borrow_mut().ok()?;
            let at = match cache.iter().position(|(id, _, _)| *id == self.id) {
                Some(at) => at,
                None => {
                    if cache.len() >= MAX_CACHED {
                        cache.clear();
                    }
                    let re = self.re.clone();
                    let locs = re.capture_locations();
                    cache.push((self.id, re, locs));
                    cache.len() - 1
                }
            };
            let (_, re, locs) = &mut cache[at];
            Some(f(re, locs))
        });
        match local {
            Ok(Some(r)) => r,
            // the thread is shutting down, or the cache is in use
            _ => f(&self.re, &mut self.re.capture_locations()),
        }
    }

    /// Runs `f` on the capture locations of the leftmost-first match in
    /// `hay`; `None` when there is no match.
    pub(crate) fn captures<R>(
        &self,
        hay: &str,
        mut f: impl FnMut(&CaptureLocations) -> R,
    ) -> Option<R> {
        self.with_local(|re, locs| re.captures_read(locs, hay).map(|_| f(locs)))
    }

    /// The leftmost-first match in `hay`, as a span.
    pub(crate) fn find(&self, hay: &str) -> Option<(usize, usize)> {
        self.with_local(|re, _| re.find(hay).map(|m| (m.start(), m.end())))
    }

    pub(crate) fn is_match(&self, hay: &str) -> bool {
        self.with_local(|re, _| re.is_match(hay))
    }

    /// Every match replaced, as `Regex::replace_all` with a `&str`
    /// replacement (`$1`, `${name}`, `$$`).
    pub(crate) fn replace_all<'t>(&self, hay: &'t str, rep: &str) -> Cow<'t, str> {
        self.with_local(|re, _| re.replace_all(hay, rep))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::record_op;

    fn run_rec<'a>(args: &[&str], rec: Record<'a>) -> (Vec<Record<'a>>, Ctx) {
        let op = record_op(&[&["parse"], args].concat()).expect("valid parse");
        let mut out = Vec::new();
        let mut cx = Ctx::new(true);
        op.process(rec, &mut out, &mut cx);
        (out, cx)
    }

    fn fields(r: &Record<'_>) -> Vec<(String, String)> {
        r.fields
            .iter()
            .map(|(n, v)| (n.to_string(), v.text().into_owned()))
            .collect()
    }

    #[test]
    fn parse_named_groups_become_borrowed_fields() {
        let line = r#"1.2.3.4 - - [x] "GET / HTTP/1.1" 404 12"#;
        let (out, cx) = run_rec(
            &[r#"^(?P<ip>\S+) .*" (?P<status>\d{3}) (\d+)"#],
            Record::from_line(Cow::Borrowed(line), line),
        );
        assert_eq!(out.len(), 1);
        assert_eq!(
            fields(&out[0]),
            [
                ("ip".into(), "1.2.3.4".into()),
                ("status".into(), "404".into())
            ]
        );
        assert!(matches!(
            &out[0].fields[1].1,
            Value::Str(Text {
                s: Cow::Borrowed("404"),
                ..
            })
        ));
        assert!(matches!(&out[0].fields[1].0, Cow::Borrowed("status")));
        assert_eq!(
            out[0].get("_").map(|v| v.text().into_owned()),
            Some(line.into())
        );
        assert_eq!(cx.counts.get(Reason::Unparsed), 0);
    }

    #[test]
    fn parse_no_match_is_dropped_and_counted() {
        let (out, cx) = run_rec(
            &[r"(?P<n>\d+)"],
            Record::from_line(Cow::Borrowed("no digits"), "no digits"),
        );
        assert!(out.is_empty());
        assert_eq!(cx.counts.get(Reason::Unparsed), 1);
        assert_eq!(cx.line_drops, 1);
        let o = cx.offence.expect("strict keeps the offence");
        assert_eq!(o.detail, "does not match the parse regex");
    }

    #[test]
    fn parse_optional_group_left_unset() {
        let (out, _) = run_rec(
            &[r"(?P<a>a)?(?P<b>b)"],
            Record::from_line(Cow::Borrowed("xb"), "xb"),
        );
        assert_eq!(fields(&out[0]), [("b".into(), "b".into())]);
    }

    #[test]
    fn parse_other_field_and_owned_text() {
        let mut rec = Record::from_line(Cow::Borrowed("line"), "line");
        rec.set(Cow::Borrowed("msg"), Value::owned_str("user=bob x".into()));
        rec.set(Cow::Borrowed("n"), Value::Int(1234));
        let (out, _) = run_rec(&["-f", "msg", r"user=(?P<user>\w+)"], rec.clone());
        assert_eq!(
            out[0].get("user").map(|v| v.text().into_owned()),
            Some("bob".into())
        );
        let (out, _) = run_rec(&["-f", "n", r"^(?P<head>\d\d)"], rec);
        assert_eq!(
            out[0].get("head").map(|v| v.text().into_owned()),
            Some("12".into())
        );
    }

    #[test]
    fn parse_missing_field_is_unparsed() {
        let (out, cx) = run_rec(
            &["-f", "nope", r"(?P<a>.)"],
            Record::from_line(Cow::Borrowed("x"), "x"),
        );
        assert!(out.is_empty());
        assert_eq!(cx.counts.get(Reason::Unparsed), 1);
        assert_eq!(
            cx.offence.map(|o| o.detail),
            Some("no field 'nope' to parse".into())
        );
    }

    #[test]
    fn parse_group_named_underscore_replaces_current_value() {
        let (out, _) = run_rec(
            &[r"^(?P<_>\w+) (?P<rest>.*)"],
            Record::from_line(Cow::Borrowed("ab cd"), "ab cd"),
        );
        assert_eq!(out[0].get("_").and_then(Value::as_str), Some("ab"));
        assert_eq!(fields(&out[0]), [("rest".into(), "cd".into())]);
    }

    #[test]
    fn parse_replaces_existing_field() {
        let mut rec = Record::from_line(Cow::Borrowed("a=2"), "a=2");
        rec.set(Cow::Borrowed("a"), Value::Int(1));
        let (out, _) = run_rec(&[r"a=(?P<a>\d)"], rec);
        assert_eq!(fields(&out[0]), [("a".into(), "2".into())]);
    }

    #[test]
    fn parse_reuses_locations_across_ops_and_lines() {
        let a = record_op(&["parse", r"(?P<x>a+)"]).expect("valid");
        let b = record_op(&["parse", r"(?P<p>b)(?P<q>c)(?P<r>d)"]).expect("valid");
        let mut cx = Ctx::default();
        for _ in 0..3 {
            let mut out = Vec::new();
            a.process(
                Record::from_line(Cow::Borrowed("xaay"), "xaay"),
                &mut out,
                &mut cx,
            );
            b.process(
                Record::from_line(Cow::Borrowed("bcd"), "bcd"),
                &mut out,
                &mut cx,
            );
            assert_eq!(fields(&out[0]), [("x".into(), "aa".into())]);
            assert_eq!(fields(&out[1]).len(), 3);
        }
    }

    #[test]
    fn parse_local_regex_nested_and_across_threads() {
        let outer = LocalRegex::new(Regex::new("(a)").expect("valid"));
        let inner = LocalRegex::new(Regex::new("(b)").expect("valid"));
        let got = outer.captures("a", |l1| {
            let i = inner.captures("b", |l2| l2.get(1)).flatten();
            (l1.get(1), i)
        });
        assert_eq!(got, Some((Some((0, 1)), Some((0, 1)))));
        assert_eq!(outer.captures("zzz", |_| ()), None);
        assert_eq!(outer.find("xa"), Some((1, 2)));
        assert!(outer.is_match("a") && !outer.is_match("b"));
        assert_eq!(outer.replace_all("aba", "<$1>"), "<a>b<a>");
        let in_thread = std::thread::spawn(move || outer.find("ba"));
        assert_eq!(in_thread.join().ok().flatten(), Some((1, 2)));
    }

    #[test]
    fn parse_errors() {
        let e = record_op(&["parse", r"(\d+)"])
            .err()
            .expect("no named group");
        assert!(e.contains("at least one named group"), "{e}");
        let e = record_op(&["parse", "(?P<a>x"]).err().expect("bad regex");
        assert!(e.starts_with("bad regex"), "{e}");
        let e = record_op(&["parse"]).err().expect("missing regex");
        assert!(e.contains("needs a REGEX"), "{e}");
    }

    #[test]
    fn parse_regex_may_start_with_hyphen() {
        let (out, _) = run_rec(
            &["-(?P<n>\\d+)"],
            Record::from_line(Cow::Borrowed("a-12"), "a-12"),
        );
        assert_eq!(fields(&out[0]), [("n".into(), "12".into())]);
    }
}
