//! Expressions: precedence climbing over the binding powers below,
//! prefix and postfix operators, calls and arguments, literals,
//! collections and comprehensions, strings with interpolations, lambdas.

use super::*;

impl Parser<'_> {
    pub(super) fn at_kw(&self, k: Keyword) -> bool {
        matches!(self.peek(), TokenKind::Kw(x) if *x == k)
    }

    pub(super) fn expect_kw(&mut self, k: Keyword) -> PResult<()> {
        if self.at_kw(k) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error(&format!("`{}`", k.as_str())))
        }
    }

    /// The token after this one ends the line (`do` alone opens a block).
    pub(super) fn next_is_line_end(&self) -> bool {
        matches!(
            self.peek_at(1),
            TokenKind::Newline | TokenKind::Indent | TokenKind::Dedent | TokenKind::Eof
        )
    }

    /// An expression (§6).
    pub fn parse_expr(&mut self) -> PResult<Expr> {
        self.expr_bp(L_EXPECT)
    }

    pub(super) fn expr_bp(&mut self, min: u8) -> PResult<Expr> {
        self.nested(|p| p.expr_bp_inner(min))
    }

    /// Runs `f` one nesting level deeper, on a stack grown as needed.
    pub(super) fn nested<T>(&mut self, f: impl FnOnce(&mut Self) -> PResult<T>) -> PResult<T> {
        self.enter()?;
        let r = stacker::maybe_grow(64 * 1024, 1024 * 1024, || f(self));
        self.depth -= 1;
        r
    }

    pub(super) fn enter(&mut self) -> PResult<()> {
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

    pub(super) fn expr_bp_inner(&mut self, min: u8) -> PResult<Expr> {
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
    pub(super) fn prefix(&mut self) -> PResult<Expr> {
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

    pub(super) fn postfix(&mut self) -> PResult<Expr> {
        let span = self.span();
        let e = self.primary()?;
        self.postfix_ops(e, span)
    }

    pub(super) fn postfix_ops(&mut self, mut e: Expr, span: Span) -> PResult<Expr> {
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
                    let ExprKind::Call { callee, mut args } =
                        std::mem::replace(&mut e.kind, ExprKind::Null)
                    else {
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
    pub(super) fn args(&mut self) -> PResult<Vec<Arg>> {
        self.list(")", |p| {
            if p.eat_sym("...") {
                return Ok(Arg {
                    name: None,
                    value: p.parse_expr()?,
                    spread: true,
                });
            }
            let named = p.name_at(0).is_some() && matches!(p.peek_at(1), TokenKind::Sym(":"));
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

    pub(super) fn elem(&mut self) -> PResult<Elem> {
        let spread = self.eat_sym("...");
        Ok(Elem {
            value: self.parse_expr()?,
            spread,
        })
    }

    pub(super) fn clauses(&mut self) -> PResult<Vec<Clause>> {
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

    pub(super) fn string(&mut self, parts: &[crate::lexer::StrPart]) -> PResult<Vec<StrSeg>> {
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

    pub(super) fn primary(&mut self) -> PResult<Expr> {
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
            TokenKind::Kw(k)
                if super::soft_keyword(*k)
                    && !matches!(k, Keyword::Role | Keyword::Handle | Keyword::Parallel) =>
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
    pub(super) fn paren_expr(&mut self, span: Span) -> PResult<Expr> {
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
    pub(super) fn bracket_expr(&mut self, span: Span) -> PResult<Expr> {
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
    pub(super) fn elems_after(
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
    pub(super) fn brace_expr(&mut self, span: Span) -> PResult<Expr> {
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
    pub(super) fn lambda(&mut self) -> PResult<Expr> {
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

/// Binding levels of §6.1 (higher binds tighter).
pub(super) const L_EXPECT: u8 = 1;

pub(super) const L_NULLISH: u8 = 2;

pub(super) const L_OR: u8 = 3;

pub(super) const L_AND: u8 = 4;

pub(super) const L_CMP: u8 = 5;

pub(super) const L_XOR: u8 = 6;

pub(super) const L_AMP: u8 = 7;

pub(super) const L_CONCAT: u8 = 8;

pub(super) const L_SHIFT: u8 = 9;

pub(super) const L_ADD: u8 = 10;

pub(super) const L_MUL: u8 = 11;

pub(super) const L_POW: u8 = 12;

/// The binary operator at `k` and its level.
pub(super) fn binary_op(k: &TokenKind) -> Option<(&'static str, u8)> {
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

pub(super) fn is_ordering(op: &str) -> bool {
    matches!(op, "<" | "<=" | ">" | ">=")
}

/// Keywords that name builtins when called (`int("4")`, `map(xs, f)`).
pub(super) fn callable_keyword(k: Keyword) -> bool {
    use Keyword::*;
    matches!(
        k,
        Int | Float | String | Bool | Bytes | Json | List | Map | Set | Tuple | Ok | Err | Parallel
    )
}
