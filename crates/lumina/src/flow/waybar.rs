//! Waybar: lumina-driven modules are Waybar `custom/<name>` modules whose
//! `exec` is `lumina waybar-module <name>` and whose `signal` is N. A context
//! change writes the visibility of every such module to a state file, then
//! sends `SIGRTMIN+N` to the running Waybar processes for just the modules
//! whose visibility changed; Waybar re-runs their `exec`, which reads the
//! state file. A module with empty text is hidden by Waybar.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::registry::FlowContext;

/// Real-time signals Waybar can be sent: SIGRTMIN+1 ..= SIGRTMIN+MAX_SIGNAL.
pub const MAX_SIGNAL: usize = 24;

/// `custom/rust` and `rust` name the same module.
pub fn short(module: &str) -> &str {
    module.strip_prefix("custom/").unwrap_or(module)
}

/// Every module the contexts mention, with its signal number: the position
/// in name order, from 1. `lumina add waybar` writes the same numbers into
/// the Waybar config.
pub fn signals(contexts: &[FlowContext]) -> BTreeMap<String, usize> {
    let names: BTreeSet<&str> = contexts
        .iter()
        .flat_map(|c| c.show.iter().chain(&c.hide))
        .map(|m| short(m))
        .collect();
    names
        .into_iter()
        .enumerate()
        .map(|(i, n)| (n.to_string(), i + 1))
        .collect()
}

/// Whether `module` shows in `ctx`: shown where a context lists it under
/// `show`, hidden where it lists it under `hide`; otherwise a module some
/// context shows is hidden (it belongs to that context) and any other shows.
pub fn visible(module: &str, ctx: &FlowContext, all: &[FlowContext]) -> bool {
    let is = |list: &Vec<String>| list.iter().any(|m| short(m) == module);
    if is(&ctx.show) {
        true
    } else if is(&ctx.hide) {
        false
    } else {
        !all.iter().any(|c| is(&c.show))
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct State {
    pub context: String,
    /// module (short name) -> visible
    pub modules: BTreeMap<String, bool>,
}

impl State {
    pub fn compute(ctx: &FlowContext, all: &[FlowContext]) -> State {
        State {
            context: ctx.name.clone(),
            modules: signals(all)
                .into_keys()
                .map(|m| {
                    let v = visible(&m, ctx, all);
                    (m, v)
                })
                .collect(),
        }
    }

    pub fn read(path: &Path) -> Option<State> {
        serde_json::from_slice(&std::fs::read(path).ok()?).ok()
    }
}

/// The modules whose visibility differs between two states.
pub fn changed(old: &State, new: &State) -> Vec<String> {
    new.modules
        .iter()
        .filter(|(m, v)| old.modules.get(*m) != Some(v))
        .map(|(m, _)| m.clone())
        .collect()
}

/// The JSON a Waybar custom module with `"return-type": "json"` expects.
pub fn module_json(module: &str, state: &State) -> serde_json::Value {
    let m = short(module);
    match state.modules.get(m) {
        Some(true) => serde_json::json!({
            "text": m,
            "alt": state.context,
            "tooltip": format!("lumina: {} context", state.context),
            "class": ["lumina", state.context.as_str()],
        }),
        Some(false) => serde_json::json!({"text": "", "class": ["lumina", "hidden"]}),
        None => serde_json::json!({
            "text": "",
            "tooltip": format!("lumina: no context lists {m}"),
            "class": ["lumina", "unknown"],
        }),
    }
}

/// Running Waybar processes of this user and session: `comm` is `waybar`,
/// owned by our uid, and (when its environment is readable) sharing our
/// `XDG_RUNTIME_DIR`.
pub fn processes() -> Vec<i32> {
    use std::os::unix::fs::MetadataExt;
    let uid = rustix::process::getuid().as_raw();
    let runtime = std::env::var("XDG_RUNTIME_DIR").unwrap_or_default();
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in rd.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        let dir = e.path();
        if std::fs::read(dir.join("comm")).ok().as_deref() != Some(b"waybar\n") {
            continue;
        }
        if std::fs::metadata(&dir).map(|m| m.uid()).ok() != Some(uid) {
            continue;
        }
        if let Ok(env) = std::fs::read(dir.join("environ")) {
            let theirs = env
                .split(|b| *b == 0)
                .find_map(|kv| kv.strip_prefix(b"XDG_RUNTIME_DIR="))
                .unwrap_or_default();
            if theirs != runtime.as_bytes() {
                continue;
            }
        }
        out.push(pid);
    }
    out
}

/// Sends SIGRTMIN+`n` to `pid`.
pub fn signal(pid: i32, n: usize) -> std::io::Result<()> {
    let sig = libc::SIGRTMIN() + n as i32;
    // SAFETY: kill(2) with a plain pid and a real-time signal number.
    if unsafe { libc::kill(pid, sig) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// A Waybar config member for the lumina module `m` on signal `n`.
pub fn config_entry(m: &str, n: usize) -> String {
    format!(
        "  \"custom/{m}\": {{\n    \"exec\": \"lumina waybar-module {m}\",\n    \"return-type\": \"json\",\n    \"interval\": \"once\",\n    \"signal\": {n}\n  }}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(name: &str, show: &[&str], hide: &[&str]) -> FlowContext {
        FlowContext {
            name: name.into(),
            show: show.iter().map(|s| s.to_string()).collect(),
            hide: hide.iter().map(|s| s.to_string()).collect(),
            ..FlowContext::default()
        }
    }

    #[test]
    fn visibility_and_changes() {
        let all = vec![
            ctx("rust", &["custom/rust"], &["custom/media"]),
            ctx("node", &["custom/node"], &[]),
            ctx("default", &[], &[]),
        ];
        assert_eq!(
            signals(&all),
            BTreeMap::from([("media".into(), 1), ("node".into(), 2), ("rust".into(), 3)])
        );
        let d = State::compute(&all[2], &all);
        let r = State::compute(&all[0], &all);
        let n = State::compute(&all[1], &all);
        assert!(d.modules["media"]);
        assert!(!d.modules["rust"]);
        assert_eq!(changed(&d, &r), ["media", "rust"]);
        assert_eq!(changed(&r, &n), ["media", "node", "rust"]);
        assert_eq!(changed(&n, &n), Vec::<String>::new());
        assert_eq!(module_json("custom/rust", &r)["text"], "rust");
        assert_eq!(module_json("rust", &d)["text"], "");
    }
}
