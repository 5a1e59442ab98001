//! What reads the world: randomness, the clock, the environment, files.

use super::*;
use crate::error::{fail, ErrorKind, VmResult};
use crate::value::Value;

#[inline(always)]
pub(super) fn call(idx: usize, name: &str, args: &Args) -> VmResult<Value> {
    let ar = |i: usize| args.get(i).unwrap_or(&Value::Null);
    Ok(match idx {
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
            if let Err(e) = crate::fsio::write_atomic(std::path::Path::new(p), text.as_bytes()) {
                return fail(ErrorKind::InvalidArgument, format!("write_file {p}: {e}"));
            }
            Value::Null
        }
        _ => return not_here(name),
    })
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
