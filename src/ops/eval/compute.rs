//! eval's arithmetic and functions on one record: a walk over the parsed
//! tree that borrows the record's values and allocates only for text it
//! makes (`lower`, `upper`, `concat`). Numbers follow [`Num`]: integers
//! stay integers while the result is exact (`2 + 3` is 5), `/` divides as
//! floats (`7 / 2` is 3.5), an integer overflow goes on in floats. Any step
//! that has no answer (a missing or null field, text where a number is
//! needed, a division by zero, a result that is not a finite number) makes
//! the whole expression have none, which leaves the field unset.

use std::borrow::Cow;
use std::cmp::Ordering;

use crate::numfmt;
use crate::record::{CURRENT, Record};
use crate::value::{Num, Value, parse_num};

use super::parse::{Assignment, BinOp, Expr, Func};

/// A value met while evaluating: `'r` borrows the record (or the tree),
/// `'a` is the record's own lifetime.
#[derive(Debug)]
pub(super) enum Val<'r, 'a> {
    Num(Num),
    /// Text made or borrowed while evaluating.
    Text(Cow<'r, str>),
    /// A text literal that lives for the run.
    Static(&'static str),
    /// A field as the record has it.
    Field(Cow<'r, Value<'a>>),
}

impl<'r, 'a> Val<'r, 'a> {
    /// The value as a number, where it is one or is text that reads as one.
    fn num(&self) -> Option<Num> {
        match self {
            Val::Num(n) => Some(*n),
            Val::Text(t) => parse_num(t),
            Val::Static(t) => parse_num(t),
            Val::Field(v) => v.as_num(),
        }
    }

    /// The value as text (numbers as spate prints them).
    fn text(&self) -> Cow<'_, str> {
        match self {
            Val::Num(n) => {
                let mut s = String::new();
                write_num(&mut s, *n);
                Cow::Owned(s)
            }
            Val::Text(t) => Cow::Borrowed(t),
            Val::Static(t) => Cow::Borrowed(t),
            Val::Field(v) => v.text(),
        }
    }

    fn write_text(&self, out: &mut String) {
        match self {
            Val::Num(n) => write_num(out, *n),
            Val::Text(t) => out.push_str(t),
            Val::Static(t) => out.push_str(t),
            Val::Field(v) => v.write_text(out),
        }
    }

    /// The value a record keeps: `'a` or owned, never borrowing the record.
    pub(super) fn into_value(self) -> Value<'a> {
        match self {
            Val::Num(n) => n.to_value(),
            Val::Text(t) => Value::text_of(Cow::Owned(t.into_owned())),
            Val::Static(t) => Value::text_of(Cow::Borrowed(t)),
            Val::Field(Cow::Borrowed(v)) => v.clone(),
            Val::Field(Cow::Owned(v)) => v,
        }
    }
}

fn write_num(out: &mut String, n: Num) {
    match n {
        Num::Int(i) => numfmt::write_int(out, i),
        Num::Float(f) => numfmt::write_float(out, f),
    }
}

/// A float result, when it is a finite number.
fn float(f: f64) -> Option<Num> {
    f.is_finite().then_some(Num::Float(f))
}

/// An integral float as an integer when it fits, else as it is.
fn integral(f: f64) -> Option<Num> {
    // 2^63: every integral float below it converts to i64 exactly
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if f.is_finite() && f.abs() < LIMIT {
        Some(Num::Int(f as i64))
    } else {
        float(f)
    }
}

fn arith(op: BinOp, a: Num, b: Num) -> Option<Num> {
    match op {
        BinOp::Div => {
            let d = b.as_f64();
            if d == 0.0 {
                return None;
            }
            return float(a.as_f64() / d);
        }
        BinOp::Rem => {
            return match (a, b) {
                (_, Num::Int(0)) => None,
                // i64::MIN % -1 overflows; the remainder is 0
                (Num::Int(x), Num::Int(y)) => Some(Num::Int(x.checked_rem(y).unwrap_or(0))),
                _ if b.as_f64() == 0.0 => None,
                // Rust's % on floats keeps the dividend's sign, as fmod
                _ => float(a.as_f64() % b.as_f64()),
            };
        }
        _ => {}
    }
    if let (Num::Int(x), Num::Int(y)) = (a, b) {
        let exact = match op {
            BinOp::Add => x.checked_add(y),
            BinOp::Sub => x.checked_sub(y),
            _ => x.checked_mul(y),
        };
        if let Some(i) = exact {
            return Some(Num::Int(i));
        }
    }
    let (x, y) = (a.as_f64(), b.as_f64());
    float(match op {
        BinOp::Add => x + y,
        BinOp::Sub => x - y,
        _ => x * y,
    })
}

/// `round(x, digits)`, half away from zero; `digits` must be a whole
/// number (negative rounds to tens, hundreds...).
fn round(x: Num, digits: Option<Num>) -> Option<Num> {
    let d: i64 = match digits {
        None => 0,
        Some(Num::Int(d)) => d,
        Some(Num::Float(f)) if f.fract() == 0.0 && f.abs() < 1e6 => f as i64,
        Some(Num::Float(_)) => return None,
    };
    // far beyond any float's digits either way: as good as infinite
    let d = d.clamp(-400, 400) as i32;
    match x {
        Num::Int(i) if d >= 0 => Some(Num::Int(i)),
        Num::Int(i) => {
            if d < -19 {
                // |i| < 10^19: less than half of 10^20
                return Some(Num::Int(0));
            }
            let p = 10i128.pow(d.unsigned_abs());
            let m = (i128::from(i).abs() + p / 2) / p * p;
            let m = if i < 0 { -m } else { m };
            Some(i64::try_from(m).map_or(Num::Float(m as f64), Num::Int))
        }
        Num::Float(f) => {
            let r = numfmt::round_half_away(f, d);
            if d <= 0 { integral(r) } else { float(r) }
        }
    }
}

/// The number a text starts with (after blanks): `12ms` is 12, `-1.5e3x`
/// is -1500, `ms` is none.
fn leading_num(s: &str) -> Option<Num> {
    let t = s.trim_start_matches([' ', '\t']);
    let b = t.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'-' | b'+')));
    let int_start = i;
    while b.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    let mut digits = i - int_start;
    if b.get(i) == Some(&b'.') {
        let f = i + 1;
        let mut j = f;
        while b.get(j).is_some_and(u8::is_ascii_digit) {
            j += 1;
        }
        // `12.`: the number is 12, the dot is not part of it
        if j > f {
            digits += j - f;
            i = j;
        }
    }
    if digits == 0 {
        return None;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        let mut j = i + 1;
        if matches!(b.get(j), Some(b'-' | b'+')) {
            j += 1;
        }
        let e = j;
        while b.get(j).is_some_and(u8::is_ascii_digit) {
            j += 1;
        }
        if j > e {
            i = j;
        }
    }
    parse_num(&t[..i])
}

fn lower<'r>(t: Cow<'r, str>) -> Cow<'r, str> {
    if t.is_ascii() {
        if t.bytes().any(|c| c.is_ascii_uppercase()) {
            Cow::Owned(t.to_ascii_lowercase())
        } else {
            t
        }
    } else {
        Cow::Owned(t.to_lowercase())
    }
}

fn upper<'r>(t: Cow<'r, str>) -> Cow<'r, str> {
    if t.is_ascii() {
        if t.bytes().any(|c| c.is_ascii_lowercase()) {
            Cow::Owned(t.to_ascii_uppercase())
        } else {
            t
        }
    } else {
        Cow::Owned(t.to_uppercase())
    }
}

/// The text of a value as owned by the evaluation: a borrowed field's text
/// borrows the record.
fn text_of<'r, 'a>(v: Val<'r, 'a>) -> Cow<'r, str> {
    match v {
        Val::Text(t) => t,
        Val::Static(t) => Cow::Borrowed(t),
        Val::Field(Cow::Borrowed(Value::Str(s))) => Cow::Borrowed(s.as_ref()),
        other => Cow::Owned(other.text().into_owned()),
    }
}

impl Expr {
    /// The expression's value on `rec`, or none.
    pub(super) fn eval<'r, 'a>(&'r self, rec: &'r Record<'a>) -> Option<Val<'r, 'a>> {
        match self {
            Expr::Num(n) => Some(Val::Num(*n)),
            Expr::Text(Cow::Borrowed(s)) => Some(Val::Static(s)),
            Expr::Text(Cow::Owned(s)) => Some(Val::Text(Cow::Borrowed(s))),
            Expr::Field(name) => match rec.lookup(name) {
                None | Some(Cow::Borrowed(Value::Null)) | Some(Cow::Owned(Value::Null)) => None,
                Some(v) => Some(Val::Field(v)),
            },
            Expr::Neg(e) => Some(Val::Num(match e.eval(rec)?.num()? {
                Num::Int(i) => i.checked_neg().map_or(Num::Float(-(i as f64)), Num::Int),
                Num::Float(f) => Num::Float(-f),
            })),
            Expr::Bin(op, a, b) => {
                let x = a.eval(rec)?.num()?;
                let y = b.eval(rec)?.num()?;
                arith(*op, x, y).map(Val::Num)
            }
            Expr::Call(f, args) => call(*f, args, rec),
        }
    }
}

fn call<'r, 'a>(f: Func, args: &'r [Expr], rec: &'r Record<'a>) -> Option<Val<'r, 'a>> {
    let arg = |i: usize| args.get(i).and_then(|e| e.eval(rec));
    let num = |i: usize| arg(i).and_then(|v| v.num());
    let n = match f {
        Func::Round => {
            let digits = match args.len() {
                1 => None,
                _ => Some(num(1)?),
            };
            round(num(0)?, digits)
        }
        Func::Floor => match num(0)? {
            Num::Float(x) => integral(x.floor()),
            i => Some(i),
        },
        Func::Ceil => match num(0)? {
            Num::Float(x) => integral(x.ceil()),
            i => Some(i),
        },
        Func::Abs => match num(0)? {
            Num::Int(i) => Some(
                i.checked_abs()
                    .map_or(Num::Float((i as f64).abs()), Num::Int),
            ),
            Num::Float(x) => Some(Num::Float(x.abs())),
        },
        Func::Min | Func::Max => {
            let want = if f == Func::Min {
                Ordering::Less
            } else {
                Ordering::Greater
            };
            let mut best = num(0)?;
            for i in 1..args.len() {
                let x = num(i)?;
                if x.cmp_num(best) == want {
                    best = x;
                }
            }
            Some(best)
        }
        Func::Num => match arg(0)? {
            Val::Num(n) => Some(n),
            Val::Field(v) => match v.as_ref() {
                Value::Int(i) => Some(Num::Int(*i)),
                Value::Float(x) => Some(Num::Float(*x)),
                Value::Str(s) => leading_num(s),
                Value::Null | Value::Bool(_) | Value::Json(_) => None,
            },
            other => leading_num(&other.text()),
        },
        Func::Len => {
            let v = arg(0)?;
            let n = match &v {
                Val::Text(t) => t.chars().count(),
                Val::Static(t) => t.chars().count(),
                Val::Field(f) => match f.as_str() {
                    Some(s) => s.chars().count(),
                    None => f.text().chars().count(),
                },
                Val::Num(_) => v.text().chars().count(),
            };
            Some(Num::Int(i64::try_from(n).unwrap_or(i64::MAX)))
        }
        Func::Lower => return Some(Val::Text(lower(text_of(arg(0)?)))),
        Func::Upper => return Some(Val::Text(upper(text_of(arg(0)?)))),
        Func::Concat => {
            let mut out = String::new();
            for i in 0..args.len() {
                arg(i)?.write_text(&mut out);
            }
            return Some(Val::Text(Cow::Owned(out)));
        }
    };
    n.map(Val::Num)
}

impl Assignment {
    /// Sets NAME on `rec` to the expression's value, or removes NAME when
    /// the expression has none.
    pub fn apply(&self, rec: &mut Record<'_>) {
        match self.expr.eval(rec).map(Val::into_value) {
            Some(v) => rec.set(self.name.clone(), v),
            None => {
                if self.name == CURRENT {
                    rec.take_current();
                } else if let Some(i) = rec.fields.iter().position(|(n, _)| *n == self.name) {
                    rec.fields.remove(i);
                }
            }
        }
    }
}
