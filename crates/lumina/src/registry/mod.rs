//! `lumina.yaml`: the registry. Parsing keeps positions so that every error
//! names file, line, column, the field path and how to fix it. Validation
//! collects every problem in one pass instead of stopping at the first.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Diagnostic, Error, Result};
use crate::yaml::{self, Pos};

mod validate;
use validate::Validator;

/// How a file reaches its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// A symlink through `~/.lumina/active` (the default).
    Link,
    /// A regular file kept equal to the source.
    Copy,
    /// A regular file copied only when the target is absent, then left to
    /// whoever owns it (the user, an application).
    Seed,
}

impl Mode {
    /// Whether the target is a regular file lumina wrote (copy or seed).
    pub fn is_file(self) -> bool {
        matches!(self, Mode::Copy | Mode::Seed)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OnConflict {
    Backup,
    Skip,
    Abort,
}

#[derive(Debug, Clone, Serialize)]
pub struct Module {
    pub name: String,
    /// As written, relative to the profile directory.
    pub source: PathBuf,
    /// As written; `~` and `$VARS` are expanded when planning.
    pub target: String,
    pub enabled: bool,
    pub mode: Mode,
    pub on_conflict: OnConflict,
    /// Hardware slugs this module applies to; `None` means every machine.
    pub hosts: Option<Vec<String>>,
    pub allow_outside_home: bool,
    /// Gitignore-style patterns, relative to the source: files left out.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<String>,
    /// Files copied instead of linked, whatever `mode` says.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub copy: Vec<String>,
    /// Files seeded (copied once, then left alone), whatever `mode` says.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub seed: Vec<String>,
    /// Files rendered as templates into the generation.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub template: Vec<String>,
    /// A `.` before the first component of each target path (rcm layouts).
    pub dot_prefix: bool,
    /// Commands run in the profile after a sync changed this module's files.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub run: Vec<String>,
    #[serde(skip)]
    pub pos: Pos,
    #[serde(skip)]
    pub target_pos: Pos,
    #[serde(skip)]
    pub source_pos: Pos,
}

#[derive(Debug, Clone, Serialize)]
pub struct Mission {
    pub name: String,
    pub path: String,
    pub image: String,
    pub env: Vec<String>,
    /// What the container runs (default: the image's own command).
    pub command: Vec<String>,
    /// What `lumina mission shell` runs inside it (default: /bin/sh).
    pub shell: String,
}

/// One entry of `packages:`: a plain name, or `{name, manager}` for a
/// package that needs a particular manager (an AUR package through paru).
#[derive(Debug, Clone, Serialize)]
pub struct Package {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manager: Option<Manager>,
}

/// A workspace context of `flows:`: the markers that select it and what it
/// asks of Hyprland, Waybar and Docker.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq, Hash)]
pub struct FlowContext {
    pub name: String,
    /// File or directory names whose presence in a directory (or one above
    /// it) selects this context.
    pub markers: Vec<String>,
    /// Hyprland `general:layout` (dwindle, master, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layout: Option<String>,
    /// The Hyprland workspace to switch to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workspace: Option<String>,
    /// Waybar modules to show and to hide (e.g. `custom/rust`).
    pub show: Vec<String>,
    pub hide: Vec<String>,
    /// A mission of `orchestration.missions` to start on entering.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mission: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Metadata {
    pub identity: Option<String>,
    pub target: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Registry {
    pub path: PathBuf,
    pub version: String,
    pub metadata: Metadata,
    pub modules: Vec<Module>,
    pub missions: Vec<Mission>,
    /// `packages:`; `None` when the key is absent (the Coordinator then
    /// leaves the system's packages alone, and status does not list them).
    pub packages: Option<Vec<Package>>,
    /// `flows:` as declared (the built-in contexts are added by `flow`).
    pub flows: Vec<FlowContext>,
    /// Top-level `exclude:`: patterns left out of every module.
    pub exclude: Vec<String>,
    /// `vars:` for templates.
    pub vars: serde_json::Map<String, serde_json::Value>,
    /// Unknown keys and other non-fatal findings (errors under `--strict`).
    pub warnings: Vec<Diagnostic>,
    /// Fingerprint of the registry text (the no-op fast path keys on it).
    #[serde(skip)]
    pub fingerprint: u64,
}

impl Registry {
    pub fn profile_dir(&self) -> PathBuf {
        self.path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default()
    }

    pub fn module(&self, name: &str) -> Option<&Module> {
        self.modules.iter().find(|m| m.name == name)
    }
}

/// Reads and validates the registry at `path`. With `strict`, warnings
/// (unknown keys) are errors.
pub fn load(path: &Path, strict: bool) -> Result<Registry> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        let help = if e.kind() == std::io::ErrorKind::NotFound {
            "create one with `lumina init`, or point to it with --registry PATH or $LUMINA_REGISTRY"
        } else {
            "check that the file is readable by this user"
        };
        Error::Invalid(vec![Diagnostic::new(
            path,
            None,
            "",
            format!("cannot read the registry: {e}"),
        )
        .help(help)])
    })?;
    parse(path, &text, strict)
}

/// Parses registry text; `path` is used in messages and to find the profile.
pub fn parse(path: &Path, text: &str, strict: bool) -> Result<Registry> {
    let root = yaml::parse(text).map_err(|e| {
        Error::Invalid(vec![Diagnostic::new(path, Some(e.pos), "", format!("YAML syntax error: {}", e.message))
            .help("fix the YAML syntax at that position (indentation, a missing ':' or an unclosed bracket)")])
    })?;
    let mut v = Validator {
        file: path,
        errors: Vec::new(),
        warnings: Vec::new(),
    };
    let reg = v.registry(path, &root);
    if strict && !v.warnings.is_empty() {
        let mut w = std::mem::take(&mut v.warnings);
        for d in &mut w {
            if d.help.is_none() {
                d.help = Some(
                    "remove the key or fix its spelling (--strict makes unknown keys errors)"
                        .into(),
                );
            }
        }
        v.errors.extend(w);
    }
    if !v.errors.is_empty() {
        v.errors.sort_by_key(|d| (d.line, d.column));
        return Err(Error::Invalid(v.errors));
    }
    let mut reg = reg;
    reg.warnings = v.warnings;
    reg.fingerprint = crate::fingerprint::fnv(text.as_bytes());
    Ok(reg)
}

pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// A package manager a `packages:` entry may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Manager {
    Pacman,
    Paru,
    Apt,
    Dnf,
    Brew,
}

impl Manager {
    pub const ALL: [Manager; 5] = [
        Manager::Pacman,
        Manager::Paru,
        Manager::Apt,
        Manager::Dnf,
        Manager::Brew,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Manager::Pacman => "pacman",
            Manager::Paru => "paru",
            Manager::Apt => "apt",
            Manager::Dnf => "dnf",
            Manager::Brew => "brew",
        }
    }

    pub fn parse(s: &str) -> Option<Manager> {
        match s {
            "pacman" => Some(Manager::Pacman),
            "paru" => Some(Manager::Paru),
            "apt" | "apt-get" => Some(Manager::Apt),
            "dnf" => Some(Manager::Dnf),
            "brew" => Some(Manager::Brew),
            _ => None,
        }
    }
}

impl std::fmt::Display for Manager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Rejects names a manager would read as an option or that cannot be a
/// package name.
pub fn valid_package_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('-')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "@._+-/:".contains(c))
}

/// The registry's text; a missing or unreadable file is a diagnostic
/// that says how to create one.
pub fn read_text(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| {
        Error::Invalid(vec![crate::error::Diagnostic::new(
            path,
            None,
            "",
            format!("cannot read the registry: {e}"),
        )
        .help("create one with `lumina init`")])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The seed's example, verbatim (also used by the CLI tests).
    const SEED_EXAMPLE: &str = include_str!("../../../../examples/lumina/seed-example.yaml");

    #[test]
    fn seed_example_parses_exactly() {
        let r = parse(Path::new("/p/lumina.yaml"), SEED_EXAMPLE, true).unwrap();
        assert_eq!(r.version, "1.0");
        assert_eq!(r.metadata.target.as_deref(), Some("Framework-13-AMD"));
        assert_eq!(r.modules.len(), 1);
        assert_eq!(r.modules[0].name, "shell");
        assert_eq!(r.modules[0].target, "~/.config/hypr");
        assert_eq!(r.missions.len(), 1);
        assert_eq!(r.missions[0].env, vec!["KEY=VAL"]);
        assert!(r.warnings.is_empty());
    }

    #[test]
    fn errors_have_positions_and_fields() {
        let src =
            "version: 1.0\nmodules:\n  a:\n    source: ./a\n    target: ~/a\n    mode: symlink\n";
        let Err(Error::Invalid(d)) = parse(Path::new("r.yaml"), src, false) else {
            panic!()
        };
        assert_eq!(d[0].field, "modules.a.mode");
        assert_eq!((d[0].line, d[0].column), (Some(6), Some(11)));
        assert!(d[0].help.is_some());
    }

    #[test]
    fn unknown_keys_warn_then_fail_strict() {
        let src =
            "version: 1.0\nmodules:\n  a:\n    source: ./a\n    targt: ~/a\n    target: ~/a\n";
        let r = parse(Path::new("r.yaml"), src, false).unwrap();
        assert_eq!(r.warnings.len(), 1);
        assert!(r.warnings[0]
            .help
            .as_deref()
            .unwrap()
            .contains("did you mean 'target'"));
        assert!(parse(Path::new("r.yaml"), src, true).is_err());
    }

    #[test]
    fn top_level_orchestration() {
        let src = "version: 1\norchestration:\n  missions:\n    m: {path: ~/p, image: i}\n";
        let r = parse(Path::new("r.yaml"), src, true).unwrap();
        assert_eq!(r.missions[0].name, "m");
    }
}
