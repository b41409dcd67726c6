//! `-F` with a pattern or a directory (`-F -i '/var/log/app/*.log'`):
//! every file it names is followed as `-F` follows a file (growth,
//! rotation, truncation; see [`super::follow`]), each on its own thread
//! and with its own source id, and the pattern is looked at again a few
//! times a second: a file that appears later and matches is followed from
//! its start (how a run keeps up with a new file per day). Nothing matching
//! yet is no error: the run waits for files.
//!
//! A file is read once whatever names it gets: when logrotate renames
//! `app.log` to `app.log.1` and both match, `app.log.1` is the file the
//! follower of `app.log` already read, known by its device and inode (and a
//! size not below what was seen, so that an inode number reused by a new
//! file is a new file), and it is not read again. A compressed file that
//! matches (`app.log.2.gz`) is skipped with a warning: `-F` follows plain
//! files. A file copied rather than renamed (logrotate's `copytruncate`)
//! is a new file to any follower: name a pattern that leaves the copies
//! out.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::Sender;

use super::decompress::Codec;
use super::follow::{self, FileId, file_id};
use super::pattern::Matcher;
use super::{FollowedFile, Ids, Msg, Roster, SourceOptions, codec_of};

/// How often the pattern is looked at again.
const SCAN: Duration = Duration::from_millis(200);

/// Says that a compressed file is left out.
pub fn skip_compressed(name: &str, codec: Codec) {
    eprintln!(
        "spate: {name}: a {} file; -F follows plain files only, so it is skipped",
        codec.name()
    );
}

/// The files a watch has read or is reading, by identity, with the size
/// each had when last seen; shared with its followers, which ask here
/// before reading a file their path was rotated to.
#[derive(Debug, Default)]
pub struct Claims(Mutex<HashMap<FileId, u64>>);

impl Claims {
    /// Whether the file `id`, now `size` bytes, is new to the watch (and
    /// then it is the caller's to read). A known file at least as long as
    /// when last seen is the same file under another name.
    pub fn claim(&self, id: Option<FileId>, size: u64) -> bool {
        let Some(id) = id else {
            return true;
        };
        let mut known = self.0.lock().unwrap_or_else(|p| p.into_inner());
        match known.get(&id) {
            Some(&seen) if size >= seen => {
                known.insert(id, size);
                false
            }
            _ => {
                known.insert(id, size);
                true
            }
        }
    }

    /// The follower of file `id` has read `pos` bytes of it: renamed, it
    /// is at least that long. (Noted by the follower, which knows which
    /// file it holds: a path may already name a new file, one that may
    /// even have the inode number of a deleted one.)
    pub fn read(&self, id: Option<FileId>, pos: u64) {
        if let Some(id) = id {
            let mut known = self.0.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(s) = known.get_mut(&id) {
                *s = (*s).max(pos);
            }
        }
    }
}

/// A pattern or directory followed: what was found at open.
pub struct Watch {
    pub name: String,
    pub matcher: Matcher,
    pub files: Vec<FollowedFile>,
    claims: Arc<Claims>,
    /// Compressed files skipped, each said once (again if its path names
    /// another file later).
    skipped: HashMap<PathBuf, Option<FileId>>,
}

impl Watch {
    /// Finds the files `matcher` names now; `src` as given.
    pub(super) fn open(src: &str, matcher: Matcher, ids: &mut Ids) -> anyhow::Result<Watch> {
        let mut w = Watch {
            name: src.to_string(),
            files: Vec::new(),
            claims: Arc::default(),
            skipped: HashMap::new(),
            matcher,
        };
        let paths = match &w.matcher {
            Matcher::Dir(_) => w.matcher.files()?,
            Matcher::Pattern(_) => w.matcher.files().unwrap_or_default(),
        };
        for path in paths {
            let name = path.to_string_lossy().into_owned();
            let file = File::open(&path).map_err(|e| anyhow::anyhow!("cannot open {name}: {e}"))?;
            let meta = file.metadata()?;
            if let Some(codec) = codec_of(&file) {
                skip_compressed(&name, codec);
                w.skipped.insert(path, file_id(&meta));
                continue;
            }
            w.claims.claim(file_id(&meta), meta.len());
            w.files.push(FollowedFile {
                id: ids.next(),
                name,
                file,
            });
        }
        if w.files.is_empty() {
            eprintln!("spate: {src}: no file to follow yet; waiting for one");
        }
        Ok(w)
    }
}

/// Follows what was found at open, then looks for new files until the
/// process ends.
pub fn run(w: Watch, opts: &SourceOptions, tx: &Sender<Msg>, roster: &Roster) {
    let Watch {
        name,
        matcher,
        files,
        claims,
        mut skipped,
    } = w;
    let mut followers: HashMap<PathBuf, JoinHandle<()>> = HashMap::new();
    for f in files {
        let path = PathBuf::from(&f.name);
        followers.insert(path, spawn(f, opts.from_end, opts, &claims, tx));
    }
    // files found later are read from their start
    let later = SourceOptions {
        from_end: false,
        ..opts.clone()
    };
    let mut failing = false;
    loop {
        std::thread::sleep(SCAN);
        // a follower whose path now names a file read under another name
        // has stopped: the path is a candidate again
        followers.retain(|_, h| !h.is_finished());
        let paths = match matcher.files() {
            Ok(p) => {
                failing = false;
                p
            }
            Err(e) => {
                if !failing {
                    eprintln!("spate: {name}: {e}; still looking");
                    failing = true;
                }
                continue;
            }
        };
        let present: HashSet<&PathBuf> = paths.iter().collect();
        skipped.retain(|p, _| present.contains(p));
        for path in &paths {
            if followers.contains_key(path) {
                continue;
            }
            let Ok(meta) = std::fs::metadata(path) else {
                continue;
            };
            let id = file_id(&meta);
            if skipped.get(path).is_some_and(|s| *s == id) {
                continue;
            }
            // an empty new file may be a compressor's output about to be
            // written: decided once it has bytes (read from its start
            // either way)
            if meta.len() == 0 {
                continue;
            }
            let Ok(file) = File::open(path) else {
                continue;
            };
            let Ok(meta) = file.metadata() else {
                continue;
            };
            let id = file_id(&meta);
            let file_name = path.to_string_lossy().into_owned();
            if let Some(codec) = codec_of(&file) {
                skip_compressed(&file_name, codec);
                skipped.insert(path.clone(), id);
                continue;
            }
            if !claims.claim(id, meta.len()) {
                // read already, under another name
                continue;
            }
            let f = FollowedFile {
                id: roster.add(file_name.clone()),
                name: file_name,
                file,
            };
            followers.insert(path.clone(), spawn(f, false, &later, &claims, tx));
        }
    }
}

/// Follows one file of the watch on its own thread; a failure stops the
/// run, naming the file.
fn spawn(
    f: FollowedFile,
    from_end: bool,
    opts: &SourceOptions,
    claims: &Arc<Claims>,
    tx: &Sender<Msg>,
) -> JoinHandle<()> {
    let opts = SourceOptions {
        from_end,
        ..opts.clone()
    };
    let (claims, tx) = (Arc::clone(claims), tx.clone());
    super::start(format!("spate-follow-{}", f.id), move || {
        let FollowedFile { id, name, file } = f;
        if let Err(e) = follow::run_claimed(&name, file, id, &opts, &tx, Some(&claims)) {
            let _ = tx.send(Msg::Failed(id, e.context(format!("reading {name}"))));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watch_claims_a_file_once_whatever_its_name() {
        let c = Claims::default();
        let a = Some((1, 10));
        assert!(c.claim(a, 0));
        c.read(a, 500);
        // renamed and grown: the same file
        assert!(!c.claim(a, 600));
        // the inode number reused by a new, shorter file: new
        assert!(c.claim(a, 3));
        // reading a file not claimed claims nothing
        c.read(Some((2, 2)), 100);
        assert!(c.claim(Some((2, 2)), 0));
        // no identity to go by: always new
        assert!(c.claim(None, 0));
        assert!(c.claim(Some((1, 11)), 0));
    }
}
