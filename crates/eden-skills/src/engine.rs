//! The reconciliation engine behind `apply`, `repair` and `install`
//! (contract §1, §7): Phase A fetches and exports in parallel under the
//! effective concurrency; Phase B places store entries through adapters,
//! one task per (environment, path) at a time; then orphans, verification
//! and the lock.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde::Serialize;
use tokio::sync::{Mutex, Semaphore};
use tokio::task::JoinSet;

use crate::adapter::{AdapterError, Injection, PathState};
use crate::config::{Config, Environment, InstallMode, Skill, Source};
use crate::failure::{classify, Failure, Kind, Phase};
use crate::git::{cache_key, Git, GitError};
use crate::lock::{source_fields, Lock, LockSkill, LockTarget};
use crate::plan::{
    decide_local, decide_remote, expand_targets, orphans, Action, Adapters, ResolvedTarget,
};
use crate::safety::{self, Safety};
use crate::store::{ExportError, Store, StoreEntry};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Apply,
    Repair,
    Install,
}

impl Command {
    pub fn as_str(self) -> &'static str {
        match self {
            Command::Apply => "apply",
            Command::Repair => "repair",
            Command::Install => "install",
        }
    }
}

pub struct RunOptions {
    pub command: Command,
    pub concurrency: usize,
    /// Only these skills (install); others and their lock entries are left alone.
    pub only: Option<Vec<String>>,
    /// `remove --force`-like deletion of changed recorded copies (orphans).
    pub force: bool,
    /// Repositories already fetched in this invocation (install's
    /// discovery), and whether that fetch was a fresh clone.
    pub prefetched: HashMap<String, bool>,
    /// Set by Ctrl-C: no new work starts; steps in flight finish.
    pub cancel: Arc<AtomicBool>,
    /// Skills resolved afresh even when their lock entry matches
    /// (`update --apply` moving them forward).
    pub refresh: HashSet<String>,
}

impl RunOptions {
    pub fn new(command: Command, concurrency: usize) -> RunOptions {
        RunOptions {
            command,
            concurrency,
            only: None,
            force: false,
            prefetched: HashMap::new(),
            cancel: Arc::new(AtomicBool::new(false)),
            refresh: HashSet::new(),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct SyncCounts {
    pub cloned: usize,
    pub updated: usize,
    pub skipped: usize,
    pub failed: usize,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub created: usize,
    pub updated: usize,
    pub noop: usize,
    pub conflicts: usize,
    pub removed: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct TargetReport {
    pub agent: String,
    pub environment: String,
    pub path: String,
    pub action: String,
    #[serde(skip)]
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SkillReport {
    pub id: String,
    pub status: String,
    pub resolved_commit: Option<String>,
    pub resolved_version: Option<String>,
    pub content_hash: Option<String>,
    pub targets: Vec<TargetReport>,
}

#[derive(Debug, Clone, Serialize)]
pub struct VerifyIssue {
    pub skill_id: String,
    pub target_path: String,
    pub check: String,
    pub message: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Kept {
    pub skill_id: String,
    pub path: String,
    pub reason: String,
}

#[derive(Debug, Default)]
pub struct Report {
    pub sync: SyncCounts,
    pub summary: Summary,
    pub skills: Vec<SkillReport>,
    pub failures: Vec<Failure>,
    pub verification: Vec<VerifyIssue>,
    pub warnings: Vec<String>,
    pub kept: Vec<Kept>,
    pub cancelled: bool,
}

impl Report {
    /// Conflicts that count for `--strict` (metadata-only skills never do).
    pub fn conflicts(&self) -> usize {
        self.summary.conflicts
    }
}

/// What a registry resolution chose (the lock's Mode B fields).
#[derive(Debug, Clone, PartialEq, Eq)]
struct RegInfo {
    version: String,
    registry: String,
    repo: String,
    git_ref: String,
    /// The index's subpath (the lock's `source_subpath` for Mode B).
    subpath: String,
}

/// What Phase A produced for a skill.
#[derive(Debug, Clone)]
struct Fetched {
    commit: String,
    entry: StoreEntry,
    reg: Option<RegInfo>,
}

struct Ctx {
    cfg: Arc<Config>,
    git: Git,
    store: Store,
    net: Arc<Semaphore>,
    cpu: Semaphore,
    cancel: Arc<AtomicBool>,
    rehash: bool,
    prefetched: HashMap<String, bool>,
}

impl Ctx {
    fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::SeqCst)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum SourceOutcome {
    Cloned,
    Updated,
    Skipped,
    Failed,
}

struct Member {
    id: String,
    repo: String,
    git_ref: String,
    subpath: String,
    /// An index `commit` that must be installed exactly (REG-VER-4).
    pinned: Option<String>,
    reg: Option<RegInfo>,
    locked: Option<(String, String)>,
    known: Option<StoreEntry>,
}

type MemberResult = (String, Result<Fetched, Option<Failure>>);

/// Runs the pipeline on the skills of `cfg` (all, or `opts.only`).
pub async fn run(cfg: Arc<Config>, lock: &mut Lock, opts: RunOptions) -> Report {
    let mut report = Report::default();
    let store = Store::new(&cfg.storage_root);
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    let ctx = Arc::new(Ctx {
        cfg: cfg.clone(),
        git: Git::from_env(),
        store: store.clone(),
        net: Arc::new(Semaphore::new(opts.concurrency.max(1))),
        cpu: Semaphore::new((cpus * 2).max(opts.concurrency.min(8))),
        cancel: opts.cancel.clone(),
        rehash: opts.command == Command::Repair,
        prefetched: opts.prefetched.clone(),
    });
    let selected: Vec<&Skill> = cfg
        .skills
        .iter()
        .filter(|s| opts.only.as_ref().is_none_or(|o| o.contains(&s.id)))
        .collect();

    // Phase A: one task per distinct git repository, one per local directory.
    let mut groups: BTreeMap<String, Vec<Member>> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    let mut results: HashMap<String, Result<Fetched, Option<Failure>>> = HashMap::new();
    for s in &selected {
        let prev = lock
            .get(&s.id)
            .filter(|l| l.matches(s) && !opts.refresh.contains(&s.id));
        let mut locked = prev.map(|l| (l.resolved_commit.clone(), l.content_hash.clone()));
        let mut known = prev.and_then(|l| {
            let p = store.entry_path(&l.content_hash)?;
            p.is_dir().then(|| StoreEntry {
                hash: l.content_hash.clone(),
                path: p,
            })
        });
        let (repo, git_ref, subpath, pinned, reg) = match &s.source {
            Source::Repo {
                repo,
                git_ref,
                subpath,
            } => (repo.clone(), git_ref.clone(), subpath.clone(), None, None),
            Source::Registry { version, registry } => {
                let locked_reg = prev.and_then(|l| {
                    Some(RegInfo {
                        version: l.resolved_version.clone()?,
                        registry: l.resolved_registry.clone()?,
                        repo: l.resolved_repo.clone()?,
                        git_ref: l.resolved_ref.clone()?,
                        subpath: l.source_subpath.clone(),
                    })
                });
                match locked_reg {
                    // Matching lock: reinstalled at the locked commit, no index needed.
                    Some(r) => (
                        r.repo.clone(),
                        r.git_ref.clone(),
                        prev.map(|l| l.source_subpath.clone())
                            .unwrap_or_else(|| ".".into()),
                        None,
                        Some(r),
                    ),
                    None => {
                        locked = None;
                        known = None;
                        let res =
                            crate::registry::resolve(&cfg, &s.id, version, registry.as_deref());
                        report.warnings.extend(res.warnings);
                        match res.result {
                            Ok((r, _)) => (
                                r.repo.clone(),
                                r.git_ref.clone(),
                                r.subpath.clone(),
                                r.commit.clone(),
                                Some(RegInfo {
                                    version: r.version,
                                    registry: r.registry,
                                    repo: r.repo,
                                    git_ref: r.git_ref,
                                    subpath: r.subpath,
                                }),
                            ),
                            Err(msg) => {
                                results.insert(
                                    s.id.clone(),
                                    Err(Some(Failure::permanent(&s.id, Phase::Resolve, msg))),
                                );
                                continue;
                            }
                        }
                    }
                }
            }
        };
        let key = if crate::repo_kind(&repo) == Some(crate::RepoKind::LocalDir) {
            format!("dir:{}", s.id)
        } else {
            repo.clone()
        };
        if !groups.contains_key(&key) {
            order.push(key.clone());
        }
        groups.entry(key).or_default().push(Member {
            id: s.id.clone(),
            repo,
            git_ref,
            subpath,
            pinned,
            reg,
            locked,
            known,
        });
    }
    let mut tasks: JoinSet<(SourceOutcome, Vec<MemberResult>, Vec<String>)> = JoinSet::new();
    let mut group_ids: Vec<Vec<String>> = Vec::new();
    for key in order {
        let members = groups.remove(&key).unwrap_or_default();
        group_ids.push(members.iter().map(|m| m.id.clone()).collect());
        let ctx = ctx.clone();
        if let Some(id) = key.strip_prefix("dir:") {
            let skill = cfg.skill(id).cloned();
            tasks.spawn(async move {
                match skill {
                    Some(s) => export_local_member(&ctx, &s, members.into_iter().next()).await,
                    None => (SourceOutcome::Skipped, Vec::new(), Vec::new()),
                }
            });
        } else {
            tasks.spawn(async move { fetch_git_group(&ctx, &key, members).await });
        }
    }
    let mut seen_ids: HashSet<String> = HashSet::new();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((outcome, members, warnings)) => {
                match outcome {
                    SourceOutcome::Cloned => report.sync.cloned += 1,
                    SourceOutcome::Updated => report.sync.updated += 1,
                    SourceOutcome::Skipped => report.sync.skipped += 1,
                    SourceOutcome::Failed => report.sync.failed += 1,
                }
                report.warnings.extend(warnings);
                for (id, r) in members {
                    seen_ids.insert(id.clone());
                    results.insert(id, r);
                }
            }
            Err(e) => {
                // A panicking task fails the skills it was fetching.
                report.sync.failed += 1;
                let _ = e;
            }
        }
    }
    for ids in &group_ids {
        for id in ids {
            if !seen_ids.contains(id) && !results.contains_key(id) {
                results.insert(
                    id.clone(),
                    Err(Some(Failure::permanent(
                        id,
                        Phase::Fetch,
                        "internal error: the fetch task panicked",
                    ))),
                );
            }
        }
    }

    // Phase B: every skill in parallel; one task per (environment, path).
    let adapters = Adapters::new(ctx.net.clone());
    let mut wanted: Vec<Vec<ResolvedTarget>> = vec![Vec::new(); selected.len()];
    let mut path_locks: HashMap<(Environment, String), Arc<Mutex<()>>> = HashMap::new();
    let mut placing: JoinSet<(usize, PlaceOutcome)> = JoinSet::new();
    let mut outcomes: Vec<Option<PlaceOutcome>> = vec![None; selected.len()];
    let mut ready: Vec<(usize, Fetched)> = Vec::new();
    for (i, s) in selected.iter().enumerate() {
        let r = results.remove(&s.id).unwrap_or(Err(None));
        let fetched = match r {
            Ok(f) => f,
            Err(fail) => {
                outcomes[i] = Some(PlaceOutcome::failed(fail));
                continue;
            }
        };
        if s.metadata_only {
            outcomes[i] = Some(PlaceOutcome {
                fetched: Some(fetched),
                ..PlaceOutcome::default()
            });
            continue;
        }
        wanted[i] = expand_targets(&cfg, s, &adapters)
            .await
            .into_iter()
            .map(|(t, _)| t)
            .collect();
        ready.push((i, fetched));
    }
    // One round trip per container for the state of all its targets.
    let mut remote_paths: BTreeMap<Environment, Vec<String>> = BTreeMap::new();
    for (i, _) in &ready {
        for t in wanted[*i].iter().filter(|t| !t.environment.is_local()) {
            remote_paths
                .entry(t.environment.clone())
                .or_default()
                .push(t.path.clone());
        }
    }
    for (env, paths) in &remote_paths {
        let _ = adapters.get(env).inspect_many(paths).await;
    }
    for (i, fetched) in ready {
        let s = selected[i];
        let targets = wanted[i].clone();
        let locks: Vec<Arc<Mutex<()>>> = targets
            .iter()
            .map(|t| {
                path_locks
                    .entry((t.environment.clone(), t.path.clone()))
                    .or_insert_with(|| Arc::new(Mutex::new(())))
                    .clone()
            })
            .collect();
        let prev = lock.get(&s.id).cloned();
        let skill = (*s).clone();
        let ctx = ctx.clone();
        let adapters = adapters.clone();
        placing.spawn(async move {
            let o = place_skill(&ctx, &adapters, &skill, targets, locks, fetched, prev).await;
            (i, o)
        });
    }
    let mut panicked = Vec::new();
    while let Some(joined) = placing.join_next().await {
        match joined {
            Ok((i, o)) => outcomes[i] = Some(o),
            Err(e) => panicked.push(e),
        }
    }
    for (i, s) in selected.iter().enumerate() {
        if outcomes[i].is_none() {
            outcomes[i] = Some(PlaceOutcome::failed(Some(Failure::permanent(
                &s.id,
                Phase::Inject,
                "internal error: the injection task panicked",
            ))));
        }
    }

    // Remote targets: every injection into one environment in one batch.
    let mut batches: BTreeMap<Environment, Vec<(usize, usize)>> = BTreeMap::new();
    for (i, o) in outcomes.iter().enumerate() {
        if let Some(o) = o {
            for (k, d) in o.deferred.iter().enumerate() {
                batches
                    .entry(d.target.environment.clone())
                    .or_default()
                    .push((i, k));
            }
        }
    }
    for (env, refs) in batches {
        let items: Vec<Injection> = refs
            .iter()
            .filter_map(|(i, k)| {
                let o = outcomes[*i].as_ref()?;
                let d = &o.deferred[*k];
                Some(Injection {
                    store_entry: o.fetched.as_ref()?.entry.path.clone(),
                    target: d.target.path.clone(),
                    mode: selected[*i].mode,
                })
            })
            .collect();
        let results = adapters.get(&env).inject_many(&items).await;
        for ((i, k), r) in refs.into_iter().zip(results) {
            let Some(o) = outcomes[i].as_mut() else {
                continue;
            };
            let d = o.deferred[k].clone();
            let mut report = TargetReport {
                agent: d.target.agent.clone(),
                environment: d.target.environment.to_string(),
                path: d.target.path.clone(),
                action: d.action.as_str().to_string(),
                reasons: d.reasons.clone(),
            };
            match r {
                Ok(()) => o.in_place.push(lock_target(&d.target)),
                Err(e) => {
                    report.action = "failed".into();
                    report.reasons = vec![e.to_string()];
                    o.failure
                        .get_or_insert_with(|| inject_failure(&selected[i].id, &e));
                }
            }
            o.targets.push(report);
        }
    }

    // Reports and lock entries in config order.
    let now = crate::fsutil::utc_now();
    for (i, (s, o)) in selected
        .iter()
        .zip(outcomes.into_iter().flatten())
        .enumerate()
    {
        let prev = lock.get(&s.id).cloned();
        let mut status = "unchanged";
        for t in &o.targets {
            match t.action.as_str() {
                "create" => report.summary.created += 1,
                "update" => report.summary.updated += 1,
                "noop" => report.summary.noop += 1,
                "conflict" => report.summary.conflicts += 1,
                _ => {}
            }
        }
        if o.failure.is_some() || (o.fetched.is_none() && !o.cancelled) {
            status = "failed";
        } else if o.cancelled || s.metadata_only {
            status = "skipped";
        } else if o.targets.iter().any(|t| t.action == "conflict") {
            status = "conflict";
        } else if o
            .targets
            .iter()
            .any(|t| t.action == "create" || t.action == "update")
        {
            status = "installed";
        }
        if let Some(f) = &o.failure {
            report.failures.push(f.clone());
        }
        let entry = o
            .fetched
            .as_ref()
            .filter(|_| status != "failed" && !o.cancelled)
            .map(|f| {
                let (repo, git_ref, subpath) = source_fields(s);
                let mut e = LockSkill {
                    id: s.id.clone(),
                    source_repo: repo,
                    source_subpath: subpath,
                    source_ref: git_ref,
                    resolved_commit: f.commit.clone(),
                    content_hash: f.entry.hash.clone(),
                    resolved_version: f.reg.as_ref().map(|r| r.version.clone()),
                    resolved_registry: f.reg.as_ref().map(|r| r.registry.clone()),
                    resolved_repo: f.reg.as_ref().map(|r| r.repo.clone()),
                    resolved_ref: f.reg.as_ref().map(|r| r.git_ref.clone()),
                    install_mode: s.mode.as_str().to_string(),
                    installed_at: now.clone(),
                    targets: o.in_place.clone(),
                };
                if let Some(r) = &f.reg {
                    e.source_subpath = r.subpath.clone();
                }
                if let Some(p) = &prev {
                    if p.content_hash == e.content_hash
                        && p.resolved_commit == e.resolved_commit
                        && !p.installed_at.is_empty()
                    {
                        e.installed_at = p.installed_at.clone();
                    }
                    // Recorded targets the config still lists but that were not
                    // touched this run (e.g. conflicts) are not ours any more;
                    // targets it no longer lists are handled as orphans below.
                    for t in &p.targets {
                        let still_listed = wanted[i].iter().any(|w| {
                            w.path == t.path && w.environment.to_string() == t.environment()
                        });
                        if !still_listed && !e.targets.contains(t) {
                            e.targets.push(t.clone());
                        }
                    }
                }
                e
            });
        report.skills.push(SkillReport {
            id: s.id.clone(),
            status: status.to_string(),
            resolved_commit: o
                .fetched
                .as_ref()
                .map(|f| f.commit.clone())
                .filter(|c| !c.is_empty()),
            resolved_version: o
                .fetched
                .as_ref()
                .and_then(|f| f.reg.as_ref().map(|r| r.version.clone())),
            content_hash: o.fetched.as_ref().map(|f| f.entry.hash.clone()),
            targets: o.targets.clone(),
        });
        if let Some(e) = entry {
            lock.skills.retain(|l| l.id != e.id);
            lock.skills.push(e);
        }
        if o.cancelled {
            report.cancelled = true;
        }
    }

    // Orphans: lock entries of unconfigured skills, recorded targets no
    // longer listed (never under `install`, which only adds).
    if opts.only.is_none() && opts.command == Command::Apply && !ctx.cancelled() {
        let orphan_list: Vec<(LockSkill, LockTarget)> = orphans(&cfg, lock, &adapters)
            .await
            .into_iter()
            .map(|(l, t, _)| (l.clone(), t.clone()))
            .collect();
        let mut by_skill: BTreeMap<String, Vec<TargetReport>> = BTreeMap::new();
        for (l, t) in orphan_list {
            let r = remove_recorded(&adapters, &cfg.storage_root, &l, &t, opts.force).await;
            let mut drop_target = true;
            match r {
                Ok(None) => report.summary.removed += 1,
                Ok(Some(reason)) => {
                    report
                        .warnings
                        .push(format!("kept {} ({}): {reason}", t.path, l.id));
                    report.kept.push(Kept {
                        skill_id: l.id.clone(),
                        path: t.path.clone(),
                        reason,
                    });
                }
                Err(f) => {
                    report.failures.push(f);
                    drop_target = false;
                }
            }
            by_skill
                .entry(l.id.clone())
                .or_default()
                .push(TargetReport {
                    agent: t.agent.clone(),
                    environment: t.environment().to_string(),
                    path: t.path.clone(),
                    action: if drop_target {
                        "remove".into()
                    } else {
                        "failed".into()
                    },
                    reasons: vec![],
                });
            if drop_target {
                if let Some(e) = lock.skills.iter_mut().find(|e| e.id == l.id) {
                    e.targets.retain(|x| x != &t);
                }
            }
        }
        let configured: HashSet<&str> = cfg.skills.iter().map(|s| s.id.as_str()).collect();
        lock.skills
            .retain(|e| configured.contains(e.id.as_str()) || !e.targets.is_empty());
        for (id, targets) in by_skill {
            if !configured.contains(id.as_str()) {
                report.skills.push(SkillReport {
                    id,
                    status: "removed".into(),
                    resolved_commit: None,
                    resolved_version: None,
                    content_hash: None,
                    targets,
                });
            }
        }
        // Lock entries of unconfigured skills without targets (metadata-only).
        lock.skills
            .retain(|e| configured.contains(e.id.as_str()) || !e.targets.is_empty());
    }

    // Verification. Remote targets are re-read, one round trip per environment.
    let mut remote: BTreeMap<Environment, Vec<String>> = BTreeMap::new();
    for (s, sr) in selected.iter().zip(report.skills.iter()) {
        if sr.status == "failed" || s.metadata_only || !s.verify_enabled {
            continue;
        }
        for t in sr
            .targets
            .iter()
            .filter(|t| matches!(t.action.as_str(), "create" | "update" | "noop"))
        {
            if let Some(Environment::Docker(c)) = Environment::parse(&t.environment) {
                adapters.docker(&c).forget_states();
                remote
                    .entry(Environment::Docker(c))
                    .or_default()
                    .push(t.path.clone());
            }
        }
    }
    for (env, paths) in &remote {
        let _ = adapters.get(env).inspect_many(paths).await;
    }
    for (s, sr) in selected.iter().zip(report.skills.iter()) {
        if sr.status == "failed" || s.metadata_only || !s.verify_enabled {
            continue;
        }
        let Some(hash) = &sr.content_hash else {
            continue;
        };
        let entry = store.entry_path(hash).unwrap_or_default();
        for t in &sr.targets {
            if !matches!(t.action.as_str(), "create" | "update" | "noop") {
                continue;
            }
            let env = Environment::parse(&t.environment).unwrap_or(Environment::Local);
            if env.is_local() {
                report
                    .verification
                    .extend(verify_target(s, &env, Path::new(&t.path), &entry));
            } else if s.verify_checks.iter().any(|c| c == "path-exists") {
                // Docker targets: path-exists only.
                let state = adapters.get(&env).inspect(&t.path).await;
                if !matches!(state, Ok(PathState::Dir)) {
                    report.verification.push(VerifyIssue {
                        skill_id: s.id.clone(),
                        target_path: t.path.clone(),
                        check: "path-exists".into(),
                        message: format!("target path does not exist in {env}"),
                    });
                }
            }
        }
    }
    report.warnings.extend(adapters.take_warnings());
    for p in panicked {
        report.warnings.push(format!("internal error: {p}"));
    }
    report
}

/// The checks of one placed target (contract §7.4).
pub fn verify_target(
    skill: &Skill,
    env: &Environment,
    path: &Path,
    entry: &Path,
) -> Vec<VerifyIssue> {
    let mut out = Vec::new();
    let issue = |check: &str, message: String| VerifyIssue {
        skill_id: skill.id.clone(),
        target_path: path.display().to_string(),
        check: check.to_string(),
        message,
    };
    if !env.is_local() {
        return out;
    }
    let meta = std::fs::symlink_metadata(path);
    if skill.verify_checks.iter().any(|c| c == "path-exists") && meta.is_err() {
        out.push(issue("path-exists", "target path does not exist".into()));
        return out;
    }
    let is_link = meta.as_ref().is_ok_and(|m| m.file_type().is_symlink());
    for c in &skill.verify_checks {
        match (c.as_str(), skill.mode) {
            ("target-resolves", InstallMode::Symlink) => {
                let ok = std::fs::read_link(path).is_ok_and(|d| d == entry) && entry.is_dir();
                if !ok {
                    out.push(issue(
                        c,
                        format!("symlink does not resolve to {}", entry.display()),
                    ));
                }
            }
            ("is-symlink", InstallMode::Symlink) if !is_link => {
                out.push(issue(c, "target is not a symlink".into()));
            }
            ("content-present", _) => {
                let present = std::fs::read_dir(path).is_ok_and(|mut d| d.next().is_some());
                if !present {
                    out.push(issue(c, "target directory is empty or unreadable".into()));
                }
            }
            _ => {}
        }
    }
    out
}

async fn export_local_member(
    ctx: &Ctx,
    skill: &Skill,
    m: Option<Member>,
) -> (SourceOutcome, Vec<MemberResult>, Vec<String>) {
    let Some(m) = m else {
        return (SourceOutcome::Skipped, Vec::new(), Vec::new());
    };
    let mut warnings = Vec::new();
    let done = |entry: StoreEntry| {
        Ok(Fetched {
            commit: String::new(),
            entry,
            reg: m.reg.clone(),
        })
    };
    if let Some(entry) = known_after_rehash(ctx, &m) {
        return (
            SourceOutcome::Skipped,
            vec![(m.id.clone(), done(entry))],
            warnings,
        );
    }
    if ctx.cancelled() {
        return (
            SourceOutcome::Skipped,
            vec![(m.id.clone(), Err(None))],
            warnings,
        );
    }
    let dir = ctx.cfg.local_skill_dir(&m.repo, &m.subpath);
    let _cpu = ctx.cpu.acquire().await;
    let store = ctx.store.clone();
    let d = dir.clone();
    let r = tokio::task::spawn_blocking(move || store.export_dir(&d)).await;
    let r = match r {
        Ok(r) => r,
        Err(e) => Err(ExportError::Source(format!("export task failed: {e}"))),
    };
    match r {
        Ok((entry, w)) => {
            warnings.extend(w.into_iter().map(|x| format!("{}: {x}", m.id)));
            let root_license = (m.subpath != ".")
                .then(|| safety::license_in(&ctx.cfg.local_dir(&m.repo)))
                .flatten();
            write_safety(ctx, skill, "", &entry, root_license);
            (
                SourceOutcome::Skipped,
                vec![(m.id.clone(), done(entry))],
                warnings,
            )
        }
        Err(ExportError::Source(msg)) => (
            SourceOutcome::Failed,
            vec![(
                m.id.clone(),
                Err(Some(Failure::permanent(
                    &m.id,
                    Phase::Checkout,
                    format!("cannot read local source: {msg}"),
                ))),
            )],
            warnings,
        ),
        Err(e) => (
            SourceOutcome::Failed,
            vec![(
                m.id.clone(),
                Err(Some(Failure::permanent(
                    &m.id,
                    Phase::Checkout,
                    e.to_string(),
                ))),
            )],
            warnings,
        ),
    }
}

/// A matching lock entry whose store entry exists (and, under `repair`,
/// still hashes to its name; a corrupted entry is removed for re-export).
fn known_after_rehash(ctx: &Ctx, m: &Member) -> Option<StoreEntry> {
    let entry = m.known.clone()?;
    if ctx.rehash {
        match crate::store::hash_dir(&entry.path) {
            Ok(h) if h == entry.hash => {}
            _ => {
                let _ = crate::fsutil::remove_any(&entry.path);
                return None;
            }
        }
    }
    Some(entry)
}

fn write_safety(
    ctx: &Ctx,
    skill: &Skill,
    commit: &str,
    entry: &StoreEntry,
    root_license: Option<String>,
) {
    let text = safety::license_in(&entry.path).or(root_license);
    let (status, hint) = safety::license_of(text.as_deref());
    let (repo, _, _) = source_fields(skill);
    let s = Safety {
        version: 1,
        skill_id: skill.id.clone(),
        source: repo,
        resolved_commit: commit.to_string(),
        content_hash: entry.hash.clone(),
        retrieved_at_unix: crate::fsutil::unix_now(),
        license_status: status.to_string(),
        license_hint: hint,
        risk_labels: safety::risk_labels(&entry.path),
        no_exec_metadata_only: skill.metadata_only,
    };
    if let Err(e) = safety::save(&ctx.store.storage, &s) {
        tracing::warn!("cannot write safety metadata for {}: {e}", skill.id);
    }
}

fn git_failure(id: &str, phase: Phase, e: &GitError, url: &str) -> Failure {
    match e {
        GitError::Timeout(s) => Failure::new(
            id,
            phase,
            Kind::Transient,
            format!("timed out after {s} s: {url}"),
        ),
        GitError::Spawn(err) if err.kind() == std::io::ErrorKind::NotFound => {
            Failure::permanent(id, phase, "git not found on PATH; install git")
        }
        GitError::Spawn(err) => Failure::permanent(id, phase, format!("cannot run git: {err}")),
        GitError::Failed { stderr } => {
            let (kind, msg) = classify(stderr, url);
            Failure::new(id, phase, kind, msg)
        }
    }
}

/// The commit is in the cache, fetching it by id if needed.
async fn ensure_commit(ctx: &Ctx, cache: &Path, commit: &str) -> bool {
    if ctx
        .git
        .resolve(cache, commit)
        .await
        .ok()
        .flatten()
        .is_some()
    {
        return true;
    }
    let permit = ctx.net.acquire().await;
    let _ = ctx.git.fetch_commit(cache, commit).await;
    drop(permit);
    ctx.git
        .resolve(cache, commit)
        .await
        .ok()
        .flatten()
        .is_some()
}

fn is_hex40(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Phase A for one repository: at most one network operation for all its
/// skills, then a local export per skill that needs one.
async fn fetch_git_group(
    ctx: &Ctx,
    repo: &str,
    members: Vec<Member>,
) -> (SourceOutcome, Vec<MemberResult>, Vec<String>) {
    let mut out: Vec<MemberResult> = Vec::new();
    let mut warnings = Vec::new();
    let mut need: Vec<Member> = Vec::new();
    for m in members {
        match known_after_rehash(ctx, &m) {
            Some(entry) => {
                let commit = m.locked.as_ref().map(|l| l.0.clone()).unwrap_or_default();
                out.push((
                    m.id.clone(),
                    Ok(Fetched {
                        commit,
                        entry,
                        reg: m.reg.clone(),
                    }),
                ));
            }
            None => need.push(m),
        }
    }
    if need.is_empty() {
        return (SourceOutcome::Skipped, out, warnings);
    }
    if ctx.cancelled() {
        out.extend(need.iter().map(|m| (m.id.clone(), Err(None))));
        return (SourceOutcome::Skipped, out, warnings);
    }
    let cache = ctx.store.storage.join(".repos").join(cache_key(repo));
    let fresh = need.iter().any(|m| m.locked.is_none());
    let mut outcome = SourceOutcome::Skipped;
    let mut fetched_now = ctx.prefetched.contains_key(repo);
    if ctx.prefetched.get(repo) == Some(&true) {
        outcome = SourceOutcome::Cloned;
    }
    let mut failed_fresh: Option<Failure> = None;
    if !cache.is_dir() {
        let permit = ctx.net.acquire().await;
        if ctx.cancelled() {
            out.extend(need.iter().map(|m| (m.id.clone(), Err(None))));
            return (SourceOutcome::Skipped, out, warnings);
        }
        let r = ctx.git.clone_bare(repo, &cache).await;
        drop(permit);
        match r {
            Ok(()) => {
                outcome = SourceOutcome::Cloned;
                fetched_now = true;
            }
            Err(e) => {
                for m in &need {
                    out.push((
                        m.id.clone(),
                        Err(Some(git_failure(&m.id, Phase::Clone, &e, repo))),
                    ));
                }
                return (SourceOutcome::Failed, out, warnings);
            }
        }
    } else if fresh && !fetched_now {
        let permit = ctx.net.acquire().await;
        let r = ctx.git.fetch(&cache).await;
        drop(permit);
        match r {
            Ok(changed) => {
                outcome = if changed {
                    SourceOutcome::Updated
                } else {
                    SourceOutcome::Skipped
                };
                fetched_now = true;
            }
            Err(e) => {
                outcome = SourceOutcome::Failed;
                failed_fresh = Some(git_failure("", Phase::Fetch, &e, repo));
            }
        }
    }
    for m in need {
        if ctx.cancelled() {
            out.push((m.id.clone(), Err(None)));
            continue;
        }
        let fail = |phase: Phase, msg: String| Err(Some(Failure::permanent(&m.id, phase, msg)));
        let commit = match &m.locked {
            Some((locked, _)) if is_hex40(locked) => {
                let mut have = ctx
                    .git
                    .resolve(&cache, locked)
                    .await
                    .ok()
                    .flatten()
                    .is_some();
                if !have && !fetched_now {
                    let permit = ctx.net.acquire().await;
                    let r = ctx.git.fetch(&cache).await;
                    drop(permit);
                    fetched_now = true;
                    if let Err(e) = r {
                        out.push((
                            m.id.clone(),
                            Err(Some(git_failure(&m.id, Phase::Fetch, &e, repo))),
                        ));
                        if outcome != SourceOutcome::Cloned {
                            outcome = SourceOutcome::Failed;
                        }
                        continue;
                    }
                    if outcome == SourceOutcome::Skipped {
                        outcome = SourceOutcome::Updated;
                    }
                    have = ctx
                        .git
                        .resolve(&cache, locked)
                        .await
                        .ok()
                        .flatten()
                        .is_some();
                }
                if !have {
                    let permit = ctx.net.acquire().await;
                    let _ = ctx.git.fetch_commit(&cache, locked).await;
                    drop(permit);
                    have = ctx
                        .git
                        .resolve(&cache, locked)
                        .await
                        .ok()
                        .flatten()
                        .is_some();
                }
                if !have {
                    out.push((
                        m.id.clone(),
                        fail(
                            Phase::Checkout,
                            format!("locked commit {locked} not found in {repo}"),
                        ),
                    ));
                    continue;
                }
                locked.clone()
            }
            _ => {
                if let Some(f) = &failed_fresh {
                    let mut f = f.clone();
                    f.skill_id = m.id.clone();
                    out.push((m.id.clone(), Err(Some(f))));
                    continue;
                }
                let by_ref = match ctx.git.resolve(&cache, &m.git_ref).await {
                    Ok(c) => c,
                    Err(e) => {
                        out.push((
                            m.id.clone(),
                            Err(Some(git_failure(&m.id, Phase::Checkout, &e, repo))),
                        ));
                        continue;
                    }
                };
                match (&m.pinned, by_ref) {
                    // An index commit is installed exactly (REG-VER-4).
                    (Some(pin), by_ref) => {
                        if by_ref.as_deref() != Some(pin.as_str()) {
                            warnings.push(format!(
                                "ref {} of {} moved; installing pinned commit {pin}",
                                m.git_ref, m.id
                            ));
                        }
                        if !ensure_commit(ctx, &cache, pin).await {
                            out.push((
                                m.id.clone(),
                                fail(
                                    Phase::Checkout,
                                    format!("pinned commit {pin} not found in {repo}"),
                                ),
                            ));
                            continue;
                        }
                        pin.clone()
                    }
                    (None, Some(c)) => c,
                    (None, None) if is_hex40(&m.git_ref) => {
                        if !ensure_commit(ctx, &cache, &m.git_ref).await {
                            out.push((
                                m.id.clone(),
                                fail(
                                    Phase::Checkout,
                                    format!("commit {} not found in {repo}", m.git_ref),
                                ),
                            ));
                            continue;
                        }
                        m.git_ref.to_ascii_lowercase()
                    }
                    (None, None) => {
                        out.push((
                            m.id.clone(),
                            fail(
                                Phase::Checkout,
                                format!("unknown ref '{}' in {repo}", m.git_ref),
                            ),
                        ));
                        continue;
                    }
                }
            }
        };
        let _cpu = ctx.cpu.acquire().await;
        let mut w = match ctx.store.writer() {
            Ok(w) => w,
            Err(e) => {
                out.push((
                    m.id.clone(),
                    fail(Phase::Checkout, format!("cannot write the store: {e}")),
                ));
                continue;
            }
        };
        match ctx.git.export(&cache, &commit, &m.subpath, &mut w).await {
            Ok(Ok(extras)) => match w.finish() {
                Ok((entry, ws)) => {
                    warnings.extend(ws.into_iter().map(|x| format!("{}: {x}", m.id)));
                    if let Some(skill) = ctx.cfg.skill(&m.id) {
                        write_safety(ctx, skill, &commit, &entry, extras.root_license);
                    }
                    out.push((
                        m.id.clone(),
                        Ok(Fetched {
                            commit,
                            entry,
                            reg: m.reg.clone(),
                        }),
                    ));
                }
                Err(e) => out.push((m.id.clone(), fail(Phase::Checkout, e.to_string()))),
            },
            Ok(Err(msg)) => out.push((m.id.clone(), fail(Phase::Checkout, msg))),
            Err(e) => out.push((
                m.id.clone(),
                Err(Some(git_failure(&m.id, Phase::Checkout, &e, repo))),
            )),
        }
    }
    (outcome, out, warnings)
}

#[derive(Debug, Clone, Default)]
struct PlaceOutcome {
    fetched: Option<Fetched>,
    targets: Vec<TargetReport>,
    in_place: Vec<LockTarget>,
    failure: Option<Failure>,
    cancelled: bool,
    /// Remote injections decided here, done in one batch per environment.
    deferred: Vec<Deferred>,
}

#[derive(Debug, Clone)]
struct Deferred {
    target: ResolvedTarget,
    action: Action,
    reasons: Vec<String>,
}

impl PlaceOutcome {
    fn failed(f: Option<Failure>) -> PlaceOutcome {
        PlaceOutcome {
            cancelled: f.is_none(),
            failure: f,
            ..PlaceOutcome::default()
        }
    }
}

/// An adapter error as the skill's `inject` failure, with its hint.
fn inject_failure(id: &str, e: &AdapterError) -> Failure {
    let msg = match e {
        AdapterError::Io { path, source } => format!("cannot write '{path}': {source}"),
        other => other.to_string(),
    };
    Failure {
        hint: e.hint().map(String::from),
        ..Failure::permanent(id, Phase::Inject, msg)
    }
}

fn lock_target(t: &ResolvedTarget) -> LockTarget {
    LockTarget {
        agent: t.agent.clone(),
        path: t.path.clone(),
        environment: (!t.environment.is_local()).then(|| t.environment.to_string()),
    }
}

async fn place_skill(
    ctx: &Ctx,
    adapters: &Adapters,
    skill: &Skill,
    targets: Vec<ResolvedTarget>,
    locks: Vec<Arc<Mutex<()>>>,
    fetched: Fetched,
    prev: Option<LockSkill>,
) -> PlaceOutcome {
    let mut o = PlaceOutcome {
        fetched: Some(fetched.clone()),
        ..PlaceOutcome::default()
    };
    let mut failed_envs: HashSet<Environment> = HashSet::new();
    let mut healthy: HashSet<Environment> = HashSet::new();
    for (t, l) in targets.iter().zip(locks) {
        let report = |action: &str, reasons: Vec<String>| TargetReport {
            agent: t.agent.clone(),
            environment: t.environment.to_string(),
            path: t.path.clone(),
            action: action.to_string(),
            reasons,
        };
        if failed_envs.contains(&t.environment) {
            o.targets.push(report("failed", vec![]));
            continue;
        }
        if ctx.cancelled() {
            o.cancelled = true;
            break;
        }
        let _guard = l.lock().await;
        let adapter = adapters.get(&t.environment);
        if !t.environment.is_local() && !healthy.contains(&t.environment) {
            if let Err(e) = adapter.health().await {
                failed_envs.insert(t.environment.clone());
                o.failure
                    .get_or_insert_with(|| inject_failure(&skill.id, &e));
                o.targets.push(report("failed", vec![e.to_string()]));
                continue;
            }
            healthy.insert(t.environment.clone());
        }
        let recorded = prev
            .as_ref()
            .filter(|p| p.has_target(&t.environment.to_string(), &t.path));
        let (action, reasons) = if t.environment.is_local() {
            decide_local(
                skill.mode,
                Path::new(&t.path),
                Some((fetched.entry.path.as_path(), fetched.entry.hash.as_str())),
                &ctx.cfg.storage_root,
                recorded.is_some(),
            )
        } else {
            decide_remote(
                adapter.as_ref(),
                &t.path,
                Some(&fetched.entry.hash),
                recorded,
            )
            .await
        };
        match action {
            Action::Create | Action::Update if !t.environment.is_local() => {
                o.deferred.push(Deferred {
                    target: t.clone(),
                    action,
                    reasons,
                });
            }
            Action::Create | Action::Update => match adapter
                .inject(&fetched.entry.path, &t.path, skill.mode)
                .await
            {
                Ok(()) => {
                    o.in_place.push(lock_target(t));
                    o.targets.push(report(action.as_str(), reasons));
                }
                Err(e) => {
                    failed_envs.insert(t.environment.clone());
                    o.failure
                        .get_or_insert_with(|| inject_failure(&skill.id, &e));
                    o.targets.push(report("failed", vec![e.to_string()]));
                }
            },
            Action::Noop => {
                o.in_place.push(lock_target(t));
                o.targets.push(report("noop", reasons));
            }
            _ => o.targets.push(report(action.as_str(), reasons)),
        }
    }
    o
}

/// Uninstalls a recorded target if it is still ours (contract ENG-OWN-1).
/// `Ok(None)` = removed (or already gone), `Ok(Some(reason))` = kept.
pub async fn remove_recorded(
    adapters: &Adapters,
    storage: &Path,
    l: &LockSkill,
    t: &LockTarget,
    force: bool,
) -> Result<Option<String>, Failure> {
    let env = Environment::parse(t.environment()).unwrap_or(Environment::Local);
    let adapter = adapters.get(&env);
    let fail = |e: AdapterError| {
        Failure::permanent(
            &l.id,
            Phase::Remove,
            format!("cannot remove {}: {e}", t.path),
        )
    };
    if !env.is_local() {
        return adapter.uninstall(&t.path).await.map(|_| None).map_err(fail);
    }
    let p = PathBuf::from(&t.path);
    let state = crate::adapter::inspect_local(&p).map_err(fail)?;
    let ours = match &state {
        PathState::Absent => return Ok(None),
        PathState::Symlink(dest) => {
            if dest.starts_with(storage) {
                true
            } else {
                return Ok(Some("not a symlink into the eden-skills storage".into()));
            }
        }
        PathState::Dir => {
            let same = crate::store::hash_dir(&p).is_ok_and(|h| h == l.content_hash);
            if !same && !force {
                return Ok(Some(
                    "content changed since it was installed (use --force to delete it)".into(),
                ));
            }
            true
        }
        PathState::File => return Ok(Some("not a skill folder installed by eden-skills".into())),
    };
    if ours {
        adapter.uninstall(&t.path).await.map_err(fail)?;
    }
    Ok(None)
}
