//! `missing return` (§6.11): whether a block returns on every path;
//! `resume` in handler clauses.

use super::*;

impl Checker<'_> {
    /// §6.11: a non-Null, non-Any, non-nullable return type needs every
    /// path to end in `return`, `halt` or a value.
    pub(super) fn check_return(&mut self, decl: &CellDecl, b: &Block, last: &Ty, r: &Ty) {
        if *r == Ty::Null || r.is_any() || r.nullable() {
            return;
        }
        if !block_returns(b) {
            self.err(
                Kind::MissingReturn,
                b.end,
                format!(
                    "cell `{}` must return `{r}`, but the end of its body can be reached without a value",
                    decl.name
                ),
            );
            if let Some(d) = self.diags.last_mut() {
                d.help = Some("end every path with `return` or a final expression".into());
            }
            return;
        }
        if let Some(Stmt {
            kind: StmtKind::Expr(e),
            ..
        }) = b.stmts.last()
        {
            if !matches!(
                e.kind,
                ExprKind::If { .. }
                    | ExprKind::Match { .. }
                    | ExprKind::When(_)
                    | ExprKind::Loop { .. }
            ) {
                self.expect(last, r, e.span, &format!("result of `{}`", decl.name));
            }
        }
    }
}

/// Whether every path through the block ends in `return`, `halt`, or a
/// value (§6.11).
pub(super) fn block_returns(b: &Block) -> bool {
    b.stmts.iter().any(|s| stmt_returns(s, false))
        || b.stmts.last().is_some_and(|s| stmt_returns(s, true))
}

pub(super) fn stmt_returns(s: &Stmt, last: bool) -> bool {
    match &s.kind {
        StmtKind::Return(_) | StmtKind::Halt(_) => true,
        StmtKind::Expr(e) => expr_returns(e, last),
        _ => false,
    }
}

pub(super) fn expr_returns(e: &Expr, last: bool) -> bool {
    match &e.kind {
        ExprKind::If {
            branches,
            otherwise: Some(o),
        } => branches.iter().all(|(_, b)| block_returns(b)) && block_returns(o),
        ExprKind::If { .. } => false,
        ExprKind::Match { arms, .. } => {
            !arms.is_empty() && arms.iter().all(|a| block_returns(&a.body))
        }
        ExprKind::When(arms) => {
            arms.iter().any(|(c, _)| c.is_none()) && arms.iter().all(|(_, b)| block_returns(b))
        }
        ExprKind::Loop { body, .. } => {
            // An endless loop without break never falls through.
            let mut has_break = false;
            breaks(body, &mut |_| has_break = true);
            !has_break || last
        }
        ExprKind::Call { callee, .. } => {
            matches!(&callee.kind, ExprKind::Name(n) if n == "halt" || n == "exit") || last
        }
        ExprKind::Null => false,
        ExprKind::For { .. } | ExprKind::While { .. } => false,
        _ => last,
    }
}

/// Calls `f` for each `break` of this loop (not of nested loops).
pub(super) fn breaks(b: &Block, f: &mut dyn FnMut(Option<&Expr>)) {
    for s in &b.stmts {
        match &s.kind {
            StmtKind::Break { value, .. } => f(value.as_ref()),
            StmtKind::Expr(e) => match &e.kind {
                ExprKind::If {
                    branches,
                    otherwise,
                } => {
                    branches.iter().for_each(|(_, b)| breaks(b, f));
                    if let Some(o) = otherwise {
                        breaks(o, f);
                    }
                }
                ExprKind::Match { arms, .. } => arms.iter().for_each(|a| breaks(&a.body, f)),
                ExprKind::When(arms) => arms.iter().for_each(|(_, b)| breaks(b, f)),
                ExprKind::Do(b) => breaks(b, f),
                _ => {}
            },
            _ => {}
        }
    }
}

pub(super) fn ends_in_resume(b: &Block) -> bool {
    matches!(b.stmts.last(), Some(Stmt { kind: StmtKind::Expr(e), .. }) if matches!(e.kind, ExprKind::Resume(_)))
}

pub(super) fn check_resumes(b: &Block, f: &mut dyn FnMut(&Expr)) {
    if let Some(Stmt {
        kind: StmtKind::Expr(e),
        ..
    }) = b.stmts.last()
    {
        match &e.kind {
            ExprKind::Resume(v) => f(v),
            ExprKind::If {
                branches,
                otherwise,
            } => {
                branches.iter().for_each(|(_, b)| check_resumes(b, f));
                if let Some(o) = otherwise {
                    check_resumes(o, f);
                }
            }
            ExprKind::Match { arms, .. } => arms.iter().for_each(|a| check_resumes(&a.body, f)),
            _ => {}
        }
    }
}
