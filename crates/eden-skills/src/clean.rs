//! `clean`: what nothing uses any more, and removing it. Caches no
//! configured source needs, store entries no lock entry references,
//! leftovers of interrupted exports, and discovery clones under `$TMPDIR`
//! older than an hour.

use std::path::PathBuf;

use serde::Serialize;

use crate::config::Config;
use crate::fsutil;
use crate::lock::Lock;

/// What `clean` removed (or would remove, `dry_run`).
#[derive(Debug, Clone, Serialize)]
pub struct CleanReport {
    pub dry_run: bool,
    pub removed_cache_entries: Vec<String>,
    pub removed_store_entries: Vec<String>,
    pub removed_discovery_dirs: Vec<String>,
    pub removed_scratch_entries: Vec<String>,
    pub freed_bytes: u64,
    /// Paths that could not be removed, with why.
    #[serde(skip)]
    pub warnings: Vec<String>,
}

/// Discovery scratch directories under `$TMPDIR` at least this old.
pub fn discovery_dirs(min_age_secs: u64) -> Vec<PathBuf> {
    let tmp = std::env::temp_dir();
    let now = std::time::SystemTime::now();
    let mut v: Vec<PathBuf> = std::fs::read_dir(&tmp)
        .map(|rd| {
            rd.flatten()
                .filter(|e| {
                    e.file_name()
                        .to_string_lossy()
                        .starts_with("eden-skills-discovery-")
                })
                .filter(|e| {
                    e.metadata()
                        .and_then(|m| m.modified())
                        .ok()
                        .and_then(|m| now.duration_since(m).ok())
                        .is_some_and(|age| age.as_secs() >= min_age_secs)
                })
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Removes (unless `dry_run`) everything unused; sizes are counted first.
pub fn clean(cfg: &Config, lock: &Lock, dry_run: bool) -> CleanReport {
    let (caches, entries) = crate::doctor::unused_storage(cfg, lock);
    let scratch: Vec<PathBuf> = std::fs::read_dir(cfg.storage_root.join(".tmp"))
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    let disc = discovery_dirs(3600);
    let mut freed = 0u64;
    let mut warnings = Vec::new();
    for p in caches.iter().chain(&entries).chain(&scratch).chain(&disc) {
        freed += fsutil::tree_size(p);
        if !dry_run {
            if let Err(e) = fsutil::remove_any(p) {
                warnings.push(format!("cannot remove {}: {e}", p.display()));
            }
        }
    }
    let names = |v: &[PathBuf]| {
        v.iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
    };
    CleanReport {
        dry_run,
        removed_cache_entries: names(&caches),
        removed_store_entries: names(&entries),
        removed_discovery_dirs: names(&disc),
        removed_scratch_entries: names(&scratch),
        freed_bytes: freed,
        warnings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_removes_only_what_nothing_uses_and_counts_it() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path();
        let storage = home.join("store-root");
        let text = format!("version = 1\n[storage]\nroot = \"{}\"\n", storage.display());
        let cfg = Config::parse(&text, &home.join("skills.toml"), home).unwrap();
        let unused = storage.join(".repos").join("unused-cache");
        let scratch = storage.join(".tmp").join("export-1");
        for d in [&unused, &scratch] {
            std::fs::create_dir_all(d).unwrap();
            std::fs::write(d.join("f"), b"12345").unwrap();
        }
        let lock = Lock::empty();
        let dry = clean(&cfg, &lock, true);
        assert!(dry.dry_run && dry.freed_bytes >= 10);
        assert!(
            unused.exists() && scratch.exists(),
            "a dry run removes nothing"
        );
        let r = clean(&cfg, &lock, false);
        assert_eq!(r.removed_cache_entries, vec![unused.display().to_string()]);
        assert_eq!(
            r.removed_scratch_entries,
            vec![scratch.display().to_string()]
        );
        assert!(!unused.exists() && !scratch.exists());
        assert!(r.warnings.is_empty());
    }
}
