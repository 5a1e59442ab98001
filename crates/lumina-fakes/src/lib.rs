//! A stand-in for Hyprland's request socket, for tests, the demo and the
//! benchmarks: Hyprland cannot run on a machine without a GPU session.
//!
//! It speaks the real protocol: one request per connection (optionally with
//! `flags/` such as `j/`), `[[BATCH]]` requests whose commands are separated
//! by `;` and whose replies are joined by blank lines, `j/version` JSON and,
//! for 0.55 and later, `status` with the `configProvider` line. As the
//! chosen configuration flavour dictates, a hyprlang instance accepts
//! `keyword` and `dispatch` and a Lua instance rejects `keyword` (pointing to
//! `eval`) and accepts `eval hl.…`. Every request is recorded.

use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    /// Hyprland 0.54 reading hyprland.conf.
    Hyprlang,
    /// Hyprland 0.55 reading hyprland.lua.
    Lua,
}

pub struct FakeHyprland {
    pub socket: PathBuf,
    requests: Arc<Mutex<Vec<String>>>,
}

impl FakeHyprland {
    /// Listens at `socket` (its directory is created) on a background thread.
    pub fn start(socket: &Path, flavour: Flavour) -> std::io::Result<FakeHyprland> {
        if let Some(d) = socket.parent() {
            std::fs::create_dir_all(d)?;
        }
        let _ = std::fs::remove_file(socket);
        let listener = UnixListener::bind(socket)?;
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&requests);
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut c) = conn else { continue };
                if let Some(req) = serve(&mut c, flavour) {
                    seen.lock().unwrap_or_else(|e| e.into_inner()).push(req);
                }
            }
        });
        Ok(FakeHyprland {
            socket: socket.to_path_buf(),
            requests,
        })
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<String> {
        self.requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The `[[BATCH]]` requests received so far.
    pub fn batches(&self) -> Vec<String> {
        self.requests()
            .into_iter()
            .filter(|r| r.starts_with("[[BATCH]]"))
            .collect()
    }
}

/// Reads one request, answers it and closes; returns the request.
pub fn serve(c: &mut UnixStream, flavour: Flavour) -> Option<String> {
    // Like Hyprland: the client writes its request and waits; one read takes it.
    let mut buf = vec![0u8; 64 * 1024];
    let n = c.read(&mut buf).ok()?;
    let req = String::from_utf8_lossy(&buf[..n]).into_owned();
    let reply = answer(&req, flavour);
    let _ = c.write_all(reply.as_bytes());
    Some(req)
}

/// The reply Hyprland gives to `req`.
pub fn answer(req: &str, flavour: Flavour) -> String {
    if let Some(batch) = req.strip_prefix("[[BATCH]]") {
        return batch
            .split(';')
            .map(|c| one(c.trim(), flavour))
            .collect::<Vec<_>>()
            .join("\n\n");
    }
    one(req, flavour)
}

fn one(req: &str, flavour: Flavour) -> String {
    let (flags, cmd) = match req.split_once('/') {
        Some((f, rest)) if f.chars().all(|c| c.is_ascii_alphabetic()) && !f.is_empty() => (f, rest),
        _ => ("", req),
    };
    let (word, args) = cmd.split_once(' ').unwrap_or((cmd, ""));
    match (word, flavour) {
        ("version", f) => {
            let v = if f == Flavour::Lua {
                "0.55.2"
            } else {
                "0.54.3"
            };
            if flags.contains('j') {
                serde_json::json!({
                    "branch": "", "commit": "fake", "version": v, "dirty": false,
                    "commit_message": "", "commit_date": "", "tag": format!("v{v}"),
                    "commits": "0", "buildAquamarine": "0.9.0", "flags": []
                })
                .to_string()
            } else {
                format!("Hyprland {v} built from branch  at commit fake (fake).\nTag: v{v}\n")
            }
        }
        ("status", Flavour::Lua) => "configProvider: lua\nbackend: drm\n".into(),
        ("status", Flavour::Hyprlang) => "configProvider: hyprlang\nbackend: drm\n".into(),
        ("keyword", Flavour::Hyprlang) if args.contains(' ') => "ok".into(),
        ("keyword", Flavour::Lua) => "keyword can't work with non-legacy parsers. Use eval.".into(),
        ("dispatch", Flavour::Hyprlang) if !args.is_empty() => "ok".into(),
        ("dispatch", Flavour::Lua) if args.starts_with("hl.dsp.") => "ok".into(),
        ("eval", Flavour::Lua) if args.starts_with("hl.") && balanced(args) => "ok".into(),
        ("eval", Flavour::Lua) => format!("eval: lua error in '{args}'"),
        _ => "unknown request".into(),
    }
}

/// Brackets and quotes balance: a cheap stand-in for "the Lua parses".
fn balanced(s: &str) -> bool {
    let mut depth = 0i32;
    let mut quote = false;
    for c in s.chars() {
        match c {
            '"' => quote = !quote,
            '(' | '{' if !quote => depth += 1,
            ')' | '}' if !quote => depth -= 1,
            _ => {}
        }
        if depth < 0 {
            return false;
        }
    }
    depth == 0 && !quote
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_and_flavours() {
        assert_eq!(
            answer(
                "[[BATCH]]keyword general:layout master;dispatch workspace 2",
                Flavour::Hyprlang
            ),
            "ok\n\nok"
        );
        assert!(answer("keyword general:layout master", Flavour::Lua).contains("Use eval"));
        assert_eq!(
            answer(
                "eval hl.config({ general = { layout = \"master\" } })",
                Flavour::Lua
            ),
            "ok"
        );
        assert!(answer("j/version", Flavour::Lua).contains("\"0.55.2\""));
    }
}
