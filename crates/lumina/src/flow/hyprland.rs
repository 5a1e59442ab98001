//! Hyprland's request socket: one UNIX stream connection per request, the
//! request written whole, the reply read to end of stream. Several commands
//! travel as one `[[BATCH]]` request separated by `;`, and their replies come
//! back separated by blank lines.
//!
//! Hyprland 0.55 and later may be configured in Lua; such an instance
//! rejects `keyword` and expects Lua through `eval`. Which one is running is
//! learnt once per instance (`j/version`, and `status` for 0.55 and later)
//! and kept in the runtime directory.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::registry::FlowContext;

/// How long a whole exchange may take before lumina gives up on it.
pub const TIMEOUT: Duration = Duration::from_millis(250);

#[derive(Debug, thiserror::Error)]
pub enum HyprError {
    #[error("Hyprland is not running here (HYPRLAND_INSTANCE_SIGNATURE is not set)")]
    NoInstance,
    #[error("cannot reach Hyprland at {path}: {source}")]
    Connect {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("Hyprland did not answer '{request}' within {ms} ms", ms = TIMEOUT.as_millis())]
    Timeout { request: String },
    #[error("talking to Hyprland ({request}): {source}")]
    Io {
        request: String,
        source: std::io::Error,
    },
    #[error("Hyprland answered j/version with something that is not its version JSON: {0}")]
    BadVersion(String),
}

/// The request socket of the running instance.
pub fn socket_path() -> Result<PathBuf, HyprError> {
    let sig = std::env::var("HYPRLAND_INSTANCE_SIGNATURE")
        .ok()
        .filter(|s| !s.is_empty())
        .ok_or(HyprError::NoInstance)?;
    let runtime = std::env::var("XDG_RUNTIME_DIR")
        .ok()
        .filter(|s| !s.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(format!("/run/user/{}", rustix::process::getuid().as_raw()))
        });
    Ok(runtime.join("hypr").join(sig).join(".socket.sock"))
}

/// Sends one request and reads the whole reply, within `deadline`.
pub fn request(socket: &Path, req: &str, deadline: Instant) -> Result<String, HyprError> {
    let io = |source: std::io::Error| {
        if matches!(
            source.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ) {
            HyprError::Timeout {
                request: short(req),
            }
        } else {
            HyprError::Io {
                request: short(req),
                source,
            }
        }
    };
    let mut s = UnixStream::connect(socket).map_err(|source| HyprError::Connect {
        path: socket.to_path_buf(),
        source,
    })?;
    let left = || {
        deadline
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
            .unwrap_or(Duration::from_millis(1))
    };
    s.set_write_timeout(Some(left())).map_err(io)?;
    s.write_all(req.as_bytes()).map_err(io)?;
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        s.set_read_timeout(Some(left())).map_err(io)?;
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io(e)),
        }
        if Instant::now() >= deadline {
            return Err(HyprError::Timeout {
                request: short(req),
            });
        }
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

fn short(req: &str) -> String {
    let mut s: String = req.chars().take(60).collect();
    if s.len() < req.len() {
        s.push('…');
    }
    s
}

/// Joins commands into one batch request.
pub fn batch(commands: &[String]) -> String {
    format!("[[BATCH]]{}", commands.join(";"))
}

/// Splits a batch reply into the replies of its commands.
pub fn split_replies(reply: &str) -> Vec<String> {
    reply
        .split("\n\n")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// What kind of configuration the running Hyprland reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Flavour {
    /// hyprland.conf: `keyword` and `dispatch`.
    Hyprlang,
    /// hyprland.lua (0.55 and later): `eval` with the `hl` API.
    Lua,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Instance {
    pub signature: String,
    pub version: String,
    pub flavour: Flavour,
}

/// Parses `0.54.3`, `v0.55.0-12-gabc` and the like into (major, minor).
fn major_minor(v: &str) -> Option<(u32, u32)> {
    let v = v.trim().trim_start_matches('v');
    let mut it = v.split(|c: char| !c.is_ascii_digit());
    Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
}

/// Learns the instance's version and configuration flavour: from the cache
/// in `runtime` when this instance was asked before, else by asking it
/// (`j/version`, then `status` for 0.55 and later) and keeping the answer.
pub fn instance(
    socket: &Path,
    runtime: &Path,
    deadline: Instant,
) -> Result<(Instance, bool), HyprError> {
    let sig = std::env::var("HYPRLAND_INSTANCE_SIGNATURE").unwrap_or_default();
    let cache = runtime.join(format!(
        "hyprland-{}.json",
        crate::paths::safe_file_name(&sig)
    ));
    if let Some(i) = std::fs::read(&cache)
        .ok()
        .and_then(|b| serde_json::from_slice::<Instance>(&b).ok())
        .filter(|i| i.signature == sig)
    {
        return Ok((i, true));
    }
    let reply = request(socket, "j/version", deadline)?;
    let v: serde_json::Value =
        serde_json::from_str(&reply).map_err(|_| HyprError::BadVersion(short(&reply)))?;
    let version = v["version"]
        .as_str()
        .or_else(|| v["tag"].as_str())
        .ok_or_else(|| HyprError::BadVersion(short(&reply)))?
        .trim_start_matches('v')
        .to_string();
    let mut flavour = Flavour::Hyprlang;
    if major_minor(&version).is_some_and(|mm| mm >= (0, 55)) {
        // 0.55 reads either language; `status` says which one is in use.
        let st = request(socket, "status", deadline).unwrap_or_default();
        flavour = match st
            .lines()
            .find_map(|l| l.trim().strip_prefix("configProvider:"))
            .map(str::trim)
        {
            Some("hyprlang") => Flavour::Hyprlang,
            _ => Flavour::Lua,
        };
    }
    let i = Instance {
        signature: sig,
        version,
        flavour,
    };
    if let Ok(b) = serde_json::to_vec(&i) {
        let _ = crate::fsops::write_atomic(&cache, &b, crate::fsops::Durability::Volatile);
    }
    Ok((i, false))
}

/// The commands that put Hyprland in a context, in the instance's language.
pub fn commands(ctx: &FlowContext, flavour: Flavour) -> Vec<String> {
    let mut out = Vec::new();
    let lua_value = |s: &str| {
        if s.parse::<i64>().is_ok() {
            s.to_string()
        } else {
            format!("\"{s}\"")
        }
    };
    if let Some(l) = &ctx.layout {
        out.push(match flavour {
            Flavour::Hyprlang => format!("keyword general:layout {l}"),
            Flavour::Lua => format!("eval hl.config({{ general = {{ layout = \"{l}\" }} }})"),
        });
    }
    if let Some(w) = &ctx.workspace {
        out.push(match flavour {
            Flavour::Hyprlang => format!("dispatch workspace {w}"),
            Flavour::Lua => format!(
                "eval hl.dispatch(hl.dsp.focus({{ workspace = {} }}))",
                lua_value(w)
            ),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(major_minor("0.54.3"), Some((0, 54)));
        assert_eq!(major_minor("v0.55.0-12-gabc"), Some((0, 55)));
        assert_eq!(major_minor("junk"), None);
    }

    #[test]
    fn both_languages() {
        let c = FlowContext {
            name: "rust".into(),
            layout: Some("master".into()),
            workspace: Some("2".into()),
            ..FlowContext::default()
        };
        assert_eq!(
            batch(&commands(&c, Flavour::Hyprlang)),
            "[[BATCH]]keyword general:layout master;dispatch workspace 2"
        );
        assert_eq!(
            batch(&commands(&c, Flavour::Lua)),
            "[[BATCH]]eval hl.config({ general = { layout = \"master\" } });eval hl.dispatch(hl.dsp.focus({ workspace = 2 }))"
        );
        assert_eq!(split_replies("ok\n\nok\n\n"), ["ok", "ok"]);
    }
}
