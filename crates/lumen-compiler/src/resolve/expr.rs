//! Expressions: names used, lambdas and their captures, and the block
//! forms, each resolved in its scope.

use super::*;

impl Resolver<'_> {
    pub(super) fn expr(&mut self, cx: &mut Ctx, e: &Expr) {
        stacker::maybe_grow(64 * 1024, 1024 * 1024, || self.expr_inner(cx, e))
    }

    pub(super) fn expr_inner(&mut self, cx: &mut Ctx, e: &Expr) {
        match &e.kind {
            ExprKind::Int(_)
            | ExprKind::Float(_)
            | ExprKind::RawStr(_)
            | ExprKind::Bytes(_)
            | ExprKind::Bool(_)
            | ExprKind::Null => {}
            ExprKind::Str(segs) | ExprKind::Role { text: segs, .. } => {
                for s in segs {
                    if let StrSeg::Interp { expr, .. } = s {
                        self.expr(cx, expr);
                    }
                }
            }
            ExprKind::Name(n) => self.name_use(cx, n, e.span, false),
            ExprKind::List(items) | ExprKind::Set(items) | ExprKind::Tuple(items) => {
                items.iter().for_each(|i| self.expr(cx, &i.value))
            }
            ExprKind::Map(entries) => {
                for (k, v) in entries {
                    self.expr(cx, k);
                    self.expr(cx, v);
                }
            }
            ExprKind::Comprehension {
                elem,
                value,
                clauses,
                ..
            } => self.comprehension_expr(cx, elem, value, clauses),
            ExprKind::Unary { expr, .. }
            | ExprKind::Try(expr)
            | ExprKind::Unwrap(expr)
            | ExprKind::Await(expr) => {
                self.expr(cx, expr);
                if matches!(e.kind, ExprKind::Await(_)) {
                    self.effect(cx, "async", e.span);
                }
            }
            ExprKind::Binary { lhs, rhs, .. } => {
                self.expr(cx, lhs);
                self.expr(cx, rhs);
            }
            ExprKind::Compare { first, rest } => {
                self.expr(cx, first);
                rest.iter().for_each(|(_, x)| self.expr(cx, x));
            }
            ExprKind::Is { expr, ty }
            | ExprKind::As { expr, ty }
            | ExprKind::ExpectSchema { expr, ty } => {
                self.expr(cx, expr);
                let g = cx.generics.clone();
                self.type_expr(ty, &g, e.span);
            }
            ExprKind::Field { expr, name, .. } => {
                // `Type.m` / `Enum.Variant` / `Trait.m` need no value.
                if let ExprKind::Name(t) = &expr.kind {
                    if self.lookup(cx, t).is_none() && self.sy.types.contains_key(t) {
                        self.qualified(cx, t, name, e.span);
                        return;
                    }
                }
                self.expr(cx, expr);
            }
            ExprKind::Index { expr, index, .. } => {
                self.expr(cx, expr);
                self.expr(cx, index);
            }
            ExprKind::Call { callee, args } => self.call_expr(cx, callee, args),
            ExprKind::Lambda { params, ret, body } => {
                self.push(cx, true);
                self.lambda_params(cx, params, ret.as_ref(), e.span);
                let loops = std::mem::take(&mut cx.loops);
                let d = std::mem::replace(&mut cx.in_defer, false);
                self.expr(cx, body);
                cx.loops = loops;
                cx.in_defer = d;
                self.pop_scope_warn(cx);
            }
            ExprKind::BlockLambda { params, ret, body } => {
                self.push(cx, true);
                self.lambda_params(cx, params, ret.as_ref(), e.span);
                let loops = std::mem::take(&mut cx.loops);
                let d = std::mem::replace(&mut cx.in_defer, false);
                self.block(cx, body, false);
                cx.loops = loops;
                cx.in_defer = d;
                self.pop_scope_warn(cx);
            }
            ExprKind::IfElse {
                cond,
                then,
                otherwise,
            } => {
                self.expr(cx, cond);
                self.expr(cx, then);
                self.expr(cx, otherwise);
            }
            ExprKind::Perform { effect, op, args } => self.perform_expr(cx, e, effect, op, args),
            ExprKind::If {
                branches,
                otherwise,
            } => self.if_expr(cx, branches, otherwise),
            ExprKind::Match { subject, arms } => self.match_expr(cx, subject, arms),
            ExprKind::When(arms) => {
                for (c, b) in arms {
                    if let Some(c) = c {
                        self.expr(cx, c);
                    }
                    self.block(cx, b, true);
                }
            }
            ExprKind::Loop { label, body } => {
                cx.loops.push((label.clone(), true));
                self.block(cx, body, true);
                cx.loops.pop();
            }
            ExprKind::For {
                label,
                pattern,
                iter,
                filter,
                body,
            } => self.for_expr(cx, label, pattern, iter, filter, body),
            ExprKind::While { label, cond, body } => {
                self.push(cx, false);
                self.cond(cx, cond);
                cx.loops.push((label.clone(), false));
                self.block(cx, body, true);
                cx.loops.pop();
                self.pop_scope_warn(cx);
            }
            ExprKind::Handle {
                body,
                clauses,
                handlers,
            } => self.handle_expr(cx, e, body, clauses, handlers),
            ExprKind::Do(b) | ExprKind::Comptime(b) => self.block(cx, b, true),
            ExprKind::Resume(v) => self.resume_expr(cx, e, v),
        }
    }
}

impl Resolver<'_> {
    /// `Comprehension`.
    fn comprehension_expr(
        &mut self,
        cx: &mut Ctx,
        elem: &Expr,
        value: &Option<Box<Expr>>,
        clauses: &[Clause],
    ) {
        self.push(cx, false);
        for c in clauses {
            match c {
                Clause::For { pattern, iter } => {
                    self.expr(cx, iter);
                    self.bind_pattern(cx, pattern, false, false);
                }
                Clause::If(c) => self.expr(cx, c),
            }
        }
        self.expr(cx, elem);
        if let Some(v) = value {
            self.expr(cx, v);
        }
        self.pop_scope_warn(cx);
    }

    /// `Call`.
    fn call_expr(&mut self, cx: &mut Ctx, callee: &Expr, args: &[Arg]) {
        match &callee.kind {
            ExprKind::Name(n) if self.sy.tools.contains_key(n) && self.lookup(cx, n).is_none() => {
                self.tool_call(cx, n, callee.span)
            }
            ExprKind::Name(n) => self.name_use(cx, n, callee.span, true),
            ExprKind::Field { expr, name, .. } => {
                let qualified = matches!(&expr.kind, ExprKind::Name(t)
                    if self.lookup(cx, t).is_none() && self.sy.types.contains_key(t));
                if qualified {
                    self.expr(cx, callee);
                } else {
                    self.expr(cx, expr);
                    // Uniform call syntax reaches top-level cells.
                    if let Some(ValueDef::Cell(id)) = self.sy.values.get(name) {
                        let id = *id;
                        if let Some(c) = self.calls.get_mut(cx.cell) {
                            c.insert(id);
                        }
                    } else if let Some(b) = builtins::lookup(name) {
                        if let Some(ef) = b.effect {
                            self.effect(cx, ef, callee.span);
                        }
                    } else {
                        // A method of some type: every method of
                        // that name may run.
                        let ids: Vec<usize> = self
                            .sy
                            .methods
                            .values()
                            .filter_map(|m| m.get(name).copied())
                            .collect();
                        if let Some(c) = self.calls.get_mut(cx.cell) {
                            c.extend(ids);
                        }
                    }
                }
            }
            _ => self.expr(cx, callee),
        }
        args.iter().for_each(|a| self.expr(cx, &a.value));
    }

    /// `Perform`.
    fn perform_expr(&mut self, cx: &mut Ctx, e: &Expr, effect: &str, op: &str, args: &[Arg]) {
        self.effect(cx, effect, e.span);
        match self.sy.types.get(effect) {
            Some(TypeDef::Effect { ops }) => {
                if !ops.iter().any(|o| o.name == op) {
                    self.err(
                        Kind::UndefinedCell,
                        e.span,
                        format!("effect `{effect}` has no operation `{op}`"),
                    );
                }
            }
            _ => self.unresolved(
                Kind::UndefinedType,
                e.span,
                format!("no effect named `{effect}`"),
                None,
            ),
        }
        args.iter().for_each(|a| self.expr(cx, &a.value));
    }

    /// `If`.
    fn if_expr(&mut self, cx: &mut Ctx, branches: &[(Cond, Block)], otherwise: &Option<Block>) {
        for (c, b) in branches {
            self.push(cx, false);
            self.cond(cx, c);
            self.block(cx, b, false);
            self.pop_scope_warn(cx);
        }
        if let Some(b) = otherwise {
            self.block(cx, b, true);
        }
    }

    /// `Match`.
    fn match_expr(&mut self, cx: &mut Ctx, subject: &Expr, arms: &[Arm]) {
        self.expr(cx, subject);
        for a in arms {
            self.push(cx, false);
            self.bind_pattern(cx, &a.pattern, false, false);
            if let Some(g) = &a.guard {
                self.expr(cx, g);
            }
            self.block(cx, &a.body, false);
            self.pop_scope_warn(cx);
        }
    }

    /// `For`.
    fn for_expr(
        &mut self,
        cx: &mut Ctx,
        label: &Option<String>,
        pattern: &Pattern,
        iter: &Expr,
        filter: &Option<Box<Expr>>,
        body: &Block,
    ) {
        self.expr(cx, iter);
        self.push(cx, false);
        self.bind_pattern(cx, pattern, false, false);
        for l in cx.scopes.last_mut().expect("scope").names.values_mut() {
            l.loop_var = true;
        }
        if let Some(f) = filter {
            self.expr(cx, f);
        }
        cx.loops.push((label.clone(), false));
        self.block(cx, body, true);
        cx.loops.pop();
        self.pop_scope_warn(cx);
    }

    /// `Handle`.
    fn handle_expr(
        &mut self,
        cx: &mut Ctx,
        e: &Expr,
        body: &Block,
        clauses: &[HandleClause],
        handlers: &[(String, Span)],
    ) {
        // Effects of the body that a clause handles are discharged.
        let idx = cx.cell;
        let saved = self
            .direct
            .get_mut(idx)
            .map(std::mem::take)
            .unwrap_or_default();
        let saved_calls = self.calls.get(cx.cell).cloned();
        self.block(cx, body, true);
        let mut handled: BTreeSet<String> = clauses.iter().map(|c| c.effect.clone()).collect();
        for (h, span) in handlers {
            match self.sy.handlers.get(h) {
                Some(ops) => handled.extend(ops.iter().map(|o| o.0.clone())),
                None => self.unresolved(
                    Kind::UndefinedVariable,
                    *span,
                    format!("no handler named `{h}`"),
                    None,
                ),
            }
        }
        // Effects reached through calls inside the body are
        // resolved later; record them as direct effects now.
        let body_calls: Vec<usize> = match (&saved_calls, self.calls.get(cx.cell)) {
            (Some(before), Some(after)) => after.difference(before).copied().collect(),
            _ => Vec::new(),
        };
        if let Some(c) = self.calls.get_mut(cx.cell) {
            if let Some(before) = saved_calls {
                *c = before;
            }
        }
        if let Some(slot) = self.direct.get_mut(idx) {
            let inner = std::mem::replace(slot, saved);
            for (k, v) in inner {
                if !handled.contains(&k) {
                    slot.entry(k).or_insert(v);
                }
            }
        }
        self.pending_handled
            .push((idx, body_calls, handled.clone(), e.span));
        for c in clauses {
            match self.sy.types.get(&c.effect) {
                Some(TypeDef::Effect { ops }) => {
                    if !ops.iter().any(|o| o.name == c.op) {
                        self.err(
                            Kind::UndefinedCell,
                            c.span,
                            format!("effect `{}` has no operation `{}`", c.effect, c.op),
                        );
                    }
                }
                _ => self.unresolved(
                    Kind::UndefinedType,
                    c.span,
                    format!("no effect named `{}`", c.effect),
                    None,
                ),
            }
            self.push(cx, false);
            for p in &c.params {
                cx.scopes
                    .last_mut()
                    .expect("scope")
                    .names
                    .insert(p.clone(), local(false, c.span));
            }
            tail_resumes(&c.body, &mut cx.resume_ok);
            // A clause runs in its own frame: `break` and
            // `continue` cannot leave it for a loop outside.
            let loops = std::mem::take(&mut cx.loops);
            self.block(cx, &c.body, false);
            cx.loops = loops;
            self.pop_scope_warn(cx);
        }
    }

    /// `Resume`.
    fn resume_expr(&mut self, cx: &mut Ctx, e: &Expr, v: &Expr) {
        if !cx.resume_ok.contains(&(e as *const Expr as usize)) {
            self.err(
                Kind::ParseError,
                e.span,
                "resume must be in tail position".into(),
            )
            .help = Some("make `resume(v)` the last expression of the handler clause".into());
        }
        self.expr(cx, v);
    }
}
