//! `lumina status`: how every declared target looks now, without changing
//! anything.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::desired;
use super::plan::Layout;
use super::plan::TargetLinks;
use super::state;
use crate::env::Env;
use crate::error::Result;
use crate::host::Host;
use crate::paths::{Canon, LinkAbove};
use crate::registry::{Mode, Registry};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LinkState {
    /// Lumina's link (or copy), resolving to the profile.
    Ok,
    /// Nothing at the target: not synced yet, or deleted.
    Missing,
    /// Lumina's link, but it does not resolve (source or generation gone).
    Broken,
    /// A file or directory that is not lumina's stands there.
    Foreign,
    /// A symlink that points somewhere else.
    Elsewhere,
    /// A `mode: copy` target edited since lumina wrote it.
    Modified,
    /// Owned by lumina but no longer declared (the next sync prunes it).
    Stale,
    /// The module's source was deleted from the profile: the link dangles
    /// (restore the source, or `lumina remove` the module).
    Orphaned,
    /// A template changed (or its variables did) since the last sync: the
    /// target still shows the old rendering until `lumina sync`.
    Outdated,
    /// A directory on the way to the target is a symlink into another
    /// tree: what stands there is not lumina's.
    Redirected,
}

#[derive(Debug, Serialize)]
pub struct TargetStatus {
    pub target: PathBuf,
    pub state: LinkState,
}

#[derive(Debug, Serialize)]
pub struct ModuleStatus {
    pub name: String,
    pub enabled: bool,
    pub ok: usize,
    /// Every target that is not ok.
    pub problems: Vec<TargetStatus>,
}

#[derive(Debug, Serialize)]
pub struct Status {
    pub host: String,
    pub hostname: String,
    pub tags: Vec<String>,
    pub hardware: crate::hardware::Hardware,
    pub registry: PathBuf,
    pub profile: PathBuf,
    pub lumina_home: PathBuf,
    pub active_generation: Option<u64>,
    pub interrupted_sync: bool,
    pub modules: Vec<ModuleStatus>,
    pub drifted: bool,
    pub warnings: Vec<String>,
}

fn classify(e: &desired::Entry, want_link: &Path, active: Option<&Path>) -> LinkState {
    let target = &e.target;
    match (e.mode, std::fs::read_link(target)) {
        (Mode::Link, Ok(t)) if t == want_link => {
            if std::fs::metadata(target).is_err() {
                LinkState::Broken
            } else if e.rendered.is_some()
                && !active.is_some_and(|g| e.same_content(&g.join(&e.entry)))
            {
                LinkState::Outdated
            } else {
                LinkState::Ok
            }
        }
        (_, Ok(_)) => LinkState::Elsewhere,
        (_, Err(_)) => match std::fs::symlink_metadata(target) {
            Err(_) => LinkState::Missing,
            // A seeded file belongs to whoever edits it.
            Ok(m) if e.mode == Mode::Seed && m.is_file() => LinkState::Ok,
            Ok(m) if e.mode == Mode::Copy && m.is_file() => {
                if e.same_content(target) {
                    LinkState::Ok
                } else {
                    LinkState::Modified
                }
            }
            Ok(_) => LinkState::Foreign,
        },
    }
}

pub fn status(env: &Env, reg: &Registry) -> Result<Status> {
    let machine = Host::detect(env)?;
    let hardware = machine.hardware.clone();
    let host = hardware.slug.clone();
    let mut canon = Canon::default();
    let layout = Layout::new(&env.lumina_home, &mut canon);
    let d = desired::desired(reg, env, &machine, &layout)?;
    let home = crate::paths::normalize(&env.home);
    let mut above = LinkAbove::new(&home);
    let mut links = TargetLinks::default();
    let st = state::load(&layout.root)?;
    let mut modules: Vec<ModuleStatus> = reg
        .modules
        .iter()
        .map(|m| ModuleStatus {
            name: m.name.clone(),
            enabled: m.enabled,
            ok: 0,
            problems: Vec::new(),
        })
        .collect();
    let idx = |name: &str, mods: &[ModuleStatus]| mods.iter().position(|m| m.name == name);
    let active = super::apply::active_on_disk(&layout)
        .or(st.active)
        .map(|n| layout.generation(n));
    for e in &d.entries {
        let redirected = e.target.parent().and_then(|p| above.find(p)).is_some();
        let s = if redirected {
            LinkState::Redirected
        } else {
            let want = links.link(&layout, &e.target, &e.entry);
            classify(e, &want, active.as_deref())
        };
        if let Some(i) = idx(&e.module, &modules) {
            if s == LinkState::Ok {
                modules[i].ok += 1;
            } else {
                modules[i].problems.push(TargetStatus {
                    target: e.target.clone(),
                    state: s,
                });
            }
        }
    }
    let declared: std::collections::HashSet<&Path> =
        d.entries.iter().map(|e| e.target.as_path()).collect();
    for (t, o) in &st.owned {
        if declared.contains(Path::new(t)) {
            continue;
        }
        let i = match idx(&o.module, &modules) {
            Some(i) => i,
            None => {
                modules.push(ModuleStatus {
                    name: o.module.clone(),
                    enabled: false,
                    ok: 0,
                    problems: Vec::new(),
                });
                modules.len() - 1
            }
        };
        let orphaned = d.missing.iter().any(|(m, _)| *m == o.module);
        modules[i].problems.push(TargetStatus {
            target: PathBuf::from(t),
            state: if orphaned {
                LinkState::Orphaned
            } else {
                LinkState::Stale
            },
        });
    }
    let drifted = modules.iter().any(|m| !m.problems.is_empty()) || st.pending.is_some();
    let mut warnings = d.warnings;
    warnings.extend(d.missing.iter().map(|(_, diag)| {
        format!(
            "{}{}",
            diag.message,
            diag.help
                .as_ref()
                .map(|h| format!(" ({h})"))
                .unwrap_or_default()
        )
    }));
    Ok(Status {
        host,
        hostname: machine.hostname,
        tags: machine.tags,
        hardware,
        registry: reg.path.clone(),
        profile: reg.profile_dir(),
        lumina_home: env.lumina_home.clone(),
        active_generation: super::apply::active_on_disk(&layout).or(st.active),
        interrupted_sync: st.pending.is_some(),
        modules,
        drifted,
        warnings,
    })
}
