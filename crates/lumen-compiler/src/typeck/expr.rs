//! Expression types: literals, collections, operators, fields,
//! indexing, lambdas and the block forms (`if`, `when`, loops, `handle`).

use super::*;

impl Checker<'_> {
    pub(super) fn expr_value(&mut self, e: &Expr) -> Ty {
        match &e.kind {
            ExprKind::When(arms) => {
                if !arms.iter().any(|(c, _)| c.is_none()) {
                    self.err(
                        Kind::IncompleteMatch,
                        e.span,
                        "a `when` used as a value must end with a `_ ->` arm".into(),
                    );
                }
                self.expr(e)
            }
            _ => self.expr(e),
        }
    }

    pub(super) fn expr_expect(&mut self, e: &Expr, expected: Option<&Ty>) -> Ty {
        match (&e.kind, expected) {
            // Lambda parameter types come from the expected function type.
            (
                ExprKind::Lambda { params, .. } | ExprKind::BlockLambda { params, .. },
                Some(Ty::Fn(ps, _)),
            ) if params.len() == ps.len() => {
                self.scopes.push(HashMap::default());
                for (p, t) in params.iter().zip(ps) {
                    if p.ty.is_none() {
                        self.bind(&p.name, t.clone());
                    }
                }
                let t = self.expr_value(e);
                self.scopes.pop();
                t
            }
            // `[]` and `{}` take the expected element types.
            (ExprKind::List(items), Some(t @ Ty::List(_))) if items.is_empty() => t.clone(),
            (ExprKind::Map(items), Some(t @ (Ty::Map(..) | Ty::Set(_)))) if items.is_empty() => {
                t.clone()
            }
            _ => self.expr_value(e),
        }
    }

    pub(super) fn expr(&mut self, e: &Expr) -> Ty {
        stacker::maybe_grow(64 * 1024, 1024 * 1024, || self.expr_inner(e))
    }

    pub(super) fn expr_inner(&mut self, e: &Expr) -> Ty {
        match &e.kind {
            ExprKind::Int(_) => Ty::Int,
            ExprKind::Float(_) => Ty::Float,
            ExprKind::Str(segs) | ExprKind::Role { text: segs, .. } => {
                for s in segs {
                    if let StrSeg::Interp { expr, spec } = s {
                        let t = self.expr(expr);
                        if let Some(ty) = spec.as_ref().and_then(|s| s.ty) {
                            let bad = match ty {
                                'd' | 'x' | 'X' | 'o' | 'b' => !t.is_any() && t != Ty::Int,
                                'f' | 'e' | 'E' => !t.is_any() && !t.is_numeric(),
                                _ => false,
                            };
                            if bad {
                                self.mismatch(
                                    expr.span,
                                    format!("format `{ty}` does not apply to a `{t}`"),
                                );
                            }
                        }
                    }
                }
                Ty::Str
            }
            ExprKind::RawStr(_) => Ty::Str,
            ExprKind::Bytes(_) => Ty::Bytes,
            ExprKind::Bool(_) => Ty::Bool,
            ExprKind::Null => Ty::Null,
            ExprKind::Name(n) => self.name(n),
            ExprKind::List(items) => self.list_expr(items),
            ExprKind::Set(items) => {
                let ts: Vec<Ty> = items.iter().map(|i| self.expr(&i.value)).collect();
                Ty::Set(Box::new(elem_union(ts)))
            }
            ExprKind::Tuple(items) => {
                Ty::Tuple(items.iter().map(|i| self.expr(&i.value)).collect())
            }
            ExprKind::Map(entries) => {
                let mut ks = Vec::new();
                let mut vs = Vec::new();
                for (k, v) in entries {
                    ks.push(self.expr(k));
                    vs.push(self.expr(v));
                }
                Ty::Map(Box::new(elem_union(ks)), Box::new(elem_union(vs)))
            }
            ExprKind::Comprehension {
                kind,
                elem,
                value,
                clauses,
            } => self.comprehension_expr(kind, elem, value, clauses),
            ExprKind::Unary { op, expr } => self.unary_expr(e, op, expr),
            ExprKind::Binary { op, lhs, rhs } => {
                let l = self.expr(lhs);
                if *op == "|>" {
                    return self.pipe(&l, rhs, e.span);
                }
                let r = self.expr(rhs);
                self.binary_at(op, &l, &r, e.span, [lhs.span, rhs.span])
            }
            ExprKind::Compare { first, rest } => {
                let mut prev = self.expr(first);
                for (op, x) in rest {
                    let t = self.expr(x);
                    self.binary(op, &prev, &t, x.span);
                    prev = t;
                }
                Ty::Bool
            }
            ExprKind::Is { expr, .. } => {
                self.expr(expr);
                Ty::Bool
            }
            ExprKind::As { expr, ty } | ExprKind::ExpectSchema { expr, ty } => {
                self.expr(expr);
                self.ty(ty)
            }
            ExprKind::Field { expr, name, safe } => self.field(e, expr, name, *safe),
            ExprKind::Index { expr, index, safe } => self.index_expr(e, expr, index, *safe),
            ExprKind::Call { callee, args } => self.call(e, callee, args),
            ExprKind::Try(inner) => self.try_expr(e, inner),
            ExprKind::Unwrap(inner) => self.expr(inner).non_null(),
            ExprKind::Await(inner) => match self.expr(inner) {
                Ty::Future(t) => *t,
                other => other,
            },
            ExprKind::Lambda { params, ret, body } => self.lambda_expr(params, ret, body),
            ExprKind::BlockLambda { params, ret, body } => {
                self.block_lambda_expr(params, ret, body)
            }
            ExprKind::IfElse {
                cond,
                then,
                otherwise,
            } => {
                let c = self.expr(cond);
                self.bool_cond(&c, cond.span);
                let a = self.expr(then);
                let b = self.expr(otherwise);
                join(a, b)
            }
            ExprKind::Perform { effect, op, args } => self.perform_expr(e, effect, op, args),
            ExprKind::If {
                branches,
                otherwise,
            } => self.if_expr(branches, otherwise),
            ExprKind::Match { subject, arms } => self.match_expr(e, subject, arms),
            ExprKind::When(arms) => self.when_expr(arms),
            ExprKind::Loop { body, .. } => {
                self.block(body, false);
                Ty::Any
            }
            ExprKind::For {
                pattern,
                iter,
                filter,
                body,
                ..
            } => self.for_expr(pattern, iter, filter, body),
            ExprKind::While { cond, body, .. } => {
                self.scopes.push(HashMap::default());
                self.cond(cond);
                self.block(body, false);
                self.scopes.pop();
                Ty::Null
            }
            ExprKind::Handle { body, clauses, .. } => self.handle_expr(body, clauses),
            ExprKind::Do(b) | ExprKind::Comptime(b) => self.block(b, true),
            ExprKind::Resume(v) => {
                self.expr(v);
                Ty::Any
            }
        }
    }

    /// Binds a lambda's parameters in the current scope: declared types,
    /// else those taken from the expected function type (bound by
    /// `expr_expect`), else `Any`.
    pub(super) fn lambda_params(&mut self, params: &[Param]) -> Vec<Ty> {
        params
            .iter()
            .map(|p| {
                let t = match &p.ty {
                    Some(_) => self.param_ty(p),
                    None => self.local(&p.name).unwrap_or(Ty::Any),
                };
                self.bind(&p.name, t.clone());
                t
            })
            .collect()
    }

    pub(super) fn iter_elem(&mut self, t: &Ty, span: Span) -> Ty {
        match t {
            Ty::Str => {
                self.mismatch(
                    span,
                    "a `String` is not iterable; iterate `chars(s)`".into(),
                );
                Ty::Any
            }
            other => other.element().unwrap_or_else(|| {
                if !matches!(other, Ty::Union(_) | Ty::Named(..)) {
                    self.mismatch(span, format!("a `{other}` cannot be iterated"));
                }
                Ty::Any
            }),
        }
    }

    pub(super) fn name(&mut self, n: &str) -> Ty {
        if let Some(t) = self.local(n) {
            return t;
        }
        match self.sy.values.get(n) {
            Some(ValueDef::Cell(id)) => {
                let c = &self.sy.cells[*id].decl;
                let saved = std::mem::replace(
                    &mut self.generics,
                    c.generics.iter().map(|g| g.name.clone()).collect(),
                );
                let t = Ty::Fn(
                    c.params.iter().map(|p| self.param_ty(p)).collect(),
                    Box::new(self.ret_ty(c)),
                );
                self.generics = saved;
                t
            }
            Some(ValueDef::Variant { enum_name, index }) => match self.sy.types.get(enum_name) {
                Some(TypeDef::Enum { variants, generics }) => {
                    let args = vec![Ty::Any; generics.len()];
                    if variants[*index].payload.is_empty() {
                        Ty::Named(enum_name.clone(), args)
                    } else {
                        Ty::Any
                    }
                }
                _ => Ty::Any,
            },
            _ => match builtins::CONSTANTS.iter().find(|c| c.0 == n) {
                Some((_, "Int")) => Ty::Int,
                Some(_) => Ty::Float,
                None => Ty::Any,
            },
        }
    }

    pub(super) fn binary(&mut self, op: &str, l: &Ty, r: &Ty, span: Span) -> Ty {
        self.binary_at(op, l, r, span, [span, span])
    }

    /// [`Checker::binary`] knowing where each operand is: an operand of the
    /// wrong type is named at its own position.
    pub(super) fn binary_at(&mut self, op: &str, l: &Ty, r: &Ty, span: Span, at: [Span; 2]) -> Ty {
        let any = l.is_any() || r.is_any();
        match op {
            "+" if *l == Ty::Str || *r == Ty::Str => Ty::Str,
            "+" | "-" | "*" | "/" | "%" | "//" | "**" => {
                if any {
                    return if l.is_numeric() && r.is_numeric() {
                        Ty::Float
                    } else {
                        Ty::Any
                    };
                }
                if !l.is_numeric() || !r.is_numeric() {
                    self.mismatch(span, format!("`{op}` cannot combine `{l}` and `{r}`"));
                    return Ty::Any;
                }
                if *l == Ty::Int && *r == Ty::Int {
                    Ty::Int
                } else {
                    Ty::Float
                }
            }
            "&" | "|" | "^" | "<<" | ">>" => {
                if !any && (*l != Ty::Int || *r != Ty::Int) {
                    self.mismatch(
                        span,
                        format!("`{op}` takes two `Int`s, found `{l}` and `{r}`"),
                    );
                }
                Ty::Int
            }
            "==" | "!=" => {
                if !any && !overlap(l, r) {
                    self.mismatch(
                        span,
                        format!("`{op}` compares unrelated types `{l}` and `{r}`"),
                    );
                }
                Ty::Bool
            }
            "<" | "<=" | ">" | ">=" | "<=>" => {
                let ok = any
                    || (l.is_numeric() && r.is_numeric())
                    || (l == r && matches!(l, Ty::Str | Ty::Bool | Ty::List(_) | Ty::Tuple(_)));
                if !ok {
                    self.mismatch(span, format!("`{op}` cannot order `{l}` and `{r}`"));
                }
                if op == "<=>" {
                    Ty::Int
                } else {
                    Ty::Bool
                }
            }
            "and" | "or" => {
                for (t, at) in [(l, at[0]), (r, at[1])] {
                    if !t.is_any() && *t != Ty::Bool {
                        self.mismatch(at, format!("`{op}` takes `Bool`s, found `{t}`"));
                    }
                }
                Ty::Bool
            }
            "in" => Ty::Bool,
            "??" => join(l.non_null(), r.clone()),
            "++" => {
                let ok = any
                    || matches!(
                        (l, r),
                        (Ty::Str, Ty::Str) | (Ty::Bytes, Ty::Bytes) | (Ty::List(_), Ty::List(_))
                    );
                if !ok {
                    self.mismatch(
                        span,
                        format!("`++` joins two Strings, lists or Bytes, not `{l}` and `{r}`"),
                    );
                    return Ty::Any;
                }
                join(l.clone(), r.clone())
            }
            ".." | "..=" => {
                for t in [l, r] {
                    if !t.is_any() && *t != Ty::Int {
                        self.mismatch(span, format!("a range takes `Int`s, found `{t}`"));
                    }
                }
                Ty::List(Box::new(Ty::Int))
            }
            "~>" => match (l, r) {
                (Ty::Fn(p, _), Ty::Fn(_, ret)) => Ty::Fn(p.clone(), ret.clone()),
                _ => Ty::Any,
            },
            _ => Ty::Any,
        }
    }

    /// `x |> f(a)` is `f(x, a)`; `x |> f` is `f(x)`.
    pub(super) fn pipe(&mut self, _l: &Ty, rhs: &Expr, _span: Span) -> Ty {
        match &rhs.kind {
            ExprKind::Call { callee, args } => {
                let t = self.expr(callee);
                args.iter().for_each(|a| {
                    self.expr(&a.value);
                });
                match t {
                    Ty::Fn(_, r) => *r,
                    _ => self.builtin_ret(callee),
                }
            }
            _ => match self.expr(rhs) {
                Ty::Fn(_, r) => *r,
                _ => self.builtin_ret(rhs),
            },
        }
    }

    pub(super) fn field(&mut self, e: &Expr, expr: &Expr, name: &str, safe: bool) -> Ty {
        // `Enum.Variant`, `Type.method`.
        if let ExprKind::Name(t) = &expr.kind {
            if self.local(t).is_none() && self.sy.types.contains_key(t) {
                if let Some(TypeDef::Enum { variants, generics }) = self.sy.types.get(t) {
                    if let Some(v) = variants.iter().find(|v| v.name == name) {
                        if v.payload.is_empty() {
                            return Ty::Named(t.clone(), vec![Ty::Any; generics.len()]);
                        }
                    }
                }
                return Ty::Any;
            }
        }
        let t = self.expr(expr);
        let base = if safe { t.non_null() } else { t.clone() };
        let r = match &base {
            Ty::Named(n, _) => match self.sy.types.get(n) {
                Some(TypeDef::Record { fields, generics }) => {
                    match fields.iter().find(|f| f.name == name) {
                        Some(f) if generics.is_empty() => self.ty(&f.ty),
                        Some(_) => Ty::Any,
                        None => {
                            if !self.has_method(n, name) {
                                self.err(
                                    Kind::UnknownField,
                                    e.span,
                                    format!("record `{n}` has no field `{name}`"),
                                );
                                if let Some(d) = self.diags.last_mut() {
                                    d.help = crate::resolve::suggest(
                                        name,
                                        fields.iter().map(|f| f.name.as_str()),
                                    )
                                    .map(|s| format!("did you mean `{s}`?"));
                                }
                            }
                            Ty::Any
                        }
                    }
                }
                Some(TypeDef::Enum { .. }) if !self.has_method(n, name) => {
                    self.err(
                        Kind::UnknownField,
                        e.span,
                        format!("`{n}` is an enum: its values have no field `{name}`"),
                    );
                    if let Some(d) = self.diags.last_mut() {
                        d.help = Some("match on the value to reach a variant's payload".into());
                    }
                    Ty::Any
                }
                _ => Ty::Any,
            },
            // Scalars have methods (`s.len` reads like `len(s)`), never
            // fields (Appendix B).
            Ty::Int | Ty::Float | Ty::Bool | Ty::Str | Ty::Bytes
                if lumen_lir::builtins::lookup(name).is_none() =>
            {
                self.err(
                    Kind::UnknownField,
                    e.span,
                    format!("a `{base}` value has no field `{name}`"),
                );
                Ty::Any
            }
            Ty::Tuple(ts) => match name.parse::<usize>() {
                Ok(i) => ts.get(i).cloned().unwrap_or(Ty::Any),
                Err(_) => Ty::Any,
            },
            _ => Ty::Any,
        };
        if safe {
            Ty::union(vec![r, Ty::Null])
        } else {
            r
        }
    }

    pub(super) fn match_expr(&mut self, e: &Expr, subject: &Expr, arms: &[Arm]) -> Ty {
        let st = self.expr(subject);
        let mut ts = Vec::new();
        let mut covered = Coverage::default();
        for a in arms {
            if covered.all(self, &st) {
                self.diags.push(Diagnostic::warning(
                    Kind::UnreachableArm,
                    a.pattern.span,
                    "this arm can never match: earlier arms cover every value",
                ));
            }
            self.scopes.push(HashMap::default());
            self.pattern(&a.pattern, &st);
            if let Some(g) = &a.guard {
                let t = self.expr(g);
                self.bool_cond(&t, g.span);
            } else {
                covered.add(self, &a.pattern);
            }
            ts.push(self.block(&a.body, true));
            self.scopes.pop();
        }
        if !covered.all(self, &st) {
            let missing = covered.missing(self, &st);
            self.err(
                Kind::IncompleteMatch,
                e.span,
                format!("this match does not cover {missing}"),
            );
            if let Some(d) = self.diags.last_mut() {
                d.help = Some("add the missing arms, or a final `_ ->` arm".into());
            }
        }
        ts.into_iter().reduce(join).unwrap_or(Ty::Null)
    }
}

/// A guard or transition argument: names, literals and operators only.
pub(super) fn simple_expr(e: &Expr) -> bool {
    stacker::maybe_grow(64 * 1024, 1024 * 1024, || simple_expr_inner(e))
}

fn simple_expr_inner(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Int(_)
        | ExprKind::Float(_)
        | ExprKind::Bool(_)
        | ExprKind::Null
        | ExprKind::Name(_)
        | ExprKind::RawStr(_) => true,
        ExprKind::Str(segs) => segs.iter().all(|s| matches!(s, StrSeg::Text(_))),
        ExprKind::Unary { expr, .. } => simple_expr(expr),
        ExprKind::Binary { lhs, rhs, .. } => simple_expr(lhs) && simple_expr(rhs),
        ExprKind::Compare { first, rest } => {
            simple_expr(first) && rest.iter().all(|(_, x)| simple_expr(x))
        }
        _ => false,
    }
}

pub(super) fn is_record_shorthand(sy: &Symbols, path: &[String]) -> bool {
    matches!(path, [n] if matches!(sy.types.get(n), Some(TypeDef::Record { .. })))
}

pub(super) fn shorthand_fields(args: &[Pattern]) -> Vec<(String, Pattern)> {
    args.iter()
        .filter_map(|a| match &a.kind {
            PatternKind::Bind(n) => Some((n.clone(), a.clone())),
            _ => None,
        })
        .collect()
}

/// Generic parameters become `Any` at use sites (arguments are inferred
/// per call; this checker does not unify).
pub(super) fn erase(t: Ty) -> Ty {
    match t {
        Ty::Param(_) => Ty::Any,
        Ty::List(x) => Ty::List(Box::new(erase(*x))),
        Ty::Set(x) => Ty::Set(Box::new(erase(*x))),
        Ty::Future(x) => Ty::Future(Box::new(erase(*x))),
        Ty::Map(a, b) => Ty::Map(Box::new(erase(*a)), Box::new(erase(*b))),
        Ty::Result(a, b) => Ty::Result(Box::new(erase(*a)), Box::new(erase(*b))),
        Ty::Tuple(ts) => Ty::Tuple(ts.into_iter().map(erase).collect()),
        Ty::Union(ts) => Ty::union(ts.into_iter().map(erase).collect()),
        Ty::Fn(ps, r) => Ty::Fn(ps.into_iter().map(erase).collect(), Box::new(erase(*r))),
        Ty::Named(n, a) => Ty::Named(n, a.into_iter().map(erase).collect()),
        other => other,
    }
}

/// The element type of a collection literal: the members' union, with
/// Int widened to Float when both occur.
pub(super) fn elem_union(ts: Vec<Ty>) -> Ty {
    if ts.is_empty() {
        return Ty::Any;
    }
    let has_float = ts.contains(&Ty::Float);
    let ts = ts
        .into_iter()
        .map(|t| {
            if has_float && t == Ty::Int {
                Ty::Float
            } else {
                t
            }
        })
        .collect();
    match Ty::union(ts) {
        Ty::Union(_) => Ty::Any,
        t => t,
    }
}

/// The type of a value that is one of two branches.
pub(super) fn join(a: Ty, b: Ty) -> Ty {
    if a == b {
        return a;
    }
    if a.is_numeric() && b.is_numeric() {
        return Ty::Float;
    }
    Ty::union(vec![a, b])
}
