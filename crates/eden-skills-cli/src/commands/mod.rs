//! One module per command: each loads what it needs, calls the library,
//! renders (human or `--json`) and returns the exit status. Shared here:
//! where things are (`Env`), loading the config and lock with their
//! diagnostics, and the early exit (`Exit`) that `?` carries.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use eden_skills::config::{self, Config, LoadError};
use eden_skills::edit::Doc;
use eden_skills::fsutil;
use eden_skills::lock::Lock;
use serde_json::json;

use crate::cli::{Cli, Cmd, ConfigAction, DockerAction};
use crate::out::{error, hint, print_json, warning, Style};

mod apply;
mod clean;
mod config_cmds;
mod docker;
mod doctor;
mod init;
mod install;
mod list;
mod plan;
mod remove;
mod update;

/// A command that stops early: what to say has been said (on stderr); the
/// exit status is left.
#[derive(Debug)]
pub struct Exit(pub u8);

/// A command's outcome: its exit status, or an early stop.
pub type Outcome = Result<u8, Exit>;

/// Prints `error: MSG` and stops with `code`.
pub fn fail<T>(code: u8, msg: &str) -> Result<T, Exit> {
    error(msg);
    Err(Exit(code))
}

/// Where the user's things are, and how to paint output.
pub struct Env {
    pub home: PathBuf,
    pub config: PathBuf,
    pub st: Style,
}

/// Runs the command `cli` names.
pub fn run(cli: Cli) -> Outcome {
    let Some(home) = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
    else {
        return fail(
            1,
            "HOME is not set; eden-skills needs it to find ~/.eden-skills and agent directories",
        );
    };
    let env = Env {
        config: config::config_path(cli.config.as_deref(), &home),
        home,
        st: Style::new(cli.color),
    };
    match cli.command {
        Cmd::Init { force } => init::init(&env, force),
        Cmd::Install(a) => install::install(&env, a),
        Cmd::Plan { json, strict } => plan::plan(&env, json, strict),
        Cmd::Apply { flags, frozen } => {
            apply::apply(&env, eden_skills::engine::Command::Apply, flags, frozen)
        }
        Cmd::Repair { flags } => {
            apply::apply(&env, eden_skills::engine::Command::Repair, flags, false)
        }
        Cmd::Doctor {
            json,
            strict,
            no_warning,
        } => doctor::doctor(&env, json, strict, no_warning),
        Cmd::Remove {
            ids,
            json,
            strict,
            yes,
            force,
            auto_clean,
        } => remove::remove(
            &env,
            ids,
            remove::Flags {
                json,
                strict,
                yes,
                force,
                auto_clean,
            },
        ),
        Cmd::Clean { json, dry_run } => clean::clean(&env, json, dry_run),
        Cmd::Add(a) => config_cmds::add(&env, a),
        Cmd::Set(a) => config_cmds::set(&env, a),
        Cmd::List { json } => list::list(&env, json),
        Cmd::Config { action } => match action {
            ConfigAction::Export { json } => config_cmds::export(&env, json),
            ConfigAction::Import {
                from,
                dry_run,
                strict,
            } => config_cmds::import(&env, &from, dry_run, strict),
        },
        Cmd::Update {
            json,
            strict,
            concurrency,
            apply,
        } => update::update(&env, json, strict, concurrency.as_deref(), apply),
        Cmd::Outdated { json, concurrency } => update::outdated(&env, json, concurrency.as_deref()),
        Cmd::Docker {
            action: DockerAction::MountHint { container },
        } => docker::mount_hint(&env, &container),
        Cmd::Completions { .. } => Ok(0),
    }
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// A runtime on this thread only: read-only commands start no workers.
pub fn local_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

fn print_invalid(issues: &[config::Issue]) {
    for i in issues {
        error(&format!("invalid config: {i}"));
    }
}

/// Loads and validates the config: exit 2 on any problem (and on warnings
/// under `--strict`), exit 1 when it cannot be read.
pub fn load(env: &Env, strict: bool) -> Result<Config, Exit> {
    match Config::load(&env.config, &env.home) {
        Ok(cfg) => {
            for w in &cfg.warnings {
                if strict {
                    error(&format!("invalid config: {w} (--strict)"));
                } else {
                    warning(w);
                }
            }
            if strict && !cfg.warnings.is_empty() {
                return Err(Exit(2));
            }
            Ok(cfg)
        }
        Err(LoadError::Invalid(issues)) => {
            print_invalid(&issues);
            Err(Exit(2))
        }
        Err(LoadError::NotFound(p)) => {
            error(&format!("config not found: {}", p.display()));
            hint("run `eden-skills init`, or pass --config <path>");
            Err(Exit(1))
        }
        Err(e) => fail(1, &e.to_string()),
    }
}

pub fn load_lock(cfg: &Config) -> Lock {
    let (lock, warn) = Lock::load_in(&cfg.lock_path(), &cfg.home);
    if let Some(w) = warn {
        warning(w);
    }
    lock
}

pub fn concurrency(cfg: &Config, flag: Option<&str>) -> Result<usize, Exit> {
    let env = std::env::var("EDEN_SKILLS_CONCURRENCY").ok();
    cfg.concurrency(flag, env.as_deref())
        .or_else(|i| fail(2, &i.to_string()))
}

pub fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stdout().is_terminal()
}

pub fn ask(prompt: &str) -> String {
    eprint!("{prompt}");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    let _ = std::io::stdin().lock().read_line(&mut line);
    line.trim().to_string()
}

pub fn write_config(path: &Path, text: &str) -> Result<(), Exit> {
    fsutil::atomic_write(path, text.as_bytes())
        .or_else(|e| fail(1, &format!("cannot write {}: {e}", path.display())))
}

pub fn save_lock(cfg: &Config, lock: &Lock) -> Result<(), Exit> {
    lock.save_in(&cfg.lock_path(), &cfg.home)
        .map(|_| ())
        .or_else(|e| {
            fail(
                1,
                &format!("cannot write {}: {e}", cfg.lock_path().display()),
            )
        })
}

/// The text of the config, or the init template when it does not exist
/// yet (`true`: it will be created).
pub fn config_text(env: &Env) -> Result<(String, bool), Exit> {
    match std::fs::read_to_string(&env.config) {
        Ok(t) => Ok((t, false)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Ok((eden_skills::edit::INIT_TEMPLATE.to_string(), true))
        }
        Err(e) => fail(1, &format!("cannot read {}: {e}", env.config.display())),
    }
}

pub fn parse_doc(text: &str) -> Result<Doc, Exit> {
    Doc::parse(text).or_else(|e| fail(2, &e.to_string()))
}

/// Validates an edited config and writes it atomically: nothing is written
/// when the edit would make it invalid (exit 2).
pub fn save_doc(env: &Env, path: &Path, doc: &Doc, strict: bool) -> Result<Config, Exit> {
    let text = doc.render();
    let cfg = validated(env, &text, strict)?;
    write_config(path, &text)?;
    Ok(cfg)
}

/// Validates edited text; exit 2 with the validation errors otherwise.
pub fn validated(env: &Env, text: &str, strict: bool) -> Result<Config, Exit> {
    match Config::parse(text, &env.config, &env.home) {
        Ok(c) => {
            if strict && !c.warnings.is_empty() {
                for w in &c.warnings {
                    error(&format!("invalid config: {w} (--strict)"));
                }
                return Err(Exit(2));
            }
            Ok(c)
        }
        Err(LoadError::Invalid(i)) => {
            print_invalid(&i);
            Err(Exit(2))
        }
        Err(e) => fail(1, &e.to_string()),
    }
}

/// The result of `add` / `set`: `{"action","config_path","skill_id"}` or a line.
pub fn edited(env: &Env, json: bool, action: &str, verb: &str, path: &Path, id: &str) -> Outcome {
    if json {
        print_json(
            &json!({"action": action, "config_path": path.display().to_string(), "skill_id": id}),
        );
    } else {
        println!("{}  {} {id}", env.st.head(verb), env.st.ok());
    }
    Ok(0)
}

/// Set when Ctrl-C arrives: the engine starts no new work.
pub fn cancel_flag(rt: &tokio::runtime::Runtime) -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let f = flag.clone();
    rt.spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            f.store(true, Ordering::SeqCst);
        }
    });
    flag
}
