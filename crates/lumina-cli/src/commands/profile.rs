//! The profile: `init` (or `init --from URL`), `add`, `remove`, `check`,
//! `undo`.

use std::io::IsTerminal;
use std::process::ExitCode;

use lumina::paths::tilde;
use lumina::{profile, registry, Env};

use super::{ask, Global};
use crate::render::{describe_hw, emit_json, print_plan, print_summary, warn_all};

pub fn clone(env: &Env, g: &Global, url: &str) -> anyhow::Result<ExitCode> {
    let r = profile::clone_profile(env, url)?;
    if g.json {
        emit_json(&r)?;
    } else {
        println!("Cloned {url} into {}", tilde(&r.profile));
        warn_all(&r.sync.plan.warnings);
        print_plan(&r.sync.plan, g.verbose);
        print_summary(&r.sync.plan, false, r.sync.changed, r.sync.generation);
    }
    Ok(ExitCode::SUCCESS)
}

pub fn init(
    env: &Env,
    g: &Global,
    identity: Option<String>,
    force: bool,
) -> anyhow::Result<ExitCode> {
    let r = profile::init(env, &profile::InitOptions { identity, force })?;
    if g.json {
        emit_json(&r)?;
    } else {
        println!(
            "Detected {} ({})",
            r.hardware.slug,
            describe_hw(&r.hardware)
        );
        if let Some(p) = &r.previous {
            println!("Kept the previous registry as {}", tilde(p));
        }
        println!("Wrote {}", tilde(&r.registry));
        println!(
            "Profile {} {}",
            tilde(&r.profile),
            if r.git {
                "is a git repository"
            } else {
                "(git not available: run `git init` there yourself)"
            }
        );
        println!("Next: `lumina add <module>` or edit the registry, then `lumina sync`.");
    }
    Ok(ExitCode::SUCCESS)
}

pub fn add(env: &Env, g: &Global, a: AddArgs) -> anyhow::Result<ExitCode> {
    let AddArgs {
        module,
        source,
        target,
        adopt,
        nested_git,
        exclude,
        yes,
        list,
    } = a;
    if list {
        if g.json {
            let v: Vec<_> = lumina::catalog::CATALOG
                .iter()
                .map(|k| serde_json::json!({"name": k.name, "target": k.target, "source": k.source, "about": k.about}))
                .collect();
            emit_json(&v)?;
        } else {
            for k in lumina::catalog::CATALOG {
                println!("{:<10} {:<28} {}", k.name, k.target, k.about);
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let module = module.unwrap_or_default();
    let (mut source, mut target) = (source, target);
    if !yes && !g.json && std::io::stdin().is_terminal() {
        let (ds, dt) = profile::add_defaults(&module);
        if target.is_none() {
            target = Some(ask("Target (where the config lives)", dt.as_deref())?);
        }
        if source.is_none() {
            source = Some(ask("Source (inside the profile)", ds.as_deref())?);
        }
    }
    let r = profile::add(
        env,
        &module,
        &profile::AddOptions {
            source,
            target,
            adopt,
            strict: g.strict,
            exclude,
            nested_git,
        },
    )?;
    if g.json {
        emit_json(&r)?;
    } else {
        warn_all(&r.warnings);
        println!(
            "Added module '{}': {} -> {}{}",
            r.module,
            r.source,
            r.target,
            if r.adopted {
                format!(" ({} files adopted into the profile)", r.copied)
            } else {
                String::new()
            }
        );
        if let Some(url) = &r.submodule {
            println!(
                "Recorded as a git submodule of the profile ({url}); commit .gitmodules with it."
            );
        }
        if !r.waybar_modules.is_empty() {
            println!(
                "Added to the Waybar config for flows: {}",
                r.waybar_modules.join(", ")
            );
        }
        print_plan(&r.sync.plan, g.verbose);
        print_summary(&r.sync.plan, false, r.sync.changed, r.sync.generation);
    }
    Ok(ExitCode::SUCCESS)
}

/// `lumina add`'s arguments.
pub struct AddArgs {
    pub module: Option<String>,
    pub source: Option<String>,
    pub target: Option<String>,
    pub adopt: bool,
    pub nested_git: lumina::adopt::NestedGit,
    pub exclude: Vec<String>,
    pub yes: bool,
    pub list: bool,
}

pub fn remove(env: &Env, g: &Global, module: &str, disable: bool) -> anyhow::Result<ExitCode> {
    let r = profile::remove(env, module, disable)?;
    if g.json {
        emit_json(&r)?;
    } else {
        print_plan(&r.sync.plan, g.verbose);
        let how = if r.disabled {
            "disabled (enabled: false)"
        } else {
            "removed from the registry"
        };
        println!("Module '{}' unlinked and {how}.", r.module);
    }
    Ok(ExitCode::SUCCESS)
}

pub fn check(env: &Env, g: &Global) -> anyhow::Result<ExitCode> {
    let reg = registry::load(&env.registry, g.strict)?;
    if g.json {
        emit_json(
            &serde_json::json!({"registry": reg.path, "modules": reg.modules.len(), "missions": reg.missions.len(), "warnings": reg.warnings}),
        )?;
    } else {
        for w in &reg.warnings {
            eprintln!("warning: {w}");
        }
        println!(
            "{}: valid ({} modules, {} missions, {} warnings)",
            tilde(&reg.path),
            reg.modules.len(),
            reg.missions.len(),
            reg.warnings.len()
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub fn undo(env: &Env, g: &Global, dry_run: bool) -> anyhow::Result<ExitCode> {
    let r = lumina::linker::undo(env, dry_run)?;
    if g.json {
        emit_json(&r)?;
    } else {
        print_plan(&r.plan, g.verbose);
        let verb = if dry_run { "Would return" } else { "Returned" };
        println!("{verb} from generation {} to generation {}.", r.from, r.to);
    }
    Ok(ExitCode::SUCCESS)
}
