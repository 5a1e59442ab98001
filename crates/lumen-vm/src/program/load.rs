//! From a LIR module to a `Program`: the tables (records, enums and their
//! variants, methods, effects, handlers), then each cell's instructions,
//! every operand checked against the cell (registers, constants, jump
//! targets, cells) so that the interpreter can index without checks.

use std::collections::HashMap;
use std::rc::Rc;

use lumen_lir as lir;

use super::fuse::fuse;
use super::{CellCode, Ins, LoadError, Op, Program, Spec, TypeTest, NONE};
use crate::value::{from_json, EnumType, RecordType, Value};

impl Program {
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
        let consts: Vec<Value> = c.constants.iter().map(const_value).collect();
        let cx = CellCheck {
            cell: c,
            consts: &consts,
            regs: c.registers.max(1) as i64,
            len: c.instructions.len() as i64,
            ncells,
        };
        let mut code = Vec::with_capacity(c.instructions.len() + 2);
        let mut lines = Vec::with_capacity(c.instructions.len() + 2);
        for ins in &c.instructions {
            code.push(self.load_ins(&cx, ins, m)?);
            lines.push(ins.line);
        }
        // A cell always ends: a final return of null guards against
        // running off the end.
        code.push(Ins::new(Op::LoadNull, 0, 0, 0));
        code.push(Ins::new(Op::Return, 0, 0, 0));
        lines.push(c.line);
        lines.push(c.line);
        let nparams = c.params.len() as u32;
        let mut registers = (cx.regs as u32).max(nparams + c.captures + 1);
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

    /// One LIR instruction as the VM's, its operands checked. Operations
    /// are grouped by the shape of their operands; those that resolve a
    /// name or index a table have arms of their own. Long because the
    /// match names every LIR operation (no catch-all, so a new operation
    /// must be given its place here).
    fn load_ins(
        &mut self,
        cx: &CellCheck,
        ins: &lir::Instr,
        m: &lir::Module,
    ) -> Result<Ins, LoadError> {
        use lir::Op as L;
        let (a, b, cc) = (ins.a, ins.b, ins.c);
        let op = Op::from_lir(ins.op);
        Ok(match ins.op {
            // Three registers.
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
            | L::Compose
            | L::GetIndex
            | L::SetIndex => Ins::new(op, cx.reg(a)?, cx.reg(b)?, cx.reg(cc)?),
            // Two registers.
            L::Move
            | L::Neg
            | L::Not
            | L::BitNot
            | L::IterInit
            | L::Len
            | L::Try
            | L::NotNull
            | L::Await => Ins::new(op, cx.reg(a)?, cx.reg(b)?, 0),
            // Two registers and a count or index.
            L::Push | L::GetPayload | L::SliceFrom | L::IndexFromEnd | L::SliceMid => {
                Ins::new(op, cx.reg(a)?, cx.reg(b)?, cc as u32)
            }
            // One register.
            L::LoadNull
            | L::LoadAbsent
            | L::Resume
            | L::HandleAbort
            | L::DeferPush
            | L::TraceRef
            | L::Return
            | L::Halt
            | L::Emit
            | L::MatchFail
            | L::CheckRecord => Ins::new(op, cx.reg(a)?, 0, 0),
            // A register and a jump target.
            L::JumpIfPresent
            | L::JumpIfTrue
            | L::JumpIfNull
            | L::JumpIfNotNull
            | L::HandleEnter => Ins::new(op, cx.reg(a)?, cx.target(b)?, 0),
            // `c` = 1: the tested register is dead after the jump.
            L::JumpIfFalse => Ins::new(op, cx.reg(a)?, cx.target(b)?, u32::from(cc == 1)),
            L::Jump => Ins::new(op, cx.target(a)?, 0, 0),
            L::IterNext => Ins::new(op, cx.reg(a)?, cx.reg(b)?, cx.target(cc)?),
            L::LoadConst => {
                if b < 0 || b as usize >= cx.consts.len() {
                    return Err(cx.bad("constant out of range"));
                }
                // `c` = 1: a single-use temporary (see `fuse`).
                Ins::new(op, cx.reg(a)?, b as u32, u32::from(cc == 1))
            }
            L::LoadBool => Ins::new(op, cx.reg(a)?, u32::from(b != 0), u32::from(cc == 1)),
            L::LoadCell => Ins::new(op, cx.reg(a)?, cx.cell(b)?, 0),
            L::LoadBuiltin => Ins::new(op, cx.reg(a)?, b as u32, 0),
            L::Call => {
                let cell = cx.cell(b)?;
                cx.reg(a + cc)?;
                Ins::new(op, cx.reg(a)?, cell, cc as u32)
            }
            L::CallBuiltin => {
                cx.reg(a + cc)?;
                Ins::new(op, cx.reg(a)?, b as u32, cc as u32)
            }
            L::CallValue => {
                cx.reg(a + cc)?;
                Ins::new(op, cx.reg(a)?, 0, cc as u32)
            }
            L::CallMethod | L::Perform => {
                cx.reg(a + cc)?;
                let id = self.intern(&cx.konst_str(b)?);
                Ins::new(op, cx.reg(a)?, id, cc as u32)
            }
            L::CallTool => Ins::new(op, cx.reg(a)?, b as u32, cx.reg(cc)?),
            L::HandlePush => {
                let id = self.intern(&cx.konst_str(a)?);
                Ins::new(op, id, cx.target(b)?, cc as u32)
            }
            L::HandlePushNamed => {
                if a < 0 || a as usize >= m.handlers.len() {
                    return Err(cx.bad("handler index out of range"));
                }
                Ins::new(op, a as u32, 0, 0)
            }
            L::HandlePop => Ins::new(op, a as u32, cx.reg(b)?, 0),
            L::DeferRun => Ins::new(op, a as u32, 0, 0),
            L::MakeList | L::MakeSet | L::MakeTuple | L::Join => {
                if cc > 0 {
                    cx.reg(b + cc - 1)?;
                }
                Ins::new(op, cx.reg(a)?, b.max(0) as u32, cc as u32)
            }
            L::MakeMap => {
                if cc > 0 {
                    cx.reg(b + 2 * cc - 1)?;
                }
                Ins::new(op, cx.reg(a)?, b.max(0) as u32, cc as u32)
            }
            L::Insert => {
                cx.reg(b + 1)?;
                Ins::new(op, cx.reg(a)?, cx.reg(b)?, 0)
            }
            L::MakeRecord if b < 0 => {
                // A process instance: `c` names the process.
                let name = cx.konst_str(cc)?;
                let pi = m
                    .processes
                    .iter()
                    .position(|x| x.name == name)
                    .ok_or_else(|| cx.bad(&format!("no process `{name}`")))?;
                Ins::new(Op::MakeObject, cx.reg(a)?, pi as u32, 0)
            }
            L::MakeRecord => {
                let nf = m
                    .types
                    .get(b as usize)
                    .map(|t| t.fields.len())
                    .ok_or_else(|| cx.bad("type index out of range"))?;
                if nf > 0 {
                    cx.reg(cc + nf as i64 - 1)?;
                }
                Ins::new(op, cx.reg(a)?, b as u32, cc.max(0) as u32)
            }
            L::MakeVariant => {
                let k = cx.konst_str(b)?;
                let id = self
                    .variant_id(&k)
                    .ok_or_else(|| cx.bad(&format!("unknown variant `{k}`")))?;
                let (ty, tag) = &self.variants[id as usize];
                let arity = ty.variants[*tag as usize].1;
                let start = if arity == 0 {
                    NONE
                } else {
                    cx.reg(cc + arity as i64 - 1)?;
                    cx.reg(cc)?
                };
                Ins::new(op, cx.reg(a)?, id, start)
            }
            L::GetField => {
                let id = self.intern(&cx.konst_str(cc)?);
                Ins::new(op, cx.reg(a)?, cx.reg(b)?, id)
            }
            L::SetField => {
                let id = self.intern(&cx.konst_str(b)?);
                Ins::new(op, cx.reg(a)?, id, cx.reg(cc)?)
            }
            L::TestVariant => {
                let id = self.variant_id(&cx.konst_str(cc)?).unwrap_or(NONE);
                Ins::new(op, cx.reg(a)?, cx.reg(b)?, id)
            }
            L::TestType | L::Convert | L::ExpectSchema => {
                let t = parse_type_test(&cx.konst_str(cc)?);
                self.type_tests.push(t);
                Ins::new(
                    op,
                    cx.reg(a)?,
                    cx.reg(b)?,
                    (self.type_tests.len() - 1) as u32,
                )
            }
            L::Format => {
                let spec = if cc < 0 {
                    NONE
                } else {
                    let j = cx
                        .cell
                        .constants
                        .get(cc as usize)
                        .ok_or_else(|| cx.bad("format spec out of range"))?;
                    self.specs.push(spec_of(j));
                    (self.specs.len() - 1) as u32
                };
                Ins::new(op, cx.reg(a)?, cx.reg(b)?, spec)
            }
            L::Closure => {
                let cell = cx.cell(b)?;
                let caps = m.cells[b as usize].captures as i64;
                if caps > 0 {
                    cx.reg(cc + caps - 1)?;
                }
                Ins::new(op, cx.reg(a)?, cell, cc.max(0) as u32)
            }
            L::Raise => {
                cx.konst_str(a)?;
                cx.konst_str(b)?;
                Ins::new(op, a as u32, b as u32, 0)
            }
            L::Nop if b == 1 => Ins::new(Op::SpreadArg, cx.reg(a)?, 0, 0),
            L::Nop => Ins::new(op, a.max(0) as u32, 0, 0),
        })
    }
}

/// The bounds a cell's operands are checked against.
struct CellCheck<'a> {
    cell: &'a lir::Cell,
    consts: &'a [Value],
    regs: i64,
    /// Instructions in the cell (a jump may land just past the last).
    len: i64,
    ncells: usize,
}

impl CellCheck<'_> {
    fn bad(&self, what: &str) -> LoadError {
        LoadError(format!("cell `{}`: {what}", self.cell.name))
    }

    fn reg(&self, r: i64) -> Result<u32, LoadError> {
        if r < 0 || r >= self.regs {
            Err(self.bad(&format!("register {r} out of range")))
        } else {
            Ok(r as u32)
        }
    }

    fn target(&self, t: i64) -> Result<u32, LoadError> {
        if t < 0 || t > self.len {
            Err(self.bad(&format!("jump target {t} out of range")))
        } else {
            Ok(t as u32)
        }
    }

    fn cell(&self, i: i64) -> Result<u32, LoadError> {
        if i < 0 || i as usize >= self.ncells {
            Err(self.bad("cell index out of range"))
        } else {
            Ok(i as u32)
        }
    }

    fn konst_str(&self, i: i64) -> Result<String, LoadError> {
        self.consts
            .get(i as usize)
            .and_then(|v| match v {
                Value::Str(s) => Some((**s).clone()),
                _ => None,
            })
            .ok_or_else(|| self.bad(&format!("constant {i} is not a string")))
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
