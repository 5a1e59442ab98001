//! `lugh run --demo grid`: the energy-grid workload LughOS was designed for. Simulated
//! sensors report mains frequency and voltage (noise, and faults injected
//! now and then); every reading becomes a task with a deadline for the
//! scheduler service; a reading out of band raises a HIGH-priority grid
//! alert. Alerts and per-second aggregates are committed to the storage
//! service, and so are the kernel's critical operations (swaps, restarts).
//!
//! During the run the demo swaps the scheduler live, kills the scheduler
//! service and kills the storage service (a real SIGKILL when it runs as a
//! process). At the end it stops everything, opens the data directory
//! itself and checks that every alert and every aggregate is there and
//! that every reading was processed: the verdict is `ok` only then.

use std::collections::{BTreeSet, HashMap};
use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::bench::quantile;
use lugh::kernel::{task_payload, Kernel};
use lugh::msg::Priority;
use lugh::sched::Kind;
use lugh::services::storage::{Client, TxnOp, OK};
use lugh_kv::{Options, Store};

/// Deadlines: an alert must be handled within 50 ms of the reading that
/// raised it, a reading within 100 ms.
pub const ALERT_DEADLINE: Duration = Duration::from_millis(50);
pub const READING_DEADLINE: Duration = Duration::from_millis(100);

/// Mains: 50 Hz nominal, alert outside ±0.2 Hz; 230 V, alert outside ±10 %.
const F_NOMINAL: f64 = 50.0;
const F_BAND: f64 = 0.2;
const V_NOMINAL: f64 = 230.0;
const V_BAND: f64 = 23.0;

#[derive(Debug, Clone)]
pub struct GridOptions {
    pub sensors: u32,
    /// Readings per second per sensor.
    pub rate_hz: u32,
    pub duration: Duration,
    pub json: bool,
    /// Where storage keeps its files (default: a fresh temporary directory).
    pub data: Option<PathBuf>,
    /// The `lugh` binary, to run storage as its own process (a real
    /// SIGKILL); `None` runs it as a thread.
    pub storage_exe: Option<PathBuf>,
    /// Swap, kill the scheduler and kill storage during the run.
    pub faults: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct GridReport {
    pub readings: u64,
    pub alerts: u64,
    pub alerts_lost: u64,
    pub readings_lost: u64,
    pub alert_p50_ms: f64,
    pub alert_p99_ms: f64,
    pub alert_max_ms: f64,
    pub deadline_misses_high: u64,
    pub deadline_misses_medium: u64,
    pub swaps: u64,
    pub restarts: u64,
    pub storage_restarts: u64,
    pub aggregates: u64,
    pub aggregates_lost: u64,
    pub oplog_entries: u64,
    pub readings_per_s: f64,
    pub verdict: String,
    /// Where the alerts and aggregates are; `None` when the directory was
    /// temporary (removed at the end; `--data DIR` keeps it).
    pub data_dir: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum GridError {
    #[error(transparent)]
    Ipc(#[from] lugh::ipc::IpcError),
    #[error(transparent)]
    Kv(#[from] lugh_kv::KvError),
    #[error("storage service: {0}")]
    Storage(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// A small deterministic generator (xorshift64) for the simulation and
/// the crash tests' random points; seed it with a non-zero value.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    /// Uniform in [0, n).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
    /// Uniform in [-1, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 52) as f64 - 1.0
    }
}

/// What the sensor thread tells the main loop.
enum Event {
    Reading { seq: u64, at: Instant },
    Alert { seq: u64, at: Instant, what: String },
    Second { sec: u64, summary: String },
}

/// The sensors: `sensors × rate_hz` readings per second, each one sent to
/// the scheduler as a task; faults make a sensor read out of band for a
/// few samples.
fn sensors(
    kernel: Arc<std::sync::Mutex<lugh::kernel::Channel>>,
    opts: GridOptions,
    events: mpsc::Sender<Event>,
    stop: Arc<AtomicBool>,
) {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let n = opts.sensors.max(1) as usize;
    let per_s = (n as u64) * opts.rate_hz.max(1) as u64;
    let start = Instant::now();
    let mut fault_left = vec![0u32; n];
    let mut fault_kind = vec![0u8; n];
    let mut sent = 0u64;
    let (mut sec, mut count, mut fsum, mut fmin, mut fmax, mut vsum) =
        (0u64, 0u64, 0.0, f64::MAX, f64::MIN, 0.0);
    while !stop.load(Ordering::SeqCst) {
        let due = (start.elapsed().as_secs_f64() * per_s as f64) as u64;
        while sent < due {
            let s = (sent % n as u64) as usize;
            sent += 1;
            // About one fault per sensor every 20 s, lasting 3 samples.
            if fault_left[s] == 0 && rng.next_u64() % (20 * opts.rate_hz.max(1) as u64) == 0 {
                fault_left[s] = 3;
                fault_kind[s] = (rng.next_u64() % 3) as u8;
            }
            let mut f = F_NOMINAL + 0.02 * rng.unit();
            let mut v = V_NOMINAL + 2.0 * rng.unit();
            if fault_left[s] > 0 {
                fault_left[s] -= 1;
                match fault_kind[s] {
                    0 => f -= 0.5 + 0.2 * rng.unit().abs(),
                    1 => f += 0.4,
                    _ => v += 40.0,
                }
            }
            let now = Instant::now();
            let ms = start.elapsed().as_millis() as u64;
            let mut ch = kernel.lock().unwrap_or_else(|e| e.into_inner());
            let Ok(seq) = ch.send(
                Priority::Medium,
                lugh::services::scheduler::ADD_TASK,
                task_payload(5, ms + READING_DEADLINE.as_millis() as u64, 1),
            ) else {
                continue;
            };
            let alert = if (f - F_NOMINAL).abs() > F_BAND {
                Some(format!("sensor {s}: frequency {f:.3} Hz"))
            } else if (v - V_NOMINAL).abs() > V_BAND {
                Some(format!("sensor {s}: voltage {v:.1} V"))
            } else {
                None
            };
            let alert_seq = alert.as_ref().and_then(|_| {
                ch.send(
                    Priority::High,
                    lugh::services::scheduler::GRID_ALERT,
                    task_payload(0, ms + ALERT_DEADLINE.as_millis() as u64, 1),
                )
                .ok()
            });
            drop(ch);
            let _ = events.send(Event::Reading { seq, at: now });
            if let (Some(what), Some(seq)) = (alert, alert_seq) {
                let _ = events.send(Event::Alert { seq, at: now, what });
            }
            let this_sec = start.elapsed().as_secs();
            if this_sec != sec && count > 0 {
                let summary = aggregate(count, fsum, fmin, fmax, vsum);
                let _ = events.send(Event::Second { sec, summary });
                (count, fsum, fmin, fmax, vsum) = (0, 0.0, f64::MAX, f64::MIN, 0.0);
            }
            sec = this_sec;
            count += 1;
            fsum += f;
            vsum += v;
            fmin = fmin.min(f);
            fmax = fmax.max(f);
        }
        std::thread::sleep(Duration::from_micros(500));
    }
    if count > 0 {
        let summary = aggregate(count, fsum, fmin, fmax, vsum);
        let _ = events.send(Event::Second { sec, summary });
    }
}

/// One second of readings, as the JSON committed under `agg/<second>`.
fn aggregate(count: u64, fsum: f64, fmin: f64, fmax: f64, vsum: f64) -> String {
    serde_json::json!({
        "readings": count,
        "f_mean": fsum / count as f64,
        "f_min": fmin,
        "f_max": fmax,
        "v_mean": vsum / count as f64,
    })
    .to_string()
}

/// The storage service of the demo: a process (killable) or a thread.
struct StorageSvc {
    scratch: PathBuf,
    data: PathBuf,
    exe: Option<PathBuf>,
    generation: u32,
    child: Option<Child>,
    thread: Option<(Arc<AtomicBool>, std::thread::JoinHandle<()>)>,
}

impl StorageSvc {
    fn url(&self, generation: u32) -> String {
        if self.exe.is_some() {
            format!("ipc://{}/storage-g{generation}", self.scratch.display())
        } else {
            format!(
                "inproc://lugh-grid-{}-storage-g{generation}",
                std::process::id()
            )
        }
    }

    fn client_url(&self) -> String {
        if self.exe.is_some() {
            format!("ipc://{}/client", self.scratch.display())
        } else {
            format!("inproc://lugh-grid-{}-client", std::process::id())
        }
    }

    fn start(&mut self) -> Result<String, GridError> {
        self.generation += 1;
        let url = self.url(self.generation);
        match &self.exe {
            Some(exe) => {
                let child = Command::new(exe)
                    .arg("storage-service")
                    .arg("--data")
                    .arg(&self.data)
                    .args(["--listen", &url, "--reply-to", &self.client_url()])
                    .args(["--generation", &self.generation.to_string()])
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::inherit())
                    .spawn()
                    .map_err(|e| {
                        GridError::Storage(format!("cannot start {}: {e}", exe.display()))
                    })?;
                self.child = Some(child);
            }
            None => {
                let stop = Arc::new(AtomicBool::new(false));
                let (data, listen, reply, g, st) = (
                    self.data.clone(),
                    url.clone(),
                    self.client_url(),
                    self.generation,
                    stop.clone(),
                );
                let h = std::thread::spawn(move || {
                    if let Err(e) = lugh::services::storage::serve(
                        &data,
                        Options::default(),
                        &listen,
                        &reply,
                        g,
                        st,
                    ) {
                        tracing::warn!("storage service: {e}");
                    }
                });
                self.thread = Some((stop, h));
            }
        }
        Ok(url)
    }

    /// SIGKILL for a process; for a thread, an orderly stop.
    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        if let Some((stop, h)) = self.thread.take() {
            stop.store(true, Ordering::SeqCst);
            let _ = h.join();
        }
    }
}

impl Drop for StorageSvc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Commits in flight to storage, resent to a restarted generation.
struct Commits {
    client: Client,
    in_flight: HashMap<u64, (String, Vec<u8>)>,
    acked: BTreeSet<String>,
    errors: Vec<String>,
}

impl Commits {
    fn put(&mut self, key: String, value: Vec<u8>) {
        let ops = [TxnOp::Put(key.clone().into_bytes(), value.clone())];
        if let Ok(req) = self.client.send_commit(&ops) {
            self.in_flight.insert(req, (key, value));
        }
    }

    fn poll(&mut self) {
        while let Some((req, status, body)) = self.client.next_reply(Duration::ZERO) {
            if let Some((key, _)) = self.in_flight.remove(&req) {
                if status == OK {
                    self.acked.insert(key);
                } else {
                    self.errors
                        .push(format!("{key}: {}", String::from_utf8_lossy(&body)));
                }
            }
        }
    }

    /// After a storage restart: everything unanswered is sent again (puts
    /// of fixed keys, so a commit that did land is simply rewritten).
    fn resend(&mut self) {
        let pending: Vec<(String, Vec<u8>)> = self.in_flight.drain().map(|(_, v)| v).collect();
        for (k, v) in pending {
            self.put(k, v);
        }
    }
}

/// Runs the demo: the sensors' tasks through the scheduler, alerts and
/// aggregates into storage, the scripted faults, a status line a second;
/// at the end, what storage holds is checked against what was sent.
pub fn run(opts: &GridOptions, mut out: impl Write) -> Result<GridReport, GridError> {
    let scratch = std::env::temp_dir().join(format!("lugh-grid-{}", std::process::id()));
    std::fs::create_dir_all(&scratch)?;
    let data = opts.data.clone().unwrap_or_else(|| scratch.join("data"));
    let mut storage = StorageSvc {
        scratch: scratch.clone(),
        data: data.clone(),
        exe: opts.storage_exe.clone(),
        generation: 0,
        child: None,
        thread: None,
    };
    let url = storage.start()?;
    let mut commits = Commits {
        client: Client::connect(&storage.client_url(), &url)?,
        in_flight: HashMap::new(),
        acked: BTreeSet::new(),
        errors: Vec::new(),
    };
    let (obs_tx, obs_rx) = mpsc::channel();
    let mut kernel = Kernel::start(
        &format!("inproc://lugh-grid-{}", std::process::id()),
        Kind::RoundRobin,
        Some(obs_tx),
    )?;
    let (ev_tx, ev_rx) = mpsc::channel();
    let stop = Arc::new(AtomicBool::new(false));
    let gen = {
        let (ch, o, s) = (kernel.channel.clone(), opts.clone(), stop.clone());
        std::thread::spawn(move || sensors(ch, o, ev_tx, s))
    };
    let started = Instant::now();
    let mut t = Tally::default();
    let mut faults = Faults::scripted(opts.faults);
    let mut oplog = 0usize;
    let mut next_line = Instant::now() + Duration::from_secs(1);
    let mut stopping: Option<Instant> = None;
    let mut woke: Option<((Priority, u64), Instant)> = None;
    let mut last_tick = Instant::now() - Duration::from_millis(1);
    loop {
        // The loop wakes for every processed message; the reincarnation
        // server's check needs no more than one pass a millisecond.
        if last_tick.elapsed() >= Duration::from_millis(1) {
            kernel.tick();
            last_tick = Instant::now();
        }
        // What the sensors sent, and what the scheduler processed.
        while let Ok(e) = ev_rx.try_recv() {
            t.sent(e, &mut commits);
        }
        // Processing is stamped when the observer's event arrives: the loop
        // waits on that channel, so the stamp is within a wake-up of it.
        let mut observed: Vec<((Priority, u64), Instant)> = woke.take().into_iter().collect();
        while let Ok(ev) = obs_rx.try_recv() {
            observed.push((ev, Instant::now()));
        }
        for (ev, now) in observed {
            t.processed(ev, now, &mut commits);
        }
        commits.poll();
        // The kernel's critical operations go to storage too.
        while oplog < kernel.log.len() {
            oplog += 1;
            let line = kernel.log[oplog - 1].clone();
            commits.put(format!("oplog/{oplog:06}"), line.into_bytes());
        }
        let frac = started.elapsed().as_secs_f64() / opts.duration.as_secs_f64().max(1e-3);
        if stopping.is_none() {
            if let Some(what) = faults.due(frac) {
                let msg = faults.inject(what, &mut kernel, &mut storage, &mut commits, opts)?;
                if !opts.json {
                    let _ = writeln!(out, "event: {msg}");
                }
            }
        }
        if Instant::now() >= next_line && stopping.is_none() {
            next_line += Duration::from_secs(1);
            let line = t.status_line(opts.json, started, &kernel, &faults, &commits);
            let _ = writeln!(out, "{line}");
        }
        match stopping {
            None if started.elapsed() >= opts.duration => {
                stop.store(true, Ordering::SeqCst);
                stopping = Some(Instant::now());
            }
            Some(at) => {
                let drained = t.readings.is_empty()
                    && t.alerts.is_empty()
                    && commits.in_flight.is_empty()
                    && gen.is_finished()
                    && !kernel.restarting();
                if drained || at.elapsed() > Duration::from_secs(10) {
                    break;
                }
            }
            None => {}
        }
        if let Ok(ev) = obs_rx.recv_timeout(Duration::from_millis(1)) {
            woke = Some((ev, Instant::now()));
        }
    }
    let _ = gen.join();
    let elapsed = started.elapsed().as_secs_f64();
    let restarts = kernel.restarts;
    kernel.shutdown();
    // Stop storage the hard way too: what was acknowledged is on disk.
    storage.kill();
    drop(commits.client);
    let stored = Stored::check(&data, &t)?;
    let verdict = verdict(&t, &stored, commits.errors.first());
    if opts.data.is_none() {
        let _ = std::fs::remove_dir_all(&scratch);
    } else {
        let _ = std::fs::remove_dir_all(scratch.join("client"));
    }
    let sorted = sorted_copy(&t.alert_lat);
    Ok(GridReport {
        readings: t.n_readings,
        alerts: t.n_alerts,
        alerts_lost: stored.alerts_lost,
        readings_lost: t.readings.len() as u64,
        alert_p50_ms: quantile(&sorted, 0.5),
        alert_p99_ms: quantile(&sorted, 0.99),
        alert_max_ms: sorted.last().copied().unwrap_or(0.0),
        deadline_misses_high: t.miss_high,
        deadline_misses_medium: t.miss_medium,
        swaps: faults.swaps,
        restarts: restarts + faults.storage_restarts,
        storage_restarts: faults.storage_restarts,
        aggregates: t.agg_keys.len() as u64,
        aggregates_lost: stored.aggregates_lost,
        oplog_entries: stored.oplog_entries,
        readings_per_s: t.n_readings as f64 / elapsed.max(1e-9),
        verdict,
        data_dir: opts.data.as_ref().map(|_| data),
    })
}

/// What the demo has seen: readings and alerts sent but not yet
/// processed, processing seen before its send, latencies and misses, and
/// the keys written to storage.
#[derive(Default)]
struct Tally {
    readings: HashMap<u64, Instant>,
    alerts: HashMap<u64, (Instant, String)>,
    early: HashMap<(Priority, u64), Instant>,
    n_readings: u64,
    n_alerts: u64,
    alert_lat: Vec<f64>,
    miss_high: u64,
    miss_medium: u64,
    alert_keys: Vec<String>,
    agg_keys: Vec<String>,
    last_readings: u64,
}

impl Tally {
    /// A sensor event.
    fn sent(&mut self, e: Event, commits: &mut Commits) {
        match e {
            Event::Reading { seq, at } => {
                self.n_readings += 1;
                match self.early.remove(&(Priority::Medium, seq)) {
                    Some(done) => {
                        if done.duration_since(at) > READING_DEADLINE {
                            self.miss_medium += 1;
                        }
                    }
                    None => {
                        self.readings.insert(seq, at);
                    }
                }
            }
            Event::Alert { seq, at, what } => {
                self.n_alerts += 1;
                self.alerts.insert(seq, (at, what));
                if let Some(done) = self.early.remove(&(Priority::High, seq)) {
                    self.finish_alert(seq, done, commits);
                }
            }
            Event::Second { sec, summary } => {
                let key = format!("agg/{sec:06}");
                commits.put(key.clone(), summary.into_bytes());
                self.agg_keys.push(key);
            }
        }
    }

    /// The scheduler processed message `seq` of priority `p` at `now`.
    fn processed(&mut self, (p, seq): (Priority, u64), now: Instant, commits: &mut Commits) {
        match p {
            Priority::High => {
                if self.alerts.contains_key(&seq) {
                    self.finish_alert(seq, now, commits);
                } else if !self.alert_keys.iter().any(|k| k == &alert_key(seq)) {
                    self.early.insert((p, seq), now);
                }
            }
            _ => match self.readings.remove(&seq) {
                Some(at) => {
                    if now.duration_since(at) > READING_DEADLINE {
                        self.miss_medium += 1;
                    }
                }
                None => {
                    // Processed before its send was recorded, or a
                    // re-run after a restart (already counted).
                    if seq > self.n_readings {
                        self.early.insert((p, seq), now);
                    }
                }
            },
        }
    }

    /// An alert processed at `done`: its latency, and its record stored.
    fn finish_alert(&mut self, seq: u64, done: Instant, commits: &mut Commits) {
        let Some((at, what)) = self.alerts.remove(&seq) else {
            return;
        };
        let waited = done.saturating_duration_since(at);
        self.alert_lat.push(waited.as_secs_f64() * 1e3);
        if waited > ALERT_DEADLINE {
            self.miss_high += 1;
        }
        let key = alert_key(seq);
        commits.put(
            key.clone(),
            format!("{what}; handled in {:.3} ms", waited.as_secs_f64() * 1e3).into_bytes(),
        );
        self.alert_keys.push(key);
    }

    /// The status line of the second just ended.
    fn status_line(
        &mut self,
        json: bool,
        started: Instant,
        kernel: &Kernel,
        faults: &Faults,
        commits: &Commits,
    ) -> String {
        let sorted = sorted_copy(&self.alert_lat);
        let per_s = self.n_readings - self.last_readings;
        self.last_readings = self.n_readings;
        if json {
            serde_json::json!({
                "t": started.elapsed().as_secs_f64(),
                "readings": self.n_readings,
                "readings_per_s": per_s,
                "alerts": self.n_alerts,
                "alert_p50_ms": quantile(&sorted, 0.5),
                "alert_p99_ms": quantile(&sorted, 0.99),
                "deadline_misses_high": self.miss_high,
                "restarts": kernel.restarts,
                "swaps": faults.swaps,
                "committed": commits.acked.len(),
            })
            .to_string()
        } else {
            format!(
                "t={:>5.1}s readings={} ({}/s) alerts={} alert p50/p99={:.2}/{:.2} ms misses high/medium={}/{} restarts={} swaps={} stored={}",
                started.elapsed().as_secs_f64(),
                self.n_readings,
                per_s,
                self.n_alerts,
                quantile(&sorted, 0.5),
                quantile(&sorted, 0.99),
                self.miss_high,
                self.miss_medium,
                kernel.restarts + faults.storage_restarts,
                faults.swaps,
                commits.acked.len()
            )
        }
    }
}

/// The scripted faults (a live swap, a kill of the scheduler, a kill of
/// storage, at a third, half and two thirds of the run) and their counts.
struct Faults {
    /// Due faults, last first: (fraction of the run, what).
    script: Vec<(f64, &'static str)>,
    swaps: u64,
    storage_restarts: u64,
}

impl Faults {
    fn scripted(on: bool) -> Faults {
        let mut script = if on {
            vec![
                (1.0 / 3.0, "swap"),
                (0.5, "kill scheduler"),
                (2.0 / 3.0, "kill storage"),
            ]
        } else {
            vec![]
        };
        script.reverse();
        Faults {
            script,
            swaps: 0,
            storage_restarts: 0,
        }
    }

    /// The next fault, once `frac` of the run has passed its time.
    fn due(&mut self, frac: f64) -> Option<&'static str> {
        if self.script.last().is_some_and(|(at, _)| frac >= *at) {
            self.script.pop().map(|(_, what)| what)
        } else {
            None
        }
    }

    /// Injects one fault; what it did, for the event line.
    fn inject(
        &mut self,
        what: &str,
        kernel: &mut Kernel,
        storage: &mut StorageSvc,
        commits: &mut Commits,
        opts: &GridOptions,
    ) -> Result<String, GridError> {
        Ok(match what {
            "swap" => {
                let to = if kernel.kind() == Kind::RoundRobin {
                    Kind::Priority
                } else {
                    Kind::RoundRobin
                };
                let r = kernel.swap(to, false);
                if r.committed {
                    self.swaps += 1;
                }
                format!(
                    "live swap {} -> {}: {} in {:.1} ms",
                    r.from,
                    r.to,
                    if r.committed { "committed" } else { "aborted" },
                    r.duration_ms
                )
            }
            "kill scheduler" => {
                let _ = kernel.kill_service();
                "killed the scheduler service".to_string()
            }
            _ => {
                storage.kill();
                let url = storage.start()?;
                commits.client.redirect(&url)?;
                commits.resend();
                self.storage_restarts += 1;
                commits.put(
                    format!("oplog/storage-restart-{}", self.storage_restarts),
                    format!(
                        "storage killed and restarted as generation {}",
                        storage.generation
                    )
                    .into_bytes(),
                );
                format!(
                    "killed the storage service{}; restarted as generation {}",
                    if opts.storage_exe.is_some() {
                        " (SIGKILL)"
                    } else {
                        ""
                    },
                    storage.generation
                )
            }
        })
    }
}

/// What the data directory holds at the end, read back by the demo itself.
struct Stored {
    alerts_lost: u64,
    aggregates_lost: u64,
    oplog_entries: u64,
}

impl Stored {
    fn check(data: &std::path::Path, t: &Tally) -> Result<Stored, GridError> {
        let (store, _) = Store::open(data, Options::default())?;
        let present = |k: &String| store.get(k.as_bytes()).is_some();
        Ok(Stored {
            alerts_lost: t.n_alerts - t.alert_keys.iter().filter(|k| present(k)).count() as u64,
            aggregates_lost: t.agg_keys.iter().filter(|k| !present(k)).count() as u64,
            oplog_entries: store.scan(b"oplog/", usize::MAX).len() as u64,
        })
    }
}

/// `ok`, or `fail:` and every problem found.
fn verdict(t: &Tally, stored: &Stored, commit_error: Option<&String>) -> String {
    let mut problems = Vec::new();
    if stored.alerts_lost > 0 {
        problems.push(format!("{} alerts lost", stored.alerts_lost));
    }
    let readings_lost = t.readings.len();
    if readings_lost > 0 {
        problems.push(format!("{readings_lost} readings never processed"));
    }
    if stored.aggregates_lost > 0 {
        problems.push(format!("{} aggregates lost", stored.aggregates_lost));
    }
    if let Some(e) = commit_error {
        problems.push(format!("storage refused a commit: {e}"));
    }
    if problems.is_empty() {
        "ok".to_string()
    } else {
        format!("fail: {}", problems.join(", "))
    }
}

fn alert_key(seq: u64) -> String {
    format!("alert/{seq:08}")
}

fn sorted_copy(v: &[f64]) -> Vec<f64> {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    s
}
