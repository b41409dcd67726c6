//! The accumulators of `stats`: the aggregate names it reads (with the
//! names users reach for instead), and per aggregate the accumulator that
//! adds a value, merges another of its kind (exactly, float sums included,
//! but for percentiles) and emits its result. Two turn into sketches to
//! bound memory:
//! percentiles past 4096 values ([`super::quantile`]) and `distinct` past
//! [`DISTINCT_EXACT`] values (a HyperLogLog, [`super::hll`]).

use std::cmp::Ordering;

use super::fsum::ExactSum;
use super::hll::Hll;
use hashbrown::HashTable;

use super::key::{KeyValueRef, Pos, same};
use super::quantile::Quantiles;
use crate::state::codec::{self, DecodeError, Decoder, Encoder};
use crate::value::{Num, Value};

/// The aggregate names, in the order the help and errors list them.
pub const NAMES: &[&str] = &[
    "count", "sum", "mean", "min", "max", "p50", "p90", "p95", "p99", "distinct",
];

/// Names users reach for that spate spells differently.
pub const ALIASES: &[(&str, &str)] = &[
    ("avg", "mean"),
    ("average", "mean"),
    ("median", "p50"),
    ("total", "sum"),
    ("minimum", "min"),
    ("maximum", "max"),
    ("n", "count"),
    ("cnt", "count"),
    ("uniq", "distinct"),
    ("unique", "distinct"),
    ("nunique", "distinct"),
    ("dc", "distinct"),
    ("count_distinct", "distinct"),
    ("distinct_count", "distinct"),
    ("cardinality", "distinct"),
];

/// One aggregate of one field.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Agg {
    Count,
    Sum,
    Mean,
    Min,
    Max,
    /// A percentile, in (0, 100].
    Pct(f64),
    Distinct,
}

pub fn parse_agg(name: &str) -> Result<Agg, String> {
    Ok(match name {
        "count" => Agg::Count,
        "sum" => Agg::Sum,
        "mean" => Agg::Mean,
        "min" => Agg::Min,
        "max" => Agg::Max,
        "distinct" => Agg::Distinct,
        _ => match percentile(name) {
            Some(Ok(p)) => Agg::Pct(p),
            Some(Err(e)) => return Err(e),
            None => return Err(unknown_agg(name)),
        },
    })
}

/// `pN`: `None` when the name is not of that form at all.
pub fn percentile(name: &str) -> Option<Result<f64, String>> {
    let digits = name.strip_prefix('p')?;
    let well_formed = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && digits.bytes().filter(|&b| b == b'.').count() <= 1
        && digits.bytes().any(|b| b.is_ascii_digit());
    if !well_formed {
        return None;
    }
    Some(match digits.parse::<f64>() {
        Ok(p) if p > 0.0 && p <= 100.0 => Ok(p),
        _ => Err(format!(
            "bad percentile '{name}': N in pN must be above 0 and at most 100"
        )),
    })
}

pub fn unknown_agg(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    let hint = ALIASES
        .iter()
        .find(|(a, _)| *a == lower)
        .map(|(_, to)| *to)
        .or_else(|| crate::suggest::closest(&lower, NAMES.iter().copied()));
    let hint = hint
        .map(|h| format!("; did you mean '{h}'?"))
        .unwrap_or_default();
    format!(
        "unknown aggregate '{name}'{hint} (valid: {}; or any pN, 0 < N <= 100)",
        NAMES.join(" ")
    )
}

/// What a group keeps for one field: only what the aggregates need.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SlotKind {
    Count,
    /// Serves both sum and mean.
    Sum,
    Min,
    Max,
    Distinct,
    /// Serves every percentile of the field.
    Quantiles,
}

/// A sum that is exact whatever the order of additions and merges:
/// integers add into an `i128` (2^64 values of i64 cannot overflow it),
/// other numbers into an [`ExactSum`]; the result is rounded once.
#[derive(Debug, Clone, Default)]
pub struct SumAcc {
    ints: i128,
    floats: ExactSum,
    /// How many values read as numbers.
    n: u64,
    any_float: bool,
}

impl SumAcc {
    pub fn add(&mut self, x: Num) {
        self.n += 1;
        match x {
            Num::Int(i) => self.ints += i128::from(i),
            Num::Float(f) => {
                self.floats.add(f);
                self.any_float = true;
            }
        }
    }

    pub fn merge(&mut self, o: &SumAcc) {
        self.ints += o.ints;
        self.floats.merge(&o.floats);
        self.n += o.n;
        self.any_float |= o.any_float;
    }

    pub fn total(&self) -> f64 {
        if !self.any_float {
            return self.ints as f64;
        }
        let mut all = self.floats.clone();
        all.add_int(self.ints);
        all.value()
    }

    pub fn sum(&self) -> Value<'static> {
        if self.n == 0 {
            return Value::Null;
        }
        match i64::try_from(self.ints) {
            Ok(i) if !self.any_float => Value::Int(i),
            _ => Value::Float(self.total()),
        }
    }

    pub fn mean(&self) -> Value<'static> {
        if self.n == 0 {
            return Value::Null;
        }
        Value::Float(self.total() / self.n as f64)
    }
}

/// Percentiles of a field, and whether every value was an integer (then a
/// whole result prints as one).
pub struct QuantAcc {
    pub q: Quantiles,
    pub all_int: bool,
    /// A part's accumulator ([`Quantiles::raw`]): each value's input
    /// position, so that the values of groups past `--max-keys` go into
    /// the `(other)` row in input order.
    pub pos: Vec<Pos>,
}

impl QuantAcc {
    pub fn get(&self, p: f64) -> Value<'static> {
        match self.q.quantile(p) {
            None => Value::Null,
            Some(x) if self.all_int && x.fract() == 0.0 && (-9.0e18..9.0e18).contains(&x) => {
                Value::Int(x as i64)
            }
            Some(x) => Value::Float(x),
        }
    }
}

/// `distinct` keeps every value up to this many per group (in a batch, a
/// thread's share of it, a pane or a window), then a sketch. 10,000 short
/// texts take about 0.5 MB of set, a bound per group; past it a group costs
/// the sketch's 16 KiB however many values come. Counts this small are the
/// ones people check by eye, and the sketch's error here is already its
/// usual 0.6-0.8%, so the switch makes no jump.
pub const DISTINCT_EXACT: usize = 10_000;

/// The distinct values of one field in one group: the values themselves up
/// to [`DISTINCT_EXACT`] of them, then a HyperLogLog of their hashes. A
/// value's hash is taken once, by its text ([`super::key::hash_value`], so
/// values that print alike count once) with the sketch's fixed hasher, and
/// kept beside it: growing the set, merging sets and turning one into a
/// sketch never hash again. Both forms are functions of the set of values,
/// so parts merge into the same result in any grouping.
pub enum Distinct {
    Exact(ValueSet),
    Estimate(Hll),
}

/// Values with their hashes ([`Hll::hash`]).
#[derive(Default)]
pub struct ValueSet(HashTable<(u64, Value<'static>)>);

impl ValueSet {
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn contains(&self, h: u64, v: &Value<'_>) -> bool {
        self.0.find(h, |(eh, e)| *eh == h && same(e, v)).is_some()
    }

    /// Adds `v` (hashing to `h`) unless it is there.
    fn insert(&mut self, h: u64, v: &Value<'_>) {
        if !self.contains(h, v) {
            self.0
                .insert_unique(h, (h, v.to_owned_value()), |(eh, _)| *eh);
        }
    }

    fn sketch(&self) -> Hll {
        let mut sketch = Hll::new();
        for (h, _) in self.0.iter() {
            sketch.add_hash(*h);
        }
        sketch
    }
}

impl Distinct {
    pub fn add(&mut self, v: &Value<'_>) {
        let h = Hll::hash(&KeyValueRef(v));
        let set = match self {
            Distinct::Exact(set) => set,
            Distinct::Estimate(sketch) => {
                sketch.add_hash(h);
                return;
            }
        };
        if set.len() < DISTINCT_EXACT {
            set.insert(h, v);
            return;
        }
        if set.contains(h, v) {
            return;
        }
        let mut sketch = set.sketch();
        sketch.add_hash(h);
        *self = Distinct::Estimate(sketch);
    }

    pub fn merge(&mut self, other: &Distinct) {
        let sketch = match (&mut *self, other) {
            (Distinct::Exact(a), Distinct::Exact(b)) => {
                a.0.reserve(
                    b.len().min(DISTINCT_EXACT.saturating_sub(a.len())),
                    |(eh, _)| *eh,
                );
                let mut over = false;
                for (h, v) in b.0.iter() {
                    if !a.contains(*h, v) {
                        if a.len() >= DISTINCT_EXACT {
                            over = true;
                            break;
                        }
                        a.insert(*h, v);
                    }
                }
                if !over {
                    return;
                }
                let mut sketch = a.sketch();
                sketch.merge(&b.sketch());
                sketch
            }
            (Distinct::Exact(a), Distinct::Estimate(theirs)) => {
                let mut sketch = theirs.clone();
                sketch.merge(&a.sketch());
                sketch
            }
            (Distinct::Estimate(sketch), Distinct::Exact(b)) => {
                for (h, _) in b.0.iter() {
                    sketch.add_hash(*h);
                }
                return;
            }
            (Distinct::Estimate(sketch), Distinct::Estimate(theirs)) => {
                sketch.merge(theirs);
                return;
            }
        };
        *self = Distinct::Estimate(sketch);
    }

    pub fn count(&self) -> i64 {
        match self {
            Distinct::Exact(set) => i64::try_from(set.len()).unwrap_or(i64::MAX),
            // a sketch stands for more than DISTINCT_EXACT values for
            // certain, so an estimate never reads as an exact count
            Distinct::Estimate(h) => {
                let floor = DISTINCT_EXACT as f64 + 1.0;
                h.estimate().round().clamp(floor, 9.0e18) as i64
            }
        }
    }
}

/// One accumulator of one field in one group.
pub enum Slot {
    Count(u64),
    Sum(SumAcc),
    Min(Option<Num>),
    Max(Option<Num>),
    Distinct(Box<Distinct>),
    Quantiles(Box<QuantAcc>),
}

impl Slot {
    pub fn new(kind: SlotKind) -> Slot {
        match kind {
            SlotKind::Count => Slot::Count(0),
            SlotKind::Sum => Slot::Sum(SumAcc::default()),
            SlotKind::Min => Slot::Min(None),
            SlotKind::Max => Slot::Max(None),
            SlotKind::Distinct => Slot::Distinct(Box::new(Distinct::Exact(ValueSet::default()))),
            SlotKind::Quantiles => Slot::Quantiles(Box::new(QuantAcc {
                q: Quantiles::new(),
                all_int: true,
                pos: Vec::new(),
            })),
        }
    }

    /// A slot of a part's state (see [`crate::agg::Aggregation::new_part`]):
    /// percentiles keep every value, to be added in order when merged.
    pub fn new_part(kind: SlotKind) -> Slot {
        match kind {
            SlotKind::Quantiles => Slot::Quantiles(Box::new(QuantAcc {
                q: Quantiles::raw(),
                all_int: true,
                pos: Vec::new(),
            })),
            _ => Slot::new(kind),
        }
    }

    /// Folds in a present, non-null value (`num`: it read as a number), of
    /// the record at input position `pos`.
    pub fn add(&mut self, v: &Value<'_>, num: Option<Num>, pos: Pos) {
        match (self, num) {
            (Slot::Count(c), _) => *c += 1,
            (Slot::Distinct(d), _) => d.add(v),
            (_, None) => {}
            (Slot::Sum(s), Some(x)) => s.add(x),
            (Slot::Min(m), Some(x)) => fold_extreme(m, x, Ordering::Less),
            (Slot::Max(m), Some(x)) => fold_extreme(m, x, Ordering::Greater),
            (Slot::Quantiles(q), Some(x)) => {
                let f = x.as_f64();
                if q.q.is_raw() && !f.is_nan() {
                    q.pos.push(pos);
                }
                q.q.add(f);
                q.all_int &= matches!(x, Num::Int(_));
            }
        }
    }

    /// Folds the slots of several groups into this one (`(other)`'s), the
    /// groups in input order of their first records. A part's percentile
    /// values go in one by one in input order, as if each record had come
    /// here itself.
    pub fn absorb_groups(&mut self, slots: &[&Slot]) {
        if let Slot::Quantiles(mine) = self {
            let raw: Option<Vec<&QuantAcc>> = slots
                .iter()
                .map(|s| match s {
                    Slot::Quantiles(q) if q.q.is_raw() => Some(&**q),
                    _ => None,
                })
                .collect();
            if let Some(raw) = raw {
                let mut vals: Vec<(Pos, f64)> = raw
                    .iter()
                    .flat_map(|q| q.pos.iter().copied().zip(q.q.raw_values().iter().copied()))
                    .collect();
                vals.sort_by_key(|v| v.0);
                for (_, x) in vals {
                    mine.q.add(x);
                }
                mine.all_int &= raw.iter().all(|q| q.all_int);
                return;
            }
        }
        for s in slots {
            self.merge(s);
        }
    }

    pub fn merge(&mut self, other: &Slot) {
        match (self, other) {
            (Slot::Count(a), Slot::Count(b)) => *a += b,
            (Slot::Sum(a), Slot::Sum(b)) => a.merge(b),
            (Slot::Min(a), Slot::Min(Some(b))) => fold_extreme(a, *b, Ordering::Less),
            (Slot::Max(a), Slot::Max(Some(b))) => fold_extreme(a, *b, Ordering::Greater),
            (Slot::Distinct(a), Slot::Distinct(b)) => a.merge(b),
            (Slot::Quantiles(a), Slot::Quantiles(b)) => {
                a.q.merge(&b.q);
                a.all_int &= b.all_int;
            }
            // an empty min/max merges as nothing; the spec makes the
            // kinds of two states' slots the same
            _ => {}
        }
    }

    pub fn emit(&self, agg: Agg) -> Value<'static> {
        match (self, agg) {
            (Slot::Count(c), _) => Value::Int(i64::try_from(*c).unwrap_or(i64::MAX)),
            (Slot::Sum(s), Agg::Mean) => s.mean(),
            (Slot::Sum(s), _) => s.sum(),
            (Slot::Min(m) | Slot::Max(m), _) => m.map_or(Value::Null, Num::to_value),
            (Slot::Distinct(d), _) => Value::Int(d.count()),
            (Slot::Quantiles(q), Agg::Pct(p)) => q.get(p),
            (Slot::Quantiles(_), _) => Value::Null,
        }
    }
}

/// `--state`: a slot as it stands, its kind first; read back, it goes on
/// exactly as it would have (a float sum's chunks, a distinct set or its
/// sketch, a percentile sketch with its coin, a part's values with their
/// positions).
impl Slot {
    pub fn kind(&self) -> SlotKind {
        match self {
            Slot::Count(_) => SlotKind::Count,
            Slot::Sum(_) => SlotKind::Sum,
            Slot::Min(_) => SlotKind::Min,
            Slot::Max(_) => SlotKind::Max,
            Slot::Distinct(_) => SlotKind::Distinct,
            Slot::Quantiles(_) => SlotKind::Quantiles,
        }
    }

    pub fn save(&self, e: &mut Encoder) {
        match self {
            Slot::Count(c) => {
                e.u8(0);
                e.u64(*c);
            }
            Slot::Sum(s) => {
                e.u8(1);
                e.i128(s.ints);
                s.floats.save(e);
                e.u64(s.n);
                e.bool(s.any_float);
            }
            Slot::Min(m) => {
                e.u8(2);
                save_num(*m, e);
            }
            Slot::Max(m) => {
                e.u8(3);
                save_num(*m, e);
            }
            Slot::Distinct(d) => {
                e.u8(4);
                match &**d {
                    Distinct::Exact(set) => {
                        e.u8(0);
                        e.usize(set.len());
                        for (_, v) in set.0.iter() {
                            e.value(v);
                        }
                    }
                    Distinct::Estimate(h) => {
                        e.u8(1);
                        h.save(e);
                    }
                }
            }
            Slot::Quantiles(q) => {
                e.u8(5);
                q.q.save(e);
                e.bool(q.all_int);
                e.usize(q.pos.len());
                for p in &q.pos {
                    e.u64(*p);
                }
            }
        }
    }

    pub fn load(d: &mut Decoder<'_>) -> codec::Result<Slot> {
        Ok(match d.u8()? {
            0 => Slot::Count(d.u64()?),
            1 => Slot::Sum(SumAcc {
                ints: d.i128()?,
                floats: ExactSum::load(d)?,
                n: d.u64()?,
                any_float: d.bool()?,
            }),
            2 => Slot::Min(load_num(d)?),
            3 => Slot::Max(load_num(d)?),
            4 => Slot::Distinct(Box::new(match d.u8()? {
                0 => {
                    let n = d.count()?;
                    if n > DISTINCT_EXACT {
                        return Err(DecodeError(format!("a distinct set of {n} values")));
                    }
                    let mut set = ValueSet::default();
                    for _ in 0..n {
                        let v = d.value()?;
                        let h = Hll::hash(&KeyValueRef(&v));
                        if set.contains(h, &v) {
                            return Err(DecodeError("a distinct value twice".into()));
                        }
                        set.insert(h, &v);
                    }
                    Distinct::Exact(set)
                }
                1 => Distinct::Estimate(Hll::load(d)?),
                t => return Err(DecodeError(format!("a distinct set of kind {t}"))),
            })),
            5 => {
                let q = Quantiles::load(d)?;
                let all_int = d.bool()?;
                let n = d.count()?;
                if q.is_raw() && n != q.raw_values().len() {
                    return Err(DecodeError(
                        "percentile values and positions that differ in number".into(),
                    ));
                }
                let mut pos = Vec::with_capacity(n);
                for _ in 0..n {
                    pos.push(d.u64()?);
                }
                Slot::Quantiles(Box::new(QuantAcc { q, all_int, pos }))
            }
            t => return Err(DecodeError(format!("an aggregate of kind {t}"))),
        })
    }
}

fn save_num(n: Option<Num>, e: &mut Encoder) {
    match n {
        None => e.u8(0),
        Some(Num::Int(i)) => {
            e.u8(1);
            e.i64(i);
        }
        Some(Num::Float(f)) => {
            e.u8(2);
            e.f64(f);
        }
    }
}

fn load_num(d: &mut Decoder<'_>) -> codec::Result<Option<Num>> {
    Ok(match d.u8()? {
        0 => None,
        1 => Some(Num::Int(d.i64()?)),
        2 => Some(Num::Float(d.f64()?)),
        t => return Err(DecodeError(format!("a number of kind {t}"))),
    })
}

/// Keeps the smaller (`want == Less`) or larger of `cur` and `x`. Numbers
/// that compare equal but are not the same value (`1` and `1.0`, `0.0`
/// and `-0.0`) are told apart the same way whatever order they came in:
/// an integer before a float, then floats by their total order.
pub fn fold_extreme(cur: &mut Option<Num>, x: Num, want: Ordering) {
    let Some(c) = cur else {
        *cur = Some(x);
        return;
    };
    let o = x.cmp_num(*c).then_with(|| match (x, *c) {
        (Num::Int(_), Num::Float(_)) => want,
        (Num::Float(_), Num::Int(_)) => want.reverse(),
        (Num::Float(a), Num::Float(b)) => a.total_cmp(&b),
        (Num::Int(_), Num::Int(_)) => Ordering::Equal,
    });
    if o == want {
        *cur = Some(x);
    }
}
