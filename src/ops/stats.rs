//! `stats -f FIELD[,FIELD...] -a AGG[,AGG...] [-g FIELD[,FIELD...]]`:
//! aggregates of fields per group. The aggregates asked for decide, at
//! build time, which accumulators each group keeps (a distinct set or a
//! percentile sketch only when asked), and every accumulator but the
//! percentiles merges exactly (float sums too), so per-thread and per-batch
//! partials combine into the same result as one pass over all the records.
//! Two accumulators turn into sketches to bound their memory: percentiles
//! past 4096 values (`agg::quantile`) and `distinct` past
//! [`DISTINCT_EXACT`] values (a HyperLogLog, `agg::hll`). A distinct sketch
//! is a function of the set of values; a percentile sketch depends on the
//! order values came in, so with percentiles the engine gives each part of
//! the input a state that keeps every value ([`Aggregation::new_part`]) and
//! merges them in input order: the result is that of one pass in order,
//! `(other)`'s values included, however the input was cut.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::sync::Arc;

use clap::{Arg, ArgAction, ArgMatches};

use crate::agg::key::{Key, KeyTable, MISSING, Pos};
use crate::agg::limit::{KeyLimit, OTHER};
use crate::agg::stats::{Agg, NAMES, Slot, SlotKind, parse_agg};
use crate::agg::{AggState, Aggregation, VALUE_FIELDS, same, value_field};
use crate::ops::spark::{Spark, SparkAggregate, SparkCx, SparkMap, SparkValue, ValueKind};
use crate::ops::{BuildCx, Built, Operator, Stage, name_list};
use crate::record::{Record, column_name};
use crate::state::codec::{self, DecodeError, Decoder, Encoder};
use crate::value::{Num, Value};

pub struct Stats;

impl Operator for Stats {
    fn name(&self) -> &'static str {
        "stats"
    }
    fn summary(&self) -> &'static str {
        "Aggregates (count, sum, mean, min, max, percentiles, distinct) of fields per group"
    }
    fn args(&self, cmd: clap::Command) -> clap::Command {
        cmd.arg(
            Arg::new("field")
                .short('f')
                .long("field")
                .value_name("FIELD[,FIELD...]")
                .action(ArgAction::Append)
                .required(true)
                .help("The fields to aggregate"),
        )
        .arg(
            Arg::new("agg")
                .short('a')
                .long("agg")
                .value_name("AGG[,AGG...]")
                .action(ArgAction::Append)
                .required(true)
                .help("The aggregates: count sum mean min max p50 p90 p95 p99 distinct"),
        )
        .arg(
            Arg::new("group")
                .short('g')
                .long("group-by")
                .value_name("FIELD[,FIELD...]")
                .action(ArgAction::Append)
                .help("One row per distinct value of these fields"),
        )
        .after_help(
            "Output fields: the group fields as named, then one field per aggregate named AGG; \
             with several -f fields, AGG_FIELD for each field in order, each aggregate in \
             order (-f a,b -a mean,max gives mean_a max_a mean_b max_b). Rows by group \
             ascending in sort's order; without -g, one row (none for an empty batch). Group \
             values that print the same are one group (the number 200, 200.0 and the text \
             200). A record lacking a group field groups under an empty value (null in \
             jsonl), which sorts last. Past --max-keys groups (default 1000000) in a batch or \
             window, the first groups in input order keep their rows and the records of \
             further groups are aggregated in one last row whose group fields read \
             (other).\n\n\
             Aggregates:\n\
             \x20 count      records where the field is present and not null\n\
             \x20 distinct   distinct values of the field, those that print the same\n\
             \x20            counted once (7, 7.0 and the text 7 are one value; 07 and\n\
             \x20            7 are two); exact up to 10000 per group,\n\
             \x20            then a HyperLogLog estimate within about 2.5%\n\
             \x20 sum        an integer while every value is one and the sum fits\n\
             \x20            in 64 bits, else a float\n\
             \x20 mean       sum / how many values read as numbers; always a float\n\
             \x20 min, max   the smallest, largest number, as it was (integer or float)\n\
             \x20 p50 p90 p95 p99\n\
             \x20            percentiles by nearest rank: the smallest value with at\n\
             \x20            least N% of the values at or below it; exact on small\n\
             \x20            inputs, within 1% rank on large ones; an integer when\n\
             \x20            every value was one. Any pN with 0 < N <= 100 works\n\
             \x20            (p75, p99.9)\n\
             sum, mean, min, max and the percentiles use the values that read as numbers \
             (text such as \"12.5\" included), ignore the others, and are empty when there \
             is none.\n\n\
             Examples:\n  \
             spate -i events.jsonl -b 10s json then stats -f latency_ms -a mean,p99 -g service\n  \
             spate -b eof csv --header then stats -f bytes,ms -a sum,max -g host,status\n  \
             spate -b 1m logfmt then stats -f user -a count,distinct",
        )
    }
    fn stage(&self) -> Stage {
        Stage::Aggregation
    }
    fn fields(&self, m: &ArgMatches) -> Vec<String> {
        reads(m)
    }
    fn build(&self, m: &ArgMatches, cx: &BuildCx) -> Result<Built, String> {
        let fields = list(m, "field", "-f")?;
        if fields.is_empty() {
            return Err("needs at least one field to aggregate: -f FIELD".into());
        }
        let mut aggs: Vec<(String, Agg)> = Vec::new();
        for name in list(m, "agg", "-a")? {
            let agg = parse_agg(&name)?;
            if !aggs.iter().any(|(n, _)| *n == name) {
                aggs.push((name, agg));
            }
        }
        if aggs.is_empty() {
            return Err(format!(
                "needs at least one aggregate: -a {}",
                NAMES.join(",")
            ));
        }
        let groups = list(m, "group", "-g")?;
        Ok(Built::Aggregation(Box::new(StatsAgg(
            Arc::new(Spec::new(fields, &aggs, groups)),
            Arc::clone(&cx.keys),
        ))))
    }
    fn spark(&self) -> Spark {
        Spark::Map(SparkMap {
            reads,
            map: to_spark,
        })
    }
}

/// Percentiles on Spark: the accuracy handed to `percentile_approx` (its
/// relative rank error is 1/accuracy).
const PERCENTILE_ACCURACY: u32 = 10_000;

/// The fields stats reads: its `-f` fields, then its `-g` fields.
fn reads(m: &ArgMatches) -> Vec<String> {
    let mut v = crate::ops::listed(m, "field");
    v.extend(crate::ops::listed(m, "group"));
    v
}

/// A group per value of the `-g` fields, and one Spark aggregate per field
/// and aggregate: exact ones where Spark streaming has them, else the
/// nearest (percentiles approximate, distinct as a set's size), each said
/// in a note.
fn to_spark(m: &ArgMatches, cx: &mut dyn SparkCx) -> Result<(), String> {
    let fields = list(m, "field", "-f")?;
    let mut aggs: Vec<(String, Agg)> = Vec::new();
    for name in list(m, "agg", "-a")? {
        let agg = parse_agg(&name)?;
        if !aggs.iter().any(|(n, _)| *n == name) {
            aggs.push((name, agg));
        }
    }
    let keys = list(m, "group", "-g")?
        .into_iter()
        .map(|g| {
            let e = cx.expr(&g);
            (g, e)
        })
        .collect();
    let mut values = Vec::new();
    for f in &fields {
        let c = cx.expr(f);
        for (name, agg) in &aggs {
            let (expr, kind) = match agg {
                Agg::Count => (format!("F.count({c})"), ValueKind::Int),
                Agg::Distinct => (format!("F.size(F.collect_set(txt({c})))"), ValueKind::Int),
                Agg::Sum => (format!("F.sum(num({c}))"), ValueKind::Float),
                Agg::Mean => (format!("F.avg(num({c}))"), ValueKind::Float),
                Agg::Min => (format!("F.min(num({c}))"), ValueKind::Float),
                Agg::Max => (format!("F.max(num({c}))"), ValueKind::Float),
                Agg::Pct(p) => (
                    format!(
                        "F.percentile_approx(num({c}), {:?}, {PERCENTILE_ACCURACY})",
                        p / 100.0
                    ),
                    ValueKind::Float,
                ),
            };
            values.push(SparkValue {
                name: if fields.len() > 1 {
                    format!("{name}_{f}")
                } else {
                    name.clone()
                },
                expr,
                kind,
            });
        }
    }
    if aggs.iter().any(|(_, a)| matches!(a, Agg::Pct(_))) {
        cx.note(format!(
            "Percentiles: Spark streaming has no exact percentile, so they are \
             percentile_approx(x, p, {PERCENTILE_ACCURACY}): nearest rank, exact up to \
             {PERCENTILE_ACCURACY} values per group and window, within 1/{PERCENTILE_ACCURACY} \
             of the rank beyond (spate: exact up to 4096 values, within 1%)."
        ));
    }
    if aggs.iter().any(|(_, a)| *a == Agg::Distinct) {
        cx.note(
            "distinct: Spark streaming allows no COUNT(DISTINCT); this is \
             size(collect_set(x)), exact, which keeps each distinct value in the state \
             store (spate: exact up to 10000 values per group, then a HyperLogLog within \
             about 2.5%; approx_count_distinct would bound Spark's memory likewise)."
                .into(),
        );
    }
    cx.aggregate(SparkAggregate { keys, values });
    Ok(())
}

/// The names given to an option, split at commas, each once, in order.
fn list(m: &ArgMatches, id: &str, flag: &str) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    for s in m.get_many::<String>(id).into_iter().flatten() {
        if s.trim().is_empty() {
            return Err(format!("{flag} needs a name, not an empty value"));
        }
        for n in name_list(s)? {
            if !out.contains(&n) {
                out.push(n);
            }
        }
    }
    Ok(out)
}

/// One output column: which slot it reads and how.
struct Column {
    name: String,
    slot: usize,
    agg: Agg,
}

/// One aggregated field and its slots (a range of a group's slots).
struct FieldSpec {
    name: String,
    slots: std::ops::Range<usize>,
    /// Whether any slot reads the value as a number.
    numeric: bool,
}

/// Everything fixed at build time, shared by every state.
struct Spec {
    fields: Vec<FieldSpec>,
    groups: Vec<String>,
    /// The group fields are few and none is a dotted path: the key is
    /// looked up on the stack ([`with_key`]).
    groups_plain: bool,
    /// The kind of every slot of a group, all fields' slots in a row.
    kinds: Vec<SlotKind>,
    columns: Vec<Column>,
    /// The fields read, each once, when a record's values can be taken
    /// without the record ([`AggState::add_values`]): the group fields'
    /// and the aggregated fields' indexes into it.
    values: Option<ValueFields>,
}

/// See [`Spec::values`].
struct ValueFields {
    names: Vec<String>,
    group_at: Vec<usize>,
    field_at: Vec<usize>,
}

impl ValueFields {
    /// `None` when a name is `_` or a dotted path, or they are too many.
    fn new(groups: &[String], fields: &[FieldSpec]) -> Option<ValueFields> {
        let mut names: Vec<String> = Vec::new();
        let mut at = |name: &String| match names.iter().position(|n| n == name) {
            Some(i) => i,
            None => {
                names.push(name.clone());
                names.len() - 1
            }
        };
        let group_at: Vec<usize> = groups.iter().map(&mut at).collect();
        let field_at: Vec<usize> = fields.iter().map(|f| at(&f.name)).collect();
        (names.len() <= VALUE_FIELDS
            && group_at.len() <= STACK_KEY
            && names.iter().all(|n| value_field(n)))
        .then_some(ValueFields {
            names,
            group_at,
            field_at,
        })
    }
}

impl Spec {
    fn new(fields: Vec<String>, aggs: &[(String, Agg)], groups: Vec<String>) -> Spec {
        let several = fields.len() > 1;
        let mut kinds = Vec::new();
        let mut columns = Vec::new();
        let mut specs = Vec::new();
        for field in fields {
            let start = kinds.len();
            let mut slot_of = |kind: SlotKind| match kinds[start..].iter().position(|k| *k == kind)
            {
                Some(i) => start + i,
                None => {
                    kinds.push(kind);
                    kinds.len() - 1
                }
            };
            for (name, agg) in aggs {
                let kind = match agg {
                    Agg::Count => SlotKind::Count,
                    Agg::Sum | Agg::Mean => SlotKind::Sum,
                    Agg::Min => SlotKind::Min,
                    Agg::Max => SlotKind::Max,
                    Agg::Pct(_) => SlotKind::Quantiles,
                    Agg::Distinct => SlotKind::Distinct,
                };
                columns.push(Column {
                    name: if several {
                        format!("{name}_{field}")
                    } else {
                        name.clone()
                    },
                    slot: slot_of(kind),
                    agg: *agg,
                });
            }
            let slots = start..kinds.len();
            let numeric = kinds[slots.clone()]
                .iter()
                .any(|k| !matches!(k, SlotKind::Count | SlotKind::Distinct));
            specs.push(FieldSpec {
                name: field,
                slots,
                numeric,
            });
        }
        Spec {
            values: ValueFields::new(&groups, &specs),
            fields: specs,
            groups_plain: groups.len() <= STACK_KEY && !groups.iter().any(|n| n.contains('.')),
            groups,
            kinds,
            columns,
        }
    }

    /// A group's slots; a part's (see [`Aggregation::new_part`]) keep
    /// every percentile value.
    fn new_slots(&self, part: bool) -> Box<[Slot]> {
        let make = if part { Slot::new_part } else { Slot::new };
        self.kinds.iter().map(|k| make(*k)).collect()
    }
}

struct StatsAgg(Arc<Spec>, Arc<KeyLimit>);

impl StatsAgg {
    fn state(&self, part: bool) -> Box<dyn AggState> {
        Box::new(StatsState {
            spec: Arc::clone(&self.0),
            groups: KeyTable::new(self.1.max),
            limit: Arc::clone(&self.1),
            other: None,
            pos: 0,
            part,
        })
    }
}

impl Aggregation for StatsAgg {
    /// The group fields, then one column per aggregate.
    fn columns(&self) -> Option<Vec<String>> {
        let groups = self.0.groups.iter().map(|g| column_name(g).to_string());
        Some(
            groups
                .chain(self.0.columns.iter().map(|c| c.name.clone()))
                .collect(),
        )
    }

    fn new_state(&self) -> Box<dyn AggState> {
        self.state(false)
    }

    fn load(&self, d: &mut Decoder<'_>) -> codec::Result<Box<dyn AggState>> {
        let spec = &self.0;
        let (part, pos) = (d.bool()?, d.u64()?);
        let groups = KeyTable::load(d, |d| Group::load(spec, d))?;
        let other = if d.bool()? {
            Some(Group::load(spec, d)?)
        } else {
            None
        };
        Ok(Box::new(StatsState {
            spec: Arc::clone(spec),
            groups,
            limit: Arc::clone(&self.1),
            other,
            pos,
            part,
        }))
    }

    /// Percentiles depend on the order values come in (a sketch).
    fn ordered(&self) -> bool {
        self.0.kinds.contains(&SlotKind::Quantiles)
    }

    /// Only percentiles need a part's state of their own (it keeps every
    /// value); any other state merges exactly as it is.
    fn new_part(&self) -> Box<dyn AggState> {
        self.state(self.ordered())
    }

    fn value_fields(&self) -> Option<&[String]> {
        self.0.values.as_ref().map(|v| v.names.as_slice())
    }

    fn key_fields(&self) -> &[String] {
        &self.0.groups
    }

    /// Groups ascending, as [`AggState::emit`] orders them.
    fn row_cmp(&self, a: &Record<'_>, b: &Record<'_>) -> Ordering {
        let n = self.0.groups.len();
        a.fields
            .iter()
            .take(n)
            .zip(b.fields.iter().take(n))
            .map(|((_, x), (_, y))| x.sort_cmp(y))
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
    }
}

/// Group keys of up to this many fields are looked up without allocating.
const STACK_KEY: usize = 8;

/// A field of `rec`: found as is without copying, or by a dotted path into
/// JSON. Null counts as missing.
fn field_value<'r, 'a>(rec: &'r Record<'a>, name: &str) -> Option<Cow<'r, Value<'a>>> {
    let v = match rec.get(name) {
        Some(v) => Some(Cow::Borrowed(v)),
        None if name.contains('.') => rec.lookup(name),
        None => None,
    };
    v.filter(|v| !v.is_null())
}

/// Calls `f` with the values of `rec`'s group fields (missing ones as
/// [`MISSING`]), on the stack when they are `plain` (few, and none
/// reaches into JSON).
fn with_key<R>(
    rec: &Record<'_>,
    names: &[String],
    plain: bool,
    f: impl FnOnce(&[&Value<'_>]) -> R,
) -> R {
    if plain {
        let mut refs: [&Value<'_>; STACK_KEY] = [&MISSING; STACK_KEY];
        for (slot, name) in refs.iter_mut().zip(names) {
            *slot = rec.get(name).unwrap_or(&MISSING);
        }
        return f(&refs[..names.len()]);
    }
    let vals: Vec<Option<Cow<'_, Value<'_>>>> = names.iter().map(|n| rec.lookup(n)).collect();
    let refs: Vec<&Value<'_>> = vals
        .iter()
        .map(|v| v.as_deref().unwrap_or(&MISSING))
        .collect();
    f(&refs)
}

impl Spec {
    /// Folds `rec` (at input position `pos`) into its group's slots.
    fn update(&self, slots: &mut [Slot], rec: &Record<'_>, pos: Pos) {
        for f in &self.fields {
            if let Some(v) = field_value(rec, &f.name) {
                f.add(slots, &v, pos);
            }
        }
    }
}

impl FieldSpec {
    /// Folds the field's value `v` (not null) into its slots of a group.
    #[inline]
    fn add(&self, slots: &mut [Slot], v: &Value<'_>, pos: Pos) {
        // NaN is no number to aggregate (text never reads as NaN, but a
        // float may be one); it would poison sums and orders.
        let num = if self.numeric {
            v.as_num()
                .filter(|n| !matches!(n, Num::Float(x) if x.is_nan()))
        } else {
            None
        };
        if let Some(group) = slots.get_mut(self.slots.clone()) {
            for slot in group {
                slot.add(v, num, pos);
            }
        }
    }
}

/// Aligned to two cache lines: the workers' states are allocated one
/// after the other, and each writes its own (`pos`, per record): unaligned,
/// two cores would trade the line they share (false sharing).
#[repr(align(128))]
struct StatsState {
    spec: Arc<Spec>,
    groups: KeyTable<Group>,
    /// `--max-keys`: past it, once settled, the records of a new group
    /// are aggregated in `other`, the `(other)` row.
    limit: Arc<KeyLimit>,
    other: Option<Group>,
    /// The input position of the next record added.
    pos: Pos,
    /// A part's state (see [`Aggregation::new_part`]).
    part: bool,
}

/// One group's accumulators, and how many records went in (for the
/// overflow tally when a merge moves the group into `(other)`).
struct Group {
    slots: Box<[Slot]>,
    records: u64,
}

impl Group {
    fn new(spec: &Spec, part: bool) -> Group {
        Group {
            slots: spec.new_slots(part),
            records: 0,
        }
    }

    fn update(&mut self, spec: &Spec, rec: &Record<'_>, pos: Pos) {
        spec.update(&mut self.slots, rec, pos);
        self.records += 1;
    }

    fn save(&self, e: &mut Encoder) {
        e.u64(self.records);
        e.usize(self.slots.len());
        for s in self.slots.iter() {
            s.save(e);
        }
    }

    /// Reads back what [`Group::save`] wrote: slots of the kinds `spec`
    /// makes, in its order.
    fn load(spec: &Spec, d: &mut Decoder<'_>) -> codec::Result<Group> {
        let records = d.u64()?;
        let n = d.count()?;
        if n != spec.kinds.len() {
            return Err(DecodeError(format!(
                "a group of {n} aggregates where stats keeps {}",
                spec.kinds.len()
            )));
        }
        let mut slots = Vec::with_capacity(n);
        for kind in &spec.kinds {
            let slot = Slot::load(d)?;
            if slot.kind() != *kind {
                return Err(DecodeError(format!(
                    "an aggregate of kind {:?} where stats keeps {kind:?}",
                    slot.kind()
                )));
            }
            slots.push(slot);
        }
        Ok(Group {
            slots: slots.into(),
            records,
        })
    }

    fn fold(&mut self, theirs: &Group) {
        for (a, b) in self.slots.iter_mut().zip(theirs.slots.iter()) {
            a.merge(b);
        }
        self.records += theirs.records;
    }
}

impl StatsState {
    /// The row of a group: its key fields, then its aggregates.
    fn row(&self, key: &[Value<'static>], g: &Group) -> Record<'static> {
        let spec = &self.spec;
        let mut fields: Vec<(Cow<'static, str>, Value<'static>)> =
            Vec::with_capacity(spec.groups.len() + spec.columns.len());
        for (name, v) in spec.groups.iter().zip(key.iter()) {
            fields.push((Cow::Owned(name.clone()), v.clone()));
        }
        for c in &spec.columns {
            let v = g.slots.get(c.slot).map_or(Value::Null, |s| s.emit(c.agg));
            fields.push((Cow::Owned(c.name.clone()), v));
        }
        Record::row(fields)
    }

    /// An empty batch state of the same aggregation.
    fn fresh(&self) -> StatsState {
        StatsState {
            spec: Arc::clone(&self.spec),
            groups: KeyTable::new(self.limit.max),
            limit: Arc::clone(&self.limit),
            other: None,
            pos: 0,
            part: false,
        }
    }

    /// Groups past `--max-keys` (in input order of their first records)
    /// go into the `(other)` row.
    fn drop_into_other(&mut self, dropped: &[&Group]) {
        if dropped.is_empty() {
            return;
        }
        let other = self
            .other
            .get_or_insert_with(|| Group::new(&self.spec, false));
        for (j, slot) in other.slots.iter_mut().enumerate() {
            let theirs: Vec<&Slot> = dropped.iter().filter_map(|g| g.slots.get(j)).collect();
            slot.absorb_groups(&theirs);
        }
        other.records += dropped.iter().map(|g| g.records).sum::<u64>();
    }

    fn rows(&self) -> Vec<Record<'static>> {
        let mut groups: Vec<(&Key, &Group)> = self
            .groups
            .iter()
            .filter(|e| e.val.records > 0)
            .map(|e| (&e.key, &e.val))
            .collect();
        groups.sort_unstable_by(|a, b| group_cmp(a.0, b.0));
        let mut rows: Vec<Record<'static>> =
            groups.into_iter().map(|(k, g)| self.row(&k.0, g)).collect();
        // the (other) row last, after the groups in order
        if let Some(o) = &self.other {
            let key: Vec<Value<'static>> =
                self.spec.groups.iter().map(|_| Value::str(OTHER)).collect();
            rows.push(self.row(&key, o));
            self.limit.note("stats", o.records);
        }
        rows
    }
}

impl AggState for StatsState {
    fn save(&self, e: &mut Encoder) {
        e.bool(self.part);
        e.u64(self.pos);
        self.groups.save(e, Group::save);
        match &self.other {
            Some(g) => {
                e.bool(true);
                g.save(e);
            }
            None => e.bool(false),
        }
    }

    fn add(&mut self, rec: &Record<'_>) {
        let StatsState {
            spec,
            groups,
            other,
            pos,
            part,
            ..
        } = self;
        with_key(rec, &spec.groups, spec.groups_plain, |key| {
            match groups.entry(key, *pos, || Group::new(spec, *part)) {
                Some(g) => g.update(spec, rec, *pos),
                None => other
                    .get_or_insert_with(|| Group::new(spec, *part))
                    .update(spec, rec, *pos),
            }
        });
        *pos += 1;
    }

    fn add_values(&mut self, _names: &[String], vals: &[Option<Value<'_>>]) {
        let StatsState {
            spec,
            groups,
            other,
            pos,
            part,
            ..
        } = self;
        let Some(at) = &spec.values else {
            return;
        };
        let value = |i: usize| vals.get(i).and_then(Option::as_ref);
        let mut key: [&Value<'_>; STACK_KEY] = [&MISSING; STACK_KEY];
        for (k, &i) in key.iter_mut().zip(&at.group_at) {
            *k = value(i).unwrap_or(&MISSING);
        }
        let key = &key[..at.group_at.len()];
        let g = match groups.entry(key, *pos, || Group::new(spec, *part)) {
            Some(g) => g,
            None => other.get_or_insert_with(|| Group::new(spec, *part)),
        };
        for (f, &i) in spec.fields.iter().zip(&at.field_at) {
            if let Some(v) = value(i).filter(|v| !v.is_null()) {
                f.add(&mut g.slots, v, *pos);
            }
        }
        g.records += 1;
        *pos += 1;
    }

    fn at(&mut self, pos: Pos) {
        self.pos = pos;
    }

    fn merge(&mut self, other: &dyn AggState) {
        let o: &StatsState = same(other, "stats");
        if self.part {
            // a part's state merged into becomes a batch's: as if its
            // records had been added to a fresh one in order
            let fresh = self.fresh();
            let part = std::mem::replace(self, fresh);
            self.merge(&part);
        }
        // `o`'s records come after this state's: its new groups after
        // these, in their own order, while there is room
        let spec = Arc::clone(&self.spec);
        let dropped = self.groups.merge_in(&o.groups, Group::fold, |theirs| {
            let mut g = Group::new(&spec, false);
            g.fold(theirs);
            g
        });
        let dropped: Vec<&Group> = dropped.iter().map(|e| &e.val).collect();
        self.drop_into_other(&dropped);
        if let Some(theirs) = &o.other {
            self.drop_into_other(&[theirs]);
        }
    }

    fn combine(&mut self, other: &dyn AggState) {
        let o: &StatsState = same(other, "stats");
        let spec = Arc::clone(&self.spec);
        self.groups.merge(&o.groups, Group::fold, |theirs| {
            let mut g = Group::new(&spec, false);
            g.fold(theirs);
            g
        });
        if let Some(theirs) = &o.other {
            self.drop_into_other(&[theirs]);
        }
    }

    fn over_keys(&self) -> bool {
        self.groups.over()
    }

    fn other(&self) -> Option<Box<dyn AggState>> {
        Some(Box::new(StatsState {
            spec: Arc::clone(&self.spec),
            groups: KeyTable::closed(),
            limit: Arc::clone(&self.limit),
            other: None,
            pos: self.pos,
            part: false,
        }))
    }

    fn seal(&mut self, copies: usize) -> Vec<Box<dyn AggState>> {
        let dropped = self.groups.seal();
        self.drop_into_other(&dropped.iter().collect::<Vec<_>>());
        let spec = Arc::clone(&self.spec);
        (0..copies)
            .map(|_| {
                let groups = self.groups.frozen(|_| Group::new(&spec, false));
                Box::new(StatsState {
                    spec: Arc::clone(&spec),
                    groups,
                    limit: Arc::clone(&self.limit),
                    other: None,
                    pos: self.pos,
                    part: false,
                }) as Box<dyn AggState>
            })
            .collect()
    }

    fn emit(&self, _emit_empty: bool) -> Vec<Record<'static>> {
        if self.groups.over() || self.part {
            // a state only added to (the engine merges its parts, and
            // merging bounds), or a part's: merged into a batch's first
            let mut me = self.fresh();
            me.merge(self);
            return me.rows();
        }
        self.rows()
    }

    fn key_records(&self) -> Option<crate::agg::KeyRecords> {
        if self.groups.over() || self.part {
            // as the rows show it (see `emit`)
            let mut me = self.fresh();
            me.merge(self);
            return me.key_records();
        }
        let groups = self
            .groups
            .iter()
            .filter(|e| e.val.records > 0)
            .map(|e| (crate::agg::key::key_bytes(e.key.0.iter()), e.val.records));
        let other = self.other.as_ref().map_or(0, |o| o.records);
        Some((groups.collect(), other))
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn is_empty(&self) -> bool {
        self.groups.is_empty() && self.other.is_none()
    }
}

/// Groups in `sort`'s order (the empty key last). Keys are one key when
/// they print alike, so two groups never compare equal.
fn group_cmp(a: &Key, b: &Key) -> Ordering {
    a.sort_cmp(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agg::stats::DISTINCT_EXACT;
    use crate::ops::{aggregation, aggregation_capped};
    use proptest::prelude::*;

    fn rec(fields: &[(&'static str, Value<'static>)]) -> Record<'static> {
        Record::row(
            fields
                .iter()
                .map(|(n, v)| (Cow::Borrowed(*n), v.clone()))
                .collect(),
        )
    }

    fn run(args: &[&str], recs: &[Record<'static>]) -> Vec<Record<'static>> {
        let a = aggregation(&[&["stats"], args].concat()).expect("valid stats arguments");
        let mut s = a.new_state();
        for r in recs {
            s.add(r);
        }
        s.emit(false)
    }

    /// Rows as `name=value` lists, values in their text form with a type
    /// tag for numbers (`i:3`, `f:2.5`), nulls as `null`.
    fn show(rows: &[Record<'static>]) -> Vec<String> {
        rows.iter()
            .map(|r| {
                r.columns()
                    .map(|(n, v)| {
                        let t = match v {
                            Value::Int(i) => format!("i:{i}"),
                            Value::Float(f) => format!("f:{f}"),
                            Value::Null => "null".into(),
                            other => other.text().into_owned(),
                        };
                        format!("{n}={t}")
                    })
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect()
    }

    fn xs(vals: &[Value<'static>]) -> Vec<Record<'static>> {
        vals.iter().map(|v| rec(&[("x", v.clone())])).collect()
    }

    #[test]
    fn stats_every_aggregate() {
        let recs = xs(&[
            Value::Int(5),
            Value::str("1"),
            Value::Int(3),
            Value::Int(2),
            Value::Int(4),
            Value::Int(3),
        ]);
        let rows = run(
            &[
                "-f",
                "x",
                "-a",
                "count,sum,mean,min,max,p50,p90,p95,p99,distinct",
            ],
            &recs,
        );
        assert_eq!(
            show(&rows),
            [
                "count=i:6 sum=i:18 mean=f:3 min=i:1 max=i:5 p50=i:3 p90=i:5 p95=i:5 p99=i:5 \
              distinct=i:5"
            ]
        );
    }

    #[test]
    fn stats_percentiles_by_nearest_rank() {
        let recs = xs(&(1..=10).map(Value::Int).collect::<Vec<_>>());
        let rows = run(&["-f", "x", "-a", "p50,p90,p95,p99,p10,p100,p12.5"], &recs);
        assert_eq!(
            show(&rows),
            ["p50=i:5 p90=i:9 p95=i:10 p99=i:10 p10=i:1 p100=i:10 p12.5=i:2"]
        );
        let floats = xs(&[Value::Float(1.5), Value::Int(2), Value::Int(3)]);
        assert_eq!(
            show(&run(&["-f", "x", "-a", "p50,p99"], &floats)),
            ["p50=f:2 p99=f:3"]
        );
    }

    #[test]
    fn stats_several_fields_name_agg_field() {
        let recs = vec![
            rec(&[("a", Value::Int(1)), ("b", Value::Int(10))]),
            rec(&[("a", Value::Int(3)), ("b", Value::Int(30))]),
        ];
        let rows = run(&["-f", "a,b", "-a", "mean,max"], &recs);
        assert_eq!(show(&rows), ["mean_a=f:2 max_a=i:3 mean_b=f:20 max_b=i:30"]);
        let rows = run(&["-f", "a", "-f", "b", "-a", "max", "-a", "mean"], &recs);
        assert_eq!(show(&rows), ["max_a=i:3 mean_a=f:2 max_b=i:30 mean_b=f:20"]);
    }

    #[test]
    fn stats_groups_in_sort_order() {
        let recs = vec![
            rec(&[("g", Value::str("b")), ("x", Value::Int(1))]),
            rec(&[("g", Value::str("10")), ("x", Value::Int(2))]),
            rec(&[("x", Value::Int(3))]),
            rec(&[("g", Value::str("9")), ("x", Value::Int(4))]),
            rec(&[("g", Value::str("a")), ("x", Value::Int(5))]),
            rec(&[("g", Value::str("b")), ("x", Value::Int(6))]),
        ];
        let rows = run(&["-f", "x", "-a", "sum", "-g", "g"], &recs);
        assert_eq!(
            show(&rows),
            [
                "g=9 sum=i:4",
                "g=10 sum=i:2",
                "g=a sum=i:5",
                "g=b sum=i:7",
                "g=null sum=i:3"
            ]
        );
    }

    #[test]
    fn stats_groups_by_several_fields() {
        let recs = vec![
            rec(&[
                ("h", Value::str("x")),
                ("s", Value::Int(500)),
                ("x", Value::Int(1)),
            ]),
            rec(&[
                ("h", Value::str("x")),
                ("s", Value::Int(200)),
                ("x", Value::Int(1)),
            ]),
            rec(&[
                ("h", Value::str("w")),
                ("s", Value::Int(500)),
                ("x", Value::Int(1)),
            ]),
            rec(&[
                ("h", Value::str("x")),
                ("s", Value::Int(200)),
                ("x", Value::Int(1)),
            ]),
        ];
        let rows = run(&["-f", "x", "-a", "count", "-g", "h,s"], &recs);
        assert_eq!(
            show(&rows),
            [
                "h=w s=i:500 count=i:1",
                "h=x s=i:200 count=i:2",
                "h=x s=i:500 count=i:1"
            ]
        );
    }

    #[test]
    fn stats_ignores_non_numeric_values() {
        let recs = xs(&[
            Value::str("n/a"),
            Value::Int(4),
            Value::Null,
            Value::str(" 2 "),
            Value::Bool(true),
            Value::str("n/a"),
        ]);
        let rows = run(
            &["-f", "x", "-a", "count,distinct,sum,mean,min,max,p50"],
            &recs,
        );
        assert_eq!(
            show(&rows),
            ["count=i:5 distinct=i:4 sum=i:6 mean=f:3 min=i:2 max=i:4 p50=i:2"]
        );
        let words = xs(&[Value::str("a"), Value::str("b"), Value::str("a")]);
        let rows = run(
            &["-f", "x", "-a", "count,distinct,sum,mean,min,max,p99"],
            &words,
        );
        assert_eq!(
            show(&rows),
            ["count=i:3 distinct=i:2 sum=null mean=null min=null max=null p99=null"]
        );
    }

    #[test]
    fn stats_missing_field_counts_zero() {
        let recs = vec![rec(&[("y", Value::Int(1))])];
        let rows = run(&["-f", "x", "-a", "count,distinct,sum"], &recs);
        assert_eq!(show(&rows), ["count=i:0 distinct=i:0 sum=null"]);
    }

    #[test]
    fn stats_integer_and_float_sums() {
        let ints = xs(&[Value::Int(1), Value::str("2"), Value::Int(3)]);
        assert_eq!(
            show(&run(&["-f", "x", "-a", "sum,min,max"], &ints)),
            ["sum=i:6 min=i:1 max=i:3"]
        );
        let mixed = xs(&[Value::Int(1), Value::str("2.5"), Value::Float(0.5)]);
        assert_eq!(
            show(&run(&["-f", "x", "-a", "sum,min,max"], &mixed)),
            ["sum=f:4 min=f:0.5 max=f:2.5"]
        );
        let big = xs(&[Value::Int(i64::MAX), Value::Int(1)]);
        assert_eq!(
            show(&run(&["-f", "x", "-a", "sum"], &big)),
            [format!("sum=f:{}", i64::MAX as f64)]
        );
        // an overflow that comes back into range is an integer again
        let back = xs(&[Value::Int(i64::MAX), Value::Int(1), Value::Int(-10)]);
        assert_eq!(
            show(&run(&["-f", "x", "-a", "sum"], &back)),
            [format!("sum=i:{}", i64::MAX - 9)]
        );
    }

    #[test]
    /// Values that print alike are one value (7, 7.0 and the text 7);
    /// 07 and 7 are two.
    fn stats_distinct_counts_values_that_print_alike_once() {
        let recs = xs(&[
            Value::str("7"),
            Value::str("07"),
            Value::Int(7),
            Value::Float(7.0),
            Value::str("7"),
            Value::Float(7.5),
            Value::Json(Box::new(serde_json::json!({"a": 1}))),
            Value::Json(Box::new(serde_json::json!({"a": 1}))),
            Value::str(r#"{"a":1}"#),
        ]);
        assert_eq!(
            show(&run(&["-f", "x", "-a", "distinct"], &recs)),
            ["distinct=i:4"]
        );
    }

    #[test]
    fn stats_empty_batch_has_no_row() {
        assert!(run(&["-f", "x", "-a", "count"], &[]).is_empty());
        assert!(run(&["-f", "x", "-a", "count", "-g", "g"], &[]).is_empty());
        let a = aggregation(&["stats", "-f", "x", "-a", "mean"]).expect("valid");
        assert!(a.new_state().is_empty());
        assert!(a.new_state().emit(true).is_empty());
    }

    #[test]
    fn stats_reads_current_value_and_json_paths() {
        let lines: Vec<Record<'static>> = ["3", "x", "5"]
            .iter()
            .map(|l| Record::from_line(Cow::Borrowed(*l), "").into_owned())
            .collect();
        assert_eq!(
            show(&run(&["-f", "_", "-a", "count,sum"], &lines)),
            ["count=i:3 sum=i:8"]
        );
        let j = |svc: &str, ms: i64| {
            rec(&[(
                "e",
                Value::Json(Box::new(serde_json::json!({"svc": svc, "ms": ms}))),
            )])
        };
        let recs = vec![j("b", 4), j("a", 1), j("b", 6)];
        assert_eq!(
            show(&run(&["-f", "e.ms", "-a", "max", "-g", "e.svc"], &recs)),
            ["e.svc=a max=i:1", "e.svc=b max=i:6"]
        );
    }

    #[test]
    fn stats_rejects_bad_arguments() {
        let e = aggregation(&["stats", "-f", "x", "-a", "avg"])
            .err()
            .unwrap_or_default();
        assert!(e.contains("did you mean 'mean'"), "{e}");
        assert!(
            e.contains("count sum mean min max p50 p90 p95 p99 distinct"),
            "{e}"
        );
        let e = aggregation(&["stats", "-f", "x", "-a", "mena"])
            .err()
            .unwrap_or_default();
        assert!(e.contains("did you mean 'mean'"), "{e}");
        let e = aggregation(&["stats", "-f", "x", "-a", "median"])
            .err()
            .unwrap_or_default();
        assert!(e.contains("did you mean 'p50'"), "{e}");
        assert!(aggregation(&["stats", "-f", "x", "-a", "p0"]).is_err());
        assert!(aggregation(&["stats", "-f", "x", "-a", "p101"]).is_err());
        assert!(aggregation(&["stats", "-f", "x", "-a", "pp"]).is_err());
        let e = aggregation(&["stats", "-f", "", "-a", "sum"])
            .err()
            .unwrap_or_default();
        assert!(e.contains("-f needs a name"), "{e}");
        assert!(aggregation(&["stats", "-f", "a,,b", "-a", "sum"]).is_err());
        assert!(aggregation(&["stats", "-a", "sum"]).is_err());
        assert!(aggregation(&["stats", "-f", "x"]).is_err());
        assert!(aggregation(&["stats", "-f", "x", "-a", "sum,"]).is_err());
    }

    #[test]
    fn stats_repeated_names_count_once() {
        let recs = xs(&[Value::Int(2)]);
        assert_eq!(
            show(&run(&["-f", "x,x", "-a", "sum,sum"], &recs)),
            ["sum=i:2"]
        );
    }

    #[test]
    fn stats_keeps_only_the_accumulators_asked_for() {
        let spec = Spec::new(
            vec!["a".into(), "b".into()],
            &[
                ("mean".into(), Agg::Mean),
                ("sum".into(), Agg::Sum),
                ("p50".into(), Agg::Pct(50.0)),
                ("p99".into(), Agg::Pct(99.0)),
            ],
            Vec::new(),
        );
        use SlotKind::*;
        assert_eq!(spec.kinds, [Sum, Quantiles, Sum, Quantiles]);
        let spec = Spec::new(
            vec!["a".into()],
            &[("count".into(), Agg::Count)],
            Vec::new(),
        );
        assert_eq!(spec.kinds, [Count]);
        assert!(!spec.fields[0].numeric);
    }

    #[test]
    fn stats_max_keys_aggregates_new_groups_as_other() {
        let (a, keys) =
            aggregation_capped(&["stats", "-f", "n", "-a", "count,sum,max", "-g", "g"], 2)
                .expect("valid stats");
        let mut s = a.new_state();
        for (g, n) in [("b", 1), ("a", 2), ("c", 3), ("a", 4), ("d", 10), ("c", 5)] {
            s.add(&rec(&[("g", Value::str(g)), ("n", Value::Int(n))]));
        }
        assert_eq!(
            show(&s.emit(false)),
            [
                "g=a count=i:2 sum=i:6 max=i:4",
                "g=b count=i:1 sum=i:1 max=i:1",
                "g=(other) count=i:3 sum=i:18 max=i:10",
            ]
        );
        let o = keys.overflow();
        assert_eq!((o.max_keys, o.results, o.records), (2, 1, 3));
    }

    #[test]
    fn stats_merge_respects_max_keys() {
        let (a, keys) = aggregation_capped(&["stats", "-f", "n", "-a", "count,sum", "-g", "g"], 2)
            .expect("valid stats");
        let part = |groups: &[&'static str]| {
            let mut s = a.new_state();
            for g in groups {
                s.add(&rec(&[("g", Value::str(g)), ("n", Value::Int(1))]));
            }
            s
        };
        let mut x = part(&["a", "b", "c"]);
        let y = part(&["b", "d", "d", "e"]);
        x.merge(y.as_ref());
        assert_eq!(
            show(&x.emit(false)),
            [
                "g=a count=i:1 sum=i:1",
                "g=b count=i:2 sum=i:2",
                "g=(other) count=i:4 sum=i:4",
            ]
        );
        assert_eq!(keys.overflow().records, 4);
    }

    /// The `distinct` column of each row.
    fn distincts(rows: &[Record<'static>]) -> Vec<i64> {
        rows.iter()
            .map(|r| match r.get("distinct") {
                Some(Value::Int(n)) => *n,
                other => panic!("distinct is an integer, not {other:?}"),
            })
            .collect()
    }

    /// A state of `stats -f x -a distinct -g g` fed `(group, x)` pairs.
    fn distinct_state(a: &dyn Aggregation, pairs: &[(&'static str, i64)]) -> Box<dyn AggState> {
        let mut s = a.new_state();
        for (g, x) in pairs {
            s.add(&rec(&[("g", Value::str(g)), ("x", Value::Int(*x))]));
        }
        s
    }

    #[test]
    fn stats_distinct_is_exact_up_to_the_threshold_then_estimates() {
        let n = DISTINCT_EXACT as i64;
        let a = aggregation(&["stats", "-f", "x", "-a", "distinct", "-g", "g"]).expect("valid");
        let vals = |lo: i64, hi: i64| (lo..hi).map(|i| ("g", i)).collect::<Vec<_>>();
        // exactly the threshold, each value twice: exact
        let mut twice = vals(0, n);
        twice.extend(vals(0, n));
        assert_eq!(
            distincts(&distinct_state(a.as_ref(), &twice).emit(false)),
            [n]
        );
        // one more: an estimate, never below what is known for certain
        for total in [n + 1, n + 5_000, 4 * n] {
            let got = distincts(&distinct_state(a.as_ref(), &vals(0, total)).emit(false));
            let err = (got[0] - total).abs() as f64 / total as f64;
            assert!(got[0] > n && err < 0.025, "{total}: {got:?}");
        }
    }

    #[test]
    fn stats_distinct_merges_across_the_threshold() {
        let n = DISTINCT_EXACT as i64;
        let a = aggregation(&["stats", "-f", "x", "-a", "distinct", "-g", "g"]).expect("valid");
        let part = |lo: i64, hi: i64| {
            let pairs: Vec<(&'static str, i64)> = (lo..hi).map(|i| ("g", i)).collect();
            distinct_state(a.as_ref(), &pairs)
        };
        // two exact sets whose union is the threshold stay exact
        let mut x = part(0, 6_000);
        x.merge(part(n - 6_000, n).as_ref());
        assert_eq!(distincts(&x.emit(false)), [n]);
        // one more value in the union: the merge turns into a sketch, the
        // same sketch as one pass over the values
        let mut y = part(0, 6_000);
        y.merge(part(n - 5_999, n + 1).as_ref());
        assert_eq!(show(&y.emit(false)), show(&part(0, n + 1).emit(false)));
        assert!(distincts(&y.emit(false))[0] > n);
        // set + sketch and sketch + set, either way round
        let whole = show(&part(0, 3 * n).emit(false));
        let mut small = part(0, 500);
        small.merge(part(300, 3 * n).as_ref());
        assert_eq!(show(&small.emit(false)), whole);
        let mut big = part(300, 3 * n);
        big.merge(part(0, 500).as_ref());
        assert_eq!(show(&big.emit(false)), whole);
        // sketch + sketch
        let mut s = part(0, 2 * n);
        s.merge(part(n, 3 * n).as_ref());
        assert_eq!(show(&s.emit(false)), whole);
    }

    #[test]
    fn stats_distinct_parts_merge_into_the_whole_past_the_threshold() {
        // two groups, one past the threshold and one below, repeated
        // values, cut into parts of every size class: sketches are a
        // function of the set of values, so merging parts in any order is
        // the same as one pass
        let a =
            aggregation(&["stats", "-f", "x", "-a", "count,distinct", "-g", "g"]).expect("valid");
        let pairs: Vec<(&'static str, i64)> = (0..30_000i64)
            .map(|i| {
                if i % 7 == 0 {
                    ("few", i % 50)
                } else {
                    ("many", (i * 7_919) % 23_000)
                }
            })
            .collect();
        let whole = distinct_state(a.as_ref(), &pairs).emit(false);
        for cuts in [
            &[0, 30_000][..],
            &[0, 100, 12_000, 29_000, 30_000],
            &[0, 15_000, 30_000],
        ] {
            let mut merged = a.new_state();
            for w in cuts.windows(2).rev() {
                merged.merge(distinct_state(a.as_ref(), &pairs[w[0]..w[1]]).as_ref());
            }
            assert_eq!(show(&merged.emit(false)), show(&whole));
        }
        let truth = |g: &str| {
            let set: std::collections::HashSet<i64> =
                pairs.iter().filter(|p| p.0 == g).map(|p| p.1).collect();
            set.len() as i64
        };
        let got = distincts(&whole);
        assert_eq!(got[0], truth("few"));
        let many = truth("many");
        assert!(many > 2 * DISTINCT_EXACT as i64);
        assert!((got[1] - many).abs() * 40 < many, "{got:?} for {many}");
    }

    fn value() -> impl Strategy<Value = Option<Value<'static>>> {
        prop_oneof![
            Just(None),
            Just(Some(Value::Null)),
            (-50i64..50).prop_map(|i| Some(Value::Int(i))),
            // quarters add exactly in any order, so float sums compare equal
            (-400i64..400).prop_map(|q| Some(Value::Float(q as f64 / 4.0))),
            (-50i64..50).prop_map(|i| Some(Value::owned_str(i.to_string()))),
            prop::sample::select(vec!["a", "b", "n/a", ""])
                .prop_map(|s| Some(Value::owned_str(s.to_string()))),
            prop::sample::select(vec![i64::MAX, i64::MIN, i64::MAX - 1])
                .prop_map(|i| Some(Value::Int(i))),
        ]
    }

    fn record() -> impl Strategy<Value = Record<'static>> {
        (
            prop::option::of(prop::sample::select(vec!["x", "y", "10", "9"])),
            value(),
            value(),
        )
            .prop_map(|(g, a, b)| {
                let mut fields = Vec::new();
                if let Some(g) = g {
                    fields.push((Cow::Borrowed("g"), Value::str(g)));
                }
                if let Some(a) = a {
                    fields.push((Cow::Borrowed("a"), a));
                }
                if let Some(b) = b {
                    fields.push((Cow::Borrowed("b"), b));
                }
                Record::row(fields)
            })
    }

    /// The records added to one accumulator, and added to one per part
    /// (cut at `cuts`) then merged in order: a batch taken whole and in its
    /// workers' parts.
    fn whole_and_merged(
        a: &dyn Aggregation,
        recs: &[Record<'static>],
        cuts: Vec<usize>,
    ) -> (Box<dyn AggState>, Box<dyn AggState>) {
        let mut whole = a.new_state();
        for r in recs {
            whole.add(r);
        }
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(recs.len())).collect();
        cuts.sort_unstable();
        let mut bounds = vec![0];
        bounds.extend(cuts);
        bounds.push(recs.len());
        let mut merged = a.new_state();
        for w in bounds.windows(2) {
            let mut part = a.new_state();
            for r in &recs[w[0]..w[1]] {
                part.add(r);
            }
            merged.merge(part.as_ref());
        }
        (whole, merged)
    }

    proptest! {
        /// Parts merged in input order into a batch's state (percentiles
        /// past 4096 values, `--max-keys` with an `(other)` row) give the
        /// same rows as the whole input taken as one part: however the
        /// input is cut, the result is that of adding every record in
        /// order.
        #[test]
        fn stats_parts_merged_in_order_equal_one_part(
            n in 0usize..9000,
            groups in 1i64..12,
            cuts in prop::collection::vec(0usize..9000, 0..6),
            max_keys in 1usize..8,
            seed in any::<u64>(),
        ) {
            let (a, _) = aggregation_capped(
                &["stats", "-f", "v", "-a", "count,sum,p50,p99,distinct", "-g", "g"],
                max_keys,
            )
            .expect("valid stats");
            let mut x = seed | 1;
            let recs: Vec<Record<'static>> = (0..n)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let g = (x % groups as u64) as i64;
                    let v = Value::Float((x >> 20) as f64 / 1e6);
                    rec(&[("g", Value::Int(g)), ("v", v)])
                })
                .collect();
            let part = |seq: u64, recs: &[Record<'static>]| {
                let mut p = a.new_part();
                p.at(crate::agg::key::pos(seq, 0));
                for r in recs {
                    p.add(r);
                }
                p
            };
            let mut whole = a.new_state();
            whole.merge(part(0, &recs).as_ref());
            let mut bounds: Vec<usize> = cuts.iter().map(|c| (*c).min(recs.len())).collect();
            bounds.extend([0, recs.len()]);
            bounds.sort_unstable();
            let mut merged = a.new_state();
            for (seq, w) in bounds.windows(2).enumerate() {
                merged.merge(part(seq as u64, &recs[w[0]..w[1]]).as_ref());
            }
            prop_assert_eq!(show(&merged.emit(false)), show(&whole.emit(false)));
        }

        #[test]
        fn stats_merge_of_parts_equals_whole(
            recs in prop::collection::vec(record(), 0..80),
            cuts in prop::collection::vec(0usize..80, 0..6),
            grouped in any::<bool>(),
        ) {
            let mut args = vec![
                "-f", "a,b", "-a",
                "count,sum,mean,min,max,p50,p90,p95,p99,distinct",
            ];
            if grouped {
                args.extend(["-g", "g"]);
            }
            let a = aggregation(&[&["stats"], &args[..]].concat()).expect("valid stats arguments");
            let (whole, merged) = whole_and_merged(a.as_ref(), &recs, cuts);
            prop_assert_eq!(show(&merged.emit(false)), show(&whole.emit(false)));
            prop_assert_eq!(merged.is_empty(), whole.is_empty());
        }

        #[test]
        fn stats_distinct_below_the_threshold_is_a_naive_count(
            recs in prop::collection::vec(record(), 0..80),
            cut in 0usize..80,
        ) {
            let a = aggregation(&["stats", "-f", "a", "-a", "distinct", "-g", "g"]).expect("valid");
            let cut = cut.min(recs.len());
            let mut merged = a.new_state();
            for part in [&recs[cut..], &recs[..cut]] {
                let mut s = a.new_state();
                for r in part {
                    s.add(r);
                }
                merged.merge(s.as_ref());
            }
            // per group, in order of first appearance: the texts of the
            // values seen (values that print alike are one)
            let mut naive: Vec<(Option<Value<'static>>, Vec<String>)> = Vec::new();
            for r in &recs {
                let g = r.get("g").cloned();
                let i = match naive.iter().position(|(k, _)| *k == g) {
                    Some(i) => i,
                    None => {
                        naive.push((g, Vec::new()));
                        naive.len() - 1
                    }
                };
                if let Some(v) = r.get("a").filter(|v| !v.is_null()) {
                    let t = crate::agg::key::with_text(v, str::to_string);
                    if !naive[i].1.contains(&t) {
                        naive[i].1.push(t);
                    }
                }
            }
            for row in merged.emit(false) {
                let g = row.get("g").filter(|v| !v.is_null()).cloned();
                let want = naive
                    .iter()
                    .find(|(k, _)| *k == g)
                    .map_or(0, |(_, vals)| vals.len() as i64);
                prop_assert_eq!(row.get("distinct"), Some(&Value::Int(want)));
            }
        }

        #[test]
        fn stats_max_keys_bounds_rows_and_loses_no_record(
            recs in prop::collection::vec(record(), 0..80),
            cuts in prop::collection::vec(0usize..80, 0..6),
            max_keys in 1usize..4,
        ) {
            let (a, _) = aggregation_capped(&["stats", "-f", "a", "-a", "count", "-g", "g"], max_keys).expect("valid stats");
            let (whole, merged) = whole_and_merged(a.as_ref(), &recs, cuts);
            let count = |rows: &[Record<'static>]| -> i64 {
                rows.iter()
                    .filter_map(|r| match r.get("count") {
                        Some(Value::Int(n)) => Some(*n),
                        _ => None,
                    })
                    .sum()
            };
            let present = recs
                .iter()
                .filter(|r| r.get("a").is_some_and(|v| !v.is_null()))
                .count() as i64;
            for rows in [whole.emit(false), merged.emit(false)] {
                prop_assert!(rows.len() <= max_keys + 1, "{} rows", rows.len());
                prop_assert_eq!(count(&rows), present);
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        /// `--state`: a part's state (every percentile value kept, with
        /// positions) written and read back in the middle of its records,
        /// and the batch's written and read back between parts, go on
        /// exactly as they would have: the same rows, past 4096 values (a
        /// percentile sketch and its coin), past 10,000 distinct values (a
        /// sketch), with exact float sums and `--max-keys`' `(other)` row.
        #[test]
        fn stats_state_saved_and_loaded_goes_on_alike(
            n in 0usize..14_000,
            groups in 1u64..5,
            cuts in prop::collection::vec(0usize..14_000, 0..5),
            at in 0usize..14_000,
            max_keys in 1usize..4,
            seed in any::<u64>(),
        ) {
            let (a, _) = aggregation_capped(
                &["stats", "-f", "v,w", "-a", "count,sum,mean,min,max,p50,p99,distinct", "-g", "g"],
                max_keys,
            )
            .expect("valid stats");
            let a = a.as_ref();
            let mut x = seed | 1;
            let recs: Vec<Record<'static>> = (0..n)
                .map(|i| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let g = Value::Int((x % groups) as i64);
                    let v = Value::Float((x >> 20) as f64 / 1e7);
                    let w = match i % 3 {
                        0 => Value::Int((x % 1000) as i64 - 500),
                        1 => Value::owned_str(format!("{}", x % 77)),
                        _ => Value::str("n/a"),
                    };
                    rec(&[("g", g), ("v", v), ("w", w)])
                })
                .collect();
            let mut bounds: Vec<usize> = cuts.iter().map(|c| (*c).min(n)).collect();
            bounds.extend([0, n]);
            bounds.sort_unstable();
            let at = at.min(n);
            let run = |restore: bool| -> Vec<String> {
                let mut batch = a.new_state();
                for (seq, w) in bounds.windows(2).enumerate() {
                    let mut p = a.new_part();
                    p.at(crate::agg::key::pos(seq as u64, 0));
                    for (i, r) in recs[w[0]..w[1]].iter().enumerate() {
                        if restore && w[0] + i == at {
                            p = crate::agg::saved_and_loaded(a, p.as_ref());
                        }
                        p.add(r);
                    }
                    batch.merge(p.as_ref());
                    if restore {
                        batch = crate::agg::saved_and_loaded(a, batch.as_ref());
                    }
                }
                // a window's merge of batches, sketches into sketches
                let mut window = a.new_state();
                window.merge(batch.as_ref());
                if restore {
                    window = crate::agg::saved_and_loaded(a, window.as_ref());
                }
                window.merge(batch.as_ref());
                let mut rows = show(&batch.emit(false));
                rows.extend(show(&window.emit(false)));
                rows
            };
            prop_assert_eq!(run(true), run(false));
        }
    }
}
