//! `skills.lock`: what was installed where (docs/eden-skills/lock.md).

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::config::{Skill, Source};

pub const CORRUPTED_WARNING: &str = "skills.lock is corrupted; performing full reconciliation";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockTarget {
    pub agent: String,
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
}

impl LockTarget {
    pub fn environment(&self) -> &str {
        self.environment.as_deref().unwrap_or("local")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockSkill {
    pub id: String,
    pub source_repo: String,
    #[serde(default)]
    pub source_subpath: String,
    #[serde(default)]
    pub source_ref: String,
    #[serde(default)]
    pub resolved_commit: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub content_hash: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_registry: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_repo: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_ref: Option<String>,
    #[serde(default = "symlink")]
    pub install_mode: String,
    #[serde(default)]
    pub installed_at: String,
    #[serde(default)]
    pub targets: Vec<LockTarget>,
}

fn symlink() -> String {
    "symlink".into()
}

impl LockSkill {
    /// The lock entry still describes `skill` (docs/eden-skills/lock.md): same source repo, ref and (Mode A) subpath.
    pub fn matches(&self, skill: &Skill) -> bool {
        let (repo, git_ref, subpath) = source_fields(skill);
        self.id == skill.id
            && self.source_repo == repo
            && self.source_ref == git_ref
            && (skill.is_registry() || self.source_subpath == subpath)
    }

    /// The store hex this entry names, when it has a well-formed hash.
    pub fn store_hex(&self) -> Option<&str> {
        let hex = self.content_hash.strip_prefix("sha256:")?;
        (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit())).then_some(hex)
    }

    pub fn has_target(&self, environment: &str, path: &str) -> bool {
        self.targets
            .iter()
            .any(|t| t.path == path && t.environment() == environment)
    }
}

/// The lock's `source_repo`, `source_ref` and `source_subpath` for a config entry.
pub fn source_fields(skill: &Skill) -> (String, String, String) {
    match &skill.source {
        Source::Repo {
            repo,
            git_ref,
            subpath,
        } => (repo.clone(), git_ref.clone(), subpath.clone()),
        Source::Registry { version, registry } => (
            format!("registry://{}", registry.as_deref().unwrap_or("")),
            version.clone(),
            String::new(),
        ),
    }
}

/// A repository installed with `install --all`: the skills it held then,
/// so `update` can say which appeared or disappeared upstream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockCollection {
    pub repo: String,
    #[serde(rename = "ref")]
    pub git_ref: String,
    pub subpaths: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lock {
    pub version: u32,
    #[serde(default)]
    pub skills: Vec<LockSkill>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub collections: Vec<LockCollection>,
}

impl Lock {
    pub fn empty() -> Lock {
        Lock {
            version: 1,
            skills: Vec::new(),
            collections: Vec::new(),
        }
    }

    /// Reads a lock. Missing → empty, silently; unparsable or version ≠ 1 →
    /// empty plus the corruption warning (docs/eden-skills/lock.md).
    pub fn load(path: &Path) -> (Lock, Option<&'static str>) {
        let Ok(text) = std::fs::read_to_string(path) else {
            return (Lock::empty(), None);
        };
        match toml::from_str::<Lock>(&text) {
            Ok(l) if l.version == 1 => (l, None),
            _ => (Lock::empty(), Some(CORRUPTED_WARNING)),
        }
    }

    /// Reads a lock whose local target paths may be written relative to
    /// `~` (see [`Lock::save_in`]); they come back absolute under `home`.
    /// Old locks with absolute paths load unchanged.
    pub fn load_in(path: &Path, home: &Path) -> (Lock, Option<&'static str>) {
        let (mut l, w) = Lock::load(path);
        for t in l.skills.iter_mut().flat_map(|s| s.targets.iter_mut()) {
            if t.environment() == "local" {
                if let Some(rest) = t.path.strip_prefix("~/") {
                    t.path = home.join(rest).display().to_string();
                }
            }
        }
        (l, w)
    }

    /// The lock as written: local target paths under `home` relative to
    /// `~`, so the same lock serves another HOME (another machine, user or
    /// CI runner).
    pub fn portable(&self, home: &Path) -> Lock {
        let mut l = self.clone();
        for t in l.skills.iter_mut().flat_map(|s| s.targets.iter_mut()) {
            if t.environment() == "local" {
                if let Ok(rest) = Path::new(&t.path).strip_prefix(home) {
                    if !rest.as_os_str().is_empty() {
                        t.path = format!("~/{}", rest.display());
                    }
                }
            }
        }
        l
    }

    /// [`Lock::save`] of the [`Lock::portable`] form.
    pub fn save_in(&self, path: &Path, home: &Path) -> std::io::Result<bool> {
        self.portable(home).save(path)
    }

    /// Records what an `install --all` of `repo` at `git_ref` found.
    pub fn set_collection(&mut self, repo: &str, git_ref: &str, mut subpaths: Vec<String>) {
        subpaths.sort();
        self.collections
            .retain(|c| !(c.repo == repo && c.git_ref == git_ref));
        self.collections.push(LockCollection {
            repo: repo.to_string(),
            git_ref: git_ref.to_string(),
            subpaths,
        });
    }

    pub fn get(&self, id: &str) -> Option<&LockSkill> {
        self.skills.iter().find(|s| s.id == id)
    }

    /// The canonical text: skills sorted by id, targets by agent then path.
    pub fn render(&self) -> String {
        let mut l = self.clone();
        l.version = 1;
        l.skills.sort_by(|a, b| a.id.cmp(&b.id));
        for s in &mut l.skills {
            s.targets
                .sort_by(|a, b| a.agent.cmp(&b.agent).then(a.path.cmp(&b.path)));
        }
        l.collections
            .sort_by(|a, b| a.repo.cmp(&b.repo).then(a.git_ref.cmp(&b.git_ref)));
        toml::to_string(&l).unwrap_or_else(|_| "version = 1\n".into())
    }

    /// Writes the lock atomically, only when its text changes
    /// (docs/eden-skills/lock.md). Returns whether it wrote.
    pub fn save(&self, path: &Path) -> std::io::Result<bool> {
        let text = self.render();
        if std::fs::read_to_string(path).ok().as_deref() == Some(text.as_str()) {
            return Ok(false);
        }
        crate::fsutil::atomic_write(path, text.as_bytes())?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corrupted_and_missing() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("skills.lock");
        assert_eq!(Lock::load(&p), (Lock::empty(), None));
        std::fs::write(&p, "not [toml").unwrap();
        assert_eq!(Lock::load(&p).1, Some(CORRUPTED_WARNING));
        std::fs::write(&p, "version = 2\n").unwrap();
        assert_eq!(Lock::load(&p).1, Some(CORRUPTED_WARNING));
    }

    #[test]
    fn round_trip_sorted() {
        let mut l = Lock::empty();
        for id in ["b", "a"] {
            l.skills.push(LockSkill {
                id: id.into(),
                source_repo: "file:///r".into(),
                source_subpath: ".".into(),
                source_ref: "main".into(),
                resolved_commit: "0".repeat(40),
                content_hash: format!("sha256:{}", "1".repeat(64)),
                resolved_version: None,
                resolved_registry: None,
                resolved_repo: None,
                resolved_ref: None,
                install_mode: "symlink".into(),
                installed_at: "2026-03-17T10:00:00Z".into(),
                targets: vec![
                    LockTarget {
                        agent: "cursor".into(),
                        path: "/c".into(),
                        environment: None,
                    },
                    LockTarget {
                        agent: "claude-code".into(),
                        path: "/b".into(),
                        environment: Some("docker:x".into()),
                    },
                ],
            });
        }
        let text = l.render();
        let back: Lock = toml::from_str(&text).unwrap();
        // Portable: local paths under HOME are written from `~`, others kept.
        let mut h = l.clone();
        h.skills[0].targets[0].path = "/home/u/.cursor/skills/b".into();
        let p = h.portable(Path::new("/home/u"));
        assert_eq!(p.skills[0].targets[0].path, "~/.cursor/skills/b");
        assert_eq!(p.skills[0].targets[1].path, "/b", "docker paths stay");
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("skills.lock");
        h.save_in(&f, Path::new("/home/u")).unwrap();
        assert!(std::fs::read_to_string(&f)
            .unwrap()
            .contains("\"~/.cursor/skills/b\""));
        let (other, _) = Lock::load_in(&f, Path::new("/home/v"));
        let b = other.get("b").unwrap();
        assert!(b
            .targets
            .iter()
            .any(|t| t.path == "/home/v/.cursor/skills/b"));
        assert_eq!(back.skills[0].id, "a");
        assert_eq!(back.skills[0].targets[0].agent, "claude-code");
        assert!(text.starts_with("version = 1\n"));
    }
}
