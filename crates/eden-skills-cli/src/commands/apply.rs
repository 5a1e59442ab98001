//! `apply [--frozen]` and `repair`: reconcile every skill (the engine),
//! save the lock, render the report.

use std::sync::Arc;

use eden_skills::engine::{self, Command, RunOptions};
use eden_skills::lock::Lock;
use eden_skills::plan::{frozen_mismatch, Adapters};
use serde_json::json;

use super::{cancel_flag, concurrency, load, runtime, save_lock, Env, Exit, Outcome};
use crate::cli::RunFlags;
use crate::out::{self, error, print_json, warning};

pub fn apply(env: &Env, command: Command, flags: RunFlags, frozen: bool) -> Outcome {
    let cfg = load(env, flags.strict)?;
    let conc = concurrency(&cfg, flags.concurrency.as_deref())?;
    let lock_path = cfg.lock_path();
    let (mut lock, warn) = Lock::load_in(&lock_path, &cfg.home);
    let rt = runtime();
    if frozen {
        let usable = warn.is_none() && lock_path.exists();
        let diff = rt.block_on(frozen_mismatch(
            &cfg,
            usable.then_some(&lock),
            &Adapters::default(),
        ));
        if let Some(diff) = diff {
            let msg = format!("frozen: config and lock disagree: {diff}");
            if flags.json {
                print_json(&json!({"command": command.as_str(), "exit_code": 3, "error": msg}));
            }
            error(&msg);
            return Err(Exit(3));
        }
    } else if let Some(w) = warn {
        warning(w);
    }
    let mut opts = RunOptions::new(command, conc);
    opts.force = flags.force;
    opts.cancel = cancel_flag(&rt);
    let cfg = Arc::new(cfg);
    let report = rt.block_on(engine::run(cfg.clone(), &mut lock, opts));
    let io_fail = !frozen && save_lock(&cfg, &lock).is_err();
    let (mut exit, strict_msg) = out::run_exit(&report, flags.strict, command.as_str());
    if io_fail && exit == 0 {
        exit = 1;
    }
    if flags.json {
        print_json(&out::report_json(command.as_str(), exit, &report));
        for w in &report.warnings {
            warning(w);
        }
        for f in &report.failures {
            eprintln!("  ✗ {}", f.line());
        }
    } else {
        out::report_human(env.st, &report, exit, strict_msg.as_deref());
    }
    Ok(exit)
}
