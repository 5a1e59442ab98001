//! The typechecker (§6, §7.2, §8, §11): expression types, assignability,
//! calls and constructors, exhaustiveness, return paths, trait impls and
//! the static validation of machines and pipelines. Unknown things are
//! `Any` (checked at run time), so one mistake gives one message.

use std::collections::BTreeMap;

use crate::ast::*;
use crate::builtins;
use crate::diag::{Diagnostic, Kind, Span};
use crate::resolve::{canonical_type, Symbols, TypeDef, ValueDef};
use crate::types::{assignable, overlap, substitute, unify, Subst, Ty};

/// Scope maps hash short names often: Fx instead of SipHash.
type HashMap<K, V> = std::collections::HashMap<K, V, rustc_hash::FxBuildHasher>;

/// The types the checker computed: each cell's parameter and return
/// types (used by lowering and tooling).
#[derive(Debug, Clone, Default)]
pub struct Types {
    pub params: Vec<Vec<Ty>>,
    pub returns: Vec<Ty>,
}

pub fn typecheck(prog: &Program, sy: &Symbols) -> (Types, Vec<Diagnostic>) {
    let mut c = Checker {
        sy,
        diags: Vec::new(),
        scopes: Vec::new(),
        ret: Vec::new(),
        generics: Vec::new(),
    };
    let mut types = Types::default();
    for cell in &sy.cells {
        c.generics = cell.decl.generics.iter().map(|g| g.name.clone()).collect();
        types
            .params
            .push(cell.decl.params.iter().map(|p| c.param_ty(p)).collect());
        types.returns.push(c.ret_ty(&cell.decl));
    }
    for (i, cell) in sy.cells.iter().enumerate() {
        c.cell(i, &cell.decl, cell.owner.as_deref(), Some(i) == sy.main);
    }
    c.items(prog);
    (types, c.diags)
}

struct Checker<'s> {
    sy: &'s Symbols,
    diags: Vec<Diagnostic>,
    scopes: Vec<HashMap<String, Ty>>,
    /// Declared return types of the enclosing cells and lambdas (`None`:
    /// not declared).
    ret: Vec<Option<Ty>>,
    generics: Vec<String>,
}

fn is_lower_variant(n: &str) -> bool {
    n == "ok" || n == "err"
}

impl Checker<'_> {
    fn mismatch(&mut self, span: Span, msg: String) {
        self.diags
            .push(Diagnostic::error(Kind::TypeMismatch, span, msg));
    }

    fn err(&mut self, kind: Kind, span: Span, msg: String) {
        self.diags.push(Diagnostic::error(kind, span, msg));
    }

    /// Checks `s` against `t`, reporting a mismatch or `possibly null`.
    fn expect(&mut self, s: &Ty, t: &Ty, span: Span, what: &str) {
        match assignable(s, t) {
            Ok(false) => {}
            Ok(true) => self.diags.push(Diagnostic::warning(
                Kind::PossiblyNull,
                span,
                format!("{what}: `{s}` may be null where `{t}` is expected"),
            )),
            Err(_) => self.mismatch(span, format!("{what}: expected `{t}`, found `{s}`")),
        }
    }

    pub fn ty(&self, t: &TypeExpr) -> Ty {
        self.ty_depth(t, 0)
    }

    fn ty_depth(&self, t: &TypeExpr, depth: u32) -> Ty {
        if depth > 32 {
            return Ty::Any;
        }
        let sub = |x: &TypeExpr| self.ty_depth(x, depth + 1);
        match t {
            TypeExpr::Named { name, args } => {
                let a: Vec<Ty> = args.iter().map(sub).collect();
                let arg = |i: usize| Box::new(a.get(i).cloned().unwrap_or(Ty::Any));
                match canonical_type(name).as_str() {
                    "Int" => Ty::Int,
                    "Float" => Ty::Float,
                    "Bool" => Ty::Bool,
                    "String" => Ty::Str,
                    "Bytes" => Ty::Bytes,
                    "Null" => Ty::Null,
                    "Any" | "Json" | "Self" | "TraceRef" => Ty::Any,
                    "list" => Ty::List(arg(0)),
                    "set" => Ty::Set(arg(0)),
                    "map" => Ty::Map(arg(0), arg(1)),
                    "result" => Ty::Result(arg(0), arg(1)),
                    "future" => Ty::Future(arg(0)),
                    "tuple" => Ty::Tuple(a),
                    n if self.generics.iter().any(|g| g == n) => Ty::Param(n.to_string()),
                    n => match self.sy.types.get(n) {
                        Some(TypeDef::Alias { ty, generics }) if generics.is_empty() => {
                            self.ty_depth(ty, depth + 1)
                        }
                        Some(TypeDef::Alias { .. }) => Ty::Any,
                        Some(
                            TypeDef::Record { .. } | TypeDef::Enum { .. } | TypeDef::Process(_),
                        ) => Ty::Named(n.to_string(), a),
                        _ => Ty::Any,
                    },
                }
            }
            TypeExpr::Tuple(ts) => Ty::Tuple(ts.iter().map(sub).collect()),
            TypeExpr::Fn { params, ret, .. } => {
                Ty::Fn(params.iter().map(sub).collect(), Box::new(sub(ret)))
            }
            TypeExpr::Union(ts) => Ty::union(ts.iter().map(sub).collect()),
            TypeExpr::Optional(t) => Ty::union(vec![sub(t), Ty::Null]),
        }
    }

    fn param_ty(&self, p: &Param) -> Ty {
        let t = p.ty.as_ref().map(|t| self.ty(t)).unwrap_or(Ty::Any);
        if p.variadic {
            Ty::List(Box::new(t))
        } else {
            t
        }
    }

    fn ret_ty(&self, c: &CellDecl) -> Ty {
        let t = c.ret.as_ref().map(|t| self.ty(t)).unwrap_or(Ty::Any);
        if c.is_async {
            Ty::Future(Box::new(t))
        } else {
            t
        }
    }

    fn bind(&mut self, n: &str, t: Ty) {
        if let Some(s) = self.scopes.last_mut() {
            s.insert(n.to_string(), t);
        }
    }

    fn local(&self, n: &str) -> Option<Ty> {
        self.scopes.iter().rev().find_map(|s| s.get(n).cloned())
    }

    fn cell(&mut self, _id: usize, decl: &CellDecl, owner: Option<&str>, synthetic: bool) {
        self.generics = decl.generics.iter().map(|g| g.name.clone()).collect();
        if let Some(TypeDef::Record { generics, .. } | TypeDef::Enum { generics, .. }) =
            owner.and_then(|o| self.sy.types.get(o))
        {
            self.generics
                .extend(generics.iter().map(|g| g.name.clone()));
        }
        self.scopes = vec![HashMap::default()];
        if let Some(o) = owner {
            let self_ty = match self.sy.types.get(o) {
                Some(TypeDef::Record { .. } | TypeDef::Enum { .. } | TypeDef::Process(_)) => {
                    Ty::Named(o.to_string(), Vec::new())
                }
                _ => Ty::Any,
            };
            self.bind("self", self_ty);
        }
        for p in &decl.params {
            let t = if (p.name == "self" && p.ty.is_none())
                || matches!(&p.ty, Some(TypeExpr::Named { name, .. }) if name == "Self")
            {
                self.local("self").unwrap_or(Ty::Any)
            } else {
                self.param_ty(p)
            };
            if let Some(d) = &p.default {
                let dt = self.expr(d);
                self.expect(
                    &dt,
                    &t,
                    d.span,
                    &format!("default of parameter `{}`", p.name),
                );
            }
            self.bind(&p.name, t);
        }
        let declared = if synthetic {
            None
        } else {
            decl.ret.as_ref().map(|t| self.ty(t))
        };
        self.ret = vec![declared.clone()];
        match &decl.body {
            Some(Body::Expr(e)) => {
                let t = self.expr(e);
                if let Some(r) = &declared {
                    if *r != Ty::Null {
                        self.expect(&t, r, e.span, &format!("result of `{}`", decl.name));
                    }
                }
            }
            Some(Body::Block(b)) => {
                let t = self.block(b, declared.is_some());
                if let Some(r) = &declared {
                    self.check_return(decl, b, &t, r);
                }
            }
            None => {}
        }
    }

    /// §6.11: a non-Null, non-Any, non-nullable return type needs every
    /// path to end in `return`, `halt` or a value.
    fn check_return(&mut self, decl: &CellDecl, b: &Block, last: &Ty, r: &Ty) {
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

    /// Checks a block; returns the type of its value.
    fn block(&mut self, b: &Block, value: bool) -> Ty {
        self.scopes.push(HashMap::default());
        let mut t = Ty::Null;
        for (i, s) in b.stmts.iter().enumerate() {
            let last = i + 1 == b.stmts.len();
            t = self.stmt(s, value && last);
        }
        self.scopes.pop();
        t
    }

    fn stmt(&mut self, s: &Stmt, value: bool) -> Ty {
        match &s.kind {
            StmtKind::Let {
                pattern,
                ty,
                value: v,
                ..
            } => {
                let declared = ty.as_ref().map(|t| self.ty(t));
                let vt = self.expr_expect(v, declared.as_ref());
                if let Some(d) = &declared {
                    self.expect(&vt, d, v.span, "value of the binding");
                }
                let t = declared.unwrap_or(vt);
                self.pattern(pattern, &t);
                Ty::Null
            }
            StmtKind::Assign { target, op, value } => {
                let tt = self.expr(target);
                let vt = self.expr(value);
                match op {
                    None => self.expect(&vt, &tt, value.span, "assigned value"),
                    Some(o) => {
                        self.binary(o, &tt, &vt, s.span);
                    }
                }
                Ty::Null
            }
            StmtKind::Expr(e) => {
                if value {
                    self.expr_value(e)
                } else {
                    self.expr(e);
                    Ty::Null
                }
            }
            StmtKind::Return(v) => {
                let t = v.as_ref().map(|e| self.expr(e)).unwrap_or(Ty::Null);
                if let Some(Some(r)) = self.ret.last().cloned() {
                    if r != Ty::Null || v.is_some() {
                        let span = v.as_ref().map(|e| e.span).unwrap_or(s.span);
                        self.expect(&t, &r, span, "returned value");
                    }
                }
                Ty::Null
            }
            StmtKind::Break { value, .. } => {
                if let Some(v) = value {
                    self.expr(v);
                }
                Ty::Null
            }
            StmtKind::Continue(_) => Ty::Null,
            StmtKind::Halt(e) | StmtKind::Emit(e) => {
                self.expr(e);
                Ty::Null
            }
            StmtKind::Defer(b) => {
                self.block(b, false);
                Ty::Null
            }
            StmtKind::Cell(c) => {
                let t = Ty::Fn(
                    c.params.iter().map(|p| self.param_ty(p)).collect(),
                    Box::new(self.ret_ty(c)),
                );
                // The body is checked as its own cell, with fresh scopes.
                let saved = (
                    std::mem::take(&mut self.scopes),
                    std::mem::take(&mut self.ret),
                );
                let g = self.generics.clone();
                self.cell(usize::MAX, c, None, false);
                self.generics = g;
                (self.scopes, self.ret) = saved;
                self.bind(&c.name, t);
                Ty::Null
            }
        }
    }

    fn cond(&mut self, c: &Cond) {
        match c {
            Cond::Expr(e) => {
                let t = self.expr(e);
                self.bool_cond(&t, e.span);
                // Narrowing (§8.4): `x != null`, `x is T`.
                self.narrow(e);
            }
            Cond::Let(p, e) => {
                let t = self.expr(e);
                self.pattern(p, &t);
            }
        }
    }

    fn bool_cond(&mut self, t: &Ty, span: Span) {
        if !t.is_any() && *t != Ty::Bool {
            self.mismatch(
                span,
                format!("a condition must be `Bool`, found `{t}` (there is no truthiness)"),
            );
        }
    }

    fn narrow(&mut self, e: &Expr) {
        match &e.kind {
            ExprKind::Binary { op: "!=", lhs, rhs } if matches!(rhs.kind, ExprKind::Null) => {
                if let ExprKind::Name(n) = &lhs.kind {
                    if let Some(t) = self.local(n) {
                        self.bind(n, t.non_null());
                    }
                }
            }
            ExprKind::Is { expr, ty } => {
                if let ExprKind::Name(n) = &expr.kind {
                    let t = self.ty(ty);
                    self.bind(n, t);
                }
            }
            ExprKind::Binary {
                op: "and",
                lhs,
                rhs,
            } => {
                self.narrow(lhs);
                self.narrow(rhs);
            }
            _ => {}
        }
    }

    /// The type a pattern matches, binding its names.
    fn pattern(&mut self, p: &Pattern, t: &Ty) {
        match &p.kind {
            PatternKind::Bind(n) => {
                if !self.unit_variant(n) {
                    self.bind(n, t.clone());
                }
            }
            PatternKind::Typed { name, ty } => {
                let tt = self.ty(ty);
                self.bind(name, tt);
            }
            PatternKind::Tuple(ps) => {
                let elems = match t {
                    Ty::Tuple(ts) if ts.len() == ps.len() => ts.clone(),
                    _ => vec![Ty::Any; ps.len()],
                };
                for (x, et) in ps.iter().zip(elems) {
                    self.pattern(x, &et);
                }
            }
            PatternKind::List {
                before,
                rest,
                after,
            } => {
                let et = match t {
                    Ty::List(e) => (**e).clone(),
                    _ => Ty::Any,
                };
                for x in before.iter().chain(after) {
                    self.pattern(x, &et);
                }
                if let Some(Some(r)) = rest {
                    self.bind(r, Ty::List(Box::new(et)));
                }
            }
            PatternKind::Variant { path, args } => {
                let payload = self.variant_payload(path, t);
                for (i, a) in args.iter().enumerate() {
                    let pt = payload
                        .as_ref()
                        .and_then(|p| p.get(i).cloned())
                        .unwrap_or(Ty::Any);
                    self.pattern(a, &pt);
                }
                if let Some(pl) = &payload {
                    if pl.len() != args.len() && !(is_record_shorthand(self.sy, path)) {
                        self.err(
                            Kind::ArgumentCount,
                            p.span,
                            format!(
                                "variant `{}` has {} payload value(s), the pattern gives {}",
                                path.join("."),
                                pl.len(),
                                args.len()
                            ),
                        );
                    }
                }
                if is_record_shorthand(self.sy, path) {
                    // `Rec(x, y)` shorthand binds fields.
                    self.record_pattern(&path[0], &shorthand_fields(args), p.span);
                }
            }
            PatternKind::Record { name, fields, .. } => {
                self.record_pattern(name, fields, p.span);
            }
            PatternKind::Or(alts) => alts.iter().for_each(|a| self.pattern(a, t)),
            PatternKind::Wild | PatternKind::Literal(_) | PatternKind::Range { .. } => {}
        }
    }

    fn record_pattern(&mut self, name: &str, fields: &[(String, Pattern)], span: Span) {
        let Some(TypeDef::Record { fields: defs, .. }) = self.sy.types.get(name) else {
            return;
        };
        for (f, sub) in fields {
            match defs.iter().find(|d| &d.name == f) {
                Some(d) => {
                    let ft = self.ty(&d.ty);
                    self.pattern(sub, &ft);
                }
                None => self.err(
                    Kind::UnknownField,
                    span,
                    format!("record `{name}` has no field `{f}`"),
                ),
            }
        }
    }

    fn unit_variant(&self, n: &str) -> bool {
        n.starts_with(|c: char| c.is_ascii_uppercase())
            && matches!(self.sy.values.get(n), Some(ValueDef::Variant { .. }))
    }

    /// Payload types of a variant named by a pattern path.
    fn variant_payload(&self, path: &[String], subject: &Ty) -> Option<Vec<Ty>> {
        let (enum_name, v) = match path {
            [v] if is_lower_variant(v) => {
                return Some(vec![match (subject, v.as_str()) {
                    (Ty::Result(o, _), "ok") => (**o).clone(),
                    (Ty::Result(_, e), "err") => (**e).clone(),
                    _ => Ty::Any,
                }]);
            }
            [v] => match self.sy.values.get(v) {
                Some(ValueDef::Variant { enum_name, .. }) => (enum_name.clone(), v.clone()),
                _ => return None,
            },
            [e, v] => (e.clone(), v.clone()),
            _ => return None,
        };
        let Some(TypeDef::Enum { variants, generics }) = self.sy.types.get(&enum_name) else {
            return None;
        };
        let var = variants.iter().find(|x| x.name == v)?;
        if !generics.is_empty() {
            return Some(vec![Ty::Any; var.payload.len()]);
        }
        Some(var.payload.iter().map(|t| self.ty(t)).collect())
    }

    fn expr_value(&mut self, e: &Expr) -> Ty {
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

    fn expr_expect(&mut self, e: &Expr, expected: Option<&Ty>) -> Ty {
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

    fn expr(&mut self, e: &Expr) -> Ty {
        stacker::maybe_grow(64 * 1024, 1024 * 1024, || self.expr_inner(e))
    }

    fn expr_inner(&mut self, e: &Expr) -> Ty {
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
            ExprKind::List(items) => {
                let ts: Vec<Ty> = items
                    .iter()
                    .map(|i| {
                        let t = self.expr(&i.value);
                        if i.spread {
                            t.element().unwrap_or(Ty::Any)
                        } else {
                            t
                        }
                    })
                    .collect();
                Ty::List(Box::new(elem_union(ts)))
            }
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
            } => {
                self.scopes.push(HashMap::default());
                for c in clauses {
                    match c {
                        Clause::For { pattern, iter } => {
                            let it = self.expr(iter);
                            let et = self.iter_elem(&it, iter.span);
                            self.pattern(pattern, &et);
                        }
                        Clause::If(c) => {
                            let t = self.expr(c);
                            self.bool_cond(&t, c.span);
                        }
                    }
                }
                let et = self.expr(elem);
                let vt = value.as_ref().map(|v| self.expr(v));
                self.scopes.pop();
                match kind {
                    Collection::List => Ty::List(Box::new(et)),
                    Collection::Set => Ty::Set(Box::new(et)),
                    Collection::Map => Ty::Map(Box::new(et), Box::new(vt.unwrap_or(Ty::Any))),
                }
            }
            ExprKind::Unary { op, expr } => {
                let t = self.expr(expr);
                match *op {
                    "not" => {
                        if !t.is_any() && t != Ty::Bool {
                            self.mismatch(e.span, format!("`not` needs a `Bool`, found `{t}`"));
                        }
                        Ty::Bool
                    }
                    "-" => {
                        if !t.is_any() && !t.is_numeric() {
                            self.mismatch(e.span, format!("unary `-` needs a number, found `{t}`"));
                            return Ty::Any;
                        }
                        t
                    }
                    _ => {
                        if !t.is_any() && t != Ty::Int {
                            self.mismatch(e.span, format!("`~` needs an `Int`, found `{t}`"));
                        }
                        Ty::Int
                    }
                }
            }
            ExprKind::Binary { op, lhs, rhs } => {
                let l = self.expr(lhs);
                if *op == "|>" {
                    return self.pipe(&l, rhs, e.span);
                }
                let r = self.expr(rhs);
                self.binary(op, &l, &r, e.span)
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
            ExprKind::Index { expr, index, safe } => {
                let t = self.expr(expr);
                let it = self.expr(index);
                let base = if *safe { t.non_null() } else { t.clone() };
                let r = match &base {
                    Ty::List(x) => {
                        self.expect(&it, &Ty::Int, index.span, "list index");
                        (**x).clone()
                    }
                    Ty::Map(k, v) => {
                        self.expect(&it, k, index.span, "map key");
                        (**v).clone()
                    }
                    Ty::Str => Ty::Str,
                    Ty::Tuple(ts) => match &index.kind {
                        ExprKind::Int(i) => ts
                            .get(if *i < 0 {
                                (ts.len() as i64 + i) as usize
                            } else {
                                *i as usize
                            })
                            .cloned()
                            .unwrap_or(Ty::Any),
                        _ => Ty::Any,
                    },
                    Ty::Any | Ty::Param(_) | Ty::Union(_) => Ty::Any,
                    other => {
                        self.mismatch(e.span, format!("a `{other}` cannot be indexed"));
                        Ty::Any
                    }
                };
                if *safe {
                    Ty::union(vec![r, Ty::Null])
                } else {
                    r
                }
            }
            ExprKind::Call { callee, args } => self.call(e, callee, args),
            ExprKind::Try(inner) => {
                let t = self.expr(inner);
                match &t {
                    Ty::Result(ok, _) => {
                        if let Some(Some(r)) = self.ret.last().cloned() {
                            if !r.is_any() && !matches!(r, Ty::Result(..)) {
                                self.mismatch(
                                    e.span,
                                    format!("`?` on a result needs the enclosing cell to return a `result`, not `{r}`"),
                                );
                            }
                        }
                        (**ok).clone()
                    }
                    t if t.nullable() => t.non_null(),
                    _ => Ty::Any,
                }
            }
            ExprKind::Unwrap(inner) => self.expr(inner).non_null(),
            ExprKind::Await(inner) => match self.expr(inner) {
                Ty::Future(t) => *t,
                other => other,
            },
            ExprKind::Lambda { params, ret, body } => {
                self.scopes.push(HashMap::default());
                let ps = self.lambda_params(params);
                let declared = ret.as_ref().map(|t| self.ty(t));
                self.ret.push(declared.clone());
                let bt = self.expr(body);
                self.ret.pop();
                if let Some(d) = &declared {
                    self.expect(&bt, d, body.span, "lambda result");
                }
                self.scopes.pop();
                Ty::Fn(ps, Box::new(declared.unwrap_or(bt)))
            }
            ExprKind::BlockLambda { params, ret, body } => {
                self.scopes.push(HashMap::default());
                let ps = self.lambda_params(params);
                let declared = ret.as_ref().map(|t| self.ty(t));
                self.ret.push(declared.clone());
                let bt = self.block(body, true);
                self.ret.pop();
                if let Some(d) = &declared {
                    if *d != Ty::Null && !d.is_any() && !d.nullable() && !block_returns(body) {
                        self.err(
                            Kind::MissingReturn,
                            body.end,
                            format!("this lambda must return `{d}` on every path"),
                        );
                    }
                }
                self.scopes.pop();
                Ty::Fn(ps, Box::new(declared.unwrap_or(bt)))
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
            ExprKind::Perform { effect, op, args } => {
                let sig = match self.sy.types.get(effect) {
                    Some(TypeDef::Effect { ops }) => ops.iter().find(|o| &o.name == op).cloned(),
                    _ => None,
                };
                match sig {
                    Some(sig) => {
                        self.check_args(
                            &format!("{effect}.{op}"),
                            &sig.params,
                            args,
                            e.span,
                            false,
                        );
                        self.ret_ty(&sig)
                    }
                    None => {
                        args.iter().for_each(|a| {
                            self.expr(&a.value);
                        });
                        Ty::Any
                    }
                }
            }
            ExprKind::If {
                branches,
                otherwise,
            } => {
                let mut ts = Vec::new();
                for (c, b) in branches {
                    self.scopes.push(HashMap::default());
                    self.cond(c);
                    ts.push(self.block(b, true));
                    self.scopes.pop();
                }
                match otherwise {
                    Some(b) => {
                        ts.push(self.block(b, true));
                        ts.into_iter().reduce(join).unwrap_or(Ty::Null)
                    }
                    None => Ty::Null,
                }
            }
            ExprKind::Match { subject, arms } => self.match_expr(e, subject, arms),
            ExprKind::When(arms) => {
                let mut ts = Vec::new();
                for (c, b) in arms {
                    self.scopes.push(HashMap::default());
                    if let Some(c) = c {
                        let t = self.expr(c);
                        self.bool_cond(&t, c.span);
                        self.narrow(c);
                    }
                    ts.push(self.block(b, true));
                    self.scopes.pop();
                }
                if arms.iter().any(|(c, _)| c.is_none()) {
                    ts.into_iter().reduce(join).unwrap_or(Ty::Null)
                } else {
                    Ty::Null
                }
            }
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
            } => {
                let it = self.expr(iter);
                let et = self.iter_elem(&it, iter.span);
                self.scopes.push(HashMap::default());
                self.pattern(pattern, &et);
                if let Some(f) = filter {
                    let t = self.expr(f);
                    self.bool_cond(&t, f.span);
                }
                self.block(body, false);
                self.scopes.pop();
                Ty::Null
            }
            ExprKind::While { cond, body, .. } => {
                self.scopes.push(HashMap::default());
                self.cond(cond);
                self.block(body, false);
                self.scopes.pop();
                Ty::Null
            }
            ExprKind::Handle { body, clauses, .. } => {
                let mut ts = vec![self.block(body, true)];
                for c in clauses {
                    self.scopes.push(HashMap::default());
                    let sig = match self.sy.types.get(&c.effect) {
                        Some(TypeDef::Effect { ops }) => {
                            ops.iter().find(|o| o.name == c.op).cloned()
                        }
                        _ => None,
                    };
                    for (i, p) in c.params.iter().enumerate() {
                        let t = sig
                            .as_ref()
                            .and_then(|s| s.params.get(i))
                            .map(|x| self.param_ty(x))
                            .unwrap_or(Ty::Any);
                        self.bind(p, t);
                    }
                    if let Some(s) = &sig {
                        if s.params.len() != c.params.len() {
                            self.err(
                                Kind::ArgumentCount,
                                c.span,
                                format!(
                                    "`{}.{}` takes {} parameter(s), the clause names {}",
                                    c.effect,
                                    c.op,
                                    s.params.len(),
                                    c.params.len()
                                ),
                            );
                        }
                    }
                    let op_ret = sig.as_ref().map(|s| self.ret_ty(s));
                    self.ret.push(None);
                    let t = self.block(&c.body, true);
                    self.ret.pop();
                    // `resume(v)` checks `v` against the operation's type.
                    if let Some(r) = op_ret {
                        check_resumes(&c.body, &mut |v| {
                            let vt = self.expr(v);
                            self.expect(&vt, &r, v.span, "resumed value");
                        });
                    }
                    if !ends_in_resume(&c.body) {
                        ts.push(t);
                    }
                    self.scopes.pop();
                }
                ts.into_iter().reduce(join).unwrap_or(Ty::Null)
            }
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
    fn lambda_params(&mut self, params: &[Param]) -> Vec<Ty> {
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

    fn iter_elem(&mut self, t: &Ty, span: Span) -> Ty {
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

    fn name(&mut self, n: &str) -> Ty {
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

    fn binary(&mut self, op: &str, l: &Ty, r: &Ty, span: Span) -> Ty {
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
                for t in [l, r] {
                    if !t.is_any() && *t != Ty::Bool {
                        self.mismatch(span, format!("`{op}` takes `Bool`s, found `{t}`"));
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
    fn pipe(&mut self, _l: &Ty, rhs: &Expr, _span: Span) -> Ty {
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

    fn builtin_ret(&self, callee: &Expr) -> Ty {
        match &callee.kind {
            ExprKind::Name(n) if self.local(n).is_none() && !self.sy.values.contains_key(n) => {
                builtins::lookup(n)
                    .map(|b| self.builtin_ty(b.returns))
                    .unwrap_or(Ty::Any)
            }
            _ => Ty::Any,
        }
    }

    fn builtin_ty(&self, s: &str) -> Ty {
        crate::parser::parse_type_str(s)
            .map(|t| self.ty(&t))
            .unwrap_or(Ty::Any)
    }

    fn field(&mut self, e: &Expr, expr: &Expr, name: &str, safe: bool) -> Ty {
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
                _ => Ty::Any,
            },
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

    fn has_method(&self, ty: &str, m: &str) -> bool {
        self.sy.methods.get(ty).is_some_and(|ms| ms.contains_key(m))
            || self.sy.impls.iter().any(|(tr, t)| {
                t == ty
                    && matches!(self.sy.types.get(tr), Some(TypeDef::Trait { methods, .. })
                        if methods.iter().any(|x| x.name == m))
            })
            || self.sy.values.contains_key(m)
            || builtins::lookup(m).is_some()
    }

    fn call(&mut self, e: &Expr, callee: &Expr, args: &[Arg]) -> Ty {
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

    fn named_call(&mut self, e: &Expr, n: &str, args: &[Arg]) -> Option<Ty> {
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
    fn builtin_result(&self, n: &str, ts: &[Ty], returns: &str) -> Ty {
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
    fn construct(
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
    fn generic_type(
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

    fn construct_fields(
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
    fn variant_args(
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

    fn check_payload(
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
    fn check_args(
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
    fn check_args_with(
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
    fn unify_expect(&mut self, t: &Ty, pt: &Ty, subst: &mut Subst, span: Span, what: &str) {
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
    fn enter_generics(&mut self, names: impl Iterator<Item = String>) -> Vec<String> {
        std::mem::replace(&mut self.generics, names.collect())
    }

    fn qualified_call(&mut self, e: &Expr, t: &str, name: &str, args: &[Arg]) -> Ty {
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
    fn method_call(&mut self, e: &Expr, rt: &Ty, name: &str, args: &[Arg]) -> Ty {
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

    fn match_expr(&mut self, e: &Expr, subject: &Expr, arms: &[Arm]) -> Ty {
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

    /// Top-level checks: trait impls (§4.5), machines and pipelines (§11).
    fn items(&mut self, prog: &Program) {
        for item in &prog.items {
            match &item.kind {
                ItemKind::Impl {
                    trait_name: Some(tr),
                    target,
                    methods,
                } => self.impl_check(tr, target, methods, item.span),
                ItemKind::Process(p) if p.kind == ProcessKind::Machine => {
                    self.machine(p, item.span)
                }
                ItemKind::Process(p)
                    if matches!(p.kind, ProcessKind::Pipeline | ProcessKind::Orchestration) =>
                {
                    self.pipeline(p)
                }
                ItemKind::Const {
                    ty: Some(t), value, ..
                } => {
                    self.scopes = vec![HashMap::default()];
                    let declared = self.ty(t);
                    let vt = self.expr(value);
                    self.expect(&vt, &declared, value.span, "constant value");
                }
                ItemKind::Record { fields, .. } => {
                    self.scopes = vec![HashMap::default()];
                    for f in fields {
                        let ft = self.ty(&f.ty);
                        if let Some(d) = &f.default {
                            let dt = self.expr_expect(d, Some(&ft));
                            self.expect(
                                &dt,
                                &ft,
                                d.span,
                                &format!("default of field `{}`", f.name),
                            );
                        }
                    }
                    for f in fields {
                        let ft = self.ty(&f.ty);
                        self.bind(&f.name, ft);
                    }
                    for f in fields {
                        if let Some(c) = &f.constraint {
                            let t = self.expr(c);
                            self.bool_cond(&t, c.span);
                        }
                    }
                }
                _ => {}
            }
        }
    }

    fn impl_check(&mut self, tr: &str, target: &TypeExpr, methods: &[CellDecl], span: Span) {
        let Some(TypeDef::Trait {
            methods: required,
            supertraits,
        }) = self.sy.types.get(tr)
        else {
            return;
        };
        let tname = match target {
            TypeExpr::Named { name, .. } => canonical_type(name),
            _ => return,
        };
        for r in required {
            match methods.iter().find(|m| m.name == r.name) {
                None if r.body.is_none() => self.err(
                    Kind::MissingMethod,
                    span,
                    format!("`impl {tr} for {tname}` does not define `{}`", r.name),
                ),
                None => {}
                Some(m) => {
                    let sig = |c: &CellDecl| {
                        (
                            c.params.len(),
                            c.params
                                .iter()
                                .skip(1)
                                .map(|p| p.ty.clone())
                                .collect::<Vec<_>>(),
                            c.ret.clone(),
                        )
                    };
                    let (n1, p1, r1) = sig(r);
                    let (n2, p2, r2) = sig(m);
                    let self_ret = |t: &Option<TypeExpr>| match t {
                        Some(TypeExpr::Named { name, .. }) if name == "Self" => {
                            Some(TypeExpr::Named {
                                name: tname.clone(),
                                args: vec![],
                            })
                        }
                        other => other.clone(),
                    };
                    if n1 != n2 || p1 != p2 || self_ret(&r1) != self_ret(&r2) {
                        self.mismatch(
                            m.span,
                            format!(
                                "`{}` does not have the signature trait `{tr}` declares",
                                m.name
                            ),
                        );
                    }
                }
            }
        }
        for st in supertraits {
            if !self.sy.impls.contains(&(st.clone(), tname.clone())) {
                self.err(
                    Kind::MissingMethod,
                    span,
                    format!("`{tr}` requires `{st}`, which `{tname}` does not implement"),
                );
            }
        }
    }

    fn machine(&mut self, p: &Process, span: Span) {
        let states: BTreeMap<&str, &State> =
            p.states.iter().map(|s| (s.name.as_str(), s)).collect();
        let Some((initial, ispan)) = &p.initial else {
            self.err(
                Kind::MachineError,
                span,
                format!("machine `{}` has no `initial:` state", p.name),
            );
            return;
        };
        if !states.contains_key(initial.as_str()) {
            self.err(
                Kind::MachineError,
                *ispan,
                format!("initial state `{initial}` is not declared"),
            );
            return;
        }
        if !p.states.iter().any(|s| s.terminal) {
            self.err(
                Kind::MachineError,
                span,
                format!("machine `{}` has no terminal state", p.name),
            );
        }
        for s in &p.states {
            self.scopes = vec![HashMap::default()];
            for prm in &s.params {
                let t = self.param_ty(prm);
                self.bind(&prm.name, t);
            }
            if let Some(g) = &s.guard {
                if !simple_expr(g) {
                    self.err(
                        Kind::MachineError,
                        g.span,
                        "a guard may use the state's parameters, literals and operators only"
                            .into(),
                    );
                } else {
                    let t = self.expr(g);
                    if !t.is_any() && t != Ty::Bool {
                        self.err(
                            Kind::MachineError,
                            g.span,
                            format!("guard of state `{}` is `{t}`, not `Bool`", s.name),
                        );
                    }
                }
            }
            if let Some((target, args, tspan)) = &s.transition {
                match states.get(target.as_str()) {
                    None => self.err(
                        Kind::MachineError,
                        *tspan,
                        format!("transition to unknown state `{target}`"),
                    ),
                    Some(ts) => {
                        if ts.params.len() != args.len() {
                            self.err(Kind::MachineError, *tspan, format!("state `{target}` takes {} argument(s), the transition gives {}", ts.params.len(), args.len()));
                        }
                        for (a, tp) in args.iter().zip(&ts.params) {
                            if !simple_expr(a) {
                                self.err(Kind::MachineError, a.span, "a transition argument may use the state's parameters, literals and operators only".into());
                                continue;
                            }
                            let at = self.expr(a);
                            let pt = self.param_ty(tp);
                            if assignable(&at, &pt).is_err() {
                                self.err(
                                    Kind::MachineError,
                                    a.span,
                                    format!(
                                        "argument `{}` of `{target}` expects `{pt}`, found `{at}`",
                                        tp.name
                                    ),
                                );
                            }
                        }
                    }
                }
            }
        }
        // Reachability from the initial state.
        let mut seen = vec![initial.as_str()];
        let mut i = 0;
        while i < seen.len() {
            if let Some(s) = states.get(seen[i]) {
                if let Some((t, _, _)) = &s.transition {
                    if states.contains_key(t.as_str()) && !seen.contains(&t.as_str()) {
                        seen.push(t.as_str());
                    }
                }
            }
            i += 1;
        }
        for s in &p.states {
            if !seen.contains(&s.name.as_str()) {
                self.err(
                    Kind::MachineError,
                    s.span,
                    format!("state `{}` cannot be reached from `{initial}`", s.name),
                );
            }
        }
    }

    fn pipeline(&mut self, p: &Process) {
        let mut prev: Option<Ty> = None;
        for (stage, span) in &p.stages {
            let cell = p
                .cells
                .iter()
                .find(|c| &c.name == stage)
                .cloned()
                .or_else(|| match self.sy.values.get(stage) {
                    Some(ValueDef::Cell(id)) => Some((*self.sy.cells[*id].decl).clone()),
                    _ => None,
                });
            let Some(c) = cell else {
                let msg = format!(
                    "stage `{stage}` is not a cell of `{}` or a top-level cell",
                    p.name
                );
                if self.sy.mode.relaxed() {
                    // An unresolved name, like any other in relaxed modes.
                    self.diags
                        .push(Diagnostic::warning(Kind::UndefinedCell, *span, msg));
                } else {
                    self.err(Kind::MachineError, *span, msg);
                }
                prev = None;
                continue;
            };
            let data: Vec<&Param> = c.params.iter().filter(|x| x.name != "self").collect();
            if data.len() != 1 {
                self.err(
                    Kind::MachineError,
                    *span,
                    format!(
                        "stage `{stage}` must take exactly one data parameter, it takes {}",
                        data.len()
                    ),
                );
                prev = None;
                continue;
            }
            let input = self.param_ty(data[0]);
            if let Some(pt) = &prev {
                if assignable(pt, &input).is_err() {
                    self.err(
                        Kind::MachineError,
                        *span,
                        format!(
                            "stage `{stage}` takes `{input}`, but the previous stage gives `{pt}`"
                        ),
                    );
                }
            }
            prev = Some(c.ret.as_ref().map(|t| self.ty(t)).unwrap_or(Ty::Any));
        }
    }
}

/// A guard or transition argument: names, literals and operators only.
fn simple_expr(e: &Expr) -> bool {
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

fn is_record_shorthand(sy: &Symbols, path: &[String]) -> bool {
    matches!(path, [n] if matches!(sy.types.get(n), Some(TypeDef::Record { .. })))
}

fn shorthand_fields(args: &[Pattern]) -> Vec<(String, Pattern)> {
    args.iter()
        .filter_map(|a| match &a.kind {
            PatternKind::Bind(n) => Some((n.clone(), a.clone())),
            _ => None,
        })
        .collect()
}

/// Generic parameters become `Any` at use sites (arguments are inferred
/// per call; this checker does not unify).
fn erase(t: Ty) -> Ty {
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
fn elem_union(ts: Vec<Ty>) -> Ty {
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
fn join(a: Ty, b: Ty) -> Ty {
    if a == b {
        return a;
    }
    if a.is_numeric() && b.is_numeric() {
        return Ty::Float;
    }
    Ty::union(vec![a, b])
}

/// Whether every path through the block ends in `return`, `halt`, or a
/// value (§6.11).
pub fn block_returns(b: &Block) -> bool {
    b.stmts.iter().any(|s| stmt_returns(s, false))
        || b.stmts.last().is_some_and(|s| stmt_returns(s, true))
}

fn stmt_returns(s: &Stmt, last: bool) -> bool {
    match &s.kind {
        StmtKind::Return(_) | StmtKind::Halt(_) => true,
        StmtKind::Expr(e) => expr_returns(e, last),
        _ => false,
    }
}

fn expr_returns(e: &Expr, last: bool) -> bool {
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
fn breaks(b: &Block, f: &mut dyn FnMut(Option<&Expr>)) {
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

fn ends_in_resume(b: &Block) -> bool {
    matches!(b.stmts.last(), Some(Stmt { kind: StmtKind::Expr(e), .. }) if matches!(e.kind, ExprKind::Resume(_)))
}

fn check_resumes(b: &Block, f: &mut dyn FnMut(&Expr)) {
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

/// What the unguarded arms of a match cover so far (§7.2).
#[derive(Default)]
struct Coverage {
    catch_all: bool,
    variants: Vec<String>,
    bools: [bool; 2],
    null: bool,
    empty_list: bool,
    nonempty_list: bool,
    types: Vec<Ty>,
}

fn irrefutable(p: &Pattern, c: &Checker) -> bool {
    match &p.kind {
        PatternKind::Wild => true,
        PatternKind::Bind(n) => !c.unit_variant(n),
        PatternKind::Tuple(ps) => ps.iter().all(|x| irrefutable(x, c)),
        PatternKind::Record { fields, .. } => fields.iter().all(|(_, x)| irrefutable(x, c)),
        PatternKind::Or(alts) => alts.iter().any(|x| irrefutable(x, c)),
        _ => false,
    }
}

impl Coverage {
    fn add(&mut self, c: &Checker, p: &Pattern) {
        if irrefutable(p, c) {
            self.catch_all = true;
            return;
        }
        match &p.kind {
            PatternKind::Or(alts) => alts.iter().for_each(|a| self.add(c, a)),
            PatternKind::Literal(Literal::Bool(b)) => self.bools[usize::from(*b)] = true,
            PatternKind::Literal(Literal::Null) => self.null = true,
            PatternKind::Bind(n) => self.variants.push(n.clone()),
            PatternKind::Variant { path, args } if args.iter().all(|a| irrefutable(a, c)) => {
                if let Some(v) = path.last() {
                    self.variants.push(v.clone());
                }
            }
            PatternKind::List {
                before,
                rest,
                after,
            } => {
                let elems_ok = before.iter().chain(after).all(|x| irrefutable(x, c));
                if !elems_ok {
                    return;
                }
                match (before.len() + after.len(), rest.is_some()) {
                    (0, false) => self.empty_list = true,
                    (0, true) => {
                        self.empty_list = true;
                        self.nonempty_list = true;
                    }
                    (1, true) => self.nonempty_list = true,
                    _ => {}
                }
            }
            PatternKind::Typed { ty, .. } => {
                let t = c.ty(ty);
                self.types.push(t);
            }
            _ => {}
        }
    }

    fn all(&self, c: &Checker, t: &Ty) -> bool {
        self.missing_list(c, t).is_empty()
    }

    fn missing(&self, c: &Checker, t: &Ty) -> String {
        let m = self.missing_list(c, t);
        match m.len() {
            0 => "every case".into(),
            _ => m.join(", "),
        }
    }

    fn missing_list(&self, c: &Checker, t: &Ty) -> Vec<String> {
        if self.catch_all || self.types.iter().any(|x| x.is_any() || x == t) {
            return Vec::new();
        }
        let mut out = Vec::new();
        let members: Vec<Ty> = match t {
            Ty::Union(ms) => ms.clone(),
            other => vec![other.clone()],
        };
        for m in members {
            if self.types.contains(&m) {
                continue;
            }
            match &m {
                Ty::Null => {
                    if !self.null {
                        out.push("`null`".into());
                    }
                }
                Ty::Bool => {
                    if !self.bools[1] {
                        out.push("`true`".into());
                    }
                    if !self.bools[0] {
                        out.push("`false`".into());
                    }
                }
                Ty::Result(..) => {
                    for v in ["ok", "err"] {
                        if !self.variants.iter().any(|x| x == v) {
                            out.push(format!("`{v}(_)`"));
                        }
                    }
                }
                Ty::Named(n, _) => match c.sy.types.get(n) {
                    Some(TypeDef::Enum { variants, .. }) => {
                        for v in variants {
                            if !self.variants.contains(&v.name) {
                                out.push(format!(
                                    "`{}{}`",
                                    v.name,
                                    if v.payload.is_empty() { "" } else { "(..)" }
                                ));
                            }
                        }
                    }
                    _ => out.push(format!("every `{n}` (add `_ ->`)")),
                },
                Ty::List(_) => {
                    if !(self.empty_list && self.nonempty_list) {
                        out.push(if self.empty_list {
                            "non-empty lists (add `[first, ...rest]`)".to_string()
                        } else {
                            "`[]`".to_string()
                        });
                    }
                }
                Ty::Any | Ty::Param(_) => out.push("every value (add `_ ->`)".into()),
                other => out.push(format!("every `{other}` value (add `_ ->`)")),
            }
        }
        out
    }
}
