//! The reincarnation server: heartbeats with checkpoints, crashes and
//! hangs detected, restarts with back-off at a new generation from the
//! last checkpoint, fault injection for tests and `lugh ctl`.

use super::*;

impl Kernel {
    /// The reincarnation server's check, run every few milliseconds: a
    /// finished instance is a crash (restart at once; repeated crashes back
    /// off min(2^n, 30) heartbeat periods), two missed heartbeats a hang
    /// (the instance is abandoned and restarted). A restart is a new
    /// generation at a new address, from the last checkpoint; the kernel
    /// replays what the checkpoint does not cover. Returns an event line.
    pub fn tick(&mut self) -> Option<String> {
        let now = Instant::now();
        if let Some((generation, detected)) = self.awaiting_hello {
            if *self.hello.lock().unwrap_or_else(|e| e.into_inner()) == Some(generation) {
                self.restart_ms.push(detected.elapsed().as_secs_f64() * 1e3);
                self.awaiting_hello = None;
                self.healthy_since = now;
            }
        }
        if let Some((due, detected)) = self.pending_restart {
            if now >= due {
                self.pending_restart = None;
                return Some(self.restart(detected));
            }
            return None;
        }
        let instance = self.instance.as_mut()?;
        let crashed = instance.finished();
        let silent = self.awaiting_hello.is_none()
            && self
                .last_beat
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .elapsed()
                > 2 * HEARTBEAT;
        if !crashed && !silent {
            return None;
        }
        let instance = self.instance.take()?;
        let what = if crashed {
            let why = match instance.join() {
                Exit::Failed(e) => e,
                Exit::Stopped(_) => "stopped".into(),
            };
            format!("crash of generation {}: {why}", self.cfg.generation)
        } else {
            self.hangs.push(now);
            if instance.pid().is_some() {
                // A process is killed; a thread cannot be, so it is left behind.
                instance.abort();
            } else {
                instance.stop.store(true, Ordering::SeqCst);
                self.abandoned.push(instance);
            }
            format!(
                "hang of generation {}: two heartbeats missed",
                self.cfg.generation
            )
        };
        if self.healthy_since.elapsed() > 10 * HEARTBEAT {
            self.streak = 0;
        }
        let delay = if self.streak == 0 {
            Duration::ZERO
        } else {
            HEARTBEAT * 2u32.saturating_pow(self.streak).min(30)
        };
        self.streak += 1;
        self.pending_restart = Some((now + delay, now));
        self.log
            .push(format!("{what}; restart in {} ms", delay.as_millis()));
        if delay.is_zero() {
            self.pending_restart = None;
            return Some(format!("{what}; {}", self.restart(now)));
        }
        Some(what)
    }

    pub(crate) fn restart(&mut self, detected: Instant) -> String {
        let generation = self.cfg.generation + 1;
        self.redirect(generation);
        let checkpoint = self
            .checkpoint
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let (cfg, instance) = self.launch(generation, self.cfg.kind, false, checkpoint);
        self.cfg = cfg;
        self.instance = Some(instance);
        self.restarts += 1;
        self.awaiting_hello = Some((generation, detected));
        let line = format!("restarted as generation {generation}");
        self.log.push(line.clone());
        line
    }

    /// Starts `generation` of the service as `kind` from `handoff`; its
    /// heartbeats count from now.
    pub(crate) fn launch(
        &mut self,
        generation: u32,
        kind: Kind,
        crash_on_start: bool,
        handoff: Option<Vec<u8>>,
    ) -> (InstanceConfig, Instance) {
        let cfg = InstanceConfig {
            kind,
            generation,
            crash_on_start,
            service_url: self.service_url(generation),
            ..self.cfg.clone()
        };
        self.current.store(generation, Ordering::SeqCst);
        // The new generation holds nothing until it asks.
        self.memory
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .reset(SERVICE_ID);
        *self.last_beat.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
        let instance = Instance::start(cfg.clone(), handoff);
        (cfg, instance)
    }

    /// Kills the running service: SIGKILL under process isolation, an
    /// injected crash for a thread. The reincarnation server restarts it.
    pub fn kill_service(&mut self) -> Result<(), IpcError> {
        if let Some(i) = self.instance.as_mut() {
            if i.kill() {
                return Ok(());
            }
        }
        self.inject_fault(false)
    }

    /// Messages processed according to the latest checkpoint (all streams);
    /// what a supervisor can know of a service in another process.
    pub fn checkpointed(&self) -> u64 {
        self.latest_checkpoint()
            .map(|h| h.next_seq.iter().map(|n| n.saturating_sub(1)).sum())
            .unwrap_or(0)
    }

    /// Fault injection: the running instance crashes (`hang = false`) or
    /// stops answering, heartbeats included (`hang = true`).
    pub fn inject_fault(&self, hang: bool) -> Result<(), IpcError> {
        let c = self.channel.lock().unwrap_or_else(|e| e.into_inner());
        c.control(
            Op::ERROR,
            if hang {
                b"hang".to_vec()
            } else {
                b"crash".to_vec()
            },
        )
    }
}
