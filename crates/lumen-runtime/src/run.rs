//! `lumen run`: the entry cell of a loaded program run to completion, with
//! the trace events of a run around it (§15: `run_start`, `cell_start`,
//! ..., `cell_end`, `run_end`, and `error` when it fails).

use std::path::Path;
use std::rc::Rc;

use lumen_vm::{Program, Unwind};

use crate::tools::Cassette;
use crate::trace::{Fields, TraceError, TraceWriter};
use crate::RuntimeHost;

/// What to run and how.
pub struct RunOptions<'a> {
    /// The entry cell (`main` by default, which may be the top-level
    /// statements).
    pub cell: &'a str,
    /// Write a hash-chained trace to `DIR/<run-id>.jsonl`.
    pub trace_dir: Option<&'a Path>,
    /// Stop with a runtime error after this many steps.
    pub max_steps: Option<u64>,
    /// Tool calls found in this cassette are answered from it.
    pub cassette: Option<Cassette>,
}

/// How a run ended, for the caller to render.
#[derive(Debug)]
pub struct RunReport {
    /// The exit status: 0, 1 after a runtime error, or `exit(n)`'s.
    pub code: u8,
    /// A runtime error with its stack trace, for stderr.
    pub error: Option<String>,
    /// The id of the trace written, if any.
    pub trace_id: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The entry cell is missing or needs arguments: `error[KIND]: MESSAGE`.
    #[error("error[{kind}]: {message}")]
    Entry { kind: &'static str, message: String },
    #[error(transparent)]
    Trace(#[from] TraceError),
}

/// The entry cell: a top-level cell of that name without required
/// parameters.
pub fn entry(p: &Program, name: &str) -> Result<u32, RunError> {
    let Some(i) = p.cells.iter().position(|c| &*c.name == name) else {
        return Err(RunError::Entry {
            kind: "undefined cell",
            message: format!("no cell named '{name}'"),
        });
    };
    if p.cells[i].has_required_params {
        return Err(RunError::Entry {
            kind: "argument count",
            message: format!("entry cell '{name}' has parameters without defaults"),
        });
    }
    Ok(i as u32)
}

/// Runs `opts.cell` of `prog` (compiled from `file`, the name stack traces
/// show). Program output goes to stdout as it is produced (buffered); a
/// non-null result is printed after it. The VM's values are not torn
/// down: the process is expected to exit next.
pub fn run(prog: Rc<Program>, file: &str, opts: RunOptions) -> Result<RunReport, RunError> {
    let id = entry(&prog, opts.cell)?;
    let mut h = RuntimeHost::stdio(opts.cassette, crate::is_deterministic(&prog));
    if let Some(dir) = opts.trace_dir {
        h.trace = Some(TraceWriter::create(dir, &prog.module.doc_hash)?);
    }
    let cell = opts.cell;
    let cellf = |status: Option<&str>| Fields {
        cell: Some(cell.to_string()),
        status: status.map(str::to_string),
        ..Default::default()
    };
    let status = |s: &str, message: Option<String>| Fields {
        status: Some(s.into()),
        message,
        ..Default::default()
    };
    h.record("run_start", Fields::default());
    h.record("cell_start", cellf(None));
    let result = {
        let mut vm = lumen_vm::Vm::new(prog.clone(), &mut h);
        if let Some(n) = opts.max_steps {
            vm.set_budget(n);
        }
        let result = vm.call_cell(id, Vec::new());
        vm.abandon();
        result
    };
    let mut error = None;
    let code = match result {
        Ok(v) => {
            h.record("cell_end", cellf(Some("ok")));
            if !v.is_null() {
                let mut s = v.display();
                s.push('\n');
                lumen_vm::Host::out(&mut h, &s);
            }
            h.record("run_end", status("ok", None));
            0
        }
        Err(Unwind::Exit(n)) => {
            h.record("cell_end", cellf(Some("ok")));
            h.record("run_end", status("ok", Some(format!("exit({n})"))));
            n.clamp(0, 255) as u8
        }
        Err(Unwind::Error(e)) => {
            error = Some(e.report(file));
            h.record(
                "error",
                Fields {
                    message: Some(e.to_string()),
                    ..Default::default()
                },
            );
            h.record("cell_end", cellf(Some("error")));
            h.record("run_end", status("error", None));
            1
        }
        Err(Unwind::Abort { .. }) => {
            error =
                Some("runtime error[resume error]: a handler aborted outside its handle\n".into());
            1
        }
    };
    h.flush();
    let mut trace_id = None;
    if let Some(t) = &mut h.trace {
        t.finish()?;
        trace_id = Some(t.run_id.clone());
    }
    if let Some(e) = h.trace_error.take() {
        return Err(e.into());
    }
    Ok(RunReport {
        code,
        error,
        trace_id,
    })
}
