//! Results (`is_ok`, `unwrap`...) and the assertions of `lumen test`.

use super::*;
use crate::error::{fail, ErrorKind, VmResult};
use crate::value::{result_is_ok, Value};

#[inline(always)]
pub(super) fn call(idx: usize, name: &str, args: &Args) -> VmResult<Value> {
    let a = |i: usize| args.get(i).cloned().unwrap_or(Value::Null);
    let ar = |i: usize| args.get(i).unwrap_or(&Value::Null);
    Ok(match idx {
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
                // An optional third argument says what was meant.
                let why = match args.get(2) {
                    Some(m) if !m.display().is_empty() => format!(" ({})", m.display()),
                    _ => String::new(),
                };
                return assertion(format!(
                    "{name}: {} {op} {}{why}",
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
        _ => return not_here(name),
    })
}
