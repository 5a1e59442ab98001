//! `lumen run FILE`: compile, then run the entry cell (`lumen_runtime::run`).

use std::path::Path;
use std::process::ExitCode;

use lumen_runtime::run::{RunError, RunOptions};

use crate::compile::{cassette, load, set_memory_limit};

pub struct Args<'a> {
    pub file: &'a Path,
    pub cell: &'a str,
    pub trace_dir: Option<&'a Path>,
    pub tools: Option<&'a Path>,
    pub max_steps: Option<u64>,
    pub max_memory: Option<usize>,
}

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    set_memory_limit(a.max_memory);
    let cassette = cassette(a.tools)?;
    let Some(l) = load(a.file, a.tools)? else {
        return Ok(ExitCode::from(1));
    };
    let opts = RunOptions {
        cell: a.cell,
        trace_dir: a.trace_dir,
        max_steps: a.max_steps,
        cassette,
    };
    match lumen_runtime::run::run(l.prog, &l.name, opts) {
        Ok(r) => {
            if let Some(e) = &r.error {
                eprint!("{e}");
            }
            if let Some(id) = &r.trace_id {
                eprintln!("trace: {id}");
            }
            Ok(ExitCode::from(r.code))
        }
        Err(e @ RunError::Entry { .. }) => {
            eprintln!("{e}");
            Ok(ExitCode::from(1))
        }
        Err(e) => Err(e.into()),
    }
}
