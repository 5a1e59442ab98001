//! Path arithmetic: `~`/`$VAR` expansion, lexical normalisation, relative
//! paths between canonical locations, and a memoised canonicaliser for
//! directories that may not exist yet.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Component, Path, PathBuf};

/// Expands a leading `~` and every `$VAR` / `${VAR}` in `s`. Returns the name
/// of the first variable that is not set as the error.
pub fn expand(
    s: &str,
    home: &Path,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<PathBuf, String> {
    let mut out = String::with_capacity(s.len() + 16);
    let rest = if s == "~" {
        out.push_str(&home.to_string_lossy());
        ""
    } else if let Some(r) = s.strip_prefix("~/") {
        out.push_str(&home.to_string_lossy());
        out.push('/');
        r
    } else {
        s
    };
    let b = rest.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'$' && i + 1 < b.len() {
            let (name, next) = if b[i + 1] == b'{' {
                match rest[i + 2..].find('}') {
                    Some(end) => (&rest[i + 2..i + 2 + end], i + 3 + end),
                    None => return Err(rest[i..].to_string()),
                }
            } else {
                let len = rest[i + 1..]
                    .bytes()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == b'_')
                    .count();
                (&rest[i + 1..i + 1 + len], i + 1 + len)
            };
            if name.is_empty() {
                out.push('$');
                i += 1;
                continue;
            }
            let value = if name == "HOME" {
                Some(home.to_string_lossy().into_owned())
            } else {
                lookup(name)
            };
            match value {
                Some(v) => out.push_str(&v),
                None => return Err(name.to_string()),
            }
            i = next;
        } else {
            let ch = rest[i..].chars().next().unwrap_or('\0');
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    Ok(PathBuf::from(out))
}

/// Removes `.` and resolves `..` lexically. Never touches the filesystem.
pub fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// The relative path that leads from directory `from` to `to`. Both must be
/// absolute and free of `.`/`..` (canonical or normalised).
pub fn relative(from: &Path, to: &Path) -> PathBuf {
    let f: Vec<_> = from.components().collect();
    let t: Vec<_> = to.components().collect();
    let common = f.iter().zip(&t).take_while(|(a, b)| a == b).count();
    let mut out = PathBuf::new();
    for _ in common..f.len() {
        out.push("..");
    }
    for c in &t[common..] {
        out.push(c.as_os_str());
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

/// Shows a path with `$HOME` abbreviated to `~`, as users write it.
pub fn tilde(p: &Path) -> String {
    if let Some(home) = std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        let home = PathBuf::from(home);
        if let Ok(rest) = p.strip_prefix(&home) {
            return if rest.as_os_str().is_empty() {
                "~".into()
            } else {
                format!("~/{}", rest.display())
            };
        }
    }
    p.display().to_string()
}

/// Canonicalises directories, including ones that do not exist yet (their
/// canonical form is the canonical existing ancestor plus the missing names).
/// Memoised so that a tree of many files costs one `lstat` per directory.
#[derive(Default)]
pub struct Canon {
    cache: HashMap<PathBuf, PathBuf>,
}

impl Canon {
    /// Records that `p` will be created as a real directory: its canonical
    /// form is its parent's plus its name.
    pub fn will_create(&mut self, p: &Path) {
        if let (Some(parent), Some(name)) = (p.parent(), p.file_name()) {
            let c = self.dir(parent).join(name);
            self.cache.insert(p.to_path_buf(), c);
        }
    }

    pub fn dir(&mut self, p: &Path) -> PathBuf {
        if let Some(c) = self.cache.get(p) {
            return c.clone();
        }
        let result = match (p.parent(), p.file_name()) {
            (Some(parent), Some(name)) => {
                let cp = self.dir(parent);
                let candidate = cp.join(name);
                match std::fs::symlink_metadata(&candidate) {
                    Ok(m) if m.file_type().is_symlink() => {
                        std::fs::canonicalize(&candidate).unwrap_or(candidate)
                    }
                    _ => candidate,
                }
            }
            _ => std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf()),
        };
        self.cache.insert(p.to_path_buf(), result.clone());
        result
    }
}

/// Finds the symlinked directory, if any, on the way from `$HOME` down to a
/// directory: the highest one strictly below `$HOME` (`$HOME` itself and
/// what is above it may be symlinks: that is the user's layout). One
/// `lstat` per directory, memoised.
pub struct LinkAbove {
    home: PathBuf,
    memo: HashMap<PathBuf, Above>,
}

#[derive(Clone)]
enum Above {
    /// This directory or one above it is a symlink.
    Link(PathBuf),
    /// Nothing on the way is a symlink, and the path exists.
    Clear,
    /// The path (or one above it) does not exist: nor does anything below.
    Missing,
}

impl LinkAbove {
    pub fn new(home: &Path) -> LinkAbove {
        LinkAbove {
            home: home.to_path_buf(),
            memo: HashMap::new(),
        }
    }

    /// Whether `d` lies strictly below `$HOME`.
    pub fn below_home(&self, d: &Path) -> bool {
        d != self.home && d.starts_with(&self.home)
    }

    pub fn find(&mut self, d: &Path) -> Option<PathBuf> {
        match self.state(d) {
            Above::Link(p) => Some(p),
            _ => None,
        }
    }

    /// Whether `d` is known not to exist (it or a directory above it was
    /// found missing), so looking at it again is useless.
    pub fn known_missing(&self, d: &Path) -> bool {
        matches!(self.memo.get(d), Some(Above::Missing))
            || d.parent()
                .and_then(|p| self.memo.get(p))
                .is_some_and(|a| matches!(a, Above::Missing))
    }

    fn state(&mut self, d: &Path) -> Above {
        if !self.below_home(d) {
            return Above::Clear;
        }
        if let Some(r) = self.memo.get(d) {
            return r.clone();
        }
        let r = match d.parent().map(|p| self.state(p)) {
            Some(a @ (Above::Link(_) | Above::Missing)) => a,
            _ => match std::fs::symlink_metadata(d) {
                Ok(m) if m.file_type().is_symlink() => Above::Link(d.to_path_buf()),
                Ok(_) => Above::Clear,
                Err(_) => Above::Missing,
            },
        };
        self.memo.insert(d.to_path_buf(), r.clone());
        r
    }
}

/// Orders paths byte by byte with `/` lowest, so that everything below a
/// directory sorts right after it (`a`, `a/x`, `a-b`): the order of a walk.
pub fn path_cmp(a: &Path, b: &Path) -> std::cmp::Ordering {
    use std::os::unix::ffi::OsStrExt;
    let (x, y) = (a.as_os_str().as_bytes(), b.as_os_str().as_bytes());
    let map = |c: u8| if c == b'/' { 0 } else { c };
    for (p, q) in x.iter().zip(y) {
        if p != q {
            return map(*p).cmp(&map(*q));
        }
    }
    x.len().cmp(&y.len())
}

/// The first of `base+suffix`, `base+suffix.1`, `base+suffix.2`, ... that
/// nothing occupies on disk (`lstat`, so a dangling link counts) and that
/// `taken` does not claim: how every backup name is chosen.
pub fn free_name(base: &Path, suffix: &str, taken: impl Fn(&Path) -> bool) -> PathBuf {
    let first = with_suffix(base, suffix);
    let mut candidate = first.clone();
    let mut n = 0;
    while taken(&candidate) || std::fs::symlink_metadata(&candidate).is_ok() {
        n += 1;
        candidate = with_suffix(&first, &format!(".{n}"));
    }
    candidate
}

/// `name` with `suffix` appended: `hyprland.conf` + `.bak` -> `hyprland.conf.bak`.
pub fn with_suffix(p: &Path, suffix: &str) -> PathBuf {
    let mut s: OsString = p.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// A string made safe as one file name component.
pub fn safe_file_name(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The current UTC time as `YYYY-MM-DDTHH:MM:SSZ`, for logs.
pub fn utc_now() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

#[cfg(test)]
mod tests {

    #[test]
    fn link_above_remembers_what_is_missing() {
        let t = tempfile::tempdir().unwrap();
        let home = t.path();
        std::fs::create_dir_all(home.join("real/sub")).unwrap();
        std::fs::create_dir_all(home.join("elsewhere")).unwrap();
        std::os::unix::fs::symlink("elsewhere", home.join("linked")).unwrap();
        let mut l = LinkAbove::new(home);
        assert_eq!(l.find(&home.join("real/sub")), None);
        assert_eq!(l.find(&home.join("linked/x/y")), Some(home.join("linked")));
        assert_eq!(l.find(&home.join("gone/a/b")), None);
        // Below a missing directory nothing is looked at again.
        assert!(l.known_missing(&home.join("gone/a/b")));
        assert!(l.known_missing(&home.join("gone/a/b/c")));
        assert!(!l.known_missing(&home.join("real/sub")));
        assert!(!l.known_missing(&home.join("real/other")), "not asked yet");
    }

    use super::*;

    fn no_vars(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn expands_tilde_and_vars() {
        let home = Path::new("/home/ada");
        let look = |n: &str| (n == "XDG").then(|| "/x".to_string());
        assert_eq!(
            expand("~/.config", home, &look).unwrap(),
            Path::new("/home/ada/.config")
        );
        assert_eq!(expand("~", home, &look).unwrap(), Path::new("/home/ada"));
        assert_eq!(expand("$XDG/a", home, &look).unwrap(), Path::new("/x/a"));
        assert_eq!(expand("${XDG}b", home, &look).unwrap(), Path::new("/xb"));
        assert_eq!(
            expand("$HOME/q", home, &no_vars).unwrap(),
            Path::new("/home/ada/q")
        );
        assert_eq!(expand("$NOPE/q", home, &no_vars).unwrap_err(), "NOPE");
        assert_eq!(expand("a$", home, &no_vars).unwrap(), Path::new("a$"));
    }

    #[test]
    fn relative_paths() {
        assert_eq!(
            relative(
                Path::new("/h/.config/hypr"),
                Path::new("/h/.lumina/active/home/.config/hypr/a")
            ),
            Path::new("../../.lumina/active/home/.config/hypr/a")
        );
        assert_eq!(relative(Path::new("/a"), Path::new("/a/b")), Path::new("b"));
        assert_eq!(
            relative(Path::new("/a/b"), Path::new("/c")),
            Path::new("../../c")
        );
    }

    #[test]
    fn normalizes() {
        assert_eq!(normalize(Path::new("/a/./b/../c")), Path::new("/a/c"));
        assert_eq!(normalize(Path::new("a/../../b")), Path::new("../b"));
    }
}
