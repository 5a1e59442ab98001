//! Live swap: the old instance stops at a message boundary and seals its
//! state; the new one starts from it at a new address, and the kernel
//! replays everything unacknowledged. A new instance not up within 2 s is
//! dropped and the old algorithm restarts from the same hand-off.

use super::*;

impl Kernel {
    pub(crate) fn wait_hello(&self, generation: u32, timeout: Duration) -> bool {
        let t = Instant::now();
        while t.elapsed() < timeout {
            if *self.hello.lock().unwrap_or_else(|e| e.into_inner()) == Some(generation) {
                return true;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        false
    }

    /// Swaps the scheduler instance for one of `to`. `crash_new` injects a
    /// failure of the new instance (the swap is then aborted and the old
    /// algorithm resumes from the same state).
    pub fn swap(&mut self, to: Kind, crash_new: bool) -> SwapReport {
        let t = Instant::now();
        let from = self.cfg.kind;
        self.log
            .push(format!("swap-begin {} -> {}", from.name(), to.name()));
        let replayed_before = self.replays.load(Ordering::Relaxed);
        let old = self.instance.take().expect("an instance runs");
        // New messages wait while the old instance closes its sockets: they
        // are numbered and kept for replay anyway, and no send races the
        // teardown of the pipe it would use (NNG 1.4's push socket can touch
        // a pipe being freed).
        let generation = self.cfg.generation + 1;
        let next_url = self.service_url(generation);
        let channel = self.channel.clone();
        let mut guard = channel.lock().unwrap_or_else(|e| e.into_inner());
        let _ = guard.control(Op::SWAP, vec![]);
        let exit = old.join();
        // The hand-off is exact: what it covers needs no replay.
        if let Exit::Stopped(h) = &exit {
            if let Ok(h) = unseal_handoff(h) {
                for p in Priority::ALL {
                    guard.acknowledge(p, h.next_seq[p.index()].saturating_sub(1));
                }
            }
        }
        let redirected = guard.redirect(&next_url);
        drop(guard);
        if let Err(e) = redirected {
            self.log.push(format!("swap-abort: {e}"));
        }
        let handoff = match exit {
            Exit::Stopped(h) => h,
            Exit::Failed(e) => {
                self.log
                    .push(format!("swap-abort: old instance failed: {e}"));
                return self.report(from, to, false, t, replayed_before, e);
            }
        };
        let (new_cfg, new) = self.launch(generation, to, crash_new, Some(handoff.clone()));
        if self.wait_hello(generation, Duration::from_secs(2)) {
            self.cfg = new_cfg;
            self.cfg.crash_on_start = false;
            self.instance = Some(new);
            self.log.push(format!(
                "swap-commit {} -> {} (generation {generation})",
                from.name(),
                to.name()
            ));
            return self.report(from, to, true, t, replayed_before, String::new());
        }
        // The new instance did not come up: restore the old algorithm from
        // the same state, as the next generation.
        let why = match new.join() {
            Exit::Failed(e) => e,
            Exit::Stopped(_) => "stopped unexpectedly".into(),
        };
        self.redirect(generation + 1);
        let (restored, instance) = self.launch(generation + 1, from, false, Some(handoff));
        self.instance = Some(instance);
        self.wait_hello(generation + 1, Duration::from_secs(2));
        self.cfg = restored;
        self.log.push(format!(
            "swap-abort {} -> {}: {why}",
            from.name(),
            to.name()
        ));
        self.report(from, to, false, t, replayed_before, why)
    }

    /// Points the kernel's channel at a generation's address.
    pub(crate) fn redirect(&self, generation: u32) {
        let mut c = self.channel.lock().unwrap_or_else(|e| e.into_inner());
        let _ = c.redirect(&self.service_url(generation));
    }

    /// The current generation's latest checkpoint, unsealed.
    pub(crate) fn latest_checkpoint(&self) -> Option<Handoff> {
        self.checkpoint
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_deref()
            .and_then(|b| unseal_handoff(b).ok())
    }
}
