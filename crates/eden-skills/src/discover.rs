//! `install`'s skill discovery (docs/eden-skills/README.md#commands): where `SKILL.md`
//! files are, and their front matter.

use std::path::Path;

/// A skill found in a repository or directory.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Discovered {
    pub name: String,
    pub description: String,
    pub subpath: String,
    /// A front matter that could not be read (the folder name is used).
    #[serde(skip)]
    pub warning: Option<String>,
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

/// How deep `list_dir` walks a local folder (git sources list every file).
const MAX_DEPTH: usize = 16;
/// At most this many skills are offered from one source.
const MAX_HITS: usize = 2048;

/// Folders that never hold skills of their own.
fn skipped(component: &str) -> bool {
    component == ".git" || component == "node_modules"
}

/// Directories (subpaths) holding a `SKILL.md`, from a list of file paths.
/// A `SKILL.md` at the root makes the root the one skill. Otherwise every
/// `SKILL.md` in the tree counts (outside `.git` and `node_modules`): the
/// direct children of the known skill folders first, in their order, then
/// the others sorted by path.
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
    let mut all: Vec<&str> = files
        .iter()
        .filter_map(|f| f.strip_suffix("/SKILL.md"))
        .filter(|d| !d.is_empty() && !d.split('/').any(skipped))
        .collect();
    all.sort_unstable();
    all.dedup();
    let mut found: Vec<String> = Vec::new();
    for c in &containers {
        for d in &all {
            if let Some(name) = d.strip_prefix(c).and_then(|r| r.strip_prefix('/')) {
                if !name.contains('/') && !found.iter().any(|f| f == d) {
                    found.push(d.to_string());
                }
            }
        }
    }
    for d in all {
        if !found.iter().any(|f| f == d) {
            found.push(d.to_string());
        }
    }
    found.truncate(MAX_HITS);
    found
}

/// Every file under `root` (relative, `/`-separated), not following
/// symlinks, skipping `.git` and `node_modules`, at most `MAX_DEPTH + 1`
/// levels deep.
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
        if skipped(&name) {
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

/// What a `SKILL.md` front matter says.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FrontMatter {
    pub name: Option<String>,
    pub description: Option<String>,
    /// Why the front matter could not be read (with its line in the file).
    pub error: Option<String>,
}

/// `name` and `description` from a `SKILL.md` front matter block (the YAML
/// between a first line `---` and the next `---`), read by a YAML parser:
/// block scalars (`|`, `>`), continued plain scalars and escapes come out
/// as YAML means them. Non-string values are ignored.
pub fn front_matter(text: &str) -> FrontMatter {
    use saphyr_parser::{Event, Parser};
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text.split_inclusive('\n');
    if lines.next().map(str::trim_end) != Some("---") {
        return FrontMatter::default();
    }
    let mut yaml = String::new();
    let mut closed = false;
    for line in lines {
        if line.trim_end() == "---" || line.trim_end() == "..." {
            closed = true;
            break;
        }
        yaml.push_str(line);
    }
    let mut fm = FrontMatter::default();
    if !closed {
        fm.error = Some("line 1: front matter is not closed by a `---` line".into());
        return fm;
    }
    // depth 1 = the top-level mapping; `key` is its pending key.
    let mut depth = 0usize;
    let mut key: Option<String> = None;
    let mut expect_key = true;
    for item in Parser::new_from_str(&yaml) {
        let (event, _) = match item {
            Ok(x) => x,
            Err(e) => {
                // +1: the opening `---` is line 1 of the file.
                fm.error = Some(format!("line {}: {}", e.marker().line() + 1, e.info()));
                fm.name = None;
                fm.description = None;
                return fm;
            }
        };
        match event {
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                if depth == 1 && !expect_key {
                    // A collection as a value: skip it.
                    key = None;
                }
                depth += 1;
            }
            Event::MappingEnd | Event::SequenceEnd => {
                depth = depth.saturating_sub(1);
                if depth == 1 {
                    expect_key = true;
                }
            }
            Event::Scalar(v, ..) if depth == 1 => {
                if expect_key {
                    key = Some(v.into_owned());
                    expect_key = false;
                } else {
                    let v = v.trim().to_string();
                    match key.take().as_deref() {
                        Some("name") if !v.is_empty() => fm.name = Some(v),
                        Some("description") if !v.is_empty() => fm.description = Some(v),
                        _ => {}
                    }
                    expect_key = true;
                }
            }
            Event::Alias(_) if depth == 1 => {
                expect_key = !expect_key;
            }
            _ => {}
        }
    }
    fm
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
            vec!["skills/a", "skills/b", "deep/x"]
        );
        assert_eq!(
            skill_dirs(&v(&[".cursor/skills/c/SKILL.md"])),
            vec![".cursor/skills/c"]
        );
        assert_eq!(
            skill_dirs(&v(&[
                "a/b/SKILL.md",
                "a/b/c/d/e/f/g/SKILL.md",
                "node_modules/x/SKILL.md",
                "skills/.git/y/SKILL.md"
            ])),
            vec!["a/b", "a/b/c/d/e/f/g"]
        );
    }

    #[test]
    fn front_matter_and_ids() {
        let fm = front_matter("---\nname: web-search\ndescription: \"Search the web\"\n---\nbody");
        assert_eq!(fm.name.as_deref(), Some("web-search"));
        assert_eq!(fm.description.as_deref(), Some("Search the web"));
        assert_eq!(front_matter("no front matter"), FrontMatter::default());
        assert_eq!(sanitize_id("My Skill!"), "My-Skill-");
        assert_eq!(sanitize_id("..x"), "x");
    }

    #[test]
    fn front_matter_is_yaml() {
        let d = |t: &str| front_matter(t).description;
        assert_eq!(
            d("---\nname: a\ndescription: |-\n  Line one.\n  Line two.\n---\n").as_deref(),
            Some("Line one.\nLine two.")
        );
        assert_eq!(
            d("---\ndescription: >\n  Folded\n  text.\nname: a\n---\n").as_deref(),
            Some("Folded text.")
        );
        assert_eq!(
            d("---\ndescription: Starts here\n  and goes on.\n---\n").as_deref(),
            Some("Starts here and goes on.")
        );
        assert_eq!(
            d("---\ndescription: \"Say \\\"hi\\\"\"\n---\n").as_deref(),
            Some("Say \"hi\"")
        );
        assert_eq!(
            d("---\ndescription: ends in a \"quote\"\n---\n").as_deref(),
            Some("ends in a \"quote\"")
        );
        // Nested values are skipped, keys after them still read.
        let fm = front_matter("---\nmetadata:\n  name: inner\ntags: [a, b]\nname: outer\n---\n");
        assert_eq!(fm.name.as_deref(), Some("outer"));
        // A broken front matter says where.
        let fm = front_matter("---\nname: a\ndescription: \"open\n---\n");
        assert!(fm.error.as_deref().unwrap().starts_with("line "), "{fm:?}");
        assert_eq!(fm.name, None);
    }
}
