//! Module hooks (`run:`): commands run in the profile directory after a
//! sync that created or updated any of that module's files, and only then.
//! Their output streams line by line with the module's name; a failing hook
//! is reported and makes the sync fail, but the links stay (they are
//! already consistent).

use std::collections::BTreeSet;
use std::io::BufRead;
use std::process::{Command, Stdio};

use serde::Serialize;

use crate::linker::plan::Plan;
use crate::linker::state::Op;
use crate::registry::Registry;

/// One hook: what ran (or, dry run, would run) and how it ended.
#[derive(Debug, Clone, Serialize)]
pub struct HookRun {
    pub module: String,
    pub command: String,
    /// The exit status (`None`: killed by a signal, could not start, or a
    /// dry run).
    pub status: Option<i32>,
    pub ok: bool,
    pub dry_run: bool,
}

/// The modules whose files this plan creates or updates.
pub fn changed_modules(plan: &Plan) -> BTreeSet<String> {
    plan.ops
        .iter()
        .filter_map(|op| match op {
            Op::Place {
                dir: false, module, ..
            } => Some(module.clone()),
            _ => None,
        })
        .collect()
}

/// Runs (or, dry run, lists) the hooks of `modules`, in registry order.
/// `announce` hears each hook before it runs; `line` each line it prints.
pub fn run(
    reg: &Registry,
    modules: &BTreeSet<String>,
    dry_run: bool,
    announce: &mut dyn FnMut(&str, &str),
    line: &mut dyn FnMut(&str, &str),
) -> Vec<HookRun> {
    let profile = reg.profile_dir();
    let mut out = Vec::new();
    for m in reg.modules.iter().filter(|m| modules.contains(&m.name)) {
        for cmd in &m.run {
            announce(&m.name, cmd);
            if dry_run {
                out.push(HookRun {
                    module: m.name.clone(),
                    command: cmd.clone(),
                    status: None,
                    ok: true,
                    dry_run: true,
                });
                continue;
            }
            let status = run_one(&profile, &m.name, cmd, line);
            out.push(HookRun {
                module: m.name.clone(),
                command: cmd.clone(),
                status,
                ok: status == Some(0),
                dry_run: false,
            });
        }
    }
    out
}

/// Runs one command through `sh -c`, passing each output line to `line`.
fn run_one(
    profile: &std::path::Path,
    module: &str,
    cmd: &str,
    line: &mut dyn FnMut(&str, &str),
) -> Option<i32> {
    let child = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .current_dir(profile)
        .env("LUMINA_MODULE", module)
        .env("LUMINA_PROFILE", profile)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            line(module, &format!("cannot start `sh -c {cmd}`: {e}"));
            return None;
        }
    };
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let mut readers = Vec::new();
    if let Some(o) = child.stdout.take() {
        let tx = tx.clone();
        readers.push(std::thread::spawn(move || {
            for l in std::io::BufReader::new(o).lines().map_while(Result::ok) {
                let _ = tx.send(l);
            }
        }));
    }
    if let Some(e) = child.stderr.take() {
        let tx = tx.clone();
        readers.push(std::thread::spawn(move || {
            for l in std::io::BufReader::new(e).lines().map_while(Result::ok) {
                let _ = tx.send(l);
            }
        }));
    }
    drop(tx);
    for l in rx {
        line(module, &l);
    }
    for r in readers {
        let _ = r.join();
    }
    child.wait().ok().and_then(|s| s.code())
}
