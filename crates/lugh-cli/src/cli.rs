//! The command line's shape: every command, flag and its help.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};

use crate::kv::KvArgs;

/// lugh: the LughOS microkernel MVP — prioritized NNG IPC, hot-swappable
/// schedulers, a reincarnation server.
///
/// `lugh run` starts the kernel and its scheduler service (threads, or OS
/// processes with `--isolation process`); `lugh ctl` swaps, kills and
/// inspects it while it runs; `lugh bench` measures the IPC, priorities,
/// swaps and restarts.
#[derive(Parser, Debug)]
#[command(name = "lugh", version, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Cmd,
}

#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Start the system: kernel, scheduler service under the reincarnation
    /// server, a task workload; prints a status line per second and answers
    /// `lugh ctl` on its control socket.
    Run {
        /// lugh.toml: `scheduler = "rr" | "priority"`, `rate = <tasks/s>`,
        /// `memory_quota = <bytes>` (the scheduler's task-table quota).
        #[arg(long, value_name = "PATH")]
        config: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = Isolation::Thread)]
        isolation: Isolation,
        /// Stop after this long (e.g. 10s, 500ms, 2m); default: until `lugh ctl stop`.
        #[arg(long = "for", value_name = "DURATION", value_parser = parse_duration)]
        duration: Option<Duration>,
        /// The scheduler to start with [default: rr].
        #[arg(long)]
        scheduler: Option<String>,
        /// Tasks per second the built-in workload adds [default: 1000].
        #[arg(long)]
        rate: Option<u64>,
        /// Control socket [default: $XDG_RUNTIME_DIR/lugh/ctl.sock].
        #[arg(long, value_name = "PATH")]
        socket: Option<PathBuf>,
        /// Status lines as JSON, and the final status.
        #[arg(long)]
        json: bool,
        /// Run a built-in workload instead: `grid`, the energy-grid demo
        /// (sensors, deadlines, HIGH alerts, storage; a live swap and two
        /// kills during the run; a verdict at the end).
        #[arg(long, value_enum)]
        demo: Option<Demo>,
        /// Grid demo: number of sensors [default: 200]; `--rate` is then
        /// readings per second per sensor [default: 50].
        #[arg(long)]
        sensors: Option<u32>,
        /// Storage data directory: critical operations (swaps, crashes,
        /// restarts) are committed there under `oplog/`; the grid demo
        /// keeps its alerts and aggregates there too [grid default: a
        /// temporary directory].
        #[arg(long, value_name = "DIR")]
        data: Option<PathBuf>,
        /// Grid demo: no swap and no kills during the run.
        #[arg(long)]
        no_faults: bool,
    },
    /// Run one service instance in this process (started by `lugh run
    /// --isolation process`; not for direct use).
    #[command(hide = true)]
    Service {
        /// The service (only `scheduler` so far).
        name: String,
        #[arg(long)]
        listen: String,
        #[arg(long)]
        kernel: String,
        #[arg(long)]
        kind: String,
        #[arg(long)]
        generation: u32,
        #[arg(long)]
        handoff_in: Option<PathBuf>,
        #[arg(long)]
        handoff_out: PathBuf,
        #[arg(long)]
        crash_on_start: bool,
    },
    /// The transactional key-value store: put, get, del, scan, txn,
    /// rollback, recover, log (`--data DIR`, `--json`).
    Kv(KvArgs),
    /// Run the storage service in this process (started by `lugh run
    /// --isolation process` and the crash tests; not for direct use).
    #[command(hide = true)]
    StorageService {
        #[arg(long)]
        data: PathBuf,
        #[arg(long)]
        listen: String,
        #[arg(long)]
        reply_to: String,
        #[arg(long, default_value_t = 1)]
        generation: u32,
        /// Log size that triggers a snapshot (bytes).
        #[arg(long)]
        log_limit: Option<u64>,
    },
    /// Build a bootable image: an initramfs whose /init is a static lugh
    /// (with the kernel modules for the data disk) and an ext4 data disk.
    Image {
        #[arg(long, value_name = "x86_64|aarch64")]
        arch: String,
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// The static lugh for that architecture [default: where
        /// scripts/lugh-static puts it].
        #[arg(long, value_name = "PATH")]
        bin: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Build the image and boot it under QEMU (software emulation); the
    /// guest runs the smoke test and its verdict is the exit status.
    Qemu {
        #[arg(long, value_name = "x86_64|aarch64")]
        arch: String,
        /// Where the image goes [default: target/lugh-qemu/ARCH].
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
        #[arg(long, value_name = "PATH")]
        bin: Option<PathBuf>,
        /// Give up after this long [default: 300s].
        #[arg(long, value_parser = parse_duration)]
        timeout: Option<Duration>,
        #[arg(long)]
        json: bool,
    },
    /// Talk to a running `lugh run`.
    Ctl {
        /// Control socket [default: $XDG_RUNTIME_DIR/lugh/ctl.sock].
        #[arg(long, global = true, value_name = "PATH")]
        socket: Option<PathBuf>,
        #[arg(long, global = true)]
        json: bool,
        #[command(subcommand)]
        action: CtlAction,
    },
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

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum Demo {
    /// The energy-grid workload.
    Grid,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum Isolation {
    /// Services are threads talking over inproc:// NNG.
    Thread,
    /// Services are OS processes over ipc://: a crash or a kill takes only
    /// that process down.
    Process,
}

#[derive(Subcommand, Debug)]
pub enum CtlAction {
    /// Services, generations, restarts, the scheduler, message counters.
    Status,
    /// Live-swap the scheduler.
    Swap { to: String },
    /// Crash a service (the reincarnation server restarts it).
    Kill { service: String },
    /// Make a service stop answering (detected by missed heartbeats).
    Hang { service: String },
    /// Stop the running system.
    Stop,
}

pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = s
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .map(|i| s.split_at(i))
        .unwrap_or((s, "s"));
    let n: f64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a duration (e.g. 10s, 500ms, 2m)"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" | "" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(format!("`{s}`: unknown unit `{unit}` (ms, s, m, h)")),
    };
    Ok(Duration::from_secs_f64(secs))
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Bench {
    /// Kernel-service round trip over inproc NNG beside std mpsc; throughput.
    Ipc,
    /// HIGH waits behind floods of LOW, beside a single FIFO socket.
    Priority,
    /// Live scheduler swaps under load: lost, duplicated, reordered, gap.
    Swap,
    /// Killed and hung scheduler service: restart and detection times.
    Restart,
    /// Durable and group commits beside SQLite (WAL, synchronous=FULL);
    /// recovery of a 100 MB log.
    Storage,
}
