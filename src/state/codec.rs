//! The state file's encoding: a small, versioned binary format written by
//! hand (varints, zigzag integers, little-endian floats, length-prefixed
//! bytes). Every reader returns an error on malformed input, never panics:
//! a state file may be cut short or damaged, and the checksum around it
//! (see `super`) is only the first line of defence.

use std::borrow::Cow;
use std::fmt;

use crate::record::Record;
use crate::value::Value;

/// Why a state could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(pub String);

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DecodeError {}

pub type Result<T> = std::result::Result<T, DecodeError>;

fn short(what: &str) -> DecodeError {
    DecodeError(format!("cut short while reading {what}"))
}

/// Writes values into a growing buffer.
#[derive(Debug, Default)]
pub struct Encoder {
    pub buf: Vec<u8>,
}

impl Encoder {
    pub fn new() -> Self {
        Encoder::default()
    }

    pub fn u64(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.buf.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.buf.push(v as u8);
    }

    pub fn i64(&mut self, v: i64) {
        self.u64(((v << 1) ^ (v >> 63)) as u64);
    }

    pub fn i128(&mut self, v: i128) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    pub fn usize(&mut self, v: usize) {
        self.u64(v as u64);
    }

    pub fn f64(&mut self, v: f64) {
        self.buf.extend_from_slice(&v.to_bits().to_le_bytes());
    }

    pub fn bool(&mut self, v: bool) {
        self.buf.push(u8::from(v));
    }

    pub fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }

    pub fn bytes(&mut self, b: &[u8]) {
        self.usize(b.len());
        self.buf.extend_from_slice(b);
    }

    pub fn str(&mut self, s: &str) {
        self.bytes(s.as_bytes());
    }

    pub fn opt_i64(&mut self, v: Option<i64>) {
        match v {
            Some(x) => {
                self.bool(true);
                self.i64(x);
            }
            None => self.bool(false),
        }
    }
}

/// Reads values back in the order they were written.
#[derive(Debug)]
pub struct Decoder<'a> {
    buf: &'a [u8],
    at: usize,
}

impl<'a> Decoder<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Decoder { buf, at: 0 }
    }

    /// Whether every byte was read.
    pub fn is_done(&self) -> bool {
        self.at == self.buf.len()
    }

    /// Fails unless every byte was read.
    pub fn finish(&self) -> Result<()> {
        if self.is_done() {
            Ok(())
        } else {
            Err(DecodeError(format!(
                "{} unexpected bytes at the end",
                self.buf.len() - self.at
            )))
        }
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8]> {
        let end = self.at.checked_add(n).ok_or_else(|| short(what))?;
        let s = self.buf.get(self.at..end).ok_or_else(|| short(what))?;
        self.at = end;
        Ok(s)
    }

    pub fn u64(&mut self) -> Result<u64> {
        let mut v: u64 = 0;
        for shift in (0..64).step_by(7) {
            let b = *self
                .take(1, "a number")?
                .first()
                .ok_or_else(|| short("a number"))?;
            v |= u64::from(b & 0x7f)
                .checked_shl(shift)
                .filter(|_| shift < 63 || b & 0x7f <= 1)
                .ok_or_else(|| DecodeError("a number out of range".into()))?;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(DecodeError("a number out of range".into()))
    }

    pub fn i64(&mut self) -> Result<i64> {
        let z = self.u64()?;
        Ok(((z >> 1) as i64) ^ -((z & 1) as i64))
    }

    pub fn i128(&mut self) -> Result<i128> {
        let b = self.take(16, "a wide number")?;
        let mut a = [0u8; 16];
        a.copy_from_slice(b);
        Ok(i128::from_le_bytes(a))
    }

    pub fn usize(&mut self) -> Result<usize> {
        usize::try_from(self.u64()?).map_err(|_| DecodeError("a length out of range".into()))
    }

    /// A count of items that each take at least one byte: bounded by what
    /// is left, so a damaged count cannot ask for a huge allocation.
    pub fn count(&mut self) -> Result<usize> {
        let n = self.usize()?;
        if n > self.buf.len() - self.at {
            return Err(DecodeError(format!("a count of {n} items past the end")));
        }
        Ok(n)
    }

    pub fn f64(&mut self) -> Result<f64> {
        let b = self.take(8, "a float")?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(f64::from_bits(u64::from_le_bytes(a)))
    }

    pub fn bool(&mut self) -> Result<bool> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            b => Err(DecodeError(format!("a flag of {b}"))),
        }
    }

    pub fn u8(&mut self) -> Result<u8> {
        self.take(1, "a byte")?
            .first()
            .copied()
            .ok_or_else(|| short("a byte"))
    }

    pub fn bytes(&mut self) -> Result<&'a [u8]> {
        let n = self.usize()?;
        self.take(n, "bytes")
    }

    pub fn str(&mut self) -> Result<&'a str> {
        std::str::from_utf8(self.bytes()?).map_err(|_| DecodeError("text that is not UTF-8".into()))
    }

    pub fn opt_i64(&mut self) -> Result<Option<i64>> {
        Ok(if self.bool()? {
            Some(self.i64()?)
        } else {
            None
        })
    }
}

/// Values and records, as partial results of chains without an
/// aggregation and as keys hold them.
impl Encoder {
    pub fn value(&mut self, v: &Value<'_>) {
        match v {
            Value::Null => self.u8(0),
            Value::Bool(b) => {
                self.u8(1);
                self.bool(*b);
            }
            Value::Int(i) => {
                self.u8(2);
                self.i64(*i);
            }
            Value::Float(f) => {
                self.u8(3);
                self.f64(*f);
            }
            Value::Str(t) => {
                self.u8(if t.quoted { 6 } else { 4 });
                self.str(&t.s);
            }
            Value::Json(j) => {
                self.u8(5);
                self.str(&j.to_string());
            }
        }
    }

    pub fn record(&mut self, r: &Record<'_>) {
        match &r.value {
            Some(v) => {
                self.bool(true);
                self.value(v);
            }
            None => self.bool(false),
        }
        self.usize(r.fields.len());
        for (name, v) in &r.fields {
            self.str(name);
            self.value(v);
        }
    }
}

impl Decoder<'_> {
    pub fn value(&mut self) -> Result<Value<'static>> {
        Ok(match self.u8()? {
            0 => Value::Null,
            1 => Value::Bool(self.bool()?),
            2 => Value::Int(self.i64()?),
            3 => Value::Float(self.f64()?),
            4 => Value::text_of(Cow::Owned(self.str()?.to_string())),
            6 => Value::json_str(Cow::Owned(self.str()?.to_string())),
            5 => {
                let j: serde_json::Value = serde_json::from_str(self.str()?)
                    .map_err(|e| DecodeError(format!("a JSON value: {e}")))?;
                Value::Json(Box::new(j))
            }
            t => return Err(DecodeError(format!("a value of kind {t}"))),
        })
    }

    pub fn record(&mut self) -> Result<Record<'static>> {
        let value = if self.bool()? {
            Some(self.value()?)
        } else {
            None
        };
        let n = self.count()?;
        let mut fields = Vec::with_capacity(n);
        for _ in 0..n {
            let name = Cow::Owned(self.str()?.to_string());
            fields.push((name, self.value()?));
        }
        Ok(Record {
            value,
            fields,
            raw: "",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn codec_round_trips(a in any::<u64>(), b in any::<i64>(), c in any::<f64>(), d in any::<i128>(), s in ".*", o in any::<Option<i64>>()) {
            let mut e = Encoder::new();
            e.u64(a); e.i64(b); e.f64(c); e.i128(d); e.str(&s); e.opt_i64(o); e.bool(true);
            let mut r = Decoder::new(&e.buf);
            prop_assert_eq!(r.u64().unwrap(), a);
            prop_assert_eq!(r.i64().unwrap(), b);
            prop_assert_eq!(r.f64().unwrap().to_bits(), c.to_bits());
            prop_assert_eq!(r.i128().unwrap(), d);
            prop_assert_eq!(r.str().unwrap(), s.as_str());
            prop_assert_eq!(r.opt_i64().unwrap(), o);
            prop_assert!(r.bool().unwrap());
            prop_assert!(r.finish().is_ok());
        }

        /// Any prefix or any bytes: an error or a value, never a panic.
        #[test]
        fn codec_never_panics_on_damage(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let mut r = Decoder::new(&bytes);
            let _ = r.u64();
            let _ = r.str();
            let _ = r.count();
            let _ = r.f64();
            let _ = r.i128();
            let _ = r.bool();
        }
    }

    #[test]
    fn codec_cut_short_is_an_error() {
        let mut e = Encoder::new();
        e.str("hello");
        for n in 0..e.buf.len() {
            assert!(Decoder::new(&e.buf[..n]).str().is_err());
        }
        let mut r = Decoder::new(&[0xff; 11]);
        assert!(r.u64().is_err());
    }
}
