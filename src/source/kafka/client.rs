//! A blocking connection to one Kafka broker: TCP with timeouts, the
//! versions both sides speak (asked once with ApiVersions), requests sent
//! with a correlation id and their responses read into one reused buffer.
//! Several requests may be in flight on a connection (the broker answers
//! them in order): the reader sends one fetch to each leader, then reads
//! the answers in turn.

use std::fmt;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use super::wire::{self, Api, Reader, Writer};

/// Per resolved address, as `tcp://` allows.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Longer than any fetch's wait: a broker silent this long is gone.
const IO_TIMEOUT: Duration = Duration::from_secs(30);
/// A response larger than this is not believed (a fetch asks for far
/// less; a broker may exceed it only by one oversized batch).
const MAX_RESPONSE: usize = 1 << 30;
const CLIENT_ID: &str = "spate";

/// What went wrong talking to a broker.
#[derive(Debug)]
pub enum KafkaError {
    /// It cannot be reached, or the connection broke.
    Io { broker: String, err: io::Error },
    /// It answered with an error code.
    Broker {
        broker: String,
        what: String,
        code: i16,
    },
    /// It speaks no version spate speaks, or said something that does
    /// not parse, or its records cannot be read.
    Protocol { broker: String, what: String },
}

impl KafkaError {
    /// Whether trying again later (with fresh metadata, or after a
    /// broker restart) may succeed.
    pub fn retriable(&self) -> bool {
        match self {
            KafkaError::Io { .. } => true,
            KafkaError::Broker { code, .. } => wire::code::retriable(*code),
            KafkaError::Protocol { .. } => false,
        }
    }

    pub fn broker(&self) -> &str {
        match self {
            KafkaError::Io { broker, .. }
            | KafkaError::Broker { broker, .. }
            | KafkaError::Protocol { broker, .. } => broker,
        }
    }
}

impl fmt::Display for KafkaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KafkaError::Io { broker, err } => write!(f, "broker {broker}: {err}"),
            KafkaError::Broker { broker, what, code } => {
                write!(f, "broker {broker}: {what}: {}", wire::code::name(*code))
            }
            KafkaError::Protocol { broker, what } => write!(f, "broker {broker}: {what}"),
        }
    }
}

impl std::error::Error for KafkaError {}

pub type Result<T> = std::result::Result<T, KafkaError>;

pub struct Conn {
    stream: TcpStream,
    pub addr: String,
    next_id: i32,
    /// Chosen version per API key (-1: none in common).
    versions: [i16; 19],
    /// The broker's range per API key, for messages.
    ranges: [(i16, i16); 19],
    inbuf: Vec<u8>,
    /// Requests sent and not yet answered, oldest first.
    waiting: std::collections::VecDeque<(i32, Api)>,
}

impl Conn {
    /// Connects and asks which versions the broker speaks.
    pub fn connect(addr: &str) -> Result<Conn> {
        let io = |err| KafkaError::Io {
            broker: addr.to_string(),
            err,
        };
        let stream = connect_tcp(addr).map_err(io)?;
        stream.set_nodelay(true).map_err(io)?;
        stream.set_read_timeout(Some(IO_TIMEOUT)).map_err(io)?;
        stream.set_write_timeout(Some(IO_TIMEOUT)).map_err(io)?;
        let mut c = Conn {
            stream,
            addr: addr.to_string(),
            next_id: 0,
            versions: [-1; 19],
            ranges: [(-1, -1); 19],
            inbuf: Vec::new(),
            waiting: Default::default(),
        };
        c.versions[Api::ApiVersions as usize] = 0;
        let (error, apis) = {
            let mut r = c.call(Api::ApiVersions, |_, _| {})?;
            wire::api_versions_response(&mut r).map_err(|e| c_protocol(addr, e))?
        };
        if error != 0 {
            return Err(KafkaError::Broker {
                broker: addr.to_string(),
                what: "ApiVersions".into(),
                code: error,
            });
        }
        for (key, min, max) in apis {
            let Ok(k) = usize::try_from(key) else {
                continue;
            };
            if k < c.ranges.len() {
                c.ranges[k] = (min, max);
            }
        }
        for api in [
            Api::Fetch,
            Api::ListOffsets,
            Api::Metadata,
            Api::OffsetCommit,
            Api::OffsetFetch,
            Api::FindCoordinator,
        ] {
            let (min, max) = c.ranges[api as usize];
            c.versions[api as usize] = api
                .spoken()
                .iter()
                .copied()
                .find(|v| (min..=max).contains(v))
                .unwrap_or(-1);
        }
        Ok(c)
    }

    /// The version of `api` to use with this broker.
    pub fn version(&self, api: Api) -> Result<i16> {
        match self.versions[api as usize] {
            -1 => {
                let (min, max) = self.ranges[api as usize];
                let theirs = if min < 0 {
                    "does not offer it".to_string()
                } else {
                    format!("speaks versions {min} to {max}")
                };
                Err(KafkaError::Protocol {
                    broker: self.addr.clone(),
                    what: format!(
                        "{}: the broker {theirs}; spate speaks {:?}",
                        api.name(),
                        api.spoken()
                    ),
                })
            }
            v => Ok(v),
        }
    }

    /// Sends a request whose body `body` writes (given the version).
    pub fn send(&mut self, api: Api, body: impl FnOnce(&mut Writer, i16)) -> Result<()> {
        let version = self.version(api)?;
        self.next_id = self.next_id.wrapping_add(1);
        let id = self.next_id;
        let mut w = Writer::request(api, version, id, CLIENT_ID);
        body(&mut w, version);
        let frame = w.finish();
        self.stream
            .write_all(&frame)
            .map_err(|err| KafkaError::Io {
                broker: self.addr.clone(),
                err,
            })?;
        self.waiting.push_back((id, api));
        Ok(())
    }

    /// The response to the oldest request sent: its body and the version
    /// it was asked in.
    pub fn receive(&mut self) -> Result<(Reader<'_>, i16)> {
        let (id, api) = self
            .waiting
            .pop_front()
            .ok_or_else(|| KafkaError::Protocol {
                broker: self.addr.clone(),
                what: "a response awaited with no request sent".into(),
            })?;
        let io = |err| KafkaError::Io {
            broker: self.addr.clone(),
            err,
        };
        let mut size = [0u8; 4];
        read_full(&mut self.stream, &mut size).map_err(io)?;
        let size = i32::from_be_bytes(size);
        let size = usize::try_from(size)
            .ok()
            .filter(|s| (4..=MAX_RESPONSE).contains(s))
            .ok_or_else(|| KafkaError::Protocol {
                broker: self.addr.clone(),
                what: format!("{}: a response of {size} bytes", api.name()),
            })?;
        if self.inbuf.len() < size {
            self.inbuf.resize(size, 0);
        }
        read_full(&mut self.stream, &mut self.inbuf[..size]).map_err(io)?;
        let got = i32::from_be_bytes([self.inbuf[0], self.inbuf[1], self.inbuf[2], self.inbuf[3]]);
        if got != id {
            return Err(KafkaError::Protocol {
                broker: self.addr.clone(),
                what: format!(
                    "{}: the response is for request {got}, not {id}",
                    api.name()
                ),
            });
        }
        let version = self.versions[api as usize];
        Ok((Reader::new(&self.inbuf[4..size]), version))
    }

    /// Sends a request and reads its response (nothing else may be in
    /// flight).
    pub fn call(&mut self, api: Api, body: impl FnOnce(&mut Writer, i16)) -> Result<Reader<'_>> {
        self.send(api, body)?;
        Ok(self.receive()?.0)
    }
}

/// A malformed response as an error naming the broker.
pub fn c_protocol(broker: &str, e: wire::Malformed) -> KafkaError {
    KafkaError::Protocol {
        broker: broker.to_string(),
        what: e.to_string(),
    }
}

/// Like `read_exact`, but a close mid-frame says so plainly.
fn read_full(s: &mut TcpStream, buf: &mut [u8]) -> io::Result<()> {
    let mut at = 0;
    while at < buf.len() {
        match s.read(&mut buf[at..]) {
            Ok(0) => {
                return Err(io::Error::new(
                    ErrorKind::UnexpectedEof,
                    "the broker closed the connection",
                ));
            }
            Ok(n) => at += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return Err(io::Error::new(
                    ErrorKind::TimedOut,
                    format!("no answer in {}s", IO_TIMEOUT.as_secs()),
                ));
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn connect_tcp(addr: &str) -> io::Result<TcpStream> {
    let mut last = None;
    for a in addr.to_socket_addrs()? {
        match TcpStream::connect_timeout(&a, CONNECT_TIMEOUT) {
            Ok(s) => return Ok(s),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::new(ErrorKind::NotFound, "no address found")))
}
