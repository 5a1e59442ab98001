//! `lumen test`: which cells of a program are tests, and running one in a
//! runtime of its own (nothing is shared between tests).

use std::rc::Rc;

use lumen_vm::{Program, Unwind, Value};

use crate::tools::Cassette;
use crate::RuntimeHost;

/// The tests of a program: top-level cells without required parameters,
/// named `test_*` or marked `@test`, whose name contains `filter`.
pub fn tests_of(prog: &Program, filter: Option<&str>) -> Vec<u32> {
    prog.cells
        .iter()
        .enumerate()
        .filter(|(_, c)| {
            !c.name.contains(['.', '$'])
                && !c.has_required_params
                && (c.test || c.name.starts_with("test_"))
                && filter.is_none_or(|t| c.name.contains(t))
        })
        .map(|(i, _)| i as u32)
        .collect()
}

/// Runs test cell `cell` of `prog` (compiled from `file`). A test fails
/// when it returns `false`, raises an error or exits with a status other
/// than 0; the message says why (`name` leads it).
pub fn run_test(
    prog: &Rc<Program>,
    file: &str,
    cell: u32,
    name: &str,
    cassette: Option<Cassette>,
) -> Result<(), String> {
    let mut h = RuntimeHost::stdio(cassette, crate::is_deterministic(prog));
    let r = {
        let mut vm = lumen_vm::Vm::new(prog.clone(), &mut h);
        vm.call_cell(cell, Vec::new())
    };
    h.flush();
    drop(h);
    match r {
        Ok(Value::Bool(false)) => Err(format!("  {name}: returned false")),
        Ok(_) | Err(Unwind::Exit(0)) => Ok(()),
        Err(Unwind::Error(e)) => Err(format!(
            "  {name}: {}",
            e.report(file).trim_end().replace('\n', "\n  ")
        )),
        Err(Unwind::Exit(n)) => Err(format!("  {name}: exit({n})")),
        Err(Unwind::Abort { .. }) => Err(format!("  {name}: a handler aborted outside its handle")),
    }
}
