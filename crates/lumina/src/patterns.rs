//! Gitignore-style patterns for `exclude:`, `copy:`, `seed:` and
//! `template:`: matched against a file's path relative to its module's
//! source, with gitignore's rules (a pattern without `/` matches at any
//! depth, `dir/**` everything below `dir`, `!` re-includes).

use std::path::Path;

use ignore::gitignore::{Gitignore, GitignoreBuilder};

/// What no module ever deploys: git's own files and lumina's.
pub const ALWAYS_EXCLUDED: &[&str] = &[".git", ".gitmodules", ".lumina*"];

/// Whether `pattern` compiles; the reason when it does not.
pub fn check(pattern: &str) -> Result<(), String> {
    let mut b = GitignoreBuilder::new("");
    b.add_line(None, pattern)
        .map_err(|e| format!("'{pattern}' is not a valid pattern: {e}"))?;
    Ok(())
}

/// A compiled set of patterns.
#[derive(Clone)]
pub struct Patterns {
    set: Gitignore,
    empty: bool,
}

impl std::fmt::Debug for Patterns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Patterns({} patterns)", self.set.num_ignores())
    }
}

impl Patterns {
    /// Compiles `lists` (patterns already checked by the registry; a bad
    /// one is skipped).
    pub fn new<'a>(lists: impl IntoIterator<Item = &'a str>) -> Patterns {
        let mut b = GitignoreBuilder::new("");
        let mut empty = true;
        for p in lists {
            if b.add_line(None, p).is_ok() {
                empty = false;
            }
        }
        let set = b.build().unwrap_or_else(|_| Gitignore::empty());
        Patterns { set, empty }
    }

    /// Whether `rel` (relative to the source) or a directory above it
    /// matches.
    pub fn matches(&self, rel: &Path, is_dir: bool) -> bool {
        !self.empty
            && !rel.as_os_str().is_empty()
            && self
                .set
                .matched_path_or_any_parents(rel, is_dir)
                .is_ignore()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gitignore_rules() {
        let p = Patterns::new([
            "README.md",
            "*.png",
            "fish/conf.d/**",
            ".github/**",
            "!keep.png",
        ]);
        assert!(p.matches(Path::new("README.md"), false));
        assert!(p.matches(Path::new("sub/README.md"), false));
        assert!(p.matches(Path::new("a/b/x.png"), false));
        assert!(!p.matches(Path::new("a/keep.png"), false));
        assert!(p.matches(Path::new("fish/conf.d/x.fish"), false));
        assert!(!p.matches(Path::new("fish/config.fish"), false));
        assert!(p.matches(Path::new(".github/workflows/ci.yml"), false));
        let always = Patterns::new(ALWAYS_EXCLUDED.iter().copied());
        assert!(always.matches(Path::new(".git"), true));
        assert!(always.matches(Path::new("sub/.git"), false));
        assert!(always.matches(Path::new(".gitmodules"), false));
        assert!(always.matches(Path::new(".lumina-adopt/x"), false));
        assert!(!always.matches(Path::new(".gitconfig"), false));
        assert!(!Patterns::new([]).matches(Path::new("x"), false));
        assert!(check("{a,b")
            .unwrap_err()
            .contains("unclosed alternate group"));
        assert!(check("[z-a]").is_err());
        assert!(check("*.png").is_ok());
    }
}
