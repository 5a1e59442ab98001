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
use crate::fsops::same_bytes;
use crate::paths::Canon;
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

fn classify(target: &Path, mode: Mode, want_link: &Path, source: &Path) -> LinkState {
    match (mode, std::fs::read_link(target)) {
        (Mode::Link, Ok(t)) if t == want_link => {
            if std::fs::metadata(target).is_ok() {
                LinkState::Ok
            } else {
                LinkState::Broken
            }
        }
        (_, Ok(_)) => LinkState::Elsewhere,
        (_, Err(_)) => match std::fs::symlink_metadata(target) {
            Err(_) => LinkState::Missing,
            Ok(m) if mode == Mode::Copy && m.is_file() => {
                if same_bytes(target, source) {
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
    let hardware = crate::hardware::detect(&env.sysfs_root);
    let host = hardware.slug.clone();
    let mut canon = Canon::default();
    let layout = Layout::new(&env.lumina_home, &mut canon);
    let d = desired::desired(reg, env, &host, &layout)?;
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
    for e in &d.entries {
        let want = links.link(&layout, &e.target, &e.entry);
        let s = classify(&e.target, e.mode, &want, &e.source);
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
        modules[i].problems.push(TargetStatus {
            target: PathBuf::from(t),
            state: LinkState::Stale,
        });
    }
    let drifted = modules.iter().any(|m| !m.problems.is_empty()) || st.pending.is_some();
    Ok(Status {
        host,
        hardware,
        registry: reg.path.clone(),
        profile: reg.profile_dir(),
        lumina_home: env.lumina_home.clone(),
        active_generation: super::apply::active_on_disk(&layout).or(st.active),
        interrupted_sync: st.pending.is_some(),
        modules,
        drifted,
        warnings: d.warnings,
    })
}
