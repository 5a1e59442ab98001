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
pub mod genlayout;
pub mod layout;
pub mod par;
pub mod plan;
pub mod stamp;
pub mod state;
pub mod status;
pub mod template;

use std::collections::HashSet;
use std::path::PathBuf;

use serde::Serialize;

use crate::env::Env;
use crate::error::{Error, IoContext, Result};
use crate::host::Host;
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
    /// The caller only needs a summary when nothing changed, so the stat
    /// fast path ([`stamp`]) may answer instead of a full plan.
    pub allow_fast: bool,
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
    /// Set when the stat fast path answered: the number of links, all as
    /// intended (the plan is then empty).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fast_path_links: Option<usize>,
}

/// Fingerprint of everything a sync depends on that is not a file.
fn sync_key(env: &Env, reg: &Registry, host: &Host, strict: bool) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = crate::fingerprint::Fnv::default();
    (
        reg.fingerprint,
        &host.hardware.slug,
        &host.hostname,
        &host.tags,
        strict,
        env!("CARGO_PKG_VERSION"),
        state::STATE_VERSION,
    )
        .hash(&mut h);
    (&env.home, &env.lumina_home, &env.registry).hash(&mut h);
    for m in &reg.modules {
        // Targets may use $VARIABLES: their expansions are inputs too.
        desired::module_target(m, reg, env).ok().hash(&mut h);
    }
    h.finish()
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

/// `lumina sync`: plan, and unless dry-run, carry the plan out.
pub fn sync(env: &Env, reg: &Registry, opts: &SyncOptions) -> Result<SyncReport> {
    let machine = Host::detect(env)?;
    let host = machine.hardware.slug.clone();
    let key = sync_key(env, reg, &machine, opts.strict);
    let fast = opts.allow_fast && opts.only.is_empty() && opts.adopt.is_empty();
    if fast {
        if let Some(s) = stamp::check(&env.lumina_home, key)
            .filter(|s| templates_unchanged(reg, &machine, &s.templates))
        {
            tracing::debug!(links = s.links, "fast path: every recorded stat matches");
            return Ok(SyncReport {
                dry_run: opts.dry_run,
                host,
                registry: reg.path.clone(),
                generation: Some(s.generation),
                changed: false,
                recovered: false,
                plan: Plan::default(),
                inactive: Vec::new(),
                fast_path_links: Some(s.links),
            });
        }
    }
    let mut canon = Canon::default();
    let layout = Layout::new(&env.lumina_home, &mut canon);
    let mut desired = desired::desired(reg, env, &machine, &layout)?;
    if !desired.missing.is_empty() {
        return Err(Error::Invalid(
            desired.missing.into_iter().map(|(_, d)| d).collect(),
        ));
    }
    let mut guard = lock(&layout, false)?;
    let mut st = state::load(&layout.root)?;
    let mut recovered = false;
    if st.pending.is_some() && !opts.dry_run {
        if guard.0.is_none() {
            guard = lock(&layout, true)?;
        }
        stamp::invalidate(&layout.root);
        apply::settle(&mut st, &layout);
        state::save(&layout.root, &st)?;
        recovered = true;
    }
    if !opts.only.is_empty() {
        // Keep other modules as they are: their owned entries stay desired.
        let active = st.active.map(|n| layout.generation(n));
        let keep: Vec<desired::Entry> = st
            .owned
            .iter()
            .filter(|(_, o)| !opts.only.contains(&o.module))
            .map(|(t, o)| desired::Entry {
                module: o.module.clone(),
                target: PathBuf::from(t),
                gen_link: layout.entry_link(&o.entry, &o.source),
                source: o.source.clone(),
                entry: o.entry.clone(),
                mode: o.mode,
                on_conflict: crate::registry::OnConflict::Backup,
                source_root: o.source.parent().unwrap_or(&o.source).into(),
                // A template stays as the active generation rendered it.
                rendered: active
                    .as_ref()
                    .filter(|_| o.rendered)
                    .and_then(|g| std::fs::read(g.join(&o.entry)).ok())
                    .map(Into::into),
            })
            .collect();
        desired.entries.retain(|e| opts.only.contains(&e.module));
        desired.entries.extend(keep);
        desired
            .entries
            .sort_by(|a, b| crate::paths::path_cmp(&a.target, &b.target));
    }
    let mut plan = plan::plan(
        std::mem::take(&mut desired.entries),
        &st,
        &layout,
        &Options {
            home: &crate::paths::normalize(&env.home),
            strict: opts.strict,
            adopt: &opts.adopt,
            reuse: None,
        },
    )?;
    plan.warnings.extend(std::mem::take(&mut desired.warnings));
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
    let clean = plan.skipped.is_empty() && plan.warnings.is_empty() && st.pending.is_none();
    // After a changing sync every touched directory is too recent to trust;
    // the next (no-op) sync records the stamp.
    if !opts.dry_run && !changed && opts.only.is_empty() && clean && st.active.is_some() {
        write_stamp(&layout, key, &st, &desired, &plan);
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
        fast_path_links: None,
    })
}

/// Records what the fast path must re-check (see [`stamp`]).
fn write_stamp(
    layout: &Layout,
    key: u64,
    st: &state::State,
    desired: &desired::Desired,
    plan: &Plan,
) {
    let Some(active) = st.active else { return };
    let gen = layout.generation(active);
    let mut watch: Vec<(PathBuf, bool)> =
        desired.watched.iter().map(|p| (p.clone(), false)).collect();
    let mut dirs: HashSet<&std::path::Path> = HashSet::new();
    let mut gen_dirs: HashSet<PathBuf> = HashSet::new();
    for e in &plan.entries {
        if let Some(p) = e.target.parent() {
            dirs.insert(p);
        }
        if let Some(p) = e.entry.parent() {
            gen_dirs.insert(gen.join(p));
        }
        if e.mode.is_file() || e.rendered.is_some() {
            watch.push((e.target.clone(), false));
            watch.push((e.source.clone(), false));
        }
    }
    watch.extend(dirs.into_iter().map(|d| (d.to_path_buf(), false)));
    watch.extend(gen_dirs.into_iter().map(|d| (d, false)));
    watch.push((layout.active(), true));
    watch.push((state::state_path(&layout.root), false));
    stamp::write(
        &layout.root,
        key,
        active,
        plan.entries.len(),
        watch,
        desired.templates.clone(),
    );
}

/// Whether every template the stamp recorded still renders to the same
/// bytes (the environment, tags or vars may have moved while no file did).
fn templates_unchanged(reg: &Registry, host: &Host, recorded: &[(PathBuf, u64)]) -> bool {
    if recorded.is_empty() {
        return true;
    }
    let t = template::Templates::new(reg, host);
    recorded.iter().all(|(src, fp)| {
        std::fs::read_to_string(src)
            .ok()
            .and_then(|text| t.render(src, &text).ok())
            .is_some_and(|out| crate::fingerprint::fnv(&out) == *fp)
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
    let mut entries: Vec<_> = rec
        .entries
        .iter()
        .map(|g| g.to_entry(&layout, to))
        .collect();
    entries.sort_by(|a, b| crate::paths::path_cmp(&a.target, &b.target));
    let adopt = HashSet::new();
    let plan = plan::plan(
        entries,
        &st,
        &layout,
        &Options {
            home: &crate::paths::normalize(&env.home),
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
