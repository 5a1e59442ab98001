//! The command line's shape: every command, flag and its help.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use lumina::packages::Manager;

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
pub struct Cli {
    /// The registry file [default: $LUMINA_REGISTRY, else
    /// $XDG_CONFIG_HOME/lumina/lumina.yaml, else ~/.config/lumina/lumina.yaml]
    #[arg(long, global = true, value_name = "PATH")]
    pub registry: Option<PathBuf>,

    /// Print results as JSON on stdout (errors too, as {"error": ...}).
    #[arg(long, global = true)]
    pub json: bool,

    /// Treat unknown registry keys as errors, and any conflict as a reason
    /// to stop before changing anything (exit 3).
    #[arg(long, global = true)]
    pub strict: bool,

    /// Show unchanged targets too.
    #[arg(short, long, global = true)]
    pub verbose: bool,

    /// The package manager for plain package names [default: the first of
    /// pacman, apt, dnf, brew found on PATH]
    #[arg(long, global = true, value_name = "NAME", env = "LUMINA_MANAGER", value_parser = parse_manager)]
    pub manager: Option<Manager>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
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
        /// Do not run the modules' `run:` hooks.
        #[arg(long)]
        no_hooks: bool,
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
        /// byte, modes kept), then link it back. For a module the registry
        /// already declares, the config moves into its source.
        #[arg(long)]
        adopt: bool,
        /// With --adopt: leave a nested git repository's .git behind and
        /// adopt only its files.
        #[arg(long, requires = "adopt", conflicts_with = "submodule")]
        drop_git: bool,
        /// With --adopt: keep a git repository as a submodule of the
        /// profile (its `origin` becomes the submodule's URL).
        #[arg(long, requires = "adopt")]
        submodule: bool,
        /// A gitignore-style pattern the module leaves out (repeatable);
        /// written as its `exclude:`.
        #[arg(long, value_name = "PATTERN")]
        exclude: Vec<String>,
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
    /// This machine's tags, which `hosts: [tag:NAME]` selects modules by.
    /// They live in ~/.lumina/host.json, not in the profile.
    Tag {
        #[command(subcommand)]
        action: TagAction,
    },
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
pub enum MissionAction {
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

#[derive(Subcommand, Debug)]
pub enum TagAction {
    /// Tag this machine.
    Add {
        #[arg(required = true, value_name = "NAME")]
        names: Vec<String>,
    },
    /// Remove tags from this machine.
    Remove {
        #[arg(required = true, value_name = "NAME")]
        names: Vec<String>,
    },
    /// This machine's hostname, hardware target and tags.
    List,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum HookShell {
    Zsh,
    Bash,
    Fish,
}

fn parse_manager(s: &str) -> Result<Manager, String> {
    Manager::parse(s).ok_or_else(|| {
        format!("unknown package manager '{s}' (use pacman, paru, apt, dnf or brew)")
    })
}
