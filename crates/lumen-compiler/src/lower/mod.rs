//! Lowering to LIR (§17): one `lir::Cell` per compiled cell, lambda,
//! handler clause, defer body, constant, field default and process
//! helper; registers allocated per frame (locals stay put for their
//! scope, temporaries are released after each statement); call targets
//! resolved to indices.

use std::collections::{BTreeMap, HashMap};

use serde_json::{json, Value};

use crate::ast::*;
use crate::builtins;
use crate::diag::Span;
use crate::lir::{self, Instr, Module, Op};
use crate::resolve::{Symbols, TypeDef, ValueDef};
use crate::typeck::Types;

use mentions::{block_mentions, mentions};

mod call;
mod cell;
mod control;
mod expr;
mod mentions;
mod pattern;
mod stmt;

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
    stacker::maybe_grow(64 * 1024, 1024 * 1024, || simple_inner(e))
}

fn simple_inner(e: &Expr) -> bool {
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
        Literal::List(xs) => Value::Array(xs.iter().map(literal_json).collect()),
    }
}
