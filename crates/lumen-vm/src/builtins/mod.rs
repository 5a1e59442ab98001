//! The builtin functions of §13, by their index in the builtin table
//! (`lumen_lir::builtins`): `call` sends each to the module of its kind.
//! Each module's `call` is `#[inline(always)]`: the split is for readers,
//! and the compiler still sees one dispatch (a real call per kind cost the
//! strings kernel about 30 instructions per builtin call).

use std::collections::BTreeMap;

use crate::error::{fail, ErrorKind, VmResult};
use crate::value::Value;
use crate::vm::Vm;

mod checks;
mod convert;
mod higher;
mod lists;
mod maps;
mod math;
mod text;
mod world;

pub use lists::sort_values;

fn arg_error<T>(name: &str, what: &str) -> VmResult<T> {
    fail(ErrorKind::TypeError, format!("{name}: {what}"))
}

fn int(name: &str, v: &Value) -> VmResult<i64> {
    match v {
        Value::Int(i) => Ok(*i),
        other => arg_error(
            name,
            &format!("expected an Int, found {}", other.type_name()),
        ),
    }
}

fn num(name: &str, v: &Value) -> VmResult<f64> {
    match v {
        Value::Int(i) => Ok(*i as f64),
        Value::Float(f) => Ok(*f),
        other => arg_error(
            name,
            &format!("expected a number, found {}", other.type_name()),
        ),
    }
}

fn string<'a>(name: &str, v: &'a Value) -> VmResult<&'a str> {
    match v {
        Value::Str(s) => Ok(s),
        other => arg_error(
            name,
            &format!("expected a String, found {}", other.type_name()),
        ),
    }
}

fn seq<'a>(name: &str, v: &'a Value) -> VmResult<&'a [Value]> {
    match v {
        Value::List(xs) | Value::Tuple(xs) => Ok(xs),
        other => arg_error(
            name,
            &format!("expected a list, found {}", other.type_name()),
        ),
    }
}

fn map<'a>(name: &str, v: &'a Value) -> VmResult<&'a BTreeMap<Value, Value>> {
    match v {
        Value::Map(m) => Ok(m),
        other => arg_error(
            name,
            &format!("expected a map, found {}", other.type_name()),
        ),
    }
}

fn truthy(name: &str, v: &Value) -> VmResult<bool> {
    match v {
        Value::Bool(b) => Ok(*b),
        other => arg_error(
            name,
            &format!("the function must return a Bool, not {}", other.type_name()),
        ),
    }
}

/// `len` of a value (§13).
pub fn length(v: &Value) -> VmResult<i64> {
    Ok(match v {
        Value::Str(s) => s.chars().count() as i64,
        Value::List(xs) | Value::Tuple(xs) => xs.len() as i64,
        Value::Map(m) => m.len() as i64,
        Value::Set(s) => s.len() as i64,
        Value::Bytes(b) => b.len() as i64,
        other => return arg_error("len", &format!("{} has no length", other.type_name())),
    })
}

/// Clamped slice bounds with negative indices from the end.
fn bounds(len: usize, a: i64, b: i64) -> (usize, usize) {
    let fix = |i: i64| -> usize {
        let i = if i < 0 { len as i64 + i } else { i };
        i.clamp(0, len as i64) as usize
    };
    let (x, y) = (fix(a), fix(b));
    (x, y.max(x))
}

fn assertion<T>(msg: String) -> VmResult<T> {
    fail(ErrorKind::AssertionFailed, msg)
}

/// Builtin indices (positions in the compiler's `BUILTINS`, which is what
/// `CallBuiltin` carries), found at compile time: `call` dispatches on the
/// number, never on the name.
pub(crate) mod id {
    use lumen_lir::builtins::BUILTINS;

    const fn index(name: &str) -> usize {
        let n = name.as_bytes();
        let mut i = 0;
        while i < BUILTINS.len() {
            let b = BUILTINS[i].name.as_bytes();
            if b.len() == n.len() {
                let mut k = 0;
                while k < n.len() && b[k] == n[k] {
                    k += 1;
                }
                if k == n.len() {
                    return i;
                }
            }
            i += 1;
        }
        panic!("not a builtin name")
    }

    pub const PRINT: usize = index("print");
    pub const DEBUG: usize = index("debug");
    pub const TO_STRING: usize = index("to_string");
    pub const STR: usize = index("str");
    pub const STRING: usize = index("string");
    pub const TO_INT: usize = index("to_int");
    pub const INT: usize = index("int");
    pub const TO_FLOAT: usize = index("to_float");
    pub const FLOAT: usize = index("float");
    pub const BOOL: usize = index("bool");
    pub const BYTES: usize = index("bytes");
    pub const JSON: usize = index("json");
    pub const PARSE_INT: usize = index("parse_int");
    pub const PARSE_FLOAT: usize = index("parse_float");
    pub const TYPE_OF: usize = index("type_of");
    pub const JSON_ENCODE: usize = index("json_encode");
    pub const TO_JSON: usize = index("to_json");
    pub const JSON_PARSE: usize = index("json_parse");
    pub const PARSE_JSON: usize = index("parse_json");
    pub const HASH: usize = index("hash");
    pub const EXIT: usize = index("exit");
    pub const LEN: usize = index("len");
    pub const LENGTH: usize = index("length");
    pub const COUNT: usize = index("count");
    pub const SIZE: usize = index("size");
    pub const IS_EMPTY: usize = index("is_empty");
    pub const APPEND: usize = index("append");
    pub const RANGE: usize = index("range");
    pub const CONTAINS: usize = index("contains");
    pub const FIRST: usize = index("first");
    pub const LAST: usize = index("last");
    pub const TAKE: usize = index("take");
    pub const DROP: usize = index("drop");
    pub const SLICE: usize = index("slice");
    pub const REVERSE: usize = index("reverse");
    pub const SORT: usize = index("sort");
    pub const SORT_BY: usize = index("sort_by");
    pub const UNIQUE: usize = index("unique");
    pub const FLATTEN: usize = index("flatten");
    pub const ZIP: usize = index("zip");
    pub const ENUMERATE: usize = index("enumerate");
    pub const CHUNK: usize = index("chunk");
    pub const WINDOW: usize = index("window");
    pub const MAP: usize = index("map");
    pub const FILTER: usize = index("filter");
    pub const FLAT_MAP: usize = index("flat_map");
    pub const REDUCE: usize = index("reduce");
    pub const ANY: usize = index("any");
    pub const ALL: usize = index("all");
    pub const FIND: usize = index("find");
    pub const POSITION: usize = index("position");
    pub const GROUP_BY: usize = index("group_by");
    pub const SUM: usize = index("sum");
    pub const KEYS: usize = index("keys");
    pub const VALUES: usize = index("values");
    pub const ENTRIES: usize = index("entries");
    pub const HAS_KEY: usize = index("has_key");
    pub const GET: usize = index("get");
    pub const GET_OR: usize = index("get_or");
    pub const REMOVE: usize = index("remove");
    pub const MERGE: usize = index("merge");
    pub const TO_SET: usize = index("to_set");
    pub const SET: usize = index("set");
    pub const TO_LIST: usize = index("to_list");
    pub const LIST: usize = index("list");
    pub const TUPLE: usize = index("tuple");
    pub const ADD: usize = index("add");
    pub const SPLIT: usize = index("split");
    pub const JOIN: usize = index("join");
    pub const REPLACE: usize = index("replace");
    pub const TRIM: usize = index("trim");
    pub const TRIM_START: usize = index("trim_start");
    pub const TRIM_END: usize = index("trim_end");
    pub const UPPER: usize = index("upper");
    pub const LOWER: usize = index("lower");
    pub const STARTS_WITH: usize = index("starts_with");
    pub const ENDS_WITH: usize = index("ends_with");
    pub const INDEX_OF: usize = index("index_of");
    pub const CHARS: usize = index("chars");
    pub const PAD_LEFT: usize = index("pad_left");
    pub const PAD_RIGHT: usize = index("pad_right");
    pub const ABS: usize = index("abs");
    pub const MIN: usize = index("min");
    pub const MAX: usize = index("max");
    pub const CLAMP: usize = index("clamp");
    pub const ROUND: usize = index("round");
    pub const FLOOR: usize = index("floor");
    pub const CEIL: usize = index("ceil");
    pub const SQRT: usize = index("sqrt");
    pub const LOG: usize = index("log");
    pub const SIN: usize = index("sin");
    pub const COS: usize = index("cos");
    pub const POW: usize = index("pow");
    pub const IS_OK: usize = index("is_ok");
    pub const IS_ERR: usize = index("is_err");
    pub const UNWRAP: usize = index("unwrap");
    pub const UNWRAP_OR: usize = index("unwrap_or");
    pub const ASSERT: usize = index("assert");
    pub const ASSERT_EQ: usize = index("assert_eq");
    pub const ASSERT_NE: usize = index("assert_ne");
    pub const ASSERT_CONTAINS: usize = index("assert_contains");
    pub const ASSERT_ERR: usize = index("assert_err");
    pub const UUID: usize = index("uuid");
    pub const TIMESTAMP: usize = index("timestamp");
    pub const RANDOM: usize = index("random");
    pub const RANDOM_INT: usize = index("random_int");
    pub const GET_ENV: usize = index("get_env");
    pub const READ_FILE: usize = index("read_file");
    pub const WRITE_FILE: usize = index("write_file");
    pub const SPAWN: usize = index("spawn");
    pub const PARALLEL: usize = index("parallel");
    pub const RACE: usize = index("race");
    pub const TRACE_REF: usize = index("trace_ref");
    pub const OK: usize = index("ok");
    pub const ERR: usize = index("err");
    pub const HALT: usize = index("halt");
}

/// A builtin's arguments: inline up to four, so most calls allocate nothing.
pub type Args = smallvec::SmallVec<[Value; 4]>;

/// Calls builtin `idx` with `args`.
pub fn call(vm: &mut Vm, idx: usize, args: Args) -> VmResult<Value> {
    let name = lumen_lir::builtins::BUILTINS
        .get(idx)
        .map(|b| b.name)
        .unwrap_or("?");
    match idx {
        id::PRINT
        | id::DEBUG
        | id::TO_STRING
        | id::STR
        | id::STRING
        | id::TO_INT
        | id::INT
        | id::TO_FLOAT
        | id::FLOAT
        | id::BOOL
        | id::BYTES
        | id::JSON
        | id::PARSE_INT
        | id::PARSE_FLOAT
        | id::TYPE_OF
        | id::JSON_ENCODE
        | id::TO_JSON
        | id::JSON_PARSE
        | id::PARSE_JSON
        | id::HASH
        | id::EXIT
        | id::TRACE_REF
        | id::OK
        | id::ERR
        | id::HALT => convert::call(vm, idx, name, &args),
        id::LEN
        | id::LENGTH
        | id::COUNT
        | id::SIZE
        | id::IS_EMPTY
        | id::APPEND
        | id::RANGE
        | id::CONTAINS
        | id::FIRST
        | id::LAST
        | id::TAKE
        | id::DROP
        | id::SLICE
        | id::REVERSE
        | id::SORT
        | id::UNIQUE
        | id::FLATTEN
        | id::ZIP
        | id::ENUMERATE
        | id::CHUNK
        | id::WINDOW
        | id::SUM => lists::call(idx, name, &args),
        id::SORT_BY
        | id::MAP
        | id::FILTER
        | id::FLAT_MAP
        | id::REDUCE
        | id::ANY
        | id::ALL
        | id::FIND
        | id::POSITION
        | id::GROUP_BY
        | id::SPAWN
        | id::PARALLEL
        | id::RACE => higher::call(vm, idx, name, &args),
        id::KEYS
        | id::VALUES
        | id::ENTRIES
        | id::HAS_KEY
        | id::GET
        | id::GET_OR
        | id::REMOVE
        | id::MERGE
        | id::TO_SET
        | id::SET
        | id::TO_LIST
        | id::LIST
        | id::TUPLE
        | id::ADD => maps::call(idx, name, &args),
        id::SPLIT
        | id::JOIN
        | id::REPLACE
        | id::TRIM
        | id::TRIM_START
        | id::TRIM_END
        | id::UPPER
        | id::LOWER
        | id::STARTS_WITH
        | id::ENDS_WITH
        | id::INDEX_OF
        | id::CHARS
        | id::PAD_LEFT
        | id::PAD_RIGHT => text::call(idx, name, &args),
        id::ABS
        | id::MIN
        | id::MAX
        | id::CLAMP
        | id::ROUND
        | id::FLOOR
        | id::CEIL
        | id::SQRT
        | id::LOG
        | id::SIN
        | id::COS
        | id::POW => math::call(idx, name, &args),
        id::IS_OK
        | id::IS_ERR
        | id::UNWRAP
        | id::UNWRAP_OR
        | id::ASSERT
        | id::ASSERT_EQ
        | id::ASSERT_NE
        | id::ASSERT_CONTAINS
        | id::ASSERT_ERR => checks::call(idx, name, &args),
        id::UUID
        | id::TIMESTAMP
        | id::RANDOM
        | id::RANDOM_INT
        | id::GET_ENV
        | id::READ_FILE
        | id::WRITE_FILE => world::call(idx, name, &args),
        _ => not_here(name),
    }
}

/// A builtin index no module serves (a LIR module from another compiler).
fn not_here<T>(name: &str) -> VmResult<T> {
    fail(
        ErrorKind::UndefinedCell,
        format!("builtin `{name}` is not available"),
    )
}
