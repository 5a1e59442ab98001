//! Traces (§15): one JSON event per line in `DIR/<run-id>.jsonl`, each
//! event's `hash` covering its content and the previous event's hash.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value as J};

use crate::tools::hash_json;

/// The keys the hash covers, absent ones as null (§15).
const HASHED: &[&str] = &[
    "seq",
    "kind",
    "prev_hash",
    "doc_hash",
    "cell",
    "tool_id",
    "tool_version",
    "inputs_hash",
    "outputs_hash",
    "policy_hash",
    "latency_ms",
    "cached",
    "details",
    "message",
];

#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    #[error("cannot write the trace {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot read the trace {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}:{line}: not a trace event: {what}")]
    Bad {
        path: String,
        line: usize,
        what: String,
    },
}

/// An event's optional fields.
#[derive(Debug, Default, Clone)]
pub struct Fields {
    pub cell: Option<String>,
    pub tool_id: Option<String>,
    pub tool_version: Option<String>,
    pub inputs_hash: Option<String>,
    pub outputs_hash: Option<String>,
    pub policy_hash: Option<String>,
    pub latency_ms: Option<u64>,
    pub cached: Option<bool>,
    pub details: Option<J>,
    pub message: Option<String>,
    pub status: Option<String>,
}

pub struct TraceWriter {
    pub run_id: String,
    pub path: PathBuf,
    out: BufWriter<File>,
    seq: u64,
    prev: String,
    doc_hash: String,
}

impl TraceWriter {
    /// Creates `DIR` if needed and `DIR/<fresh uuid>.jsonl`.
    pub fn create(dir: &Path, doc_hash: &str) -> Result<TraceWriter, TraceError> {
        let run_id = uuid::Uuid::new_v4().to_string();
        let path = dir.join(format!("{run_id}.jsonl"));
        let werr = |source| TraceError::Write {
            path: path.display().to_string(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(werr)?;
        let f = File::options()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(werr)?;
        Ok(TraceWriter {
            run_id,
            path: path.clone(),
            out: BufWriter::new(f),
            seq: 0,
            prev: "sha256:genesis".into(),
            doc_hash: doc_hash.to_string(),
        })
    }

    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// Appends one event.
    pub fn event(&mut self, kind: &str, f: Fields) -> Result<(), TraceError> {
        self.seq += 1;
        let mut m = Map::new();
        m.insert("seq".into(), J::from(self.seq));
        m.insert("kind".into(), J::from(kind));
        m.insert("prev_hash".into(), J::from(self.prev.clone()));
        m.insert("doc_hash".into(), J::from(self.doc_hash.clone()));
        let mut put = |k: &str, v: Option<J>| {
            if let Some(v) = v {
                m.insert(k.into(), v);
            }
        };
        put("cell", f.cell.map(J::from));
        put("tool_id", f.tool_id.map(J::from));
        put("tool_version", f.tool_version.map(J::from));
        put("inputs_hash", f.inputs_hash.map(J::from));
        put("outputs_hash", f.outputs_hash.map(J::from));
        put("policy_hash", f.policy_hash.map(J::from));
        put("latency_ms", f.latency_ms.map(J::from));
        put("cached", f.cached.map(J::from));
        put("details", f.details);
        put("message", f.message.map(J::from));
        put("status", f.status.map(J::from));
        let hash = event_hash(&m);
        m.insert("hash".into(), J::from(hash.clone()));
        m.insert(
            "timestamp".into(),
            J::from(humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string()),
        );
        self.prev = hash;
        let line = serde_json::to_string(&J::Object(m)).unwrap_or_default();
        let path = self.path.display().to_string();
        writeln!(self.out, "{line}").map_err(|source| TraceError::Write { path, source })
    }

    /// Flushes and syncs the file (at the end of a run).
    pub fn finish(&mut self) -> Result<(), TraceError> {
        let path = self.path.display().to_string();
        self.out
            .flush()
            .and_then(|_| self.out.get_ref().sync_all())
            .map_err(|source| TraceError::Write { path, source })
    }
}

/// The hash of an event object (its own `hash`, `status` and `timestamp`
/// left out).
pub fn event_hash(m: &Map<String, J>) -> String {
    let mut h = Map::new();
    for k in HASHED {
        h.insert((*k).into(), m.get(*k).cloned().unwrap_or(J::Null));
    }
    hash_json(&J::Object(h))
}

/// Reads `DIR/RUN_ID.jsonl`.
pub fn read(dir: &Path, run_id: &str) -> Result<Vec<Map<String, J>>, TraceError> {
    let path = dir.join(format!("{run_id}.jsonl"));
    let p = path.display().to_string();
    let f = File::open(&path).map_err(|source| TraceError::Read {
        path: p.clone(),
        source,
    })?;
    let mut out = Vec::new();
    for (i, line) in BufReader::new(f).lines().enumerate() {
        let line = line.map_err(|source| TraceError::Read {
            path: p.clone(),
            source,
        })?;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<J>(&line) {
            Ok(J::Object(m)) => out.push(m),
            Ok(_) => {
                return Err(TraceError::Bad {
                    path: p,
                    line: i + 1,
                    what: "not an object".into(),
                })
            }
            Err(e) => {
                return Err(TraceError::Bad {
                    path: p,
                    line: i + 1,
                    what: e.to_string(),
                })
            }
        }
    }
    Ok(out)
}

/// Checks sequence numbers, `prev_hash` links and every `hash`; the first
/// broken event's `seq` (its position when the seq itself is wrong).
pub fn verify(events: &[Map<String, J>]) -> Result<(), u64> {
    let mut prev = "sha256:genesis".to_string();
    for (i, e) in events.iter().enumerate() {
        let want = i as u64 + 1;
        let seq = e.get("seq").and_then(J::as_u64);
        if seq != Some(want) {
            return Err(want);
        }
        if e.get("prev_hash").and_then(J::as_str) != Some(prev.as_str()) {
            return Err(want);
        }
        let h = e.get("hash").and_then(J::as_str).unwrap_or("");
        if h != event_hash(e) {
            return Err(want);
        }
        prev = h.to_string();
    }
    Ok(())
}

/// One line of `lumen trace show`: `SEQ KIND key=value...`.
pub fn show_line(e: &Map<String, J>) -> String {
    let seq = e.get("seq").and_then(J::as_u64).unwrap_or(0);
    let kind = e.get("kind").and_then(J::as_str).unwrap_or("?");
    let mut s = format!("{seq:06} {kind}");
    for k in ["cell", "tool_id", "status", "latency_ms", "message"] {
        match e.get(k) {
            Some(J::String(v)) => s.push_str(&format!(" {k}={v}")),
            Some(J::Null) | None => {}
            Some(v) => s.push_str(&format!(" {k}={v}")),
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_verifies_and_detects_tampering() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = TraceWriter::create(dir.path(), "sha256:abc").unwrap();
        w.event("run_start", Fields::default()).unwrap();
        w.event(
            "cell_start",
            Fields {
                cell: Some("main".into()),
                ..Default::default()
            },
        )
        .unwrap();
        w.event(
            "run_end",
            Fields {
                status: Some("ok".into()),
                ..Default::default()
            },
        )
        .unwrap();
        w.finish().unwrap();
        let id = w.run_id.clone();
        let ev = read(dir.path(), &id).unwrap();
        assert_eq!(ev.len(), 3);
        assert_eq!(verify(&ev), Ok(()));
        assert_eq!(show_line(&ev[1]), "000002 cell_start cell=main");
        let mut bad = ev.clone();
        bad[1].insert("cell".into(), J::from("other"));
        assert_eq!(verify(&bad), Err(2));
        let mut gap = ev.clone();
        gap.remove(1);
        assert_eq!(verify(&gap), Err(2));
    }
}
