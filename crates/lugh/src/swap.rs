//! Live swap of the scheduler service with no message lost, duplicated or
//! reordered (the seed's live update).
//!
//! NNG drops whatever is in flight in a pipe that closes, so delivery rests
//! on a layer above it: the kernel numbers every message per priority
//! stream and keeps it until the service acknowledges it ([`Channel`]); a
//! service instance ([`Instance`]) processes each stream strictly in
//! sequence, dropping duplicates and holding early arrivals. A swap stops
//! the old instance at a message boundary, seals its scheduler state, its
//! backlog and the next sequence number expected per stream, starts the new
//! instance from that, and has the kernel replay everything unacknowledged.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::ipc::{Endpoint, IpcError, Sender};
use crate::memory::{Accounts, MemoryOp};
use crate::msg::{Message, Op, Priority, Source};
use crate::sched::{self, Kind, State, Task};

/// The kernel's side of one service: numbered streams and the messages not
/// yet acknowledged.
pub struct Channel {
    sender: Sender,
    source: Source,
    next: [u64; 3],
    unacked: [BTreeMap<u64, Message>; 3],
}

impl Channel {
    pub fn connect(service_url: &str, source: Source) -> Result<Channel, IpcError> {
        Ok(Channel {
            sender: Sender::connect(service_url)?,
            source,
            next: [1; 3],
            unacked: Default::default(),
        })
    }

    /// Numbers, remembers and sends a message; returns its sequence number.
    pub fn send(&mut self, p: Priority, op: Op, payload: Vec<u8>) -> Result<u64, IpcError> {
        let i = p.index();
        let seq = self.next[i];
        self.next[i] += 1;
        let m = Message::new(p, op, self.source, seq, payload);
        self.sender.send(&m)?;
        self.unacked[i].insert(seq, m);
        Ok(seq)
    }

    /// Points the channel at another instance's address. The old sockets
    /// close; whatever they still held is unacknowledged and is replayed to
    /// the new instance.
    pub fn redirect(&mut self, service_url: &str) -> Result<(), IpcError> {
        self.sender = Sender::connect(service_url)?;
        Ok(())
    }

    /// An unnumbered control message (swap requests).
    pub fn control(&self, op: Op, payload: Vec<u8>) -> Result<(), IpcError> {
        self.sender
            .send(&Message::new(Priority::High, op, self.source, 0, payload))
    }

    /// Everything up to `ack` in stream `p` has been processed.
    pub fn acknowledge(&mut self, p: Priority, ack: u64) {
        let q = &mut self.unacked[p.index()];
        while let Some((&seq, _)) = q.first_key_value() {
            if seq > ack {
                break;
            }
            q.pop_first();
        }
    }

    /// Sends every unacknowledged message again, in order.
    pub fn replay(&self) -> Result<usize, IpcError> {
        let mut n = 0;
        for q in &self.unacked {
            for m in q.values() {
                self.sender.send(m)?;
                n += 1;
            }
        }
        Ok(n)
    }

    pub fn unacked(&self) -> usize {
        self.unacked.iter().map(BTreeMap::len).sum()
    }
}

/// What a stopping instance hands to the next one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Handoff {
    pub scheduler: State,
    /// Next sequence number expected per priority stream.
    pub next_seq: [u64; 3],
    /// Sequenced messages received but not processed (wire form).
    pub backlog: Vec<Vec<u8>>,
    /// Tasks refused because the kernel refused the memory for them.
    #[serde(default)]
    pub refused_tasks: u64,
}

pub fn seal_handoff(h: &Handoff) -> Vec<u8> {
    sched::seal(h)
}

pub fn unseal_handoff(b: &[u8]) -> Result<Handoff, sched::UnsealError> {
    sched::unseal(b)
}

/// How an instance ended.
#[derive(Debug)]
pub enum Exit {
    /// Stopped at a message boundary for a swap; the sealed handoff.
    Stopped(Vec<u8>),
    /// Could not start (bind failed, damaged handoff...).
    Failed(String),
}

/// Settings of one scheduler instance.
#[derive(Clone)]
pub struct InstanceConfig {
    pub service_url: String,
    pub kernel_url: String,
    pub kind: Kind,
    pub generation: u32,
    /// Every processed (priority, sequence) goes here too (tests, benches).
    pub observer: Option<mpsc::Sender<(Priority, u64)>>,
    /// Fault injection for tests: the instance dies right after starting.
    pub crash_on_start: bool,
    /// Threads, or OS processes running `<exe> service scheduler ...`.
    pub isolation: Isolation,
}

/// Where service instances run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Isolation {
    /// Threads of this process, over inproc:// by default.
    Thread,
    /// Separate OS processes (the `lugh` binary at `exe`), over ipc://: a
    /// crash or a kill takes only that process down.
    Process { exe: PathBuf, scratch: PathBuf },
}

/// A running scheduler service instance (a thread here; a process under
/// `--isolation process`).
pub struct Instance {
    pub generation: u32,
    stop: Arc<AtomicBool>,
    runner: Runner,
    /// Set once the instance listens and has announced itself (threads).
    pub ready: Arc<AtomicBool>,
}

enum Runner {
    Thread(JoinHandle<Exit>),
    Process {
        child: std::process::Child,
        handoff_out: PathBuf,
    },
}

/// The scheduler service's id (memory account, message sources).
pub const SERVICE_ID: u16 = 1;

/// Memory one task-table entry occupies, the unit the scheduler service
/// accounts with the kernel.
pub const TASK_BYTES: u64 = std::mem::size_of::<Task>() as u64;

/// The scheduler's memory quota unless configured: 16 KiB, a table of
/// about 680 tasks, which still fits one checkpoint.
pub const DEFAULT_MEMORY_QUOTA: u64 = 16 * 1024;

/// Memory is asked for and given back in chunks of this many bytes.
const MEMORY_CHUNK: u64 = 2 * 1024;

/// Slices run after each task message, and while idle.
const SLICES_PER_MESSAGE: usize = 2;
const IDLE_SLICES: usize = 256;

/// The AddTask payload: `b'T'`, priority (0..10), absolute deadline in ms
/// (u64 LE) and slices of work (u32 LE). Anything else is a default task
/// (priority 5, no deadline, one slice).
pub fn task_payload(priority: u8, deadline_ms: u64, work: u32) -> Vec<u8> {
    let mut b = vec![b'T', priority];
    b.extend_from_slice(&deadline_ms.to_le_bytes());
    b.extend_from_slice(&work.to_le_bytes());
    b
}

fn parse_task(id: u64, b: &[u8]) -> Task {
    let parsed = (|| {
        if b.len() != 14 || b[0] != b'T' {
            return None;
        }
        let deadline = u64::from_le_bytes(b[2..10].try_into().ok()?);
        let work = u32::from_le_bytes(b[10..14].try_into().ok()?);
        Some(Task::new(id, b[1], deadline, work))
    })();
    parsed.unwrap_or_else(|| Task::new(id, 5, 0, 1))
}

/// The service's side of its memory account: what the kernel granted, and
/// the requests it answered.
struct Memory {
    granted: u64,
    refused_tasks: u64,
    /// After a refusal, no new request before this instant (tasks arriving
    /// meanwhile are refused locally).
    quiet_until: Option<Instant>,
}

impl Memory {
    /// Makes room for a table of `tasks` entries, asking the kernel for a
    /// chunk when needed and waiting for its answer. Other messages that
    /// arrive meanwhile are kept, in order, in `deferred`.
    fn reserve(
        &mut self,
        tasks: usize,
        ep: &Endpoint,
        to_kernel: &Sender,
        me: Source,
        deferred: &mut std::collections::VecDeque<Message>,
    ) -> bool {
        let need = tasks as u64 * TASK_BYTES;
        if need <= self.granted {
            return true;
        }
        if self.quiet_until.is_some_and(|t| Instant::now() < t) {
            return false;
        }
        let ask = (need - self.granted).div_ceil(MEMORY_CHUNK) * MEMORY_CHUNK;
        let req = MemoryOp::Request(ask).encode();
        if to_kernel
            .send(&Message::new(Priority::High, Op::MemoryRequest, me, 0, req))
            .is_err()
        {
            return false;
        }
        let deadline = Instant::now() + Duration::from_secs(1);
        while Instant::now() < deadline {
            let Some(a) = ep.recv(Duration::from_millis(20)) else {
                continue;
            };
            match (a.message.header.seq, a.message.header.op) {
                (0, Op::MemoryGrant) => {
                    self.granted += ask;
                    self.quiet_until = None;
                    return true;
                }
                (0, Op::MemoryRefused) => {
                    tracing::debug!(
                        "memory refused: {}",
                        String::from_utf8_lossy(&a.message.payload)
                    );
                    self.quiet_until = Some(Instant::now() + HEARTBEAT);
                    return false;
                }
                _ => deferred.push_back(a.message),
            }
        }
        self.quiet_until = Some(Instant::now() + HEARTBEAT);
        false
    }

    /// Gives back whole chunks the table no longer needs (keeping one spare).
    fn trim(&mut self, tasks: usize, to_kernel: &Sender, me: Source) {
        let need = tasks as u64 * TASK_BYTES;
        if self.granted >= need + 2 * MEMORY_CHUNK {
            let give = (self.granted - need - MEMORY_CHUNK) / MEMORY_CHUNK * MEMORY_CHUNK;
            let rel = MemoryOp::Release(give).encode();
            if to_kernel
                .send(&Message::new(Priority::Low, Op::MemoryRequest, me, 0, rel))
                .is_ok()
            {
                self.granted -= give;
            }
        }
    }
}

/// Heartbeat period; two missed heartbeats mean a hang.
pub const HEARTBEAT: Duration = Duration::from_millis(100);

impl Instance {
    pub fn start(cfg: InstanceConfig, handoff: Option<Vec<u8>>) -> Instance {
        let stop = Arc::new(AtomicBool::new(false));
        let ready = Arc::new(AtomicBool::new(false));
        let generation = cfg.generation;
        let runner = match cfg.isolation.clone() {
            Isolation::Thread => {
                let (s, r) = (stop.clone(), ready.clone());
                Runner::Thread(std::thread::spawn(move || run_instance(cfg, handoff, s, r)))
            }
            Isolation::Process { exe, scratch } => {
                match spawn_process(&cfg, handoff, &exe, &scratch) {
                    Ok((child, handoff_out)) => Runner::Process { child, handoff_out },
                    Err(e) => Runner::Thread(std::thread::spawn(move || Exit::Failed(e))),
                }
            }
        };
        Instance {
            generation,
            stop,
            runner,
            ready,
        }
    }

    /// Waits for the instance's end (after a Swap message or `abort`).
    pub fn join(self) -> Exit {
        match self.runner {
            Runner::Thread(h) => h
                .join()
                .unwrap_or_else(|_| Exit::Failed("instance panicked".into())),
            Runner::Process {
                mut child,
                handoff_out,
            } => match child.wait() {
                Ok(st) if st.success() => match std::fs::read(&handoff_out) {
                    Ok(h) => {
                        let _ = std::fs::remove_file(&handoff_out);
                        Exit::Stopped(h)
                    }
                    Err(e) => Exit::Failed(format!("no hand-off from the service process: {e}")),
                },
                Ok(st) => Exit::Failed(format!("service process {}", describe_status(st))),
                Err(e) => Exit::Failed(format!("cannot wait for the service process: {e}")),
            },
        }
    }

    /// Whether the instance has ended (a crash, unless asked).
    pub fn finished(&mut self) -> bool {
        match &mut self.runner {
            Runner::Thread(h) => h.is_finished(),
            Runner::Process { child, .. } => matches!(child.try_wait(), Ok(Some(_))),
        }
    }

    /// The OS process id, under process isolation.
    pub fn pid(&self) -> Option<u32> {
        match &self.runner {
            Runner::Process { child, .. } => Some(child.id()),
            Runner::Thread(_) => None,
        }
    }

    /// SIGKILL under process isolation (a real crash, seen by `finished`);
    /// `false` for a thread, which cannot be killed from outside.
    pub fn kill(&mut self) -> bool {
        match &mut self.runner {
            Runner::Process { child, .. } => child.kill().is_ok(),
            Runner::Thread(_) => false,
        }
    }

    /// Stops without a handoff (used when aborting a failed new instance).
    pub fn abort(self) {
        self.stop.store(true, Ordering::SeqCst);
        match self.runner {
            Runner::Thread(h) => {
                let _ = h.join();
            }
            Runner::Process {
                mut child,
                handoff_out,
            } => {
                let _ = child.kill();
                let _ = child.wait();
                let _ = std::fs::remove_file(handoff_out);
            }
        }
    }
}

fn describe_status(st: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (st.code(), st.signal()) {
        (Some(c), _) => format!("exited with status {c}"),
        (None, Some(s)) => format!("was killed by signal {s}"),
        _ => "ended".into(),
    }
}

fn spawn_process(
    cfg: &InstanceConfig,
    handoff: Option<Vec<u8>>,
    exe: &Path,
    scratch: &Path,
) -> Result<(std::process::Child, PathBuf), String> {
    std::fs::create_dir_all(scratch).map_err(|e| format!("{}: {e}", scratch.display()))?;
    let handoff_out = scratch.join(format!("handoff-out-g{}", cfg.generation));
    let _ = std::fs::remove_file(&handoff_out);
    let mut c = std::process::Command::new(exe);
    c.args([
        "service",
        "scheduler",
        "--listen",
        &cfg.service_url,
        "--kernel",
        &cfg.kernel_url,
        "--kind",
        cfg.kind.name(),
    ])
    .arg("--generation")
    .arg(cfg.generation.to_string())
    .arg("--handoff-out")
    .arg(&handoff_out)
    .stdin(std::process::Stdio::null())
    .stdout(std::process::Stdio::null());
    if let Some(h) = handoff {
        let input = scratch.join(format!("handoff-in-g{}", cfg.generation));
        std::fs::write(&input, h).map_err(|e| format!("{}: {e}", input.display()))?;
        c.arg("--handoff-in").arg(&input);
    }
    if cfg.crash_on_start {
        c.arg("--crash-on-start");
    }
    let child = c
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", exe.display()))?;
    Ok((child, handoff_out))
}

/// The body of `lugh service scheduler`: one instance in this process.
/// Returns the process exit code.
pub fn serve_process(cfg: InstanceConfig, handoff_in: Option<&Path>, handoff_out: &Path) -> i32 {
    let handoff = match handoff_in.map(std::fs::read) {
        Some(Ok(h)) => Some(h),
        Some(Err(e)) => {
            eprintln!("lugh service: cannot read the hand-off: {e}");
            return 1;
        }
        None => None,
    };
    match run_instance(
        cfg,
        handoff,
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicBool::new(false)),
    ) {
        Exit::Stopped(h) => {
            let tmp = handoff_out.with_extension("tmp");
            if std::fs::write(&tmp, h)
                .and_then(|_| std::fs::rename(&tmp, handoff_out))
                .is_err()
            {
                eprintln!(
                    "lugh service: cannot write the hand-off to {}",
                    handoff_out.display()
                );
                return 1;
            }
            0
        }
        Exit::Failed(e) => {
            eprintln!("lugh service: {e}");
            1
        }
    }
}

fn run_instance(
    cfg: InstanceConfig,
    handoff: Option<Vec<u8>>,
    stop: Arc<AtomicBool>,
    ready: Arc<AtomicBool>,
) -> Exit {
    let h = match handoff.as_deref().map(unseal_handoff) {
        Some(Ok(h)) => Some(h),
        Some(Err(e)) => return Exit::Failed(e.to_string()),
        None => None,
    };
    if cfg.crash_on_start {
        return Exit::Failed("crashed on start (fault injection)".into());
    }
    let ep = match Endpoint::bind(&cfg.service_url) {
        Ok(e) => e,
        Err(e) => return Exit::Failed(e.to_string()),
    };
    let to_kernel = match Sender::connect(&cfg.kernel_url) {
        Ok(s) => s,
        Err(e) => {
            ep.close();
            return Exit::Failed(e.to_string());
        }
    };
    let me = Source {
        service: SERVICE_ID,
        generation: cfg.generation,
    };
    let mut memory = Memory {
        granted: 0,
        refused_tasks: 0,
        quiet_until: None,
    };
    let (mut scheduler, mut next, mut pending) = match h {
        Some(h) => {
            let mut pending: [BTreeMap<u64, Message>; 3] = Default::default();
            for b in &h.backlog {
                if let Ok(m) = Message::decode(b) {
                    pending[m.header.priority.index()].insert(m.header.seq, m);
                }
            }
            memory.refused_tasks = h.refused_tasks;
            (
                sched::build(cfg.kind, Some(h.scheduler)),
                h.next_seq,
                pending,
            )
        }
        None => (sched::build(cfg.kind, None), [1; 3], Default::default()),
    };
    let mut deferred = std::collections::VecDeque::new();
    // Announce: the kernel replays what this generation has not processed.
    let hello = Message::new(
        Priority::High,
        Op::Swap,
        me,
        0,
        next.iter().flat_map(|n| n.to_le_bytes()).collect(),
    );
    let _ = to_kernel.send(&hello);
    // A table carried over from a hand-off or checkpoint needs its memory
    // back from the kernel (a new generation's account starts empty).
    if !scheduler.is_empty() {
        memory.reserve(scheduler.len(), &ep, &to_kernel, me, &mut deferred);
    }
    ready.store(true, Ordering::SeqCst);
    let run_slices = |scheduler: &mut Box<dyn sched::Scheduler>, n: usize| {
        for _ in 0..n {
            match scheduler.next() {
                Some(t) => {
                    scheduler.end_slice(t);
                }
                None => break,
            }
        }
    };
    let checkpoint = |scheduler: &dyn sched::Scheduler,
                      next: &[u64; 3],
                      pending: &[BTreeMap<u64, Message>; 3],
                      refused_tasks: u64| {
        let h = Handoff {
            scheduler: scheduler.export(),
            next_seq: *next,
            backlog: pending
                .iter()
                .flat_map(|q| q.values().filter_map(|m| m.encode().ok()))
                .collect(),
            refused_tasks,
        };
        seal_handoff(&h)
    };
    let mut last_beat = Instant::now() - HEARTBEAT;
    loop {
        if stop.load(Ordering::SeqCst) {
            ep.close();
            return Exit::Failed("aborted".into());
        }
        // Heartbeat with a checkpoint: the kernel forgets what the
        // checkpoint covers, and restarts from it after a crash or hang.
        if last_beat.elapsed() >= HEARTBEAT {
            last_beat = Instant::now();
            let mut payload = checkpoint(scheduler.as_ref(), &next, &pending, memory.refused_tasks);
            if payload.len() > crate::msg::MAX_PAYLOAD {
                // Too large for one message: a heartbeat without a
                // checkpoint still proves the service alive.
                payload.clear();
            }
            let _ = to_kernel.send(&Message::new(Priority::High, Op::Heartbeat, me, 0, payload));
        }
        let m = match deferred.pop_front() {
            Some(m) => m,
            // With tasks to run, idle time is spent running slices.
            None => match ep.recv(Duration::from_millis(if scheduler.is_empty() {
                20
            } else {
                1
            })) {
                Some(a) => a.message,
                None => {
                    run_slices(&mut scheduler, IDLE_SLICES);
                    memory.trim(scheduler.len(), &to_kernel, me);
                    continue;
                }
            },
        };
        if m.header.seq == 0 && m.header.op == Op::Error {
            // Fault injection (tests, `lugh ctl kill`): die, or stop answering.
            if m.payload == b"hang" {
                while !stop.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
            ep.close();
            return Exit::Failed("crashed (fault injection)".into());
        }
        if m.header.seq == 0 {
            if m.header.op == Op::Swap {
                // Stop at this boundary: hand over state, backlog, cursors.
                let mut backlog: Vec<Vec<u8>> = Vec::new();
                for q in &pending {
                    backlog.extend(q.values().filter_map(|m| m.encode().ok()));
                }
                while let Some(a) = ep.recv(Duration::ZERO) {
                    if a.message.header.seq != 0 {
                        if let Ok(b) = a.message.encode() {
                            backlog.push(b);
                        }
                    }
                }
                ep.close();
                backlog.extend(
                    deferred
                        .iter()
                        .filter(|m| m.header.seq != 0)
                        .filter_map(|m| m.encode().ok()),
                );
                let h = Handoff {
                    scheduler: scheduler.export(),
                    next_seq: next,
                    backlog,
                    refused_tasks: memory.refused_tasks,
                };
                return Exit::Stopped(seal_handoff(&h));
            }
            continue;
        }
        let i = m.header.priority.index();
        if m.header.seq < next[i] {
            continue; // a replayed duplicate
        }
        pending[i].insert(m.header.seq, m);
        while let Some(m) = pending[i].remove(&next[i]) {
            if matches!(m.header.op, Op::AddTask | Op::GridAlert) {
                // The task is admitted only with memory for its entry; a
                // refusal refuses the task, never the service.
                if memory.reserve(scheduler.len() + 1, &ep, &to_kernel, me, &mut deferred) {
                    let id = m.header.seq ^ ((m.header.priority as u64) << 56);
                    scheduler.add(parse_task(id, &m.payload));
                } else {
                    memory.refused_tasks += 1;
                }
                run_slices(&mut scheduler, SLICES_PER_MESSAGE);
            }
            if let Some(o) = &cfg.observer {
                let _ = o.send((m.header.priority, m.header.seq));
            }
            next[i] += 1;
        }
    }
}

/// A service's memory account, as `lugh ctl status` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MemoryStatus {
    pub used: u64,
    pub quota: u64,
    pub refused: u64,
}

/// What one swap did.
#[derive(Debug, Clone, Serialize)]
pub struct SwapReport {
    pub from: &'static str,
    pub to: &'static str,
    pub committed: bool,
    pub replayed: usize,
    pub duration_ms: f64,
    pub detail: String,
}

/// The kernel side of the scheduler service: its channel, the current
/// instance and the log of critical operations.
pub struct Kernel {
    pub channel: Arc<Mutex<Channel>>,
    base: String,
    kernel_ep: Arc<Endpoint>,
    instance: Option<Instance>,
    cfg: InstanceConfig,
    /// swap-begin / swap-commit / swap-abort lines.
    pub log: Vec<String>,
    acks: JoinHandle<()>,
    closing: Arc<AtomicBool>,
    hello: Arc<Mutex<Option<u32>>>,
    pub replays: Arc<AtomicU64>,
    /// The generation whose heartbeats count.
    current: Arc<AtomicU32>,
    /// The current generation's latest checkpoint (sealed hand-off).
    checkpoint: Arc<Mutex<Option<Vec<u8>>>>,
    last_beat: Arc<Mutex<Instant>>,
    /// Reincarnation: restarts so far, consecutive crashes, what is due.
    pub restarts: u64,
    streak: u32,
    healthy_since: Instant,
    pending_restart: Option<(Instant, Instant)>,
    awaiting_hello: Option<(u32, Instant)>,
    /// Detection -> new generation answering, per restart (ms).
    pub restart_ms: Vec<f64>,
    /// When each hang was detected.
    pub hangs: Vec<Instant>,
    abandoned: Vec<Instance>,
    /// Memory accounting: services ask for memory over IPC, within quotas.
    memory: Arc<Mutex<Accounts>>,
}

/// Why a message addressed to a generation was not sent.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("generation {addressed} of the scheduler is dead (current: {current})")]
    Dead { addressed: u32, current: u32 },
    #[error(transparent)]
    Ipc(#[from] IpcError),
}

impl Kernel {
    /// Starts the kernel endpoint and a first instance of `kind`.
    pub fn start(
        base: &str,
        kind: Kind,
        observer: Option<mpsc::Sender<(Priority, u64)>>,
    ) -> Result<Kernel, IpcError> {
        Kernel::start_with(base, kind, observer, Isolation::Thread)
    }

    /// Like `start`, with the service instances run as `isolation` says.
    pub fn start_with(
        base: &str,
        kind: Kind,
        observer: Option<mpsc::Sender<(Priority, u64)>>,
        isolation: Isolation,
    ) -> Result<Kernel, IpcError> {
        let kernel_url = format!("{base}-kernel");
        // Every generation listens at its own address: no address is ever
        // reused while pipes to its previous owner may still be closing.
        let service_url = format!("{base}-sched-g1");
        let kernel_ep = Arc::new(Endpoint::bind(&kernel_url)?);
        let channel = Arc::new(Mutex::new(Channel::connect(
            &service_url,
            Source {
                service: 0,
                generation: 1,
            },
        )?));
        let closing = Arc::new(AtomicBool::new(false));
        let hello = Arc::new(Mutex::new(None));
        let replays = Arc::new(AtomicU64::new(0));
        let current = Arc::new(AtomicU32::new(1));
        let checkpoint: Arc<Mutex<Option<Vec<u8>>>> = Arc::new(Mutex::new(None));
        let last_beat = Arc::new(Mutex::new(Instant::now()));
        let mut accounts = Accounts::default();
        accounts.set_quota(SERVICE_ID, DEFAULT_MEMORY_QUOTA);
        let memory = Arc::new(Mutex::new(accounts));
        let acks = {
            let (ep, ch, closing, hello, replays) = (
                kernel_ep.clone(),
                channel.clone(),
                closing.clone(),
                hello.clone(),
                replays.clone(),
            );
            let (current, checkpoint, last_beat, memory) = (
                current.clone(),
                checkpoint.clone(),
                last_beat.clone(),
                memory.clone(),
            );
            std::thread::spawn(move || {
                while !closing.load(Ordering::SeqCst) {
                    let Some(a) = ep.recv(Duration::from_millis(20)) else {
                        continue;
                    };
                    let m = a.message;
                    match m.header.op {
                        Op::Heartbeat
                            if m.header.source.generation == current.load(Ordering::SeqCst) =>
                        {
                            // The checkpoint covers everything before its
                            // next sequence numbers: those can be forgotten.
                            if let Ok(h) = unseal_handoff(&m.payload) {
                                let mut c = ch.lock().unwrap_or_else(|e| e.into_inner());
                                for p in Priority::ALL {
                                    c.acknowledge(p, h.next_seq[p.index()].saturating_sub(1));
                                }
                                drop(c);
                                *checkpoint.lock().unwrap_or_else(|e| e.into_inner()) =
                                    Some(m.payload);
                            }
                            *last_beat.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
                        }
                        Op::MemoryRequest
                            if m.header.source.generation == current.load(Ordering::SeqCst) =>
                        {
                            let service = m.header.source.service;
                            let mut acc = memory.lock().unwrap_or_else(|e| e.into_inner());
                            let answer = match MemoryOp::decode(&m.payload) {
                                Some(MemoryOp::Request(n)) => Some(acc.request(service, n)),
                                Some(MemoryOp::Release(n)) => {
                                    if let Err(e) = acc.release(service, n) {
                                        tracing::debug!("memory release: {e}");
                                    }
                                    None
                                }
                                None => Some(Err(crate::memory::MemoryError::Malformed(
                                    m.payload.len(),
                                ))),
                            };
                            drop(acc);
                            let c = ch.lock().unwrap_or_else(|e| e.into_inner());
                            let _ = match answer {
                                Some(Ok(used)) => {
                                    c.control(Op::MemoryGrant, used.to_le_bytes().to_vec())
                                }
                                Some(Err(e)) => {
                                    c.control(Op::MemoryRefused, e.to_string().into_bytes())
                                }
                                None => Ok(()),
                            };
                        }
                        Op::Ack => ch
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .acknowledge(m.header.priority, m.header.ack),
                        Op::Swap => {
                            // A (new) instance is up: replay what it has not processed.
                            let c = ch.lock().unwrap_or_else(|e| e.into_inner());
                            if let Ok(n) = c.replay() {
                                replays.fetch_add(n as u64, Ordering::Relaxed);
                            }
                            drop(c);
                            *hello.lock().unwrap_or_else(|e| e.into_inner()) =
                                Some(m.header.source.generation);
                        }
                        _ => {}
                    }
                }
            })
        };
        let cfg = InstanceConfig {
            service_url,
            kernel_url,
            kind,
            generation: 1,
            observer,
            crash_on_start: false,
            isolation,
        };
        let instance = Some(Instance::start(cfg.clone(), None));
        let k = Kernel {
            channel,
            base: base.to_string(),
            kernel_ep,
            instance,
            cfg,
            log: Vec::new(),
            acks,
            closing,
            hello,
            replays,
            current,
            checkpoint,
            last_beat,
            restarts: 0,
            streak: 0,
            healthy_since: Instant::now(),
            pending_restart: None,
            awaiting_hello: None,
            restart_ms: Vec::new(),
            hangs: Vec::new(),
            abandoned: Vec::new(),
            memory,
        };
        k.wait_hello(1, Duration::from_secs(2));
        Ok(k)
    }

    fn wait_hello(&self, generation: u32, timeout: Duration) -> bool {
        let t = Instant::now();
        while t.elapsed() < timeout {
            if *self.hello.lock().unwrap_or_else(|e| e.into_inner()) == Some(generation) {
                return true;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        false
    }

    pub fn send(&self, p: Priority, op: Op, payload: Vec<u8>) -> Result<u64, IpcError> {
        self.channel
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .send(p, op, payload)
    }

    pub fn kind(&self) -> Kind {
        self.cfg.kind
    }

    /// Swaps the scheduler instance for one of `to`. `crash_new` injects a
    /// failure of the new instance (the swap is then aborted and the old
    /// algorithm resumes from the same state).
    pub fn swap(&mut self, to: Kind, crash_new: bool) -> SwapReport {
        let t = Instant::now();
        let from = self.cfg.kind;
        self.log
            .push(format!("swap-begin {} -> {}", from.name(), to.name()));
        let replayed_before = self.replays.load(Ordering::Relaxed);
        let old = self.instance.take().expect("an instance runs");
        // New messages wait while the old instance closes its sockets: they
        // are numbered and kept for replay anyway, and no send races the
        // teardown of the pipe it would use (NNG 1.4's push socket can touch
        // a pipe being freed).
        let generation = self.cfg.generation + 1;
        let next_url = self.service_url(generation);
        let channel = self.channel.clone();
        let mut guard = channel.lock().unwrap_or_else(|e| e.into_inner());
        let _ = guard.control(Op::Swap, vec![]);
        let exit = old.join();
        // The hand-off is exact: what it covers needs no replay.
        if let Exit::Stopped(h) = &exit {
            if let Ok(h) = unseal_handoff(h) {
                for p in Priority::ALL {
                    guard.acknowledge(p, h.next_seq[p.index()].saturating_sub(1));
                }
            }
        }
        let redirected = guard.redirect(&next_url);
        drop(guard);
        if let Err(e) = redirected {
            self.log.push(format!("swap-abort: {e}"));
        }
        let handoff = match exit {
            Exit::Stopped(h) => h,
            Exit::Failed(e) => {
                self.log
                    .push(format!("swap-abort: old instance failed: {e}"));
                return self.report(from, to, false, t, replayed_before, e);
            }
        };
        let (new_cfg, new) = self.launch(generation, to, crash_new, Some(handoff.clone()));
        if self.wait_hello(generation, Duration::from_secs(2)) {
            self.cfg = new_cfg;
            self.cfg.crash_on_start = false;
            self.instance = Some(new);
            self.log.push(format!(
                "swap-commit {} -> {} (generation {generation})",
                from.name(),
                to.name()
            ));
            return self.report(from, to, true, t, replayed_before, String::new());
        }
        // The new instance did not come up: restore the old algorithm from
        // the same state, as the next generation.
        let why = match new.join() {
            Exit::Failed(e) => e,
            Exit::Stopped(_) => "stopped unexpectedly".into(),
        };
        self.redirect(generation + 1);
        let (restored, instance) = self.launch(generation + 1, from, false, Some(handoff));
        self.instance = Some(instance);
        self.wait_hello(generation + 1, Duration::from_secs(2));
        self.cfg = restored;
        self.log.push(format!(
            "swap-abort {} -> {}: {why}",
            from.name(),
            to.name()
        ));
        self.report(from, to, false, t, replayed_before, why)
    }

    fn report(
        &self,
        from: Kind,
        to: Kind,
        committed: bool,
        t: Instant,
        before: u64,
        detail: String,
    ) -> SwapReport {
        SwapReport {
            from: from.name(),
            to: to.name(),
            committed,
            replayed: (self.replays.load(Ordering::Relaxed) - before) as usize,
            duration_ms: t.elapsed().as_secs_f64() * 1e3,
            detail,
        }
    }

    /// Sends to a given generation: a message for a generation that was
    /// replaced gets a "dead" error instead of vanishing.
    pub fn send_to(
        &self,
        generation: u32,
        p: Priority,
        op: Op,
        payload: Vec<u8>,
    ) -> Result<u64, DeliveryError> {
        let current = self.current.load(Ordering::SeqCst);
        if generation != current {
            return Err(DeliveryError::Dead {
                addressed: generation,
                current,
            });
        }
        Ok(self.send(p, op, payload)?)
    }

    /// Kills the running service: SIGKILL under process isolation, an
    /// injected crash for a thread. The reincarnation server restarts it.
    pub fn kill_service(&mut self) -> Result<(), IpcError> {
        if let Some(i) = self.instance.as_mut() {
            if i.kill() {
                return Ok(());
            }
        }
        self.inject_fault(false)
    }

    /// The service's OS process id, under process isolation.
    pub fn service_pid(&self) -> Option<u32> {
        self.instance.as_ref().and_then(Instance::pid)
    }

    /// Messages processed according to the latest checkpoint (all streams);
    /// what a supervisor can know of a service in another process.
    pub fn checkpointed(&self) -> u64 {
        self.latest_checkpoint()
            .map(|h| h.next_seq.iter().map(|n| n.saturating_sub(1)).sum())
            .unwrap_or(0)
    }

    /// The current generation's latest checkpoint, unsealed.
    fn latest_checkpoint(&self) -> Option<Handoff> {
        self.checkpoint
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_deref()
            .and_then(|b| unseal_handoff(b).ok())
    }

    /// Fault injection: the running instance crashes (`hang = false`) or
    /// stops answering, heartbeats included (`hang = true`).
    pub fn inject_fault(&self, hang: bool) -> Result<(), IpcError> {
        let c = self.channel.lock().unwrap_or_else(|e| e.into_inner());
        c.control(
            Op::Error,
            if hang {
                b"hang".to_vec()
            } else {
                b"crash".to_vec()
            },
        )
    }

    /// The reincarnation server's check, run every few milliseconds: a
    /// finished instance is a crash (restart at once; repeated crashes back
    /// off min(2^n, 30) heartbeat periods), two missed heartbeats a hang
    /// (the instance is abandoned and restarted). A restart is a new
    /// generation at a new address, from the last checkpoint; the kernel
    /// replays what the checkpoint does not cover. Returns an event line.
    pub fn tick(&mut self) -> Option<String> {
        let now = Instant::now();
        if let Some((generation, detected)) = self.awaiting_hello {
            if *self.hello.lock().unwrap_or_else(|e| e.into_inner()) == Some(generation) {
                self.restart_ms.push(detected.elapsed().as_secs_f64() * 1e3);
                self.awaiting_hello = None;
                self.healthy_since = now;
            }
        }
        if let Some((due, detected)) = self.pending_restart {
            if now >= due {
                self.pending_restart = None;
                return Some(self.restart(detected));
            }
            return None;
        }
        let instance = self.instance.as_mut()?;
        let crashed = instance.finished();
        let silent = self.awaiting_hello.is_none()
            && self
                .last_beat
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .elapsed()
                > 2 * HEARTBEAT;
        if !crashed && !silent {
            return None;
        }
        let instance = self.instance.take()?;
        let what = if crashed {
            let why = match instance.join() {
                Exit::Failed(e) => e,
                Exit::Stopped(_) => "stopped".into(),
            };
            format!("crash of generation {}: {why}", self.cfg.generation)
        } else {
            self.hangs.push(now);
            if instance.pid().is_some() {
                // A process is killed; a thread cannot be, so it is left behind.
                instance.abort();
            } else {
                instance.stop.store(true, Ordering::SeqCst);
                self.abandoned.push(instance);
            }
            format!(
                "hang of generation {}: two heartbeats missed",
                self.cfg.generation
            )
        };
        if self.healthy_since.elapsed() > 10 * HEARTBEAT {
            self.streak = 0;
        }
        let delay = if self.streak == 0 {
            Duration::ZERO
        } else {
            HEARTBEAT * 2u32.saturating_pow(self.streak).min(30)
        };
        self.streak += 1;
        self.pending_restart = Some((now + delay, now));
        self.log
            .push(format!("{what}; restart in {} ms", delay.as_millis()));
        if delay.is_zero() {
            self.pending_restart = None;
            return Some(format!("{what}; {}", self.restart(now)));
        }
        Some(what)
    }

    /// Every generation listens at its own address.
    fn service_url(&self, generation: u32) -> String {
        format!("{}-sched-g{generation}", self.base)
    }

    /// Points the kernel's channel at a generation's address.
    fn redirect(&self, generation: u32) {
        let mut c = self.channel.lock().unwrap_or_else(|e| e.into_inner());
        let _ = c.redirect(&self.service_url(generation));
    }

    /// Starts `generation` of the service as `kind` from `handoff`; its
    /// heartbeats count from now.
    fn launch(
        &mut self,
        generation: u32,
        kind: Kind,
        crash_on_start: bool,
        handoff: Option<Vec<u8>>,
    ) -> (InstanceConfig, Instance) {
        let cfg = InstanceConfig {
            kind,
            generation,
            crash_on_start,
            service_url: self.service_url(generation),
            ..self.cfg.clone()
        };
        self.current.store(generation, Ordering::SeqCst);
        // The new generation holds nothing until it asks.
        self.memory
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .reset(SERVICE_ID);
        *self.last_beat.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
        let instance = Instance::start(cfg.clone(), handoff);
        (cfg, instance)
    }

    fn restart(&mut self, detected: Instant) -> String {
        let generation = self.cfg.generation + 1;
        self.redirect(generation);
        let checkpoint = self
            .checkpoint
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let (cfg, instance) = self.launch(generation, self.cfg.kind, false, checkpoint);
        self.cfg = cfg;
        self.instance = Some(instance);
        self.restarts += 1;
        self.awaiting_hello = Some((generation, detected));
        let line = format!("restarted as generation {generation}");
        self.log.push(line.clone());
        line
    }

    pub fn unacked(&self) -> usize {
        self.channel
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .unacked()
    }

    /// Whether a restart is pending or not yet answered.
    pub fn restarting(&self) -> bool {
        self.pending_restart.is_some() || self.awaiting_hello.is_some() || self.instance.is_none()
    }

    /// Messages the kernel's endpoint rejected (corrupt, truncated...).
    pub fn rejected(&self) -> u64 {
        self.kernel_ep.inbox.rejected.load(Ordering::Relaxed)
    }

    pub fn generation(&self) -> u32 {
        self.cfg.generation
    }

    /// Sets the scheduler service's memory quota (bytes).
    pub fn set_memory_quota(&self, bytes: u64) {
        self.memory
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .set_quota(SERVICE_ID, bytes);
    }

    /// The scheduler service's memory: bytes held, quota, requests refused.
    pub fn memory(&self) -> MemoryStatus {
        let acc = self.memory.lock().unwrap_or_else(|e| e.into_inner());
        MemoryStatus {
            used: acc.used(SERVICE_ID),
            quota: acc.quota(SERVICE_ID),
            refused: acc.refused,
        }
    }

    /// Tasks the scheduler refused for want of memory, as of its latest
    /// checkpoint.
    pub fn refused_tasks(&self) -> u64 {
        self.latest_checkpoint()
            .map(|h| h.refused_tasks)
            .unwrap_or(0)
    }

    pub fn shutdown(mut self) {
        if let Some(i) = self.instance.take() {
            i.abort();
        }
        for i in self.abandoned.drain(..) {
            i.abort();
        }
        self.closing.store(true, Ordering::SeqCst);
        let _ = self.acks.join();
        if let Ok(ep) = Arc::try_unwrap(self.kernel_ep) {
            ep.close();
        }
    }
}
