//! Compressed input, told by its first bytes and never by its name: gzip
//! (every member of a multi-member file, as logrotate and pigz write them),
//! zstd (every frame, skippable ones skipped), bzip2 (every stream, as
//! pbzip2 writes them) and xz (every stream). Decoding runs on the reader's
//! thread, straight into the chunk reader's buffers, so the engine keeps
//! every core.
//!
//! The crates, chosen for speed and upkeep, none needing more than a C
//! compiler: flate2 on zlib-rs (pure Rust, as fast as zlib-ng), the `zstd`
//! crate (the reference C library), bzip2 on libbz2-rs-sys (pure Rust, as
//! fast as libbzip2), and liblzma (xz's own C code, built from source;
//! about a quarter less CPU than the pure-Rust lzma-rust2 here).
//!
//! A damaged or truncated stream ends its input as its end would: the
//! lines decoded before it go on, and [`Decoded::damage`] says what broke
//! and where, counted in bytes of the compressed input.

use std::fmt;
use std::io::{self, BufRead, ErrorKind, Read};
use std::sync::atomic::Ordering;

/// A compression format spate reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    Gzip,
    Zstd,
    Bzip2,
    Xz,
}

/// How many first bytes [`Codec::sniff`] needs, at most, to decide.
pub const MAGIC_BYTES: usize = 6;

impl Codec {
    pub fn name(self) -> &'static str {
        match self {
            Codec::Gzip => "gzip",
            Codec::Zstd => "zstd",
            Codec::Bzip2 => "bzip2",
            Codec::Xz => "xz",
        }
    }

    /// The format whose magic bytes `head` starts with. None of them can
    /// start a line of UTF-8 text a log would hold.
    pub fn sniff(head: &[u8]) -> Option<Codec> {
        MAGIC.iter().find_map(|&(codec, magic)| {
            (head.len() >= magic.len() && fits(head, magic)).then_some(codec)
        })
    }

    /// Whether `head`, the first bytes of an input, may still turn out to
    /// be a format's magic once more bytes come: a pipe's first line that
    /// is shorter than a magic is not held back waiting for more.
    pub fn undecided(head: &[u8]) -> bool {
        Codec::sniff(head).is_none()
            && MAGIC
                .iter()
                .any(|&(_, magic)| head.len() < magic.len() && fits(head, magic))
    }
}

/// Each format's magic bytes, each byte a range.
const MAGIC: [(Codec, &[(u8, u8)]); 5] = [
    // ID1 ID2: SPEC's gzip magic; a method byte other than 8 (deflate,
    // the only one there is) is then a damaged stream, not text
    (Codec::Gzip, &[(0x1f, 0x1f), (0x8b, 0x8b)]),
    (
        Codec::Zstd,
        &[(0x28, 0x28), (0xb5, 0xb5), (0x2f, 0x2f), (0xfd, 0xfd)],
    ),
    // a skippable frame (pzstd starts with one): 0x184D2A5?
    (
        Codec::Zstd,
        &[(0x50, 0x5f), (0x2a, 0x2a), (0x4d, 0x4d), (0x18, 0x18)],
    ),
    // "BZh" and the block size, 1 to 9
    (
        Codec::Bzip2,
        &[(b'B', b'B'), (b'Z', b'Z'), (b'h', b'h'), (b'1', b'9')],
    ),
    (
        Codec::Xz,
        &[
            (0xfd, 0xfd),
            (b'7', b'7'),
            (b'z', b'z'),
            (b'X', b'X'),
            (b'Z', b'Z'),
            (0, 0),
        ],
    ),
];

/// Whether the bytes of `head` that `magic` covers are in its ranges.
fn fits(head: &[u8], magic: &[(u8, u8)]) -> bool {
    head.iter()
        .zip(magic)
        .all(|(b, &(lo, hi))| (lo..=hi).contains(b))
}

/// How much compressed input is read at once.
const RAW_BUF: usize = 256 * 1024;

/// An input's raw bytes, read ahead so that its first bytes can be looked
/// at and a decoder can take them as it needs: counts the bytes read (for
/// the progress bar, against the file's size) and the bytes a decoder
/// consumed (where damage was found), and keeps a failed read apart from
/// a decoding error.
pub struct Raw<R> {
    inner: R,
    buf: Box<[u8]>,
    pos: usize,
    end: usize,
    consumed: u64,
    /// A read of `inner` failed: what a decoder then reports is that
    /// failure, not damage.
    failed: bool,
}

impl<R: Read> Raw<R> {
    pub fn new(inner: R) -> Self {
        Raw {
            inner,
            buf: vec![0; RAW_BUF].into_boxed_slice(),
            pos: 0,
            end: 0,
            consumed: 0,
            failed: false,
        }
    }

    fn read_inner(&mut self, into: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.inner.read(into) {
                Ok(n) => {
                    super::BYTES_READ.fetch_add(n as u64, Ordering::Relaxed);
                    return Ok(n);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.failed = true;
                    return Err(e);
                }
            }
        }
    }

    /// The first bytes, read until `more` says they are enough or the
    /// input ends (a pipe may hand them over a few at a time).
    pub fn peek(&mut self, more: impl Fn(&[u8]) -> bool) -> io::Result<&[u8]> {
        while more(&self.buf[self.pos..self.end]) {
            if self.end == self.buf.len() {
                break;
            }
            let end = self.end;
            let got = {
                let mut spare = std::mem::take(&mut self.buf);
                let r = self.read_inner(&mut spare[end..]);
                self.buf = spare;
                r?
            };
            if got == 0 {
                break;
            }
            self.end += got;
        }
        Ok(&self.buf[self.pos..self.end])
    }

    /// Bytes handed out so far.
    pub fn consumed(&self) -> u64 {
        self.consumed
    }

    /// Bytes read and not handed out yet.
    fn buffered(&self) -> usize {
        self.end - self.pos
    }
}

impl<R: Read> Read for Raw<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.pos == self.end && out.len() >= self.buf.len() {
            // a large read of a plain file goes straight to it
            let n = self.read_inner(out)?;
            self.consumed += n as u64;
            return Ok(n);
        }
        let n = {
            let have = self.fill_buf()?;
            let n = have.len().min(out.len());
            out[..n].copy_from_slice(&have[..n]);
            n
        };
        self.consume(n);
        Ok(n)
    }
}

impl<R: Read> BufRead for Raw<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.pos == self.end {
            let mut spare = std::mem::take(&mut self.buf);
            let r = self.read_inner(&mut spare);
            self.buf = spare;
            self.end = r?;
            self.pos = 0;
        }
        Ok(&self.buf[self.pos..self.end])
    }

    fn consume(&mut self, n: usize) {
        let n = n.min(self.end - self.pos);
        self.pos += n;
        self.consumed += n as u64;
    }
}

/// A decoder over raw input.
enum Decoder<R: BufRead> {
    Gzip(flate2::bufread::MultiGzDecoder<R>),
    Zstd(zstd::stream::read::Decoder<'static, R>),
    Bzip2(Bunzip<R>),
    Xz(Unxz<R>),
}

/// Every xz stream of its input, as liblzma's own reader decodes them,
/// except that the bytes decoded in the call that found damage are
/// returned (the damage then comes with the next call): liblzma counts
/// its output even when it fails.
struct Unxz<R> {
    raw: R,
    stream: liblzma::stream::Stream,
    failed: Option<io::Error>,
}

impl<R: BufRead> Unxz<R> {
    fn new(raw: R) -> io::Result<Self> {
        let stream =
            liblzma::stream::Stream::new_stream_decoder(u64::MAX, liblzma::stream::CONCATENATED)
                .map_err(io::Error::other)?;
        Ok(Unxz {
            raw,
            stream,
            failed: None,
        })
    }
}

impl<R: BufRead> Read for Unxz<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        use liblzma::stream::{Action, Status};
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        if out.is_empty() {
            return Ok(0);
        }
        loop {
            let input = self.raw.fill_buf()?;
            let eof = input.is_empty();
            let (in0, out0) = (self.stream.total_in(), self.stream.total_out());
            let action = if eof { Action::Finish } else { Action::Run };
            let ret = self.stream.process(input, out, action);
            let wrote = (self.stream.total_out() - out0) as usize;
            let took = (self.stream.total_in() - in0) as usize;
            self.raw.consume(took);
            let status = match ret {
                Ok(s) => s,
                Err(e) => {
                    let e = io::Error::new(ErrorKind::InvalidData, e);
                    if wrote == 0 {
                        return Err(e);
                    }
                    self.failed = Some(e);
                    return Ok(wrote);
                }
            };
            if wrote > 0 || status == Status::StreamEnd {
                return Ok(wrote);
            }
            if eof {
                return Err(io::Error::new(ErrorKind::UnexpectedEof, "premature eof"));
            }
            if took == 0 {
                return Err(io::Error::new(ErrorKind::InvalidData, "corrupt xz stream"));
            }
        }
    }
}

/// Every bzip2 stream of its input, as the bzip2 crate's reader decodes
/// them, except that the bytes decoded in the call that found damage are
/// returned (the damage then comes with the next call).
struct Bunzip<R> {
    raw: R,
    data: bzip2::Decompress,
    /// The current stream ended: another may follow.
    done: bool,
    failed: Option<io::Error>,
}

impl<R: BufRead> Bunzip<R> {
    fn new(raw: R) -> Self {
        Bunzip {
            raw,
            data: bzip2::Decompress::new(false),
            done: false,
            failed: None,
        }
    }
}

impl<R: BufRead> Read for Bunzip<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        if out.is_empty() {
            return Ok(0);
        }
        loop {
            let input = self.raw.fill_buf()?;
            if self.done {
                if input.is_empty() {
                    return Ok(0);
                }
                // the next stream
                self.data = bzip2::Decompress::new(false);
                self.done = false;
            }
            let remaining = input.len();
            let (in0, out0) = (self.data.total_in(), self.data.total_out());
            let ret = self.data.decompress(input, out);
            let wrote = (self.data.total_out() - out0) as usize;
            let took = (self.data.total_in() - in0) as usize;
            self.raw.consume(took);
            match ret {
                Err(e) => {
                    let e = io::Error::new(ErrorKind::InvalidData, e);
                    if wrote == 0 {
                        return Err(e);
                    }
                    self.failed = Some(e);
                    return Ok(wrote);
                }
                Ok(bzip2::Status::StreamEnd) => self.done = true,
                Ok(_) if took == 0 && remaining == 0 && wrote == 0 => {
                    return Err(io::Error::new(
                        ErrorKind::UnexpectedEof,
                        "decompression not finished but EOF reached",
                    ));
                }
                Ok(_) => {}
            }
            if wrote > 0 {
                return Ok(wrote);
            }
        }
    }
}

/// What broke a compressed input, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    pub codec: Codec,
    /// Bytes of the compressed input consumed when it was found.
    pub offset: u64,
    /// The input ended inside the stream.
    pub truncated: bool,
    pub detail: String,
}

impl fmt::Display for Damage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let codec = self.codec.name();
        if self.truncated {
            write!(
                f,
                "{codec} stream truncated: the compressed input ends at byte {} inside it ({})",
                self.offset, self.detail
            )
        } else {
            write!(
                f,
                "{codec} stream damaged at byte {} of the compressed input ({})",
                self.offset, self.detail
            )
        }
    }
}

/// Decoded input that ends at the first damage as at its end.
pub struct Decoded<R: Read> {
    dec: Decoder<Raw<R>>,
    codec: Codec,
    damage: Option<Damage>,
    /// A failed read found after some bytes were decoded: returned next.
    failed: Option<io::Error>,
}

impl<R: Read> Decoded<R> {
    pub fn new(codec: Codec, raw: Raw<R>) -> io::Result<Self> {
        let dec = match codec {
            Codec::Gzip => Decoder::Gzip(flate2::bufread::MultiGzDecoder::new(raw)),
            Codec::Zstd => Decoder::Zstd(zstd::stream::read::Decoder::with_buffer(raw)?),
            Codec::Bzip2 => Decoder::Bzip2(Bunzip::new(raw)),
            Codec::Xz => Decoder::Xz(Unxz::new(raw)?),
        };
        Ok(Decoded {
            dec,
            codec,
            damage: None,
            failed: None,
        })
    }

    fn raw(&self) -> &Raw<R> {
        match &self.dec {
            Decoder::Gzip(d) => d.get_ref(),
            Decoder::Zstd(d) => d.get_ref(),
            Decoder::Bzip2(d) => &d.raw,
            Decoder::Xz(d) => &d.raw,
        }
    }

    /// What ended the input early, if something did.
    pub fn damage(&self) -> Option<&Damage> {
        self.damage.as_ref()
    }
}

impl<R: Read> Decoded<R> {
    /// One call of the decoder.
    fn step(&mut self, out: &mut [u8]) -> io::Result<usize> {
        match &mut self.dec {
            Decoder::Gzip(d) => d.read(out),
            Decoder::Zstd(d) => d.read(out),
            Decoder::Bzip2(d) => d.read(out),
            Decoder::Xz(d) => d.read(out),
        }
    }
}

/// The most a decoder writes in one call. A call that finds damage
/// returns the error and not the bytes it wrote before it, so this bounds
/// what a damaged stream loses just before the damage; and decoders
/// consume input per call, so it sharpens the offset.
const STEP: usize = 32 * 1024;

impl<R: Read> Read for Decoded<R> {
    /// Fills `out` in steps, so that the engine still gets large chunks,
    /// but returns early when the raw input has nothing buffered (a pipe
    /// that has said all it has for now keeps its lines flowing).
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        let mut filled = 0;
        while filled < out.len() && self.damage.is_none() {
            if filled > 0 && self.raw().buffered() == 0 {
                break;
            }
            let end = (filled + STEP).min(out.len());
            match self.step(&mut out[filled..end]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                // the file could not be read: not the stream's fault
                Err(e) if self.raw().failed => {
                    if filled == 0 {
                        return Err(e);
                    }
                    self.failed = Some(e);
                    break;
                }
                Err(e) => {
                    let truncated = e.kind() == ErrorKind::UnexpectedEof;
                    self.damage = Some(Damage {
                        codec: self.codec,
                        offset: self.raw().consumed(),
                        truncated,
                        detail: e.to_string(),
                    });
                }
            }
        }
        Ok(filled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn text(lines: usize) -> Vec<u8> {
        (0..lines)
            .flat_map(|i| format!("line {i} of some text to compress\n").into_bytes())
            .collect()
    }

    fn compress(codec: Codec, data: &[u8]) -> Vec<u8> {
        match codec {
            Codec::Gzip => {
                let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                e.write_all(data).expect("gzip in memory");
                e.finish().expect("gzip in memory")
            }
            Codec::Zstd => {
                // with a checksum, as the zstd command writes by default:
                // without one, damage may decode to other bytes unseen
                let mut e = zstd::stream::Encoder::new(Vec::new(), 3).expect("zstd in memory");
                e.include_checksum(true).expect("zstd in memory");
                e.write_all(data).expect("zstd in memory");
                e.finish().expect("zstd in memory")
            }
            Codec::Bzip2 => {
                let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
                e.write_all(data).expect("bzip2 in memory");
                e.finish().expect("bzip2 in memory")
            }
            Codec::Xz => {
                let mut e = liblzma::write::XzEncoder::new(Vec::new(), 1);
                e.write_all(data).expect("xz in memory");
                e.finish().expect("xz in memory")
            }
        }
    }

    const ALL: [Codec; 4] = [Codec::Gzip, Codec::Zstd, Codec::Bzip2, Codec::Xz];

    /// Reads everything a decoder gives, in reads as large as the chunk
    /// reader's.
    fn decode(data: &[u8]) -> (Vec<u8>, Option<Damage>) {
        let mut raw = Raw::new(data);
        let head = raw.peek(Codec::undecided).expect("in memory").to_vec();
        let codec = Codec::sniff(&head).expect("a compressed test input");
        let mut d = Decoded::new(codec, raw).expect("decoder");
        let mut out = Vec::new();
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = d.read(&mut buf).expect("no I/O error in memory");
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
        (out, d.damage().cloned())
    }

    #[test]
    fn decompress_every_codec_round_trips_and_is_sniffed() {
        let data = text(20_000);
        for codec in ALL {
            let packed = compress(codec, &data);
            assert_eq!(Codec::sniff(&packed), Some(codec));
            let (out, damage) = decode(&packed);
            assert_eq!(damage, None, "{codec:?}");
            assert!(out == data, "{codec:?}");
        }
    }

    #[test]
    fn decompress_reads_every_member_frame_and_stream() {
        let (a, b) = (text(100), b"after the join\n".to_vec());
        for codec in ALL {
            let mut packed = compress(codec, &a);
            packed.extend(compress(codec, &b));
            let (out, damage) = decode(&packed);
            assert_eq!(damage, None, "{codec:?}");
            assert_eq!(out, [a.clone(), b.clone()].concat(), "{codec:?}");
        }
    }

    #[test]
    fn decompress_zstd_skippable_frame_first() {
        let mut packed = vec![0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 1, 2, 3];
        packed.extend(compress(Codec::Zstd, b"x\n"));
        assert_eq!(Codec::sniff(&packed), Some(Codec::Zstd));
        assert_eq!(decode(&packed), (b"x\n".to_vec(), None));
    }

    #[test]
    fn decompress_truncation_is_damage_at_the_end() {
        let data = text(20_000);
        for codec in ALL {
            let packed = compress(codec, &data);
            let cut = &packed[..packed.len() * 2 / 3];
            let (out, damage) = decode(cut);
            let damage = damage.unwrap_or_else(|| panic!("{codec:?}: truncation not seen"));
            assert!(damage.truncated, "{codec:?}: {damage}");
            assert_eq!(damage.offset, cut.len() as u64, "{codec:?}");
            // what came out is the start of the text
            assert!(data.starts_with(&out), "{codec:?}");
            assert!(out.len() > data.len() / 3, "{codec:?}: {} bytes", out.len());
        }
    }

    #[test]
    fn decompress_corruption_is_damage_within_the_input() {
        let data = text(20_000);
        for codec in ALL {
            let mut packed = compress(codec, &data);
            let at = packed.len() / 2;
            for b in &mut packed[at..at + 64] {
                *b ^= 0x5a;
            }
            let (_, damage) = decode(&packed);
            let damage = damage.unwrap_or_else(|| panic!("{codec:?}: damage not seen"));
            assert!(damage.offset <= packed.len() as u64, "{codec:?}: {damage}");
            assert!(damage.to_string().contains(codec.name()), "{damage}");
        }
    }

    #[test]
    fn decompress_damage_at_the_end_keeps_what_came_before() {
        // a bad checksum at the end of the stream: every byte before it
        // decoded right, and all but the last step's are kept
        let data = text(50_000);
        for codec in ALL {
            let mut packed = compress(codec, &data);
            let n = packed.len();
            // gzip: CRC32 then size; zstd: the checksum; xz: the index and
            // footer; bzip2: the stream CRC in the last bytes
            let at = match codec {
                Codec::Gzip => n - 8,
                Codec::Zstd => n - 4,
                Codec::Bzip2 => n - 3,
                Codec::Xz => n - 40,
            };
            packed[at] ^= 0x01;
            let (out, damage) = decode(&packed);
            assert!(damage.is_some(), "{codec:?}: damage not seen");
            assert!(data.starts_with(&out), "{codec:?}");
            let lost = data.len() - out.len();
            // zstd does not say what it wrote in the call that failed
            let most = if codec == Codec::Zstd { 32 * 1024 } else { 0 };
            assert!(
                lost <= most,
                "{codec:?}: lost {lost} of {} bytes",
                data.len()
            );
        }
    }

    #[test]
    fn decompress_sniffing_stops_as_soon_as_it_can_decide() {
        // a short first line is no magic: decided at once
        for head in [&b"a"[..], b"ab\n", b"\x1f\n", b"B\n", b"BZx", b"\xfd7zX\n"] {
            assert!(!Codec::undecided(head), "{head:?}");
        }
        for head in [&b""[..], b"\x1f", b"BZh", b"\xfd7zXZ", b"\x5a*M"] {
            assert!(Codec::undecided(head), "{head:?}");
        }
        // gzip's two magic bytes decide it
        assert!(!Codec::undecided(b"\x1f\x8b"));
        assert_eq!(Codec::sniff(b"\x1f\x8b\x09"), Some(Codec::Gzip));
        assert_eq!(Codec::sniff(b"\x5a*M\x18"), Some(Codec::Zstd));
    }

    #[test]
    fn decompress_plain_text_is_not_sniffed() {
        for head in [
            &b"hello"[..],
            b"",
            b"\x1f",
            b"BZh",
            b"BZhx",
            b"\xef\xbb\xbfa",
        ] {
            assert_eq!(Codec::sniff(head), None, "{head:?}");
        }
    }

    #[test]
    fn decompress_raw_peek_gathers_small_reads_and_counts_consumption() -> io::Result<()> {
        /// Hands out one byte per read.
        struct Drip<'a>(&'a [u8]);
        impl Read for Drip<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let Some((&b, rest)) = self.0.split_first() else {
                    return Ok(0);
                };
                buf[0] = b;
                self.0 = rest;
                Ok(1)
            }
        }
        let mut raw = Raw::new(Drip(b"0123456789"));
        assert_eq!(raw.peek(|h| h.len() < 6)?, b"012345");
        assert_eq!(raw.consumed(), 0);
        let mut all = Vec::new();
        raw.read_to_end(&mut all)?;
        assert_eq!(all, b"0123456789");
        assert_eq!(raw.consumed(), 10);
        let mut short = Raw::new(Drip(b"ab"));
        assert_eq!(short.peek(|h| h.len() < 6)?, b"ab");
        Ok(())
    }

    #[test]
    fn decompress_a_failed_read_is_an_error_not_damage() {
        struct Fails(bool);
        impl Read for Fails {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if std::mem::replace(&mut self.0, false) {
                    buf[..3].copy_from_slice(&[0x1f, 0x8b, 0x08]);
                    return Ok(3);
                }
                Err(io::Error::other("disk on fire"))
            }
        }
        let mut raw = Raw::new(Fails(true));
        let head = raw.peek(|h| h.len() < 3).expect("first read").to_vec();
        let mut d = Decoded::new(Codec::sniff(&head).expect("gzip"), raw).expect("decoder");
        let mut buf = [0u8; 100];
        let e = d.read(&mut buf).expect_err("the read fails");
        assert!(e.to_string().contains("disk on fire"), "{e}");
        assert!(d.damage().is_none());
    }
}
