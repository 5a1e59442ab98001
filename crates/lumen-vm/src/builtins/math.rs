//! Numbers.

use super::*;
use crate::error::{fail, ErrorKind, VmResult};
use crate::value::Value;

#[inline(always)]
pub(super) fn call(idx: usize, name: &str, args: &Args) -> VmResult<Value> {
    let ar = |i: usize| args.get(i).unwrap_or(&Value::Null);
    Ok(match idx {
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
        _ => return not_here(name),
    })
}
