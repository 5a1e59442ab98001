//! The block forms and the larger expressions, each lowered by a method
//! of its own that `expr_inner` calls.

use super::*;

impl Lowerer<'_> {
    /// `Comprehension`.
    pub(super) fn comprehension_expr(
        &mut self,
        f: &mut Func,
        dst: u32,
        kind: &Collection,
        elem: &Expr,
        value: &Option<Box<Expr>>,
        clauses: &[Clause],
    ) {
        let d = dst as i64;
        let acc = f.reg();
        match kind {
            Collection::List => f.emit(Op::MakeList, acc as i64, 0, 0),
            Collection::Set => f.emit(Op::MakeSet, acc as i64, 0, 0),
            Collection::Map => f.emit(Op::MakeMap, acc as i64, 0, 0),
        };
        f.scopes.push(HashMap::new());
        self.comprehension(f, clauses, &|l, f| {
            if let Some(v) = value {
                let pair = f.regs(2);
                l.expr(f, elem, pair);
                l.expr(f, v, pair + 1);
                f.emit(Op::Insert, acc as i64, pair as i64, 0);
            } else {
                let r = f.reg();
                l.expr(f, elem, r);
                f.mark_single_use(r);
                f.emit(Op::Push, acc as i64, r as i64, 0);
            }
        });
        f.scopes.pop();
        f.emit(Op::Move, d, acc as i64, 0);
    }

    /// `Binary`.
    pub(super) fn binary_expr(
        &mut self,
        f: &mut Func,
        dst: u32,
        e: &Expr,
        op: &'static str,
        lhs: &Expr,
        rhs: &Expr,
    ) {
        let d = dst as i64;
        match op {
            "and" | "or" => {
                self.expr(f, lhs, dst);
                let j = f.emit(
                    if op == "and" {
                        Op::JumpIfFalse
                    } else {
                        Op::JumpIfTrue
                    },
                    d,
                    0,
                    0,
                );
                self.expr(f, rhs, dst);
                f.patch(j);
            }
            "??" => {
                self.expr(f, lhs, dst);
                let j = f.emit(Op::JumpIfNotNull, d, 0, 0);
                self.expr(f, rhs, dst);
                f.patch(j);
            }
            "|>" => {
                // The left side is evaluated once into a register that a
                // hidden local names, and the call reads that local: no
                // copy of the left tree (a chain of n pipes was O(n^2)).
                let t = f.reg();
                self.expr(f, lhs, t);
                let hidden = format!("\u{0}pipe{t}");
                f.scopes.push(HashMap::new());
                f.bind(&hidden, t);
                let piped = Arg {
                    name: None,
                    value: Expr {
                        kind: ExprKind::Name(hidden),
                        span: lhs.span,
                    },
                    spread: false,
                };
                let call = match &rhs.kind {
                    ExprKind::Call { callee, args } => {
                        let mut a = vec![piped];
                        a.extend(args.iter().cloned());
                        ExprKind::Call {
                            callee: callee.clone(),
                            args: a,
                        }
                    }
                    _ => ExprKind::Call {
                        callee: Box::new(rhs.clone()),
                        args: vec![piped],
                    },
                };
                self.expr(
                    f,
                    &Expr {
                        kind: call,
                        span: e.span,
                    },
                    dst,
                );
                f.scopes.pop();
            }
            _ => {
                let (a, b) = self.operands(f, lhs, rhs);
                f.emit(bop(op).unwrap_or(Op::Eq), d, a as i64, b as i64);
            }
        }
    }

    /// `Compare`.
    pub(super) fn compare_expr(
        &mut self,
        f: &mut Func,
        dst: u32,
        first: &Expr,
        rest: &[(&'static str, Expr)],
    ) {
        let d = dst as i64;
        let mut prev = f.reg();
        self.expr(f, first, prev);
        let mut ends = Vec::new();
        for (i, (op, x)) in rest.iter().enumerate() {
            let r = f.reg();
            self.expr(f, x, r);
            f.emit(bop(op).unwrap_or(Op::Lt), d, prev as i64, r as i64);
            if i + 1 < rest.len() {
                ends.push(f.emit(Op::JumpIfFalse, d, 0, 0));
            }
            prev = r;
        }
        for j in ends {
            f.patch(j);
        }
    }

    /// `Field`.
    pub(super) fn field_expr(
        &mut self,
        f: &mut Func,
        dst: u32,
        expr: &Expr,
        name: &str,
        safe: bool,
    ) {
        let d = dst as i64;
        if let ExprKind::Name(t) = &expr.kind {
            if f.local(t).is_none() && self.sy.types.contains_key(t) {
                return self.qualified_value(f, t, name, dst);
            }
        }
        let r = self.operand(f, expr);
        let j = safe.then(|| f.emit(Op::JumpIfNull, r as i64, 0, 0));
        let k = f.konst(json!(name));
        f.emit(Op::GetField, d, r as i64, k);
        if let Some(j) = j {
            let end = f.emit(Op::Jump, 0, 0, 0);
            f.patch(j);
            f.emit(Op::LoadNull, d, 0, 0);
            f.patch(end);
        }
    }

    /// `Index`.
    pub(super) fn index_expr(
        &mut self,
        f: &mut Func,
        dst: u32,
        expr: &Expr,
        index: &Expr,
        safe: bool,
    ) {
        let d = dst as i64;
        let r = if simple(index) {
            self.operand(f, expr)
        } else {
            let r = f.reg();
            self.expr(f, expr, r);
            r
        };
        let j = safe.then(|| f.emit(Op::JumpIfNull, r as i64, 0, 0));
        let i = self.operand(f, index);
        f.emit(Op::GetIndex, d, r as i64, i as i64);
        if let Some(j) = j {
            let end = f.emit(Op::Jump, 0, 0, 0);
            f.patch(j);
            f.emit(Op::LoadNull, d, 0, 0);
            f.patch(end);
        }
    }

    /// `IfElse`.
    pub(super) fn if_else_expr(
        &mut self,
        f: &mut Func,
        dst: u32,
        cond: &Expr,
        then: &Expr,
        otherwise: &Expr,
    ) {
        let c = f.reg();
        self.expr(f, cond, c);
        let j = f.emit(Op::JumpIfFalse, c as i64, 0, 1);
        self.expr(f, then, dst);
        let end = f.emit(Op::Jump, 0, 0, 0);
        f.patch(j);
        self.expr(f, otherwise, dst);
        f.patch(end);
    }

    /// `Perform`.
    pub(super) fn perform_expr(
        &mut self,
        f: &mut Func,
        dst: u32,
        effect: &str,
        op: &str,
        args: &[Arg],
    ) {
        let d = dst as i64;
        let params = match self.sy.types.get(effect) {
            Some(TypeDef::Effect { ops }) => {
                ops.iter().find(|o| o.name == op).map(|o| o.params.clone())
            }
            _ => None,
        };
        let base = f.reg();
        let n = self.args_for(f, params.as_deref(), args, base, 0);
        let k = f.konst(json!(format!("{effect}.{op}")));
        f.emit(Op::Perform, base as i64, k, n as i64);
        f.emit(Op::Move, d, base as i64, 0);
    }

    /// `Match`.
    pub(super) fn match_expr(&mut self, f: &mut Func, dst: u32, subject: &Expr, arms: &[Arm]) {
        let s = f.reg();
        self.expr(f, subject, s);
        let mut ends = Vec::new();
        for a in arms {
            f.scopes.push(HashMap::new());
            let mut fails = Vec::new();
            let mut binds = HashMap::new();
            self.pattern(f, &a.pattern, s, &mut fails, &mut binds);
            for (n, r) in binds {
                f.bind(&n, r);
            }
            if let Some(g) = &a.guard {
                let r = f.reg();
                self.expr(f, g, r);
                fails.push(f.emit(Op::JumpIfFalse, r as i64, 0, 0));
            }
            self.block(f, &a.body, dst);
            f.scopes.pop();
            ends.push(f.emit(Op::Jump, 0, 0, 0));
            for x in fails {
                f.patch(x);
            }
        }
        f.emit(Op::MatchFail, s as i64, 0, 0);
        for j in ends {
            f.patch(j);
        }
    }

    /// `When`.
    pub(super) fn when_expr(&mut self, f: &mut Func, dst: u32, arms: &[(Option<Expr>, Block)]) {
        let d = dst as i64;
        let mut ends = Vec::new();
        for (c, b) in arms {
            let fail = c.as_ref().map(|c| {
                let r = f.reg();
                self.expr(f, c, r);
                f.emit(Op::JumpIfFalse, r as i64, 0, 0)
            });
            self.block(f, b, dst);
            ends.push(f.emit(Op::Jump, 0, 0, 0));
            if let Some(x) = fail {
                f.patch(x);
            }
        }
        f.emit(Op::LoadNull, d, 0, 0);
        for j in ends {
            f.patch(j);
        }
    }

    /// `Loop`.
    pub(super) fn loop_expr(
        &mut self,
        f: &mut Func,
        dst: u32,
        label: &Option<String>,
        body: &Block,
    ) {
        let d = dst as i64;
        f.emit(Op::LoadNull, d, 0, 0);
        let start = f.here();
        f.loops.push(LoopCtx {
            label: label.clone(),
            breaks: Vec::new(),
            continues: Vec::new(),
            result: Some(dst),
            defer_depth: f.defers.len(),
            handle_depth: f.handles,
        });
        let scratch = f.reg();
        self.block_discard(f, body, scratch);
        f.emit(Op::Jump, start, 0, 0);
        self.close_loop(f, start);
    }

    /// `For`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn for_expr(
        &mut self,
        f: &mut Func,
        dst: u32,
        label: &Option<String>,
        pattern: &Pattern,
        iter: &Expr,
        filter: &Option<Box<Expr>>,
        body: &Block,
    ) {
        let d = dst as i64;
        let coll = f.reg();
        self.expr(f, iter, coll);
        let it = f.reg();
        f.emit(Op::IterInit, it as i64, coll as i64, 0);
        let start = f.here();
        let item = f.reg();
        let exit = f.emit(Op::IterNext, item as i64, it as i64, 0);
        f.scopes.push(HashMap::new());
        let mut fails = Vec::new();
        if !self.bind_plain(f, pattern, item) {
            let mut binds = HashMap::new();
            self.pattern(f, pattern, item, &mut fails, &mut binds);
            for (n, r) in binds {
                f.bind(&n, r);
            }
        }
        if let Some(c) = filter {
            let r = f.reg();
            self.expr(f, c, r);
            fails.push(f.emit(Op::JumpIfFalse, r as i64, 0, 0));
        }
        f.loops.push(LoopCtx {
            label: label.clone(),
            breaks: vec![exit],
            continues: fails,
            result: None,
            defer_depth: f.defers.len(),
            handle_depth: f.handles,
        });
        let scratch = f.reg();
        self.block_discard(f, body, scratch);
        f.emit(Op::Jump, start, 0, 0);
        f.scopes.pop();
        self.close_loop(f, start);
        f.emit(Op::LoadNull, d, 0, 0);
    }

    /// `While`.
    pub(super) fn while_expr(
        &mut self,
        f: &mut Func,
        dst: u32,
        label: &Option<String>,
        cond: &Cond,
        body: &Block,
    ) {
        let d = dst as i64;
        let start = f.here();
        f.scopes.push(HashMap::new());
        let fails = self.cond(f, cond);
        f.loops.push(LoopCtx {
            label: label.clone(),
            breaks: fails,
            continues: Vec::new(),
            result: None,
            defer_depth: f.defers.len(),
            handle_depth: f.handles,
        });
        let scratch = f.reg();
        self.block_discard(f, body, scratch);
        f.emit(Op::Jump, start, 0, 0);
        f.scopes.pop();
        self.close_loop(f, start);
        f.emit(Op::LoadNull, d, 0, 0);
    }

    /// `Handle`.
    pub(super) fn handle_expr(
        &mut self,
        f: &mut Func,
        dst: u32,
        body: &Block,
        clauses: &[HandleClause],
        handlers: &[(String, Span)],
    ) {
        let d = dst as i64;
        // Clause bodies are code of this cell (§9.3 rule 2: they
        // run in its scope and may assign its bindings), placed
        // after the body; the VM runs them in this frame.
        let mut pushes = Vec::new();
        for c in clauses {
            let k = f.konst(json!(format!("{}.{}", c.effect, c.op)));
            pushes.push(f.emit(Op::HandlePush, k, 0, 0));
        }
        let mut installed = clauses.len() as i64;
        for (h, _) in handlers {
            if let Some(i) = self.handler_index.iter().position(|x| x == h) {
                f.emit(Op::HandlePushNamed, i as i64, 0, 0);
                installed += 1;
            }
        }
        let enter = f.emit(Op::HandleEnter, d, 0, 0);
        f.handles += 1;
        self.block(f, body, dst);
        f.handles -= 1;
        f.emit(Op::HandlePop, installed, d, 0);
        let over = f.emit(Op::Jump, 0, 0, 0);
        let saved = f.next;
        let loops = std::mem::take(&mut f.loops);
        for (c, at) in clauses.iter().zip(pushes) {
            // Registers above everything the cell used so far, so
            // nothing live in the body is overwritten.
            f.next = f.max;
            let params = f.regs(c.params.len() as u32);
            f.code[at].b = f.here();
            f.code[at].c = params as i64;
            f.scopes.push(HashMap::new());
            for (i, p) in c.params.iter().enumerate() {
                f.bind(p, params + i as u32);
            }
            let out = f.reg();
            self.block(f, &c.body, out);
            f.scopes.pop();
            // Reached only when the clause did not resume: abort.
            f.emit(Op::HandleAbort, out as i64, 0, 0);
        }
        f.next = saved;
        f.loops = loops;
        f.patch(over);
        f.patch(enter);
    }
}
