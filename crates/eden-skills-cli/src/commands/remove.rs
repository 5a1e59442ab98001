//! `remove [ID...]`: the skills leave the config; what eden-skills placed
//! for them is deleted (`eden_skills::remove`); `--auto-clean` then cleans.

use eden_skills::config::Config;
use eden_skills::plan::Adapters;
use serde_json::json;

use super::clean::clean_json;
use super::{
    ask, fail, interactive, load, load_lock, parse_doc, runtime, save_lock, write_config, Env,
    Exit, Outcome,
};
use crate::out::{hint, print_json, warning};

pub struct Flags {
    pub json: bool,
    pub strict: bool,
    pub yes: bool,
    pub force: bool,
    pub auto_clean: bool,
}

/// The ids to remove: those given, else asked for; `None`: nothing to do.
fn which(available: &[&str], ids: Vec<String>) -> Result<Option<Vec<String>>, Exit> {
    if !ids.is_empty() {
        return Ok(Some(ids));
    }
    if available.is_empty() {
        println!("Nothing to remove.");
        return Ok(None);
    }
    if !interactive() {
        crate::out::error("no skill IDs specified");
        hint(&format!("Available skills: {}", available.join(", ")));
        return Err(Exit(2));
    }
    let answer = ask(&format!("Skills to remove ({}): ", available.join(", ")));
    let ids: Vec<String> = answer
        .split([' ', ','])
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect();
    if ids.is_empty() {
        println!("Nothing to remove.");
        return Ok(None);
    }
    Ok(Some(ids))
}

pub fn remove(env: &Env, ids: Vec<String>, f: Flags) -> Outcome {
    let cfg = load(env, f.strict)?;
    let available: Vec<&str> = cfg.skills.iter().map(|s| s.id.as_str()).collect();
    let Some(ids) = which(&available, ids)? else {
        return Ok(0);
    };
    let unknown: Vec<&String> = ids
        .iter()
        .filter(|i| !available.contains(&i.as_str()))
        .collect();
    if !unknown.is_empty() {
        if unknown.len() == 1 {
            crate::out::error(&format!("skill '{}' not found in config", unknown[0]));
        } else {
            let list: Vec<String> = unknown.iter().map(|u| format!("'{u}'")).collect();
            crate::out::error(&format!("unknown skill(s): {}", list.join(", ")));
        }
        hint(&format!("Available skills: {}", available.join(", ")));
        return Err(Exit(2));
    }
    if interactive() && !f.yes {
        let a = ask(&format!("Remove {}? [y/N] ", ids.join(", ")));
        if !matches!(a.as_str(), "y" | "Y" | "yes") {
            println!("Nothing removed.");
            return Ok(0);
        }
    }
    let text = std::fs::read_to_string(&cfg.path)
        .or_else(|e| fail(1, &format!("cannot read {}: {e}", cfg.path.display())))?;
    let mut doc = parse_doc(&text)?;
    if let Err(e) = doc.remove_skills(&ids) {
        return fail(2, &e.to_string());
    }
    let mut lock = load_lock(&cfg);
    let report = runtime().block_on(eden_skills::remove::remove_skills(
        &Adapters::default(),
        &cfg.storage_root,
        &mut lock,
        &ids,
        f.force,
    ));
    for k in &report.kept {
        warning(&format!("kept {}: {}", k.path, k.reason));
    }
    write_config(&cfg.path, &doc.render())?;
    save_lock(&cfg, &lock)?;
    let mut clean = None;
    if f.auto_clean {
        if let Ok(cfg2) = Config::load(&cfg.path, &env.home) {
            let r = eden_skills::clean::clean(&cfg2, &lock, false);
            for w in &r.warnings {
                warning(w);
            }
            clean = Some(clean_json(&r));
        }
    }
    if f.json {
        let kept: Vec<_> = report
            .kept
            .iter()
            .map(|k| json!({"skill_id": k.skill_id, "path": k.path, "reason": k.reason}))
            .collect();
        let mut v = json!({"action": "remove", "config_path": cfg.path.display().to_string(), "removed": ids, "kept": kept});
        if let Some(c) = clean {
            v["clean"] = c;
        }
        print_json(&v);
    } else {
        for id in &ids {
            println!("{}  {} {id}", env.st.head("Removed"), env.st.ok());
        }
    }
    for f in &report.failures {
        eprintln!("  {} {}", env.st.bad(), f.line());
    }
    Ok(if report.failures.is_empty() { 0 } else { 1 })
}
