//! `doctor`: the offline health check, rendered; `--strict` exits 3 on
//! errors and warnings.

use std::io::Write;

use eden_skills::doctor::Severity;
use eden_skills::plan::Adapters;
use serde_json::json;

use super::{load, load_lock, local_runtime, Env, Outcome};
use crate::out::{hint, print_json};

fn print_findings(env: &Env, findings: &[eden_skills::doctor::Finding]) {
    for f in findings {
        let who = if f.skill_id.is_empty() {
            f.target_path.clone()
        } else {
            f.skill_id.clone()
        };
        let mark = match f.severity {
            Severity::Error => env.st.bad(),
            Severity::Warning => "!".to_string(),
            Severity::Info => "·".to_string(),
        };
        println!("{mark} [{}] {}", f.code, who);
        println!("    {}", f.message);
        let _ = std::io::stdout().flush();
        hint(&f.remediation);
    }
}

pub fn doctor(env: &Env, json: bool, strict: bool, no_warning: bool) -> Outcome {
    let cfg = load(env, false)?;
    let lock = load_lock(&cfg);
    let mut findings = local_runtime().block_on(eden_skills::doctor::doctor(
        &cfg,
        &lock,
        &Adapters::default(),
    ));
    if no_warning {
        findings.retain(|f| f.severity != Severity::Warning);
    }
    let count = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
    let (errors, warnings) = (count(Severity::Error), count(Severity::Warning));
    if json {
        print_json(&json!({
            "summary": {"total": findings.len(), "error": errors, "warning": warnings},
            "findings": findings,
        }));
    } else if findings.is_empty() {
        println!(
            "{}  {} no issues detected",
            env.st.head("Doctor"),
            env.st.ok()
        );
    } else if errors + warnings == 0 {
        // Information only (e.g. skills that ship scripts): nothing to fix.
        println!(
            "{}  {} no issues detected, {} info",
            env.st.head("Doctor"),
            env.st.ok(),
            findings.len()
        );
        print_findings(env, &findings);
    } else {
        println!(
            "{}  {} {} error(s), {} warning(s), {} info",
            env.st.head("Doctor"),
            // ✓ only when there is nothing to act on.
            if errors > 0 {
                env.st.bad()
            } else {
                "!".to_string()
            },
            errors,
            warnings,
            findings.len() - errors - warnings
        );
        print_findings(env, &findings);
    }
    Ok(if strict && errors + warnings > 0 {
        3
    } else {
        0
    })
}
