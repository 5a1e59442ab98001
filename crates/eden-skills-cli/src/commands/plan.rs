//! `plan [--json]`: what `apply` would do; no writes, no network.

use eden_skills::plan::{self, Adapters};
use serde_json::json;

use super::{load, load_lock, local_runtime, Env, Outcome};
use crate::out::print_json;

pub fn plan(env: &Env, json: bool, strict: bool) -> Outcome {
    let cfg = load(env, strict)?;
    let lock = load_lock(&cfg);
    let items = local_runtime().block_on(plan::plan(&cfg, &lock, &Adapters::default()));
    if json {
        print_json(&serde_json::to_value(&items).unwrap_or(json!([])));
        return Ok(0);
    }
    let pending: Vec<_> = items
        .iter()
        .filter(|i| i.action != plan::Action::Noop)
        .collect();
    if pending.is_empty() {
        println!("0 actions (up to date)");
    }
    for i in pending {
        println!(
            "{:<8} {} {} ({})",
            i.action.as_str(),
            i.skill_id,
            i.target_path,
            i.reasons.join("; ")
        );
    }
    Ok(0)
}
