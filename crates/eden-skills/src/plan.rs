//! Plan actions (docs/eden-skills/behaviour.md#plan-actions): what `apply` would do to each target, and
//! the ownership rule (docs/eden-skills/behaviour.md#what-eden-skills-owns) it rests on. Reads only; never runs git.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;

use crate::adapter::{inspect_local, PathState, TargetAdapter};
use crate::config::{Config, Environment, InstallMode, Skill};
use crate::lock::{Lock, LockSkill};
use crate::store::{self, Entry, ScanError, Store};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Update,
    Noop,
    Conflict,
    Remove,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Noop => "noop",
            Action::Conflict => "conflict",
            Action::Remove => "remove",
        }
    }
}

/// One target of a skill, with its root resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedTarget {
    pub agent: String,
    pub environment: Environment,
    pub path: String,
}

/// A skill's targets, `<root>/<id>`, deduplicated by (environment, path).
pub fn resolve_targets(cfg: &Config, skill: &Skill) -> Vec<ResolvedTarget> {
    let mut out: Vec<ResolvedTarget> = Vec::new();
    for t in &skill.targets {
        let root = cfg.target_root(t);
        let path = format!("{}/{}", root.trim_end_matches('/'), skill.id);
        if !out
            .iter()
            .any(|o| o.environment == t.environment && o.path == path)
        {
            out.push(ResolvedTarget {
                agent: t.agent.clone(),
                environment: t.environment.clone(),
                path,
            });
        }
    }
    out
}

/// The adapters of one run, one per environment (docs/eden-skills/behaviour.md#targets).
#[derive(Clone)]
pub struct Adapters {
    map: Arc<std::sync::Mutex<HashMap<Environment, Arc<dyn TargetAdapter>>>>,
    docker: Arc<std::sync::Mutex<HashMap<String, Arc<crate::adapter::docker::DockerAdapter>>>>,
    bound: Arc<tokio::sync::Semaphore>,
}

impl Default for Adapters {
    fn default() -> Self {
        Adapters::new(Arc::new(tokio::sync::Semaphore::new(
            crate::config::DEFAULT_CONCURRENCY,
        )))
    }
}

impl Adapters {
    /// Adapters whose external calls share `bound` with git.
    pub fn new(bound: Arc<tokio::sync::Semaphore>) -> Adapters {
        Adapters {
            map: Arc::default(),
            docker: Arc::default(),
            bound,
        }
    }

    pub fn get(&self, env: &Environment) -> Arc<dyn TargetAdapter> {
        if let Environment::Docker(c) = env {
            return self.docker(c);
        }
        let mut m = self.map.lock().unwrap_or_else(|p| p.into_inner());
        m.entry(env.clone())
            .or_insert_with(|| crate::adapter::for_environment(env, self.bound.clone()))
            .clone()
    }

    /// The Docker adapter of a container (for docker-only operations).
    pub fn docker(&self, container: &str) -> Arc<crate::adapter::docker::DockerAdapter> {
        let mut m = self.docker.lock().unwrap_or_else(|p| p.into_inner());
        m.entry(container.to_string())
            .or_insert_with(|| {
                Arc::new(crate::adapter::docker::DockerAdapter::new(
                    container,
                    self.bound.clone(),
                ))
            })
            .clone()
    }

    /// Warnings the adapters collected during the run.
    pub fn take_warnings(&self) -> Vec<String> {
        let m = self.docker.lock().unwrap_or_else(|p| p.into_inner());
        let mut keys: Vec<&String> = m.keys().collect();
        keys.sort();
        keys.into_iter()
            .flat_map(|k| m[k].take_warnings())
            .collect()
    }
}

/// A skill's targets with `~` in docker roots expanded to the container
/// user's home. A target whose container cannot be reached keeps its raw
/// path and carries the reason.
pub async fn expand_targets(
    cfg: &Config,
    skill: &Skill,
    adapters: &Adapters,
) -> Vec<(ResolvedTarget, Option<String>)> {
    let mut out = Vec::new();
    for t in resolve_targets(cfg, skill) {
        if t.environment.is_local() || !t.path.starts_with('~') {
            out.push((t, None));
            continue;
        }
        let ad = adapters.get(&t.environment);
        match ad.expand_root(&t.path).await {
            Ok(p) => out.push((ResolvedTarget { path: p, ..t }, None)),
            Err(e) => out.push((t, Some(e.to_string()))),
        }
    }
    out
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanItem {
    pub skill_id: String,
    pub source_path: String,
    pub target_path: String,
    pub install_mode: String,
    pub action: Action,
    pub reasons: Vec<String>,
    pub agent: String,
    pub environment: String,
}

/// A skill's source as far as planning knows: the store entry when the lock
/// matches and the entry exists.
pub fn known_source(
    store: &Store,
    skill: &Skill,
    lock: Option<&LockSkill>,
) -> Option<(PathBuf, String)> {
    let l = lock.filter(|l| l.matches(skill))?;
    let p = store.entry_path(&l.content_hash)?;
    p.is_dir().then(|| (p, l.content_hash.clone()))
}

/// Whether a local path is ours (docs/eden-skills/behaviour.md#what-eden-skills-owns).
pub fn managed_local(state: &PathState, storage: &Path, recorded: bool) -> bool {
    recorded || matches!(state, PathState::Symlink(dest) if dest.starts_with(storage))
}

/// Copy comparison: `Ok(true)` when the target holds exactly the source.
pub fn compare_copy(source: &Path, source_hash: &str, target: &Path) -> Result<bool, String> {
    let entries = store::scan(target, false).map_err(|e| match e.io_kind() {
        Some(std::io::ErrorKind::PermissionDenied) => "permission denied".to_string(),
        Some(std::io::ErrorKind::NotFound) => "not found".to_string(),
        _ => "io error".to_string(),
    })?;
    if entries.iter().any(|e| matches!(e, Entry::Link { .. })) {
        let src = store::scan(source, false).map_err(|_: ScanError| "io error".to_string())?;
        for e in entries.iter().filter(|e| matches!(e, Entry::Link { .. })) {
            if !src.contains(e) {
                return Err("symlink in tree".into());
            }
        }
    }
    Ok(store::content_hash(&entries) == source_hash)
}

/// Rows 1–12 of the plan table for a local target. `recorded` is the
/// content hash the lock holds when it records this target. A path
/// eden-skills placed in the other mode (its own symlink into the store, or
/// a recorded copy still holding what was placed) is converted: an update,
/// never a conflict.
pub fn decide_local(
    mode: InstallMode,
    target: &Path,
    source: Option<(&Path, &str)>,
    storage: &Path,
    recorded_hash: Option<&str>,
) -> (Action, Vec<String>) {
    let recorded = recorded_hash.is_some();
    let r = |s: &str| vec![s.to_string()];
    let state = match inspect_local(target) {
        Ok(s) => s,
        Err(e) => {
            return (
                Action::Conflict,
                vec![format!("copy comparison failed: {}", io_cause(&e))],
            )
        }
    };
    if state == PathState::Absent {
        let mut reasons = r("target path does not exist");
        if source.is_none() {
            reasons.push("source not yet fetched".into());
        }
        return (Action::Create, reasons);
    }
    let is_link = matches!(state, PathState::Symlink(_));
    if mode == InstallMode::Symlink && !is_link {
        if own_copy(target, recorded_hash, source.map(|(_, h)| h)) {
            return (
                Action::Update,
                r("target is a copy eden-skills placed; converting it to a symlink"),
            );
        }
        return (Action::Conflict, r("target exists but is not a symlink"));
    }
    if mode == InstallMode::Copy && is_link {
        if matches!(&state, PathState::Symlink(dest) if dest.starts_with(storage)) {
            return (
                Action::Update,
                r("target is a symlink eden-skills placed; converting it to a copy"),
            );
        }
        return (
            Action::Conflict,
            r("target is a symlink but install mode is copy"),
        );
    }
    let managed = managed_local(&state, storage, recorded);
    let Some((src, hash)) = source else {
        if managed {
            return (Action::Update, r("source not yet fetched"));
        }
        return if is_link {
            (
                Action::Conflict,
                r("target is a symlink not managed by eden-skills"),
            )
        } else {
            (
                Action::Conflict,
                r("target exists but is not managed by eden-skills"),
            )
        };
    };
    if let PathState::Symlink(dest) = &state {
        if dest == src {
            return (Action::Noop, r("target already points to source"));
        }
        return if managed {
            (Action::Update, r("symlink points to a different source"))
        } else {
            (
                Action::Conflict,
                r("target is a symlink not managed by eden-skills"),
            )
        };
    }
    match compare_copy(src, hash, target) {
        Err(cause) => (
            Action::Conflict,
            vec![format!("copy comparison failed: {cause}")],
        ),
        Ok(true) => (Action::Noop, r("target content matches source")),
        Ok(false) if managed => (Action::Update, r("target content differs from source")),
        Ok(false) => (
            Action::Conflict,
            r("target exists but is not managed by eden-skills"),
        ),
    }
}

/// A recorded copy that still holds what eden-skills placed there (the
/// recorded hash) or what it would place now.
fn own_copy(target: &Path, recorded: Option<&str>, source: Option<&str>) -> bool {
    let Some(recorded) = recorded else {
        return false;
    };
    match store::scan(target, false) {
        Ok(entries) => {
            let h = store::content_hash(&entries);
            h == recorded || Some(h.as_str()) == source
        }
        Err(_) => false,
    }
}

fn io_cause(e: &crate::adapter::AdapterError) -> &'static str {
    match e {
        crate::adapter::AdapterError::Io { source, .. } => match source.kind() {
            std::io::ErrorKind::PermissionDenied => "permission denied",
            std::io::ErrorKind::NotFound => "not found",
            _ => "io error",
        },
        _ => "io error",
    }
}

/// A docker target, judged through the lock (docs/eden-skills/behaviour.md#plan-actions).
pub async fn decide_remote(
    adapter: &dyn TargetAdapter,
    path: &str,
    source_hash: Option<&str>,
    recorded: Option<&LockSkill>,
) -> (Action, Vec<String>) {
    let state = match adapter.inspect(path).await {
        Ok(s) => s,
        Err(e) => {
            return (
                Action::Conflict,
                vec![format!("environment unavailable: {e}")],
            )
        }
    };
    if state == PathState::Absent {
        return (Action::Create, vec!["target path does not exist".into()]);
    }
    match recorded {
        None => (
            Action::Conflict,
            vec!["target exists but is not managed by eden-skills".into()],
        ),
        Some(l) if Some(l.content_hash.as_str()) == source_hash => {
            (Action::Noop, vec!["target content matches lock".into()])
        }
        Some(_) => (
            Action::Update,
            vec!["target content differs from lock".into()],
        ),
    }
}

/// The whole plan: one item per (skill, target) in config order, then one
/// `remove` per orphan target.
pub async fn plan(cfg: &Config, lock: &Lock, adapters: &Adapters) -> Vec<PlanItem> {
    let store = Store::new(&cfg.storage_root);
    let mut items = Vec::new();
    for skill in &cfg.skills {
        if skill.metadata_only {
            continue;
        }
        let l = lock.get(&skill.id);
        let known = known_source(&store, skill, l);
        for (t, unavailable) in expand_targets(cfg, skill, adapters).await {
            let recorded = l.filter(|l| l.has_target(&t.environment.to_string(), &t.path));
            let (action, reasons) = if let Some(why) = unavailable {
                (
                    Action::Conflict,
                    vec![format!("environment unavailable: {why}")],
                )
            } else if t.environment.is_local() {
                decide_local(
                    skill.mode,
                    Path::new(&t.path),
                    known.as_ref().map(|(p, h)| (p.as_path(), h.as_str())),
                    &cfg.storage_root,
                    recorded.map(|l| l.content_hash.as_str()),
                )
            } else {
                let ad = adapters.get(&t.environment);
                decide_remote(
                    ad.as_ref(),
                    &t.path,
                    known.as_ref().map(|(_, h)| h.as_str()),
                    recorded,
                )
                .await
            };
            items.push(PlanItem {
                skill_id: skill.id.clone(),
                source_path: known
                    .as_ref()
                    .map(|(p, _)| p.display().to_string())
                    .unwrap_or_default(),
                target_path: t.path.clone(),
                install_mode: skill.mode.as_str().into(),
                action,
                reasons,
                agent: t.agent.clone(),
                environment: t.environment.to_string(),
            });
        }
    }
    for (l, t, reason) in orphans(cfg, lock, adapters).await {
        items.push(PlanItem {
            skill_id: l.id.clone(),
            source_path: store
                .entry_path(&l.content_hash)
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            target_path: t.path.clone(),
            install_mode: l.install_mode.clone(),
            action: Action::Remove,
            reasons: vec![reason.into()],
            agent: t.agent.clone(),
            environment: t.environment().to_string(),
        });
    }
    items
}

/// Lock targets no configured skill lists any more (docs/eden-skills/lock.md). A
/// target in a container that cannot be reached is never called an orphan.
pub async fn orphans<'a>(
    cfg: &Config,
    lock: &'a Lock,
    adapters: &Adapters,
) -> Vec<(&'a LockSkill, &'a crate::lock::LockTarget, &'static str)> {
    let mut out = Vec::new();
    for l in &lock.skills {
        match cfg.skill(&l.id) {
            None => {
                for t in &l.targets {
                    out.push((l, t, "skill removed from configuration"));
                }
            }
            Some(skill) => {
                let wanted = if skill.metadata_only {
                    Vec::new()
                } else {
                    expand_targets(cfg, skill, adapters).await
                };
                for t in &l.targets {
                    let listed = wanted.iter().any(|(w, unavailable)| {
                        w.environment.to_string() == t.environment()
                            && (w.path == t.path || unavailable.is_some())
                    });
                    if !listed {
                        out.push((l, t, "target removed from configuration"));
                    }
                }
            }
        }
    }
    out
}

/// `apply --frozen`: the first difference between the config and the
/// lock, if any (`None`: the lock can be installed exactly).
pub async fn frozen_mismatch(
    cfg: &Config,
    lock: Option<&Lock>,
    adapters: &Adapters,
) -> Option<String> {
    let Some(lock) = lock else {
        return Some("no usable lock file".into());
    };
    for s in &cfg.skills {
        let Some(l) = lock.get(&s.id) else {
            return Some(format!("skill '{}' is not in the lock", s.id));
        };
        if !l.matches(s) {
            return Some(format!(
                "skill '{}' has a different source than the lock",
                s.id
            ));
        }
        if l.install_mode != s.mode.as_str() {
            return Some(format!(
                "skill '{}' install mode is {} in config, {} in lock",
                s.id,
                s.mode.as_str(),
                l.install_mode
            ));
        }
        let mut want: Vec<(String, String)> = if s.metadata_only {
            Vec::new()
        } else {
            expand_targets(cfg, s, adapters)
                .await
                .into_iter()
                .map(|(t, _)| (t.environment.to_string(), t.path))
                .collect()
        };
        let mut have: Vec<(String, String)> = l
            .targets
            .iter()
            .map(|t| (t.environment().to_string(), t.path.clone()))
            .collect();
        want.sort();
        have.sort();
        if want != have {
            let show = |v: Vec<&(String, String)>| {
                v.iter()
                    .map(|(e, p)| {
                        let p = match Path::new(p).strip_prefix(&cfg.home) {
                            Ok(r) if e == "local" => format!("~/{}", r.display()),
                            _ => p.clone(),
                        };
                        if e == "local" {
                            p
                        } else {
                            format!("{e}:{p}")
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let only_cfg: Vec<_> = want.iter().filter(|w| !have.contains(w)).collect();
            let only_lock: Vec<_> = have.iter().filter(|h| !want.contains(h)).collect();
            let mut parts = Vec::new();
            if !only_cfg.is_empty() {
                parts.push(format!("config wants {}", show(only_cfg)));
            }
            if !only_lock.is_empty() {
                parts.push(format!("lock has {}", show(only_lock)));
            }
            return Some(format!(
                "skill '{}' targets differ from the lock: {}",
                s.id,
                parts.join("; ")
            ));
        }
    }
    for l in &lock.skills {
        if cfg.skill(&l.id).is_none() {
            return Some(format!("lock entry '{}' is not in the config", l.id));
        }
    }
    None
}
