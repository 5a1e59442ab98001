//! `install`'s skill discovery (docs/eden-skills/README.md#commands): where `SKILL.md`
//! files are, and their front matter.

use std::path::Path;

/// A skill found in a repository or directory.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Discovered {
    pub name: String,
    pub description: String,
    pub subpath: String,
}

const CONTAINERS: &[&str] = &[
    "skills",
    "packages",
    "skills/.curated",
    "skills/.experimental",
    "skills/.system",
    ".claude/skills",
    ".agents/skills",
];

const MAX_DEPTH: usize = 6;
const MAX_HITS: usize = 256;

/// Directories (subpaths) holding a `SKILL.md`, from a list of file paths:
/// the root; else `<container>/*/SKILL.md`; else a bounded recursive search.
pub fn skill_dirs(files: &[String]) -> Vec<String> {
    if files.iter().any(|f| f == "SKILL.md") {
        return vec![".".into()];
    }
    let mut containers: Vec<&str> = CONTAINERS.to_vec();
    for d in crate::agents::project_dirs() {
        if !containers.contains(&d) {
            containers.push(d);
        }
    }
    let mut found: Vec<String> = Vec::new();
    for c in &containers {
        for f in files {
            let Some(rest) = f.strip_prefix(c).and_then(|r| r.strip_prefix('/')) else {
                continue;
            };
            if let Some(name) = rest.strip_suffix("/SKILL.md") {
                if !name.contains('/') && !name.is_empty() {
                    let sub = format!("{c}/{name}");
                    if !found.contains(&sub) {
                        found.push(sub);
                    }
                }
            }
        }
    }
    if !found.is_empty() {
        return found;
    }
    let mut hits: Vec<String> = files
        .iter()
        .filter_map(|f| f.strip_suffix("/SKILL.md"))
        .filter(|d| d.split('/').count() <= MAX_DEPTH && !d.split('/').any(|c| c == ".git"))
        .map(String::from)
        .collect();
    hits.sort();
    hits.dedup();
    hits.truncate(MAX_HITS);
    hits
}

/// Every file under `root` (relative, `/`-separated), not following
/// symlinks, skipping `.git`, at most `MAX_DEPTH + 1` levels deep.
pub fn list_dir(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    walk(root, "", 0, &mut out);
    out
}

fn walk(dir: &Path, prefix: &str, depth: usize, out: &mut Vec<String>) {
    if depth > MAX_DEPTH {
        return;
    }
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = rd.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name().to_string_lossy().into_owned();
        if name == ".git" {
            continue;
        }
        let rel = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}/{name}")
        };
        match e.file_type() {
            Ok(ft) if ft.is_dir() => walk(&e.path(), &rel, depth + 1, out),
            Ok(ft) if ft.is_file() => out.push(rel),
            _ => {}
        }
    }
}

/// `name` and `description` from a `SKILL.md` front matter block.
pub fn front_matter(text: &str) -> (Option<String>, Option<String>) {
    let mut lines = text.lines();
    if lines.next().map(str::trim_end) != Some("---") {
        return (None, None);
    }
    let (mut name, mut desc) = (None, None);
    for line in lines {
        if line.trim_end() == "---" {
            break;
        }
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        let v = v.trim().trim_matches('"').trim_matches('\'').to_string();
        match k.trim() {
            "name" if !v.is_empty() => name = Some(v),
            "description" if !v.is_empty() => desc = Some(v),
            _ => {}
        }
    }
    (name, desc)
}

/// Characters an id may not hold replaced by `-`, for derived ids
/// (docs/eden-skills/exit-codes.md#security).
pub fn sanitize_id(raw: &str) -> String {
    let s: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    let s = s.trim_start_matches(['.', '_', '-']).to_string();
    let s: String = s.chars().take(128).collect();
    if s.is_empty() {
        "skill".into()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(x: &[&str]) -> Vec<String> {
        x.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn discovery_order() {
        assert_eq!(
            skill_dirs(&v(&["SKILL.md", "skills/a/SKILL.md"])),
            vec!["."]
        );
        assert_eq!(
            skill_dirs(&v(&[
                "README.md",
                "skills/a/SKILL.md",
                "skills/b/SKILL.md",
                "deep/x/SKILL.md"
            ])),
            vec!["skills/a", "skills/b"]
        );
        assert_eq!(
            skill_dirs(&v(&[".cursor/skills/c/SKILL.md"])),
            vec![".cursor/skills/c"]
        );
        assert_eq!(
            skill_dirs(&v(&["a/b/SKILL.md", "a/b/c/d/e/f/g/SKILL.md"])),
            vec!["a/b"]
        );
    }

    #[test]
    fn front_matter_and_ids() {
        let (n, d) =
            front_matter("---\nname: web-search\ndescription: \"Search the web\"\n---\nbody");
        assert_eq!(n.as_deref(), Some("web-search"));
        assert_eq!(d.as_deref(), Some("Search the web"));
        assert_eq!(front_matter("no front matter"), (None, None));
        assert_eq!(sanitize_id("My Skill!"), "My-Skill-");
        assert_eq!(sanitize_id("..x"), "x");
    }
}
