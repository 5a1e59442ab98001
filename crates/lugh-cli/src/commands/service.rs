//! The hidden service processes: `lugh service scheduler` (started by the
//! kernel under process isolation) and `lugh storage-service`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use anyhow::bail;
use lugh::kernel::{InstanceConfig, Isolation};
use lugh::sched::Kind;

pub struct SchedulerArgs {
    pub name: String,
    pub listen: String,
    pub kernel: String,
    pub kind: String,
    pub generation: u32,
    pub handoff_in: Option<PathBuf>,
    pub handoff_out: PathBuf,
    pub crash_on_start: bool,
}

pub fn scheduler(a: SchedulerArgs) -> anyhow::Result<ExitCode> {
    if a.name != "scheduler" {
        bail!("unknown service `{}`: services: scheduler", a.name);
    }
    let Some(kind) = Kind::parse(&a.kind) else {
        bail!("unknown scheduler `{}`", a.kind);
    };
    let cfg = InstanceConfig {
        service_url: a.listen,
        kernel_url: a.kernel,
        kind,
        generation: a.generation,
        observer: None,
        crash_on_start: a.crash_on_start,
        isolation: Isolation::Thread,
    };
    let code = lugh::kernel::serve_process(cfg, a.handoff_in.as_deref(), &a.handoff_out);
    Ok(ExitCode::from(code.clamp(0, 255) as u8))
}

pub fn storage(
    data: &Path,
    listen: &str,
    reply_to: &str,
    generation: u32,
    log_limit: Option<u64>,
) -> anyhow::Result<ExitCode> {
    let mut opts = lugh_kv::Options::default();
    if let Some(l) = log_limit {
        opts.log_limit = l;
    }
    let stop = Arc::new(AtomicBool::new(false));
    lugh::services::storage::serve(data, opts, listen, reply_to, generation, stop)?;
    Ok(ExitCode::SUCCESS)
}
