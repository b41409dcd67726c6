//! A file's identity across runs (`--state`): its device and inode, and a
//! checksum of its first bytes (so that a file deleted and another created
//! under the same inode is told apart). A resumed run reads a file on from
//! where the state says only when it is the same file; a file replaced
//! while spate was stopped is read from its start, with a warning.

use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::path::Path;

use super::reader::Resume;

/// How many first bytes the checksum covers (fewer when the file was
/// shorter then: the same number are compared later).
const HEAD_BYTES: u64 = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identity {
    pub dev: u64,
    pub ino: u64,
    pub head_len: u64,
    pub head_crc: u32,
}

#[cfg(unix)]
fn dev_ino(m: &std::fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (m.dev(), m.ino())
}

#[cfg(not(unix))]
fn dev_ino(_: &std::fs::Metadata) -> (u64, u64) {
    (0, 0)
}

/// The CRC-32 of the first `n` bytes of `file`, or `None` when it is
/// shorter.
fn head(file: &mut File, n: u64) -> std::io::Result<Option<u32>> {
    let mut buf = Vec::with_capacity(n as usize);
    file.take(n).read_to_end(&mut buf)?;
    Ok((buf.len() as u64 == n).then(|| crc32fast::hash(&buf)))
}

impl Identity {
    /// The identity of the file at `path` now.
    pub fn of(path: &Path) -> std::io::Result<Identity> {
        let mut file = File::open(path)?;
        let meta = file.metadata()?;
        let (dev, ino) = dev_ino(&meta);
        let head_len = meta.len().min(HEAD_BYTES);
        let head_crc = head(&mut file, head_len)?.unwrap_or(0);
        Ok(Identity {
            dev,
            ino,
            head_len,
            head_crc,
        })
    }

    /// Whether the file at `path` is still this one.
    pub fn matches(&self, path: &Path) -> bool {
        let Ok(mut file) = File::open(path) else {
            return false;
        };
        let Ok(meta) = file.metadata() else {
            return false;
        };
        dev_ino(&meta) == (self.dev, self.ino)
            && head(&mut file, self.head_len).ok().flatten() == Some(self.head_crc)
    }
}

/// Where each input named by its path resumes (only those that are still
/// the file the state was written for).
pub type ResumeMap = HashMap<String, Resume>;

/// Where the input `name` starts reading: the state's point (the run has
/// checked it is the same file), else its start.
pub fn start_of(map: Option<&ResumeMap>, name: &str) -> Resume {
    map.and_then(|m| m.get(name)).copied().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_tells_a_replaced_file_apart() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        let p = dir.path().join("f");
        std::fs::write(&p, "first line\n")?;
        let id = Identity::of(&p)?;
        // growth keeps it the same file
        std::fs::write(&p, "first line\nsecond\n")?;
        assert!(id.matches(&p));
        // another file under the name is not
        let q = dir.path().join("g");
        std::fs::write(&q, "first line\n")?;
        std::fs::rename(&q, &p)?;
        assert!(!id.matches(&p));
        Ok(())
    }
}
