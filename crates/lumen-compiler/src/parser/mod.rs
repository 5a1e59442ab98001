//! The parser: declarations (§4, `items`), statements and block forms
//! (§5, §6.8, `stmts`), expressions with the precedence table of §6.1,
//! patterns (§7.1) and type expressions (§8.1), over the lexer's tokens.

use crate::ast::{
    Arg, Clause, Collection, Elem, Expr, ExprKind, Literal, Param, Pattern, PatternKind, StrSeg,
    TypeExpr,
};
use crate::diag::{Diagnostic, Kind, Span};
use crate::lexer::{Keyword, Token, TokenKind};

use expr::L_XOR;

mod expr;
mod patterns;
mod types;

pub struct Parser<'t> {
    toks: &'t [Token],
    pos: usize,
    /// Nesting of expressions, types and patterns being parsed.
    depth: usize,
    /// Block level of the statement being parsed (for the formatter).
    level: u32,
    /// (line, block level) of each line that starts a statement, arm,
    /// declaration or closing keyword.
    pub marks: Vec<(u32, u32)>,
    /// Warnings (ignored declarations, unknown lines in process bodies).
    pub warnings: Vec<Diagnostic>,
}

mod items;
mod stmts;

pub use items::parse_program;

/// Deeper nesting is refused with a parse error rather than risking the
/// native stack (the parser never crashes on any input).
const MAX_DEPTH: usize = 1000;

type PResult<T> = Result<T, Diagnostic>;

/// How a token reads in a message.
fn describe(k: &TokenKind) -> String {
    match k {
        TokenKind::Int(v) => format!("number {v}"),
        TokenKind::Float(v) => format!("number {v}"),
        TokenKind::Str(_) | TokenKind::RawStr(_) => "a string".into(),
        TokenKind::Bytes(_) => "a bytes literal".into(),
        TokenKind::Ident(s) => format!("`{s}`"),
        TokenKind::Kw(k) => format!("`{}`", k.as_str()),
        TokenKind::Sym(s) => format!("`{s}`"),
        TokenKind::Newline => "the end of the line".into(),
        TokenKind::Indent => "an indented line".into(),
        TokenKind::Dedent => "the end of an indented block".into(),
        TokenKind::Eof => "the end of the file".into(),
    }
}

/// Keywords that may also be names (of variables, parameters, fields,
/// methods, cells): none of them starts a statement or sits between two
/// expressions, so where a name is expected there is no ambiguity (`let
/// result = ...`, a parameter `list`, a field `ok`). Where an expression is
/// expected they are names too, except where they begin an expression of
/// their own (`role`, `handle`, `parallel`) or a call of a built-in
/// (`list(...)`, `ok(...)`).
pub(crate) fn soft_keyword(k: Keyword) -> bool {
    use Keyword::*;
    matches!(
        k,
        Result
            | List
            | Map
            | Set
            | Tuple
            | Int
            | Float
            | String
            | Bool
            | Bytes
            | Json
            | Type
            | Tool
            | Schema
            | Union
            | Trait
            | Impl
            | Macro
            | Mod
            | Step
            | From
            | Ok
            | Err
            | Role
            | Handle
            | Grant
            | Use
            | Const
            | Pub
            | Parallel
            | Expect
            | Record
            | Enum
    )
}

/// Keywords that are also type names (§3.4, §8.1).
fn type_keyword(k: Keyword) -> Option<&'static str> {
    use Keyword::*;
    Some(match k {
        List => "list",
        Map => "map",
        Set => "set",
        Tuple => "tuple",
        Result => "result",
        Int => "int",
        Float => "float",
        String => "string",
        Bool => "bool",
        Bytes => "bytes",
        Json => "json",
        Null => "Null",
        _ => return None,
    })
}

impl<'t> Parser<'t> {
    pub fn new(toks: &'t [Token]) -> Parser<'t> {
        Parser {
            toks,
            pos: 0,
            depth: 0,
            level: 0,
            marks: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// The current token; borrowed from the token list, not the parser,
    /// so matching on it needs no clone.
    fn peek(&self) -> &'t TokenKind {
        self.toks
            .get(self.pos)
            .map(|t| &t.kind)
            .unwrap_or(&TokenKind::Eof)
    }

    fn peek_at(&self, n: usize) -> &'t TokenKind {
        self.toks
            .get(self.pos + n)
            .map(|t| &t.kind)
            .unwrap_or(&TokenKind::Eof)
    }

    fn span(&self) -> Span {
        self.toks
            .get(self.pos)
            .or(self.toks.last())
            .map(|t| t.span)
            .unwrap_or_default()
    }

    fn at_sym(&self, s: &str) -> bool {
        matches!(self.peek(), TokenKind::Sym(x) if *x == s)
    }

    fn eat_sym(&mut self, s: &str) -> bool {
        if self.at_sym(s) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn error(&self, expected: &str) -> Diagnostic {
        Diagnostic::error(
            Kind::ParseError,
            self.span(),
            format!("expected {expected}, found {}", describe(self.peek())),
        )
    }

    fn expect_sym(&mut self, s: &str) -> PResult<()> {
        if self.eat_sym(s) {
            Ok(())
        } else {
            Err(self.error(&format!("`{s}`")))
        }
    }

    /// A name: an identifier, or a keyword that is a name wherever a name
    /// is expected (contextual keywords, see [`soft_keyword`]).
    fn ident(&mut self, what: &str) -> PResult<String> {
        match self.name_at(0) {
            Some(s) => {
                self.pos += 1;
                Ok(s)
            }
            None => Err(self.error(what)),
        }
    }

    /// The token `n` ahead as a name, if it can be one.
    fn name_at(&self, n: usize) -> Option<String> {
        match self.peek_at(n) {
            TokenKind::Ident(s) => Some(s.clone()),
            TokenKind::Kw(k) if soft_keyword(*k) => Some(k.as_str().to_string()),
            _ => None,
        }
    }

    pub fn at_end(&self) -> bool {
        matches!(self.peek(), TokenKind::Eof | TokenKind::Newline)
    }

    /// A comma-separated list up to `close` (a trailing comma allowed).
    fn list<T>(
        &mut self,
        close: &str,
        mut item: impl FnMut(&mut Self) -> PResult<T>,
    ) -> PResult<Vec<T>> {
        let mut out = Vec::new();
        while !self.at_sym(close) {
            out.push(item(self)?);
            if !self.eat_sym(",") {
                break;
            }
        }
        self.expect_sym(close)?;
        Ok(out)
    }

    // ---- types (§8.1) ----

    // ---- patterns (§7.1) ----
}

/// Lexes `src` and parses all of it with `f` (tests, tools): the first
/// lexer error, the first parse error, or an error naming what is left.
fn parse_whole<T>(
    src: &str,
    what: &str,
    f: impl FnOnce(&mut Parser<'_>) -> PResult<T>,
) -> PResult<T> {
    let (toks, mut d) = crate::lexer::lex(src);
    if let Some(e) = d.drain(..).next() {
        return Err(e);
    }
    let mut p = Parser::new(&toks);
    let v = f(&mut p)?;
    if !p.at_end() {
        return Err(p.error(&format!("the end of the {what}")));
    }
    Ok(v)
}

/// Parses a whole line as an expression.
pub fn parse_expr_str(src: &str) -> PResult<Expr> {
    parse_whole(src, "expression", |p| p.parse_expr())
}

/// Parses a whole line as a type.
pub fn parse_type_str(src: &str) -> PResult<TypeExpr> {
    parse_whole(src, "type", |p| p.parse_type())
}

/// Parses a whole line as a pattern.
pub fn parse_pattern_str(src: &str) -> PResult<Pattern> {
    parse_whole(src, "pattern", |p| p.parse_pattern())
}

#[cfg(test)]
mod tests;
