//! `sync [--dry-run] [--module M]... [--no-packages]`: the links, then the
//! missing packages (`lumina::sync`), each shown as it is done.

use std::process::ExitCode;

use lumina::linker::{SyncOptions, SyncReport};
use lumina::packages::Invocation;
use lumina::sync::{self, Progress, Quiet, Request};
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
}

pub fn sync(
    env: &Env,
    g: &Global,
    dry_run: bool,
    modules: Vec<String>,
    no_packages: bool,
) -> anyhow::Result<ExitCode> {
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
    };
    if g.json {
        let out = sync::sync(env, &reg, &req, &mut Quiet)?;
        let mut v = serde_json::to_value(&out.links)?;
        if let (Some(o), Some(p)) = (v.as_object_mut(), &out.packages) {
            o.insert("packages".into(), serde_json::to_value(p)?);
        }
        emit_json(&v)?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut shown = Shown { verbose: g.verbose };
    let out = sync::sync(env, &reg, &req, &mut shown)?;
    if let Some(p) = out.packages {
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
    Ok(ExitCode::SUCCESS)
}
