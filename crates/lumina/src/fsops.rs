//! The filesystem operations the linker is built from. Each one is atomic on
//! its own (one syscall that either happens or does not), which is what makes
//! "every target is either as before or as intended" hold at every instant.
//!
//! Every mutation passes through [`step`], which counts it. Setting
//! `LUMINA_FAILPOINT_KILL_AT=N` makes the process SIGKILL itself just before
//! mutation number N: the crash-safety test uses it to stop a sync at
//! reproducible points, in addition to killing it from outside.
//! `LUMINA_FAILPOINT_ERROR_AT=N` makes mutation N fail with an I/O error
//! instead, where the operation can fail (file copies): the tests use it to
//! prove that a failure mid-way leaves nothing behind.

use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use rustix::fs::{renameat_with, RenameFlags, CWD};

static STEPS: AtomicU64 = AtomicU64::new(0);

fn kill_at() -> Option<u64> {
    static AT: OnceLock<Option<u64>> = OnceLock::new();
    *AT.get_or_init(|| {
        std::env::var("LUMINA_FAILPOINT_KILL_AT")
            .ok()
            .and_then(|v| v.parse().ok())
    })
}

fn error_at() -> Option<u64> {
    static AT: OnceLock<Option<u64>> = OnceLock::new();
    *AT.get_or_init(|| {
        std::env::var("LUMINA_FAILPOINT_ERROR_AT")
            .ok()
            .and_then(|v| v.parse().ok())
    })
}

/// Counts one mutation; dies here if the failpoint says so. Returns its
/// number.
pub fn step(what: &str, path: &Path) -> u64 {
    let n = STEPS.fetch_add(1, Ordering::Relaxed) + 1;
    tracing::debug!(step = n, op = what, path = %path.display());
    if kill_at() == Some(n) {
        let _ =
            rustix::process::kill_process(rustix::process::getpid(), rustix::process::Signal::KILL);
    }
    n
}

/// [`step`] for an operation that can fail: the error failpoint applies.
fn fallible_step(what: &str, path: &Path) -> std::io::Result<()> {
    if error_at() == Some(step(what, path)) {
        return Err(std::io::Error::other(format!(
            "failpoint LUMINA_FAILPOINT_ERROR_AT at {}",
            path.display()
        )));
    }
    Ok(())
}

pub fn symlink(text: &Path, at: &Path) -> std::io::Result<()> {
    step("symlink", at);
    std::os::unix::fs::symlink(text, at)
}

pub fn mkdir(p: &Path) -> std::io::Result<()> {
    step("mkdir", p);
    std::fs::create_dir(p)
}

pub fn rmdir(p: &Path) -> std::io::Result<()> {
    step("rmdir", p);
    std::fs::remove_dir(p)
}

pub fn unlink(p: &Path) -> std::io::Result<()> {
    step("unlink", p);
    std::fs::remove_file(p)
}

/// `rename(2)`, replacing whatever is at `to`.
pub fn rename(from: &Path, to: &Path) -> std::io::Result<()> {
    step("rename", to);
    std::fs::rename(from, to)
}

/// Renames only if nothing is at `to` (EEXIST otherwise): a backup is never
/// overwritten, even by a race.
pub fn rename_noreplace(from: &Path, to: &Path) -> std::io::Result<()> {
    step("rename-noreplace", to);
    match renameat_with(CWD, from, CWD, to, RenameFlags::NOREPLACE) {
        Ok(()) => Ok(()),
        Err(e) if e == rustix::io::Errno::INVAL || e == rustix::io::Errno::NOSYS => {
            // Filesystem without RENAME_NOREPLACE: a checked rename. Between
            // the check and the rename another process could create `to`
            // and lose it; filesystems with renameat2 (ext4, btrfs, xfs,
            // tmpfs) never take this path.
            if std::fs::symlink_metadata(to).is_ok() {
                return Err(std::io::Error::from(std::io::ErrorKind::AlreadyExists));
            }
            std::fs::rename(from, to)
        }
        Err(e) => Err(e.into()),
    }
}

/// Swaps `a` and `b` atomically (`RENAME_EXCHANGE`). Both must exist.
pub fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    step("exchange", b);
    renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE).map_err(Into::into)
}

/// Whether this filesystem supports `RENAME_EXCHANGE`; when it does not, the
/// linker moves the old entry aside first (a short window where the target
/// is absent, still recorded in the journal).
pub fn exchange_unsupported(e: &std::io::Error) -> bool {
    e.raw_os_error() == Some(rustix::io::Errno::INVAL.raw_os_error())
}

pub fn fsync_dir(p: &Path) {
    if let Ok(f) = std::fs::File::open(p) {
        let _ = f.sync_all();
    }
}

/// How much a replaced file must survive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// The registry, the state manifest, generation records, adopted files:
    /// the data is fsync'd before the rename and the directory after it,
    /// so once the call returns the new file survives a crash. Each such
    /// write is a mutation point of the crash test.
    Durable,
    /// State rebuilt when lost (the flow's files on tmpfs, caches): no
    /// fsync. Readers still never see a half-written file.
    Volatile,
}

/// The one way lumina replaces a file: a temporary file beside it, then a
/// rename over it (atomic: readers see the old file or the new one), with
/// the fsyncs `durability` asks for.
pub fn write_atomic(path: &Path, data: &[u8], durability: Durability) -> std::io::Result<()> {
    replace_file(path, data, durability == Durability::Durable)
}

fn replace_file(path: &Path, data: &[u8], durable: bool) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp.{}", std::process::id()));
    if durable {
        step("write", &tmp);
    }
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(data)?;
    if durable {
        f.sync_all()?;
    }
    drop(f);
    // Only durable writes are mutations the crash test counts.
    let renamed = if durable {
        rename(&tmp, path)
    } else {
        std::fs::rename(&tmp, path)
    };
    if let Err(e) = renamed {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    if durable {
        fsync_dir(dir);
    }
    Ok(())
}

/// Copies a file's bytes and permissions into a new file at `to` (which
/// must not exist), fsync'd.
pub fn copy_new(from: &Path, to: &Path) -> std::io::Result<()> {
    fallible_step("copy", to)?;
    let mut src = std::fs::File::open(from)?;
    let perm = src.metadata()?.permissions();
    let mut dst = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(to)?;
    std::io::copy(&mut src, &mut dst)?;
    dst.set_permissions(perm)?;
    dst.sync_all()
}

/// Writes `bytes` into a new file at `to` (which must not exist) with the
/// permissions of `like` (a rendered template keeps its source's mode),
/// fsync'd.
pub fn write_new(to: &Path, bytes: &[u8], like: &Path) -> std::io::Result<()> {
    fallible_step("copy", to)?;
    let perm = std::fs::metadata(like)?.permissions();
    let mut dst = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(to)?;
    dst.write_all(bytes)?;
    dst.set_permissions(perm)?;
    dst.sync_all()
}

/// A 64-bit FNV-1a fingerprint of a file's bytes (hex), used to tell whether
/// a `mode: copy` target is still exactly what lumina wrote. Not a security
/// measure: it detects edits, not adversaries.
pub fn digest(p: &Path) -> Option<String> {
    use std::io::Read;
    let mut f = std::fs::File::open(p).ok()?;
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut buf = [0u8; 16384];
    let mut len: u64 = 0;
    loop {
        let n = f.read(&mut buf).ok()?;
        if n == 0 {
            break;
        }
        len += n as u64;
        for b in &buf[..n] {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    Some(format!("{h:016x}-{len}"))
}

/// Byte-for-byte comparison of two files (false if either is unreadable).
pub fn same_bytes(a: &Path, b: &Path) -> bool {
    use std::io::Read;
    let (Ok(fa), Ok(fb)) = (std::fs::File::open(a), std::fs::File::open(b)) else {
        return false;
    };
    match (fa.metadata(), fb.metadata()) {
        (Ok(ma), Ok(mb)) if ma.len() != mb.len() => return false,
        (Err(_), _) | (_, Err(_)) => return false,
        _ => {}
    }
    let (mut ra, mut rb) = (std::io::BufReader::new(fa), std::io::BufReader::new(fb));
    let (mut ba, mut bb) = ([0u8; 8192], [0u8; 8192]);
    loop {
        let n = match ra.read(&mut ba) {
            Ok(n) => n,
            Err(_) => return false,
        };
        if n == 0 {
            return rb.read(&mut bb).map(|m| m == 0).unwrap_or(false);
        }
        if rb.read_exact(&mut bb[..n]).is_err() || ba[..n] != bb[..n] {
            return false;
        }
    }
}

/// Takes an exclusive flock(2) on `path` (created if needed), held until
/// the returned file is dropped.
pub fn lock_file(path: &Path) -> std::io::Result<std::fs::File> {
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)?;
    rustix::fs::flock(&f, rustix::fs::FlockOperation::LockExclusive)?;
    Ok(f)
}
