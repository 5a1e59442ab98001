//! What the kernel tests share: unique addresses and a loop that drives
//! the reincarnation server until a condition holds.

#![allow(dead_code)]

use std::time::{Duration, Instant};

use lugh::kernel::Kernel;

/// An inproc:// base address no other test (or test process) uses.
pub fn base(suite: &str, name: &str) -> String {
    format!("inproc://lugh-{suite}-{name}-{}", std::process::id())
}

/// Ticks the reincarnation server every 5 ms until `cond` holds; fails
/// after `timeout` with the kernel's log, memory accounts and refusals.
pub fn tick_until(k: &mut Kernel, timeout: Duration, mut cond: impl FnMut(&Kernel) -> bool) {
    let t = Instant::now();
    while !cond(k) {
        assert!(
            t.elapsed() < timeout,
            "timed out; memory {:?}, refused tasks {}, log {:?}",
            k.memory(),
            k.refused_tasks(),
            k.log
        );
        k.tick();
        std::thread::sleep(Duration::from_millis(5));
    }
}
