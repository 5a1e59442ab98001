//! `lumen trace show RUN_ID [--verify]`: a trace's events, one per line.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

pub fn show(run_id: &str, trace_dir: &Path, verify: bool) -> anyhow::Result<ExitCode> {
    let events = lumen_runtime::trace::read(trace_dir, run_id)?;
    if verify {
        match lumen_runtime::trace::verify(&events) {
            Ok(()) => println!("chain ok"),
            Err(seq) => {
                eprintln!("error: the trace chain is broken at seq {seq}");
                return Ok(ExitCode::from(1));
            }
        }
    }
    let mut so = std::io::stdout().lock();
    for e in &events {
        writeln!(so, "{}", lumen_runtime::trace::show_line(e))?;
    }
    Ok(ExitCode::SUCCESS)
}
