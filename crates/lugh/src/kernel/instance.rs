//! A running instance of the supervised service: a thread, or an OS
//! process (`lugh service scheduler ...`) under process isolation, and how
//! it ended.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use crate::services::scheduler::{run_instance, Exit, InstanceConfig, Isolation};

/// A running scheduler service instance (a thread here; a process under
/// `--isolation process`).
pub struct Instance {
    pub generation: u32,
    pub(crate) stop: Arc<AtomicBool>,
    runner: Runner,
    /// Set once the instance listens and has announced itself (threads).
    pub ready: Arc<AtomicBool>,
}

pub(crate) enum Runner {
    Thread(JoinHandle<Exit>),
    Process {
        child: std::process::Child,
        handoff_out: PathBuf,
    },
}

impl Instance {
    pub fn start(cfg: InstanceConfig, handoff: Option<Vec<u8>>) -> Instance {
        let stop = Arc::new(AtomicBool::new(false));
        let ready = Arc::new(AtomicBool::new(false));
        let generation = cfg.generation;
        let runner = match cfg.isolation.clone() {
            Isolation::Thread => {
                let (s, r) = (stop.clone(), ready.clone());
                Runner::Thread(std::thread::spawn(move || run_instance(cfg, handoff, s, r)))
            }
            Isolation::Process { exe, scratch } => {
                match spawn_process(&cfg, handoff, &exe, &scratch) {
                    Ok((child, handoff_out)) => Runner::Process { child, handoff_out },
                    Err(e) => Runner::Thread(std::thread::spawn(move || Exit::Failed(e))),
                }
            }
        };
        Instance {
            generation,
            stop,
            runner,
            ready,
        }
    }

    /// Waits for the instance's end (after a Swap message or `abort`).
    pub fn join(self) -> Exit {
        match self.runner {
            Runner::Thread(h) => h
                .join()
                .unwrap_or_else(|_| Exit::Failed("instance panicked".into())),
            Runner::Process {
                mut child,
                handoff_out,
            } => match child.wait() {
                Ok(st) if st.success() => match std::fs::read(&handoff_out) {
                    Ok(h) => {
                        let _ = std::fs::remove_file(&handoff_out);
                        Exit::Stopped(h)
                    }
                    Err(e) => Exit::Failed(format!("no hand-off from the service process: {e}")),
                },
                Ok(st) => Exit::Failed(format!("service process {}", describe_status(st))),
                Err(e) => Exit::Failed(format!("cannot wait for the service process: {e}")),
            },
        }
    }

    /// Whether the instance has ended (a crash, unless asked).
    pub fn finished(&mut self) -> bool {
        match &mut self.runner {
            Runner::Thread(h) => h.is_finished(),
            Runner::Process { child, .. } => matches!(child.try_wait(), Ok(Some(_))),
        }
    }

    /// The OS process id, under process isolation.
    pub fn pid(&self) -> Option<u32> {
        match &self.runner {
            Runner::Process { child, .. } => Some(child.id()),
            Runner::Thread(_) => None,
        }
    }

    /// SIGKILL under process isolation (a real crash, seen by `finished`);
    /// `false` for a thread, which cannot be killed from outside.
    pub fn kill(&mut self) -> bool {
        match &mut self.runner {
            Runner::Process { child, .. } => child.kill().is_ok(),
            Runner::Thread(_) => false,
        }
    }

    /// Stops without a handoff (used when aborting a failed new instance).
    pub fn abort(self) {
        self.stop.store(true, Ordering::SeqCst);
        match self.runner {
            Runner::Thread(h) => {
                let _ = h.join();
            }
            Runner::Process {
                mut child,
                handoff_out,
            } => {
                let _ = child.kill();
                let _ = child.wait();
                let _ = std::fs::remove_file(handoff_out);
            }
        }
    }
}

pub(crate) fn describe_status(st: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (st.code(), st.signal()) {
        (Some(c), _) => format!("exited with status {c}"),
        (None, Some(s)) => format!("was killed by signal {s}"),
        _ => "ended".into(),
    }
}

pub(crate) fn spawn_process(
    cfg: &InstanceConfig,
    handoff: Option<Vec<u8>>,
    exe: &Path,
    scratch: &Path,
) -> Result<(std::process::Child, PathBuf), String> {
    std::fs::create_dir_all(scratch).map_err(|e| format!("{}: {e}", scratch.display()))?;
    let handoff_out = scratch.join(format!("handoff-out-g{}", cfg.generation));
    let _ = std::fs::remove_file(&handoff_out);
    let mut c = std::process::Command::new(exe);
    c.args([
        "service",
        "scheduler",
        "--listen",
        &cfg.service_url,
        "--kernel",
        &cfg.kernel_url,
        "--kind",
        cfg.kind.name(),
    ])
    .arg("--generation")
    .arg(cfg.generation.to_string())
    .arg("--handoff-out")
    .arg(&handoff_out)
    .stdin(std::process::Stdio::null())
    .stdout(std::process::Stdio::null());
    if let Some(h) = handoff {
        let input = scratch.join(format!("handoff-in-g{}", cfg.generation));
        lugh_kv::write_atomic(&input, &h).map_err(|e| format!("{}: {e}", input.display()))?;
        c.arg("--handoff-in").arg(&input);
    }
    if cfg.crash_on_start {
        c.arg("--crash-on-start");
    }
    let child = c
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", exe.display()))?;
    Ok((child, handoff_out))
}
