//! Where the linker keeps its state: the virtual root (`$LUMINA_HOME`,
//! default `~/.lumina`), its generations, the `active` link, the state
//! manifest and the lock (see `linker/mod.rs` for the layout).

use std::path::{Path, PathBuf};

use crate::paths::{relative, Canon};

/// The canonical virtual root and the generation paths derived from it.
pub struct Layout {
    pub root: PathBuf,
    pub root_c: PathBuf,
}

impl Layout {
    pub fn new(lumina_home: &Path, canon: &mut Canon) -> Layout {
        Layout {
            root: lumina_home.to_path_buf(),
            root_c: canon.dir(lumina_home),
        }
    }
    pub fn generations(&self) -> PathBuf {
        self.root.join("generations")
    }
    pub fn generation(&self, n: u64) -> PathBuf {
        self.generations().join(n.to_string())
    }
    pub fn active(&self) -> PathBuf {
        self.root.join("active")
    }
    /// The text of the symlink inside a generation: relative, into the profile.
    /// Identical for every generation number (they sit at the same depth).
    pub fn entry_link(&self, entry: &Path, source: &Path) -> PathBuf {
        let parent = self
            .root_c
            .join("generations/0")
            .join(entry.parent().unwrap_or(Path::new("")));
        relative(&parent, source)
    }
}
