//! The kernel: the service's channel, the current instance, live swaps
//! (`swap`), the reincarnation server (`reincarnation`) and the memory
//! accounts services ask over IPC. It speaks the kernel's own operations
//! (`msg::Op::HEARTBEAT` ...); a service's operations pass through it
//! unread.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::ipc::{Endpoint, IpcError};
use crate::memory::{Accounts, MemoryOp};
use crate::msg::{Op, Priority, Source};
use crate::sched::Kind;

mod channel;
mod instance;
mod reincarnation;
mod swap;

pub use crate::services::scheduler::{
    seal_handoff, serve_process, task_payload, unseal_handoff, Exit, Handoff, InstanceConfig,
    Isolation, DEFAULT_MEMORY_QUOTA, HEARTBEAT, SERVICE_ID, TASK_BYTES,
};
pub use channel::Channel;
pub use instance::Instance;

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
        let kernel_ep = Arc::new(Endpoint::bind_accepting(&kernel_url, Op::is_kernel)?);
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
                        Op::HEARTBEAT
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
                        Op::MEMORY_REQUEST
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
                                    c.control(Op::MEMORY_GRANT, used.to_le_bytes().to_vec())
                                }
                                Some(Err(e)) => {
                                    c.control(Op::MEMORY_REFUSED, e.to_string().into_bytes())
                                }
                                None => Ok(()),
                            };
                        }
                        Op::ACK => ch
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .acknowledge(m.header.priority, m.header.ack),
                        Op::SWAP => {
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

    pub fn send(&self, p: Priority, op: Op, payload: Vec<u8>) -> Result<u64, IpcError> {
        self.channel
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .send(p, op, payload)
    }

    pub fn kind(&self) -> Kind {
        self.cfg.kind
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

    /// The service's OS process id, under process isolation.
    pub fn service_pid(&self) -> Option<u32> {
        self.instance.as_ref().and_then(Instance::pid)
    }

    /// Every generation listens at its own address.
    fn service_url(&self, generation: u32) -> String {
        format!("{}-sched-g{generation}", self.base)
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
