//! Registries (docs/eden-skills/registries.md): git indexes of named, versioned skills,
//! synchronised by `update` and read offline for resolution.

use std::path::{Path, PathBuf};

use semver::{Version, VersionReq};
use serde::Serialize;

use crate::config::{Config, Registry};

pub const MARKER: &str = ".eden-last-sync";

/// One version of an index entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexVersion {
    pub version: Version,
    pub git_ref: String,
    pub commit: Option<String>,
    pub yanked: bool,
}

/// `index/<c>/<name>.toml`, well formed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexEntry {
    pub name: String,
    pub repo: String,
    pub subpath: String,
    pub description: Option<String>,
    pub license: Option<String>,
    pub versions: Vec<IndexVersion>,
}

/// What resolution chose for a Mode B entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Resolved {
    pub registry: String,
    pub version: String,
    pub repo: String,
    pub git_ref: String,
    pub commit: Option<String>,
    pub subpath: String,
}

/// Requirements are Cargo-style (docs/eden-skills/registries.md): a bare `1.2.0` means `^1.2.0`.
pub fn parse_req(raw: &str) -> Option<VersionReq> {
    VersionReq::parse(raw.trim()).ok()
}

/// The registries in resolution order: priority descending, ties by name.
pub fn ordered(cfg: &Config) -> Vec<Registry> {
    let mut v = cfg.registries.clone();
    v.sort_by(|a, b| b.priority.cmp(&a.priority).then(a.name.cmp(&b.name)));
    v
}

pub fn copy_dir(cfg: &Config, name: &str) -> PathBuf {
    cfg.registries_root.join(name)
}

/// A registry URL that is local (`file://` or an absolute path).
pub fn is_local_url(url: &str) -> bool {
    url.starts_with("file://") || url.starts_with('/')
}

/// `manifest.toml`: `Ok(warning)` when usable, `Err(warning)` when the
/// registry must be skipped (`format_version > 1`).
pub fn check_manifest(dir: &Path, name: &str) -> Result<Option<String>, String> {
    let p = dir.join("manifest.toml");
    let Ok(text) = std::fs::read_to_string(&p) else {
        return Ok(Some(format!(
            "registry `{name}` has no manifest.toml; assuming format_version 1"
        )));
    };
    let table: toml::Table = match text.parse() {
        Ok(t) => t,
        Err(e) => {
            return Ok(Some(format!(
                "{}: invalid manifest ({}); assuming format_version 1",
                p.display(),
                e.message()
            )))
        }
    };
    match table.get("format_version").and_then(|v| v.as_integer()) {
        Some(n) if n > 1 => Err(format!(
            "{}: format_version {n} is newer than this eden-skills understands (1); registry `{name}` skipped",
            p.display()
        )),
        _ => Ok(None),
    }
}

/// Reads one index file. `Ok(None)` = absent; `Err((path, reason))` =
/// malformed (docs/eden-skills/registries.md).
pub fn read_entry(
    dir: &Path,
    name: &str,
    registry_url: &str,
) -> Result<Option<IndexEntry>, (PathBuf, String)> {
    let first = name.chars().next().unwrap_or('_').to_ascii_lowercase();
    let path = dir
        .join("index")
        .join(first.to_string())
        .join(format!("{name}.toml"));
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err((path, e.to_string())),
    };
    parse_entry(&text, name, registry_url)
        .map(Some)
        .map_err(|r| (path, r))
}

fn parse_entry(text: &str, name: &str, registry_url: &str) -> Result<IndexEntry, String> {
    let t: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| format!("does not parse: {}", e.message()))?;
    let skill = t
        .get("skill")
        .and_then(|v| v.as_table())
        .ok_or("missing [skill]")?;
    let get = |k: &str| skill.get(k).and_then(|v| v.as_str()).map(String::from);
    let entry_name = get("name").ok_or("missing skill.name")?;
    if entry_name != name {
        return Err(format!(
            "skill.name `{entry_name}` does not match the file name `{name}`"
        ));
    }
    let repo = get("repo").ok_or("missing skill.repo")?;
    if crate::unsafe_url(&repo) {
        return Err(format!(
            "skill.repo `{}` is refused (leading '-', `<scheme>::` or control characters)",
            repo.escape_debug()
        ));
    }
    let kind = crate::repo_kind(&repo)
        .ok_or_else(|| format!("skill.repo `{repo}` is not a repository URL"))?;
    let repo_is_local = kind == crate::RepoKind::LocalDir || repo.starts_with("file://");
    if repo_is_local && !is_local_url(registry_url) {
        return Err(format!(
            "skill.repo `{repo}` is local but the registry is not; only a local registry may point at local repositories"
        ));
    }
    let subpath = get("subpath").unwrap_or_else(|| ".".into());
    if !crate::valid_subpath(&subpath) {
        return Err(format!(
            "skill.subpath `{subpath}` must be relative, without `..` or backslashes"
        ));
    }
    let mut versions = Vec::new();
    for (i, v) in t
        .get("versions")
        .and_then(|v| v.as_array())
        .map(|a| a.as_slice())
        .unwrap_or(&[])
        .iter()
        .enumerate()
    {
        let vt = v
            .as_table()
            .ok_or_else(|| format!("versions[{i}] is not a table"))?;
        let vs = vt
            .get("version")
            .and_then(|x| x.as_str())
            .ok_or_else(|| format!("versions[{i}].version missing"))?;
        let version =
            Version::parse(vs).map_err(|e| format!("versions[{i}].version `{vs}`: {e}"))?;
        let git_ref = vt
            .get("ref")
            .and_then(|x| x.as_str())
            .ok_or_else(|| format!("versions[{i}].ref missing"))?
            .to_string();
        if git_ref.is_empty()
            || git_ref.starts_with('-')
            || git_ref.chars().any(|c| c.is_control() || c.is_whitespace())
        {
            return Err(format!(
                "versions[{i}].ref `{git_ref}` is not a usable git ref"
            ));
        }
        let commit = match vt.get("commit") {
            None => None,
            Some(c) => {
                let c = c.as_str().unwrap_or("");
                if c.len() != 40 || !c.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(format!("versions[{i}].commit `{c}` is not 40 hex digits"));
                }
                Some(c.to_ascii_lowercase())
            }
        };
        let yanked = vt.get("yanked").and_then(|x| x.as_bool()).unwrap_or(false);
        versions.push(IndexVersion {
            version,
            git_ref,
            commit,
            yanked,
        });
    }
    Ok(IndexEntry {
        name: entry_name,
        repo,
        subpath: crate::normalize_subpath(&subpath),
        description: get("description"),
        license: get("license"),
        versions,
    })
}

/// The highest non-yanked version matching `req` (docs/eden-skills/registries.md).
pub fn pick<'a>(entry: &'a IndexEntry, req: &VersionReq) -> Option<&'a IndexVersion> {
    entry
        .versions
        .iter()
        .filter(|v| !v.yanked && req.matches(&v.version))
        .max_by(|a, b| a.version.cmp(&b.version))
}

/// Resolution outcome: the choice, or the message the user sees; warnings
/// about malformed files and skipped registries either way.
pub struct Resolution {
    pub result: Result<(Resolved, IndexEntry), String>,
    pub warnings: Vec<String>,
}

pub const NOT_SYNCED: &str = "Registry index not found. Run `eden-skills update` first.";

/// Resolves `name` against the local copies (docs/eden-skills/registries.md).
pub fn resolve(cfg: &Config, name: &str, req_raw: &str, only: Option<&str>) -> Resolution {
    let mut warnings = Vec::new();
    let req = match parse_req(req_raw) {
        Some(r) => r,
        None => {
            return Resolution {
                result: Err(format!("`{req_raw}` is not a version requirement")),
                warnings,
            }
        }
    };
    let candidates: Vec<Registry> = ordered(cfg)
        .into_iter()
        .filter(|r| only.is_none_or(|o| o == r.name))
        .collect();
    let with_copy: Vec<&Registry> = candidates
        .iter()
        .filter(|r| copy_dir(cfg, &r.name).is_dir())
        .collect();
    if with_copy.is_empty() {
        return Resolution {
            result: Err(NOT_SYNCED.to_string()),
            warnings,
        };
    }
    for r in with_copy {
        let dir = copy_dir(cfg, &r.name);
        match check_manifest(&dir, &r.name) {
            Ok(Some(w)) => warnings.push(w),
            Ok(None) => {}
            Err(w) => {
                warnings.push(w);
                continue;
            }
        }
        match read_entry(&dir, name, &r.url) {
            Ok(None) => continue,
            Err((path, reason)) => {
                warnings.push(format!(
                    "skipping malformed index entry {}: {reason}",
                    path.display()
                ));
                continue;
            }
            Ok(Some(entry)) => {
                let result = match pick(&entry, &req) {
                    Some(v) => Ok((
                        Resolved {
                            registry: r.name.clone(),
                            version: v.version.to_string(),
                            repo: entry.repo.clone(),
                            git_ref: v.git_ref.clone(),
                            commit: v.commit.clone(),
                            subpath: entry.subpath.clone(),
                        },
                        entry.clone(),
                    )),
                    None => {
                        let mut avail: Vec<&IndexVersion> =
                            entry.versions.iter().filter(|v| !v.yanked).collect();
                        avail.sort_by(|a, b| b.version.cmp(&a.version));
                        let list: Vec<String> =
                            avail.iter().map(|v| v.version.to_string()).collect();
                        Err(format!(
                            "no version of `{name}` in registry `{}` matches `{req_raw}`; available: {}",
                            r.name,
                            if list.is_empty() { "none".to_string() } else { list.join(", ") }
                        ))
                    }
                };
                return Resolution { result, warnings };
            }
        }
    }
    let searched: Vec<String> = candidates
        .iter()
        .map(|r| format!("{}({})", r.name, r.priority))
        .collect();
    Resolution {
        result: Err(format!(
            "skill `{name}` not found in configured registries: {}",
            searched.join(", ")
        )),
        warnings,
    }
}

/// Seconds since the last good sync, if the marker is valid.
pub fn last_sync(dir: &Path) -> Option<u64> {
    std::fs::read_to_string(dir.join(MARKER))
        .ok()?
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const E: &str = "[skill]\nname = \"browser-use\"\nrepo = \"https://example.org/b.git\"\n\n[[versions]]\nversion = \"1.2.3\"\nref = \"v1.2.3\"\n\n[[versions]]\nversion = \"1.4.0-beta.1\"\nref = \"v1.4.0-beta.1\"\n\n[[versions]]\nversion = \"1.3.0\"\nref = \"v1.3.0\"\nyanked = true\n\n[[versions]]\nversion = \"2.0.0\"\nref = \"v2\"\n";

    #[test]
    fn versions_follow_cargo_rules() {
        let e = parse_entry(E, "browser-use", "https://r").unwrap();
        let p = |r: &str| pick(&e, &parse_req(r).unwrap()).map(|v| v.version.to_string());
        assert_eq!(
            p("1.2.0").as_deref(),
            Some("1.2.3"),
            "bare = caret; yanked 1.3.0 skipped"
        );
        assert_eq!(p("*").as_deref(), Some("2.0.0"));
        assert_eq!(p("=1.2.3").as_deref(), Some("1.2.3"));
        assert_eq!(
            p(">=1.0.0, <2").as_deref(),
            Some("1.2.3"),
            "no pre-release unless named"
        );
        assert_eq!(p("^1.4.0-beta.1").as_deref(), Some("1.4.0-beta.1"));
        assert_eq!(p("~1.3").as_deref(), None);
    }

    #[test]
    fn manifest_versions() {
        let t = tempfile::tempdir().unwrap();
        assert!(check_manifest(t.path(), "r")
            .unwrap()
            .unwrap()
            .contains("no manifest.toml"));
        std::fs::write(
            t.path().join("manifest.toml"),
            "format_version = 1\nname = \"r\"\n",
        )
        .unwrap();
        assert_eq!(check_manifest(t.path(), "r"), Ok(None));
        std::fs::write(t.path().join("manifest.toml"), "format_version = 2\n").unwrap();
        assert!(check_manifest(t.path(), "r")
            .unwrap_err()
            .contains("skipped"));
    }

    #[test]
    fn malformed_entries() {
        assert!(parse_entry("[skill]\nname = \"x\"\n", "x", "https://r")
            .unwrap_err()
            .contains("skill.repo"));
        assert!(parse_entry(
            &E.replace("1.2.3\"\nref", "1.2\"\nref"),
            "browser-use",
            "https://r"
        )
        .is_err());
        assert!(parse_entry(E, "other", "https://r")
            .unwrap_err()
            .contains("does not match"));
        let local = E.replace("https://example.org/b.git", "file:///srv/b");
        assert!(parse_entry(&local, "browser-use", "https://r")
            .unwrap_err()
            .contains("is local but the registry is not"));
        assert!(parse_entry(&local, "browser-use", "file:///srv/registry").is_ok());
        let bad_commit = E.replace("ref = \"v2\"", "ref = \"v2\"\ncommit = \"abc\"");
        assert!(parse_entry(&bad_commit, "browser-use", "https://r").is_err());
    }
}
