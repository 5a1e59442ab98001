//! Runtime errors (§14.2) and the other ways a computation unwinds.

use std::fmt;

use crate::value::Value;

macro_rules! kinds {
    ($($name:ident = $text:literal),* $(,)?) => {
        /// The stable kinds of §14.2.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum ErrorKind { $($name),* }

        impl ErrorKind {
            pub fn keyword(self) -> &'static str {
                match self { $(ErrorKind::$name => $text),* }
            }

            pub fn from_keyword(s: &str) -> Option<ErrorKind> {
                match s { $($text => Some(ErrorKind::$name),)* _ => None }
            }
        }
    };
}

kinds! {
    IntegerOverflow = "integer overflow",
    DivisionByZero = "division by zero",
    IndexOutOfBounds = "index out of bounds",
    KeyNotFound = "key not found",
    NullValue = "null value",
    TypeError = "type error",
    Halt = "halt",
    AssertionFailed = "assertion failed",
    ConstraintViolation = "constraint violation",
    MatchFailed = "match failed",
    UnwrapFailed = "unwrap failed",
    InvalidArgument = "invalid argument",
    FormatError = "format error",
    SchemaMismatch = "schema mismatch",
    UnhandledEffect = "unhandled effect",
    ResumeError = "resume error",
    PolicyViolation = "policy violation",
    ToolError = "tool error",
    UndefinedVariable = "undefined variable",
    UndefinedCell = "undefined cell",
    StackOverflow = "stack overflow",
}

/// One frame of a stack trace: cell name, file, line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceFrame {
    pub cell: String,
    pub line: u32,
}

/// A runtime error with its stack trace, innermost frame first.
#[derive(Debug, Clone, thiserror::Error)]
pub struct RuntimeError {
    pub kind: ErrorKind,
    pub message: String,
    pub trace: Vec<TraceFrame>,
}

impl RuntimeError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> RuntimeError {
        RuntimeError {
            kind,
            message: message.into(),
            trace: Vec::new(),
        }
    }

    /// The §14.2 report: the header, then `  at CELL (FILE:LINE)` lines.
    pub fn report(&self, file: &str) -> String {
        let mut s = format!("runtime error[{}]: {}\n", self.kind.keyword(), self.message);
        let n = self.trace.len();
        for (i, f) in self.trace.iter().enumerate() {
            // Deep recursion: the innermost 20 and outermost 5 frames.
            if n > 30 && (20..n - 5).contains(&i) {
                if i == 20 {
                    s.push_str(&format!("  ... {} more frames\n", n - 25));
                }
                continue;
            }
            s.push_str(&format!("  at {} ({file}:{})\n", f.cell, f.line));
        }
        s
    }
}

impl fmt::Display for RuntimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "runtime error[{}]: {}",
            self.kind.keyword(),
            self.message
        )
    }
}

/// Why a computation stopped early.
#[derive(Debug)]
pub enum Unwind {
    Error(Box<RuntimeError>),
    /// A handler clause finished without resuming: unwind to the `handle`
    /// with this record index, which evaluates to the value (§9.3 rule 4).
    Abort {
        record: usize,
        value: Value,
    },
    /// `exit(code)`.
    Exit(i32),
}

impl From<RuntimeError> for Unwind {
    fn from(e: RuntimeError) -> Unwind {
        Unwind::Error(Box::new(e))
    }
}

pub type VmResult<T> = Result<T, Unwind>;

/// Shorthand for a runtime error result.
pub fn fail<T>(kind: ErrorKind, message: impl Into<String>) -> VmResult<T> {
    Err(Unwind::Error(Box::new(RuntimeError::new(kind, message))))
}
