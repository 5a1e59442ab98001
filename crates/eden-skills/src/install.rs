//! `install <source>`: what the argument names, fetching it once for
//! discovery, and the skills found in it (docs/eden-skills/README.md#commands).

use std::path::{Path, PathBuf};

use crate::config::{Config, InstallMode, Issue, Skill, Source, Target};
use crate::discover::{front_matter, list_dir, sanitize_id, skill_dirs, Discovered};
use crate::failure::{classify, Failure, Kind, Phase};
use crate::git::{cache_key, Git, GitError};

/// What an install argument names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstallSource {
    /// A local directory (absolute).
    Local(PathBuf),
    /// A git remote, with the ref and subpath a GitHub tree URL names.
    Git {
        url: String,
        git_ref: Option<String>,
        subpath: Option<String>,
    },
    /// A registry skill name.
    Registry(String),
}

/// Classifies an argument, first match wins: refused URL; local path;
/// GitHub tree URL; anything with `://`; scp-like; `owner/repo`; name.
pub fn classify_source(arg: &str, home: &Path, cwd: &Path) -> Result<InstallSource, Issue> {
    if crate::unsafe_url(arg) {
        return Err(Issue {
            code: Some("UNSAFE_REPO_URL"),
            field: "source".into(),
            detail: format!(
                "refused `{}`: leading '-', remote-helper syntax or control characters",
                arg.escape_debug()
            ),
        });
    }
    if arg.starts_with("./")
        || arg.starts_with("../")
        || arg.starts_with('/')
        || arg == "~"
        || arg.starts_with("~/")
        || arg == "."
        || arg == ".."
    {
        let p = crate::fsutil::resolve_path(arg, home, cwd);
        let p = std::fs::canonicalize(&p).unwrap_or(p);
        return Ok(InstallSource::Local(p));
    }
    if let Some(rest) = arg.strip_prefix("https://github.com/") {
        let parts: Vec<&str> = rest.splitn(5, '/').collect();
        if parts.len() >= 4 && parts[2] == "tree" {
            let sub = parts
                .get(4)
                .map(|s| s.trim_end_matches('/').to_string())
                .filter(|s| !s.is_empty());
            if let Some(s) = &sub {
                if !crate::valid_subpath(s) {
                    return Err(Issue {
                        code: Some("INVALID_SUBPATH"),
                        field: "source".into(),
                        detail: format!("`{s}` must be relative, without `..` or backslashes"),
                    });
                }
            }
            return Ok(InstallSource::Git {
                url: format!(
                    "https://github.com/{}/{}.git",
                    parts[0],
                    parts[1].trim_end_matches(".git")
                ),
                git_ref: Some(parts[3].to_string()),
                subpath: sub,
            });
        }
    }
    if arg.contains("://") || crate::repo_kind(arg) == Some(crate::RepoKind::Git) {
        if crate::repo_kind(arg) != Some(crate::RepoKind::Git) {
            return Err(Issue {
                code: Some("INVALID_REPO_URL"),
                field: "source".into(),
                detail: format!(
                    "`{arg}` is not https://, http://, ssh://, git://, file:// or user@host:path"
                ),
            });
        }
        return Ok(InstallSource::Git {
            url: arg.to_string(),
            git_ref: None,
            subpath: None,
        });
    }
    if let Some((owner, repo)) = arg.split_once('/') {
        let ok = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                && !s.starts_with('.')
        };
        if ok(owner) && ok(repo) {
            return Ok(InstallSource::Git {
                url: format!(
                    "https://github.com/{owner}/{}.git",
                    repo.trim_end_matches(".git")
                ),
                git_ref: None,
                subpath: None,
            });
        }
        return Err(Issue {
            code: Some("INVALID_REPO_URL"),
            field: "source".into(),
            detail: format!("`{arg}` is neither a path (start it with ./ or /), a URL, owner/repo nor a registry name"),
        });
    }
    if crate::valid_id(arg) {
        return Ok(InstallSource::Registry(arg.to_string()));
    }
    Err(Issue {
        code: Some("INVALID_SKILL_ID"),
        field: "source".into(),
        detail: format!("`{arg}` is not a usable skill name"),
    })
}

/// A repository fetched for discovery.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub cache: PathBuf,
    pub commit: String,
    /// The ref the config records (the given one or the remote's default branch).
    pub git_ref: String,
    /// Whether this fetch was a fresh clone (else a fetch into the cache).
    pub cloned: bool,
}

fn fail(phase: Phase, e: &GitError, url: &str) -> Failure {
    match e {
        GitError::Timeout(s) => Failure::new(
            "",
            phase,
            Kind::Transient,
            format!("timed out after {s} s: {url}"),
        ),
        GitError::Spawn(err) if err.kind() == std::io::ErrorKind::NotFound => {
            Failure::permanent("", phase, "git not found on PATH; install git")
        }
        GitError::Spawn(err) => Failure::permanent("", phase, format!("cannot run git: {err}")),
        GitError::Failed { stderr } => {
            let (k, m) = classify(stderr, url);
            Failure::new("", phase, k, m)
        }
    }
}

/// Clones (or fetches) `url` into the cache under `storage` and resolves
/// the ref: one network operation.
pub async fn fetch_repo(
    git: &Git,
    storage: &Path,
    url: &str,
    git_ref: Option<&str>,
) -> Result<Fetched, Failure> {
    let cache = storage.join(".repos").join(cache_key(url));
    let cloned = !cache.is_dir();
    if cloned {
        git.clone_bare(url, &cache)
            .await
            .map_err(|e| fail(Phase::Clone, &e, url))?;
    }
    let r = match git_ref {
        Some(r) => r.to_string(),
        None => git
            .default_branch(&cache)
            .await
            .unwrap_or_else(|| "main".into()),
    };
    // Only the ref wanted is fetched (a clone brought the default branch).
    let fetched = if cloned {
        git.fetch_missing(&cache, &[r.as_str()]).await
    } else {
        git.fetch_refs(&cache, &[r.as_str()]).await.map(|_| ())
    };
    fetched.map_err(|e| fail(Phase::Fetch, &e, url))?;
    let commit = git
        .resolve(&cache, &r)
        .await
        .map_err(|e| fail(Phase::Checkout, &e, url))?
        .ok_or_else(|| {
            Failure::permanent("", Phase::Checkout, format!("unknown ref '{r}' in {url}"))
        })?;
    Ok(Fetched {
        cache,
        commit,
        git_ref: r,
        cloned,
    })
}

fn describe(sub: &str, text: Option<&str>, fallback: &str) -> Discovered {
    let fm = text.map(front_matter).unwrap_or_default();
    let last = if sub == "." {
        fallback.to_string()
    } else {
        sub.rsplit('/').next().unwrap_or(sub).to_string()
    };
    let file = if sub == "." {
        "SKILL.md".to_string()
    } else {
        format!("{sub}/SKILL.md")
    };
    Discovered {
        name: fm.name.unwrap_or(last),
        description: fm.description.unwrap_or_default(),
        subpath: sub.to_string(),
        warning: fm
            .error
            .map(|e| format!("{file}: {e}: front matter is not valid YAML; using the folder name")),
    }
}

/// Skills in a fetched repository, below `base` (a tree URL's path).
pub async fn discover_git(
    git: &Git,
    f: &Fetched,
    base: Option<&str>,
    repo_name: &str,
) -> Result<Vec<Discovered>, Failure> {
    let files = git
        .list_files(&f.cache, &f.commit)
        .await
        .map_err(|e| Failure::permanent("", Phase::Checkout, e.to_string()))?;
    let files: Vec<String> = match base {
        Some(b) => files
            .iter()
            .filter_map(|x| x.strip_prefix(&format!("{b}/")).map(String::from))
            .collect(),
        None => files,
    };
    if base.is_some() && files.is_empty() {
        return Err(Failure::permanent(
            "",
            Phase::Checkout,
            format!("subpath '{}' not found at {}", base.unwrap_or(""), f.commit),
        ));
    }
    let dirs = skill_dirs(&files);
    let full = |d: &str| match (base, d) {
        (Some(b), ".") => b.to_string(),
        (Some(b), d) => format!("{b}/{d}"),
        (None, d) => d.to_string(),
    };
    let names: Vec<String> = dirs
        .iter()
        .map(|d| {
            let p = full(d);
            if p == "." {
                format!("{}:SKILL.md", f.commit)
            } else {
                format!("{}:{p}/SKILL.md", f.commit)
            }
        })
        .collect();
    let blobs = git
        .read_blobs(&f.cache, &names)
        .await
        .map_err(|e| Failure::permanent("", Phase::Checkout, e.to_string()))?;
    let fallback = base.and_then(|b| b.rsplit('/').next()).unwrap_or(repo_name);
    Ok(dirs
        .iter()
        .zip(blobs)
        .map(|(d, b)| {
            let text = b.map(|b| String::from_utf8_lossy(&b).into_owned());
            describe(&full(d), text.as_deref(), fallback)
        })
        .collect())
}

/// Skills in a local directory.
pub fn discover_local(dir: &Path) -> Vec<Discovered> {
    let files = list_dir(dir);
    let fallback = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "skill".into());
    skill_dirs(&files)
        .iter()
        .map(|d| {
            let p = if d == "." {
                dir.join("SKILL.md")
            } else {
                dir.join(d).join("SKILL.md")
            };
            let text = std::fs::read_to_string(p).ok();
            describe(d, text.as_deref(), &fallback)
        })
        .collect()
}

/// The last path segment of a URL or path, without `.git`.
pub fn repo_name(url: &str) -> String {
    url.trim_end_matches('/')
        .rsplit(['/', ':'])
        .next()
        .unwrap_or("skill")
        .trim_end_matches(".git")
        .to_string()
}

/// No SKILL.md anywhere: the whole directory (or tree URL path) is one
/// skill, named after its last path segment. Returns the skills to offer
/// and whether the source was bare.
pub fn split_bare(found: Vec<Discovered>, source: &InstallSource) -> (Vec<Discovered>, bool) {
    if !found.is_empty() {
        return (found, false);
    }
    let (name, subpath) = match source {
        InstallSource::Local(dir) => (
            dir.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "skill".into()),
            ".".to_string(),
        ),
        InstallSource::Git { url, subpath, .. } => (
            subpath
                .as_deref()
                .and_then(|s| s.rsplit('/').next())
                .map(String::from)
                .unwrap_or_else(|| repo_name(url)),
            subpath.clone().unwrap_or_else(|| ".".into()),
        ),
        InstallSource::Registry(n) => (n.clone(), ".".into()),
    };
    (
        vec![Discovered {
            name,
            description: String::new(),
            subpath,
            warning: None,
        }],
        true,
    )
}

/// Why `-s` selected nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SelectError {
    /// Names that match no skill, each with the closest name if any.
    Unknown(Vec<(String, Option<String>)>),
    /// A name several skills share, with their subpaths.
    Ambiguous { name: String, subpaths: Vec<String> },
}

/// `-s NAME|SUBPATH...`: the discovered skills named, in the order found.
/// A name several skills share must be given as a subpath.
pub fn select_named(
    found: &[Discovered],
    names: &[String],
) -> Result<Vec<Discovered>, SelectError> {
    let mut picked: Vec<usize> = Vec::new();
    let mut unknown = Vec::new();
    for n in names {
        let n_path = n.trim_end_matches('/');
        if let Some(i) = found.iter().position(|d| d.subpath == n_path) {
            picked.push(i);
            continue;
        }
        let by_name: Vec<usize> = (0..found.len()).filter(|&i| &found[i].name == n).collect();
        match by_name.len() {
            1 => picked.push(by_name[0]),
            0 => unknown.push((
                n.clone(),
                crate::did_you_mean(n, found.iter().map(|d| d.name.as_str())).map(String::from),
            )),
            _ => {
                return Err(SelectError::Ambiguous {
                    name: n.clone(),
                    subpaths: by_name.iter().map(|&i| found[i].subpath.clone()).collect(),
                })
            }
        }
    }
    if !unknown.is_empty() {
        return Err(SelectError::Unknown(unknown));
    }
    picked.sort_unstable();
    picked.dedup();
    Ok(picked.into_iter().map(|i| found[i].clone()).collect())
}

/// Folder names that say nothing about a skill (containers of skills).
fn generic_folder(c: &str) -> bool {
    matches!(
        c,
        "skills" | "packages" | ".curated" | ".experimental" | ".system" | ".claude" | ".agents"
    ) || c.starts_with('.')
}

/// The id each selected skill gets: its sanitized name, except where
/// several share one; those get the nearest distinguishing parent folder
/// in front (`plugins/itp/skills/setup` -> `itp-setup`), then more of the
/// path if that is not enough. Returns the ids and one line per renamed
/// skill, to say so.
pub fn unique_ids(selected: &[Discovered]) -> (Vec<String>, Vec<String>) {
    let base: Vec<String> = selected.iter().map(|d| sanitize_id(&d.name)).collect();
    let mut ids = base.clone();
    let mut notes = Vec::new();
    for i in 0..selected.len() {
        if base.iter().filter(|b| **b == base[i]).count() < 2 {
            continue;
        }
        // Parent folders, nearest first, without generic ones.
        let parents: Vec<&str> = {
            let mut p: Vec<&str> = selected[i].subpath.split('/').collect();
            p.pop();
            p.into_iter().rev().filter(|c| !generic_folder(c)).collect()
        };
        let mut id = base[i].clone();
        for take in 1..=parents.len() {
            let prefix: Vec<&str> = parents[..take].iter().rev().copied().collect();
            id = sanitize_id(&format!("{}-{}", prefix.join("-"), base[i]));
            let clash = (0..selected.len()).any(|j| {
                j != i && base[j] == base[i] && {
                    let mut q: Vec<&str> = selected[j].subpath.split('/').collect();
                    q.pop();
                    let q: Vec<&str> = q.into_iter().rev().filter(|c| !generic_folder(c)).collect();
                    q.len() >= take && q[..take] == parents[..take]
                }
            });
            if !clash {
                break;
            }
        }
        if ids[..i].contains(&id) {
            id = sanitize_id(&selected[i].subpath.replace('/', "-"));
        }
        notes.push(format!(
            "{} is one of several skills named `{}`: installed as `{id}`",
            selected[i].subpath, selected[i].name
        ));
        ids[i] = id;
    }
    (ids, notes)
}

/// The targets of an install without `-t`: the detected agents, else
/// claude-code (`true` when it fell back to it).
pub fn default_targets(home: &Path) -> (Vec<Target>, bool) {
    let detected = crate::agents::detect(home);
    let spec = |a: &str| crate::edit::parse_target_spec(a).ok();
    if detected.is_empty() {
        (spec("claude-code").into_iter().collect(), true)
    } else {
        (detected.iter().filter_map(|d| spec(d)).collect(), false)
    }
}

/// The config entry an install writes for skill `id` from `source`: the
/// targets join those it already has; an existing entry keeps its mode,
/// checks and flags unless `copy` switches it to copy mode (with copy
/// mode's default checks).
pub fn merged_skill(
    cfg: &Config,
    id: &str,
    source: Source,
    targets: &[Target],
    copy: bool,
) -> Skill {
    let existing = cfg.skill(id);
    let mut all_targets = existing.map(|s| s.targets.clone()).unwrap_or_default();
    let mut added = false;
    for t in targets {
        if !all_targets
            .iter()
            .any(|x| x.agent == t.agent && x.environment == t.environment && x.path == t.path)
        {
            all_targets.push(t.clone());
            added = true;
        }
    }
    let mode = if copy {
        InstallMode::Copy
    } else {
        existing.map(|e| e.mode).unwrap_or(InstallMode::Symlink)
    };
    Skill {
        id: id.to_string(),
        source,
        mode,
        // A shorthand target list survives only when nothing was added.
        shorthand: if added {
            None
        } else {
            existing.and_then(|s| s.shorthand.clone())
        },
        targets: all_targets,
        verify_enabled: existing.map(|e| e.verify_enabled).unwrap_or(true),
        verify_checks: match existing {
            Some(e) if !copy => e.verify_checks.clone(),
            _ => mode.default_checks(),
        },
        metadata_only: existing.map(|e| e.metadata_only).unwrap_or(false),
    }
}

fn same_repo(a: &str, b: &str) -> bool {
    let norm = |s: &str| {
        s.trim_end_matches('/')
            .trim_end_matches(".git")
            .to_ascii_lowercase()
    };
    norm(a) == norm(b)
}

/// Where the installed skill `id` comes from, when that is not `source`:
/// installing over it would take over a skill the user already has.
pub fn installed_elsewhere(cfg: &Config, id: &str, source: &Source) -> Option<String> {
    let existing = cfg.skill(id)?;
    match (&existing.source, source) {
        // Another folder of the same repository is the same collection
        // (reorganised), not a takeover.
        (Source::Repo { repo: a, .. }, Source::Repo { repo: b, .. }) => {
            (!same_repo(a, b)).then(|| a.clone())
        }
        (Source::Registry { .. }, Source::Registry { .. }) => None,
        (Source::Registry { registry, .. }, _) => Some(format!(
            "the registry{}",
            registry
                .as_deref()
                .map(|r| format!(" `{r}`"))
                .unwrap_or_default()
        )),
        (Source::Repo { repo, .. }, _) => Some(repo.clone()),
    }
}

/// Why an install cannot be planned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanError {
    /// Two selected skills would get one id (exit 2).
    Duplicate(String),
    /// The id is installed from another source and `--force` was not given (exit 3).
    Taken { id: String, from: String },
}

impl std::fmt::Display for PlanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PlanError::Duplicate(id) => write!(
                f,
                "DUPLICATE_SKILL_ID: two selected skills would both be `{id}`; pick one with --skill"
            ),
            PlanError::Taken { id, from } => write!(
                f,
                "skill '{id}' is already installed from {from}; use --id NEW to install both, or --force to replace it"
            ),
        }
    }
}

/// What an install asks for, besides the skills selected.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub repo: &'a str,
    pub git_ref: &'a str,
    pub targets: &'a [Target],
    /// `--copy`.
    pub copy: bool,
    /// `--id`, for a single selected skill.
    pub id: Option<&'a str>,
    /// `--force`: replace an id installed from another repository.
    pub force: bool,
}

/// What `install` of a URL or folder would write into the config: one
/// entry per selected skill (`id` overrides the id of a single one). Two
/// selected skills with one id, or an id installed from another
/// repository without `force`, are errors.
pub fn plan_skills(
    cfg: &Config,
    selected: &[Discovered],
    req: Request<'_>,
) -> Result<Vec<Skill>, PlanError> {
    let Request {
        repo,
        git_ref,
        targets,
        copy,
        id,
        force,
    } = req;
    let mut skills: Vec<Skill> = Vec::new();
    let (ids, _) = unique_ids(selected);
    for (d, derived) in selected.iter().zip(ids) {
        let id = id.map(str::to_string).unwrap_or(derived);
        if skills.iter().any(|s| s.id == id) {
            return Err(PlanError::Duplicate(id));
        }
        let source = Source::Repo {
            repo: repo.to_string(),
            git_ref: git_ref.to_string(),
            subpath: d.subpath.clone(),
        };
        if !force {
            if let Some(from) = installed_elsewhere(cfg, &id, &source) {
                return Err(PlanError::Taken { id, from });
            }
        }
        skills.push(merged_skill(cfg, &id, source, targets, copy));
    }
    Ok(skills)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources() {
        let h = Path::new("/home/u");
        let c = Path::new("/work");
        assert_eq!(
            classify_source("./x", h, c).unwrap(),
            InstallSource::Local("/work/x".into())
        );
        assert_eq!(
            classify_source("https://github.com/o/r/tree/dev/skills/a", h, c).unwrap(),
            InstallSource::Git {
                url: "https://github.com/o/r.git".into(),
                git_ref: Some("dev".into()),
                subpath: Some("skills/a".into())
            }
        );
        assert_eq!(
            classify_source("o/r", h, c).unwrap(),
            InstallSource::Git {
                url: "https://github.com/o/r.git".into(),
                git_ref: None,
                subpath: None
            }
        );
        assert_eq!(
            classify_source("git@h:o/r.git", h, c).unwrap(),
            InstallSource::Git {
                url: "git@h:o/r.git".into(),
                git_ref: None,
                subpath: None
            }
        );
        assert_eq!(
            classify_source("browser-use", h, c).unwrap(),
            InstallSource::Registry("browser-use".into())
        );
        assert_eq!(
            classify_source("ext::sh -c x", h, c).unwrap_err().code,
            Some("UNSAFE_REPO_URL")
        );
        assert_eq!(
            classify_source("-oProxy", h, c).unwrap_err().code,
            Some("UNSAFE_REPO_URL")
        );
        assert_eq!(repo_name("file:///srv/skills.git"), "skills");
    }

    fn d(name: &str, subpath: &str) -> Discovered {
        Discovered {
            name: name.into(),
            description: String::new(),
            subpath: subpath.into(),
            warning: None,
        }
    }

    fn req<'a>(
        repo: &'a str,
        targets: &'a [Target],
        copy: bool,
        id: Option<&'a str>,
        force: bool,
    ) -> Request<'a> {
        Request {
            repo,
            git_ref: "main",
            targets,
            copy,
            id,
            force,
        }
    }

    fn cfg(text: &str) -> Config {
        Config::parse(text, Path::new("/cfg/skills.toml"), Path::new("/home/u")).unwrap()
    }

    #[test]
    fn bare_sources_become_one_skill_named_after_their_folder() {
        let (f, bare) = split_bare(Vec::new(), &InstallSource::Local("/x/my-skill".into()));
        assert!(bare);
        assert_eq!(
            (f[0].name.as_str(), f[0].subpath.as_str()),
            ("my-skill", ".")
        );
        let git = InstallSource::Git {
            url: "https://h/o/r.git".into(),
            git_ref: None,
            subpath: Some("skills/pdf".into()),
        };
        let (f, _) = split_bare(Vec::new(), &git);
        assert_eq!(
            (f[0].name.as_str(), f[0].subpath.as_str()),
            ("pdf", "skills/pdf")
        );
        let (f, bare) = split_bare(vec![d("a", "a")], &git);
        assert!(!bare && f.len() == 1);
    }

    #[test]
    fn selection_by_name_reports_every_unknown_name() {
        let found = [d("a", "skills/a"), d("b", "skills/b")];
        let sel = select_named(&found, &["b".into()]).unwrap();
        assert_eq!(sel[0].subpath, "skills/b");
        assert_eq!(
            select_named(&found, &["x".into(), "a".into(), "B".into()]).unwrap_err(),
            SelectError::Unknown(vec![("x".into(), None), ("B".into(), Some("b".into()))])
        );
        let dup = [
            d("setup", "plugins/itp/skills/setup"),
            d("setup", "plugins/gh/skills/setup"),
            d("tether", "a/tether"),
        ];
        assert_eq!(
            select_named(&dup, &["setup".into()]).unwrap_err(),
            SelectError::Ambiguous {
                name: "setup".into(),
                subpaths: vec![
                    "plugins/itp/skills/setup".into(),
                    "plugins/gh/skills/setup".into()
                ]
            }
        );
        let one = select_named(&dup, &["plugins/gh/skills/setup".into()]).unwrap();
        assert_eq!(one[0].subpath, "plugins/gh/skills/setup");
        let (ids, notes) = unique_ids(&dup);
        assert_eq!(ids, ["itp-setup", "gh-setup", "tether"]);
        assert_eq!(notes.len(), 2);
        // Same nearest folder: more of the path.
        let (ids, _) = unique_ids(&[d("x", "a/p/x"), d("x", "b/p/x")]);
        assert_eq!(ids, ["a-p-x", "b-p-x"]);
    }

    #[test]
    fn planning_merges_targets_and_keeps_an_entry_s_own_settings() {
        let c = cfg(r#"version = 1
[[skills]]
id = "pdf"
source = { repo = "https://h/o/r.git", ref = "main", subpath = "pdf" }
install = { mode = "copy" }
targets = [{ agent = "cursor" }]
"#);
        let cursor = crate::edit::parse_target_spec("cursor").unwrap();
        let claude = crate::edit::parse_target_spec("claude-code").unwrap();
        let found = [d("pdf", "skills/pdf"), d("Docx Tool", "skills/docx")];
        let skills = plan_skills(
            &c,
            &found,
            req(
                "https://h/o/r.git",
                &[cursor.clone(), claude.clone()],
                false,
                None,
                false,
            ),
        )
        .unwrap();
        // The existing entry keeps copy mode and gains one target.
        assert_eq!(skills[0].mode, InstallMode::Copy);
        assert_eq!(skills[0].targets.len(), 2);
        // A new one is a symlink with the ids sanitized.
        assert_eq!(skills[1].id, "Docx-Tool");
        assert_eq!(skills[1].mode, InstallMode::Symlink);
        assert_eq!(
            skills[1].verify_checks,
            InstallMode::Symlink.default_checks()
        );
        // --copy switches mode and checks.
        let copied = merged_skill(&c, "Docx-Tool", skills[1].source.clone(), &[claude], true);
        assert_eq!(copied.mode, InstallMode::Copy);
        assert_eq!(copied.verify_checks, InstallMode::Copy.default_checks());
        // One id for two skills is refused.
        let err = plan_skills(
            &c,
            &found,
            req(
                "https://h/o/r.git",
                std::slice::from_ref(&cursor),
                false,
                Some("one"),
                false,
            ),
        )
        .unwrap_err();
        assert!(err.to_string().starts_with("DUPLICATE_SKILL_ID"), "{err}");
        // The same id from another repository is a takeover, refused unless forced.
        let other = [d("pdf", "pdf")];
        let err = plan_skills(
            &c,
            &other,
            req(
                "https://h/other.git",
                std::slice::from_ref(&cursor),
                false,
                None,
                false,
            ),
        )
        .unwrap_err();
        assert_eq!(
            err,
            PlanError::Taken {
                id: "pdf".into(),
                from: "https://h/o/r.git".into()
            }
        );
        assert!(plan_skills(
            &c,
            &other,
            req("https://h/other.git", &[cursor], false, None, true),
        )
        .is_ok());
    }
}
