//! Lists and tuples: length, slicing, ordering, combining.

use std::collections::BTreeSet;
use std::rc::Rc;

use super::*;
use crate::error::{fail, ErrorKind, VmResult};
use crate::value::Value;

#[inline(always)]
pub(super) fn call(idx: usize, name: &str, args: &Args) -> VmResult<Value> {
    let a = |i: usize| args.get(i).cloned().unwrap_or(Value::Null);
    let ar = |i: usize| args.get(i).unwrap_or(&Value::Null);
    Ok(match idx {
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
        id::SUM => {
            let mut acc = Value::Int(0);
            for x in seq(name, ar(0))? {
                acc = crate::ops::binary(crate::program::Op::Add, &acc, x)?;
            }
            acc
        }
        _ => return not_here(name),
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
