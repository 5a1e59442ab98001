//! Lowering to LIR (§17): one `lir::Cell` per compiled cell, lambda,
//! handler clause, defer body, constant, field default and process
//! helper; registers allocated per frame (locals stay put for their
//! scope, temporaries are released after each statement); call targets
//! resolved to indices.

use std::collections::{BTreeMap, HashMap};

use serde_json::{json, Value};

use crate::ast::*;
use crate::builtins;
use crate::lir::{self, Instr, Module, Op};
use crate::resolve::{Symbols, TypeDef, ValueDef};
use crate::typeck::Types;

pub fn lower(prog: &Program, sy: &Symbols, types: &Types, doc_hash: String) -> Module {
    let mut l = Lowerer {
        sy,
        types,
        cells: Vec::new(),
        consts: BTreeMap::new(),
        tool_index: sy.tools.keys().cloned().collect(),
        handler_index: sy.handlers.keys().cloned().collect(),
        type_names: Vec::new(),
    };
    l.module(prog, doc_hash)
}

struct Lowerer<'a> {
    sy: &'a Symbols,
    types: &'a Types,
    cells: Vec<Option<lir::Cell>>,
    /// Constant items: name -> cell computing it.
    consts: BTreeMap<String, usize>,
    tool_index: Vec<String>,
    handler_index: Vec<String>,
    type_names: Vec<String>,
}

struct LoopCtx {
    label: Option<String>,
    breaks: Vec<usize>,
    continues: Vec<usize>,
    result: Option<u32>,
    /// `Func::defers` depth when the loop began: `break` and `continue`
    /// run the defers of the blocks they leave.
    defer_depth: usize,
    /// `Func::handles` when the loop began: `break` and `continue` out of
    /// a `handle` body uninstall its handlers.
    handle_depth: u32,
}

/// One function being emitted.
struct Func {
    name: String,
    consts: Vec<Value>,
    code: Vec<Instr>,
    next: u32,
    max: u32,
    scopes: Vec<HashMap<String, u32>>,
    loops: Vec<LoopCtx>,
    line: u32,
    lambdas: u32,
    defers: Vec<u32>,
    /// `handle` bodies being lowered around the current point.
    handles: u32,
}

impl Func {
    fn new(name: String) -> Func {
        Func {
            name,
            consts: Vec::new(),
            code: Vec::new(),
            next: 0,
            max: 0,
            scopes: vec![HashMap::new()],
            loops: Vec::new(),
            line: 0,
            lambdas: 0,
            defers: vec![0],
            handles: 0,
        }
    }

    fn reg(&mut self) -> u32 {
        let r = self.next;
        self.next += 1;
        self.max = self.max.max(self.next);
        r
    }

    fn regs(&mut self, n: u32) -> u32 {
        let r = self.next;
        self.next += n;
        self.max = self.max.max(self.next);
        r
    }

    fn emit(&mut self, op: Op, a: i64, b: i64, c: i64) -> usize {
        self.code.push(Instr {
            op,
            a,
            b,
            c,
            line: self.line,
        });
        self.code.len() - 1
    }

    /// When the last instruction loads a constant into `r` (which the
    /// caller reads once, in the instruction it emits next), marks it a
    /// single-use temporary (`c` = 1, see `lir::Op::LoadConst`).
    fn mark_single_use(&mut self, r: u32) {
        if let Some(i) = self.code.last_mut() {
            if matches!(i.op, Op::LoadConst | Op::LoadBool) && i.a == r as i64 {
                i.c = 1;
            }
        }
    }

    fn konst(&mut self, v: Value) -> i64 {
        if let Some(i) = self
            .consts
            .iter()
            .position(|c| *c == v && c.is_string() == v.is_string())
        {
            return i as i64;
        }
        self.consts.push(v);
        (self.consts.len() - 1) as i64
    }

    fn here(&self) -> i64 {
        self.code.len() as i64
    }

    /// Points the jump at `at` to the current position.
    fn patch(&mut self, at: usize) {
        let target = self.here();
        let ins = &mut self.code[at];
        match ins.op {
            Op::Jump => ins.a = target,
            Op::IterNext => ins.c = target,
            Op::HandleEnter => ins.b = target,
            _ => ins.b = target,
        }
    }

    fn local(&self, n: &str) -> Option<u32> {
        self.scopes.iter().rev().find_map(|s| s.get(n).copied())
    }

    fn bind(&mut self, n: &str, r: u32) {
        if let Some(s) = self.scopes.last_mut() {
            s.insert(n.to_string(), r);
        }
    }
}

fn bop(op: &str) -> Option<Op> {
    Some(match op {
        "+" => Op::Add,
        "-" => Op::Sub,
        "*" => Op::Mul,
        "/" => Op::Div,
        "//" => Op::IntDiv,
        "%" => Op::Mod,
        "**" => Op::Pow,
        "++" => Op::Concat,
        "&" => Op::BitAnd,
        "|" => Op::BitOr,
        "^" => Op::BitXor,
        "<<" => Op::Shl,
        ">>" => Op::Shr,
        "==" => Op::Eq,
        "!=" => Op::Ne,
        "<" => Op::Lt,
        "<=" => Op::Le,
        ">" => Op::Gt,
        ">=" => Op::Ge,
        "<=>" => Op::Cmp,
        "in" => Op::In,
        ".." => Op::Range,
        "..=" => Op::RangeIncl,
        "~>" => Op::Compose,
        _ => return None,
    })
}

fn type_string(t: &TypeExpr) -> String {
    match t {
        TypeExpr::Named { name, args } if args.is_empty() => name.clone(),
        TypeExpr::Named { name, args } => format!(
            "{name}[{}]",
            args.iter().map(type_string).collect::<Vec<_>>().join(", ")
        ),
        TypeExpr::Tuple(ts) if ts.len() == 1 => format!("({},)", type_string(&ts[0])),
        TypeExpr::Tuple(ts) => format!(
            "({})",
            ts.iter().map(type_string).collect::<Vec<_>>().join(", ")
        ),
        TypeExpr::Fn {
            params,
            ret,
            effects,
        } => {
            let mut s = format!(
                "fn({}) -> {}",
                params
                    .iter()
                    .map(type_string)
                    .collect::<Vec<_>>()
                    .join(", "),
                type_string(ret)
            );
            if let Some(e) = effects {
                s.push_str(&format!(" / {{{}}}", e.join(", ")));
            }
            s
        }
        TypeExpr::Union(ts) => ts.iter().map(type_string).collect::<Vec<_>>().join(" | "),
        TypeExpr::Optional(t) => format!("{}?", type_string(t)),
    }
}

/// An expression whose evaluation runs no code that could assign a
/// local: names, literals, and operators over them.
fn simple(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Name(_)
        | ExprKind::Int(_)
        | ExprKind::Float(_)
        | ExprKind::Bool(_)
        | ExprKind::Null
        | ExprKind::RawStr(_) => true,
        ExprKind::Str(segs) => segs.iter().all(|s| matches!(s, StrSeg::Text(_))),
        ExprKind::Unary { expr, .. } => simple(expr),
        ExprKind::Binary { op, lhs, rhs } => !matches!(*op, "|>") && simple(lhs) && simple(rhs),
        ExprKind::Index { expr, index, .. } => simple(expr) && simple(index),
        ExprKind::Field { expr, .. } => simple(expr),
        _ => false,
    }
}

fn literal_json(l: &Literal) -> Value {
    match l {
        Literal::Int(i) => json!(i),
        Literal::Float(f) => json!(f),
        Literal::Str(s) => json!(s),
        Literal::Bool(b) => json!(b),
        Literal::Null => Value::Null,
    }
}

/// Names an expression mentions (for closure captures).
fn mentions(e: &Expr, out: &mut Vec<String>) {
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

fn block_mentions(b: &Block, out: &mut Vec<String>) {
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
fn visit_children<'a>(e: &'a Expr, f: &mut dyn FnMut(&'a Expr), g: &mut dyn FnMut(&'a Block)) {
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

impl Lowerer<'_> {
    fn module(&mut self, prog: &Program, doc_hash: String) -> Module {
        let n = self.sy.cells.len();
        self.cells = vec![None; n];
        // Constants become zero-parameter cells.
        for item in &prog.items {
            if let ItemKind::Const { name, value, .. } = &item.kind {
                let id = self.reserve();
                self.consts.insert(name.clone(), id);
                let mut f = Func::new(format!("const${name}"));
                f.line = item.span.line;
                let r = f.reg();
                self.expr(&mut f, value, r);
                f.emit(Op::Return, r as i64, 0, 0);
                self.finish(id, f, Vec::new(), "Any".into(), 0, item.span.line);
            }
        }
        for i in 0..n {
            let info = &self.sy.cells[i];
            let decl = info.decl.clone();
            let name = info.name.clone();
            self.cell(i, &name, &decl);
        }
        let mut types = Vec::new();
        for (name, def) in &self.sy.types {
            self.type_names.push(name.clone());
            let mut t = lir::TypeInfo {
                name: name.clone(),
                kind: String::new(),
                fields: Vec::new(),
                variants: Vec::new(),
                methods: self.sy.methods.get(name).cloned().unwrap_or_default(),
            };
            match def {
                TypeDef::Record { fields, .. } => {
                    t.kind = "record".into();
                    for fd in fields {
                        let default = fd.default.as_ref().map(|d| {
                            let id = self.reserve();
                            let mut f = Func::new(format!("{name}.default${}", fd.name));
                            let r = f.reg();
                            self.expr(&mut f, d, r);
                            f.emit(Op::Return, r as i64, 0, 0);
                            self.finish(id, f, Vec::new(), type_string(&fd.ty), 0, fd.span.line);
                            id
                        });
                        let constraint = fd.constraint.as_ref().map(|c| {
                            let id = self.reserve();
                            let mut f = Func::new(format!("{name}.where${}", fd.name));
                            let rec = f.reg();
                            for other in fields {
                                let r = f.reg();
                                let k = f.konst(json!(other.name));
                                f.emit(Op::GetField, r as i64, rec as i64, k);
                                f.bind(&other.name, r);
                            }
                            let r = f.reg();
                            self.expr(&mut f, c, r);
                            f.emit(Op::Return, r as i64, 0, 0);
                            let p = vec![lir::ParamInfo {
                                name: "self".into(),
                                ty: name.clone(),
                                has_default: false,
                                variadic: false,
                            }];
                            self.finish(id, f, p, "Bool".into(), 0, fd.span.line);
                            id
                        });
                        t.fields.push(lir::FieldInfo {
                            name: fd.name.clone(),
                            ty: type_string(&fd.ty),
                            default,
                            constraint,
                        });
                    }
                }
                TypeDef::Enum { variants, .. } => {
                    t.kind = "enum".into();
                    t.variants = variants
                        .iter()
                        .map(|v| lir::VariantInfo {
                            name: v.name.clone(),
                            payload: v.payload.iter().map(type_string).collect(),
                        })
                        .collect();
                }
                TypeDef::Alias { .. } => t.kind = "alias".into(),
                TypeDef::Trait { .. } => t.kind = "trait".into(),
                TypeDef::Effect { .. } => t.kind = "effect".into(),
                TypeDef::Process(k) => t.kind = k.word().into(),
            }
            types.push(t);
        }
        let mut processes = Vec::new();
        for p in self.sy.processes.values() {
            processes.push(self.process(p));
        }
        let tools = self
            .tool_index
            .iter()
            .map(|alias| {
                let (id, version) = self.sy.tools[alias].clone();
                lir::ToolInfo {
                    alias: alias.clone(),
                    id,
                    version,
                    effect: self.sy.tool_effect(alias),
                }
            })
            .collect();
        let mut grants = BTreeMap::new();
        for (alias, g) in &self.sy.grants {
            grants.insert(
                alias.clone(),
                g.iter()
                    .map(|(k, v)| (k.clone(), literal_json(v)))
                    .collect(),
            );
        }
        for (agent, gs) in &self.sy.agent_grants {
            for (alias, g) in gs {
                grants.insert(
                    format!("{agent}/{alias}"),
                    g.iter()
                        .map(|(k, v)| (k.clone(), literal_json(v)))
                        .collect(),
                );
            }
        }
        let effects = self
            .sy
            .types
            .iter()
            .filter_map(|(n, d)| match d {
                TypeDef::Effect { ops } => Some(lir::EffectInfo {
                    name: n.clone(),
                    ops: ops.iter().map(|o| o.name.clone()).collect(),
                    params: ops
                        .iter()
                        .map(|o| {
                            (
                                o.name.clone(),
                                o.params.iter().map(|p| p.name.clone()).collect(),
                            )
                        })
                        .collect(),
                    bindings: ops
                        .iter()
                        .filter_map(|o| {
                            self.sy
                                .binds
                                .iter()
                                .rev()
                                .find(|(e, op, _)| {
                                    e == n && (op.is_none() || op.as_ref() == Some(&o.name))
                                })
                                .map(|(_, _, a)| (o.name.clone(), a.clone()))
                        })
                        .collect(),
                }),
                _ => None,
            })
            .collect();
        let handlers = self
            .handler_index
            .iter()
            .map(|h| lir::HandlerInfo {
                name: h.clone(),
                ops: self.sy.handlers[h]
                    .iter()
                    .map(|(e, o, id)| (format!("{e}.{o}"), *id))
                    .collect(),
            })
            .collect();
        let m = self.sy.mode;
        let directives = BTreeMap::from([
            ("strict".to_string(), json!(m.strict)),
            ("doc_mode".to_string(), json!(m.doc_mode)),
            ("deterministic".to_string(), json!(m.deterministic)),
        ]);
        let main = self.sy.values.get("main").and_then(|v| match v {
            ValueDef::Cell(i) => Some(*i),
            _ => None,
        });
        Module {
            version: "1".into(),
            doc_hash,
            cells: self
                .cells
                .drain(..)
                .map(|c| c.expect("every reserved cell is filled"))
                .collect(),
            types,
            tools,
            grants,
            effects,
            handlers,
            processes,
            directives,
            builtins: builtins::BUILTINS.iter().map(|b| b.name).collect(),
            methods: self.method_table(),
            main,
        }
    }

    /// Every type's methods, with the default methods of the traits it
    /// implements (and their supertraits) where it does not define them.
    fn method_table(&self) -> BTreeMap<String, BTreeMap<String, usize>> {
        let mut out = self.sy.methods.clone();
        for (tr, ty) in &self.sy.impls {
            let mut traits = vec![tr.clone()];
            let mut i = 0;
            while i < traits.len() {
                if let Some(TypeDef::Trait { supertraits, .. }) = self.sy.types.get(&traits[i]) {
                    for s in supertraits {
                        if !traits.contains(s) {
                            traits.push(s.clone());
                        }
                    }
                }
                i += 1;
            }
            for t in traits {
                let defaults = self.sy.methods.get(&t).cloned().unwrap_or_default();
                let slot = out.entry(ty.clone()).or_default();
                for (m, id) in defaults {
                    slot.entry(m).or_insert(id);
                }
            }
        }
        out
    }

    fn reserve(&mut self) -> usize {
        self.cells.push(None);
        self.cells.len() - 1
    }

    fn finish(
        &mut self,
        id: usize,
        f: Func,
        params: Vec<lir::ParamInfo>,
        returns: String,
        captures: u32,
        line: u32,
    ) {
        let effects = self
            .sy
            .cells
            .get(id)
            .map(|c| c.effects.iter().cloned().collect())
            .unwrap_or_default();
        let (is_async, test) = self
            .sy
            .cells
            .get(id)
            .map(|c| (c.decl.is_async, c.decl.attrs.test))
            .unwrap_or((false, false));
        self.cells[id] = Some(lir::Cell {
            name: f.name,
            params,
            returns,
            registers: f.max.max(1),
            captures,
            constants: f.consts,
            instructions: f.code,
            effects,
            is_async,
            test,
            line,
        });
    }

    fn params_info(&self, ps: &[Param]) -> Vec<lir::ParamInfo> {
        ps.iter()
            .map(|p| lir::ParamInfo {
                name: p.name.clone(),
                ty: p
                    .ty
                    .as_ref()
                    .map(type_string)
                    .unwrap_or_else(|| "Any".into()),
                has_default: p.default.is_some(),
                variadic: p.variadic,
            })
            .collect()
    }

    /// The prologue: parameters in registers 0.., defaults for absent ones.
    fn prologue(&mut self, f: &mut Func, ps: &[Param]) {
        let regs: Vec<u32> = ps.iter().map(|_| f.reg()).collect();
        for (p, r) in ps.iter().zip(&regs) {
            f.bind(&p.name, *r);
        }
        for (p, r) in ps.iter().zip(&regs) {
            if let Some(d) = &p.default {
                let j = f.emit(Op::JumpIfPresent, *r as i64, 0, 0);
                self.expr(f, d, *r);
                f.patch(j);
            }
        }
    }

    fn cell(&mut self, id: usize, name: &str, decl: &CellDecl) {
        let mut f = Func::new(name.to_string());
        f.line = decl.span.line;
        // Process methods take `self` implicitly.
        let params = self.call_params(id);
        self.prologue(&mut f, &params);
        let r = f.reg();
        match &decl.body {
            Some(Body::Expr(e)) => self.expr(&mut f, e, r),
            Some(Body::Block(b)) => self.block(&mut f, b, r),
            None => {
                let k = f.konst(json!("undefined cell"));
                let m = f.konst(json!(format!("cell '{name}' has no implementation")));
                f.emit(Op::Raise, k, m, 0);
            }
        }
        if Some(id) == self.sy.main {
            f.emit(Op::LoadNull, r as i64, 0, 0);
        }
        f.emit(Op::Return, r as i64, 0, 0);
        let returns = self
            .types
            .returns
            .get(id)
            .map(|t| t.to_string())
            .unwrap_or_else(|| "Any".into());
        let returns = decl.ret.as_ref().map(type_string).unwrap_or(returns);
        let p = self.params_info(&params);
        self.finish(id, f, p, returns, 0, decl.span.line);
    }

    fn process(&mut self, p: &Process) -> lir::ProcessInfo {
        let mut info = lir::ProcessInfo {
            name: p.name.clone(),
            kind: p.kind.word().into(),
            methods: self.sy.methods.get(&p.name).cloned().unwrap_or_default(),
            initial: p.initial.as_ref().map(|x| x.0.clone()),
            states: Vec::new(),
            stages: p.stages.iter().map(|s| s.0.clone()).collect(),
            config: Vec::new(),
        };
        for (k, e) in &p.config {
            let id = self.reserve();
            let mut f = Func::new(format!("{}.config${k}", p.name));
            let r = f.reg();
            self.expr(&mut f, e, r);
            f.emit(Op::Return, r as i64, 0, 0);
            self.finish(id, f, Vec::new(), "Any".into(), 0, e.span.line);
            info.config.push((k.clone(), id));
        }
        for s in &p.states {
            let mut st = lir::StateInfo {
                name: s.name.clone(),
                params: s.params.iter().map(|x| x.name.clone()).collect(),
                guard: None,
                transition: s.transition.as_ref().map(|t| t.0.clone()),
                transition_args: None,
                terminal: s.terminal,
            };
            if let Some(g) = &s.guard {
                let id = self.reserve();
                let mut f = Func::new(format!("{}.{}.guard", p.name, s.name));
                self.prologue(&mut f, &s.params);
                let r = f.reg();
                self.expr(&mut f, g, r);
                f.emit(Op::Return, r as i64, 0, 0);
                let pi = self.params_info(&s.params);
                self.finish(id, f, pi, "Bool".into(), 0, g.span.line);
                st.guard = Some(id);
            }
            if let Some((_, args, span)) = &s.transition {
                let id = self.reserve();
                let mut f = Func::new(format!("{}.{}.transition", p.name, s.name));
                self.prologue(&mut f, &s.params);
                let base = f.regs(args.len() as u32 + 1);
                for (i, a) in args.iter().enumerate() {
                    self.expr(&mut f, a, base + 1 + i as u32);
                }
                f.emit(
                    Op::MakeList,
                    base as i64,
                    base as i64 + 1,
                    args.len() as i64,
                );
                f.emit(Op::Return, base as i64, 0, 0);
                let pi = self.params_info(&s.params);
                self.finish(id, f, pi, "list[Any]".into(), 0, span.line);
                st.transition_args = Some(id);
            }
            info.states.push(st);
        }
        info
    }

    fn block(&mut self, f: &mut Func, b: &Block, dst: u32) {
        self.block_with(f, b, dst, true)
    }

    /// A block whose value nobody reads (a loop body): no `null` for it.
    fn block_discard(&mut self, f: &mut Func, b: &Block, dst: u32) {
        self.block_with(f, b, dst, false)
    }

    fn block_with(&mut self, f: &mut Func, b: &Block, dst: u32, valued_use: bool) {
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
    fn if_chain(
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

    fn stmt(&mut self, f: &mut Func, s: &Stmt) {
        match &s.kind {
            StmtKind::Let { pattern, value, .. } => {
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
            StmtKind::Assign { target, op, value } => {
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
            StmtKind::Expr(e) => {
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
            StmtKind::Return(v) => {
                let r = f.reg();
                match v {
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
            StmtKind::Cell(c) => {
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
    }

    /// Runs the defers registered so far in the blocks above `depth`
    /// (a jump out of them).
    fn leave_blocks(&mut self, f: &mut Func, depth: usize) {
        let n: u32 = f.defers.iter().skip(depth).sum();
        if n > 0 {
            f.emit(Op::DeferRun, n as i64, 0, 0);
        }
    }

    /// Uninstalls the handlers of the `handle` bodies a jump leaves.
    fn leave_handles(&mut self, f: &mut Func, depth: u32) {
        for _ in depth..f.handles {
            f.emit(Op::HandlePop, 0, 0, 0);
        }
    }

    fn loop_index(&self, f: &Func, label: &Option<String>) -> Option<usize> {
        match label {
            None => f.loops.len().checked_sub(1),
            Some(l) => f.loops.iter().rposition(|x| x.label.as_ref() == Some(l)),
        }
    }

    /// Stores `v` into an assignment target, rebuilding the root value.
    fn assign(&mut self, f: &mut Func, t: &Expr, v: u32) {
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
    fn bind_plain(&mut self, f: &mut Func, p: &Pattern, r: u32) -> bool {
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

    /// The register holding `e`'s value: a local's own register (no copy,
    /// so a collection is not shared with a temporary and stays unique
    /// for in-place updates), else a temporary it is evaluated into.
    fn operand(&mut self, f: &mut Func, e: &Expr) -> u32 {
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
    fn operand_once(&mut self, f: &mut Func, e: &Expr) -> u32 {
        let start = f.code.len();
        let r = self.operand(f, e);
        if f.code.len() == start + 1 {
            f.mark_single_use(r);
        }
        r
    }

    /// `JumpIfFalse` on the register of condition `e`: marked (`c` = 1)
    /// when that register is a temporary nothing reads after the jump.
    fn jump_if_false(&mut self, f: &mut Func, e: &Expr, r: u32) -> usize {
        let temp = i64::from(self.local_root(f, e).is_none());
        f.emit(Op::JumpIfFalse, r as i64, 0, temp)
    }

    /// Both operands of a binary operator, left to right: the left one
    /// may stay in its local's register only when evaluating the right one
    /// cannot change that local (a handler clause can assign the locals
    /// of its cell while a call runs).
    fn operands(&mut self, f: &mut Func, lhs: &Expr, rhs: &Expr) -> (u32, u32) {
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
    fn local_root(&self, f: &Func, e: &Expr) -> Option<u32> {
        match &e.kind {
            ExprKind::Name(n) => f.local(n),
            _ => None,
        }
    }

    /// The parameters a cell's LIR takes: a process method's implicit
    /// `self` included.
    fn call_params(&self, id: usize) -> Vec<Param> {
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

    fn raise(&mut self, f: &mut Func, kind: &str, msg: &str) {
        let k = f.konst(json!(kind));
        let m = f.konst(json!(msg));
        f.emit(Op::Raise, k, m, 0);
    }

    /// Emits tests of `p` against register `v`; failing tests jump to the
    /// positions collected in `fails`; bindings go to `binds`.
    fn pattern(
        &mut self,
        f: &mut Func,
        p: &Pattern,
        v: u32,
        fails: &mut Vec<usize>,
        binds: &mut HashMap<String, u32>,
    ) {
        let test = |f: &mut Func, fails: &mut Vec<usize>, r: u32| {
            fails.push(f.emit(Op::JumpIfFalse, r as i64, 0, 0));
        };
        match &p.kind {
            PatternKind::Wild => {}
            PatternKind::Bind(n) => {
                if let Some(ValueDef::Variant { enum_name, .. }) = self
                    .sy
                    .values
                    .get(n)
                    .filter(|_| n.starts_with(|c: char| c.is_ascii_uppercase()))
                {
                    let r = f.reg();
                    let k = f.konst(json!(format!("{enum_name}.{n}")));
                    f.emit(Op::TestVariant, r as i64, v as i64, k);
                    test(f, fails, r);
                } else {
                    let r = *binds.entry(n.clone()).or_insert_with(|| f.reg());
                    f.emit(Op::Move, r as i64, v as i64, 0);
                }
            }
            PatternKind::Typed { name, ty } => {
                let r = f.reg();
                let k = f.konst(json!(type_string(ty)));
                f.emit(Op::TestType, r as i64, v as i64, k);
                test(f, fails, r);
                let b = *binds.entry(name.clone()).or_insert_with(|| f.reg());
                f.emit(Op::Move, b as i64, v as i64, 0);
            }
            PatternKind::Literal(l) => {
                let c = f.reg();
                let k = f.konst(literal_json(l));
                f.emit(Op::LoadConst, c as i64, k, 0);
                let r = f.reg();
                f.emit(Op::Eq, r as i64, v as i64, c as i64);
                test(f, fails, r);
            }
            PatternKind::Range { lo, hi, inclusive } => {
                for (l, op) in [(lo, Op::Ge), (hi, if *inclusive { Op::Le } else { Op::Lt })] {
                    let c = f.reg();
                    let k = f.konst(literal_json(l));
                    f.emit(Op::LoadConst, c as i64, k, 0);
                    let r = f.reg();
                    f.emit(op, r as i64, v as i64, c as i64);
                    test(f, fails, r);
                }
            }
            PatternKind::Variant { path, args } => {
                if let [n] = path.as_slice() {
                    if let Some(TypeDef::Record { .. }) = self.sy.types.get(n) {
                        let fields: Vec<(String, Pattern)> = args
                            .iter()
                            .filter_map(|a| match &a.kind {
                                PatternKind::Bind(x) => Some((x.clone(), a.clone())),
                                _ => None,
                            })
                            .collect();
                        return self.record_pattern(f, n, &fields, v, fails, binds);
                    }
                }
                let qual = match path.as_slice() {
                    [x] if x == "ok" || x == "err" => x.clone(),
                    [x] => match self.sy.values.get(x) {
                        Some(ValueDef::Variant { enum_name, .. }) => format!("{enum_name}.{x}"),
                        _ => x.clone(),
                    },
                    more => more.join("."),
                };
                let r = f.reg();
                let k = f.konst(json!(qual));
                f.emit(Op::TestVariant, r as i64, v as i64, k);
                test(f, fails, r);
                for (i, a) in args.iter().enumerate() {
                    let x = f.reg();
                    f.emit(Op::GetPayload, x as i64, v as i64, i as i64);
                    self.pattern(f, a, x, fails, binds);
                }
            }
            PatternKind::Record { name, fields, .. } => {
                self.record_pattern(f, name, fields, v, fails, binds)
            }
            PatternKind::Tuple(ps) => {
                self.shape(f, v, "Tuple", ps.len(), false, fails);
                for (i, a) in ps.iter().enumerate() {
                    let x = f.reg();
                    let ik = f.reg();
                    let k = f.konst(json!(i));
                    f.emit(Op::LoadConst, ik as i64, k, 0);
                    f.emit(Op::GetIndex, x as i64, v as i64, ik as i64);
                    self.pattern(f, a, x, fails, binds);
                }
            }
            PatternKind::List {
                before,
                rest,
                after,
            } => {
                self.shape(
                    f,
                    v,
                    "List",
                    before.len() + after.len(),
                    rest.is_some(),
                    fails,
                );
                for (i, a) in before.iter().enumerate() {
                    let x = f.reg();
                    let ik = f.reg();
                    let k = f.konst(json!(i));
                    f.emit(Op::LoadConst, ik as i64, k, 0);
                    f.emit(Op::GetIndex, x as i64, v as i64, ik as i64);
                    self.pattern(f, a, x, fails, binds);
                }
                for (i, a) in after.iter().enumerate() {
                    let x = f.reg();
                    f.emit(
                        Op::IndexFromEnd,
                        x as i64,
                        v as i64,
                        (after.len() - i) as i64,
                    );
                    self.pattern(f, a, x, fails, binds);
                }
                if let Some(Some(r)) = rest {
                    let b = *binds.entry(r.clone()).or_insert_with(|| f.reg());
                    f.emit(Op::SliceMid, b as i64, v as i64, before.len() as i64);
                    f.emit(Op::Nop, after.len() as i64, 0, 0);
                }
            }
            PatternKind::Or(alts) => {
                let mut done = Vec::new();
                for (i, a) in alts.iter().enumerate() {
                    let mut local_fails = Vec::new();
                    self.pattern(f, a, v, &mut local_fails, binds);
                    if i + 1 == alts.len() {
                        fails.extend(local_fails);
                    } else {
                        done.push(f.emit(Op::Jump, 0, 0, 0));
                        for x in local_fails {
                            f.patch(x);
                        }
                    }
                }
                for d in done {
                    f.patch(d);
                }
            }
        }
    }

    fn record_pattern(
        &mut self,
        f: &mut Func,
        name: &str,
        fields: &[(String, Pattern)],
        v: u32,
        fails: &mut Vec<usize>,
        binds: &mut HashMap<String, u32>,
    ) {
        let r = f.reg();
        let k = f.konst(json!(name));
        f.emit(Op::TestType, r as i64, v as i64, k);
        fails.push(f.emit(Op::JumpIfFalse, r as i64, 0, 0));
        for (fname, p) in fields {
            let x = f.reg();
            let k = f.konst(json!(fname));
            f.emit(Op::GetField, x as i64, v as i64, k);
            self.pattern(f, p, x, fails, binds);
        }
    }

    /// Tests that `v` is a tuple/list of length `n` (at least `n` with a rest).
    fn shape(
        &mut self,
        f: &mut Func,
        v: u32,
        ty: &str,
        n: usize,
        at_least: bool,
        fails: &mut Vec<usize>,
    ) {
        let r = f.reg();
        let k = f.konst(json!(ty));
        f.emit(Op::TestType, r as i64, v as i64, k);
        fails.push(f.emit(Op::JumpIfFalse, r as i64, 0, 0));
        let len = f.reg();
        f.emit(Op::Len, len as i64, v as i64, 0);
        let c = f.reg();
        let k = f.konst(json!(n));
        f.emit(Op::LoadConst, c as i64, k, 0);
        f.emit(
            if at_least { Op::Ge } else { Op::Eq },
            r as i64,
            len as i64,
            c as i64,
        );
        fails.push(f.emit(Op::JumpIfFalse, r as i64, 0, 0));
    }

    /// A closure over `body` with `params`, capturing the enclosing
    /// locals it mentions; the function value lands in `dst`.
    fn closure(&mut self, f: &mut Func, params: &[Param], body: &Block, dst: u32, what: &str) {
        let mut names = Vec::new();
        block_mentions(body, &mut names);
        self.closure_with(f, params, names, dst, what, |l, g, out| {
            l.block(g, body, out)
        });
    }

    fn closure_with(
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
    fn args_for(
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

    fn plain_args(&mut self, f: &mut Func, args: &[Arg], base: u32) -> u32 {
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

    fn expr(&mut self, f: &mut Func, e: &Expr, dst: u32) {
        stacker::maybe_grow(64 * 1024, 1024 * 1024, || self.expr_inner(f, e, dst))
    }

    fn load(&mut self, f: &mut Func, v: Value, dst: u32) {
        let k = f.konst(v);
        f.emit(Op::LoadConst, dst as i64, k, 0);
    }

    fn expr_inner(&mut self, f: &mut Func, e: &Expr, dst: u32) {
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
            } => {
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
            ExprKind::Unary { op, expr } => {
                let r = self.operand(f, expr);
                let o = match *op {
                    "-" => Op::Neg,
                    "not" => Op::Not,
                    _ => Op::BitNot,
                };
                f.emit(o, d, r as i64, 0);
            }
            ExprKind::Binary { op, lhs, rhs } => match *op {
                "and" | "or" => {
                    self.expr(f, lhs, dst);
                    let j = f.emit(
                        if *op == "and" {
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
                    let call = match &rhs.kind {
                        ExprKind::Call { callee, args } => {
                            let mut a = vec![Arg {
                                name: None,
                                value: (**lhs).clone(),
                                spread: false,
                            }];
                            a.extend(args.iter().cloned());
                            ExprKind::Call {
                                callee: callee.clone(),
                                args: a,
                            }
                        }
                        _ => ExprKind::Call {
                            callee: rhs.clone(),
                            args: vec![Arg {
                                name: None,
                                value: (**lhs).clone(),
                                spread: false,
                            }],
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
                }
                _ => {
                    let (a, b) = self.operands(f, lhs, rhs);
                    f.emit(bop(op).unwrap_or(Op::Eq), d, a as i64, b as i64);
                }
            },
            ExprKind::Compare { first, rest } => {
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
            ExprKind::Field { expr, name, safe } => {
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
            ExprKind::Index { expr, index, safe } => {
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
            } => {
                let c = f.reg();
                self.expr(f, cond, c);
                let j = f.emit(Op::JumpIfFalse, c as i64, 0, 1);
                self.expr(f, then, dst);
                let end = f.emit(Op::Jump, 0, 0, 0);
                f.patch(j);
                self.expr(f, otherwise, dst);
                f.patch(end);
            }
            ExprKind::Perform { effect, op, args } => {
                let params = match self.sy.types.get(effect) {
                    Some(TypeDef::Effect { ops }) => {
                        ops.iter().find(|o| &o.name == op).map(|o| o.params.clone())
                    }
                    _ => None,
                };
                let base = f.reg();
                let n = self.args_for(f, params.as_deref(), args, base, 0);
                let k = f.konst(json!(format!("{effect}.{op}")));
                f.emit(Op::Perform, base as i64, k, n as i64);
                f.emit(Op::Move, d, base as i64, 0);
            }
            ExprKind::If {
                branches,
                otherwise,
            } => self.if_chain(f, branches, otherwise.as_ref(), dst, true),
            ExprKind::Match { subject, arms } => {
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
            ExprKind::When(arms) => {
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
            ExprKind::Loop { label, body } => {
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
            ExprKind::For {
                label,
                pattern,
                iter,
                filter,
                body,
            } => {
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
            ExprKind::While { label, cond, body } => {
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
            ExprKind::Handle {
                body,
                clauses,
                handlers,
            } => {
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
            ExprKind::Do(b) | ExprKind::Comptime(b) => self.block(f, b, dst),
            ExprKind::Resume(v) => {
                let r = f.reg();
                self.expr(f, v, r);
                f.emit(Op::Resume, r as i64, 0, 0);
            }
        }
    }

    fn close_loop(&mut self, f: &mut Func, start: i64) {
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
    fn cond(&mut self, f: &mut Func, c: &Cond) -> Vec<usize> {
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

    fn comprehension(
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

    fn string(&mut self, f: &mut Func, role: Option<&String>, segs: &[StrSeg], dst: u32) {
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

    fn name(&mut self, f: &mut Func, n: &str, dst: u32) {
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

    fn qualified_value(&mut self, f: &mut Func, t: &str, name: &str, dst: u32) {
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
    fn make_variant(&mut self, f: &mut Func, qualified: &str, args: &[Arg], dst: u32) {
        let start = f.regs(args.len() as u32);
        for (i, a) in args.iter().enumerate() {
            self.expr(f, &a.value, start + i as u32);
        }
        let k = f.konst(json!(qualified));
        f.emit(Op::MakeVariant, dst as i64, k, start as i64);
    }

    fn call(&mut self, f: &mut Func, callee: &Expr, args: &[Arg], dst: u32) {
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
                    if let Some(TypeDef::Enum { .. }) = sy.types.get(t) {
                        return self.make_variant(f, &format!("{t}.{name}"), args, dst);
                    }
                    if let Some(id) = sy.methods.get(t).and_then(|m| m.get(name)) {
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
