//! `install SOURCE`: a folder, a git URL or a registry name. The source is
//! fetched once for discovery; the skills chosen are planned into config
//! entries (`eden_skills::install`), written into the config, and
//! installed by the engine.

use std::path::PathBuf;
use std::sync::Arc;

use eden_skills::config::{Config, Skill, Source, Target};
use eden_skills::discover::Discovered;
use eden_skills::engine::{self, Command, Report, RunOptions};
use eden_skills::fsutil;
use eden_skills::git::Git;
use eden_skills::install::{self, InstallSource, PlanError, SelectError};
use eden_skills::plan;
use serde_json::{json, Value};

use super::{
    ask, cancel_flag, concurrency, config_text, fail, interactive, load_lock, parse_doc, runtime,
    save_doc, save_lock, validated, Env, Exit, Outcome,
};
use crate::cli::InstallArgs;
use crate::out::{self, hint, print_json, warning};

pub fn install(env: &Env, a: InstallArgs) -> Outcome {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    let source = install::classify_source(&a.source, &env.home, &cwd)
        .or_else(|i| fail(2, &i.to_string()))?;
    let is_registry = matches!(source, InstallSource::Registry(_));
    if is_registry && (a.id.is_some() || a.git_ref.is_some()) {
        return fail(
            2,
            "--id and --ref apply to URL and path sources, not registry names",
        );
    }
    if !is_registry && (a.version.is_some() || a.registry.is_some()) {
        return fail(
            2,
            "--version and --registry apply to registry names, not URLs or paths",
        );
    }
    if let Some(id) = &a.id {
        if !eden_skills::valid_id(id) {
            return fail(
                2,
                &format!(
                    "INVALID_SKILL_ID: --id: `{id}` must match ^[A-Za-z0-9][A-Za-z0-9._-]{{0,127}}$"
                ),
            );
        }
    }
    let (text, created) = config_text(env)?;
    let cfg = validated(env, &text, a.strict)?;
    for w in &cfg.warnings {
        warning(w);
    }
    let conc = concurrency(&cfg, None)?;
    if let InstallSource::Registry(name) = &source {
        return install_registry(env, &a, name, &text, &cfg, conc);
    }
    // Discovery: a dry run or --list fetches into a scratch storage under
    // $TMPDIR, removed afterwards, so it writes nothing.
    let scratch = (a.dry_run || a.list).then(|| {
        std::env::temp_dir().join(format!("eden-skills-discovery-{}", fsutil::unique_suffix()))
    });
    let result = install_url(
        env,
        &a,
        &source,
        (&text, created),
        &cfg,
        conc,
        scratch.as_ref(),
    );
    if let Some(s) = &scratch {
        let _ = fsutil::remove_any(s);
    }
    result
}

/// What a fetch for discovery found.
struct Found {
    repo: String,
    git_ref: String,
    skills: Vec<Discovered>,
    /// The commit, for git sources.
    commit: Option<String>,
    /// Whether the fetch was a fresh clone.
    cloned: bool,
}

/// Fetches the source (into `storage`) and lists the skills in it.
fn discover(
    rt: &tokio::runtime::Runtime,
    a: &InstallArgs,
    source: &InstallSource,
    storage: &std::path::Path,
) -> Result<Found, Exit> {
    match source {
        InstallSource::Local(dir) => {
            if !dir.is_dir() {
                return fail(1, &format!("{} is not a directory", dir.display()));
            }
            Ok(Found {
                repo: dir.display().to_string(),
                git_ref: "main".to_string(),
                skills: install::discover_local(dir),
                commit: None,
                cloned: false,
            })
        }
        InstallSource::Git {
            url,
            git_ref,
            subpath,
        } => {
            let git = Git::from_env();
            let want = a.git_ref.clone().or(git_ref.clone());
            let f = match rt.block_on(install::fetch_repo(&git, storage, url, want.as_deref())) {
                Ok(f) => f,
                Err(f) => {
                    if a.json {
                        print_json(
                            &json!({"status": "failed", "skills": [], "failures": [{"skill_id": "", "phase": f.phase, "kind": f.kind, "message": f.message}]}),
                        );
                    }
                    return fail(1, &format!("cannot fetch {url}: {}", f.message));
                }
            };
            let skills = rt
                .block_on(install::discover_git(
                    &git,
                    &f,
                    subpath.as_deref(),
                    &install::repo_name(url),
                ))
                .or_else(|f| fail(1, &f.message))?;
            Ok(Found {
                repo: url.clone(),
                git_ref: f.git_ref.clone(),
                skills,
                commit: Some(f.commit),
                cloned: f.cloned,
            })
        }
        InstallSource::Registry(_) => {
            unreachable!("registry names are installed by install_registry")
        }
    }
}

/// `--list`: the skills the source holds.
fn list(a: &InstallArgs, found: &[Discovered], bare: bool) {
    if a.json {
        let v: Vec<_> = found
            .iter()
            .map(|d| json!({"name": d.name, "description": d.description, "subpath": d.subpath}))
            .collect();
        print_json(&json!(v));
    } else if found.is_empty() || bare {
        println!("No SKILL.md found in {}", a.source);
    } else {
        let w0 = found
            .iter()
            .map(|d| d.name.chars().count())
            .max()
            .unwrap_or(0);
        let w1 = found
            .iter()
            .map(|d| d.subpath.chars().count())
            .max()
            .unwrap_or(0);
        for d in found {
            // One line per skill: a multi-line description shows its first line.
            let desc = d.description.lines().next().unwrap_or("");
            println!("{:<w0$}  {:<w1$}  {desc}", d.name, d.subpath);
        }
    }
}

/// The skills to install: `-s` names, all of them, or the user's choice.
fn select(a: &InstallArgs, found: Vec<Discovered>, bare: bool) -> Result<Vec<Discovered>, Exit> {
    if bare {
        if !a.skills.is_empty() {
            return fail(2, "No SKILL.md found; --skill cannot select anything");
        }
        warning("No SKILL.md found; installing directory as-is.");
        return Ok(found);
    }
    if !a.skills.is_empty() {
        return install::select_named(&found, &a.skills).map_err(|e| {
            match e {
                SelectError::Unknown(unknown) => {
                    let list: Vec<String> = unknown
                        .iter()
                        .map(|(u, m)| match m {
                            Some(m) => format!("'{u}' (did you mean '{m}'?)"),
                            None => format!("'{u}'"),
                        })
                        .collect();
                    crate::out::error(&format!("unknown skill(s): {}", list.join(", ")));
                    let mut names: Vec<&str> = found.iter().map(|d| d.name.as_str()).collect();
                    names.dedup();
                    hint(&format!("Available skills: {}", names.join(", ")));
                }
                SelectError::Ambiguous { name, subpaths } => {
                    crate::out::error(&format!(
                        "{} skills are named '{name}'; select one by its path:",
                        subpaths.len()
                    ));
                    for p in subpaths {
                        eprintln!("  -s {p}");
                    }
                }
            }
            Exit(2)
        });
    }
    if a.all || found.len() <= 1 || !interactive() || a.yes {
        return Ok(found);
    }
    for (i, d) in found.iter().enumerate() {
        eprintln!("  {:>2}. {:<24} {}", i + 1, d.name, d.description);
    }
    let ans = ask("Install which skills? (numbers, e.g. 1,3; empty = all) ");
    if ans.is_empty() || ans == "all" {
        return Ok(found);
    }
    Ok(ans
        .split([',', ' '])
        .filter_map(|x| x.trim().parse::<usize>().ok())
        .filter_map(|i| found.get(i.wrapping_sub(1)).cloned())
        .collect())
}

/// The targets given with `-t`, else the detected agents.
fn targets(env: &Env, a: &InstallArgs) -> Vec<Target> {
    if !a.targets.is_empty() {
        return a.targets.clone();
    }
    let (t, defaulted) = install::default_targets(&env.home);
    if defaulted {
        warning("No installed agents detected; defaulting to claude-code (~/.claude/skills/)");
    }
    t
}

/// A skill's targets as `--dry-run` shows them.
fn target_json(cfg: &Config, s: &Skill) -> Vec<Value> {
    plan::resolve_targets(cfg, s)
        .into_iter()
        .map(
            |t| json!({"agent": t.agent, "environment": t.environment.to_string(), "path": t.path}),
        )
        .collect()
}

fn print_would_targets(v: &Value) {
    for t in v["targets"].as_array().into_iter().flatten() {
        println!(
            "  → {} {}",
            t["agent"].as_str().unwrap_or(""),
            t["path"].as_str().unwrap_or("")
        );
    }
}

fn dry_run(a: &InstallArgs, cfg: &Config, f: &Found, skills: &[Skill]) {
    let items: Vec<_> = skills
        .iter()
        .map(|s| {
            let (_, _, subpath) = eden_skills::lock::source_fields(s);
            json!({
                "dry_run": true,
                "skill": s.id,
                "version": null,
                "resolved": {"repo": f.repo, "ref": if f.commit.is_some() { json!(f.git_ref) } else { json!(null) }, "subpath": subpath, "commit": f.commit},
                "targets": target_json(cfg, s),
            })
        })
        .collect();
    if a.json {
        if items.len() == 1 {
            print_json(&items[0]);
        } else {
            print_json(&json!({"dry_run": true, "skills": items}));
        }
        return;
    }
    for (s, i) in skills.iter().zip(&items) {
        println!(
            "Would install {} from {} ({})",
            s.id,
            f.repo,
            i["resolved"]["subpath"].as_str().unwrap_or(".")
        );
        print_would_targets(i);
    }
}

/// Writes the skills into the config (created from the template when
/// missing) and installs them.
fn write_and_install(
    env: &Env,
    cfg: &Config,
    (text, created): (&str, bool),
    skills: &[Skill],
    opts: RunOptions,
    rt: &tokio::runtime::Runtime,
    collection: Option<(&str, &str, Vec<String>)>,
) -> Result<(Report, bool), Exit> {
    let mut doc = parse_doc(text)?;
    for s in skills {
        let replace = cfg.skill(&s.id).is_none() || s.shorthand.is_none();
        if let Err(e) = doc.upsert_skill(s, replace) {
            return fail(2, &e.to_string());
        }
    }
    let new_cfg = save_doc(env, &env.config, &doc, false)?;
    if created {
        eprintln!("Created config at {}", env.config.display());
    }
    let mut lock = load_lock(&new_cfg);
    let new_cfg = Arc::new(new_cfg);
    let report = rt.block_on(engine::run(new_cfg.clone(), &mut lock, opts));
    if let Some((repo, git_ref, subpaths)) = collection {
        lock.set_collection(repo, git_ref, subpaths);
    }
    let saved = save_lock(&new_cfg, &lock).is_ok();
    Ok((report, saved))
}

fn install_url(
    env: &Env,
    a: &InstallArgs,
    source: &InstallSource,
    (text, created): (&str, bool),
    cfg: &Config,
    conc: usize,
    scratch: Option<&PathBuf>,
) -> Outcome {
    let rt = runtime();
    let storage = scratch.cloned().unwrap_or_else(|| cfg.storage_root.clone());
    let f = discover(&rt, a, source, &storage)?;
    let (skills_found, bare) = install::split_bare(f.skills.clone(), source);
    for d in &skills_found {
        if let Some(w) = &d.warning {
            warning(w);
        }
    }
    if a.list {
        list(a, &skills_found, bare);
        return Ok(0);
    }
    let selected = select(a, skills_found, bare)?;
    if selected.is_empty() {
        return fail(1, "nothing selected");
    }
    if a.id.is_some() && selected.len() != 1 {
        return fail(
            2,
            "--id needs exactly one selected skill (use --skill to pick one)",
        );
    }
    let targets = targets(env, a);
    if a.id.is_none() {
        for note in install::unique_ids(&selected).1 {
            warning(&note);
        }
    }
    let req = install::Request {
        repo: &f.repo,
        git_ref: &f.git_ref,
        targets: &targets,
        copy: a.copy,
        id: a.id.as_deref(),
        force: a.force,
    };
    let skills = install::plan_skills(cfg, &selected, req).or_else(|e| refuse_plan(a, &e))?;
    if a.dry_run {
        dry_run(a, cfg, &f, &skills);
        return Ok(0);
    }
    let ids: Vec<String> = skills.iter().map(|s| s.id.clone()).collect();
    let mut opts = RunOptions::new(Command::Install, conc);
    opts.only = Some(ids.clone());
    opts.force = a.force;
    if f.commit.is_some() {
        opts.prefetched.insert(f.repo.clone(), f.cloned);
    }
    opts.cancel = cancel_flag(&rt);
    // `--all` of a repository: what it holds is recorded, for `update`.
    let collection = (a.all && f.commit.is_some() && !bare).then(|| {
        (
            f.repo.as_str(),
            f.git_ref.as_str(),
            selected.iter().map(|d| d.subpath.clone()).collect(),
        )
    });
    let (report, saved) =
        write_and_install(env, cfg, (text, created), &skills, opts, &rt, collection)?;
    let (mut exit, strict_msg) = out::run_exit(&report, a.strict, "install");
    let ok: Vec<&str> = report
        .skills
        .iter()
        .filter(|s| s.status == "installed" || s.status == "unchanged")
        .map(|s| s.id.as_str())
        .collect();
    let conflicted: Vec<&str> = report
        .skills
        .iter()
        .filter(|s| s.status == "conflict")
        .map(|s| s.id.as_str())
        .collect();
    if ok.is_empty() || !saved {
        exit = exit.max(1);
    }
    if a.json {
        for w in &report.warnings {
            warning(w);
        }
        let status = if ok.len() == ids.len() && report.failures.is_empty() {
            "installed"
        } else if ok.is_empty() && !conflicted.is_empty() && report.failures.is_empty() {
            "conflict"
        } else if ok.is_empty() {
            "failed"
        } else {
            "partial"
        };
        print_json(
            &json!({"status": status, "skills": ok, "conflicts": conflicted, "failures": report.failures, "exit_code": exit}),
        );
    } else {
        out::report_human(env.st, &report, exit, strict_msg.as_deref());
    }
    if !conflicted.is_empty() {
        hint(&format!(
            "something that is not eden-skills' is in the way of {}; move it, or install beside it with --id NEW",
            conflicted.join(", ")
        ));
    }
    Ok(exit)
}

/// An install that cannot be planned: nothing is written.
fn refuse_plan(a: &InstallArgs, e: &PlanError) -> Result<Vec<Skill>, Exit> {
    let code = match e {
        PlanError::Duplicate(_) => 2,
        PlanError::Taken { .. } => 3,
    };
    if a.json {
        let id = match e {
            PlanError::Duplicate(id) | PlanError::Taken { id, .. } => id,
        };
        print_json(&json!({
            "status": if code == 3 { "refused" } else { "failed" },
            "skills": [],
            "failures": [{"skill_id": id, "phase": "plan", "kind": "permanent", "message": e.to_string()}],
            "exit_code": code,
        }));
    }
    fail(code, &e.to_string())
}

/// `install NAME` from the configured registries: resolved offline, then
/// written as a registry entry (`version`, `registry`) and installed.
fn install_registry(
    env: &Env,
    a: &InstallArgs,
    name: &str,
    text: &str,
    cfg: &Config,
    conc: usize,
) -> Outcome {
    let req = a.version.clone().unwrap_or_else(|| "*".into());
    if eden_skills::registry::parse_req(&req).is_none() {
        return fail(2, &format!("INVALID_SEMVER: --version: `{req}` is not a version requirement (e.g. 1.2.0, =1.2.0, ~1.2, >=1.0, <2, *)"));
    }
    if let Some(r) = &a.registry {
        if !cfg.registries.iter().any(|x| &x.name == r) {
            return fail(
                2,
                &format!("UNKNOWN_REGISTRY: --registry: `{r}` is not a key of [registries]"),
            );
        }
    }
    let res = eden_skills::registry::resolve(cfg, name, &req, a.registry.as_deref());
    for w in &res.warnings {
        warning(w);
    }
    let resolved = match res.result {
        Ok((r, _)) => r,
        Err(msg) => {
            if a.json {
                print_json(
                    &json!({"status": "failed", "skills": [], "failures": [{"skill_id": name, "phase": "resolve", "kind": "permanent", "message": msg}], "skill": name, "version": null}),
                );
            }
            return fail(1, &msg);
        }
    };
    let targets = if a.targets.is_empty() {
        eden_skills::edit::parse_target_spec("claude-code")
            .into_iter()
            .collect()
    } else {
        a.targets.clone()
    };
    let source = Source::Registry {
        version: req.clone(),
        registry: a.registry.clone(),
    };
    if !a.force {
        if let Some(from) = install::installed_elsewhere(cfg, name, &source) {
            let e = PlanError::Taken {
                id: name.to_string(),
                from,
            };
            return refuse_plan(a, &e).map(|_| 0);
        }
    }
    let mut skill = install::merged_skill(cfg, name, source, &targets, a.copy);
    // A registry entry always lists its targets in full.
    skill.shorthand = None;
    if a.dry_run {
        let v = json!({
            "dry_run": true,
            "skill": name,
            "version": resolved.version,
            "resolved": {"repo": resolved.repo, "ref": resolved.git_ref, "subpath": resolved.subpath, "commit": resolved.commit},
            "targets": target_json(cfg, &skill),
        });
        if a.json {
            print_json(&v);
        } else {
            println!(
                "Would install {name} {} from registry `{}` ({} at {})",
                resolved.version, resolved.registry, resolved.repo, resolved.git_ref
            );
            print_would_targets(&v);
        }
        return Ok(0);
    }
    let rt = runtime();
    let mut opts = RunOptions::new(Command::Install, conc);
    opts.only = Some(vec![name.to_string()]);
    opts.refresh.insert(name.to_string());
    opts.cancel = cancel_flag(&rt);
    let (report, saved) = write_and_install(env, cfg, (text, false), &[skill], opts, &rt, None)?;
    let (mut exit, strict_msg) = out::run_exit(&report, a.strict, "install");
    let ok = report
        .skills
        .iter()
        .any(|s| s.id == name && s.status != "failed" && s.status != "skipped");
    if !ok || !saved {
        exit = exit.max(1);
    }
    if a.json {
        for w in &report.warnings {
            warning(w);
        }
        let version = report
            .skills
            .iter()
            .find(|s| s.id == name)
            .and_then(|s| s.resolved_version.clone());
        print_json(&json!({
            "status": if ok { "installed" } else { "failed" },
            "skills": if ok { vec![name] } else { vec![] },
            "failures": report.failures,
            "skill": name,
            "version": version,
            "exit_code": exit,
        }));
    } else {
        println!(
            "{}  {name} {} from registry `{}`",
            env.st.head("Resolved"),
            resolved.version,
            resolved.registry
        );
        out::report_human(env.st, &report, exit, strict_msg.as_deref());
    }
    Ok(exit)
}
