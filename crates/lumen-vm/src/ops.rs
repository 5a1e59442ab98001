//! Operators on values (§6.2, §6.3): arithmetic with the overflow,
//! division and modulo rules, concatenation, bitwise operators,
//! comparison, membership and ranges.

use std::cmp::Ordering;
use std::rc::Rc;

use crate::error::{fail, ErrorKind, VmResult};
use crate::program::Op;
use crate::value::Value;

fn overflow<T>(what: &str) -> VmResult<T> {
    fail(
        ErrorKind::IntegerOverflow,
        format!("{what} overflows a 64-bit Int"),
    )
}

fn mismatch<T>(op: &str, a: &Value, b: &Value) -> VmResult<T> {
    fail(
        ErrorKind::TypeError,
        format!(
            "cannot apply `{op}` to {} and {}",
            a.type_name(),
            b.type_name()
        ),
    )
}

fn floats(a: &Value, b: &Value) -> Option<(f64, f64)> {
    match (a, b) {
        (Value::Float(x), Value::Float(y)) => Some((*x, *y)),
        (Value::Int(x), Value::Float(y)) => Some((*x as f64, *y)),
        (Value::Float(x), Value::Int(y)) => Some((*x, *y as f64)),
        _ => None,
    }
}

/// `a op b` for the binary operators other than `and`/`or`/`??`. One
/// arm per operator, each matching the operand types it accepts: long,
/// but the whole table of §6.2 is in one place.
pub fn binary(op: Op, a: &Value, b: &Value) -> VmResult<Value> {
    use Value::*;
    Ok(match op {
        Op::Add => match (a, b) {
            (Int(x), Int(y)) => match x.checked_add(*y) {
                Some(v) => Int(v),
                None => return overflow(&format!("{x} + {y}")),
            },
            (Str(_), _) | (_, Str(_)) => {
                // One allocation of about the right size, not a copy of
                // `a` grown to fit `b`.
                let mut s = String::with_capacity(a.display_len_hint() + b.display_len_hint());
                a.write_display(&mut s);
                b.write_display(&mut s);
                Value::str(s)
            }
            _ => match floats(a, b) {
                Some((x, y)) => Float(x + y),
                None => return mismatch("+", a, b),
            },
        },
        Op::Sub => match (a, b) {
            (Int(x), Int(y)) => match x.checked_sub(*y) {
                Some(v) => Int(v),
                None => return overflow(&format!("{x} - {y}")),
            },
            _ => match floats(a, b) {
                Some((x, y)) => Float(x - y),
                None => return mismatch("-", a, b),
            },
        },
        Op::Mul => match (a, b) {
            (Int(x), Int(y)) => match x.checked_mul(*y) {
                Some(v) => Int(v),
                None => return overflow(&format!("{x} * {y}")),
            },
            _ => match floats(a, b) {
                Some((x, y)) => Float(x * y),
                None => return mismatch("*", a, b),
            },
        },
        Op::Div => match (a, b) {
            (Int(_), Int(0)) => return fail(ErrorKind::DivisionByZero, "division by zero"),
            (Int(x), Int(y)) => match x.checked_div(*y) {
                Some(v) => Int(v),
                None => return overflow(&format!("{x} / {y}")),
            },
            _ => match floats(a, b) {
                Some((x, y)) => Float(x / y),
                None => return mismatch("/", a, b),
            },
        },
        Op::IntDiv => match (a, b) {
            (Int(_), Int(0)) => return fail(ErrorKind::DivisionByZero, "division by zero"),
            (Int(x), Int(y)) => match floor_div(*x, *y) {
                Some(v) => Int(v),
                None => return overflow(&format!("{x} // {y}")),
            },
            _ => match floats(a, b) {
                Some((x, y)) => Float((x / y).floor()),
                None => return mismatch("//", a, b),
            },
        },
        Op::Mod => match (a, b) {
            (Int(_), Int(0)) => return fail(ErrorKind::DivisionByZero, "modulo by zero"),
            (Int(x), Int(y)) => Int(floor_mod(*x, *y)),
            _ => match floats(a, b) {
                Some((x, y)) => {
                    let r = x % y;
                    Float(if r != 0.0 && (r < 0.0) != (y < 0.0) {
                        r + y
                    } else {
                        r
                    })
                }
                None => return mismatch("%", a, b),
            },
        },
        Op::Pow => match (a, b) {
            (Int(_), Int(y)) if *y < 0 => {
                return fail(
                    ErrorKind::InvalidArgument,
                    format!("negative exponent {y} for an Int power"),
                )
            }
            (Int(x), Int(y)) => match u32::try_from(*y).ok().and_then(|e| x.checked_pow(e)) {
                Some(v) => Int(v),
                None => return overflow(&format!("{x} ** {y}")),
            },
            _ => match floats(a, b) {
                Some((x, y)) => Float(x.powf(y)),
                None => return mismatch("**", a, b),
            },
        },
        Op::Concat => match (a, b) {
            (Str(x), Str(y)) => {
                let mut s = String::with_capacity(x.len() + y.len());
                s.push_str(x);
                s.push_str(y);
                Value::str(s)
            }
            (List(x), List(y)) => {
                let mut v = Vec::with_capacity(x.len() + y.len());
                v.extend(x.iter().cloned());
                v.extend(y.iter().cloned());
                Value::list(v)
            }
            (Bytes(x), Bytes(y)) => {
                let mut v = (**x).clone();
                v.extend_from_slice(y);
                Bytes(Rc::new(v))
            }
            _ => return mismatch("++", a, b),
        },
        Op::BitAnd | Op::BitOr | Op::BitXor | Op::Shl | Op::Shr => {
            let (Int(x), Int(y)) = (a, b) else {
                return mismatch("bitwise operator", a, b);
            };
            match op {
                Op::BitAnd => Int(x & y),
                Op::BitOr => Int(x | y),
                Op::BitXor => Int(x ^ y),
                _ => {
                    if !(0..=63).contains(y) {
                        return fail(
                            ErrorKind::InvalidArgument,
                            format!("shift amount {y} outside 0..63"),
                        );
                    }
                    if op == Op::Shl {
                        Int(x.wrapping_shl(*y as u32))
                    } else {
                        Int(x >> y)
                    }
                }
            }
        }
        Op::Eq => Bool(a.equals(b)),
        Op::Ne => Bool(!a.equals(b)),
        Op::Lt | Op::Le | Op::Gt | Op::Ge => {
            let o = order(a, b)?;
            Bool(match (op, o) {
                (_, None) => false, // NaN
                (Op::Lt, Some(o)) => o == Ordering::Less,
                (Op::Le, Some(o)) => o != Ordering::Greater,
                (Op::Gt, Some(o)) => o == Ordering::Greater,
                (_, Some(o)) => o != Ordering::Less,
            })
        }
        Op::Cmp => match order(a, b)? {
            Some(Ordering::Less) => Int(-1),
            Some(Ordering::Equal) | None => Int(0),
            Some(Ordering::Greater) => Int(1),
        },
        Op::In => Bool(contains(b, a)?),
        Op::Range | Op::RangeIncl => {
            let (Int(x), Int(y)) = (a, b) else {
                return mismatch("..", a, b);
            };
            let end = if op == Op::RangeIncl {
                y.saturating_add(1)
            } else {
                *y
            };
            if end <= *x {
                Value::list(Vec::new())
            } else {
                let n = (end as i128 - *x as i128) as u128;
                check_size(n, "range")?;
                Value::list((*x..end).map(Int).collect())
            }
        }
        _ => return mismatch("operator", a, b),
    })
}

/// Refuses to build a collection of `n` values that would pass the
/// memory limit (or could not be addressed at all).
pub fn check_size(n: u128, what: &str) -> VmResult<()> {
    let bytes = n.saturating_mul(std::mem::size_of::<Value>() as u128);
    if bytes > usize::MAX as u128 / 2 || crate::mem::would_exceed(bytes as usize) {
        return fail(
            ErrorKind::InvalidArgument,
            format!(
                "{what} of {n} elements would pass the memory limit of {}",
                crate::mem::mib(crate::mem::limit())
            ),
        );
    }
    Ok(())
}

/// Comparison for `< <= > >=`: `Ok(None)` for NaN, a type error for values
/// that do not compare.
pub fn order(a: &Value, b: &Value) -> VmResult<Option<Ordering>> {
    match a.compare(b) {
        Some(o) => Ok(Some(o)),
        None if matches!(
            (a, b),
            (
                Value::Float(_) | Value::Int(_),
                Value::Float(_) | Value::Int(_)
            )
        ) =>
        {
            Ok(None)
        }
        None => mismatch("comparison", a, b),
    }
}

/// `x in c` (§6.3).
pub fn contains(c: &Value, x: &Value) -> VmResult<bool> {
    Ok(match c {
        Value::List(v) | Value::Tuple(v) => v.iter().any(|e| e.equals(x)),
        Value::Set(s) => s.contains(x) || s.iter().any(|e| e.equals(x)),
        Value::Map(m) => m.contains_key(x) || m.keys().any(|e| e.equals(x)),
        Value::Str(s) => match x {
            Value::Str(sub) => s.contains(sub.as_str()),
            _ => return mismatch("in", x, c),
        },
        _ => return mismatch("in", x, c),
    })
}

/// Floor division (`-7 // 2 == -4`).
pub fn floor_div(x: i64, y: i64) -> Option<i64> {
    let q = x.checked_div(y)?;
    if (x % y != 0) && ((x < 0) != (y < 0)) {
        q.checked_sub(1)
    } else {
        Some(q)
    }
}

/// Floored remainder with the sign of the divisor (`-7 % 3 == 2`).
pub fn floor_mod(x: i64, y: i64) -> i64 {
    if y == -1 {
        return 0;
    }
    let r = x % y;
    if r != 0 && ((r < 0) != (y < 0)) {
        r + y
    } else {
        r
    }
}

pub fn neg(v: &Value) -> VmResult<Value> {
    match v {
        Value::Int(i) => match i.checked_neg() {
            Some(n) => Ok(Value::Int(n)),
            None => overflow(&format!("-({i})")),
        },
        Value::Float(f) => Ok(Value::Float(-f)),
        other => fail(
            ErrorKind::TypeError,
            format!("cannot negate {}", other.type_name()),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn division_rules_of_6_2() {
        let i = Value::Int;
        let r = |op, a, b| binary(op, &i(a), &i(b)).unwrap().display();
        assert_eq!(r(Op::Div, -7, 2), "-3");
        assert_eq!(r(Op::IntDiv, -7, 2), "-4");
        assert_eq!(r(Op::Mod, -7, 3), "2");
        assert_eq!(r(Op::Mod, 7, -3), "-2");
        assert!(binary(Op::Add, &i(i64::MAX), &i(1)).is_err());
        assert!(binary(Op::Div, &i(1), &i(0)).is_err());
        assert!(binary(Op::IntDiv, &i(i64::MIN), &i(-1)).is_err());
        assert_eq!(r(Op::Mod, i64::MIN, -1), "0");
        assert_eq!(r(Op::Pow, 2, 10), "1024");
        assert_eq!(
            binary(Op::Add, &Value::str("n="), &i(3)).unwrap().display(),
            "n=3"
        );
    }
}
