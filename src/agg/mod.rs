//! Aggregation: the traits every aggregation implements (a factory of
//! accumulators; an accumulator that adds records, merges a partial of its
//! own kind and emits rows), and the accumulators, maps and sketches they
//! are built from. Windows and sessions only combine partials through these
//! traits.

pub mod fsum;
pub mod hll;
pub mod key;
pub mod limit;
pub mod quantile;
pub mod stats;
pub mod textmap;

use std::any::Any;

use crate::record::{CURRENT, Record};
use crate::sink::RowSource;
use crate::state::codec::{self, Decoder, Encoder};
use crate::value::Value;

/// The most fields [`Aggregation::value_fields`] may name.
pub const VALUE_FIELDS: usize = 8;

/// Whether a field can be read on the values path
/// ([`Aggregation::value_fields`]): a plain name, neither `_` nor a dotted
/// path into a value.
pub fn value_field(name: &str) -> bool {
    name != CURRENT && !name.contains('.')
}

/// An aggregation: a factory of accumulators, one per batch (or per part of
/// a batch, merged at its end).
pub trait Aggregation: Send + Sync {
    fn new_state(&self) -> Box<dyn AggState>;
    /// Reads back an accumulator that [`AggState::save`] wrote (`--state`),
    /// one that goes on exactly as the saved one would have.
    fn load(&self, d: &mut Decoder<'_>) -> codec::Result<Box<dyn AggState>>;
    /// The columns of its rows, as the output formats name them (`_` as
    /// `value`), when it knows them; `csv` and `tsv` print them as their
    /// header even before a row. None: known only from the rows.
    fn columns(&self) -> Option<Vec<String>> {
        None
    }
    /// A batch's rows once written: an aggregation may keep them to
    /// overwrite for its next rows instead of allocating afresh; returns
    /// what it did not keep (dropped by the caller).
    fn recycle(&self, rows: Vec<Record<'static>>) -> Vec<Record<'static>> {
        rows
    }
    /// Whether its result depends on the order records come in, beyond
    /// which keys come first (a percentile sketch): then the engine gives
    /// each part of the input its own state ([`Aggregation::new_part`])
    /// and merges them in input order, so that the result is the one of
    /// adding every record in order, however the input was cut.
    fn ordered(&self) -> bool {
        false
    }
    /// The state of one part of the input, to be merged in input order
    /// into the batch's: a sketch keeps every value here, so that merging
    /// it is adding its values in order.
    fn new_part(&self) -> Box<dyn AggState> {
        self.new_state()
    }
    /// The fields it reads, when its states can take their values without
    /// a record ([`AggState::add_values`]): at most [`VALUE_FIELDS`] plain
    /// names (neither `_` nor a dotted path), each once. `None`: its states
    /// read records.
    fn value_fields(&self) -> Option<&[String]> {
        None
    }
    /// The fields whose values make a record's key (`count-by-key`'s
    /// fields, `stats -g`; none for `count`, one stream). Its rows lead with
    /// one column per key field, in this order: `window session` keeps
    /// sessions per key and puts `session_start` and `session_end` after
    /// those columns.
    fn key_fields(&self) -> &[String] {
        &[]
    }
    /// The order of its rows, as [`AggState::emit`] gives them (rows of
    /// different accumulators: sessions written together are ordered by
    /// it). Equal by default (no order among its rows).
    fn row_cmp(&self, _a: &Record<'_>, _b: &Record<'_>) -> std::cmp::Ordering {
        std::cmp::Ordering::Equal
    }
}

/// `--max-keys`' tally of an accumulator: each key (by
/// [`key::key_bytes`]) with its records, and the records under `(other)`.
pub type KeyRecords = (Vec<(Vec<u8>, u64)>, u64);

/// The accumulator of one aggregation over one batch, pane or window.
pub trait AggState: Send + Sync + Any {
    /// Writes the accumulator for `--state` (read back by
    /// [`Aggregation::load`]): everything its next adds, merges and rows
    /// depend on (keys with their first positions, sketches with their
    /// coins, whether it is a part's or settled), so that a run restored
    /// from a state writes what one uninterrupted run writes. Every
    /// accumulator writes its own: there is no default.
    fn save(&self, e: &mut Encoder);
    fn add(&mut self, rec: &Record<'_>);

    /// The next record added is at input position `pos`, and each one
    /// added after it one further on (see [`key::Pos`]): keyed states note
    /// where each key was first seen, so that `--max-keys` keeps the first
    /// keys in input order.
    fn at(&mut self, _pos: key::Pos) {}

    /// Holds more keys than `--max-keys`: a state told nothing of the
    /// records before its own takes every key (it cannot know which came
    /// first); the engine then settles it ([`AggState::seal`]).
    fn over_keys(&self) -> bool {
        false
    }

    /// Back within `--max-keys`, once it holds (merged) every record of
    /// its batch so far: keeps the keys first seen, counts the others
    /// under `(other)`, and from then on sends a new key there. Returns
    /// `copies` copies of its keys counting nothing, for the other workers
    /// of the batch to count into.
    fn seal(&mut self, _copies: usize) -> Vec<Box<dyn AggState>> {
        Vec::new()
    }
    /// Adds the record whose fields `names` (the aggregation's
    /// [`Aggregation::value_fields`]) have these values (`None`: the
    /// record has no such field), as [`AggState::add`] would add it: the
    /// fused path of [`crate::ops::RecordOp::values`]. Aggregations
    /// override it to skip building the record.
    fn add_values(&mut self, names: &[String], vals: &[Option<Value<'_>>]) {
        let fields = names
            .iter()
            .zip(vals)
            .filter_map(|(n, v)| Some((std::borrow::Cow::Borrowed(n.as_str()), v.clone()?)))
            .collect();
        self.add(&Record::row(fields));
    }

    /// Adds a record whose only field is `_`, with this text (the fused
    /// path of [`RecordOp::tokens`]). Aggregations override it to skip
    /// building the record.
    fn add_current(&mut self, text: &str) {
        self.add(&Record::from_line(std::borrow::Cow::Borrowed(text), text));
    }

    /// Splits an ASCII block of whole lines at white space and adds every
    /// token as [`AggState::add_current`] would; returns (lines with
    /// tokens, lines without, tokens), or `None` when the aggregation has
    /// no such fast path.
    fn add_ascii_words(&mut self, _block: &[u8]) -> Option<(u64, u64, u64)> {
        None
    }

    /// About how many rows [`AggState::into_rows`] will make, when that is
    /// cheap to know: a large close runs on the engine's worker pool.
    fn rows_hint(&self) -> usize {
        0
    }

    /// Whether it needs nothing of a record but that there is one (a plain
    /// count): a block of whole lines then goes in by their number alone
    /// ([`AggState::add_lines`]), whatever text they hold, and the engine
    /// counts a chunk's lines on its own thread rather than waking the
    /// workers for it.
    fn counts_only(&self) -> bool {
        false
    }

    /// Adds `lines` records of which nothing is read; called only when
    /// [`AggState::counts_only`].
    fn add_lines(&mut self, _lines: u64) {}

    /// [`AggState::add_current`] for ASCII text given as bytes.
    fn add_current_ascii(&mut self, text: &[u8]) {
        if let Ok(t) = std::str::from_utf8(text) {
            self.add_current(t);
        }
    }
    /// Folds in another accumulator made by the same aggregation, of
    /// records that all come after this one's in the input (the parts of a
    /// batch in order, the batches of a window): past `--max-keys`, the
    /// first keys keep their rows.
    fn merge(&mut self, other: &dyn AggState);
    /// Folds in another worker's share of the same batch, whose records
    /// interleave with this one's in the input: like [`AggState::merge`],
    /// but keeping every key, since which come first is only known once
    /// all shares are in; emitting or [`AggState::seal`] bounds after.
    fn combine(&mut self, other: &dyn AggState) {
        self.merge(other);
    }
    /// The rows, in the aggregation's order. With `emit_empty`, an
    /// aggregation that has a natural zero row (count) emits it.
    fn emit(&self, emit_empty: bool) -> Vec<Record<'static>>;
    /// Like [`AggState::emit`] but consuming the accumulator, so that keys
    /// can move into the rows instead of being copied.
    fn into_rows(self: Box<Self>, emit_empty: bool) -> Vec<Record<'static>> {
        self.emit(emit_empty)
    }
    /// The rows of this state and `parts` (partial states of the same
    /// aggregation, the workers' shares of one batch) taken together:
    /// what combining each into this one and then [`AggState::into_rows`]
    /// give. An aggregation overrides it when it can make its rows
    /// without merging first.
    fn merge_into_rows(
        self: Box<Self>,
        parts: Vec<Box<dyn AggState>>,
        emit_empty: bool,
    ) -> Vec<Record<'static>> {
        let mut me = self;
        for p in parts {
            me.combine(p.as_ref());
        }
        me.into_rows(emit_empty)
    }
    /// The rows of this state and `parts` taken together (as
    /// [`AggState::merge_into_rows`]), made only as the output formats
    /// them, a block at a time: no batch-sized set of rows made first.
    /// None when the aggregation cannot (the default); the engine then
    /// calls [`AggState::merge_into_rows`].
    fn lazy_rows<'s>(&'s self, _parts: &'s [Box<dyn AggState>]) -> Option<Box<dyn RowSource + 's>> {
        None
    }
    /// `--max-keys`' tally: the records this accumulator counts under
    /// each of its keys (by [`key::key_bytes`]) and under `(other)`, as
    /// its rows would show them. `None` for an aggregation without keys.
    fn key_records(&self) -> Option<KeyRecords> {
        None
    }
    fn as_any(&self) -> &dyn Any;
    fn is_empty(&self) -> bool;
    /// A new, empty accumulator of the same aggregation in which every
    /// record added and every accumulator merged counts under the one
    /// `(other)` key, as keys past `--max-keys` do (`window session` folds
    /// a key's sessions there when too many keys are open). `None` for an
    /// aggregation without keys (`count`), which never has too many.
    fn other(&self) -> Option<Box<dyn AggState>> {
        None
    }
}

/// `s` written for `--state` and read back by `agg` (whole), for tests.
#[cfg(test)]
pub fn saved_and_loaded(agg: &dyn Aggregation, s: &dyn AggState) -> Box<dyn AggState> {
    let mut e = Encoder::new();
    s.save(&mut e);
    let mut d = Decoder::new(&e.buf);
    let back = agg.load(&mut d).expect("a state just saved reads back");
    assert!(d.is_done(), "a saved state reads back whole");
    // cut short anywhere: an error, never a panic nor a state
    for n in [0, e.buf.len() / 3, e.buf.len().saturating_sub(1)] {
        if n < e.buf.len() {
            let mut d = Decoder::new(&e.buf[..n]);
            assert!(agg.load(&mut d).is_err(), "a state cut at {n} read back");
        }
    }
    back
}

/// Downcasts another accumulator to this one's type, for `merge`.
pub fn same<'s, T: 'static>(other: &'s dyn AggState, op: &str) -> &'s T {
    other
        .as_any()
        .downcast_ref::<T>()
        .unwrap_or_else(|| panic!("invariant: {op} merges only its own accumulators"))
}
