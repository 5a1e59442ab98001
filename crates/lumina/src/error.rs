//! Every failure the library reports, each mapped to the CLI's exit code:
//! 0 success, 1 runtime failure with nothing damaged, 2 bad usage or invalid
//! registry, 3 blocked by a conflict policy.

use std::path::{Path, PathBuf};

use crate::yaml::Pos;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// One problem found in a registry file, with where it is and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Diagnostic {
    pub file: PathBuf,
    /// Line and column, when the problem has a place in the file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
    /// Dotted path of the field, e.g. `modules.shell.target`.
    pub field: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn new(
        file: &Path,
        pos: Option<Pos>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            file: file.to_path_buf(),
            line: pos.map(|p| p.line),
            column: pos.map(|p| p.col),
            field: field.into(),
            message: message.into(),
            help: None,
        }
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let (Some(l), Some(c)) = (self.line, self.column) {
            write!(f, ":{l}:{c}")?;
        }
        if self.field.is_empty() {
            write!(f, ": {}", self.message)?;
        } else {
            write!(f, ": {}: {}", self.field, self.message)?;
        }
        if let Some(h) = &self.help {
            write!(f, "\n  help: {h}")?;
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The registry is unreadable, malformed or invalid (exit 2).
    #[error("{}", render_diagnostics(.0))]
    Invalid(Vec<Diagnostic>),

    /// A target or lumina's own directory cannot be written (exit 1).
    #[error("MISSION FAILED: Permission denied at {}. Check the directory's owner or run with the right user.", crate::paths::tilde(.path))]
    PermissionDenied { path: PathBuf },

    /// A conflict policy (`on_conflict: abort` or `--strict`) stopped the run
    /// before any change (exit 3).
    #[error("MISSION BLOCKED: {} conflicting target(s), nothing was changed:\n{}", .conflicts.len(), render_list(.conflicts))]
    Blocked { conflicts: Vec<String> },

    /// Wrong arguments or an impossible request (exit 2).
    #[error("{0}")]
    Usage(String),

    /// A filesystem operation failed; the message says what was being done.
    #[error("{context}: {cause}")]
    Io {
        context: String,
        cause: std::io::Error,
    },

    /// Any other runtime failure, with nothing damaged (exit 1).
    #[error("{0}")]
    Runtime(String),
}

fn render_diagnostics(d: &[Diagnostic]) -> String {
    d.iter()
        .map(|d| format!("error: {d}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn render_list(items: &[String]) -> String {
    items
        .iter()
        .map(|c| format!("  - {c}"))
        .collect::<Vec<_>>()
        .join("\n")
}

impl Error {
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Invalid(_) | Error::Usage(_) => 2,
            Error::Blocked { .. } => 3,
            Error::PermissionDenied { .. } | Error::Io { .. } | Error::Runtime(_) => 1,
        }
    }

    /// A stable keyword for `--json` consumers.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Invalid(_) => "invalid_registry",
            Error::PermissionDenied { .. } => "permission_denied",
            Error::Blocked { .. } => "blocked",
            Error::Usage(_) => "usage",
            Error::Io { .. } => "io",
            Error::Runtime(_) => "runtime",
        }
    }

    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            cause: source,
        }
    }
}

/// Attaches a context sentence to io errors: `.ctx(|| format!("reading {}", p))`.
pub trait IoContext<T> {
    fn ctx<F: FnOnce() -> String>(self, f: F) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn ctx<F: FnOnce() -> String>(self, f: F) -> Result<T> {
        self.map_err(|e| Error::io(f(), e))
    }
}
