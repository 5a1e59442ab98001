//! Frames: entering a cell (arguments normalised, defaults absent,
//! variadics packed, captures placed), running until a frame returns,
//! leaving frames with their defers, handlers and masks, aborts caught by
//! the loop that owns their `handle`, stack traces.

use super::*;

impl<'h> Vm<'h> {
    pub(super) fn top(&self) -> usize {
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
    pub(super) fn enter(
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
    pub(super) fn enter_with(
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
    pub(super) fn run(&mut self, stop: usize) -> VmResult<Value> {
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
    pub(super) fn unwind_to(&mut self, len: usize) {
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
    pub(super) fn leave_frame(&mut self, v: Value, stop: usize) -> VmResult<Option<Value>> {
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

    pub(super) fn drop_frame_state(&mut self, f: &Frame) {
        let (_, records, masks) = self.marks(f);
        if self.records.len() > records {
            let start = self.records[records].entries_start;
            self.handlers.truncate(start);
            self.records.truncate(records);
        }
        self.masks.truncate(masks);
    }

    /// A frame's defer, handle-record and mask stack lengths at its start.
    pub(super) fn marks(&self, f: &Frame) -> (usize, usize, usize) {
        if f.marked {
            (f.defers as usize, f.records as usize, f.masks as usize)
        } else {
            (self.defers.len(), self.records.len(), self.masks.len())
        }
    }

    /// Records the running frame's lengths before it pushes its first
    /// defer or handle record.
    pub(super) fn mark_top(&mut self) {
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
    pub(super) fn run_defers_to(&mut self, len: usize) {
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
    pub(super) fn find_handler(&self, key: u32) -> Option<usize> {
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
}
