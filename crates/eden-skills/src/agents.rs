//! The agents eden-skills knows, their default skill roots and detection
//! (docs/eden-skills/behaviour.md#agents).

use std::path::Path;

/// Detectable agents in probe order, with their default roots (`~` = home).
pub const DETECTABLE: &[(&str, &str)] = &[
    ("claude-code", "~/.claude/skills"),
    ("cursor", "~/.cursor/skills"),
    ("antigravity", "~/.gemini/antigravity/skills"),
    ("augment", "~/.augment/skills"),
    ("openclaw", "~/.openclaw/skills"),
    ("cline", "~/.agents/skills"),
    ("codebuddy", "~/.codebuddy/skills"),
    ("codex", "~/.codex/skills"),
    ("command-code", "~/.commandcode/skills"),
    ("continue", "~/.continue/skills"),
    ("cortex", "~/.snowflake/cortex/skills"),
    ("crush", "~/.config/crush/skills"),
    ("droid", "~/.factory/skills"),
    ("gemini-cli", "~/.gemini/skills"),
    ("github-copilot", "~/.copilot/skills"),
    ("goose", "~/.config/goose/skills"),
    ("junie", "~/.junie/skills"),
    ("iflow-cli", "~/.iflow/skills"),
    ("kilo", "~/.kilocode/skills"),
    ("kiro-cli", "~/.kiro/skills"),
    ("kode", "~/.kode/skills"),
    ("mcpjam", "~/.mcpjam/skills"),
    ("mistral-vibe", "~/.vibe/skills"),
    ("mux", "~/.mux/skills"),
    ("opencode", "~/.config/opencode/skills"),
    ("openhands", "~/.openhands/skills"),
    ("pi", "~/.pi/agent/skills"),
    ("qoder", "~/.qoder/skills"),
    ("qwen-code", "~/.qwen/skills"),
    ("roo", "~/.roo/skills"),
    ("trae", "~/.trae/skills"),
    ("trae-cn", "~/.trae-cn/skills"),
    ("windsurf", "~/.codeium/windsurf/skills"),
    ("zencoder", "~/.zencoder/skills"),
    ("neovate", "~/.neovate/skills"),
    ("pochi", "~/.pochi/skills"),
    ("adal", "~/.adal/skills"),
];

/// Agents only ever named explicitly; they share one root.
pub const EXPLICIT_ONLY: &[&str] = &["amp", "kimi-cli", "replit", "universal"];
const SHARED_ROOT: &str = "~/.config/agents/skills";

/// The default root of an agent alias (`None` for `custom` and unknown names).
pub fn default_root(agent: &str) -> Option<&'static str> {
    if let Some((_, root)) = DETECTABLE.iter().find(|(a, _)| *a == agent) {
        return Some(root);
    }
    EXPLICIT_ONLY.contains(&agent).then_some(SHARED_ROOT)
}

pub fn is_known(agent: &str) -> bool {
    agent == "custom" || default_root(agent).is_some()
}

/// Every alias accepted in `agent =`, for error messages.
pub fn all_names() -> Vec<&'static str> {
    DETECTABLE
        .iter()
        .map(|(a, _)| *a)
        .chain(EXPLICIT_ONLY.iter().copied())
        .chain(["custom"])
        .collect()
}

/// Agents present under `home`: the default root or its parent is a
/// directory. Probe order is the table's.
pub fn detect(home: &Path) -> Vec<&'static str> {
    DETECTABLE
        .iter()
        .filter(|(_, root)| {
            let p = home.join(root.trim_start_matches("~/"));
            p.is_dir() || p.parent().is_some_and(Path::is_dir) && p.parent() != Some(home)
        })
        .map(|(a, _)| *a)
        .collect()
}

/// Agents' project-level skill folders (`.claude/skills`, `.agents/skills`,
/// ...), searched by `install`'s discovery.
pub fn project_dirs() -> Vec<&'static str> {
    let mut v: Vec<&'static str> = DETECTABLE
        .iter()
        .map(|(_, r)| r.trim_start_matches("~/"))
        .chain([SHARED_ROOT.trim_start_matches("~/")])
        .collect();
    v.dedup();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        assert_eq!(DETECTABLE.len(), 37);
        assert_eq!(default_root("pi"), Some("~/.pi/agent/skills"));
        assert_eq!(default_root("amp"), Some("~/.config/agents/skills"));
        assert_eq!(default_root("custom"), None);
        assert!(is_known("custom"));
        assert!(!is_known("nope"));
    }

    #[test]
    fn detection_by_root_or_parent() {
        let t = tempfile::tempdir().unwrap();
        let home = t.path();
        std::fs::create_dir_all(home.join(".config/opencode")).unwrap();
        std::fs::create_dir_all(home.join(".cursor/skills")).unwrap();
        assert_eq!(detect(home), vec!["cursor", "opencode"]);
    }
}
