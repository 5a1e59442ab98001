//! Orphans: what eden-skills placed for skills or targets the config no
//! longer lists, removed only when it is still what eden-skills placed.

use super::*;

/// Orphans: lock entries of unconfigured skills, and recorded targets no
/// longer listed, are removed when eden-skills placed them (never under
/// `install`, which only adds).
pub(super) async fn remove_orphans(
    cfg: &Config,
    lock: &mut Lock,
    adapters: &Adapters,
    force: bool,
    report: &mut Report,
) {
    let orphan_list: Vec<(LockSkill, LockTarget)> = orphans(cfg, lock, adapters)
        .await
        .into_iter()
        .map(|(l, t, _)| (l.clone(), t.clone()))
        .collect();
    let mut by_skill: BTreeMap<String, Vec<TargetReport>> = BTreeMap::new();
    for (l, t) in orphan_list {
        let r = remove_recorded(adapters, &cfg.storage_root, &l, &t, force).await;
        let mut drop_target = true;
        match r {
            Ok(None) => report.summary.removed += 1,
            Ok(Some(reason)) => {
                report
                    .warnings
                    .push(format!("kept {} ({}): {reason}", t.path, l.id));
                report.kept.push(Kept {
                    skill_id: l.id.clone(),
                    path: t.path.clone(),
                    reason,
                });
            }
            Err(f) => {
                report.failures.push(f);
                drop_target = false;
            }
        }
        by_skill
            .entry(l.id.clone())
            .or_default()
            .push(TargetReport {
                agent: t.agent.clone(),
                environment: t.environment().to_string(),
                path: t.path.clone(),
                action: if drop_target {
                    "remove".into()
                } else {
                    "failed".into()
                },
                reasons: vec![],
            });
        if drop_target {
            if let Some(e) = lock.skills.iter_mut().find(|e| e.id == l.id) {
                e.targets.retain(|x| x != &t);
            }
        }
    }
    let configured: HashSet<&str> = cfg.skills.iter().map(|s| s.id.as_str()).collect();
    lock.skills
        .retain(|e| configured.contains(e.id.as_str()) || !e.targets.is_empty());
    for (id, targets) in by_skill {
        if !configured.contains(id.as_str()) {
            report.skills.push(SkillReport {
                id,
                status: "removed".into(),
                resolved_commit: None,
                resolved_version: None,
                content_hash: None,
                targets,
            });
        }
    }
    // Lock entries of unconfigured skills without targets (metadata-only).
    lock.skills
        .retain(|e| configured.contains(e.id.as_str()) || !e.targets.is_empty());
}

/// Uninstalls a recorded target if it is still ours (docs/eden-skills/behaviour.md#what-eden-skills-owns).
/// `Ok(None)` = removed (or already gone), `Ok(Some(reason))` = kept.
pub async fn remove_recorded(
    adapters: &Adapters,
    storage: &Path,
    l: &LockSkill,
    t: &LockTarget,
    force: bool,
) -> Result<Option<String>, Failure> {
    let env = Environment::parse(t.environment()).unwrap_or(Environment::Local);
    let adapter = adapters.get(&env);
    let fail = |e: AdapterError| {
        Failure::permanent(
            &l.id,
            Phase::Remove,
            format!("cannot remove {}: {e}", t.path),
        )
    };
    if !env.is_local() {
        return adapter.uninstall(&t.path).await.map(|_| None).map_err(fail);
    }
    let p = PathBuf::from(&t.path);
    let state = crate::adapter::inspect_local(&p).map_err(fail)?;
    let ours = match &state {
        PathState::Absent => return Ok(None),
        PathState::Symlink(dest) => {
            if dest.starts_with(storage) {
                true
            } else {
                return Ok(Some("not a symlink into the eden-skills storage".into()));
            }
        }
        PathState::Dir => {
            let same = crate::store::hash_dir(&p).is_ok_and(|h| h == l.content_hash);
            if !same && !force {
                return Ok(Some(
                    "content changed since it was installed (use --force to delete it)".into(),
                ));
            }
            true
        }
        PathState::File => return Ok(Some("not a skill folder installed by eden-skills".into())),
    };
    if ours {
        adapter.uninstall(&t.path).await.map_err(fail)?;
    }
    Ok(None)
}
