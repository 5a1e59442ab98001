//! Patterns (§7.1): literals, ranges, bindings, variants, records,
//! tuples, lists with a rest, typed and or-patterns.

use super::*;

impl<'t> Parser<'t> {
    /// A pattern, with `|` alternatives.
    pub fn parse_pattern(&mut self) -> PResult<Pattern> {
        self.nested(|p| p.parse_pattern_inner())
    }

    pub(super) fn parse_pattern_inner(&mut self) -> PResult<Pattern> {
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

    pub(super) fn pattern_range(&mut self) -> PResult<Pattern> {
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
    pub(super) fn literal(&mut self) -> PResult<Option<Literal>> {
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

    pub(super) fn pattern_primary(&mut self) -> PResult<Pattern> {
        let span = self.span();
        let pat = |kind| Pattern { kind, span };
        if let Some(l) = self.literal()? {
            return Ok(pat(PatternKind::Literal(l)));
        }
        let tok = match self.peek() {
            // A contextual keyword binds like a name (`ok(p)`/`err(p)`
            // stay result patterns).
            TokenKind::Kw(k)
                if super::soft_keyword(*k)
                    && !(matches!(k, Keyword::Ok | Keyword::Err)
                        && matches!(self.peek_at(1), TokenKind::Sym("("))) =>
            {
                TokenKind::Ident(k.as_str().to_string())
            }
            t => t.clone(),
        };
        match tok {
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
    pub(super) fn call_pattern(&mut self, path: Vec<String>, span: Span) -> PResult<Pattern> {
        let mut args = Vec::new();
        let mut fields = Vec::new();
        let mut rest = false;
        while !self.at_sym(")") {
            if self.eat_sym("..") {
                rest = true;
            } else if self.name_at(0).is_some() && matches!(self.peek_at(1), TokenKind::Sym(":")) {
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
