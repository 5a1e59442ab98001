//! Runtime type tests (`is`, typed patterns), conversions (`as`) and
//! schema checks (`expect`).

use super::*;

impl<'h> Vm<'h> {
    pub(super) fn expect_schema(&mut self, t: &TypeTest, x: &Value) -> VmResult<Value> {
        let prog = self.prog.clone();
        let TypeTest::Named(name) = t else {
            return Ok(x.clone());
        };
        let Some(&ti) = prog.type_index.get(name) else {
            return fail(ErrorKind::SchemaMismatch, format!("no record `{name}`"));
        };
        let (Some(rt), Value::Map(m)) = (prog.records[ti].clone(), x) else {
            if test_type(&prog, t, x) {
                return Ok(x.clone());
            }
            return fail(
                ErrorKind::SchemaMismatch,
                format!("expected an object for `{name}`, found {}", x.type_name()),
            );
        };
        let finfo = &prog.module.types[ti].fields;
        let mut fields = Vec::with_capacity(rt.fields.len());
        for f in finfo {
            match m.get(&Value::str(f.name.clone())) {
                Some(v) => {
                    if !test_type(&prog, &crate::program::parse_type_test(&f.ty), v) {
                        return fail(
                            ErrorKind::SchemaMismatch,
                            format!(
                                "field `{}` of `{name}` should be {}, found {}",
                                f.name,
                                f.ty,
                                v.type_name()
                            ),
                        );
                    }
                    fields.push(v.clone());
                }
                None if f.default.is_some() => fields.push(Value::Absent),
                None => {
                    return fail(
                        ErrorKind::SchemaMismatch,
                        format!("field `{}` of `{name}` is missing", f.name),
                    )
                }
            }
        }
        self.make_record(ti, fields)
    }
}

pub fn test_type(prog: &Program, t: &TypeTest, v: &Value) -> bool {
    match t {
        TypeTest::Any => true,
        TypeTest::Null => v.is_null(),
        TypeTest::Int => matches!(v, Value::Int(_)),
        TypeTest::Float => matches!(v, Value::Float(_)),
        TypeTest::Str => matches!(v, Value::Str(_)),
        TypeTest::Bool => matches!(v, Value::Bool(_)),
        TypeTest::Bytes => matches!(v, Value::Bytes(_)),
        TypeTest::List => matches!(v, Value::List(_)),
        TypeTest::Map => matches!(v, Value::Map(_)),
        TypeTest::Set => matches!(v, Value::Set(_)),
        TypeTest::Tuple => matches!(v, Value::Tuple(_)),
        TypeTest::Function => matches!(v, Value::Func(_)),
        TypeTest::Result => result_is_ok(v).is_some(),
        TypeTest::Named(n) => match v {
            Value::Record(r) => &r.ty.name == n,
            Value::Variant(x) => &x.ty.name == n,
            Value::Object(o) => &o.type_name == n,
            _ => {
                // An alias of a builtin type.
                let _ = prog;
                false
            }
        },
        TypeTest::Union(ts) => ts.iter().any(|t| test_type(prog, t, v)),
    }
}

/// `e as T` (§6.3).
pub(super) fn convert(prog: &Program, t: &TypeTest, v: &Value) -> VmResult<Value> {
    let bad = || {
        fail(
            ErrorKind::TypeError,
            format!("cannot convert {} {} to {t:?}", v.type_name(), v.nested()),
        )
    };
    match (t, v) {
        (TypeTest::Int, Value::Int(_)) => Ok(v.clone()),
        (TypeTest::Int, Value::Float(f)) if f.is_finite() => Ok(Value::Int(f.trunc() as i64)),
        (TypeTest::Int, Value::Str(s)) => match s.trim().parse::<i64>() {
            Ok(i) => Ok(Value::Int(i)),
            Err(_) => bad(),
        },
        (TypeTest::Int, Value::Bool(b)) => Ok(Value::Int(i64::from(*b))),
        (TypeTest::Float, Value::Int(i)) => Ok(Value::Float(*i as f64)),
        (TypeTest::Float, Value::Float(_)) => Ok(v.clone()),
        (TypeTest::Float, Value::Str(s)) => match s.trim().parse::<f64>() {
            Ok(f) => Ok(Value::Float(f)),
            Err(_) => bad(),
        },
        (TypeTest::Str, _) => Ok(Value::str(v.display())),
        _ if test_type(prog, t, v) => Ok(v.clone()),
        _ => bad(),
    }
}
