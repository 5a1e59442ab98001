//! `lugh`: the command line over the lugh library.

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};

/// lugh: the LughOS microkernel MVP — prioritized NNG IPC, hot-swappable
/// schedulers, a reincarnation server.
///
/// This build provides the IPC layer, the schedulers with live swap and the
/// reincarnation server, with benchmarks; `run` and `ctl` are next.
#[derive(Parser, Debug)]
#[command(name = "lugh", version, max_term_width = 100)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Measure the system; prints figures (JSON with --json).
    Bench {
        #[arg(value_enum)]
        what: Bench,
        /// A run of a few seconds (CI, reviewers) instead of the full one.
        #[arg(long)]
        quick: bool,
        #[arg(long)]
        json: bool,
    },
    /// Print shell completions.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Bench {
    /// Kernel-service round trip over inproc NNG beside std mpsc; throughput.
    Ipc,
    /// HIGH waits behind floods of LOW, beside a single FIFO socket.
    Priority,
    /// Live scheduler swaps under load: lost, duplicated, reordered, gap.
    Swap,
    /// Killed and hung scheduler service: restart and detection times.
    Restart,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_env("LUGH_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("off"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn print(json: bool, v: serde_json::Value) {
    if json {
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
    } else if let Some(o) = v.as_object() {
        for (k, v) in o {
            println!("{k:<28} {v}");
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Cmd::Bench { what, quick, json } => match what {
            Bench::Ipc => print(json, serde_json::to_value(lugh::bench::ipc(quick)?)?),
            Bench::Priority => print(json, serde_json::to_value(lugh::bench::priority(quick)?)?),
            Bench::Swap => print(json, serde_json::to_value(lugh::bench::swap(quick)?)?),
            Bench::Restart => print(json, serde_json::to_value(lugh::bench::restart(quick)?)?),
        },
        Cmd::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "lugh", &mut std::io::stdout());
        }
    }
    Ok(())
}
