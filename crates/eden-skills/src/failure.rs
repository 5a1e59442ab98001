//! Failure records and their classification (docs/eden-skills/exit-codes.md#failures).

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    Resolve,
    Clone,
    Fetch,
    Checkout,
    Inject,
    Remove,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Resolve => "resolve",
            Phase::Clone => "clone",
            Phase::Fetch => "fetch",
            Phase::Checkout => "checkout",
            Phase::Inject => "inject",
            Phase::Remove => "remove",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Transient,
    Permanent,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Transient => "transient",
            Kind::Permanent => "permanent",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failure {
    pub skill_id: String,
    pub phase: Phase,
    pub kind: Kind,
    pub message: String,
    /// What the user can do about it (`~> ...`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl Failure {
    pub fn new(skill_id: &str, phase: Phase, kind: Kind, message: impl Into<String>) -> Failure {
        Failure {
            skill_id: skill_id.to_string(),
            phase,
            kind,
            message: message.into(),
            hint: None,
        }
    }
    pub fn permanent(skill_id: &str, phase: Phase, message: impl Into<String>) -> Failure {
        Failure::new(skill_id, phase, Kind::Permanent, message)
    }
    /// `✗ 'id' clone failed (transient): message`
    pub fn line(&self) -> String {
        format!(
            "'{}' {} failed ({}): {}",
            self.skill_id,
            self.phase.as_str(),
            self.kind.as_str(),
            self.message
        )
    }
}

/// Markers that make a clone/fetch failure permanent, with the summary used
/// in messages.
const PERMANENT: &[(&str, &str)] = &[
    ("repository not found", "repository not found"),
    (
        "does not appear to be a git repository",
        "repository not found",
    ),
    ("not a git repository", "repository not found"),
    ("authentication failed", "authentication failed"),
    ("could not read username", "authentication required"),
    ("could not read password", "authentication required"),
    ("terminal prompts disabled", "authentication required"),
    ("permission denied", "permission denied"),
    ("returned error: 401", "authentication required (HTTP 401)"),
    ("returned error: 403", "access forbidden (HTTP 403)"),
    ("returned error: 404", "repository not found"),
    ("couldn't find remote ref", "ref not found"),
    ("remote branch", "ref not found"),
    ("not our ref", "commit not available from the remote"),
    (
        "unadvertised object",
        "commit not available from the remote",
    ),
    ("unknown revision", "unknown revision"),
    // A remote that cannot send what it advertises: retrying will not help.
    (
        "possible repository corruption",
        "the remote repository is corrupt (possible repository corruption)",
    ),
    (
        "did not send all necessary objects",
        "the remote repository is corrupt (it did not send all necessary objects)",
    ),
    ("bad object", "bad object"),
    ("invalid refspec", "invalid refspec"),
];

const TRANSIENT: &[(&str, &str)] = &[
    ("could not resolve host", "could not resolve host"),
    (
        "temporary failure in name resolution",
        "could not resolve host",
    ),
    ("name or service not known", "could not resolve host"),
    ("connection refused", "connection refused"),
    ("failed to connect", "connection refused"),
    ("couldn't connect to server", "connection refused"),
    ("connection reset", "connection reset"),
    ("timed out", "timed out"),
    ("network is unreachable", "network is unreachable"),
    ("no route to host", "no route to host"),
    ("early eof", "connection closed early"),
    (
        "the remote end hung up unexpectedly",
        "the remote end hung up unexpectedly",
    ),
    ("rpc failed", "transfer failed"),
    ("returned error: 5", "server error"),
    ("returned error: 429", "rate limited (HTTP 429)"),
];

/// Classifies a clone/fetch that exited non-zero
/// (docs/eden-skills/exit-codes.md#failures): transient only
/// when no permanent marker and at least one transient marker is present.
/// Returns the kind and a short message naming `url`.
pub fn classify(stderr: &str, url: &str) -> (Kind, String) {
    let lower = stderr.to_lowercase();
    if let Some((_, summary)) = PERMANENT.iter().find(|(m, _)| lower.contains(m)) {
        return (Kind::Permanent, format!("{summary}: {url}"));
    }
    if let Some((_, summary)) = TRANSIENT.iter().find(|(m, _)| lower.contains(m)) {
        return (Kind::Transient, format!("{summary}: {url}"));
    }
    let last = stderr
        .lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty())
        .unwrap_or("git failed without a message");
    let last = last.strip_prefix("fatal: ").unwrap_or(last);
    (Kind::Permanent, format!("{last} ({url})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        let refused = "fatal: unable to access 'http://127.0.0.1:9/x.git/': Failed to connect to 127.0.0.1 port 9 after 0 ms: Couldn't connect to server";
        assert_eq!(
            classify(refused, "http://127.0.0.1:9/x.git"),
            (
                Kind::Transient,
                "connection refused: http://127.0.0.1:9/x.git".into()
            )
        );
        let missing = "fatal: '/srv/missing' does not appear to be a git repository\nfatal: Could not read from remote repository.";
        assert_eq!(classify(missing, "file:///srv/missing").0, Kind::Permanent);
        // A permanent marker wins over a transient one.
        assert_eq!(
            classify("connection reset\nrepository not found", "u").0,
            Kind::Permanent
        );
        assert_eq!(classify("something odd", "u").0, Kind::Permanent);
        // Corruption is permanent even with the early EOF git prints after it.
        let corrupt = "error: packfile is missing\nfatal: did not send all necessary objects\nfatal: early EOF";
        let (k, m) = classify(corrupt, "u");
        assert_eq!(k, Kind::Permanent);
        assert!(m.contains("did not send all necessary objects"), "{m}");
        assert_eq!(
            classify("error: RPC failed; HTTP 502", "u").0,
            Kind::Transient
        );
    }
}
