//! `lumina add --adopt`: an existing configuration moves into the profile
//! and is linked back. The files are copied (modes kept, symlinks as
//! symlinks), checked byte for byte, then published; only after that does
//! the sync replace the originals with links. Into an empty or absent
//! source the copy is published with one rename; into a source that
//! already holds files (a module `lumina init` declared, a source left by
//! `remove`) each new file is moved in, and a file that differs from the
//! profile's copy stops the adoption before anything moved. Special files
//! are skipped with a warning, lumina's own links are left out, and a
//! nested git repository is adopted only as the user chooses. A failed
//! adoption leaves nothing behind.

use std::collections::HashSet;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, IoContext, Result};
use crate::fsops;

/// What to do with a git repository found inside the adopted tree.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum NestedGit {
    /// Stop and ask (the default).
    #[default]
    Refuse,
    /// Adopt the files without the repository's `.git`.
    Drop,
    /// Keep the tree as a git submodule of the profile.
    Submodule,
}

/// What an adoption did.
#[derive(Debug, Default)]
pub struct Adopted {
    /// Paths at the target whose content the profile now holds: the sync
    /// may replace them with links without a backup.
    pub identical: HashSet<PathBuf>,
    /// Files and links copied into the profile.
    pub copied: usize,
    pub warnings: Vec<String>,
    /// The submodule's URL, when adopted as one.
    pub submodule: Option<String>,
}

/// One thing found in the tree to adopt.
enum Item {
    Dir { mode: u32 },
    File,
    Link(PathBuf),
}

struct Scan {
    /// Relative path and what it is, parents before children.
    items: Vec<(PathBuf, Item)>,
    /// `.git` entries met (relative paths).
    repos: Vec<PathBuf>,
    warnings: Vec<String>,
}

/// Adopts `from` (the existing config) into `to` (the module's source in
/// the profile). `lumina_home` marks lumina's own links, which are left out.
pub fn adopt(
    from: &Path,
    to: &Path,
    profile: &Path,
    lumina_home: &Path,
    nested: NestedGit,
) -> Result<Adopted> {
    let scan = scan(from, lumina_home)?;
    let mut out = Adopted {
        warnings: scan.warnings,
        ..Adopted::default()
    };
    let keep_git = nested_git(from, &scan.repos, nested)?;
    let is_git = |rel: &Path| {
        rel.components()
            .any(|c| c.as_os_str() == ".git" || c.as_os_str() == ".gitmodules")
    };
    let items: Vec<&(PathBuf, Item)> = scan
        .items
        .iter()
        .filter(|(rel, _)| keep_git || !is_git(rel))
        .collect();
    // What the profile already holds: identical is fine, different stops.
    let mut new_items = Vec::new();
    let mut differ = Vec::new();
    for (rel, item) in &items {
        let src = join(from, rel);
        let dst = join(to, rel);
        let Ok(m) = std::fs::symlink_metadata(&dst) else {
            new_items.push((rel, item));
            continue;
        };
        let same = match item {
            Item::Dir { .. } => m.is_dir(),
            Item::File => m.is_file() && fsops::same_bytes(&src, &dst),
            Item::Link(t) => std::fs::read_link(&dst).ok().as_ref() == Some(t),
        };
        if !same {
            differ.push(rel.clone());
        } else if !matches!(item, Item::Dir { .. }) {
            out.identical.insert(src);
        }
    }
    if !differ.is_empty() {
        let list: Vec<String> = differ
            .iter()
            .take(10)
            .map(|r| {
                format!(
                    "  {} (profile: {})",
                    join(from, r).display(),
                    join(to, r).display()
                )
            })
            .collect();
        return Err(Error::Usage(format!(
            "cannot adopt {}: {} file(s) differ from what the profile already holds, so nothing was moved:\n{}\nKeep one version of each (delete or edit the profile's copy, or the original), then run the command again",
            from.display(),
            differ.len(),
            list.join("\n")
        )));
    }
    let staging = stage(from, profile, &new_items)?;
    let published = publish(&staging, to, from, &new_items);
    let _ = std::fs::remove_dir_all(&staging);
    published?;
    for (rel, item) in &new_items {
        if !matches!(item, Item::Dir { .. }) {
            out.identical.insert(join(from, rel));
            out.copied += 1;
        }
    }
    if keep_git && nested == NestedGit::Submodule {
        out.submodule = Some(add_submodule(from, to, profile)?);
    }
    Ok(out)
}

fn join(base: &Path, rel: &Path) -> PathBuf {
    if rel.as_os_str().is_empty() {
        base.to_path_buf()
    } else {
        base.join(rel)
    }
}

/// Walks `from` without following symlinks.
fn scan(from: &Path, lumina_home: &Path) -> Result<Scan> {
    let mut s = Scan {
        items: Vec::new(),
        repos: Vec::new(),
        warnings: Vec::new(),
    };
    let lumina_c = std::fs::canonicalize(lumina_home).ok();
    fn walk(s: &mut Scan, root: &Path, rel: &Path, lumina_c: Option<&Path>) -> Result<()> {
        let p = join(root, rel);
        let m = std::fs::symlink_metadata(&p).ctx(|| format!("reading {}", p.display()))?;
        let ft = m.file_type();
        if rel.file_name().is_some_and(|n| n == ".git") {
            s.repos.push(rel.to_path_buf());
        }
        if ft.is_symlink() {
            let t = std::fs::read_link(&p).ctx(|| format!("reading {}", p.display()))?;
            // lumina's own link (a file this module or another already
            // deploys, through ~/.lumina/active): not the user's content.
            let ours = lumina_c.is_some_and(|l| {
                p.parent()
                    .and_then(|d| std::fs::canonicalize(d).ok())
                    .is_some_and(|d| crate::paths::normalize(&d.join(&t)).starts_with(l))
            });
            if !ours {
                s.items.push((rel.to_path_buf(), Item::Link(t)));
            }
        } else if ft.is_dir() {
            s.items.push((
                rel.to_path_buf(),
                Item::Dir {
                    mode: m.permissions().mode() & 0o7777,
                },
            ));
            let mut names: Vec<_> = std::fs::read_dir(&p)
                .ctx(|| format!("reading {}", p.display()))?
                .flatten()
                .map(|e| e.file_name())
                .collect();
            names.sort();
            for n in names {
                walk(s, root, &rel.join(n), lumina_c)?;
            }
        } else if ft.is_file() {
            s.items.push((rel.to_path_buf(), Item::File));
        } else {
            use std::os::unix::fs::FileTypeExt;
            let kind = if ft.is_fifo() {
                "a FIFO"
            } else if ft.is_socket() {
                "a socket"
            } else {
                "a device"
            };
            s.warnings.push(format!(
                "skipped {}: {kind} cannot be adopted (it stays where it is)",
                p.display()
            ));
        }
        Ok(())
    }
    walk(&mut s, from, Path::new(""), lumina_c.as_deref())?;
    Ok(s)
}

/// Decides about nested repositories; returns whether `.git` entries are
/// kept.
fn nested_git(from: &Path, repos: &[PathBuf], choice: NestedGit) -> Result<bool> {
    if repos.is_empty() {
        return Ok(false);
    }
    match choice {
        NestedGit::Drop => Ok(false),
        NestedGit::Submodule => {
            if let Some(inner) = repos.iter().find(|r| r.as_path() != Path::new(".git")) {
                return Err(Error::Usage(format!(
                    "--submodule adopts {} as one repository, but it holds another one at {}; use --drop-git instead",
                    from.display(),
                    join(from, inner).display()
                )));
            }
            Ok(true)
        }
        NestedGit::Refuse => Err(Error::Usage(format!(
            "{} is a git repository of its own ({}), and lumina will not copy one repository into another (the profile would record a gitlink, not your files). Choose:\n  --drop-git   adopt its files without .git (its history stays in {}, untouched)\n  --submodule  keep it as a git submodule of the profile (its remote `origin` becomes the submodule's URL)",
            from.display(),
            repos
                .iter()
                .map(|r| join(from, r).display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            join(from, &repos[0]).display()
        ))),
    }
}

/// Copies the new items into a staging directory inside the profile
/// (`.lumina-adopt-*`, never deployed) and checks every byte.
fn stage(from: &Path, profile: &Path, items: &[(&PathBuf, &Item)]) -> Result<PathBuf> {
    let staging = profile.join(format!(".lumina-adopt-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging).ctx(|| format!("creating {}", staging.display()))?;
    let result = (|| -> Result<()> {
        for (rel, item) in items {
            let src = join(from, rel);
            let dst = join(&staging.join("tree"), rel);
            if let Some(p) = dst.parent() {
                std::fs::create_dir_all(p).ctx(|| format!("creating {}", p.display()))?;
            }
            match item {
                Item::Dir { .. } => match std::fs::create_dir(&dst) {
                    Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
                        return Err(Error::io(format!("creating {}", dst.display()), e))
                    }
                    _ => {}
                },
                Item::File => {
                    fsops::copy_new(&src, &dst)
                        .ctx(|| format!("copying {} to {}", src.display(), dst.display()))?;
                    if !fsops::same_bytes(&src, &dst) {
                        return Err(Error::Runtime(format!(
                            "adopting {}: the copy differs from the original; nothing was changed",
                            src.display()
                        )));
                    }
                }
                Item::Link(t) => std::os::unix::fs::symlink(t, &dst)
                    .ctx(|| format!("creating {}", dst.display()))?,
            }
        }
        Ok(())
    })();
    match result {
        Ok(()) => Ok(staging),
        Err(e) => {
            let _ = std::fs::remove_dir_all(&staging);
            Err(e)
        }
    }
}

/// Moves the staged items into `to`, creating directories with the modes
/// the originals have; on failure everything moved goes back.
fn publish(staging: &Path, to: &Path, from: &Path, items: &[(&PathBuf, &Item)]) -> Result<()> {
    let tree = staging.join("tree");
    // The whole tree is new: one rename.
    if std::fs::symlink_metadata(to).is_err() {
        if let Some(p) = to.parent() {
            std::fs::create_dir_all(p).ctx(|| format!("creating {}", p.display()))?;
        }
        set_modes(&tree, items)?;
        fsops::rename_noreplace(&tree, to)
            .ctx(|| format!("moving the adopted copy to {}", to.display()))?;
        if let Some(p) = to.parent() {
            fsops::fsync_dir(p);
        }
        return Ok(());
    }
    let mut moved: Vec<PathBuf> = Vec::new();
    let mut made: Vec<PathBuf> = Vec::new();
    let result = (|| -> Result<()> {
        for (rel, item) in items {
            let dst = join(to, rel);
            match item {
                Item::Dir { mode } => {
                    std::fs::create_dir(&dst).ctx(|| format!("creating {}", dst.display()))?;
                    made.push(dst.clone());
                    std::fs::set_permissions(&dst, std::fs::Permissions::from_mode(*mode))
                        .ctx(|| format!("setting the mode of {}", dst.display()))?;
                }
                _ => {
                    fsops::rename_noreplace(&join(&tree, rel), &dst)
                        .ctx(|| format!("moving {} into the profile", join(from, rel).display()))?;
                    moved.push(rel.to_path_buf());
                }
            }
        }
        Ok(())
    })();
    if result.is_err() {
        for rel in moved.iter().rev() {
            let _ = std::fs::rename(join(to, rel), join(&tree, rel));
        }
        for d in made.iter().rev() {
            let _ = std::fs::remove_dir(d);
        }
    }
    result
}

/// Gives the staged directories the modes of the originals (deepest first,
/// so a read-only directory does not stop its children).
fn set_modes(tree: &Path, items: &[(&PathBuf, &Item)]) -> Result<()> {
    for (rel, item) in items.iter().rev() {
        if let Item::Dir { mode } = item {
            let p = join(tree, rel);
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(*mode))
                .ctx(|| format!("setting the mode of {}", p.display()))?;
        }
    }
    Ok(())
}

/// Registers the adopted repository as a submodule of the profile under
/// its `origin` URL; returns the URL.
fn add_submodule(from: &Path, to: &Path, profile: &Path) -> Result<String> {
    let git = |args: &[&std::ffi::OsStr], dir: &Path| {
        std::process::Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .output()
            .map_err(|e| Error::Runtime(format!("running git: {e}; is git installed?")))
    };
    let out = git(
        &["remote".as_ref(), "get-url".as_ref(), "origin".as_ref()],
        to,
    )?;
    let url = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !out.status.success() || url.is_empty() {
        return Err(Error::Usage(format!(
            "{} has no remote `origin`, so it cannot be a submodule (others could not clone it). Its files are now in {}; push it somewhere and run `git submodule add URL {}` in the profile, or adopt with --drop-git",
            from.display(),
            to.display(),
            to.strip_prefix(profile).unwrap_or(to).display()
        )));
    }
    let rel = to.strip_prefix(profile).unwrap_or(to);
    let out = git(
        &[
            "submodule".as_ref(),
            "add".as_ref(),
            "--".as_ref(),
            url.as_ref(),
            rel.as_os_str(),
        ],
        profile,
    )?;
    if !out.status.success() {
        return Err(Error::Runtime(format!(
            "git submodule add {url} {} failed: {}. The files are in the profile; run it yourself once the cause is fixed",
            rel.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(url)
}
