//! The scheduler service: its operations and task payload, its settings,
//! its memory account, the hand-off it passes to its successor, and its
//! main loop (`run_instance`), run in a thread or as the process `lugh
//! service scheduler` (`serve_process`). The kernel supervises it
//! (`kernel::Instance`): heartbeats carry its checkpoint, and a swap
//! stops it at a message boundary for a successor running another
//! algorithm.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::ipc::{Endpoint, Sender};
use crate::memory::MemoryOp;
use crate::msg::{Message, Op, Priority, Source};
use crate::sched::{self, Kind, State, Task};

/// Adds a task (payload: [`task_payload`]).
pub const ADD_TASK: Op = Op(1);
/// Runs a scheduling slice (no payload).
pub const SCHEDULE: Op = Op(2);
/// A grid alert: a task like `ADD_TASK`, sent HIGH.
pub const GRID_ALERT: Op = Op(3);

/// Whether the scheduler service accepts `op`: its own operations and the
/// kernel's.
pub fn accepts(op: Op) -> bool {
    op == ADD_TASK || op == SCHEDULE || op == GRID_ALERT || op.is_kernel()
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

/// The scheduler service's id (memory account, message sources).
pub const SERVICE_ID: u16 = 1;

/// Memory one task-table entry occupies, the unit the scheduler service
/// accounts with the kernel.
pub const TASK_BYTES: u64 = std::mem::size_of::<Task>() as u64;

/// The scheduler's memory quota unless configured: 16 KiB, a table of
/// about 680 tasks, which still fits one checkpoint.
pub const DEFAULT_MEMORY_QUOTA: u64 = 16 * 1024;

/// Memory is asked for and given back in chunks of this many bytes.
pub(crate) const MEMORY_CHUNK: u64 = 2 * 1024;

/// Slices run after each task message, and while idle.
pub(crate) const SLICES_PER_MESSAGE: usize = 2;

pub(crate) const IDLE_SLICES: usize = 256;

/// The AddTask payload: `b'T'`, priority (0..10), absolute deadline in ms
/// (u64 LE) and slices of work (u32 LE). Anything else is a default task
/// (priority 5, no deadline, one slice).
pub fn task_payload(priority: u8, deadline_ms: u64, work: u32) -> Vec<u8> {
    let mut b = vec![b'T', priority];
    b.extend_from_slice(&deadline_ms.to_le_bytes());
    b.extend_from_slice(&work.to_le_bytes());
    b
}

pub(crate) fn parse_task(id: u64, b: &[u8]) -> Task {
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
pub(crate) struct Memory {
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
            .send(&Message::new(
                Priority::High,
                Op::MEMORY_REQUEST,
                me,
                0,
                req,
            ))
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
                (0, Op::MEMORY_GRANT) => {
                    self.granted += ask;
                    self.quiet_until = None;
                    return true;
                }
                (0, Op::MEMORY_REFUSED) => {
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
                .send(&Message::new(Priority::Low, Op::MEMORY_REQUEST, me, 0, rel))
                .is_ok()
            {
                self.granted -= give;
            }
        }
    }
}

/// Heartbeat period; two missed heartbeats mean a hang.
pub const HEARTBEAT: Duration = Duration::from_millis(100);

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
            if lugh_kv::write_atomic(handoff_out, &h).is_err() {
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

pub(crate) fn run_instance(
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
    let ep = match Endpoint::bind_accepting(&cfg.service_url, accepts) {
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
    let (mut scheduler, mut next, mut pending) = resume(cfg.kind, h, &mut memory);
    let mut deferred = std::collections::VecDeque::new();
    // Announce: the kernel replays what this generation has not processed.
    let hello = Message::new(
        Priority::High,
        Op::SWAP,
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
            let _ = to_kernel.send(&Message::new(Priority::High, Op::HEARTBEAT, me, 0, payload));
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
        if m.header.seq == 0 && m.header.op == Op::ERROR {
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
            if m.header.op == Op::SWAP {
                // Stop at this boundary: hand over state, backlog, cursors.
                let h = Handoff {
                    scheduler: scheduler.export(),
                    next_seq: next,
                    backlog: backlog(&pending, ep, &deferred),
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
            if matches!(m.header.op, ADD_TASK | GRID_ALERT) {
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

/// Where an instance starts: from a hand-off or checkpoint (its
/// scheduler state, stream cursors and backlog), or afresh.
#[allow(clippy::type_complexity)]
fn resume(
    kind: Kind,
    h: Option<Handoff>,
    memory: &mut Memory,
) -> (
    Box<dyn sched::Scheduler>,
    [u64; 3],
    [BTreeMap<u64, Message>; 3],
) {
    match h {
        Some(h) => {
            let mut pending: [BTreeMap<u64, Message>; 3] = Default::default();
            for b in &h.backlog {
                if let Ok(m) = Message::decode(b) {
                    pending[m.header.priority.index()].insert(m.header.seq, m);
                }
            }
            memory.refused_tasks = h.refused_tasks;
            (sched::build(kind, Some(h.scheduler)), h.next_seq, pending)
        }
        None => (sched::build(kind, None), [1; 3], Default::default()),
    }
}

/// The sealed checkpoint a heartbeat carries.
fn checkpoint(
    scheduler: &dyn sched::Scheduler,
    next: &[u64; 3],
    pending: &[BTreeMap<u64, Message>; 3],
    refused_tasks: u64,
) -> Vec<u8> {
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
}

/// Everything sequenced and not processed, for a swap's hand-off: the
/// pending messages, what is still in the inbox (which closes), and what
/// was deferred.
fn backlog(
    pending: &[BTreeMap<u64, Message>; 3],
    ep: Endpoint,
    deferred: &std::collections::VecDeque<Message>,
) -> Vec<Vec<u8>> {
    let mut backlog: Vec<Vec<u8>> = Vec::new();
    for q in pending {
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
    backlog
}
