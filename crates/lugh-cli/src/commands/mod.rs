//! One module per command: each calls the libraries, renders (human or
//! `--json`) and returns the exit status.

use std::process::ExitCode;

use clap::CommandFactory;

use crate::cli::{Cli, Cmd};

mod bench;
mod ctl;
mod image;
mod run;
mod service;

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Cmd::Run {
            config,
            isolation,
            duration,
            scheduler,
            rate,
            socket,
            json,
            demo,
            sensors,
            data,
            no_faults,
        } => run::run(run::Args {
            config,
            isolation,
            duration,
            scheduler,
            rate,
            socket,
            json,
            demo,
            sensors,
            data,
            no_faults,
        }),
        Cmd::Service {
            name,
            listen,
            kernel,
            kind,
            generation,
            handoff_in,
            handoff_out,
            crash_on_start,
        } => service::scheduler(service::SchedulerArgs {
            name,
            listen,
            kernel,
            kind,
            generation,
            handoff_in,
            handoff_out,
            crash_on_start,
        }),
        Cmd::StorageService {
            data,
            listen,
            reply_to,
            generation,
            log_limit,
        } => service::storage(&data, &listen, &reply_to, generation, log_limit),
        Cmd::Image {
            arch,
            out,
            bin,
            json,
        } => image::image(&arch, &out, bin, json),
        Cmd::Qemu {
            arch,
            dir,
            bin,
            timeout,
            json,
        } => image::qemu(&arch, dir, bin, timeout, json),
        Cmd::Kv(args) => Ok(ExitCode::from(crate::kv::run(args)?.clamp(0, 255) as u8)),
        Cmd::Ctl {
            socket,
            json,
            action,
        } => ctl::ctl(socket, json, &action),
        Cmd::Bench { what, quick, json } => bench::bench(what, quick, json),
        Cmd::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "lugh", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// A JSON object as pretty JSON, or as `key value` lines.
pub fn print(json: bool, v: serde_json::Value) {
    if json {
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
    } else if let Some(o) = v.as_object() {
        for (k, v) in o {
            println!("{k:<28} {v}");
        }
    }
}
