//! Reading and writing inside values: fields (with record defaults and
//! `where` checks), indexing, iteration, appends, and what a method call
//! on a receiver reaches.

use super::*;

impl<'h> Vm<'h> {
    /// What `CallMethod` calls (§4.5 order): a function-valued record
    /// field, a method of the receiver's type, a process method, then a
    /// top-level cell or builtin by uniform call syntax.
    pub(super) fn method_target(&self, name: u32, args: &[Value]) -> VmResult<Target> {
        let prog = &self.prog;
        let mname = &prog.names[name as usize];
        let Some(recv) = args.first() else {
            return fail(
                ErrorKind::UndefinedCell,
                format!("no receiver for `{mname}`"),
            );
        };
        if let Value::Record(r) = recv {
            if let Some(i) = field_pos(prog, &r.ty, name) {
                if let f @ Value::Func(_) = &r.fields[i] {
                    return Ok(Target::Field(f.clone()));
                }
            }
        }
        let tname = runtime_type_key(recv);
        if let Some(c) = prog.methods.get(&(tname.clone(), name)) {
            return Ok(Target::Cell(*c));
        }
        if let Value::Object(_) = recv {
            return Ok(Target::Native(mname.clone()));
        }
        if let Some(c) = self.top_cells.get(mname) {
            return Ok(Target::Cell(*c));
        }
        if let Some(b) = lumen_lir::builtins::index(mname) {
            return Ok(Target::Value(Value::Func(Rc::new(Func::Builtin(b as u16)))));
        }
        fail(
            ErrorKind::UndefinedCell,
            format!("no method `{mname}` for {}", recv.type_name()),
        )
    }

    pub fn make_record(&mut self, ti: usize, mut fields: Vec<Value>) -> VmResult<Value> {
        let prog = self.prog.clone();
        let Some(rt) = prog.records[ti].clone() else {
            return fail(ErrorKind::TypeError, "not a record type");
        };
        for (i, f) in fields.iter_mut().enumerate() {
            if let Value::Absent = f {
                *f = match prog.field_cells[ti].get(i).and_then(|x| x.0) {
                    Some(c) => self.call_cell(c as u32, Vec::new())?,
                    None => Value::Null,
                };
            }
        }
        let v = Value::Record(Rc::new(Record {
            ty: rt,
            fields: fields.into(),
        }));
        self.check_constraints(&v)?;
        Ok(v)
    }

    /// The `where` conditions of a record, in declaration order.
    pub fn check_constraints(&mut self, v: &Value) -> VmResult<()> {
        let Value::Record(r) = v else {
            return Ok(());
        };
        let ti = r.ty.id as usize;
        if !self.prog.constrained.get(ti).copied().unwrap_or(false) {
            return Ok(());
        }
        let prog = self.prog.clone();
        for (i, (_, c)) in prog.field_cells[ti].iter().enumerate() {
            if let Some(c) = c {
                let ok = self.call_cell(*c as u32, vec![v.clone()])?;
                if !matches!(ok, Value::Bool(true)) {
                    return fail(
                        ErrorKind::ConstraintViolation,
                        format!(
                            "{}.{}: the `where` condition does not hold for {}",
                            r.ty.name,
                            r.ty.fields[i],
                            v.nested()
                        ),
                    );
                }
            }
        }
        Ok(())
    }

    pub(super) fn get_field(&self, v: &Value, name: u32) -> VmResult<Value> {
        let prog = &self.prog;
        match v {
            Value::Record(r) => {
                if let Some(i) = field_pos(prog, &r.ty, name) {
                    return Ok(r.fields[i].clone());
                }
            }
            Value::Tuple(xs) => {
                if let Ok(i) = prog.names[name as usize].parse::<usize>() {
                    if let Some(x) = xs.get(i) {
                        return Ok(x.clone());
                    }
                    return fail(
                        ErrorKind::IndexOutOfBounds,
                        format!("tuple index {i} out of bounds (length {})", xs.len()),
                    );
                }
            }
            Value::Map(m) => {
                let key = Value::str(prog.names[name as usize].clone());
                return match m.get(&key) {
                    Some(x) => Ok(x.clone()),
                    None => fail(
                        ErrorKind::KeyNotFound,
                        format!("key {} not found", key.nested()),
                    ),
                };
            }
            Value::Null | Value::Absent => {
                return fail(
                    ErrorKind::NullValue,
                    format!("field `{}` of null", prog.names[name as usize]),
                )
            }
            _ => {}
        }
        fail(
            ErrorKind::TypeError,
            format!(
                "{} has no field `{}`",
                v.type_name(),
                prog.names[name as usize]
            ),
        )
    }

    pub(super) fn set_field(&mut self, target: &mut Value, name: u32, v: Value) -> VmResult<()> {
        let prog = self.prog.clone();
        match target {
            Value::Record(r) => {
                let Some(i) = field_pos(&prog, &r.ty, name) else {
                    return fail(
                        ErrorKind::TypeError,
                        format!("{} has no field `{}`", r.ty.name, prog.names[name as usize]),
                    );
                };
                Rc::make_mut(r).fields[i] = v;
            }
            Value::Map(m) => {
                Rc::make_mut(m).insert(Value::str(prog.names[name as usize].clone()), v);
                return Ok(());
            }
            other => {
                return fail(
                    ErrorKind::TypeError,
                    format!("cannot set a field of {}", other.type_name()),
                )
            }
        }
        self.check_constraints(target)
    }
}

/// Where field `name` (an interned id) is in a record of type `t`.
pub(super) fn field_pos(prog: &Program, t: &crate::value::RecordType, name: u32) -> Option<usize> {
    match prog.record_field_ids.get(t.id as usize) {
        Some(ids) => ids.iter().position(|f| *f == name),
        // Records the runtime makes (a machine's state record).
        None => t
            .fields
            .iter()
            .position(|f| *f == prog.names[name as usize]),
    }
}

/// The key of a value's type in the method table.
pub(super) fn runtime_type_key(v: &Value) -> String {
    match v {
        Value::Int(_) => "Int".into(),
        Value::Float(_) => "Float".into(),
        Value::Str(_) => "String".into(),
        Value::Bool(_) => "Bool".into(),
        Value::Bytes(_) => "Bytes".into(),
        Value::List(_) => "list".into(),
        Value::Map(_) => "map".into(),
        Value::Set(_) => "set".into(),
        Value::Tuple(_) => "tuple".into(),
        other => other.type_name(),
    }
}

pub(super) fn push(target: &mut Value, v: Value, spread: bool) -> VmResult<()> {
    match target {
        Value::List(xs) | Value::Tuple(xs) => {
            let xs = Rc::make_mut(xs);
            if spread {
                match v {
                    Value::List(ys) | Value::Tuple(ys) => xs.extend(ys.iter().cloned()),
                    Value::Set(ys) => xs.extend(ys.iter().cloned()),
                    other => xs.push(other),
                }
            } else {
                xs.push(v);
            }
        }
        Value::Set(s) => {
            let s = Rc::make_mut(s);
            if spread {
                match v {
                    Value::List(ys) | Value::Tuple(ys) => s.extend(ys.iter().cloned()),
                    Value::Set(ys) => s.extend(ys.iter().cloned()),
                    other => {
                        s.insert(other);
                    }
                }
            } else {
                s.insert(v);
            }
        }
        other => {
            return fail(
                ErrorKind::TypeError,
                format!("cannot add elements to {}", other.type_name()),
            )
        }
    }
    Ok(())
}

pub(super) fn index_of(len: usize, i: i64) -> Option<usize> {
    let i = if i < 0 { len as i64 + i } else { i };
    (0..len as i64).contains(&i).then_some(i as usize)
}

pub fn get_index(c: &Value, i: &Value) -> VmResult<Value> {
    match (c, i) {
        (Value::List(xs) | Value::Tuple(xs), Value::Int(i)) => match index_of(xs.len(), *i) {
            Some(k) => Ok(xs[k].clone()),
            None => fail(
                ErrorKind::IndexOutOfBounds,
                format!("index {i} out of bounds (length {})", xs.len()),
            ),
        },
        (Value::Str(s), Value::Int(i)) => {
            let n = s.chars().count();
            match index_of(n, *i) {
                Some(k) => Ok(Value::str(
                    s.chars().nth(k).map(String::from).unwrap_or_default(),
                )),
                None => fail(
                    ErrorKind::IndexOutOfBounds,
                    format!("index {i} out of bounds (length {n})"),
                ),
            }
        }
        (Value::Bytes(b), Value::Int(i)) => match index_of(b.len(), *i) {
            Some(k) => Ok(Value::Int(b[k] as i64)),
            None => fail(
                ErrorKind::IndexOutOfBounds,
                format!("index {i} out of bounds (length {})", b.len()),
            ),
        },
        (Value::Map(m), k) => match m.get(k) {
            Some(v) => Ok(v.clone()),
            None => fail(
                ErrorKind::KeyNotFound,
                format!("key {} not found", k.nested()),
            ),
        },
        (Value::Null | Value::Absent, _) => fail(ErrorKind::NullValue, "indexing null"),
        (c, i) => fail(
            ErrorKind::TypeError,
            format!("cannot index {} with {}", c.type_name(), i.type_name()),
        ),
    }
}

pub fn set_index(c: &mut Value, i: &Value, v: Value) -> VmResult<()> {
    match (c, i) {
        (Value::List(xs), Value::Int(i)) => match index_of(xs.len(), *i) {
            Some(k) => {
                Rc::make_mut(xs)[k] = v;
                Ok(())
            }
            None => fail(
                ErrorKind::IndexOutOfBounds,
                format!("index {i} out of bounds (length {})", xs.len()),
            ),
        },
        (Value::Map(m), k) => {
            let m = Rc::make_mut(m);
            // An existing key keeps its entry (no key clone, no insert).
            match m.get_mut(k) {
                Some(slot) => *slot = v,
                None => {
                    m.insert(k.clone(), v);
                }
            }
            Ok(())
        }
        (c, i) => fail(
            ErrorKind::TypeError,
            format!(
                "cannot assign an element of {} at {}",
                c.type_name(),
                i.type_name()
            ),
        ),
    }
}

pub fn iter_of(v: &Value) -> VmResult<Iter> {
    Ok(match v {
        Value::List(xs) | Value::Tuple(xs) => Iter::Seq {
            items: xs.clone(),
            at: 0,
        },
        Value::Set(s) => Iter::Keys {
            items: s.iter().cloned().collect(),
            at: 0,
        },
        Value::Map(m) => Iter::Keys {
            items: m
                .iter()
                .map(|(k, v)| Value::tuple(vec![k.clone(), v.clone()]))
                .collect(),
            at: 0,
        },
        other => {
            return fail(
                ErrorKind::TypeError,
                format!("{} is not iterable", other.type_name()),
            )
        }
    })
}

pub(super) fn await_value(v: &Value) -> Value {
    match v {
        Value::Future(x) => (**x).clone(),
        Value::List(xs) => Value::list(xs.iter().map(await_value).collect()),
        Value::Tuple(xs) => Value::tuple(xs.iter().map(await_value).collect()),
        other => other.clone(),
    }
}
