//! `sync [--dry-run] [--module M]... [--no-packages] [--no-hooks]`: the
//! links, then the missing packages, then the hooks of the modules that
//! changed (`lumina::sync`), each shown as it is done.

use std::process::ExitCode;

use lumina::linker::{SyncOptions, SyncReport};
use lumina::packages::Invocation;
use lumina::sync::{self, Progress, Request};
use lumina::Env;

use super::{load_registry, Global};
use crate::render::{emit_json, print_plan, print_summary, warn_all};

/// Shows each step of a sync as it ends.
struct Shown {
    verbose: bool,
}

impl Progress for Shown {
    fn linked(&mut self, report: &SyncReport) {
        warn_all(&report.plan.warnings);
        if report.recovered {
            println!("Finished settling an interrupted sync.");
        }
        print_plan(&report.plan, self.verbose);
        for (m, why) in &report.inactive {
            if self.verbose {
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
    }

    fn would_run(&mut self, command: &str) {
        println!("  + would run `{command}`");
    }

    fn installing(&mut self, inv: &Invocation) {
        eprintln!("lumina: installing missing packages: `{}`", inv.display());
    }

    fn hook(&mut self, module: &str, command: &str, dry_run: bool) {
        if dry_run {
            println!("  + would run `{command}` (module {module})");
        } else {
            eprintln!("lumina: running `{command}` (module {module})");
        }
    }

    fn hook_output(&mut self, module: &str, line: &str) {
        println!("[{module}] {line}");
    }
}

/// `--json` keeps stdout for the JSON document: hook output goes to stderr.
struct JsonProgress;

impl Progress for JsonProgress {
    fn hook_output(&mut self, module: &str, line: &str) {
        eprintln!("[{module}] {line}");
    }
}

/// `lumina sync`'s flags.
pub struct Flags {
    pub dry_run: bool,
    pub modules: Vec<String>,
    pub no_packages: bool,
    pub no_hooks: bool,
}

pub fn sync(env: &Env, g: &Global, f: Flags) -> anyhow::Result<ExitCode> {
    let Flags {
        dry_run,
        modules,
        no_packages,
        no_hooks,
    } = f;
    let reg = load_registry(env, g.strict)?;
    let req = Request {
        links: SyncOptions {
            dry_run,
            strict: g.strict,
            allow_fast: !g.json && !g.verbose,
            only: modules,
            ..SyncOptions::default()
        },
        packages: !no_packages,
        manager: g.manager,
        hooks: !no_hooks,
    };
    if g.json {
        let out = sync::sync(env, &reg, &req, &mut JsonProgress)?;
        let mut v = serde_json::to_value(&out.links)?;
        if let Some(o) = v.as_object_mut() {
            if let Some(p) = &out.packages {
                o.insert("packages".into(), serde_json::to_value(p)?);
            }
            o.insert("hooks".into(), serde_json::to_value(&out.hooks)?);
        }
        emit_json(&v)?;
        return Ok(hooks_exit(&out));
    }
    let mut shown = Shown { verbose: g.verbose };
    let out = sync::sync(env, &reg, &req, &mut shown)?;
    if let Some(p) = &out.packages {
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
    Ok(hooks_exit(&out))
}

/// Exit 1 when a hook failed (the links stay as synced).
fn hooks_exit(out: &sync::Outcome) -> ExitCode {
    let failed = out.failed_hooks();
    for h in &failed {
        let how = match h.status {
            Some(c) => format!("exited with {c}"),
            None => "did not finish (killed or could not start)".into(),
        };
        eprintln!(
            "error: hook `{}` of module '{}' {how}; the links are in place, fix the hook and run it again (or `lumina sync --no-hooks`)",
            h.command, h.module
        );
    }
    if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
