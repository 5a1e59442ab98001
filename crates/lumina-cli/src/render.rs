//! Rendering results for people: plans, summaries, warnings, hardware;
//! and `--json` output.

use std::io::Write;

use lumina::linker::plan::{Action, Plan};
use lumina::linker::status::LinkState;
use lumina::paths::tilde;

pub fn emit_json<T: serde::Serialize>(v: &T) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, v)?;
    writeln!(out)?;
    Ok(())
}

pub fn warn_all(warnings: &[String]) {
    for w in warnings {
        eprintln!("warning: {w}");
    }
}

pub fn describe_hw(h: &lumina::hardware::Hardware) -> String {
    if h.product.is_empty() {
        "no DMI information".into()
    } else {
        format!("{} {}", h.vendor, h.product)
    }
}

pub fn state_word(s: LinkState) -> &'static str {
    match s {
        LinkState::Ok => "ok",
        LinkState::Missing => "missing",
        LinkState::Broken => "broken",
        LinkState::Foreign => "foreign",
        LinkState::Elsewhere => "elsewhere",
        LinkState::Modified => "modified",
        LinkState::Stale => "stale",
        LinkState::Orphaned => "orphaned",
        LinkState::Outdated => "outdated",
        LinkState::Redirected => "redirected",
    }
}

/// Creates listed one by one before the rest are counted (unless -v).
const CREATES_SHOWN: usize = 25;

pub fn print_plan(plan: &Plan, verbose: bool) {
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

pub fn print_summary(plan: &Plan, dry_run: bool, changed: bool, generation: Option<u64>) {
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
