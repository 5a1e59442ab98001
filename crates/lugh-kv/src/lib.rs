//! Transactional key-value storage on real files: a write-ahead log of
//! checksummed records with group commit, snapshots that truncate the log,
//! recovery that cuts the log at the first bad record, and rollback of a
//! committed transaction from its undo records.
//!
//! Layout of a data directory: `wal.log` (the log), `snapshot` (the state
//! as of an LSN, written atomically), `LOCK` (held while a store is open).
//! A commit returns once its commit record is on disk (`fdatasync`);
//! concurrent commits share one sync. An uncommitted transaction is only in
//! memory, so it leaves no trace but its id and, for an abort, an abort
//! record.

pub mod record;

pub use record::write_atomic;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Instant;

use serde::Serialize;

use record::{Frames, Record, HEADER_LEN, MAX_KEY, MAX_VALUE, SNAP_MAGIC, WAL_MAGIC};

#[derive(Debug, thiserror::Error)]
pub enum KvError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("key of {0} bytes is over the {MAX_KEY}-byte limit")]
    KeyTooLarge(usize),
    #[error("value of {0} bytes is over the {MAX_VALUE}-byte limit (32 KiB)")]
    ValueTooLarge(usize),
    #[error("the data directory {0} is in use by another lugh process (its LOCK is held)")]
    Locked(PathBuf),
    #[error("{path}: damaged header; this is not a lugh {what} (or it was overwritten)")]
    BadHeader { path: PathBuf, what: &'static str },
    #[error("{path}: damaged at byte {offset} ({damage}); restore it from a backup or remove it to start from the log alone")]
    BadSnapshot {
        path: PathBuf,
        offset: usize,
        damage: String,
    },
    #[error("{path} starts at LSN {log} but the snapshot ends at {snapshot}: records in between are missing")]
    Gap {
        path: PathBuf,
        log: u64,
        snapshot: u64,
    },
    #[error(
        "transaction {0} is not in the retained history (too old, never committed, or unknown)"
    )]
    UnknownTxn(u64),
    #[error("transaction {txn} was already rolled back by transaction {by}")]
    AlreadyReverted { txn: u64, by: u64 },
    #[error("key {key:?} changed after transaction {txn} wrote it; rolling back would overwrite that later write (use --force to do it anyway)")]
    Conflict { key: String, txn: u64 },
    #[error("a transaction of {size} bytes cannot fit a log limited to {limit} bytes")]
    TxnTooLarge { size: u64, limit: u64 },
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> KvError + '_ {
    move |source| KvError::Io {
        path: path.to_path_buf(),
        source,
    }
}

#[derive(Debug, Clone)]
pub struct Options {
    /// Log size that triggers a snapshot and truncation; writers wait
    /// while it happens (a full log blocks, it never drops).
    pub log_limit: u64,
    /// Committed transactions kept for rollback.
    pub history: usize,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            log_limit: 64 << 20,
            history: 1024,
        }
    }
}

/// One write of a committed transaction, with the value it replaced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Write {
    #[serde(serialize_with = "ser_text")]
    pub key: Vec<u8>,
    #[serde(serialize_with = "ser_opt_text")]
    pub before: Option<Vec<u8>>,
    #[serde(serialize_with = "ser_opt_text")]
    pub after: Option<Vec<u8>>,
}

fn ser_text<S: serde::Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&String::from_utf8_lossy(v))
}

fn ser_opt_text<S: serde::Serializer>(v: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(v) => s.serialize_some(&String::from_utf8_lossy(v)),
        None => s.serialize_none(),
    }
}

/// A committed transaction kept for rollback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TxnInfo {
    pub txn: u64,
    pub writes: Vec<Write>,
    /// The transaction this one rolled back (0 = none).
    pub reverts: u64,
    /// The transaction that rolled this one back (0 = none).
    pub reverted_by: u64,
}

/// A transaction being built; nothing of it is stored until `commit`.
#[derive(Debug)]
pub struct Txn {
    pub id: u64,
    writes: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    reverts: u64,
}

impl Txn {
    pub fn put(&mut self, key: &[u8], value: &[u8]) -> Result<(), KvError> {
        check_key(key)?;
        if value.len() > MAX_VALUE {
            return Err(KvError::ValueTooLarge(value.len()));
        }
        self.writes.push((key.to_vec(), Some(value.to_vec())));
        Ok(())
    }

    pub fn delete(&mut self, key: &[u8]) -> Result<(), KvError> {
        check_key(key)?;
        self.writes.push((key.to_vec(), None));
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.writes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.writes.is_empty()
    }
}

fn check_key(key: &[u8]) -> Result<(), KvError> {
    if key.len() > MAX_KEY {
        return Err(KvError::KeyTooLarge(key.len()));
    }
    Ok(())
}

/// What opening (recovering) a data directory found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RecoveryReport {
    pub snapshot_lsn: u64,
    pub log_records: u64,
    pub committed: u64,
    pub aborted: u64,
    /// Transactions begun in the log without a commit (discarded).
    pub incomplete: u64,
    /// Where the log was cut (byte offset in wal.log), and why.
    pub cut_at: Option<u64>,
    pub damage: Option<String>,
    pub bytes_cut: u64,
    pub keys: u64,
    pub next_txn: u64,
    pub duration_ms: f64,
}

/// Counters a store keeps while open.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Stats {
    pub commits: u64,
    pub syncs: u64,
    pub checkpoints: u64,
    /// Commits that waited for a checkpoint because the log was full.
    pub blocked_on_full_log: u64,
}

struct Inner {
    map: BTreeMap<Vec<u8>, Vec<u8>>,
    next_txn: u64,
    history: BTreeMap<u64, TxnInfo>,
    order: VecDeque<u64>,
    log: Arc<File>,
    /// Size of the log file: records, then zeros written ahead of them.
    alloc: u64,
    /// LSN of the first byte after the log header.
    base: u64,
    /// Bytes of frames in the log.
    len: u64,
    stats: Stats,
}

impl Inner {
    fn end_lsn(&self) -> u64 {
        self.base + self.len
    }

    fn remember(&mut self, info: TxnInfo, keep: usize) {
        if info.reverts != 0 {
            if let Some(t) = self.history.get_mut(&info.reverts) {
                t.reverted_by = info.txn;
            }
        }
        self.order.push_back(info.txn);
        self.history.insert(info.txn, info);
        while self.order.len() > keep {
            if let Some(old) = self.order.pop_front() {
                self.history.remove(&old);
            }
        }
    }
}

/// The log grows by this much at a time, zeros written ahead of records.
const PREALLOC: u64 = 4 << 20;

struct SyncState {
    synced: u64,
    syncing: bool,
}

/// An open data directory.
pub struct Store {
    dir: PathBuf,
    opts: Options,
    inner: Mutex<Inner>,
    sync: Mutex<SyncState>,
    synced: Condvar,
    syncs: AtomicU64,
    _lock: File,
}

/// A commit: the transaction id and the LSN after its commit record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Committed {
    pub txn: u64,
    pub lsn: u64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Store {
    pub fn wal_path(dir: &Path) -> PathBuf {
        dir.join("wal.log")
    }

    pub fn snapshot_path(dir: &Path) -> PathBuf {
        dir.join("snapshot")
    }

    /// Opens (creating if needed) and recovers `dir`: the snapshot, then
    /// the committed transactions of the log, cut at the first damage.
    pub fn open(dir: &Path, opts: Options) -> Result<(Store, RecoveryReport), KvError> {
        let t = Instant::now();
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        let lock_file = lock_dir(dir)?;
        let mut report = RecoveryReport::default();
        let loaded = load_snapshot(dir)?;
        report.snapshot_lsn = loaded.lsn;
        let (wal, bytes, base) = read_wal(dir, report.snapshot_lsn)?;
        let mut inner = Inner {
            map: loaded.map,
            next_txn: loaded.next_txn,
            history: loaded.history,
            order: loaded.order,
            log: Arc::new(File::open(&wal).map_err(io_err(&wal))?),
            alloc: bytes.len() as u64,
            base,
            len: 0,
            stats: Stats::default(),
        };
        let good_end = replay(&mut inner, &bytes, base, opts.history, &mut report);
        inner.log = Arc::new(
            OpenOptions::new()
                .read(true)
                .write(true)
                .open(&wal)
                .map_err(io_err(&wal))?,
        );
        if report.cut_at.is_some() {
            // Cut the log at the first bad record: nothing after it can be
            // trusted, and none of it may resurface behind later appends.
            report.bytes_cut = (bytes.len() - good_end) as u64;
            inner.log.set_len(good_end as u64).map_err(io_err(&wal))?;
            inner.log.sync_all().map_err(io_err(&wal))?;
            inner.alloc = good_end as u64;
        }
        inner.len = (good_end - HEADER_LEN) as u64;
        report.keys = inner.map.len() as u64;
        report.next_txn = inner.next_txn;
        report.duration_ms = t.elapsed().as_secs_f64() * 1e3;
        let synced = inner.end_lsn();
        Ok((
            Store {
                dir: dir.to_path_buf(),
                opts,
                inner: Mutex::new(inner),
                sync: Mutex::new(SyncState {
                    synced,
                    syncing: false,
                }),
                synced: Condvar::new(),
                syncs: AtomicU64::new(0),
                _lock: lock_file,
            },
            report,
        ))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Starts a transaction (takes the next id).
    pub fn begin(&self) -> Txn {
        let mut g = lock(&self.inner);
        let id = g.next_txn;
        g.next_txn += 1;
        Txn {
            id,
            writes: Vec::new(),
            reverts: 0,
        }
    }

    /// Commits durably: returns once the commit record is on disk.
    pub fn commit(&self, txn: Txn) -> Result<Committed, KvError> {
        let c = self.commit_nowait(txn)?;
        self.sync_to(c.lsn)?;
        Ok(c)
    }

    /// Writes and applies a transaction without waiting for the disk; it is
    /// durable once [`Store::sync_to`] its LSN returns.
    pub fn commit_nowait(&self, txn: Txn) -> Result<Committed, KvError> {
        let mut g = lock(&self.inner);
        self.commit_locked(&mut g, txn)
    }

    fn commit_locked(&self, g: &mut Inner, txn: Txn) -> Result<Committed, KvError> {
        let mut frames = Vec::new();
        Record::Begin { txn: txn.id }.encode_into(&mut frames);
        let mut writes = Vec::with_capacity(txn.writes.len());
        // Before-images as of this transaction's own earlier writes too.
        let mut staged: HashMap<&[u8], Option<&[u8]>> = HashMap::new();
        for (key, after) in &txn.writes {
            let before = match staged.get(key.as_slice()) {
                Some(v) => v.map(<[u8]>::to_vec),
                None => g.map.get(key).cloned(),
            };
            staged.insert(key, after.as_deref());
            let w = Write {
                key: key.clone(),
                before,
                after: after.clone(),
            };
            w.encode_into(txn.id, &mut frames);
            writes.push(w);
        }
        Record::Commit {
            txn: txn.id,
            reverts: txn.reverts,
        }
        .encode_into(&mut frames);
        let size = frames.len() as u64;
        if size > self.opts.log_limit {
            return Err(KvError::TxnTooLarge {
                size,
                limit: self.opts.log_limit,
            });
        }
        if g.len + size > self.opts.log_limit {
            g.stats.blocked_on_full_log += 1;
            self.checkpoint_locked(g)?;
        }
        self.append(g, &frames)?;
        for w in &writes {
            match &w.after {
                Some(v) => g.map.insert(w.key.clone(), v.clone()),
                None => g.map.remove(&w.key),
            };
        }
        g.remember(
            TxnInfo {
                txn: txn.id,
                writes,
                reverts: txn.reverts,
                reverted_by: 0,
            },
            self.opts.history,
        );
        g.stats.commits += 1;
        Ok(Committed {
            txn: txn.id,
            lsn: g.end_lsn(),
        })
    }

    /// Waits until everything up to `lsn` is on disk. The first waiter
    /// syncs for everyone who wrote before its sync began (group commit).
    pub fn sync_to(&self, lsn: u64) -> Result<(), KvError> {
        let mut s = lock(&self.sync);
        loop {
            if s.synced >= lsn {
                return Ok(());
            }
            if !s.syncing {
                s.syncing = true;
                drop(s);
                let (file, target) = {
                    let g = lock(&self.inner);
                    (g.log.clone(), g.end_lsn())
                };
                let r = file.sync_data();
                s = lock(&self.sync);
                s.syncing = false;
                if r.is_ok() {
                    s.synced = s.synced.max(target);
                    self.syncs.fetch_add(1, Ordering::Relaxed);
                }
                self.synced.notify_all();
                r.map_err(io_err(&Store::wal_path(&self.dir)))?;
                continue;
            }
            s = self.synced.wait(s).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Logs an abort; nothing of the transaction becomes visible.
    pub fn abort(&self, txn: Txn) -> Result<(), KvError> {
        let mut g = lock(&self.inner);
        let mut frames = Vec::new();
        Record::Begin { txn: txn.id }.encode_into(&mut frames);
        Record::Abort { txn: txn.id }.encode_into(&mut frames);
        if g.len + frames.len() as u64 > self.opts.log_limit {
            g.stats.blocked_on_full_log += 1;
            self.checkpoint_locked(&mut g)?;
        }
        self.append(&mut g, &frames)
    }

    /// Appends whole frames at the end of the records. The file is
    /// extended with written zeros ahead of time, so a commit's
    /// `fdatasync` has no file size or extent to update (one flush instead
    /// of a journal commit). After a failed write the region is zeroed
    /// again, so no partial record stays ahead of later ones.
    fn append(&self, g: &mut Inner, frames: &[u8]) -> Result<(), KvError> {
        let wal = Store::wal_path(&self.dir);
        let off = HEADER_LEN as u64 + g.len;
        let end = off + frames.len() as u64;
        if end > g.alloc {
            let target = end.div_ceil(PREALLOC) * PREALLOC;
            let zeros = vec![0u8; 1 << 20];
            let mut at = g.alloc;
            while at < target {
                let n = (target - at).min(zeros.len() as u64) as usize;
                g.log.write_all_at(&zeros[..n], at).map_err(io_err(&wal))?;
                at += n as u64;
            }
            g.log.sync_all().map_err(io_err(&wal))?;
            g.alloc = target;
        }
        if let Err(e) = g.log.write_all_at(frames, off) {
            let _ = g.log.write_all_at(&vec![0u8; frames.len()], off);
            return Err(io_err(&wal)(e));
        }
        g.len += frames.len() as u64;
        Ok(())
    }

    pub fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        lock(&self.inner).map.get(key).cloned()
    }

    /// Keys starting with `prefix`, in order, at most `limit`.
    pub fn scan(&self, prefix: &[u8], limit: usize) -> Vec<(Vec<u8>, Vec<u8>)> {
        let g = lock(&self.inner);
        g.map
            .range(prefix.to_vec()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .take(limit)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    pub fn len(&self) -> usize {
        lock(&self.inner).map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Retained transactions, newest first.
    pub fn history(&self, limit: usize) -> Vec<TxnInfo> {
        let g = lock(&self.inner);
        g.order
            .iter()
            .rev()
            .take(limit)
            .filter_map(|t| g.history.get(t).cloned())
            .collect()
    }

    pub fn stats(&self) -> Stats {
        let mut s = lock(&self.inner).stats.clone();
        s.syncs = self.syncs.load(Ordering::Relaxed);
        s
    }

    /// Reverses committed transaction `target` with a new transaction that
    /// restores every key it wrote to its value before. Refused if a later
    /// transaction changed one of those keys, unless `force`.
    pub fn rollback(&self, target: u64, force: bool) -> Result<Committed, KvError> {
        let c = {
            let mut g = lock(&self.inner);
            let info = g
                .history
                .get(&target)
                .cloned()
                .ok_or(KvError::UnknownTxn(target))?;
            if info.reverted_by != 0 {
                return Err(KvError::AlreadyReverted {
                    txn: target,
                    by: info.reverted_by,
                });
            }
            let mut last_after: HashMap<&[u8], &Option<Vec<u8>>> = HashMap::new();
            for w in &info.writes {
                last_after.insert(&w.key, &w.after);
            }
            if !force {
                for (key, after) in &last_after {
                    if g.map.get(*key) != after.as_ref() {
                        return Err(KvError::Conflict {
                            key: String::from_utf8_lossy(key).into_owned(),
                            txn: target,
                        });
                    }
                }
            }
            let id = g.next_txn;
            g.next_txn += 1;
            let mut txn = Txn {
                id,
                writes: Vec::new(),
                reverts: target,
            };
            // Undo in reverse order, so a key written twice ends at its
            // value from before the transaction.
            for w in info.writes.iter().rev() {
                txn.writes.push((w.key.clone(), w.before.clone()));
            }
            self.commit_locked(&mut g, txn)?
        };
        self.sync_to(c.lsn)?;
        Ok(c)
    }

    /// Writes a snapshot of the current state and starts a fresh log after
    /// it.
    pub fn checkpoint(&self) -> Result<(), KvError> {
        let mut g = lock(&self.inner);
        self.checkpoint_locked(&mut g)
    }

    fn checkpoint_locked(&self, g: &mut Inner) -> Result<(), KvError> {
        let wal = Store::wal_path(&self.dir);
        // Everything written so far is made durable first: the snapshot
        // may only cover what the log already guarantees.
        g.log.sync_data().map_err(io_err(&wal))?;
        let lsn = g.end_lsn();
        {
            let mut s = lock(&self.sync);
            s.synced = s.synced.max(lsn);
            self.synced.notify_all();
        }
        let mut b = Vec::with_capacity(HEADER_LEN + g.map.len() * 32);
        b.extend_from_slice(&record::header(SNAP_MAGIC, lsn));
        for (k, v) in &g.map {
            Record::Entry {
                key: k.clone(),
                value: v.clone(),
            }
            .encode_into(&mut b);
        }
        for id in &g.order {
            let Some(t) = g.history.get(id) else { continue };
            Record::Txn {
                txn: t.txn,
                reverts: t.reverts,
                reverted_by: t.reverted_by,
            }
            .encode_into(&mut b);
            for w in &t.writes {
                w.encode_into(t.txn, &mut b);
            }
        }
        Record::End {
            next_txn: g.next_txn,
            entries: g.map.len() as u64,
        }
        .encode_into(&mut b);
        let snap = Store::snapshot_path(&self.dir);
        record::write_atomic(&snap, &b).map_err(io_err(&snap))?;
        // A crash here leaves the old log with the new snapshot: recovery
        // skips the records the snapshot covers.
        record::write_atomic(&wal, &record::header(WAL_MAGIC, lsn)).map_err(io_err(&wal))?;
        g.log = Arc::new(
            OpenOptions::new()
                .read(true)
                .write(true)
                .open(&wal)
                .map_err(io_err(&wal))?,
        );
        g.alloc = HEADER_LEN as u64;
        g.base = lsn;
        g.len = 0;
        g.stats.checkpoints += 1;
        Ok(())
    }

    /// The LSN after the last record written (durable or not).
    pub fn end_lsn(&self) -> u64 {
        lock(&self.inner).end_lsn()
    }

    /// Bytes in the log now.
    pub fn log_bytes(&self) -> u64 {
        lock(&self.inner).len
    }
}

/// A Put or Delete record as a write, with the before-image of the Undo
/// record that preceded it (else `current`'s value of the key).
fn write_of(
    r: Record,
    undo: Option<Option<Vec<u8>>>,
    current: impl FnOnce(&[u8]) -> Option<Vec<u8>>,
) -> Option<Write> {
    let (key, after) = match r {
        Record::Put { key, value, .. } => (key, Some(value)),
        Record::Delete { key, .. } => (key, None),
        _ => return None,
    };
    let before = undo.unwrap_or_else(|| current(&key));
    Some(Write { key, before, after })
}

impl Write {
    /// The write's frames: its undo record, then the put or delete.
    fn encode_into(&self, txn: u64, out: &mut Vec<u8>) {
        Record::Undo {
            txn,
            key: self.key.clone(),
            before: self.before.clone(),
        }
        .encode_into(out);
        match &self.after {
            Some(v) => Record::Put {
                txn,
                key: self.key.clone(),
                value: v.clone(),
            },
            None => Record::Delete {
                txn,
                key: self.key.clone(),
            },
        }
        .encode_into(out);
    }
}

/// Applies a committed transaction's records to `map`; returns what it did.
fn apply(
    map: &mut BTreeMap<Vec<u8>, Vec<u8>>,
    txn: u64,
    reverts: u64,
    recs: Vec<Record>,
) -> TxnInfo {
    let mut writes = Vec::new();
    let mut before: Option<Option<Vec<u8>>> = None;
    for r in recs {
        if let Record::Undo { before: b, .. } = r {
            before = Some(b);
            continue;
        }
        let Some(w) = write_of(r, before.take(), |k| map.get(k).cloned()) else {
            continue;
        };
        match &w.after {
            Some(v) => map.insert(w.key.clone(), v.clone()),
            None => map.remove(&w.key),
        };
        writes.push(w);
    }
    TxnInfo {
        txn,
        writes,
        reverts,
        reverted_by: 0,
    }
}

/// Takes the directory's lock (one opener at a time).
fn lock_dir(dir: &Path) -> Result<File, KvError> {
    let lock_path = dir.join("LOCK");
    let lock_file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(io_err(&lock_path))?;
    if rustix::fs::flock(
        &lock_file,
        rustix::fs::FlockOperation::NonBlockingLockExclusive,
    )
    .is_err()
    {
        return Err(KvError::Locked(dir.to_path_buf()));
    }
    Ok(lock_file)
}

/// What a snapshot holds: the map, the recent transactions, the next
/// transaction id and the LSN it is as of (all empty without one).
#[derive(Default)]
struct Loaded {
    map: BTreeMap<Vec<u8>, Vec<u8>>,
    history: BTreeMap<u64, TxnInfo>,
    order: VecDeque<u64>,
    next_txn: u64,
    lsn: u64,
}

/// Reads `dir`'s snapshot, if it has one.
fn load_snapshot(dir: &Path) -> Result<Loaded, KvError> {
    let mut l = Loaded {
        next_txn: 1,
        ..Loaded::default()
    };
    let snap = Store::snapshot_path(dir);
    if !snap.exists() {
        return Ok(l);
    }
    let bytes = std::fs::read(&snap).map_err(io_err(&snap))?;
    let lsn = record::read_header(SNAP_MAGIC, &bytes).ok_or(KvError::BadHeader {
        path: snap.clone(),
        what: "snapshot",
    })?;
    let mut ended = false;
    let mut current: Option<TxnInfo> = None;
    let mut undo: Option<Option<Vec<u8>>> = None;
    for item in Frames::new(&bytes, HEADER_LEN) {
        let (_, _, r) = item.map_err(|(offset, d)| KvError::BadSnapshot {
            path: snap.clone(),
            offset,
            damage: d.to_string(),
        })?;
        match r {
            Record::Entry { key, value } => {
                l.map.insert(key, value);
            }
            Record::Txn {
                txn,
                reverts,
                reverted_by,
            } => {
                if let Some(t) = current.take() {
                    l.order.push_back(t.txn);
                    l.history.insert(t.txn, t);
                }
                current = Some(TxnInfo {
                    txn,
                    writes: Vec::new(),
                    reverts,
                    reverted_by,
                });
            }
            Record::Undo { before, .. } => undo = Some(before),
            r @ (Record::Put { .. } | Record::Delete { .. }) => {
                let w = write_of(r, undo.take(), |_| None);
                if let (Some(t), Some(w)) = (current.as_mut(), w) {
                    t.writes.push(w);
                }
            }
            Record::End { next_txn: n, .. } => {
                l.next_txn = n;
                ended = true;
            }
            _ => {}
        }
    }
    if let Some(t) = current.take() {
        l.order.push_back(t.txn);
        l.history.insert(t.txn, t);
    }
    if !ended {
        return Err(KvError::BadSnapshot {
            path: snap,
            offset: bytes.len(),
            damage: "no end record".into(),
        });
    }
    l.lsn = lsn;
    Ok(l)
}

/// The log's bytes and its base LSN (a missing log is created empty).
fn read_wal(dir: &Path, snapshot_lsn: u64) -> Result<(PathBuf, Vec<u8>, u64), KvError> {
    let wal = Store::wal_path(dir);
    if !wal.exists() {
        record::write_atomic(&wal, &record::header(WAL_MAGIC, snapshot_lsn))
            .map_err(io_err(&wal))?;
    }
    let mut bytes = Vec::new();
    File::open(&wal)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .map_err(io_err(&wal))?;
    let base = record::read_header(WAL_MAGIC, &bytes).ok_or(KvError::BadHeader {
        path: wal.clone(),
        what: "write-ahead log",
    })?;
    if base > snapshot_lsn {
        return Err(KvError::Gap {
            path: wal,
            log: base,
            snapshot: snapshot_lsn,
        });
    }
    Ok((wal, bytes, base))
}

/// Replays the log into `inner`: transactions apply at their commit
/// record, in log order, up to the first damaged frame. Returns where the
/// good part of the log ends.
fn replay(
    inner: &mut Inner,
    bytes: &[u8],
    base: u64,
    history: usize,
    report: &mut RecoveryReport,
) -> usize {
    let mut open_txns: HashMap<u64, Vec<Record>> = HashMap::new();
    let mut good_end = HEADER_LEN;
    for item in Frames::new(bytes, HEADER_LEN) {
        let (at, end, r) = match item {
            Ok(x) => x,
            Err((at, damage)) => {
                report.cut_at = Some(at as u64);
                report.damage = Some(damage.to_string());
                break;
            }
        };
        good_end = end;
        let lsn = base + (at - HEADER_LEN) as u64;
        if lsn < report.snapshot_lsn {
            continue;
        }
        report.log_records += 1;
        match r {
            Record::Begin { txn } => {
                inner.next_txn = inner.next_txn.max(txn + 1);
                open_txns.insert(txn, Vec::new());
            }
            Record::Commit { txn, reverts } => {
                let recs = open_txns.remove(&txn).unwrap_or_default();
                let info = apply(&mut inner.map, txn, reverts, recs);
                inner.remember(info, history);
                report.committed += 1;
            }
            Record::Abort { txn } => {
                inner.next_txn = inner.next_txn.max(txn + 1);
                open_txns.remove(&txn);
                report.aborted += 1;
            }
            Record::Put { txn, .. } | Record::Delete { txn, .. } | Record::Undo { txn, .. } => {
                open_txns.entry(txn).or_default().push(r);
            }
            _ => {}
        }
    }
    report.incomplete = open_txns.len() as u64;
    good_end
}

#[cfg(test)]
mod tests;
