//! Tools (§10): policy validation before every dispatch, cassettes
//! (record/replay, §10.6) and the built-in providers (§10.4).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use base64::Engine;
use serde_json::{Map, Value as J};
use sha2::{Digest, Sha256};

/// Why a cassette cannot be used (a usage error, exit 2).
#[derive(Debug, thiserror::Error)]
pub enum CassetteError {
    #[error("cannot read cassette {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("cassette {path} is not valid JSON: {source}")]
    Json {
        path: String,
        source: serde_json::Error,
    },
    #[error("cassette {path}: {what}")]
    Shape { path: String, what: String },
}

#[derive(Debug, Clone)]
pub struct Interaction {
    pub tool: String,
    pub version: Option<String>,
    pub args: J,
    pub outcome: Result<J, String>,
    pub latency_ms: Option<u64>,
}

/// A cassette: interactions consumed in file order per matching call.
#[derive(Debug, Default)]
pub struct Cassette {
    pub interactions: Vec<Interaction>,
    used: Vec<bool>,
}

impl Cassette {
    pub fn load(path: &Path) -> Result<Cassette, CassetteError> {
        let p = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| CassetteError::Read {
            path: p.clone(),
            source,
        })?;
        Cassette::parse(&p, &text)
    }

    pub fn parse(path: &str, text: &str) -> Result<Cassette, CassetteError> {
        let shape = |what: String| CassetteError::Shape {
            path: path.to_string(),
            what,
        };
        let v: J = serde_json::from_str(text).map_err(|source| CassetteError::Json {
            path: path.to_string(),
            source,
        })?;
        let list = v
            .get("interactions")
            .and_then(J::as_array)
            .ok_or_else(|| shape("expected an object with an `interactions` array".into()))?;
        let mut out = Vec::new();
        for (i, it) in list.iter().enumerate() {
            let tool = it
                .get("tool")
                .and_then(J::as_str)
                .ok_or_else(|| shape(format!("interaction {i} has no string `tool`")))?;
            let args = it.get("args").cloned().unwrap_or(J::Object(Map::new()));
            if !args.is_object() {
                return Err(shape(format!("interaction {i}: `args` must be an object")));
            }
            let outcome = match (it.get("result"), it.get("error")) {
                (_, Some(J::String(e))) => Err(e.clone()),
                (Some(r), None) => Ok(r.clone()),
                (None, None) => {
                    return Err(shape(format!(
                        "interaction {i} needs a `result` or an `error`"
                    )))
                }
                (_, Some(_)) => {
                    return Err(shape(format!("interaction {i}: `error` must be a string")))
                }
            };
            out.push(Interaction {
                tool: tool.to_string(),
                version: it.get("version").and_then(|v| match v {
                    J::String(s) => Some(s.clone()),
                    J::Number(n) => Some(n.to_string()),
                    _ => None,
                }),
                args,
                outcome,
                latency_ms: it.get("latency_ms").and_then(J::as_u64),
            });
        }
        let used = vec![false; out.len()];
        Ok(Cassette {
            interactions: out,
            used,
        })
    }

    pub fn mentions(&self, id: &str) -> bool {
        self.interactions.iter().any(|i| i.tool == id)
    }

    /// The next matching interaction: the first unused one, else the last
    /// match reused.
    pub fn take(&mut self, id: &str, version: Option<&str>, args: &J) -> Option<&Interaction> {
        let matches: Vec<usize> = self
            .interactions
            .iter()
            .enumerate()
            .filter(|(_, i)| {
                i.tool == id
                    && json_eq(&i.args, args)
                    && (i.version.is_none() || i.version.as_deref() == version)
            })
            .map(|(k, _)| k)
            .collect();
        let pick = matches
            .iter()
            .copied()
            .find(|k| !self.used[*k])
            .or_else(|| matches.last().copied())?;
        self.used[pick] = true;
        Some(&self.interactions[pick])
    }
}

/// JSON equality with key order ignored and numbers compared by value.
pub fn json_eq(a: &J, b: &J) -> bool {
    match (a, b) {
        (J::Number(x), J::Number(y)) => x.as_f64() == y.as_f64(),
        (J::Array(x), J::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_eq(p, q))
        }
        (J::Object(x), J::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

/// Tool ids of the deterministic built-in providers.
pub fn deterministic_builtin(id: &str) -> bool {
    lumen_lir::builtins::DETERMINISTIC_TOOLS.contains(&id)
}

/// A policy violation: the message of §10.3.
pub fn validate(alias: &str, id: &str, policy: &Map<String, J>, args: &J) -> Result<(), String> {
    let head = format!("tool '{alias}' ({id})");
    let empty = Map::new();
    let call = args.as_object().unwrap_or(&empty);
    for (key, granted) in policy {
        if key == "domain" || key == "allowed_domains" {
            // One pattern, or a list: the host must match one of them.
            let patterns: Vec<&str> = match granted {
                J::Array(xs) => xs.iter().filter_map(J::as_str).collect(),
                g => vec![g.as_str().unwrap_or("")],
            };
            let shown = patterns.join(", ");
            let Some(url) = call.get("url").and_then(J::as_str) else {
                return Err(format!(
                    "{head}: {key} {shown} requires a String `url` argument"
                ));
            };
            let host = url_host(url);
            if !patterns.iter().any(|p| domain_allows(p, &host)) {
                return Err(format!("{head}: domain {host} is not allowed by {shown}"));
            }
            continue;
        }
        let Some(given) = call.get(key) else {
            continue;
        };
        if let J::Array(allowed) = granted {
            // A list grants a set of values.
            if !allowed.iter().any(|a| json_eq(given, a)) {
                return Err(format!(
                    "{head}: {key} {given} is not one of the allowed {granted}"
                ));
            }
            continue;
        }
        if key == "timeout_ms" || key.starts_with("max_") {
            let (Some(g), Some(a)) = (given.as_f64(), granted.as_f64()) else {
                return Err(format!("{head}: {key} must be a number"));
            };
            if g > a {
                return Err(format!("{head}: {key} {given} exceeds allowed {granted}"));
            }
        } else if !json_eq(given, granted) {
            return Err(format!(
                "{head}: {key} {given} differs from allowed {granted}"
            ));
        }
    }
    Ok(())
}

/// The host of a URL, lower-cased (`https://API.example.org:8443/x`).
pub fn url_host(url: &str) -> String {
    let rest = url.split_once("://").map(|x| x.1).unwrap_or(url);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let authority = authority.rsplit('@').next().unwrap_or(authority);
    let host = if authority.starts_with('[') {
        authority
            .split(']')
            .next()
            .unwrap_or("")
            .trim_start_matches('[')
    } else {
        authority.split(':').next().unwrap_or("")
    };
    host.to_ascii_lowercase()
}

pub fn domain_allows(pattern: &str, host: &str) -> bool {
    let p = pattern.to_ascii_lowercase();
    if p == "*" {
        return true;
    }
    match p.strip_prefix("*.") {
        Some(suffix) => host == suffix || host.ends_with(&format!(".{suffix}")),
        None => host == p,
    }
}

/// Runs a built-in provider; `None` when no built-in serves the id.
pub fn builtin(id: &str, args: &J, policy: &Map<String, J>) -> Option<Result<J, String>> {
    let s = |k: &str| args.get(k).and_then(J::as_str);
    let need = |k: &str| s(k).ok_or_else(|| format!("{id}: missing String argument `{k}`"));
    Some(match id {
        "crypto.sha256" => need("input").map(|t| {
            J::String(
                Sha256::digest(t.as_bytes())
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect(),
            )
        }),
        "crypto.base64_encode" => {
            need("input").map(|t| J::String(base64::engine::general_purpose::STANDARD.encode(t)))
        }
        "crypto.base64_decode" => need("input").and_then(|t| {
            base64::engine::general_purpose::STANDARD
                .decode(t.trim())
                .map_err(|e| format!("{id}: {e}"))
                .and_then(|b| String::from_utf8(b).map_err(|e| format!("{id}: {e}")))
                .map(J::String)
        }),
        "json.parse" => {
            need("input").and_then(|t| serde_json::from_str(t).map_err(|e| format!("{id}: {e}")))
        }
        "json.stringify" => Ok(J::String(
            args.get("value")
                .map(|v| v.to_string())
                .unwrap_or("null".into()),
        )),
        "fs.read" => need("path").and_then(|p| {
            std::fs::read_to_string(p)
                .map(J::String)
                .map_err(|e| format!("{id}: {p}: {e}"))
        }),
        "fs.exists" => need("path").map(|p| J::Bool(Path::new(p).exists())),
        "env.get" => need("name").map(|n| match std::env::var(n) {
            Ok(v) => J::String(v),
            Err(_) => J::Null,
        }),
        "http.get" => need("url").and_then(|u| {
            let timeout = policy
                .get("timeout_ms")
                .or(args.get("timeout_ms"))
                .and_then(J::as_u64)
                .unwrap_or(10_000);
            http_get(u, Duration::from_millis(timeout.max(1)))
        }),
        _ => return None,
    })
}

/// A plain `http://` GET (no TLS): `{"status": Int, "body": String}`.
fn http_get(url: &str, timeout: Duration) -> Result<J, String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("http.get: only http:// URLs are served here, not {url}"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let addr = if authority.contains(':') {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    let sock = std::net::ToSocketAddrs::to_socket_addrs(&addr)
        .map_err(|e| format!("http.get {url}: {e}"))?
        .next()
        .ok_or_else(|| format!("http.get {url}: no address"))?;
    let mut stream =
        TcpStream::connect_timeout(&sock, timeout).map_err(|e| format!("http.get {url}: {e}"))?;
    let _ = stream.set_read_timeout(Some(timeout));
    let _ = stream.set_write_timeout(Some(timeout));
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\nUser-Agent: lumen\r\n\r\n"
    );
    stream
        .write_all(req.as_bytes())
        .map_err(|e| format!("http.get {url}: {e}"))?;
    let mut buf = Vec::new();
    stream
        .read_to_end(&mut buf)
        .map_err(|e| format!("http.get {url}: {e}"))?;
    let text = String::from_utf8_lossy(&buf);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse::<i64>().ok())
        .ok_or_else(|| format!("http.get {url}: not an HTTP response"))?;
    let chunked = head
        .lines()
        .any(|l| l.to_ascii_lowercase().starts_with("transfer-encoding:") && l.contains("chunked"));
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_string()
    };
    let mut m = Map::new();
    m.insert("status".into(), J::from(status));
    m.insert("body".into(), J::String(body));
    Ok(J::Object(m))
}

fn dechunk(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || tail.len() < n {
            break;
        }
        out.push_str(&tail[..n]);
        rest = tail[n..].trim_start_matches("\r\n");
    }
    out
}

/// `"sha256:" +` hex digest of the canonical JSON of `v`.
pub fn hash_json(v: &J) -> String {
    format!(
        "sha256:{}",
        Sha256::digest(canonical(v).as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    )
}

/// Canonical JSON (§15): keys sorted by code point, no whitespace.
pub fn canonical(v: &J) -> String {
    // serde_json's Map is ordered by key (byte order is code point order
    // for UTF-8), its compact writer adds no whitespace and escapes only
    // `"`, `\` and control characters, with lower-case hex.
    let sorted = sort_keys(v);
    serde_json::to_string(&sorted).unwrap_or_default()
}

fn sort_keys(v: &J) -> J {
    match v {
        J::Object(m) => {
            let b: BTreeMap<&String, J> = m.iter().map(|(k, v)| (k, sort_keys(v))).collect();
            J::Object(b.into_iter().map(|(k, v)| (k.clone(), v)).collect())
        }
        J::Array(a) => J::Array(a.iter().map(sort_keys).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn policy_rules_of_10_3() {
        let p: Map<String, J> = serde_json::from_value(json!({
            "max_len": 100, "timeout_ms": 2000, "domain": "*.example.org", "mode": "fast"
        }))
        .unwrap();
        let ok = json!({"url": "https://api.example.org/x", "max_len": 100});
        assert!(validate("Fetch", "http.get", &p, &ok).is_ok());
        let e = validate(
            "Fetch",
            "http.get",
            &p,
            &json!({"url": "https://example.org", "max_len": 500}),
        )
        .unwrap_err();
        assert_eq!(
            e,
            "tool 'Fetch' (http.get): max_len 500 exceeds allowed 100"
        );
        assert!(validate("Fetch", "http.get", &p, &json!({"url": "https://evil.org"})).is_err());
        assert!(validate(
            "Fetch",
            "http.get",
            &p,
            &json!({"url": "https://x.example.org", "mode": "slow"})
        )
        .is_err());
        assert!(
            validate("Fetch", "http.get", &p, &json!({"max_len": 1})).is_err(),
            "domain needs a url"
        );
        let list: Map<String, J> = serde_json::from_value(
            serde_json::json!({"allowed_domains": ["a.com", "*.b.org"], "mode": ["fast", "slow"]}),
        )
        .unwrap();
        assert!(validate(
            "f",
            "http.get",
            &list,
            &serde_json::json!({"url": "https://x.b.org/p", "mode": "slow"})
        )
        .is_ok());
        let e = validate(
            "f",
            "http.get",
            &list,
            &serde_json::json!({"url": "https://c.com/"}),
        )
        .unwrap_err();
        assert!(
            e.contains("domain c.com is not allowed by a.com, *.b.org"),
            "{e}"
        );
        let e = validate(
            "f",
            "http.get",
            &list,
            &serde_json::json!({"url": "https://a.com/", "mode": "odd"}),
        )
        .unwrap_err();
        assert!(e.contains("is not one of the allowed"), "{e}");
        assert!(domain_allows("*", "anything"));
        assert!(domain_allows("Example.ORG", "example.org"));
        assert!(!domain_allows("*.example.org", "badexample.org"));
    }

    #[test]
    fn cassette_matching_consumes_in_order_then_reuses_the_last() {
        let c = r#"{"version": 1, "interactions": [
            {"tool": "llm.chat", "args": {"prompt": "a", "n": 1}, "result": "one"},
            {"tool": "llm.chat", "args": {"n": 1.0, "prompt": "a"}, "result": "two"},
            {"tool": "llm.chat", "args": {"prompt": "boom"}, "error": "rate limited"}
        ]}"#;
        let mut k = Cassette::parse("c.json", c).unwrap();
        let args = json!({"prompt": "a", "n": 1});
        let r = |k: &mut Cassette| k.take("llm.chat", None, &args).unwrap().outcome.clone();
        assert_eq!(r(&mut k), Ok(json!("one")));
        assert_eq!(r(&mut k), Ok(json!("two")));
        assert_eq!(r(&mut k), Ok(json!("two")));
        let e = k
            .take("llm.chat", None, &json!({"prompt": "boom"}))
            .unwrap();
        assert_eq!(e.outcome, Err("rate limited".into()));
        assert!(k
            .take("llm.chat", None, &json!({"prompt": "other"}))
            .is_none());
        assert!(Cassette::parse("c.json", "{}").is_err());
        assert!(Cassette::parse("c.json", "[").is_err());
    }

    #[test]
    fn canonical_json_sorts_keys_and_escapes_controls() {
        let v = json!({"b": 1, "a": "x\u{1}\né"});
        assert_eq!(canonical(&v), "{\"a\":\"x\\u0001\\né\",\"b\":1}");
    }
}
