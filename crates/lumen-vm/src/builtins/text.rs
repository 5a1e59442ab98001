//! Strings.

use super::*;
use crate::error::VmResult;
use crate::value::Value;

#[inline(always)]
pub(super) fn call(idx: usize, name: &str, args: &Args) -> VmResult<Value> {
    let ar = |i: usize| args.get(i).unwrap_or(&Value::Null);
    Ok(match idx {
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
        _ => return not_here(name),
    })
}
