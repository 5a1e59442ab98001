//! Maps, sets and the collection constructors.

use std::collections::BTreeSet;
use std::rc::Rc;

use super::*;
use crate::error::VmResult;
use crate::value::Value;

#[inline(always)]
pub(super) fn call(idx: usize, name: &str, args: &Args) -> VmResult<Value> {
    let a = |i: usize| args.get(i).cloned().unwrap_or(Value::Null);
    let ar = |i: usize| args.get(i).unwrap_or(&Value::Null);
    Ok(match idx {
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
        _ => return not_here(name),
    })
}
