//! eden-skills: a package manager for AI-agent skills.
//!
//! The pipeline behind `apply`, `repair` and `install` (docs/eden-skills/README.md#how-apply-works):
//! [`config`] validates `skills.toml`; [`engine`] runs Phase A (parallel
//! fetch through [`git`] and export into the content-addressed [`store`])
//! and Phase B (placing store entries at targets through an
//! [`adapter::TargetAdapter`]), then verifies and writes the [`lock`].
//! [`plan`] and [`doctor`] read the same state without changing it.

pub mod adapter;
pub mod agents;
pub mod clean;
pub mod config;
pub mod discover;
pub mod doctor;
pub mod edit;
pub mod engine;
pub mod failure;
pub mod fsutil;
pub mod git;
pub mod install;
pub mod lock;
pub mod plan;
pub mod registry;
pub mod remove;
pub mod safety;
pub mod store;
pub mod update;

/// Characters allowed in skill ids and registry names (docs/eden-skills/exit-codes.md#security).
pub fn valid_id(id: &str) -> bool {
    let b = id.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && b[0].is_ascii_alphanumeric()
        && b[1..]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'))
}

/// A subpath is relative, non-empty, without `..` components or backslashes
/// (docs/eden-skills/exit-codes.md#security).
pub fn valid_subpath(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with('/')
        && !s.contains('\\')
        && !s.chars().any(|c| c.is_control())
        && s.split('/').all(|c| c != "..")
}

/// `./a/b/` → `a/b`; `.` and `./` → `.`.
pub fn normalize_subpath(s: &str) -> String {
    let parts: Vec<&str> = s
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect();
    if parts.is_empty() {
        ".".to_string()
    } else {
        parts.join("/")
    }
}

/// A URL refused before git sees it (docs/eden-skills/exit-codes.md#security): leading `-`, remote-helper syntax (`ext::`, `fd::`) or
/// control characters.
pub fn unsafe_url(url: &str) -> bool {
    if url.starts_with('-') || url.chars().any(|c| c.is_control()) {
        return true;
    }
    if let Some(pos) = url.find("::") {
        let scheme = &url[..pos];
        let mut chars = scheme.chars();
        if let Some(first) = chars.next() {
            return first.is_ascii_alphabetic()
                && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '.' | '-'));
        }
    }
    false
}

/// What kind of source a `source.repo` value names, if any accepted form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RepoKind {
    /// A git remote (`https://`, `http://`, `ssh://`, `git://`, `file://`, scp-like).
    Git,
    /// An absolute (or `~`) path to a directory read as it is.
    LocalDir,
}

pub fn repo_kind(repo: &str) -> Option<RepoKind> {
    for scheme in ["https://", "http://", "ssh://", "git://", "file://"] {
        if let Some(rest) = repo.strip_prefix(scheme) {
            return (!rest.is_empty()).then_some(RepoKind::Git);
        }
    }
    if repo.starts_with('/') || repo == "~" || repo.starts_with("~/") {
        return Some(RepoKind::LocalDir);
    }
    // scp-like: user@host:path
    if let Some((userhost, path)) = repo.split_once(':') {
        if let Some((user, host)) = userhost.split_once('@') {
            if !user.is_empty()
                && !host.is_empty()
                && !path.is_empty()
                && !userhost.contains('/')
                && !repo.chars().any(char::is_whitespace)
            {
                return Some(RepoKind::Git);
            }
        }
    }
    None
}

/// The candidate closest to `word` when it is close enough to be what was
/// meant: same letters in another case, or within a third of its length in
/// edits.
pub fn did_you_mean<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let lower = word.to_lowercase();
    let limit = word.chars().count() / 3;
    candidates
        .map(|c| {
            let d = if c.to_lowercase() == lower {
                0
            } else {
                strsim::osa_distance(&lower, &c.to_lowercase())
            };
            (d, c)
        })
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_subpaths() {
        assert!(valid_id("a"));
        assert!(valid_id("browser-use.v2_x"));
        assert!(!valid_id("-a"));
        assert!(!valid_id("../x"));
        assert!(!valid_id(&"a".repeat(129)));
        assert!(valid_subpath("packages/browser"));
        assert!(valid_subpath("."));
        assert!(!valid_subpath("../x"));
        assert!(!valid_subpath("a/../../x"));
        assert!(!valid_subpath("/abs"));
        assert!(!valid_subpath("a\\b"));
        assert_eq!(normalize_subpath("./a//b/"), "a/b");
        assert_eq!(normalize_subpath("./"), ".");
    }

    #[test]
    fn urls() {
        assert!(unsafe_url("ext::sh -c touch% /tmp/pwned"));
        assert!(unsafe_url("fd::17"));
        assert!(unsafe_url("--upload-pack=evil"));
        assert!(unsafe_url("https://x/\ny"));
        assert!(!unsafe_url("https://example.org/a::b"));
        assert_eq!(repo_kind("https://github.com/a/b.git"), Some(RepoKind::Git));
        assert_eq!(repo_kind("git@github.com:a/b.git"), Some(RepoKind::Git));
        assert_eq!(repo_kind("/srv/skills"), Some(RepoKind::LocalDir));
        assert_eq!(repo_kind("~/skills"), Some(RepoKind::LocalDir));
        assert_eq!(repo_kind("github.com/a/b"), None);
        assert_eq!(repo_kind("file://"), None);
    }
}
