//! The LIR module: what `lumen emit` writes and the VM loads, and the
//! table of builtins its calls index (`builtins`).
//!
//! Designed for a register VM: every instruction is an opcode with three
//! integer operands (`a`, `b`, `c`); each cell declares how many registers
//! its frame needs and carries its own constant pool; call targets are
//! cell or builtin indices resolved here, never names looked up at run
//! time. Jump operands are absolute instruction indices within the cell.

use serde::Serialize;

pub mod builtins;

/// The single list of LIR operations. Calls `$m! { { extra } ops }`
/// with each operation's doc comments and name, so that every other list
/// of operations (this crate's [`Op`], the VM's instruction set) is
/// derived from this one and a new operation cannot be forgotten in any.
#[macro_export]
macro_rules! for_each_op {
    ($m:ident { $($extra:tt)* }) => {
        $m! {
            { $($extra)* }
            /// `a = constants[b]`. `c` = 1 marks `a` as a temporary that one
            /// later instruction reads, once (the operator or store it was loaded
            /// for), so a VM fusing the two need not keep the constant in `a`.
            LoadConst,
            LoadNull,
            /// `a = (b != 0)`; `c` = 1 as for `LoadConst`.
            LoadBool,
            /// `a = b`.
            Move,
            /// `a = cells[b]` as a function value.
            LoadCell,
            /// `a = builtins[b]` as a function value.
            LoadBuiltin,
            /// Marks an omitted argument (its default is computed by the callee).
            LoadAbsent,
            /// If register `a` holds an argument, jump to `b`.
            JumpIfPresent,
            /// Calls `cells[b]` with `c` arguments in `a+1 ..`; result in `a`.
            Call,
            /// Calls `builtins[b]` with `c` arguments in `a+1 ..`; result in `a`.
            CallBuiltin,
            /// Calls the function value in `a` with `c` arguments in `a+1 ..`.
            CallValue,
            /// Calls method `constants[b]` on the receiver in `a+1` with `c`
            /// arguments in `a+1 ..` (receiver included), dispatched on the
            /// receiver's runtime type through the type table (receivers whose
            /// type is only known at run time, §4.5).
            CallMethod,
            /// Calls tool `tools[b]` with the argument map in `c`; result in `a`.
            CallTool,
            /// Performs `constants[b]` (`"E.op"`) with `c` arguments in `a+1 ..`.
            Perform,
            /// Installs a clause for `constants[a]` (`"E.op"`): its code starts at
            /// `b` in this cell and runs in this frame, its parameters in
            /// registers `c ..`.
            HandlePush,
            /// Installs named handler `handlers[a]`.
            HandlePushNamed,
            /// Removes `a` handler entries; the `handle` expression's result is
            /// register `b` (an aborting clause's value lands there, then control
            /// goes to `c`).
            HandlePop,
            /// Marks where an aborted `handle` continues: result register `a`,
            /// continuation `b`.
            HandleEnter,
            /// Ends a clause body: resume the performer with `a`.
            Resume,
            /// A clause body finished without resuming: abort the handled
            /// computation; the `handle` evaluates to `a` (§9.3 rule 4).
            HandleAbort,
            /// Registers the closure in `a` to run when the block exits.
            DeferPush,
            /// Runs the `a` most recent defers.
            DeferRun,
            Add,
            Sub,
            Mul,
            Div,
            IntDiv,
            Mod,
            Pow,
            Concat,
            BitAnd,
            BitOr,
            BitXor,
            Shl,
            Shr,
            Eq,
            Ne,
            Lt,
            Le,
            Gt,
            Ge,
            Cmp,
            In,
            Range,
            RangeIncl,
            Compose,
            Neg,
            Not,
            BitNot,
            /// Jump to `a`.
            Jump,
            /// If `a` is false, jump to `b`. `c` = 1 marks `a` as a temporary
            /// nothing reads after this jump.
            JumpIfFalse,
            JumpIfTrue,
            /// If `a` is null, jump to `b`.
            JumpIfNull,
            JumpIfNotNull,
            /// `a = [b .. b+c]`.
            MakeList,
            MakeSet,
            MakeTuple,
            /// `a = {b: b+1, ...}` with `c` pairs.
            MakeMap,
            /// Appends `b` to the list/set in `a` (`c = 1`: spread `b`'s elements).
            Push,
            /// Inserts key `b`, value `b+1` into the map in `a`.
            Insert,
            /// `a = types[b](fields in c ..)` in declaration order.
            MakeRecord,
            /// `a = variant constants[b]` (`"Enum.Variant"`) with payload `c ..`;
            /// payload length from the type table.
            MakeVariant,
            /// `a = b.constants[c]`.
            GetField,
            /// `a.constants[b] = c`.
            SetField,
            /// `a = b[c]`.
            GetIndex,
            /// `a[b] = c`.
            SetIndex,
            /// `a = iterator over b`.
            IterInit,
            /// `a = next of iterator b`, or jump to `c` when done.
            IterNext,
            /// `a = (b is variant constants[c])`.
            TestVariant,
            /// `a = payload c of b`.
            GetPayload,
            /// `a = (b has runtime type constants[c])`.
            TestType,
            /// `a = b as constants[c]`.
            Convert,
            /// `a = b expect schema constants[c]`.
            ExpectSchema,
            /// `a = len(b)`.
            Len,
            /// `a = b[c ..]` (the rest of a list from index c).
            SliceFrom,
            /// `a = b[.. len - c]`... `a = b[-c]`: element counted from the end.
            IndexFromEnd,
            /// `a = b[c .. len-d]`: the middle of a list (d in the next Nop's a).
            SliceMid,
            /// `a = display of b` formatted by spec `constants[c]` (-1: none).
            Format,
            /// `a = concat of c strings starting at b`.
            Join,
            /// `a = closure of cells[b]` capturing registers `c ..` (count from
            /// the cell's `captures`).
            Closure,
            /// Postfix `?`: `a = b` unwrapped; `err`/null returns from the cell.
            Try,
            /// Postfix `!`: `a = b`, raising `null value` if null.
            NotNull,
            /// `a = await b`.
            Await,
            /// `a = trace_ref()`.
            TraceRef,
            Return,
            /// Raises `halt` with the display of `a`.
            Halt,
            /// Writes the display of `a` and records an `emit` event.
            Emit,
            /// Raises `match failed`.
            MatchFail,
            /// Checks record `where` conditions of the value in `a`.
            CheckRecord,
            /// Raises the runtime error `constants[a]` with message
            /// `constants[b]` (unresolved names in relaxed mode).
            Raise,
            Nop,
        }
    };
}

macro_rules! lir_op_enum {
    ({} $( $(#[doc = $doc:literal])* $name:ident, )*) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
        #[serde(rename_all = "snake_case")]
        pub enum Op {
            $( $(#[doc = $doc])* $name, )*
        }

        impl Op {
            /// Every operation, in declaration order.
            pub const ALL: &'static [Op] = &[$(Op::$name),*];
        }
    };
}

for_each_op!(lir_op_enum {});
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Instr {
    pub op: Op,
    pub a: i64,
    pub b: i64,
    pub c: i64,
    /// Source line (for stack traces).
    pub line: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct ParamInfo {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: String,
    pub has_default: bool,
    pub variadic: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Cell {
    pub name: String,
    pub params: Vec<ParamInfo>,
    pub returns: String,
    pub registers: u32,
    /// Registers after the parameters that hold captured values (closures).
    pub captures: u32,
    pub constants: Vec<serde_json::Value>,
    pub instructions: Vec<Instr>,
    pub effects: Vec<String>,
    pub is_async: bool,
    pub test: bool,
    pub line: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct TypeInfo {
    pub name: String,
    /// `record`, `enum`, `alias`, `trait`, `effect`, `agent`, `memory`,
    /// `machine`, `pipeline`, `orchestration`.
    pub kind: String,
    pub fields: Vec<FieldInfo>,
    pub variants: Vec<VariantInfo>,
    /// Cell index of each method by name.
    pub methods: std::collections::BTreeMap<String, usize>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FieldInfo {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: String,
    /// Cell computing the default, if any.
    pub default: Option<usize>,
    /// Cell checking the `where` condition (takes the record), if any.
    pub constraint: Option<usize>,
}

#[derive(Debug, Clone, Serialize)]
pub struct VariantInfo {
    pub name: String,
    pub payload: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ToolInfo {
    pub alias: String,
    pub id: String,
    pub version: Option<String>,
    /// The effect its calls count as.
    pub effect: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct HandlerInfo {
    pub name: String,
    /// (`"E.op"`, cell index).
    pub ops: Vec<(String, usize)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ProcessInfo {
    pub name: String,
    pub kind: String,
    pub methods: std::collections::BTreeMap<String, usize>,
    pub initial: Option<String>,
    pub states: Vec<StateInfo>,
    pub stages: Vec<String>,
    /// Configuration keys and the cells computing them.
    pub config: Vec<(String, usize)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StateInfo {
    pub name: String,
    pub params: Vec<String>,
    /// Cell of the guard (takes the state's parameters), if any.
    pub guard: Option<usize>,
    pub transition: Option<String>,
    /// Cell computing the transition's arguments as a list.
    pub transition_args: Option<usize>,
    pub terminal: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Module {
    pub version: String,
    pub doc_hash: String,
    pub cells: Vec<Cell>,
    pub types: Vec<TypeInfo>,
    pub tools: Vec<ToolInfo>,
    /// Top-level grants by alias, then agent grants under `"Agent/Alias"`.
    pub grants: std::collections::BTreeMap<String, serde_json::Map<String, serde_json::Value>>,
    pub effects: Vec<EffectInfo>,
    pub handlers: Vec<HandlerInfo>,
    pub processes: Vec<ProcessInfo>,
    pub directives: std::collections::BTreeMap<String, serde_json::Value>,
    /// The builtin table the `call_builtin` indices refer to.
    pub builtins: Vec<&'static str>,
    /// Methods of every type by type name (records, enums, processes and
    /// builtin types such as `Int` with an `impl`), then method name.
    pub methods: std::collections::BTreeMap<String, std::collections::BTreeMap<String, usize>>,
    /// Index of the entry cell `main`, if there is one.
    pub main: Option<usize>,
}

#[derive(Debug, Clone, Serialize)]
pub struct EffectInfo {
    pub name: String,
    pub ops: Vec<String>,
    /// Parameter names of each operation, in order.
    pub params: std::collections::BTreeMap<String, Vec<String>>,
    /// Tool alias bound to each operation (`bind effect`), if any.
    pub bindings: std::collections::BTreeMap<String, String>,
}
