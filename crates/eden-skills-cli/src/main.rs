//! `eden-skills`: the command line over the eden-skills library. It parses
//! arguments (`cli`), runs one command (`commands`), renders (`out`) and
//! maps the outcome to the exit status; the work is the library's.

mod cli;
mod commands;
mod out;

use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use cli::{Cli, Cmd};

fn main() -> ExitCode {
    // Default SIGPIPE: `eden-skills list --json | head` ends quietly.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    if std::env::args_os().len() == 1 {
        let _ = Cli::command().print_long_help();
        return ExitCode::SUCCESS;
    }
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("EDEN_SKILLS_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("off"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    if let Cmd::Completions { shell } = &cli.command {
        clap_complete::generate(
            *shell,
            &mut Cli::command(),
            "eden-skills",
            &mut std::io::stdout(),
        );
        return ExitCode::SUCCESS;
    }
    match commands::run(cli) {
        Ok(code) | Err(commands::Exit(code)) => ExitCode::from(code),
    }
}
