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
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::ipc::{Endpoint, IpcError, Sender};
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
}

pub fn seal_handoff(h: &Handoff) -> Vec<u8> {
    let mut b = serde_json::to_vec(h).unwrap_or_default();
    let c = crc32fast::hash(&b);
    b.extend_from_slice(&c.to_le_bytes());
    b
}

pub fn unseal_handoff(b: &[u8]) -> Result<Handoff, sched::UnsealError> {
    if b.len() < 4 {
        return Err(sched::UnsealError::Checksum);
    }
    let (body, tail) = b.split_at(b.len() - 4);
    if crc32fast::hash(body).to_le_bytes() != tail {
        return Err(sched::UnsealError::Checksum);
    }
    serde_json::from_slice(body).map_err(|e| sched::UnsealError::Parse(e.to_string()))
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
}

/// A running scheduler service instance (a thread here; a process under
/// `--isolation process`).
pub struct Instance {
    pub generation: u32,
    stop: Arc<AtomicBool>,
    handle: JoinHandle<Exit>,
    /// Set once the instance listens and has announced itself.
    pub ready: Arc<AtomicBool>,
}

const SERVICE_ID: u16 = 1;

impl Instance {
    pub fn start(cfg: InstanceConfig, handoff: Option<Vec<u8>>) -> Instance {
        let stop = Arc::new(AtomicBool::new(false));
        let ready = Arc::new(AtomicBool::new(false));
        let (s, r) = (stop.clone(), ready.clone());
        let generation = cfg.generation;
        let handle = std::thread::spawn(move || run_instance(cfg, handoff, s, r));
        Instance {
            generation,
            stop,
            handle,
            ready,
        }
    }

    /// Waits for the instance's end (after a Swap message or `abort`).
    pub fn join(self) -> Exit {
        self.handle
            .join()
            .unwrap_or_else(|_| Exit::Failed("instance panicked".into()))
    }

    /// Stops without a handoff (used when aborting a failed new instance).
    pub fn abort(self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.handle.join();
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
    let (mut scheduler, mut next, mut pending) = match h {
        Some(h) => {
            let mut pending: [BTreeMap<u64, Message>; 3] = Default::default();
            for b in &h.backlog {
                if let Ok(m) = Message::decode(b) {
                    pending[m.header.priority.index()].insert(m.header.seq, m);
                }
            }
            (
                sched::build(cfg.kind, Some(h.scheduler)),
                h.next_seq,
                pending,
            )
        }
        None => (sched::build(cfg.kind, None), [1; 3], Default::default()),
    };
    // Announce: the kernel replays what this generation has not processed.
    let hello = Message::new(
        Priority::High,
        Op::Swap,
        me,
        0,
        next.iter().flat_map(|n| n.to_le_bytes()).collect(),
    );
    let _ = to_kernel.send(&hello);
    ready.store(true, Ordering::SeqCst);
    let handle = |m: &Message, scheduler: &mut Box<dyn sched::Scheduler>| {
        if m.header.op == Op::AddTask {
            let id = m.header.seq ^ ((m.header.priority as u64) << 56);
            scheduler.add(Task::new(id, 5, 0, 1));
            if let Some(t) = scheduler.next() {
                scheduler.end_slice(t);
            }
        }
    };
    loop {
        if stop.load(Ordering::SeqCst) {
            ep.close();
            return Exit::Failed("aborted".into());
        }
        let Some(a) = ep.recv(Duration::from_millis(20)) else {
            continue;
        };
        let m = a.message;
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
                let h = Handoff {
                    scheduler: scheduler.export(),
                    next_seq: next,
                    backlog,
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
        let mut last = None;
        while let Some(m) = pending[i].remove(&next[i]) {
            handle(&m, &mut scheduler);
            if let Some(o) = &cfg.observer {
                let _ = o.send((m.header.priority, m.header.seq));
            }
            last = Some(m.header.seq);
            next[i] += 1;
        }
        if let Some(seq) = last {
            let mut ack = Message::new(Priority::ALL[i], Op::Ack, me, 0, vec![]);
            ack.header.ack = seq;
            let _ = to_kernel.send(&ack);
        }
    }
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
}

impl Kernel {
    /// Starts the kernel endpoint and a first instance of `kind`.
    pub fn start(
        base: &str,
        kind: Kind,
        observer: Option<mpsc::Sender<(Priority, u64)>>,
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
        let acks = {
            let (ep, ch, closing, hello, replays) = (
                kernel_ep.clone(),
                channel.clone(),
                closing.clone(),
                hello.clone(),
                replays.clone(),
            );
            std::thread::spawn(move || {
                while !closing.load(Ordering::SeqCst) {
                    let Some(a) = ep.recv(Duration::from_millis(20)) else {
                        continue;
                    };
                    let m = a.message;
                    match m.header.op {
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
        let next_url = format!("{}-sched-g{generation}", self.base);
        let channel = self.channel.clone();
        let mut guard = channel.lock().unwrap_or_else(|e| e.into_inner());
        let _ = guard.control(Op::Swap, vec![]);
        let exit = old.join();
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
        let new_cfg = InstanceConfig {
            kind: to,
            generation,
            crash_on_start: crash_new,
            service_url: next_url.clone(),
            ..self.cfg.clone()
        };
        let new = Instance::start(new_cfg.clone(), Some(handoff.clone()));
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
        let restored_url = format!("{}-sched-g{}", self.base, generation + 1);
        {
            let mut c = self.channel.lock().unwrap_or_else(|e| e.into_inner());
            let _ = c.redirect(&restored_url);
        }
        let restored = InstanceConfig {
            kind: from,
            generation: generation + 1,
            crash_on_start: false,
            service_url: restored_url,
            ..self.cfg.clone()
        };
        self.instance = Some(Instance::start(restored.clone(), Some(handoff)));
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

    pub fn unacked(&self) -> usize {
        self.channel
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .unacked()
    }

    pub fn generation(&self) -> u32 {
        self.cfg.generation
    }

    pub fn shutdown(mut self) {
        if let Some(i) = self.instance.take() {
            i.abort();
        }
        self.closing.store(true, Ordering::SeqCst);
        let _ = self.acks.join();
        if let Ok(ep) = Arc::try_unwrap(self.kernel_ep) {
            ep.close();
        }
    }
}
