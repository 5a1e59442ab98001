//! `lumina`: the command line over the lumina library. It parses the
//! arguments (`cli`), runs one command (`commands`), renders (`render`)
//! and maps errors to exit codes; everything else is in the library.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use lumina::Error;

mod cli;
mod commands;
mod render;

use cli::Cli;

fn main() -> ExitCode {
    // SAFETY: called first thing, before any thread exists; SIG_DFL is a
    // valid disposition. A closed stdout then ends the process like any
    // other Unix filter instead of a panic on the next print.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    // The shell hook's call, `lumina flow --dir DIR`, skips argument parsing
    // and log set-up: it runs at every directory change and must cost as
    // little as a process can.
    let args: Vec<std::ffi::OsString> = std::env::args_os().take(5).collect();
    if args.len() == 4 && args[1] == "flow" && args[2] == "--dir" {
        return commands::run_flow(None, false, false, Some(PathBuf::from(&args[3])));
    }
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("LUMINA_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .without_time()
        .init();
    let json = cli.json;
    match commands::run(cli) {
        Ok(code) => code,
        Err(err) => {
            let (code, kind) = match err.downcast_ref::<Error>() {
                Some(e) => (e.exit_code(), e.kind()),
                None => (1, "runtime"),
            };
            if json {
                let diags = match err.downcast_ref::<Error>() {
                    Some(Error::Invalid(d)) => serde_json::to_value(d).unwrap_or_default(),
                    _ => serde_json::Value::Null,
                };
                let v = serde_json::json!({"error": {"kind": kind, "exit_code": code, "message": format!("{err:#}"), "diagnostics": diags}});
                println!("{v}");
            }
            match err.downcast_ref::<Error>() {
                Some(Error::Invalid(_))
                | Some(Error::PermissionDenied { .. })
                | Some(Error::Blocked { .. }) => {
                    eprintln!("{err:#}")
                }
                _ => eprintln!("error: {err:#}"),
            }
            ExitCode::from(code as u8)
        }
    }
}
