//! `list [--json]`: the configured skills, their mode, source and agents.

use eden_skills::config::Source;
use serde_json::json;

use super::{load, Env, Outcome};
use crate::out::{hint, print_json};

pub fn list(env: &Env, json: bool) -> Outcome {
    let cfg = load(env, false)?;
    if json {
        let skills: Vec<_> = cfg
            .skills
            .iter()
            .map(|s| {
                let (repo, git_ref, subpath) = match &s.source {
                    Source::Repo { repo, git_ref, subpath } => (json!(repo), json!(git_ref), json!(subpath)),
                    Source::Registry { .. } => (serde_json::Value::Null, serde_json::Value::Null, serde_json::Value::Null),
                };
                let targets: Vec<_> = s
                    .targets
                    .iter()
                    .map(|t| json!({"agent": t.agent, "path": cfg.target_root(t), "environment": t.environment.to_string()}))
                    .collect();
                let mut v = json!({
                    "id": s.id,
                    "source": {"repo": repo, "ref": git_ref, "subpath": subpath},
                    "install": {"mode": s.mode.as_str()},
                    "verify": {"enabled": s.verify_enabled, "checks": s.verify_checks},
                    "targets": targets,
                });
                if let Source::Registry { version, registry } = &s.source {
                    v["registry"] = json!({"name": registry, "version": version});
                }
                v
            })
            .collect();
        print_json(&json!({"count": skills.len(), "skills": skills}));
        return Ok(0);
    }
    if cfg.skills.is_empty() {
        println!("No skills configured.");
        hint("add one with `eden-skills install <source>`");
        return Ok(0);
    }
    let rows: Vec<[String; 4]> = cfg
        .skills
        .iter()
        .map(|s| {
            let source = match &s.source {
                Source::Repo {
                    repo,
                    git_ref,
                    subpath,
                } if s.is_local_dir() => {
                    if subpath == "." {
                        repo.clone()
                    } else {
                        format!("{repo} ({subpath})")
                    }
                }
                Source::Repo {
                    repo,
                    git_ref,
                    subpath,
                } => {
                    if subpath == "." {
                        format!("{repo}@{git_ref}")
                    } else {
                        format!("{repo}@{git_ref} ({subpath})")
                    }
                }
                Source::Registry { version, registry } => {
                    format!(
                        "{}@{version}",
                        registry
                            .as_deref()
                            .map(|r| format!("{r}:{}", s.id))
                            .unwrap_or_else(|| s.id.clone())
                    )
                }
            };
            let agents: Vec<String> = s
                .targets
                .iter()
                .map(|t| {
                    if t.environment.is_local() {
                        t.agent.clone()
                    } else {
                        format!("{}@{}", t.agent, t.environment)
                    }
                })
                .collect();
            [
                s.id.clone(),
                s.mode.as_str().to_string(),
                source,
                agents.join(", "),
            ]
        })
        .collect();
    let header = ["Skill", "Mode", "Source", "Agents"];
    let mut w = [0usize; 4];
    for r in rows
        .iter()
        .map(|r| r.each_ref().map(|s| s.as_str()))
        .chain([header])
    {
        for (i, c) in r.iter().enumerate() {
            w[i] = w[i].max(c.chars().count());
        }
    }
    println!(
        "{:<w0$}  {:<w1$}  {:<w2$}  {}",
        header[0],
        header[1],
        header[2],
        header[3],
        w0 = w[0],
        w1 = w[1],
        w2 = w[2]
    );
    for r in &rows {
        println!(
            "{:<w0$}  {:<w1$}  {:<w2$}  {}",
            r[0],
            r[1],
            r[2],
            r[3],
            w0 = w[0],
            w1 = w[1],
            w2 = w[2]
        );
    }
    Ok(0)
}
