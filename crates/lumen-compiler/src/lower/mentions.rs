//! Which names an expression or block mentions: what closures capture,
//! and which temporaries are read once.

use super::*;

/// Names an expression mentions (for closure captures).
/// (On a stack grown as needed: operator chains make deep trees.)
pub(super) fn mentions(e: &Expr, out: &mut Vec<String>) {
    stacker::maybe_grow(64 * 1024, 1024 * 1024, || mentions_inner(e, out))
}

fn mentions_inner(e: &Expr, out: &mut Vec<String>) {
    if let ExprKind::Name(n) = &e.kind {
        if !out.contains(n) {
            out.push(n.clone())
        }
        return;
    }
    let mut exprs = Vec::new();
    let mut blocks = Vec::new();
    visit_children(e, &mut |x| exprs.push(x), &mut |b| blocks.push(b));
    exprs.into_iter().for_each(|x| mentions(x, out));
    blocks.into_iter().for_each(|b| block_mentions(b, out));
}

pub(super) fn block_mentions(b: &Block, out: &mut Vec<String>) {
    for s in &b.stmts {
        match &s.kind {
            StmtKind::Let { value, .. } => mentions(value, out),
            StmtKind::Assign { target, value, .. } => {
                mentions(target, out);
                mentions(value, out);
            }
            StmtKind::Expr(e) | StmtKind::Halt(e) | StmtKind::Emit(e) => mentions(e, out),
            StmtKind::Return(Some(e)) => mentions(e, out),
            StmtKind::Break { value: Some(e), .. } => mentions(e, out),
            StmtKind::Defer(b) => block_mentions(b, out),
            _ => {}
        }
    }
}

/// Calls `f` on each direct sub-expression and `g` on each sub-block.
pub(super) fn visit_children<'a>(
    e: &'a Expr,
    f: &mut dyn FnMut(&'a Expr),
    g: &mut dyn FnMut(&'a Block),
) {
    match &e.kind {
        ExprKind::Str(segs) | ExprKind::Role { text: segs, .. } => {
            for s in segs {
                if let StrSeg::Interp { expr, .. } = s {
                    f(expr)
                }
            }
        }
        ExprKind::List(xs) | ExprKind::Set(xs) | ExprKind::Tuple(xs) => {
            xs.iter().for_each(|x| f(&x.value))
        }
        ExprKind::Map(kv) => kv.iter().for_each(|(k, v)| {
            f(k);
            f(v)
        }),
        ExprKind::Comprehension {
            elem,
            value,
            clauses,
            ..
        } => {
            for c in clauses {
                match c {
                    Clause::For { iter, .. } => f(iter),
                    Clause::If(x) => f(x),
                }
            }
            f(elem);
            if let Some(v) = value {
                f(v)
            }
        }
        ExprKind::Unary { expr, .. }
        | ExprKind::Try(expr)
        | ExprKind::Unwrap(expr)
        | ExprKind::Await(expr)
        | ExprKind::Is { expr, .. }
        | ExprKind::As { expr, .. }
        | ExprKind::ExpectSchema { expr, .. }
        | ExprKind::Field { expr, .. }
        | ExprKind::Resume(expr) => f(expr),
        ExprKind::Binary { lhs, rhs, .. } => {
            f(lhs);
            f(rhs)
        }
        ExprKind::Compare { first, rest } => {
            f(first);
            rest.iter().for_each(|(_, x)| f(x))
        }
        ExprKind::Index { expr, index, .. } => {
            f(expr);
            f(index)
        }
        ExprKind::Call { callee, args } => {
            f(callee);
            args.iter().for_each(|a| f(&a.value))
        }
        ExprKind::Perform { args, .. } => args.iter().for_each(|a| f(&a.value)),
        ExprKind::Lambda { body, params, .. } => {
            params
                .iter()
                .filter_map(|p| p.default.as_ref())
                .for_each(&mut *f);
            f(body)
        }
        ExprKind::BlockLambda { body, .. } => g(body),
        ExprKind::IfElse {
            cond,
            then,
            otherwise,
        } => {
            f(cond);
            f(then);
            f(otherwise)
        }
        ExprKind::If {
            branches,
            otherwise,
        } => {
            for (c, b) in branches {
                match c {
                    Cond::Expr(x) | Cond::Let(_, x) => f(x),
                }
                g(b)
            }
            if let Some(o) = otherwise {
                g(o)
            }
        }
        ExprKind::Match { subject, arms } => {
            f(subject);
            for a in arms {
                if let Some(x) = &a.guard {
                    f(x)
                }
                g(&a.body)
            }
        }
        ExprKind::When(arms) => {
            for (c, b) in arms {
                if let Some(c) = c {
                    f(c)
                }
                g(b)
            }
        }
        ExprKind::Loop { body, .. } | ExprKind::Do(body) | ExprKind::Comptime(body) => g(body),
        ExprKind::For {
            iter, filter, body, ..
        } => {
            f(iter);
            if let Some(x) = filter {
                f(x)
            }
            g(body)
        }
        ExprKind::While { cond, body, .. } => {
            match &**cond {
                Cond::Expr(x) | Cond::Let(_, x) => f(x),
            }
            g(body)
        }
        ExprKind::Handle { body, clauses, .. } => {
            g(body);
            clauses.iter().for_each(|c| g(&c.body))
        }
        _ => {}
    }
}
