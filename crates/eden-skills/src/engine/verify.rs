//! Verification after placing: each target's checks (path exists, target
//! resolves into the store, content matches).

use super::*;

/// Verification: the checks of every placed target (remote targets are
/// re-read, one round trip per environment).
pub(super) async fn verify_all(
    store: &Store,
    adapters: &Adapters,
    selected: &[&Skill],
    report: &mut Report,
) {
    let mut remote: BTreeMap<Environment, Vec<String>> = BTreeMap::new();
    for (s, sr) in selected.iter().zip(report.skills.iter()) {
        if sr.status == "failed" || s.metadata_only || !s.verify_enabled {
            continue;
        }
        for t in sr
            .targets
            .iter()
            .filter(|t| matches!(t.action.as_str(), "create" | "update" | "noop"))
        {
            if let Some(Environment::Docker(c)) = Environment::parse(&t.environment) {
                adapters.docker(&c).forget_states();
                remote
                    .entry(Environment::Docker(c))
                    .or_default()
                    .push(t.path.clone());
            }
        }
    }
    for (env, paths) in &remote {
        let _ = adapters.get(env).inspect_many(paths).await;
    }
    for (s, sr) in selected.iter().zip(report.skills.iter()) {
        if sr.status == "failed" || s.metadata_only || !s.verify_enabled {
            continue;
        }
        let Some(hash) = &sr.content_hash else {
            continue;
        };
        let entry = store.entry_path(hash).unwrap_or_default();
        for t in &sr.targets {
            if t.action == "conflict" {
                // A conflicting target does not hold this skill: the
                // request is not met, whatever the checks (FAIL-7).
                let check = if s.verify_checks.iter().any(|c| c == "target-resolves") {
                    "target-resolves"
                } else {
                    s.verify_checks
                        .first()
                        .map(String::as_str)
                        .unwrap_or("path-exists")
                };
                report.verification.push(VerifyIssue {
                    skill_id: s.id.clone(),
                    target_path: t.path.clone(),
                    check: check.into(),
                    message: format!(
                        "target is a conflict and does not hold this skill: {}",
                        t.reasons.join("; ")
                    ),
                });
                continue;
            }
            if !matches!(t.action.as_str(), "create" | "update" | "noop") {
                continue;
            }
            let env = Environment::parse(&t.environment).unwrap_or(Environment::Local);
            if env.is_local() {
                report
                    .verification
                    .extend(verify_target(s, &env, Path::new(&t.path), &entry));
            } else if s.verify_checks.iter().any(|c| c == "path-exists") {
                // Docker targets: path-exists only.
                let state = adapters.get(&env).inspect(&t.path).await;
                if !matches!(state, Ok(PathState::Dir)) {
                    report.verification.push(VerifyIssue {
                        skill_id: s.id.clone(),
                        target_path: t.path.clone(),
                        check: "path-exists".into(),
                        message: format!("target path does not exist in {env}"),
                    });
                }
            }
        }
    }
}

/// The checks of one placed target (docs/eden-skills/behaviour.md#verification).
pub fn verify_target(
    skill: &Skill,
    env: &Environment,
    path: &Path,
    entry: &Path,
) -> Vec<VerifyIssue> {
    let mut out = Vec::new();
    let issue = |check: &str, message: String| VerifyIssue {
        skill_id: skill.id.clone(),
        target_path: path.display().to_string(),
        check: check.to_string(),
        message,
    };
    if !env.is_local() {
        return out;
    }
    let meta = std::fs::symlink_metadata(path);
    if skill.verify_checks.iter().any(|c| c == "path-exists") && meta.is_err() {
        out.push(issue("path-exists", "target path does not exist".into()));
        return out;
    }
    let is_link = meta.as_ref().is_ok_and(|m| m.file_type().is_symlink());
    for c in &skill.verify_checks {
        match (c.as_str(), skill.mode) {
            ("target-resolves", InstallMode::Symlink) => {
                let ok = std::fs::read_link(path).is_ok_and(|d| d == entry) && entry.is_dir();
                if !ok {
                    out.push(issue(
                        c,
                        format!("symlink does not resolve to {}", entry.display()),
                    ));
                }
            }
            ("is-symlink", InstallMode::Symlink) if !is_link => {
                out.push(issue(c, "target is not a symlink".into()));
            }
            ("content-present", _) => {
                let present = std::fs::read_dir(path).is_ok_and(|mut d| d.next().is_some());
                if !present {
                    out.push(issue(c, "target directory is empty or unreadable".into()));
                }
            }
            _ => {}
        }
    }
    out
}
