//! `install` and `uninstall`: packages through the system's manager,
//! recorded in (or dropped from) the registry.

use std::process::ExitCode;

use lumina::packages;
use lumina::paths::tilde;
use lumina::Env;

use super::Global;
use crate::render::emit_json;

pub fn install(env: &Env, g: &Global, pkgs: &[String]) -> anyhow::Result<ExitCode> {
    let json = g.json;
    let r = packages::install(
        env,
        pkgs,
        g.manager,
        &packages::Runner::from_process(),
        |inv| {
            if !json {
                eprintln!("lumina: running `{}`", inv.display());
            }
        },
    )?;
    if g.json {
        emit_json(&r)?;
    } else if r.recorded.is_empty() {
        println!(
            "Installed with {}; already recorded in {}.",
            r.manager,
            tilde(&env.registry)
        );
    } else {
        println!(
            "Installed with {} and recorded in {}: {}",
            r.manager,
            tilde(&env.registry),
            r.recorded.join(", ")
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub fn uninstall(env: &Env, g: &Global, pkgs: &[String]) -> anyhow::Result<ExitCode> {
    let json = g.json;
    let r = packages::uninstall(
        env,
        pkgs,
        g.manager,
        &packages::Runner::from_process(),
        |inv| {
            if !json {
                eprintln!("lumina: running `{}`", inv.display());
            }
        },
    )?;
    if g.json {
        emit_json(&r)?;
    } else {
        let not: Vec<&String> = pkgs.iter().filter(|p| !r.recorded.contains(p)).collect();
        println!("Removed with {}.", r.manager);
        if !r.recorded.is_empty() {
            println!(
                "Dropped from {}: {}",
                tilde(&env.registry),
                r.recorded.join(", ")
            );
        }
        if !not.is_empty() {
            println!(
                "Not declared in the registry: {}",
                not.iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
