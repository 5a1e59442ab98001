//! `lumen`: the Lumen command line (see docs/lumen/reference.md, §16):
//! `check`, `run`, `emit`, `fmt`, `test`, `trace show`. Parses the
//! arguments, calls the compiler and the runtime, prints, and maps the
//! outcome to the exit status.

use std::process::ExitCode;

use clap::{CommandFactory, Parser};

mod cli;
mod commands;
mod compile;
mod diagnostics;

use cli::{Cli, Cmd, TraceCmd};

/// Live bytes are counted so a program that outgrows `--max-memory` stops
/// with a runtime error (§18) instead of being killed.
#[global_allocator]
static ALLOC: lumen_vm::mem::CountingAlloc = lumen_vm::mem::CountingAlloc;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    match run(cli) {
        Ok(code) => code,
        // A reader that stopped early (`lumen emit f | head`) ends the
        // output, not in an error: the same as `lumen run`'s program output.
        Err(e) if broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.cmd {
        Cmd::Check { file, tools, doc } => commands::check::check(&file, tools.as_deref(), doc),
        Cmd::Emit { file, o, tools } => commands::emit::emit(&file, o.as_deref(), tools.as_deref()),
        Cmd::Fmt { check, files } => commands::fmt::fmt(&files, check),
        Cmd::Run {
            file,
            cell,
            trace_dir,
            tools,
            max_steps,
            max_memory,
        } => commands::run::run(commands::run::Args {
            file: &file,
            cell: &cell,
            trace_dir: trace_dir.as_deref(),
            tools: tools.as_deref(),
            max_steps,
            max_memory,
        }),
        Cmd::Test {
            paths,
            filter,
            tools,
        } => commands::test::test(&paths, filter.as_deref(), tools.as_deref()),
        Cmd::Trace {
            cmd:
                TraceCmd::Show {
                    run_id,
                    trace_dir,
                    verify,
                },
        } => commands::trace::show(&run_id, &trace_dir, verify),
        Cmd::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "lumen", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
    }
}
