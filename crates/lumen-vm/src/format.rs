//! Format specs of interpolations (§3.5):
//! `[[fill] align] [sign] ["#"] ["0"] [width] ["." precision] [type]`.

use crate::error::{fail, ErrorKind, VmResult};
use crate::program::Spec;
use crate::value::{write_float, Value};

/// The display of `v` formatted by `spec`.
pub fn format(v: &Value, spec: &Spec) -> VmResult<String> {
    let numeric = matches!(v, Value::Int(_) | Value::Float(_));
    let bad = |what: &str| {
        fail::<String>(
            ErrorKind::FormatError,
            format!(
                "format `{what}` does not apply to {} {}",
                v.type_name(),
                v.nested()
            ),
        )
    };
    // The body (digits or text) and its sign, separately, so zero padding
    // goes between them.
    let (sign, body): (&str, String) = match (spec.ty, v) {
        (Some('d'), Value::Int(i)) => split_sign(i.to_string()),
        (Some(t @ ('x' | 'X' | 'o' | 'b')), Value::Int(i)) => {
            let m = i.unsigned_abs();
            let digits = match t {
                'x' => format!("{m:x}"),
                'X' => format!("{m:X}"),
                'o' => format!("{m:o}"),
                _ => format!("{m:b}"),
            };
            let prefix = if spec.alternate {
                match t {
                    'x' => "0x",
                    'X' => "0X",
                    'o' => "0o",
                    _ => "0b",
                }
            } else {
                ""
            };
            (if *i < 0 { "-" } else { "" }, format!("{prefix}{digits}"))
        }
        (Some(t @ ('d' | 'x' | 'X' | 'o' | 'b')), _) => return bad(&t.to_string()),
        (Some(t @ ('f' | 'e' | 'E')), Value::Int(_) | Value::Float(_)) => {
            let f = match v {
                Value::Int(i) => *i as f64,
                Value::Float(f) => *f,
                _ => 0.0,
            };
            let p = spec.precision.unwrap_or(6);
            let s = if !f.is_finite() {
                let mut s = String::new();
                write_float(&mut s, f);
                s
            } else if t == 'f' {
                format!("{f:.p$}")
            } else {
                sci(f, p, t == 'E')
            };
            split_sign(s)
        }
        (Some(t @ ('f' | 'e' | 'E')), _) => return bad(&t.to_string()),
        (None, Value::Float(f)) if spec.precision.is_some() => {
            let p = spec.precision.unwrap_or(6);
            split_sign(if f.is_finite() {
                format!("{f:.p$}")
            } else {
                v.display()
            })
        }
        (None | Some('s'), _) if !numeric || spec.ty == Some('s') => {
            let s = v.display();
            let s = match spec.precision {
                Some(p) => s.chars().take(p).collect(),
                None => s,
            };
            ("", s)
        }
        (None, Value::Int(i)) => split_sign(i.to_string()),
        _ => split_sign(v.display()),
    };
    let sign = match (sign, spec.sign) {
        ("-", _) => "-",
        (_, Some('+')) if numeric => "+",
        (_, Some(' ')) if numeric => " ",
        _ => "",
    };
    let len = sign.chars().count() + body.chars().count();
    let width = spec.width.unwrap_or(0);
    if len >= width {
        return Ok(format!("{sign}{body}"));
    }
    let pad = width - len;
    if spec.zero && spec.align.is_none() && numeric {
        return Ok(format!("{sign}{}{body}", "0".repeat(pad)));
    }
    let fill = spec.fill.unwrap_or(' ').to_string();
    let align = spec.align.unwrap_or(if numeric { '>' } else { '<' });
    Ok(match align {
        '<' => format!("{sign}{body}{}", fill.repeat(pad)),
        '^' => format!(
            "{}{sign}{body}{}",
            fill.repeat(pad / 2),
            fill.repeat(pad - pad / 2)
        ),
        _ => format!("{}{sign}{body}", fill.repeat(pad)),
    })
}

fn split_sign(s: String) -> (&'static str, String) {
    match s.strip_prefix('-') {
        Some(rest) => ("-", rest.to_string()),
        None => ("", s),
    }
}

/// `d.ddde+XX` with at least two exponent digits.
fn sci(f: f64, p: usize, upper: bool) -> String {
    let s = format!("{f:.p$e}");
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let (esign, digits) = match exp.strip_prefix('-') {
        Some(d) => ('-', d),
        None => ('+', exp),
    };
    let e = if upper { 'E' } else { 'e' };
    format!("{mant}{e}{esign}{digits:0>2}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(s: &str) -> Spec {
        // A tiny parser for tests only: [fill]align, #, 0, width, .prec, type.
        let mut sp = Spec::default();
        let c: Vec<char> = s.chars().collect();
        let mut i = 0;
        if c.len() >= 2 && matches!(c[1], '<' | '>' | '^') {
            sp.fill = Some(c[0]);
            sp.align = Some(c[1]);
            i = 2;
        } else if !c.is_empty() && matches!(c[0], '<' | '>' | '^') {
            sp.align = Some(c[0]);
            i = 1;
        }
        if c.get(i) == Some(&'+') {
            sp.sign = Some('+');
            i += 1;
        }
        if c.get(i) == Some(&'#') {
            sp.alternate = true;
            i += 1;
        }
        if c.get(i) == Some(&'0') {
            sp.zero = true;
            i += 1;
        }
        let mut w = String::new();
        while i < c.len() && c[i].is_ascii_digit() {
            w.push(c[i]);
            i += 1;
        }
        if !w.is_empty() {
            sp.width = w.parse().ok();
        }
        if c.get(i) == Some(&'.') {
            i += 1;
            let mut p = String::new();
            while i < c.len() && c[i].is_ascii_digit() {
                p.push(c[i]);
                i += 1;
            }
            sp.precision = p.parse().ok();
        }
        sp.ty = c.get(i).copied();
        sp
    }

    #[test]
    fn the_examples_of_3_5() {
        let f = |v: Value, s: &str| format(&v, &spec(s)).unwrap();
        assert_eq!(f(Value::Float(2.0 / 3.0), ".3f"), "0.667");
        assert_eq!(f(Value::Int(48879), "#x"), "0xbeef");
        assert_eq!(f(Value::Int(48879), ">8"), "   48879");
        assert_eq!(f(Value::str("ok"), "*^6"), "**ok**");
        assert_eq!(f(Value::Int(7), "03d"), "007");
        assert_eq!(f(Value::Int(-7), "05d"), "-0007");
        assert_eq!(f(Value::Int(5), "+d"), "+5");
        assert_eq!(f(Value::Float(1234.5), ".2e"), "1.23e+03");
        assert_eq!(f(Value::str("abcdef"), ".3"), "abc");
        assert_eq!(f(Value::Int(3), "6"), "     3");
        assert_eq!(f(Value::str("ab"), "4"), "ab  ");
        assert!(format(&Value::str("x"), &spec("d")).is_err());
    }
}
