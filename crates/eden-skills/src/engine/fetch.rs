//! Phase A: fetching sources and exporting skills into the store. One
//! task per git repository (one clone or fetch, then each member exported
//! from its commit) or local directory; safety metadata beside the store.

use super::*;

/// Phase A: one task per group (`fetch_git_group`, `export_local_member`),
/// under the network bound; each skill's result lands in `results`.
pub(super) async fn fetch_sources(
    ctx: &Arc<Ctx>,
    cfg: &Arc<Config>,
    mut groups: BTreeMap<String, Vec<Member>>,
    order: Vec<String>,
    report: &mut Report,
    results: &mut Results,
) {
    let mut tasks: JoinSet<(SourceOutcome, Vec<MemberResult>, Vec<String>)> = JoinSet::new();
    let mut group_ids: Vec<Vec<String>> = Vec::new();
    for key in order {
        let members = groups.remove(&key).unwrap_or_default();
        group_ids.push(members.iter().map(|m| m.id.clone()).collect());
        let ctx = ctx.clone();
        if let Some(id) = key.strip_prefix("dir:") {
            let skill = cfg.skill(id).cloned();
            tasks.spawn(async move {
                match skill {
                    Some(s) => export_local_member(&ctx, &s, members.into_iter().next()).await,
                    None => (SourceOutcome::Skipped, Vec::new(), Vec::new()),
                }
            });
        } else {
            tasks.spawn(async move { fetch_git_group(&ctx, &key, members).await });
        }
    }
    let mut seen_ids: HashSet<String> = HashSet::new();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((outcome, members, warnings)) => {
                match outcome {
                    SourceOutcome::Cloned => report.sync.cloned += 1,
                    SourceOutcome::Updated => report.sync.updated += 1,
                    SourceOutcome::Skipped => report.sync.skipped += 1,
                    SourceOutcome::Failed => report.sync.failed += 1,
                }
                report.warnings.extend(warnings);
                for (id, r) in members {
                    seen_ids.insert(id.clone());
                    results.insert(id, r);
                }
            }
            Err(e) => {
                // A panicking task fails the skills it was fetching.
                report.sync.failed += 1;
                let _ = e;
            }
        }
    }
    for ids in &group_ids {
        for id in ids {
            if !seen_ids.contains(id) && !results.contains_key(id) {
                results.insert(
                    id.clone(),
                    Err(Some(Failure::permanent(
                        id,
                        Phase::Fetch,
                        "internal error: the fetch task panicked",
                    ))),
                );
            }
        }
    }
}

pub(super) async fn export_local_member(
    ctx: &Ctx,
    skill: &Skill,
    m: Option<Member>,
) -> (SourceOutcome, Vec<MemberResult>, Vec<String>) {
    let Some(m) = m else {
        return (SourceOutcome::Skipped, Vec::new(), Vec::new());
    };
    let mut warnings = Vec::new();
    let done = |entry: StoreEntry| {
        Ok(Fetched {
            commit: String::new(),
            entry,
            reg: m.reg.clone(),
        })
    };
    if let Some(entry) = known_after_rehash(ctx, &m) {
        return (
            SourceOutcome::Skipped,
            vec![(m.id.clone(), done(entry))],
            warnings,
        );
    }
    if ctx.cancelled() {
        return (
            SourceOutcome::Skipped,
            vec![(m.id.clone(), Err(None))],
            warnings,
        );
    }
    let dir = ctx.cfg.local_skill_dir(&m.repo, &m.subpath);
    let _cpu = ctx.cpu.acquire().await;
    let store = ctx.store.clone();
    let d = dir.clone();
    let r = tokio::task::spawn_blocking(move || store.export_dir(&d)).await;
    let r = match r {
        Ok(r) => r,
        Err(e) => Err(ExportError::Source(format!("export task failed: {e}"))),
    };
    match r {
        Ok((entry, w)) => {
            warnings.extend(w.into_iter().map(|x| format!("{}: {x}", m.id)));
            let root_license = (m.subpath != ".")
                .then(|| safety::license_in(&ctx.cfg.local_dir(&m.repo)))
                .flatten();
            write_safety(ctx, skill, "", &entry, root_license);
            (
                SourceOutcome::Skipped,
                vec![(m.id.clone(), done(entry))],
                warnings,
            )
        }
        Err(ExportError::Source(msg)) => (
            SourceOutcome::Failed,
            vec![(
                m.id.clone(),
                Err(Some(Failure::permanent(
                    &m.id,
                    Phase::Checkout,
                    format!("cannot read local source: {msg}"),
                ))),
            )],
            warnings,
        ),
        Err(e) => (
            SourceOutcome::Failed,
            vec![(
                m.id.clone(),
                Err(Some(Failure::permanent(
                    &m.id,
                    Phase::Checkout,
                    e.to_string(),
                ))),
            )],
            warnings,
        ),
    }
}

/// A matching lock entry whose store entry exists (and, under `repair`,
/// still hashes to its name; a corrupted entry is removed for re-export).
pub(super) fn known_after_rehash(ctx: &Ctx, m: &Member) -> Option<StoreEntry> {
    let entry = m.known.clone()?;
    if ctx.rehash {
        match crate::store::hash_dir(&entry.path) {
            Ok(h) if h == entry.hash => {}
            _ => {
                let _ = crate::fsutil::remove_any(&entry.path);
                return None;
            }
        }
    }
    Some(entry)
}

pub(super) fn write_safety(
    ctx: &Ctx,
    skill: &Skill,
    commit: &str,
    entry: &StoreEntry,
    root_license: Option<String>,
) {
    let text = safety::license_in(&entry.path).or(root_license);
    let (status, hint) = safety::license_of(text.as_deref());
    let (repo, _, _) = source_fields(skill);
    let (risk_labels, executables) = safety::risk_scan(&entry.path);
    let s = Safety {
        version: 1,
        skill_id: skill.id.clone(),
        source: repo,
        resolved_commit: commit.to_string(),
        content_hash: entry.hash.clone(),
        retrieved_at_unix: crate::fsutil::unix_now(),
        license_status: status.to_string(),
        license_hint: hint,
        risk_labels,
        executables,
        no_exec_metadata_only: skill.metadata_only,
    };
    if let Err(e) = safety::save(&ctx.store.storage, &s) {
        tracing::warn!("cannot write safety metadata for {}: {e}", skill.id);
    }
}

pub(super) fn git_failure(id: &str, phase: Phase, e: &GitError, url: &str) -> Failure {
    match e {
        GitError::Timeout(s) => Failure::new(
            id,
            phase,
            Kind::Transient,
            format!("timed out after {s} s: {url}"),
        ),
        GitError::Spawn(err) if err.kind() == std::io::ErrorKind::NotFound => {
            Failure::permanent(id, phase, "git not found on PATH; install git")
        }
        GitError::Spawn(err) => Failure::permanent(id, phase, format!("cannot run git: {err}")),
        GitError::Failed { stderr } => {
            let (kind, msg) = classify(stderr, url);
            Failure::new(id, phase, kind, msg)
        }
    }
}

/// The commit is in the cache, fetching it by id if needed.
pub(super) async fn ensure_commit(ctx: &Ctx, cache: &Path, commit: &str) -> bool {
    if ctx
        .git
        .resolve(cache, commit)
        .await
        .ok()
        .flatten()
        .is_some()
    {
        return true;
    }
    let permit = ctx.net.acquire().await;
    let _ = ctx.git.fetch_commit(cache, commit).await;
    drop(permit);
    ctx.git
        .resolve(cache, commit)
        .await
        .ok()
        .flatten()
        .is_some()
}

pub(super) fn is_hex40(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Phase A for one repository: at most one network operation for all its
/// skills, then a local export per skill that needs one.
pub(super) async fn fetch_git_group(
    ctx: &Arc<Ctx>,
    repo: &str,
    members: Vec<Member>,
) -> (SourceOutcome, Vec<MemberResult>, Vec<String>) {
    let mut out: Vec<MemberResult> = Vec::new();
    let mut warnings = Vec::new();
    let mut need: Vec<Member> = Vec::new();
    for m in members {
        match known_after_rehash(ctx, &m) {
            Some(entry) => {
                let commit = m.locked.as_ref().map(|l| l.0.clone()).unwrap_or_default();
                out.push((
                    m.id.clone(),
                    Ok(Fetched {
                        commit,
                        entry,
                        reg: m.reg.clone(),
                    }),
                ));
            }
            None => need.push(m),
        }
    }
    if need.is_empty() {
        return (SourceOutcome::Skipped, out, warnings);
    }
    if ctx.cancelled() {
        out.extend(need.iter().map(|m| (m.id.clone(), Err(None))));
        return (SourceOutcome::Skipped, out, warnings);
    }
    let cache = ctx.store.storage.join(".repos").join(cache_key(repo));
    let fresh = need.iter().any(|m| m.locked.is_none());
    let mut g = GroupState {
        outcome: SourceOutcome::Skipped,
        fetched_now: ctx.prefetched.contains_key(repo),
        failed_refs: HashMap::new(),
    };
    if ctx.prefetched.get(repo) == Some(&true) {
        g.outcome = SourceOutcome::Cloned;
    }
    if !cache.is_dir() {
        let permit = ctx.net.acquire().await;
        if ctx.cancelled() {
            out.extend(need.iter().map(|m| (m.id.clone(), Err(None))));
            return (SourceOutcome::Skipped, out, warnings);
        }
        let r = ctx.git.clone_bare(repo, &cache).await;
        if r.is_ok() {
            // The clone has the default branch; other refs one by one, so
            // one broken branch fails only the skills that name it.
            for r in group_refs(&need) {
                if let Err(e) = ctx.git.fetch_missing(&cache, &[r.as_str()]).await {
                    g.failed_refs
                        .insert(r, git_failure("", Phase::Fetch, &e, repo));
                }
            }
        }
        drop(permit);
        match r {
            Ok(()) => {
                g.outcome = SourceOutcome::Cloned;
                g.fetched_now = true;
            }
            Err(e) => {
                for m in &need {
                    out.push((
                        m.id.clone(),
                        Err(Some(git_failure(&m.id, Phase::Clone, &e, repo))),
                    ));
                }
                return (SourceOutcome::Failed, out, warnings);
            }
        }
    } else if fresh && !g.fetched_now {
        let permit = ctx.net.acquire().await;
        let mut changed = false;
        let refs = group_refs(&need);
        for r in &refs {
            match ctx.git.fetch_refs(&cache, &[r.as_str()]).await {
                Ok(c) => changed |= c,
                Err(e) => {
                    g.failed_refs
                        .insert(r.clone(), git_failure("", Phase::Fetch, &e, repo));
                }
            }
        }
        drop(permit);
        g.fetched_now = true;
        g.outcome = if !refs.is_empty() && g.failed_refs.len() == refs.len() {
            SourceOutcome::Failed
        } else if changed {
            SourceOutcome::Updated
        } else {
            SourceOutcome::Skipped
        };
    }
    // Commits are decided one member at a time (a locked one may fetch);
    // the exports then run in parallel, bounded by the CPU semaphore.
    let mut resolved: HashMap<String, Option<String>> = HashMap::new();
    let many = need.len() > 1;
    let mut listings: HashMap<String, Option<Arc<Vec<u8>>>> = HashMap::new();
    let mut exports: JoinSet<(MemberResult, Vec<String>)> = JoinSet::new();
    for m in need {
        if ctx.cancelled() {
            out.push((m.id.clone(), Err(None)));
            continue;
        }
        let commit = match &m.locked {
            Some((locked, _)) if is_hex40(locked) => {
                locked_commit(ctx, &cache, repo, &m, locked, &mut g).await
            }
            _ => match g.failed_refs.get(&m.git_ref) {
                Some(f) => {
                    let mut f = f.clone();
                    f.skill_id = m.id.clone();
                    Err(Some(f))
                }
                None => wanted_commit(ctx, &cache, repo, &m, &mut resolved, &mut warnings).await,
            },
        };
        match commit {
            Ok(commit) => {
                // Several skills of one commit share one tree listing.
                let listing = if many {
                    match listings.get(&commit) {
                        Some(l) => l.clone(),
                        None => {
                            let l = ctx.git.list_tree(&cache, &commit).await.ok().map(Arc::new);
                            listings.insert(commit.clone(), l.clone());
                            l
                        }
                    }
                } else {
                    None
                };
                let (ctx, cache, repo) = (ctx.clone(), cache.clone(), repo.to_string());
                exports.spawn(async move {
                    let mut w = Vec::new();
                    let r = export_member(
                        &ctx,
                        &cache,
                        &repo,
                        &m,
                        commit,
                        &mut w,
                        listing.as_deref().map(Vec::as_slice),
                    )
                    .await;
                    ((m.id.clone(), r), w)
                });
            }
            Err(f) => out.push((m.id.clone(), Err(f))),
        }
    }
    while let Some(joined) = exports.join_next().await {
        // A panicking export is reported by `fetch_sources` for its id.
        if let Ok((r, w)) = joined {
            out.push(r);
            warnings.extend(w);
        }
    }
    (g.outcome, out, warnings)
}

/// The distinct refs a group's members name (commit ids excluded).
fn group_refs(members: &[Member]) -> Vec<String> {
    let mut refs: Vec<String> = members
        .iter()
        .map(|m| m.git_ref.clone())
        .filter(|r| !crate::git::is_commit_id(r))
        .collect();
    refs.sort();
    refs.dedup();
    refs
}

/// What fetching a repository's group has done so far.
pub(super) struct GroupState {
    pub(super) outcome: SourceOutcome,
    /// The cache was cloned or fetched in this run (no second fetch).
    pub(super) fetched_now: bool,
    /// Refs whose fetch failed, with why (the skills naming them fail).
    pub(super) failed_refs: HashMap<String, Failure>,
}

/// A member with a locked commit: found in the cache, else fetched once
/// for the group, else fetched by commit id.
pub(super) async fn locked_commit(
    ctx: &Ctx,
    cache: &Path,
    repo: &str,
    m: &Member,
    locked: &str,
    g: &mut GroupState,
) -> Result<String, Option<Failure>> {
    let have = |c: Option<String>| c.is_some();
    let mut found = have(ctx.git.resolve(cache, locked).await.ok().flatten());
    if !found && !g.fetched_now {
        let permit = ctx.net.acquire().await;
        let r = ctx.git.fetch_refs(cache, &[m.git_ref.as_str()]).await;
        drop(permit);
        g.fetched_now = true;
        if let Err(e) = r {
            if g.outcome != SourceOutcome::Cloned {
                g.outcome = SourceOutcome::Failed;
            }
            return Err(Some(git_failure(&m.id, Phase::Fetch, &e, repo)));
        }
        if g.outcome == SourceOutcome::Skipped {
            g.outcome = SourceOutcome::Updated;
        }
        found = have(ctx.git.resolve(cache, locked).await.ok().flatten());
    }
    if !found {
        let permit = ctx.net.acquire().await;
        let _ = ctx.git.fetch_commit(cache, locked).await;
        drop(permit);
        found = have(ctx.git.resolve(cache, locked).await.ok().flatten());
    }
    if !found {
        return Err(Some(Failure::permanent(
            &m.id,
            Phase::Checkout,
            format!("locked commit {locked} not found in {repo}"),
        )));
    }
    Ok(locked.to_string())
}

/// A member without a usable lock entry: its ref resolved, or the index's
/// pinned commit, or a commit id given as the ref.
pub(super) async fn wanted_commit(
    ctx: &Ctx,
    cache: &Path,
    repo: &str,
    m: &Member,
    resolved: &mut HashMap<String, Option<String>>,
    warnings: &mut Vec<String>,
) -> Result<String, Option<Failure>> {
    let fail = |msg: String| Err(Some(Failure::permanent(&m.id, Phase::Checkout, msg)));
    // One `rev-parse` per ref for the whole group.
    let by_ref = match resolved.get(&m.git_ref) {
        Some(c) => c.clone(),
        None => {
            let c = ctx
                .git
                .resolve(cache, &m.git_ref)
                .await
                .map_err(|e| Some(git_failure(&m.id, Phase::Checkout, &e, repo)))?;
            resolved.insert(m.git_ref.clone(), c.clone());
            c
        }
    };
    match (&m.pinned, by_ref) {
        // An index commit is installed exactly.
        (Some(pin), by_ref) => {
            if by_ref.as_deref() != Some(pin.as_str()) {
                warnings.push(format!(
                    "ref {} of {} moved; installing pinned commit {pin}",
                    m.git_ref, m.id
                ));
            }
            if !ensure_commit(ctx, cache, pin).await {
                return fail(format!("pinned commit {pin} not found in {repo}"));
            }
            Ok(pin.clone())
        }
        (None, Some(c)) => Ok(c),
        (None, None) if is_hex40(&m.git_ref) => {
            if !ensure_commit(ctx, cache, &m.git_ref).await {
                return fail(format!("commit {} not found in {repo}", m.git_ref));
            }
            Ok(m.git_ref.to_ascii_lowercase())
        }
        (None, None) => fail(format!("unknown ref '{}' in {repo}", m.git_ref)),
    }
}

/// Exports `<commit>:<subpath>` of a member into the store (and its safety
/// metadata beside it).
pub(super) async fn export_member(
    ctx: &Ctx,
    cache: &Path,
    repo: &str,
    m: &Member,
    commit: String,
    warnings: &mut Vec<String>,
    listing: Option<&[u8]>,
) -> Result<Fetched, Option<Failure>> {
    let fail = |phase: Phase, msg: String| Err(Some(Failure::permanent(&m.id, phase, msg)));
    let _cpu = ctx.cpu.acquire().await;
    let mut w = match ctx.store.writer() {
        Ok(w) => w,
        Err(e) => return fail(Phase::Checkout, format!("cannot write the store: {e}")),
    };
    match ctx
        .git
        .export(cache, &commit, &m.subpath, &mut w, listing)
        .await
    {
        Ok(Ok(extras)) => match w.finish() {
            Ok((entry, ws)) => {
                warnings.extend(ws.into_iter().map(|x| format!("{}: {x}", m.id)));
                if let Some(skill) = ctx.cfg.skill(&m.id) {
                    write_safety(ctx, skill, &commit, &entry, extras.root_license);
                }
                Ok(Fetched {
                    commit,
                    entry,
                    reg: m.reg.clone(),
                })
            }
            Err(e) => fail(Phase::Checkout, e.to_string()),
        },
        Ok(Err(msg)) => fail(Phase::Checkout, msg),
        Err(e) => Err(Some(git_failure(&m.id, Phase::Checkout, &e, repo))),
    }
}
