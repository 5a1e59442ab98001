//! The reconciliation engine behind `apply`, `repair` and `install`:
//! Phase A fetches and exports in parallel under the effective
//! concurrency (`fetch`); Phase B places store entries through adapters,
//! one task per (environment, path) at a time (`place`); then the lock
//! entries, orphans (`orphans`) and verification (`verify`).

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

mod fetch;
mod orphans;
mod place;
mod verify;

pub use orphans::remove_recorded;
pub use verify::verify_target;

use place::PlaceOutcome;

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
    /// An index `commit` that must be installed exactly (docs/eden-skills/registries.md).
    pinned: Option<String>,
    reg: Option<RegInfo>,
    locked: Option<(String, String)>,
    known: Option<StoreEntry>,
}

type MemberResult = (String, Result<Fetched, Option<Failure>>);

/// Each selected skill's Phase A result (`Err(None)`: cancelled).
type Results = HashMap<String, Result<Fetched, Option<Failure>>>;

/// Runs the pipeline on the skills of `cfg` (all, or `opts.only`): Phase
/// A (fetch), Phase B (place), the lock entries, orphans, verification.
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

    let mut results: Results = HashMap::new();
    let (groups, order) = group_sources(
        &cfg,
        lock,
        &store,
        &selected,
        &opts.refresh,
        &mut report,
        &mut results,
    );
    fetch::fetch_sources(&ctx, &cfg, groups, order, &mut report, &mut results).await;
    let adapters = Adapters::new(ctx.net.clone());
    let (wanted, mut outcomes, panicked) =
        place::place_all(&ctx, &cfg, &adapters, lock, &selected, results).await;
    place::inject_remote(&adapters, &selected, &mut outcomes).await;
    record(&selected, outcomes, &wanted, lock, &mut report);
    if opts.only.is_none() && opts.command == Command::Apply && !ctx.cancelled() {
        orphans::remove_orphans(&cfg, lock, &adapters, opts.force, &mut report).await;
    }
    verify::verify_all(&store, &adapters, &selected, &mut report).await;
    report.warnings.extend(adapters.take_warnings());
    for p in panicked {
        report.warnings.push(format!("internal error: {p}"));
    }
    report
}

/// Phase A's work list: the selected skills grouped by source (one group
/// per git repository, one per local directory), in config order, each
/// with what its lock entry already holds. Registry skills are resolved
/// here; a resolution failure goes straight to `results`.
fn group_sources(
    cfg: &Config,
    lock: &Lock,
    store: &Store,
    selected: &[&Skill],
    refresh: &HashSet<String>,
    report: &mut Report,
    results: &mut Results,
) -> (BTreeMap<String, Vec<Member>>, Vec<String>) {
    let mut groups: BTreeMap<String, Vec<Member>> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    for s in selected {
        let prev = lock
            .get(&s.id)
            .filter(|l| l.matches(s) && !refresh.contains(&s.id));
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
                            crate::registry::resolve(cfg, &s.id, version, registry.as_deref());
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
    (groups, order)
}

/// Reports and lock entries, in config order.
fn record(
    selected: &[&Skill],
    outcomes: Vec<Option<PlaceOutcome>>,
    wanted: &[Vec<ResolvedTarget>],
    lock: &mut Lock,
    report: &mut Report,
) {
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
}
