//! Built-in methods of process and agent instances (§11): `memory`
//! stores, `machine` state graphs, `pipeline` and `orchestration` stages.

use std::rc::Rc;

use crate::error::{fail, ErrorKind, VmResult};
use crate::value::{Object, RecordType, Value};
use crate::vm::Vm;

fn object(args: &[Value]) -> VmResult<Rc<Object>> {
    match args.first() {
        Some(Value::Object(o)) => Ok(o.clone()),
        _ => fail(ErrorKind::TypeError, "a process method needs its instance"),
    }
}

pub fn method(vm: &mut Vm, name: &str, args: Vec<Value>) -> VmResult<Value> {
    let o = object(&args)?;
    let rest = &args[1..];
    match o.kind.as_str() {
        "memory" => memory(&o, name, rest),
        "machine" => machine(vm, &o, name, rest),
        "pipeline" | "orchestration" if name == "run" => stages(vm, &o, rest),
        _ => fail(
            ErrorKind::UndefinedCell,
            format!("{} `{}` has no method `{name}`", o.kind, o.type_name),
        ),
    }
}

fn key(v: Option<&Value>) -> VmResult<String> {
    match v {
        Some(Value::Str(s)) => Ok((**s).clone()),
        Some(other) => fail(
            ErrorKind::TypeError,
            format!("memory keys are Strings, not {}", other.type_name()),
        ),
        None => fail(ErrorKind::TypeError, "missing key"),
    }
}

fn memory(o: &Object, name: &str, args: &[Value]) -> VmResult<Value> {
    let mut st = o.state.borrow_mut();
    Ok(match name {
        "append" | "remember" => {
            st.log.push(args.first().cloned().unwrap_or(Value::Null));
            Value::Null
        }
        "recent" => {
            let n = match args.first() {
                Some(Value::Int(n)) => (*n).max(0) as usize,
                _ => return fail(ErrorKind::TypeError, "recent(n) takes an Int"),
            };
            let from = st.log.len().saturating_sub(n);
            Value::list(st.log[from..].to_vec())
        }
        "upsert" | "store" => {
            let k = key(args.first())?;
            st.store
                .insert(k, args.get(1).cloned().unwrap_or(Value::Null));
            Value::Null
        }
        "get" => {
            let k = key(args.first())?;
            st.store.get(&k).cloned().unwrap_or(Value::Null)
        }
        "query" => {
            let s = key(args.first())?;
            Value::list(
                st.store
                    .iter()
                    .filter(|(k, _)| k.contains(&s))
                    .map(|(_, v)| v.clone())
                    .collect(),
            )
        }
        "size" => Value::Int(st.log.len() as i64),
        other => {
            return fail(
                ErrorKind::UndefinedCell,
                format!("memory `{}` has no method `{other}`", o.type_name),
            )
        }
    })
}

fn machine(vm: &mut Vm, o: &Rc<Object>, name: &str, args: &[Value]) -> VmResult<Value> {
    let prog = vm.prog.clone();
    let p = &prog.module.processes[o.process as usize];
    let state_index = |n: &str| p.states.iter().position(|s| s.name == n);
    match name {
        "start" => {
            let Some(i) = p.initial.as_deref().and_then(state_index) else {
                return fail(
                    ErrorKind::InvalidArgument,
                    format!("machine `{}` has no initial state", p.name),
                );
            };
            enter(vm, o, i, args.to_vec())?;
            o.state.borrow_mut().steps = 0;
            state_record(vm, o)
        }
        "resume_from" => {
            let target = match args.first() {
                Some(Value::Str(s)) => (**s).clone(),
                _ => return fail(ErrorKind::TypeError, "resume_from(state_name, args...)"),
            };
            let Some(i) = state_index(&target) else {
                return fail(
                    ErrorKind::InvalidArgument,
                    format!("machine `{}` has no state `{target}`", p.name),
                );
            };
            enter(vm, o, i, args[1..].to_vec())?;
            state_record(vm, o)
        }
        "step" => {
            if o.state.borrow().current.is_none() {
                machine(vm, o, "start", &[])?;
            }
            o.state.borrow_mut().steps += 1;
            advance(vm, o)?;
            state_record(vm, o)
        }
        "run" => {
            if o.state.borrow().current.is_none() {
                machine(vm, o, "start", args)?;
            }
            let mut guard = 0u64;
            while advance(vm, o)? {
                o.state.borrow_mut().steps += 1;
                guard += 1;
                if guard > 10_000_000 {
                    return fail(
                        ErrorKind::InvalidArgument,
                        format!(
                            "machine `{}` did not reach a terminal state in 10,000,000 steps",
                            p.name
                        ),
                    );
                }
            }
            state_record(vm, o)
        }
        "current_state" => {
            let st = o.state.borrow();
            Ok(match st.current {
                Some(i) => Value::str(p.states[i].name.clone()),
                None => Value::Null,
            })
        }
        "is_terminal" => {
            let st = o.state.borrow();
            Ok(Value::Bool(
                st.current.is_some_and(|i| p.states[i].terminal),
            ))
        }
        other => {
            // A method the machine declares itself.
            let id = prog.name_id(other);
            if let Some(c) = id.and_then(|id| prog.methods.get(&(p.name.clone(), id))) {
                let mut all = vec![Value::Object(o.clone())];
                all.extend(args.iter().cloned());
                return vm.call_cell(*c, all);
            }
            fail(
                ErrorKind::UndefinedCell,
                format!("machine `{}` has no method `{other}`", p.name),
            )
        }
    }
}

fn enter(vm: &mut Vm, o: &Object, i: usize, args: Vec<Value>) -> VmResult<()> {
    let prog = vm.prog.clone();
    let p = &prog.module.processes[o.process as usize];
    let s = &p.states[i];
    if args.len() != s.params.len() {
        return fail(
            ErrorKind::InvalidArgument,
            format!(
                "state `{}` of `{}` takes {} value(s), {} given",
                s.name,
                p.name,
                s.params.len(),
                args.len()
            ),
        );
    }
    let mut st = o.state.borrow_mut();
    st.current = Some(i);
    st.payload = args;
    Ok(())
}

/// One transition if the current state has one and its guard holds;
/// false when the machine cannot move.
fn advance(vm: &mut Vm, o: &Object) -> VmResult<bool> {
    let prog = vm.prog.clone();
    let p = &prog.module.processes[o.process as usize];
    let (i, payload) = {
        let st = o.state.borrow();
        match st.current {
            Some(i) => (i, st.payload.clone()),
            None => return Ok(false),
        }
    };
    let s = &p.states[i];
    if s.terminal {
        return Ok(false);
    }
    let Some(target) = &s.transition else {
        return Ok(false);
    };
    if let Some(g) = s.guard {
        match vm.call_cell(g as u32, payload.clone())? {
            Value::Bool(true) => {}
            Value::Bool(false) => return Ok(false),
            other => {
                return fail(
                    ErrorKind::InvalidArgument,
                    format!("the guard of `{}` gave {}", s.name, other.type_name()),
                )
            }
        }
    }
    let Some(t) = p.states.iter().position(|x| &x.name == target) else {
        return fail(
            ErrorKind::InvalidArgument,
            format!(
                "invalid transition from `{}` to unknown state `{target}`",
                s.name
            ),
        );
    };
    let next = match s.transition_args {
        Some(c) => match vm.call_cell(c as u32, payload)? {
            Value::List(xs) => xs.to_vec(),
            _ => Vec::new(),
        },
        None => Vec::new(),
    };
    enter(vm, o, t, next)?;
    Ok(true)
}

/// The state record `Name.State(name, payload, steps, terminal)`.
fn state_record(vm: &Vm, o: &Object) -> VmResult<Value> {
    let p = &vm.prog.module.processes[o.process as usize];
    let st = o.state.borrow();
    let Some(i) = st.current else {
        return Ok(Value::Null);
    };
    let s = &p.states[i];
    let payload: std::collections::BTreeMap<Value, Value> = s
        .params
        .iter()
        .zip(&st.payload)
        .map(|(k, v)| (Value::str(k.clone()), v.clone()))
        .collect();
    // A type the runtime makes (no LIR index: fields are found by name).
    let ty = Rc::new(RecordType {
        id: u32::MAX - 1,
        name: format!("{}.State", p.name),
        fields: ["name", "payload", "steps", "terminal"]
            .map(String::from)
            .to_vec(),
    });
    Ok(Value::Record(Rc::new(crate::value::Record {
        ty,
        fields: smallvec::smallvec![
            Value::str(s.name.clone()),
            Value::Map(Rc::new(payload)),
            Value::Int(st.steps),
            Value::Bool(s.terminal),
        ],
    })))
}

/// `run(x)` of a pipeline (stages in order, each fed the last output) or
/// an orchestration (every stage fed `x`, the list of outputs).
fn stages(vm: &mut Vm, o: &Rc<Object>, args: &[Value]) -> VmResult<Value> {
    let prog = vm.prog.clone();
    let p = &prog.module.processes[o.process as usize];
    let x = args.first().cloned().unwrap_or(Value::Null);
    let mut cur = x.clone();
    let mut outs = Vec::new();
    for s in &p.stages {
        let (cell, with_self) = match prog
            .name_id(s)
            .and_then(|id| prog.methods.get(&(p.name.clone(), id)))
        {
            Some(c) => (*c, true),
            None => match prog.cells.iter().position(|c| &*c.name == s) {
                Some(c) => (c as u32, false),
                None => {
                    return fail(
                        ErrorKind::UndefinedCell,
                        format!("stage `{s}` of `{}` is not a cell", p.name),
                    )
                }
            },
        };
        let input = if p.kind == "pipeline" {
            cur.clone()
        } else {
            x.clone()
        };
        let mut a = Vec::new();
        if with_self {
            a.push(Value::Object(o.clone()));
        }
        a.push(input);
        let out = vm.call_cell(cell, a)?;
        if p.kind == "pipeline" {
            cur = out;
        } else {
            outs.push(out);
        }
    }
    Ok(if p.kind == "pipeline" {
        cur
    } else {
        Value::list(outs)
    })
}
