//! `lugh bench`: IPC figures measured in-process, each beside its
//! same-run reference (an `mpsc` round trip, a single FIFO socket).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use serde::Serialize;

use lugh::ipc::{Endpoint, IpcError, Sender};
use lugh::msg::{Message, Op, Priority, Source};

fn unique(name: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "inproc://lugh-bench-{name}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// The q-quantile of sorted samples.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    v
}

#[derive(Debug, Clone, Serialize)]
pub struct IpcFigures {
    pub nng_rtt_p50_us: f64,
    pub nng_rtt_p99_us: f64,
    pub mpsc_rtt_p50_us: f64,
    pub mpsc_rtt_p99_us: f64,
    pub throughput_msgs_per_s: f64,
    pub round_trips: usize,
    pub throughput_messages: usize,
}

/// Round trips kernel -> service -> kernel over inproc NNG (through the
/// priority endpoints), the same over `std::sync::mpsc`, and one-way
/// throughput.
pub fn ipc(quick: bool) -> Result<IpcFigures, IpcError> {
    let (trips, flood) = if quick {
        (3_000, 100_000)
    } else {
        (50_000, 1_000_000)
    };
    let kernel_url = unique("kernel");
    let service_url = unique("service");
    let kernel = Endpoint::bind(&kernel_url)?;
    let service = Endpoint::bind(&service_url)?;
    let to_service = Sender::connect(&service_url)?;
    let to_kernel = Sender::connect(&kernel_url)?;
    let stop = Arc::new(AtomicBool::new(false));
    let echo = {
        let stop = stop.clone();
        let inbox = service.inbox.clone();
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                if let Some(a) = inbox.pop(Duration::from_millis(50)) {
                    let mut m = a.message;
                    m.header.ack = m.header.seq;
                    let _ = to_kernel.send(&m);
                }
            }
        })
    };
    let src = Source {
        service: 0,
        generation: 1,
    };
    let mut rtt = Vec::with_capacity(trips);
    for i in 0..(trips + 500) {
        let m = Message::new(Priority::High, Op::ECHO, src, i as u64, vec![0; 32]);
        let t = Instant::now();
        to_service.send(&m)?;
        let back = kernel.recv(Duration::from_secs(5));
        if back.is_none() {
            break;
        }
        if i >= 500 {
            rtt.push(t.elapsed().as_secs_f64() * 1e6);
        }
    }
    stop.store(true, Ordering::Relaxed);
    let _ = echo.join();
    let rtt = sorted(rtt);

    // The same round trip over std channels.
    let (tx, rx) = mpsc::channel::<u64>();
    let (btx, brx) = mpsc::channel::<u64>();
    let t = std::thread::spawn(move || {
        while let Ok(v) = rx.recv() {
            if btx.send(v).is_err() {
                break;
            }
        }
    });
    let mut m_rtt = Vec::with_capacity(trips);
    for i in 0..(trips + 500) as u64 {
        let t0 = Instant::now();
        let _ = tx.send(i);
        let _ = brx.recv();
        if i >= 500 {
            m_rtt.push(t0.elapsed().as_secs_f64() * 1e6);
        }
    }
    drop(tx);
    let _ = t.join();
    let m_rtt = sorted(m_rtt);

    // One-way throughput into the service endpoint.
    let inbox = service.inbox.clone();
    let counter = std::thread::spawn(move || {
        let mut n = 0usize;
        while n < flood {
            if inbox.pop(Duration::from_secs(5)).is_none() {
                break;
            }
            n += 1;
        }
        (n, Instant::now())
    });
    let start = Instant::now();
    let payload = vec![0u8; 32];
    for i in 0..flood {
        to_service.send(&Message::new(
            Priority::Medium,
            lugh::services::scheduler::SCHEDULE,
            src,
            i as u64,
            payload.clone(),
        ))?;
    }
    let (received, end) = counter.join().unwrap_or((0, Instant::now()));
    let secs = end.duration_since(start).as_secs_f64().max(1e-9);
    drop(to_service);
    kernel.close();
    service.close();
    Ok(IpcFigures {
        nng_rtt_p50_us: quantile(&rtt, 0.50),
        nng_rtt_p99_us: quantile(&rtt, 0.99),
        mpsc_rtt_p50_us: quantile(&m_rtt, 0.50),
        mpsc_rtt_p99_us: quantile(&m_rtt, 0.99),
        throughput_msgs_per_s: received as f64 / secs,
        round_trips: rtt.len(),
        throughput_messages: received,
    })
}

#[derive(Debug, Clone, Serialize)]
pub struct PriorityFigures {
    pub high_p99_ms: f64,
    pub high_p50_ms: f64,
    pub fifo_high_p99_ms: f64,
    pub fifo_high_p50_ms: f64,
    pub low_before_high_violations: u64,
    pub high_messages: usize,
    pub low_per_high: usize,
}

fn nanos_since(base: Instant) -> u64 {
    base.elapsed().as_nanos() as u64
}

/// A busy handler: about `us` microseconds of work per message.
fn work(us: u64) {
    let t = Instant::now();
    while t.elapsed() < Duration::from_micros(us) {
        std::hint::spin_loop();
    }
}

/// Work a service does per message in the priority benchmark (processing
/// one sensor reading).
const WORK_US: u64 = 20;

/// Waits of HIGH messages sent behind bursts of LOW ones. Each round the
/// load generator sends `low_per_high` LOW messages as fast as it can, then
/// one HIGH, then waits until the service has handled the round (so every
/// burst meets an idle service and rounds do not pile up). The service
/// spends [`WORK_US`] on each message, so a burst is still queued when the
/// HIGH arrives. `fifo` = one socket, arrival order.
fn flood(fifo: bool, rounds: usize, low_per_high: usize) -> Result<(Vec<f64>, u64), IpcError> {
    let url = unique(if fifo { "fifo" } else { "prio" });
    let ep = if fifo {
        Endpoint::bind_fifo(&url)?
    } else {
        Endpoint::bind(&url)?
    };
    let tx = if fifo {
        Sender::connect_fifo(&url)?
    } else {
        Sender::connect(&url)?
    };
    let base = Instant::now();
    let total = rounds * (low_per_high + 1);
    let handled = Arc::new(AtomicU64::new(0));
    let inbox = ep.inbox.clone();
    let consumer = {
        let handled = handled.clone();
        std::thread::spawn(move || {
            let mut waits = Vec::new();
            for _ in 0..total {
                let Some(a) = inbox.pop(Duration::from_secs(10)) else {
                    break;
                };
                if a.message.header.priority == Priority::High {
                    let mut b = [0u8; 8];
                    b.copy_from_slice(&a.message.payload[..8]);
                    let sent = u64::from_le_bytes(b);
                    waits.push((nanos_since(base).saturating_sub(sent)) as f64 / 1e6);
                }
                work(WORK_US);
                handled.fetch_add(1, Ordering::Release);
            }
            waits
        })
    };
    let src = Source {
        service: 1,
        generation: 1,
    };
    let mut seq = 0u64;
    let mut sent = Ok(());
    'rounds: for round in 1..=rounds {
        for _ in 0..low_per_high {
            seq += 1;
            let m = Message::new(
                Priority::Low,
                lugh::services::scheduler::SCHEDULE,
                src,
                seq,
                vec![0; 8],
            );
            if let Err(e) = tx.send(&m) {
                sent = Err(e);
                break 'rounds;
            }
        }
        seq += 1;
        let alert = Message::new(
            Priority::High,
            lugh::services::scheduler::GRID_ALERT,
            src,
            seq,
            nanos_since(base).to_le_bytes().to_vec(),
        );
        if let Err(e) = tx.send(&alert) {
            sent = Err(e);
            break;
        }
        let due = (round * (low_per_high + 1)) as u64;
        let give_up = Instant::now() + Duration::from_secs(10);
        while handled.load(Ordering::Acquire) < due && Instant::now() < give_up {
            std::thread::sleep(Duration::from_micros(100));
        }
    }
    if sent.is_err() {
        ep.inbox.close();
    }
    let waits = consumer.join().unwrap_or_default();
    sent?;
    let violations = ep.inbox.violations.load(Ordering::Relaxed);
    drop(tx);
    ep.close();
    Ok((sorted(waits), violations))
}

pub fn priority(quick: bool) -> Result<PriorityFigures, IpcError> {
    let rounds = if quick { 60 } else { 400 };
    let low = 500;
    let (prio, violations) = flood(false, rounds, low)?;
    let (fifo, _) = flood(true, rounds, low)?;
    Ok(PriorityFigures {
        high_p99_ms: quantile(&prio, 0.99),
        high_p50_ms: quantile(&prio, 0.50),
        fifo_high_p99_ms: quantile(&fifo, 0.99),
        fifo_high_p50_ms: quantile(&fifo, 0.50),
        low_before_high_violations: violations,
        high_messages: prio.len(),
        low_per_high: low,
    })
}

#[derive(Debug, Clone, Serialize)]
pub struct SwapFigures {
    pub swaps: usize,
    pub messages: u64,
    pub lost: u64,
    pub duplicated: u64,
    pub reordered: u64,
    /// Longest pause in processing around each swap, p99 over the swaps.
    pub gap_p99_ms: f64,
    pub gap_max_ms: f64,
    pub rate_msgs_per_s: u64,
    pub aborted: usize,
}

/// Swaps round-robin <-> priority under a paced load and checks the
/// processed stream: every number once, in order.
pub fn swap(quick: bool) -> Result<SwapFigures, IpcError> {
    use lugh::kernel::Kernel;
    use lugh::sched::Kind;
    let (messages, rate, swaps): (u64, u64, usize) = if quick {
        (60_000, 30_000, 4)
    } else {
        (300_000, 50_000, 10)
    };
    let (tx, rx) = mpsc::channel();
    let mut k = Kernel::start(&unique("swap"), Kind::RoundRobin, Some(tx))?;
    let ch = k.channel.clone();
    let load = std::thread::spawn(move || -> Result<(), IpcError> {
        let t = Instant::now();
        for i in 0..messages {
            ch.lock().unwrap_or_else(|e| e.into_inner()).send(
                Priority::Medium,
                lugh::services::scheduler::ADD_TASK,
                vec![0; 16],
            )?;
            let due = Duration::from_secs_f64(i as f64 / rate as f64);
            if let Some(w) = due.checked_sub(t.elapsed()) {
                std::thread::sleep(w);
            }
        }
        Ok(())
    });
    // The observer records when each message was processed.
    let collector = std::thread::spawn(move || {
        let mut seen: Vec<(u64, Instant)> = Vec::with_capacity(messages as usize);
        let deadline = Duration::from_secs(60);
        let start = Instant::now();
        while (seen.len() as u64) < messages && start.elapsed() < deadline {
            if let Ok((_, seq)) = rx.recv_timeout(Duration::from_millis(200)) {
                seen.push((seq, Instant::now()));
            }
        }
        std::thread::sleep(Duration::from_millis(200));
        while let Ok((_, seq)) = rx.try_recv() {
            seen.push((seq, Instant::now()));
        }
        seen
    });
    let period = Duration::from_secs_f64(messages as f64 / rate as f64 / (swaps as f64 + 1.0));
    let mut windows = Vec::new();
    let mut aborted = 0;
    for i in 0..swaps {
        std::thread::sleep(period);
        let to = if i % 2 == 0 {
            Kind::Priority
        } else {
            Kind::RoundRobin
        };
        let t0 = Instant::now();
        let r = k.swap(to, false);
        if !r.committed {
            aborted += 1;
        }
        windows.push((t0, Instant::now()));
    }
    load.join().unwrap_or(Ok(()))?;
    let seen = collector.join().unwrap_or_default();
    k.shutdown();
    // Exactness of the stream.
    let mut count = vec![0u32; messages as usize + 1];
    let mut reordered = 0u64;
    let mut last = 0u64;
    for (seq, _) in &seen {
        if let Some(c) = count.get_mut(*seq as usize) {
            *c += 1;
        }
        if *seq < last {
            reordered += 1;
        }
        last = last.max(*seq);
    }
    let lost = count[1..].iter().filter(|c| **c == 0).count() as u64;
    let duplicated = count[1..].iter().map(|c| c.saturating_sub(1) as u64).sum();
    // Service gap per swap: the longest interval between consecutive
    // processed messages that overlaps the swap.
    let mut gaps = Vec::new();
    for (a, b) in &windows {
        let mut g = 0f64;
        for w in seen.windows(2) {
            let (t1, t2) = (w[0].1, w[1].1);
            if t2 >= *a && t1 <= *b {
                g = g.max(t2.duration_since(t1).as_secs_f64() * 1e3);
            }
        }
        gaps.push(g);
    }
    let gaps = sorted(gaps);
    Ok(SwapFigures {
        swaps,
        messages,
        lost,
        duplicated,
        reordered,
        gap_p99_ms: quantile(&gaps, 0.99),
        gap_max_ms: gaps.last().copied().unwrap_or(0.0),
        rate_msgs_per_s: rate,
        aborted,
    })
}

#[derive(Debug, Clone, Serialize)]
pub struct RestartFigures {
    pub restarts: usize,
    /// Crash detected -> new generation answering.
    pub restart_p50_ms: f64,
    pub restart_max_ms: f64,
    /// Hang injected -> hang detected (two missed heartbeats).
    pub hang_detect_ms: f64,
    pub lost: u64,
}

/// Kills the scheduler service repeatedly (spaced so no back-off applies)
/// and hangs it once, with messages flowing; checks none is lost.
pub fn restart(quick: bool) -> Result<RestartFigures, IpcError> {
    use lugh::kernel::{Kernel, HEARTBEAT};
    use lugh::sched::Kind;
    let kills = if quick { 3 } else { 20 };
    let (tx, rx) = mpsc::channel();
    let mut k = Kernel::start(&unique("restart"), Kind::RoundRobin, Some(tx))?;
    let mut sent = 0u64;
    let settle = |k: &mut Kernel, until: Duration| {
        let t = Instant::now();
        while t.elapsed() < until {
            k.tick();
            std::thread::sleep(Duration::from_millis(2));
        }
    };
    for _ in 0..kills {
        for _ in 0..200 {
            k.send(
                Priority::Medium,
                lugh::services::scheduler::ADD_TASK,
                vec![],
            )?;
            sent += 1;
        }
        k.inject_fault(false)?;
        // Healthy for over ten heartbeats: the next crash restarts at once.
        settle(&mut k, HEARTBEAT * 11);
    }
    let before = k.hangs.len();
    k.inject_fault(true)?;
    let injected = Instant::now();
    while k.hangs.len() == before && injected.elapsed() < Duration::from_secs(5) {
        k.tick();
        std::thread::sleep(Duration::from_millis(1));
    }
    let hang_detect_ms = k
        .hangs
        .last()
        .map(|h| h.duration_since(injected).as_secs_f64() * 1e3)
        .unwrap_or(f64::NAN);
    settle(&mut k, HEARTBEAT * 5);
    for _ in 0..200 {
        k.send(
            Priority::Medium,
            lugh::services::scheduler::ADD_TASK,
            vec![],
        )?;
        sent += 1;
    }
    settle(&mut k, HEARTBEAT * 5);
    let mut seen = std::collections::BTreeSet::new();
    while let Ok((_, seq)) = rx.try_recv() {
        seen.insert(seq);
    }
    let lost = (1..=sent).filter(|s| !seen.contains(s)).count() as u64;
    let times = sorted(k.restart_ms.clone());
    let restarts = k.restarts as usize;
    k.shutdown();
    Ok(RestartFigures {
        restarts,
        restart_p50_ms: quantile(&times, 0.5),
        restart_max_ms: times.last().copied().unwrap_or(0.0),
        hang_detect_ms,
        lost,
    })
}

#[derive(Debug, Clone, Serialize)]
pub struct StorageFigures {
    /// One writer, one put per transaction, each commit durable.
    pub durable_commits_per_s: f64,
    /// `GROUP_WRITERS` writers committing at once (records = puts).
    pub group_commit_records_per_s: f64,
    /// SQLite, WAL mode, synchronous=FULL, the same transactions.
    pub sqlite_commits_per_s: f64,
    pub sqlite_group_records_per_s: f64,
    /// Opening (recovering) a data directory whose log holds 100 MB.
    pub recovery_100mb_ms: f64,
    pub recovery_log_bytes: u64,
    pub recovery_records: u64,
    pub group_writers: usize,
    /// Syncs per commit in the group run (below 1 = commits shared syncs).
    pub group_syncs_per_commit: f64,
}

const GROUP_WRITERS: usize = 16;
const VALUE: [u8; 100] = [b'v'; 100];

fn bench_dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("lugh-bench-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// Runs `per_thread` transactions on each of `threads` threads; returns
/// transactions per second.
fn timed_threads(threads: usize, per_thread: usize, f: impl Fn(usize, usize) + Sync) -> f64 {
    let t = Instant::now();
    std::thread::scope(|s| {
        for w in 0..threads {
            let f = &f;
            s.spawn(move || {
                for i in 0..per_thread {
                    f(w, i);
                }
            });
        }
    });
    (threads * per_thread) as f64 / t.elapsed().as_secs_f64().max(1e-9)
}

fn sqlite_open(path: &std::path::Path) -> rusqlite::Result<rusqlite::Connection> {
    let c = rusqlite::Connection::open(path)?;
    c.pragma_update(None, "journal_mode", "WAL")?;
    c.pragma_update(None, "synchronous", "FULL")?;
    c.busy_timeout(Duration::from_secs(30))?;
    c.execute(
        "CREATE TABLE IF NOT EXISTS kv (k BLOB PRIMARY KEY, v BLOB NOT NULL)",
        [],
    )?;
    Ok(c)
}

#[derive(Debug, thiserror::Error)]
pub enum StorageBenchError {
    #[error(transparent)]
    Kv(#[from] lugh_kv::KvError),
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Durable commits beside SQLite, group commit beside SQLite with as many
/// writers, and recovery of a 100 MB log.
pub fn storage(quick: bool) -> Result<StorageFigures, StorageBenchError> {
    use lugh_kv::{Options, Store};
    let (single, per_writer) = if quick { (300, 40) } else { (3000, 300) };

    let dir = bench_dir("kv");
    let (store, _) = Store::open(&dir, Options::default())?;
    let durable = timed_threads(1, single, |_, i| {
        let mut t = store.begin();
        let _ = t.put(format!("single/{i:08}").as_bytes(), &VALUE);
        let _ = store.commit(t);
    });
    let before = store.stats();
    let group = timed_threads(GROUP_WRITERS, per_writer, |w, i| {
        let mut t = store.begin();
        let _ = t.put(format!("group/{w:02}/{i:08}").as_bytes(), &VALUE);
        let _ = store.commit(t);
    });
    let after = store.stats();
    let syncs_per_commit =
        (after.syncs - before.syncs) as f64 / (after.commits - before.commits).max(1) as f64;
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);

    let sdir = bench_dir("sqlite");
    std::fs::create_dir_all(&sdir)?;
    let db = sdir.join("bench.db");
    let sq_single = {
        let c = sqlite_open(&db)?;
        let mut stmt = c.prepare("INSERT OR REPLACE INTO kv (k, v) VALUES (?1, ?2)")?;
        let t = Instant::now();
        for i in 0..single {
            // One statement outside BEGIN is its own transaction.
            stmt.execute(rusqlite::params![
                format!("single/{i:08}").as_bytes(),
                &VALUE[..]
            ])?;
        }
        single as f64 / t.elapsed().as_secs_f64().max(1e-9)
    };
    let conns: Vec<std::sync::Mutex<rusqlite::Connection>> = (0..GROUP_WRITERS)
        .map(|_| sqlite_open(&db).map(std::sync::Mutex::new))
        .collect::<Result<_, _>>()?;
    let sq_group = timed_threads(GROUP_WRITERS, per_writer, |w, i| {
        let c = conns[w].lock().unwrap_or_else(|e| e.into_inner());
        let _ = c.execute(
            "INSERT OR REPLACE INTO kv (k, v) VALUES (?1, ?2)",
            rusqlite::params![format!("group/{w:02}/{i:08}").as_bytes(), &VALUE[..]],
        );
    });
    drop(conns);
    let _ = std::fs::remove_dir_all(&sdir);

    // Recovery: a log of 100 MB (transactions of 8 puts of 4 KiB).
    let rdir = bench_dir("recovery");
    let opts = Options {
        log_limit: 1 << 30,
        history: 1024,
    };
    let (store, _) = Store::open(&rdir, opts.clone())?;
    let big = vec![b'r'; 4096];
    let mut n = 0u64;
    while store.log_bytes() < 100_000_000 {
        let mut t = store.begin();
        for j in 0..8 {
            let _ = t.put(format!("rec/{:06}/{j}", n % 50_000).as_bytes(), &big);
        }
        store.commit_nowait(t)?;
        n += 1;
    }
    store.sync_to(store.end_lsn())?;
    let log_bytes = store.log_bytes();
    drop(store);
    // Out of the page cache (the log is synced, so its pages are clean):
    // recovery reads from the disk, as after a reboot.
    let wal = std::fs::File::open(Store::wal_path(&rdir))?;
    let _ = rustix::fs::fadvise(&wal, 0, None, rustix::fs::Advice::DontNeed);
    drop(wal);
    let t = Instant::now();
    let (store, report) = Store::open(&rdir, opts)?;
    let recovery_ms = t.elapsed().as_secs_f64() * 1e3;
    drop(store);
    let _ = std::fs::remove_dir_all(&rdir);

    Ok(StorageFigures {
        durable_commits_per_s: durable,
        group_commit_records_per_s: group,
        sqlite_commits_per_s: sq_single,
        sqlite_group_records_per_s: sq_group,
        recovery_100mb_ms: recovery_ms,
        recovery_log_bytes: log_bytes,
        recovery_records: report.log_records,
        group_writers: GROUP_WRITERS,
        group_syncs_per_commit: syncs_per_commit,
    })
}
