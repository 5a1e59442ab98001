//! Memory accounting over IPC: the scheduler service asks the kernel for
//! memory for its task table with `MemoryRequest` messages; over its quota
//! the kernel refuses, the service refuses the task, and nothing crashes.

use std::collections::BTreeSet;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use lugh::kernel::{task_payload, Kernel, TASK_BYTES};
use lugh::msg::Priority;
use lugh::sched::Kind;

mod common;

fn base(name: &str) -> String {
    common::base("mem", name)
}

#[test]
fn over_quota_requests_are_refused_and_the_service_carries_on() {
    let (tx, rx) = mpsc::channel();
    let mut k = Kernel::start(&base("quota"), Kind::Priority, Some(tx)).unwrap();
    let quota = 4096;
    k.set_memory_quota(quota);
    let capacity = quota / TASK_BYTES;
    // Tasks that never finish within the test: the table only grows.
    let n = 3 * capacity;
    for _ in 0..n {
        k.send(
            Priority::Medium,
            lugh::services::scheduler::ADD_TASK,
            task_payload(3, 0, 1_000_000),
        )
        .unwrap();
    }
    let mut seen = BTreeSet::new();
    common::tick_until(&mut k, Duration::from_secs(20), |k| {
        while let Ok((_, s)) = rx.try_recv() {
            seen.insert(s);
        }
        seen.len() as u64 == n && k.refused_tasks() >= n - capacity
    });
    let mem = k.memory();
    assert_eq!(mem.quota, quota);
    assert!(mem.used <= quota, "{mem:?}");
    assert!(
        mem.used + 2048 > quota,
        "the table was allowed to fill its quota: {mem:?}"
    );
    assert!(mem.refused >= 1, "the kernel refused requests: {mem:?}");
    assert_eq!(
        k.refused_tasks(),
        n - capacity,
        "every task beyond the quota refused"
    );
    // Every message was handled (refused tasks are handled, not lost), and
    // the service neither crashed nor hung.
    assert_eq!(seen, (1..=n).collect());
    assert_eq!(k.restarts, 0, "{:?}", k.log);
    assert_eq!(k.generation(), 1);
    // It still serves: after a heartbeat period, new messages are handled.
    let more = k
        .send(Priority::High, lugh::services::scheduler::ADD_TASK, vec![])
        .unwrap();
    let t = Instant::now();
    loop {
        if let Ok((Priority::High, s)) = rx.recv_timeout(Duration::from_millis(50)) {
            if s == more {
                break;
            }
        }
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "no answer after refusals"
        );
    }
    k.shutdown();
}

#[test]
fn memory_is_given_back_when_tasks_finish_and_asked_again_after_a_restart() {
    let (tx, rx) = mpsc::channel();
    let mut k = Kernel::start(&base("trim"), Kind::RoundRobin, Some(tx)).unwrap();
    for _ in 0..300 {
        k.send(
            Priority::Low,
            lugh::services::scheduler::ADD_TASK,
            task_payload(5, 0, 400),
        )
        .unwrap();
    }
    let mut peak = 0;
    let mut seen = 0;
    common::tick_until(&mut k, Duration::from_secs(20), |k| {
        while rx.try_recv().is_ok() {
            seen += 1;
        }
        peak = peak.max(k.memory().used);
        seen == 300 && peak >= 250 * TASK_BYTES
    });
    // Idle, the tasks run out and whole chunks go back to the kernel.
    common::tick_until(&mut k, Duration::from_secs(20), |k| k.memory().used <= 2048);
    assert_eq!(k.memory().refused, 0);
    assert_eq!(k.refused_tasks(), 0);

    // A restarted generation starts from an empty account and asks for
    // what its checkpointed table needs.
    for _ in 0..100 {
        k.send(
            Priority::Low,
            lugh::services::scheduler::ADD_TASK,
            task_payload(5, 0, 1_000_000),
        )
        .unwrap();
    }
    common::tick_until(&mut k, Duration::from_secs(20), |k| {
        k.memory().used >= 100 * TASK_BYTES
    });
    // Let a heartbeat carry the full table before the crash.
    std::thread::sleep(Duration::from_millis(250));
    k.inject_fault(false).unwrap();
    common::tick_until(&mut k, Duration::from_secs(20), |k| {
        k.restarts == 1 && !k.restarting() && k.memory().used >= 100 * TASK_BYTES
    });
    assert_eq!(k.generation(), 2);
    k.shutdown();
}
