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

use exhaustive::Coverage;
use expr::{elem_union, erase, is_record_shorthand, join, shorthand_fields, simple_expr};
use pattern::irrefutable;
use returns::{block_returns, check_resumes, ends_in_resume};

mod call;
mod control;
mod exhaustive;
mod expr;
mod pattern;
mod process;
mod returns;
mod traits;

/// Scope maps hash short names often: Fx instead of SipHash.
type HashMap<K, V> = std::collections::HashMap<K, V, rustc_hash::FxBuildHasher>;

/// The types the checker computed: each cell's parameter and return
/// types (used by lowering and tooling).
#[derive(Debug, Clone, Default)]
pub struct Types {
    pub params: Vec<Vec<Ty>>,
    pub returns: Vec<Ty>,
    /// Returned expressions (by span: start, end) whose value is the `ok`
    /// side of the declared `result[T, E]`: lowering wraps them in `ok`.
    pub wrap_ok: std::collections::HashSet<(u32, u32)>,
}

pub fn typecheck(prog: &Program, sy: &Symbols) -> (Types, Vec<Diagnostic>) {
    let mut c = Checker {
        sy,
        diags: Vec::new(),
        scopes: Vec::new(),
        ret: Vec::new(),
        generics: Vec::new(),
        wrap_ok: Default::default(),
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
    types.wrap_ok = std::mem::take(&mut c.wrap_ok);
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
    wrap_ok: std::collections::HashSet<(u32, u32)>,
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
                        // `return v` with `v: T` from a `-> result[T, E]` cell
                        // returns `ok(v)` (§8.3).
                        if let (Ty::Result(..), Some(e)) = (&r, v) {
                            if !t.is_any() && !matches!(t, Ty::Result(..)) {
                                self.wrap_ok.insert((e.span.start, e.span.end));
                            }
                        }
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
        stacker::maybe_grow(64 * 1024, 1024 * 1024, || self.narrow_inner(e))
    }

    fn narrow_inner(&mut self, e: &Expr) {
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
}
