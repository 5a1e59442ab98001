//! The command line's shape: every command, flag and its help, and the
//! parsers of flag values.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use eden_skills::config::{InstallMode, Target};

/// eden-skills: install AI-agent skills from git repositories and local
/// folders into every agent's skills directory, reproducibly.
///
/// The desired state lives in skills.toml (default ~/.eden-skills/skills.toml);
/// what was installed is recorded beside it in skills.lock. Skills are
/// exported into a content-addressed store and linked (or copied) into
/// agent roots such as ~/.claude/skills.
///
/// Exit codes: 0 success (transient network failures are reported, not
/// fatal); 1 a skill failed, verification failed, or I/O error; 2 invalid
/// config or arguments; 3 blocked (--strict with conflicts or findings,
/// init over a config, --frozen mismatch).
#[derive(Parser, Debug)]
#[command(name = "eden-skills", version, max_term_width = 100)]
pub struct Cli {
    /// When to use colours (NO_COLOR also turns them off).
    #[arg(long, global = true, value_enum, default_value_t = Color::Auto)]
    pub color: Color,

    /// The config file [default: ~/.eden-skills/skills.toml]; the lock is
    /// beside it (x.toml → x.lock).
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Cmd,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum Color {
    Auto,
    Always,
    Never,
}

#[derive(Args, Debug, Clone)]
pub struct RunFlags {
    /// Print one JSON document on stdout.
    #[arg(long)]
    pub json: bool,
    /// Config warnings are errors; a transient failure exits 1; conflicts exit 3.
    #[arg(long)]
    pub strict: bool,
    /// Git operations in flight at once, 1..=100 [default:
    /// $EDEN_SKILLS_CONCURRENCY, else [reactor] concurrency, else 10].
    #[arg(long, value_name = "N")]
    pub concurrency: Option<String>,
    /// Accepted for compatibility; conflicts are never overwritten.
    #[arg(long)]
    pub force: bool,
}

#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Write a starter config and an empty lock.
    Init {
        /// Overwrite an existing config.
        #[arg(long)]
        force: bool,
    },
    /// Install skills from a local folder, a git URL or owner/repo, and
    /// record them in the config.
    ///
    /// Without --target the skills go to every detected agent (an agent is
    /// detected when its skills directory or that directory's parent exists),
    /// else to claude-code.
    Install(InstallArgs),
    /// Show what apply would change, without writing anything or fetching.
    Plan {
        #[arg(long)]
        json: bool,
        /// Config warnings are errors.
        #[arg(long)]
        strict: bool,
    },
    /// Fetch, export and place every configured skill; remove orphans;
    /// verify; write the lock.
    Apply {
        #[command(flatten)]
        flags: RunFlags,
        /// Install exactly what the lock records (exit 3 when config and lock disagree).
        #[arg(long)]
        frozen: bool,
    },
    /// Like apply, but also re-hash store entries in use and re-export
    /// corrupted ones; never removes orphans.
    Repair {
        #[command(flatten)]
        flags: RunFlags,
    },
    /// Check installed skills offline: targets, store hashes, licenses,
    /// risks, registries, unused caches.
    Doctor {
        #[arg(long)]
        json: bool,
        /// Exit 3 when an error or warning remains.
        #[arg(long)]
        strict: bool,
        /// Leave warnings out.
        #[arg(long)]
        no_warning: bool,
    },
    /// Remove skills from the config and uninstall what eden-skills placed.
    Remove {
        /// Skill ids (asked for on a terminal when omitted).
        ids: Vec<String>,
        #[arg(long)]
        json: bool,
        #[arg(long)]
        strict: bool,
        /// Do not ask for confirmation.
        #[arg(short = 'y', long)]
        yes: bool,
        /// Also delete recorded copies whose content changed since install.
        #[arg(long)]
        force: bool,
        /// Run `clean` afterwards.
        #[arg(long)]
        auto_clean: bool,
    },
    /// Delete caches and store entries nothing uses, and stale scratch.
    Clean {
        #[arg(long)]
        json: bool,
        /// Only list what would be deleted.
        #[arg(long)]
        dry_run: bool,
    },
    /// Append a repository skill to the config.
    Add(AddArgs),
    /// Change fields of a configured skill.
    Set(SetArgs),
    /// List configured skills.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Sync every registry, fetch every source, and report what changed
    /// upstream; --apply installs new commits and missing skills.
    Update {
        #[arg(long)]
        json: bool,
        /// Registry and fetch failures exit 1.
        #[arg(long)]
        strict: bool,
        /// Git operations in flight at once, 1..=100.
        #[arg(long, value_name = "N")]
        concurrency: Option<String>,
        /// Install what moved (new-commit) and what is not installed yet (missing).
        #[arg(long)]
        apply: bool,
    },
    /// Compare each installed skill with the newest its config allows;
    /// writes nothing anywhere.
    Outdated {
        #[arg(long)]
        json: bool,
        #[arg(long, value_name = "N")]
        concurrency: Option<String>,
    },
    /// Docker helpers.
    Docker {
        #[command(subcommand)]
        action: DockerAction,
    },
    /// Export or import the config in normalized form.
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
    /// Print shell completions.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Subcommand, Debug)]
pub enum DockerAction {
    /// Print `-v` bind mounts that would let a container's agent see the
    /// host's skills live, instead of copies refreshed by apply.
    MountHint {
        /// The container name (as in `docker:<name>` targets).
        container: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum ConfigAction {
    /// Print the config normalized (byte-identical across runs).
    Export {
        #[arg(long)]
        json: bool,
    },
    /// Validate a config file and write it normalized to --config.
    Import {
        #[arg(long, value_name = "FILE")]
        from: PathBuf,
        /// Print instead of writing.
        #[arg(long)]
        dry_run: bool,
        #[arg(long)]
        strict: bool,
    },
}

#[derive(Args, Debug)]
pub struct InstallArgs {
    /// A local folder (./x, /x, ~/x), a git URL, a GitHub tree URL, or owner/repo.
    pub source: String,
    #[arg(long)]
    pub json: bool,
    #[arg(long)]
    pub strict: bool,
    /// Where to install: an agent (claude-code, cursor, ...), custom:<path>,
    /// local or docker:<container>. Repeatable. Default: detected agents.
    #[arg(short = 't', long = "target", value_parser = parse_target)]
    pub targets: Vec<Target>,
    /// Install only these skills of a multi-skill source. Repeatable.
    #[arg(short = 's', long = "skill", value_name = "NAME")]
    pub skills: Vec<String>,
    /// Install every skill found, without asking.
    #[arg(long)]
    pub all: bool,
    /// Do not ask for confirmation.
    #[arg(short = 'y', long)]
    pub yes: bool,
    /// List the skills the source holds and stop.
    #[arg(long)]
    pub list: bool,
    /// The id to record (only when one skill is selected).
    #[arg(long)]
    pub id: Option<String>,
    /// Branch, tag or commit [default: the remote's default branch].
    #[arg(long = "ref")]
    pub git_ref: Option<String>,
    /// Registry installs: the version requirement.
    #[arg(long)]
    pub version: Option<String>,
    /// Registry installs: the registry to use.
    #[arg(long)]
    pub registry: Option<String>,
    /// Copy instead of symlinking.
    #[arg(long)]
    pub copy: bool,
    /// Show what would be installed; write nothing outside $TMPDIR.
    #[arg(long)]
    pub dry_run: bool,
    /// Take over skills another manager claims.
    #[arg(long)]
    pub force: bool,
}

#[derive(Args, Debug)]
pub struct AddArgs {
    /// The new skill's id.
    #[arg(long)]
    pub id: String,
    /// Git URL or absolute path of a local folder.
    #[arg(long)]
    pub repo: String,
    /// Where to install: an agent (claude-code, cursor, ...), custom:<path>,
    /// local or docker:<container>. Repeatable.
    #[arg(short = 't', long = "target", value_parser = parse_target, required = true)]
    pub targets: Vec<Target>,
    #[arg(long = "ref", default_value = "main")]
    pub git_ref: String,
    #[arg(long, default_value = ".")]
    pub subpath: String,
    #[arg(long, value_parser = parse_mode, default_value = "symlink")]
    pub mode: InstallMode,
    #[arg(long, value_parser = parse_bool, value_name = "BOOL")]
    pub verify_enabled: Option<bool>,
    #[arg(long = "verify-check", value_name = "CHECK")]
    pub verify_checks: Vec<String>,
    #[arg(long, value_parser = parse_bool, value_name = "BOOL")]
    pub no_exec_metadata_only: Option<bool>,
    #[arg(long)]
    pub json: bool,
    #[arg(long)]
    pub strict: bool,
}

#[derive(Args, Debug)]
pub struct SetArgs {
    /// The skill to change.
    pub id: String,
    #[arg(long)]
    pub repo: Option<String>,
    #[arg(long = "ref")]
    pub git_ref: Option<String>,
    #[arg(long)]
    pub subpath: Option<String>,
    #[arg(long, value_parser = parse_mode)]
    pub mode: Option<InstallMode>,
    /// Registry entries: the version requirement.
    #[arg(long)]
    pub version: Option<String>,
    /// Registry entries: the registry to resolve from.
    #[arg(long)]
    pub registry: Option<String>,
    #[arg(long, value_parser = parse_bool, value_name = "BOOL")]
    pub verify_enabled: Option<bool>,
    #[arg(long = "verify-check", value_name = "CHECK")]
    pub verify_checks: Vec<String>,
    /// Replaces all targets. Repeatable.
    #[arg(short = 't', long = "target", value_parser = parse_target)]
    pub targets: Vec<Target>,
    #[arg(long, value_parser = parse_bool, value_name = "BOOL")]
    pub no_exec_metadata_only: Option<bool>,
    #[arg(long)]
    pub json: bool,
}

pub fn parse_bool(s: &str) -> Result<bool, String> {
    match s {
        "true" | "yes" | "1" => Ok(true),
        "false" | "no" | "0" => Ok(false),
        _ => Err(format!("expected true or false, got `{s}`")),
    }
}

pub fn parse_mode(s: &str) -> Result<InstallMode, String> {
    InstallMode::parse(s).ok_or_else(|| format!("expected symlink or copy, got `{s}`"))
}

pub fn parse_target(s: &str) -> Result<Target, String> {
    eden_skills::edit::parse_target_spec(s)
}

#[cfg(test)]
mod tests {
    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
