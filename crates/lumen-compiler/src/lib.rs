//! The Lumen compiler front end (`../shared/specs/lumen.md`).
//!
//! One entry point per stage, each testable alone. Built so far:
//! [`source`] (§2: file kinds, Markdown extraction with line numbers kept,
//! directives, raw files and their doc blocks) and [`lexer`] (§3: tokens,
//! indentation, line continuation, every literal form, string
//! interpolation with format specs, role blocks) and the first parts of
//! [`parser`] (type expressions and patterns, into [`ast`]). [`diag`] holds
//! the diagnostics every stage reports (§14.1). Declarations, statements
//! and expressions, then the resolver, typechecker and LIR lowering come
//! next.

pub mod ast;
pub mod diag;
pub mod lexer;
pub mod parser;
pub mod source;

pub use diag::{Diagnostic, Kind, Severity};
pub use lexer::{lex, Token, TokenKind};
pub use source::{extract, Source};
