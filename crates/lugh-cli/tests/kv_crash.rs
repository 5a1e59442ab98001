//! The storage crash test: the storage service runs as its own process
//! (as under `--isolation process`) and is killed with SIGKILL at random
//! points while commits are in flight. After each kill the data directory
//! is recovered: every acknowledged commit must be there in full, and no
//! transaction may be partly visible.
//!
//! `LUGH_CRASH_RUNS` sets the number of kills (default 100, CI); the full
//! campaign of 1,000 is `bench/lugh/crash-campaign.sh`.

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use lugh::services::storage::{Client, TxnOp, OK};
use lugh_kv::{Options, Store};
use lugh_system::grid::Rng;

fn value(run: usize, i: u64, len: u64) -> Vec<u8> {
    let mut v = format!("{run}-{i}-").into_bytes();
    v.resize(v.len() + len as usize, b'a' + (i % 26) as u8);
    v
}

#[test]
fn sigkill_during_commits_loses_no_acknowledged_commit_and_shows_no_partial_one() {
    let runs: usize = std::env::var("LUGH_CRASH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let seed = std::env::var("LUGH_CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
                | 1
        });
    eprintln!("crash test: {runs} runs, LUGH_CRASH_SEED={seed}");
    let mut rng = Rng(seed);
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let exe = assert_cmd::cargo::cargo_bin("lugh");
    let started = Instant::now();
    let (mut acked_total, mut sent_total, mut unacked_present) = (0u64, 0u64, 0u64);
    // Everything acknowledged in any run so far must stay, run after run
    // (each recovery works on the log the previous ones left).
    let mut all_acked: Vec<(usize, u64, u64)> = Vec::new();
    for run in 0..runs {
        let svc = format!("ipc://{}/s{run}", tmp.path().display());
        let me = format!("ipc://{}/c{run}", tmp.path().display());
        // A small log limit now and then, so kills also land in snapshots.
        let limit = if run % 5 == 4 { "65536" } else { "67108864" };
        let mut child = Command::new(&exe)
            .args(["storage-service", "--data"])
            .arg(&data)
            .args(["--listen", &svc, "--reply-to", &me, "--log-limit", limit])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut client = Client::connect(&me, &svc).unwrap();
        let kill_after = rng.below(40);
        let window = 1 + rng.below(16) as usize;
        let mut in_flight: BTreeMap<u64, (u64, u64)> = BTreeMap::new();
        let mut sent: Vec<(u64, u64)> = Vec::new();
        let mut acked = 0u64;
        let mut i = 0u64;
        let deadline = Instant::now() + Duration::from_secs(20);
        'run: loop {
            assert!(
                Instant::now() < deadline,
                "run {run}: the service never answered"
            );
            while in_flight.len() < window {
                i += 1;
                let len = rng.below(600);
                let ops: Vec<TxnOp> = ["a", "b", "c"]
                    .iter()
                    .map(|k| {
                        TxnOp::Put(format!("r{run}/t{i}/{k}").into_bytes(), value(run, i, len))
                    })
                    .collect();
                let req = client.send_commit(&ops).unwrap();
                in_flight.insert(req, (i, len));
                sent.push((i, len));
            }
            if let Some((req, status, _)) = client.next_reply(Duration::from_millis(50)) {
                if let Some((i, len)) = in_flight.remove(&req) {
                    assert_eq!(status, OK, "run {run}: commit {i} refused");
                    all_acked.push((run, i, len));
                    acked += 1;
                    if acked >= kill_after {
                        // A random moment inside the next commits.
                        let spin = Instant::now() + Duration::from_micros(rng.below(3000));
                        while Instant::now() < spin {
                            std::hint::spin_loop();
                        }
                        break 'run;
                    }
                }
            }
        }
        child.kill().unwrap(); // SIGKILL
        let _ = child.wait();
        // Late replies that made it out before the kill count as acked too.
        while let Some((req, status, _)) = client.next_reply(Duration::from_millis(2)) {
            if let (Some((i, len)), OK) = (in_flight.remove(&req), status) {
                all_acked.push((run, i, len));
                acked += 1;
            }
        }
        drop(client);
        let (store, report) = Store::open(&data, Options::default())
            .unwrap_or_else(|e| panic!("run {run}: recovery failed: {e}"));
        for &(r, i, len) in &all_acked {
            for k in ["a", "b", "c"] {
                assert_eq!(
                    store.get(format!("r{r}/t{i}/{k}").as_bytes()),
                    Some(value(r, i, len)),
                    "run {run}: acknowledged commit {i} of run {r} lost ({k}); seed {seed}; {report:?}"
                );
            }
        }
        let acked_here: BTreeSet<u64> = all_acked
            .iter()
            .filter(|a| a.0 == run)
            .map(|a| a.1)
            .collect();
        for &(i, _) in &sent {
            let present: Vec<bool> = ["a", "b", "c"]
                .iter()
                .map(|k| store.get(format!("r{run}/t{i}/{k}").as_bytes()).is_some())
                .collect();
            assert!(
                present.iter().all(|&p| p) || present.iter().all(|&p| !p),
                "run {run}: transaction {i} partly visible {present:?}; seed {seed}"
            );
            if present[0] && !acked_here.contains(&i) {
                unacked_present += 1;
            }
        }
        acked_total += acked;
        sent_total += sent.len() as u64;
    }
    eprintln!(
        "crash test: {runs} kills in {:.1} s; {acked_total} acknowledged commits all present; \
         {sent_total} sent; {unacked_present} unacknowledged but durable (allowed)",
        started.elapsed().as_secs_f64()
    );
}
