//! `lugh run`: the kernel, the scheduler service under the reincarnation
//! server, a task workload, a status line per second, and a control socket
//! (`lugh ctl`) speaking one JSON object per line.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{json, Value};

use lugh::kernel::{task_payload, Kernel, MemoryStatus, HEARTBEAT};
use lugh::msg::Priority;
use lugh::sched::Kind;

#[derive(Debug, Clone)]
pub struct RunOptions {
    pub scheduler: Kind,
    /// Tasks added per second by the built-in workload.
    pub rate: u64,
    pub duration: Option<Duration>,
    pub socket: PathBuf,
    pub json: bool,
    /// `Some(lugh binary)`: services run as OS processes over ipc://.
    pub process_exe: Option<PathBuf>,
    /// The scheduler's memory quota in bytes (default
    /// [`DEFAULT_MEMORY_QUOTA`](lugh::kernel::DEFAULT_MEMORY_QUOTA)).
    pub memory_quota: Option<u64>,
    /// A storage directory: critical operations (swaps, crashes, restarts)
    /// are committed there under `oplog/` as they happen.
    pub data: Option<PathBuf>,
}

/// The default control socket: `$XDG_RUNTIME_DIR/lugh/ctl.sock`, else
/// `/tmp/lugh-<uid>/ctl.sock`.
pub fn default_socket() -> PathBuf {
    match std::env::var_os("XDG_RUNTIME_DIR").filter(|v| !v.is_empty()) {
        Some(d) => PathBuf::from(d).join("lugh/ctl.sock"),
        None => std::env::temp_dir()
            .join(format!("lugh-{}", unsafe_uid()))
            .join("ctl.sock"),
    }
}

fn unsafe_uid() -> u32 {
    // The uid only names a directory; reading it cannot fail.
    std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m))
        .unwrap_or(0)
}

#[derive(Debug, Clone, Serialize)]
pub struct ServiceStatus {
    pub name: &'static str,
    pub generation: u32,
    pub state: &'static str,
    pub restarts: u64,
    /// The service's own process, under `--isolation process`.
    pub pid: Option<u32>,
    /// Memory it holds from the kernel, its quota, requests refused.
    pub memory: MemoryStatus,
    /// Tasks it refused for want of memory (as of its last checkpoint).
    pub refused_tasks: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub uptime_s: f64,
    pub services: Vec<ServiceStatus>,
    pub scheduler: &'static str,
    pub messages_rejected: u64,
    pub sent: u64,
    pub processed: u64,
    /// Sent minus processed (messages still in flight, or lost if it stays
    /// above zero once the load stops).
    pub outstanding: u64,
    pub unacked: usize,
    pub swaps: u64,
    /// Critical operations committed to storage (with `--data`).
    pub oplog_entries: u64,
}

type Request = (Value, mpsc::Sender<Value>);

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Ipc(#[from] lugh::ipc::IpcError),
    #[error("control socket {path}: {source}")]
    Socket {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("another lugh is running with control socket {0} (or remove the stale file)")]
    Busy(PathBuf),
    #[error(transparent)]
    Kv(#[from] lugh_kv::KvError),
}

fn bind_control(path: &Path) -> Result<UnixListener, RunError> {
    let err = |source| RunError::Socket {
        path: path.to_path_buf(),
        source,
    };
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d).map_err(err)?;
    }
    if path.exists() {
        if UnixStream::connect(path).is_ok() {
            return Err(RunError::Busy(path.to_path_buf()));
        }
        std::fs::remove_file(path).map_err(err)?;
    }
    UnixListener::bind(path).map_err(err)
}

/// Runs until the duration ends or a `stop` request; returns the final status.
pub fn run(opts: &RunOptions, mut out: impl Write) -> Result<Status, RunError> {
    let started = Instant::now();
    let oplog = match &opts.data {
        Some(d) => Some(lugh_kv::Store::open(d, lugh_kv::Options::default())?.0),
        None => None,
    };
    let listener = bind_control(&opts.socket)?;
    let (req_tx, req_rx) = mpsc::channel::<Request>();
    let stop = Arc::new(AtomicBool::new(false));
    spawn_control(listener, &opts.socket, stop.clone(), req_tx)?;
    let (obs_tx, obs_rx) = mpsc::channel();
    let kernel = start_kernel(opts, obs_tx)?;
    let sent = Arc::new(AtomicU64::new(0));
    let load_stop = Arc::new(AtomicBool::new(false));
    let load = spawn_load(&kernel, sent.clone(), load_stop.clone(), opts.rate.max(1));
    let mut r = Running {
        opts,
        started,
        kernel,
        sent,
        processed: BTreeSet::new(),
        swaps: 0,
        logged: 0,
        oplog,
    };
    let mut next_line = Instant::now() + Duration::from_secs(1);
    loop {
        r.kernel.tick();
        while let Ok((_, seq)) = obs_rx.try_recv() {
            r.processed.insert(seq);
        }
        while let Ok((req, reply)) = req_rx.try_recv() {
            let _ = reply.send(r.answer(&req, &stop));
        }
        r.log_ops();
        if Instant::now() >= next_line {
            next_line += Duration::from_secs(1);
            let _ = writeln!(out, "{}", r.line(&r.status()));
        }
        let done = opts.duration.is_some_and(|d| r.started.elapsed() >= d);
        if done || stop.load(Ordering::SeqCst) {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    // Drain: stop the load, let the service finish what was sent.
    load_stop.store(true, Ordering::SeqCst);
    let _ = load.join();
    let t = Instant::now();
    while t.elapsed() < HEARTBEAT * 30 {
        r.kernel.tick();
        while let Ok((_, seq)) = obs_rx.try_recv() {
            r.processed.insert(seq);
        }
        if r.done() >= r.sent.load(Ordering::SeqCst) {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    r.log_ops();
    let last = r.status();
    stop.store(true, Ordering::SeqCst);
    r.kernel.shutdown();
    if opts.process_exe.is_some() {
        if let Some(dir) = opts.socket.parent() {
            let _ =
                std::fs::remove_dir_all(dir.join(format!("lugh-{}-scratch", std::process::id())));
        }
    }
    let _ = std::fs::remove_file(&opts.socket);
    Ok(last)
}

/// Accepts control connections until `stop`, one thread per connection
/// passing its requests to the run loop.
fn spawn_control(
    listener: UnixListener,
    socket: &Path,
    stop: Arc<AtomicBool>,
    req_tx: mpsc::Sender<Request>,
) -> Result<(), RunError> {
    listener
        .set_nonblocking(true)
        .map_err(|source| RunError::Socket {
            path: socket.to_path_buf(),
            source,
        })?;
    std::thread::spawn(move || {
        while !stop.load(Ordering::SeqCst) {
            match listener.accept() {
                Ok((s, _)) => {
                    let tx = req_tx.clone();
                    std::thread::spawn(move || serve(s, tx));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
    });
    Ok(())
}

/// The kernel with its first scheduler instance: threads over inproc://,
/// or processes over ipc:// sockets beside the control socket.
fn start_kernel(
    opts: &RunOptions,
    obs_tx: mpsc::Sender<(Priority, u64)>,
) -> Result<Kernel, RunError> {
    let kernel = match &opts.process_exe {
        None => Kernel::start(
            &format!("inproc://lugh-run-{}", std::process::id()),
            opts.scheduler,
            Some(obs_tx),
        )?,
        Some(exe) => {
            // The supervisor knows what process instances processed from
            // their checkpoints.
            let dir = opts
                .socket
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_else(std::env::temp_dir);
            let base = format!("ipc://{}/lugh-{}", dir.display(), std::process::id());
            let isolation = lugh::kernel::Isolation::Process {
                exe: exe.clone(),
                scratch: dir.join(format!("lugh-{}-scratch", std::process::id())),
            };
            drop(obs_tx);
            Kernel::start_with(&base, opts.scheduler, None, isolation)?
        }
    };
    if let Some(q) = opts.memory_quota {
        kernel.set_memory_quota(q);
    }
    Ok(kernel)
}

/// The built-in workload: `rate` tasks a second until `stop`.
fn spawn_load(
    kernel: &Kernel,
    sent: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    rate: u64,
) -> std::thread::JoinHandle<()> {
    let ch = kernel.channel.clone();
    std::thread::spawn(move || {
        let t = Instant::now();
        let mut i = 0u64;
        while !stop.load(Ordering::SeqCst) {
            if ch
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .send(
                    Priority::Medium,
                    lugh::services::scheduler::ADD_TASK,
                    // Mixed priorities, deadlines 50 ms out, 1-3 slices.
                    task_payload(
                        (i % 11) as u8,
                        t.elapsed().as_millis() as u64 + 50,
                        1 + (i % 3) as u32,
                    ),
                )
                .is_ok()
            {
                sent.fetch_add(1, Ordering::SeqCst);
            }
            i += 1;
            let due = Duration::from_secs_f64(i as f64 / rate as f64);
            if let Some(w) = due.checked_sub(t.elapsed()) {
                std::thread::sleep(w);
            }
        }
    })
}

/// The state of a `lugh run`.
struct Running<'a> {
    opts: &'a RunOptions,
    started: Instant,
    kernel: Kernel,
    sent: Arc<AtomicU64>,
    /// Sequence numbers the service processed (threads: from its observer).
    processed: BTreeSet<u64>,
    swaps: u64,
    /// Critical-operation lines already committed to storage.
    logged: usize,
    oplog: Option<lugh_kv::Store>,
}

impl Running<'_> {
    /// Messages processed: counted from the observer, or (processes) from
    /// the checkpoints.
    fn done(&self) -> u64 {
        if self.opts.process_exe.is_some() {
            self.kernel.checkpointed()
        } else {
            self.processed.len() as u64
        }
    }

    /// Commits the kernel's new critical-operation lines (durably).
    fn log_ops(&mut self) {
        let Some(store) = &self.oplog else { return };
        while self.logged < self.kernel.log.len() {
            let mut t = store.begin();
            let key = format!("oplog/{}-{:06}", std::process::id(), self.logged + 1);
            if t.put(key.as_bytes(), self.kernel.log[self.logged].as_bytes())
                .is_ok()
            {
                if let Err(e) = store.commit(t) {
                    tracing::warn!("oplog: {e}");
                }
            }
            self.logged += 1;
        }
    }

    fn status(&self) -> Status {
        let kernel = &self.kernel;
        let sent = self.sent.load(Ordering::SeqCst);
        Status {
            uptime_s: self.started.elapsed().as_secs_f64(),
            services: vec![ServiceStatus {
                name: "scheduler",
                generation: kernel.generation(),
                state: if kernel.restarting() {
                    "restarting"
                } else {
                    "running"
                },
                restarts: kernel.restarts,
                pid: kernel.service_pid(),
                memory: kernel.memory(),
                refused_tasks: kernel.refused_tasks(),
            }],
            scheduler: kernel.kind().name(),
            messages_rejected: kernel.rejected(),
            sent,
            processed: self.done(),
            outstanding: sent.saturating_sub(self.done()),
            unacked: kernel.unacked(),
            swaps: self.swaps,
            oplog_entries: if self.opts.data.is_some() {
                kernel.log.len() as u64
            } else {
                0
            },
        }
    }

    fn line(&self, s: &Status) -> String {
        if self.opts.json {
            serde_json::to_string(s).unwrap_or_default()
        } else {
            format!(
                "t={:>5.1}s scheduler={} gen={} state={} sent={} processed={} outstanding={} restarts={} swaps={} rejected={} mem={}/{}",
                s.uptime_s, s.scheduler, s.services[0].generation, s.services[0].state, s.sent, s.processed, s.outstanding, s.services[0].restarts, s.swaps, s.messages_rejected, s.services[0].memory.used, s.services[0].memory.quota
            )
        }
    }

    /// The answer to one control request.
    fn answer(&mut self, req: &Value, stop: &AtomicBool) -> Value {
        let cmd = req["cmd"].as_str().unwrap_or("");
        match cmd {
            "status" => serde_json::to_value(self.status()).unwrap_or(Value::Null),
            "swap" => match req["to"].as_str().and_then(Kind::parse) {
                Some(to) => {
                    let r = self.kernel.swap(to, false);
                    if r.committed {
                        self.swaps += 1;
                    }
                    json!({"ok": r.committed, "swap": r})
                }
                None => json!({"ok": false, "error": "swap needs `to`: rr or priority"}),
            },
            "kill" | "hang" => match req["service"].as_str() {
                Some("scheduler") => {
                    let pid = self.kernel.service_pid();
                    let ok = if cmd == "kill" {
                        self.kernel.kill_service().is_ok()
                    } else {
                        self.kernel.inject_fault(true).is_ok()
                    };
                    json!({"ok": ok, "service": "scheduler", "generation": self.kernel.generation(), "pid": pid})
                }
                other => {
                    json!({"ok": false, "error": format!("unknown service {other:?}; services: scheduler")})
                }
            },
            "stop" => {
                stop.store(true, Ordering::SeqCst);
                json!({"ok": true})
            }
            other => {
                json!({"ok": false, "error": format!("unknown command `{other}`; commands: status, swap, kill, hang, stop")})
            }
        }
    }
}

fn serve(s: UnixStream, tx: mpsc::Sender<Request>) {
    let Ok(mut w) = s.try_clone() else { return };
    for line in BufReader::new(s).lines() {
        let Ok(line) = line else { break };
        let req: Value = match serde_json::from_str(&line) {
            Ok(v) => v,
            Err(e) => {
                let _ = writeln!(
                    w,
                    "{}",
                    json!({"ok": false, "error": format!("not JSON: {e}")})
                );
                continue;
            }
        };
        let (rtx, rrx) = mpsc::channel();
        if tx.send((req, rtx)).is_err() {
            break;
        }
        let answer = rrx
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|_| json!({"ok": false, "error": "no answer"}));
        if writeln!(w, "{answer}").is_err() {
            break;
        }
    }
}

/// One request to a running lugh over its control socket.
pub fn ctl(socket: &Path, request: &Value) -> Result<Value, String> {
    let mut s = UnixStream::connect(socket).map_err(|e| {
        format!(
            "cannot reach lugh at {}: {e} (is `lugh run` running?)",
            socket.display()
        )
    })?;
    s.set_read_timeout(Some(Duration::from_secs(15))).ok();
    writeln!(s, "{request}").map_err(|e| e.to_string())?;
    let mut line = String::new();
    BufReader::new(s)
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    serde_json::from_str(&line).map_err(|e| format!("bad answer: {e}"))
}

/// `lugh.toml` (`lugh run --config`): every key optional.
#[derive(Debug, serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// `rr` or `priority`.
    pub scheduler: Option<String>,
    /// Tasks per second the built-in workload adds.
    pub rate: Option<u64>,
    /// Bytes the scheduler service may ask the kernel for.
    pub memory_quota: Option<u64>,
}

/// Why `lugh.toml` cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum FileConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("invalid {path}: {source}")]
    Parse {
        path: std::path::PathBuf,
        source: toml::de::Error,
    },
}

impl FileConfig {
    /// The file at `path`, or all defaults when there is none.
    pub fn load(path: Option<&std::path::Path>) -> Result<FileConfig, FileConfigError> {
        let Some(p) = path else {
            return Ok(FileConfig::default());
        };
        let text = std::fs::read_to_string(p).map_err(|source| FileConfigError::Read {
            path: p.to_path_buf(),
            source,
        })?;
        toml::from_str(&text).map_err(|source| FileConfigError::Parse {
            path: p.to_path_buf(),
            source,
        })
    }
}
