//! `lumina sync` as one operation: the links first (the Shadow Linker),
//! then one batched install per package manager for what `packages:`
//! declares and the machine lacks, then the `run:` hooks of the modules
//! whose files changed. Links come first so that a failing manager never
//! keeps a configuration from being linked, and hooks last so that what
//! they run is installed; what each part did is reported as it happens
//! through [`Progress`].

use std::collections::BTreeMap;

use serde::Serialize;

use crate::env::Env;
use crate::error::{Error, Result};
use crate::hooks::{self, HookRun};
use crate::linker::{self, SyncOptions, SyncReport};
use crate::packages::{self, Invocation, Manager, Runner};
use crate::registry::Registry;

/// What to sync.
#[derive(Debug, Default, Clone)]
pub struct Request {
    pub links: SyncOptions,
    /// Install missing packages after linking (`--no-packages` and
    /// `--module` turn it off).
    pub packages: bool,
    /// The manager for plain package names (`--manager`); else detected.
    pub manager: Option<Manager>,
    /// Run the hooks of modules whose files changed (`--no-hooks` turns
    /// it off).
    pub hooks: bool,
}

/// What the package half did (or, dry run, would do).
#[derive(Debug, Serialize)]
pub struct PackageSync {
    /// Per manager: the missing packages installed (or to install).
    pub installed: BTreeMap<Manager, Vec<String>>,
    /// The command lines, one per manager.
    pub commands: Vec<String>,
    pub dry_run: bool,
}

/// Both halves of a sync.
#[derive(Debug)]
pub struct Outcome {
    pub links: SyncReport,
    /// `None` when packages were not asked for or none are declared.
    pub packages: Option<PackageSync>,
    /// The hooks run (or, dry run, to run).
    pub hooks: Vec<HookRun>,
}

impl Outcome {
    /// Hooks that failed: the sync as a whole failed, though its links
    /// are in place.
    pub fn failed_hooks(&self) -> Vec<&HookRun> {
        self.hooks.iter().filter(|h| !h.ok).collect()
    }
}

/// Hears about a sync as it goes, so a caller can show each step before
/// the next (slow) one starts.
pub trait Progress {
    /// The links are done (or planned, dry run).
    fn linked(&mut self, _report: &SyncReport) {}
    /// Dry run: a command that would install missing packages.
    fn would_run(&mut self, _command: &str) {}
    /// A package manager is about to run.
    fn installing(&mut self, _inv: &Invocation) {}
    /// A module's hook is about to run (dry run: would run).
    fn hook(&mut self, _module: &str, _command: &str, _dry_run: bool) {}
    /// A line a hook printed.
    fn hook_output(&mut self, _module: &str, _line: &str) {}
}

/// A `Progress` that shows nothing (for `--json`, which reports at the end).
pub struct Quiet;
impl Progress for Quiet {}

/// Syncs `reg`: every module (or `req.links.only`), then the packages.
pub fn sync(
    env: &Env,
    reg: &Registry,
    req: &Request,
    progress: &mut dyn Progress,
) -> Result<Outcome> {
    for m in &req.links.only {
        if reg.module(m).is_none() {
            return Err(Error::Usage(format!(
                "--module {m}: no such module in {}",
                reg.path.display()
            )));
        }
    }
    let links = linker::sync(env, reg, &req.links)?;
    progress.linked(&links);
    let packages = if req.packages && req.links.only.is_empty() {
        sync_packages(reg, req.manager, req.links.dry_run, progress)?
    } else {
        None
    };
    let hooks = if req.hooks {
        let changed = hooks::changed_modules(&links.plan);
        let dry = req.links.dry_run;
        // Both callbacks report through `progress`; a cell lets them share it.
        let progress = std::cell::RefCell::new(progress);
        hooks::run(
            reg,
            &changed,
            dry,
            &mut |m, c| progress.borrow_mut().hook(m, c, dry),
            &mut |m, l| progress.borrow_mut().hook_output(m, l),
        )
    } else {
        Vec::new()
    };
    Ok(Outcome {
        links,
        packages,
        hooks,
    })
}

/// The package half: one batched install per manager for what is declared
/// and missing.
fn sync_packages(
    reg: &Registry,
    flag: Option<Manager>,
    dry_run: bool,
    progress: &mut dyn Progress,
) -> Result<Option<PackageSync>> {
    if reg.packages.as_ref().is_none_or(|p| p.is_empty()) {
        return Ok(None);
    }
    let default = flag.or_else(packages::detect);
    let missing = packages::missing(reg, default)?;
    let runner = Runner::from_process();
    let mut commands = Vec::new();
    for (m, pkgs) in &missing {
        commands.push(packages::install_cmd(*m, pkgs, &runner)?.display());
    }
    if dry_run {
        for c in &commands {
            progress.would_run(c);
        }
    } else if !missing.is_empty() {
        packages::install_missing(&missing, &runner, |inv| progress.installing(inv))?;
    }
    Ok(Some(PackageSync {
        installed: missing,
        commands,
        dry_run,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Seen {
        linked: usize,
        would_run: Vec<String>,
    }
    impl Progress for Seen {
        fn linked(&mut self, _: &SyncReport) {
            self.linked += 1;
        }
        fn would_run(&mut self, c: &str) {
            self.would_run.push(c.to_string());
        }
    }

    fn profile() -> (tempfile::TempDir, Env, Registry) {
        let t = tempfile::tempdir().unwrap();
        let home = t.path().join("home");
        let prof = t.path().join("profile");
        std::fs::create_dir_all(home.join(".config")).unwrap();
        std::fs::create_dir_all(prof.join("config/kitty")).unwrap();
        std::fs::write(prof.join("config/kitty/kitty.conf"), "font_size 11\n").unwrap();
        let reg_path = prof.join("lumina.yaml");
        let text = "version: 1\nmodules:\n  kitty:\n    source: ./config/kitty\n    target: ~/.config/kitty\n";
        std::fs::write(&reg_path, text).unwrap();
        let env = Env {
            home,
            lumina_home: t.path().join(".lumina"),
            registry: reg_path.clone(),
            sysfs_root: t.path().join("sys"),
        };
        let reg = crate::registry::parse(&reg_path, text, false).unwrap();
        (t, env, reg)
    }

    #[test]
    fn links_then_reports_and_refuses_unknown_modules() {
        let (_t, env, reg) = profile();
        let mut req = Request {
            packages: true,
            ..Request::default()
        };
        req.links.only = vec!["nope".into()];
        let e = sync(&env, &reg, &req, &mut Seen::default()).unwrap_err();
        assert!(
            matches!(e, Error::Usage(ref m) if m.contains("--module nope")),
            "{e}"
        );
        req.links.only.clear();
        let mut seen = Seen::default();
        let out = sync(&env, &reg, &req, &mut seen).unwrap();
        assert_eq!(seen.linked, 1);
        assert!(out.links.changed);
        // No `packages:` key: the package half does nothing.
        assert!(out.packages.is_none() && seen.would_run.is_empty());
        let link = env.home.join(".config/kitty/kitty.conf");
        assert_eq!(std::fs::read_to_string(link).unwrap(), "font_size 11\n");
    }
}
