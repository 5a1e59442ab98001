//! Runtime values (§17.2) and their display, equality and ordering (§12),
//! and the JSON mapping of §10.5.
//!
//! Scalars live inline; strings and structured values are reference
//! counted and copied on write (`Rc::make_mut`), which gives the value
//! semantics of §12.4 without copying on every move.

use std::cell::RefCell;
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::rc::Rc;

/// A record or process type as the runtime sees it.
#[derive(Debug)]
pub struct RecordType {
    pub id: u32,
    pub name: String,
    pub fields: Vec<String>,
}

/// An enum type: its variants and their arities. `result` is one too.
#[derive(Debug)]
pub struct EnumType {
    pub id: u32,
    pub name: String,
    pub variants: Vec<(String, usize)>,
}

/// A record's field values: inline up to four, so a small record is one
/// allocation (the `Rc`), not two.
pub type Fields = smallvec::SmallVec<[Value; 4]>;

#[derive(Debug, Clone)]
pub struct Record {
    pub ty: Rc<RecordType>,
    pub fields: Fields,
}

#[derive(Debug, Clone)]
pub struct Variant {
    pub ty: Rc<EnumType>,
    pub tag: u32,
    pub payload: Vec<Value>,
}

/// A function value.
#[derive(Debug)]
pub enum Func {
    /// A cell or lambda with its captured values; `name` is the cell's
    /// (none for lambdas, shown as `<fn>`).
    Closure {
        cell: u32,
        captures: Vec<Value>,
        name: Option<Rc<str>>,
    },
    Builtin(u16),
    /// `f ~> g`.
    Compose(Value, Value),
}

/// Iteration state of a `for` loop or comprehension.
#[derive(Debug)]
pub enum Iter {
    /// `next` up to `last` inclusive (`done` once `last` was given, so
    /// a range ending at MAX_INT needs no overflow).
    Range {
        next: i64,
        last: i64,
        done: bool,
    },
    Seq {
        items: Rc<Vec<Value>>,
        at: usize,
    },
    Keys {
        items: Vec<Value>,
        at: usize,
    },
}

/// Handles (§11): copies share the instance.
#[derive(Debug)]
pub struct Object {
    pub type_name: String,
    /// `agent`, `memory`, `machine`, `pipeline`, `orchestration`.
    pub kind: String,
    pub process: u32,
    pub state: RefCell<ObjectState>,
}

#[derive(Debug, Default)]
pub struct ObjectState {
    /// memory: the entry log and the keyed store.
    pub log: Vec<Value>,
    pub store: BTreeMap<String, Value>,
    /// machine: current state (index), payload, steps, started.
    pub current: Option<usize>,
    pub payload: Vec<Value>,
    pub steps: i64,
}

/// `repr(u8)` fixes the layout the interpreter's scalar stores rely on
/// (`vm::store16`): the tag in byte 0, a Bool in byte 1, an Int's or a
/// Float's bits in bytes 8..16.
#[derive(Debug, Clone, Default)]
#[repr(u8)]
pub enum Value {
    #[default]
    Null = TAG_NULL,
    /// An omitted argument or field (its default is computed where it lands).
    Absent = 1,
    Bool(bool) = TAG_BOOL,
    Int(i64) = TAG_INT,
    Float(f64) = TAG_FLOAT,
    Str(Rc<String>),
    Bytes(Rc<Vec<u8>>),
    List(Rc<Vec<Value>>),
    Tuple(Rc<Vec<Value>>),
    Set(Rc<BTreeSet<Value>>),
    Map(Rc<BTreeMap<Value, Value>>),
    Record(Rc<Record>),
    Variant(Rc<Variant>),
    Func(Rc<Func>),
    Iter(Rc<RefCell<Iter>>),
    Object(Rc<Object>),
    Future(Rc<Value>),
    TraceRef(Rc<(String, u64)>),
    /// A spread argument `...xs`, expanded by the call.
    Spread(Rc<Value>),
}

pub const TAG_NULL: u8 = 0;
pub const TAG_BOOL: u8 = 2;
pub const TAG_INT: u8 = 3;
pub const TAG_FLOAT: u8 = 4;

impl Value {
    pub fn str(s: impl Into<String>) -> Value {
        Value::Str(Rc::new(s.into()))
    }

    pub fn list(v: Vec<Value>) -> Value {
        Value::List(Rc::new(v))
    }

    pub fn tuple(v: Vec<Value>) -> Value {
        Value::Tuple(Rc::new(v))
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null | Value::Absent)
    }

    /// The name `type_of` gives (§13).
    pub fn type_name(&self) -> String {
        match self {
            Value::Null | Value::Absent => "Null".into(),
            Value::Bool(_) => "Bool".into(),
            Value::Int(_) => "Int".into(),
            Value::Float(_) => "Float".into(),
            Value::Str(_) => "String".into(),
            Value::Bytes(_) => "Bytes".into(),
            Value::List(_) | Value::Spread(_) => "List".into(),
            Value::Tuple(_) => "Tuple".into(),
            Value::Set(_) => "Set".into(),
            Value::Map(_) => "Map".into(),
            Value::Record(r) => r.ty.name.clone(),
            Value::Variant(v) if v.ty.id == RESULT_TYPE => "Result".into(),
            Value::Variant(v) => v.ty.name.clone(),
            Value::Func(_) => "Function".into(),
            Value::Iter(_) => "Iterator".into(),
            Value::Object(o) => o.type_name.clone(),
            Value::Future(_) => "Future".into(),
            Value::TraceRef(_) => "TraceRef".into(),
        }
    }

    /// The display form (§12.1).
    pub fn display(&self) -> String {
        match self {
            Value::Str(s) => (**s).clone(),
            other => {
                let mut out = String::new();
                other.write_nested(&mut out);
                out
            }
        }
    }

    pub fn write_display(&self, out: &mut String) {
        match self {
            Value::Str(s) => out.push_str(s),
            other => other.write_nested(out),
        }
    }

    /// Bytes its display will take, or a guess for the kinds whose length
    /// is not at hand (a capacity hint: concatenation then allocates once).
    pub fn display_len_hint(&self) -> usize {
        match self {
            Value::Str(s) => s.len(),
            Value::Int(_) => 20,
            _ => 24,
        }
    }

    /// The nested form: like display, but Strings quoted and escaped.
    pub fn nested(&self) -> String {
        let mut out = String::new();
        self.write_nested(&mut out);
        out
    }

    pub fn write_nested(&self, out: &mut String) {
        fn seq(out: &mut String, open: &str, items: &[Value], close: &str) {
            out.push_str(open);
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                v.write_nested(out);
            }
            out.push_str(close);
        }
        match self {
            Value::Null | Value::Absent => out.push_str("null"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Int(i) => push_int(out, *i),
            Value::Float(f) => write_float(out, *f),
            Value::Str(s) => quote(out, s),
            Value::Bytes(b) => {
                out.push_str("b\"");
                for x in b.iter() {
                    let _ = write!(out, "{x:02x}");
                }
                out.push('"');
            }
            Value::List(xs) => seq(out, "[", xs, "]"),
            Value::Spread(v) => v.write_nested(out),
            Value::Tuple(xs) if xs.len() == 1 => {
                out.push('(');
                xs[0].write_nested(out);
                out.push_str(",)");
            }
            Value::Tuple(xs) => seq(out, "(", xs, ")"),
            Value::Set(s) => {
                out.push_str("set[");
                for (i, v) in s.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    v.write_nested(out);
                }
                out.push(']');
            }
            Value::Map(m) => {
                out.push('{');
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    k.write_nested(out);
                    out.push_str(": ");
                    v.write_nested(out);
                }
                out.push('}');
            }
            Value::Record(r) => {
                out.push_str(&r.ty.name);
                out.push('(');
                for (i, (n, v)) in r.ty.fields.iter().zip(&r.fields).enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    out.push_str(n);
                    out.push_str(": ");
                    v.write_nested(out);
                }
                out.push(')');
            }
            Value::Variant(v) => {
                out.push_str(&v.ty.variants[v.tag as usize].0);
                if !v.payload.is_empty() {
                    seq(out, "(", &v.payload, ")");
                }
            }
            Value::Func(f) => match &**f {
                Func::Closure { name: Some(n), .. } => {
                    let _ = write!(out, "<fn {n}>");
                }
                Func::Builtin(i) => {
                    let n = lumen_lir::builtins::BUILTINS
                        .get(*i as usize)
                        .map(|b| b.name)
                        .unwrap_or("builtin");
                    let _ = write!(out, "<fn {n}>");
                }
                _ => out.push_str("<fn>"),
            },
            Value::Iter(_) => out.push_str("<iterator>"),
            Value::Object(o) => {
                let _ = write!(out, "<{} {}>", o.kind, o.type_name);
            }
            Value::Future(_) => out.push_str("<future>"),
            Value::TraceRef(t) => {
                let _ = write!(out, "<trace {}:{}>", t.0, t.1);
            }
        }
    }

    /// Structural equality (§12.2): Int and Float numerically, NaN unequal
    /// to itself, functions and handles by identity.
    pub fn equals(&self, other: &Value) -> bool {
        use Value::*;
        match (self, other) {
            (Null | Absent, Null | Absent) => true,
            (Bool(a), Bool(b)) => a == b,
            (Int(a), Int(b)) => a == b,
            (Float(a), Float(b)) => a == b,
            (Int(a), Float(b)) | (Float(b), Int(a)) => (*a as f64) == *b,
            (Str(a), Str(b)) => a == b,
            (Bytes(a), Bytes(b)) => a == b,
            (List(a), List(b)) | (Tuple(a), Tuple(b)) => {
                Rc::ptr_eq(a, b)
                    || (a.len() == b.len() && a.iter().zip(b.iter()).all(|(x, y)| x.equals(y)))
            }
            (Set(a), Set(b)) => {
                a.len() == b.len() && a.iter().zip(b.iter()).all(|(x, y)| x.equals(y))
            }
            (Map(a), Map(b)) => {
                a.len() == b.len()
                    && a.iter()
                        .zip(b.iter())
                        .all(|((k1, v1), (k2, v2))| k1.equals(k2) && v1.equals(v2))
            }
            (Record(a), Record(b)) => {
                a.ty.id == b.ty.id && a.fields.iter().zip(&b.fields).all(|(x, y)| x.equals(y))
            }
            (Variant(a), Variant(b)) => {
                a.ty.id == b.ty.id
                    && a.tag == b.tag
                    && a.payload.iter().zip(&b.payload).all(|(x, y)| x.equals(y))
            }
            (Func(a), Func(b)) => Rc::ptr_eq(a, b),
            (Object(a), Object(b)) => Rc::ptr_eq(a, b),
            (Future(a), Future(b)) => Rc::ptr_eq(a, b),
            (TraceRef(a), TraceRef(b)) => a == b,
            _ => false,
        }
    }

    /// The order of §12.3 where it is defined (numbers, strings, bools,
    /// lists and tuples); `None` for values that do not compare.
    pub fn compare(&self, other: &Value) -> Option<Ordering> {
        use Value::*;
        match (self, other) {
            (Int(a), Int(b)) => Some(a.cmp(b)),
            (Float(a), Float(b)) => a.partial_cmp(b),
            (Int(a), Float(b)) => (*a as f64).partial_cmp(b),
            (Float(a), Int(b)) => a.partial_cmp(&(*b as f64)),
            (Str(a), Str(b)) => Some(a.as_str().cmp(b.as_str())),
            (Bool(a), Bool(b)) => Some(a.cmp(b)),
            (List(a), List(b)) | (Tuple(a), Tuple(b)) => {
                for (x, y) in a.iter().zip(b.iter()) {
                    match x.compare(y)? {
                        Ordering::Equal => {}
                        o => return Some(o),
                    }
                }
                Some(a.len().cmp(&b.len()))
            }
            (Null | Absent, Null | Absent) => Some(Ordering::Equal),
            _ => None,
        }
    }

    fn rank(&self) -> u8 {
        use Value::*;
        match self {
            Null | Absent => 0,
            Bool(_) => 1,
            Int(_) | Float(_) => 2,
            Str(_) => 3,
            Bytes(_) => 4,
            List(_) | Spread(_) => 5,
            Tuple(_) => 6,
            Set(_) => 7,
            Map(_) => 8,
            Record(_) => 9,
            Variant(_) => 10,
            Func(_) => 11,
            Iter(_) => 12,
            Object(_) => 13,
            Future(_) => 14,
            TraceRef(_) => 15,
        }
    }
}

/// A total order for map keys, set elements and `sort`: the §12.3 order
/// within a kind (Int keys before String keys), kinds in a fixed order.
impl Ord for Value {
    /// Int keys (the common case in maps and sets) compare inline; the
    /// rest goes out of line.
    #[inline]
    fn cmp(&self, other: &Value) -> Ordering {
        match (self, other) {
            (Value::Int(a), Value::Int(b)) => a.cmp(b),
            _ => self.cmp_general(other),
        }
    }
}

impl Value {
    fn cmp_general(&self, other: &Value) -> Ordering {
        use Value::*;
        let (ra, rb) = (self.rank(), other.rank());
        if ra != rb {
            return ra.cmp(&rb);
        }
        match (self, other) {
            (Int(a), Int(b)) => a.cmp(b),
            (Float(a), Float(b)) => a.total_cmp(b),
            (Int(a), Float(b)) => (*a as f64).total_cmp(b).then(Ordering::Less),
            (Float(a), Int(b)) => a.total_cmp(&(*b as f64)).then(Ordering::Greater),
            (Str(a), Str(b)) => a.as_str().cmp(b.as_str()),
            (Bool(a), Bool(b)) => a.cmp(b),
            (Bytes(a), Bytes(b)) => a.cmp(b),
            (List(a), List(b)) | (Tuple(a), Tuple(b)) => a.iter().cmp(b.iter()),
            (Set(a), Set(b)) => a.iter().cmp(b.iter()),
            (Map(a), Map(b)) => a.iter().cmp(b.iter()),
            (Record(a), Record(b)) => a.ty.id.cmp(&b.ty.id).then(a.fields.cmp(&b.fields)),
            (Variant(a), Variant(b)) => {
                a.ty.id
                    .cmp(&b.ty.id)
                    .then(a.tag.cmp(&b.tag))
                    .then(a.payload.cmp(&b.payload))
            }
            (Func(a), Func(b)) => (Rc::as_ptr(a) as usize).cmp(&(Rc::as_ptr(b) as usize)),
            (Object(a), Object(b)) => (Rc::as_ptr(a) as usize).cmp(&(Rc::as_ptr(b) as usize)),
            (TraceRef(a), TraceRef(b)) => a.cmp(b),
            _ => Ordering::Equal,
        }
    }
}

impl PartialOrd for Value {
    fn partial_cmp(&self, other: &Value) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Value {
    fn eq(&self, other: &Value) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Value {}

/// The type id of `result[T, E]`.
pub const RESULT_TYPE: u32 = u32::MAX;

thread_local! {
    static RESULT: Rc<EnumType> = Rc::new(EnumType {
        id: RESULT_TYPE,
        name: "result".into(),
        variants: vec![("ok".into(), 1), ("err".into(), 1)],
    });
}

pub fn result_type() -> Rc<EnumType> {
    RESULT.with(Rc::clone)
}

pub fn ok(v: Value) -> Value {
    Value::Variant(Rc::new(Variant {
        ty: result_type(),
        tag: 0,
        payload: vec![v],
    }))
}

pub fn err(v: Value) -> Value {
    Value::Variant(Rc::new(Variant {
        ty: result_type(),
        tag: 1,
        payload: vec![v],
    }))
}

/// `Some(true)` for `ok(..)`, `Some(false)` for `err(..)`.
pub fn result_is_ok(v: &Value) -> Option<bool> {
    match v {
        Value::Variant(x) if x.ty.id == RESULT_TYPE => Some(x.tag == 0),
        _ => None,
    }
}

/// Shortest round-trip decimal in positional notation, `.0` when integral.
pub fn write_float(out: &mut String, f: f64) {
    if f.is_nan() {
        out.push_str("NaN");
    } else if f.is_infinite() {
        out.push_str(if f > 0.0 { "inf" } else { "-inf" });
    } else {
        let start = out.len();
        let _ = write!(out, "{f}");
        if !out[start..].contains('.') {
            out.push_str(".0");
        }
    }
}

/// A String in nested form: quoted, with `\\ \" \n \t \r` escaped.
pub fn quote(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Lumen to JSON (§10.5): records as objects in field order, enum values
/// as `{"V": [..]}` or `"V"`. Written directly so field order survives.
pub fn to_json(v: &Value, out: &mut String) -> Result<(), String> {
    fn json_str(out: &mut String, s: &str) {
        out.push('"');
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\u{8}' => out.push_str("\\b"),
                '\u{c}' => out.push_str("\\f"),
                c if (c as u32) < 0x20 => {
                    let _ = write!(out, "\\u{:04x}", c as u32);
                }
                c => out.push(c),
            }
        }
        out.push('"');
    }
    fn arr<'a>(out: &mut String, items: impl Iterator<Item = &'a Value>) -> Result<(), String> {
        out.push('[');
        for (i, x) in items.enumerate() {
            if i > 0 {
                out.push(',');
            }
            to_json(x, out)?;
        }
        out.push(']');
        Ok(())
    }
    match v {
        Value::Null | Value::Absent => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Float(f) => {
            if !f.is_finite() {
                return Err(format!("{} has no JSON form", v.display()));
            }
            write_float(out, *f);
        }
        Value::Str(s) => json_str(out, s),
        Value::Bytes(b) => {
            let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
            json_str(out, &hex)
        }
        Value::List(xs) | Value::Tuple(xs) => arr(out, xs.iter())?,
        Value::Spread(x) => to_json(x, out)?,
        Value::Set(s) => arr(out, s.iter())?,
        Value::Map(m) => {
            out.push('{');
            for (i, (k, x)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json_str(out, &k.display());
                out.push(':');
                to_json(x, out)?;
            }
            out.push('}');
        }
        Value::Record(r) => {
            out.push('{');
            for (i, (n, x)) in r.ty.fields.iter().zip(&r.fields).enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json_str(out, n);
                out.push(':');
                to_json(x, out)?;
            }
            out.push('}');
        }
        Value::Variant(x) => {
            let name = &x.ty.variants[x.tag as usize].0;
            if x.payload.is_empty() {
                json_str(out, name);
            } else {
                out.push('{');
                json_str(out, name);
                out.push(':');
                arr(out, x.payload.iter())?;
                out.push('}');
            }
        }
        other => return Err(format!("{} has no JSON form", other.display())),
    }
    Ok(())
}

/// JSON to Lumen (§10.5).
pub fn from_json(j: &serde_json::Value) -> Value {
    match j {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        serde_json::Value::String(s) => Value::str(s.clone()),
        serde_json::Value::Array(a) => Value::list(a.iter().map(from_json).collect()),
        serde_json::Value::Object(o) => Value::Map(Rc::new(
            o.iter()
                .map(|(k, v)| (Value::str(k.clone()), from_json(v)))
                .collect(),
        )),
    }
}

/// Lumen to a `serde_json::Value` (for tool arguments and cassettes).
pub fn to_serde(v: &Value) -> Result<serde_json::Value, String> {
    let mut s = String::new();
    to_json(v, &mut s)?;
    serde_json::from_str(&s).map_err(|e| e.to_string())
}

/// Appends the decimal form of `n` (what `{n}` writes, without the
/// formatting machinery: string building with numbers is a hot path).
pub fn push_int(out: &mut String, n: i64) {
    let mut buf = [0u8; 20];
    let mut at = buf.len();
    let mut m = n.unsigned_abs();
    loop {
        at -= 1;
        buf[at] = b'0' + (m % 10) as u8;
        m /= 10;
        if m == 0 {
            break;
        }
    }
    if n < 0 {
        out.push('-');
    }
    // The digits are ASCII.
    out.push_str(std::str::from_utf8(&buf[at..]).unwrap_or("0"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_display_positionally_with_a_point() {
        let d = |f: f64| Value::Float(f).display();
        assert_eq!(d(2.0), "2.0");
        assert_eq!(d(0.1), "0.1");
        assert_eq!(d(1e-7), "0.0000001");
        assert_eq!(d(1e21), "1000000000000000000000.0");
        assert_eq!(d(f64::NAN), "NaN");
        assert_eq!(d(f64::NEG_INFINITY), "-inf");
    }

    #[test]
    fn ints_display_as_rust_writes_them() {
        for n in [0, 7, -7, 10, 99, -100, 1234567890, i64::MAX, i64::MIN] {
            assert_eq!(Value::Int(n).display(), format!("{n}"));
        }
        let mut s = String::from("k");
        push_int(&mut s, -42);
        assert_eq!(s, "k-42");
    }

    #[test]
    fn nested_strings_are_quoted_and_escaped() {
        let v = Value::list(vec![Value::str("a\"b\n"), Value::Int(1)]);
        assert_eq!(v.display(), "[\"a\\\"b\\n\", 1]");
        assert_eq!(Value::str("plain").display(), "plain");
        assert_eq!(Value::tuple(vec![Value::Int(1)]).display(), "(1,)");
        assert_eq!(ok(Value::Int(3)).display(), "ok(3)");
    }

    #[test]
    fn equality_and_order() {
        assert!(Value::Int(2).equals(&Value::Float(2.0)));
        assert!(!Value::Float(f64::NAN).equals(&Value::Float(f64::NAN)));
        assert!(
            Value::Int(5) < Value::str("a"),
            "Int keys before String keys"
        );
        let a = Value::list(vec![Value::Int(1), Value::Int(2)]);
        let b = Value::list(vec![Value::Int(1), Value::Int(3)]);
        assert_eq!(a.compare(&b), Some(Ordering::Less));
    }
}
