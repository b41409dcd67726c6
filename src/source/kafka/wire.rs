//! The Kafka wire protocol, as much of it as a reader needs: the framing
//! of requests and responses, the primitive types, and the seven requests
//! spate sends (ApiVersions, Metadata, ListOffsets, Fetch, FindCoordinator,
//! OffsetCommit, OffsetFetch), each in one or two non-flexible versions
//! that every broker since Kafka 1.0 and Kafka 4 still speaks. Record
//! batches inside a Fetch response are decoded in `records.rs`, straight
//! from the response buffer.
//!
//! Decoding never trusts a length: every read is checked against the
//! buffer, and a short or malformed response is an error, never a panic.

use std::fmt;

/// API keys (the protocol's numbers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    Fetch = 1,
    ListOffsets = 2,
    Metadata = 3,
    OffsetCommit = 8,
    OffsetFetch = 9,
    FindCoordinator = 10,
    ApiVersions = 18,
}

impl Api {
    pub fn name(self) -> &'static str {
        match self {
            Api::Fetch => "Fetch",
            Api::ListOffsets => "ListOffsets",
            Api::Metadata => "Metadata",
            Api::OffsetCommit => "OffsetCommit",
            Api::OffsetFetch => "OffsetFetch",
            Api::FindCoordinator => "FindCoordinator",
            Api::ApiVersions => "ApiVersions",
        }
    }

    /// The versions spate can speak, newest first.
    pub fn spoken(self) -> &'static [i16] {
        match self {
            Api::Fetch => &[4],
            Api::ListOffsets => &[1],
            Api::Metadata => &[4, 1],
            Api::OffsetCommit => &[2],
            Api::OffsetFetch => &[1],
            Api::FindCoordinator => &[1],
            Api::ApiVersions => &[0],
        }
    }
}

/// A response that does not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed(pub String);

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "malformed response: {}", self.0)
    }
}

impl std::error::Error for Malformed {}

pub type Result<T> = std::result::Result<T, Malformed>;

/// Writes a request body, big-endian as the protocol is.
#[derive(Default)]
pub struct Writer {
    pub buf: Vec<u8>,
}

impl Writer {
    /// A request frame: the size (filled in by [`Writer::finish`]) and the
    /// request header v1.
    pub fn request(api: Api, version: i16, correlation: i32, client_id: &str) -> Self {
        let mut w = Writer {
            buf: Vec::with_capacity(256),
        };
        w.i32(0);
        w.i16(api as i16);
        w.i16(version);
        w.i32(correlation);
        w.string(client_id);
        w
    }

    /// The frame, its size prefix set.
    pub fn finish(mut self) -> Vec<u8> {
        let size = (self.buf.len() - 4) as i32;
        self.buf[..4].copy_from_slice(&size.to_be_bytes());
        self.buf
    }

    pub fn i8(&mut self, v: i8) {
        self.buf.push(v as u8);
    }
    pub fn i16(&mut self, v: i16) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }
    pub fn i32(&mut self, v: i32) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }
    pub fn i64(&mut self, v: i64) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }
    pub fn string(&mut self, s: &str) {
        let len = i16::try_from(s.len()).unwrap_or(i16::MAX);
        self.i16(len);
        self.buf.extend_from_slice(&s.as_bytes()[..len as usize]);
    }
    pub fn null_string(&mut self) {
        self.i16(-1);
    }
    pub fn len(&mut self, n: usize) {
        self.i32(i32::try_from(n).unwrap_or(i32::MAX));
    }
}

/// Reads a response body.
#[derive(Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, at: 0 }
    }

    pub fn remaining(&self) -> usize {
        self.buf.len() - self.at
    }

    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.remaining() < n {
            return Err(Malformed(format!(
                "needed {n} more bytes at byte {}, {} left",
                self.at,
                self.remaining()
            )));
        }
        let s = &self.buf[self.at..self.at + n];
        self.at += n;
        Ok(s)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let b = self.bytes(N)?;
        let mut a = [0; N];
        a.copy_from_slice(b);
        Ok(a)
    }

    pub fn i8(&mut self) -> Result<i8> {
        Ok(i8::from_be_bytes(self.array()?))
    }
    pub fn i16(&mut self) -> Result<i16> {
        Ok(i16::from_be_bytes(self.array()?))
    }
    pub fn i32(&mut self) -> Result<i32> {
        Ok(i32::from_be_bytes(self.array()?))
    }
    pub fn i64(&mut self) -> Result<i64> {
        Ok(i64::from_be_bytes(self.array()?))
    }

    /// A string (`None` for the null string).
    pub fn nullable_string(&mut self) -> Result<Option<&'a str>> {
        let len = self.i16()?;
        if len < 0 {
            return Ok(None);
        }
        let b = self.bytes(len as usize)?;
        std::str::from_utf8(b)
            .map(Some)
            .map_err(|_| Malformed("a string that is not UTF-8".into()))
    }

    pub fn string(&mut self) -> Result<&'a str> {
        Ok(self.nullable_string()?.unwrap_or(""))
    }

    /// Bytes with an i32 length (`None` for null).
    pub fn nullable_bytes(&mut self) -> Result<Option<&'a [u8]>> {
        let len = self.i32()?;
        if len < 0 {
            return Ok(None);
        }
        self.bytes(len as usize).map(Some)
    }

    /// An array's element count (a null array is empty). Each element
    /// takes at least one byte, so a count larger than what is left is
    /// malformed rather than a reason to allocate.
    pub fn count(&mut self) -> Result<usize> {
        let n = self.i32()?;
        if n < 0 {
            return Ok(0);
        }
        let n = n as usize;
        if n > self.remaining() {
            return Err(Malformed(format!(
                "an array of {n} elements in {} bytes",
                self.remaining()
            )));
        }
        Ok(n)
    }
}

/// Error codes the reader handles by name.
pub mod code {
    pub const NONE: i16 = 0;
    pub const OFFSET_OUT_OF_RANGE: i16 = 1;
    pub const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
    pub const LEADER_NOT_AVAILABLE: i16 = 5;
    pub const NOT_LEADER_OR_FOLLOWER: i16 = 6;
    pub const REQUEST_TIMED_OUT: i16 = 7;
    pub const COORDINATOR_LOAD_IN_PROGRESS: i16 = 14;
    pub const COORDINATOR_NOT_AVAILABLE: i16 = 15;
    pub const NOT_COORDINATOR: i16 = 16;

    /// Whether asking again (after fresh metadata) can succeed.
    pub fn retriable(code: i16) -> bool {
        matches!(
            code,
            UNKNOWN_TOPIC_OR_PARTITION
                | LEADER_NOT_AVAILABLE
                | NOT_LEADER_OR_FOLLOWER
                | REQUEST_TIMED_OUT
                | COORDINATOR_LOAD_IN_PROGRESS
                | COORDINATOR_NOT_AVAILABLE
                | NOT_COORDINATOR
                | 74 // FENCED_LEADER_EPOCH
                | 75 // UNKNOWN_LEADER_EPOCH
                | 78 // OFFSET_NOT_AVAILABLE
        )
    }

    /// The protocol's name for an error code, for messages.
    pub fn name(code: i16) -> String {
        let s = match code {
            -1 => "UNKNOWN_SERVER_ERROR",
            1 => "OFFSET_OUT_OF_RANGE",
            2 => "CORRUPT_MESSAGE",
            3 => "UNKNOWN_TOPIC_OR_PARTITION",
            5 => "LEADER_NOT_AVAILABLE",
            6 => "NOT_LEADER_OR_FOLLOWER",
            7 => "REQUEST_TIMED_OUT",
            14 => "COORDINATOR_LOAD_IN_PROGRESS",
            15 => "COORDINATOR_NOT_AVAILABLE",
            16 => "NOT_COORDINATOR",
            17 => "INVALID_TOPIC_EXCEPTION",
            22 => "ILLEGAL_GENERATION",
            24 => "INVALID_GROUP_ID",
            25 => "UNKNOWN_MEMBER_ID",
            29 => "TOPIC_AUTHORIZATION_FAILED",
            30 => "GROUP_AUTHORIZATION_FAILED",
            35 => "UNSUPPORTED_VERSION",
            58 => "SASL_AUTHENTICATION_FAILED",
            74 => "FENCED_LEADER_EPOCH",
            75 => "UNKNOWN_LEADER_EPOCH",
            78 => "OFFSET_NOT_AVAILABLE",
            _ => return format!("error code {code}"),
        };
        format!("{s} ({code})")
    }
}

/// An API the broker speaks: (key, lowest version, highest version).
pub type ApiRange = (i16, i16, i16);

/// ApiVersions v0: which versions of each API the broker speaks.
pub fn api_versions_response(r: &mut Reader<'_>) -> Result<(i16, Vec<ApiRange>)> {
    let error = r.i16()?;
    let n = r.count()?;
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        v.push((r.i16()?, r.i16()?, r.i16()?));
    }
    Ok((error, v))
}

/// A broker of the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broker {
    pub id: i32,
    pub addr: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicMeta {
    pub error: i16,
    pub name: String,
    /// (partition, error, leader)
    pub partitions: Vec<(i32, i16, i32)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Metadata {
    pub brokers: Vec<Broker>,
    pub topics: Vec<TopicMeta>,
}

/// Metadata v1 or v4 request for these topics, never creating them.
pub fn metadata_request(w: &mut Writer, version: i16, topics: &[String]) {
    w.len(topics.len());
    for t in topics {
        w.string(t);
    }
    if version >= 4 {
        w.i8(0); // allow_auto_topic_creation: spate only reads
    }
}

pub fn metadata_response(r: &mut Reader<'_>, version: i16) -> Result<Metadata> {
    if version >= 3 {
        r.i32()?; // throttle_time_ms
    }
    let mut m = Metadata::default();
    for _ in 0..r.count()? {
        let id = r.i32()?;
        let host = r.string()?;
        let port = r.i32()?;
        r.nullable_string()?; // rack
        let addr = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        m.brokers.push(Broker { id, addr });
    }
    if version >= 2 {
        r.nullable_string()?; // cluster_id
    }
    r.i32()?; // controller_id
    for _ in 0..r.count()? {
        let error = r.i16()?;
        let name = r.string()?.to_string();
        r.i8()?; // is_internal
        let mut partitions = Vec::new();
        for _ in 0..r.count()? {
            let perr = r.i16()?;
            let index = r.i32()?;
            let leader = r.i32()?;
            for _ in 0..r.count()? {
                r.i32()?; // replicas
            }
            for _ in 0..r.count()? {
                r.i32()?; // isr
            }
            if version >= 5 {
                for _ in 0..r.count()? {
                    r.i32()?; // offline replicas
                }
            }
            partitions.push((index, perr, leader));
        }
        partitions.sort_unstable();
        m.topics.push(TopicMeta {
            error,
            name,
            partitions,
        });
    }
    Ok(m)
}

/// ListOffsets timestamps.
pub const LATEST: i64 = -1;
pub const EARLIEST: i64 = -2;

/// ListOffsets v1: for each (topic, partition), the offset at `at`.
pub fn list_offsets_request(w: &mut Writer, at: i64, parts: &[(&str, i32)]) {
    w.i32(-1); // replica_id: a consumer
    let topics = group_by_topic(parts);
    w.len(topics.len());
    for (topic, ps) in topics {
        w.string(topic);
        w.len(ps.len());
        for p in ps {
            w.i32(p);
            w.i64(at);
        }
    }
}

/// (topic, partition, error, offset)
pub fn list_offsets_response(r: &mut Reader<'_>) -> Result<Vec<(String, i32, i16, i64)>> {
    let mut out = Vec::new();
    for _ in 0..r.count()? {
        let topic = r.string()?;
        for _ in 0..r.count()? {
            let p = r.i32()?;
            let err = r.i16()?;
            r.i64()?; // timestamp
            let off = r.i64()?;
            out.push((topic.to_string(), p, err, off));
        }
    }
    Ok(out)
}

/// Fetch v4 request: (topic, partition, offset) each, read-uncommitted
/// (as the Java consumer does by default).
pub fn fetch_request(
    w: &mut Writer,
    max_wait_ms: i32,
    max_bytes: i32,
    partition_max_bytes: i32,
    parts: &[(&str, i32, i64)],
) {
    w.i32(-1); // replica_id
    w.i32(max_wait_ms);
    w.i32(1); // min_bytes
    w.i32(max_bytes);
    w.i8(0); // isolation_level: read uncommitted
    let mut topics: Vec<(&str, Vec<(i32, i64)>)> = Vec::new();
    for &(t, p, off) in parts {
        match topics.last_mut() {
            Some((name, v)) if *name == t => v.push((p, off)),
            _ => topics.push((t, vec![(p, off)])),
        }
    }
    w.len(topics.len());
    for (t, ps) in topics {
        w.string(t);
        w.len(ps.len());
        for (p, off) in ps {
            w.i32(p);
            w.i64(off);
            w.i32(partition_max_bytes);
        }
    }
}

/// One partition of a Fetch response; `records` borrows the response.
pub struct FetchedPartition<'a> {
    pub topic: &'a str,
    pub partition: i32,
    pub error: i16,
    pub high_watermark: i64,
    pub records: &'a [u8],
}

pub fn fetch_response<'a>(r: &mut Reader<'a>) -> Result<Vec<FetchedPartition<'a>>> {
    r.i32()?; // throttle_time_ms
    let mut out = Vec::new();
    for _ in 0..r.count()? {
        let topic = r.string()?;
        for _ in 0..r.count()? {
            let partition = r.i32()?;
            let error = r.i16()?;
            let high_watermark = r.i64()?;
            r.i64()?; // last_stable_offset
            for _ in 0..r.count()? {
                r.i64()?; // aborted: producer id
                r.i64()?; // first offset
            }
            let records = r.nullable_bytes()?.unwrap_or(&[]);
            out.push(FetchedPartition {
                topic,
                partition,
                error,
                high_watermark,
                records,
            });
        }
    }
    Ok(out)
}

/// FindCoordinator v1 for a consumer group.
pub fn find_coordinator_request(w: &mut Writer, group: &str) {
    w.string(group);
    w.i8(0); // key type: group
}

/// (error, error message, coordinator address)
pub fn find_coordinator_response(r: &mut Reader<'_>) -> Result<(i16, String, String)> {
    r.i32()?; // throttle
    let error = r.i16()?;
    let msg = r.nullable_string()?.unwrap_or("").to_string();
    r.i32()?; // node id
    let host = r.string()?;
    let port = r.i32()?;
    let addr = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    Ok((error, msg, addr))
}

/// OffsetFetch v1: the group's committed offsets of these partitions.
pub fn offset_fetch_request(w: &mut Writer, group: &str, parts: &[(&str, i32)]) {
    w.string(group);
    let topics = group_by_topic(parts);
    w.len(topics.len());
    for (t, ps) in topics {
        w.string(t);
        w.len(ps.len());
        for p in ps {
            w.i32(p);
        }
    }
}

/// (topic, partition, error, committed offset or -1)
pub fn offset_fetch_response(r: &mut Reader<'_>) -> Result<Vec<(String, i32, i16, i64)>> {
    let mut out = Vec::new();
    for _ in 0..r.count()? {
        let topic = r.string()?;
        for _ in 0..r.count()? {
            let p = r.i32()?;
            let off = r.i64()?;
            r.nullable_string()?; // metadata
            let err = r.i16()?;
            out.push((topic.to_string(), p, err, off));
        }
    }
    Ok(out)
}

/// OffsetCommit v2 as a consumer outside the group protocol (generation
/// -1, no member id), as Kafka allows for groups with no active members.
pub fn offset_commit_request(w: &mut Writer, group: &str, parts: &[(&str, i32, i64)]) {
    w.string(group);
    w.i32(-1); // generation id
    w.string(""); // member id
    w.i64(-1); // retention: the broker's default
    let mut topics: Vec<(&str, Vec<(i32, i64)>)> = Vec::new();
    for &(t, p, off) in parts {
        match topics.iter_mut().find(|(name, _)| *name == t) {
            Some((_, v)) => v.push((p, off)),
            None => topics.push((t, vec![(p, off)])),
        }
    }
    w.len(topics.len());
    for (t, ps) in topics {
        w.string(t);
        w.len(ps.len());
        for (p, off) in ps {
            w.i32(p);
            w.i64(off);
            w.null_string(); // metadata
        }
    }
}

/// (topic, partition, error)
pub fn offset_commit_response(r: &mut Reader<'_>) -> Result<Vec<(String, i32, i16)>> {
    let mut out = Vec::new();
    for _ in 0..r.count()? {
        let topic = r.string()?;
        for _ in 0..r.count()? {
            let p = r.i32()?;
            let err = r.i16()?;
            out.push((topic.to_string(), p, err));
        }
    }
    Ok(out)
}

fn group_by_topic<'t>(parts: &[(&'t str, i32)]) -> Vec<(&'t str, Vec<i32>)> {
    let mut topics: Vec<(&str, Vec<i32>)> = Vec::new();
    for &(t, p) in parts {
        match topics.iter_mut().find(|(name, _)| *name == t) {
            Some((_, v)) => v.push(p),
            None => topics.push((t, vec![p])),
        }
    }
    topics
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafka_wire_request_frame_has_its_size_and_header() {
        let mut w = Writer::request(Api::Metadata, 4, 7, "spate");
        metadata_request(&mut w, 4, &["t".to_string()]);
        let f = w.finish();
        let size = i32::from_be_bytes([f[0], f[1], f[2], f[3]]) as usize;
        assert_eq!(size, f.len() - 4);
        assert_eq!(&f[4..6], &3i16.to_be_bytes());
        assert_eq!(&f[6..8], &4i16.to_be_bytes());
        assert_eq!(&f[8..12], &7i32.to_be_bytes());
        assert_eq!(&f[12..19], b"\0\x05spate");
        // one topic "t", then allow_auto_topic_creation false
        assert_eq!(&f[19..], b"\0\0\0\x01\0\x01t\0");
    }

    #[test]
    fn kafka_wire_short_responses_are_errors_not_panics() {
        let mut w = Writer::default();
        w.i32(0); // throttle
        w.i32(1); // one broker
        w.i32(1);
        w.string("host");
        let buf = w.buf;
        for n in 0..buf.len() {
            assert!(metadata_response(&mut Reader::new(&buf[..n]), 4).is_err());
        }
        // a huge array count in a small buffer
        let mut r = Reader::new(&[0x7f, 0xff, 0xff, 0xff, 0]);
        assert!(r.count().is_err());
    }

    #[test]
    fn kafka_wire_metadata_response_parses() {
        let mut w = Writer::default();
        w.i32(0); // throttle
        w.i32(1);
        w.i32(1);
        w.string("127.0.0.1");
        w.i32(9092);
        w.null_string();
        w.null_string(); // cluster id
        w.i32(1); // controller
        w.i32(1); // topics
        w.i16(0);
        w.string("logs");
        w.i8(0);
        w.i32(2);
        for p in [1, 0] {
            w.i16(0);
            w.i32(p);
            w.i32(1); // leader
            w.i32(1);
            w.i32(1); // replicas
            w.i32(1);
            w.i32(1); // isr
        }
        let m = metadata_response(&mut Reader::new(&w.buf), 4).unwrap();
        assert_eq!(
            m.brokers,
            vec![Broker {
                id: 1,
                addr: "127.0.0.1:9092".into()
            }]
        );
        assert_eq!(m.topics[0].name, "logs");
        assert_eq!(m.topics[0].partitions, vec![(0, 0, 1), (1, 0, 1)]);
    }

    #[test]
    fn kafka_wire_commit_groups_partitions_by_topic() {
        let mut w = Writer::default();
        offset_commit_request(&mut w, "g", &[("a", 0, 5), ("b", 0, 7), ("a", 1, 6)]);
        let mut r = Reader::new(&w.buf);
        assert_eq!(r.string().unwrap(), "g");
        assert_eq!(r.i32().unwrap(), -1);
        assert_eq!(r.string().unwrap(), "");
        assert_eq!(r.i64().unwrap(), -1);
        assert_eq!(r.count().unwrap(), 2);
        assert_eq!(r.string().unwrap(), "a");
        assert_eq!(r.count().unwrap(), 2);
    }
}
