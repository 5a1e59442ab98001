//! Carrying a plan out: stage the generation, journal, prune, switch
//! `active`, place, settle. [`settle`] is the single place that turns a
//! journal plus what is on disk into a consistent state: it ends every
//! normal run and it finishes a run that was killed.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::desired::Entry;
use super::genlayout::Item;
use super::plan::{Layout, Plan};
use super::state::{self, Journal, Op, Owned, State};
use crate::error::{Error, IoContext, Result};
use crate::fsops::{self, digest, same_bytes};
use crate::registry::{Mode, OnConflict};

/// How many generations to keep besides the active one.
pub const KEEP_GENERATIONS: usize = 5;

/// The record kept in each generation directory (`generation.json`), used by
/// `undo` to return to it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GenerationRecord {
    pub number: u64,
    pub created_unix: u64,
    pub registry: PathBuf,
    pub entries: Vec<GenEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GenEntry {
    pub module: String,
    pub target: PathBuf,
    pub source: PathBuf,
    pub entry: PathBuf,
    pub mode: Mode,
    /// The generation holds a rendered template (a file) for this entry.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub rendered: bool,
}

impl GenEntry {
    /// The entry as generation `n` holds it (a rendered template's bytes
    /// are read back from there).
    pub fn to_entry(&self, layout: &Layout, n: u64) -> Entry {
        Entry {
            module: self.module.clone(),
            target: self.target.clone(),
            source: self.source.clone(),
            gen_link: layout.entry_link(&self.entry, &self.source),
            entry: self.entry.clone(),
            mode: self.mode,
            on_conflict: OnConflict::Backup,
            source_root: self.source.parent().unwrap_or(&self.source).into(),
            rendered: self
                .rendered
                .then(|| std::fs::read(layout.generation(n).join(&self.entry)).ok())
                .flatten()
                .map(Into::into),
        }
    }
}

pub fn read_generation(layout: &Layout, n: u64) -> Result<GenerationRecord> {
    let p = layout.generation(n).join("generation.json");
    let bytes = std::fs::read(&p).ctx(|| format!("reading generation record {}", p.display()))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| Error::Runtime(format!("generation record {} is damaged: {e}", p.display())))
}

/// Makes sure the virtual root exists, with an empty generation 0 to return
/// to, and clears staging directories left by a killed run.
pub fn prepare(layout: &Layout, registry: &Path) -> Result<()> {
    let gens = layout.generations();
    std::fs::create_dir_all(&gens).ctx(|| format!("creating {}", gens.display()))?;
    let zero = layout.generation(0);
    if !zero.exists() {
        write_generation(layout, 0, registry, &[])?;
    }
    if let Ok(rd) = std::fs::read_dir(&gens) {
        for e in rd.flatten() {
            if e.file_name().to_string_lossy().starts_with(".staging-") {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
    Ok(())
}

fn write_generation(layout: &Layout, n: u64, registry: &Path, entries: &[Entry]) -> Result<()> {
    let final_dir = layout.generation(n);
    let staging = layout.generations().join(format!(".staging-{n}"));
    let _ = std::fs::remove_dir_all(&staging);
    fsops::step("stage", &staging);
    std::fs::create_dir_all(&staging).ctx(|| format!("creating {}", staging.display()))?;
    let mut made = std::collections::HashSet::new();
    made.insert(staging.clone());
    // What the generation holds: whole directories as one link where they
    // can be, entries one by one elsewhere (see genlayout).
    let items = super::genlayout::items(entries, layout);
    let item_path = |it: &Item| match it {
        Item::DirLink { at, .. } => staging.join(at),
        Item::Entry(i) => staging.join(&entries[*i].entry),
    };
    // Directories first, in order; then the items, in parallel.
    for it in &items {
        let at = item_path(it);
        if let Some(parent) = at.parent() {
            ensure_dir(&mut made, parent).ctx(|| format!("creating {}", parent.display()))?;
        }
    }
    let staged = super::par::try_map(&items, |it| {
        let at = item_path(it);
        match it {
            Item::DirLink { text, .. } => fsops::symlink(text, &at),
            Item::Entry(i) => {
                let e = &entries[*i];
                match (&e.rendered, e.mode) {
                    (Some(bytes), _) => fsops::write_new(&at, bytes, &e.source),
                    (None, Mode::Link) => fsops::symlink(&e.gen_link, &at),
                    (None, _) => fsops::copy_new(&e.source, &at),
                }
            }
        }
        .ctx(|| format!("staging {}", at.display()))
    });
    for r in staged.into_iter().flatten() {
        r?;
    }
    let record = GenerationRecord {
        number: n,
        created_unix: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
        registry: registry.to_path_buf(),
        entries: entries
            .iter()
            .map(|e| GenEntry {
                module: e.module.clone(),
                target: e.target.clone(),
                source: e.source.clone(),
                entry: e.entry.clone(),
                mode: e.mode,
                rendered: e.rendered.is_some(),
            })
            .collect(),
    };
    let json = serde_json::to_vec_pretty(&record).map_err(|e| Error::Runtime(e.to_string()))?;
    let rec_path = staging.join("generation.json");
    std::fs::write(&rec_path, json).ctx(|| format!("writing {}", rec_path.display()))?;
    if let Ok(f) = std::fs::File::open(&rec_path) {
        let _ = f.sync_all();
    }
    fsops::rename(&staging, &final_dir)
        .ctx(|| format!("publishing generation {}", final_dir.display()))?;
    fsops::fsync_dir(&layout.generations());
    Ok(())
}

/// Creates `p` and its missing parents below a directory already in `made`,
/// with one mkdir(2) per directory.
fn ensure_dir(made: &mut std::collections::HashSet<PathBuf>, p: &Path) -> std::io::Result<()> {
    if made.contains(p) {
        return Ok(());
    }
    if let Some(parent) = p.parent() {
        ensure_dir(made, parent)?;
    }
    match std::fs::create_dir(p) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    made.insert(p.to_path_buf());
    Ok(())
}

/// Points `active` at generation `n` atomically (new link, then rename).
fn switch_active(layout: &Layout, n: u64) -> Result<()> {
    let tmp = layout.root.join(".active.tmp");
    let _ = std::fs::remove_file(&tmp);
    fsops::symlink(Path::new("generations").join(n.to_string()).as_path(), &tmp)
        .ctx(|| format!("creating {}", tmp.display()))?;
    fsops::rename(&tmp, &layout.active()).ctx(|| "switching the active generation".to_string())?;
    fsops::fsync_dir(&layout.root);
    Ok(())
}

/// The generation `active` points at, read from disk.
pub fn active_on_disk(layout: &Layout) -> Option<u64> {
    let t = std::fs::read_link(layout.active()).ok()?;
    t.file_name()?.to_str()?.parse().ok()
}

/// Carries out `plan`. On return (Ok or Err) the state on disk is settled:
/// consistent with the filesystem, with no pending journal.
pub fn execute(plan: &Plan, st: &mut State, layout: &Layout, registry: &Path) -> Result<()> {
    if !plan.changes() {
        return Ok(());
    }
    super::stamp::invalidate(&layout.root);
    if plan.stage {
        write_generation(layout, plan.generation, registry, &plan.entries)?;
    }
    st.last = st.last.max(plan.generation);
    st.pending = Some(Journal {
        generation: plan.generation,
        previous: st.active,
        ops: plan.ops.clone(),
    });
    state::save(&layout.root, st)?;
    let mut done = vec![None; plan.ops.len()];
    let result = run_ops(plan, layout, &mut done);
    // Kept entries were correct before this run; record them as they are now.
    for (t, o) in &plan.owned_after {
        st.owned.insert(state::key(t), o.clone());
    }
    settle_known(st, layout, &done);
    state::save(&layout.root, st)?;
    result
}

/// Runs the ops in order, switching `active` between the prunes and the
/// placements. `done[i]` is set, for each op that completed, to the backup
/// it made (if any). The placements of files at the end of the list are
/// independent of each other and run in parallel.
fn run_ops(plan: &Plan, layout: &Layout, done: &mut [Option<Option<PathBuf>>]) -> Result<()> {
    let ops = &plan.ops;
    let tail = ops
        .iter()
        .rposition(|op| !matches!(op, Op::Place { dir: false, .. }))
        .map(|i| i + 1)
        .unwrap_or(0);
    let mut switched = false;
    for (i, op) in ops[..tail].iter().enumerate() {
        if !switched && matches!(op, Op::Mkdir { .. } | Op::Place { .. }) {
            if plan.switch {
                switch_active(layout, plan.generation)?;
            }
            switched = true;
        }
        done[i] = Some(run_op(op)?);
    }
    if !switched && plan.switch {
        switch_active(layout, plan.generation)?;
    }
    let results = super::par::try_map(&ops[tail..], run_op);
    let mut first_err = None;
    for (i, r) in results.into_iter().enumerate() {
        match r {
            Some(Ok(b)) => done[tail + i] = Some(b),
            Some(Err(e)) => {
                first_err.get_or_insert(e);
            }
            None => {}
        }
    }
    first_err.map_or(Ok(()), Err)
}

fn is_link_to(p: &Path, text: &Path) -> bool {
    std::fs::read_link(p).ok().as_deref() == Some(text)
}

/// Whether `p` is lumina's entry: a symlink with text `link`, or (copy
/// mode) a file with fingerprint `fp`.
fn is_ours(p: &Path, link: Option<&Path>, fp: Option<&str>) -> bool {
    match (link, fp) {
        (Some(l), _) => is_link_to(p, l),
        (None, Some(d)) => is_file(p) && digest(p).as_deref() == Some(d),
        _ => false,
    }
}

fn is_file(p: &Path) -> bool {
    std::fs::symlink_metadata(p)
        .map(|m| m.is_file())
        .unwrap_or(false)
}

fn exists(p: &Path) -> bool {
    std::fs::symlink_metadata(p).is_ok()
}

/// Carries out one op; returns the backup it made, if any.
fn run_op(op: &Op) -> Result<Option<PathBuf>> {
    match op {
        Op::Mkdir { path } => match fsops::mkdir(path) {
            Ok(()) => Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && path.is_dir() => Ok(None),
            Err(e) => Err(Error::io(
                format!("creating directory {}", path.display()),
                e,
            )),
        },
        Op::Rmdir { path, restore } => {
            let _ = fsops::rmdir(path);
            restore_dir_backup(path, restore.as_deref());
            Ok(None)
        }
        Op::Prune {
            target,
            link,
            digest,
            restore,
            tmp,
        } => {
            if !is_ours(target, link.as_deref(), digest.as_deref()) {
                return Ok(None);
            }
            let Some(r) = restore.as_ref().filter(|r| exists(r)) else {
                fsops::unlink(target).ctx(|| format!("removing {}", target.display()))?;
                return Ok(None);
            };
            // The backup goes to a temporary name, then swaps with lumina's
            // entry in one step; the entry is then removed.
            fsops::rename_noreplace(r, tmp)
                .ctx(|| format!("preparing to restore {}", r.display()))?;
            match fsops::exchange(tmp, target) {
                Ok(()) => fsops::unlink(tmp).ctx(|| format!("removing {}", tmp.display()))?,
                Err(e) if fsops::exchange_unsupported(&e) => {
                    fsops::unlink(target).ctx(|| format!("removing {}", target.display()))?;
                    fsops::rename_noreplace(tmp, target)
                        .ctx(|| format!("restoring {} from {}", target.display(), r.display()))?;
                }
                Err(e) => {
                    let _ = fsops::rename_noreplace(tmp, r);
                    return Err(Error::io(
                        format!("restoring {} from {}", target.display(), r.display()),
                        e,
                    ));
                }
            }
            Ok(None)
        }
        Op::Place {
            target,
            link,
            copy_from,
            tmp,
            backup,
            dir,
            drop_link,
            drop_same,
            drop_digest,
            ..
        } => {
            if tmp.as_os_str().is_empty() {
                // A new link where nothing is: one atomic symlink(2).
                let l = link.as_ref().ok_or_else(|| {
                    Error::Runtime(format!("no link text for {}", target.display()))
                })?;
                fsops::symlink(l, target).ctx(|| {
                    format!(
                        "creating the link {} (did something appear there during the sync?)",
                        target.display()
                    )
                })?;
                return Ok(None);
            }
            if *dir {
                fsops::mkdir(tmp)
            } else if let Some(l) = link {
                fsops::symlink(l, tmp)
            } else if let Some(c) = copy_from {
                fsops::copy_new(c, tmp)
            } else {
                return Err(Error::Runtime(format!(
                    "nothing to place at {}",
                    target.display()
                )));
            }
            .ctx(|| format!("preparing {}", tmp.display()))?;
            if !exists(target) {
                return match fsops::rename_noreplace(tmp, target) {
                    Ok(()) => Ok(None),
                    Err(e) => {
                        let _ = remove_new(tmp);
                        Err(Error::io(
                            format!("placing {} (it appeared during the sync)", target.display()),
                            e,
                        ))
                    }
                };
            }
            match fsops::exchange(tmp, target) {
                Ok(()) => dispose_old(
                    target,
                    tmp,
                    backup.as_deref(),
                    drop_link.as_deref(),
                    drop_same.as_deref(),
                    drop_digest.as_deref(),
                ),
                Err(e) if fsops::exchange_unsupported(&e) => {
                    // No RENAME_EXCHANGE here: move the old entry aside first.
                    let aside = backup.clone().unwrap_or_else(|| free_backup(target));
                    fsops::rename_noreplace(target, &aside)
                        .ctx(|| format!("moving {} to {}", target.display(), aside.display()))?;
                    fsops::rename_noreplace(tmp, target)
                        .ctx(|| format!("placing {}", target.display()))?;
                    Ok(Some(aside))
                }
                Err(e) => {
                    let _ = remove_new(tmp);
                    Err(Error::io(format!("replacing {}", target.display()), e))
                }
            }
        }
    }
}

/// Removes a freshly prepared entry at `tmp` (a symlink, a copy or an empty
/// directory lumina just made).
fn remove_new(tmp: &Path) -> std::io::Result<()> {
    match std::fs::symlink_metadata(tmp) {
        Ok(m) if m.is_dir() => fsops::rmdir(tmp),
        Ok(_) => fsops::unlink(tmp),
        Err(e) => Err(e),
    }
}

fn free_backup(target: &Path) -> PathBuf {
    crate::paths::free_name(target, ".bak", |_| false)
}

/// What was at the target now sits at `tmp`: drop it if it is lumina's own
/// older entry (or identical adopted content), otherwise move it to a backup
/// name that is free. Returns the backup path used, if any.
fn dispose_old(
    target: &Path,
    tmp: &Path,
    backup: Option<&Path>,
    drop_link: Option<&Path>,
    drop_same: Option<&Path>,
    drop_digest: Option<&str>,
) -> Result<Option<PathBuf>> {
    if drop_digest.is_some() && is_file(tmp) && digest(tmp).as_deref() == drop_digest {
        fsops::unlink(tmp).ctx(|| format!("removing {}", tmp.display()))?;
        return Ok(None);
    }
    if let Some(l) = drop_link {
        if is_link_to(tmp, l) {
            fsops::unlink(tmp).ctx(|| format!("removing {}", tmp.display()))?;
            return Ok(None);
        }
    }
    if let Some(s) = drop_same {
        let meta = std::fs::symlink_metadata(tmp).ok();
        let same = match meta {
            Some(m) if m.is_file() => same_bytes(tmp, s),
            // An adopted symlink: the profile holds the same link.
            Some(m) if m.file_type().is_symlink() => std::fs::read_link(tmp)
                .ok()
                .is_some_and(|t| std::fs::read_link(s).ok() == Some(t)),
            _ => false,
        };
        if same {
            fsops::unlink(tmp).ctx(|| format!("removing {}", tmp.display()))?;
            return Ok(None);
        }
    }
    let mut dest = backup
        .map(Path::to_path_buf)
        .unwrap_or_else(|| free_backup(target));
    loop {
        match fsops::rename_noreplace(tmp, &dest) {
            Ok(()) => return Ok(Some(dest)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => dest = free_backup(target),
            Err(e) => return Err(Error::io(format!("backing up to {}", dest.display()), e)),
        }
    }
}

/// Settles a journal against the filesystem: finishes half-done steps whose
/// outcome is certain, records what was done, forgets what was not (the next
/// plan redoes it), and clears the journal. Never deletes anything that is
/// not lumina's own entry.
pub fn settle(st: &mut State, layout: &Layout) {
    settle_known(st, layout, &[]);
}

/// Like [`settle`], for a run that saw some ops complete (`done[i]` holds
/// the backup op `i` made): those are recorded without probing.
fn settle_known(st: &mut State, layout: &Layout, done: &[Option<Option<PathBuf>>]) {
    let Some(j) = st.pending.take() else { return };
    for (i, op) in j.ops.iter().enumerate() {
        match done.get(i) {
            Some(Some(backup)) => record_done(st, op, backup.clone(), j.generation),
            _ => settle_op(st, op, j.generation),
        }
    }
    st.active = active_on_disk(layout).or(st.active);
}

/// Once lumina's directory is gone, what it replaced goes back.
fn restore_dir_backup(path: &Path, restore: Option<&Path>) {
    if let Some(r) = restore {
        if !exists(path) && exists(r) {
            let _ = fsops::rename_noreplace(r, path);
        }
    }
}

/// Records an op that this process saw complete.
fn record_done(st: &mut State, op: &Op, backup: Option<PathBuf>, generation: u64) {
    match op {
        Op::Mkdir { path } => {
            st.dirs.insert(state::key(path));
        }
        Op::Rmdir { path, .. } => {
            if !exists(path) {
                st.dirs.remove(&state::key(path));
                st.dir_backups.remove(&state::key(path));
            }
        }
        Op::Prune {
            target,
            link,
            digest,
            ..
        } => {
            if !is_ours(target, link.as_deref(), digest.as_deref()) {
                st.owned.remove(&state::key(target));
            }
        }
        Op::Place {
            target,
            module,
            entry,
            source,
            mode,
            link,
            copy_from,
            dir,
            rendered,
            ..
        } => {
            if *dir {
                st.dirs.insert(state::key(target));
                if let Some(b) = backup {
                    st.dir_backups.insert(state::key(target), b);
                }
                return;
            }
            let previous = st
                .owned
                .get(&state::key(target))
                .and_then(|o| o.backup.clone());
            st.owned.insert(
                state::key(target),
                Owned {
                    module: module.clone(),
                    entry: entry.clone(),
                    source: source.clone(),
                    mode: *mode,
                    link: link.clone(),
                    digest: copy_from.as_ref().and_then(|_| digest(target)),
                    backup: backup.or(previous),
                    since: generation,
                    rendered: *rendered,
                },
            );
        }
    }
}

/// Settles one op of an interrupted run by looking at the filesystem.
fn settle_op(st: &mut State, op: &Op, generation: u64) {
    match op {
        Op::Mkdir { path } => {
            if path.is_dir() {
                st.dirs.insert(state::key(path));
            }
        }
        Op::Rmdir { path, restore } => {
            if !exists(path) {
                restore_dir_backup(path, restore.as_deref());
                st.dirs.remove(&state::key(path));
                st.dir_backups.remove(&state::key(path));
            }
        }
        Op::Prune {
            target,
            link,
            digest,
            restore,
            tmp,
        } => {
            if exists(tmp) {
                if is_ours(tmp, link.as_deref(), digest.as_deref()) {
                    // Swapped: what sits at tmp is lumina's old entry.
                    let _ = fsops::unlink(tmp);
                } else if let Some(r) = restore {
                    // Not swapped yet: the backup goes back where it was.
                    let _ = fsops::rename_noreplace(tmp, r);
                }
            }
            if !is_ours(target, link.as_deref(), digest.as_deref()) {
                if let Some(r) = restore {
                    if exists(r) && !exists(target) {
                        let _ = fsops::rename_noreplace(r, target);
                    }
                }
                st.owned.remove(&state::key(target));
            }
        }
        Op::Place {
            target,
            link,
            copy_from,
            tmp,
            backup,
            dir,
            drop_link,
            drop_same,
            drop_digest,
            ..
        } => {
            let mut used_backup = None;
            if exists(tmp) {
                let is_new = if *dir {
                    // What a dir placement replaces is never a directory.
                    std::fs::symlink_metadata(tmp)
                        .map(|m| m.is_dir())
                        .unwrap_or(false)
                } else if let Some(l) = link {
                    is_link_to(tmp, l)
                } else if let Some(c) = copy_from {
                    // Ours when it holds the new bytes, or when the exchange
                    // never happened (the target is not the new copy yet):
                    // then it is a copy cut short by the crash, perhaps
                    // while another thread was still writing it.
                    std::fs::symlink_metadata(tmp)
                        .map(|m| m.is_file())
                        .unwrap_or(false)
                        && (same_bytes(tmp, c) || !same_bytes(target, c))
                } else {
                    false
                };
                if is_new {
                    let _ = remove_new(tmp);
                } else if let Ok(b) = dispose_old(
                    target,
                    tmp,
                    backup.as_deref(),
                    drop_link.as_deref(),
                    drop_same.as_deref(),
                    drop_digest.as_deref(),
                ) {
                    used_backup = b;
                }
            } else if let Some(b) = backup {
                if exists(b) {
                    used_backup = Some(b.clone());
                }
            }
            let placed = if *dir {
                target.is_dir()
                    && !std::fs::symlink_metadata(target)
                        .map(|m| m.file_type().is_symlink())
                        .unwrap_or(true)
            } else if let Some(l) = link {
                is_link_to(target, l)
            } else if let Some(c) = copy_from {
                same_bytes(target, c)
            } else {
                false
            };
            if placed {
                record_done(st, op, used_backup, generation);
            }
        }
    }
}

/// Deletes generations beyond the newest [`KEEP_GENERATIONS`], never the
/// active one nor generation 0.
pub fn collect_garbage(layout: &Layout, active: Option<u64>) {
    let Ok(rd) = std::fs::read_dir(layout.generations()) else {
        return;
    };
    let mut nums: Vec<u64> = rd
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .filter(|n| *n != 0 && Some(*n) != active)
        .collect();
    nums.sort_unstable_by(|a, b| b.cmp(a));
    for n in nums.into_iter().skip(KEEP_GENERATIONS) {
        let _ = std::fs::remove_dir_all(layout.generation(n));
    }
}
