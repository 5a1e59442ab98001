//! Builtins that call a function back (`map`, `filter`, `sort_by`...),
//! and the future builtins (`spawn`, `parallel`, `race`), which run their
//! functions eagerly.

use std::collections::BTreeMap;
use std::rc::Rc;

use super::*;
use crate::error::VmResult;
use crate::value::Value;
use crate::vm::Vm;

#[inline(always)]
pub(super) fn call(vm: &mut Vm, idx: usize, name: &str, args: &Args) -> VmResult<Value> {
    let a = |i: usize| args.get(i).cloned().unwrap_or(Value::Null);
    let ar = |i: usize| args.get(i).unwrap_or(&Value::Null);
    Ok(match idx {
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
        id::SPAWN => {
            let f = a(0);
            let v = vm.call_value(&f, args[1..].to_vec())?;
            Value::Future(Rc::new(v))
        }
        id::PARALLEL => {
            let mut out = Vec::new();
            for f in args.iter() {
                out.push(vm.call_value(f, Vec::new())?);
            }
            Value::list(out)
        }
        id::RACE => match args.first() {
            Some(f) => vm.call_value(f, Vec::new())?,
            None => Value::Null,
        },
        _ => return not_here(name),
    })
}
