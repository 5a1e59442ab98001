//! Calls and closures: arguments placed in parameter order (named,
//! defaulted, variadic, spread), closures with explicit captures, and the
//! call forms (cells, builtins, methods, tools, values).

use super::*;

impl Lowerer<'_> {
    /// The parameters a cell's LIR takes: a process method's implicit
    /// `self` included.
    pub(super) fn call_params(&self, id: usize) -> Vec<Param> {
        let info = &self.sy.cells[id];
        let mut params = info.decl.params.clone();
        let process = info
            .owner
            .as_deref()
            .is_some_and(|o| matches!(self.sy.types.get(o), Some(TypeDef::Process(_))));
        if process && params.first().is_none_or(|p| p.name != "self") {
            params.insert(
                0,
                Param {
                    name: "self".into(),
                    ty: None,
                    default: None,
                    variadic: false,
                },
            );
        }
        params
    }

    /// A closure over `body` with `params`, capturing the enclosing
    /// locals it mentions; the function value lands in `dst`.
    pub(super) fn closure(
        &mut self,
        f: &mut Func,
        params: &[Param],
        body: &Block,
        dst: u32,
        what: &str,
    ) {
        let mut names = Vec::new();
        block_mentions(body, &mut names);
        self.closure_with(f, params, names, dst, what, |l, g, out| {
            l.block(g, body, out)
        });
    }

    pub(super) fn closure_with(
        &mut self,
        f: &mut Func,
        params: &[Param],
        names: Vec<String>,
        dst: u32,
        what: &str,
        body: impl FnOnce(&mut Self, &mut Func, u32),
    ) {
        let captured: Vec<(String, u32)> = names
            .into_iter()
            .filter(|n| !params.iter().any(|p| &p.name == n))
            .filter_map(|n| f.local(&n).map(|r| (n, r)))
            .collect();
        f.lambdas += 1;
        let id = self.reserve();
        let mut g = Func::new(format!("{}${what}{}", f.name, f.lambdas));
        g.line = f.line;
        self.prologue(&mut g, params);
        for (n, _) in &captured {
            let r = g.reg();
            g.bind(n, r);
        }
        let out = g.reg();
        body(self, &mut g, out);
        g.emit(Op::Return, out as i64, 0, 0);
        let pi = self.params_info(params);
        let line = f.line;
        self.finish(id, g, pi, "Any".into(), captured.len() as u32, line);
        let start = f.regs(captured.len() as u32);
        for (i, (_, r)) in captured.iter().enumerate() {
            f.emit(Op::Move, (start + i as u32) as i64, *r as i64, 0);
        }
        f.emit(Op::Closure, dst as i64, id as i64, start as i64);
    }

    /// Lowers call arguments into `base+1 ..` in parameter order (named
    /// arguments placed, omitted ones marked absent). Returns the count.
    pub(super) fn args_for(
        &mut self,
        f: &mut Func,
        params: Option<&[Param]>,
        args: &[Arg],
        base: u32,
        skip: usize,
    ) -> u32 {
        let Some(params) = params.filter(|_| args.iter().all(|a| !a.spread)) else {
            return self.plain_args(f, args, base);
        };
        let params = &params[skip.min(params.len())..];
        let variadic = params.last().is_some_and(|p| p.variadic);
        let fixed = if variadic {
            params.len() - 1
        } else {
            params.len()
        };
        let mut slots: Vec<Option<&Expr>> = vec![None; fixed];
        let mut extra = Vec::new();
        let mut pos = 0;
        for a in args {
            match &a.name {
                Some(n) => {
                    if let Some(i) = params.iter().position(|p| &p.name == n) {
                        if i < fixed {
                            slots[i] = Some(&a.value);
                        }
                    }
                }
                None => {
                    if pos < fixed {
                        slots[pos] = Some(&a.value);
                        pos += 1;
                    } else {
                        extra.push(&a.value);
                    }
                }
            }
        }
        let n = fixed as u32 + u32::from(variadic);
        f.next = f.next.max(base + n + 1);
        f.max = f.max.max(f.next);
        for (i, s) in slots.iter().enumerate() {
            let r = base + 1 + i as u32;
            match s {
                Some(e) => self.expr(f, e, r),
                None => {
                    f.emit(Op::LoadAbsent, r as i64, 0, 0);
                }
            }
        }
        if variadic {
            let start = f.regs(extra.len() as u32);
            for (i, e) in extra.iter().enumerate() {
                self.expr(f, e, start + i as u32);
            }
            f.emit(
                Op::MakeList,
                (base + 1 + fixed as u32) as i64,
                start as i64,
                extra.len() as i64,
            );
        }
        n
    }

    pub(super) fn plain_args(&mut self, f: &mut Func, args: &[Arg], base: u32) -> u32 {
        let n = args.len() as u32;
        f.next = f.next.max(base + n + 1);
        f.max = f.max.max(f.next);
        for (i, a) in args.iter().enumerate() {
            self.expr(f, &a.value, base + 1 + i as u32);
            if a.spread {
                // A spread argument: the VM expands the list in place.
                f.emit(Op::Nop, (base + 1 + i as u32) as i64, 1, 0);
            }
        }
        n
    }

    pub(super) fn call(&mut self, f: &mut Func, callee: &Expr, args: &[Arg], dst: u32) {
        let d = dst as i64;
        let base = f.reg();
        if let ExprKind::Name(n) = &callee.kind {
            if f.local(n).is_none() {
                let sy = self.sy;
                if let Some(TypeDef::Record { fields, .. }) = sy.types.get(n) {
                    // Fields in declaration order; omitted ones absent.
                    let start = f.regs(fields.len() as u32);
                    for (i, fd) in fields.iter().enumerate() {
                        match args.iter().find(|a| a.name.as_deref() == Some(&fd.name)) {
                            Some(a) => self.expr(f, &a.value, start + i as u32),
                            None => {
                                f.emit(Op::LoadAbsent, (start + i as u32) as i64, 0, 0);
                            }
                        }
                    }
                    let ti = sy.types.keys().position(|k| k == n).unwrap_or(0);
                    f.emit(Op::MakeRecord, d, ti as i64, start as i64);
                    return;
                }
                if let Some(TypeDef::Process(_)) = sy.types.get(n) {
                    let k = f.konst(json!(n));
                    f.emit(Op::MakeRecord, d, -1, k);
                    return;
                }
                match sy.values.get(n) {
                    Some(ValueDef::Cell(id)) => {
                        let params = sy.cells[*id].decl.params.clone();
                        let c = self.args_for(f, Some(&params), args, base, 0);
                        f.emit(Op::Call, base as i64, *id as i64, c as i64);
                        f.emit(Op::Move, d, base as i64, 0);
                        return;
                    }
                    Some(ValueDef::Variant { enum_name, .. }) => {
                        return self.make_variant(f, &format!("{enum_name}.{n}"), args, dst);
                    }
                    Some(ValueDef::Tool { .. }) => {
                        let start = f.regs(2 * args.len() as u32);
                        for (i, a) in args.iter().enumerate() {
                            let key = a.name.clone().unwrap_or_else(|| format!("arg{i}"));
                            self.load(f, json!(key), start + 2 * i as u32);
                            self.expr(f, &a.value, start + 2 * i as u32 + 1);
                        }
                        let m = f.reg();
                        f.emit(Op::MakeMap, m as i64, start as i64, args.len() as i64);
                        let ti = self.tool_index.iter().position(|x| x == n).unwrap_or(0);
                        f.emit(Op::CallTool, d, ti as i64, m as i64);
                        return;
                    }
                    Some(_) => {}
                    None => {
                        if let Some(i) = builtins::index(n) {
                            if n == "ok" || n == "err" {
                                let r = f.reg();
                                if let Some(a) = args.first() {
                                    self.expr(f, &a.value, r);
                                }
                                let k = f.konst(json!(n));
                                f.emit(Op::MakeVariant, d, k, r as i64);
                                return;
                            }
                            let c = self.plain_args(f, args, base);
                            f.emit(Op::CallBuiltin, base as i64, i as i64, c as i64);
                            f.emit(Op::Move, d, base as i64, 0);
                            return;
                        }
                        self.raise(f, "undefined cell", &format!("no cell named '{n}'"));
                        return;
                    }
                }
            }
        }
        if let ExprKind::Field { expr, name, .. } = &callee.kind {
            if let ExprKind::Name(t) = &expr.kind {
                if f.local(t).is_none() && self.sy.types.contains_key(t) {
                    let sy = self.sy;
                    let method = sy.methods.get(t).and_then(|m| m.get(name));
                    // `Enum.Variant(...)` builds a value; `Enum.method(x)`
                    // (a method called through its type) is a call.
                    if let (Some(TypeDef::Enum { .. }), None) = (sy.types.get(t), method) {
                        return self.make_variant(f, &format!("{t}.{name}"), args, dst);
                    }
                    if let Some(id) = method {
                        // The compiler places `Call` arguments by parameter
                        // (defaults absent, variadics packed).
                        let params = self.call_params(*id);
                        let c = self.args_for(f, Some(&params), args, base, 0);
                        f.emit(Op::Call, base as i64, *id as i64, c as i64);
                        f.emit(Op::Move, d, base as i64, 0);
                        return;
                    }
                    // `Trait.m(recv, args)`: dispatch on the receiver.
                    let c = self.plain_args(f, args, base);
                    let k = f.konst(json!(name));
                    f.emit(Op::CallMethod, base as i64, k, c as i64);
                    f.emit(Op::Move, d, base as i64, 0);
                    return;
                }
            }
            // `recv.m(args)`: a method of some type, else uniform call syntax.
            let has_method = self.sy.methods.values().any(|m| m.contains_key(name))
                || self.sy.types.values().any(|t| matches!(t, TypeDef::Trait { methods, .. } if methods.iter().any(|m| &m.name == name)))
                || self.sy.types.values().any(|t| matches!(t, TypeDef::Record { fields, .. } if fields.iter().any(|x| &x.name == name)))
                || !self.sy.processes.is_empty();
            let mut all = vec![Arg {
                name: None,
                value: (**expr).clone(),
                spread: false,
            }];
            all.extend(args.iter().cloned());
            if !has_method {
                if let Some(ValueDef::Cell(id)) = self.sy.values.get(name) {
                    let params = self.sy.cells[*id].decl.params.clone();
                    let c = self.args_for(f, Some(&params), &all, base, 0);
                    f.emit(Op::Call, base as i64, *id as i64, c as i64);
                    f.emit(Op::Move, d, base as i64, 0);
                    return;
                }
                if let Some(i) = builtins::index(name) {
                    let c = self.plain_args(f, &all, base);
                    f.emit(Op::CallBuiltin, base as i64, i as i64, c as i64);
                    f.emit(Op::Move, d, base as i64, 0);
                    return;
                }
            }
            let c = self.plain_args(f, &all, base);
            let k = f.konst(json!(name));
            f.emit(Op::CallMethod, base as i64, k, c as i64);
            f.emit(Op::Move, d, base as i64, 0);
            return;
        }
        // Any other callee: a function value.
        self.expr(f, callee, base);
        let c = self.plain_args(f, args, base);
        f.emit(Op::CallValue, base as i64, 0, c as i64);
        f.emit(Op::Move, d, base as i64, 0);
    }
}
