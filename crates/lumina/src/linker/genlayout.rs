//! What a generation directory holds for a set of entries. Each entry has a
//! path inside the generation that its target links to; the generation
//! does not need one item per entry, though. Where a whole directory of
//! the generation belongs to one module, and every file below it is a
//! plain link into the same directory of that module's source, the
//! generation holds one symlink for the directory (into the profile)
//! instead of a directory tree with a symlink per file: the targets'
//! links resolve through it all the same. On a real disk each mkdir and
//! symlink costs a journal update, so a 1,000-file package staged as one
//! link instead of 1,100 directories and 1,000 links is most of the
//! difference between lumina and a tool that makes no generation.
//!
//! Copies, seeds and rendered templates always get an item of their own
//! (a regular file), and a directory that holds one is never collapsed.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::desired::Entry;
use super::layout::Layout;
use crate::registry::Mode;

/// One thing to make inside a generation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// A symlink for a whole directory: `at` (relative to the generation)
    /// links to `text`.
    DirLink { at: PathBuf, text: PathBuf },
    /// The entry with this index, as itself (a symlink, copy or rendered
    /// file at `entry.entry`).
    Entry(usize),
}

/// Whether an entry may live inside a collapsed directory.
fn plain(e: &Entry) -> bool {
    e.mode == Mode::Link && e.rendered.is_none()
}

/// A directory of the generation, as the entries below it see it.
#[derive(Debug)]
enum Dir {
    /// Only plain links of one module, all into this source directory.
    One { module: String, source: PathBuf },
    /// Anything else: it stays a real directory.
    Mixed,
}

/// The items of a generation for `entries`. Directories directly below
/// `home/` and `root/` and deeper may collapse; `home/` and `root/`
/// themselves never do.
pub fn items(entries: &[Entry], layout: &Layout) -> Vec<Item> {
    let mut dirs: HashMap<&Path, Dir> = HashMap::new();
    for e in entries {
        let mut tail_len = 0usize;
        for a in e.entry.ancestors().skip(1) {
            tail_len += 1;
            if a.components().count() < 2 {
                break;
            }
            // The source directory that would stand for `a`: the entry's
            // source without the same number of trailing names, if those
            // names are the same (dot_prefix renames the first one).
            let source = if plain(e) {
                let tail: Vec<_> = e.entry.components().rev().take(tail_len).collect();
                let stail: Vec<_> = e.source.components().rev().take(tail_len).collect();
                (tail == stail)
                    .then(|| {
                        let mut s = e.source.clone();
                        for _ in 0..tail_len {
                            s.pop();
                        }
                        s
                    })
                    .filter(|s| s.starts_with(&e.source_root))
            } else {
                None
            };
            let next = match (dirs.get(a), source) {
                (Some(Dir::Mixed), _) | (_, None) => Dir::Mixed,
                (None, Some(s)) => Dir::One {
                    module: e.module.clone(),
                    source: s,
                },
                (Some(Dir::One { module, source }), Some(s)) => {
                    if *module == e.module && *source == s {
                        Dir::One {
                            module: module.clone(),
                            source: s,
                        }
                    } else {
                        Dir::Mixed
                    }
                }
            };
            dirs.insert(a, next);
        }
    }
    let mut out = Vec::new();
    let mut collapsed: HashMap<&Path, ()> = HashMap::new();
    for (i, e) in entries.iter().enumerate() {
        // The highest collapsible directory above the entry, if any.
        let top = e
            .entry
            .ancestors()
            .skip(1)
            .take_while(|a| a.components().count() >= 2)
            .filter(|a| matches!(dirs.get(a), Some(Dir::One { .. })))
            .last();
        match top {
            Some(a) => {
                if collapsed.insert(a, ()).is_none() {
                    if let Some(Dir::One { source, .. }) = dirs.get(a) {
                        out.push(Item::DirLink {
                            at: a.to_path_buf(),
                            text: layout.entry_link(a, source),
                        });
                    }
                }
            }
            None => out.push(Item::Entry(i)),
        }
    }
    out
}

/// Whether generation directory `gen` already holds `items` as wanted.
pub fn items_ok(gen: &Path, items: &[Item], entries: &[Entry]) -> bool {
    items.iter().all(|it| match it {
        Item::DirLink { at, text } => {
            std::fs::read_link(gen.join(at)).ok().as_deref() == Some(text.as_path())
        }
        Item::Entry(i) => {
            super::plan::generation_entry_ok(&gen.join(&entries[*i].entry), &entries[*i])
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::OnConflict;
    use std::sync::Arc;

    fn entry(module: &str, entry: &str, source: &str, root: &str, mode: Mode) -> Entry {
        Entry {
            module: module.into(),
            target: PathBuf::from("/home/u").join(entry.trim_start_matches("home/")),
            source: PathBuf::from(source),
            entry: PathBuf::from(entry),
            gen_link: PathBuf::new(),
            mode,
            on_conflict: OnConflict::Backup,
            rendered: None,
            source_root: Arc::from(Path::new(root)),
        }
    }

    fn dir_links(items: &[Item]) -> Vec<String> {
        items
            .iter()
            .filter_map(|i| match i {
                Item::DirLink { at, .. } => Some(at.display().to_string()),
                Item::Entry(_) => None,
            })
            .collect()
    }

    #[test]
    fn collapses_only_what_one_module_owns_below_its_source() {
        let t = tempfile::tempdir().unwrap();
        let layout = Layout::new(t.path(), &mut crate::paths::Canon::default());
        let l = Mode::Link;
        let entries = vec![
            // Module m's source is /p/m and its target ~/.config/m: the
            // names match one level above the source root too, yet the
            // generation must not link ~/.config to the profile itself.
            entry("m", "home/.config/m/a.conf", "/p/m/a.conf", "/p/m", l),
            entry(
                "m",
                "home/.config/m/sub/b.conf",
                "/p/m/sub/b.conf",
                "/p/m",
                l,
            ),
            // Two modules share ~/.config/shared: it stays a directory.
            entry(
                "x",
                "home/.config/shared/x.conf",
                "/p/x/shared/x.conf",
                "/p/x",
                l,
            ),
            entry(
                "y",
                "home/.config/shared/y.conf",
                "/p/y/shared/y.conf",
                "/p/y",
                l,
            ),
            // A copy keeps its directory real; its plain sibling dir folds.
            entry("c", "home/.c/copy.ini", "/p/c/copy.ini", "/p/c", Mode::Copy),
            entry("c", "home/.c/d/link.conf", "/p/c/d/link.conf", "/p/c", l),
            // dot_prefix: `zshrc` -> `.zshrc`; `config/git/x` ->
            // `.config/git/x` folds at `.config/git`, not above.
            entry("rc", "home/.config/git/x", "/p/rc/config/git/x", "/p/rc", l),
        ];
        let items = items(&entries, &layout);
        assert_eq!(
            dir_links(&items),
            vec!["home/.config/m", "home/.c/d", "home/.config/git"]
        );
        let singles: Vec<usize> = items
            .iter()
            .filter_map(|i| match i {
                Item::Entry(n) => Some(*n),
                _ => None,
            })
            .collect();
        assert_eq!(singles, vec![2, 3, 4]);
        let text = items
            .iter()
            .find_map(|i| match i {
                Item::DirLink { at, text } if at == Path::new("home/.config/m") => {
                    Some(text.clone())
                }
                _ => None,
            })
            .unwrap();
        assert!(text.is_relative() && text.ends_with("p/m"), "{text:?}");
    }
}
