//! The operator traits and the one registry. An operator is a unit struct
//! implementing [`Operator`]: its name, summary, clap command (which serves
//! `spate OP --help`, the man page and the completions), its stage, and a
//! `build` that turns parsed arguments into a running part of the chain,
//! and what it becomes on Spark ([`spark`]). Adding an operator touches its
//! own file and one line of [`REGISTRY`].

use std::sync::OnceLock;
use std::time::Duration;

use clap::ArgMatches;

use crate::accounting::Ctx;
use crate::agg::Aggregation;
use crate::batch::WindowSpec;
use crate::record::Record;
use crate::value::Value;

pub mod chain;
pub mod count;
pub mod count_by_key;
pub mod csv;
pub mod eval;
pub mod fields;
pub mod fixed;
pub mod grep;
pub mod head;
pub mod join;
pub mod json;
pub mod logfmt;
pub mod map;
pub mod parse;
pub mod sort;
pub mod spark;
pub mod split;
pub mod stats;
pub mod top;
pub mod where_;
pub mod window;

/// Every operator, in the order `--help` lists them.
pub static REGISTRY: &[&dyn Operator] = &[
    &split::Split,
    &map::Map,
    &grep::Grep,
    &where_::Where,
    &parse::Parse,
    &json::Json,
    &csv::Csv,
    &logfmt::Logfmt,
    &fields::Fields,
    &eval::Eval,
    &join::Join,
    &count::Count,
    &count_by_key::CountByKey,
    &stats::Stats,
    &window::Window,
    &top::Top,
    &sort::Sort,
    &head::Head,
];

/// Where in a chain an operator can stand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Takes one record, gives 0..N records; valid anywhere.
    PerRecord,
    /// Folds a batch (or window) of records into rows.
    Aggregation,
    /// Sets the span the next aggregation covers.
    Window,
    /// Works on a batch's rows; valid before or after an aggregation.
    Rows,
    /// Works on an aggregation's rows; valid only after one.
    AfterAggregation,
}

/// What the plan needs to know about the run when building an operator.
#[derive(Debug, Clone, Default)]
pub struct BuildCx {
    /// The batch interval in time, if batches are cut by time.
    pub interval: Option<Duration>,
    /// `--max-keys`, shared by the aggregations' accumulators, which tally
    /// what overflowed it.
    pub keys: std::sync::Arc<crate::agg::limit::KeyLimit>,
}

/// An operator as the registry knows it.
pub trait Operator: Sync {
    fn name(&self) -> &'static str;
    /// One line for `spate --help` and the man page.
    fn summary(&self) -> &'static str;
    /// The operator's own arguments; its name and summary are set by
    /// [`command_for`].
    fn args(&self, cmd: clap::Command) -> clap::Command;
    fn stage(&self) -> Stage;
    fn build(&self, m: &ArgMatches, cx: &BuildCx) -> Result<Built, String>;
    /// What the built operator keeps in memory, for `--explain`, when its
    /// stage's usual answer does not say it (a lookup table, sessions).
    fn memory(&self, _m: &ArgMatches) -> Option<String> {
        None
    }
    /// The fields its arguments name (as built: defaults included), which
    /// the run checks against the records that reach it: one that no
    /// record had is a warning at exit.
    fn fields(&self, _m: &ArgMatches) -> Vec<String> {
        Vec::new()
    }
    /// What the operator becomes on Spark (`--emit pyspark`): its mapping,
    /// or why Spark cannot do what it does. The default states neither,
    /// which `--emit pyspark` refuses and the registry's test rejects.
    fn spark(&self) -> spark::Spark {
        spark::Spark::Unstated
    }
}

/// The clap command of an operator, for parsing, `--help` and the docs.
pub fn command_for(op: &dyn Operator) -> clap::Command {
    let cmd = clap::Command::new(op.name())
        .about(op.summary())
        .no_binary_name(false)
        .bin_name(format!("spate {}", op.name()))
        .disable_version_flag(true)
        .allow_negative_numbers(true);
    op.args(cmd)
}

pub fn find(name: &str) -> Option<&'static dyn Operator> {
    REGISTRY.iter().copied().find(|op| op.name() == name)
}

/// Builds one operator from its words, name first (`["top", "3", "-f",
/// "n"]`), as a chain's stage is built: found in [`REGISTRY`] by name, its
/// arguments parsed by its clap command, then built with `cx`. The one way
/// the unit tests, the fuzz harness and the benches make an operator, so
/// they make it as a run does; the error is clap's text or the operator's.
pub fn build_words(words: &[&str], cx: &BuildCx) -> Result<Built, String> {
    let name = words.first().ok_or("no operator: the words are empty")?;
    let op = find(name).ok_or_else(|| format!("unknown operator '{name}'"))?;
    let m = command_for(op)
        .try_get_matches_from(words)
        .map_err(|e| e.to_string())?;
    op.build(&m, cx)
}

/// [`build_words`] with a default [`BuildCx`], for a per-record operator.
pub fn record_op(words: &[&str]) -> Result<Box<dyn RecordOp>, String> {
    match build_words(words, &BuildCx::default())? {
        Built::Record(op) => Ok(op),
        _ => Err(format!("{words:?} is not a per-record operator")),
    }
}

/// [`build_words`] with a default [`BuildCx`], for an operator on rows.
pub fn rows_op(words: &[&str]) -> Result<Box<dyn RowsOp>, String> {
    match build_words(words, &BuildCx::default())? {
        Built::Rows(op) => Ok(op),
        _ => Err(format!("{words:?} is not an operator on rows")),
    }
}

/// [`build_words`] with a default [`BuildCx`], for an aggregation.
pub fn aggregation(words: &[&str]) -> Result<Box<dyn Aggregation>, String> {
    aggregation_in(words, &BuildCx::default())
}

/// [`aggregation`] under `--max-keys MAX`: the aggregation and the limit
/// its accumulators share, which tallies what overflowed it.
pub fn aggregation_capped(
    words: &[&str],
    max: usize,
) -> Result<
    (
        Box<dyn Aggregation>,
        std::sync::Arc<crate::agg::limit::KeyLimit>,
    ),
    String,
> {
    let keys = std::sync::Arc::new(crate::agg::limit::KeyLimit::new(max));
    let cx = BuildCx {
        keys: std::sync::Arc::clone(&keys),
        ..BuildCx::default()
    };
    Ok((aggregation_in(words, &cx)?, keys))
}

fn aggregation_in(words: &[&str], cx: &BuildCx) -> Result<Box<dyn Aggregation>, String> {
    match build_words(words, cx)? {
        Built::Aggregation(a) => Ok(a),
        _ => Err(format!("{words:?} is not an aggregation")),
    }
}

/// A running part of the chain.
pub enum Built {
    Record(Box<dyn RecordOp>),
    Aggregation(Box<dyn Aggregation>),
    Rows(Box<dyn RowsOp>),
    Window(WindowSpec),
}

/// Where each field an operator makes goes among the names an
/// aggregation asks [`RecordOp::values`] for: set by the first
/// [`RecordOp::gives_values`] (an aggregation asks for the same names all
/// along).
#[derive(Debug, Default)]
pub struct ValueSlots(OnceLock<(Vec<String>, Vec<Option<usize>>)>);

impl ValueSlots {
    /// Whether `names` are the names asked for (the first call sets them),
    /// the operator making the fields `made`, in its own order.
    pub fn ask<'m>(&self, names: &[String], made: impl Iterator<Item = &'m str>) -> bool {
        let (asked, _) = self.0.get_or_init(|| {
            let to = made.map(|m| names.iter().position(|n| n == m)).collect();
            (names.to_vec(), to)
        });
        asked == names
    }

    /// For each field the operator makes, in its order, its index among
    /// the names asked for (`None`: not asked for); empty before
    /// [`ValueSlots::ask`].
    #[inline]
    pub fn slots(&self) -> &[Option<usize>] {
        self.0.get().map_or(&[], |(_, to)| to.as_slice())
    }
}

/// A per-record operator: takes a record, pushes 0..N records into `out`.
/// Dropping a record for a reason is counted through `cx`; dropping it as a
/// filter is silent.
pub trait RecordOp: Send + Sync {
    fn process<'a>(&self, rec: Record<'a>, out: &mut Vec<Record<'a>>, cx: &mut Ctx);

    /// A fused fast path: when this operator only cuts `_` into tokens,
    /// it hands each token of `text` to `f` and returns true; the engine
    /// then feeds an aggregation that can take bare text directly, with no
    /// record per token. Other operators return false.
    fn tokens<'a>(&self, _text: &'a str, _f: &mut dyn FnMut(&'a str)) -> bool {
        false
    }

    /// The fused path over many whole lines at once (`text` is ASCII and
    /// ends with `\n`): hands every token to `f` and returns how many lines
    /// had tokens and how many had none; `None` when this operator cannot.
    fn tokens_block(&self, _text: &[u8], _f: &mut dyn FnMut(&[u8])) -> Option<(u64, u64)> {
        None
    }

    /// Whether [`RecordOp::values`] can give the fields `names` (plain
    /// names, neither `_` nor dotted): asked once per part of a chunk.
    fn gives_values(&self, _names: &[String]) -> bool {
        false
    }

    /// A fused fast path for an operator that makes fields of a line, alone
    /// before an aggregation that reads a few plain fields
    /// ([`crate::agg::Aggregation::value_fields`]): puts in `out` the values
    /// the fields `names` would have in the one record [`RecordOp::process`]
    /// makes of a line whose `_` is `text` (`out` comes all `None`: it
    /// stays so where there is no such field), without making the record,
    /// and returns true. False when it
    /// cannot say so for this line (it would drop it, or the line needs
    /// the general path): the engine then runs the line through
    /// [`RecordOp::process`]. Called only when [`RecordOp::gives_values`]
    /// said yes for `names` and the line's fields may be projected
    /// ([`Ctx::project`]).
    fn values<'t>(
        &self,
        _text: &'t str,
        _names: &[String],
        _out: &mut [Option<Value<'t>>],
    ) -> bool {
        false
    }

    /// Whether this operator is `split` at runs of white space on `_`, so
    /// that an aggregation may run [`split::ascii_words_lines`] itself with
    /// its own insert inlined (see [`crate::agg::AggState::add_ascii_words`]).
    fn splits_ascii_whitespace(&self) -> bool {
        false
    }

    /// False while the operator still depends on the order of the first
    /// records it sees from source `input` (`csv --header` before that
    /// input's header line): the engine then processes its lines in order,
    /// on one worker.
    fn ready(&self, _input: u32) -> bool {
        true
    }

    /// Source `input` begins a new input (a file a followed path now
    /// names, a new connection): what the operator learnt from the
    /// previous one's first records (`csv --header`'s header) is forgotten.
    /// Called by the engine between steps.
    fn input_began(&self, _input: u32) {}

    /// What the operator learnt from input `input`'s first records and
    /// needs for the rest of it (`csv --header`'s column names), for
    /// `--state`: a run resumed in the middle of an input does not read its
    /// first records again. None: nothing.
    fn learnt(&self, _input: u32) -> Option<Vec<String>> {
        None
    }

    /// Takes back what [`RecordOp::learnt`] gave for input `input`, before
    /// a resumed run reads on from the middle of it.
    fn relearn(&self, _input: u32, _learnt: Vec<String>) {}

    /// The operators after this one read only the fields `names` (dotted
    /// paths included as written): an operator that makes fields may make
    /// only these, whenever the line's [`Ctx::project`] says so.
    fn keep_only(&mut self, _names: &[String]) {}

    /// Called once before the run reads any input (never for `--emit`):
    /// what the operator must read before the first record (`join`'s
    /// table). An error is a runtime failure, exit 1, with this message.
    fn start(&self) -> Result<(), String> {
        Ok(())
    }

    /// Called by the engine's close step after each batch closed, written
    /// or empty, while no record is being processed (`join` reads its
    /// table again there when the file changed); a warning to print, if
    /// any.
    fn batch_closed(&self) -> Option<String> {
        None
    }

    /// The columns of the records it gives, as the output formats name
    /// them (`_` as `value`), given those of the records it takes (`None`:
    /// known only from the data). The default, unknown, is always safe:
    /// `csv` and `tsv` then take the columns from the rows.
    fn columns(&self, _input: Option<&[String]>) -> Option<Vec<String>> {
        None
    }
}

/// Works on a whole batch's rows (sort, head, top).
pub trait RowsOp: Send + Sync {
    fn apply(&self, rows: Vec<Record<'static>>) -> Vec<Record<'static>>;

    /// The indexes of the rows [`RowsOp::apply`] keeps, in the order it
    /// gives them (`sort`, `head`): before an aggregation each row is
    /// followed back to its input line, for the accounting. None when the
    /// operator cannot say (then the lines that reach it count as
    /// processed).
    fn order(&self, _rows: &[Record<'static>]) -> Option<Vec<usize>> {
        None
    }

    /// The columns of its rows given those of the rows it takes (see
    /// [`RecordOp::columns`]): by default the same, as it only picks and
    /// orders rows.
    fn columns(&self, input: Option<&[String]>) -> Option<Vec<String>> {
        input.map(<[String]>::to_vec)
    }
}

/// Compiles a user's regex, with a one-line error that says where it is
/// wrong: `bad regex '(a': unclosed group at position 1`.
pub fn compile_regex(pattern: &str) -> Result<regex::Regex, String> {
    if let Err(e) = regex_syntax::Parser::new().parse(pattern) {
        let (msg, pos) = match &e {
            regex_syntax::Error::Parse(p) => (p.kind().to_string(), p.span().start.offset),
            regex_syntax::Error::Translate(t) => (t.kind().to_string(), t.span().start.offset),
            other => (other.to_string(), 0),
        };
        return Err(format!(
            "bad regex '{pattern}': {msg} at position {}",
            pos + 1
        ));
    }
    regex::RegexBuilder::new(pattern)
        .size_limit(64 << 20)
        .dfa_size_limit(64 << 20)
        .build()
        .map_err(|e| {
            let text = e.to_string();
            let last = text.lines().last().unwrap_or("invalid").trim().to_string();
            format!("bad regex '{pattern}': {last}")
        })
}

/// Every name given to the argument `id`, its values cut at commas (what
/// [`Operator::fields`] reports of a list).
pub fn listed(m: &ArgMatches, id: &str) -> Vec<String> {
    m.get_many::<String>(id)
        .into_iter()
        .flatten()
        .flat_map(|v| v.split(',').map(|n| n.trim().to_string()))
        .filter(|n| !n.is_empty())
        .collect()
}

/// The field an operator reads (its `-f FIELD`), the current value `_`
/// when none is given.
pub fn field_or_current(m: &ArgMatches) -> String {
    m.get_one::<String>("field")
        .cloned()
        .unwrap_or_else(|| crate::record::CURRENT.into())
}

/// The one value of the argument `id`, as a list (for
/// [`Operator::fields`]).
pub fn one(m: &ArgMatches, id: &str) -> Vec<String> {
    m.get_one::<String>(id).cloned().into_iter().collect()
}

/// The columns of records that had the columns `input` and may now also
/// have the fields `names` (see [`RecordOp::columns`]): `input`, then each
/// of `names` that is not a column yet, in order, so that `fields`' list
/// or an aggregation's columns stay the columns when an operator adds a
/// field. Unknown when `input` is, or when a name prints as a `value`
/// column already there: `_` and a field named `value` share that name,
/// and which one the column is cannot be told.
pub fn with_columns<'n>(
    input: Option<&[String]>,
    names: impl IntoIterator<Item = &'n str>,
) -> Option<Vec<String>> {
    let mut cols = input?.to_vec();
    for name in names {
        let col = crate::record::column_name(name);
        if cols.iter().any(|c| c == col) {
            if col == "value" {
                return None;
            }
        } else {
            cols.push(col.to_string());
        }
    }
    Some(cols)
}

/// A comma-separated list of names (`a,b,c`), each non-empty.
pub fn name_list(s: &str) -> Result<Vec<String>, String> {
    let names: Vec<String> = s.split(',').map(|p| p.trim().to_string()).collect();
    if names.iter().any(String::is_empty) {
        return Err(format!("empty name in list '{s}'"));
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_commands_pass_clap_debug_asserts() {
        for op in REGISTRY {
            command_for(*op).debug_assert();
        }
    }

    #[test]
    fn registry_names_are_unique() {
        let mut names: Vec<&str> = REGISTRY.iter().map(|o| o.name()).collect();
        names.sort_unstable();
        let n = names.len();
        names.dedup();
        assert_eq!(n, names.len());
    }

    #[test]
    fn build_words_builds_each_kind_as_its_words_say() {
        assert!(record_op(&["split", "-r", ","]).is_ok());
        assert!(rows_op(&["top", "3", "-f", "n"]).is_ok());
        assert!(aggregation(&["stats", "-f", "n", "-a", "mean"]).is_ok());
        let (_, keys) = aggregation_capped(&["count-by-key"], 7).expect("valid count-by-key");
        assert_eq!(keys.max, 7);
        assert!(matches!(
            build_words(&["window", "all"], &BuildCx::default()),
            Ok(Built::Window(WindowSpec::All))
        ));
    }

    #[test]
    fn build_words_says_what_is_wrong() {
        let err = |r: Result<Built, String>| r.err().unwrap_or_default();
        assert!(err(build_words(&[], &BuildCx::default())).contains("empty"));
        let e = err(build_words(&["cuont"], &BuildCx::default()));
        assert_eq!(e, "unknown operator 'cuont'");
        // clap's error, then the operator's own
        let e = err(build_words(&["head", "--nope"], &BuildCx::default()));
        assert!(e.contains("--nope"), "{e}");
        let e = err(build_words(
            &["stats", "-f", "n", "-a", "avg"],
            &BuildCx::default(),
        ));
        assert!(e.contains("did you mean 'mean'"), "{e}");
        // the typed conveniences refuse another kind
        let e = record_op(&["count"]).err().unwrap_or_default();
        assert!(e.contains("not a per-record operator"), "{e}");
        assert!(rows_op(&["split"]).is_err());
        assert!(aggregation(&["head"]).is_err());
    }

    #[test]
    fn compile_regex_reports_position() {
        let e = compile_regex("ab(c").unwrap_err();
        assert!(e.contains("position 3"), "{e}");
        assert!(!e.contains('\n'));
        assert!(compile_regex(r"(?P<s>\d+)").is_ok());
    }

    #[test]
    fn compile_regex_has_a_size_limit_with_a_clear_error() {
        let e = compile_regex(r"(\w{100}){100}").unwrap_err();
        assert!(e.contains("exceeds size limit"), "{e}");
        assert!(!e.contains('\n'));
        let deep = "(".repeat(1000) + &")".repeat(1000);
        let e = compile_regex(&deep).unwrap_err();
        assert!(e.contains("nest"), "{e}");
    }
}
