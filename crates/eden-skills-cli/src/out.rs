//! Human and JSON rendering.

use std::io::IsTerminal;

use eden_skills::engine::Report;
use eden_skills::failure::Kind;
use serde_json::{json, Value};

use crate::cli::Color;

#[derive(Clone, Copy)]
pub struct Style {
    pub color: bool,
}

impl Style {
    pub fn new(c: Color) -> Style {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let color = match c {
            Color::Always => true,
            Color::Never => false,
            Color::Auto => !no_color && std::io::stdout().is_terminal(),
        };
        Style { color }
    }
    fn paint(&self, code: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    pub fn ok(&self) -> String {
        self.paint("32", "✓")
    }
    pub fn bad(&self) -> String {
        self.paint("31", "✗")
    }
    /// A right-aligned action prefix (`  Syncing`).
    pub fn head(&self, word: &str) -> String {
        self.paint("1;32", &format!("{word:>8}"))
    }
}

pub fn error(msg: &str) {
    eprintln!("error: {msg}");
}
pub fn warning(msg: &str) {
    eprintln!("warning: {msg}");
}
pub fn hint(msg: &str) {
    eprintln!("~> {msg}");
}

pub fn print_json(v: &Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(v).unwrap_or_else(|_| "{}".into())
    );
}

/// The exit code of a run (docs/eden-skills/exit-codes.md#exit-codes,
/// after the exit-2 and frozen cases) and the message explaining a strict block.
pub fn run_exit(report: &Report, strict: bool, command: &str) -> (u8, Option<String>) {
    if report.cancelled {
        return (130, None);
    }
    if report.failures.iter().any(|f| f.kind == Kind::Permanent) {
        return (1, None);
    }
    if strict && !report.failures.is_empty() {
        return (1, None);
    }
    if strict && report.conflicts() > 0 {
        return (
            3,
            Some(format!(
                "strict mode blocked {command}: {} conflict entries",
                report.conflicts()
            )),
        );
    }
    if !report.verification.is_empty() {
        return (1, None);
    }
    (0, None)
}

pub fn report_json(command: &str, exit: u8, r: &Report) -> Value {
    json!({
        "command": command,
        "exit_code": exit,
        "sync": r.sync,
        "summary": r.summary,
        "skills": r.skills,
        "failures": r.failures,
        "verification": {"passed": r.verification.is_empty(), "issues": r.verification},
        "warnings": r.warnings,
    })
}

/// The human report: sync line, one line per changed target, summary, then
/// warnings, verification issues and failures on stderr.
pub fn report_human(st: Style, r: &Report, exit: u8, strict_msg: Option<&str>) {
    // The summary line keeps its ✓ whatever the outcome: scripts match it
    // as a stable substring; failures follow on stderr.
    let s = &r.sync;
    println!(
        "{}  {} cloned, {} updated, {} skipped, {} failed",
        st.head("Syncing"),
        s.cloned,
        s.updated,
        s.skipped,
        s.failed
    );
    for sk in &r.skills {
        for t in &sk.targets {
            match t.action.as_str() {
                "create" | "update" | "remove" => {
                    println!("  {} {} {:<7} {}", st.ok(), sk.id, t.action, t.path)
                }
                "conflict" => println!(
                    "  {} {} conflict {}: {}",
                    st.bad(),
                    sk.id,
                    t.path,
                    t.reasons.join("; ")
                ),
                _ => {}
            }
        }
    }
    let m = &r.summary;
    println!(
        "{}  {} {} created, {} updated, {} noop, {} conflicts, {} removed",
        st.head("Summary"),
        st.ok(),
        m.created,
        m.updated,
        m.noop,
        m.conflicts,
        m.removed
    );
    for w in &r.warnings {
        warning(w);
    }
    if !r.verification.is_empty() {
        error(&format!(
            "verification failed for {} target(s)",
            r.verification.len()
        ));
        for v in &r.verification {
            eprintln!(
                "  [{}] {} {}: {}",
                v.check, v.skill_id, v.target_path, v.message
            );
        }
    }
    if !r.failures.is_empty() {
        let head = format!("{} skill(s) failed", r.failures.len());
        if exit == 0 {
            warning(&head);
        } else {
            error(&head);
        }
        for f in &r.failures {
            eprintln!("  {} {}", st.bad(), f.line());
            if let Some(h) = &f.hint {
                hint(h);
            }
        }
    }
    if let Some(m) = strict_msg {
        error(m);
    }
    if r.cancelled {
        error("interrupted; finished steps are recorded in the lock");
    }
}
