//! The fixtures every output format's unit tests share (built only for
//! tests): one batch time, the options a run has by default, `key`/`count`
//! rows as count-by-key makes them, and a batch written through a
//! formatter as text. A format's test then says only what is its own.

use std::borrow::Cow;

use super::{BatchOut, Formatter, Options};
use crate::record::Record;
use crate::timestamp::{Nanos, TimeFormat};
use crate::value::Value;

/// 2026-11-24T01:02:04Z: the batch time of the formats' tests.
pub const T: Nanos = 1_795_482_124_000_000_000;

/// RFC 3339 times in whole seconds, no header, no colour.
pub fn opts() -> Options {
    Options {
        time_format: TimeFormat::Rfc3339,
        millis: false,
        header: false,
        color: false,
        zone: None,
        with_start: false,
    }
}

/// A row of count-by-key: `key` (text) then `count`.
pub fn kv(key: &'static str, count: i64) -> Record<'static> {
    Record::row(vec![
        (Cow::Borrowed("key"), Value::str(key)),
        (Cow::Borrowed("count"), Value::Int(count)),
    ])
}

/// One batch at [`T`] through `f`, as the text it writes.
pub fn render(f: &mut dyn Formatter, rows: &[Record<'static>]) -> String {
    render_at(f, T, None, rows)
}

/// One batch ending at `time` (a window when it has a `start`) through
/// `f`, as the text it writes.
pub fn render_at(
    f: &mut dyn Formatter,
    time: Nanos,
    start: Option<Nanos>,
    rows: &[Record<'static>],
) -> String {
    let mut out = Vec::new();
    let b = BatchOut::new(time, start, rows);
    f.batch(&b, &mut out).expect("writing to a Vec");
    String::from_utf8(out).expect("every format writes UTF-8")
}
