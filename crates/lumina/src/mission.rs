//! Missions: a project's container, declared under
//! `orchestration.missions.<name>` as `{path, image, env}` and run through
//! the real `docker` command line. The container is named
//! `lumina-mission-<name>` and labelled, mounts the project at the same path
//! and works there. Every operation is idempotent: starting a running
//! mission does nothing, stopping an absent one does nothing.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde::Serialize;

use crate::error::{Error, Result};
use crate::registry::{Mission, Registry};
use crate::Env;

pub const LABEL: &str = "lumina.mission";

pub fn container_name(mission: &str) -> String {
    format!("lumina-mission-{mission}")
}

fn find<'a>(reg: &'a Registry, name: &str) -> Result<&'a Mission> {
    reg.missions.iter().find(|m| m.name == name).ok_or_else(|| {
        let known: Vec<&str> = reg.missions.iter().map(|m| m.name.as_str()).collect();
        Error::Usage(if known.is_empty() {
            format!(
                "no mission '{name}': {} declares none (add one under `orchestration.missions`)",
                reg.path.display()
            )
        } else {
            format!("no mission '{name}' (declared: {})", known.join(", "))
        })
    })
}

/// The project directory, `~` and `$VARS` expanded; it must exist.
pub fn project_path(env: &Env, m: &Mission) -> Result<PathBuf> {
    let field = format!("orchestration.missions.{}.path", m.name);
    let p = crate::paths::expand(&m.path, &env.home, &|k| std::env::var(k).ok())
        .map_err(|e| Error::Usage(format!("{field}: {e}")))?;
    if !p.is_dir() {
        return Err(Error::Usage(format!(
            "{field}: {} is not a directory; create the project there or fix the path in {}",
            p.display(),
            env.registry.display()
        )));
    }
    Ok(p)
}

fn docker() -> Command {
    let mut c = Command::new("docker");
    c.stdin(Stdio::null());
    c
}

/// Runs docker, returning stdout; a failure carries docker's own message.
fn run(mut c: Command, what: &str) -> Result<String> {
    let out = c.output().map_err(|e| {
        Error::Runtime(format!(
            "cannot run docker ({e}); install the Docker client and make sure the engine is running"
        ))
    })?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        let err = String::from_utf8_lossy(&out.stderr).trim().to_string();
        Err(Error::Runtime(format!("{what}: {err}")))
    }
}

/// `running`, `exited`, `created`, ... or `None` when there is no container.
pub fn state(name: &str) -> Result<Option<String>> {
    let mut c = docker();
    c.args([
        "ps",
        "-a",
        "--filter",
        &format!("name=^{}$", container_name(name)),
        "--format",
        "{{.State}}",
    ]);
    let out = run(c, "asking docker for the mission's container")?;
    Ok(out.lines().next().map(str::to_string))
}

#[derive(Debug, Clone, Serialize)]
pub struct MissionStatus {
    pub name: String,
    pub container: String,
    pub image: String,
    pub path: String,
    /// Docker's state of the container, or "absent".
    pub state: String,
}

/// Every declared mission with its container's state (one docker call).
pub fn list(reg: &Registry) -> Result<Vec<MissionStatus>> {
    let mut c = docker();
    c.args([
        "ps",
        "-a",
        "--filter",
        &format!("label={LABEL}"),
        "--format",
        "{{.Names}}\t{{.State}}",
    ]);
    let out = run(c, "listing mission containers")?;
    let states: std::collections::HashMap<&str, &str> =
        out.lines().filter_map(|l| l.split_once('\t')).collect();
    Ok(reg
        .missions
        .iter()
        .map(|m| {
            let container = container_name(&m.name);
            MissionStatus {
                name: m.name.clone(),
                state: states
                    .get(container.as_str())
                    .unwrap_or(&"absent")
                    .to_string(),
                container,
                image: m.image.clone(),
                path: m.path.clone(),
            }
        })
        .collect())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Started {
    Started,
    AlreadyRunning,
}

/// Starts the mission's container unless it is already running. A stopped
/// container is replaced, so the registry's image and env always apply.
pub fn start(env: &Env, reg: &Registry, name: &str) -> Result<Started> {
    let m = find(reg, name)?;
    let path = project_path(env, m)?;
    let cname = container_name(name);
    match state(name)?.as_deref() {
        Some("running") => return Ok(Started::AlreadyRunning),
        Some(_) => {
            let mut c = docker();
            c.args(["rm", "-f", &cname]);
            run(c, "removing the stopped mission container")?;
        }
        None => {}
    }
    let p = path.to_string_lossy();
    let mut c = docker();
    c.args(["run", "-d", "-i", "-t", "--name", &cname])
        .args(["--label", &format!("{LABEL}={name}")])
        .args([
            "--label",
            &format!("lumina.registry={}", reg.path.display()),
        ])
        .args(["-v", &format!("{p}:{p}"), "-w", &p]);
    for e in &m.env {
        c.args(["-e", e]);
    }
    c.arg(&m.image).args(&m.command);
    run(c, &format!("starting mission '{name}' (docker run {})", m.image)).map_err(|e| {
        match e {
            Error::Runtime(msg) if msg.contains("Unable to find image") || msg.contains("pull access denied") || msg.contains("No such image") => Error::Runtime(format!(
                "{msg}\n  help: the image '{}' is not on this machine; build it (docker build), load it (docker load) or import it (docker import), then try again",
                m.image
            )),
            e => e,
        }
    })?;
    Ok(Started::Started)
}

/// Stops and removes the mission's container. Returns whether there was one.
pub fn stop(reg: &Registry, name: &str) -> Result<bool> {
    find(reg, name)?;
    if state(name)?.is_none() {
        return Ok(false);
    }
    let mut c = docker();
    c.args(["rm", "-f", &container_name(name)]);
    run(c, "removing the mission container")?;
    Ok(true)
}

/// The `docker exec` command for a shell (or `cmd`) in a running mission,
/// in the project directory. The caller runs it with the terminal attached.
pub fn shell_command(
    env: &Env,
    reg: &Registry,
    name: &str,
    cmd: &[String],
    tty: bool,
) -> Result<Command> {
    let m = find(reg, name)?;
    if state(name)?.as_deref() != Some("running") {
        return Err(Error::Usage(format!(
            "mission '{name}' is not running; start it with `lumina mission start {name}`"
        )));
    }
    let path = project_path(env, m)?;
    let mut c = Command::new("docker");
    c.arg("exec").arg("-i");
    if tty {
        c.arg("-t");
    }
    c.arg("-w").arg(&path).arg(container_name(name));
    if cmd.is_empty() {
        c.arg(&m.shell);
    } else {
        c.args(cmd);
    }
    Ok(c)
}
