//! The dispatch loop and the fast paths it inlines. Its cold half,
//! the instructions that are rare or heavy, is `cold.rs`: the two are one
//! interpreter split only to keep the hot loop small.

use super::*;

impl<'h> Vm<'h> {
    /// The dispatch loop. Long on purpose, as Lua's `luaV_execute` is: one
    /// arm per instruction, and the fast paths must sit in the function
    /// that owns the loop so that its state (instruction pointer,
    /// registers, constants) stays in machine registers; moving an arm
    /// out makes it a call. Rare and heavy instructions go to `exec_cold`.
    pub(super) fn exec(&mut self, stop: usize) -> VmResult<Value> {
        let prog = self.prog.clone();
        // Only the instruction stream, the running frame's registers and
        // its constants stay in locals (few enough to live in machine
        // registers); the frame's index, cell and top!() are read back from
        // `self.frames` on the slow paths that need them.
        //
        // SAFETY (for every `reg!` below): the stack was reserved with
        // `STACK_SLOTS` capacity and `enter` never lets it grow past that,
        // so its buffer never moves; every frame's window
        // `[base!(), base!() + registers)` lies within `stack.len()` (`enter` and
        // the call fast path resize before pushing a frame, a clause frame
        // uses its handle frame's window); and `Program::load` checked
        // every register operand against its cell's register count.
        let sp: *mut Value = self.stack.as_mut_ptr();
        let frame0 = self.frames[self.frames.len() - 1];
        let cell0 = &prog.cells[frame0.cell as usize];
        let mut code: *const crate::program::Ins = cell0.code.as_ptr();
        let mut consts: *const Value = cell0.consts.as_ptr();
        let mut ip: *const crate::program::Ins = unsafe { code.add(frame0.pc as usize) };
        let mut regs: *mut Value = unsafe { sp.add(frame0.base) };
        macro_rules! base {
            () => {
                (regs.offset_from(sp) as usize)
            };
        }
        macro_rules! konst {
            ($i:expr) => {
                &*consts.add($i as usize)
            };
        }
        macro_rules! reg {
            ($r:expr) => {
                (*regs.add($r as usize))
            };
        }
        // Writes a register, skipping the drop glue when the old value
        // holds nothing to release (most of the time: a scalar).
        macro_rules! set {
            ($r:expr, $v:expr) => {{
                let v = $v;
                let slot: *mut Value = regs.add($r as usize);
                if is_scalar(&*slot) {
                    std::ptr::write(slot, v);
                } else {
                    *slot = v;
                }
            }};
        }
        // `IterNext`: the next item and on to `$after`, or the exit.
        macro_rules! iter_next {
            ($i:expr, $after:expr) => {{
                let i = $i;
                let next = match &reg!(i.b) {
                    Value::Iter(it) => {
                        let mut it = it.borrow_mut();
                        match &mut *it {
                            Iter::Range { next, last, done } => {
                                if *done || *next > *last {
                                    None
                                } else if *next == *last {
                                    *done = true;
                                    Some(Value::Int(*next))
                                } else {
                                    *next += 1;
                                    Some(Value::Int(*next - 1))
                                }
                            }
                            Iter::Seq { items, at } => {
                                let v = items.get(*at).cloned();
                                *at += 1;
                                v
                            }
                            Iter::Keys { items, at } => {
                                let v = items.get(*at).cloned();
                                *at += 1;
                                v
                            }
                        }
                    }
                    _ => None,
                };
                match next {
                    Some(v) => {
                        set!(i.a, v);
                        ip = $after;
                    }
                    None => ip = code.add(i.c as usize),
                }
            }};
        }
        // `CmpJump`/`CmpKJump` (`$after` just past it): compare, then
        // jump to the target or past the instructions the fusion covers.
        macro_rules! cmp_jump {
            ($i:expr, $after:expr) => {{
                let i = $i;
                cmp_jump!(@ i, $after, i.op)
            }};
            // `$op`: the instruction's op, a constant where the arm knows
            // it (the tests on it then fold away).
            (@ $i:ident, $after:expr, $op:expr) => {{
                let i = $i;
                let op: Op = $op;
                let k = op != Op::CmpJump;
                // The general comparison, for operands other than two Ints.
                macro_rules! cmp_slow {
                    ($p:expr, $q:expr) => {{
                        let op = crate::program::CMP_OPS[(i.x & crate::program::OP_MASK) as usize];
                        match tryv!(binary_slow(op, $p, $q)) {
                            Value::Bool(b) => b,
                            _ => false,
                        }
                    }};
                }
                let b = if op == Op::CmpIJump {
                    let q = i64::from((i.c >> 16) as u16 as i16);
                    match &reg!(i.c & 0xffff) {
                        Value::Int(p) => cmp_k(i.x, *p, q),
                        p => cmp_slow!(p, konst!(i.d)),
                    }
                } else {
                    let rhs: &Value = if k {
                        let q = konst!(i.d);
                        if i.x & crate::program::DEAD_K == 0 {
                            copy_into(regs.add((i.c >> 16) as usize), q);
                        }
                        q
                    } else {
                        &reg!(i.c >> 16)
                    };
                    match (&reg!(i.c & 0xffff), rhs) {
                        (Value::Int(p), Value::Int(q)) => cmp_k(i.x, *p, *q),
                        (p, q) => cmp_slow!(p, q),
                    }
                };
                if i.x & crate::program::DEAD_RESULT == 0 {
                    put_bool(regs.add(i.a as usize), b);
                }
                ip = if b {
                    $after.add(if k { 2 } else { 1 })
                } else {
                    code.add(i.b as usize)
                };
            }};
        }
        // `ForNext`: the counter in hidden register `b` (an Int, as is the
        // end in `b + 1`) steps to the variable and on to `$after`.
        macro_rules! for_next {
            ($i:expr, $after:expr) => {{
                let i = $i;
                let h = regs.add(i.b as usize);
                if let (Value::Int(n), Value::Int(e)) = (&*h, &*h.add(1)) {
                    if *n <= *e {
                        let n = *n;
                        if n < *e {
                            put_int(h, n + 1);
                        } else {
                            // The last value (perhaps MAX_INT): done.
                            std::ptr::write(h, Value::Null);
                        }
                        put_int(regs.add(i.a as usize), n);
                        ip = $after;
                    } else {
                        ip = code.add(i.c as usize);
                    }
                } else {
                    ip = code.add(i.c as usize);
                }
            }};
        }
        // `SetIndex`. Fast path: an unshared list at an in-range Int, the
        // value in another register (copied field by field into the
        // element).
        macro_rules! set_index {
            ($i:expr) => {{
                let i: &crate::program::Ins = $i;
                if i.a != i.c {
                    if let (Value::List(xs), Value::Int(k)) =
                        (&mut *regs.add(i.a as usize), &*regs.add(i.b as usize))
                    {
                        if *k >= 0 {
                            if let Some(slot) = Rc::get_mut(xs).and_then(|v| v.get_mut(*k as usize))
                            {
                                copy_into(slot, &*regs.add(i.c as usize));
                                continue;
                            }
                        }
                    }
                }
                if i.a != i.b && i.a != i.c {
                    // An existing key of an unshared map: its entry only.
                    if let Value::Map(m) = &mut *regs.add(i.a as usize) {
                        if let Some(m) = Rc::get_mut(m) {
                            if let Some(slot) = m.get_mut(&*regs.add(i.b as usize)) {
                                copy_into(slot, &*regs.add(i.c as usize));
                                continue;
                            }
                        }
                    }
                }
                let v = fast_clone(&reg!(i.c));
                let k = reg!(i.b).clone();
                tryv!(set_index(&mut reg!(i.a), &k, v));
            }};
        }
        // `Push` of one item (`c` = 0, `a` != `b`). Fast path: appending
        // to an unshared list.
        macro_rules! push_one {
            ($i:expr) => {{
                let i: &crate::program::Ins = $i;
                if let Value::List(xs) = &mut *regs.add(i.a as usize) {
                    if let Some(xs) = Rc::get_mut(xs) {
                        push_fast(xs, fast_clone(&*regs.add(i.b as usize)));
                        continue;
                    }
                }
                let v = reg!(i.b).clone();
                tryv!(push(&mut reg!(i.a), v, false));
            }};
        }
        // `AddI`/`SubI`/`MulI`: the Int in `c`; the constant `d` on the
        // slow path (an overflow error names it).
        macro_rules! int_i {
            ($i:expr, $checked:ident) => {{
                let i = $i;
                let q = i64::from(i.c as i32);
                match &reg!(i.b) {
                    Value::Int(p) if p.$checked(q).is_some() => {
                        put_int(regs.add(i.a as usize), p.$checked(q).unwrap_unchecked());
                    }
                    x => {
                        let op = crate::program::BIN_OPS[(i.x & crate::program::OP_MASK) as usize];
                        let v = tryv!(binary_slow(op, x, konst!(i.d)));
                        set!(i.a, v);
                    }
                }
                ip = ip.add(1);
            }};
        }
        // The `LoopCmp` an increment was fused before (kept in place at
        // `ip`): the back edge and the loop test, run here.
        macro_rules! loop_cmp_next {
            () => {{
                let l = (*ip).a as usize;
                ip = ip.add(1);
                step!();
                cmp_jump!(*code.add(l), code.add(l + 1));
            }};
        }
        // `AddCmpLoop` (`$imm` false) and `AddICmpLoop` (true): `x += y`
        // then the loop test `x CMP r`, on to the body or out past the
        // back edge.
        macro_rules! add_cmp_loop {
            ($i:expr, $imm:expr) => {{
                let i = $i;
                step!();
                let x = regs.add((i.a & 0xffff) as usize);
                let r = regs.add((i.a >> 16) as usize);
                let y = if $imm {
                    Some(i64::from(i.b as i32))
                } else if let Value::Int(y) = *regs.add(i.b as usize) {
                    Some(y)
                } else {
                    None
                };
                if let (Value::Int(p), Value::Int(n), Some(y)) = (&mut *x, &*r, y) {
                    if let Some(s) = p.checked_add(y) {
                        *p = s;
                        // `<` (kind 0), the usual test, without the table.
                        let go = if i.x & 7 == 0 {
                            s < *n
                        } else {
                            cmp_k(i.x, s, *n)
                        };
                        ip = if go {
                            code.add(i.c as usize)
                        } else {
                            ip.add($imm as usize + 1)
                        };
                        continue;
                    }
                }
                // The long way: the add (with its errors), then the
                // `CmpJump` the test came from.
                cold();
                let v = if $imm {
                    tryv!(binary_slow(Op::Add, &*x, konst!(i.d)))
                } else {
                    tryv!(binary_slow(Op::Add, &*x, &reg!(i.b)))
                };
                set!(i.a & 0xffff, v);
                ip = code.add(i.c as usize - 2);
            }};
        }
        // `AddK`/`SubK`/`MulK`: Int fast path, else the general operator.
        macro_rules! int_k {
            ($i:expr, $checked:ident) => {{
                let i = $i;
                let k = konst!(i.d);
                match (&reg!(i.b), k) {
                    (Value::Int(p), Value::Int(q)) if p.$checked(*q).is_some() => {
                        let r = p.$checked(*q).unwrap_unchecked();
                        if i.x & crate::program::DEAD_K == 0 {
                            put_int(regs.add(i.c as usize), *q);
                        }
                        put_int(regs.add(i.a as usize), r);
                    }
                    (x, k) => {
                        let op = crate::program::BIN_OPS[(i.x & crate::program::OP_MASK) as usize];
                        let v = tryv!(binary_slow(op, x, k));
                        if i.x & crate::program::DEAD_K == 0 {
                            copy_into(regs.add(i.c as usize), k);
                        }
                        set!(i.a, v);
                    }
                }
                ip = ip.add(1);
            }};
        }
        macro_rules! step {
            () => {
                self.budget -= 1;
                if self.budget & 0x3ff == 0 {
                    cold();
                    // Every 1,024 steps: the budget, then memory.
                    if self.budget == 0 {
                        save!();
                        return Err(self.budget_exhausted());
                    }
                    if crate::mem::in_use() > crate::mem::limit() {
                        save!();
                        return Err(self.memory_exhausted());
                    }
                }
            };
        }
        macro_rules! save {
            () => {
                let last = self.frames.len() - 1;
                self.frames[last].pc = ip.offset_from(code) as u32;
            };
        }
        macro_rules! reload {
            () => {{
                let f = &self.frames[self.frames.len() - 1];
                let c = &prog.cells[f.cell as usize];
                code = c.code.as_ptr();
                consts = c.consts.as_ptr();
                ip = code.add(f.pc as usize);
                regs = sp.add(f.base);
            }};
        }
        macro_rules! tryv {
            ($e:expr) => {
                match $e {
                    Ok(v) => v,
                    Err(e) => {
                        cold();
                        save!();
                        return Err(e);
                    }
                }
            };
        }
        loop {
            // SAFETY: every cell ends with `Return` and load checked jump
            // targets, so `pc` stays inside `code`.
            // A reference, not a copy: each arm loads the operands it
            // uses, instead of all of them being decoded up front.
            let ins: &crate::program::Ins = unsafe { &*ip };
            ip = unsafe { ip.add(1) };
            #[allow(unused_unsafe)]
            unsafe {
                match ins.op {
                    Op::Move => {
                        copy_into(regs.add(ins.a as usize), &reg!(ins.b));
                    }
                    Op::LoadConst => copy_into(regs.add(ins.a as usize), konst!(ins.b)),
                    Op::LoadNull => set!(ins.a, Value::Null),
                    Op::LoadBool => put_bool(regs.add(ins.a as usize), ins.b != 0),
                    Op::LoadAbsent => set!(ins.a, Value::Absent),
                    Op::JumpIfPresent => {
                        if !matches!(reg!(ins.a), Value::Absent) {
                            ip = code.add(ins.b as usize);
                        }
                    }
                    Op::Add => match (&reg!(ins.b), &reg!(ins.c)) {
                        (Value::Int(p), Value::Int(q)) if p.checked_add(*q).is_some() => {
                            put_int(regs.add(ins.a as usize), p.wrapping_add(*q))
                        }
                        (x, y) => {
                            let v = tryv!(binary_slow(Op::Add, x, y));
                            set!(ins.a, v);
                        }
                    },
                    Op::Sub => match (&reg!(ins.b), &reg!(ins.c)) {
                        (Value::Int(p), Value::Int(q)) if p.checked_sub(*q).is_some() => {
                            put_int(regs.add(ins.a as usize), p.wrapping_sub(*q))
                        }
                        (x, y) => {
                            let v = tryv!(binary_slow(Op::Sub, x, y));
                            set!(ins.a, v);
                        }
                    },
                    Op::Mul => match (&reg!(ins.b), &reg!(ins.c)) {
                        (Value::Int(p), Value::Int(q)) if p.checked_mul(*q).is_some() => {
                            put_int(regs.add(ins.a as usize), p.wrapping_mul(*q))
                        }
                        (x, y) => {
                            let v = tryv!(binary_slow(Op::Mul, x, y));
                            set!(ins.a, v);
                        }
                    },
                    Op::Mod => match (&reg!(ins.b), &reg!(ins.c)) {
                        (Value::Int(p), Value::Int(q)) if *q > 0 && *p >= 0 => {
                            put_int(regs.add(ins.a as usize), p % q)
                        }
                        (x, y) => {
                            let v = tryv!(binary_slow(Op::Mod, x, y));
                            set!(ins.a, v);
                        }
                    },
                    Op::Lt | Op::Le | Op::Gt | Op::Ge | Op::Eq | Op::Ne => {
                        let b = match (&reg!(ins.b), &reg!(ins.c)) {
                            (Value::Int(p), Value::Int(q)) => int_cmp(ins.op, *p, *q),
                            (x, y) => match tryv!(binary_slow(ins.op, x, y)) {
                                Value::Bool(b) => b,
                                _ => false,
                            },
                        };
                        put_bool(regs.add(ins.a as usize), b);
                    }
                    Op::CmpJump => cmp_jump!(@ ins, ip, Op::CmpJump),
                    Op::CmpKJump => cmp_jump!(@ ins, ip, Op::CmpKJump),
                    Op::CmpIJump => cmp_jump!(@ ins, ip, Op::CmpIJump),
                    Op::JumpLoop => {
                        // A backward jump onto a loop's test: run the test
                        // here instead of dispatching it separately.
                        step!();
                        let l = ins.a as usize;
                        iter_next!(*code.add(l), code.add(l + 1));
                    }
                    Op::LoopCmp => {
                        step!();
                        let l = ins.a as usize;
                        cmp_jump!(*code.add(l), code.add(l + 1));
                    }
                    Op::LoopFor => {
                        step!();
                        let l = ins.a as usize;
                        for_next!(*code.add(l), code.add(l + 1));
                    }
                    Op::ForNext => for_next!(ins, ip),
                    Op::AddK => int_k!(ins, checked_add),
                    Op::AddLoop => {
                        match (&reg!(ins.b), &reg!(ins.c)) {
                            (Value::Int(p), Value::Int(q)) if p.checked_add(*q).is_some() => {
                                put_int(regs.add(ins.a as usize), p.wrapping_add(*q))
                            }
                            (x, y) => {
                                let v = tryv!(binary_slow(Op::Add, x, y));
                                set!(ins.a, v);
                            }
                        }
                        loop_cmp_next!();
                    }
                    Op::AddKLoop => {
                        int_k!(ins, checked_add);
                        loop_cmp_next!();
                    }
                    Op::AddI => int_i!(ins, checked_add),
                    Op::SubI => int_i!(ins, checked_sub),
                    Op::MulI => int_i!(ins, checked_mul),
                    Op::ModI => {
                        let q = i64::from(ins.c as i32);
                        match &reg!(ins.b) {
                            Value::Int(p) if q > 0 && *p >= 0 => {
                                put_int(regs.add(ins.a as usize), p % q);
                            }
                            x => {
                                let v = tryv!(binary_slow(Op::Mod, x, konst!(ins.d)));
                                set!(ins.a, v);
                            }
                        }
                        ip = ip.add(1);
                    }
                    Op::AddILoop => {
                        int_i!(ins, checked_add);
                        loop_cmp_next!();
                    }
                    Op::AddCmpLoop => add_cmp_loop!(ins, false),
                    Op::AddICmpLoop => add_cmp_loop!(ins, true),
                    Op::SubK => int_k!(ins, checked_sub),
                    Op::MulK => int_k!(ins, checked_mul),
                    Op::ModK => {
                        let k = konst!(ins.d);
                        match (&reg!(ins.b), k) {
                            (Value::Int(p), Value::Int(q)) if *q > 0 && *p >= 0 => {
                                let r = p % q;
                                if ins.x & crate::program::DEAD_K == 0 {
                                    put_int(regs.add(ins.c as usize), *q);
                                }
                                put_int(regs.add(ins.a as usize), r);
                            }
                            (x, k) => {
                                let v = tryv!(binary_slow(Op::Mod, x, k));
                                if ins.x & crate::program::DEAD_K == 0 {
                                    copy_into(regs.add(ins.c as usize), k);
                                }
                                set!(ins.a, v);
                            }
                        }
                        ip = ip.add(1);
                    }
                    Op::BinK => {
                        let k = fast_clone(konst!(ins.d));
                        let op =
                            crate::program::BIN_OPS[(ins.x & crate::program::OP_MASK) as usize];
                        let v = match (&reg!(ins.b), &k) {
                            (Value::Int(p), Value::Int(q)) => match op {
                                Op::Add if p.checked_add(*q).is_some() => Value::Int(p + q),
                                Op::Sub if p.checked_sub(*q).is_some() => Value::Int(p - q),
                                Op::Mul if p.checked_mul(*q).is_some() => Value::Int(p * q),
                                Op::Mod if *q > 0 && *p >= 0 => Value::Int(p % q),
                                Op::Lt | Op::Le | Op::Gt | Op::Ge | Op::Eq | Op::Ne => {
                                    Value::Bool(int_cmp(op, *p, *q))
                                }
                                _ => tryv!(binary_slow(op, &Value::Int(*p), &k)),
                            },
                            (x, _) => tryv!(binary_slow(op, x, &k)),
                        };
                        if ins.x & crate::program::DEAD_K == 0 {
                            set!(ins.c, k);
                        }
                        set!(ins.a, v);
                        ip = ip.add(1);
                    }
                    Op::Div
                    | Op::IntDiv
                    | Op::Pow
                    | Op::Concat
                    | Op::BitAnd
                    | Op::BitOr
                    | Op::BitXor
                    | Op::Shl
                    | Op::Shr
                    | Op::Cmp
                    | Op::In
                    | Op::Range
                    | Op::RangeIncl => {
                        let v = tryv!(binary_slow(ins.op, &reg!(ins.b), &reg!(ins.c)));
                        set!(ins.a, v);
                    }
                    Op::Jump => {
                        let t = code.add(ins.a as usize);
                        if t < ip {
                            step!();
                        }
                        ip = t;
                    }
                    Op::JumpIfFalse => {
                        if matches!(reg!(ins.a), Value::Bool(false)) {
                            ip = code.add(ins.b as usize);
                        }
                    }
                    Op::JumpIfTrue => {
                        if matches!(reg!(ins.a), Value::Bool(true)) {
                            ip = code.add(ins.b as usize);
                        }
                    }
                    Op::JumpIfNull => {
                        if reg!(ins.a).is_null() {
                            ip = code.add(ins.b as usize);
                        }
                    }
                    Op::JumpIfNotNull => {
                        if !reg!(ins.a).is_null() {
                            ip = code.add(ins.b as usize);
                        }
                    }
                    Op::Call => {
                        step!();
                        let cur = self.frames.len() - 1;
                        let fr = self.frames.as_mut_ptr().add(cur);
                        // Where the caller resumes: past the fused `Move`
                        // (`d` != 0), which the result skips.
                        (*fr).pc = ip.offset_from(code) as u32 + (ins.d != 0) as u32;
                        let nb = (*fr).top;
                        // SAFETY: `Program::load` checked the cell index.
                        let callee = prog.cells.get_unchecked(ins.b as usize);
                        let argbase = base!() + ins.a as usize + 1;
                        let n = ins.c as usize;
                        let ctop = nb + callee.registers as usize;
                        if n == callee.nparams as usize
                            && !callee.variadic
                            && cur + 1 < MAX_FRAMES
                            && ctop <= STACK_SLOTS
                        {
                            // The fast path: the compiler placed the arguments
                            // in parameter order (`CallSpread` takes spreads).
                            if self.stack.len() < ctop {
                                self.stack.resize(ctop, Value::Null);
                            }
                            for i in 0..n {
                                move_into(sp.add(nb + i), sp.add(argbase + i));
                            }
                            let ret = base!() + ret_reg(ins);
                            self.frames.push(Frame {
                                cell: ins.b,
                                pc: 0,
                                base: nb,
                                top: ctop,
                                ret,
                                defers: 0,
                                records: 0,
                                masks: 0,
                                clause: false,
                                marked: false,
                                record: 0,
                            });
                            // Switch to the callee without reading it back.
                            code = callee.code.as_ptr();
                            consts = callee.consts.as_ptr();
                            ip = code;
                            regs = sp.add(nb);
                            continue;
                        } else {
                            let args: Vec<Value> = (0..n)
                                .map(|i| std::mem::take(&mut *sp.add(argbase + i)))
                                .collect();
                            tryv!(self.enter_with(
                                ins.b,
                                nb,
                                args.into_iter(),
                                &[],
                                base!() + ret_reg(ins),
                                false,
                                0,
                                true
                            ));
                        }
                        reload!();
                    }
                    Op::CallBuiltin => {
                        if ins.b as usize == crate::builtins::id::GET_OR && ins.c == 3 {
                            // `get_or(map, key, default)` looked up in place.
                            let args = regs.add(ins.a as usize + 1);
                            if let Value::Map(m) = &*args {
                                let (k, dflt) = (&*args.add(1), &*args.add(2));
                                if !matches!(k, Value::Spread(_))
                                    && !matches!(dflt, Value::Spread(_))
                                {
                                    let v = fast_clone(m.get(k).unwrap_or(dflt));
                                    // The arguments go, as a call would take
                                    // them: the map's register holds a second
                                    // reference that would make the next
                                    // write to the map copy it. (Scalars may
                                    // stay: nothing to release, and the next
                                    // write of the same type is cheaper.)
                                    for i in 0..3 {
                                        if !is_scalar(&*args.add(i)) {
                                            *args.add(i) = Value::Null;
                                        }
                                    }
                                    put_scalar_or_drop(regs.add(ret_reg(ins)), v);
                                    if ins.d != 0 {
                                        ip = ip.add(1);
                                    }
                                    continue;
                                }
                            }
                        }
                        save!();
                        let argbase = base!() + ins.a as usize + 1;
                        let n = ins.c as usize;
                        let mut args = crate::builtins::Args::with_capacity(n);
                        if (0..n).all(|i| !matches!(*sp.add(argbase + i), Value::Spread(_))) {
                            // Each argument moves into the buffer field by
                            // field: building a `Value` and pushing it would
                            // copy it as 16 bytes just after writing it in
                            // parts, a load the CPU cannot forward.
                            let p = args.as_mut_ptr();
                            for i in 0..n {
                                std::ptr::write(p.add(i), Value::Null);
                                move_into(p.add(i), sp.add(argbase + i));
                            }
                            args.set_len(n);
                        } else {
                            for i in 0..n {
                                match std::mem::take(&mut *sp.add(argbase + i)) {
                                    Value::Spread(inner) => match &*inner {
                                        Value::List(xs) | Value::Tuple(xs) => {
                                            args.extend(xs.iter().cloned())
                                        }
                                        other => args.push(other.clone()),
                                    },
                                    v => args.push(v),
                                }
                            }
                        }
                        let v = tryv!(crate::builtins::call(self, ins.b as usize, args));
                        self.stack[base!() + ret_reg(ins)] = v;
                        if ins.d != 0 {
                            ip = ip.add(1);
                        }
                        // A builtin that called back may have grown the stack;
                        // frames are unchanged.
                    }
                    Op::Return | Op::Resume => {
                        let cur = self.frames.len() - 1;
                        let f = self.frames.get_unchecked(cur);
                        if !f.clause
                            && cur > stop
                            && (!f.marked || {
                                cold();
                                self.defers.len() == f.defers as usize
                                    && self.records.len() == f.records as usize
                                    && self.masks.len() == f.masks as usize
                            })
                        {
                            // The common case: nothing registered by this
                            // frame, and a caller in this run (`cur > stop`).
                            let ret = f.ret;
                            self.frames.pop();
                            let caller = self.frames.get_unchecked(cur - 1);
                            let c = prog.cells.get_unchecked(caller.cell as usize);
                            code = c.code.as_ptr();
                            consts = c.consts.as_ptr();
                            ip = code.add(caller.pc as usize);
                            let src = regs.add(ins.a as usize);
                            regs = sp.add(caller.base);
                            move_into(sp.add(ret), src);
                            continue;
                        }
                        let v = std::mem::take(&mut reg!(ins.a));
                        save!();
                        if let Some(v) = tryv!(self.leave_frame(v, stop)) {
                            return Ok(v);
                        }
                        reload!();
                    }
                    Op::GetField => {
                        // Fast path: a field of a record (copied field by
                        // field; read in full before the register changes).
                        if let Value::Record(r) = &*regs.add(ins.b as usize) {
                            if let Some(ids) = prog.record_field_ids.get(r.ty.id as usize) {
                                if let Some(i) = ids.iter().position(|f| *f == ins.c) {
                                    copy_into(regs.add(ins.a as usize), &r.fields[i]);
                                    continue;
                                }
                            }
                        }
                        let v = tryv!(self.get_field(&reg!(ins.b), ins.c));
                        set!(ins.a, v);
                    }
                    Op::MakeRecord
                        if !prog
                            .constrained
                            .get(ins.b as usize)
                            .copied()
                            .unwrap_or(true) =>
                    {
                        // Fast path: a record without `where` conditions
                        // whose fields are all given (no defaults to run).
                        if let Some(Some(rt)) = prog.records.get(ins.b as usize) {
                            let src = regs.add(ins.c as usize);
                            let n = rt.fields.len();
                            if (0..n).all(|i| !matches!(*src.add(i), Value::Absent)) {
                                let mut fields = crate::value::Fields::with_capacity(n);
                                for i in 0..n {
                                    fields.push(fast_clone(&*src.add(i)));
                                }
                                let v = Value::Record(Rc::new(Record {
                                    ty: rt.clone(),
                                    fields,
                                }));
                                set!(ins.a, v);
                                continue;
                            }
                        }
                        save!();
                        match self.exec_cold(*ins, stop) {
                            Ok(Cold::Next) => reload!(),
                            Ok(Cold::Done(v)) => return Ok(v),
                            Err(e) => return Err(e),
                        }
                    }
                    Op::GetIndex => {
                        // Fast path: a list at an in-range Int.
                        match (&reg!(ins.b), &reg!(ins.c)) {
                            (Value::List(xs), Value::Int(i)) if (*i as u64) < xs.len() as u64 => {
                                copy_into(regs.add(ins.a as usize), xs.get_unchecked(*i as usize))
                            }
                            (x, i) => {
                                let v = tryv!(get_index(x, i));
                                set!(ins.a, v);
                            }
                        }
                    }
                    Op::SetIndexK => {
                        // `xs[i] = k` (see `Op::SetIndexK`).
                        if let (Value::List(xs), Value::Int(k)) =
                            (&mut *regs.add(ins.a as usize), &*regs.add(ins.b as usize))
                        {
                            if let Some(slot) = Rc::get_mut(xs).and_then(|v| v.get_mut(*k as usize))
                            {
                                if ins.x == 0 {
                                    put_bool(slot, ins.d != 0);
                                } else {
                                    copy_into(slot, konst!(ins.d));
                                }
                                ip = ip.add(1);
                                continue;
                            }
                        }
                        // The long way: the value into its register, then
                        // the `SetIndex`.
                        let r = regs.add(ins.c as usize);
                        if ins.x == 0 {
                            put_bool(r, ins.d != 0);
                        } else {
                            copy_into(r, konst!(ins.d));
                        }
                    }
                    Op::IndexJump => {
                        // `if xs[i]`: a Bool item branches here.
                        if let (Value::List(xs), Value::Int(i)) = (&reg!(ins.a), &reg!(ins.b)) {
                            if let Some(Value::Bool(b)) = xs.get(*i as usize) {
                                ip = if *b {
                                    ip.add(1)
                                } else {
                                    code.add(ins.c as usize)
                                };
                                continue;
                            }
                        }
                        // The long way: the `GetIndex`, then the `JumpIfFalse`.
                        let v = tryv!(get_index(&reg!(ins.a), &reg!(ins.b)));
                        set!(ins.d, v);
                    }
                    Op::SetIndex => set_index!(ins),
                    Op::Push if ins.c == 0 && ins.a != ins.b => push_one!(ins),
                    Op::StoreK => {
                        // A constant load fused with the `SetIndex` or `Push`
                        // after it that stores the loaded register.
                        let next: &crate::program::Ins = &*ip;
                        ip = ip.add(1);
                        if ins.x & crate::program::DEAD_K != 0 && next.op == Op::Push {
                            // Nothing else reads the register: the constant
                            // goes straight onto an unshared list (a
                            // `SetIndex` of such a constant is `SetIndexK`).
                            if let Value::List(xs) = &mut *regs.add(next.a as usize) {
                                if let Some(xs) = Rc::get_mut(xs) {
                                    push_fast(
                                        xs,
                                        if ins.x & 1 == 0 {
                                            Value::Bool(ins.d != 0)
                                        } else {
                                            fast_clone(konst!(ins.d))
                                        },
                                    );
                                    continue;
                                }
                            }
                        }
                        let r = regs.add(ins.c as usize);
                        if ins.x & 1 == 0 {
                            put_bool(r, ins.d != 0);
                        } else {
                            copy_into(r, konst!(ins.d));
                        }
                        if next.op == Op::SetIndex {
                            set_index!(next);
                        } else {
                            push_one!(next);
                        }
                    }
                    Op::IterNext => iter_next!(ins, ip),
                    Op::LoadCell
                    | Op::LoadBuiltin
                    | Op::CallValue
                    | Op::CallMethod
                    | Op::CallTool
                    | Op::Perform
                    | Op::HandlePush
                    | Op::HandlePushNamed
                    | Op::HandlePop
                    | Op::HandleEnter
                    | Op::HandleAbort
                    | Op::DeferPush
                    | Op::DeferRun
                    | Op::Compose
                    | Op::Neg
                    | Op::Not
                    | Op::BitNot
                    | Op::MakeList
                    | Op::MakeSet
                    | Op::MakeTuple
                    | Op::MakeMap
                    | Op::Insert
                    | Op::MakeRecord
                    | Op::MakeObject
                    | Op::MakeVariant
                    | Op::SetField
                    | Op::IterInit
                    | Op::IterRange
                    | Op::IterRangeIncl
                    | Op::TestVariant
                    | Op::GetPayload
                    | Op::TestType
                    | Op::Convert
                    | Op::ExpectSchema
                    | Op::Len
                    | Op::SliceFrom
                    | Op::IndexFromEnd
                    | Op::SliceMid
                    | Op::Format
                    | Op::Join
                    | Op::Closure
                    | Op::Try
                    | Op::NotNull
                    | Op::Await
                    | Op::TraceRef
                    | Op::Halt
                    | Op::Emit
                    | Op::MatchFail
                    | Op::CheckRecord
                    | Op::Raise
                    | Op::SpreadArg
                    | Op::CallSpread
                    | Op::ForPrep
                    | Op::Nop
                    | Op::Push => {
                        save!();
                        match self.exec_cold(*ins, stop) {
                            Ok(Cold::Next) => reload!(),
                            Ok(Cold::Done(v)) => return Ok(v),
                            Err(e) => return Err(e),
                        }
                    }
                }
            }
        }
    }
}
