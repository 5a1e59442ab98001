//! `lugh`: the command line over the LughOS libraries. It parses the
//! arguments (`cli`), runs one command (`commands`, `kv`), renders, and
//! maps the outcome to the exit status.

mod cli;
mod commands;
mod kv;

use std::process::ExitCode;

use clap::Parser;

use cli::Cli;

fn main() -> ExitCode {
    // As the initramfs's /init (process 1), lugh runs the guest smoke test.
    if std::process::id() == 1 {
        lugh_system::guest::main();
    }
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_env("LUGH_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("off"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    match commands::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
