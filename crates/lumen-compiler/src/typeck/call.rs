//! Calls: cells, builtins, methods (and uniform call syntax), record
//! and variant construction, argument checks and the unification of
//! generic parameters.

use super::*;

impl Checker<'_> {
    pub(super) fn builtin_ret(&self, callee: &Expr) -> Ty {
        match &callee.kind {
            ExprKind::Name(n) if self.local(n).is_none() && !self.sy.values.contains_key(n) => {
                builtins::lookup(n)
                    .map(|b| self.builtin_ty(b.returns))
                    .unwrap_or(Ty::Any)
            }
            _ => Ty::Any,
        }
    }

    pub(super) fn builtin_ty(&self, s: &str) -> Ty {
        crate::parser::parse_type_str(s)
            .map(|t| self.ty(&t))
            .unwrap_or(Ty::Any)
    }

    pub(super) fn has_method(&self, ty: &str, m: &str) -> bool {
        self.sy.methods.get(ty).is_some_and(|ms| ms.contains_key(m))
            || self.sy.impls.iter().any(|(tr, t)| {
                t == ty
                    && matches!(self.sy.types.get(tr), Some(TypeDef::Trait { methods, .. })
                        if methods.iter().any(|x| x.name == m))
            })
            || self.sy.values.contains_key(m)
            || builtins::lookup(m).is_some()
    }

    pub(super) fn call(&mut self, e: &Expr, callee: &Expr, args: &[Arg]) -> Ty {
        if let ExprKind::Name(n) = &callee.kind {
            if self.local(n).is_none() {
                if let Some(t) = self.named_call(e, n, args) {
                    return t;
                }
            }
        }
        // Method calls.
        if let ExprKind::Field { expr, name, .. } = &callee.kind {
            if let ExprKind::Name(t) = &expr.kind {
                if self.local(t).is_none() && self.sy.types.contains_key(t) {
                    return self.qualified_call(e, t, name, args);
                }
            }
            let rt = self.expr(expr);
            return self.method_call(e, &rt, name, args);
        }
        let t = self.expr(callee);
        for a in args {
            self.expr(&a.value);
        }
        match t {
            Ty::Fn(ps, r) => {
                let positional = args
                    .iter()
                    .filter(|a| a.name.is_none() && !a.spread)
                    .count();
                if positional != ps.len() && !args.iter().any(|a| a.spread || a.name.is_some()) {
                    self.err(
                        Kind::ArgumentCount,
                        e.span,
                        format!(
                            "this function takes {} argument(s), {} given",
                            ps.len(),
                            positional
                        ),
                    );
                }
                *r
            }
            Ty::Any | Ty::Param(_) | Ty::Union(_) => Ty::Any,
            other => {
                self.mismatch(
                    callee.span,
                    format!("not callable: a value of type `{other}`"),
                );
                Ty::Any
            }
        }
    }

    pub(super) fn named_call(&mut self, e: &Expr, n: &str, args: &[Arg]) -> Option<Ty> {
        let sy = self.sy;
        if let Some(TypeDef::Record { fields, generics }) = sy.types.get(n) {
            return Some(self.construct(e, n, fields, generics, args));
        }
        if let Some(TypeDef::Process(_)) = sy.types.get(n) {
            for a in args {
                self.expr(&a.value);
            }
            return Some(Ty::Named(n.to_string(), Vec::new()));
        }
        match sy.values.get(n) {
            Some(ValueDef::Cell(id)) => {
                let c = &sy.cells[*id].decl;
                let saved = self.enter_generics(c.generics.iter().map(|g| g.name.clone()));
                let subst = self.check_args(n, &c.params, args, e.span, false);
                let r = self.ret_ty(c);
                self.generics = saved;
                Some(substitute(&r, &subst))
            }
            Some(ValueDef::Variant { enum_name, index }) => {
                let Some(TypeDef::Enum { variants, generics }) = sy.types.get(enum_name) else {
                    return Some(Ty::Any);
                };
                let v = &variants[*index];
                Some(self.variant_args(e, n, (enum_name, generics), &v.payload, args))
            }
            Some(ValueDef::Tool { .. }) => {
                for a in args {
                    self.expr(&a.value);
                    if a.name.is_none() {
                        self.err(
                            Kind::ArgumentCount,
                            a.value.span,
                            format!("tool `{n}` takes named arguments only (`{n}(name: value)`)"),
                        );
                        break;
                    }
                }
                Some(Ty::Any)
            }
            Some(_) => None,
            None => {
                let b = builtins::lookup(n)?;
                let ts: Vec<Ty> = args.iter().map(|a| self.expr(&a.value)).collect();
                let count = args.len();
                let spread = args.iter().any(|a| a.spread);
                if !spread && (count < b.min || b.max.is_some_and(|m| count > m)) {
                    let want = match b.max {
                        Some(m) if m == b.min => format!("{m}"),
                        Some(m) => format!("{} to {m}", b.min),
                        None => format!("at least {}", b.min),
                    };
                    self.err(
                        Kind::ArgumentCount,
                        e.span,
                        format!("`{n}` takes {want} argument(s), {count} given"),
                    );
                }
                Some(self.builtin_result(n, &ts, b.returns))
            }
        }
    }

    /// Result types of the builtins whose result follows their argument.
    pub(super) fn builtin_result(&self, n: &str, ts: &[Ty], returns: &str) -> Ty {
        let first = ts.first().cloned().unwrap_or(Ty::Any);
        match n {
            "ok" => Ty::Result(Box::new(first), Box::new(Ty::Any)),
            "err" => Ty::Result(Box::new(Ty::Any), Box::new(first)),
            "first" | "last" => match first {
                Ty::List(t) => Ty::union(vec![*t, Ty::Null]),
                _ => Ty::Any,
            },
            "sort" | "reverse" | "unique" | "take" | "drop" | "slice" | "filter" | "append" => {
                match first {
                    t @ (Ty::List(_) | Ty::Str) => t,
                    _ => Ty::Any,
                }
            }
            "abs" | "min" | "max" | "clamp" | "sum" => match first {
                Ty::Int => Ty::Int,
                Ty::Float => Ty::Float,
                Ty::List(t) if t.is_numeric() => *t,
                _ => Ty::Any,
            },
            "unwrap" => match first {
                Ty::Result(o, _) => *o,
                _ => Ty::Any,
            },
            "keys" => match first {
                Ty::Map(k, _) => Ty::List(k),
                _ => Ty::Any,
            },
            "values" => match first {
                Ty::Map(_, v) => Ty::List(v),
                _ => Ty::Any,
            },
            _ => self.builtin_ty(returns),
        }
    }

    /// A record construction; returns the record's type with its type
    /// arguments inferred from the fields (§4.1).
    pub(super) fn construct(
        &mut self,
        e: &Expr,
        n: &str,
        fields: &[Field],
        generics: &[Generic],
        args: &[Arg],
    ) -> Ty {
        self.generic_type(n, generics, |t, subst| {
            t.construct_fields(e, n, fields, args, subst)
        })
    }

    /// `name[T1, T2..]` with the type arguments `check` binds while the
    /// type's generic parameters are in scope (unbound ones are `Any`).
    pub(super) fn generic_type(
        &mut self,
        name: &str,
        generics: &[Generic],
        check: impl FnOnce(&mut Self, &mut Subst),
    ) -> Ty {
        let saved = self.enter_generics(generics.iter().map(|g| g.name.clone()));
        let mut subst = Subst::new();
        check(self, &mut subst);
        self.generics = saved;
        let targs = generics
            .iter()
            .map(|g| subst.get(&g.name).cloned().unwrap_or(Ty::Any))
            .collect();
        Ty::Named(name.to_string(), targs)
    }

    pub(super) fn construct_fields(
        &mut self,
        e: &Expr,
        n: &str,
        fields: &[Field],
        args: &[Arg],
        subst: &mut Subst,
    ) {
        let mut given = Vec::new();
        for a in args {
            let t = self.expr(&a.value);
            let Some(name) = &a.name else {
                self.err(
                    Kind::ArgumentCount,
                    a.value.span,
                    format!("record `{n}` is built with named fields only (`{n}(field: value)`)"),
                );
                return;
            };
            if given.contains(name) {
                self.err(
                    Kind::ArgumentCount,
                    a.value.span,
                    format!("field `{name}` is given twice"),
                );
                continue;
            }
            given.push(name.clone());
            match fields.iter().find(|f| &f.name == name) {
                Some(f) => {
                    let ft = self.ty(&f.ty);
                    let what = format!("field `{name}` of `{n}`");
                    self.unify_expect(&t, &ft, subst, a.value.span, &what);
                }
                None => {
                    self.err(
                        Kind::UnknownField,
                        a.value.span,
                        format!("record `{n}` has no field `{name}`"),
                    );
                    if let Some(d) = self.diags.last_mut() {
                        d.help =
                            crate::resolve::suggest(name, fields.iter().map(|f| f.name.as_str()))
                                .map(|s| format!("did you mean `{s}`?"));
                    }
                }
            }
        }
        let missing: Vec<&str> = fields
            .iter()
            .filter(|f| f.default.is_none() && !given.contains(&f.name))
            .map(|f| f.name.as_str())
            .collect();
        if !missing.is_empty() {
            self.err(
                Kind::MissingField,
                e.span,
                format!(
                    "record `{n}` needs field(s) {}",
                    missing
                        .iter()
                        .map(|m| format!("`{m}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
        }
    }

    /// A variant construction; returns its enum's type with the type
    /// arguments inferred from the payload.
    pub(super) fn variant_args(
        &mut self,
        e: &Expr,
        n: &str,
        (enum_name, generics): (&str, &[Generic]),
        payload: &[TypeExpr],
        args: &[Arg],
    ) -> Ty {
        self.generic_type(enum_name, generics, |t, subst| {
            t.check_payload(e, n, payload, args, subst)
        })
    }

    pub(super) fn check_payload(
        &mut self,
        e: &Expr,
        n: &str,
        payload: &[TypeExpr],
        args: &[Arg],
        subst: &mut Subst,
    ) {
        let ts: Vec<Ty> = args.iter().map(|a| self.expr(&a.value)).collect();
        if args.len() != payload.len() {
            self.err(
                Kind::ArgumentCount,
                e.span,
                format!(
                    "variant `{n}` takes {} value(s), {} given",
                    payload.len(),
                    args.len()
                ),
            );
            return;
        }
        for ((t, p), a) in ts.iter().zip(payload).zip(args) {
            let pt = self.ty(p);
            self.unify_expect(t, &pt, subst, a.value.span, &format!("payload of `{n}`"));
        }
    }

    /// Arguments against parameters (§6.5); the generic parameters bound
    /// by the arguments are returned.
    pub(super) fn check_args(
        &mut self,
        n: &str,
        params: &[Param],
        args: &[Arg],
        span: Span,
        skip_self: bool,
    ) -> Subst {
        self.check_args_with(n, params, args, span, skip_self, Subst::new())
    }

    /// `check_args` with some generic parameters already bound (by a
    /// method call's receiver).
    pub(super) fn check_args_with(
        &mut self,
        n: &str,
        params: &[Param],
        args: &[Arg],
        span: Span,
        skip_self: bool,
        mut subst: Subst,
    ) -> Subst {
        let params: Vec<&Param> = params.iter().skip(usize::from(skip_self)).collect();
        let ts: Vec<Ty> = args.iter().map(|a| self.expr(&a.value)).collect();
        if args.iter().any(|a| a.spread) {
            return subst;
        }
        let mut filled = vec![false; params.len()];
        let variadic = params.last().is_some_and(|p| p.variadic);
        let mut pos = 0;
        for (a, t) in args.iter().zip(&ts) {
            let idx = match &a.name {
                None => {
                    if pos >= params.len() || (variadic && pos >= params.len() - 1) {
                        if variadic {
                            pos += 1;
                            continue;
                        }
                        self.err(
                            Kind::ArgumentCount,
                            a.value.span,
                            format!(
                                "`{n}` takes {} argument(s), {} given",
                                params.len(),
                                args.len()
                            ),
                        );
                        return subst;
                    }
                    pos += 1;
                    pos - 1
                }
                Some(name) => match params.iter().position(|p| &p.name == name) {
                    Some(i) => i,
                    None => {
                        self.err(
                            Kind::UnknownField,
                            a.value.span,
                            format!("`{n}` has no parameter named `{name}`"),
                        );
                        continue;
                    }
                },
            };
            if filled[idx] {
                self.err(
                    Kind::ArgumentCount,
                    a.value.span,
                    format!("parameter `{}` is given twice", params[idx].name),
                );
                continue;
            }
            filled[idx] = true;
            let pt = self.param_ty(params[idx]);
            let what = format!("argument `{}` of `{n}`", params[idx].name);
            self.unify_expect(t, &pt, &mut subst, a.value.span, &what);
        }
        let missing: Vec<&str> = params
            .iter()
            .zip(&filled)
            .filter(|(p, f)| !**f && p.default.is_none() && !p.variadic)
            .map(|(p, _)| p.name.as_str())
            .collect();
        if !missing.is_empty() {
            self.err(
                Kind::ArgumentCount,
                span,
                format!(
                    "`{n}` is missing argument(s) {}",
                    missing
                        .iter()
                        .map(|m| format!("`{m}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
        }
        subst
    }

    /// A value of type `t` given where `pt` (which may mention generic
    /// parameters) is expected: binds the parameters, reports a parameter
    /// bound to two types that do not fit, then checks assignability
    /// against `pt` with what is bound so far.
    pub(super) fn unify_expect(
        &mut self,
        t: &Ty,
        pt: &Ty,
        subst: &mut Subst,
        span: Span,
        what: &str,
    ) {
        if let Err(c) = unify(pt, t, subst) {
            self.mismatch(
                span,
                format!(
                    "{what}: `{}` is `{}` from an earlier value, found `{}`",
                    c.param, c.was, c.now
                ),
            );
            return;
        }
        self.expect(t, &substitute(pt, subst), span, what);
    }

    /// Makes the generic parameters of `c` the ones in scope; returns the
    /// previous ones for `leave_generics`.
    pub(super) fn enter_generics(&mut self, names: impl Iterator<Item = String>) -> Vec<String> {
        std::mem::replace(&mut self.generics, names.collect())
    }

    pub(super) fn qualified_call(&mut self, e: &Expr, t: &str, name: &str, args: &[Arg]) -> Ty {
        let sy = self.sy;
        if let Some(TypeDef::Enum { variants, generics }) = sy.types.get(t) {
            if let Some(v) = variants.iter().find(|v| v.name == name) {
                return self.variant_args(e, name, (t, generics), &v.payload, args);
            }
        }
        if let Some(id) = sy.methods.get(t).and_then(|m| m.get(name)) {
            let c = &sy.cells[*id].decl;
            let process = matches!(sy.types.get(t), Some(TypeDef::Process(_)));
            let has_self = c.params.first().is_some_and(|p| p.name == "self");
            if process && !has_self {
                // `Name.method(instance, args)`: the instance is implicit self.
                if let Some((_, rest)) = args.split_first() {
                    self.check_args(&format!("{t}.{name}"), &c.params, rest, e.span, false);
                }
            } else {
                self.check_args(&format!("{t}.{name}"), &c.params, args, e.span, false);
            }
            return erase(self.ret_ty(c));
        }
        for a in args {
            self.expr(&a.value);
        }
        Ty::Any
    }

    /// `recv.m(args)` in the order of §4.5.
    pub(super) fn method_call(&mut self, e: &Expr, rt: &Ty, name: &str, args: &[Arg]) -> Ty {
        let sy = self.sy;
        let tname = match rt {
            Ty::Named(n, _) => Some(n.clone()),
            Ty::Int => Some("Int".into()),
            Ty::Float => Some("Float".into()),
            Ty::Str => Some("String".into()),
            Ty::Bool => Some("Bool".into()),
            _ => None,
        };
        if let Some(tn) = &tname {
            // 1. a record field holding a function.
            if let Some(TypeDef::Record { fields, .. }) = sy.types.get(tn) {
                if let Some(f) = fields.iter().find(|f| f.name == name) {
                    for a in args {
                        self.expr(&a.value);
                    }
                    return match self.ty(&f.ty) {
                        Ty::Fn(_, r) => *r,
                        _ => Ty::Any,
                    };
                }
            }
            // 2. inherent or enum-body method; 3. trait method.
            let direct = sy.methods.get(tn).and_then(|m| m.get(name)).copied();
            let via_trait: Vec<usize> = sy
                .impls
                .iter()
                .filter(|(_, t)| t == tn)
                .filter_map(|(tr, _)| {
                    sy.methods
                        .get(tr)
                        .and_then(|m| m.get(name))
                        .copied()
                        .or_else(|| match sy.types.get(tr) {
                            Some(TypeDef::Trait { methods, .. })
                                if methods.iter().any(|m| m.name == name) =>
                            {
                                Some(usize::MAX)
                            }
                            _ => None,
                        })
                })
                .collect();
            if let Some(id) = direct.or_else(|| via_trait.first().copied()) {
                if id == usize::MAX {
                    for a in args {
                        self.expr(&a.value);
                    }
                    return Ty::Any;
                }
                let c = &sy.cells[id].decl;
                let has_self = c.params.first().is_some_and(|p| p.name == "self");
                self.check_args(&format!("{tn}.{name}"), &c.params, args, e.span, has_self);
                let r = self.ret_ty(c);
                return if matches!(&c.ret, Some(TypeExpr::Named { name, .. }) if name == "Self") {
                    rt.clone()
                } else {
                    erase(r)
                };
            }
            let is_process = matches!(sy.types.get(tn), Some(TypeDef::Process(_)));
            if is_process {
                for a in args {
                    self.expr(&a.value);
                }
                return Ty::Any;
            }
        }
        // 4. uniform call syntax.
        match sy.values.get(name) {
            Some(ValueDef::Cell(id)) => {
                let c = &sy.cells[*id].decl;
                let saved = self.enter_generics(c.generics.iter().map(|g| g.name.clone()));
                // The receiver's type is checked against the first parameter.
                let mut subst = Subst::new();
                if let Some(p) = c.params.first() {
                    let pt = self.param_ty(p);
                    let what = format!("receiver of `{name}`");
                    self.unify_expect(rt, &pt, &mut subst, e.span, &what);
                }
                let subst = self.check_args_with(name, &c.params, args, e.span, true, subst);
                let r = substitute(&self.ret_ty(c), &subst);
                self.generics = saved;
                r
            }
            _ => {
                let ts: Vec<Ty> = std::iter::once(rt.clone())
                    .chain(args.iter().map(|a| self.expr(&a.value)))
                    .collect();
                if let Some(b) = builtins::lookup(name) {
                    return self.builtin_result(name, &ts, b.returns);
                }
                if tname.as_ref().is_some_and(|t| {
                    matches!(
                        sy.types.get(t),
                        Some(TypeDef::Record { .. } | TypeDef::Enum { .. })
                    )
                }) {
                    self.err(
                        Kind::UndefinedCell,
                        e.span,
                        format!("`{rt}` has no method `{name}`, and there is no cell `{name}`"),
                    );
                }
                Ty::Any
            }
        }
    }
}
