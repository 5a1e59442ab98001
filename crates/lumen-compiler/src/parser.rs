//! The parser: declarations (§4, `items`), statements and block forms
//! (§5, §6.8, `stmts`), expressions with the precedence table of §6.1,
//! patterns (§7.1) and type expressions (§8.1), over the lexer's tokens.

use crate::ast::{
    Arg, Clause, Collection, Elem, Expr, ExprKind, Literal, Param, Pattern, PatternKind, StrSeg,
    TypeExpr,
};
use crate::diag::{Diagnostic, Kind, Span};
use crate::lexer::{Keyword, Token, TokenKind};

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

    fn ident(&mut self, what: &str) -> PResult<String> {
        match self.peek() {
            TokenKind::Ident(s) => {
                let s = s.clone();
                self.pos += 1;
                Ok(s)
            }
            _ => Err(self.error(what)),
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

    /// `A | B`, `T?`, `fn(A) -> R / {e}`, `(A, B)`, `Name[Args]`.
    pub fn parse_type(&mut self) -> PResult<TypeExpr> {
        self.nested(|p| p.parse_type_inner())
    }

    fn parse_type_inner(&mut self) -> PResult<TypeExpr> {
        let first = self.type_optional()?;
        if !self.at_sym("|") {
            return Ok(first);
        }
        let mut members = vec![first];
        while self.eat_sym("|") {
            members.push(self.type_optional()?);
        }
        Ok(TypeExpr::Union(members))
    }

    /// A type without a top-level union (inside patterns, where `|`
    /// separates alternatives).
    pub fn type_optional(&mut self) -> PResult<TypeExpr> {
        let mut t = self.type_primary()?;
        while self.eat_sym("?") {
            t = TypeExpr::Optional(Box::new(t));
        }
        Ok(t)
    }

    fn type_primary(&mut self) -> PResult<TypeExpr> {
        match self.peek().clone() {
            TokenKind::Sym("(") => {
                self.pos += 1;
                let mut items = Vec::new();
                let mut comma = false;
                while !self.at_sym(")") {
                    items.push(self.parse_type()?);
                    comma = self.eat_sym(",");
                    if !comma {
                        break;
                    }
                }
                self.expect_sym(")")?;
                // `(T)` groups; `(T,)` and `(A, B)` are tuples.
                if items.len() == 1 && !comma {
                    return Ok(items.remove(0));
                }
                Ok(TypeExpr::Tuple(items))
            }
            TokenKind::Kw(Keyword::Fn) => {
                self.pos += 1;
                self.expect_sym("(")?;
                let params = self.list(")", |p| p.parse_type())?;
                self.expect_sym("->")?;
                let ret = Box::new(self.parse_type()?);
                let effects = if self.eat_sym("/") {
                    Some(self.effect_row()?)
                } else {
                    None
                };
                Ok(TypeExpr::Fn {
                    params,
                    ret,
                    effects,
                })
            }
            TokenKind::Ident(name) => {
                self.pos += 1;
                self.type_args(name)
            }
            TokenKind::Kw(k) if type_keyword(k).is_some() => {
                self.pos += 1;
                self.type_args(type_keyword(k).unwrap_or_default().to_string())
            }
            _ => Err(self.error("a type")),
        }
    }

    fn type_args(&mut self, name: String) -> PResult<TypeExpr> {
        let args = if self.eat_sym("[") {
            let a = self.list("]", |p| p.parse_type())?;
            if a.is_empty() {
                return Err(Diagnostic::error(
                    Kind::ParseError,
                    self.span(),
                    format!("`{name}[]` needs at least one type argument"),
                ));
            }
            a
        } else {
            Vec::new()
        };
        Ok(TypeExpr::Named { name, args })
    }

    /// `{a, b}`, `{}` or a single effect name (§9.1). Effect names may be
    /// keywords (`emit`).
    pub fn effect_row(&mut self) -> PResult<Vec<String>> {
        if self.eat_sym("{") {
            self.list("}", |p| p.effect_name("an effect name"))
        } else {
            Ok(vec![self.effect_name(
                "an effect row: {a, b}, {} or one effect name",
            )?])
        }
    }

    fn effect_name(&mut self, what: &str) -> PResult<String> {
        match self.peek() {
            TokenKind::Kw(k) => {
                let s = k.as_str().to_string();
                self.pos += 1;
                Ok(s)
            }
            _ => self.ident(what),
        }
    }

    // ---- patterns (§7.1) ----

    /// A pattern, with `|` alternatives.
    pub fn parse_pattern(&mut self) -> PResult<Pattern> {
        self.nested(|p| p.parse_pattern_inner())
    }

    fn parse_pattern_inner(&mut self) -> PResult<Pattern> {
        let span = self.span();
        let first = self.pattern_range()?;
        if !self.at_sym("|") {
            return Ok(first);
        }
        let mut alts = vec![first];
        while self.eat_sym("|") {
            alts.push(self.pattern_range()?);
        }
        Ok(Pattern {
            kind: PatternKind::Or(alts),
            span,
        })
    }

    fn pattern_range(&mut self) -> PResult<Pattern> {
        let p = self.pattern_primary()?;
        let inclusive = if self.at_sym("..=") {
            true
        } else if self.at_sym("..") {
            false
        } else {
            return Ok(p);
        };
        let PatternKind::Literal(lo) = p.kind else {
            return Err(Diagnostic::error(
                Kind::ParseError,
                p.span,
                "a range pattern needs a literal on each side (1..10, \"a\"..=\"m\")",
            ));
        };
        self.pos += 1;
        let hi_span = self.span();
        match self.literal()? {
            Some(hi) => Ok(Pattern {
                kind: PatternKind::Range { lo, hi, inclusive },
                span: p.span,
            }),
            None => Err(Diagnostic::error(
                Kind::ParseError,
                hi_span,
                "a range pattern needs a literal after `..` or `..=`",
            )),
        }
    }

    /// A literal (with an optional leading minus on numbers), if one is here.
    fn literal(&mut self) -> PResult<Option<Literal>> {
        let neg =
            self.at_sym("-") && matches!(self.peek_at(1), TokenKind::Int(_) | TokenKind::Float(_));
        if neg {
            self.pos += 1;
        }
        let span = self.span();
        let lit = match self.peek().clone() {
            TokenKind::Int(v) => {
                self.pos += 1;
                if neg {
                    Literal::Int((v as i128).wrapping_neg() as i64)
                } else if v > i64::MAX as u64 {
                    return Err(Diagnostic::error(
                        Kind::LexError,
                        span,
                        "integer literal larger than 9223372036854775807 (Int is 64-bit)",
                    ));
                } else {
                    Literal::Int(v as i64)
                }
            }
            TokenKind::Float(f) => {
                self.pos += 1;
                Literal::Float(if neg { -f } else { f })
            }
            TokenKind::Str(parts) if !neg => {
                let mut s = String::new();
                for p in &parts {
                    match p {
                        crate::lexer::StrPart::Text(t) => s.push_str(t),
                        crate::lexer::StrPart::Interp { span, .. } => {
                            return Err(Diagnostic::error(
                                Kind::ParseError,
                                *span,
                                "a string in a pattern cannot interpolate",
                            ))
                        }
                    }
                }
                self.pos += 1;
                Literal::Str(s)
            }
            TokenKind::RawStr(s) if !neg => {
                self.pos += 1;
                Literal::Str(s)
            }
            TokenKind::Kw(Keyword::True) if !neg => {
                self.pos += 1;
                Literal::Bool(true)
            }
            TokenKind::Kw(Keyword::False) if !neg => {
                self.pos += 1;
                Literal::Bool(false)
            }
            TokenKind::Kw(Keyword::Null) if !neg => {
                self.pos += 1;
                Literal::Null
            }
            _ if neg => return Err(self.error("a number after `-`")),
            _ => return Ok(None),
        };
        Ok(Some(lit))
    }

    fn pattern_primary(&mut self) -> PResult<Pattern> {
        let span = self.span();
        let pat = |kind| Pattern { kind, span };
        if let Some(l) = self.literal()? {
            return Ok(pat(PatternKind::Literal(l)));
        }
        match self.peek().clone() {
            TokenKind::Ident(n) if n == "_" => {
                self.pos += 1;
                Ok(pat(PatternKind::Wild))
            }
            TokenKind::Sym("(") => {
                self.pos += 1;
                let mut items = Vec::new();
                let mut comma = false;
                while !self.at_sym(")") {
                    items.push(self.parse_pattern()?);
                    comma = self.eat_sym(",");
                    if !comma {
                        break;
                    }
                }
                self.expect_sym(")")?;
                if items.len() == 1 && !comma {
                    return Ok(items.remove(0));
                }
                Ok(pat(PatternKind::Tuple(items)))
            }
            TokenKind::Sym("[") => {
                self.pos += 1;
                let (mut before, mut after, mut rest) = (Vec::new(), Vec::new(), None);
                while !self.at_sym("]") {
                    if self.eat_sym("...") {
                        if rest.is_some() {
                            return Err(Diagnostic::error(
                                Kind::ParseError,
                                self.span(),
                                "a list pattern has at most one `...` rest",
                            ));
                        }
                        rest = Some(match self.peek() {
                            TokenKind::Ident(_) => Some(self.ident("a name")?),
                            _ => None,
                        });
                    } else if rest.is_some() {
                        after.push(self.parse_pattern()?);
                    } else {
                        before.push(self.parse_pattern()?);
                    }
                    if !self.eat_sym(",") {
                        break;
                    }
                }
                self.expect_sym("]")?;
                Ok(pat(PatternKind::List {
                    before,
                    rest,
                    after,
                }))
            }
            TokenKind::Kw(k @ (Keyword::Ok | Keyword::Err)) => {
                self.pos += 1;
                self.expect_sym("(")?;
                let inner = self.parse_pattern()?;
                self.expect_sym(")")?;
                Ok(pat(PatternKind::Variant {
                    path: vec![k.as_str().to_string()],
                    args: vec![inner],
                }))
            }
            TokenKind::Ident(first) => {
                self.pos += 1;
                let mut path = vec![first];
                while self.at_sym(".") && matches!(self.peek_at(1), TokenKind::Ident(_)) {
                    self.pos += 1;
                    path.push(self.ident("a name")?);
                }
                if self.eat_sym("(") {
                    return self.call_pattern(path, span);
                }
                if path.len() == 1 && self.at_sym(":") {
                    self.pos += 1;
                    let ty = self.type_optional()?;
                    return Ok(pat(PatternKind::Typed {
                        name: path.remove(0),
                        ty,
                    }));
                }
                if path.len() == 1 {
                    return Ok(pat(PatternKind::Bind(path.remove(0))));
                }
                Ok(pat(PatternKind::Variant { path, args: vec![] }))
            }
            _ => Err(self.error("a pattern")),
        }
    }

    /// After `Name(`: a variant's payload, or a record's fields (`f: p`,
    /// shorthand names, `..`). Positional names only stay a variant
    /// pattern; the resolver reads it as record shorthand when `Name` is a
    /// record.
    fn call_pattern(&mut self, path: Vec<String>, span: Span) -> PResult<Pattern> {
        let mut args = Vec::new();
        let mut fields = Vec::new();
        let mut rest = false;
        while !self.at_sym(")") {
            if self.eat_sym("..") {
                rest = true;
            } else if matches!(self.peek(), TokenKind::Ident(_))
                && matches!(self.peek_at(1), TokenKind::Sym(":"))
            {
                let f = self.ident("a field name")?;
                self.pos += 1;
                fields.push((f, self.parse_pattern()?));
            } else {
                args.push(self.parse_pattern()?);
            }
            if !self.eat_sym(",") {
                break;
            }
        }
        self.expect_sym(")")?;
        if fields.is_empty() && !rest {
            return Ok(Pattern {
                kind: PatternKind::Variant { path, args },
                span,
            });
        }
        // Record pattern: positional names are field shorthand.
        for a in args {
            match a.kind {
                PatternKind::Bind(n) => fields.push((
                    n.clone(),
                    Pattern {
                        kind: PatternKind::Bind(n),
                        span: a.span,
                    },
                )),
                _ => {
                    return Err(Diagnostic::error(
                        Kind::ParseError,
                        a.span,
                        "in a record pattern, give fields as `name: pattern` (or a bare name)",
                    ))
                }
            }
        }
        if path.len() != 1 {
            return Err(Diagnostic::error(
                Kind::ParseError,
                span,
                "a record pattern names the record type alone (Rec(field: p))",
            ));
        }
        Ok(Pattern {
            kind: PatternKind::Record {
                name: path.into_iter().next().unwrap_or_default(),
                fields,
                rest,
            },
            span,
        })
    }
}

/// Binding levels of §6.1 (higher binds tighter).
const L_EXPECT: u8 = 1;
const L_NULLISH: u8 = 2;
const L_OR: u8 = 3;
const L_AND: u8 = 4;
const L_CMP: u8 = 5;
const L_XOR: u8 = 6;
const L_AMP: u8 = 7;
const L_CONCAT: u8 = 8;
const L_SHIFT: u8 = 9;
const L_ADD: u8 = 10;
const L_MUL: u8 = 11;
const L_POW: u8 = 12;

/// The binary operator at `k` and its level.
fn binary_op(k: &TokenKind) -> Option<(&'static str, u8)> {
    Some(match k {
        TokenKind::Sym(s) => match *s {
            "??" => ("??", L_NULLISH),
            "==" | "!=" | "<" | "<=" | ">" | ">=" | "<=>" | "|" => (s, L_CMP),
            "^" => ("^", L_XOR),
            "&" | "|>" | "~>" => (s, L_AMP),
            "++" => ("++", L_CONCAT),
            "<<" | ">>" | ".." | "..=" => (s, L_SHIFT),
            "+" | "-" => (s, L_ADD),
            "*" | "/" | "//" | "%" => (s, L_MUL),
            "**" => ("**", L_POW),
            _ => return None,
        },
        TokenKind::Kw(Keyword::Or) => ("or", L_OR),
        TokenKind::Kw(Keyword::And) => ("and", L_AND),
        TokenKind::Kw(Keyword::In) => ("in", L_CMP),
        _ => return None,
    })
}

fn is_ordering(op: &str) -> bool {
    matches!(op, "<" | "<=" | ">" | ">=")
}

/// Keywords that name builtins when called (`int("4")`, `map(xs, f)`).
fn callable_keyword(k: Keyword) -> bool {
    use Keyword::*;
    matches!(
        k,
        Int | Float | String | Bool | Bytes | Json | List | Map | Set | Tuple | Ok | Err | Parallel
    )
}

impl Parser<'_> {
    fn at_kw(&self, k: Keyword) -> bool {
        matches!(self.peek(), TokenKind::Kw(x) if *x == k)
    }

    fn expect_kw(&mut self, k: Keyword) -> PResult<()> {
        if self.at_kw(k) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error(&format!("`{}`", k.as_str())))
        }
    }

    /// The token after this one ends the line (`do` alone opens a block).
    fn next_is_line_end(&self) -> bool {
        matches!(
            self.peek_at(1),
            TokenKind::Newline | TokenKind::Indent | TokenKind::Dedent | TokenKind::Eof
        )
    }

    /// An expression (§6).
    pub fn parse_expr(&mut self) -> PResult<Expr> {
        self.expr_bp(L_EXPECT)
    }

    fn expr_bp(&mut self, min: u8) -> PResult<Expr> {
        self.nested(|p| p.expr_bp_inner(min))
    }

    /// Runs `f` one nesting level deeper, on a stack grown as needed.
    fn nested<T>(&mut self, f: impl FnOnce(&mut Self) -> PResult<T>) -> PResult<T> {
        self.enter()?;
        let r = stacker::maybe_grow(64 * 1024, 1024 * 1024, || f(self));
        self.depth -= 1;
        r
    }

    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            self.depth -= 1;
            return Err(Diagnostic::error(
                Kind::ParseError,
                self.span(),
                format!("nested more than {MAX_DEPTH} levels deep; split the expression"),
            ));
        }
        Ok(())
    }

    fn expr_bp_inner(&mut self, min: u8) -> PResult<Expr> {
        let span = self.span();
        let mut lhs = self.prefix()?;
        loop {
            // `e expect schema T`, the lowest postfix form.
            if self.at_kw(Keyword::Expect) {
                if min > L_EXPECT {
                    break;
                }
                self.pos += 1;
                self.expect_kw(Keyword::Schema)?;
                let ty = self.type_optional()?;
                lhs = Expr {
                    kind: ExprKind::ExpectSchema {
                        expr: Box::new(lhs),
                        ty,
                    },
                    span,
                };
                continue;
            }
            // `e is T`, `e as T` at the comparison level.
            if self.at_kw(Keyword::Is) || self.at_kw(Keyword::As) {
                if min > L_CMP {
                    break;
                }
                let is = self.at_kw(Keyword::Is);
                self.pos += 1;
                let ty = self.type_optional()?;
                let expr = Box::new(lhs);
                lhs = Expr {
                    kind: if is {
                        ExprKind::Is { expr, ty }
                    } else {
                        ExprKind::As { expr, ty }
                    },
                    span,
                };
                continue;
            }
            let Some((op, level)) = binary_op(self.peek()) else {
                break;
            };
            if level < min {
                break;
            }
            self.pos += 1;
            if is_ordering(op) {
                // Chains: `a < b <= c`.
                let mut rest = vec![(op, self.expr_bp(level + 1)?)];
                while let Some((op, _)) = binary_op(self.peek()).filter(|(o, _)| is_ordering(o)) {
                    self.pos += 1;
                    rest.push((op, self.expr_bp(level + 1)?));
                }
                lhs = if rest.len() == 1 {
                    let (op, rhs) = rest.remove(0);
                    Expr {
                        kind: ExprKind::Binary {
                            op,
                            lhs: Box::new(lhs),
                            rhs: Box::new(rhs),
                        },
                        span,
                    }
                } else {
                    Expr {
                        kind: ExprKind::Compare {
                            first: Box::new(lhs),
                            rest,
                        },
                        span,
                    }
                };
                continue;
            }
            // `**` is right-associative; everything else left.
            let next = if op == "**" { level } else { level + 1 };
            let rhs = self.expr_bp(next)?;
            lhs = Expr {
                kind: ExprKind::Binary {
                    op,
                    lhs: Box::new(lhs),
                    rhs: Box::new(rhs),
                },
                span,
            };
        }
        Ok(lhs)
    }

    /// Prefix `-`, `not`, `~`, `await` (tighter than `**`), then postfix.
    fn prefix(&mut self) -> PResult<Expr> {
        let span = self.span();
        let op = match self.peek() {
            TokenKind::Sym("-") => "-",
            TokenKind::Sym("~") => "~",
            TokenKind::Kw(Keyword::Not) => "not",
            TokenKind::Kw(Keyword::Await) => {
                self.pos += 1;
                let e = self.nested(|p| p.prefix())?;
                return Ok(Expr {
                    kind: ExprKind::Await(Box::new(e)),
                    span,
                });
            }
            _ => return self.postfix(),
        };
        self.pos += 1;
        // `-9223372036854775808` is the minimum Int.
        if op == "-" && matches!(self.peek(), TokenKind::Int(v) if *v == 1 << 63) {
            self.pos += 1;
            let e = Expr {
                kind: ExprKind::Int(i64::MIN),
                span,
            };
            return self.postfix_ops(e, span);
        }
        let e = self.nested(|p| p.prefix())?;
        Ok(Expr {
            kind: ExprKind::Unary {
                op,
                expr: Box::new(e),
            },
            span,
        })
    }

    fn postfix(&mut self) -> PResult<Expr> {
        let span = self.span();
        let e = self.primary()?;
        self.postfix_ops(e, span)
    }

    fn postfix_ops(&mut self, mut e: Expr, span: Span) -> PResult<Expr> {
        loop {
            let kind = match self.peek() {
                TokenKind::Sym(s @ ("." | "?.")) => {
                    let s = *s;
                    self.pos += 1;
                    let name = match self.peek() {
                        TokenKind::Ident(n) => n.clone(),
                        TokenKind::Int(i) => i.to_string(),
                        TokenKind::Kw(k) => k.as_str().to_string(),
                        _ => return Err(self.error("a field or method name")),
                    };
                    self.pos += 1;
                    ExprKind::Field {
                        expr: Box::new(e),
                        name,
                        safe: s == "?.",
                    }
                }
                TokenKind::Sym(s @ ("[" | "?[")) => {
                    self.pos += 1;
                    let index = self.parse_expr()?;
                    self.expect_sym("]")?;
                    ExprKind::Index {
                        expr: Box::new(e),
                        index: Box::new(index),
                        safe: *s == "?[",
                    }
                }
                TokenKind::Sym("(") => {
                    self.pos += 1;
                    let args = self.args()?;
                    ExprKind::Call {
                        callee: Box::new(e),
                        args,
                    }
                }
                TokenKind::Sym("?") => {
                    self.pos += 1;
                    ExprKind::Try(Box::new(e))
                }
                TokenKind::Sym("!") => {
                    self.pos += 1;
                    ExprKind::Unwrap(Box::new(e))
                }
                TokenKind::Ident(n)
                    if n == "do"
                        && matches!(e.kind, ExprKind::Call { .. })
                        && self.toks.get(self.pos).map(|t| t.span.line)
                            == self.toks.get(self.pos - 1).map(|t| t.span.line) =>
                {
                    let block = self.trailing_block()?;
                    let ExprKind::Call { callee, mut args } = e.kind else {
                        unreachable!("checked above")
                    };
                    args.push(Arg {
                        name: None,
                        value: block,
                        spread: false,
                    });
                    ExprKind::Call { callee, args }
                }
                _ => return Ok(e),
            };
            e = Expr { kind, span };
        }
    }

    /// Call arguments after `(`: positional, then `name: value`; `...xs`.
    fn args(&mut self) -> PResult<Vec<Arg>> {
        self.list(")", |p| {
            if p.eat_sym("...") {
                return Ok(Arg {
                    name: None,
                    value: p.parse_expr()?,
                    spread: true,
                });
            }
            let named = matches!(p.peek(), TokenKind::Ident(_))
                && matches!(p.peek_at(1), TokenKind::Sym(":"));
            let name = if named {
                let n = p.ident("a name")?;
                p.pos += 1;
                Some(n)
            } else {
                None
            };
            Ok(Arg {
                name,
                value: p.parse_expr()?,
                spread: false,
            })
        })
    }

    fn elem(&mut self) -> PResult<Elem> {
        let spread = self.eat_sym("...");
        Ok(Elem {
            value: self.parse_expr()?,
            spread,
        })
    }

    fn clauses(&mut self) -> PResult<Vec<Clause>> {
        let mut out = Vec::new();
        loop {
            if self.at_kw(Keyword::For) {
                self.pos += 1;
                let pattern = self.parse_pattern()?;
                self.expect_kw(Keyword::In)?;
                // Above `in`, so the iterated expression does not swallow it.
                let iter = self.expr_bp(L_XOR)?;
                out.push(Clause::For { pattern, iter });
            } else if self.at_kw(Keyword::If) {
                self.pos += 1;
                out.push(Clause::If(self.parse_expr()?));
            } else {
                return Ok(out);
            }
        }
    }

    fn string(&mut self, parts: &[crate::lexer::StrPart]) -> PResult<Vec<StrSeg>> {
        let mut out = Vec::new();
        for p in parts {
            match p {
                crate::lexer::StrPart::Text(t) => out.push(StrSeg::Text(t.clone())),
                crate::lexer::StrPart::Interp { tokens, spec, span } => {
                    let mut toks = tokens.clone();
                    toks.push(Token {
                        kind: TokenKind::Eof,
                        span: *span,
                    });
                    let mut sub = Parser::new(&toks);
                    let expr = sub.parse_expr()?;
                    if !matches!(sub.peek(), TokenKind::Eof) {
                        return Err(sub.error("the end of the interpolation `}`"));
                    }
                    out.push(StrSeg::Interp {
                        expr: Box::new(expr),
                        spec: spec.clone(),
                    });
                }
            }
        }
        Ok(out)
    }

    fn primary(&mut self) -> PResult<Expr> {
        let span = self.span();
        let e = |kind| Ok(Expr { kind, span });
        match self.peek() {
            TokenKind::Int(v) => {
                let v = *v;
                self.pos += 1;
                if v > i64::MAX as u64 {
                    return Err(Diagnostic::error(
                        Kind::LexError,
                        span,
                        "integer literal larger than 9223372036854775807 (Int is 64-bit)",
                    ));
                }
                e(ExprKind::Int(v as i64))
            }
            TokenKind::Float(f) => {
                self.pos += 1;
                e(ExprKind::Float(*f))
            }
            TokenKind::Str(parts) => {
                self.pos += 1;
                let segs = self.string(parts)?;
                e(ExprKind::Str(segs))
            }
            TokenKind::RawStr(s) => {
                self.pos += 1;
                e(ExprKind::RawStr(s.clone()))
            }
            TokenKind::Bytes(b) => {
                self.pos += 1;
                e(ExprKind::Bytes(b.clone()))
            }
            TokenKind::Kw(Keyword::True) => {
                self.pos += 1;
                e(ExprKind::Bool(true))
            }
            TokenKind::Kw(Keyword::False) => {
                self.pos += 1;
                e(ExprKind::Bool(false))
            }
            TokenKind::Kw(Keyword::Null) => {
                self.pos += 1;
                e(ExprKind::Null)
            }
            TokenKind::Kw(Keyword::SelfKw) => {
                self.pos += 1;
                e(ExprKind::Name("self".into()))
            }
            TokenKind::Ident(n) if !(n == "do" && self.next_is_line_end()) => {
                self.pos += 1;
                e(ExprKind::Name(n.clone()))
            }
            TokenKind::Kw(k)
                if callable_keyword(*k) && matches!(self.peek_at(1), TokenKind::Sym("(")) =>
            {
                self.pos += 1;
                e(ExprKind::Name(k.as_str().to_string()))
            }
            TokenKind::Sym("(") => self.paren_expr(span),
            TokenKind::Sym("[") => self.bracket_expr(span),
            TokenKind::Sym("{") => self.brace_expr(span),
            TokenKind::Kw(Keyword::Fn) => self.lambda(),
            TokenKind::Kw(Keyword::If) => {
                self.pos += 1;
                self.if_expr(span)
            }
            TokenKind::Kw(Keyword::Role) => {
                self.pos += 1;
                let name = self.ident("the role's name")?;
                self.expect_sym(":")?;
                match self.peek() {
                    TokenKind::Str(parts) => {
                        self.pos += 1;
                        let text = self.string(parts)?;
                        e(ExprKind::Role { name, text })
                    }
                    _ => Err(self.error("the role's text")),
                }
            }
            TokenKind::Kw(Keyword::Perform) => {
                self.pos += 1;
                let effect = self.ident("an effect name")?;
                self.expect_sym(".")?;
                let op = self.ident("an operation name")?;
                self.expect_sym("(")?;
                let args = self.args()?;
                e(ExprKind::Perform { effect, op, args })
            }
            TokenKind::Kw(Keyword::Match) => {
                self.pos += 1;
                self.match_expr(span)
            }
            TokenKind::Kw(Keyword::When) => {
                self.pos += 1;
                self.when_expr(span)
            }
            TokenKind::Kw(Keyword::Loop) => {
                self.pos += 1;
                self.loop_expr(span)
            }
            TokenKind::Kw(Keyword::Handle) => {
                self.pos += 1;
                self.handle_expr(span)
            }
            TokenKind::Kw(Keyword::Comptime) => {
                self.pos += 1;
                self.block_expr(span, true)
            }
            TokenKind::Ident(n) if n == "do" && self.next_is_line_end() => {
                self.pos += 1;
                self.block_expr(span, false)
            }
            TokenKind::Kw(Keyword::Resume) => {
                self.pos += 1;
                self.expect_sym("(")?;
                let v = if self.at_sym(")") {
                    Expr {
                        kind: ExprKind::Null,
                        span,
                    }
                } else {
                    self.parse_expr()?
                };
                self.expect_sym(")")?;
                e(ExprKind::Resume(Box::new(v)))
            }
            TokenKind::Kw(Keyword::Try) => Err(Diagnostic::error(
                Kind::ParseError,
                span,
                "`try` is reserved; use postfix `?` on a result",
            )),
            _ => Err(self.error("an expression")),
        }
    }

    #[inline(never)]
    fn paren_expr(&mut self, span: Span) -> PResult<Expr> {
        let e = |kind| Ok(Expr { kind, span });
        self.pos += 1;
        let mut items = Vec::new();
        let mut comma = false;
        while !self.at_sym(")") {
            items.push(self.elem()?);
            comma = self.eat_sym(",");
            if !comma {
                break;
            }
        }
        self.expect_sym(")")?;
        if items.len() == 1 && !comma && !items[0].spread {
            // Parentheses group.
            let inner = items.remove(0).value;
            return Ok(inner);
        }
        e(ExprKind::Tuple(items))
    }

    #[inline(never)]
    fn bracket_expr(&mut self, span: Span) -> PResult<Expr> {
        let e = |kind| Ok(Expr { kind, span });
        self.pos += 1;
        if self.eat_sym("]") {
            return e(ExprKind::List(vec![]));
        }
        let first = self.elem()?;
        self.elems_after(first, "]", Collection::List, span)
    }

    /// After the first element of a list or set literal: a comprehension
    /// (`for` ...) or the rest of the elements, up to `close`.
    fn elems_after(
        &mut self,
        first: Elem,
        close: &str,
        kind: Collection,
        span: Span,
    ) -> PResult<Expr> {
        let e = |kind| Ok(Expr { kind, span });
        if self.at_kw(Keyword::For) && !first.spread {
            let clauses = self.clauses()?;
            self.expect_sym(close)?;
            return e(ExprKind::Comprehension {
                kind,
                elem: Box::new(first.value),
                value: None,
                clauses,
            });
        }
        let mut items = vec![first];
        if self.eat_sym(",") {
            items.extend(self.list(close, |p| p.elem())?);
        } else {
            self.expect_sym(close)?;
        }
        e(if kind == Collection::Set {
            ExprKind::Set(items)
        } else {
            ExprKind::List(items)
        })
    }

    #[inline(never)]
    fn brace_expr(&mut self, span: Span) -> PResult<Expr> {
        let e = |kind| Ok(Expr { kind, span });
        self.pos += 1;
        if self.eat_sym("}") {
            return e(ExprKind::Map(vec![]));
        }
        let first = self.elem()?;
        if !first.spread && self.eat_sym(":") {
            let value = self.parse_expr()?;
            if self.at_kw(Keyword::For) {
                let clauses = self.clauses()?;
                self.expect_sym("}")?;
                return e(ExprKind::Comprehension {
                    kind: Collection::Map,
                    elem: Box::new(first.value),
                    value: Some(Box::new(value)),
                    clauses,
                });
            }
            let mut entries = vec![(first.value, value)];
            if self.eat_sym(",") {
                entries.extend(self.list("}", |p| {
                    let k = p.parse_expr()?;
                    p.expect_sym(":")?;
                    Ok((k, p.parse_expr()?))
                })?);
            } else {
                self.expect_sym("}")?;
            }
            return e(ExprKind::Map(entries));
        }
        self.elems_after(first, "}", Collection::Set, span)
    }

    /// `fn(params) [-> T] => expr`.
    fn lambda(&mut self) -> PResult<Expr> {
        let span = self.span();
        self.pos += 1;
        self.expect_sym("(")?;
        let params = self.list(")", |p| p.param())?;
        let ret = if self.eat_sym("->") {
            Some(self.parse_type()?)
        } else {
            None
        };
        if !self.eat_sym("=>") {
            if self.at_line_end() {
                return self.block_lambda(span, params, ret);
            }
            return Err(self.error("`=>` and the lambda's body"));
        }
        let body = self.parse_expr()?;
        Ok(Expr {
            kind: ExprKind::Lambda {
                params,
                ret,
                body: Box::new(body),
            },
            span,
        })
    }

    /// `name[: Type][= default]`, `...name: T`.
    pub fn param(&mut self) -> PResult<Param> {
        let variadic = self.eat_sym("...");
        let name = match self.peek() {
            TokenKind::Kw(Keyword::SelfKw) => {
                self.pos += 1;
                "self".to_string()
            }
            _ => self.ident("a parameter name")?,
        };
        let ty = if self.eat_sym(":") {
            Some(self.parse_type()?)
        } else {
            None
        };
        let default = if self.eat_sym("=") {
            Some(self.parse_expr()?)
        } else {
            None
        };
        Ok(Param {
            name,
            ty,
            default,
            variadic,
        })
    }
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
