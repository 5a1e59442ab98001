//! `lugh`: the command line over the lugh library.

mod kv;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use lugh::sched::Kind;
use serde_json::json;

/// lugh: the LughOS microkernel MVP — prioritized NNG IPC, hot-swappable
/// schedulers, a reincarnation server.
///
/// `lugh run` starts the kernel and its scheduler service (threads, or OS
/// processes with `--isolation process`); `lugh ctl` swaps, kills and
/// inspects it while it runs; `lugh bench` measures the IPC, priorities,
/// swaps and restarts.
#[derive(Parser, Debug)]
#[command(name = "lugh", version, max_term_width = 100)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
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
    Kv(kv::KvArgs),
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
enum Demo {
    /// The energy-grid workload.
    Grid,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum Isolation {
    /// Services are threads talking over inproc:// NNG.
    Thread,
    /// Services are OS processes over ipc://: a crash or a kill takes only
    /// that process down.
    Process,
}

#[derive(Subcommand, Debug)]
enum CtlAction {
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

fn parse_duration(s: &str) -> Result<Duration, String> {
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

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    scheduler: Option<String>,
    rate: Option<u64>,
    /// Bytes the scheduler service may ask the kernel for.
    memory_quota: Option<u64>,
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
    /// Durable and group commits beside SQLite (WAL, synchronous=FULL);
    /// recovery of a 100 MB log.
    Storage,
}

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

/// `--arch` and `--bin` of `image` and `qemu`: the architecture, and the
/// static binary (by default where scripts/lugh-static puts it).
fn arch_and_bin(
    arch: &str,
    bin: Option<PathBuf>,
) -> anyhow::Result<(lugh_system::image::Arch, PathBuf)> {
    let a = lugh_system::image::Arch::parse(arch)
        .with_context(|| format!("unknown --arch `{arch}`: use x86_64 or aarch64"))?;
    Ok((a, bin.unwrap_or_else(|| a.default_bin())))
}

fn run(cli: Cli) -> anyhow::Result<()> {
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
        } => {
            if demo == Some(Demo::Grid) {
                let opts = lugh_system::grid::GridOptions {
                    sensors: sensors.unwrap_or(200),
                    rate_hz: rate.unwrap_or(50) as u32,
                    duration: duration.unwrap_or(Duration::from_secs(20)),
                    json,
                    data,
                    storage_exe: std::env::current_exe().ok(),
                    faults: !no_faults,
                };
                let _ = (config, isolation, scheduler, socket);
                let r = lugh_system::grid::run(&opts, std::io::stdout())?;
                if json {
                    println!("{}", serde_json::to_string(&r)?);
                } else {
                    println!(
                        "grid: {} readings ({:.0}/s), {} alerts (p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms), deadline misses high {} medium {}, {} swaps, {} restarts",
                        r.readings, r.readings_per_s, r.alerts, r.alert_p50_ms, r.alert_p99_ms, r.alert_max_ms,
                        r.deadline_misses_high, r.deadline_misses_medium, r.swaps, r.restarts
                    );
                    println!(
                        "checked in {}: {} alerts lost, {} readings lost, {} aggregates lost; {} critical operations logged",
                        r.data_dir.as_ref().map(|d| d.display().to_string()).unwrap_or_else(|| "a temporary directory (removed; --data DIR keeps it)".into()),
                        r.alerts_lost, r.readings_lost, r.aggregates_lost, r.oplog_entries
                    );
                    println!("verdict: {}", r.verdict);
                }
                if r.verdict != "ok" {
                    std::process::exit(1);
                }
                return Ok(());
            }
            let file: FileConfig = match &config {
                Some(p) => {
                    let text = std::fs::read_to_string(p)
                        .with_context(|| format!("cannot read {}", p.display()))?;
                    toml::from_str(&text).with_context(|| format!("invalid {}", p.display()))?
                }
                None => FileConfig::default(),
            };
            let sched_name = scheduler.or(file.scheduler).unwrap_or_else(|| "rr".into());
            let Some(kind) = Kind::parse(&sched_name) else {
                bail!("unknown scheduler `{sched_name}`: use rr or priority");
            };
            let opts = lugh_system::system::RunOptions {
                scheduler: kind,
                rate: rate.or(file.rate).unwrap_or(1000),
                memory_quota: file.memory_quota,
                data,
                duration,
                socket: socket.unwrap_or_else(lugh_system::system::default_socket),
                json,
                process_exe: match isolation {
                    Isolation::Thread => None,
                    Isolation::Process => {
                        Some(std::env::current_exe().context("cannot find the lugh binary")?)
                    }
                },
            };
            let last = lugh_system::system::run(&opts, std::io::stdout())?;
            if json {
                println!("{}", serde_json::to_string(&last)?);
            } else {
                println!(
                    "stopped: sent {} processed {} lost {} restarts {} swaps {}",
                    last.sent,
                    last.processed,
                    last.outstanding,
                    last.services[0].restarts,
                    last.swaps
                );
            }
        }
        Cmd::Service {
            name,
            listen,
            kernel,
            kind,
            generation,
            handoff_in,
            handoff_out,
            crash_on_start,
        } => {
            if name != "scheduler" {
                bail!("unknown service `{name}`: services: scheduler");
            }
            let Some(kind) = Kind::parse(&kind) else {
                bail!("unknown scheduler `{kind}`");
            };
            let cfg = lugh::kernel::InstanceConfig {
                service_url: listen,
                kernel_url: kernel,
                kind,
                generation,
                observer: None,
                crash_on_start,
                isolation: lugh::kernel::Isolation::Thread,
            };
            let code = lugh::kernel::serve_process(cfg, handoff_in.as_deref(), &handoff_out);
            std::process::exit(code);
        }
        Cmd::Image {
            arch,
            out,
            bin,
            json,
        } => {
            let (a, bin) = arch_and_bin(&arch, bin)?;
            let img = lugh_system::image::build(a, &bin, &out, &mut std::io::stderr())?;
            print(json, serde_json::to_value(&img)?);
        }
        Cmd::Qemu {
            arch,
            dir,
            bin,
            timeout,
            json,
        } => {
            let (a, bin) = arch_and_bin(&arch, bin)?;
            let dir = dir.unwrap_or_else(|| PathBuf::from("target/lugh-qemu").join(a.name()));
            let img = lugh_system::image::build(a, &bin, &dir, &mut std::io::stderr())?;
            let b = lugh_system::image::boot(
                a,
                &img,
                timeout.unwrap_or(Duration::from_secs(300)),
                &mut std::io::stdout(),
            )?;
            if json {
                println!("{}", serde_json::to_string(&b)?);
            } else {
                println!(
                    "lugh qemu {}: ready after {}, verdict {} ({:.1} s in all)",
                    b.arch,
                    b.ready_s
                        .map(|s| format!("{s:.1} s"))
                        .unwrap_or_else(|| "never".into()),
                    b.verdict,
                    b.total_s
                );
            }
            if b.verdict != "ok" {
                std::process::exit(1);
            }
        }
        Cmd::Kv(args) => {
            let code = kv::run(args)?;
            if code != 0 {
                std::process::exit(code);
            }
        }
        Cmd::StorageService {
            data,
            listen,
            reply_to,
            generation,
            log_limit,
        } => {
            let mut opts = lugh_kv::Options::default();
            if let Some(l) = log_limit {
                opts.log_limit = l;
            }
            let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            lugh::services::storage::serve(&data, opts, &listen, &reply_to, generation, stop)?;
        }
        Cmd::Ctl {
            socket,
            json,
            action,
        } => {
            let socket = socket.unwrap_or_else(lugh_system::system::default_socket);
            let req = match &action {
                CtlAction::Status => json!({"cmd": "status"}),
                CtlAction::Swap { to } => json!({"cmd": "swap", "to": to}),
                CtlAction::Kill { service } => json!({"cmd": "kill", "service": service}),
                CtlAction::Hang { service } => json!({"cmd": "hang", "service": service}),
                CtlAction::Stop => json!({"cmd": "stop"}),
            };
            let answer = lugh_system::system::ctl(&socket, &req).map_err(anyhow::Error::msg)?;
            if answer["ok"] == json!(false) {
                bail!("{}", answer["error"].as_str().unwrap_or("refused"));
            }
            print(json, answer);
        }
        Cmd::Bench { what, quick, json } => match what {
            Bench::Ipc => print(json, serde_json::to_value(lugh_system::bench::ipc(quick)?)?),
            Bench::Priority => print(
                json,
                serde_json::to_value(lugh_system::bench::priority(quick)?)?,
            ),
            Bench::Swap => print(
                json,
                serde_json::to_value(lugh_system::bench::swap(quick)?)?,
            ),
            Bench::Restart => print(
                json,
                serde_json::to_value(lugh_system::bench::restart(quick)?)?,
            ),
            Bench::Storage => print(
                json,
                serde_json::to_value(lugh_system::bench::storage(quick)?)?,
            ),
        },
        Cmd::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "lugh", &mut std::io::stdout());
        }
    }
    Ok(())
}
