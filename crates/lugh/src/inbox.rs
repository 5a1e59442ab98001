//! The receiving side's queue: three FIFOs, always drained HIGH before
//! MEDIUM before LOW. Whatever has arrived is ordered here, under one lock,
//! so no LOW message is handed out while a HIGH one is waiting.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::msg::{Message, Priority};

/// How long `pop` polls (yielding, so NNG's own threads still get the CPU)
/// before it sleeps on the condition variable.
const SPIN: Duration = Duration::from_micros(300);

/// A message with the moment it entered the inbox.
#[derive(Debug)]
pub struct Arrival {
    pub message: Message,
    pub at: Instant,
}

#[derive(Default)]
struct Queues {
    q: [VecDeque<Arrival>; 3],
    closed: bool,
}

#[derive(Default)]
pub struct Inbox {
    /// One queue for everything, in arrival order (the FIFO baseline).
    fifo: bool,
    /// Messages waiting, readable without the lock (for the short spin).
    waiting: AtomicU64,
    queues: Mutex<Queues>,
    ready: Condvar,
    /// Messages dropped because they did not decode (corrupt, truncated...).
    pub rejected: AtomicU64,
    /// Times a lower priority was handed out while a higher one waited
    /// (kept as a checked counter; by construction it stays 0).
    pub violations: AtomicU64,
}

impl Inbox {
    pub fn new() -> Inbox {
        Inbox::default()
    }

    /// An inbox that ignores priorities (benchmark baseline).
    pub fn fifo() -> Inbox {
        Inbox {
            fifo: true,
            ..Inbox::default()
        }
    }

    pub fn push(&self, message: Message) {
        let p = if self.fifo {
            0
        } else {
            message.header.priority.index()
        };
        let mut g = self.queues.lock().unwrap_or_else(|e| e.into_inner());
        g.q[p].push_back(Arrival {
            message,
            at: Instant::now(),
        });
        self.waiting.fetch_add(1, Ordering::Release);
        drop(g);
        self.ready.notify_one();
    }

    /// The oldest message of the highest non-empty priority, waiting up to
    /// `timeout`. `None` on timeout or once closed and empty.
    pub fn pop(&self, timeout: Duration) -> Option<Arrival> {
        let deadline = Instant::now() + timeout;
        // A waking thread costs tens of microseconds on a small VM; a
        // message due within SPIN is taken without sleeping.
        let spin_until = Instant::now() + SPIN.min(timeout);
        while self.waiting.load(Ordering::Acquire) == 0 && Instant::now() < spin_until {
            std::thread::yield_now();
        }
        let mut g = self.queues.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(i) = (0..3).find(|&i| !g.q[i].is_empty()) {
                if (0..i).any(|j| !g.q[j].is_empty()) {
                    self.violations.fetch_add(1, Ordering::Relaxed);
                }
                self.waiting.fetch_sub(1, Ordering::Release);
                return g.q[i].pop_front();
            }
            if g.closed {
                return None;
            }
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            g = self
                .ready
                .wait_timeout(g, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Messages waiting per priority (HIGH, MEDIUM, LOW).
    pub fn depth(&self) -> [usize; 3] {
        let g = self.queues.lock().unwrap_or_else(|e| e.into_inner());
        [g.q[0].len(), g.q[1].len(), g.q[2].len()]
    }

    /// Wakes every waiter; `pop` returns `None` once the queues are empty.
    pub fn close(&self) {
        self.queues.lock().unwrap_or_else(|e| e.into_inner()).closed = true;
        self.ready.notify_all();
    }

    pub fn depth_of(&self, p: Priority) -> usize {
        self.depth()[p.index()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msg::{Op, Source};

    #[test]
    fn drains_by_priority_then_fifo() {
        let inbox = Inbox::new();
        let mut expected = Vec::new();
        for i in 0..30u64 {
            let p = Priority::ALL[(i % 3) as usize];
            inbox.push(Message::new(p, Op(2), Source::default(), i, vec![]));
        }
        for p in Priority::ALL {
            for i in 0..30u64 {
                if Priority::ALL[(i % 3) as usize] == p {
                    expected.push(i);
                }
            }
        }
        let got: Vec<u64> = (0..30)
            .map(|_| inbox.pop(Duration::ZERO).unwrap().message.header.seq)
            .collect();
        assert_eq!(got, expected);
        assert!(inbox.pop(Duration::from_millis(1)).is_none());
        assert_eq!(inbox.violations.load(Ordering::Relaxed), 0);
    }
}
