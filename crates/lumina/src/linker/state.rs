//! The state manifest `~/.lumina/state.json`: what lumina owns (links,
//! copies, backups it made, directories it created), which generation is
//! active, and the journal of a sync in progress. It is replaced atomically
//! (temp file, fsync, rename) before and after every batch of changes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, IoContext, Result};
use crate::registry::Mode;

pub const STATE_VERSION: u32 = 1;

/// One target lumina owns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owned {
    pub module: String,
    /// Path of the entry inside a generation, e.g. `home/.config/hypr/a.conf`.
    pub entry: PathBuf,
    /// The source file in the profile (canonical).
    pub source: PathBuf,
    pub mode: Mode,
    /// For links: the exact text of the symlink lumina wrote at the target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<PathBuf>,
    /// For copies: fingerprint of the content lumina wrote (see `fsops::digest`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// What was in the way when lumina took the target, and where it went.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<PathBuf>,
    /// The generation in which lumina took this target.
    pub since: u64,
    /// The generation holds a rendered template for it (not a link into
    /// the profile).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub rendered: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct State {
    pub version: u32,
    /// The active generation, if any sync completed.
    pub active: Option<u64>,
    /// The highest generation number ever staged.
    pub last: u64,
    /// Targets lumina owns, by absolute target path. Keyed by string so
    /// that lookups compare bytes, not path components (paths in the state
    /// are UTF-8: serde refuses anything else).
    pub owned: BTreeMap<String, Owned>,
    /// Directories lumina created on the way to targets (removed again when
    /// empty and no longer needed).
    pub dirs: std::collections::BTreeSet<String>,
    /// For directories lumina put where something else stood (a file, a
    /// symlink to another directory): where that went.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub dir_backups: BTreeMap<String, PathBuf>,
    /// The journal of a sync that has not finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<Journal>,
}

/// What an unfinished sync was doing: enough to finish or undo each step by
/// looking at the filesystem.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Journal {
    pub generation: u64,
    pub previous: Option<u64>,
    pub ops: Vec<Op>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    /// Create a directory on the way to a target.
    Mkdir { path: PathBuf },
    /// Put a symlink (text `link`) or a copy of `copy_from` at `target`.
    /// `tmp` is where the new entry is prepared before the atomic exchange;
    /// after it, `tmp` holds what was in the way until it moves to `backup`.
    Place {
        target: PathBuf,
        module: String,
        entry: PathBuf,
        source: PathBuf,
        mode: Mode,
        link: Option<PathBuf>,
        copy_from: Option<PathBuf>,
        tmp: PathBuf,
        /// Where what is in the way goes (`None`: the target is absent, or
        /// holds lumina's own older entry, which is dropped).
        backup: Option<PathBuf>,
        /// Replace a file in the way with a new directory (a file was where
        /// a directory must be).
        dir: bool,
        /// What is in the way may be dropped if it is a symlink with this
        /// text (lumina's own older link).
        drop_link: Option<PathBuf>,
        /// What is in the way may be dropped if it is a file byte-identical
        /// to this one (`add --adopt`).
        drop_same: Option<PathBuf>,
        /// What is in the way may be dropped if it is a file with this
        /// fingerprint (lumina's own older copy).
        drop_digest: Option<String>,
        /// The entry is a rendered template.
        #[serde(default)]
        rendered: bool,
    },
    /// Remove lumina's entry at `target` and put `restore` back there. The
    /// backup first moves to `tmp`, then swaps with the target atomically.
    Prune {
        target: PathBuf,
        link: Option<PathBuf>,
        /// For copies: the fingerprint lumina wrote.
        digest: Option<String>,
        restore: Option<PathBuf>,
        tmp: PathBuf,
    },
    /// Remove a directory lumina created, if empty, and put back what it
    /// replaced (`restore`: a file or a symlinked directory that was in
    /// the way, moved to a backup).
    Rmdir {
        path: PathBuf,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        restore: Option<PathBuf>,
    },
}

/// The state's key for a target path.
pub fn key(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

pub fn state_path(lumina_home: &Path) -> PathBuf {
    lumina_home.join("state.json")
}

pub fn load(lumina_home: &Path) -> Result<State> {
    let p = state_path(lumina_home);
    match std::fs::read(&p) {
        Ok(bytes) => {
            let s: State = serde_json::from_slice(&bytes).map_err(|e| {
                Error::Runtime(format!(
                    "the state manifest {} is unreadable ({e}). It is lumina's record of what it owns; restore it from {}.prev if present, or move it aside and run `lumina sync` to rebuild it from the links on disk.",
                    p.display(),
                    p.display()
                ))
            })?;
            if s.version > STATE_VERSION {
                return Err(Error::Runtime(format!(
                    "{} was written by a newer lumina (state version {}); upgrade lumina",
                    p.display(),
                    s.version
                )));
            }
            Ok(s)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(State {
            version: STATE_VERSION,
            ..State::default()
        }),
        Err(e) => Err(Error::io(format!("reading {}", p.display()), e)),
    }
}

pub fn save(lumina_home: &Path, state: &State) -> Result<()> {
    let p = state_path(lumina_home);
    let mut s = state.clone();
    s.version = STATE_VERSION;
    let bytes =
        serde_json::to_vec(&s).map_err(|e| Error::Runtime(format!("encoding state: {e}")))?;
    crate::fsops::write_atomic(&p, &bytes, crate::fsops::Durability::Durable)
        .ctx(|| format!("writing the state manifest {}", p.display()))
}
