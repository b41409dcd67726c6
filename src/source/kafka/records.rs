//! Record batches (the v2 message format, Kafka 0.11 and later): checked
//! (CRC-32C), decompressed (gzip, snappy in its raw and xerial framings,
//! lz4 frames, zstd: whatever a producer may have chosen) and walked
//! record by record without copying, each message handed to a callback
//! with its offset and timestamp. Control batches (transaction markers)
//! and records before the asked offset are skipped, but their offsets are
//! passed, so that a reader's position moves past them.

use std::fmt;
use std::io::Read;

/// One message of a partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Message<'a> {
    pub offset: i64,
    /// Where to fetch from to read the messages after this one: the next
    /// offset, or its batch's first offset when the batch goes on.
    pub fetch: i64,
    /// Milliseconds since the epoch, or -1 when the producer set none.
    pub timestamp_ms: i64,
    /// `None` for a null value (a tombstone).
    pub value: Option<&'a [u8]>,
}

/// Why a partition's records could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordError {
    /// The bytes are not what the format says (a CRC mismatch included).
    Corrupt { offset: i64, why: String },
    /// A message format or compression spate does not read.
    Unsupported { offset: i64, what: String },
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordError::Corrupt { offset, why } => {
                write!(f, "corrupt record batch at offset {offset}: {why}")
            }
            RecordError::Unsupported { offset, what } => {
                write!(
                    f,
                    "record batch at offset {offset}: {what} is not supported"
                )
            }
        }
    }
}

impl std::error::Error for RecordError {}

/// The size of a batch header up to its first record.
const HEADER: usize = 61;
/// Where the CRC'd part of a batch starts (its attributes).
const CRC_FROM: usize = 21;

const ATTR_COMPRESSION: i16 = 0x07;
const ATTR_LOG_APPEND_TIME: i16 = 0x08;
const ATTR_CONTROL: i16 = 0x20;

/// Walks record batches, keeping one buffer for decompressed records.
#[derive(Default)]
pub struct Decoder {
    scratch: Vec<u8>,
}

impl Decoder {
    /// Hands `each` every message of `data` (one partition's fetched
    /// records) with an offset in `from..stop`, in offset order. Returns
    /// the offset to read next: past the last whole batch walked (a fetch
    /// may end in a partial batch), at most `stop`, at least `from`.
    /// `each` returns false to stop the walk (the engine is gone).
    pub fn walk(
        &mut self,
        data: &[u8],
        from: i64,
        stop: i64,
        mut each: impl FnMut(Message<'_>) -> bool,
    ) -> Result<i64, RecordError> {
        let mut next = from;
        let mut at = 0;
        while data.len() - at >= 12 {
            let base = be_i64(&data[at..]);
            let len = be_i32(&data[at + 8..]);
            if len < 0 {
                return Err(corrupt(base, format!("a negative batch length {len}")));
            }
            let end = at + 12 + len as usize;
            if end > data.len() {
                // the fetch's size limit cut the last batch: asked again
                // from here next time
                break;
            }
            let batch = &data[at..end];
            at = end;
            if batch.len() < HEADER {
                if batch.len() > 16 && batch[16] < 2 {
                    return Err(old_format(base, batch[16]));
                }
                return Err(corrupt(base, "a batch shorter than its header".into()));
            }
            let magic = batch[16];
            if magic != 2 {
                return Err(old_format(base, magic));
            }
            let crc = u32::from_be_bytes([batch[17], batch[18], batch[19], batch[20]]);
            if crc32c::crc32c(&batch[CRC_FROM..]) != crc {
                return Err(corrupt(base, "CRC-32C mismatch".into()));
            }
            let attributes = be_i16(&batch[21..]);
            let last_delta = be_i32(&batch[23..]);
            let base_ts = be_i64(&batch[27..]);
            let max_ts = be_i64(&batch[35..]);
            let count = be_i32(&batch[57..]);
            let batch_next = base.saturating_add(i64::from(last_delta)).saturating_add(1);
            if batch_next <= next {
                continue;
            }
            if attributes & ATTR_CONTROL == 0 {
                let records: &[u8] = match attributes & ATTR_COMPRESSION {
                    0 => &batch[HEADER..],
                    codec => {
                        self.scratch.clear();
                        decompress(codec, &batch[HEADER..], &mut self.scratch)
                            .map_err(|why| corrupt(base, why))?;
                        &self.scratch
                    }
                };
                let log_append = attributes & ATTR_LOG_APPEND_TIME != 0;
                let mut r = Varints {
                    buf: records,
                    at: 0,
                };
                for _ in 0..count.max(0) {
                    let rec = r
                        .record(base, base_ts)
                        .ok_or_else(|| corrupt(base, "a record runs past its batch".into()))?;
                    if rec.offset < next {
                        continue;
                    }
                    if rec.offset >= stop {
                        return Ok(stop);
                    }
                    let m = Message {
                        timestamp_ms: if log_append { max_ts } else { rec.timestamp_ms },
                        // read on from inside this batch: fetched from its
                        // start (see `PartitionOffset::fetch`)
                        fetch: if rec.offset + 1 < batch_next {
                            base
                        } else {
                            rec.offset + 1
                        },
                        ..rec
                    };
                    next = rec.offset + 1;
                    if !each(m) {
                        return Ok(next);
                    }
                }
            }
            next = batch_next.min(stop).max(next);
            if next >= stop {
                return Ok(stop);
            }
        }
        Ok(next)
    }
}

fn corrupt(offset: i64, why: String) -> RecordError {
    RecordError::Corrupt { offset, why }
}

fn old_format(offset: i64, magic: u8) -> RecordError {
    RecordError::Unsupported {
        offset,
        what: format!("message format v{magic} (written before Kafka 0.11)"),
    }
}

fn be_i16(b: &[u8]) -> i16 {
    i16::from_be_bytes([b[0], b[1]])
}
fn be_i32(b: &[u8]) -> i32 {
    i32::from_be_bytes([b[0], b[1], b[2], b[3]])
}
fn be_i64(b: &[u8]) -> i64 {
    let mut a = [0; 8];
    a.copy_from_slice(&b[..8]);
    i64::from_be_bytes(a)
}

/// The records of a batch: zigzag varints and the bytes they measure.
struct Varints<'a> {
    buf: &'a [u8],
    at: usize,
}

impl<'a> Varints<'a> {
    fn varlong(&mut self) -> Option<i64> {
        let mut v: u64 = 0;
        for shift in (0..70).step_by(7) {
            let b = *self.buf.get(self.at)?;
            self.at += 1;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Some((v >> 1) as i64 ^ -((v & 1) as i64));
            }
        }
        None
    }

    fn take(&mut self, len: i64) -> Option<Option<&'a [u8]>> {
        if len < 0 {
            return Some(None);
        }
        let end = self.at.checked_add(usize::try_from(len).ok()?)?;
        let s = self.buf.get(self.at..end)?;
        self.at = end;
        Some(Some(s))
    }

    /// One record; its headers are skipped by its length.
    fn record(&mut self, base: i64, base_ts: i64) -> Option<Message<'a>> {
        let len = usize::try_from(self.varlong()?).ok()?;
        let start = self.at;
        let end = start.checked_add(len)?;
        if end > self.buf.len() {
            return None;
        }
        self.at += 1; // attributes, unused
        let ts_delta = self.varlong()?;
        let off_delta = self.varlong()?;
        let key_len = self.varlong()?;
        self.take(key_len)?;
        let value_len = self.varlong()?;
        let value = self.take(value_len)?;
        if self.at > end {
            return None;
        }
        self.at = end;
        Some(Message {
            offset: base.saturating_add(off_delta),
            fetch: -1,
            timestamp_ms: if base_ts < 0 {
                -1
            } else {
                base_ts.saturating_add(ts_delta)
            },
            value,
        })
    }
}

/// The xerial framing some producers (the Java client) wrap snappy in.
const XERIAL: &[u8] = b"\x82SNAPPY\0";

fn decompress(codec: i16, data: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
    match codec {
        1 => flate2::read::MultiGzDecoder::new(data)
            .read_to_end(out)
            .map(drop)
            .map_err(|e| format!("gzip: {e}")),
        2 if data.starts_with(XERIAL) => {
            // magic, version, compatible version, then (length, block)...
            let mut at = 16;
            while at < data.len() {
                let len = data
                    .get(at..at + 4)
                    .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
                    .ok_or("snappy: a truncated block length")?;
                let block = data
                    .get(at + 4..at + 4 + len)
                    .ok_or("snappy: a truncated block")?;
                snappy_raw(block, out)?;
                at += 4 + len;
            }
            Ok(())
        }
        2 => snappy_raw(data, out),
        3 => lz4_flex::frame::FrameDecoder::new(data)
            .read_to_end(out)
            .map(drop)
            .map_err(|e| format!("lz4: {e}")),
        4 => {
            let mut d =
                ruzstd::decoding::StreamingDecoder::new(data).map_err(|e| format!("zstd: {e}"))?;
            d.read_to_end(out)
                .map(drop)
                .map_err(|e| format!("zstd: {e}"))
        }
        other => Err(format!("unknown compression codec {other}")),
    }
}

fn snappy_raw(block: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
    let n = snap::raw::decompress_len(block).map_err(|e| format!("snappy: {e}"))?;
    let at = out.len();
    out.resize(at + n, 0);
    snap::raw::Decoder::new()
        .decompress(block, &mut out[at..])
        .map(drop)
        .map_err(|e| format!("snappy: {e}"))
}

/// Record batches as a producer writes them, for tests of this reader
/// and of the source.
#[cfg(test)]
pub mod build {
    use std::io::Write;

    fn varlong(out: &mut Vec<u8>, v: i64) {
        let mut z = ((v << 1) ^ (v >> 63)) as u64;
        loop {
            if z < 0x80 {
                out.push(z as u8);
                return;
            }
            out.push((z as u8 & 0x7f) | 0x80);
            z >>= 7;
        }
    }

    /// A batch of `values` (with timestamps) from `base`, compressed
    /// with `codec` (0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd), `attrs`
    /// or'ed into its attributes.
    pub fn batch(base: i64, msgs: &[(i64, Option<&[u8]>)], codec: i16, attrs: i16) -> Vec<u8> {
        let base_ts = msgs.first().map_or(0, |m| m.0);
        let mut recs = Vec::new();
        for (i, (ts, value)) in msgs.iter().enumerate() {
            let mut r = vec![0u8];
            varlong(&mut r, ts - base_ts);
            varlong(&mut r, i as i64);
            varlong(&mut r, -1); // no key
            match value {
                Some(v) => {
                    varlong(&mut r, v.len() as i64);
                    r.extend_from_slice(v);
                }
                None => varlong(&mut r, -1),
            }
            varlong(&mut r, 1); // one header, skipped by length
            varlong(&mut r, 1);
            r.push(b'h');
            varlong(&mut r, 1);
            r.push(b'v');
            varlong(&mut recs, r.len() as i64);
            recs.extend_from_slice(&r);
        }
        let recs = match codec {
            0 => recs,
            1 => {
                let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                e.write_all(&recs).unwrap();
                e.finish().unwrap()
            }
            2 => snap::raw::Encoder::new().compress_vec(&recs).unwrap(),
            3 => {
                let mut e = lz4_flex::frame::FrameEncoder::new(Vec::new());
                e.write_all(&recs).unwrap();
                e.finish().unwrap()
            }
            4 => ruzstd::encoding::compress_to_vec(
                &recs[..],
                ruzstd::encoding::CompressionLevel::Fastest,
            ),
            _ => panic!("codec {codec} is not written by tests"),
        };
        let max_ts = msgs.iter().map(|m| m.0).max().unwrap_or(0);
        let mut tail = Vec::new();
        tail.extend_from_slice(&(codec | attrs).to_be_bytes());
        tail.extend_from_slice(&((msgs.len() as i32 - 1).max(0)).to_be_bytes());
        tail.extend_from_slice(&base_ts.to_be_bytes());
        tail.extend_from_slice(&max_ts.to_be_bytes());
        tail.extend_from_slice(&(-1i64).to_be_bytes()); // producer id
        tail.extend_from_slice(&(-1i16).to_be_bytes());
        tail.extend_from_slice(&(-1i32).to_be_bytes());
        tail.extend_from_slice(&(msgs.len() as i32).to_be_bytes());
        tail.extend_from_slice(&recs);
        let mut b = Vec::new();
        b.extend_from_slice(&base.to_be_bytes());
        b.extend_from_slice(&((tail.len() + 9) as i32).to_be_bytes());
        b.extend_from_slice(&0i32.to_be_bytes()); // leader epoch
        b.push(2);
        b.extend_from_slice(&crc32c::crc32c(&tail).to_be_bytes());
        b.extend_from_slice(&tail);
        b
    }
}

#[cfg(test)]
mod tests {
    use super::build::batch;
    use super::*;

    type Got = Vec<(i64, i64, Option<Vec<u8>>)>;

    fn walk(data: &[u8], from: i64, stop: i64) -> (Result<i64, RecordError>, Got) {
        let mut got = Vec::new();
        let r = Decoder::default().walk(data, from, stop, |m| {
            got.push((m.offset, m.timestamp_ms, m.value.map(<[u8]>::to_vec)));
            true
        });
        (r, got)
    }

    fn msgs() -> Vec<(i64, Option<&'static [u8]>)> {
        vec![
            (1_700_000_000_000, Some(&b"a"[..])),
            (1_700_000_000_005, None),
            (1_700_000_000_002, Some(&b"b\nc"[..])),
        ]
    }

    #[test]
    fn kafka_records_every_codec_gives_the_same_messages() {
        let want: Got = vec![
            (10, 1_700_000_000_000, Some(b"a".to_vec())),
            (11, 1_700_000_000_005, None),
            (12, 1_700_000_000_002, Some(b"b\nc".to_vec())),
        ];
        for codec in 0..5 {
            let (next, got) = walk(&batch(10, &msgs(), codec, 0), 0, i64::MAX);
            assert_eq!(next, Ok(13), "codec {codec}");
            assert_eq!(got, want, "codec {codec}");
        }
    }

    #[test]
    fn kafka_records_zstd_frames_of_the_reference_tool_decode() {
        // `printf hello | zstd -c`: a frame with a checksum, as librdkafka
        // and the Java client write them
        let frame: &[u8] = &[
            0x28, 0xb5, 0x2f, 0xfd, 0x04, 0x58, 0x29, 0x00, 0x00, b'h', b'e', b'l', b'l', b'o',
            0xa3, 0x6d, 0x9f, 0x88,
        ];
        let mut out = Vec::new();
        decompress(4, frame, &mut out).unwrap();
        assert_eq!(out, b"hello");
    }

    #[test]
    fn kafka_records_xerial_snappy_is_unwrapped() {
        let block = snap::raw::Encoder::new().compress_vec(b"hello ").unwrap();
        let block2 = snap::raw::Encoder::new().compress_vec(b"world").unwrap();
        let mut framed = XERIAL.to_vec();
        framed.extend_from_slice(&1i32.to_be_bytes());
        framed.extend_from_slice(&1i32.to_be_bytes());
        for b in [&block, &block2] {
            framed.extend_from_slice(&(b.len() as u32).to_be_bytes());
            framed.extend_from_slice(b);
        }
        let mut out = Vec::new();
        decompress(2, &framed, &mut out).unwrap();
        assert_eq!(out, b"hello world");
    }

    #[test]
    fn kafka_records_skip_before_from_and_stop_at_stop() {
        let mut data = batch(0, &msgs(), 0, 0);
        data.extend(batch(3, &msgs(), 1, 0));
        let (next, got) = walk(&data, 2, 5);
        assert_eq!(next, Ok(5));
        assert_eq!(got.iter().map(|g| g.0).collect::<Vec<_>>(), [2, 3, 4]);
        // a batch wholly before `from` is passed over
        let (next, got) = walk(&data, 4, i64::MAX);
        assert_eq!(next, Ok(6));
        assert_eq!(got.len(), 2);
    }

    #[test]
    fn kafka_records_partial_last_batch_is_left_for_next_fetch() {
        let mut data = batch(0, &msgs(), 0, 0);
        let second = batch(3, &msgs(), 0, 0);
        data.extend_from_slice(&second[..second.len() - 5]);
        let (next, got) = walk(&data, 0, i64::MAX);
        assert_eq!(next, Ok(3));
        assert_eq!(got.len(), 3);
    }

    #[test]
    fn kafka_records_control_batches_move_the_position_only() {
        let data = batch(7, &[(0, Some(&b"\0\0\0\0"[..]))], 0, ATTR_CONTROL);
        let (next, got) = walk(&data, 7, i64::MAX);
        assert_eq!((next, got.len()), (Ok(8), 0));
    }

    #[test]
    fn kafka_records_log_append_time_is_the_batch_time() {
        let data = batch(0, &msgs(), 0, ATTR_LOG_APPEND_TIME);
        let (_, got) = walk(&data, 0, i64::MAX);
        assert!(got.iter().all(|g| g.1 == 1_700_000_000_005));
    }

    #[test]
    fn kafka_records_corruption_is_an_error_never_a_panic() {
        let data = batch(0, &msgs(), 1, 0);
        let (r, _) = walk(&data, 0, i64::MAX);
        assert!(r.is_ok());
        for i in 0..data.len() {
            for bit in [0x01, 0x80] {
                let mut bad = data.clone();
                bad[i] ^= bit;
                let _ = walk(&bad, 0, i64::MAX);
            }
        }
        let mut bad = data.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert!(matches!(
            walk(&bad, 0, i64::MAX).0,
            Err(RecordError::Corrupt { .. })
        ));
        let mut old = data;
        old[16] = 1;
        assert!(matches!(
            walk(&old, 0, i64::MAX).0,
            Err(RecordError::Unsupported { .. })
        ));
    }
}
