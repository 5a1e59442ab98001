//! `update` and `outdated` (docs/eden-skills/registries.md, docs/eden-skills/README.md#commands): registry syncs and what
//! would change, without touching any target.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde::Serialize;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::config::{Config, Skill, Source};
use crate::failure::classify;
use crate::git::{cache_key, Git, GitError};
use crate::lock::Lock;
use crate::registry;

#[derive(Debug, Clone, Serialize)]
pub struct RegistrySync {
    pub name: String,
    /// `cloned`, `updated`, `skipped` (nothing new) or `failed`.
    pub status: String,
    pub url: String,
    pub detail: Option<String>,
}

fn git_message(e: &GitError, url: &str) -> String {
    match e {
        GitError::Failed { stderr } => classify(stderr, url).1,
        other => other.to_string(),
    }
}

/// Registry sync (docs/eden-skills/registries.md#syncing): every registry in parallel, each a shallow copy of its
/// default branch; a failed one keeps its previous copy.
pub async fn sync_registries(cfg: &Config, git: &Git, bound: Arc<Semaphore>) -> Vec<RegistrySync> {
    let mut set = JoinSet::new();
    let regs = registry::ordered(cfg);
    for (i, r) in regs.iter().cloned().enumerate() {
        let dir = registry::copy_dir(cfg, &r.name);
        let git = git.clone();
        let bound = bound.clone();
        set.spawn(async move {
            let _permit = bound.acquire().await;
            let existed = dir.join(".git").is_dir();
            let before = if existed {
                head(&git, &dir).await
            } else {
                None
            };
            let result = if existed {
                git.refresh_shallow(&dir).await
            } else {
                if dir.exists() {
                    let _ = crate::fsutil::remove_any(&dir);
                }
                git.clone_shallow(&r.url, &dir).await
            };
            let sync = match result {
                Ok(()) => {
                    let _ = crate::fsutil::atomic_write(
                        &dir.join(registry::MARKER),
                        format!("{}\n", crate::fsutil::unix_now()).as_bytes(),
                    );
                    let status = if !existed {
                        "cloned"
                    } else if head(&git, &dir).await != before {
                        "updated"
                    } else {
                        "skipped"
                    };
                    let detail = match registry::check_manifest(&dir, &r.name) {
                        Ok(w) => w,
                        Err(w) => Some(w),
                    };
                    RegistrySync {
                        name: r.name.clone(),
                        status: status.into(),
                        url: r.url.clone(),
                        detail,
                    }
                }
                Err(e) => RegistrySync {
                    name: r.name.clone(),
                    status: "failed".into(),
                    url: r.url.clone(),
                    detail: Some(git_message(&e, &r.url)),
                },
            };
            (i, sync)
        });
    }
    let mut out: Vec<Option<RegistrySync>> = vec![None; regs.len()];
    while let Some(Ok((i, s))) = set.join_next().await {
        out[i] = Some(s);
    }
    out.into_iter().flatten().collect()
}

async fn head(git: &Git, dir: &std::path::Path) -> Option<String> {
    git.resolve(dir, "HEAD").await.ok().flatten()
}

#[derive(Debug, Clone, Serialize)]
pub struct SkillCheck {
    pub id: String,
    /// `new-commit`, `up-to-date`, `missing` (not locked) or `failed`.
    pub status: String,
    pub local_sha: Option<String>,
    pub remote_sha: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub applied: Option<bool>,
}

/// `update`'s status of a source: not locked, unchanged, or moved.
fn check_status(locked: &Option<String>, latest: &str) -> String {
    match locked {
        None => "missing",
        Some(x) if x == latest => "up-to-date",
        Some(_) => "new-commit",
    }
    .into()
}

/// The hash a local directory would export to (no write).
pub fn local_hash(dir: &std::path::Path) -> Result<String, String> {
    let entries = crate::store::scan(dir, true).map_err(|e| e.to_string())?;
    let kept: Vec<_> = entries
        .into_iter()
        .filter(|e| match e {
            crate::store::Entry::Link { path, target } => {
                crate::store::link_stays_inside(path, target)
            }
            _ => true,
        })
        .collect();
    Ok(crate::store::content_hash(&kept))
}

/// The checks of `update`: fetch each distinct Mode A repository into its
/// cache (bounded), resolve refs, re-resolve Mode B entries. Returns the
/// checks and the repositories fetched (so `--apply` does not fetch again).
pub async fn check_skills(
    cfg: &Config,
    lock: &Lock,
    git: &Git,
    bound: Arc<Semaphore>,
) -> (Vec<SkillCheck>, HashMap<String, bool>) {
    let storage = cfg.storage_root.clone();
    // Which repositories to fetch: Mode A git sources and resolved Mode B repos.
    let mut wanted: BTreeMap<String, Vec<(String, String, Option<String>)>> = BTreeMap::new();
    let mut checks: Vec<SkillCheck> = Vec::new();
    for s in &cfg.skills {
        let l = lock.get(&s.id).filter(|l| l.matches(s));
        let mut c = SkillCheck {
            id: s.id.clone(),
            status: String::new(),
            local_sha: l
                .map(|l| l.resolved_commit.clone())
                .filter(|x| !x.is_empty()),
            remote_sha: None,
            detail: None,
            applied: None,
        };
        match &s.source {
            Source::Repo { repo, subpath, .. } if s.is_local_dir() => {
                let dir = cfg.local_skill_dir(repo, subpath);
                c.local_sha = l.map(|l| l.content_hash.clone());
                match local_hash(&dir) {
                    Ok(h) => {
                        c.status = check_status(&c.local_sha, &h);
                        c.remote_sha = Some(h);
                    }
                    Err(e) => {
                        c.status = "failed".into();
                        c.detail = Some(e);
                    }
                }
            }
            Source::Repo { repo, git_ref, .. } => {
                wanted
                    .entry(repo.clone())
                    .or_default()
                    .push((s.id.clone(), git_ref.clone(), None));
            }
            Source::Registry {
                version,
                registry: only,
            } => {
                let res = registry::resolve(cfg, &s.id, version, only.as_deref());
                match res.result {
                    Ok((r, _)) => {
                        let locked_version = l.and_then(|l| l.resolved_version.clone());
                        let pinned = r.commit.clone();
                        c.status = match &locked_version {
                            None => "missing",
                            Some(v)
                                if *v == r.version
                                    && (pinned.is_none() || pinned == c.local_sha) =>
                            {
                                "up-to-date"
                            }
                            Some(_) => "new-commit",
                        }
                        .into();
                        c.remote_sha = pinned.clone();
                        if pinned.is_none() {
                            wanted.entry(r.repo.clone()).or_default().push((
                                s.id.clone(),
                                r.git_ref.clone(),
                                Some(r.version.clone()),
                            ));
                        }
                        c.detail = Some(format!("{} {}", r.registry, r.version));
                    }
                    Err(m) => {
                        c.status = "failed".into();
                        c.detail = Some(m);
                    }
                }
            }
        }
        checks.push(c);
    }
    let mut set = JoinSet::new();
    for (repo, members) in wanted {
        let git = git.clone();
        let bound = bound.clone();
        let cache = storage.join(".repos").join(cache_key(&repo));
        set.spawn(async move {
            let cloned = !cache.is_dir();
            let r = {
                let _permit = bound.acquire().await;
                let refs: Vec<&str> = members.iter().map(|(_, r, _)| r.as_str()).collect();
                if cloned {
                    match git.clone_bare(&repo, &cache).await {
                        Ok(()) => git.fetch_missing(&cache, &refs).await,
                        Err(e) => Err(e),
                    }
                } else {
                    git.fetch_refs(&cache, &refs).await.map(|_| ())
                }
            };
            let mut res = Vec::new();
            match r {
                Err(e) => {
                    let msg = git_message(&e, &repo);
                    for (id, _, _) in members {
                        res.push((id, Err(msg.clone())));
                    }
                }
                Ok(()) => {
                    for (id, git_ref, _) in members {
                        let c = git.resolve(&cache, &git_ref).await.ok().flatten();
                        res.push((
                            id,
                            c.ok_or_else(|| format!("unknown ref '{git_ref}' in {repo}")),
                        ));
                    }
                }
            }
            (repo, cloned, res)
        });
    }
    let mut fetched = HashMap::new();
    while let Some(Ok((repo, cloned, res))) = set.join_next().await {
        let ok = res.iter().any(|(_, r)| r.is_ok());
        if ok {
            fetched.insert(repo, cloned);
        }
        for (id, r) in res {
            let Some(c) = checks.iter_mut().find(|c| c.id == id) else {
                continue;
            };
            let is_registry = cfg.skill(&id).is_some_and(Skill::is_registry);
            match r {
                Ok(sha) => {
                    if !is_registry {
                        c.status = check_status(&c.local_sha, &sha);
                    }
                    c.remote_sha = Some(sha);
                }
                Err(m) => {
                    c.status = "failed".into();
                    c.detail = Some(m);
                }
            }
        }
    }
    (checks, fetched)
}

/// Skills that appeared in, or disappeared from, a repository installed
/// with `install --all`, at the commit its ref names now.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CollectionChange {
    pub repo: String,
    #[serde(rename = "ref")]
    pub git_ref: String,
    pub new: Vec<String>,
    pub gone: Vec<String>,
}

/// For each collection the lock records whose repository a configured
/// skill still uses: the skills (subpaths) now at its ref against those
/// recorded. Reads the caches `check_skills` just fetched; no network.
pub async fn collection_changes(cfg: &Config, lock: &Lock, git: &Git) -> Vec<CollectionChange> {
    let mut out = Vec::new();
    for c in &lock.collections {
        let used = cfg.skills.iter().any(|s| {
            matches!(&s.source, Source::Repo { repo, git_ref, .. } if *repo == c.repo && *git_ref == c.git_ref)
        });
        if !used {
            continue;
        }
        let cache = cfg.storage_root.join(".repos").join(cache_key(&c.repo));
        let Some(commit) = git.resolve(&cache, &c.git_ref).await.ok().flatten() else {
            continue;
        };
        let Ok(files) = git.list_files(&cache, &commit).await else {
            continue;
        };
        let now = crate::discover::skill_dirs(&files);
        let new: Vec<String> = now
            .iter()
            .filter(|d| !c.subpaths.contains(d))
            .cloned()
            .collect();
        let gone: Vec<String> = c
            .subpaths
            .iter()
            .filter(|d| !now.contains(d))
            .cloned()
            .collect();
        if !new.is_empty() || !gone.is_empty() {
            out.push(CollectionChange {
                repo: c.repo.clone(),
                git_ref: c.git_ref.clone(),
                new,
                gone,
            });
        }
    }
    out
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Point {
    pub commit: Option<String>,
    pub version: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct OutdatedItem {
    pub id: String,
    /// `git`, `registry` or `local`.
    pub kind: String,
    pub current: Point,
    pub latest: Point,
    /// `outdated`, `up-to-date`, `not-installed` or `failed`.
    pub status: String,
    pub detail: Option<String>,
}

fn status(installed: bool, same: bool) -> String {
    if !installed {
        "not-installed"
    } else if same {
        "up-to-date"
    } else {
        "outdated"
    }
    .into()
}

/// `outdated`: each skill's locked state against the newest its config
/// allows; writes nothing anywhere (remote refs via `git ls-remote`).
pub async fn outdated(
    cfg: &Config,
    lock: &Lock,
    git: &Git,
    bound: Arc<Semaphore>,
) -> Vec<OutdatedItem> {
    let mut set = JoinSet::new();
    // One `ls-remote` per (repository, ref), shared by the skills that
    // name it (a collection installed with --all has hundreds).
    type Remote = Arc<tokio::sync::OnceCell<Result<Option<String>, String>>>;
    let mut remotes: HashMap<(String, String), Remote> = HashMap::new();
    for (i, s) in cfg.skills.iter().enumerate() {
        let l = lock.get(&s.id).filter(|l| l.matches(s)).cloned();
        let current = Point {
            commit: l
                .as_ref()
                .map(|l| l.resolved_commit.clone())
                .filter(|c| !c.is_empty()),
            version: l.as_ref().and_then(|l| l.resolved_version.clone()),
        };
        let mut item = OutdatedItem {
            id: s.id.clone(),
            kind: String::new(),
            current,
            latest: Point::default(),
            status: String::new(),
            detail: None,
        };
        match &s.source {
            Source::Repo { repo, subpath, .. } if s.is_local_dir() => {
                item.kind = "local".into();
                let dir = cfg.local_skill_dir(repo, subpath);
                match local_hash(&dir) {
                    Ok(h) => {
                        item.status =
                            status(l.is_some(), l.as_ref().is_some_and(|l| l.content_hash == h))
                    }
                    Err(e) => {
                        item.status = "failed".into();
                        item.detail = Some(e);
                    }
                }
                set.spawn(async move { (i, item) });
            }
            Source::Repo { repo, git_ref, .. } => {
                item.kind = "git".into();
                let (git, bound, repo, git_ref) =
                    (git.clone(), bound.clone(), repo.clone(), git_ref.clone());
                let remote = remotes
                    .entry((repo.clone(), git_ref.clone()))
                    .or_default()
                    .clone();
                let installed = l.is_some();
                set.spawn(async move {
                    if git_ref.len() == 40 && git_ref.bytes().all(|b| b.is_ascii_hexdigit()) {
                        // A commit id is pinned: nothing newer is allowed.
                        item.latest.commit = Some(git_ref.to_ascii_lowercase());
                    } else {
                        let r = remote
                            .get_or_init(|| async {
                                let _permit = bound.acquire().await;
                                git.ls_remote(&repo, &git_ref)
                                    .await
                                    .map_err(|e| git_message(&e, &repo))
                            })
                            .await;
                        match r {
                            Ok(Some(c)) => item.latest.commit = Some(c.clone()),
                            Ok(None) => {
                                item.status = "failed".into();
                                item.detail = Some(format!("ref '{git_ref}' not found in {repo}"));
                            }
                            Err(e) => {
                                item.status = "failed".into();
                                item.detail = Some(e.clone());
                            }
                        }
                    }
                    if item.status.is_empty() {
                        item.status = status(installed, item.current.commit == item.latest.commit);
                    }
                    (i, item)
                });
            }
            Source::Registry {
                version,
                registry: only,
            } => {
                item.kind = "registry".into();
                let res = registry::resolve(cfg, &s.id, version, only.as_deref());
                match res.result {
                    Ok((r, _)) => {
                        item.latest = Point {
                            commit: r.commit.clone(),
                            version: Some(r.version.clone()),
                        };
                        item.status = status(
                            l.is_some(),
                            item.current.version.as_deref() == Some(r.version.as_str()),
                        );
                    }
                    Err(m) => {
                        item.status = "failed".into();
                        item.detail = Some(m);
                    }
                }
                set.spawn(async move { (i, item) });
            }
        }
    }
    let mut out: Vec<Option<OutdatedItem>> = vec![None; cfg.skills.len()];
    while let Some(Ok((i, item))) = set.join_next().await {
        out[i] = Some(item);
    }
    out.into_iter().flatten().collect()
}
