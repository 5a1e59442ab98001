//! The no-op fast path. After a clean sync, lumina records the identity and
//! times (device, inode, mtime, ctime, size) of everything the result was
//! derived from: every source directory walked, every symlink met in the
//! sources, every target directory, every generation directory, the
//! `active` link, the state manifest, and copy-mode files.
//!
//! A symlink cannot change without the directory holding it changing its
//! mtime, so if every recorded stat still matches, nothing in the plan can
//! differ and `lumina sync` is done after a few thousand `stat` calls instead
//! of reading every link. Entries modified less than [`RACY_NS`] before the
//! stamp was written are recorded as "racy" and never match (timestamps are
//! coarse; the same rule git uses for its index), so a change made in the
//! same clock tick as the sync is still seen. Anything that does not match
//! falls back to the full plan, which rewrites the stamp. Deleting the stamp
//! only makes the next sync slower.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// How recent a change must be to be distrusted (1.5 s).
pub const RACY_NS: i128 = 1_500_000_000;
const VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    dev: u64,
    ino: u64,
    mtime: i128,
    ctime: i128,
    size: u64,
}

const MISSING: Meta = Meta {
    dev: 0,
    ino: 0,
    mtime: 0,
    ctime: 0,
    size: 0,
};

/// Stat of `p`, following symlinks (`lstat` when `nofollow`); `MISSING`
/// when it does not exist.
fn meta(p: &Path, nofollow: bool) -> Meta {
    let m = if nofollow {
        std::fs::symlink_metadata(p)
    } else {
        std::fs::metadata(p)
    };
    match m {
        Ok(m) => Meta {
            dev: m.dev(),
            ino: m.ino(),
            mtime: i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec()),
            ctime: i128::from(m.ctime()) * 1_000_000_000 + i128::from(m.ctime_nsec()),
            size: m.size(),
        },
        Err(_) => MISSING,
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Stamp {
    version: u32,
    /// Fingerprint of the inputs that are not files: registry text,
    /// environment, hardware target, expanded targets, lumina's version.
    pub key: u64,
    pub generation: u64,
    pub links: usize,
    /// Paths and their stats; `nofollow` entries are checked with lstat.
    files: Vec<(PathBuf, bool, Meta)>,
    /// Templates and a fingerprint of what they rendered: their output
    /// depends on more than files (environment, tags, vars).
    #[serde(default)]
    pub templates: Vec<(PathBuf, u64)>,
}

pub fn path(lumina_home: &Path) -> PathBuf {
    lumina_home.join("stamp.json")
}

/// Removes the stamp: every sync that changes anything calls this first.
pub fn invalidate(lumina_home: &Path) {
    let _ = std::fs::remove_file(path(lumina_home));
}

/// Builds and writes a stamp over `watch` (path, use lstat). Entries that
/// changed too recently are recorded as racy, so they never match.
pub fn write(
    lumina_home: &Path,
    key: u64,
    generation: u64,
    links: usize,
    watch: Vec<(PathBuf, bool)>,
    templates: Vec<(PathBuf, u64)>,
) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i128)
        .unwrap_or(0);
    let mut files: Vec<(PathBuf, bool, Meta)> = Vec::with_capacity(watch.len());
    for (p, nofollow) in watch {
        let mut m = meta(&p, nofollow);
        if m.mtime > now - RACY_NS || m.ctime > now - RACY_NS {
            m.mtime = -1;
        }
        files.push((p, nofollow, m));
    }
    let stamp = Stamp {
        version: VERSION,
        key,
        generation,
        links,
        files,
        templates,
    };
    if let Ok(bytes) = serde_json::to_vec(&stamp) {
        // A cache: written atomically, but losing it costs only speed.
        let _ = crate::fsops::write_atomic(
            &path(lumina_home),
            &bytes,
            crate::fsops::Durability::Volatile,
        );
    }
}

/// Whether the recorded stamp still describes the filesystem for `key`.
/// Returns the stamp when it does.
pub fn check(lumina_home: &Path, key: u64) -> Option<Stamp> {
    let bytes = std::fs::read(path(lumina_home)).ok()?;
    let stamp: Stamp = serde_json::from_slice(&bytes).ok()?;
    if stamp.version != VERSION || stamp.key != key {
        return None;
    }
    let files = &stamp.files;
    if files.iter().any(|(_, _, m)| m.mtime == -1) {
        return None;
    }
    // Two threads: on this kind of machine a stat costs microseconds.
    let half = files.len() / 2;
    let (a, b) = files.split_at(half);
    let ok = std::thread::scope(|s| {
        let h = s.spawn(|| a.iter().all(|(p, nf, m)| meta(p, *nf) == *m));
        let second = b.iter().all(|(p, nf, m)| meta(p, *nf) == *m);
        h.join().unwrap_or(false) && second
    });
    ok.then_some(stamp)
}
