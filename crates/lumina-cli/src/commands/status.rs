//! `status [--check]`: every module's links and their drift, and the
//! declared packages against the installed ones.

use std::process::ExitCode;

use lumina::paths::tilde;
use lumina::{linker, packages, Env};

use super::{load_registry, Global};
use crate::render::{describe_hw, emit_json, state_word, warn_all};

pub fn status(env: &Env, g: &Global, check: bool) -> anyhow::Result<ExitCode> {
    let reg = load_registry(env, g.strict)?;
    let st = linker::status::status(env, &reg)?;
    let pkgs = reg
        .packages
        .as_ref()
        .map(|_| packages::compare(&reg, g.manager.or_else(packages::detect)));
    let pkg_missing = matches!(&pkgs, Some(Ok(r)) if r.iter().any(|m| !m.missing.is_empty()));
    if g.json {
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
        println!("hostname    {}", st.hostname);
        if !st.tags.is_empty() {
            println!("tags        {}", st.tags.join(", "));
        }
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
                println!("        {:<10} {}", state_word(p.state), tilde(&p.target));
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
                            .take(if g.verbose { usize::MAX } else { 12 })
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
