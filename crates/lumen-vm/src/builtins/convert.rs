//! Conversions, output, JSON, hashing and the builtins that end or
//! mark a run (`exit`, `halt`, `trace_ref`, `ok`, `err`).

use std::rc::Rc;

use sha2::{Digest, Sha256};

use super::*;
use crate::error::{fail, ErrorKind, Unwind, VmResult};
use crate::value::{err, from_json, ok, to_json, Value};
use crate::vm::Vm;

#[inline(always)]
pub(super) fn call(vm: &mut Vm, idx: usize, name: &str, args: &Args) -> VmResult<Value> {
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
        id::TRACE_REF => {
            let (run, seq) = vm.host.trace_ref();
            Value::TraceRef(Rc::new((run, seq)))
        }
        id::OK => ok(a(0)),
        id::ERR => err(a(0)),
        id::HALT => return fail(ErrorKind::Halt, ar(0).display()),
        _ => return not_here(name),
    })
}
