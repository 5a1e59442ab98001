//! `doctor`: offline checks, no writes, no network (docs/eden-skills/README.md#commands, docs/eden-skills/exit-codes.md#doctor-findings).

use std::collections::HashSet;
use std::path::Path;

use serde::Serialize;

use crate::adapter::{inspect_local, PathState};
use crate::config::{Config, InstallMode};
use crate::lock::Lock;
use crate::plan::{decide_local, expand_targets, known_source, Action, Adapters};
use crate::store::Store;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Info,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub code: &'static str,
    pub severity: Severity,
    pub skill_id: String,
    pub target_path: String,
    pub message: String,
    pub remediation: String,
}

const STALE_SECS: u64 = 7 * 24 * 3600;

struct Out {
    findings: Vec<Finding>,
    seen: HashSet<(&'static str, String, String)>,
    /// Store entries are immutable: each is hashed once per run, however
    /// many targets link to it.
    store_hashes: std::collections::HashMap<std::path::PathBuf, Option<String>>,
}

impl Out {
    fn push(
        &mut self,
        code: &'static str,
        sev: Severity,
        skill: &str,
        path: &str,
        message: String,
        remediation: &str,
    ) {
        if self
            .seen
            .insert((code, skill.to_string(), path.to_string()))
        {
            self.findings.push(Finding {
                code,
                severity: sev,
                skill_id: skill.to_string(),
                target_path: path.to_string(),
                message,
                remediation: remediation.to_string(),
            });
        }
    }
}

/// Every finding, in config order, then registries and caches.
pub async fn doctor(cfg: &Config, lock: &Lock, adapters: &Adapters) -> Vec<Finding> {
    use Severity::*;
    let store = Store::new(&cfg.storage_root);
    let mut out = Out {
        findings: Vec::new(),
        seen: HashSet::new(),
        store_hashes: Default::default(),
    };
    for skill in &cfg.skills {
        let id = skill.id.as_str();
        let l = lock.get(id);
        let known = known_source(&store, skill, l);
        if known.is_none() {
            out.push(
                "SOURCE_MISSING",
                Error,
                id,
                "",
                format!("source of '{id}' has not been fetched into the store"),
                "run `eden-skills apply`",
            );
        }
        if skill.metadata_only {
            out.push(
                "NO_EXEC_METADATA_ONLY",
                Warning,
                id,
                "",
                format!("'{id}' is metadata-only: fetched and described, never installed"),
                "set safety.no_exec_metadata_only = false to install it",
            );
        } else {
            for (t, _) in expand_targets(cfg, skill, adapters).await {
                let path = t.path.as_str();
                if let crate::config::Environment::Docker(c) = &t.environment {
                    let recorded =
                        l.is_some_and(|l| l.has_target(&t.environment.to_string(), path));
                    docker_checks(&mut out, adapters, c, id, path, recorded).await;
                    continue;
                }
                local_target(&mut out, cfg, skill, l, known.as_ref(), &t);
            }
        }
        registry_entry(&mut out, cfg, skill, l);
        safety(&mut out, cfg, id);
    }
    registries(&mut out, cfg);
    // The agents' skill directories are read once for both checks.
    let live = links_into_store(cfg);
    orphans(&mut out, cfg, lock, &live);
    dangling_links(&mut out, cfg, &live);
    out.findings
}

/// Symlinks into the store whose entry is gone, outside the configured
/// targets (those are reported with their skill): left by a removed skill
/// or a cleaned store, they break the agent that reads them.
fn dangling_links(out: &mut Out, cfg: &Config, live: &[LiveLink]) {
    let configured: HashSet<String> = cfg
        .skills
        .iter()
        .flat_map(|s| crate::plan::resolve_targets(cfg, s))
        .filter(|t| t.environment.is_local())
        .map(|t| t.path)
        .collect();
    for (link, entry, exists) in live {
        let path = link.display().to_string();
        if *exists || configured.contains(&path) {
            continue;
        }
        out.push(
            "BROKEN_SYMLINK",
            Severity::Error,
            "",
            &path,
            format!("{path} points to store entry {entry}, which does not exist"),
            "remove the link, or reinstall the skill with `eden-skills install`",
        );
    }
}

/// A local target's findings: its state against the install mode, a
/// conflict the next apply would hit, checks that cannot apply, and the
/// verification checks.
fn local_target(
    out: &mut Out,
    cfg: &Config,
    skill: &crate::config::Skill,
    l: Option<&crate::lock::LockSkill>,
    known: Option<&(std::path::PathBuf, String)>,
    t: &crate::plan::ResolvedTarget,
) {
    use Severity::*;
    let id = skill.id.as_str();
    let path = t.path.as_str();
    let before = out.findings.len();
    let p = Path::new(path);
    let state = inspect_local(p).unwrap_or(PathState::Absent);
    let expected = known.map(|(p, _)| p.clone());
    state_findings(out, skill, l, expected.as_ref(), p, &state);
    if out.findings.len() == before && known.is_some() {
        let recorded = l
            .filter(|l| l.has_target("local", path))
            .map(|l| l.content_hash.as_str());
        let (action, reasons) = decide_local(
            skill.mode,
            p,
            known.map(|(p, h)| (p.as_path(), h.as_str())),
            &cfg.storage_root,
            recorded,
        );
        if action == Action::Conflict {
            out.push(
                "PLAN_CONFLICT",
                Error,
                id,
                path,
                reasons.join("; "),
                "move the path away or change the target, then run `eden-skills apply`",
            );
        }
    }
    for c in &skill.verify_checks {
        if skill.mode == InstallMode::Copy && (c == "is-symlink" || c == "target-resolves") {
            out.push(
                "VERIFY_CHECK_MISMATCH",
                Warning,
                id,
                path,
                format!("check `{c}` cannot apply to copy mode"),
                "remove it from verify.checks",
            );
        }
    }
    if out.findings.len() == before && skill.verify_enabled {
        if let Some((entry, _)) = known {
            for issue in crate::engine::verify_target(skill, &t.environment, p, entry) {
                out.push(
                    "VERIFY_CHECK_FAILED",
                    Error,
                    id,
                    path,
                    format!("[{}] {}", issue.check, issue.message),
                    "run `eden-skills repair`",
                );
            }
        }
    }
}

/// What the target's state says, for its install mode.
fn state_findings(
    out: &mut Out,
    skill: &crate::config::Skill,
    l: Option<&crate::lock::LockSkill>,
    expected: Option<&std::path::PathBuf>,
    p: &Path,
    state: &PathState,
) {
    use Severity::*;
    let id = skill.id.as_str();
    let path = p.to_str().unwrap_or_default();
    match (state, skill.mode) {
        (PathState::Absent, _) => out.push(
            "TARGET_PATH_MISSING",
            Error,
            id,
            path,
            format!("{path} does not exist"),
            "run `eden-skills apply` or `eden-skills repair`",
        ),
        (PathState::Symlink(dest), InstallMode::Symlink) => {
            let resolved = if dest.is_absolute() {
                dest.clone()
            } else {
                p.parent().unwrap_or(Path::new("/")).join(dest)
            };
            if !resolved.exists() {
                out.push(
                    "BROKEN_SYMLINK",
                    Error,
                    id,
                    path,
                    format!("{path} points to {} which does not exist", dest.display()),
                    "run `eden-skills repair`",
                );
            } else if let Some(e) = expected {
                if dest != e {
                    out.push(
                        "TARGET_RESOLVE_MISMATCH",
                        Error,
                        id,
                        path,
                        format!(
                            "{path} points to {}, expected {}",
                            dest.display(),
                            e.display()
                        ),
                        "run `eden-skills repair`",
                    );
                } else if let Some(l) = l {
                    let hash = out
                        .store_hashes
                        .entry(e.clone())
                        .or_insert_with(|| crate::store::hash_dir(e).ok())
                        .clone();
                    if hash.is_none_or(|h| h != l.content_hash) {
                        out.push(
                            "CONTENT_HASH_MISMATCH",
                            Error,
                            id,
                            path,
                            format!(
                                "store entry {} no longer hashes to {}",
                                e.display(),
                                l.content_hash
                            ),
                            "run `eden-skills repair`",
                        );
                    }
                }
            }
        }
        (_, InstallMode::Symlink) => out.push(
            "TARGET_NOT_SYMLINK",
            Error,
            id,
            path,
            format!("{path} exists but is not a symlink"),
            "move it away, then run `eden-skills apply`",
        ),
        (PathState::Symlink(_), InstallMode::Copy) => out.push(
            "TARGET_MODE_MISMATCH",
            Error,
            id,
            path,
            format!("{path} is a symlink but install mode is copy"),
            "remove the symlink, then run `eden-skills apply`",
        ),
        (PathState::Dir, InstallMode::Copy) => {
            let empty = std::fs::read_dir(p)
                .map(|mut d| d.next().is_none())
                .unwrap_or(true);
            if empty {
                out.push(
                    "TARGET_CONTENT_MISSING",
                    Error,
                    id,
                    path,
                    format!("{path} is empty"),
                    "run `eden-skills repair`",
                );
            } else if let Some(l) = l.filter(|l| l.has_target("local", path)) {
                if crate::store::hash_dir(p)
                    .map(|h| h != l.content_hash)
                    .unwrap_or(true)
                {
                    out.push(
                        "CONTENT_HASH_MISMATCH",
                        Error,
                        id,
                        path,
                        format!("{path} no longer hashes to {}", l.content_hash),
                        "run `eden-skills repair` to restore it (local edits are lost)",
                    );
                }
            }
        }
        (PathState::File, InstallMode::Copy) => out.push(
            "PLAN_CONFLICT",
            Error,
            id,
            path,
            format!("{path} is a file, not a skill folder"),
            "move it away, then run `eden-skills apply`",
        ),
    }
}

/// A registry entry whose locked version was yanked.
fn registry_entry(
    out: &mut Out,
    cfg: &Config,
    skill: &crate::config::Skill,
    l: Option<&crate::lock::LockSkill>,
) {
    let id = skill.id.as_str();
    if let (crate::config::Source::Registry { .. }, Some(l)) = (&skill.source, l) {
        if let (Some(v), Some(reg)) = (&l.resolved_version, &l.resolved_registry) {
            let url = cfg
                .registries
                .iter()
                .find(|r| &r.name == reg)
                .map(|r| r.url.clone())
                .unwrap_or_default();
            if let Ok(Some(entry)) =
                crate::registry::read_entry(&cfg.registries_root.join(reg), id, &url)
            {
                if entry
                    .versions
                    .iter()
                    .any(|x| x.yanked && x.version.to_string() == *v)
                {
                    out.push(
                        "YANKED_VERSION_LOCKED",
                        Severity::Warning,
                        id,
                        "",
                        format!(
                            "locked version {v} of `{id}` has been yanked from registry `{reg}`"
                        ),
                        "run `eden-skills update --apply` to move to a supported version",
                    );
                }
            }
        }
    }
}

/// License and risk findings from the skill's safety metadata.
fn safety(out: &mut Out, cfg: &Config, id: &str) {
    use Severity::*;
    if let Some(s) = crate::safety::load(&cfg.storage_root, id) {
        match s.license_status.as_str() {
            "non-permissive" => out.push(
                "LICENSE_NON_PERMISSIVE",
                Warning,
                id,
                "",
                format!(
                    "license of '{id}' is not a known permissive license: {}",
                    s.license_hint
                ),
                "review the license before use",
            ),
            "unknown" => out.push(
                "LICENSE_UNKNOWN",
                Warning,
                id,
                "",
                format!("'{id}' has no LICENSE, COPYING or COPYRIGHT file"),
                "ask the author for a license, or review before use",
            ),
            _ => {}
        }
        // Scripts are normal in skills: listed for information. A binary
        // artifact cannot be read, so it asks for a review.
        let binary = s
            .risk_labels
            .iter()
            .any(|l| l == "contains-binary-artifact");
        if binary {
            out.push(
                "RISK_REVIEW_REQUIRED",
                Warning,
                id,
                "",
                format!("'{id}' {}", s.risk_labels.join(", ")),
                "review the skill's binaries before use",
            );
        } else if !s.risk_labels.is_empty() {
            let shown: Vec<&str> = s.executables.iter().take(8).map(String::as_str).collect();
            let more = s.executables.len().saturating_sub(shown.len());
            let list = if shown.is_empty() {
                s.risk_labels.join(", ")
            } else if more > 0 {
                format!("{} and {more} more", shown.join(", "))
            } else {
                shown.join(", ")
            };
            out.push(
                "CONTAINS_SCRIPTS",
                Info,
                id,
                "",
                format!("'{id}' ships scripts or executables: {list}"),
                "an agent may run these; read them if you do not trust the source",
            );
        }
    }
}

/// Registries without a local copy or not synced for a while.
fn registries(out: &mut Out, cfg: &Config) {
    let now = crate::fsutil::unix_now();
    let mut regs = cfg.registries.clone();
    regs.sort_by(|a, b| b.priority.cmp(&a.priority).then(a.name.cmp(&b.name)));
    for r in regs {
        let dir = cfg.registries_root.join(&r.name);
        let marker = std::fs::read_to_string(dir.join(".eden-last-sync"))
            .ok()
            .and_then(|t| t.trim().parse::<u64>().ok());
        let problem = if !dir.is_dir() {
            Some("has no local copy".to_string())
        } else {
            match marker {
                None => Some("has a missing or invalid .eden-last-sync marker".to_string()),
                Some(t) if now.saturating_sub(t) > STALE_SECS => Some(format!(
                    "was last synced {} days ago",
                    now.saturating_sub(t) / 86_400
                )),
                Some(_) => None,
            }
        };
        if let Some(p) = problem {
            out.push(
                "REGISTRY_STALE",
                Severity::Warning,
                &format!("registry:{}", r.name),
                "",
                format!("registry `{}` {p}", r.name),
                "run `eden-skills update`",
            );
        }
    }
}

/// Caches and store entries nothing uses.
fn orphans(out: &mut Out, cfg: &Config, lock: &Lock, live: &[LiveLink]) {
    let (caches, entries) = unused_storage_with(cfg, lock, live);
    for c in caches.iter().chain(&entries) {
        out.push(
            "ORPHAN_CACHE_ENTRY",
            Severity::Info,
            "",
            &c.display().to_string(),
            format!("{} is not used by the config or lock", c.display()),
            "run `eden-skills clean`",
        );
    }
}

/// `.repos/` caches no configured source needs and store entries the lock
/// does not reference.
/// The directories where agents keep skills on this machine: every known
/// agent's default root under `home` and the parent of every configured
/// local target.
fn skill_dirs_on_disk(cfg: &Config) -> Vec<std::path::PathBuf> {
    let mut dirs: Vec<std::path::PathBuf> = crate::agents::all_names()
        .into_iter()
        .filter_map(crate::agents::default_root)
        .map(|r| crate::fsutil::resolve_path(r, &cfg.home, &cfg.dir))
        .collect();
    for s in &cfg.skills {
        for t in crate::plan::resolve_targets(cfg, s) {
            if t.environment.is_local() {
                if let Some(p) = std::path::Path::new(&t.path).parent() {
                    dirs.push(p.to_path_buf());
                }
            }
        }
    }
    dirs.sort();
    dirs.dedup();
    dirs
}

/// A symlink into the store: where it is, the entry's name, whether the
/// entry exists.
pub type LiveLink = (std::path::PathBuf, String, bool);

/// Symlinks in the agents' skill directories that point into the store:
/// (link, the store entry it points to, whether that entry exists).
pub fn links_into_store(cfg: &Config) -> Vec<LiveLink> {
    let store = cfg.storage_root.join("store");
    let mut out = Vec::new();
    for dir in skill_dirs_on_disk(cfg) {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in rd.flatten() {
            if !e.file_type().is_ok_and(|t| t.is_symlink()) {
                continue;
            }
            let Ok(dest) = std::fs::read_link(e.path()) else {
                continue;
            };
            let dest = if dest.is_absolute() {
                dest
            } else {
                dir.join(dest)
            };
            let Ok(rest) = dest.strip_prefix(&store) else {
                continue;
            };
            if let Some(first) = rest.components().next() {
                let name = first.as_os_str().to_string_lossy().into_owned();
                let exists = store.join(&name).is_dir();
                out.push((e.path(), name, exists));
            }
        }
    }
    out.sort();
    out
}

pub fn unused_storage(
    cfg: &Config,
    lock: &Lock,
) -> (Vec<std::path::PathBuf>, Vec<std::path::PathBuf>) {
    unused_storage_with(cfg, lock, &links_into_store(cfg))
}

/// [`unused_storage`] with the live links already read.
fn unused_storage_with(
    cfg: &Config,
    lock: &Lock,
    live: &[LiveLink],
) -> (Vec<std::path::PathBuf>, Vec<std::path::PathBuf>) {
    let wanted_caches: HashSet<String> = cfg
        .skills
        .iter()
        .filter_map(|s| match &s.source {
            crate::config::Source::Repo { repo, .. } if !s.is_local_dir() => {
                Some(crate::git::cache_key(repo))
            }
            // Registry skills: the repository their lock entry resolved to.
            crate::config::Source::Registry { .. } => lock
                .get(&s.id)
                .and_then(|l| l.resolved_repo.as_deref())
                .map(crate::git::cache_key),
            _ => None,
        })
        .collect();
    let mut wanted_entries: HashSet<&str> =
        lock.skills.iter().filter_map(|l| l.store_hex()).collect();
    // A store entry a symlink still points to is in use, recorded or not.
    wanted_entries.extend(live.iter().map(|(_, name, _)| name.as_str()));
    let list = |dir: std::path::PathBuf, keep: &dyn Fn(&str) -> bool| -> Vec<std::path::PathBuf> {
        let mut v: Vec<_> = std::fs::read_dir(&dir)
            .map(|rd| {
                rd.flatten()
                    .filter(|e| {
                        let n = e.file_name().to_string_lossy().into_owned();
                        !keep(&n)
                    })
                    .map(|e| e.path())
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    };
    let caches = list(cfg.storage_root.join(".repos"), &|n| {
        wanted_caches.contains(n)
    });
    let entries = list(cfg.storage_root.join("store"), &|n| {
        wanted_entries.contains(n)
    });
    (caches, entries)
}

/// Docker targets: the CLI, the container, the path, a bind mount.
async fn docker_checks(
    out: &mut Out,
    adapters: &Adapters,
    container: &str,
    id: &str,
    path: &str,
    recorded: bool,
) {
    use crate::adapter::TargetAdapter;
    use Severity::*;
    let ad = adapters.docker(container);
    if let Err(e) = ad.health().await {
        let msg = e.to_string();
        if msg == crate::adapter::docker::NO_CLI {
            out.push(
                "DOCKER_NOT_FOUND",
                Error,
                id,
                path,
                msg,
                "install Docker or set EDEN_SKILLS_DOCKER_BIN",
            );
        } else {
            let fix = e
                .hint()
                .map(|h| format!("run `{h}`"))
                .unwrap_or_else(|| "start the container or fix the target's environment".into());
            out.push("ADAPTER_HEALTH_FAIL", Error, id, path, msg, &fix);
        }
        return;
    }
    match ad.inspect(path).await {
        Ok(PathState::Absent) => out.push(
            "TARGET_PATH_MISSING",
            Error,
            id,
            path,
            format!("{path} does not exist in container '{container}'"),
            "run `eden-skills apply` or `eden-skills repair`",
        ),
        Ok(_) if !recorded => out.push(
            "PLAN_CONFLICT",
            Error,
            id,
            path,
            "target exists but is not managed by eden-skills".into(),
            "move it away, then run `eden-skills apply`",
        ),
        _ => {}
    }
    let root = std::path::Path::new(path)
        .parent()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    if let Ok(mounts) = ad.mounts().await {
        if !mounts
            .iter()
            .any(|m| root == *m || root.starts_with(&format!("{}/", m.trim_end_matches('/'))))
        {
            out.push("DOCKER_NO_BIND_MOUNT", Info, id, path, format!("{root} in container '{container}' is not bind-mounted: skills are copied in and refreshed by apply"), "see `eden-skills docker mount-hint` to mount it instead");
        }
    }
}
