//! The contextual flow: `flow` (what the shell hook runs at every
//! directory change; never fails the shell), `hook SHELL`, and
//! `waybar-module NAME`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use lumina::flow::hook;
use lumina::{registry, Env};

use crate::cli::HookShell;
use crate::render::emit_json;

pub fn hook(shell: HookShell) -> anyhow::Result<ExitCode> {
    let shell = match shell {
        HookShell::Zsh => hook::Shell::Zsh,
        HookShell::Bash => hook::Shell::Bash,
        HookShell::Fish => hook::Shell::Fish,
    };
    print!("{}", hook::script(shell, &self_path()));
    Ok(ExitCode::SUCCESS)
}

pub fn waybar_module(env: &Env, name: &str) -> anyhow::Result<ExitCode> {
    let state = lumina::flow::waybar::State::read(&lumina::flow::runtime_dir().join("waybar.json"))
        .map(Ok)
        .unwrap_or_else(|| {
            // No flow yet: the default context, as Waybar starts.
            registry::load(&env.registry, false).map(|reg| {
                let all = lumina::flow::contexts(&reg);
                lumina::flow::waybar::State::compute(all.last().expect("default"), &all)
            })
        })?;
    println!("{}", lumina::flow::waybar::module_json(name, &state));
    Ok(ExitCode::SUCCESS)
}

/// The path the hook should call: argv[0] when it names a file (so a
/// symlinked or wrapped lumina stays what the user installed), else the
/// running executable.
fn self_path() -> String {
    let arg0 = std::env::args_os().next().map(PathBuf::from);
    let p = match arg0 {
        Some(a) if a.components().count() > 1 => lumina::env::absolute(&a),
        _ => std::env::current_exe().unwrap_or_else(|_| PathBuf::from("lumina")),
    };
    p.to_string_lossy().into_owned()
}

/// `lumina flow`: never fails the shell. Every error is logged and the exit
/// code is 0.
pub fn run_flow(
    registry: Option<&Path>,
    json: bool,
    verbose: bool,
    dir: Option<PathBuf>,
) -> ExitCode {
    let dir = dir
        .or_else(|| std::env::var_os("PWD").map(PathBuf::from))
        .or_else(|| std::env::current_dir().ok())
        .unwrap_or_else(|| PathBuf::from("/"));
    let env = match Env::from_process(registry) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("lumina flow: {e}");
            return ExitCode::SUCCESS;
        }
    };
    match lumina::flow::flow(&env, &dir) {
        Ok(r) => {
            for p in &r.problems {
                eprintln!("lumina flow: {p}");
            }
            if json {
                let _ = emit_json(&r);
            } else if verbose || std::io::stdout().is_terminal() {
                println!(
                    "context {}{}",
                    r.context,
                    if r.changed {
                        " (applied)"
                    } else {
                        " (unchanged)"
                    }
                );
            }
        }
        Err(e) => {
            lumina::flow::log(&env.home, &format!("error for {}: {e}", dir.display()));
            eprintln!(
                "lumina flow: {e} (logged to {})",
                lumina::flow::log_path(&env.home).display()
            );
            if json {
                println!("{}", serde_json::json!({"error": e.to_string()}));
            }
        }
    }
    ExitCode::SUCCESS
}
