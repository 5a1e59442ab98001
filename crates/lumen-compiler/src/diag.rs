//! Diagnostics (§14.1): a stable error-kind keyword, a position and a
//! message, with an optional one-line help.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// The stable keywords of §14.1 (tests match them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Kind {
    LexError,
    ParseError,
    UndefinedVariable,
    UndefinedCell,
    UndefinedType,
    DuplicateDefinition,
    TypeMismatch,
    ArgumentCount,
    UnknownField,
    MissingField,
    MissingReturn,
    IncompleteMatch,
    ImmutableAssignment,
    MissingMethod,
    UndeclaredEffect,
    MissingGrant,
    Nondeterministic,
    MachineError,
    ImportError,
    PossiblyNull,
    UnreachableArm,
    Unused,
    Deprecated,
    MustUse,
    /// An unknown directive (accepted and ignored, §2.3).
    UnknownDirective,
}

impl Kind {
    pub fn keyword(self) -> &'static str {
        use Kind::*;
        match self {
            LexError => "lex error",
            ParseError => "parse error",
            UndefinedVariable => "undefined variable",
            UndefinedCell => "undefined cell",
            UndefinedType => "undefined type",
            DuplicateDefinition => "duplicate definition",
            TypeMismatch => "type mismatch",
            ArgumentCount => "argument count",
            UnknownField => "unknown field",
            MissingField => "missing field",
            MissingReturn => "missing return",
            IncompleteMatch => "incomplete match",
            ImmutableAssignment => "immutable assignment",
            MissingMethod => "missing method",
            UndeclaredEffect => "undeclared effect",
            MissingGrant => "missing grant",
            Nondeterministic => "nondeterministic",
            MachineError => "machine error",
            ImportError => "import error",
            PossiblyNull => "possibly null",
            UnreachableArm => "unreachable arm",
            Unused => "unused",
            Deprecated => "deprecated",
            MustUse => "must use",
            UnknownDirective => "unknown directive",
        }
    }
}

/// A place in the source: 1-based line and column (in characters), the
/// byte range for carets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct Span {
    pub start: u32,
    pub end: u32,
    pub line: u32,
    pub col: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    pub kind: Kind,
    pub message: String,
    pub span: Span,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(kind: Kind, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            kind,
            message: message.into(),
            span,
            help: None,
        }
    }

    pub fn warning(kind: Kind, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(kind, span, message)
        }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    /// The header line of §14.1: `FILE:LINE:COL: SEVERITY[KIND]: MESSAGE`.
    pub fn header(&self, file: &str) -> String {
        format!(
            "{file}:{}:{}: {}[{}]: {}",
            self.span.line,
            self.span.col,
            match self.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            },
            self.kind.keyword(),
            self.message
        )
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.header("<input>"))
    }
}
