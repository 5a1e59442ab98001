//! Fused instructions: common LIR sequences rewritten in place into
//! single instructions of the VM's own (`isa`). Positions are kept: the
//! first slot of a sequence is rewritten and skips the rest, which stay as
//! they were for any jump that lands on them, and a fused form's slow road
//! runs the instructions it covers.

use super::{Ins, Op, BIN_OPS, CMP_OPS, DEAD_K, DEAD_RESULT, OP_MASK};
use crate::value::Value;

/// Fused instructions (positions are kept: the first slot of a pair
/// becomes a `Nop` or is skipped):
/// - `Range r, lo, hi; IterInit it, r` becomes `IterRange it, lo, hi`
///   (the range register is never written, and nothing else reads it);
/// - `Lt t, x, y; JumpIfFalse t, L` becomes `CmpJump` (not when something
///   jumps to the `JumpIfFalse` itself);
/// - `Call` becomes `CallSpread` in cells with spread arguments;
/// - `Move r, s; Return r` returns `s` (not in cells with handler clauses);
/// - `LoadBool`/`LoadConst` into the register a `SetIndex` or `Push` stores
///   becomes `StoreK`, which runs both (storing the constant directly
///   when the compiler marked the register single-use);
/// - `GetIndex` into a condition's dead temporary becomes `IndexJump`;
/// - `IterRange` right before its loop head becomes `ForPrep` + `ForNext`
///   over two hidden registers (the cell's register count grows by two);
/// - `BinK` of `+ - * %` gets an op of its own, and a backward `Jump`
///   onto a loop test performs the test (`JumpLoop`, `LoopCmp`, `LoopFor`);
/// - an `Add`/`AddK` right before a `LoopCmp` runs it too (`AddLoop`,
///   `AddKLoop`): the increment and the back edge of a `while` loop.
pub(super) fn fuse(code: &mut [Ins], registers: &mut u32, consts: &[Value]) {
    spread_calls(code);
    let target = jump_targets(code);
    let clauses = code.iter().any(|i| i.op == Op::HandlePush);
    pairs(code, &target, clauses);
    range_loops(code, registers);
    specialise_bink(code);
    set_index_k(code);
    immediates(code, consts);
    loop_tests(code);
    loop_increments(code);
    increment_and_test(code);
}

/// Which instructions something jumps to.
fn jump_targets(code: &[Ins]) -> Vec<bool> {
    let mut target = vec![false; code.len() + 1];
    for i in code.iter() {
        let t = match i.op {
            Op::Jump => Some(i.a),
            Op::JumpIfFalse
            | Op::JumpIfTrue
            | Op::JumpIfNull
            | Op::JumpIfNotNull
            | Op::JumpIfPresent
            | Op::HandleEnter
            | Op::HandlePush => Some(i.b),
            Op::IterNext => Some(i.c),
            _ => None,
        };
        if let Some(t) = t {
            if let Some(x) = target.get_mut(t as usize) {
                *x = true;
            }
        }
    }
    target
}

/// `Call` becomes `CallSpread` in cells with spread arguments.
fn spread_calls(code: &mut [Ins]) {
    let spreads = code.iter().any(|i| i.op == Op::SpreadArg);
    if spreads {
        for i in code.iter_mut().filter(|i| i.op == Op::Call) {
            i.op = Op::CallSpread;
        }
    }
}

/// The pairs and triples: compare-and-branch, constant operands, `if
/// xs[i]`, stored constants, `return x`, a call's result `Move`, a range
/// and its iterator.
fn pairs(code: &mut [Ins], target: &[bool], clauses: bool) {
    for i in 0..code.len().saturating_sub(1) {
        let (x, y) = (code[i], code[i + 1]);
        // The first slot of each pair is rewritten and skips the second,
        // which stays as it was for any jump that lands on it.
        if let Some(k) = CMP_OPS.iter().position(|o| *o == x.op) {
            if y.op == Op::JumpIfFalse && y.a == x.a && x.b < 65536 && x.c < 65536 {
                let dead = if y.c == 1 { DEAD_RESULT } else { 0 };
                code[i] = Ins {
                    op: Op::CmpJump,
                    x: k as u8 | dead,
                    d: 0,
                    a: x.a,
                    b: y.b,
                    c: x.b | (x.c << 16),
                };
                continue;
            }
        }
        if x.op == Op::LoadConst && x.b < 65536 && i + 2 < code.len() {
            let z = code[i + 2];
            if let Some(k) = CMP_OPS.iter().position(|o| *o == y.op) {
                if y.c == x.a
                    && y.b != x.a
                    && z.op == Op::JumpIfFalse
                    && z.a == y.a
                    && y.b < 65536
                    && x.a < 65536
                {
                    let mut dead = if z.c == 1 { DEAD_RESULT } else { 0 };
                    if x.c == 1 {
                        dead |= DEAD_K;
                    }
                    code[i] = Ins {
                        op: Op::CmpKJump,
                        x: k as u8 | dead,
                        d: x.b as u16,
                        a: y.a,
                        b: z.b,
                        c: y.b | (x.a << 16),
                    };
                    continue;
                }
            }
        }
        if x.op == Op::LoadConst && x.b < 65536 {
            if let Some(k) = BIN_OPS.iter().position(|o| *o == y.op) {
                if y.c == x.a && y.b != x.a {
                    let dead = if x.c == 1 { DEAD_K } else { 0 };
                    code[i] = Ins {
                        op: Op::BinK,
                        x: k as u8 | dead,
                        d: x.b as u16,
                        a: y.a,
                        b: y.b,
                        c: y.c,
                    };
                    continue;
                }
            }
        }
        if x.op == Op::GetIndex && y.op == Op::JumpIfFalse && y.a == x.a && y.c == 1 && x.a < 65536
        {
            code[i] = Ins {
                op: Op::IndexJump,
                x: 0,
                d: x.a as u16,
                a: x.b,
                b: x.c,
                c: y.b,
            };
            continue;
        }
        if matches!(x.op, Op::LoadBool | Op::LoadConst)
            && x.b < 65536
            && ((y.op == Op::SetIndex && y.c == x.a && y.a != x.a && y.b != x.a)
                || (y.op == Op::Push && y.c == 0 && y.b == x.a && y.a != x.a))
            && !target[i + 1]
        {
            let dead = if x.c == 1 { DEAD_K } else { 0 };
            code[i] = Ins {
                op: Op::StoreK,
                x: (x.op == Op::LoadConst) as u8 | dead,
                d: x.b as u16,
                a: 0,
                b: 0,
                c: x.a,
            };
            continue;
        }
        if x.op == Op::Move && y.op == Op::Return && y.a == x.a && !clauses {
            // `return x`: return the source register directly (the frame
            // ends, so the copy is dead; not in cells holding handler
            // clauses, whose frames share registers with the handle).
            code[i] = Ins::new(Op::Return, x.b, 0, 0);
            continue;
        }
        if matches!(x.op, Op::Call | Op::CallBuiltin)
            && y.op == Op::Move
            && y.b == x.a
            && y.a < 65535
            && !target[i + 1]
        {
            // The result goes straight to the `Move`'s destination; the
            // call returns past the `Move`.
            code[i].d = (y.a + 1) as u16;
            code[i + 1] = Ins::new(Op::Nop, 0, 0, 0);
            continue;
        }
        if matches!(x.op, Op::Range | Op::RangeIncl) && y.op == Op::IterInit && y.b == x.a {
            let op = if x.op == Op::Range {
                Op::IterRange
            } else {
                Op::IterRangeIncl
            };
            code[i] = Ins::new(Op::Nop, 0, 0, 0);
            code[i + 1] = Ins::new(op, y.a, x.b, x.c);
        }
    }
}

/// A range iterated right away: `ForPrep` + `ForNext` over two hidden
/// registers.
fn range_loops(code: &mut [Ins], registers: &mut u32) {
    for i in 0..code.len().saturating_sub(1) {
        let (x, y) = (code[i], code[i + 1]);
        if matches!(x.op, Op::IterRange | Op::IterRangeIncl)
            && y.op == Op::IterNext
            && y.b == x.a
            && *registers < u32::MAX - 2
        {
            // The counter and the end live in two registers of their own
            // past the cell's; the iterator register is left alone.
            let h = *registers;
            *registers += 2;
            code[i] = Ins {
                op: Op::ForPrep,
                x: (x.op == Op::IterRangeIncl) as u8,
                d: 0,
                a: h,
                b: x.b,
                c: x.c,
            };
            code[i + 1] = Ins::new(Op::ForNext, y.a, h, y.c);
        }
    }
}

/// `BinK` of `+ - * %` gets an op of its own.
fn specialise_bink(code: &mut [Ins]) {
    for i in code.iter_mut().filter(|i| i.op == Op::BinK) {
        i.op = match BIN_OPS[(i.x & OP_MASK) as usize] {
            Op::Add => Op::AddK,
            Op::Sub => Op::SubK,
            Op::Mul => Op::MulK,
            Op::Mod => Op::ModK,
            _ => Op::BinK,
        };
    }
}

/// A constant stored by `SetIndex` with nothing else reading it.
fn set_index_k(code: &mut [Ins]) {
    for i in 0..code.len().saturating_sub(1) {
        let (x, y) = (code[i], code[i + 1]);
        if x.op == Op::StoreK && x.x & DEAD_K != 0 && y.op == Op::SetIndex {
            code[i] = Ins {
                op: Op::SetIndexK,
                x: x.x & 1,
                d: x.d,
                a: y.a,
                b: y.b,
                c: x.c,
            };
        }
    }
}

/// Immediates: a dead constant register frees `c` for the value.
fn immediates(code: &mut [Ins], consts: &[Value]) {
    for i in code.iter_mut() {
        let Some(Value::Int(q)) = consts.get(i.d as usize) else {
            continue;
        };
        if i.x & DEAD_K == 0 {
            continue;
        }
        match i.op {
            Op::AddK | Op::SubK | Op::MulK | Op::ModK => {
                if let Ok(q) = i32::try_from(*q) {
                    i.op = match i.op {
                        Op::AddK => Op::AddI,
                        Op::SubK => Op::SubI,
                        Op::MulK => Op::MulI,
                        _ => Op::ModI,
                    };
                    i.c = q as u32;
                }
            }
            Op::CmpKJump => {
                if let Ok(q) = i16::try_from(*q) {
                    i.op = Op::CmpIJump;
                    i.c = (i.c & 0xffff) | (u32::from(q as u16) << 16);
                }
            }
            _ => {}
        }
    }
}

/// A backward `Jump` onto a loop test performs the test.
fn loop_tests(code: &mut [Ins]) {
    for i in 0..code.len() {
        if code[i].op == Op::Jump {
            code[i].op = match code[code[i].a as usize].op {
                Op::IterNext => Op::JumpLoop,
                Op::CmpJump | Op::CmpKJump | Op::CmpIJump => Op::LoopCmp,
                Op::ForNext => Op::LoopFor,
                _ => Op::Jump,
            };
        }
    }
}

/// An increment right before a loop's back edge runs it too.
fn loop_increments(code: &mut [Ins]) {
    for i in 0..code.len() {
        let next = |k: usize| code.get(i + k).map(|x| x.op);
        if code[i].op == Op::Add && next(1) == Some(Op::LoopCmp) {
            code[i].op = Op::AddLoop;
        } else if code[i].op == Op::AddK && next(2) == Some(Op::LoopCmp) {
            code[i].op = Op::AddKLoop;
        } else if code[i].op == Op::AddI && next(2) == Some(Op::LoopCmp) {
            code[i].op = Op::AddILoop;
        }
    }
}

/// `x += y` and the loop test `x CMP r` as one instruction.
fn increment_and_test(code: &mut [Ins]) {
    for i in 0..code.len() {
        let add = code[i];
        let (span, imm) = match add.op {
            Op::AddLoop if add.b == add.a => (1, false),
            Op::AddILoop if add.b == add.a => (2, true),
            _ => continue,
        };
        let l = code[i + span].a as usize;
        let Some(cj) = code.get(l).copied() else {
            continue;
        };
        if cj.op == Op::CmpJump
            && cj.x & DEAD_RESULT != 0
            && cj.c & 0xffff == add.a
            && cj.b as usize == i + span + 1
            && add.a < 65536
        {
            code[i] = Ins {
                op: if imm { Op::AddICmpLoop } else { Op::AddCmpLoop },
                x: cj.x,
                d: if imm { add.d } else { 0 },
                a: add.a | (cj.c >> 16) << 16,
                b: add.c,
                c: l as u32 + 2,
            };
        }
    }
}
