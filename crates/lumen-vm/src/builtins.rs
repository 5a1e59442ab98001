//! The builtin functions of §13, by their index in the compiler's table.

use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use sha2::{Digest, Sha256};

use crate::error::{fail, ErrorKind, Unwind, VmResult};
use crate::value::{err, from_json, ok, result_is_ok, to_json, Value};
use crate::vm::Vm;

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
    use lumen_compiler::builtins::BUILTINS;

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

pub fn call(vm: &mut Vm, idx: usize, args: Args) -> VmResult<Value> {
    let name = lumen_compiler::builtins::BUILTINS
        .get(idx)
        .map(|b| b.name)
        .unwrap_or("?");
    let a = |i: usize| args.get(i).cloned().unwrap_or(Value::Null);
    let ar = |i: usize| args.get(i).unwrap_or(&Value::Null);
    Ok(match idx {
        id::PRINT => {
            let mut s = String::new();
            for (i, v) in args.iter().enumerate() {
                if i > 0 {
                    s.push(' ');
                }
                v.write_display(&mut s);
            }
            s.push('\n');
            vm.host.out(&s);
            Value::Null
        }
        id::DEBUG => {
            let s = format!("[debug] {}\n", ar(0).nested());
            vm.host.err(&s);
            Value::Null
        }
        id::TO_STRING | id::STR | id::STRING => Value::str(ar(0).display()),
        id::TO_INT | id::INT => match ar(0) {
            Value::Int(i) => Value::Int(*i),
            Value::Float(f) if f.is_finite() && f.abs() < 9.3e18 => Value::Int(f.trunc() as i64),
            Value::Float(f) => {
                return fail(
                    ErrorKind::InvalidArgument,
                    format!("to_int: {} has no Int value", Value::Float(*f).display()),
                )
            }
            Value::Bool(b) => Value::Int(i64::from(*b)),
            Value::Str(s) => match s.trim().parse::<i64>() {
                Ok(i) => Value::Int(i),
                Err(_) => Value::Null,
            },
            other => return arg_error(name, &format!("cannot convert {}", other.type_name())),
        },
        id::TO_FLOAT | id::FLOAT => match ar(0) {
            Value::Int(i) => Value::Float(*i as f64),
            Value::Float(f) => Value::Float(*f),
            Value::Str(s) => match s.trim().parse::<f64>() {
                Ok(f) => Value::Float(f),
                Err(_) => Value::Null,
            },
            other => return arg_error(name, &format!("cannot convert {}", other.type_name())),
        },
        id::BOOL => match ar(0) {
            Value::Bool(b) => Value::Bool(*b),
            Value::Str(s) if s.as_str() == "true" => Value::Bool(true),
            Value::Str(s) if s.as_str() == "false" => Value::Bool(false),
            other => return arg_error(name, &format!("cannot convert {}", other.nested())),
        },
        id::BYTES => match ar(0) {
            Value::Bytes(b) => Value::Bytes(b.clone()),
            Value::Str(s) => Value::Bytes(Rc::new(s.as_bytes().to_vec())),
            other => return arg_error(name, &format!("cannot convert {}", other.type_name())),
        },
        id::JSON => a(0),
        id::PARSE_INT => match string(name, ar(0))?.trim().parse::<i64>() {
            Ok(i) => ok(Value::Int(i)),
            Err(_) => err(Value::str(format!("not an integer: {}", ar(0).nested()))),
        },
        id::PARSE_FLOAT => match string(name, ar(0))?.trim().parse::<f64>() {
            Ok(f) => ok(Value::Float(f)),
            Err(_) => err(Value::str(format!("not a number: {}", ar(0).nested()))),
        },
        id::TYPE_OF => Value::str(ar(0).type_name()),
        id::JSON_ENCODE | id::TO_JSON => {
            let mut s = String::new();
            if let Err(e) = to_json(ar(0), &mut s) {
                return fail(ErrorKind::InvalidArgument, format!("{name}: {e}"));
            }
            Value::str(s)
        }
        id::JSON_PARSE | id::PARSE_JSON => match serde_json::from_str(string(name, ar(0))?) {
            Ok(j) => from_json(&j),
            Err(e) => return fail(ErrorKind::InvalidArgument, format!("{name}: {e}")),
        },
        id::HASH => {
            let d = Sha256::digest(string(name, ar(0))?.as_bytes());
            let hex: String = d.iter().map(|b| format!("{b:02x}")).collect();
            Value::str(format!("sha256:{hex}"))
        }
        id::EXIT => return Err(Unwind::Exit(int(name, ar(0))? as i32)),
        id::LEN | id::LENGTH | id::COUNT | id::SIZE => Value::Int(length(ar(0))?),
        id::IS_EMPTY => Value::Bool(length(ar(0))? == 0),
        id::APPEND => {
            let mut xs = a(0);
            match &mut xs {
                Value::List(v) => Rc::make_mut(v).push(a(1)),
                other => {
                    return arg_error(
                        name,
                        &format!("expected a list, found {}", other.type_name()),
                    )
                }
            }
            xs
        }
        id::RANGE => {
            let (x, y) = (int(name, ar(0))?, int(name, ar(1))?);
            if y > x {
                crate::ops::check_size((y as i128 - x as i128) as u128, "range")?;
            }
            Value::list(if y > x {
                (x..y).map(Value::Int).collect()
            } else {
                Vec::new()
            })
        }
        id::CONTAINS => Value::Bool(crate::ops::contains(ar(0), ar(1))?),
        id::FIRST => seq(name, ar(0))?.first().cloned().unwrap_or(Value::Null),
        id::LAST => seq(name, ar(0))?.last().cloned().unwrap_or(Value::Null),
        id::TAKE | id::DROP => {
            let xs = seq(name, ar(0))?;
            let n = int(name, ar(1))?.clamp(0, xs.len() as i64) as usize;
            Value::list(if name == "take" {
                xs[..n].to_vec()
            } else {
                xs[n..].to_vec()
            })
        }
        id::SLICE => {
            let (x, y) = (int(name, ar(1))?, int(name, ar(2))?);
            match ar(0) {
                Value::Str(s) => {
                    let cs: Vec<char> = s.chars().collect();
                    let (i, j) = bounds(cs.len(), x, y);
                    Value::str(cs[i..j].iter().collect::<String>())
                }
                v => {
                    let xs = seq(name, v)?;
                    let (i, j) = bounds(xs.len(), x, y);
                    Value::list(xs[i..j].to_vec())
                }
            }
        }
        id::REVERSE => match ar(0) {
            Value::Str(s) => Value::str(s.chars().rev().collect::<String>()),
            v => Value::list(seq(name, v)?.iter().rev().cloned().collect()),
        },
        id::SORT => {
            let mut xs = seq(name, ar(0))?.to_vec();
            sort_values(&mut xs)?;
            Value::list(xs)
        }
        id::SORT_BY => {
            let xs = seq(name, ar(0))?.to_vec();
            let f = a(1);
            let mut keyed = Vec::with_capacity(xs.len());
            for x in xs {
                let k = vm.call_value(&f, vec![x.clone()])?;
                keyed.push((k, x));
            }
            let mut failed = None;
            keyed.sort_by(|p, q| {
                p.0.compare(&q.0).unwrap_or_else(|| {
                    failed = Some((p.0.type_name(), q.0.type_name()));
                    std::cmp::Ordering::Equal
                })
            });
            if let Some((x, y)) = failed {
                return arg_error(name, &format!("keys {x} and {y} do not compare"));
            }
            Value::list(keyed.into_iter().map(|p| p.1).collect())
        }
        id::UNIQUE => {
            let mut out: Vec<Value> = Vec::new();
            let mut seen = BTreeSet::new();
            for x in seq(name, ar(0))? {
                if seen.insert(x.clone()) {
                    out.push(x.clone());
                }
            }
            Value::list(out)
        }
        id::FLATTEN => {
            let mut out = Vec::new();
            for x in seq(name, ar(0))? {
                match x {
                    Value::List(ys) | Value::Tuple(ys) => out.extend(ys.iter().cloned()),
                    other => out.push(other.clone()),
                }
            }
            Value::list(out)
        }
        id::ZIP => {
            let (xs, ys) = (seq(name, ar(0))?, seq(name, ar(1))?);
            Value::list(
                xs.iter()
                    .zip(ys)
                    .map(|(x, y)| Value::tuple(vec![x.clone(), y.clone()]))
                    .collect(),
            )
        }
        id::ENUMERATE => Value::list(
            seq(name, ar(0))?
                .iter()
                .enumerate()
                .map(|(i, x)| Value::tuple(vec![Value::Int(i as i64), x.clone()]))
                .collect(),
        ),
        id::CHUNK | id::WINDOW => {
            let xs = seq(name, ar(0))?;
            let n = int(name, ar(1))?;
            if n < 1 {
                return fail(
                    ErrorKind::InvalidArgument,
                    format!("{name}: size {n} is below 1"),
                );
            }
            let n = n as usize;
            let parts: Vec<Value> = if name == "chunk" {
                xs.chunks(n).map(|c| Value::list(c.to_vec())).collect()
            } else {
                xs.windows(n).map(|c| Value::list(c.to_vec())).collect()
            };
            Value::list(parts)
        }
        id::MAP => {
            let f = a(1);
            let xs = seq(name, ar(0))?.to_vec();
            let mut out = Vec::with_capacity(xs.len());
            for x in xs {
                out.push(vm.call_value(&f, vec![x])?);
            }
            Value::list(out)
        }
        id::FILTER => {
            let f = a(1);
            let xs = seq(name, ar(0))?.to_vec();
            let mut out = Vec::new();
            for x in xs {
                if truthy(name, &vm.call_value(&f, vec![x.clone()])?)? {
                    out.push(x);
                }
            }
            Value::list(out)
        }
        id::FLAT_MAP => {
            let f = a(1);
            let xs = seq(name, ar(0))?.to_vec();
            let mut out = Vec::new();
            for x in xs {
                match vm.call_value(&f, vec![x])? {
                    Value::List(ys) | Value::Tuple(ys) => out.extend(ys.iter().cloned()),
                    other => out.push(other),
                }
            }
            Value::list(out)
        }
        id::REDUCE => {
            let f = a(1);
            let mut acc = a(2);
            for x in seq(name, ar(0))?.to_vec() {
                acc = vm.call_value(&f, vec![acc, x])?;
            }
            acc
        }
        id::ANY | id::ALL => {
            let f = a(1);
            let want = name == "any";
            for x in seq(name, ar(0))?.to_vec() {
                if truthy(name, &vm.call_value(&f, vec![x])?)? == want {
                    return Ok(Value::Bool(want));
                }
            }
            Value::Bool(!want)
        }
        id::FIND | id::POSITION => {
            let f = a(1);
            for (i, x) in seq(name, ar(0))?.to_vec().into_iter().enumerate() {
                if truthy(name, &vm.call_value(&f, vec![x.clone()])?)? {
                    return Ok(if name == "find" {
                        x
                    } else {
                        Value::Int(i as i64)
                    });
                }
            }
            if name == "find" {
                Value::Null
            } else {
                Value::Int(-1)
            }
        }
        id::GROUP_BY => {
            let f = a(1);
            let mut out: BTreeMap<Value, Value> = BTreeMap::new();
            for x in seq(name, ar(0))?.to_vec() {
                let k = vm.call_value(&f, vec![x.clone()])?;
                match out.entry(k).or_insert_with(|| Value::list(Vec::new())) {
                    Value::List(v) => Rc::make_mut(v).push(x),
                    _ => unreachable!("group_by groups are lists"),
                }
            }
            Value::Map(Rc::new(out))
        }
        id::SUM => {
            let mut acc = Value::Int(0);
            for x in seq(name, ar(0))? {
                acc = crate::ops::binary(crate::program::Op::Add, &acc, x)?;
            }
            acc
        }
        id::KEYS => Value::list(map(name, ar(0))?.keys().cloned().collect()),
        id::VALUES => Value::list(map(name, ar(0))?.values().cloned().collect()),
        id::ENTRIES => Value::list(
            map(name, ar(0))?
                .iter()
                .map(|(k, v)| Value::tuple(vec![k.clone(), v.clone()]))
                .collect(),
        ),
        id::HAS_KEY => Value::Bool(map(name, ar(0))?.contains_key(ar(1))),
        id::GET => match ar(0) {
            Value::Map(m) => m.get(ar(1)).cloned().unwrap_or(Value::Null),
            v => {
                let xs = seq(name, v)?;
                let i = int(name, ar(1))?;
                let i = if i < 0 { xs.len() as i64 + i } else { i };
                if (0..xs.len() as i64).contains(&i) {
                    xs[i as usize].clone()
                } else {
                    Value::Null
                }
            }
        },
        id::GET_OR => map(name, ar(0))?.get(ar(1)).cloned().unwrap_or(a(2)),
        id::REMOVE => match a(0) {
            Value::Map(mut m) => {
                Rc::make_mut(&mut m).remove(ar(1));
                Value::Map(m)
            }
            Value::Set(mut s) => {
                Rc::make_mut(&mut s).remove(ar(1));
                Value::Set(s)
            }
            other => {
                return arg_error(
                    name,
                    &format!("expected a map or set, found {}", other.type_name()),
                )
            }
        },
        id::MERGE => {
            let mut m = map(name, ar(0))?.clone();
            for (k, v) in map(name, ar(1))? {
                m.insert(k.clone(), v.clone());
            }
            Value::Map(Rc::new(m))
        }
        id::TO_SET | id::SET => match ar(0) {
            Value::Set(s) => Value::Set(s.clone()),
            Value::Null if args.is_empty() => Value::Set(Rc::new(BTreeSet::new())),
            v => Value::Set(Rc::new(seq(name, v)?.iter().cloned().collect())),
        },
        id::TO_LIST | id::LIST => match ar(0) {
            Value::Set(s) => Value::list(s.iter().cloned().collect()),
            Value::Map(m) => Value::list(
                m.iter()
                    .map(|(k, v)| Value::tuple(vec![k.clone(), v.clone()]))
                    .collect(),
            ),
            Value::Null if args.is_empty() => Value::list(Vec::new()),
            v => Value::list(seq(name, v)?.to_vec()),
        },
        id::TUPLE => match ar(0) {
            Value::Null if args.is_empty() => Value::tuple(Vec::new()),
            v => Value::tuple(seq(name, v)?.to_vec()),
        },
        id::ADD => match a(0) {
            Value::Set(mut s) => {
                Rc::make_mut(&mut s).insert(a(1));
                Value::Set(s)
            }
            other => {
                return arg_error(
                    name,
                    &format!("expected a set, found {}", other.type_name()),
                )
            }
        },
        id::SPLIT => {
            let (s, sep) = (string(name, ar(0))?, string(name, ar(1))?);
            let parts: Vec<Value> = if sep.is_empty() {
                s.chars().map(|c| Value::str(c.to_string())).collect()
            } else {
                s.split(sep).map(Value::str).collect()
            };
            Value::list(parts)
        }
        id::JOIN => {
            let sep = string(name, ar(1))?;
            let mut out = String::new();
            for (i, x) in seq(name, ar(0))?.iter().enumerate() {
                if i > 0 {
                    out.push_str(sep);
                }
                x.write_display(&mut out);
            }
            Value::str(out)
        }
        id::REPLACE => {
            Value::str(string(name, ar(0))?.replace(string(name, ar(1))?, string(name, ar(2))?))
        }
        id::TRIM => Value::str(string(name, ar(0))?.trim()),
        id::TRIM_START => Value::str(string(name, ar(0))?.trim_start()),
        id::TRIM_END => Value::str(string(name, ar(0))?.trim_end()),
        id::UPPER => Value::str(string(name, ar(0))?.to_uppercase()),
        id::LOWER => Value::str(string(name, ar(0))?.to_lowercase()),
        id::STARTS_WITH => Value::Bool(string(name, ar(0))?.starts_with(string(name, ar(1))?)),
        id::ENDS_WITH => Value::Bool(string(name, ar(0))?.ends_with(string(name, ar(1))?)),
        id::INDEX_OF => {
            let (s, sub) = (string(name, ar(0))?, string(name, ar(1))?);
            Value::Int(match s.find(sub) {
                Some(b) => s[..b].chars().count() as i64,
                None => -1,
            })
        }
        id::CHARS => Value::list(
            string(name, ar(0))?
                .chars()
                .map(|c| Value::str(c.to_string()))
                .collect(),
        ),
        id::PAD_LEFT | id::PAD_RIGHT => {
            let s = string(name, ar(0))?;
            let w = int(name, ar(1))?.max(0) as usize;
            crate::ops::check_size((w / 16) as u128, name)?;
            let n = s.chars().count();
            let pad = " ".repeat(w.saturating_sub(n));
            Value::str(if name == "pad_left" {
                format!("{pad}{s}")
            } else {
                format!("{s}{pad}")
            })
        }
        id::ABS => match ar(0) {
            Value::Int(i) => match i.checked_abs() {
                Some(v) => Value::Int(v),
                None => return fail(ErrorKind::IntegerOverflow, "abs of the minimum Int"),
            },
            v => Value::Float(num(name, v)?.abs()),
        },
        id::MIN | id::MAX => {
            let (x, y) = (ar(0), ar(1));
            let o = crate::ops::order(x, y)?;
            let pick_x = match o {
                Some(std::cmp::Ordering::Greater) => name == "max",
                Some(std::cmp::Ordering::Less) => name == "min",
                _ => true,
            };
            if pick_x {
                x.clone()
            } else {
                y.clone()
            }
        }
        id::CLAMP => {
            let (x, lo, hi) = (ar(0), ar(1), ar(2));
            if crate::ops::order(x, lo)? == Some(std::cmp::Ordering::Less) {
                lo.clone()
            } else if crate::ops::order(x, hi)? == Some(std::cmp::Ordering::Greater) {
                hi.clone()
            } else {
                x.clone()
            }
        }
        id::ROUND => Value::Float(num(name, ar(0))?.round()),
        id::FLOOR => Value::Float(num(name, ar(0))?.floor()),
        id::CEIL => Value::Float(num(name, ar(0))?.ceil()),
        id::SQRT => Value::Float(num(name, ar(0))?.sqrt()),
        id::LOG => Value::Float(num(name, ar(0))?.ln()),
        id::SIN => Value::Float(num(name, ar(0))?.sin()),
        id::COS => Value::Float(num(name, ar(0))?.cos()),
        id::POW => Value::Float(num(name, ar(0))?.powf(num(name, ar(1))?)),
        id::IS_OK => Value::Bool(result_is_ok(ar(0)) == Some(true)),
        id::IS_ERR => Value::Bool(result_is_ok(ar(0)) == Some(false)),
        id::UNWRAP => match ar(0) {
            Value::Variant(v) if result_is_ok(ar(0)) == Some(true) => v.payload[0].clone(),
            Value::Variant(v) if result_is_ok(ar(0)) == Some(false) => {
                return fail(
                    ErrorKind::UnwrapFailed,
                    format!("unwrap of err({})", v.payload[0].nested()),
                )
            }
            Value::Null => return fail(ErrorKind::NullValue, "unwrap of null"),
            other => other.clone(),
        },
        id::UNWRAP_OR => match ar(0) {
            Value::Variant(v) if result_is_ok(ar(0)) == Some(true) => v.payload[0].clone(),
            Value::Variant(_) if result_is_ok(ar(0)) == Some(false) => a(1),
            Value::Null => a(1),
            other => other.clone(),
        },
        id::ASSERT => {
            if !matches!(ar(0), Value::Bool(true)) {
                let m = match args.get(1) {
                    Some(m) if !m.display().is_empty() => format!("assert: {}", m.display()),
                    _ => "assert: condition is false".into(),
                };
                return assertion(m);
            }
            Value::Null
        }
        id::ASSERT_EQ | id::ASSERT_NE => {
            let same = ar(0).equals(ar(1));
            if same != (name == "assert_eq") {
                let op = if name == "assert_eq" { "!=" } else { "==" };
                return assertion(format!(
                    "{name}: {} {op} {}",
                    ar(0).nested(),
                    ar(1).nested()
                ));
            }
            Value::Null
        }
        id::ASSERT_CONTAINS => {
            if !crate::ops::contains(ar(0), ar(1))? {
                return assertion(format!(
                    "assert_contains: {} does not contain {}",
                    ar(0).nested(),
                    ar(1).nested()
                ));
            }
            Value::Null
        }
        id::ASSERT_ERR => {
            if result_is_ok(ar(0)) != Some(false) {
                return assertion(format!("assert_err: {} is not err", ar(0).nested()));
            }
            Value::Null
        }
        id::UUID => {
            let mut b = [0u8; 16];
            fill_random(&mut b);
            b[6] = (b[6] & 0x0f) | 0x40;
            b[8] = (b[8] & 0x3f) | 0x80;
            let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
            Value::str(format!(
                "{}-{}-{}-{}-{}",
                &h[0..8],
                &h[8..12],
                &h[12..16],
                &h[16..20],
                &h[20..32]
            ))
        }
        id::TIMESTAMP => Value::Float(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs_f64())
                .unwrap_or(0.0),
        ),
        id::RANDOM => {
            let mut b = [0u8; 8];
            fill_random(&mut b);
            Value::Float((u64::from_le_bytes(b) >> 11) as f64 / (1u64 << 53) as f64)
        }
        id::RANDOM_INT => {
            let (lo, hi) = (int(name, ar(0))?, int(name, ar(1))?);
            if hi < lo {
                return fail(
                    ErrorKind::InvalidArgument,
                    format!("random_int: {lo} > {hi}"),
                );
            }
            let mut b = [0u8; 8];
            fill_random(&mut b);
            let span = (hi as i128 - lo as i128 + 1) as u128;
            Value::Int((lo as i128 + (u64::from_le_bytes(b) as u128 % span) as i128) as i64)
        }
        id::GET_ENV => match std::env::var(string(name, ar(0))?) {
            Ok(v) => Value::str(v),
            Err(_) => Value::Null,
        },
        id::READ_FILE => match std::fs::read_to_string(string(name, ar(0))?) {
            Ok(s) => Value::str(s),
            Err(e) => {
                return fail(
                    ErrorKind::InvalidArgument,
                    format!("read_file {}: {e}", ar(0).display()),
                )
            }
        },
        id::WRITE_FILE => {
            let (p, text) = (string(name, ar(0))?, ar(1).display());
            if let Err(e) = write_atomic(p, &text) {
                return fail(ErrorKind::InvalidArgument, format!("write_file {p}: {e}"));
            }
            Value::Null
        }
        id::SPAWN => {
            let f = a(0);
            let v = vm.call_value(&f, args[1..].to_vec())?;
            Value::Future(Rc::new(v))
        }
        id::PARALLEL => {
            let mut out = Vec::new();
            for f in &args {
                out.push(vm.call_value(f, Vec::new())?);
            }
            Value::list(out)
        }
        id::RACE => match args.first() {
            Some(f) => vm.call_value(f, Vec::new())?,
            None => Value::Null,
        },
        id::TRACE_REF => {
            let (run, seq) = vm.host.trace_ref();
            Value::TraceRef(Rc::new((run, seq)))
        }
        id::OK => ok(a(0)),
        id::ERR => err(a(0)),
        id::HALT => return fail(ErrorKind::Halt, ar(0).display()),
        _ => {
            return fail(
                ErrorKind::UndefinedCell,
                format!("builtin `{name}` is not available"),
            )
        }
    })
}

/// `sort` (§12.3): stable; values that do not compare are a type error.
pub fn sort_values(xs: &mut [Value]) -> VmResult<()> {
    let mut bad = None;
    xs.sort_by(|p, q| {
        p.compare(q).unwrap_or_else(|| {
            if !matches!((p, q), (Value::Float(_), _) | (_, Value::Float(_))) {
                bad = Some((p.type_name(), q.type_name()));
            }
            p.cmp(q)
        })
    });
    match bad {
        Some((x, y)) => fail(
            ErrorKind::TypeError,
            format!("sort: {x} and {y} do not compare"),
        ),
        None => Ok(()),
    }
}

fn fill_random(buf: &mut [u8]) {
    use std::io::Read;
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        if f.read_exact(buf).is_ok() {
            return;
        }
    }
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    for (i, b) in buf.iter_mut().enumerate() {
        *b = (t >> ((i % 16) * 8)) as u8;
    }
}

/// `write_file`: a temporary file in the same directory, synced, renamed.
fn write_atomic(path: &str, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let p = std::path::Path::new(path);
    let dir = p
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let tmp = dir.join(format!(
        ".{}.lumen-tmp-{}",
        p.file_name().and_then(|f| f.to_str()).unwrap_or("out"),
        std::process::id()
    ));
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, p)
}
