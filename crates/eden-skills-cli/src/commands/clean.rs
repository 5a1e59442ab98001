//! `clean [--dry-run]`: remove what nothing uses (`eden_skills::clean`).

use eden_skills::clean::CleanReport;
use serde_json::{json, Value};

use super::{load, load_lock, Env, Outcome};
use crate::out::{print_json, warning};

/// The JSON shape of a clean.
pub fn clean_json(r: &CleanReport) -> Value {
    let mut v = json!({"action": "clean"});
    if let (Some(m), Ok(Value::Object(fields))) = (v.as_object_mut(), serde_json::to_value(r)) {
        m.extend(fields);
    }
    v
}

pub fn clean(env: &Env, json: bool, dry_run: bool) -> Outcome {
    let cfg = load(env, false)?;
    let lock = load_lock(&cfg);
    let r = eden_skills::clean::clean(&cfg, &lock, dry_run);
    for w in &r.warnings {
        warning(w);
    }
    if json {
        print_json(&clean_json(&r));
        return Ok(0);
    }
    let verb = if dry_run { "Would remove" } else { "Removed" };
    for p in r
        .removed_cache_entries
        .iter()
        .chain(&r.removed_store_entries)
        .chain(&r.removed_scratch_entries)
        .chain(&r.removed_discovery_dirs)
    {
        println!("  {verb} {p}");
    }
    println!(
        "{}  {} bytes {}",
        env.st.head("Clean"),
        r.freed_bytes,
        if dry_run { "would be freed" } else { "freed" }
    );
    Ok(0)
}
