//! Live swaps under load over real NNG: nothing lost, duplicated or
//! reordered; a swap whose new instance fails is aborted and the old
//! algorithm continues from the same state.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use lugh::kernel::Kernel;
use lugh::msg::Priority;
use lugh::sched::Kind;

mod common;

fn base(name: &str) -> String {
    common::base("swap", name)
}

/// Sends `n` numbered messages at about `rate` per second while `swaps`
/// swaps happen; returns the processed sequence of the MEDIUM stream.
fn run(name: &str, n: u64, rate: u64, swaps: &[(Kind, bool)]) -> (Vec<u64>, Vec<String>, Kernel) {
    let (tx, rx) = mpsc::channel();
    let mut k = Kernel::start(&base(name), Kind::RoundRobin, Some(tx)).unwrap();
    let ch = k.channel.clone();
    let load = std::thread::spawn(move || {
        let t = Instant::now();
        for i in 0..n {
            ch.lock()
                .unwrap()
                .send(
                    Priority::Medium,
                    lugh::services::scheduler::ADD_TASK,
                    vec![0; 16],
                )
                .unwrap();
            // Pace: message i is due at i / rate seconds.
            let due = Duration::from_secs_f64(i as f64 / rate as f64);
            if let Some(wait) = due.checked_sub(t.elapsed()) {
                std::thread::sleep(wait);
            }
        }
    });
    let pause = Duration::from_secs_f64(n as f64 / rate as f64 / (swaps.len() as f64 + 1.0));
    for (to, crash) in swaps {
        std::thread::sleep(pause);
        let r = k.swap(*to, *crash);
        assert_eq!(r.committed, !crash, "{r:?}");
    }
    load.join().unwrap();
    let mut seen = Vec::new();
    let t = Instant::now();
    while (seen.len() as u64) < n && t.elapsed() < Duration::from_secs(30) {
        if let Ok((p, seq)) = rx.recv_timeout(Duration::from_millis(100)) {
            assert_eq!(p, Priority::Medium);
            seen.push(seq);
        }
    }
    // Nothing more may arrive (a duplicate would).
    std::thread::sleep(Duration::from_millis(200));
    while let Ok((_, seq)) = rx.try_recv() {
        seen.push(seq);
    }
    let log = k.log.clone();
    (seen, log, k)
}

#[test]
fn swaps_under_load_lose_duplicate_and_reorder_nothing() {
    let n = 40_000;
    let swaps = [
        (Kind::Priority, false),
        (Kind::RoundRobin, false),
        (Kind::Priority, false),
        (Kind::RoundRobin, false),
        (Kind::Priority, false),
        (Kind::RoundRobin, false),
    ];
    let (seen, log, k) = run("load", n, 20_000, &swaps);
    let expected: Vec<u64> = (1..=n).collect();
    assert_eq!(seen.len() as u64, n, "lost or duplicated");
    assert!(
        seen == expected,
        "reordered: first difference at {:?}",
        seen.iter().zip(&expected).position(|(a, b)| a != b)
    );
    assert_eq!(
        log.iter().filter(|l| l.starts_with("swap-begin")).count(),
        6
    );
    assert_eq!(
        log.iter().filter(|l| l.starts_with("swap-commit")).count(),
        6
    );
    assert_eq!(k.kind(), Kind::RoundRobin);
    assert_eq!(k.generation(), 7);
    k.shutdown();
}

#[test]
fn a_failed_new_instance_aborts_the_swap_without_loss() {
    let n = 10_000;
    let (seen, log, k) = run("abort", n, 10_000, &[(Kind::Priority, true)]);
    assert_eq!(seen, (1..=n).collect::<Vec<_>>());
    assert!(
        log.iter()
            .any(|l| l.starts_with("swap-abort rr -> priority")),
        "{log:?}"
    );
    assert_eq!(k.kind(), Kind::RoundRobin, "the old algorithm continues");
    k.shutdown();
}
