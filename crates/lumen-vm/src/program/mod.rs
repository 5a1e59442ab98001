//! Loading: a LIR module becomes a `Program` the interpreter runs without
//! any lookup by name — compact instructions (`isa`), constants as values,
//! field, variant, effect and method names resolved to numbers, operands
//! range-checked (`load`), and common sequences fused (`fuse`).

use std::collections::HashMap;
use std::rc::Rc;

use lumen_lir as lir;

use crate::value::{EnumType, RecordType, Value};

mod fuse;
mod isa;
mod load;

pub use isa::*;
pub use load::parse_type_test;

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
}
