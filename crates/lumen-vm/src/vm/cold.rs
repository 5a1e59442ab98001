//! The cold half of the dispatch loop (see `exec.rs`): instructions that
//! are rare or heavy run here, out of line, so that the hot loop stays
//! small; a fused instruction's slow road comes here too.

use super::*;

impl<'h> Vm<'h> {
    /// The instructions the hot loop of `exec` leaves out of line (rare or
    /// heavy ones), so that loop keeps its few live values in machine
    /// registers. Runs one instruction of the top frame, whose `pc` was
    /// saved (pointing past it); `exec` reloads the top frame afterwards.
    ///
    /// Long for the same reason as `exec`: one arm per instruction it runs.
    #[inline(never)]
    pub(super) fn exec_cold(&mut self, ins: crate::program::Ins, stop: usize) -> VmResult<Cold> {
        let prog = self.prog.clone();
        let sp: *mut Value = self.stack.as_mut_ptr();
        let frame0 = self.frames[self.frames.len() - 1];
        let cell0 = &prog.cells[frame0.cell as usize];
        let code: *const crate::program::Ins = cell0.code.as_ptr();
        let consts: *const Value = cell0.consts.as_ptr();
        let mut pc = frame0.pc as usize;
        // SAFETY: as in `exec`.
        let regs: *mut Value = unsafe { sp.add(frame0.base) };
        macro_rules! fi {
            () => {
                (self.frames.len() - 1)
            };
        }
        macro_rules! base {
            () => {
                (regs.offset_from(sp) as usize)
            };
        }
        macro_rules! top {
            () => {
                self.frames[self.frames.len() - 1].top
            };
        }
        macro_rules! cur {
            () => {
                self.frames[self.frames.len() - 1].cell
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
        macro_rules! set {
            ($r:expr, $v:expr) => {{
                let v = $v;
                *regs.add($r as usize) = v;
            }};
        }
        macro_rules! save {
            () => {
                let last = self.frames.len() - 1;
                self.frames[last].pc = pc as u32;
            };
        }
        // The top frame changed (a call or a handler): `exec` picks it up.
        macro_rules! reload {
            () => {
                return Ok(Cold::Next)
            };
        }
        macro_rules! next {
            () => {{
                save!();
                return Ok(Cold::Next);
            }};
        }
        macro_rules! step {
            () => {
                self.budget -= 1;
                if self.budget & 0x3ff == 0 {
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
        #[allow(unused_unsafe)]
        unsafe {
            match ins.op {
                Op::Compose => {
                    let f = Func::Compose(reg!(ins.b).clone(), reg!(ins.c).clone());
                    set!(ins.a, Value::Func(Rc::new(f)));
                }
                Op::Neg => {
                    let v = tryv!(ops::neg(&reg!(ins.b)));
                    set!(ins.a, v);
                }
                Op::Not => {
                    let v = match &reg!(ins.b) {
                        Value::Bool(b) => Value::Bool(!b),
                        other => tryv!(fail(
                            ErrorKind::TypeError,
                            format!("`not` takes a Bool, not {}", other.type_name())
                        )),
                    };
                    set!(ins.a, v);
                }
                Op::BitNot => {
                    let v = match &reg!(ins.b) {
                        Value::Int(i) => Value::Int(!i),
                        other => tryv!(fail(
                            ErrorKind::TypeError,
                            format!("`~` takes an Int, not {}", other.type_name())
                        )),
                    };
                    set!(ins.a, v);
                }
                Op::CallSpread => {
                    save!();
                    let argbase = base!() + ins.a as usize + 1;
                    let args: Vec<Value> = (0..ins.c as usize)
                        .map(|i| std::mem::take(&mut *sp.add(argbase + i)))
                        .collect();
                    let nb = top!();
                    tryv!(self.enter(
                        ins.b,
                        nb,
                        args.into_iter(),
                        &[],
                        base!() + ins.a as usize,
                        false,
                        0
                    ));
                    reload!();
                }
                Op::CallValue | Op::CallMethod => {
                    save!();
                    step!();
                    let argbase = base!() + ins.a as usize + 1;
                    let args: Vec<Value> = (0..ins.c as usize)
                        .map(|i| std::mem::take(&mut self.stack[argbase + i]))
                        .collect();
                    let ret = base!() + ins.a as usize;
                    let target = if ins.op == Op::CallValue {
                        Target::Value(reg!(ins.a).clone())
                    } else {
                        tryv!(self.method_target(ins.b, &args))
                    };
                    let (f, args) = match target {
                        Target::Value(f) => (f, args),
                        Target::Field(f) => (f, args.into_iter().skip(1).collect()),
                        Target::Cell(c) => {
                            let nb = top!();
                            tryv!(self.enter(c, nb, args.into_iter(), &[], ret, false, 0));
                            reload!();
                        }
                        Target::Native(name) => {
                            let v = tryv!(crate::process::method(self, &name, args));
                            self.stack[ret] = v;
                            next!();
                        }
                    };
                    match &f {
                        Value::Func(func) => match &**func {
                            Func::Closure {
                                cell: c, captures, ..
                            } => {
                                let nb = top!();
                                tryv!(self.enter(
                                    *c,
                                    nb,
                                    args.into_iter(),
                                    captures,
                                    ret,
                                    false,
                                    0
                                ));
                                reload!();
                            }
                            _ => {
                                let v = tryv!(self.call_value(&f, args));
                                self.stack[ret] = v;
                            }
                        },
                        other => tryv!(fail(
                            ErrorKind::TypeError,
                            format!("{} is not callable", other.type_name())
                        )),
                    }
                }
                Op::SpreadArg => {
                    let v = std::mem::take(&mut reg!(ins.a));
                    set!(ins.a, Value::Spread(Rc::new(v)));
                }
                Op::LoadCell => {
                    let c = &prog.cells[ins.b as usize];
                    reg!(ins.a) = Value::Func(Rc::new(Func::Closure {
                        cell: ins.b,
                        captures: Vec::new(),
                        name: (!c.lambda).then(|| c.name.clone()),
                    }));
                }
                Op::LoadBuiltin => {
                    set!(ins.a, Value::Func(Rc::new(Func::Builtin(ins.b as u16))))
                }
                Op::Closure => {
                    let n = prog.cells[ins.b as usize].captures as usize;
                    let caps = (0..n).map(|i| reg!(ins.c as usize + i).clone()).collect();
                    reg!(ins.a) = Value::Func(Rc::new(Func::Closure {
                        cell: ins.b,
                        captures: caps,
                        name: None,
                    }));
                }
                Op::CallTool => {
                    save!();
                    let v = tryv!(self.call_tool(ins.b as usize, &reg!(ins.c).clone(), cur!()));
                    set!(ins.a, v);
                }
                Op::Perform => {
                    save!();
                    let argbase = base!() + ins.a as usize + 1;
                    let args: Vec<Value> = (0..ins.c as usize)
                        .map(|i| std::mem::take(&mut self.stack[argbase + i]))
                        .collect();
                    let ret = base!() + ins.a as usize;
                    let opname = prog.names[ins.b as usize].clone();
                    self.host.event("effect", Some(&opname), None);
                    match self.find_handler(ins.b) {
                        Some(i) => {
                            let e = self.handlers[i].clone();
                            let rec = &self.records[e.record];
                            self.masks.push((rec.entries_start, self.handlers.len()));
                            let masks = self.masks.len() as u32 - 1;
                            if e.cell == NONE {
                                let hf = self.frames[e.frame];
                                for (k, v) in args.into_iter().enumerate() {
                                    self.stack[hf.base + e.params as usize + k] = v;
                                }
                                let t = top!();
                                self.frames.push(Frame {
                                    cell: hf.cell,
                                    pc: e.pc,
                                    base: hf.base,
                                    top: t,
                                    ret,
                                    defers: self.defers.len() as u32,
                                    records: self.records.len() as u32,
                                    masks,
                                    clause: true,
                                    marked: true,
                                    record: e.record as u32,
                                });
                            } else {
                                let nb = top!();
                                tryv!(self.enter(e.cell, nb, args.into_iter(), &[], ret, false, 0));
                                let last = self.frames.len() - 1;
                                self.frames[last].masks = masks;
                            }
                            reload!();
                        }
                        None => {
                            let v = tryv!(self.unhandled(ins.b, args, cur!()));
                            self.stack[ret] = v;
                        }
                    }
                }
                Op::HandlePush => {
                    self.handlers.push(Entry {
                        key: ins.a,
                        frame: fi!(),
                        pc: ins.b,
                        params: ins.c,
                        cell: NONE,
                        record: 0,
                    });
                    self.pending += 1;
                }
                Op::HandlePushNamed => {
                    for (key, c) in &prog.handlers[ins.a as usize] {
                        self.handlers.push(Entry {
                            key: *key,
                            frame: fi!(),
                            pc: 0,
                            params: 0,
                            cell: *c,
                            record: 0,
                        });
                        self.pending += 1;
                    }
                }
                Op::HandleEnter => {
                    self.mark_top();
                    let start = self.handlers.len() - self.pending;
                    self.pending = 0;
                    let id = self.records.len();
                    for e in &mut self.handlers[start..] {
                        e.record = id;
                    }
                    self.records.push(HandleRecord {
                        frame: fi!(),
                        result: ins.a,
                        cont: ins.b,
                        entries_start: start,
                        defers: self.defers.len(),
                    });
                }
                Op::HandlePop => {
                    if let Some(r) = self.records.pop() {
                        self.handlers.truncate(r.entries_start);
                    }
                }
                Op::HandleAbort => {
                    let v = std::mem::take(&mut reg!(ins.a));
                    save!();
                    let record = self.frames[fi!()].record as usize;
                    return Err(Unwind::Abort { record, value: v });
                }
                Op::DeferPush => {
                    let d = reg!(ins.a).clone();
                    self.mark_top();
                    self.defers.push((fi!(), d));
                }
                Op::DeferRun => {
                    save!();
                    for _ in 0..ins.a {
                        if let Some((_, d)) = self.defers.pop() {
                            tryv!(self.call_value(&d, Vec::new()));
                        }
                    }
                }
                Op::MakeList | Op::MakeSet | Op::MakeTuple => {
                    let items: Vec<Value> = (0..ins.c as usize)
                        .map(|i| reg!(ins.b as usize + i).clone())
                        .collect();
                    reg!(ins.a) = match ins.op {
                        Op::MakeList => Value::list(items),
                        Op::MakeTuple => Value::tuple(items),
                        _ => Value::Set(Rc::new(items.into_iter().collect())),
                    };
                }
                Op::MakeMap => {
                    let m = (0..ins.c as usize)
                        .map(|i| {
                            (
                                reg!(ins.b as usize + 2 * i).clone(),
                                reg!(ins.b as usize + 2 * i + 1).clone(),
                            )
                        })
                        .collect();
                    set!(ins.a, Value::Map(Rc::new(m)));
                }
                Op::Push => {
                    let v = reg!(ins.b).clone();
                    let spread = ins.c == 1;
                    tryv!(push(&mut reg!(ins.a), v, spread));
                }
                Op::Insert => {
                    let k = reg!(ins.b).clone();
                    let v = reg!(ins.b + 1).clone();
                    match &mut reg!(ins.a) {
                        Value::Map(m) => {
                            Rc::make_mut(m).insert(k, v);
                        }
                        other => {
                            let t = other.type_name();
                            tryv!(fail(
                                ErrorKind::TypeError,
                                format!("cannot insert into {t}")
                            ))
                        }
                    }
                }
                Op::MakeRecord => {
                    save!();
                    let ti = ins.b as usize;
                    let n = prog.records[ti]
                        .as_ref()
                        .map(|r| r.fields.len())
                        .unwrap_or(0);
                    let fields: Vec<Value> =
                        (0..n).map(|i| reg!(ins.c as usize + i).clone()).collect();
                    let v = tryv!(self.make_record(ti, fields));
                    set!(ins.a, v);
                }
                Op::MakeObject => {
                    let p = &prog.module.processes[ins.b as usize];
                    reg!(ins.a) = Value::Object(Rc::new(Object {
                        type_name: p.name.clone(),
                        kind: p.kind.clone(),
                        process: ins.b,
                        state: std::cell::RefCell::new(ObjectState::default()),
                    }));
                }
                Op::MakeVariant => {
                    let (ty, tag) = prog.variants[ins.b as usize].clone();
                    let arity = ty.variants[tag as usize].1;
                    let payload = if ins.c == NONE {
                        Vec::new()
                    } else {
                        (0..arity)
                            .map(|i| reg!(ins.c as usize + i).clone())
                            .collect()
                    };
                    set!(ins.a, Value::Variant(Rc::new(Variant { ty, tag, payload })));
                }
                Op::SetField => {
                    save!();
                    let v = reg!(ins.c).clone();
                    let mut target = std::mem::take(&mut reg!(ins.a));
                    let r = self.set_field(&mut target, ins.b, v);
                    set!(ins.a, target);
                    tryv!(r);
                }
                Op::IterInit => {
                    let it = tryv!(iter_of(&reg!(ins.b)));
                    set!(ins.a, Value::Iter(Rc::new(std::cell::RefCell::new(it))));
                }
                Op::ForPrep => {
                    let (Value::Int(lo), Value::Int(hi)) = (&reg!(ins.b), &reg!(ins.c)) else {
                        let (x, y) = (reg!(ins.b).clone(), reg!(ins.c).clone());
                        tryv!(binary_slow(Op::Range, &x, &y));
                        tryv!(fail(
                            ErrorKind::TypeError,
                            format!("cannot iterate over a range of {}", x.type_name())
                        ))
                    };
                    // The counter runs up to `last` inclusive; an empty
                    // range leaves no counter.
                    let first = match (ins.x == 1).then_some(*hi).or(hi.checked_sub(1)) {
                        Some(last) => {
                            set!(ins.a + 1, Value::Int(last));
                            Value::Int(*lo)
                        }
                        None => Value::Null,
                    };
                    set!(ins.a, first);
                }
                Op::IterRange | Op::IterRangeIncl => {
                    let (Value::Int(lo), Value::Int(hi)) = (&reg!(ins.b), &reg!(ins.c)) else {
                        let (x, y) = (reg!(ins.b).clone(), reg!(ins.c).clone());
                        tryv!(binary_slow(Op::Range, &x, &y));
                        tryv!(fail(
                            ErrorKind::TypeError,
                            format!("cannot iterate over a range of {}", x.type_name())
                        ))
                    };
                    let (last, done) = if ins.op == Op::IterRangeIncl {
                        (*hi, false)
                    } else {
                        (hi.wrapping_sub(1), *hi == i64::MIN)
                    };
                    let it = Iter::Range {
                        next: *lo,
                        last,
                        done,
                    };
                    set!(ins.a, Value::Iter(Rc::new(std::cell::RefCell::new(it))));
                }
                Op::TestVariant => {
                    let b = match &reg!(ins.b) {
                        Value::Variant(v) if ins.c != NONE => {
                            let (ty, tag) = &prog.variants[ins.c as usize];
                            Rc::ptr_eq(&v.ty, ty) && v.tag == *tag
                        }
                        _ => false,
                    };
                    set!(ins.a, Value::Bool(b));
                }
                Op::GetPayload => {
                    let v = match &reg!(ins.b) {
                        Value::Variant(v) => v.payload.get(ins.c as usize).cloned(),
                        _ => None,
                    };
                    set!(ins.a, v.unwrap_or(Value::Null));
                }
                Op::TestType => {
                    let b = test_type(&prog, &prog.type_tests[ins.c as usize], &reg!(ins.b));
                    set!(ins.a, Value::Bool(b));
                }
                Op::Convert => {
                    let v = tryv!(convert(
                        &prog,
                        &prog.type_tests[ins.c as usize],
                        &reg!(ins.b)
                    ));
                    set!(ins.a, v);
                }
                Op::ExpectSchema => {
                    save!();
                    let t = prog.type_tests[ins.c as usize].clone();
                    let x = reg!(ins.b).clone();
                    let v = tryv!(self.expect_schema(&t, &x));
                    set!(ins.a, v);
                }
                Op::Len => {
                    let v = tryv!(crate::builtins::length(&reg!(ins.b)));
                    set!(ins.a, Value::Int(v));
                }
                Op::SliceFrom | Op::SliceMid => {
                    let drop_end = if ins.op == Op::SliceMid {
                        // The `Nop` after `SliceMid` holds `d`.
                        let d = (*code.add(pc)).a as usize;
                        pc += 1;
                        d
                    } else {
                        0
                    };
                    let v = match &reg!(ins.b) {
                        Value::List(xs) | Value::Tuple(xs) => {
                            let from = (ins.c as usize).min(xs.len());
                            let to = xs.len().saturating_sub(drop_end).max(from);
                            Value::list(xs[from..to].to_vec())
                        }
                        other => tryv!(fail(
                            ErrorKind::TypeError,
                            format!("cannot slice {}", other.type_name())
                        )),
                    };
                    set!(ins.a, v);
                }
                Op::IndexFromEnd => {
                    let v = match &reg!(ins.b) {
                        Value::List(xs) | Value::Tuple(xs) if xs.len() >= ins.c as usize => {
                            xs[xs.len() - ins.c as usize].clone()
                        }
                        _ => tryv!(fail(ErrorKind::IndexOutOfBounds, "index out of bounds")),
                    };
                    set!(ins.a, v);
                }
                Op::Format => {
                    let s = if ins.c == NONE {
                        reg!(ins.b).display()
                    } else {
                        tryv!(format::format(&reg!(ins.b), &prog.specs[ins.c as usize]))
                    };
                    set!(ins.a, Value::str(s));
                }
                Op::Join => {
                    let mut s = String::new();
                    for i in 0..ins.c as usize {
                        reg!(ins.b as usize + i).write_display(&mut s);
                    }
                    set!(ins.a, Value::str(s));
                }
                Op::Try => {
                    let x = reg!(ins.b).clone();
                    let early = match &x {
                        Value::Variant(v) if v.ty.id == crate::value::RESULT_TYPE => {
                            if v.tag == 0 {
                                set!(ins.a, v.payload[0].clone());
                                None
                            } else {
                                Some(x.clone())
                            }
                        }
                        Value::Null | Value::Absent => Some(Value::Null),
                        _ => {
                            set!(ins.a, x.clone());
                            None
                        }
                    };
                    if let Some(v) = early {
                        // Return it from this cell (defers run).
                        save!();
                        if let Some(v) = tryv!(self.leave_frame(v, stop)) {
                            return Ok(Cold::Done(v));
                        }
                        reload!();
                    }
                }
                Op::NotNull => {
                    if reg!(ins.b).is_null() {
                        tryv!(fail(ErrorKind::NullValue, "`!` on a null value"));
                    }
                    let v = reg!(ins.b).clone();
                    set!(ins.a, v);
                }
                Op::Await => {
                    let v = await_value(&reg!(ins.b));
                    set!(ins.a, v);
                }
                Op::TraceRef => {
                    let (run, seq) = self.host.trace_ref();
                    set!(ins.a, Value::TraceRef(Rc::new((run, seq))));
                }
                Op::Halt => {
                    let m = reg!(ins.a).display();
                    tryv!(fail(ErrorKind::Halt, m));
                }
                Op::Emit => {
                    let mut s = reg!(ins.a).display();
                    s.push('\n');
                    self.host.out(&s);
                    self.host
                        .event("emit", None, Some(s.trim_end_matches('\n')));
                }
                Op::MatchFail => {
                    let m = format!("no pattern matches {}", reg!(ins.a).nested());
                    tryv!(fail(ErrorKind::MatchFailed, m));
                }
                Op::CheckRecord => {
                    save!();
                    let v = reg!(ins.a).clone();
                    tryv!(self.check_constraints(&v));
                }
                Op::Raise => {
                    let kind = konst!(ins.a).display();
                    let msg = konst!(ins.b).display();
                    let k = ErrorKind::from_keyword(&kind).unwrap_or(ErrorKind::TypeError);
                    tryv!(fail(k, msg));
                }
                Op::Nop => {}
                // The hot loop runs these itself and never sends them here;
                // reaching this arm would be a bug, reported instead of
                // panicking. Listed by name so that a new instruction must
                // be placed in one half or the other.
                op @ (Op::LoadConst
                | Op::LoadNull
                | Op::LoadBool
                | Op::Move
                | Op::LoadAbsent
                | Op::JumpIfPresent
                | Op::Call
                | Op::CallBuiltin
                | Op::Resume
                | Op::Add
                | Op::Sub
                | Op::Mul
                | Op::Div
                | Op::IntDiv
                | Op::Mod
                | Op::Pow
                | Op::Concat
                | Op::BitAnd
                | Op::BitOr
                | Op::BitXor
                | Op::Shl
                | Op::Shr
                | Op::Eq
                | Op::Ne
                | Op::Lt
                | Op::Le
                | Op::Gt
                | Op::Ge
                | Op::Cmp
                | Op::In
                | Op::Range
                | Op::RangeIncl
                | Op::Jump
                | Op::JumpIfFalse
                | Op::JumpIfTrue
                | Op::JumpIfNull
                | Op::JumpIfNotNull
                | Op::GetField
                | Op::GetIndex
                | Op::SetIndex
                | Op::IterNext
                | Op::Return
                | Op::CmpJump
                | Op::BinK
                | Op::CmpKJump
                | Op::JumpLoop
                | Op::LoopFor
                | Op::LoopCmp
                | Op::ForNext
                | Op::StoreK
                | Op::AddLoop
                | Op::AddKLoop
                | Op::AddK
                | Op::SubK
                | Op::MulK
                | Op::ModK
                | Op::AddI
                | Op::SubI
                | Op::MulI
                | Op::ModI
                | Op::AddILoop
                | Op::SetIndexK
                | Op::IndexJump
                | Op::AddCmpLoop
                | Op::AddICmpLoop
                | Op::CmpIJump) => tryv!(fail(
                    ErrorKind::TypeError,
                    format!("internal error: no out-of-line handler for {op:?}")
                )),
            }
        }
        next!()
    }
}
