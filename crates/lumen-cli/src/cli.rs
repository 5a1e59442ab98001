//! The command line's shape: every command, flag and its help.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "lumen",
    version,
    about = "Lumen: a statically typed language written in Markdown fences",
    long_about = "Lumen compiles the `lumen` fences of Markdown files (.lm.md, .md) and raw files (.lm) \
to LIR. Diagnostics go to stderr as FILE:LINE:COL: SEVERITY[KIND]: MESSAGE with the source line below.\n\n\
Exit status: 0 success; 1 compile error, runtime error, failed test, fmt --check difference or broken \
trace chain; 2 usage or I/O error (missing file, malformed cassette); the status given to exit(n)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub cmd: Cmd,
}

#[derive(Subcommand)]
pub enum TraceCmd {
    /// Print one line per event: SEQ KIND key=value...
    Show {
        run_id: String,
        #[arg(long, value_name = "DIR", default_value = ".lumen/trace")]
        trace_dir: PathBuf,
        /// Check sequence numbers and the hash chain first; exit 1 at the
        /// first broken event
        #[arg(long)]
        verify: bool,
    },
}

#[derive(Subcommand)]
pub enum Cmd {
    /// Compile FILE (and its imports) without running it; exit 1 on any error
    Check {
        file: PathBuf,
        /// Cassette of recorded tool interactions: its tools count as
        /// replayable under @deterministic (§10.6, §10.7)
        #[arg(long, value_name = "CASSETTE")]
        tools: Option<PathBuf>,
        /// Check in doc mode (as `@doc_mode true`): unresolved names warn,
        /// effect/grant/determinism checks are skipped
        #[arg(long)]
        doc: bool,
    },
    /// Compile FILE and run its entry cell; a non-null result is printed
    Run {
        file: PathBuf,
        /// The entry cell (default `main`, which may be the top-level
        /// statements)
        #[arg(long, value_name = "NAME", default_value = "main")]
        cell: String,
        /// Write a hash-chained trace to DIR/<run-id>.jsonl
        #[arg(long, value_name = "DIR")]
        trace_dir: Option<PathBuf>,
        /// Replay tool calls from this cassette (§10.6)
        #[arg(long, value_name = "CASSETTE")]
        tools: Option<PathBuf>,
        /// Stop with a runtime error after N steps (calls and loop
        /// iterations), for untrusted or runaway programs (§18)
        #[arg(long, value_name = "N")]
        max_steps: Option<u64>,
        /// Stop with a runtime error when the program uses more than MIB
        /// mebibytes (default: 80 % of the machine's memory)
        #[arg(long, value_name = "MIB")]
        max_memory: Option<usize>,
    },
    /// Run the tests (cells named test_* or marked @test) of files or
    /// directories; ends with `N passed, M failed`
    Test {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Keep only tests whose name contains TEXT
        #[arg(long, value_name = "TEXT")]
        filter: Option<String>,
        #[arg(long, value_name = "CASSETTE")]
        tools: Option<PathBuf>,
    },
    /// Show a trace written by `run --trace-dir`
    Trace {
        #[command(subcommand)]
        cmd: TraceCmd,
    },
    /// Write the LIR module of FILE as JSON (to stdout, or OUT)
    Emit {
        file: PathBuf,
        #[arg(short, long, value_name = "OUT")]
        o: Option<PathBuf>,
        #[arg(long, value_name = "CASSETTE")]
        tools: Option<PathBuf>,
    },
    /// Rewrite files in canonical style (only Lumen fences change in Markdown)
    Fmt {
        /// Write nothing; print each file that would change, exit 1 if any
        #[arg(long)]
        check: bool,
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Print a shell completion script
    Completions { shell: clap_complete::Shell },
}
