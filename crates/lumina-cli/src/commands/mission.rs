//! Docker missions (`mission list|start|stop|shell`) and `git`, run in the
//! profile directory.

use std::io::IsTerminal;
use std::process::ExitCode;

use lumina::paths::tilde;
use lumina::{Env, Error};

use super::load_registry;
use crate::cli::MissionAction;
use crate::render::emit_json;

pub fn git(env: &Env, args: &[std::ffi::OsString]) -> anyhow::Result<ExitCode> {
    let status = std::process::Command::new("git")
        .arg("-C")
        .arg(env.profile_dir())
        .args(args)
        .status()
        .map_err(|e| Error::Runtime(format!("running git: {e}; is git installed?")))?;
    Ok(ExitCode::from(
        status.code().unwrap_or(1).clamp(0, 255) as u8
    ))
}

pub fn mission(
    env: &Env,
    json: bool,
    strict: bool,
    action: MissionAction,
) -> anyhow::Result<ExitCode> {
    use lumina::mission;
    let reg = load_registry(env, strict)?;
    match action {
        MissionAction::List => {
            let l = mission::list(&reg)?;
            if json {
                emit_json(&l)?;
            } else if l.is_empty() {
                println!(
                    "No missions declared (add them under `orchestration.missions` in {}).",
                    tilde(&reg.path)
                );
            } else {
                for m in &l {
                    println!("{:<16} {:<10} {:<32} {}", m.name, m.state, m.image, m.path);
                }
            }
        }
        MissionAction::Start { name } => {
            let r = mission::start(env, &reg, &name)?;
            if json {
                emit_json(
                    &serde_json::json!({"mission": name, "container": mission::container_name(&name), "result": r}),
                )?;
            } else if r == mission::Started::Started {
                println!(
                    "Mission '{name}' started ({}).",
                    mission::container_name(&name)
                );
            } else {
                println!(
                    "Mission '{name}' is already running ({}).",
                    mission::container_name(&name)
                );
            }
        }
        MissionAction::Stop { name } => {
            let existed = mission::stop(&reg, &name)?;
            if json {
                emit_json(
                    &serde_json::json!({"mission": name, "container": mission::container_name(&name), "removed": existed}),
                )?;
            } else if existed {
                println!("Mission '{name}' stopped and its container removed.");
            } else {
                println!("Mission '{name}' was not running.");
            }
        }
        MissionAction::Shell { name, command } => {
            let tty = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
            let mut c = mission::shell_command(env, &reg, &name, &command, tty)?;
            let st = c
                .status()
                .map_err(|e| Error::Runtime(format!("running docker exec: {e}")))?;
            return Ok(ExitCode::from(st.code().unwrap_or(1).clamp(0, 255) as u8));
        }
    }
    Ok(ExitCode::SUCCESS)
}
