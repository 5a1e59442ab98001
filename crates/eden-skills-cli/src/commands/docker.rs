//! `docker mount-hint CONTAINER`: the `docker run -v` flags that would let
//! the container see the host's agent roots live.

use eden_skills::plan::Adapters;

use super::{load, local_runtime, Env, Outcome};
use crate::out::hint;

pub fn mount_hint(env: &Env, container: &str) -> Outcome {
    let cfg = load(env, false)?;
    let adapter = Adapters::default().docker(container);
    let roots = local_runtime().block_on(eden_skills::adapter::docker::mount_roots(
        &cfg, &adapter, container, &env.home,
    ));
    if roots.is_empty() {
        println!("No docker:{container} targets in {}.", cfg.path.display());
        hint(&format!(
            "add one with `eden-skills set <id> -t docker:{container}`"
        ));
        return Ok(0);
    }
    println!("# Bind-mount the agent roots so the container sees the host's skills live");
    println!("# (then target them as local paths instead of docker:{container}):");
    let flags: Vec<String> = roots.iter().map(|(h, c)| format!("-v {h}:{c}")).collect();
    println!("docker run {} ...", flags.join(" "));
    Ok(0)
}
