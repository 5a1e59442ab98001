//! `update [--apply]` (registries synced, every source checked, what moved
//! reported and optionally installed) and `outdated` (current against
//! latest, nothing written).

use std::sync::Arc;

use eden_skills::engine::{self, Command, RunOptions};
use eden_skills::git::Git;
use serde_json::json;

use super::{cancel_flag, concurrency, load, load_lock, runtime, save_lock, Env, Outcome};
use crate::out::{self, hint, print_json};

fn short(sha: &Option<String>) -> String {
    sha.as_deref()
        .map(|s| s.trim_start_matches("sha256:").chars().take(12).collect())
        .unwrap_or_else(|| "-".into())
}

pub fn update(
    env: &Env,
    json: bool,
    strict: bool,
    conc_flag: Option<&str>,
    apply: bool,
) -> Outcome {
    let started = std::time::Instant::now();
    let cfg = load(env, strict)?;
    let conc = concurrency(&cfg, conc_flag)?;
    if cfg.registries.is_empty() && cfg.skills.is_empty() {
        if json {
            print_json(
                &json!({"registries": [], "skills": [], "failed": 0, "elapsed_ms": started.elapsed().as_millis() as u64}),
            );
        } else {
            println!("Nothing to update: no registries and no skills are configured.");
            hint("add a skill with `eden-skills install <source>`, or a [registries] table to skills.toml");
        }
        return Ok(0);
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
    let changes = rt.block_on(eden_skills::update::collection_changes(&cfg, &lock, &git));
    let failed_regs = regs.iter().filter(|r| r.status == "failed").count();
    let failed_skills = checks.iter().filter(|c| c.status == "failed").count();
    let mut exit: u8 = if strict && failed_regs + failed_skills > 0 {
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
            "collections": changes,
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
        let w = checks
            .iter()
            .map(|c| c.id.chars().count())
            .max()
            .unwrap_or(0)
            .max(24);
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
                "  {:<w$} {:<11} {} -> {}{detail}{applied}",
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
        // Skills whose check failed, and skills whose update failed to apply.
        let apply_failed = checks.iter().filter(|c| c.applied == Some(false)).count();
        println!(
            "{}  {} to update, {} registry failure(s), {} skill failure(s)",
            env.st.head("Summary"),
            moved,
            failed_regs,
            failed_skills + apply_failed
        );
        if moved > 0 && !apply {
            hint("run `eden-skills update --apply` to install them");
        }
        for c in &changes {
            if !c.new.is_empty() {
                println!("  new: {} (in {})", c.new.join(", "), c.repo);
                hint(&format!(
                    "run `eden-skills install {} --all` to add them",
                    c.repo
                ));
            }
            if !c.gone.is_empty() {
                println!("  gone: {} (from {})", c.gone.join(", "), c.repo);
            }
        }
        if let Some(r) = &report {
            for f in &r.failures {
                eprintln!("  {} {}", env.st.bad(), f.line());
            }
        }
    }
    Ok(exit)
}

pub fn outdated(env: &Env, json: bool, conc_flag: Option<&str>) -> Outcome {
    let cfg = load(env, false)?;
    let conc = concurrency(&cfg, conc_flag)?;
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
        return Ok(0);
    }
    if items.is_empty() {
        println!("No skills configured.");
        return Ok(0);
    }
    let show = |p: &eden_skills::update::Point| match (&p.version, &p.commit) {
        (Some(v), _) => v.clone(),
        (None, Some(c)) => c.chars().take(12).collect(),
        _ => "-".into(),
    };
    let w = items
        .iter()
        .map(|i| i.id.chars().count())
        .max()
        .unwrap_or(0)
        .max(24);
    println!(
        "{:<w$} {:<9} {:<14} {:<14} Status",
        "Skill", "Kind", "Current", "Latest"
    );
    for i in &items {
        let detail = i
            .detail
            .as_deref()
            .map(|d| format!(" ({d})"))
            .unwrap_or_default();
        println!(
            "{:<w$} {:<9} {:<14} {:<14} {}{detail}",
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
    Ok(0)
}
