//! `RuntimeHost`: program output, tool dispatch (policy, cassette,
//! built-in providers) with its `tool_call` trace events, and the other
//! trace events the VM reports.

use std::io::Write;
use std::time::Instant;

use serde_json::Value as J;

use crate::tools::{self, hash_json, Cassette};
use crate::trace::{self, Fields, TraceWriter};
use lumen_vm::{ErrorKind, RuntimeError, ToolCall};

pub struct RuntimeHost {
    out: Box<dyn Write>,
    err: Box<dyn Write>,
    pub cassette: Option<Cassette>,
    pub trace: Option<TraceWriter>,
    /// The first trace write failure (reported when the run ends).
    pub trace_error: Option<trace::TraceError>,
    pub deterministic: bool,
}

impl RuntimeHost {
    pub fn new(out: Box<dyn Write>, err: Box<dyn Write>) -> RuntimeHost {
        RuntimeHost {
            out,
            err,
            cassette: None,
            trace: None,
            trace_error: None,
            deterministic: false,
        }
    }

    /// A host writing to the process's stdout (buffered) and stderr.
    pub fn stdio(cassette: Option<Cassette>, deterministic: bool) -> RuntimeHost {
        let mut h = RuntimeHost::new(
            Box::new(std::io::BufWriter::with_capacity(
                64 * 1024,
                std::io::stdout(),
            )),
            Box::new(std::io::stderr()),
        );
        h.cassette = cassette;
        h.deterministic = deterministic;
        h
    }

    pub fn flush(&mut self) {
        let _ = self.out.flush();
        let _ = self.err.flush();
    }

    /// Records a trace event (nothing without `--trace-dir`).
    pub fn record(&mut self, kind: &str, f: Fields) {
        if let Some(t) = &mut self.trace {
            if let Err(e) = t.event(kind, f) {
                self.trace_error.get_or_insert(e);
            }
        }
    }

    fn dispatch(&mut self, call: &ToolCall) -> (Result<J, String>, Option<u64>, bool) {
        if let Some(c) = &mut self.cassette {
            if c.mentions(call.id) {
                return match c.take(call.id, call.version, &call.args) {
                    Some(i) => (i.outcome.clone(), i.latency_ms, true),
                    None => (
                        Err(format!(
                            "cassette has no interaction for {} with args {}",
                            call.id,
                            tools::canonical(&call.args)
                        )),
                        None,
                        true,
                    ),
                };
            }
        }
        if self.deterministic && !tools::deterministic_builtin(call.id) {
            return (
                Err(format!(
                    "tool '{}' is not replayable and this program is @deterministic",
                    call.id
                )),
                None,
                false,
            );
        }
        match tools::builtin(call.id, &call.args, &call.policy) {
            Some(r) => (r, None, false),
            None => (
                Err(format!("no provider for tool '{}'", call.id)),
                None,
                false,
            ),
        }
    }
}

impl lumen_vm::Host for RuntimeHost {
    fn out(&mut self, text: &str) {
        let _ = self.out.write_all(text.as_bytes());
    }

    fn err(&mut self, text: &str) {
        let _ = self.out.flush();
        let _ = self.err.write_all(text.as_bytes());
    }

    fn tool(&mut self, call: ToolCall) -> Result<J, RuntimeError> {
        let policy = J::Object(call.policy.clone());
        let base = Fields {
            tool_id: Some(call.id.to_string()),
            tool_version: call.version.map(str::to_string),
            inputs_hash: Some(hash_json(&call.args)),
            policy_hash: Some(hash_json(&policy)),
            ..Default::default()
        };
        if let Err(m) = tools::validate(call.alias, call.id, &call.policy, &call.args) {
            self.record(
                "tool_call",
                Fields {
                    status: Some("denied".into()),
                    latency_ms: Some(0),
                    message: Some(m.clone()),
                    ..base
                },
            );
            return Err(RuntimeError::new(ErrorKind::PolicyViolation, m));
        }
        let start = Instant::now();
        let (outcome, recorded, cached) = self.dispatch(&call);
        let latency = recorded.unwrap_or(start.elapsed().as_millis() as u64);
        match outcome {
            Ok(v) => {
                self.record(
                    "tool_call",
                    Fields {
                        status: Some("ok".into()),
                        latency_ms: Some(latency),
                        outputs_hash: Some(hash_json(&v)),
                        cached: Some(cached),
                        ..base
                    },
                );
                Ok(v)
            }
            Err(m) => {
                self.record(
                    "tool_call",
                    Fields {
                        status: Some("error".into()),
                        latency_ms: Some(latency),
                        cached: Some(cached),
                        message: Some(m.clone()),
                        ..base
                    },
                );
                Err(RuntimeError::new(ErrorKind::ToolError, m))
            }
        }
    }

    fn event(&mut self, kind: &str, cell: Option<&str>, message: Option<&str>) {
        if self.trace.is_none() {
            return;
        }
        let (cell, details) = if kind == "effect" {
            (None, cell.map(|op| serde_json::json!({ "op": op })))
        } else {
            (cell.map(str::to_string), None)
        };
        self.record(
            kind,
            Fields {
                cell,
                details,
                message: message.map(str::to_string),
                ..Default::default()
            },
        );
    }

    fn trace_ref(&mut self) -> (String, u64) {
        match &self.trace {
            Some(t) => (t.run_id.clone(), t.seq()),
            None => ("local".into(), 0),
        }
    }
}
