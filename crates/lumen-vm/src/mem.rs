//! Memory accounting (§18: "strings and collections limited only by
//! memory"): an allocator that counts live bytes, and a limit the VM
//! checks, so a program that outgrows it stops with a runtime error
//! instead of the process being killed.
//!
//! The binary installs `CountingAlloc` as its global allocator; without
//! it the count stays zero and no limit ever trips.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

static ALLOCATED: AtomicUsize = AtomicUsize::new(0);
static LIMIT: AtomicUsize = AtomicUsize::new(usize::MAX);
/// Bytes reserved but not in use (the register stack), left out.
static RESERVED: AtomicUsize = AtomicUsize::new(0);

pub struct CountingAlloc;

// SAFETY: every call is forwarded to `System` unchanged; only a counter
// is updated beside it.
unsafe impl GlobalAlloc for CountingAlloc {
    #[inline]
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let p = System.alloc(l);
        if !p.is_null() {
            ALLOCATED.fetch_add(l.size(), Relaxed);
        }
        p
    }
    #[inline]
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(l);
        if !p.is_null() {
            ALLOCATED.fetch_add(l.size(), Relaxed);
        }
        p
    }
    #[inline]
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        System.dealloc(p, l);
        ALLOCATED.fetch_sub(l.size(), Relaxed);
    }
    #[inline]
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        let q = System.realloc(p, l, new);
        if !q.is_null() {
            if new > l.size() {
                ALLOCATED.fetch_add(new - l.size(), Relaxed);
            } else {
                ALLOCATED.fetch_sub(l.size() - new, Relaxed);
            }
        }
        q
    }
}

/// Live bytes the program uses (reserved, untouched space left out).
pub fn in_use() -> usize {
    ALLOCATED
        .load(Relaxed)
        .saturating_sub(RESERVED.load(Relaxed))
}

pub fn limit() -> usize {
    LIMIT.load(Relaxed)
}

/// Sets the limit in bytes (`usize::MAX`: none).
pub fn set_limit(bytes: usize) {
    LIMIT.store(bytes, Relaxed);
}

pub(crate) fn reserve(bytes: usize) {
    RESERVED.fetch_add(bytes, Relaxed);
}

pub(crate) fn unreserve(bytes: usize) {
    RESERVED.fetch_sub(bytes, Relaxed);
}

/// Whether `bytes` more would pass the limit (checked before building a
/// value whose size is known up front, such as a range).
pub fn would_exceed(bytes: usize) -> bool {
    in_use().saturating_add(bytes) > limit()
}

pub fn mib(bytes: usize) -> String {
    format!("{} MiB", bytes / (1 << 20))
}

/// 80 % of the machine's memory (`/proc/meminfo`), or none if unknown.
pub fn default_limit() -> usize {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|k| k.parse::<usize>().ok())
        })
        .map(|kib| kib / 5 * 4 * 1024)
        .unwrap_or(usize::MAX)
}
