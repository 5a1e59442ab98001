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
    if !cloned {
        git.fetch(&cache)
            .await
            .map_err(|e| fail(Phase::Fetch, &e, url))?;
    } else {
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
    let (name, desc) = text.map(front_matter).unwrap_or((None, None));
    let last = if sub == "." {
        fallback.to_string()
    } else {
        sub.rsplit('/').next().unwrap_or(sub).to_string()
    };
    Discovered {
        name: name.unwrap_or(last),
        description: desc.unwrap_or_default(),
        subpath: sub.to_string(),
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
        }],
        true,
    )
}

/// `-s NAME...`: the discovered skills named, or the names that match none.
pub fn select_named(
    found: &[Discovered],
    names: &[String],
) -> Result<Vec<Discovered>, Vec<String>> {
    let unknown: Vec<String> = names
        .iter()
        .filter(|n| !found.iter().any(|d| &d.name == *n))
        .cloned()
        .collect();
    if !unknown.is_empty() {
        return Err(unknown);
    }
    Ok(found
        .iter()
        .filter(|d| names.contains(&d.name))
        .cloned()
        .collect())
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

/// What `install` of a URL or folder would write into the config: one
/// entry per selected skill (`id` overrides the id of a single one). Two
/// selected skills with one id are an error (its message).
pub fn plan_skills(
    cfg: &Config,
    selected: &[Discovered],
    repo: &str,
    git_ref: &str,
    targets: &[Target],
    copy: bool,
    id: Option<&str>,
) -> Result<Vec<Skill>, String> {
    let mut skills: Vec<Skill> = Vec::new();
    for d in selected {
        let id = id
            .map(str::to_string)
            .unwrap_or_else(|| sanitize_id(&d.name));
        if skills.iter().any(|s| s.id == id) {
            return Err(format!(
                "DUPLICATE_SKILL_ID: two selected skills would both be `{id}`; pick one with --skill"
            ));
        }
        let source = Source::Repo {
            repo: repo.to_string(),
            git_ref: git_ref.to_string(),
            subpath: d.subpath.clone(),
        };
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
            select_named(&found, &["x".into(), "a".into(), "y".into()]).unwrap_err(),
            vec!["x".to_string(), "y".to_string()]
        );
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
            "https://h/o/r.git",
            "main",
            &[cursor.clone(), claude.clone()],
            false,
            None,
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
        let err = plan_skills(&c, &found, "r", "main", &[cursor], false, Some("one")).unwrap_err();
        assert!(err.starts_with("DUPLICATE_SKILL_ID"), "{err}");
    }
}
