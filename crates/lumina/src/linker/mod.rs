//! The Shadow Linker: plan, stage, link, settle; plus undo and status.
//!
//! Layout of the virtual root (`$LUMINA_HOME`, default `~/.lumina`):
//!
//! ```text
//! state.json               what lumina owns + the journal of a running sync
//! lock                     flock(2) so two syncs never interleave
//! active -> generations/7  switched atomically (symlink + rename)
//! generations/0/           the empty generation (undo target of the first sync)
//! generations/7/home/...   relative symlinks into the profile (copies for mode: copy)
//! generations/7/generation.json
//! ```
//!
//! Every target is a relative symlink to `active/<entry>`, so a sync that
//! only changes what a generation holds touches nothing in `$HOME`.

pub mod apply;
pub mod desired;
pub mod fsops;
pub mod plan;
pub mod state;
pub mod status;

use std::collections::HashSet;
use std::path::PathBuf;

use serde::Serialize;

use crate::env::Env;
use crate::error::{Error, IoContext, Result};
use crate::paths::Canon;
use crate::registry::Registry;
use plan::{Layout, Options, Plan};

#[derive(Debug, Default, Clone)]
pub struct SyncOptions {
    pub dry_run: bool,
    pub strict: bool,
    /// Targets whose identical content may be dropped (`add --adopt`).
    pub adopt: HashSet<PathBuf>,
    /// Only these modules (empty: all).
    pub only: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct SyncReport {
    pub dry_run: bool,
    pub host: String,
    pub registry: PathBuf,
    /// The active generation after the run.
    pub generation: Option<u64>,
    pub changed: bool,
    /// A journal left by an interrupted sync was settled first.
    pub recovered: bool,
    pub plan: Plan,
    pub inactive: Vec<(String, String)>,
}

/// Takes lumina's lock if the virtual root exists (a sync that only reads
/// never creates it).
struct Lock(Option<std::fs::File>);

fn lock(layout: &Layout, create: bool) -> Result<Lock> {
    let p = layout.root.join("lock");
    let f = if create {
        std::fs::create_dir_all(&layout.root)
            .ctx(|| format!("creating {}", layout.root.display()))?;
        Some(
            std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&p)
                .ctx(|| format!("opening {}", p.display()))?,
        )
    } else {
        std::fs::File::open(&p).ok()
    };
    if let Some(f) = &f {
        if rustix::fs::flock(f, rustix::fs::FlockOperation::NonBlockingLockExclusive).is_err() {
            eprintln!(
                "lumina: waiting for another lumina run to finish ({} is locked)",
                p.display()
            );
            rustix::fs::flock(f, rustix::fs::FlockOperation::LockExclusive)
                .map_err(|e| Error::io(format!("locking {}", p.display()), e.into()))?;
        }
    }
    Ok(Lock(f))
}

pub fn host_slug(env: &Env) -> String {
    crate::hardware::detect(&env.sysfs_root).slug
}

/// `lumina sync`: plan, and unless dry-run, carry the plan out.
pub fn sync(env: &Env, reg: &Registry, opts: &SyncOptions) -> Result<SyncReport> {
    let host = host_slug(env);
    let mut desired = desired::desired(reg, env, &host)?;
    let mut canon = Canon::default();
    let layout = Layout::new(&env.lumina_home, &mut canon);
    let mut guard = lock(&layout, false)?;
    let mut st = state::load(&layout.root)?;
    let mut recovered = false;
    if st.pending.is_some() && !opts.dry_run {
        if guard.0.is_none() {
            guard = lock(&layout, true)?;
        }
        apply::settle(&mut st, &layout);
        state::save(&layout.root, &st)?;
        recovered = true;
    }
    if !opts.only.is_empty() {
        // Keep other modules as they are: their owned entries stay desired.
        let keep: Vec<desired::Entry> = st
            .owned
            .iter()
            .filter(|(_, o)| !opts.only.contains(&o.module))
            .map(|(t, o)| desired::Entry {
                module: o.module.clone(),
                target: t.clone(),
                source: o.source.clone(),
                entry: o.entry.clone(),
                mode: o.mode,
                on_conflict: crate::registry::OnConflict::Backup,
            })
            .collect();
        desired.entries.retain(|e| opts.only.contains(&e.module));
        desired.entries.extend(keep);
        desired.entries.sort_by(|a, b| a.target.cmp(&b.target));
    }
    let mut plan = plan::plan(
        desired.entries,
        &st,
        &layout,
        &Options {
            strict: opts.strict,
            adopt: &opts.adopt,
            reuse: None,
        },
    )?;
    plan.warnings.extend(desired.warnings);
    if !plan.blocked.is_empty() {
        return Err(Error::Blocked {
            conflicts: plan.blocked.clone(),
        });
    }
    let changed = plan.changes();
    if !opts.dry_run && changed {
        if guard.0.is_none() {
            guard = lock(&layout, true)?;
        }
        apply::prepare(&layout, &reg.path)?;
        apply::execute(&plan, &mut st, &layout, &reg.path)?;
        apply::collect_garbage(&layout, st.active);
    }
    drop(guard);
    Ok(SyncReport {
        dry_run: opts.dry_run,
        host,
        registry: reg.path.clone(),
        generation: if opts.dry_run || !changed {
            st.active
        } else {
            Some(plan.generation)
        },
        changed,
        recovered,
        plan,
        inactive: desired.inactive,
    })
}

#[derive(Debug, Serialize)]
pub struct UndoReport {
    pub from: u64,
    pub to: u64,
    pub plan: Plan,
}

/// `lumina undo`: return to the generation before the active one.
pub fn undo(env: &Env, dry_run: bool) -> Result<UndoReport> {
    let mut canon = Canon::default();
    let layout = Layout::new(&env.lumina_home, &mut canon);
    let _l = lock(&layout, !dry_run)?;
    let mut st = state::load(&layout.root)?;
    if st.pending.is_some() && !dry_run {
        apply::settle(&mut st, &layout);
        state::save(&layout.root, &st)?;
    }
    let from = match st.active {
        Some(n) if n > 0 => n,
        _ => {
            return Err(Error::Usage(
                "nothing to undo: no sync has been made yet (or every one was already undone)"
                    .into(),
            ))
        }
    };
    let mut to = 0;
    if let Ok(rd) = std::fs::read_dir(layout.generations()) {
        for e in rd.flatten() {
            if let Some(n) = e.file_name().to_str().and_then(|s| s.parse::<u64>().ok()) {
                if n < from && n > to && layout.generation(n).join("generation.json").exists() {
                    to = n;
                }
            }
        }
    }
    let rec = apply::read_generation(&layout, to)?;
    let mut entries: Vec<_> = rec.entries.iter().map(|g| g.to_entry()).collect();
    entries.sort_by(|a, b| a.target.cmp(&b.target));
    let adopt = HashSet::new();
    let plan = plan::plan(
        entries,
        &st,
        &layout,
        &Options {
            strict: false,
            adopt: &adopt,
            reuse: Some(to),
        },
    )?;
    if !dry_run {
        apply::execute(&plan, &mut st, &layout, &rec.registry)?;
    }
    Ok(UndoReport { from, to, plan })
}
