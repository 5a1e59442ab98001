//! Statements and blocks: bindings, assignments, `if` chains, loops
//! with their patched jumps, and leaving blocks (defers, handlers).

use super::*;

impl Lowerer<'_> {
    pub(super) fn block(&mut self, f: &mut Func, b: &Block, dst: u32) {
        self.block_with(f, b, dst, true)
    }

    /// A block whose value nobody reads (a loop body): no `null` for it.
    pub(super) fn block_discard(&mut self, f: &mut Func, b: &Block, dst: u32) {
        self.block_with(f, b, dst, false)
    }

    pub(super) fn block_with(&mut self, f: &mut Func, b: &Block, dst: u32, valued_use: bool) {
        f.scopes.push(HashMap::new());
        f.defers.push(0);
        let mark = f.next;
        let mut valued = false;
        for (i, s) in b.stmts.iter().enumerate() {
            let last = i + 1 == b.stmts.len();
            f.line = s.span.line;
            match &s.kind {
                StmtKind::Expr(e) if last && valued_use => {
                    self.expr(f, e, dst);
                    valued = true;
                }
                _ => self.stmt(f, s),
            }
            // Temporaries die with the statement; locals bound by it stay.
            let top = f
                .scopes
                .last()
                .map(|s| s.values().copied().max().unwrap_or(0))
                .unwrap_or(0);
            f.next = f.next.min(mark.max(top + 1)).max(mark);
            let _ = mark;
        }
        if !valued && valued_use {
            f.emit(Op::LoadNull, dst as i64, 0, 0);
        }
        let d = f.defers.pop().unwrap_or(0);
        if d > 0 {
            f.emit(Op::DeferRun, d as i64, 0, 0);
        }
        f.scopes.pop();
        f.next = f.next.max(mark);
    }

    /// `if c1 ... else if c2 ... else ... end` into `dst`; when `valued`
    /// is false nobody reads its value, so nothing is written for it and
    /// the last branch of an `if` without `else` falls through.
    pub(super) fn if_chain(
        &mut self,
        f: &mut Func,
        branches: &[(Cond, Block)],
        otherwise: Option<&Block>,
        dst: u32,
        valued: bool,
    ) {
        let mut ends = Vec::new();
        for (i, (c, b)) in branches.iter().enumerate() {
            f.scopes.push(HashMap::new());
            let fails = self.cond(f, c);
            self.block_with(f, b, dst, valued);
            f.scopes.pop();
            let last = i + 1 == branches.len();
            if valued || otherwise.is_some() || !last {
                ends.push(f.emit(Op::Jump, 0, 0, 0));
            }
            for x in fails {
                f.patch(x);
            }
        }
        match otherwise {
            Some(b) => self.block_with(f, b, dst, valued),
            None if valued => {
                f.emit(Op::LoadNull, dst as i64, 0, 0);
            }
            None => {}
        }
        for j in ends {
            f.patch(j);
        }
    }

    pub(super) fn stmt(&mut self, f: &mut Func, s: &Stmt) {
        match &s.kind {
            StmtKind::Let { pattern, value, .. } => self.let_stmt(f, pattern, value),
            StmtKind::Assign { target, op, value } => self.assign_stmt(f, target, op, value),
            StmtKind::Expr(e) => self.expr_stmt(f, e),
            StmtKind::Return(v) => {
                let r = f.reg();
                match v {
                    Some(e) if self.types.wrap_ok.contains(&(e.span.start, e.span.end)) => {
                        let x = f.reg();
                        self.expr(f, e, x);
                        let k = f.konst(json!("ok"));
                        f.emit(Op::MakeVariant, r as i64, k, x as i64);
                    }
                    Some(e) => self.expr(f, e, r),
                    None => {
                        f.emit(Op::LoadNull, r as i64, 0, 0);
                    }
                }
                f.emit(Op::Return, r as i64, 0, 0);
            }
            StmtKind::Break { label, value } => {
                let idx = self.loop_index(f, label);
                if let Some(i) = idx {
                    if let (Some(v), Some(res)) = (value, f.loops[i].result) {
                        self.expr(f, v, res);
                    }
                    self.leave_blocks(f, f.loops[i].defer_depth);
                    self.leave_handles(f, f.loops[i].handle_depth);
                    let j = f.emit(Op::Jump, 0, 0, 0);
                    f.loops[i].breaks.push(j);
                }
            }
            StmtKind::Continue(label) => {
                if let Some(i) = self.loop_index(f, label) {
                    self.leave_blocks(f, f.loops[i].defer_depth);
                    self.leave_handles(f, f.loops[i].handle_depth);
                    let j = f.emit(Op::Jump, 0, 0, 0);
                    f.loops[i].continues.push(j);
                }
            }
            StmtKind::Halt(e) => {
                let r = f.reg();
                self.expr(f, e, r);
                f.emit(Op::Halt, r as i64, 0, 0);
            }
            StmtKind::Emit(e) => {
                let r = f.reg();
                self.expr(f, e, r);
                f.emit(Op::Emit, r as i64, 0, 0);
            }
            StmtKind::Defer(b) => {
                let r = f.reg();
                self.closure(f, &[], b, r, "defer");
                f.emit(Op::DeferPush, r as i64, 0, 0);
                if let Some(d) = f.defers.last_mut() {
                    *d += 1;
                }
            }
            StmtKind::Cell(c) => self.cell_stmt(f, c),
        }
    }

    /// Runs the defers registered so far in the blocks above `depth`
    /// (a jump out of them).
    pub(super) fn leave_blocks(&mut self, f: &mut Func, depth: usize) {
        let n: u32 = f.defers.iter().skip(depth).sum();
        if n > 0 {
            f.emit(Op::DeferRun, n as i64, 0, 0);
        }
    }

    /// Uninstalls the handlers of the `handle` bodies a jump leaves.
    pub(super) fn leave_handles(&mut self, f: &mut Func, depth: u32) {
        for _ in depth..f.handles {
            f.emit(Op::HandlePop, 0, 0, 0);
        }
    }

    pub(super) fn loop_index(&self, f: &Func, label: &Option<String>) -> Option<usize> {
        match label {
            None => f.loops.len().checked_sub(1),
            Some(l) => f.loops.iter().rposition(|x| x.label.as_ref() == Some(l)),
        }
    }

    /// Stores `v` into an assignment target, rebuilding the root value.
    pub(super) fn assign(&mut self, f: &mut Func, t: &Expr, v: u32) {
        match &t.kind {
            ExprKind::Name(n) => match f.local(n) {
                Some(r) => {
                    f.emit(Op::Move, r as i64, v as i64, 0);
                }
                None => self.raise(f, "undefined variable", &format!("no variable named '{n}'")),
            },
            // On a local the value is changed in its own register, so the
            // VM can update it in place when nothing else shares it
            // (copy-on-write keeps value semantics, §12.4).
            ExprKind::Field { expr, name, .. } => {
                let k = f.konst(json!(name));
                if let Some(r) = self.local_root(f, expr) {
                    f.emit(Op::SetField, r as i64, k, v as i64);
                    return;
                }
                let base = f.reg();
                self.expr(f, expr, base);
                f.emit(Op::SetField, base as i64, k, v as i64);
                self.assign(f, expr, base);
            }
            ExprKind::Index { expr, index, .. } => {
                if let Some(r) = self.local_root(f, expr) {
                    let i = self.operand(f, index);
                    // `v` is the assigned value's temporary: read here only.
                    f.mark_single_use(v);
                    f.emit(Op::SetIndex, r as i64, i as i64, v as i64);
                    return;
                }
                let i = f.reg();
                let base = f.reg();
                self.expr(f, expr, base);
                self.expr(f, index, i);
                f.emit(Op::SetIndex, base as i64, i as i64, v as i64);
                self.assign(f, expr, base);
            }
            _ => {}
        }
    }

    /// Binds a pattern that is a plain name (`_` binds nothing) to the
    /// register `r` itself; false for any other pattern.
    pub(super) fn bind_plain(&mut self, f: &mut Func, p: &Pattern, r: u32) -> bool {
        match &p.kind {
            PatternKind::Wild => true,
            PatternKind::Bind(n) => {
                let variant = n.starts_with(|c: char| c.is_ascii_uppercase())
                    && matches!(self.sy.values.get(n), Some(ValueDef::Variant { .. }));
                if !variant {
                    f.bind(n, r);
                }
                !variant
            }
            _ => false,
        }
    }

    pub(super) fn close_loop(&mut self, f: &mut Func, start: i64) {
        if let Some(l) = f.loops.pop() {
            for b in l.breaks {
                f.patch(b);
            }
            for c in l.continues {
                let ins = &mut f.code[c];
                match ins.op {
                    Op::Jump => ins.a = start,
                    _ => ins.b = start,
                }
            }
        }
    }

    /// A condition; returns the jumps taken when it fails.
    pub(super) fn cond(&mut self, f: &mut Func, c: &Cond) -> Vec<usize> {
        match c {
            Cond::Expr(e) => {
                let r = self.operand(f, e);
                vec![self.jump_if_false(f, e, r)]
            }
            Cond::Let(p, e) => {
                let r = f.reg();
                self.expr(f, e, r);
                let mut fails = Vec::new();
                let mut binds = HashMap::new();
                self.pattern(f, p, r, &mut fails, &mut binds);
                for (n, b) in binds {
                    f.bind(&n, b);
                }
                fails
            }
        }
    }
}

impl Lowerer<'_> {
    /// `Let`.
    fn let_stmt(&mut self, f: &mut Func, pattern: &Pattern, value: &Expr) {
        let v = f.reg();
        self.expr(f, value, v);
        // A plain name binds the value's register itself.
        if self.bind_plain(f, pattern, v) {
            return;
        }
        let mut fails = Vec::new();
        let mut binds = HashMap::new();
        self.pattern(f, pattern, v, &mut fails, &mut binds);
        if !fails.is_empty() {
            let j = f.emit(Op::Jump, 0, 0, 0);
            for x in fails {
                f.patch(x);
            }
            f.emit(Op::MatchFail, v as i64, 0, 0);
            f.patch(j);
        }
        for (n, r) in binds {
            f.bind(&n, r);
        }
    }

    /// `Assign`.
    fn assign_stmt(
        &mut self,
        f: &mut Func,
        target: &Expr,
        op: &Option<&'static str>,
        value: &Expr,
    ) {
        if let Some(r) = self.local_root(f, target) {
            // `x op= e` and `x = a op b` on a local write the
            // local's register with the operator's one
            // instruction, which reads its operands first.
            if let Some(o) = op.as_ref().and_then(|o| bop(o)) {
                let b = self.operand_once(f, value);
                f.emit(o, r as i64, r as i64, b as i64);
                return;
            }
            if op.is_none() && matches!(value.kind, ExprKind::Call { .. }) {
                // A call writes its destination last, after its
                // arguments (which may read the local) are taken.
                self.expr(f, value, r);
                return;
            }
            if op.is_none() {
                if let ExprKind::Binary { op: bo, lhs, rhs } = &value.kind {
                    if let Some(o) = bop(bo) {
                        let (a, b) = self.operands(f, lhs, rhs);
                        f.emit(o, r as i64, a as i64, b as i64);
                        return;
                    }
                }
            }
        }
        let v = f.reg();
        match op {
            None => self.expr(f, value, v),
            Some(o) => {
                let cur = f.reg();
                self.expr(f, target, cur);
                let rhs = f.reg();
                self.expr(f, value, rhs);
                f.emit(bop(o).unwrap_or(Op::Add), v as i64, cur as i64, rhs as i64);
            }
        }
        self.assign(f, target, v);
    }

    /// `Expr`.
    fn expr_stmt(&mut self, f: &mut Func, e: &Expr) {
        let r = f.reg();
        if let ExprKind::If {
            branches,
            otherwise,
        } = &e.kind
        {
            // An `if` whose value nobody reads: no `null` for
            // its missing `else` or for blocks without a value.
            self.if_chain(f, branches, otherwise.as_ref(), r, false);
        } else {
            self.expr(f, e, r);
            if matches!(e.kind, ExprKind::For { .. } | ExprKind::While { .. }) {
                // The loop's `null` goes to a temporary nobody
                // reads; breaks that land on it land past it.
                if f.code
                    .last()
                    .is_some_and(|i| i.op == Op::LoadNull && i.a == r as i64 && i.b == 0)
                {
                    f.code.pop();
                }
            }
        }
    }

    /// `Cell`.
    fn cell_stmt(&mut self, f: &mut Func, c: &CellDecl) {
        let id = self
            .sy
            .cell(&format!("{}${}", f.name, c.name))
            .unwrap_or(usize::MAX);
        let r = f.reg();
        if id != usize::MAX {
            f.emit(Op::LoadCell, r as i64, id as i64, 0);
        } else {
            // Local cells of lambdas: lowered here, without captures.
            let id = self.reserve();
            let mut g = Func::new(format!("{}${}", f.name, c.name));
            self.prologue(&mut g, &c.params);
            let out = g.reg();
            match &c.body {
                Some(Body::Expr(e)) => self.expr(&mut g, e, out),
                Some(Body::Block(b)) => self.block(&mut g, b, out),
                None => {
                    g.emit(Op::LoadNull, out as i64, 0, 0);
                }
            }
            g.emit(Op::Return, out as i64, 0, 0);
            let pi = self.params_info(&c.params);
            self.finish(
                id,
                g,
                pi,
                c.ret.as_ref().map(type_string).unwrap_or("Any".into()),
                0,
                c.span.line,
            );
            f.emit(Op::LoadCell, r as i64, id as i64, 0);
        }
        f.bind(&c.name, r);
    }
}
