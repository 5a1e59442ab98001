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

use crate::error::{fail, ErrorKind, RuntimeError, TraceFrame, Unwind, VmResult};
use crate::program::{Op, Program, TypeTest, NONE};
use crate::value::{result_is_ok, Func, Iter, Object, ObjectState, Record, Value, Variant};
use crate::{format, ops};
use std::rc::Rc;

mod access;
mod cold;
mod exec;
mod frames;
mod host;
mod regs;
mod typetest;

use access::*;
pub use access::{get_index, iter_of, set_index};
pub use host::{BufferHost, Host, ToolCall};
use regs::*;
pub use typetest::test_type;
use typetest::*;

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
