//! The reincarnation server: crashes and hangs restart the scheduler as a
//! new generation from its last checkpoint, with nothing lost; repeated
//! crashes back off; messages for a dead generation get an error.

use std::collections::BTreeSet;
use std::sync::mpsc;
use std::time::Duration;

use lugh::kernel::{DeliveryError, Kernel};
use lugh::msg::Priority;
use lugh::sched::Kind;

mod common;
use common::tick_until;

fn base(name: &str) -> String {
    common::base("rs", name)
}

fn collect(rx: &mpsc::Receiver<(Priority, u64)>, into: &mut BTreeSet<u64>) {
    while let Ok((_, seq)) = rx.try_recv() {
        into.insert(seq);
    }
}

#[test]
fn a_crash_restarts_a_new_generation_and_loses_nothing() {
    let (tx, rx) = mpsc::channel();
    let mut k = Kernel::start(&base("crash"), Kind::RoundRobin, Some(tx)).unwrap();
    let n = 3000u64;
    for i in 0..n {
        k.send(
            Priority::Medium,
            lugh::services::scheduler::ADD_TASK,
            vec![],
        )
        .unwrap();
        if i == n / 2 {
            k.inject_fault(false).unwrap();
        }
    }
    let mut seen = BTreeSet::new();
    tick_until(&mut k, Duration::from_secs(20), |k| {
        collect(&rx, &mut seen);
        k.restarts == 1 && k.restart_ms.len() == 1 && seen.len() as u64 == n
    });
    assert_eq!(seen, (1..=n).collect(), "every message processed");
    assert_eq!(k.generation(), 2);
    assert_eq!(k.restart_ms.len(), 1);
    assert!(
        k.log.iter().any(|l| l.starts_with("crash of generation 1")),
        "{:?}",
        k.log
    );
    // The old generation is dead; the new one takes messages.
    match k.send_to(
        1,
        Priority::Low,
        lugh::services::scheduler::ADD_TASK,
        vec![],
    ) {
        Err(DeliveryError::Dead {
            addressed: 1,
            current: 2,
        }) => {}
        other => panic!("expected a dead error, got {other:?}"),
    }
    assert!(k
        .send_to(
            2,
            Priority::Low,
            lugh::services::scheduler::ADD_TASK,
            vec![]
        )
        .is_ok());
    k.shutdown();
}

#[test]
fn a_hang_is_detected_by_missed_heartbeats_and_restarted() {
    let (tx, rx) = mpsc::channel();
    let mut k = Kernel::start(&base("hang"), Kind::Priority, Some(tx)).unwrap();
    for _ in 0..500 {
        k.send(
            Priority::Medium,
            lugh::services::scheduler::ADD_TASK,
            vec![],
        )
        .unwrap();
    }
    std::thread::sleep(Duration::from_millis(300));
    k.inject_fault(true).unwrap();
    for _ in 0..500 {
        k.send(
            Priority::Medium,
            lugh::services::scheduler::ADD_TASK,
            vec![],
        )
        .unwrap();
    }
    let mut seen = BTreeSet::new();
    tick_until(&mut k, Duration::from_secs(20), |k| {
        collect(&rx, &mut seen);
        k.restarts == 1 && k.restart_ms.len() == 1 && seen.len() == 1000
    });
    assert_eq!(k.hangs.len(), 1);
    assert!(
        k.log.iter().any(|l| l.starts_with("hang of generation 1")),
        "{:?}",
        k.log
    );
    assert_eq!(seen, (1..=1000).collect());
    assert_eq!(
        k.kind(),
        Kind::Priority,
        "restarted with the same algorithm"
    );
    k.shutdown();
}

#[test]
fn repeated_crashes_back_off() {
    let mut k = Kernel::start(&base("backoff"), Kind::RoundRobin, None).unwrap();
    for round in 1..=3u64 {
        k.inject_fault(false).unwrap();
        tick_until(&mut k, Duration::from_secs(10), |k| {
            k.restarts == round && k.restart_ms.len() as u64 == round
        });
    }
    let delays: Vec<&String> = k.log.iter().filter(|l| l.contains("restart in")).collect();
    assert!(delays[0].ends_with("restart in 0 ms"), "{delays:?}");
    assert!(delays[1].ends_with("restart in 200 ms"), "{delays:?}");
    assert!(delays[2].ends_with("restart in 400 ms"), "{delays:?}");
    assert_eq!(k.generation(), 4);
    k.shutdown();
}
