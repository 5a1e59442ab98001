//! The parser, built up stage by stage. So far: type expressions (§8.1)
//! and patterns (§7.1) over the lexer's tokens. Declarations, statements
//! and expressions come next and reuse these.

use crate::ast::{Literal, Pattern, PatternKind, TypeExpr};
use crate::diag::{Diagnostic, Kind, Span};
use crate::lexer::{Keyword, Token, TokenKind};

pub struct Parser<'t> {
    toks: &'t [Token],
    pos: usize,
}

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
        Parser { toks, pos: 0 }
    }

    fn peek(&self) -> &TokenKind {
        self.toks
            .get(self.pos)
            .map(|t| &t.kind)
            .unwrap_or(&TokenKind::Eof)
    }

    fn peek_at(&self, n: usize) -> &TokenKind {
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

/// Parses a whole line as a type (tests, tools).
pub fn parse_type_str(src: &str) -> PResult<TypeExpr> {
    let (toks, mut d) = crate::lexer::lex(src);
    if let Some(e) = d.drain(..).next() {
        return Err(e);
    }
    let mut p = Parser::new(&toks);
    let t = p.parse_type()?;
    if !p.at_end() {
        return Err(p.error("the end of the type"));
    }
    Ok(t)
}

/// Parses a whole line as a pattern (tests, tools).
pub fn parse_pattern_str(src: &str) -> PResult<Pattern> {
    let (toks, mut d) = crate::lexer::lex(src);
    if let Some(e) = d.drain(..).next() {
        return Err(e);
    }
    let mut p = Parser::new(&toks);
    let t = p.parse_pattern()?;
    if !p.at_end() {
        return Err(p.error("the end of the pattern"));
    }
    Ok(t)
}

#[cfg(test)]
mod tests;
