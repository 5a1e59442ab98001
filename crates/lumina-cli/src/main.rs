//! `lumina`: the command line over the lumina library. Parsing, rendering
//! and exit codes live here; everything else is in the library.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};
use lumina::flow::hook;
use lumina::linker::plan::{Action, Plan};
use lumina::linker::status::LinkState;
use lumina::linker::{self, SyncOptions};
use lumina::packages::{self, Manager};
use lumina::paths::tilde;
use lumina::{profile, registry, Env, Error};

/// lumina: your workstation, declared in one file and linked into place.
///
/// The registry (lumina.yaml) lives in your profile directory, a git
/// repository holding your configuration sources. `lumina sync` links every
/// source file to its target through ~/.lumina/active: relative symlinks,
/// staged in numbered generations, with whatever was in the way backed up as
/// <target>.bak. `lumina undo` returns to the previous generation.
///
/// Exit codes: 0 success; 1 runtime failure (nothing damaged); 2 bad usage
/// or invalid registry; 3 blocked by a conflict policy.
#[derive(Parser, Debug)]
#[command(
    name = "lumina",
    version,
    propagate_version = true,
    max_term_width = 100
)]
struct Cli {
    /// The registry file [default: $LUMINA_REGISTRY, else
    /// $XDG_CONFIG_HOME/lumina/lumina.yaml, else ~/.config/lumina/lumina.yaml]
    #[arg(long, global = true, value_name = "PATH")]
    registry: Option<PathBuf>,

    /// Print results as JSON on stdout (errors too, as {"error": ...}).
    #[arg(long, global = true)]
    json: bool,

    /// Treat unknown registry keys as errors, and any conflict as a reason
    /// to stop before changing anything (exit 3).
    #[arg(long, global = true)]
    strict: bool,

    /// Show unchanged targets too.
    #[arg(short, long, global = true)]
    verbose: bool,

    /// The package manager for plain package names [default: the first of
    /// pacman, apt, dnf, brew found on PATH]
    #[arg(long, global = true, value_name = "NAME", env = "LUMINA_MANAGER", value_parser = parse_manager)]
    manager: Option<Manager>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Detect the hardware and write a commented default lumina.yaml in a new
    /// profile directory (a git repository).
    Init {
        /// Read DMI from DIR/class/dmi/id instead of /sys [env: LUMINA_SYSFS_ROOT]
        #[arg(long, value_name = "DIR")]
        sysfs_root: Option<PathBuf>,
        /// The profile's identity (metadata.identity).
        #[arg(long, value_name = "NAME")]
        identity: Option<String>,
        /// Replace an existing registry (the old one is kept as .bak).
        #[arg(long)]
        force: bool,
        /// Clone an existing profile from this git URL and sync it: a new
        /// machine reproduced with one command.
        #[arg(long, value_name = "GIT-URL", conflicts_with_all = ["identity", "force"])]
        from: Option<String>,
    },
    /// Run git in the profile directory (arguments and output passed through).
    #[command(disable_help_flag = true)]
    Git {
        #[arg(
            trailing_var_arg = true,
            allow_hyphen_values = true,
            value_name = "GIT-ARGS"
        )]
        args: Vec<std::ffi::OsString>,
    },
    /// Link every declared source file into place (plan, stage, link).
    Sync {
        /// Print the plan and change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Only these modules; the others are left exactly as they are.
        #[arg(long = "module", value_name = "NAME")]
        modules: Vec<String>,
        /// Do not install the declared packages that are missing.
        #[arg(long)]
        no_packages: bool,
    },
    /// Install packages through the system's package manager (its output
    /// streams through) and, when that succeeds, record them under
    /// `packages:` in lumina.yaml.
    Install {
        #[arg(required = true, value_name = "PACKAGE")]
        packages: Vec<String>,
    },
    /// Remove packages through their package manager and drop them from
    /// `packages:`.
    Uninstall {
        #[arg(required = true, value_name = "PACKAGE")]
        packages: Vec<String>,
    },
    /// Show the hardware target, the active generation and every drifted link.
    Status {
        /// Exit 1 when anything drifted (missing, broken, foreign, elsewhere).
        #[arg(long)]
        check: bool,
    },
    /// Return to the previous generation: remove the links the last sync
    /// added and restore the backups it made.
    Undo {
        /// Print what would change and change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Add a module from the catalog (or a custom one) and link it.
    Add {
        /// Module name: a catalog entry (hyprland, waybar, kitty, nvim, zsh,
        /// git, ...; see `lumina add --list`) or any name with --target.
        #[arg(required_unless_present = "list")]
        module: Option<String>,
        /// Source inside the profile [default: the catalog's, or ./config/<module>]
        #[arg(long, value_name = "PATH")]
        source: Option<String>,
        /// Where the config lives [default: the catalog's]
        #[arg(long, value_name = "PATH")]
        target: Option<String>,
        /// Move the existing target into the profile (verified byte for
        /// byte), then link it back.
        #[arg(long)]
        adopt: bool,
        /// Accept the defaults without asking.
        #[arg(long, short)]
        yes: bool,
        /// List the catalog.
        #[arg(long)]
        list: bool,
    },
    /// Unlink a module (restoring backups) and drop it from the registry.
    Remove {
        module: String,
        /// Keep the module in the registry with `enabled: false`.
        #[arg(long)]
        disable: bool,
    },
    /// Validate the registry and report every problem.
    Check,
    /// Print the shell code for Contextual Flow; add it to your rc file:
    /// zsh: eval "$(lumina hook zsh)"; bash: eval "$(lumina hook bash)";
    /// fish: lumina hook fish | source
    Hook {
        #[arg(value_enum)]
        shell: HookShell,
    },
    /// Apply the workspace context of DIR (what the shell hook runs): find
    /// project markers above DIR, and when the context differs from the last
    /// one, send Hyprland one batched request, signal Waybar for the modules
    /// that changed and start the context's mission. Always exits 0; problems
    /// go to $XDG_STATE_HOME/lumina/flow.log.
    Flow {
        /// The directory entered [default: the current directory]
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// Print the JSON a Waybar `custom/<NAME>` module's exec expects
    /// (empty text hides it). `lumina add waybar` writes these modules.
    WaybarModule {
        /// The module, as `NAME` or `custom/NAME`.
        name: String,
    },
    /// Docker missions: a container per project, named lumina-mission-<name>.
    Mission {
        #[command(subcommand)]
        action: MissionAction,
    },
    /// Print shell completions.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Subcommand, Debug)]
enum MissionAction {
    /// Every declared mission and its container's state.
    List,
    /// Start the mission's container (nothing happens if it is running).
    Start { name: String },
    /// Stop and remove the mission's container.
    Stop { name: String },
    /// Open a shell (or run COMMAND) in the running mission, in the project
    /// directory. The command's exit code is lumina's.
    Shell {
        name: String,
        #[arg(last = true, value_name = "COMMAND")]
        command: Vec<String>,
    },
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum HookShell {
    Zsh,
    Bash,
    Fish,
}

fn main() -> ExitCode {
    // SAFETY: called first thing, before any thread exists; SIG_DFL is a
    // valid disposition. A closed stdout then ends the process like any
    // other Unix filter instead of a panic on the next print.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    // The shell hook's call, `lumina flow --dir DIR`, skips argument parsing
    // and log set-up: it runs at every directory change and must cost as
    // little as a process can.
    let args: Vec<std::ffi::OsString> = std::env::args_os().take(5).collect();
    if args.len() == 4 && args[1] == "flow" && args[2] == "--dir" {
        return run_flow(None, false, false, Some(PathBuf::from(&args[3])));
    }
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("LUMINA_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .without_time()
        .init();
    let json = cli.json;
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            let (code, kind) = match err.downcast_ref::<Error>() {
                Some(e) => (e.exit_code(), e.kind()),
                None => (1, "runtime"),
            };
            if json {
                let diags = match err.downcast_ref::<Error>() {
                    Some(Error::Invalid(d)) => serde_json::to_value(d).unwrap_or_default(),
                    _ => serde_json::Value::Null,
                };
                let v = serde_json::json!({"error": {"kind": kind, "exit_code": code, "message": format!("{err:#}"), "diagnostics": diags}});
                println!("{v}");
            }
            match err.downcast_ref::<Error>() {
                Some(Error::Invalid(_))
                | Some(Error::PermissionDenied { .. })
                | Some(Error::Blocked { .. }) => {
                    eprintln!("{err:#}")
                }
                _ => eprintln!("error: {err:#}"),
            }
            ExitCode::from(code as u8)
        }
    }
}

fn emit_json<T: serde::Serialize>(v: &T) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, v)?;
    writeln!(out)?;
    Ok(())
}

fn warn_all(warnings: &[String]) {
    for w in warnings {
        eprintln!("warning: {w}");
    }
}

fn load_registry(env: &Env, strict: bool) -> anyhow::Result<registry::Registry> {
    let reg = registry::load(&env.registry, strict)?;
    for w in &reg.warnings {
        eprintln!("warning: {w}");
    }
    Ok(reg)
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    if let Command::Completions { shell } = &cli.command {
        clap_complete::generate(
            *shell,
            &mut Cli::command(),
            "lumina",
            &mut std::io::stdout(),
        );
        return Ok(ExitCode::SUCCESS);
    }
    if let Command::Init {
        sysfs_root: Some(root),
        ..
    } = &cli.command
    {
        std::env::set_var("LUMINA_SYSFS_ROOT", root);
    }
    if let Command::Hook { shell } = &cli.command {
        let shell = match shell {
            HookShell::Zsh => hook::Shell::Zsh,
            HookShell::Bash => hook::Shell::Bash,
            HookShell::Fish => hook::Shell::Fish,
        };
        print!("{}", hook::script(shell, &self_path()));
        return Ok(ExitCode::SUCCESS);
    }
    if let Command::Flow { dir } = &cli.command {
        return Ok(run_flow(
            cli.registry.as_deref(),
            cli.json,
            cli.verbose,
            dir.clone(),
        ));
    }
    let env = Env::from_process(cli.registry.as_deref())?;
    match cli.command {
        Command::Hook { .. } | Command::Flow { .. } => unreachable!("handled above"),
        Command::WaybarModule { name } => {
            let state =
                lumina::flow::waybar::State::read(&lumina::flow::runtime_dir().join("waybar.json"))
                    .map(Ok)
                    .unwrap_or_else(|| {
                        // No flow yet: the default context, as Waybar starts.
                        registry::load(&env.registry, false).map(|reg| {
                            let all = lumina::flow::contexts(&reg);
                            lumina::flow::waybar::State::compute(all.last().expect("default"), &all)
                        })
                    })?;
            println!("{}", lumina::flow::waybar::module_json(&name, &state));
            Ok(ExitCode::SUCCESS)
        }
        Command::Mission { action } => run_mission(&env, cli.json, cli.strict, action),
        Command::Completions { .. } => unreachable!("handled above"),
        Command::Git { args } => {
            let status = std::process::Command::new("git")
                .arg("-C")
                .arg(env.profile_dir())
                .args(&args)
                .status()
                .map_err(|e| Error::Runtime(format!("running git: {e}; is git installed?")))?;
            Ok(ExitCode::from(
                status.code().unwrap_or(1).clamp(0, 255) as u8
            ))
        }
        Command::Init {
            from: Some(url), ..
        } => {
            let r = profile::clone_profile(&env, &url)?;
            if cli.json {
                emit_json(&r)?;
            } else {
                println!("Cloned {url} into {}", tilde(&r.profile));
                warn_all(&r.sync.plan.warnings);
                print_plan(&r.sync.plan, cli.verbose);
                print_summary(&r.sync.plan, false, r.sync.changed, r.sync.generation);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Init {
            identity, force, ..
        } => {
            let r = profile::init(&env, &profile::InitOptions { identity, force })?;
            if cli.json {
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
        Command::Install { packages: pkgs } => {
            let json = cli.json;
            let r = packages::install(
                &env,
                &pkgs,
                cli.manager,
                &packages::Runner::from_process(),
                |inv| {
                    if !json {
                        eprintln!("lumina: running `{}`", inv.display());
                    }
                },
            )?;
            if cli.json {
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
        Command::Uninstall { packages: pkgs } => {
            let json = cli.json;
            let r = packages::uninstall(
                &env,
                &pkgs,
                cli.manager,
                &packages::Runner::from_process(),
                |inv| {
                    if !json {
                        eprintln!("lumina: running `{}`", inv.display());
                    }
                },
            )?;
            if cli.json {
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
        Command::Sync {
            dry_run,
            modules,
            no_packages,
        } => {
            let reg = load_registry(&env, cli.strict)?;
            for m in &modules {
                if reg.module(m).is_none() {
                    return Err(Error::Usage(format!(
                        "--module {m}: no such module in {}",
                        reg.path.display()
                    ))
                    .into());
                }
            }
            let only_some = !modules.is_empty();
            let report = linker::sync(
                &env,
                &reg,
                &SyncOptions {
                    dry_run,
                    strict: cli.strict,
                    allow_fast: !cli.json && !cli.verbose,
                    only: modules,
                    ..SyncOptions::default()
                },
            )?;
            let pkg = if no_packages || only_some {
                None
            } else if cli.json {
                sync_packages(&reg, cli.manager, dry_run, true)?
            } else {
                None
            };
            if cli.json {
                let mut v = serde_json::to_value(&report)?;
                if let (Some(o), Some(p)) = (v.as_object_mut(), &pkg) {
                    o.insert("packages".into(), serde_json::to_value(p)?);
                }
                emit_json(&v)?;
            } else {
                warn_all(&report.plan.warnings);
                if report.recovered {
                    println!("Finished settling an interrupted sync.");
                }
                print_plan(&report.plan, cli.verbose);
                for (m, why) in &report.inactive {
                    if cli.verbose {
                        println!("  · {m}: inactive ({why})");
                    }
                }
                match report.fast_path_links {
                    Some(n) => println!(
                        "Up to date: {n} links, generation {}.",
                        report.generation.unwrap_or_default()
                    ),
                    None => print_summary(
                        &report.plan,
                        report.dry_run,
                        report.changed,
                        report.generation,
                    ),
                }
                if !no_packages && !only_some {
                    if let Some(p) = sync_packages(&reg, cli.manager, dry_run, false)? {
                        let n: usize = p.installed.values().map(Vec::len).sum();
                        match (n, dry_run) {
                            (0, _) => println!(
                                "Packages: all {} declared are installed.",
                                reg.packages.as_ref().map_or(0, Vec::len)
                            ),
                            (n, true) => println!("Packages: {n} missing would be installed."),
                            (n, false) => println!("Packages: installed {n} missing."),
                        }
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Status { check } => {
            let reg = load_registry(&env, cli.strict)?;
            let st = linker::status::status(&env, &reg)?;
            let pkgs = reg
                .packages
                .as_ref()
                .map(|_| packages::compare(&reg, cli.manager.or_else(packages::detect)));
            let pkg_missing =
                matches!(&pkgs, Some(Ok(r)) if r.iter().any(|m| !m.missing.is_empty()));
            if cli.json {
                let mut v = serde_json::to_value(&st)?;
                if let (Some(o), Some(p)) = (v.as_object_mut(), &pkgs) {
                    match p {
                        Ok(r) => o.insert("packages".into(), serde_json::to_value(r)?),
                        Err(e) => o.insert("packages_error".into(), e.to_string().into()),
                    };
                }
                emit_json(&v)?;
            } else {
                warn_all(&st.warnings);
                println!("hardware    {} ({})", st.host, describe_hw(&st.hardware));
                println!("registry    {}", tilde(&st.registry));
                println!("virtual root {}", tilde(&st.lumina_home));
                match st.active_generation {
                    Some(n) => println!("generation  {n}"),
                    None => println!("generation  none (run `lumina sync`)"),
                }
                if st.interrupted_sync {
                    println!("note        a sync was interrupted; `lumina sync` finishes it");
                }
                for m in &st.modules {
                    let mark = if m.problems.is_empty() { "ok" } else { "DRIFT" };
                    let en = if m.enabled { "" } else { " (disabled)" };
                    println!(
                        "  {:<5} {}{}: {} ok, {} drifted",
                        mark,
                        m.name,
                        en,
                        m.ok,
                        m.problems.len()
                    );
                    for p in &m.problems {
                        println!("        {:<9} {}", state_word(p.state), tilde(&p.target));
                    }
                }
                match &pkgs {
                    None => {}
                    Some(Err(e)) => eprintln!("warning: cannot compare packages: {e}"),
                    Some(Ok(reports)) => {
                        for r in reports {
                            println!(
                                "packages    {}: {} declared, {} missing, {} installed but not declared",
                                r.manager,
                                r.declared.len(),
                                r.missing.len(),
                                r.undeclared.len()
                            );
                            if !r.missing.is_empty() {
                                println!("  missing      {}", r.missing.join(" "));
                            }
                            if !r.undeclared.is_empty() {
                                let shown: Vec<&str> = r
                                    .undeclared
                                    .iter()
                                    .take(if cli.verbose { usize::MAX } else { 12 })
                                    .map(String::as_str)
                                    .collect();
                                let more = r.undeclared.len() - shown.len();
                                println!(
                                    "  undeclared   {}{}",
                                    shown.join(" "),
                                    if more > 0 {
                                        format!(" ... and {more} more (-v lists every one; `lumina install` records one)")
                                    } else {
                                        String::new()
                                    }
                                );
                            }
                        }
                    }
                }
            }
            if check && (st.drifted || pkg_missing) {
                return Ok(ExitCode::from(1));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Undo { dry_run } => {
            let r = linker::undo(&env, dry_run)?;
            if cli.json {
                emit_json(&r)?;
            } else {
                print_plan(&r.plan, cli.verbose);
                let verb = if dry_run { "Would return" } else { "Returned" };
                println!("{verb} from generation {} to generation {}.", r.from, r.to);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Add {
            module,
            source,
            target,
            adopt,
            yes,
            list,
        } => {
            if list {
                if cli.json {
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
            if !yes && !cli.json && std::io::stdin().is_terminal() {
                let (ds, dt) = profile::add_defaults(&module);
                if target.is_none() {
                    target = Some(ask("Target (where the config lives)", dt.as_deref())?);
                }
                if source.is_none() {
                    source = Some(ask("Source (inside the profile)", ds.as_deref())?);
                }
            }
            let r = profile::add(
                &env,
                &module,
                &profile::AddOptions {
                    source,
                    target,
                    adopt,
                    strict: cli.strict,
                },
            )?;
            if cli.json {
                emit_json(&r)?;
            } else {
                println!(
                    "Added module '{}': {} -> {}{}",
                    r.module,
                    r.source,
                    r.target,
                    if r.adopted {
                        " (adopted into the profile)"
                    } else {
                        ""
                    }
                );
                if !r.waybar_modules.is_empty() {
                    println!(
                        "Added to the Waybar config for flows: {}",
                        r.waybar_modules.join(", ")
                    );
                }
                print_plan(&r.sync.plan, cli.verbose);
                print_summary(&r.sync.plan, false, r.sync.changed, r.sync.generation);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Remove { module, disable } => {
            let r = profile::remove(&env, &module, disable)?;
            if cli.json {
                emit_json(&r)?;
            } else {
                print_plan(&r.sync.plan, cli.verbose);
                let how = if r.disabled {
                    "disabled (enabled: false)"
                } else {
                    "removed from the registry"
                };
                println!("Module '{}' unlinked and {how}.", r.module);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Check => {
            let reg = registry::load(&env.registry, cli.strict)?;
            if cli.json {
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
    }
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
fn run_flow(
    registry: Option<&std::path::Path>,
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

fn run_mission(
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

fn parse_manager(s: &str) -> Result<Manager, String> {
    Manager::parse(s).ok_or_else(|| {
        format!("unknown package manager '{s}' (use pacman, paru, apt, dnf or brew)")
    })
}

/// What sync did about packages, for --json.
#[derive(serde::Serialize)]
struct PackageSync {
    /// Per manager: the missing packages that were (or, dry run, would be) installed.
    installed: std::collections::BTreeMap<Manager, Vec<String>>,
    commands: Vec<String>,
    dry_run: bool,
}

/// The package half of `sync`: one batched install per manager for what is
/// declared and missing. Runs after the links, so a failing manager never
/// keeps a configuration from being linked.
fn sync_packages(
    reg: &registry::Registry,
    flag: Option<Manager>,
    dry_run: bool,
    json: bool,
) -> anyhow::Result<Option<PackageSync>> {
    if reg.packages.as_ref().is_none_or(|p| p.is_empty()) {
        return Ok(None);
    }
    let default = flag.or_else(packages::detect);
    let missing = packages::missing(reg, default)?;
    let runner = packages::Runner::from_process();
    let mut commands = Vec::new();
    for (m, pkgs) in &missing {
        commands.push(packages::install_cmd(*m, pkgs, &runner)?.display());
    }
    if dry_run {
        if !json {
            for c in &commands {
                println!("  + would run `{c}`");
            }
        }
    } else if !missing.is_empty() {
        packages::install_missing(&missing, &runner, |inv| {
            if !json {
                eprintln!("lumina: installing missing packages: `{}`", inv.display());
            }
        })?;
    }
    Ok(Some(PackageSync {
        installed: missing,
        commands,
        dry_run,
    }))
}

fn ask(prompt: &str, default: Option<&str>) -> anyhow::Result<String> {
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

fn describe_hw(h: &lumina::hardware::Hardware) -> String {
    if h.product.is_empty() {
        "no DMI information".into()
    } else {
        format!("{} {}", h.vendor, h.product)
    }
}

fn state_word(s: LinkState) -> &'static str {
    match s {
        LinkState::Ok => "ok",
        LinkState::Missing => "missing",
        LinkState::Broken => "broken",
        LinkState::Foreign => "foreign",
        LinkState::Elsewhere => "elsewhere",
        LinkState::Modified => "modified",
        LinkState::Stale => "stale",
    }
}

/// Creates listed one by one before the rest are counted (unless -v).
const CREATES_SHOWN: usize = 25;

fn print_plan(plan: &Plan, verbose: bool) {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut creates = 0;
    for it in &plan.items {
        let (sign, word) = match it.action {
            Action::Create => ("+", "create"),
            Action::Unchanged => ("=", "unchanged"),
            Action::Update => ("~", "update"),
            Action::Conflict => ("!", "conflict"),
            Action::Prune => ("-", "prune"),
        };
        if it.action == Action::Unchanged && !verbose {
            continue;
        }
        if it.action == Action::Create {
            creates += 1;
            if creates > CREATES_SHOWN && !verbose {
                continue;
            }
        }
        let detail = if it.detail.is_empty() {
            String::new()
        } else {
            format!("  ({})", it.detail)
        };
        let _ = writeln!(
            out,
            "  {sign} {word:<9} {} [{}]{detail}",
            tilde(&it.target),
            it.module
        );
    }
    if creates > CREATES_SHOWN && !verbose {
        let _ = writeln!(
            out,
            "  + ... and {} more to create (-v lists every one)",
            creates - CREATES_SHOWN
        );
    }
    let _ = out.flush();
    drop(out);
    for s in &plan.skipped {
        eprintln!("warning: conflict skipped: {s}");
    }
}

fn print_summary(plan: &Plan, dry_run: bool, changed: bool, generation: Option<u64>) {
    let n = |a| plan.count(a);
    if dry_run {
        println!(
            "Dry run: {} to create, {} to update, {} in conflict, {} to prune, {} unchanged. Nothing was changed.",
            n(Action::Create),
            n(Action::Update),
            n(Action::Conflict),
            n(Action::Prune),
            n(Action::Unchanged)
        );
    } else if !changed {
        let g = generation
            .map(|g| g.to_string())
            .unwrap_or_else(|| "none".into());
        println!(
            "Up to date: {} links, generation {g}.",
            n(Action::Unchanged)
        );
    } else {
        println!(
            "Generation {} active: {} created, {} updated, {} conflicts resolved, {} pruned, {} unchanged.",
            generation.unwrap_or(plan.generation),
            n(Action::Create),
            n(Action::Update),
            n(Action::Conflict) - plan.skipped.len(),
            n(Action::Prune),
            n(Action::Unchanged)
        );
    }
}
