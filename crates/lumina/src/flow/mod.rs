//! Contextual Flow: a shell hook runs `lumina flow --dir "$PWD"` (detached)
//! when the directory changes; flow finds the project markers above that
//! directory, picks the workspace context they select and, only when it
//! differs from the last one, tells Hyprland (one batched request), Waybar
//! (a state file and real-time signals to the modules that changed) and
//! Docker (the context's mission).
//!
//! The cheap path matters most: the same directory again, with the registry
//! untouched, is answered from one small state file without parsing
//! lumina.yaml.

pub mod hook;
pub mod hyprland;
pub mod waybar;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::registry::{FlowContext, Registry};
use crate::Env;

/// The contexts in matching order: the registry's, then the built-in `node`
/// (package.json) and `git` (.git) unless the registry defines those names,
/// then `default` (the registry's, or an empty one).
pub fn contexts(reg: &Registry) -> Vec<FlowContext> {
    let mut out: Vec<FlowContext> = reg
        .flows
        .iter()
        .filter(|c| c.name != "default")
        .cloned()
        .collect();
    for (name, marker) in [("node", "package.json"), ("git", ".git")] {
        if !out.iter().any(|c| c.name == name) {
            out.push(FlowContext {
                name: name.into(),
                markers: vec![marker.into()],
                ..FlowContext::default()
            });
        }
    }
    out.push(
        reg.flows
            .iter()
            .find(|c| c.name == "default")
            .cloned()
            .unwrap_or_else(|| FlowContext {
                name: "default".into(),
                ..FlowContext::default()
            }),
    );
    out
}

/// The context for `dir`: walking up from it, the first directory holding
/// any context's marker decides (contexts in order within one directory).
/// The walk stops below `home` (markers in `$HOME` itself are not a
/// project), or at `/` for directories outside it.
pub fn detect<'a>(dir: &Path, home: &Path, contexts: &'a [FlowContext]) -> &'a FlowContext {
    let fallback = contexts.last().expect("contexts always hold default");
    let inside_home = dir.starts_with(home) && home != Path::new("/");
    let mut cur = Some(dir);
    while let Some(d) = cur {
        if inside_home && d == home {
            break;
        }
        for c in contexts {
            if c.markers
                .iter()
                .any(|m| std::fs::symlink_metadata(d.join(m)).is_ok())
            {
                return c;
            }
        }
        cur = d.parent();
    }
    fallback
}

/// Where flow keeps its state: `$XDG_RUNTIME_DIR/lumina`, else
/// `/tmp/lumina-<uid>`.
pub fn runtime_dir() -> PathBuf {
    match std::env::var("XDG_RUNTIME_DIR")
        .ok()
        .filter(|s| !s.is_empty())
    {
        Some(d) => PathBuf::from(d).join("lumina"),
        None => PathBuf::from(format!(
            "/tmp/lumina-{}",
            rustix::process::getuid().as_raw()
        )),
    }
}

/// `$XDG_STATE_HOME/lumina/flow.log` (default `~/.local/state`).
pub fn log_path(home: &Path) -> PathBuf {
    std::env::var("XDG_STATE_HOME")
        .ok()
        .filter(|s| !s.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| home.join(".local/state"))
        .join("lumina/flow.log")
}

/// Appends one line to the flow log; failures to log are ignored (flow
/// must never fail the shell).
pub fn log(home: &Path, line: &str) {
    let p = log_path(home);
    if let Some(d) = p.parent() {
        let _ = std::fs::create_dir_all(d);
    }
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&p)
    {
        let _ = writeln!(f, "{} {line}", crate::paths::utc_now());
    }
}

/// The registry's identity for the cheap path: a changed file means the
/// contexts may have changed.
fn registry_stamp(path: &Path) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path).ok()?;
    Some(format!(
        "{}:{}:{}.{}",
        m.ino(),
        m.len(),
        m.mtime(),
        m.mtime_nsec()
    ))
}

/// The last flow, as kept in the runtime directory.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct LastFlow {
    dir: PathBuf,
    registry: Option<String>,
    context: String,
    /// Fingerprint of the context's definition: an edited context is applied
    /// again even under the same name.
    definition: u64,
}

fn definition(ctx: &FlowContext) -> u64 {
    crate::fingerprint::fnv(serde_json::to_string(ctx).unwrap_or_default().as_bytes())
}

#[derive(Debug, Clone, Serialize)]
pub struct FlowReport {
    pub dir: PathBuf,
    pub context: String,
    /// False when the context equals the last one (nothing was sent).
    pub changed: bool,
    /// Answered from the state file alone (same directory, same registry).
    pub cached: bool,
    /// The batched request sent to Hyprland, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hyprland: Option<String>,
    pub hyprland_replies: Vec<String>,
    /// Waybar modules whose visibility changed, and the pids signalled.
    pub waybar_changed: Vec<String>,
    pub waybar_signalled: Vec<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mission: Option<String>,
    /// Problems that did not stop the flow (also written to the flow log).
    pub problems: Vec<String>,
}

/// CLOCK_MONOTONIC in nanoseconds: when this flow was asked for.
fn monotonic_ns() -> u128 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u128 * 1_000_000_000 + ts.tv_nsec as u128
}

/// `lumina flow --dir DIR`.
pub fn flow(env: &Env, dir: &Path) -> Result<FlowReport> {
    flow_at(env, dir, monotonic_ns())
}

/// The newest flow request applied or being applied: a flow asked for
/// earlier that gets the lock later (two quick `cd`s run detached and may
/// finish in any order) must not undo the newer one.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Newest {
    at: u128,
}

fn flow_at(env: &Env, dir: &Path, asked_at: u128) -> Result<FlowReport> {
    let runtime = runtime_dir();
    let state_path = runtime.join("flow.json");
    let dir = crate::env::absolute(dir);
    let stamp = registry_stamp(&env.registry);
    let last: Option<LastFlow> = std::fs::read(&state_path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    let mut report = FlowReport {
        dir: dir.clone(),
        context: String::new(),
        changed: false,
        cached: false,
        hyprland: None,
        hyprland_replies: Vec::new(),
        waybar_changed: Vec::new(),
        waybar_signalled: Vec::new(),
        mission: None,
        problems: Vec::new(),
    };
    if let Some(l) = &last {
        if l.dir == dir && l.registry == stamp && stamp.is_some() {
            report.context = l.context.clone();
            report.cached = true;
            return Ok(report);
        }
    }
    std::fs::create_dir_all(&runtime)
        .map_err(|e| Error::io(format!("creating {}", runtime.display()), e))?;
    // One flow at a time from here, newest request last.
    let _lock = crate::fsops::lock_file(&runtime.join("flow.lock"))
        .map_err(|e| Error::io(format!("locking in {}", runtime.display()), e))?;
    let newest_path = runtime.join("newest.json");
    let newest: Newest = std::fs::read(&newest_path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    if newest.at > asked_at {
        report.context = last.map(|l| l.context).unwrap_or_default();
        report
            .problems
            .push("superseded by a newer flow request".into());
        return Ok(report);
    }
    let _ = crate::fsops::write_atomic(
        &newest_path,
        &serde_json::to_vec(&Newest { at: asked_at }).unwrap_or_default(),
        crate::fsops::Durability::Volatile,
    );
    // The last state again, now that no other flow is running.
    let last: Option<LastFlow> = std::fs::read(&state_path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    let reg = crate::registry::load(&env.registry, false)?;
    let all = contexts(&reg);
    let ctx = detect(&dir, &env.home, &all);
    report.context = ctx.name.clone();
    let def = definition(ctx);
    let same = last
        .as_ref()
        .is_some_and(|l| l.context == ctx.name && l.definition == def);
    let save = |ctx: &FlowContext| {
        let s = LastFlow {
            dir: dir.clone(),
            registry: stamp.clone(),
            context: ctx.name.clone(),
            definition: def,
        };
        crate::fsops::write_atomic(
            &state_path,
            &serde_json::to_vec(&s).unwrap_or_default(),
            crate::fsops::Durability::Volatile,
        )
        .map_err(|e| Error::io(format!("writing {}", state_path.display()), e))
    };
    if same {
        save(ctx)?;
        return Ok(report);
    }
    report.changed = true;

    hyprland_batch(ctx, &runtime, &mut report);
    waybar_update(ctx, &all, &runtime, &mut report)?;

    // Docker: the context's mission, when it names one.
    if let Some(m) = &ctx.mission {
        report.mission = Some(m.clone());
        if let Err(e) = crate::mission::start(env, &reg, m) {
            report.problems.push(format!("mission '{m}': {e}"));
        }
    }
    save(ctx)?;
    log(
        &env.home,
        &format!(
            "context {} for {}{}",
            ctx.name,
            dir.display(),
            if report.problems.is_empty() {
                String::new()
            } else {
                format!(" (problems: {})", report.problems.join("; "))
            }
        ),
    );
    Ok(report)
}

/// Hyprland: the context's settings in one batch, within the deadline.
fn hyprland_batch(ctx: &FlowContext, runtime: &Path, report: &mut FlowReport) {
    let deadline = Instant::now() + hyprland::TIMEOUT;
    match hyprland::socket_path() {
        Err(hyprland::HyprError::NoInstance) => {}
        Err(e) => report.problems.push(e.to_string()),
        Ok(sock) => match hyprland::instance(&sock, runtime, deadline) {
            Err(e) => report.problems.push(e.to_string()),
            Ok((inst, _)) => {
                let cmds = hyprland::commands(ctx, inst.flavour);
                if !cmds.is_empty() {
                    let req = hyprland::batch(&cmds);
                    match hyprland::request(&sock, &req, deadline) {
                        Ok(reply) => {
                            report.hyprland_replies = hyprland::split_replies(&reply);
                            for (c, r) in cmds.iter().zip(&report.hyprland_replies) {
                                if r != "ok" {
                                    report.problems.push(format!("Hyprland refused `{c}`: {r}"));
                                }
                            }
                        }
                        Err(e) => report.problems.push(e.to_string()),
                    }
                    report.hyprland = Some(req);
                }
            }
        },
    }
}

/// Waybar: the new state written first, then a signal to every Waybar for
/// each module whose visibility changed.
fn waybar_update(
    ctx: &FlowContext,
    all: &[FlowContext],
    runtime: &Path,
    report: &mut FlowReport,
) -> Result<()> {
    let wpath = runtime.join("waybar.json");
    let default_ctx = all.last().expect("default");
    let old =
        waybar::State::read(&wpath).unwrap_or_else(|| waybar::State::compute(default_ctx, all));
    let new = waybar::State::compute(ctx, all);
    crate::fsops::write_atomic(
        &wpath,
        &serde_json::to_vec(&new).unwrap_or_default(),
        crate::fsops::Durability::Volatile,
    )
    .map_err(|e| Error::io(format!("writing {}", wpath.display()), e))?;
    report.waybar_changed = waybar::changed(&old, &new);
    if !report.waybar_changed.is_empty() {
        let sigs = waybar::signals(all);
        for pid in waybar::processes() {
            let mut ok = true;
            for m in &report.waybar_changed {
                if let Some(n) = sigs.get(m) {
                    if let Err(e) = waybar::signal(pid, *n) {
                        report
                            .problems
                            .push(format!("signalling Waybar (pid {pid}): {e}"));
                        ok = false;
                        break;
                    }
                }
            }
            if ok {
                report.waybar_signalled.push(pid);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_marker_wins_and_home_stops_the_walk() {
        let t = tempfile::tempdir().unwrap();
        let home = t.path().join("home");
        let mono = home.join("mono");
        let web = mono.join("web/src");
        std::fs::create_dir_all(&web).unwrap();
        std::fs::create_dir_all(mono.join(".git")).unwrap();
        std::fs::write(mono.join("web/package.json"), "{}").unwrap();
        std::fs::create_dir_all(home.join(".git")).unwrap();
        let reg = crate::registry::parse(
            Path::new("/p/lumina.yaml"),
            "version: 1\nflows:\n  rust: {markers: [Cargo.toml], workspace: 2}\n",
            true,
        )
        .unwrap();
        let all = contexts(&reg);
        let names: Vec<&str> = all.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["rust", "node", "git", "default"]);
        assert_eq!(detect(&web, &home, &all).name, "node");
        assert_eq!(detect(&mono, &home, &all).name, "git");
        std::fs::write(mono.join("Cargo.toml"), "").unwrap();
        assert_eq!(detect(&mono, &home, &all).name, "rust");
        // $HOME/.git (a dotfiles repository) does not make all of $HOME a project.
        assert_eq!(detect(&home.join("Downloads"), &home, &all).name, "default");
        assert_eq!(detect(&home, &home, &all).name, "default");
    }

    #[test]
    fn an_older_request_never_undoes_a_newer_one() {
        let t = tempfile::tempdir().unwrap();
        let home = t.path().join("home");
        std::fs::create_dir_all(home.join("a")).unwrap();
        std::fs::create_dir_all(home.join("b/.git")).unwrap();
        let reg = t.path().join("lumina.yaml");
        std::fs::write(&reg, "version: 1\n").unwrap();
        std::env::set_var("XDG_RUNTIME_DIR", t.path().join("run"));
        std::env::remove_var("HYPRLAND_INSTANCE_SIGNATURE");
        let env = Env {
            home: home.clone(),
            lumina_home: t.path().join(".lumina"),
            registry: reg,
            sysfs_root: "/sys".into(),
        };
        // Asked at 20 for b, applied; then the request asked at 10 for a arrives.
        let r = flow_at(&env, &home.join("b"), 20).unwrap();
        assert_eq!((r.context.as_str(), r.changed), ("git", true));
        let r = flow_at(&env, &home.join("a"), 10).unwrap();
        assert!(!r.changed && r.problems[0].contains("superseded"));
        let r = flow_at(&env, &home.join("b"), 30).unwrap();
        assert_eq!(r.context, "git");
        assert!(r.cached, "the state still says b");
    }
}
