//! Expressions into registers: operands, names, strings with
//! interpolations, comprehensions, and `expr_inner`, which sends each
//! kind of expression to its method.

use super::*;

impl Lowerer<'_> {
    /// The register holding `e`'s value: a local's own register (no copy,
    /// so a collection is not shared with a temporary and stays unique
    /// for in-place updates), else a temporary it is evaluated into.
    pub(super) fn operand(&mut self, f: &mut Func, e: &Expr) -> u32 {
        if let Some(r) = self.local_root(f, e) {
            return r;
        }
        let r = f.reg();
        self.expr(f, e, r);
        r
    }

    /// `operand` for a caller that reads the register once, in the one
    /// instruction it emits next: a constant loaded for it is marked a
    /// single-use temporary (`LoadConst`'s `c` = 1, see `lir::Op`).
    pub(super) fn operand_once(&mut self, f: &mut Func, e: &Expr) -> u32 {
        let start = f.code.len();
        let r = self.operand(f, e);
        if f.code.len() == start + 1 {
            f.mark_single_use(r);
        }
        r
    }

    /// `JumpIfFalse` on the register of condition `e`: marked (`c` = 1)
    /// when that register is a temporary nothing reads after the jump.
    pub(super) fn jump_if_false(&mut self, f: &mut Func, e: &Expr, r: u32) -> usize {
        let temp = i64::from(self.local_root(f, e).is_none());
        f.emit(Op::JumpIfFalse, r as i64, 0, temp)
    }

    /// Both operands of a binary operator, left to right: the left one
    /// may stay in its local's register only when evaluating the right one
    /// cannot change that local (a handler clause can assign the locals
    /// of its cell while a call runs).
    pub(super) fn operands(&mut self, f: &mut Func, lhs: &Expr, rhs: &Expr) -> (u32, u32) {
        let a = if simple(rhs) {
            self.operand_once(f, lhs)
        } else {
            let a = f.reg();
            self.expr(f, lhs, a);
            a
        };
        let b = self.operand_once(f, rhs);
        (a, b)
    }

    /// The register of `e` when it is a plain local name.
    pub(super) fn local_root(&self, f: &Func, e: &Expr) -> Option<u32> {
        match &e.kind {
            ExprKind::Name(n) => f.local(n),
            _ => None,
        }
    }

    pub(super) fn raise(&mut self, f: &mut Func, kind: &str, msg: &str) {
        let k = f.konst(json!(kind));
        let m = f.konst(json!(msg));
        f.emit(Op::Raise, k, m, 0);
    }

    pub(super) fn expr(&mut self, f: &mut Func, e: &Expr, dst: u32) {
        stacker::maybe_grow(64 * 1024, 1024 * 1024, || self.expr_inner(f, e, dst))
    }

    pub(super) fn load(&mut self, f: &mut Func, v: Value, dst: u32) {
        let k = f.konst(v);
        f.emit(Op::LoadConst, dst as i64, k, 0);
    }

    pub(super) fn expr_inner(&mut self, f: &mut Func, e: &Expr, dst: u32) {
        let d = dst as i64;
        match &e.kind {
            ExprKind::Int(i) => self.load(f, json!(i), dst),
            ExprKind::Float(x) => self.load(f, json!(x), dst),
            ExprKind::RawStr(s) => self.load(f, json!(s), dst),
            ExprKind::Bytes(b) => {
                let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
                self.load(f, json!({ "bytes": hex }), dst)
            }
            ExprKind::Bool(b) => {
                f.emit(Op::LoadBool, d, i64::from(*b), 0);
            }
            ExprKind::Null => {
                f.emit(Op::LoadNull, d, 0, 0);
            }
            ExprKind::Str(segs) => self.string(f, None, segs, dst),
            ExprKind::Role { name, text } => self.string(f, Some(name), text, dst),
            ExprKind::Name(n) => self.name(f, n, dst),
            ExprKind::List(items) | ExprKind::Set(items) | ExprKind::Tuple(items) => {
                let op = match e.kind {
                    ExprKind::List(_) => Op::MakeList,
                    ExprKind::Set(_) => Op::MakeSet,
                    _ => Op::MakeTuple,
                };
                if items.iter().any(|i| i.spread) {
                    f.emit(op, d, 0, 0);
                    for i in items {
                        let r = f.reg();
                        self.expr(f, &i.value, r);
                        f.emit(Op::Push, d, r as i64, i64::from(i.spread));
                    }
                } else {
                    let start = f.regs(items.len() as u32);
                    for (k, i) in items.iter().enumerate() {
                        self.expr(f, &i.value, start + k as u32);
                    }
                    f.emit(op, d, start as i64, items.len() as i64);
                }
            }
            ExprKind::Map(entries) => {
                let start = f.regs(2 * entries.len() as u32);
                for (i, (k, v)) in entries.iter().enumerate() {
                    self.expr(f, k, start + 2 * i as u32);
                    self.expr(f, v, start + 2 * i as u32 + 1);
                }
                f.emit(Op::MakeMap, d, start as i64, entries.len() as i64);
            }
            ExprKind::Comprehension {
                kind,
                elem,
                value,
                clauses,
            } => self.comprehension_expr(f, dst, kind, elem, value, clauses),
            ExprKind::Unary { op, expr } => {
                let r = self.operand(f, expr);
                let o = match *op {
                    "-" => Op::Neg,
                    "not" => Op::Not,
                    _ => Op::BitNot,
                };
                f.emit(o, d, r as i64, 0);
            }
            ExprKind::Binary { op, lhs, rhs } => self.binary_expr(f, dst, e, op, lhs, rhs),
            ExprKind::Compare { first, rest } => self.compare_expr(f, dst, first, rest),
            ExprKind::Is { expr, ty }
            | ExprKind::As { expr, ty }
            | ExprKind::ExpectSchema { expr, ty } => {
                let r = f.reg();
                self.expr(f, expr, r);
                let k = f.konst(json!(type_string(ty)));
                let op = match e.kind {
                    ExprKind::Is { .. } => Op::TestType,
                    ExprKind::As { .. } => Op::Convert,
                    _ => Op::ExpectSchema,
                };
                f.emit(op, d, r as i64, k);
            }
            ExprKind::Field { expr, name, safe } => self.field_expr(f, dst, expr, name, *safe),
            ExprKind::Index { expr, index, safe } => self.index_expr(f, dst, expr, index, *safe),
            ExprKind::Call { callee, args } => self.call(f, callee, args, dst),
            ExprKind::Try(x) => {
                let r = f.reg();
                self.expr(f, x, r);
                f.emit(Op::Try, d, r as i64, 0);
            }
            ExprKind::Unwrap(x) => {
                let r = f.reg();
                self.expr(f, x, r);
                f.emit(Op::NotNull, d, r as i64, 0);
            }
            ExprKind::Await(x) => {
                let r = f.reg();
                self.expr(f, x, r);
                f.emit(Op::Await, d, r as i64, 0);
            }
            ExprKind::Lambda { params, body, .. } => {
                let mut names = Vec::new();
                mentions(body, &mut names);
                let body = (**body).clone();
                self.closure_with(f, params, names, dst, "lambda", move |l, g, out| {
                    l.expr(g, &body, out)
                });
            }
            ExprKind::BlockLambda { params, body, .. } => {
                self.closure(f, params, body, dst, "lambda")
            }
            ExprKind::IfElse {
                cond,
                then,
                otherwise,
            } => self.if_else_expr(f, dst, cond, then, otherwise),
            ExprKind::Perform { effect, op, args } => self.perform_expr(f, dst, effect, op, args),
            ExprKind::If {
                branches,
                otherwise,
            } => self.if_chain(f, branches, otherwise.as_ref(), dst, true),
            ExprKind::Match { subject, arms } => self.match_expr(f, dst, subject, arms),
            ExprKind::When(arms) => self.when_expr(f, dst, arms),
            ExprKind::Loop { label, body } => self.loop_expr(f, dst, label, body),
            ExprKind::For {
                label,
                pattern,
                iter,
                filter,
                body,
            } => self.for_expr(f, dst, label, pattern, iter, filter, body),
            ExprKind::While { label, cond, body } => self.while_expr(f, dst, label, cond, body),
            ExprKind::Handle {
                body,
                clauses,
                handlers,
            } => self.handle_expr(f, dst, body, clauses, handlers),
            ExprKind::Do(b) | ExprKind::Comptime(b) => self.block(f, b, dst),
            ExprKind::Resume(v) => {
                let r = f.reg();
                self.expr(f, v, r);
                f.emit(Op::Resume, r as i64, 0, 0);
            }
        }
    }

    pub(super) fn comprehension(
        &mut self,
        f: &mut Func,
        clauses: &[Clause],
        body: &dyn Fn(&mut Self, &mut Func),
    ) {
        let Some((first, rest)) = clauses.split_first() else {
            body(self, f);
            return;
        };
        match first {
            Clause::If(c) => {
                let r = f.reg();
                self.expr(f, c, r);
                let j = f.emit(Op::JumpIfFalse, r as i64, 0, 1);
                self.comprehension(f, rest, body);
                f.patch(j);
            }
            Clause::For { pattern, iter } => {
                let coll = f.reg();
                self.expr(f, iter, coll);
                let it = f.reg();
                f.emit(Op::IterInit, it as i64, coll as i64, 0);
                let start = f.here();
                let item = f.reg();
                let exit = f.emit(Op::IterNext, item as i64, it as i64, 0);
                let mut fails = Vec::new();
                let mut binds = HashMap::new();
                self.pattern(f, pattern, item, &mut fails, &mut binds);
                for (n, r) in binds {
                    f.bind(&n, r);
                }
                self.comprehension(f, rest, body);
                for x in fails {
                    f.patch(x);
                }
                f.emit(Op::Jump, start, 0, 0);
                f.patch(exit);
            }
        }
    }

    pub(super) fn string(
        &mut self,
        f: &mut Func,
        role: Option<&String>,
        segs: &[StrSeg],
        dst: u32,
    ) {
        let n = segs.len() + usize::from(role.is_some());
        if n == 1 {
            if let [StrSeg::Text(t)] = segs {
                return self.load(f, json!(t), dst);
            }
        }
        let start = f.regs(n as u32);
        let mut i = start;
        if let Some(r) = role {
            self.load(f, json!(format!("{r}: ")), i);
            i += 1;
        }
        for s in segs {
            match s {
                StrSeg::Text(t) => self.load(f, json!(t), i),
                StrSeg::Interp { expr, spec } => {
                    let r = f.reg();
                    self.expr(f, expr, r);
                    let k = match spec {
                        Some(s) => f.konst(serde_json::to_value(s).unwrap_or(Value::Null)),
                        None => -1,
                    };
                    f.emit(Op::Format, i as i64, r as i64, k);
                }
            }
            i += 1;
        }
        f.emit(Op::Join, dst as i64, start as i64, n as i64);
    }

    pub(super) fn name(&mut self, f: &mut Func, n: &str, dst: u32) {
        let d = dst as i64;
        if let Some(r) = f.local(n) {
            f.emit(Op::Move, d, r as i64, 0);
            return;
        }
        if let Some(id) = self.consts.get(n) {
            f.emit(Op::Call, d, *id as i64, 0);
            return;
        }
        match self.sy.values.get(n) {
            Some(ValueDef::Cell(id)) => {
                f.emit(Op::LoadCell, d, *id as i64, 0);
            }
            Some(ValueDef::Variant { enum_name, .. }) => {
                let k = f.konst(json!(format!("{enum_name}.{n}")));
                f.emit(Op::MakeVariant, d, k, 0);
            }
            _ => {
                if let Some(i) = builtins::index(n) {
                    f.emit(Op::LoadBuiltin, d, i as i64, 0);
                } else if let Some((c, _)) = builtins::CONSTANTS.iter().find(|c| c.0 == n) {
                    let v = match *c {
                        "PI" => json!(std::f64::consts::PI),
                        "E" => json!(std::f64::consts::E),
                        "MAX_INT" => json!(i64::MAX),
                        _ => json!(i64::MIN),
                    };
                    self.load(f, v, dst);
                } else {
                    self.raise(f, "undefined variable", &format!("no variable named '{n}'"));
                }
            }
        }
    }

    pub(super) fn qualified_value(&mut self, f: &mut Func, t: &str, name: &str, dst: u32) {
        if let Some(TypeDef::Enum { .. }) = self.sy.types.get(t) {
            let k = f.konst(json!(format!("{t}.{name}")));
            f.emit(Op::MakeVariant, dst as i64, k, 0);
            return;
        }
        if let Some(id) = self.sy.methods.get(t).and_then(|m| m.get(name)) {
            f.emit(Op::LoadCell, dst as i64, *id as i64, 0);
            return;
        }
        self.raise(f, "undefined cell", &format!("no cell named '{t}.{name}'"));
    }

    /// `Enum.Variant(args)`: the payload in consecutive registers.
    pub(super) fn make_variant(&mut self, f: &mut Func, qualified: &str, args: &[Arg], dst: u32) {
        let start = f.regs(args.len() as u32);
        for (i, a) in args.iter().enumerate() {
            self.expr(f, &a.value, start + i as u32);
        }
        let k = f.konst(json!(qualified));
        f.emit(Op::MakeVariant, dst as i64, k, start as i64);
    }
}
