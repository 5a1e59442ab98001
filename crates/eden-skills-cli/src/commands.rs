//! One function per command: load, call the library, render, exit code.

use std::collections::HashSet;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use clap::Args;
use eden_skills::config::{self, Config, InstallMode, LoadError, Skill, Source, Target};
use eden_skills::discover::{sanitize_id, Discovered};
use eden_skills::edit::{self, Doc, Mutation};
use eden_skills::engine::{self, Command, RunOptions};
use eden_skills::git::Git;
use eden_skills::install::{self, InstallSource};
use eden_skills::lock::Lock;
use eden_skills::plan::{self, Adapters};
use eden_skills::{agents, fsutil};
use serde_json::json;

use crate::out::{self, error, hint, print_json, warning, Style};
use crate::{Cli, Cmd, ConfigAction, DockerAction, RunFlags};

type Exit = u8;

struct Env {
    home: PathBuf,
    config: PathBuf,
    st: Style,
}

pub fn dispatch(cli: Cli) -> Exit {
    let Some(home) = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
    else {
        error("HOME is not set; eden-skills needs it to find ~/.eden-skills and agent directories");
        return 1;
    };
    let env = Env {
        config: config::config_path(cli.config.as_deref(), &home),
        home,
        st: Style::new(cli.color),
    };
    match cli.command {
        Cmd::Init { force } => init(&env, force),
        Cmd::Install(a) => install_cmd(&env, a),
        Cmd::Plan { json, strict } => plan_cmd(&env, json, strict),
        Cmd::Apply { flags, frozen } => run_cmd(&env, Command::Apply, flags, frozen),
        Cmd::Repair { flags } => run_cmd(&env, Command::Repair, flags, false),
        Cmd::Doctor {
            json,
            strict,
            no_warning,
        } => doctor_cmd(&env, json, strict, no_warning),
        Cmd::Remove {
            ids,
            json,
            strict,
            yes,
            force,
            auto_clean,
        } => remove_cmd(&env, ids, json, strict, yes, force, auto_clean),
        Cmd::Clean { json, dry_run } => clean_cmd(&env, json, dry_run),
        Cmd::Add(a) => add_cmd(&env, a),
        Cmd::Set(a) => set_cmd(&env, a),
        Cmd::List { json } => list_cmd(&env, json),
        Cmd::Config { action } => match action {
            ConfigAction::Export { json } => export_cmd(&env, json),
            ConfigAction::Import {
                from,
                dry_run,
                strict,
            } => import_cmd(&env, &from, dry_run, strict),
        },
        Cmd::Update {
            json,
            strict,
            concurrency,
            apply,
        } => update_cmd(&env, json, strict, concurrency.as_deref(), apply),
        Cmd::Outdated { json, concurrency } => outdated_cmd(&env, json, concurrency.as_deref()),
        Cmd::Docker {
            action: DockerAction::MountHint { container },
        } => mount_hint_cmd(&env, &container),
        Cmd::Completions { .. } => 0,
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
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
fn load(env: &Env, strict: bool) -> Result<Config, Exit> {
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
                return Err(2);
            }
            Ok(cfg)
        }
        Err(LoadError::Invalid(issues)) => {
            print_invalid(&issues);
            Err(2)
        }
        Err(LoadError::NotFound(p)) => {
            error(&format!("config not found: {}", p.display()));
            hint("run `eden-skills init`, or pass --config <path>");
            Err(1)
        }
        Err(e) => {
            error(&e.to_string());
            Err(1)
        }
    }
}

fn load_lock(cfg: &Config) -> Lock {
    let (lock, warn) = Lock::load(&cfg.lock_path());
    if let Some(w) = warn {
        warning(w);
    }
    lock
}

fn concurrency(cfg: &Config, flag: Option<&str>) -> Result<usize, Exit> {
    let env = std::env::var("EDEN_SKILLS_CONCURRENCY").ok();
    cfg.concurrency(flag, env.as_deref()).map_err(|i| {
        error(&i.to_string());
        2
    })
}

fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stdout().is_terminal()
}

fn ask(prompt: &str) -> String {
    eprint!("{prompt}");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    let _ = std::io::stdin().lock().read_line(&mut line);
    line.trim().to_string()
}

fn write_config(path: &Path, text: &str) -> Result<(), Exit> {
    fsutil::atomic_write(path, text.as_bytes()).map_err(|e| {
        error(&format!("cannot write {}: {e}", path.display()));
        1
    })
}

fn save_lock(cfg: &Config, lock: &Lock) -> Result<(), Exit> {
    lock.save(&cfg.lock_path()).map(|_| ()).map_err(|e| {
        error(&format!("cannot write {}: {e}", cfg.lock_path().display()));
        1
    })
}

fn init(env: &Env, force: bool) -> Exit {
    if env.config.exists() && !force {
        error(&format!(
            "config already exists: {} (use --force to overwrite)",
            env.config.display()
        ));
        return 3;
    }
    if let Err(c) = write_config(&env.config, edit::INIT_TEMPLATE) {
        return c;
    }
    let cfg = match Config::load(&env.config, &env.home) {
        Ok(c) => c,
        Err(e) => {
            error(&e.to_string());
            return 1;
        }
    };
    if let Err(e) = std::fs::create_dir_all(&cfg.storage_root) {
        error(&format!(
            "cannot create {}: {e}",
            cfg.storage_root.display()
        ));
        return 1;
    }
    if let Err(e) = fsutil::atomic_write(&cfg.lock_path(), Lock::empty().render().as_bytes()) {
        error(&format!("cannot write {}: {e}", cfg.lock_path().display()));
        return 1;
    }
    println!(
        "{}  config at {}",
        env.st.head("Created"),
        env.config.display()
    );
    0
}

fn plan_cmd(env: &Env, json: bool, strict: bool) -> Exit {
    let cfg = match load(env, strict) {
        Ok(c) => c,
        Err(c) => return c,
    };
    let lock = load_lock(&cfg);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let items = rt.block_on(plan::plan(&cfg, &lock, &Adapters::default()));
    if json {
        print_json(&serde_json::to_value(&items).unwrap_or(json!([])));
        return 0;
    }
    let pending: Vec<_> = items
        .iter()
        .filter(|i| i.action != plan::Action::Noop)
        .collect();
    if pending.is_empty() {
        println!("0 actions (up to date)");
    }
    for i in pending {
        println!(
            "{:<8} {} {} ({})",
            i.action.as_str(),
            i.skill_id,
            i.target_path,
            i.reasons.join("; ")
        );
    }
    0
}

/// Checks `--frozen` (contract §8.5): the first difference, if any.
async fn frozen_mismatch(cfg: &Config, lock: Option<&Lock>, adapters: &Adapters) -> Option<String> {
    let Some(lock) = lock else {
        return Some("no usable lock file".into());
    };
    for s in &cfg.skills {
        let Some(l) = lock.get(&s.id) else {
            return Some(format!("skill '{}' is not in the lock", s.id));
        };
        if !l.matches(s) {
            return Some(format!(
                "skill '{}' has a different source than the lock",
                s.id
            ));
        }
        if l.install_mode != s.mode.as_str() {
            return Some(format!(
                "skill '{}' install mode is {} in config, {} in lock",
                s.id,
                s.mode.as_str(),
                l.install_mode
            ));
        }
        let mut want: Vec<(String, String)> = if s.metadata_only {
            Vec::new()
        } else {
            plan::expand_targets(cfg, s, adapters)
                .await
                .into_iter()
                .map(|(t, _)| (t.environment.to_string(), t.path))
                .collect()
        };
        let mut have: Vec<(String, String)> = l
            .targets
            .iter()
            .map(|t| (t.environment().to_string(), t.path.clone()))
            .collect();
        want.sort();
        have.sort();
        if want != have {
            return Some(format!("skill '{}' targets differ from the lock", s.id));
        }
    }
    for l in &lock.skills {
        if cfg.skill(&l.id).is_none() {
            return Some(format!("lock entry '{}' is not in the config", l.id));
        }
    }
    None
}

fn cancel_flag(rt: &tokio::runtime::Runtime) -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let f = flag.clone();
    rt.spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            f.store(true, Ordering::SeqCst);
        }
    });
    flag
}

fn run_cmd(env: &Env, command: Command, flags: RunFlags, frozen: bool) -> Exit {
    let cfg = match load(env, flags.strict) {
        Ok(c) => c,
        Err(c) => return c,
    };
    let conc = match concurrency(&cfg, flags.concurrency.as_deref()) {
        Ok(c) => c,
        Err(c) => return c,
    };
    let lock_path = cfg.lock_path();
    let (mut lock, warn) = Lock::load(&lock_path);
    let rt = runtime();
    if frozen {
        let usable = warn.is_none() && lock_path.exists();
        let diff = rt.block_on(frozen_mismatch(
            &cfg,
            usable.then_some(&lock),
            &Adapters::default(),
        ));
        if let Some(diff) = diff {
            let msg = format!("frozen: config and lock disagree: {diff}");
            if flags.json {
                print_json(&json!({"command": command.as_str(), "exit_code": 3, "error": msg}));
            }
            error(&msg);
            return 3;
        }
    } else if let Some(w) = warn {
        warning(w);
    }
    let mut opts = RunOptions::new(command, conc);
    opts.force = flags.force;
    opts.cancel = cancel_flag(&rt);
    let cfg = Arc::new(cfg);
    let report = rt.block_on(engine::run(cfg.clone(), &mut lock, opts));
    let mut io_fail = false;
    if !frozen {
        if let Err(_c) = save_lock(&cfg, &lock) {
            io_fail = true;
        }
    }
    let (mut exit, strict_msg) = out::run_exit(&report, flags.strict, command.as_str());
    if io_fail && exit == 0 {
        exit = 1;
    }
    if flags.json {
        print_json(&out::report_json(command.as_str(), exit, &report));
        for w in &report.warnings {
            warning(w);
        }
        for f in &report.failures {
            eprintln!("  ✗ {}", f.line());
        }
    } else {
        out::report_human(env.st, &report, exit, strict_msg.as_deref());
    }
    exit
}

fn doctor_cmd(env: &Env, json: bool, strict: bool, no_warning: bool) -> Exit {
    let cfg = match load(env, false) {
        Ok(c) => c,
        Err(c) => return c,
    };
    let lock = load_lock(&cfg);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut findings = rt.block_on(eden_skills::doctor::doctor(
        &cfg,
        &lock,
        &Adapters::default(),
    ));
    if no_warning {
        findings.retain(|f| f.severity != eden_skills::doctor::Severity::Warning);
    }
    let errors = findings
        .iter()
        .filter(|f| f.severity == eden_skills::doctor::Severity::Error)
        .count();
    let warnings = findings
        .iter()
        .filter(|f| f.severity == eden_skills::doctor::Severity::Warning)
        .count();
    if json {
        print_json(&json!({
            "summary": {"total": findings.len(), "error": errors, "warning": warnings},
            "findings": findings,
        }));
    } else if findings.is_empty() {
        println!(
            "{}  {} no issues detected",
            env.st.head("Doctor"),
            env.st.ok()
        );
    } else {
        println!(
            "{}  {} {} error(s), {} warning(s), {} info",
            env.st.head("Doctor"),
            if errors > 0 {
                env.st.bad()
            } else {
                env.st.ok()
            },
            errors,
            warnings,
            findings.len() - errors - warnings
        );
        for f in &findings {
            let who = if f.skill_id.is_empty() {
                f.target_path.clone()
            } else {
                f.skill_id.clone()
            };
            let mark = match f.severity {
                eden_skills::doctor::Severity::Error => env.st.bad(),
                eden_skills::doctor::Severity::Warning => "!".to_string(),
                eden_skills::doctor::Severity::Info => "·".to_string(),
            };
            println!("{mark} [{}] {}", f.code, who);
            println!("    {}", f.message);
            let _ = std::io::stdout().flush();
            hint(&f.remediation);
        }
    }
    if strict && errors + warnings > 0 {
        3
    } else {
        0
    }
}

#[allow(clippy::too_many_arguments)]
fn remove_cmd(
    env: &Env,
    mut ids: Vec<String>,
    json: bool,
    strict: bool,
    yes: bool,
    force: bool,
    auto_clean: bool,
) -> Exit {
    let cfg = match load(env, strict) {
        Ok(c) => c,
        Err(c) => return c,
    };
    let available: Vec<&str> = cfg.skills.iter().map(|s| s.id.as_str()).collect();
    if ids.is_empty() {
        if available.is_empty() {
            println!("Nothing to remove.");
            return 0;
        }
        if !interactive() {
            error("no skill IDs specified");
            hint(&format!("Available skills: {}", available.join(", ")));
            return 2;
        }
        let answer = ask(&format!("Skills to remove ({}): ", available.join(", ")));
        ids = answer
            .split([' ', ','])
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect();
        if ids.is_empty() {
            println!("Nothing to remove.");
            return 0;
        }
    }
    let unknown: Vec<&String> = ids
        .iter()
        .filter(|i| !available.contains(&i.as_str()))
        .collect();
    if !unknown.is_empty() {
        if unknown.len() == 1 {
            error(&format!("skill '{}' not found in config", unknown[0]));
        } else {
            let list: Vec<String> = unknown.iter().map(|u| format!("'{u}'")).collect();
            error(&format!("unknown skill(s): {}", list.join(", ")));
        }
        hint(&format!("Available skills: {}", available.join(", ")));
        return 2;
    }
    if interactive() && !yes {
        let a = ask(&format!("Remove {}? [y/N] ", ids.join(", ")));
        if !matches!(a.as_str(), "y" | "Y" | "yes") {
            println!("Nothing removed.");
            return 0;
        }
    }
    let text = match std::fs::read_to_string(&cfg.path) {
        Ok(t) => t,
        Err(e) => {
            error(&format!("cannot read {}: {e}", cfg.path.display()));
            return 1;
        }
    };
    let mut doc = match parse_doc(&text) {
        Ok(d) => d,
        Err(c) => return c,
    };
    if let Err(e) = doc.remove_skills(&ids) {
        error(&e.to_string());
        return 2;
    }
    let mut lock = load_lock(&cfg);
    let rt = runtime();
    let adapters = Adapters::default();
    let mut kept = Vec::new();
    let mut failures = Vec::new();
    for id in &ids {
        let Some(l) = lock.get(id).cloned() else {
            continue;
        };
        let mut left = Vec::new();
        for t in &l.targets {
            match rt.block_on(engine::remove_recorded(
                &adapters,
                &cfg.storage_root,
                &l,
                t,
                force,
            )) {
                Ok(None) => {}
                Ok(Some(reason)) => {
                    warning(&format!("kept {}: {reason}", t.path));
                    kept.push(json!({"skill_id": id, "path": t.path, "reason": reason}));
                }
                Err(f) => {
                    failures.push(f);
                    left.push(t.clone());
                }
            }
        }
        lock.skills.retain(|e| &e.id != id);
        if !left.is_empty() {
            let mut e = l.clone();
            e.targets = left;
            lock.skills.push(e);
        }
    }
    if let Err(c) = write_config(&cfg.path, &doc.render()) {
        return c;
    }
    if let Err(c) = save_lock(&cfg, &lock) {
        return c;
    }
    let mut clean_json = None;
    if auto_clean {
        if let Ok(cfg2) = Config::load(&cfg.path, &env.home) {
            clean_json = Some(do_clean(&cfg2, &lock, false));
        }
    }
    let exit = if failures.is_empty() { 0 } else { 1 };
    if json {
        let mut v = json!({"action": "remove", "config_path": cfg.path.display().to_string(), "removed": ids, "kept": kept});
        if let Some(c) = clean_json {
            v["clean"] = c;
        }
        print_json(&v);
    } else {
        for id in &ids {
            println!("{}  {} {id}", env.st.head("Removed"), env.st.ok());
        }
    }
    for f in &failures {
        eprintln!("  {} {}", env.st.bad(), f.line());
    }
    exit
}

fn discovery_dirs(min_age_secs: u64) -> Vec<PathBuf> {
    let tmp = std::env::temp_dir();
    let now = std::time::SystemTime::now();
    let mut v: Vec<PathBuf> = std::fs::read_dir(&tmp)
        .map(|rd| {
            rd.flatten()
                .filter(|e| {
                    e.file_name()
                        .to_string_lossy()
                        .starts_with("eden-skills-discovery-")
                })
                .filter(|e| {
                    e.metadata()
                        .and_then(|m| m.modified())
                        .ok()
                        .and_then(|m| now.duration_since(m).ok())
                        .is_some_and(|age| age.as_secs() >= min_age_secs)
                })
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn do_clean(cfg: &Config, lock: &Lock, dry_run: bool) -> serde_json::Value {
    let (caches, entries) = eden_skills::doctor::unused_storage(cfg, lock);
    let scratch: Vec<PathBuf> = std::fs::read_dir(cfg.storage_root.join(".tmp"))
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    let disc = discovery_dirs(3600);
    let mut freed = 0u64;
    for p in caches.iter().chain(&entries).chain(&scratch).chain(&disc) {
        freed += fsutil::tree_size(p);
        if !dry_run {
            if let Err(e) = fsutil::remove_any(p) {
                warning(&format!("cannot remove {}: {e}", p.display()));
            }
        }
    }
    let names = |v: &[PathBuf]| {
        v.iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
    };
    json!({
        "action": "clean",
        "dry_run": dry_run,
        "removed_cache_entries": names(&caches),
        "removed_store_entries": names(&entries),
        "removed_discovery_dirs": names(&disc),
        "removed_scratch_entries": names(&scratch),
        "freed_bytes": freed,
    })
}

fn clean_cmd(env: &Env, json: bool, dry_run: bool) -> Exit {
    let cfg = match load(env, false) {
        Ok(c) => c,
        Err(c) => return c,
    };
    let lock = load_lock(&cfg);
    let v = do_clean(&cfg, &lock, dry_run);
    if json {
        print_json(&v);
    } else {
        let verb = if dry_run { "Would remove" } else { "Removed" };
        for key in [
            "removed_cache_entries",
            "removed_store_entries",
            "removed_scratch_entries",
            "removed_discovery_dirs",
        ] {
            for p in v[key].as_array().into_iter().flatten() {
                println!("  {verb} {}", p.as_str().unwrap_or(""));
            }
        }
        println!(
            "{}  {} bytes {}",
            env.st.head("Clean"),
            v["freed_bytes"],
            if dry_run { "would be freed" } else { "freed" }
        );
    }
    0
}

fn parse_bool(s: &str) -> Result<bool, String> {
    match s {
        "true" | "yes" | "1" => Ok(true),
        "false" | "no" | "0" => Ok(false),
        _ => Err(format!("expected true or false, got `{s}`")),
    }
}

fn parse_mode(s: &str) -> Result<InstallMode, String> {
    InstallMode::parse(s).ok_or_else(|| format!("expected symlink or copy, got `{s}`"))
}

fn parse_target(s: &str) -> Result<Target, String> {
    edit::parse_target_spec(s)
}

#[derive(Args, Debug)]
pub struct AddArgs {
    /// The new skill's id.
    #[arg(long)]
    id: String,
    /// Git URL or absolute path of a local folder.
    #[arg(long)]
    repo: String,
    /// Where to install: an agent (claude-code, cursor, ...), custom:<path>,
    /// local or docker:<container>. Repeatable.
    #[arg(short = 't', long = "target", value_parser = parse_target, required = true)]
    targets: Vec<Target>,
    #[arg(long = "ref", default_value = "main")]
    git_ref: String,
    #[arg(long, default_value = ".")]
    subpath: String,
    #[arg(long, value_parser = parse_mode, default_value = "symlink")]
    mode: InstallMode,
    #[arg(long, value_parser = parse_bool, value_name = "BOOL")]
    verify_enabled: Option<bool>,
    #[arg(long = "verify-check", value_name = "CHECK")]
    verify_checks: Vec<String>,
    #[arg(long, value_parser = parse_bool, value_name = "BOOL")]
    no_exec_metadata_only: Option<bool>,
    #[arg(long)]
    json: bool,
    #[arg(long)]
    strict: bool,
}

/// The text of the config, or the init template when it does not exist yet.
fn config_text(env: &Env) -> Result<(String, bool), Exit> {
    match std::fs::read_to_string(&env.config) {
        Ok(t) => Ok((t, false)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Ok((edit::INIT_TEMPLATE.to_string(), true))
        }
        Err(e) => {
            error(&format!("cannot read {}: {e}", env.config.display()));
            Err(1)
        }
    }
}

/// The result of `add` / `set`: `{"action","config_path","skill_id"}` or a line.
fn edited(env: &Env, json: bool, action: &str, verb: &str, path: &Path, id: &str) -> Exit {
    if json {
        print_json(
            &json!({"action": action, "config_path": path.display().to_string(), "skill_id": id}),
        );
    } else {
        println!("{}  {} {id}", env.st.head(verb), env.st.ok());
    }
    0
}

fn parse_doc(text: &str) -> Result<Doc, Exit> {
    Doc::parse(text).map_err(|e| {
        error(&e.to_string());
        2
    })
}

/// Validates an edited config and writes it atomically: nothing is written
/// when the edit would make it invalid (exit 2).
fn save_doc(env: &Env, path: &Path, doc: &Doc, strict: bool) -> Result<Config, Exit> {
    let text = doc.render();
    let cfg = validated(env, &text, strict)?;
    write_config(path, &text)?;
    Ok(cfg)
}

/// Validates edited text; exit 2 with the validation errors otherwise.
fn validated(env: &Env, text: &str, strict: bool) -> Result<Config, Exit> {
    match Config::parse(text, &env.config, &env.home) {
        Ok(c) => {
            if strict && !c.warnings.is_empty() {
                for w in &c.warnings {
                    error(&format!("invalid config: {w} (--strict)"));
                }
                return Err(2);
            }
            Ok(c)
        }
        Err(LoadError::Invalid(i)) => {
            print_invalid(&i);
            Err(2)
        }
        Err(e) => {
            error(&e.to_string());
            Err(1)
        }
    }
}

fn add_cmd(env: &Env, a: AddArgs) -> Exit {
    let (text, _) = match config_text(env) {
        Ok(t) => t,
        Err(c) => return c,
    };
    let cfg = match validated(env, &text, a.strict) {
        Ok(c) => c,
        Err(c) => return c,
    };
    if cfg.skill(&a.id).is_some() {
        error(&format!("skill id already exists: `{}`", a.id));
        return 2;
    }
    let skill = Skill {
        id: a.id.clone(),
        source: Source::Repo {
            repo: a.repo,
            git_ref: a.git_ref,
            subpath: a.subpath,
        },
        mode: a.mode,
        targets: a.targets,
        shorthand: None,
        verify_enabled: a.verify_enabled.unwrap_or(true),
        verify_checks: if a.verify_checks.is_empty() {
            a.mode.default_checks()
        } else {
            a.verify_checks
        },
        metadata_only: a.no_exec_metadata_only.unwrap_or(false),
    };
    let mut doc = match parse_doc(&text) {
        Ok(d) => d,
        Err(c) => return c,
    };
    if let Err(e) = doc.push_skill(&skill) {
        error(&e.to_string());
        return 2;
    }
    if let Err(c) = save_doc(env, &env.config, &doc, a.strict) {
        return c;
    }
    edited(env, a.json, "add", "Added", &env.config, &a.id)
}

#[derive(Args, Debug)]
pub struct SetArgs {
    /// The skill to change.
    id: String,
    #[arg(long)]
    repo: Option<String>,
    #[arg(long = "ref")]
    git_ref: Option<String>,
    #[arg(long)]
    subpath: Option<String>,
    #[arg(long, value_parser = parse_mode)]
    mode: Option<InstallMode>,
    /// Registry entries: the version requirement.
    #[arg(long)]
    version: Option<String>,
    /// Registry entries: the registry to resolve from.
    #[arg(long)]
    registry: Option<String>,
    #[arg(long, value_parser = parse_bool, value_name = "BOOL")]
    verify_enabled: Option<bool>,
    #[arg(long = "verify-check", value_name = "CHECK")]
    verify_checks: Vec<String>,
    /// Replaces all targets. Repeatable.
    #[arg(short = 't', long = "target", value_parser = parse_target)]
    targets: Vec<Target>,
    #[arg(long, value_parser = parse_bool, value_name = "BOOL")]
    no_exec_metadata_only: Option<bool>,
    #[arg(long)]
    json: bool,
}

fn set_cmd(env: &Env, a: SetArgs) -> Exit {
    let m = Mutation {
        repo: a.repo,
        git_ref: a.git_ref,
        subpath: a.subpath,
        mode: a.mode,
        version: a.version,
        registry: a.registry,
        verify_enabled: a.verify_enabled,
        verify_checks: a.verify_checks,
        targets: a.targets,
        no_exec_metadata_only: a.no_exec_metadata_only,
    };
    if m.is_empty() {
        error("set requires at least one mutation flag");
        return 2;
    }
    let cfg = match load(env, false) {
        Ok(c) => c,
        Err(c) => return c,
    };
    if cfg.skill(&a.id).is_none() {
        error(&format!("skill '{}' not found in config", a.id));
        let ids: Vec<&str> = cfg.skills.iter().map(|s| s.id.as_str()).collect();
        hint(&format!("Available skills: {}", ids.join(", ")));
        return 2;
    }
    let text = std::fs::read_to_string(&cfg.path).unwrap_or_default();
    let mut doc = match parse_doc(&text) {
        Ok(d) => d,
        Err(c) => return c,
    };
    if let Err(e) = doc.set_fields(&a.id, &m) {
        error(&e.to_string());
        return 2;
    }
    if let Err(c) = save_doc(env, &cfg.path, &doc, false) {
        return c;
    }
    edited(env, a.json, "set", "Updated", &cfg.path, &a.id)
}

fn list_cmd(env: &Env, json: bool) -> Exit {
    let cfg = match load(env, false) {
        Ok(c) => c,
        Err(c) => return c,
    };
    if json {
        let skills: Vec<_> = cfg
            .skills
            .iter()
            .map(|s| {
                let (repo, git_ref, subpath) = match &s.source {
                    Source::Repo { repo, git_ref, subpath } => (json!(repo), json!(git_ref), json!(subpath)),
                    Source::Registry { .. } => (serde_json::Value::Null, serde_json::Value::Null, serde_json::Value::Null),
                };
                let targets: Vec<_> = s
                    .targets
                    .iter()
                    .map(|t| json!({"agent": t.agent, "path": cfg.target_root(t), "environment": t.environment.to_string()}))
                    .collect();
                let mut v = json!({
                    "id": s.id,
                    "source": {"repo": repo, "ref": git_ref, "subpath": subpath},
                    "install": {"mode": s.mode.as_str()},
                    "verify": {"enabled": s.verify_enabled, "checks": s.verify_checks},
                    "targets": targets,
                });
                if let Source::Registry { version, registry } = &s.source {
                    v["registry"] = json!({"name": registry, "version": version});
                }
                v
            })
            .collect();
        print_json(&json!({"count": skills.len(), "skills": skills}));
        return 0;
    }
    if cfg.skills.is_empty() {
        println!("No skills configured.");
        hint("add one with `eden-skills install <source>`");
        return 0;
    }
    let rows: Vec<[String; 4]> = cfg
        .skills
        .iter()
        .map(|s| {
            let source = match &s.source {
                Source::Repo {
                    repo,
                    git_ref,
                    subpath,
                } if s.is_local_dir() => {
                    if subpath == "." {
                        repo.clone()
                    } else {
                        format!("{repo} ({subpath})")
                    }
                }
                Source::Repo {
                    repo,
                    git_ref,
                    subpath,
                } => {
                    if subpath == "." {
                        format!("{repo}@{git_ref}")
                    } else {
                        format!("{repo}@{git_ref} ({subpath})")
                    }
                }
                Source::Registry { version, registry } => {
                    format!(
                        "{}@{version}",
                        registry
                            .as_deref()
                            .map(|r| format!("{r}:{}", s.id))
                            .unwrap_or_else(|| s.id.clone())
                    )
                }
            };
            let agents: Vec<String> = s
                .targets
                .iter()
                .map(|t| {
                    if t.environment.is_local() {
                        t.agent.clone()
                    } else {
                        format!("{}@{}", t.agent, t.environment)
                    }
                })
                .collect();
            [
                s.id.clone(),
                s.mode.as_str().to_string(),
                source,
                agents.join(", "),
            ]
        })
        .collect();
    let header = ["Skill", "Mode", "Source", "Agents"];
    let mut w = [0usize; 4];
    for r in rows
        .iter()
        .map(|r| r.each_ref().map(|s| s.as_str()))
        .chain([header])
    {
        for (i, c) in r.iter().enumerate() {
            w[i] = w[i].max(c.chars().count());
        }
    }
    println!(
        "{:<w0$}  {:<w1$}  {:<w2$}  {}",
        header[0],
        header[1],
        header[2],
        header[3],
        w0 = w[0],
        w1 = w[1],
        w2 = w[2]
    );
    for r in &rows {
        println!(
            "{:<w0$}  {:<w1$}  {:<w2$}  {}",
            r[0],
            r[1],
            r[2],
            r[3],
            w0 = w[0],
            w1 = w[1],
            w2 = w[2]
        );
    }
    0
}

fn export_cmd(env: &Env, json: bool) -> Exit {
    let cfg = match load(env, false) {
        Ok(c) => c,
        Err(c) => return c,
    };
    let text = edit::normalized(&cfg);
    if json {
        print_json(&json!({"format": "toml", "toml": text}));
    } else {
        print!("{text}");
    }
    0
}

fn import_cmd(env: &Env, from: &Path, dry_run: bool, strict: bool) -> Exit {
    let text = match std::fs::read_to_string(from) {
        Ok(t) => t,
        Err(e) => {
            error(&format!("cannot read {}: {e}", from.display()));
            return 1;
        }
    };
    let cfg = match validated(env, &text, strict) {
        Ok(c) => c,
        Err(c) => return c,
    };
    for w in &cfg.warnings {
        warning(w);
    }
    let normalized = edit::normalized(&cfg);
    if dry_run {
        print!("{normalized}");
        return 0;
    }
    if let Err(c) = write_config(&env.config, &normalized) {
        return c;
    }
    println!(
        "{}  {} config at {}",
        env.st.head("Imported"),
        env.st.ok(),
        env.config.display()
    );
    0
}

#[derive(Args, Debug)]
pub struct InstallArgs {
    /// A local folder (./x, /x, ~/x), a git URL, a GitHub tree URL, or owner/repo.
    source: String,
    #[arg(long)]
    json: bool,
    #[arg(long)]
    strict: bool,
    /// Where to install: an agent (claude-code, cursor, ...), custom:<path>,
    /// local or docker:<container>. Repeatable. Default: detected agents.
    #[arg(short = 't', long = "target", value_parser = parse_target)]
    targets: Vec<Target>,
    /// Install only these skills of a multi-skill source. Repeatable.
    #[arg(short = 's', long = "skill", value_name = "NAME")]
    skills: Vec<String>,
    /// Install every skill found, without asking.
    #[arg(long)]
    all: bool,
    /// Do not ask for confirmation.
    #[arg(short = 'y', long)]
    yes: bool,
    /// List the skills the source holds and stop.
    #[arg(long)]
    list: bool,
    /// The id to record (only when one skill is selected).
    #[arg(long)]
    id: Option<String>,
    /// Branch, tag or commit [default: the remote's default branch].
    #[arg(long = "ref")]
    git_ref: Option<String>,
    /// Registry installs: the version requirement.
    #[arg(long)]
    version: Option<String>,
    /// Registry installs: the registry to use.
    #[arg(long)]
    registry: Option<String>,
    /// Copy instead of symlinking.
    #[arg(long)]
    copy: bool,
    /// Show what would be installed; write nothing outside $TMPDIR.
    #[arg(long)]
    dry_run: bool,
    /// Take over skills another manager claims.
    #[arg(long)]
    force: bool,
}

fn install_cmd(env: &Env, a: InstallArgs) -> Exit {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    let source = match install::classify_source(&a.source, &env.home, &cwd) {
        Ok(s) => s,
        Err(i) => {
            error(&i.to_string());
            return 2;
        }
    };
    let is_registry = matches!(source, InstallSource::Registry(_));
    if is_registry && (a.id.is_some() || a.git_ref.is_some()) {
        error("--id and --ref apply to URL and path sources, not registry names");
        return 2;
    }
    if !is_registry && (a.version.is_some() || a.registry.is_some()) {
        error("--version and --registry apply to registry names, not URLs or paths");
        return 2;
    }
    if let Some(id) = &a.id {
        if !eden_skills::valid_id(id) {
            error(&format!(
                "INVALID_SKILL_ID: --id: `{id}` must match ^[A-Za-z0-9][A-Za-z0-9._-]{{0,127}}$"
            ));
            return 2;
        }
    }
    let (text, created) = match config_text(env) {
        Ok(t) => t,
        Err(c) => return c,
    };
    let cfg = match validated(env, &text, a.strict) {
        Ok(c) => c,
        Err(c) => return c,
    };
    for w in &cfg.warnings {
        warning(w);
    }
    let conc = match concurrency(&cfg, None) {
        Ok(c) => c,
        Err(c) => return c,
    };
    if let InstallSource::Registry(name) = &source {
        return install_registry(env, &a, name, &text, &cfg, conc);
    }
    let rt = runtime();
    let git = Git::from_env();
    // Discovery: a dry run fetches into a scratch storage under $TMPDIR.
    let scratch = a.dry_run.then(|| {
        std::env::temp_dir().join(format!("eden-skills-discovery-{}", fsutil::unique_suffix()))
    });
    let storage = scratch.clone().unwrap_or_else(|| cfg.storage_root.clone());
    let cleanup = |code: Exit| {
        if let Some(s) = &scratch {
            let _ = fsutil::remove_any(s);
        }
        code
    };
    let mut cloned = false;
    let (repo, git_ref, found, commit) = match &source {
        InstallSource::Local(dir) => {
            if !dir.is_dir() {
                error(&format!("{} is not a directory", dir.display()));
                return cleanup(1);
            }
            (
                dir.display().to_string(),
                "main".to_string(),
                install::discover_local(dir),
                None::<String>,
            )
        }
        InstallSource::Git {
            url,
            git_ref,
            subpath,
        } => {
            let want = a.git_ref.clone().or(git_ref.clone());
            let f = match rt.block_on(install::fetch_repo(&git, &storage, url, want.as_deref())) {
                Ok(f) => f,
                Err(f) => {
                    if a.json {
                        print_json(
                            &json!({"status": "failed", "skills": [], "failures": [{"skill_id": "", "phase": f.phase, "kind": f.kind, "message": f.message}]}),
                        );
                    }
                    error(&format!("cannot fetch {url}: {}", f.message));
                    return cleanup(1);
                }
            };
            cloned = f.cloned;
            let found = match rt.block_on(install::discover_git(
                &git,
                &f,
                subpath.as_deref(),
                &install::repo_name(url),
            )) {
                Ok(x) => x,
                Err(f) => {
                    error(&f.message);
                    return cleanup(1);
                }
            };
            (url.clone(), f.git_ref.clone(), found, Some(f.commit))
        }
        InstallSource::Registry(_) => unreachable!("handled above"),
    };
    let (found, bare) = split_bare(found, &source);
    if a.list {
        let v: Vec<_> = found
            .iter()
            .map(|d| json!({"name": d.name, "description": d.description, "subpath": d.subpath}))
            .collect();
        if a.json {
            print_json(&json!(v));
        } else if found.is_empty() || bare {
            println!("No SKILL.md found in {}", a.source);
        } else {
            for d in &found {
                println!("{:<24} {:<28} {}", d.name, d.subpath, d.description);
            }
        }
        return cleanup(0);
    }
    // Selection.
    let selected: Vec<Discovered> = if bare {
        if !a.skills.is_empty() {
            error("No SKILL.md found; --skill cannot select anything");
            return cleanup(2);
        }
        warning("No SKILL.md found; installing directory as-is.");
        found.clone()
    } else if !a.skills.is_empty() {
        let names: Vec<&str> = found.iter().map(|d| d.name.as_str()).collect();
        let unknown: Vec<&String> = a
            .skills
            .iter()
            .filter(|s| !names.contains(&s.as_str()))
            .collect();
        if !unknown.is_empty() {
            error(&format!(
                "unknown skill(s): {}",
                unknown
                    .iter()
                    .map(|u| format!("'{u}'"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            hint(&format!("Available skills: {}", names.join(", ")));
            return cleanup(2);
        }
        found
            .iter()
            .filter(|d| a.skills.contains(&d.name))
            .cloned()
            .collect()
    } else if a.all || found.len() <= 1 || !interactive() || a.yes {
        found.clone()
    } else {
        for (i, d) in found.iter().enumerate() {
            eprintln!("  {:>2}. {:<24} {}", i + 1, d.name, d.description);
        }
        let ans = ask("Install which skills? (numbers, e.g. 1,3; empty = all) ");
        if ans.is_empty() || ans == "all" {
            found.clone()
        } else {
            ans.split([',', ' '])
                .filter_map(|x| x.trim().parse::<usize>().ok())
                .filter_map(|i| found.get(i.wrapping_sub(1)).cloned())
                .collect()
        }
    };
    if selected.is_empty() {
        error("nothing selected");
        return cleanup(1);
    }
    if a.id.is_some() && selected.len() != 1 {
        error("--id needs exactly one selected skill (use --skill to pick one)");
        return cleanup(2);
    }
    // Targets: given, else detected agents, else claude-code.
    let targets: Vec<Target> = if !a.targets.is_empty() {
        a.targets.clone()
    } else {
        let detected = agents::detect(&env.home);
        if detected.is_empty() {
            warning("No installed agents detected; defaulting to claude-code (~/.claude/skills/)");
            vec![edit::parse_target_spec("claude-code").expect("known agent")]
        } else {
            detected
                .iter()
                .map(|d| edit::parse_target_spec(d).expect("known agent"))
                .collect()
        }
    };
    let mode = if a.copy {
        InstallMode::Copy
    } else {
        InstallMode::Symlink
    };
    let mut skills: Vec<Skill> = Vec::new();
    for d in &selected {
        let id = match &a.id {
            Some(i) => i.clone(),
            None => sanitize_id(&d.name),
        };
        let mut all_targets = cfg
            .skill(&id)
            .map(|s| s.targets.clone())
            .unwrap_or_default();
        let keep_shorthand = cfg.skill(&id).and_then(|s| s.shorthand.clone());
        let mut added = false;
        for t in &targets {
            if !all_targets
                .iter()
                .any(|x| x.agent == t.agent && x.environment == t.environment && x.path == t.path)
            {
                all_targets.push(t.clone());
                added = true;
            }
        }
        let existing = cfg.skill(&id);
        skills.push(Skill {
            id,
            source: Source::Repo {
                repo: repo.clone(),
                git_ref: git_ref.clone(),
                subpath: d.subpath.clone(),
            },
            mode: if a.copy {
                mode
            } else {
                existing.map(|e| e.mode).unwrap_or(mode)
            },
            shorthand: if added { None } else { keep_shorthand },
            targets: all_targets,
            verify_enabled: existing.map(|e| e.verify_enabled).unwrap_or(true),
            verify_checks: match existing {
                Some(e) if !a.copy => e.verify_checks.clone(),
                _ => mode.default_checks(),
            },
            metadata_only: existing.map(|e| e.metadata_only).unwrap_or(false),
        });
    }
    let mut seen = HashSet::new();
    for s in &skills {
        if !seen.insert(s.id.clone()) {
            error(&format!(
                "DUPLICATE_SKILL_ID: two selected skills would both be `{}`; pick one with --skill",
                s.id
            ));
            return cleanup(2);
        }
    }
    if a.dry_run {
        let items: Vec<_> = skills
            .iter()
            .map(|s| {
                let (_, _, subpath) = eden_skills::lock::source_fields(s);
                let tmp_cfg = cfg.clone();
                let targets: Vec<_> = plan::resolve_targets(&tmp_cfg, s)
                    .into_iter()
                    .map(|t| json!({"agent": t.agent, "environment": t.environment.to_string(), "path": t.path}))
                    .collect();
                json!({
                    "dry_run": true,
                    "skill": s.id,
                    "version": null,
                    "resolved": {"repo": repo, "ref": if commit.is_some() { json!(git_ref) } else { json!(null) }, "subpath": subpath, "commit": commit},
                    "targets": targets,
                })
            })
            .collect();
        if a.json {
            if items.len() == 1 {
                print_json(&items[0]);
            } else {
                print_json(&json!({"dry_run": true, "skills": items}));
            }
        } else {
            for (s, i) in skills.iter().zip(&items) {
                println!(
                    "Would install {} from {} ({})",
                    s.id,
                    repo,
                    i["resolved"]["subpath"].as_str().unwrap_or(".")
                );
                for t in i["targets"].as_array().into_iter().flatten() {
                    println!(
                        "  → {} {}",
                        t["agent"].as_str().unwrap_or(""),
                        t["path"].as_str().unwrap_or("")
                    );
                }
            }
        }
        return cleanup(0);
    }
    // Write the config (created from the template if missing), then install.
    let mut doc = match parse_doc(&text) {
        Ok(d) => d,
        Err(c) => return c,
    };
    for s in &skills {
        let replace = cfg.skill(&s.id).is_none() || s.shorthand.is_none();
        if let Err(e) = doc.upsert_skill(s, replace) {
            error(&e.to_string());
            return 2;
        }
    }
    let new_cfg = match save_doc(env, &env.config, &doc, false) {
        Ok(c) => c,
        Err(c) => return c,
    };
    if created {
        eprintln!("Created config at {}", env.config.display());
    }
    let mut lock = load_lock(&new_cfg);
    let ids: Vec<String> = skills.iter().map(|s| s.id.clone()).collect();
    let mut opts = RunOptions::new(Command::Install, conc);
    opts.only = Some(ids.clone());
    opts.force = a.force;
    if commit.is_some() {
        opts.prefetched.insert(repo.clone(), cloned);
    }
    opts.cancel = cancel_flag(&rt);
    let new_cfg = Arc::new(new_cfg);
    let report = rt.block_on(engine::run(new_cfg.clone(), &mut lock, opts));
    let io = save_lock(&new_cfg, &lock);
    let (mut exit, strict_msg) = out::run_exit(&report, a.strict, "install");
    let ok: Vec<&str> = report
        .skills
        .iter()
        .filter(|s| s.status != "failed" && s.status != "skipped")
        .map(|s| s.id.as_str())
        .collect();
    if ok.is_empty() || io.is_err() {
        exit = exit.max(1);
    }
    if a.json {
        for w in &report.warnings {
            warning(w);
        }
        let status = if ok.len() == ids.len() && report.failures.is_empty() {
            "installed"
        } else if ok.is_empty() {
            "failed"
        } else {
            "partial"
        };
        print_json(
            &json!({"status": status, "skills": ok, "failures": report.failures, "exit_code": exit}),
        );
    } else {
        out::report_human(env.st, &report, exit, strict_msg.as_deref());
    }
    exit
}

/// No SKILL.md anywhere: the whole directory (or tree URL path) is one
/// skill, named after its last path segment.
fn split_bare(found: Vec<Discovered>, source: &InstallSource) -> (Vec<Discovered>, bool) {
    if !found.is_empty() {
        return (found, false);
    }
    let (name, subpath) = match source {
        InstallSource::Local(dir) => (
            dir.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "skill".into()),
            ".".to_string(),
        ),
        InstallSource::Git { url, subpath, .. } => (
            subpath
                .as_deref()
                .and_then(|s| s.rsplit('/').next())
                .map(String::from)
                .unwrap_or_else(|| install::repo_name(url)),
            subpath.clone().unwrap_or_else(|| ".".into()),
        ),
        InstallSource::Registry(n) => (n.clone(), ".".into()),
    };
    (
        vec![Discovered {
            name,
            description: String::new(),
            subpath,
        }],
        true,
    )
}

fn short(sha: &Option<String>) -> String {
    sha.as_deref()
        .map(|s| s.trim_start_matches("sha256:").chars().take(12).collect())
        .unwrap_or_else(|| "-".into())
}

fn update_cmd(env: &Env, json: bool, strict: bool, conc_flag: Option<&str>, apply: bool) -> Exit {
    let started = std::time::Instant::now();
    let cfg = match load(env, strict) {
        Ok(c) => c,
        Err(c) => return c,
    };
    let conc = match concurrency(&cfg, conc_flag) {
        Ok(c) => c,
        Err(c) => return c,
    };
    if cfg.registries.is_empty() && cfg.skills.is_empty() {
        if json {
            print_json(
                &json!({"registries": [], "skills": [], "failed": 0, "elapsed_ms": started.elapsed().as_millis() as u64}),
            );
        } else {
            println!("Nothing to update: no registries and no skills are configured.");
            hint("add a skill with `eden-skills install <source>`, or a [registries] table to skills.toml");
        }
        return 0;
    }
    let mut lock = load_lock(&cfg);
    let rt = runtime();
    let git = Git::from_env();
    let bound = Arc::new(tokio::sync::Semaphore::new(conc));
    let regs = rt.block_on(eden_skills::update::sync_registries(
        &cfg,
        &git,
        bound.clone(),
    ));
    let (mut checks, fetched) =
        rt.block_on(eden_skills::update::check_skills(&cfg, &lock, &git, bound));
    let failed_regs = regs.iter().filter(|r| r.status == "failed").count();
    let failed_skills = checks.iter().filter(|c| c.status == "failed").count();
    let mut exit: Exit = if strict && failed_regs + failed_skills > 0 {
        1
    } else {
        0
    };
    let mut report = None;
    if apply {
        let ids: Vec<String> = checks
            .iter()
            .filter(|c| c.status == "new-commit" || c.status == "missing")
            .map(|c| c.id.clone())
            .collect();
        if !ids.is_empty() {
            let mut opts = RunOptions::new(Command::Install, conc);
            opts.refresh = checks
                .iter()
                .filter(|c| c.status == "new-commit")
                .map(|c| c.id.clone())
                .collect();
            opts.only = Some(ids.clone());
            opts.prefetched = fetched;
            opts.cancel = cancel_flag(&rt);
            let cfg = Arc::new(cfg.clone());
            let r = rt.block_on(engine::run(cfg.clone(), &mut lock, opts));
            if save_lock(&cfg, &lock).is_err() {
                exit = exit.max(1);
            }
            for c in checks.iter_mut() {
                if ids.contains(&c.id) {
                    c.applied = Some(r.skills.iter().any(|s| {
                        s.id == c.id && (s.status == "installed" || s.status == "unchanged")
                    }));
                }
            }
            let (e, _) = out::run_exit(&r, strict, "update");
            exit = exit.max(e);
            report = Some(r);
        }
    }
    if json {
        print_json(&json!({
            "registries": regs,
            "skills": checks,
            "failed": failed_regs,
            "elapsed_ms": started.elapsed().as_millis() as u64,
        }));
    } else {
        for r in &regs {
            let detail = r
                .detail
                .as_deref()
                .map(|d| format!(": {d}"))
                .unwrap_or_default();
            let mark = if r.status == "failed" {
                env.st.bad()
            } else {
                env.st.ok()
            };
            println!(
                "{}  {mark} {} {}{detail}",
                env.st.head("Registry"),
                r.name,
                r.status
            );
        }
        for c in &checks {
            let detail = c
                .detail
                .as_deref()
                .map(|d| format!(" ({d})"))
                .unwrap_or_default();
            let applied = match c.applied {
                Some(true) => " [applied]",
                Some(false) => " [not applied]",
                None => "",
            };
            println!(
                "  {:<24} {:<11} {} -> {}{detail}{applied}",
                c.id,
                c.status,
                short(&c.local_sha),
                short(&c.remote_sha)
            );
        }
        let moved = checks
            .iter()
            .filter(|c| c.status == "new-commit" || c.status == "missing")
            .count();
        println!(
            "{}  {} to update, {} registry failure(s), {} skill failure(s)",
            env.st.head("Summary"),
            moved,
            failed_regs,
            failed_skills
        );
        if moved > 0 && !apply {
            hint("run `eden-skills update --apply` to install them");
        }
        if let Some(r) = &report {
            for f in &r.failures {
                eprintln!("  {} {}", env.st.bad(), f.line());
            }
        }
    }
    exit
}

fn outdated_cmd(env: &Env, json: bool, conc_flag: Option<&str>) -> Exit {
    let cfg = match load(env, false) {
        Ok(c) => c,
        Err(c) => return c,
    };
    let conc = match concurrency(&cfg, conc_flag) {
        Ok(c) => c,
        Err(c) => return c,
    };
    let lock = load_lock(&cfg);
    let rt = runtime();
    let items = rt.block_on(eden_skills::update::outdated(
        &cfg,
        &lock,
        &Git::from_env(),
        Arc::new(tokio::sync::Semaphore::new(conc)),
    ));
    let n_out = items.iter().filter(|i| i.status == "outdated").count();
    let n_failed = items.iter().filter(|i| i.status == "failed").count();
    if json {
        print_json(&json!({"skills": items, "outdated": n_out, "failed": n_failed}));
        return 0;
    }
    if items.is_empty() {
        println!("No skills configured.");
        return 0;
    }
    let show = |p: &eden_skills::update::Point| match (&p.version, &p.commit) {
        (Some(v), _) => v.clone(),
        (None, Some(c)) => c.chars().take(12).collect(),
        _ => "-".into(),
    };
    println!(
        "{:<24} {:<9} {:<14} {:<14} Status",
        "Skill", "Kind", "Current", "Latest"
    );
    for i in &items {
        let detail = i
            .detail
            .as_deref()
            .map(|d| format!(" ({d})"))
            .unwrap_or_default();
        println!(
            "{:<24} {:<9} {:<14} {:<14} {}{detail}",
            i.id,
            i.kind,
            show(&i.current),
            show(&i.latest),
            i.status
        );
    }
    println!(
        "{}  {} outdated, {} failed",
        env.st.head("Summary"),
        n_out,
        n_failed
    );
    0
}

fn mount_hint_cmd(env: &Env, container: &str) -> Exit {
    let cfg = match load(env, false) {
        Ok(c) => c,
        Err(c) => return c,
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let adapters = Adapters::default();
    let ad = adapters.docker(container);
    let mut roots: Vec<(String, String)> = Vec::new();
    for s in &cfg.skills {
        for t in &s.targets {
            if t.environment != config::Environment::Docker(container.to_string()) {
                continue;
            }
            let raw = cfg.target_root(t);
            let inside = {
                use eden_skills::adapter::TargetAdapter;
                rt.block_on(ad.expand_root(&raw)).unwrap_or(raw.clone())
            };
            let host_raw = agents::default_root(&t.agent).unwrap_or("~/.eden-skills/mounts");
            let host = fsutil::resolve_path(host_raw, &env.home, &cfg.dir)
                .display()
                .to_string();
            if !roots.contains(&(host.clone(), inside.clone())) {
                roots.push((host, inside));
            }
        }
    }
    if roots.is_empty() {
        println!("No docker:{container} targets in {}.", cfg.path.display());
        hint(&format!(
            "add one with `eden-skills set <id> -t docker:{container}`"
        ));
        return 0;
    }
    println!("# Bind-mount the agent roots so the container sees the host's skills live");
    println!("# (then target them as local paths instead of docker:{container}):");
    let flags: Vec<String> = roots.iter().map(|(h, c)| format!("-v {h}:{c}")).collect();
    println!("docker run {} ...", flags.join(" "));
    0
}

/// `install <name>` from the configured registries (contract §8.2,
/// registry mode): resolve offline, persist a Mode B entry, install.
fn install_registry(
    env: &Env,
    a: &InstallArgs,
    name: &str,
    text: &str,
    cfg: &Config,
    conc: usize,
) -> Exit {
    let req = a.version.clone().unwrap_or_else(|| "*".into());
    if eden_skills::registry::parse_req(&req).is_none() {
        error(&format!("INVALID_SEMVER: --version: `{req}` is not a version requirement (e.g. 1.2.0, =1.2.0, ~1.2, >=1.0, <2, *)"));
        return 2;
    }
    if let Some(r) = &a.registry {
        if !cfg.registries.iter().any(|x| &x.name == r) {
            error(&format!(
                "UNKNOWN_REGISTRY: --registry: `{r}` is not a key of [registries]"
            ));
            return 2;
        }
    }
    let res = eden_skills::registry::resolve(cfg, name, &req, a.registry.as_deref());
    for w in &res.warnings {
        warning(w);
    }
    let resolved = match res.result {
        Ok((r, _)) => r,
        Err(msg) => {
            if a.json {
                print_json(
                    &json!({"status": "failed", "skills": [], "failures": [{"skill_id": name, "phase": "resolve", "kind": "permanent", "message": msg}], "skill": name, "version": null}),
                );
            }
            error(&msg);
            return 1;
        }
    };
    let targets = if a.targets.is_empty() {
        vec![edit::parse_target_spec("claude-code").expect("known agent")]
    } else {
        a.targets.clone()
    };
    let existing = cfg.skill(name);
    let mut all_targets = existing.map(|s| s.targets.clone()).unwrap_or_default();
    for t in &targets {
        if !all_targets
            .iter()
            .any(|x| x.agent == t.agent && x.environment == t.environment && x.path == t.path)
        {
            all_targets.push(t.clone());
        }
    }
    let mode = if a.copy {
        InstallMode::Copy
    } else {
        existing.map(|e| e.mode).unwrap_or(InstallMode::Symlink)
    };
    let skill = Skill {
        id: name.to_string(),
        source: Source::Registry {
            version: req.clone(),
            registry: a.registry.clone(),
        },
        mode,
        targets: all_targets,
        shorthand: None,
        verify_enabled: existing.map(|e| e.verify_enabled).unwrap_or(true),
        verify_checks: match existing {
            Some(e) if !a.copy => e.verify_checks.clone(),
            _ => mode.default_checks(),
        },
        metadata_only: existing.map(|e| e.metadata_only).unwrap_or(false),
    };
    if a.dry_run {
        let targets: Vec<_> = plan::resolve_targets(cfg, &skill)
            .into_iter()
            .map(|t| json!({"agent": t.agent, "environment": t.environment.to_string(), "path": t.path}))
            .collect();
        let v = json!({
            "dry_run": true,
            "skill": name,
            "version": resolved.version,
            "resolved": {"repo": resolved.repo, "ref": resolved.git_ref, "subpath": resolved.subpath, "commit": resolved.commit},
            "targets": targets,
        });
        if a.json {
            print_json(&v);
        } else {
            println!(
                "Would install {name} {} from registry `{}` ({} at {})",
                resolved.version, resolved.registry, resolved.repo, resolved.git_ref
            );
            for t in v["targets"].as_array().into_iter().flatten() {
                println!(
                    "  → {} {}",
                    t["agent"].as_str().unwrap_or(""),
                    t["path"].as_str().unwrap_or("")
                );
            }
        }
        return 0;
    }
    let mut doc = match parse_doc(text) {
        Ok(d) => d,
        Err(c) => return c,
    };
    if let Err(e) = doc.upsert_skill(&skill, true) {
        error(&e.to_string());
        return 2;
    }
    let new_cfg = match save_doc(env, &env.config, &doc, false) {
        Ok(c) => c,
        Err(c) => return c,
    };
    let mut lock = load_lock(&new_cfg);
    let rt = runtime();
    let mut opts = RunOptions::new(Command::Install, conc);
    opts.only = Some(vec![name.to_string()]);
    opts.refresh.insert(name.to_string());
    opts.cancel = cancel_flag(&rt);
    let new_cfg = Arc::new(new_cfg);
    let report = rt.block_on(engine::run(new_cfg.clone(), &mut lock, opts));
    let io = save_lock(&new_cfg, &lock);
    let (mut exit, strict_msg) = out::run_exit(&report, a.strict, "install");
    let ok = report
        .skills
        .iter()
        .any(|s| s.id == name && s.status != "failed" && s.status != "skipped");
    if !ok || io.is_err() {
        exit = exit.max(1);
    }
    if a.json {
        for w in &report.warnings {
            warning(w);
        }
        let version = report
            .skills
            .iter()
            .find(|s| s.id == name)
            .and_then(|s| s.resolved_version.clone());
        print_json(&json!({
            "status": if ok { "installed" } else { "failed" },
            "skills": if ok { vec![name] } else { vec![] },
            "failures": report.failures,
            "skill": name,
            "version": version,
            "exit_code": exit,
        }));
    } else {
        println!(
            "{}  {name} {} from registry `{}`",
            env.st.head("Resolved"),
            resolved.version,
            resolved.registry
        );
        out::report_human(env.st, &report, exit, strict_msg.as_deref());
    }
    exit
}
