//! Editing the config: `add`, `set`, `config export`, `config import`.
//! Every edit keeps the user's comments and layout and is validated before
//! it is written.

use std::path::Path;

use eden_skills::config::{Skill, Source};
use eden_skills::edit::{self, Mutation};

use super::{
    config_text, edited, fail, load, parse_doc, save_doc, validated, write_config, Env, Outcome,
};
use crate::cli::{AddArgs, SetArgs};
use crate::out::{hint, print_json, warning};

pub fn add(env: &Env, a: AddArgs) -> Outcome {
    let (text, _) = config_text(env)?;
    let cfg = validated(env, &text, a.strict)?;
    if cfg.skill(&a.id).is_some() {
        return fail(2, &format!("skill id already exists: `{}`", a.id));
    }
    let skill = Skill {
        id: a.id.clone(),
        source: Source::Repo {
            repo: a.repo,
            git_ref: a.git_ref,
            subpath: a.subpath,
        },
        mode: a.mode,
        targets: a.targets,
        shorthand: None,
        verify_enabled: a.verify_enabled.unwrap_or(true),
        verify_checks: if a.verify_checks.is_empty() {
            a.mode.default_checks()
        } else {
            a.verify_checks
        },
        metadata_only: a.no_exec_metadata_only.unwrap_or(false),
    };
    let mut doc = parse_doc(&text)?;
    if let Err(e) = doc.push_skill(&skill) {
        return fail(2, &e.to_string());
    }
    save_doc(env, &env.config, &doc, a.strict)?;
    edited(env, a.json, "add", "Added", &env.config, &a.id)
}

pub fn set(env: &Env, a: SetArgs) -> Outcome {
    let m = Mutation {
        repo: a.repo,
        git_ref: a.git_ref,
        subpath: a.subpath,
        mode: a.mode,
        version: a.version,
        registry: a.registry,
        verify_enabled: a.verify_enabled,
        verify_checks: a.verify_checks,
        targets: a.targets,
        no_exec_metadata_only: a.no_exec_metadata_only,
    };
    if m.is_empty() {
        return fail(2, "set requires at least one mutation flag");
    }
    let cfg = load(env, false)?;
    if cfg.skill(&a.id).is_none() {
        crate::out::error(&format!("skill '{}' not found in config", a.id));
        let ids: Vec<&str> = cfg.skills.iter().map(|s| s.id.as_str()).collect();
        hint(&format!("Available skills: {}", ids.join(", ")));
        return Err(super::Exit(2));
    }
    let text = std::fs::read_to_string(&cfg.path).unwrap_or_default();
    let mut doc = parse_doc(&text)?;
    if let Err(e) = doc.set_fields(&a.id, &m) {
        return fail(2, &e.to_string());
    }
    save_doc(env, &cfg.path, &doc, false)?;
    edited(env, a.json, "set", "Updated", &cfg.path, &a.id)
}

pub fn export(env: &Env, json: bool) -> Outcome {
    let cfg = load(env, false)?;
    let text = edit::normalized(&cfg);
    if json {
        print_json(&serde_json::json!({"format": "toml", "toml": text}));
    } else {
        print!("{text}");
    }
    Ok(0)
}

pub fn import(env: &Env, from: &Path, dry_run: bool, strict: bool) -> Outcome {
    let text = std::fs::read_to_string(from)
        .or_else(|e| fail(1, &format!("cannot read {}: {e}", from.display())))?;
    let cfg = validated(env, &text, strict)?;
    for w in &cfg.warnings {
        warning(w);
    }
    let normalized = edit::normalized(&cfg);
    if dry_run {
        print!("{normalized}");
        return Ok(0);
    }
    write_config(&env.config, &normalized)?;
    println!(
        "{}  {} config at {}",
        env.st.head("Imported"),
        env.st.ok(),
        env.config.display()
    );
    Ok(0)
}
