//! `--state FILE`: the run's progress kept in one file, so that a run
//! killed at any instant and started again with the same arguments goes on
//! where it stopped. This module owns the file: its layout (a magic, a
//! format version, the payload's length and CRC-32, then the payload), the
//! atomic write (a new file synced, renamed over the old one, the directory
//! synced) and the checks on reading it back (a damaged, truncated or
//! unknown-version file is an error naming it, never a fresh start). What
//! the payload holds is written by the engine and the sources through
//! [`codec`]; the arguments that shape results are compared item by item
//! ([`Fingerprint`]) so that a mismatch names its first difference.

pub mod codec;

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// The first bytes of every state file.
const MAGIC: &[u8; 8] = b"spate-st";
/// The payload format this build writes and reads.
pub const VERSION: u32 = 3;
/// magic + version + length + checksum.
const HEADER: usize = 8 + 4 + 8 + 4;

/// Why a state file cannot be used.
#[derive(Debug)]
pub enum StateError {
    /// It could not be read or written.
    Io(PathBuf, io::Error),
    /// It is not a state file this build can read: damaged, cut short, or
    /// of another format version.
    Damaged(PathBuf, String),
}

impl fmt::Display for StateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StateError::Io(p, e) => write!(f, "state file {}: {e}", p.display()),
            StateError::Damaged(p, why) => write!(
                f,
                "state file {}: {why}; it cannot be resumed from (move it away to start afresh)",
                p.display()
            ),
        }
    }
}

impl std::error::Error for StateError {}

/// The payload of the state at `path`, or `None` when there is no file.
pub fn read(path: &Path) -> Result<Option<Vec<u8>>, StateError> {
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(StateError::Io(path.to_path_buf(), e)),
    };
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)
        .map_err(|e| StateError::Io(path.to_path_buf(), e))?;
    decode_file(&bytes)
        .map(Some)
        .map_err(|why| StateError::Damaged(path.to_path_buf(), why))
}

/// The payload of a whole state file's bytes, checked.
fn decode_file(bytes: &[u8]) -> Result<Vec<u8>, String> {
    if bytes.len() < HEADER {
        return Err(format!(
            "cut short ({} bytes, less than its {HEADER}-byte header)",
            bytes.len()
        ));
    }
    if &bytes[..8] != MAGIC {
        return Err("not a spate state file (its first bytes differ)".into());
    }
    let word = |at: usize, n: usize| -> u64 {
        bytes[at..at + n]
            .iter()
            .rev()
            .fold(0u64, |acc, b| (acc << 8) | u64::from(*b))
    };
    let version = word(8, 4) as u32;
    if version != VERSION {
        return Err(format!(
            "written in state format version {version}, and this spate reads version {VERSION}"
        ));
    }
    let len = word(12, 8);
    let sum = word(20, 4) as u32;
    let payload = &bytes[HEADER..];
    if payload.len() as u64 != len {
        return Err(format!(
            "cut short or extended: {} payload bytes where its header says {len}",
            payload.len()
        ));
    }
    if crc32fast::hash(payload) != sum {
        return Err("damaged (its checksum does not match its contents)".into());
    }
    Ok(payload.to_vec())
}

/// A whole state file's bytes for this payload.
fn encode_file(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER + payload.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    out.extend_from_slice(payload);
    out
}

/// Replaces the state at `path` with `payload`, atomically: a reader (or
/// a restart after a kill at any instant) finds either the old state or the
/// new one, whole. On failure (a full disk) the old state stays.
pub fn write(path: &Path, payload: &[u8]) -> Result<(), StateError> {
    let err = |e: io::Error| StateError::Io(path.to_path_buf(), e);
    let tmp = temp_path(path);
    let res = (|| -> io::Result<()> {
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)?;
        f.write_all(&encode_file(payload))?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)?;
        sync_dir(path)
    })();
    if res.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    res.map_err(err)
}

/// Where the next state is written before it is renamed over `path`.
fn temp_path(path: &Path) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".tmp");
    path.with_file_name(name)
}

/// Makes a rename in `path`'s directory durable.
fn sync_dir(path: &Path) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    File::open(dir)?.sync_all()
}

/// The arguments that shape results, by name, in a fixed order: a state
/// written for other ones cannot be resumed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fingerprint(pub Vec<(String, String)>);

impl Fingerprint {
    pub fn push(&mut self, name: &str, value: impl fmt::Display) {
        self.0.push((name.to_string(), value.to_string()));
    }

    pub fn save(&self, e: &mut codec::Encoder) {
        e.usize(self.0.len());
        for (k, v) in &self.0 {
            e.str(k);
            e.str(v);
        }
    }

    pub fn load(d: &mut codec::Decoder<'_>) -> codec::Result<Self> {
        let n = d.count()?;
        let mut items = Vec::with_capacity(n);
        for _ in 0..n {
            items.push((d.str()?.to_string(), d.str()?.to_string()));
        }
        Ok(Fingerprint(items))
    }

    /// The first difference from the `saved` one, said for the user.
    pub fn first_difference(&self, saved: &Fingerprint) -> Option<String> {
        let show = |v: Option<&(String, String)>| {
            v.map_or_else(|| "nothing".to_string(), |(_, x)| format!("'{x}'"))
        };
        for i in 0..self.0.len().max(saved.0.len()) {
            let (now, then) = (self.0.get(i), saved.0.get(i));
            if now != then {
                let name = now.or(then).map_or("", |(k, _)| k.as_str());
                return Some(format!(
                    "{name}: the state was written with {}, this run has {}",
                    show(then),
                    show(now)
                ));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_and_replaces_atomically() {
        let dir = tempfile::tempdir().expect("temp dir");
        let p = dir.path().join("s");
        assert!(read(&p).expect("no file is no state").is_none());
        write(&p, b"one").expect("write");
        write(&p, b"two two").expect("write");
        assert_eq!(read(&p).expect("read").as_deref(), Some(&b"two two"[..]));
        assert!(!temp_path(&p).exists());
    }

    #[test]
    fn state_cut_at_every_length_or_flipped_is_refused() {
        let whole = encode_file(b"some payload of the state");
        for n in 0..whole.len() {
            assert!(decode_file(&whole[..n]).is_err(), "cut at {n}");
        }
        for i in 0..whole.len() {
            let mut bad = whole.clone();
            bad[i] ^= 0x10;
            assert!(decode_file(&bad).is_err(), "flipped byte {i}");
        }
        let mut other = whole.clone();
        other[8] = 9;
        let e = decode_file(&other).unwrap_err();
        assert!(e.contains("version 9"), "{e}");
    }

    #[test]
    fn state_fingerprint_names_the_first_difference() {
        let mut a = Fingerprint::default();
        a.push("chain", "split then count");
        a.push("--batch", "1m");
        let mut b = a.clone();
        assert_eq!(a.first_difference(&b), None);
        b.0[1].1 = "2m".into();
        assert_eq!(
            b.first_difference(&a).as_deref(),
            Some("--batch: the state was written with '1m', this run has '2m'")
        );
    }
}
