//! A small parallel map for syscall-bound work (walking sources, staging a
//! generation, placing new links): each item is an independent filesystem
//! operation, so two to four threads overlap their kernel time.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

fn threads() -> usize {
    // Asked once: std reads the cgroup quota files on every call.
    static N: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *N.get_or_init(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .clamp(1, 4)
    })
}

/// Below this many items a thread costs more than it saves.
const MIN_PARALLEL: usize = 256;

/// Maps `f` over `items`, keeping their order.
pub fn map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let n = threads().min(items.len());
    if n < 2 || items.len() < MIN_PARALLEL {
        return items.iter().map(f).collect();
    }
    let next = AtomicUsize::new(0);
    let worker = || {
        let mut out = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            if i >= items.len() {
                break out;
            }
            out.push((i, f(&items[i])));
        }
    };
    let mut all: Vec<(usize, R)> = std::thread::scope(|s| {
        let handles: Vec<_> = (1..n).map(|_| s.spawn(worker)).collect();
        let mut mine = worker();
        for h in handles {
            match h.join() {
                Ok(v) => mine.extend(v),
                Err(p) => std::panic::resume_unwind(p),
            }
        }
        mine
    });
    all.sort_unstable_by_key(|(i, _)| *i);
    all.into_iter().map(|(_, r)| r).collect()
}

/// Like [`map`] for fallible work: after the first error no new item is
/// started. Items not run are `None`.
pub fn try_map<T: Sync, R: Send, E: Send>(
    items: &[T],
    f: impl Fn(&T) -> Result<R, E> + Sync,
) -> Vec<Option<Result<R, E>>> {
    let failed = AtomicBool::new(false);
    map(items, |it| {
        if failed.load(Ordering::Relaxed) {
            return None;
        }
        let r = f(it);
        if r.is_err() {
            failed.store(true, Ordering::Relaxed);
        }
        Some(r)
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn keeps_order() {
        let v: Vec<u32> = (0..1000).collect();
        assert_eq!(
            super::map(&v, |x| x * 2),
            v.iter().map(|x| x * 2).collect::<Vec<_>>()
        );
    }

    #[test]
    fn stops_after_error() {
        // Deterministic on a slow or oversubscribed machine (the test once
        // failed under qemu, where other threads ran every item before the
        // failing one returned): items after the failing one wait until it
        // has failed, then take long enough that a thread preempted between
        // the failure and its flag cannot be overtaken by the whole list.
        use std::sync::atomic::{AtomicBool, Ordering};
        let v: Vec<u32> = (0..2_000).collect();
        let tenth_failed = AtomicBool::new(false);
        let r = super::try_map(&v, |x| match *x {
            10 => {
                tenth_failed.store(true, Ordering::SeqCst);
                Err(())
            }
            x if x > 10 => {
                while !tenth_failed.load(Ordering::SeqCst) {
                    std::thread::yield_now();
                }
                std::thread::sleep(std::time::Duration::from_millis(1));
                Ok(x)
            }
            x => Ok(x),
        });
        assert!(r.iter().any(|x| matches!(x, Some(Err(())))));
        assert!(r.iter().any(Option::is_none));
    }
}
