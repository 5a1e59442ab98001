//! Phase B: placing a skill's store entry at each of its targets, through
//! the adapters; remote injections are collected and done in one batch per
//! environment.

use super::*;

/// Phase B: every skill placed in parallel, one task per skill, with one
/// lock per (environment, path) so two skills never write one path at
/// once. Returns each skill's wanted targets and outcome (remote
/// injections deferred to `inject_remote`) and the panics of tasks.
pub(super) async fn place_all(
    ctx: &Arc<Ctx>,
    cfg: &Config,
    adapters: &Adapters,
    lock: &Lock,
    selected: &[&Skill],
    mut results: Results,
) -> (
    Vec<Vec<ResolvedTarget>>,
    Vec<Option<PlaceOutcome>>,
    Vec<tokio::task::JoinError>,
) {
    let mut wanted: Vec<Vec<ResolvedTarget>> = vec![Vec::new(); selected.len()];
    let mut path_locks: HashMap<(Environment, String), Arc<Mutex<()>>> = HashMap::new();
    let mut placing: JoinSet<(usize, PlaceOutcome)> = JoinSet::new();
    let mut outcomes: Vec<Option<PlaceOutcome>> = vec![None; selected.len()];
    let mut ready: Vec<(usize, Fetched)> = Vec::new();
    for (i, s) in selected.iter().enumerate() {
        let r = results.remove(&s.id).unwrap_or(Err(None));
        let fetched = match r {
            Ok(f) => f,
            Err(fail) => {
                outcomes[i] = Some(PlaceOutcome::failed(fail));
                continue;
            }
        };
        if s.metadata_only {
            outcomes[i] = Some(PlaceOutcome {
                fetched: Some(fetched),
                ..PlaceOutcome::default()
            });
            continue;
        }
        wanted[i] = expand_targets(cfg, s, adapters)
            .await
            .into_iter()
            .map(|(t, _)| t)
            .collect();
        ready.push((i, fetched));
    }
    // One round trip per container for the state of all its targets.
    let mut remote_paths: BTreeMap<Environment, Vec<String>> = BTreeMap::new();
    for (i, _) in &ready {
        for t in wanted[*i].iter().filter(|t| !t.environment.is_local()) {
            remote_paths
                .entry(t.environment.clone())
                .or_default()
                .push(t.path.clone());
        }
    }
    for (env, paths) in &remote_paths {
        let _ = adapters.get(env).inspect_many(paths).await;
    }
    for (i, fetched) in ready {
        let s = selected[i];
        let targets = wanted[i].clone();
        let locks: Vec<Arc<Mutex<()>>> = targets
            .iter()
            .map(|t| {
                path_locks
                    .entry((t.environment.clone(), t.path.clone()))
                    .or_insert_with(|| Arc::new(Mutex::new(())))
                    .clone()
            })
            .collect();
        let prev = lock.get(&s.id).cloned();
        let skill = (*s).clone();
        let ctx = ctx.clone();
        let adapters = adapters.clone();
        placing.spawn(async move {
            let o = place_skill(&ctx, &adapters, &skill, targets, locks, fetched, prev).await;
            (i, o)
        });
    }
    let mut panicked = Vec::new();
    while let Some(joined) = placing.join_next().await {
        match joined {
            Ok((i, o)) => outcomes[i] = Some(o),
            Err(e) => panicked.push(e),
        }
    }
    for (i, s) in selected.iter().enumerate() {
        if outcomes[i].is_none() {
            outcomes[i] = Some(PlaceOutcome::failed(Some(Failure::permanent(
                &s.id,
                Phase::Inject,
                "internal error: the injection task panicked",
            ))));
        }
    }
    (wanted, outcomes, panicked)
}

/// Remote targets: every injection into one environment in one batch.
pub(super) async fn inject_remote(
    adapters: &Adapters,
    selected: &[&Skill],
    outcomes: &mut [Option<PlaceOutcome>],
) {
    let mut batches: BTreeMap<Environment, Vec<(usize, usize)>> = BTreeMap::new();
    for (i, o) in outcomes.iter().enumerate() {
        if let Some(o) = o {
            for (k, d) in o.deferred.iter().enumerate() {
                batches
                    .entry(d.target.environment.clone())
                    .or_default()
                    .push((i, k));
            }
        }
    }
    for (env, refs) in batches {
        let items: Vec<Injection> = refs
            .iter()
            .filter_map(|(i, k)| {
                let o = outcomes[*i].as_ref()?;
                let d = &o.deferred[*k];
                Some(Injection {
                    store_entry: o.fetched.as_ref()?.entry.path.clone(),
                    target: d.target.path.clone(),
                    mode: selected[*i].mode,
                })
            })
            .collect();
        let results = adapters.get(&env).inject_many(&items).await;
        for ((i, k), r) in refs.into_iter().zip(results) {
            let Some(o) = outcomes[i].as_mut() else {
                continue;
            };
            let d = o.deferred[k].clone();
            let mut report = TargetReport {
                agent: d.target.agent.clone(),
                environment: d.target.environment.to_string(),
                path: d.target.path.clone(),
                action: d.action.as_str().to_string(),
                reasons: d.reasons.clone(),
            };
            match r {
                Ok(()) => o.in_place.push(lock_target(&d.target)),
                Err(e) => {
                    report.action = "failed".into();
                    report.reasons = vec![e.to_string()];
                    o.failure
                        .get_or_insert_with(|| inject_failure(&selected[i].id, &e));
                }
            }
            o.targets.push(report);
        }
    }
}

#[derive(Debug, Clone, Default)]
pub(super) struct PlaceOutcome {
    pub(super) fetched: Option<Fetched>,
    pub(super) targets: Vec<TargetReport>,
    pub(super) in_place: Vec<LockTarget>,
    pub(super) failure: Option<Failure>,
    pub(super) cancelled: bool,
    /// Remote injections decided here, done in one batch per environment.
    pub(super) deferred: Vec<Deferred>,
}

#[derive(Debug, Clone)]
pub(super) struct Deferred {
    pub(super) target: ResolvedTarget,
    pub(super) action: Action,
    pub(super) reasons: Vec<String>,
}

impl PlaceOutcome {
    pub(super) fn failed(f: Option<Failure>) -> PlaceOutcome {
        PlaceOutcome {
            cancelled: f.is_none(),
            failure: f,
            ..PlaceOutcome::default()
        }
    }
}

/// An adapter error as the skill's `inject` failure, with its hint.
pub(super) fn inject_failure(id: &str, e: &AdapterError) -> Failure {
    let msg = match e {
        AdapterError::Io { path, source } => format!("cannot write '{path}': {source}"),
        other => other.to_string(),
    };
    Failure {
        hint: e.hint().map(String::from),
        ..Failure::permanent(id, Phase::Inject, msg)
    }
}

pub(super) fn lock_target(t: &ResolvedTarget) -> LockTarget {
    LockTarget {
        agent: t.agent.clone(),
        path: t.path.clone(),
        environment: (!t.environment.is_local()).then(|| t.environment.to_string()),
    }
}

pub(super) async fn place_skill(
    ctx: &Ctx,
    adapters: &Adapters,
    skill: &Skill,
    targets: Vec<ResolvedTarget>,
    locks: Vec<Arc<Mutex<()>>>,
    fetched: Fetched,
    prev: Option<LockSkill>,
) -> PlaceOutcome {
    let mut o = PlaceOutcome {
        fetched: Some(fetched.clone()),
        ..PlaceOutcome::default()
    };
    let mut failed_envs: HashSet<Environment> = HashSet::new();
    let mut healthy: HashSet<Environment> = HashSet::new();
    for (t, l) in targets.iter().zip(locks) {
        let report = |action: &str, reasons: Vec<String>| TargetReport {
            agent: t.agent.clone(),
            environment: t.environment.to_string(),
            path: t.path.clone(),
            action: action.to_string(),
            reasons,
        };
        if failed_envs.contains(&t.environment) {
            o.targets.push(report("failed", vec![]));
            continue;
        }
        if ctx.cancelled() {
            o.cancelled = true;
            break;
        }
        let _guard = l.lock().await;
        let adapter = adapters.get(&t.environment);
        if !t.environment.is_local() && !healthy.contains(&t.environment) {
            if let Err(e) = adapter.health().await {
                failed_envs.insert(t.environment.clone());
                o.failure
                    .get_or_insert_with(|| inject_failure(&skill.id, &e));
                o.targets.push(report("failed", vec![e.to_string()]));
                continue;
            }
            healthy.insert(t.environment.clone());
        }
        let recorded = prev
            .as_ref()
            .filter(|p| p.has_target(&t.environment.to_string(), &t.path));
        let (action, reasons) = if t.environment.is_local() {
            decide_local(
                skill.mode,
                Path::new(&t.path),
                Some((fetched.entry.path.as_path(), fetched.entry.hash.as_str())),
                &ctx.cfg.storage_root,
                recorded.map(|l| l.content_hash.as_str()),
            )
        } else {
            decide_remote(
                adapter.as_ref(),
                &t.path,
                Some(&fetched.entry.hash),
                recorded,
            )
            .await
        };
        match action {
            Action::Create | Action::Update if !t.environment.is_local() => {
                o.deferred.push(Deferred {
                    target: t.clone(),
                    action,
                    reasons,
                });
            }
            Action::Create | Action::Update => match adapter
                .inject(&fetched.entry.path, &t.path, skill.mode)
                .await
            {
                Ok(()) => {
                    o.in_place.push(lock_target(t));
                    o.targets.push(report(action.as_str(), reasons));
                }
                Err(e) => {
                    failed_envs.insert(t.environment.clone());
                    o.failure
                        .get_or_insert_with(|| inject_failure(&skill.id, &e));
                    o.targets.push(report("failed", vec![e.to_string()]));
                }
            },
            Action::Noop => {
                o.in_place.push(lock_target(t));
                o.targets.push(report("noop", reasons));
            }
            _ => o.targets.push(report(action.as_str(), reasons)),
        }
    }
    o
}
