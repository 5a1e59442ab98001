//! The interpreter (§17.2): a register machine in the style of Lua 5.4.
//!
//! Every call frame owns a window of the register stack, above the window
//! of the frame below it; arguments are moved into the callee's first
//! registers and closures' captures follow them. Lumen-to-Lumen calls do
//! not recurse on the native stack: `exec` switches frames in one loop.
//! Builtins that call back (`map`, `sort_by`, defers) run a nested loop
//! that stops when its own first frame returns.
//!
//! Effects (§9.3): `handle` pushes one entry per clause and a record with
//! the place to continue after an abort. `perform` searches the entries
//! innermost first (skipping those masked while their own clause runs) and
//! pushes a *clause frame* that executes the clause's code in the handle
//! frame's registers; `resume` returns from it into the performer, and a
//! clause that ends without resuming raises `Unwind::Abort`, which the
//! loop owning the handle frame catches after the frames in between were
//! discarded and their defers run.

use std::rc::Rc;

use crate::error::{fail, ErrorKind, RuntimeError, TraceFrame, Unwind, VmResult};
use crate::program::{Op, Program, TypeTest, NONE};
use crate::value::{result_is_ok, Func, Iter, Object, ObjectState, Record, Value, Variant};
use crate::{format, ops};

/// What the VM needs from the world: output, tools and trace events.
pub trait Host {
    /// Program output (`print`, `emit`).
    fn out(&mut self, text: &str);
    /// Diagnostic output (`debug`).
    fn err(&mut self, text: &str);
    /// Validates the policy, dispatches the tool and records its
    /// `tool_call` event (§10.3, §10.4).
    fn tool(&mut self, call: ToolCall) -> Result<serde_json::Value, RuntimeError>;
    /// A trace event (§15); `emit` and `effect` events come through here.
    fn event(&mut self, kind: &str, cell: Option<&str>, message: Option<&str>);
    /// `trace_ref()`: the run id and the current sequence number.
    fn trace_ref(&mut self) -> (String, u64);
}

/// One tool dispatch, for the host.
pub struct ToolCall<'a> {
    pub alias: &'a str,
    pub id: &'a str,
    pub version: Option<&'a str>,
    pub args: serde_json::Value,
    /// The merged grant policy (§10.2).
    pub policy: serde_json::Map<String, serde_json::Value>,
}

/// A host that prints to the process's stdout/stderr and has no tools but
/// the built-in providers' absence (for tests and embedding).
#[derive(Default)]
pub struct BufferHost {
    pub out: String,
    pub err: String,
}

impl Host for BufferHost {
    fn out(&mut self, text: &str) {
        self.out.push_str(text);
    }
    fn err(&mut self, text: &str) {
        self.err.push_str(text);
    }
    fn tool(&mut self, call: ToolCall) -> Result<serde_json::Value, RuntimeError> {
        Err(RuntimeError::new(
            ErrorKind::ToolError,
            format!("no provider for tool '{}'", call.id),
        ))
    }
    fn event(&mut self, _: &str, _: Option<&str>, _: Option<&str>) {}
    fn trace_ref(&mut self) -> (String, u64) {
        ("local".into(), 0)
    }
}

/// What an out-of-line instruction left to do.
enum Cold {
    /// Carry on with the (possibly new) top frame.
    Next,
    /// The frame `exec` was asked to run returned this.
    Done(Value),
}

/// Call depth limit (§18: at least 10,000 must work).
pub const MAX_FRAMES: usize = 200_000;

/// Register slots of the whole stack. Reserved once, so the stack never
/// moves and the interpreter can keep a raw pointer to it; exceeding it is
/// a `stack overflow` (the memory is only touched as far as it is used).
pub const STACK_SLOTS: usize = 4 << 20;

#[derive(Debug, Clone, Copy)]
struct Frame {
    cell: u32,
    pc: u32,
    base: usize,
    /// End of the registers in use while this frame runs: the next
    /// frame's window starts here.
    top: usize,
    /// Where the result goes (absolute register), or `usize::MAX`.
    ret: usize,
    /// Lengths of the defer, handle-record and mask stacks when the frame
    /// started; valid only once `marked` (see `Vm::marks`).
    defers: u32,
    records: u32,
    masks: u32,
    /// A clause frame: runs a handler clause for handle record `record`.
    clause: bool,
    /// The three lengths above were recorded. A frame entered by the
    /// call fast path records them only when it first pushes a defer or
    /// a handle record; until then it has pushed nothing, so the current
    /// lengths are its own.
    marked: bool,
    record: u32,
}

#[derive(Debug, Clone)]
struct Entry {
    key: u32,
    /// Inline clause: its frame, code and parameter registers.
    frame: usize,
    pc: u32,
    params: u32,
    /// Named handler operation: the cell (`NONE` for inline clauses).
    cell: u32,
    record: usize,
}

#[derive(Debug, Clone)]
struct HandleRecord {
    frame: usize,
    result: u32,
    cont: u32,
    entries_start: usize,
    defers: usize,
}

pub struct Vm<'h> {
    pub prog: Rc<Program>,
    stack: Vec<Value>,
    frames: Vec<Frame>,
    handlers: Vec<Entry>,
    records: Vec<HandleRecord>,
    /// Ranges of handler entries hidden while a clause of theirs runs.
    masks: Vec<(usize, usize)>,
    /// Entries pushed by `HandlePush` waiting for their `HandleEnter`.
    pending: usize,
    defers: Vec<(usize, Value)>,
    pub host: &'h mut dyn Host,
    /// Steps left (§18: an instruction budget when asked): every call and
    /// every backward jump is one step.
    budget: u64,
    budget_total: u64,
    /// Top-level cells by name (uniform call syntax at run time).
    top_cells: std::collections::HashMap<String, u32>,
}

impl<'h> Vm<'h> {
    pub fn new(prog: Rc<Program>, host: &'h mut dyn Host) -> Vm<'h> {
        let top_cells = prog
            .cells
            .iter()
            .enumerate()
            .filter(|(_, c)| !c.name.contains(['.', '$']))
            .map(|(i, c)| (c.name.to_string(), i as u32))
            .collect();
        Vm {
            prog,
            stack: {
                let v: Vec<Value> = Vec::with_capacity(STACK_SLOTS);
                crate::mem::reserve(v.capacity() * std::mem::size_of::<Value>());
                v
            },
            frames: Vec::with_capacity(64),
            handlers: Vec::new(),
            records: Vec::new(),
            masks: Vec::new(),
            pending: 0,
            defers: Vec::new(),
            host,
            budget: u64::MAX,
            budget_total: u64::MAX,
            top_cells,
        }
    }

    /// Limits the run to `steps` calls and backward jumps; past that the
    /// program stops with the runtime error `halt`.
    pub fn set_budget(&mut self, steps: u64) {
        self.budget = steps.max(1);
        self.budget_total = steps.max(1);
    }

    #[cold]
    fn budget_exhausted(&self) -> Unwind {
        RuntimeError::new(
            ErrorKind::Halt,
            format!(
                "the instruction budget of {} steps is exhausted",
                self.budget_total
            ),
        )
        .into()
    }

    #[cold]
    fn memory_exhausted(&self) -> Unwind {
        RuntimeError::new(
            ErrorKind::Halt,
            format!(
                "the memory limit of {} is exceeded ({} in use)",
                crate::mem::mib(crate::mem::limit()),
                crate::mem::mib(crate::mem::in_use())
            ),
        )
        .into()
    }

    pub fn cell_index(&self, name: &str) -> Option<usize> {
        self.prog.cells.iter().position(|c| &*c.name == name)
    }

    /// Calls cell `cell` with `args` and runs it to completion.
    pub fn call_cell(&mut self, cell: u32, args: Vec<Value>) -> VmResult<Value> {
        let f = Value::Func(Rc::new(Func::Closure {
            cell,
            captures: Vec::new(),
            name: None,
        }));
        self.call_value(&f, args)
    }

    fn top(&self) -> usize {
        self.frames.last().map(|f| f.top).unwrap_or(0)
    }

    /// Calls a function value from Rust (builtins, defers, processes).
    pub fn call_value(&mut self, f: &Value, args: Vec<Value>) -> VmResult<Value> {
        match f {
            Value::Func(func) => match &**func {
                Func::Closure { cell, captures, .. } => {
                    let stop = self.frames.len();
                    let base = self.top();
                    self.enter(
                        *cell,
                        base,
                        args.into_iter(),
                        captures,
                        usize::MAX,
                        false,
                        0,
                    )?;
                    stacker::maybe_grow(256 * 1024, 4 * 1024 * 1024, || self.run(stop))
                }
                Func::Builtin(b) => crate::builtins::call(self, *b as usize, args.into()),
                Func::Compose(g, h) => {
                    let mid = self.call_value(g, args)?;
                    self.call_value(h, vec![mid])
                }
            },
            other => fail(
                ErrorKind::TypeError,
                format!("{} is not callable", other.type_name()),
            ),
        }
    }

    /// Pushes a frame for `cell` at `base` with its arguments normalised
    /// (spreads expanded, absent defaults, variadics packed) and captures.
    #[allow(clippy::too_many_arguments)]
    fn enter(
        &mut self,
        cell: u32,
        base: usize,
        args: impl Iterator<Item = Value>,
        captures: &[Value],
        ret: usize,
        clause: bool,
        record: u32,
    ) -> VmResult<()> {
        self.enter_with(cell, base, args, captures, ret, clause, record, false)
    }

    /// `enter`; `placed`: the compiler already put the arguments in
    /// parameter order with variadics packed (`Call`).
    #[allow(clippy::too_many_arguments)]
    fn enter_with(
        &mut self,
        cell: u32,
        base: usize,
        args: impl Iterator<Item = Value>,
        captures: &[Value],
        ret: usize,
        clause: bool,
        record: u32,
        placed: bool,
    ) -> VmResult<()> {
        if self.frames.len() >= MAX_FRAMES {
            return fail(
                ErrorKind::StackOverflow,
                format!("more than {MAX_FRAMES} nested calls"),
            );
        }
        let prog = self.prog.clone();
        let c = &prog.cells[cell as usize];
        let np = c.nparams as usize;
        let top = base + c.registers as usize;
        if top > STACK_SLOTS {
            return fail(
                ErrorKind::StackOverflow,
                format!("the register stack is full ({STACK_SLOTS} slots)"),
            );
        }
        if self.stack.len() < top {
            self.stack.resize(top, Value::Null);
        }
        let mut given = Vec::with_capacity(np);
        for a in args {
            match a {
                Value::Spread(inner) => match &*inner {
                    Value::List(xs) | Value::Tuple(xs) => given.extend(xs.iter().cloned()),
                    other => given.push(other.clone()),
                },
                v => given.push(v),
            }
        }
        if c.variadic && !placed {
            let fixed = np - 1;
            let rest: Vec<Value> = if given.len() > fixed {
                given.split_off(fixed)
            } else {
                Vec::new()
            };
            while given.len() < fixed {
                given.push(Value::Absent);
            }
            given.push(Value::list(rest));
        } else if given.len() > np {
            return fail(
                ErrorKind::TypeError,
                format!("`{}` takes {np} argument(s), {} given", c.name, given.len()),
            );
        }
        let n = given.len();
        for (i, v) in given.into_iter().enumerate() {
            self.stack[base + i] = v;
        }
        for i in n..np {
            self.stack[base + i] = Value::Absent;
        }
        for (i, v) in captures.iter().enumerate() {
            self.stack[base + np + i] = v.clone();
        }
        self.frames.push(Frame {
            cell,
            pc: 0,
            base,
            top,
            ret,
            defers: self.defers.len() as u32,
            records: self.records.len() as u32,
            masks: self.masks.len() as u32,
            clause,
            marked: true,
            record,
        });
        Ok(())
    }

    /// Runs until the frame at index `stop` returns, handling aborts whose
    /// `handle` lives in this run and unwinding the rest.
    fn run(&mut self, stop: usize) -> VmResult<Value> {
        loop {
            match self.exec(stop) {
                Ok(v) => return Ok(v),
                Err(Unwind::Abort { record, value })
                    if record < self.records.len() && self.records[record].frame >= stop =>
                {
                    let rec = self.records[record].clone();
                    self.unwind_to(rec.frame + 1);
                    self.run_defers_to(rec.defers);
                    self.handlers.truncate(rec.entries_start);
                    self.records.truncate(record);
                    let (_, _, masks) = self.marks(&self.frames[rec.frame]);
                    let f = &mut self.frames[rec.frame];
                    f.pc = rec.cont;
                    let slot = f.base + rec.result as usize;
                    self.masks.truncate(
                        masks.max(
                            self.masks
                                .iter()
                                .position(|m| m.0 >= rec.entries_start)
                                .unwrap_or(self.masks.len()),
                        ),
                    );
                    self.stack[slot] = value;
                }
                Err(mut u) => {
                    if let Unwind::Error(e) = &mut u {
                        if e.trace.is_empty() {
                            e.trace = self.stack_trace();
                        }
                    }
                    self.unwind_to(stop);
                    return Err(u);
                }
            }
        }
    }

    /// Discards frames down to `len`, running their pending defers.
    fn unwind_to(&mut self, len: usize) {
        while self.frames.len() > len {
            let f = self.frames[self.frames.len() - 1];
            self.run_defers_to(self.marks(&f).0);
            self.frames.pop();
            self.drop_frame_state(&f);
        }
    }

    /// Leaves the running frame with its result `v`: its pending defers
    /// run (not a clause's: those belong to the handle's cell), its
    /// handlers and masks go, and the result lands in the caller's
    /// register. `Some(v)` when this was the frame `run(stop)` waits for.
    fn leave_frame(&mut self, v: Value, stop: usize) -> VmResult<Option<Value>> {
        let f = self.frames[self.frames.len() - 1];
        if !f.clause {
            let (defers, _, _) = self.marks(&f);
            while self.defers.len() > defers {
                let (_, d) = self.defers.pop().unwrap_or((0, Value::Null));
                self.call_value(&d, Vec::new())?;
            }
        }
        self.frames.pop();
        self.drop_frame_state(&f);
        if self.frames.len() <= stop {
            return Ok(Some(v));
        }
        if f.ret != usize::MAX {
            self.stack[f.ret] = v;
        }
        Ok(None)
    }

    fn drop_frame_state(&mut self, f: &Frame) {
        let (_, records, masks) = self.marks(f);
        if self.records.len() > records {
            let start = self.records[records].entries_start;
            self.handlers.truncate(start);
            self.records.truncate(records);
        }
        self.masks.truncate(masks);
    }

    /// A frame's defer, handle-record and mask stack lengths at its start.
    fn marks(&self, f: &Frame) -> (usize, usize, usize) {
        if f.marked {
            (f.defers as usize, f.records as usize, f.masks as usize)
        } else {
            (self.defers.len(), self.records.len(), self.masks.len())
        }
    }

    /// Records the running frame's lengths before it pushes its first
    /// defer or handle record.
    fn mark_top(&mut self) {
        let (d, r, m) = (self.defers.len(), self.records.len(), self.masks.len());
        if let Some(f) = self.frames.last_mut() {
            if !f.marked {
                (f.defers, f.records, f.masks) = (d as u32, r as u32, m as u32);
                f.marked = true;
            }
        }
    }

    /// Runs (and drops) the defers registered after `len`, newest first;
    /// errors in them are ignored while unwinding.
    fn run_defers_to(&mut self, len: usize) {
        while self.defers.len() > len {
            if let Some((_, d)) = self.defers.pop() {
                let _ = self.call_value(&d, Vec::new());
            }
        }
    }

    pub fn stack_trace(&self) -> Vec<TraceFrame> {
        self.frames
            .iter()
            .rev()
            .map(|f| {
                let c = &self.prog.cells[f.cell as usize];
                let pc = (f.pc as usize).min(c.lines.len().saturating_sub(1));
                TraceFrame {
                    cell: c.name.to_string(),
                    line: c.lines.get(pc).copied().unwrap_or(c.line),
                }
            })
            .collect()
    }

    /// Finds the innermost visible handler entry for operation `key`.
    fn find_handler(&self, key: u32) -> Option<usize> {
        let mut i = self.handlers.len();
        while i > 0 {
            i -= 1;
            if self.masks.iter().any(|(s, e)| i >= *s && i < *e) {
                continue;
            }
            if self.handlers[i].key == key {
                return Some(i);
            }
        }
        None
    }

    /// The dispatch loop.
    fn exec(&mut self, stop: usize) -> VmResult<Value> {
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

    /// The instructions the hot loop of `exec` leaves out of line (rare or
    /// heavy ones), so that loop keeps its few live values in machine
    /// registers. Runs one instruction of the top frame, whose `pc` was
    /// saved (pointing past it); `exec` reloads the top frame afterwards.
    #[inline(never)]
    fn exec_cold(&mut self, ins: crate::program::Ins, stop: usize) -> VmResult<Cold> {
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
                // The hot loop handles every other op; reaching here would
                // be a bug in this file, reported instead of panicking.
                op => tryv!(fail(
                    ErrorKind::TypeError,
                    format!("internal error: no out-of-line handler for {op:?}")
                )),
            }
        }
        next!()
    }

    /// What `CallMethod` calls (§4.5 order): a function-valued record
    /// field, a method of the receiver's type, a process method, then a
    /// top-level cell or builtin by uniform call syntax.
    fn method_target(&self, name: u32, args: &[Value]) -> VmResult<Target> {
        let prog = &self.prog;
        let mname = &prog.names[name as usize];
        let Some(recv) = args.first() else {
            return fail(
                ErrorKind::UndefinedCell,
                format!("no receiver for `{mname}`"),
            );
        };
        if let Value::Record(r) = recv {
            if let Some(i) = field_pos(prog, &r.ty, name) {
                if let f @ Value::Func(_) = &r.fields[i] {
                    return Ok(Target::Field(f.clone()));
                }
            }
        }
        let tname = runtime_type_key(recv);
        if let Some(c) = prog.methods.get(&(tname.clone(), name)) {
            return Ok(Target::Cell(*c));
        }
        if let Value::Object(_) = recv {
            return Ok(Target::Native(mname.clone()));
        }
        if let Some(c) = self.top_cells.get(mname) {
            return Ok(Target::Cell(*c));
        }
        if let Some(b) = lumen_compiler::builtins::index(mname) {
            return Ok(Target::Value(Value::Func(Rc::new(Func::Builtin(b as u16)))));
        }
        fail(
            ErrorKind::UndefinedCell,
            format!("no method `{mname}` for {}", recv.type_name()),
        )
    }

    fn unhandled(&mut self, key: u32, args: Vec<Value>, cell: u32) -> VmResult<Value> {
        let prog = self.prog.clone();
        let name = &prog.names[key as usize];
        if let Some(ti) = prog.effect_tools.get(&key) {
            let params = prog.effect_params.get(&key).cloned().unwrap_or_default();
            let m: std::collections::BTreeMap<Value, Value> = args
                .into_iter()
                .enumerate()
                .map(|(i, v)| {
                    let k = params.get(i).cloned().unwrap_or_else(|| format!("arg{i}"));
                    (Value::str(k), v)
                })
                .collect();
            return self.call_tool(*ti, &Value::Map(Rc::new(m)), cell);
        }
        fail(
            ErrorKind::UnhandledEffect,
            format!("unhandled effect {name}"),
        )
    }

    pub fn call_tool(&mut self, ti: usize, args: &Value, cell: u32) -> VmResult<Value> {
        let prog = self.prog.clone();
        let tool = &prog.module.tools[ti];
        let json_args = match crate::value::to_serde(args) {
            Ok(j) => j,
            Err(e) => return fail(ErrorKind::ToolError, format!("tool '{}': {e}", tool.alias)),
        };
        // Top-level grants, overridden key by key by the agent's (§10.2).
        let mut policy = prog
            .module
            .grants
            .get(&tool.alias)
            .cloned()
            .unwrap_or_default();
        let cname = &prog.cells[cell as usize].name;
        if let Some((owner, _)) = cname.split_once('.') {
            if let Some(g) = prog.module.grants.get(&format!("{owner}/{}", tool.alias)) {
                for (k, v) in g {
                    policy.insert(k.clone(), v.clone());
                }
            }
        }
        let out = self.host.tool(ToolCall {
            alias: &tool.alias,
            id: &tool.id,
            version: tool.version.as_deref(),
            args: json_args,
            policy,
        })?;
        Ok(crate::value::from_json(&out))
    }

    pub fn make_record(&mut self, ti: usize, mut fields: Vec<Value>) -> VmResult<Value> {
        let prog = self.prog.clone();
        let Some(rt) = prog.records[ti].clone() else {
            return fail(ErrorKind::TypeError, "not a record type");
        };
        for (i, f) in fields.iter_mut().enumerate() {
            if let Value::Absent = f {
                *f = match prog.field_cells[ti].get(i).and_then(|x| x.0) {
                    Some(c) => self.call_cell(c as u32, Vec::new())?,
                    None => Value::Null,
                };
            }
        }
        let v = Value::Record(Rc::new(Record {
            ty: rt,
            fields: fields.into(),
        }));
        self.check_constraints(&v)?;
        Ok(v)
    }

    /// The `where` conditions of a record, in declaration order.
    pub fn check_constraints(&mut self, v: &Value) -> VmResult<()> {
        let Value::Record(r) = v else {
            return Ok(());
        };
        let ti = r.ty.id as usize;
        if !self.prog.constrained.get(ti).copied().unwrap_or(false) {
            return Ok(());
        }
        let prog = self.prog.clone();
        for (i, (_, c)) in prog.field_cells[ti].iter().enumerate() {
            if let Some(c) = c {
                let ok = self.call_cell(*c as u32, vec![v.clone()])?;
                if !matches!(ok, Value::Bool(true)) {
                    return fail(
                        ErrorKind::ConstraintViolation,
                        format!(
                            "{}.{}: the `where` condition does not hold for {}",
                            r.ty.name,
                            r.ty.fields[i],
                            v.nested()
                        ),
                    );
                }
            }
        }
        Ok(())
    }

    fn get_field(&self, v: &Value, name: u32) -> VmResult<Value> {
        let prog = &self.prog;
        match v {
            Value::Record(r) => {
                if let Some(i) = field_pos(prog, &r.ty, name) {
                    return Ok(r.fields[i].clone());
                }
            }
            Value::Tuple(xs) => {
                if let Ok(i) = prog.names[name as usize].parse::<usize>() {
                    if let Some(x) = xs.get(i) {
                        return Ok(x.clone());
                    }
                    return fail(
                        ErrorKind::IndexOutOfBounds,
                        format!("tuple index {i} out of bounds (length {})", xs.len()),
                    );
                }
            }
            Value::Map(m) => {
                let key = Value::str(prog.names[name as usize].clone());
                return match m.get(&key) {
                    Some(x) => Ok(x.clone()),
                    None => fail(
                        ErrorKind::KeyNotFound,
                        format!("key {} not found", key.nested()),
                    ),
                };
            }
            Value::Null | Value::Absent => {
                return fail(
                    ErrorKind::NullValue,
                    format!("field `{}` of null", prog.names[name as usize]),
                )
            }
            _ => {}
        }
        fail(
            ErrorKind::TypeError,
            format!(
                "{} has no field `{}`",
                v.type_name(),
                prog.names[name as usize]
            ),
        )
    }

    fn set_field(&mut self, target: &mut Value, name: u32, v: Value) -> VmResult<()> {
        let prog = self.prog.clone();
        match target {
            Value::Record(r) => {
                let Some(i) = field_pos(&prog, &r.ty, name) else {
                    return fail(
                        ErrorKind::TypeError,
                        format!("{} has no field `{}`", r.ty.name, prog.names[name as usize]),
                    );
                };
                Rc::make_mut(r).fields[i] = v;
            }
            Value::Map(m) => {
                Rc::make_mut(m).insert(Value::str(prog.names[name as usize].clone()), v);
                return Ok(());
            }
            other => {
                return fail(
                    ErrorKind::TypeError,
                    format!("cannot set a field of {}", other.type_name()),
                )
            }
        }
        self.check_constraints(target)
    }

    fn expect_schema(&mut self, t: &TypeTest, x: &Value) -> VmResult<Value> {
        let prog = self.prog.clone();
        let TypeTest::Named(name) = t else {
            return Ok(x.clone());
        };
        let Some(&ti) = prog.type_index.get(name) else {
            return fail(ErrorKind::SchemaMismatch, format!("no record `{name}`"));
        };
        let (Some(rt), Value::Map(m)) = (prog.records[ti].clone(), x) else {
            if test_type(&prog, t, x) {
                return Ok(x.clone());
            }
            return fail(
                ErrorKind::SchemaMismatch,
                format!("expected an object for `{name}`, found {}", x.type_name()),
            );
        };
        let finfo = &prog.module.types[ti].fields;
        let mut fields = Vec::with_capacity(rt.fields.len());
        for f in finfo {
            match m.get(&Value::str(f.name.clone())) {
                Some(v) => {
                    if !test_type(&prog, &crate::program::parse_type_test(&f.ty), v) {
                        return fail(
                            ErrorKind::SchemaMismatch,
                            format!(
                                "field `{}` of `{name}` should be {}, found {}",
                                f.name,
                                f.ty,
                                v.type_name()
                            ),
                        );
                    }
                    fields.push(v.clone());
                }
                None if f.default.is_some() => fields.push(Value::Absent),
                None => {
                    return fail(
                        ErrorKind::SchemaMismatch,
                        format!("field `{}` of `{name}` is missing", f.name),
                    )
                }
            }
        }
        self.make_record(ti, fields)
    }
}

impl Vm<'_> {
    /// Ends the VM without releasing the values its registers still hold
    /// (a program's top-level locals), for a caller that exits the
    /// process right after: taking apart a large list item by item is
    /// work the operating system's reclaiming makes redundant.
    pub fn abandon(mut self) {
        let stack = std::mem::take(&mut self.stack);
        crate::mem::unreserve(stack.capacity() * std::mem::size_of::<Value>());
        std::mem::forget(stack);
    }
}

impl Drop for Vm<'_> {
    fn drop(&mut self) {
        crate::mem::unreserve(self.stack.capacity() * std::mem::size_of::<Value>());
    }
}

enum Target {
    /// A function value called with the arguments as they are.
    Value(Value),
    /// A function stored in a record field: called without the receiver.
    Field(Value),
    /// A cell (method or top-level cell by uniform call syntax).
    Cell(u32),
    /// A built-in method of a process instance (§11).
    Native(String),
}

/// Where a call's result goes: its base register, or the destination of
/// the `Move` fused into it.
#[inline(always)]
fn ret_reg(ins: &crate::program::Ins) -> usize {
    if ins.d == 0 {
        ins.a as usize
    } else {
        ins.d as usize - 1
    }
}

/// Values without drop glue.
#[inline(always)]
fn is_scalar(v: &Value) -> bool {
    matches!(
        v,
        Value::Null | Value::Absent | Value::Bool(_) | Value::Int(_) | Value::Float(_)
    )
}

/// Writes a value that has no drop glue, releasing the old one only if
/// it has some (a single pair of stores in the common case).
#[inline(always)]
unsafe fn put_scalar(slot: *mut Value, v: Value) {
    if is_scalar(&*slot) {
        std::ptr::write(slot, v);
    } else {
        *slot = v;
    }
}

/// Stores `v` in `slot`, dropping the old value only if it has drop glue.
#[inline(always)]
unsafe fn put_scalar_or_drop(slot: *mut Value, v: Value) {
    if is_scalar(&*slot) {
        std::ptr::write(slot, v);
    } else {
        *slot = v;
    }
}

/// Writes a whole scalar slot with one 16-byte store: the tag word and
/// the payload word (layout fixed by `Value`'s `repr(u8)`). A later read
/// of the slot, whole or in parts, is then served from that one store;
/// writing the tag and the payload separately and reading the slot as a
/// whole soon after stalls the CPU (the load cannot be forwarded).
#[inline(always)]
unsafe fn store16(slot: *mut Value, lo: u64, hi: u64) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{__m128i, _mm_set_epi64x, _mm_storeu_si128};
        _mm_storeu_si128(slot as *mut __m128i, _mm_set_epi64x(hi as i64, lo as i64));
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        std::ptr::write(slot as *mut [u64; 2], [lo, hi]);
    }
}

/// Writes an Int; a slot that already holds one only gets its payload.
#[inline(always)]
unsafe fn put_int(slot: *mut Value, n: i64) {
    match &mut *slot {
        Value::Int(x) => *x = n,
        _ => put_int_retag(slot, n),
    }
}

#[inline(always)]
unsafe fn put_bool(slot: *mut Value, b: bool) {
    match &mut *slot {
        Value::Bool(x) => *x = b,
        _ => put_bool_retag(slot, b),
    }
}

// The slow halves of `put_int` and `put_bool` (the slot held another
// type), out of line and marked cold so that the hot paths of the
// interpreter fall through instead of jumping around them.
#[cold]
#[inline(never)]
unsafe fn put_int_retag(slot: *mut Value, n: i64) {
    put_scalar(slot, Value::Int(n))
}

#[cold]
#[inline(never)]
unsafe fn put_bool_retag(slot: *mut Value, b: bool) {
    put_scalar(slot, Value::Bool(b))
}

/// `xs.push(v)` with the common case (room left) inline: `Vec::push`
/// is an out-of-line call.
#[inline(always)]
fn push_fast(xs: &mut Vec<Value>, v: Value) {
    let n = xs.len();
    if n < xs.capacity() {
        // SAFETY: `n` is within capacity, and the slot is past `len`, so
        // it holds no value to drop; `set_len` then covers exactly the
        // initialised items.
        unsafe {
            std::ptr::write(xs.as_mut_ptr().add(n), v);
            xs.set_len(n + 1);
        }
    } else {
        push_grow(xs, v);
    }
}

#[cold]
#[inline(never)]
fn push_grow(xs: &mut Vec<Value>, v: Value) {
    xs.push(v);
}

/// Marks the branch that calls it as unlikely (stable Rust has no
/// `likely`/`unlikely`; a call to a cold function has the same effect on
/// block layout).
#[cold]
#[inline(never)]
fn cold() {}

/// The general operator, for the operands the interpreter's fast paths do
/// not take (out of line, cold).
#[cold]
#[inline(never)]
fn binary_slow(op: Op, x: &Value, y: &Value) -> VmResult<Value> {
    ops::binary(op, x, y)
}

/// Moves the value at `src` to `dst` (leaving null behind), field by
/// field for scalars: no 16-byte load of a slot whose parts were just
/// stored separately, which the CPU could not forward.
#[inline(always)]
unsafe fn move_into(dst: *mut Value, src: *mut Value) {
    // Ints first, with a plain test (arguments and results mostly are):
    // a `match` over every case would dispatch through a jump table.
    if let Value::Int(n) = *src {
        put_int(dst, n);
    } else {
        move_into_other(dst, src);
    }
}

/// `move_into` of anything but an Int.
#[inline(never)]
unsafe fn move_into_other(dst: *mut Value, src: *mut Value) {
    match *src {
        Value::Bool(b) => put_bool(dst, b),
        Value::Float(f) => put_scalar(dst, Value::Float(f)),
        Value::Null => put_scalar(dst, Value::Null),
        _ => {
            let v = std::ptr::read(src);
            std::ptr::write(src, Value::Null);
            put_scalar_or_drop(dst, v);
        }
    }
}

/// `*slot = v.clone()` with the scalar cases written in place. `v` is
/// read in full before `slot` changes, so the two may alias.
#[inline(always)]
unsafe fn copy_into(slot: *mut Value, v: &Value) {
    // Ints first with a plain test, as in `move_into`.
    if let Value::Int(n) = *v {
        put_int(slot, n);
    } else {
        copy_into_other(slot, v);
    }
}

/// `copy_into` of anything but an Int.
#[inline(never)]
unsafe fn copy_into_other(slot: *mut Value, v: &Value) {
    match *v {
        Value::Int(n) => put_int(slot, n),
        Value::Bool(b) => put_bool(slot, b),
        Value::Float(f) => put_scalar(slot, Value::Float(f)),
        Value::Null => put_scalar(slot, Value::Null),
        _ => {
            let c = v.clone();
            *slot = c;
        }
    }
}

/// `clone` with the scalar cases inline. A scalar is built with one
/// 16-byte store, so the generic code that moves the result on (a map
/// insert, a list push) can read it back whole without a stall.
#[inline(always)]
fn fast_clone(v: &Value) -> Value {
    let (lo, hi) = match v {
        Value::Int(i) => (crate::value::TAG_INT as u64, *i as u64),
        Value::Float(f) => (crate::value::TAG_FLOAT as u64, f.to_bits()),
        Value::Bool(b) => (crate::value::TAG_BOOL as u64 | (*b as u64) << 8, 0),
        Value::Null => (crate::value::TAG_NULL as u64, 0),
        other => return other.clone(),
    };
    let mut out = std::mem::MaybeUninit::<Value>::uninit();
    // SAFETY: `store16` writes a valid `Value` (tag and payload where
    // `repr(u8)` puts them).
    unsafe {
        store16(out.as_mut_ptr(), lo, hi);
        out.assume_init()
    }
}

/// The comparison `CMP_OPS[k]` of two Ints, without a branch: bit
/// `ordering + 1` of the kind's mask says whether it holds.
#[inline(always)]
fn cmp_k(k: u8, p: i64, q: i64) -> bool {
    // Lt, Le, Gt, Ge, Eq, Ne over (less, equal, greater).
    const MASKS: [u8; 8] = [0b001, 0b011, 0b100, 0b110, 0b010, 0b101, 0, 0];
    let ord = (p > q) as u8 + (p >= q) as u8;
    (MASKS[(k & 7) as usize] >> ord) & 1 == 1
}

fn int_cmp(op: Op, p: i64, q: i64) -> bool {
    match op {
        Op::Lt => p < q,
        Op::Le => p <= q,
        Op::Gt => p > q,
        Op::Ge => p >= q,
        Op::Eq => p == q,
        _ => p != q,
    }
}

/// Where field `name` (an interned id) is in a record of type `t`.
fn field_pos(prog: &Program, t: &crate::value::RecordType, name: u32) -> Option<usize> {
    match prog.record_field_ids.get(t.id as usize) {
        Some(ids) => ids.iter().position(|f| *f == name),
        // Records the runtime makes (a machine's state record).
        None => t
            .fields
            .iter()
            .position(|f| *f == prog.names[name as usize]),
    }
}

/// The key of a value's type in the method table.
fn runtime_type_key(v: &Value) -> String {
    match v {
        Value::Int(_) => "Int".into(),
        Value::Float(_) => "Float".into(),
        Value::Str(_) => "String".into(),
        Value::Bool(_) => "Bool".into(),
        Value::Bytes(_) => "Bytes".into(),
        Value::List(_) => "list".into(),
        Value::Map(_) => "map".into(),
        Value::Set(_) => "set".into(),
        Value::Tuple(_) => "tuple".into(),
        other => other.type_name(),
    }
}

fn push(target: &mut Value, v: Value, spread: bool) -> VmResult<()> {
    match target {
        Value::List(xs) | Value::Tuple(xs) => {
            let xs = Rc::make_mut(xs);
            if spread {
                match v {
                    Value::List(ys) | Value::Tuple(ys) => xs.extend(ys.iter().cloned()),
                    Value::Set(ys) => xs.extend(ys.iter().cloned()),
                    other => xs.push(other),
                }
            } else {
                xs.push(v);
            }
        }
        Value::Set(s) => {
            let s = Rc::make_mut(s);
            if spread {
                match v {
                    Value::List(ys) | Value::Tuple(ys) => s.extend(ys.iter().cloned()),
                    Value::Set(ys) => s.extend(ys.iter().cloned()),
                    other => {
                        s.insert(other);
                    }
                }
            } else {
                s.insert(v);
            }
        }
        other => {
            return fail(
                ErrorKind::TypeError,
                format!("cannot add elements to {}", other.type_name()),
            )
        }
    }
    Ok(())
}

fn index_of(len: usize, i: i64) -> Option<usize> {
    let i = if i < 0 { len as i64 + i } else { i };
    (0..len as i64).contains(&i).then_some(i as usize)
}

pub fn get_index(c: &Value, i: &Value) -> VmResult<Value> {
    match (c, i) {
        (Value::List(xs) | Value::Tuple(xs), Value::Int(i)) => match index_of(xs.len(), *i) {
            Some(k) => Ok(xs[k].clone()),
            None => fail(
                ErrorKind::IndexOutOfBounds,
                format!("index {i} out of bounds (length {})", xs.len()),
            ),
        },
        (Value::Str(s), Value::Int(i)) => {
            let n = s.chars().count();
            match index_of(n, *i) {
                Some(k) => Ok(Value::str(
                    s.chars().nth(k).map(String::from).unwrap_or_default(),
                )),
                None => fail(
                    ErrorKind::IndexOutOfBounds,
                    format!("index {i} out of bounds (length {n})"),
                ),
            }
        }
        (Value::Bytes(b), Value::Int(i)) => match index_of(b.len(), *i) {
            Some(k) => Ok(Value::Int(b[k] as i64)),
            None => fail(
                ErrorKind::IndexOutOfBounds,
                format!("index {i} out of bounds (length {})", b.len()),
            ),
        },
        (Value::Map(m), k) => match m.get(k) {
            Some(v) => Ok(v.clone()),
            None => fail(
                ErrorKind::KeyNotFound,
                format!("key {} not found", k.nested()),
            ),
        },
        (Value::Null | Value::Absent, _) => fail(ErrorKind::NullValue, "indexing null"),
        (c, i) => fail(
            ErrorKind::TypeError,
            format!("cannot index {} with {}", c.type_name(), i.type_name()),
        ),
    }
}

pub fn set_index(c: &mut Value, i: &Value, v: Value) -> VmResult<()> {
    match (c, i) {
        (Value::List(xs), Value::Int(i)) => match index_of(xs.len(), *i) {
            Some(k) => {
                Rc::make_mut(xs)[k] = v;
                Ok(())
            }
            None => fail(
                ErrorKind::IndexOutOfBounds,
                format!("index {i} out of bounds (length {})", xs.len()),
            ),
        },
        (Value::Map(m), k) => {
            let m = Rc::make_mut(m);
            // An existing key keeps its entry (no key clone, no insert).
            match m.get_mut(k) {
                Some(slot) => *slot = v,
                None => {
                    m.insert(k.clone(), v);
                }
            }
            Ok(())
        }
        (c, i) => fail(
            ErrorKind::TypeError,
            format!(
                "cannot assign an element of {} at {}",
                c.type_name(),
                i.type_name()
            ),
        ),
    }
}

pub fn iter_of(v: &Value) -> VmResult<Iter> {
    Ok(match v {
        Value::List(xs) | Value::Tuple(xs) => Iter::Seq {
            items: xs.clone(),
            at: 0,
        },
        Value::Set(s) => Iter::Keys {
            items: s.iter().cloned().collect(),
            at: 0,
        },
        Value::Map(m) => Iter::Keys {
            items: m
                .iter()
                .map(|(k, v)| Value::tuple(vec![k.clone(), v.clone()]))
                .collect(),
            at: 0,
        },
        other => {
            return fail(
                ErrorKind::TypeError,
                format!("{} is not iterable", other.type_name()),
            )
        }
    })
}

fn await_value(v: &Value) -> Value {
    match v {
        Value::Future(x) => (**x).clone(),
        Value::List(xs) => Value::list(xs.iter().map(await_value).collect()),
        Value::Tuple(xs) => Value::tuple(xs.iter().map(await_value).collect()),
        other => other.clone(),
    }
}

pub fn test_type(prog: &Program, t: &TypeTest, v: &Value) -> bool {
    match t {
        TypeTest::Any => true,
        TypeTest::Null => v.is_null(),
        TypeTest::Int => matches!(v, Value::Int(_)),
        TypeTest::Float => matches!(v, Value::Float(_)),
        TypeTest::Str => matches!(v, Value::Str(_)),
        TypeTest::Bool => matches!(v, Value::Bool(_)),
        TypeTest::Bytes => matches!(v, Value::Bytes(_)),
        TypeTest::List => matches!(v, Value::List(_)),
        TypeTest::Map => matches!(v, Value::Map(_)),
        TypeTest::Set => matches!(v, Value::Set(_)),
        TypeTest::Tuple => matches!(v, Value::Tuple(_)),
        TypeTest::Function => matches!(v, Value::Func(_)),
        TypeTest::Result => result_is_ok(v).is_some(),
        TypeTest::Named(n) => match v {
            Value::Record(r) => &r.ty.name == n,
            Value::Variant(x) => &x.ty.name == n,
            Value::Object(o) => &o.type_name == n,
            _ => {
                // An alias of a builtin type.
                let _ = prog;
                false
            }
        },
        TypeTest::Union(ts) => ts.iter().any(|t| test_type(prog, t, v)),
    }
}

/// `e as T` (§6.3).
fn convert(prog: &Program, t: &TypeTest, v: &Value) -> VmResult<Value> {
    let bad = || {
        fail(
            ErrorKind::TypeError,
            format!("cannot convert {} {} to {t:?}", v.type_name(), v.nested()),
        )
    };
    match (t, v) {
        (TypeTest::Int, Value::Int(_)) => Ok(v.clone()),
        (TypeTest::Int, Value::Float(f)) if f.is_finite() => Ok(Value::Int(f.trunc() as i64)),
        (TypeTest::Int, Value::Str(s)) => match s.trim().parse::<i64>() {
            Ok(i) => Ok(Value::Int(i)),
            Err(_) => bad(),
        },
        (TypeTest::Int, Value::Bool(b)) => Ok(Value::Int(i64::from(*b))),
        (TypeTest::Float, Value::Int(i)) => Ok(Value::Float(*i as f64)),
        (TypeTest::Float, Value::Float(_)) => Ok(v.clone()),
        (TypeTest::Float, Value::Str(s)) => match s.trim().parse::<f64>() {
            Ok(f) => Ok(Value::Float(f)),
            Err(_) => bad(),
        },
        (TypeTest::Str, _) => Ok(Value::str(v.display())),
        _ if test_type(prog, t, v) => Ok(v.clone()),
        _ => bad(),
    }
}

#[cfg(test)]
mod layout_tests {
    use super::*;

    /// The tag byte, byte 1 and the payload word of a value, each read
    /// only where the variant defines it.
    fn tag(v: &Value) -> u8 {
        // SAFETY: byte 0 is the `repr(u8)` tag of every variant.
        unsafe { *(v as *const Value as *const u8) }
    }
    fn byte1(v: &Value) -> u8 {
        // SAFETY: used only on Bool, whose field is byte 1.
        unsafe { *(v as *const Value as *const u8).add(1) }
    }
    fn payload(v: &Value) -> u64 {
        // SAFETY: used only on Int and Float, whose field is bytes 8..16.
        unsafe { std::ptr::read_unaligned((v as *const Value as *const u8).add(8) as *const u64) }
    }

    /// `store16` and `fast_clone` rely on `Value`'s `repr(u8)` layout.
    #[test]
    fn scalar_layout_matches_what_store16_writes() {
        assert_eq!(std::mem::size_of::<Value>(), 16);
        let i = Value::Int(-0x1122_3344_5566_7788);
        assert_eq!(tag(&i), crate::value::TAG_INT);
        assert_eq!(payload(&i) as i64, -0x1122_3344_5566_7788);
        let f = Value::Float(2.5);
        assert_eq!(tag(&f), crate::value::TAG_FLOAT);
        assert_eq!(payload(&f), 2.5f64.to_bits());
        let t = Value::Bool(true);
        assert_eq!((tag(&t), byte1(&t)), (crate::value::TAG_BOOL, 1));
        assert_eq!(tag(&Value::Null), crate::value::TAG_NULL);
        for v in [
            Value::Int(i64::MIN),
            Value::Int(7),
            Value::Float(-0.0),
            Value::Float(f64::NAN),
            Value::Bool(false),
            Value::Bool(true),
            Value::Null,
        ] {
            let c = fast_clone(&v);
            assert_eq!(c.type_name(), v.type_name());
            assert!(c.equals(&v) || matches!(v, Value::Float(x) if x.is_nan()));
        }
        let mut slot = Value::str("heap");
        unsafe {
            put_int(&mut slot, 42);
            assert!(matches!(slot, Value::Int(42)));
            put_bool(&mut slot, true);
            assert!(matches!(slot, Value::Bool(true)));
            copy_into(&mut slot, &Value::Float(1.5));
            assert!(matches!(slot, Value::Float(x) if x == 1.5));
        }
    }
}
