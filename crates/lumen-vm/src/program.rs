//! Loading: a LIR module becomes a `Program` the interpreter runs without
//! any lookup by name — compact instructions, constants as values, field,
//! variant, effect and method names resolved to numbers, and a few fused
//! instructions (a `for` over a range iterates without building a list).

use std::collections::HashMap;
use std::rc::Rc;

use lumen_compiler::lir;

use crate::value::{from_json, EnumType, RecordType, Value};

/// The interpreter's instruction set: LIR's, with operands narrowed and
/// names resolved, plus fused forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    LoadConst,
    LoadNull,
    LoadBool,
    Move,
    LoadCell,
    LoadBuiltin,
    LoadAbsent,
    JumpIfPresent,
    Call,
    CallBuiltin,
    CallValue,
    /// `b`: method name id.
    CallMethod,
    CallTool,
    /// `b`: effect operation id.
    Perform,
    /// `a`: effect operation id, `b`: clause pc, `c`: parameter registers.
    HandlePush,
    HandlePushNamed,
    HandlePop,
    HandleEnter,
    Resume,
    HandleAbort,
    DeferPush,
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
    Jump,
    JumpIfFalse,
    JumpIfTrue,
    JumpIfNull,
    JumpIfNotNull,
    MakeList,
    MakeSet,
    MakeTuple,
    MakeMap,
    Push,
    Insert,
    /// `b`: record type index, fields from `c`.
    MakeRecord,
    /// `b`: process index (constructor of an instance).
    MakeObject,
    /// `b`: variant id, payload from `c` (`NONE`: no payload).
    MakeVariant,
    /// `c`: field name id.
    GetField,
    /// `b`: field name id.
    SetField,
    GetIndex,
    SetIndex,
    IterInit,
    IterNext,
    /// `a` = iterator over `b .. c` (fused `Range` + `IterInit`).
    IterRange,
    /// `a` = iterator over `b ..= c`.
    IterRangeIncl,
    /// `c`: variant id.
    TestVariant,
    GetPayload,
    /// `c`: index into `Program::type_tests`.
    TestType,
    Convert,
    ExpectSchema,
    Len,
    SliceFrom,
    IndexFromEnd,
    /// `a = b[c .. len - d]`, `d` in the operand of the `Nop` after it.
    SliceMid,
    /// `c`: format spec index or `NONE`.
    Format,
    Join,
    Closure,
    Try,
    NotNull,
    Await,
    TraceRef,
    Return,
    Halt,
    Emit,
    MatchFail,
    CheckRecord,
    Raise,
    /// Marks register `a` as a spread argument.
    SpreadArg,
    /// `Call` in a cell that has spread arguments (arguments normalised
    /// at run time).
    CallSpread,
    /// A comparison fused with the `JumpIfFalse` after it: `a` = the
    /// comparison (kind in `x`) of registers `c & 0xffff` and `c >> 16`;
    /// jump to `b` if false, else skip the `JumpIfFalse` (kept in place
    /// for jumps that land on it).
    CmpJump,
    /// `LoadConst c, d; OP a, b, c` fused: loads the constant into `c`
    /// too, then skips the original `OP` (kept for jumps to it).
    BinK,
    /// `LoadConst t, d; CMP a, x, t; JumpIfFalse a, b` fused (`c` = x |
    /// t << 16, kind in `x`); skips the two instructions it covers.
    CmpKJump,
    /// `Jump a` where `a` holds a loop test (`IterNext`, `CmpJump`,
    /// `CmpKJump`): performs that test directly.
    JumpLoop,
    /// `JumpLoop` onto a `ForNext`.
    LoopFor,
    /// `JumpLoop` onto a `CmpJump` or `CmpKJump`.
    LoopCmp,
    /// `IterRange` whose loop head follows it: the counter and the end
    /// go to the hidden Int registers `a` and `a + 1` (`x` = 1: `..=`).
    ForPrep,
    /// The head of a loop over a range: `a` = the next value of the
    /// counter in hidden register `b` while it is below `b + 1`, else
    /// jump to `c`.
    ForNext,
    /// `LoadBool c, d` (`x` = 0) or `LoadConst c, d` (`x` = 1) fused with
    /// the `SetIndex` or single-item `Push` after it that stores register
    /// `c` (kept in place, and run right after the load).
    StoreK,
    /// `Add` right before a `LoopCmp` (a `while` loop's increment and
    /// its back edge): runs both.
    AddLoop,
    /// `AddK` whose covered `Add` is followed by a `LoopCmp`.
    AddKLoop,
    /// `BinK` of `+`, `-`, `*`, `%` (the common ones get their own arm).
    AddK,
    SubK,
    MulK,
    ModK,
    /// `AddK`.. whose constant is an Int that fits in 32 bits and whose
    /// register is dead (`DEAD_K`): the value sits in `c` as an `i32`
    /// (`d` still names the constant, for the slow path).
    AddI,
    SubI,
    MulI,
    ModI,
    /// `AddKLoop` with an immediate (see `AddI`).
    AddILoop,
    /// `StoreK` of a single-use Bool (`x` = 0) or constant (`x` = 1)
    /// into `SetIndex l, i, t`: `a` = l, `b` = i, `c` = t, value in `d`.
    /// An unshared list at an in-range Int gets the value directly;
    /// otherwise the value goes to `t` and the `SetIndex` (kept in place)
    /// runs.
    SetIndexK,
    /// `GetIndex t, l, i; JumpIfFalse t, L` with `t` dead after the jump
    /// (`if flags[i]`): `a` = l, `b` = i, `c` = L, `d` = t. A Bool item
    /// of a list branches directly; anything else runs the `GetIndex`
    /// into `t` and goes on to the `JumpIfFalse` (kept in place).
    IndexJump,
    /// `AddLoop` (`x += y`) whose loop test is `x CMP r` (a `CmpJump`
    /// with a dead result) and whose loop exits right after its back
    /// edge: `a` = x | r << 16, `b` = y, `c` = the body's first
    /// instruction, kind in `x`. One dispatch per iteration of the loop
    /// control; anything but Ints without overflow goes the long way
    /// (add, then the `CmpJump`).
    AddCmpLoop,
    /// `AddCmpLoop` of an `AddILoop`: `b` = the immediate, `d` = its
    /// constant.
    AddICmpLoop,
    /// `CmpKJump` whose constant is an Int that fits in 16 bits and
    /// whose register is dead: the value sits in `c >> 16` as an `i16`.
    CmpIJump,
    Nop,
}

pub const NONE: u32 = u32::MAX;

/// Bits of `Ins::x` in `CmpJump`, `CmpKJump`, `BinK` and its `AddK`
/// family above the operator index (`x & OP_MASK`): the compiler marked
/// the register the fused comparison writes for its `JumpIfFalse`
/// (`DEAD_RESULT`) or the constant's register (`DEAD_K`) as read by
/// nothing but the instructions fused, so the fused form skips the write.
pub const OP_MASK: u8 = 0x0f;
pub const DEAD_RESULT: u8 = 0x10;
pub const DEAD_K: u8 = 0x20;

#[derive(Debug, Clone, Copy)]
pub struct Ins {
    pub op: Op,
    /// The operator of a fused instruction (an index into `CMP_OPS` or
    /// `BIN_OPS`); fits in the padding after `op`.
    pub x: u8,
    /// A fourth small operand: a constant index (`BinK`), or a result
    /// register + 1 for calls whose `Move` was fused away (0: none).
    pub d: u16,
    pub a: u32,
    pub b: u32,
    pub c: u32,
}

#[derive(Debug)]
pub struct CellCode {
    pub name: Rc<str>,
    pub code: Vec<Ins>,
    pub lines: Vec<u32>,
    pub consts: Vec<Value>,
    pub registers: u32,
    pub nparams: u32,
    pub captures: u32,
    pub variadic: bool,
    /// Shown as `<fn>` and left out of `lumen test`.
    pub lambda: bool,
    pub test: bool,
    pub line: u32,
    pub has_required_params: bool,
}

/// A type test of `is`, `n: T` patterns and `TestType`.
#[derive(Debug, Clone)]
pub enum TypeTest {
    Any,
    Null,
    Int,
    Float,
    Str,
    Bool,
    Bytes,
    List,
    Map,
    Set,
    Tuple,
    Function,
    Result,
    /// Record, enum, agent or process by name.
    Named(String),
    /// `A | B` and `T?`.
    Union(Vec<TypeTest>),
}

/// A format spec (§3.5).
#[derive(Debug, Clone, Default)]
pub struct Spec {
    pub fill: Option<char>,
    pub align: Option<char>,
    pub sign: Option<char>,
    pub alternate: bool,
    pub zero: bool,
    pub width: Option<usize>,
    pub precision: Option<usize>,
    pub ty: Option<char>,
}

pub struct Program {
    pub module: lir::Module,
    pub cells: Vec<CellCode>,
    /// By LIR type index: record types (None for other kinds).
    pub records: Vec<Option<Rc<RecordType>>>,
    /// Field default and `where` cells by LIR type index.
    pub field_cells: Vec<Vec<(Option<usize>, Option<usize>)>>,
    /// Variant ids: (enum type, tag).
    pub variants: Vec<(Rc<EnumType>, u32)>,
    pub enums_by_name: HashMap<String, Rc<EnumType>>,
    /// Interned names: field names, method names, effect operations.
    pub names: Vec<String>,
    pub name_ids: HashMap<String, u32>,
    /// Methods by (type name, method name id).
    pub methods: HashMap<(String, u32), u32>,
    pub type_tests: Vec<TypeTest>,
    pub specs: Vec<Spec>,
    /// Effect operation id -> tool index bound to it (`bind effect`).
    pub effect_tools: HashMap<u32, usize>,
    /// Effect operation id -> parameter names (for bound tools).
    pub effect_params: HashMap<u32, Vec<String>>,
    /// Handler index -> (operation id, cell).
    pub handlers: Vec<Vec<(u32, u32)>>,
    /// Type name -> LIR type index.
    pub type_index: HashMap<String, usize>,
    pub process_index: HashMap<String, usize>,
    /// Where each record type's field names are, as name ids.
    pub record_field_ids: Vec<Vec<u32>>,
    /// By LIR type index: the record has `where` conditions.
    pub constrained: Vec<bool>,
}

/// A module that cannot be run (it was not produced by this compiler).
#[derive(Debug, thiserror::Error)]
#[error("invalid LIR: {0}")]
pub struct LoadError(pub String);

impl Program {
    pub fn intern(&mut self, s: &str) -> u32 {
        if let Some(i) = self.name_ids.get(s) {
            return *i;
        }
        let i = self.names.len() as u32;
        self.names.push(s.to_string());
        self.name_ids.insert(s.to_string(), i);
        i
    }

    pub fn name_id(&self, s: &str) -> Option<u32> {
        self.name_ids.get(s).copied()
    }

    pub fn variant_id(&self, qualified: &str) -> Option<u32> {
        let (e, v) = match qualified {
            "ok" => ("result", "ok"),
            "err" => ("result", "err"),
            q => q.rsplit_once('.')?,
        };
        let ty = if e == "result" {
            return Some(if v == "ok" { 0 } else { 1 });
        } else {
            self.enums_by_name.get(e)?
        };
        let tag = ty.variants.iter().position(|x| x.0 == v)? as u32;
        self.variants
            .iter()
            .position(|(t, g)| Rc::ptr_eq(t, ty) && *g == tag)
            .map(|i| i as u32)
    }

    pub fn load(module: lir::Module) -> Result<Program, LoadError> {
        let mut p = Program {
            cells: Vec::new(),
            records: Vec::new(),
            field_cells: Vec::new(),
            variants: Vec::new(),
            enums_by_name: HashMap::new(),
            names: Vec::new(),
            name_ids: HashMap::new(),
            methods: HashMap::new(),
            type_tests: Vec::new(),
            specs: Vec::new(),
            effect_tools: HashMap::new(),
            effect_params: HashMap::new(),
            handlers: Vec::new(),
            type_index: HashMap::new(),
            process_index: HashMap::new(),
            record_field_ids: Vec::new(),
            constrained: Vec::new(),
            module: lir::Module {
                version: String::new(),
                doc_hash: String::new(),
                cells: Vec::new(),
                types: Vec::new(),
                tools: Vec::new(),
                grants: Default::default(),
                effects: Vec::new(),
                handlers: Vec::new(),
                processes: Vec::new(),
                directives: Default::default(),
                builtins: Vec::new(),
                methods: Default::default(),
                main: None,
            },
        };
        // Variants 0 and 1 are ok and err.
        let result = crate::value::result_type();
        p.variants.push((result.clone(), 0));
        p.variants.push((result, 1));
        for (i, t) in module.types.iter().enumerate() {
            p.type_index.insert(t.name.clone(), i);
            match t.kind.as_str() {
                "record" => {
                    let rt = Rc::new(RecordType {
                        id: i as u32,
                        name: t.name.clone(),
                        fields: t.fields.iter().map(|f| f.name.clone()).collect(),
                    });
                    p.records.push(Some(rt));
                    p.field_cells
                        .push(t.fields.iter().map(|f| (f.default, f.constraint)).collect());
                    let ids = t.fields.iter().map(|f| p.intern(&f.name)).collect();
                    p.record_field_ids.push(ids);
                }
                _ => {
                    p.records.push(None);
                    p.field_cells.push(Vec::new());
                    p.record_field_ids.push(Vec::new());
                }
            }
            if t.kind == "enum" {
                let et = Rc::new(EnumType {
                    id: i as u32,
                    name: t.name.clone(),
                    variants: t
                        .variants
                        .iter()
                        .map(|v| (v.name.clone(), v.payload.len()))
                        .collect(),
                });
                for tag in 0..t.variants.len() {
                    p.variants.push((et.clone(), tag as u32));
                }
                p.enums_by_name.insert(t.name.clone(), et);
            }
        }
        p.constrained = p
            .field_cells
            .iter()
            .map(|f| f.iter().any(|(_, c)| c.is_some()))
            .collect();
        for (tname, ms) in &module.methods {
            for (m, cell) in ms {
                let id = p.intern(m);
                p.methods.insert((tname.clone(), id), *cell as u32);
            }
        }
        for (i, pr) in module.processes.iter().enumerate() {
            p.process_index.insert(pr.name.clone(), i);
        }
        for e in &module.effects {
            for op in &e.ops {
                let id = p.intern(&format!("{}.{op}", e.name));
                if let Some(ps) = e.params.get(op) {
                    p.effect_params.insert(id, ps.clone());
                }
                if let Some(alias) = e.bindings.get(op) {
                    if let Some(ti) = module.tools.iter().position(|t| &t.alias == alias) {
                        p.effect_tools.insert(id, ti);
                    }
                }
            }
        }
        for h in &module.handlers {
            let ops = h
                .ops
                .iter()
                .map(|(k, cell)| (p.intern(k), *cell as u32))
                .collect();
            p.handlers.push(ops);
        }
        let ncells = module.cells.len();
        // A developer's aid: `LUMEN_VM_DUMP=1` prints each cell as loaded.
        let dump = std::env::var_os("LUMEN_VM_DUMP").is_some();
        for c in &module.cells {
            let code = p.load_cell(c, ncells, &module)?;
            if dump {
                eprintln!("== {}", c.name);
                for (k, i) in code.code.iter().enumerate() {
                    eprintln!(
                        "{k:4} {:?} x={} d={} a={} b={} c={}",
                        i.op, i.x, i.d, i.a, i.b, i.c
                    );
                }
            }
            p.cells.push(code);
        }
        p.module = module;
        Ok(p)
    }

    fn load_cell(
        &mut self,
        c: &lir::Cell,
        ncells: usize,
        m: &lir::Module,
    ) -> Result<CellCode, LoadError> {
        let bad = |what: &str| LoadError(format!("cell `{}`: {what}", c.name));
        let consts: Vec<Value> = c.constants.iter().map(const_value).collect();
        let konst_str = |i: i64| -> Result<String, LoadError> {
            consts
                .get(i as usize)
                .and_then(|v| match v {
                    Value::Str(s) => Some((**s).clone()),
                    _ => None,
                })
                .ok_or_else(|| bad(&format!("constant {i} is not a string")))
        };
        let regs = c.registers.max(1);
        let reg = |r: i64| -> Result<u32, LoadError> {
            if r < 0 || r >= regs as i64 {
                Err(bad(&format!("register {r} out of range")))
            } else {
                Ok(r as u32)
            }
        };
        let n = c.instructions.len() as i64;
        let target = |t: i64| -> Result<u32, LoadError> {
            if t < 0 || t > n {
                Err(bad(&format!("jump target {t} out of range")))
            } else {
                Ok(t as u32)
            }
        };
        let mut code = Vec::with_capacity(c.instructions.len() + 1);
        let mut lines = Vec::with_capacity(c.instructions.len() + 1);
        for ins in &c.instructions {
            use lir::Op as L;
            let (a, b, cc) = (ins.a, ins.b, ins.c);
            let i = match ins.op {
                L::LoadConst => {
                    if b < 0 || b as usize >= consts.len() {
                        return Err(bad("constant out of range"));
                    }
                    // `c` = 1: a single-use temporary (see `fuse`).
                    Ins::new(Op::LoadConst, reg(a)?, b as u32, u32::from(cc == 1))
                }
                L::LoadNull => Ins::new(Op::LoadNull, reg(a)?, 0, 0),
                L::LoadBool => {
                    Ins::new(Op::LoadBool, reg(a)?, u32::from(b != 0), u32::from(cc == 1))
                }
                L::Move => Ins::new(Op::Move, reg(a)?, reg(b)?, 0),
                L::LoadCell => {
                    if b < 0 || b as usize >= ncells {
                        return Err(bad("cell index out of range"));
                    }
                    Ins::new(Op::LoadCell, reg(a)?, b as u32, 0)
                }
                L::LoadBuiltin => Ins::new(Op::LoadBuiltin, reg(a)?, b as u32, 0),
                L::LoadAbsent => Ins::new(Op::LoadAbsent, reg(a)?, 0, 0),
                L::JumpIfPresent => Ins::new(Op::JumpIfPresent, reg(a)?, target(b)?, 0),
                L::Call => {
                    if b < 0 || b as usize >= ncells {
                        return Err(bad("cell index out of range"));
                    }
                    reg(a + cc)?;
                    Ins::new(Op::Call, reg(a)?, b as u32, cc as u32)
                }
                L::CallBuiltin => {
                    reg(a + cc)?;
                    Ins::new(Op::CallBuiltin, reg(a)?, b as u32, cc as u32)
                }
                L::CallValue => {
                    reg(a + cc)?;
                    Ins::new(Op::CallValue, reg(a)?, 0, cc as u32)
                }
                L::CallMethod => {
                    reg(a + cc)?;
                    let name = konst_str(b)?;
                    let id = self.intern(&name);
                    Ins::new(Op::CallMethod, reg(a)?, id, cc as u32)
                }
                L::CallTool => Ins::new(Op::CallTool, reg(a)?, b as u32, reg(cc)?),
                L::Perform => {
                    reg(a + cc)?;
                    let k = konst_str(b)?;
                    let id = self.intern(&k);
                    Ins::new(Op::Perform, reg(a)?, id, cc as u32)
                }
                L::HandlePush => {
                    let k = konst_str(a)?;
                    let id = self.intern(&k);
                    Ins::new(Op::HandlePush, id, target(b)?, cc as u32)
                }
                L::HandlePushNamed => {
                    if a < 0 || a as usize >= m.handlers.len() {
                        return Err(bad("handler index out of range"));
                    }
                    Ins::new(Op::HandlePushNamed, a as u32, 0, 0)
                }
                L::HandlePop => Ins::new(Op::HandlePop, a as u32, reg(b)?, 0),
                L::HandleEnter => Ins::new(Op::HandleEnter, reg(a)?, target(b)?, 0),
                L::Resume => Ins::new(Op::Resume, reg(a)?, 0, 0),
                L::HandleAbort => Ins::new(Op::HandleAbort, reg(a)?, 0, 0),
                L::DeferPush => Ins::new(Op::DeferPush, reg(a)?, 0, 0),
                L::DeferRun => Ins::new(Op::DeferRun, a as u32, 0, 0),
                L::Add
                | L::Sub
                | L::Mul
                | L::Div
                | L::IntDiv
                | L::Mod
                | L::Pow
                | L::Concat
                | L::BitAnd
                | L::BitOr
                | L::BitXor
                | L::Shl
                | L::Shr
                | L::Eq
                | L::Ne
                | L::Lt
                | L::Le
                | L::Gt
                | L::Ge
                | L::Cmp
                | L::In
                | L::Range
                | L::RangeIncl
                | L::Compose => Ins::new(binary(ins.op), reg(a)?, reg(b)?, reg(cc)?),
                L::Neg => Ins::new(Op::Neg, reg(a)?, reg(b)?, 0),
                L::Not => Ins::new(Op::Not, reg(a)?, reg(b)?, 0),
                L::BitNot => Ins::new(Op::BitNot, reg(a)?, reg(b)?, 0),
                L::Jump => Ins::new(Op::Jump, target(a)?, 0, 0),
                L::JumpIfFalse => {
                    // `c` = 1: the tested register is dead after the jump.
                    Ins::new(Op::JumpIfFalse, reg(a)?, target(b)?, u32::from(cc == 1))
                }
                L::JumpIfTrue => Ins::new(Op::JumpIfTrue, reg(a)?, target(b)?, 0),
                L::JumpIfNull => Ins::new(Op::JumpIfNull, reg(a)?, target(b)?, 0),
                L::JumpIfNotNull => Ins::new(Op::JumpIfNotNull, reg(a)?, target(b)?, 0),
                L::MakeList | L::MakeSet | L::MakeTuple => {
                    if cc > 0 {
                        reg(b + cc - 1)?;
                    }
                    let op = match ins.op {
                        L::MakeList => Op::MakeList,
                        L::MakeSet => Op::MakeSet,
                        _ => Op::MakeTuple,
                    };
                    Ins::new(op, reg(a)?, b.max(0) as u32, cc as u32)
                }
                L::MakeMap => {
                    if cc > 0 {
                        reg(b + 2 * cc - 1)?;
                    }
                    Ins::new(Op::MakeMap, reg(a)?, b.max(0) as u32, cc as u32)
                }
                L::Push => Ins::new(Op::Push, reg(a)?, reg(b)?, cc as u32),
                L::Insert => {
                    reg(b + 1)?;
                    Ins::new(Op::Insert, reg(a)?, reg(b)?, 0)
                }
                L::MakeRecord => {
                    if b < 0 {
                        let name = konst_str(cc)?;
                        let pi = *m
                            .processes
                            .iter()
                            .position(|x| x.name == name)
                            .as_ref()
                            .ok_or_else(|| bad(&format!("no process `{name}`")))?;
                        Ins::new(Op::MakeObject, reg(a)?, pi as u32, 0)
                    } else {
                        let nf = m
                            .types
                            .get(b as usize)
                            .map(|t| t.fields.len())
                            .ok_or_else(|| bad("type index out of range"))?;
                        if nf > 0 {
                            reg(cc + nf as i64 - 1)?;
                        }
                        Ins::new(Op::MakeRecord, reg(a)?, b as u32, cc.max(0) as u32)
                    }
                }
                L::MakeVariant => {
                    let k = konst_str(b)?;
                    let id = self
                        .variant_id(&k)
                        .ok_or_else(|| bad(&format!("unknown variant `{k}`")))?;
                    let arity = self.variants[id as usize].0.variants
                        [self.variants[id as usize].1 as usize]
                        .1;
                    let start = if arity == 0 {
                        NONE
                    } else {
                        reg(cc + arity as i64 - 1)?;
                        reg(cc)?
                    };
                    Ins::new(Op::MakeVariant, reg(a)?, id, start)
                }
                L::GetField => {
                    let k = konst_str(cc)?;
                    let id = self.intern(&k);
                    Ins::new(Op::GetField, reg(a)?, reg(b)?, id)
                }
                L::SetField => {
                    let k = konst_str(b)?;
                    let id = self.intern(&k);
                    Ins::new(Op::SetField, reg(a)?, id, reg(cc)?)
                }
                L::GetIndex => Ins::new(Op::GetIndex, reg(a)?, reg(b)?, reg(cc)?),
                L::SetIndex => Ins::new(Op::SetIndex, reg(a)?, reg(b)?, reg(cc)?),
                L::IterInit => Ins::new(Op::IterInit, reg(a)?, reg(b)?, 0),
                L::IterNext => Ins::new(Op::IterNext, reg(a)?, reg(b)?, target(cc)?),
                L::TestVariant => {
                    let k = konst_str(cc)?;
                    let id = self.variant_id(&k).unwrap_or(NONE);
                    Ins::new(Op::TestVariant, reg(a)?, reg(b)?, id)
                }
                L::GetPayload => Ins::new(Op::GetPayload, reg(a)?, reg(b)?, cc as u32),
                L::TestType | L::Convert | L::ExpectSchema => {
                    let k = konst_str(cc)?;
                    let op = match ins.op {
                        L::TestType => Op::TestType,
                        L::Convert => Op::Convert,
                        _ => Op::ExpectSchema,
                    };
                    let t = parse_type_test(&k);
                    self.type_tests.push(t);
                    Ins::new(op, reg(a)?, reg(b)?, (self.type_tests.len() - 1) as u32)
                }
                L::Len => Ins::new(Op::Len, reg(a)?, reg(b)?, 0),
                L::SliceFrom => Ins::new(Op::SliceFrom, reg(a)?, reg(b)?, cc as u32),
                L::IndexFromEnd => Ins::new(Op::IndexFromEnd, reg(a)?, reg(b)?, cc as u32),
                L::SliceMid => Ins::new(Op::SliceMid, reg(a)?, reg(b)?, cc as u32),
                L::Format => {
                    let spec = if cc < 0 {
                        NONE
                    } else {
                        let j = c
                            .constants
                            .get(cc as usize)
                            .ok_or_else(|| bad("format spec out of range"))?;
                        self.specs.push(spec_of(j));
                        (self.specs.len() - 1) as u32
                    };
                    Ins::new(Op::Format, reg(a)?, reg(b)?, spec)
                }
                L::Join => {
                    if cc > 0 {
                        reg(b + cc - 1)?;
                    }
                    Ins::new(Op::Join, reg(a)?, b.max(0) as u32, cc as u32)
                }
                L::Closure => {
                    if b < 0 || b as usize >= ncells {
                        return Err(bad("cell index out of range"));
                    }
                    let caps = m.cells[b as usize].captures as i64;
                    if caps > 0 {
                        reg(cc + caps - 1)?;
                    }
                    Ins::new(Op::Closure, reg(a)?, b as u32, cc.max(0) as u32)
                }
                L::Try => Ins::new(Op::Try, reg(a)?, reg(b)?, 0),
                L::NotNull => Ins::new(Op::NotNull, reg(a)?, reg(b)?, 0),
                L::Await => Ins::new(Op::Await, reg(a)?, reg(b)?, 0),
                L::TraceRef => Ins::new(Op::TraceRef, reg(a)?, 0, 0),
                L::Return => Ins::new(Op::Return, reg(a)?, 0, 0),
                L::Halt => Ins::new(Op::Halt, reg(a)?, 0, 0),
                L::Emit => Ins::new(Op::Emit, reg(a)?, 0, 0),
                L::MatchFail => Ins::new(Op::MatchFail, reg(a)?, 0, 0),
                L::CheckRecord => Ins::new(Op::CheckRecord, reg(a)?, 0, 0),
                L::Raise => {
                    konst_str(a)?;
                    konst_str(b)?;
                    Ins::new(Op::Raise, a as u32, b as u32, 0)
                }
                L::Nop => {
                    if b == 1 {
                        Ins::new(Op::SpreadArg, reg(a)?, 0, 0)
                    } else {
                        Ins::new(Op::Nop, a.max(0) as u32, 0, 0)
                    }
                }
            };
            code.push(i);
            lines.push(ins.line);
        }
        // A cell always ends: a final return of null guards against
        // running off the end.
        code.push(Ins::new(Op::LoadNull, 0, 0, 0));
        code.push(Ins::new(Op::Return, 0, 0, 0));
        lines.push(c.line);
        lines.push(c.line);
        let nparams = c.params.len() as u32;
        let mut registers = regs.max(nparams + c.captures + 1);
        fuse(&mut code, &mut registers, &consts);
        let lambda = c.name.contains('$');
        Ok(CellCode {
            name: Rc::from(c.name.as_str()),
            code,
            lines,
            consts,
            registers,
            nparams,
            captures: c.captures,
            variadic: c.params.last().is_some_and(|p| p.variadic),
            lambda,
            test: c.test,
            line: c.line,
            has_required_params: c.params.iter().any(|p| !p.has_default && !p.variadic),
        })
    }
}

impl Ins {
    pub const fn new(op: Op, a: u32, b: u32, c: u32) -> Ins {
        Ins {
            op,
            x: 0,
            d: 0,
            a,
            b,
            c,
        }
    }
}

/// The comparison kinds of `CmpJump`.
pub const CMP_OPS: [Op; 6] = [Op::Lt, Op::Le, Op::Gt, Op::Ge, Op::Eq, Op::Ne];

/// The operators `BinK` fuses with the constant load before them.
pub const BIN_OPS: [Op; 12] = [
    Op::Add,
    Op::Sub,
    Op::Mul,
    Op::Div,
    Op::IntDiv,
    Op::Mod,
    Op::Lt,
    Op::Le,
    Op::Gt,
    Op::Ge,
    Op::Eq,
    Op::Ne,
];

fn binary(op: lir::Op) -> Op {
    use lir::Op as L;
    match op {
        L::Add => Op::Add,
        L::Sub => Op::Sub,
        L::Mul => Op::Mul,
        L::Div => Op::Div,
        L::IntDiv => Op::IntDiv,
        L::Mod => Op::Mod,
        L::Pow => Op::Pow,
        L::Concat => Op::Concat,
        L::BitAnd => Op::BitAnd,
        L::BitOr => Op::BitOr,
        L::BitXor => Op::BitXor,
        L::Shl => Op::Shl,
        L::Shr => Op::Shr,
        L::Eq => Op::Eq,
        L::Ne => Op::Ne,
        L::Lt => Op::Lt,
        L::Le => Op::Le,
        L::Gt => Op::Gt,
        L::Ge => Op::Ge,
        L::Cmp => Op::Cmp,
        L::In => Op::In,
        L::Range => Op::Range,
        L::RangeIncl => Op::RangeIncl,
        _ => Op::Compose,
    }
}

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
fn fuse(code: &mut [Ins], registers: &mut u32, consts: &[Value]) {
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
    let spreads = code.iter().any(|i| i.op == Op::SpreadArg);
    let clauses = code.iter().any(|i| i.op == Op::HandlePush);
    if spreads {
        for i in code.iter_mut().filter(|i| i.op == Op::Call) {
            i.op = Op::CallSpread;
        }
    }
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
    for i in code.iter_mut().filter(|i| i.op == Op::BinK) {
        i.op = match BIN_OPS[(i.x & OP_MASK) as usize] {
            Op::Add => Op::AddK,
            Op::Sub => Op::SubK,
            Op::Mul => Op::MulK,
            Op::Mod => Op::ModK,
            _ => Op::BinK,
        };
    }
    // A constant stored by `SetIndex` with nothing else reading it.
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
    // Immediates: a dead constant register frees `c` for the value.
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
    // `x += y` and the loop test `x CMP r` as one instruction.
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

fn const_value(j: &serde_json::Value) -> Value {
    match j {
        serde_json::Value::Object(o) if o.len() == 1 && o.contains_key("bytes") => {
            let hex = o["bytes"].as_str().unwrap_or("");
            let bytes = (0..hex.len() / 2)
                .filter_map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok())
                .collect();
            Value::Bytes(Rc::new(bytes))
        }
        serde_json::Value::Number(n) if n.is_f64() => Value::Float(n.as_f64().unwrap_or(0.0)),
        other => from_json(other),
    }
}

fn spec_of(j: &serde_json::Value) -> Spec {
    let ch = |k: &str| {
        j.get(k)
            .and_then(|v| v.as_str())
            .and_then(|s| s.chars().next())
    };
    let num = |k: &str| j.get(k).and_then(|v| v.as_u64()).map(|n| n as usize);
    Spec {
        fill: ch("fill"),
        align: ch("align"),
        sign: ch("sign"),
        alternate: j
            .get("alternate")
            .and_then(|v| v.as_bool())
            .unwrap_or(false),
        zero: j.get("zero").and_then(|v| v.as_bool()).unwrap_or(false),
        width: num("width"),
        precision: num("precision"),
        ty: ch("ty"),
    }
}

/// A type in source syntax (as the compiler writes it) as a run-time test.
pub fn parse_type_test(s: &str) -> TypeTest {
    let s = s.trim();
    if let Some(inner) = s.strip_suffix('?') {
        return TypeTest::Union(vec![parse_type_test(inner), TypeTest::Null]);
    }
    if s.contains(" | ") {
        return TypeTest::Union(s.split(" | ").map(parse_type_test).collect());
    }
    if s.starts_with('(') {
        return TypeTest::Tuple;
    }
    if s.starts_with("fn(") {
        return TypeTest::Function;
    }
    let head = s.split('[').next().unwrap_or(s);
    match head {
        "Int" | "int" => TypeTest::Int,
        "Float" | "float" => TypeTest::Float,
        "String" | "string" => TypeTest::Str,
        "Bool" | "bool" => TypeTest::Bool,
        "Bytes" | "bytes" => TypeTest::Bytes,
        "Null" | "null" => TypeTest::Null,
        "list" | "List" => TypeTest::List,
        "map" | "Map" => TypeTest::Map,
        "set" | "Set" => TypeTest::Set,
        "tuple" | "Tuple" => TypeTest::Tuple,
        "result" | "Result" => TypeTest::Result,
        "Any" | "Json" | "json" => TypeTest::Any,
        "Function" => TypeTest::Function,
        other => TypeTest::Named(other.to_string()),
    }
}
