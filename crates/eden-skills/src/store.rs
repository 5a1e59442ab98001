//! The content-addressed store (docs/eden-skills/lock.md#the-store): one immutable, pristine tree
//! per content hash under `<storage>/store/<hex>`.

use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use sha2::{Digest, Sha256};

/// One hashed entry of a tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    File {
        path: String,
        exec: bool,
        sha: [u8; 32],
    },
    Link {
        path: String,
        target: String,
    },
}

impl Entry {
    pub fn path(&self) -> &str {
        match self {
            Entry::File { path, .. } | Entry::Link { path, .. } => path,
        }
    }
}

pub fn hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(HEX[(b >> 4) as usize] as char);
        s.push(HEX[(b & 15) as usize] as char);
    }
    s
}

/// The content hash (docs/eden-skills/lock.md#the-content-hash): `sha256:<hex>` over sorted `F`/`L` lines.
pub fn content_hash(entries: &[Entry]) -> String {
    let mut sorted: Vec<&Entry> = entries.iter().collect();
    sorted.sort_by(|a, b| a.path().as_bytes().cmp(b.path().as_bytes()));
    let mut h = Sha256::new();
    for e in sorted {
        match e {
            Entry::File { path, exec, sha } => {
                let mode = if *exec { "755" } else { "644" };
                h.update(format!("F {mode} {} {path}\n", hex(sha)));
            }
            Entry::Link { path, target } => {
                h.update(format!(
                    "L {} {path}\n",
                    hex(&Sha256::digest(target.as_bytes()))
                ));
            }
        }
    }
    format!("sha256:{}", hex(&h.finalize()))
}

/// Why a tree could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("{0}: unsupported file type (only files, directories and symlinks)")]
    FileType(String),
    #[error("{path}: {source}")]
    Io { path: String, source: io::Error },
}

impl ScanError {
    fn io(path: &Path, source: io::Error) -> ScanError {
        ScanError::Io {
            path: path.display().to_string(),
            source,
        }
    }
    pub fn io_kind(&self) -> Option<io::ErrorKind> {
        match self {
            ScanError::Io { source, .. } => Some(source.kind()),
            _ => None,
        }
    }
}

fn sha_file(path: &Path) -> io::Result<[u8; 32]> {
    let mut f = fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = [0u8; 64 * 1024];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().into())
}

/// Walks `root` without following symlinks; `skip_git` leaves out every
/// entry named `.git` (source trees).
pub fn scan(root: &Path, skip_git: bool) -> Result<Vec<Entry>, ScanError> {
    let mut out = Vec::new();
    scan_into(root, root, skip_git, &mut out)?;
    Ok(out)
}

fn rel(root: &Path, p: &Path) -> String {
    p.strip_prefix(root)
        .unwrap_or(p)
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

fn scan_into(
    root: &Path,
    dir: &Path,
    skip_git: bool,
    out: &mut Vec<Entry>,
) -> Result<(), ScanError> {
    let rd = fs::read_dir(dir).map_err(|e| ScanError::io(dir, e))?;
    for e in rd {
        let e = e.map_err(|e| ScanError::io(dir, e))?;
        if skip_git && e.file_name() == ".git" {
            continue;
        }
        let p = e.path();
        let meta = fs::symlink_metadata(&p).map_err(|e| ScanError::io(&p, e))?;
        let ft = meta.file_type();
        if ft.is_dir() {
            scan_into(root, &p, skip_git, out)?;
        } else if ft.is_file() {
            out.push(Entry::File {
                path: rel(root, &p),
                exec: meta.permissions().mode() & 0o100 != 0,
                sha: sha_file(&p).map_err(|e| ScanError::io(&p, e))?,
            });
        } else if ft.is_symlink() {
            let target = fs::read_link(&p).map_err(|e| ScanError::io(&p, e))?;
            out.push(Entry::Link {
                path: rel(root, &p),
                target: target.to_string_lossy().into_owned(),
            });
        } else {
            return Err(ScanError::FileType(p.display().to_string()));
        }
    }
    Ok(())
}

/// Hash of a tree on disk (store entry or copy).
pub fn hash_dir(root: &Path) -> Result<String, ScanError> {
    Ok(content_hash(&scan(root, false)?))
}

/// A relative symlink whose target stays inside the tree.
pub fn link_stays_inside(link_path: &str, target: &str) -> bool {
    if target.is_empty() || target.starts_with('/') {
        return false;
    }
    let mut depth: i64 = link_path.split('/').count() as i64 - 1;
    for c in Path::new(target).components() {
        match c {
            Component::ParentDir => {
                depth -= 1;
                if depth < 0 {
                    return false;
                }
            }
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            _ => return false,
        }
    }
    true
}

fn safe_rel(path: &str) -> bool {
    !path.is_empty()
        && !path.starts_with('/')
        && path
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != "..")
}

/// A store entry ready to be placed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreEntry {
    pub hash: String,
    pub path: PathBuf,
}

/// The store under a storage root.
#[derive(Debug, Clone)]
pub struct Store {
    pub storage: PathBuf,
}

impl Store {
    pub fn new(storage: &Path) -> Store {
        Store {
            storage: storage.to_path_buf(),
        }
    }
    pub fn dir(&self) -> PathBuf {
        self.storage.join("store")
    }
    pub fn tmp(&self) -> PathBuf {
        self.storage.join(".tmp")
    }
    /// The entry for `sha256:<hex>`, if the hash is well formed.
    pub fn entry_path(&self, content_hash: &str) -> Option<PathBuf> {
        let hex = content_hash.strip_prefix("sha256:")?;
        (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| self.dir().join(hex))
    }
    pub fn has(&self, content_hash: &str) -> bool {
        self.entry_path(content_hash).is_some_and(|p| p.is_dir())
    }
    pub fn writer(&self) -> io::Result<StoreWriter> {
        let dir = self
            .tmp()
            .join(format!("export-{}", crate::fsutil::unique_suffix()));
        fs::create_dir_all(&dir)?;
        Ok(StoreWriter {
            store: self.clone(),
            dir,
            entries: Vec::new(),
            warnings: Vec::new(),
            done: false,
        })
    }

    /// Exports a local directory (docs/eden-skills/lock.md#the-store): no symlink followed,
    /// `.git` skipped, escaping symlinks dropped with a warning.
    pub fn export_dir(&self, src: &Path) -> Result<(StoreEntry, Vec<String>), ExportError> {
        let meta = fs::metadata(src)
            .map_err(|e| ExportError::Source(format!("{}: {e}", src.display())))?;
        if !meta.is_dir() {
            return Err(ExportError::Source(format!(
                "{} is not a directory",
                src.display()
            )));
        }
        let mut w = self.writer().map_err(ExportError::Store)?;
        copy_source(src, src, &mut w)?;
        w.finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The source cannot be read as a tree (a `checkout` failure).
    #[error("{0}")]
    Source(String),
    /// The store could not be written.
    #[error("cannot write the store: {0}")]
    Store(io::Error),
}

fn copy_source(root: &Path, dir: &Path, w: &mut StoreWriter) -> Result<(), ExportError> {
    let src_err = |p: &Path, e: io::Error| ExportError::Source(format!("{}: {e}", p.display()));
    let mut names: Vec<_> = fs::read_dir(dir)
        .map_err(|e| src_err(dir, e))?
        .collect::<Result<_, _>>()
        .map_err(|e| src_err(dir, e))?;
    names.sort_by_key(|e| e.file_name());
    for e in names {
        if e.file_name() == ".git" {
            continue;
        }
        let p = e.path();
        let meta = fs::symlink_metadata(&p).map_err(|e| src_err(&p, e))?;
        let relp = rel(root, &p);
        let ft = meta.file_type();
        if ft.is_dir() {
            copy_source(root, &p, w)?;
        } else if ft.is_file() {
            let mut f = fs::File::open(&p).map_err(|e| src_err(&p, e))?;
            w.add_file_from(&relp, meta.permissions().mode() & 0o100 != 0, &mut f)
                .map_err(|e| src_err(&p, e))?;
        } else if ft.is_symlink() {
            let t = fs::read_link(&p).map_err(|e| src_err(&p, e))?;
            w.add_link(&relp, &t.to_string_lossy())
                .map_err(ExportError::Store)?;
        } else {
            return Err(ExportError::Source(format!(
                "{}: unsupported file type (only files, directories and symlinks)",
                p.display()
            )));
        }
    }
    Ok(())
}

/// Builds one store entry under `.tmp/`, hashing as it writes.
pub struct StoreWriter {
    store: Store,
    dir: PathBuf,
    entries: Vec<Entry>,
    pub warnings: Vec<String>,
    done: bool,
}

impl StoreWriter {
    fn place(&self, rel: &str) -> io::Result<PathBuf> {
        if !safe_rel(rel) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("path `{rel}` would leave the skill folder"),
            ));
        }
        let p = self.dir.join(rel);
        if let Some(parent) = p.parent() {
            fs::create_dir_all(parent)?;
        }
        Ok(p)
    }

    pub fn add_file(&mut self, rel: &str, exec: bool, bytes: &[u8]) -> io::Result<()> {
        self.add_file_from(rel, exec, &mut &bytes[..])
    }

    pub fn add_file_from(&mut self, rel: &str, exec: bool, r: &mut dyn Read) -> io::Result<()> {
        let p = self.place(rel)?;
        let mut f = fs::File::create(&p)?;
        let mut h = Sha256::new();
        let mut buf = [0u8; 64 * 1024];
        loop {
            let n = r.read(&mut buf)?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
            f.write_all(&buf[..n])?;
        }
        f.set_permissions(fs::Permissions::from_mode(if exec { 0o755 } else { 0o644 }))?;
        self.entries.push(Entry::File {
            path: rel.to_string(),
            exec,
            sha: h.finalize().into(),
        });
        Ok(())
    }

    /// Keeps a relative symlink that stays inside the tree; drops any other
    /// with a warning.
    pub fn add_link(&mut self, rel: &str, target: &str) -> io::Result<()> {
        if !link_stays_inside(rel, target) {
            self.warnings.push(format!(
                "dropped symlink `{rel}` -> `{target}`: it points outside the skill"
            ));
            return Ok(());
        }
        let p = self.place(rel)?;
        symlink(target, &p)?;
        self.entries.push(Entry::Link {
            path: rel.to_string(),
            target: target.to_string(),
        });
        Ok(())
    }

    /// Hashes the tree, fsyncs it and renames it to `store/<hex>` (or reuses
    /// an existing entry).
    pub fn finish(mut self) -> Result<(StoreEntry, Vec<String>), ExportError> {
        let hash = content_hash(&self.entries);
        let hexs = hash.trim_start_matches("sha256:").to_string();
        let dest = self.store.dir().join(&hexs);
        let r = (|| -> io::Result<()> {
            fs::create_dir_all(self.store.dir())?;
            if dest.is_dir() {
                return Ok(());
            }
            fs::set_permissions(&self.dir, fs::Permissions::from_mode(0o755))?;
            sync_tree(&self.dir)?;
            match fs::rename(&self.dir, &dest) {
                Ok(()) => {}
                // Another task exported the same content first.
                Err(_) if dest.is_dir() => {}
                Err(e) => return Err(e),
            }
            if let Ok(d) = fs::File::open(self.store.dir()) {
                let _ = d.sync_all();
            }
            Ok(())
        })();
        self.done = true;
        let _ = crate::fsutil::remove_any(&self.dir);
        r.map_err(ExportError::Store)?;
        Ok((
            StoreEntry { hash, path: dest },
            std::mem::take(&mut self.warnings),
        ))
    }
}

impl Drop for StoreWriter {
    fn drop(&mut self) {
        if !self.done {
            let _ = crate::fsutil::remove_any(&self.dir);
        }
    }
}

fn sync_tree(dir: &Path) -> io::Result<()> {
    for e in fs::read_dir(dir)? {
        let e = e?;
        let ft = e.file_type()?;
        if ft.is_dir() {
            sync_tree(&e.path())?;
        } else if ft.is_file() {
            fs::File::open(e.path())?.sync_all()?;
        }
    }
    fs::File::open(dir)?.sync_all()
}

/// Copies a store entry to `dest` (which must not exist), without following
/// symlinks.
pub fn copy_tree(src: &Path, dest: &Path) -> io::Result<()> {
    fs::create_dir(dest)?;
    fs::set_permissions(dest, fs::Permissions::from_mode(0o755))?;
    for e in fs::read_dir(src)? {
        let e = e?;
        let p = e.path();
        let d = dest.join(e.file_name());
        // The directory entry's type (no stat per file); `fs::copy` gives
        // the copy the source's permission bits (store files are 644/755).
        let ft = e.file_type()?;
        if ft.is_dir() {
            copy_tree(&p, &d)?;
        } else if ft.is_symlink() {
            symlink(fs::read_link(&p)?, &d)?;
        } else {
            fs::copy(&p, &d)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_vector() {
        let entries = vec![Entry::File {
            path: "SKILL.md".into(),
            exec: false,
            sha: Sha256::digest(b"x\n").into(),
        }];
        assert_eq!(
            content_hash(&entries),
            "sha256:1cc2f0ddebe9e54f9b5a9d74fad02ae86ee03d918d463e2bc8499dc40ce87831"
        );
    }

    #[test]
    fn export_dir_skips_git_and_escaping_links() {
        let t = tempfile::tempdir().unwrap();
        let src = t.path().join("src");
        fs::create_dir_all(src.join(".git")).unwrap();
        fs::create_dir_all(src.join("sub")).unwrap();
        fs::write(src.join("SKILL.md"), "x\n").unwrap();
        fs::write(src.join(".git/config"), "secret").unwrap();
        symlink("../SKILL.md", src.join("sub/inside")).unwrap();
        symlink("/etc/passwd", src.join("outside")).unwrap();
        let store = Store::new(&t.path().join("storage"));
        let (entry, warnings) = store.export_dir(&src).unwrap();
        assert!(!entry.path.join(".git").exists());
        assert!(entry.path.join("sub/inside").is_symlink());
        assert!(!entry.path.join("outside").exists());
        assert_eq!(warnings.len(), 1);
        assert_eq!(hash_dir(&entry.path).unwrap(), entry.hash);
        // Same content again: the same entry, no scratch left.
        let (again, _) = store.export_dir(&src).unwrap();
        assert_eq!(again, entry);
        assert_eq!(fs::read_dir(store.tmp()).unwrap().count(), 0);
    }

    #[test]
    fn links() {
        assert!(link_stays_inside("a/b", "../c"));
        assert!(!link_stays_inside("a", "../c"));
        assert!(!link_stays_inside("a", "/etc"));
        assert!(link_stays_inside("a", "b/../c"));
    }
}
