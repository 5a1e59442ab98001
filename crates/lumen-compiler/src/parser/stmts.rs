//! Statements (§5) and the block forms of expressions (§6.8): `if ...
//! end`, `match`, `when`, `loop`, `for`, `while`, `handle`, `do`,
//! `comptime` and block lambdas.
//!
//! Bodies closed by `end` ignore indentation (§3.2); match and when arms
//! and handler clauses written on the following lines are delimited by
//! columns: the body is the run of lines whose first token lies right of
//! the arm's first token.

use super::{PResult, Parser};
use crate::ast::{
    Arm, Block, Cond, Expr, ExprKind, HandleClause, Param, PatternKind, Stmt, StmtKind,
};
use crate::diag::{Diagnostic, Kind, Span};
use crate::lexer::{Keyword, TokenKind};

/// Compound assignment operators (§5.1), without their `=`.
const COMPOUND: &[(&str, &str)] = &[
    ("+=", "+"),
    ("-=", "-"),
    ("*=", "*"),
    ("/=", "/"),
    ("//=", "//"),
    ("%=", "%"),
    ("**=", "**"),
    ("&=", "&"),
    ("|=", "|"),
    ("^=", "^"),
];

impl Parser<'_> {
    /// Skips line structure: NEWLINE, INDENT, DEDENT and `;`.
    pub(super) fn skip_layout(&mut self) {
        while matches!(
            self.peek(),
            TokenKind::Newline | TokenKind::Indent | TokenKind::Dedent | TokenKind::Sym(";")
        ) {
            self.pos += 1;
        }
    }

    /// Skips line structure; true at the `end` of the enclosing body (or
    /// the end of the file).
    pub(super) fn at_body_end(&mut self) -> bool {
        self.skip_layout();
        self.at_kw(Keyword::End) || matches!(self.peek(), TokenKind::Eof)
    }

    pub(super) fn at_line_end(&self) -> bool {
        matches!(
            self.peek(),
            TokenKind::Newline
                | TokenKind::Eof
                | TokenKind::Dedent
                | TokenKind::Indent
                | TokenKind::Sym(";")
        )
    }

    /// After a statement: the end of the line, `;`, or a closing keyword.
    pub(super) fn end_of_stmt(&mut self) -> PResult<()> {
        if self.at_line_end() || self.at_kw(Keyword::End) || self.at_kw(Keyword::Else) {
            return Ok(());
        }
        Err(self.error("the end of the statement (a new line or `;`)"))
    }

    /// Records that the current line starts at block level `level` (the
    /// formatter's indentation).
    pub(super) fn mark(&mut self, level: u32) {
        let line = self.span().line;
        if self.marks.last().map(|m| m.0) != Some(line) {
            self.marks.push((line, level));
        }
    }

    /// Statements up to (not including) one of `stops` at this level.
    pub(super) fn block_until(&mut self, stops: &[Keyword]) -> PResult<Block> {
        let level = self.level;
        self.level += 1;
        let r = self.block_until_inner(stops);
        self.level = level;
        let mut b = r?;
        self.skip_layout();
        if matches!(self.peek(), TokenKind::Eof) {
            return Err(self.error(&format!(
                "`{}` to close the block",
                stops.first().map(|k| k.as_str()).unwrap_or("end")
            )));
        }
        self.mark(level);
        b.end = self.span();
        Ok(b)
    }

    fn block_until_inner(&mut self, stops: &[Keyword]) -> PResult<Block> {
        let mut stmts = Vec::new();
        loop {
            self.skip_layout();
            match self.peek() {
                TokenKind::Eof => break,
                TokenKind::Kw(k) if stops.contains(k) => break,
                _ => {}
            }
            stmts.push(self.stmt()?);
        }
        Ok(Block {
            stmts,
            end: self.span(),
        })
    }

    /// An arm or clause body after `->`/`=>`: one statement on the same
    /// line, or the following lines right of column `col`.
    fn arm_body(&mut self, col: u32) -> PResult<Block> {
        if !self.at_line_end() {
            let s = self.stmt()?;
            return Ok(Block {
                end: s.span,
                stmts: vec![s],
            });
        }
        let level = self.level;
        self.level += 1;
        let mut stmts = Vec::new();
        let r = loop {
            self.skip_layout();
            if matches!(self.peek(), TokenKind::Eof) || self.span().col <= col {
                break Ok(());
            }
            match self.stmt() {
                Ok(s) => stmts.push(s),
                Err(e) => break Err(e),
            }
        };
        self.level = level;
        r?;
        if stmts.is_empty() {
            return Err(self.error("the arm's body (on the same line or indented below it)"));
        }
        Ok(Block {
            end: stmts.last().map(|s| s.span).unwrap_or_default(),
            stmts,
        })
    }

    /// One statement (§5).
    pub fn stmt(&mut self) -> PResult<Stmt> {
        self.mark(self.level);
        let span = self.span();
        let s = |kind| Ok(Stmt { kind, span });
        let kind = match self.peek() {
            TokenKind::Kw(Keyword::Let) => {
                self.pos += 1;
                let mutable = self.at_kw(Keyword::Mut);
                if mutable {
                    self.pos += 1;
                }
                // `let name: Type = ...`: the whole type, unions included
                // (inside a pattern `|` would separate alternatives).
                if self.name_at(0).is_some() && matches!(self.peek_at(1), TokenKind::Sym(":")) {
                    let pspan = self.span();
                    let name = self.ident("a name")?;
                    self.pos += 1;
                    let ty = Some(self.parse_type()?);
                    self.expect_sym("=")?;
                    let value = self.parse_expr()?;
                    self.end_of_stmt()?;
                    return s(StmtKind::Let {
                        pattern: crate::ast::Pattern {
                            kind: PatternKind::Bind(name),
                            span: pspan,
                        },
                        mutable,
                        ty,
                        value,
                    });
                }
                let mut pattern = self.parse_pattern()?;
                let mut ty = None;
                if let PatternKind::Typed { name, ty: t } = &pattern.kind {
                    ty = Some(t.clone());
                    pattern.kind = PatternKind::Bind(name.clone());
                }
                if ty.is_none() && self.eat_sym(":") {
                    ty = Some(self.parse_type()?);
                }
                self.expect_sym("=")?;
                let value = self.parse_expr()?;
                StmtKind::Let {
                    pattern,
                    mutable,
                    ty,
                    value,
                }
            }
            TokenKind::Kw(Keyword::Return) => {
                self.pos += 1;
                let v = if self.at_line_end() || self.at_kw(Keyword::End) {
                    None
                } else {
                    Some(self.parse_expr()?)
                };
                StmtKind::Return(v)
            }
            TokenKind::Kw(Keyword::Break) => {
                self.pos += 1;
                let label = self.label()?;
                let value = if self.at_line_end() || self.at_kw(Keyword::End) {
                    None
                } else {
                    Some(self.parse_expr()?)
                };
                StmtKind::Break { label, value }
            }
            TokenKind::Kw(Keyword::Continue) => {
                self.pos += 1;
                StmtKind::Continue(self.label()?)
            }
            TokenKind::Kw(Keyword::Halt) => {
                self.pos += 1;
                StmtKind::Halt(self.parse_expr()?)
            }
            TokenKind::Kw(Keyword::Emit) => {
                self.pos += 1;
                StmtKind::Emit(self.parse_expr()?)
            }
            TokenKind::Kw(Keyword::Defer) => {
                self.pos += 1;
                let body = self.block_until(&[Keyword::End])?;
                self.expect_kw(Keyword::End)?;
                StmtKind::Defer(body)
            }
            TokenKind::Kw(Keyword::Yield) => {
                return Err(Diagnostic::error(
                    Kind::ParseError,
                    span,
                    "`yield` is reserved (generators are later work)",
                ))
            }
            TokenKind::Kw(Keyword::Cell | Keyword::Async | Keyword::Extern) => {
                let c = self.cell_decl(Default::default(), false)?;
                return s(StmtKind::Cell(Box::new(c)));
            }
            // `assert cond` / `assert cond, "message"`: the statement form
            // of the `assert` built-in.
            TokenKind::Ident(w)
                if w == "assert"
                    && !matches!(self.peek_at(1), TokenKind::Sym("(" | "=" | "." | "["))
                    && !matches!(self.peek_at(1), TokenKind::Newline | TokenKind::Eof) =>
            {
                let callee_span = self.span();
                self.pos += 1;
                let mut args = vec![crate::ast::Arg {
                    name: None,
                    value: self.parse_expr()?,
                    spread: false,
                }];
                if self.eat_sym(",") {
                    args.push(crate::ast::Arg {
                        name: None,
                        value: self.parse_expr()?,
                        spread: false,
                    });
                }
                StmtKind::Expr(crate::ast::Expr {
                    kind: crate::ast::ExprKind::Call {
                        callee: Box::new(crate::ast::Expr {
                            kind: crate::ast::ExprKind::Name("assert".into()),
                            span: callee_span,
                        }),
                        args,
                    },
                    span,
                })
            }
            TokenKind::Kw(Keyword::For) => StmtKind::Expr(self.for_loop()?),
            TokenKind::Kw(Keyword::While) => StmtKind::Expr(self.while_loop()?),
            _ => {
                let e = self.parse_expr()?;
                let op = match self.peek() {
                    TokenKind::Sym("=") => Some(None),
                    TokenKind::Sym(s) => {
                        COMPOUND.iter().find(|(c, _)| c == s).map(|(_, o)| Some(*o))
                    }
                    _ => None,
                };
                match op {
                    Some(op) => {
                        self.pos += 1;
                        let value = self.parse_expr()?;
                        StmtKind::Assign {
                            target: e,
                            op,
                            value,
                        }
                    }
                    None => StmtKind::Expr(e),
                }
            }
        };
        self.end_of_stmt()?;
        s(kind)
    }

    /// `@name` after `for`, `while`, `loop`, `break`, `continue`.
    fn label(&mut self) -> PResult<Option<String>> {
        if self.eat_sym("@") {
            Ok(Some(self.ident("a label name")?))
        } else {
            Ok(None)
        }
    }

    fn cond(&mut self) -> PResult<Cond> {
        if self.at_kw(Keyword::Let) {
            self.pos += 1;
            let p = self.parse_pattern()?;
            self.expect_sym("=")?;
            Ok(Cond::Let(p, self.parse_expr()?))
        } else {
            Ok(Cond::Expr(self.parse_expr()?))
        }
    }

    fn for_loop(&mut self) -> PResult<Expr> {
        let span = self.span();
        self.pos += 1;
        let label = self.label()?;
        let pattern = self.parse_pattern()?;
        self.expect_kw(Keyword::In)?;
        let iter = Box::new(self.expr_bp(super::L_XOR)?);
        let filter = if self.at_kw(Keyword::If) {
            self.pos += 1;
            Some(Box::new(self.parse_expr()?))
        } else {
            None
        };
        let body = self.block_until(&[Keyword::End])?;
        self.expect_kw(Keyword::End)?;
        Ok(Expr {
            kind: ExprKind::For {
                label,
                pattern,
                iter,
                filter,
                body,
            },
            span,
        })
    }

    fn while_loop(&mut self) -> PResult<Expr> {
        let span = self.span();
        self.pos += 1;
        let label = self.label()?;
        let cond = Box::new(self.cond()?);
        let body = self.block_until(&[Keyword::End])?;
        self.expect_kw(Keyword::End)?;
        Ok(Expr {
            kind: ExprKind::While { label, cond, body },
            span,
        })
    }

    /// `if` after its keyword: the inline `then` form or the block chain.
    pub(super) fn if_expr(&mut self, span: Span) -> PResult<Expr> {
        let cond = self.cond()?;
        if self.at_kw(Keyword::Then) {
            let Cond::Expr(cond) = cond else {
                return Err(self.error("a block after `if let` (the inline form takes a Bool)"));
            };
            self.pos += 1;
            let then = self.parse_expr()?;
            self.expect_kw(Keyword::Else)?;
            let otherwise = self.parse_expr()?;
            return Ok(Expr {
                kind: ExprKind::IfElse {
                    cond: Box::new(cond),
                    then: Box::new(then),
                    otherwise: Box::new(otherwise),
                },
                span,
            });
        }
        let mut branches = vec![(cond, self.block_until(&[Keyword::Else, Keyword::End])?)];
        let mut otherwise = None;
        while self.at_kw(Keyword::Else) {
            self.pos += 1;
            if self.at_kw(Keyword::If) {
                self.pos += 1;
                let c = self.cond()?;
                branches.push((c, self.block_until(&[Keyword::Else, Keyword::End])?));
            } else {
                otherwise = Some(self.block_until(&[Keyword::End])?);
                break;
            }
        }
        self.expect_kw(Keyword::End)?;
        Ok(Expr {
            kind: ExprKind::If {
                branches,
                otherwise,
            },
            span,
        })
    }

    pub(super) fn match_expr(&mut self, span: Span) -> PResult<Expr> {
        let subject = Box::new(self.parse_expr()?);
        let mut arms = Vec::new();
        let level = self.level;
        loop {
            if self.at_body_end() {
                break;
            }
            self.mark(level + 1);
            let col = self.span().col;
            let pattern = self.parse_pattern()?;
            let guard = if self.at_kw(Keyword::If) {
                self.pos += 1;
                Some(self.parse_expr()?)
            } else {
                None
            };
            self.expect_sym("->")?;
            self.level = level + 1;
            let body = self.arm_body(col);
            self.level = level;
            arms.push(Arm {
                pattern,
                guard,
                body: body?,
            });
        }
        self.mark(level);
        self.expect_kw(Keyword::End)?;
        Ok(Expr {
            kind: ExprKind::Match { subject, arms },
            span,
        })
    }

    pub(super) fn when_expr(&mut self, span: Span) -> PResult<Expr> {
        let mut arms = Vec::new();
        let level = self.level;
        loop {
            if self.at_body_end() {
                break;
            }
            self.mark(level + 1);
            let col = self.span().col;
            let cond = if matches!(self.peek(), TokenKind::Ident(n) if n == "_")
                && matches!(self.peek_at(1), TokenKind::Sym("->"))
            {
                self.pos += 1;
                None
            } else {
                Some(self.parse_expr()?)
            };
            self.expect_sym("->")?;
            self.level = level + 1;
            let body = self.arm_body(col);
            self.level = level;
            arms.push((cond, body?));
        }
        self.mark(level);
        self.expect_kw(Keyword::End)?;
        Ok(Expr {
            kind: ExprKind::When(arms),
            span,
        })
    }

    pub(super) fn loop_expr(&mut self, span: Span) -> PResult<Expr> {
        let label = self.label()?;
        let body = self.block_until(&[Keyword::End])?;
        self.expect_kw(Keyword::End)?;
        Ok(Expr {
            kind: ExprKind::Loop { label, body },
            span,
        })
    }

    /// `do ... end` and `comptime ... end`.
    pub(super) fn block_expr(&mut self, span: Span, comptime: bool) -> PResult<Expr> {
        let body = self.block_until(&[Keyword::End])?;
        self.expect_kw(Keyword::End)?;
        Ok(Expr {
            kind: if comptime {
                ExprKind::Comptime(body)
            } else {
                ExprKind::Do(body)
            },
            span,
        })
    }

    pub(super) fn handle_expr(&mut self, span: Span) -> PResult<Expr> {
        let body = self.block_until(&[Keyword::With])?;
        self.expect_kw(Keyword::With)?;
        let level = self.level;
        let mut clauses = Vec::new();
        let mut handlers = Vec::new();
        loop {
            self.skip_layout();
            while self.eat_sym(",") {
                self.skip_layout();
            }
            if self.at_kw(Keyword::End) || matches!(self.peek(), TokenKind::Eof) {
                break;
            }
            self.mark(level + 1);
            let cspan = self.span();
            let col = cspan.col;
            let name = self.ident("an effect operation `E.op(...)` or a handler name")?;
            if !self.at_sym(".") {
                handlers.push((name, cspan));
                continue;
            }
            self.pos += 1;
            let op = self.ident("an operation name")?;
            self.expect_sym("(")?;
            let params = self.list(")", |p| match p.peek() {
                TokenKind::Ident(n) if n == "_" => {
                    p.pos += 1;
                    Ok("_".to_string())
                }
                _ => p.ident("a parameter name"),
            })?;
            self.expect_sym("=>")?;
            self.level = level + 1;
            let body = self.arm_body(col);
            self.level = level;
            clauses.push(HandleClause {
                effect: name,
                op,
                params,
                body: body?,
                span: cspan,
            });
        }
        self.mark(level);
        self.expect_kw(Keyword::End)?;
        Ok(Expr {
            kind: ExprKind::Handle {
                body,
                clauses,
                handlers,
            },
            span,
        })
    }

    /// A block lambda's body after its header (`fn(...) [-> T]` or
    /// `do |x|`).
    pub(super) fn block_lambda(
        &mut self,
        span: Span,
        params: Vec<Param>,
        ret: Option<crate::ast::TypeExpr>,
    ) -> PResult<Expr> {
        let body = self.block_until(&[Keyword::End])?;
        self.expect_kw(Keyword::End)?;
        Ok(Expr {
            kind: ExprKind::BlockLambda { params, ret, body },
            span,
        })
    }

    /// `do |a, b|` (the bars optional) after a call: a trailing block.
    pub(super) fn trailing_block(&mut self) -> PResult<Expr> {
        let span = self.span();
        self.pos += 1;
        let mut params = Vec::new();
        if self.eat_sym("|") {
            while !self.at_sym("|") {
                params.push(self.param_no_union()?);
                if !self.eat_sym(",") {
                    break;
                }
            }
            self.expect_sym("|")?;
        }
        self.block_lambda(span, params, None)
    }

    /// A parameter between bars: its type may not contain a bare `|`.
    fn param_no_union(&mut self) -> PResult<Param> {
        let name = self.ident("a parameter name")?;
        let ty = if self.eat_sym(":") {
            Some(self.type_optional()?)
        } else {
            None
        };
        Ok(Param {
            name,
            ty,
            default: None,
            variadic: false,
        })
    }
}
