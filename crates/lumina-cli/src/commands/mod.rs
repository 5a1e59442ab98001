//! One module per group of commands: each calls the library, renders
//! (human or `--json`) and returns the exit status. Library errors come
//! back as `lumina::Error` inside `anyhow`, and `main` maps them to exit
//! codes.

use std::io::Write;
use std::process::ExitCode;

use clap::CommandFactory;
use lumina::packages::Manager;
use lumina::{registry, Env, Error};

use crate::cli::{Cli, Command};

mod flow;
mod mission;
mod packages;
mod profile;
mod status;
mod sync;
mod tag;

pub use flow::run_flow;

/// The global flags every command sees.
pub struct Global {
    pub json: bool,
    pub strict: bool,
    pub verbose: bool,
    pub manager: Option<Manager>,
}

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let g = Global {
        json: cli.json,
        strict: cli.strict,
        verbose: cli.verbose,
        manager: cli.manager,
    };
    // Commands that need no environment.
    match cli.command {
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "lumina", &mut std::io::stdout());
            return Ok(ExitCode::SUCCESS);
        }
        Command::Hook { shell } => return flow::hook(shell),
        Command::Flow { dir } => {
            return Ok(run_flow(cli.registry.as_deref(), g.json, g.verbose, dir));
        }
        _ => {}
    }
    if let Command::Init {
        sysfs_root: Some(root),
        ..
    } = &cli.command
    {
        std::env::set_var("LUMINA_SYSFS_ROOT", root);
    }
    let env = Env::from_process(cli.registry.as_deref())?;
    match cli.command {
        Command::Completions { .. } | Command::Hook { .. } | Command::Flow { .. } => {
            unreachable!("handled above")
        }
        Command::WaybarModule { name } => flow::waybar_module(&env, &name),
        Command::Mission { action } => mission::mission(&env, g.json, g.strict, action),
        Command::Git { args } => mission::git(&env, &args),
        Command::Init {
            from: Some(url), ..
        } => profile::clone(&env, &g, &url),
        Command::Init {
            identity, force, ..
        } => profile::init(&env, &g, identity, force),
        Command::Install { packages: pkgs } => packages::install(&env, &g, &pkgs),
        Command::Uninstall { packages: pkgs } => packages::uninstall(&env, &g, &pkgs),
        Command::Sync {
            dry_run,
            modules,
            no_packages,
            no_hooks,
        } => sync::sync(
            &env,
            &g,
            sync::Flags {
                dry_run,
                modules,
                no_packages,
                no_hooks,
            },
        ),
        Command::Tag { action } => tag::tag(&env, &g, action),
        Command::Status { check } => status::status(&env, &g, check),
        Command::Undo { dry_run } => profile::undo(&env, &g, dry_run),
        Command::Add {
            module,
            source,
            target,
            adopt,
            drop_git,
            submodule,
            exclude,
            yes,
            list,
        } => profile::add(
            &env,
            &g,
            profile::AddArgs {
                module,
                source,
                target,
                adopt,
                nested_git: if drop_git {
                    lumina::adopt::NestedGit::Drop
                } else if submodule {
                    lumina::adopt::NestedGit::Submodule
                } else {
                    lumina::adopt::NestedGit::Refuse
                },
                exclude,
                yes,
                list,
            },
        ),
        Command::Remove { module, disable } => profile::remove(&env, &g, &module, disable),
        Command::Check => profile::check(&env, &g),
    }
}

pub fn load_registry(env: &Env, strict: bool) -> anyhow::Result<registry::Registry> {
    let reg = registry::load(&env.registry, strict)?;
    for w in &reg.warnings {
        eprintln!("warning: {w}");
    }
    Ok(reg)
}

pub fn ask(prompt: &str, default: Option<&str>) -> anyhow::Result<String> {
    let mut err = std::io::stderr();
    match default {
        Some(d) => write!(err, "{prompt} [{d}]: ")?,
        None => write!(err, "{prompt}: ")?,
    }
    err.flush()?;
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    let line = line.trim();
    if line.is_empty() {
        default
            .map(str::to_string)
            .ok_or_else(|| Error::Usage(format!("{prompt}: a value is required")).into())
    } else {
        Ok(line.to_string())
    }
}
