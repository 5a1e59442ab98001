//! `remove`: the targets of the removed skills that eden-skills placed are
//! deleted (only what it placed, see `engine::remove_recorded`); the lock
//! keeps the targets that could not be removed.

use crate::engine::remove_recorded;
use crate::failure::Failure;
use crate::lock::Lock;
use crate::plan::Adapters;

/// A target left in place, and why.
#[derive(Debug, Clone)]
pub struct KeptTarget {
    pub skill_id: String,
    pub path: String,
    pub reason: String,
}

/// What removing skills did to their targets.
#[derive(Debug, Default)]
pub struct RemoveReport {
    pub kept: Vec<KeptTarget>,
    pub failures: Vec<Failure>,
}

/// Removes the recorded targets of `ids` and their lock entries (a lock
/// entry stays with the targets whose removal failed). `force` deletes
/// copies whose content changed since they were installed.
pub async fn remove_skills(
    adapters: &Adapters,
    storage: &std::path::Path,
    lock: &mut Lock,
    ids: &[String],
    force: bool,
) -> RemoveReport {
    let mut report = RemoveReport::default();
    for id in ids {
        let Some(l) = lock.get(id).cloned() else {
            continue;
        };
        let mut left = Vec::new();
        for t in &l.targets {
            match remove_recorded(adapters, storage, &l, t, force).await {
                Ok(None) => {}
                Ok(Some(reason)) => report.kept.push(KeptTarget {
                    skill_id: id.clone(),
                    path: t.path.clone(),
                    reason,
                }),
                Err(f) => {
                    report.failures.push(f);
                    left.push(t.clone());
                }
            }
        }
        lock.skills.retain(|e| &e.id != id);
        if !left.is_empty() {
            let mut e = l.clone();
            e.targets = left;
            lock.skills.push(e);
        }
    }
    report
}
