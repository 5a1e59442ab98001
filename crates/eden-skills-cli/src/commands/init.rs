//! `init [--force]`: a config from the template, the storage root and an
//! empty lock.

use eden_skills::config::Config;
use eden_skills::fsutil;
use eden_skills::lock::Lock;

use super::{fail, write_config, Env, Outcome};

pub fn init(env: &Env, force: bool) -> Outcome {
    if env.config.exists() && !force {
        return fail(
            3,
            &format!(
                "config already exists: {} (use --force to overwrite)",
                env.config.display()
            ),
        );
    }
    write_config(&env.config, eden_skills::edit::INIT_TEMPLATE)?;
    let cfg = Config::load(&env.config, &env.home).or_else(|e| fail(1, &e.to_string()))?;
    if let Err(e) = std::fs::create_dir_all(&cfg.storage_root) {
        return fail(
            1,
            &format!("cannot create {}: {e}", cfg.storage_root.display()),
        );
    }
    if let Err(e) = fsutil::atomic_write(&cfg.lock_path(), Lock::empty().render().as_bytes()) {
        return fail(
            1,
            &format!("cannot write {}: {e}", cfg.lock_path().display()),
        );
    }
    println!(
        "{}  config at {}",
        env.st.head("Created"),
        env.config.display()
    );
    Ok(0)
}
