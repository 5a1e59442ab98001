//! The VM's boundary with the world: the `Host` trait (output, tools,
//! trace events), a buffering host for tests and embedding, and the tool
//! calls and unhandled effect operations that go through it.

use super::*;

/// What the VM needs from the world: output, tools and trace events.
pub trait Host {
    /// Program output (`print`, `emit`).
    fn out(&mut self, text: &str);
    /// Diagnostic output (`debug`).
    fn err(&mut self, text: &str);
    /// Validates the policy, dispatches the tool and records its
    /// `tool_call` event (§10.3, §10.4).
    fn tool(&mut self, call: ToolCall) -> Result<serde_json::Value, RuntimeError>;
    /// A trace event (§15); `emit` and `effect` events come through here.
    fn event(&mut self, kind: &str, cell: Option<&str>, message: Option<&str>);
    /// `trace_ref()`: the run id and the current sequence number.
    fn trace_ref(&mut self) -> (String, u64);
}

/// One tool dispatch, for the host.
pub struct ToolCall<'a> {
    pub alias: &'a str,
    pub id: &'a str,
    pub version: Option<&'a str>,
    pub args: serde_json::Value,
    /// The merged grant policy (§10.2).
    pub policy: serde_json::Map<String, serde_json::Value>,
}

/// A host that prints to the process's stdout/stderr and has no tools but
/// the built-in providers' absence (for tests and embedding).
#[derive(Default)]
pub struct BufferHost {
    pub out: String,
    pub err: String,
}

impl Host for BufferHost {
    fn out(&mut self, text: &str) {
        self.out.push_str(text);
    }
    fn err(&mut self, text: &str) {
        self.err.push_str(text);
    }
    fn tool(&mut self, call: ToolCall) -> Result<serde_json::Value, RuntimeError> {
        Err(RuntimeError::new(
            ErrorKind::ToolError,
            format!("no provider for tool '{}'", call.id),
        ))
    }
    fn event(&mut self, _: &str, _: Option<&str>, _: Option<&str>) {}
    fn trace_ref(&mut self) -> (String, u64) {
        ("local".into(), 0)
    }
}

impl<'h> Vm<'h> {
    pub(super) fn unhandled(&mut self, key: u32, args: Vec<Value>, cell: u32) -> VmResult<Value> {
        let prog = self.prog.clone();
        let name = &prog.names[key as usize];
        if let Some(ti) = prog.effect_tools.get(&key) {
            let params = prog.effect_params.get(&key).cloned().unwrap_or_default();
            let m: std::collections::BTreeMap<Value, Value> = args
                .into_iter()
                .enumerate()
                .map(|(i, v)| {
                    let k = params.get(i).cloned().unwrap_or_else(|| format!("arg{i}"));
                    (Value::str(k), v)
                })
                .collect();
            return self.call_tool(*ti, &Value::Map(Rc::new(m)), cell);
        }
        fail(
            ErrorKind::UnhandledEffect,
            format!("unhandled effect {name}"),
        )
    }

    pub fn call_tool(&mut self, ti: usize, args: &Value, cell: u32) -> VmResult<Value> {
        let prog = self.prog.clone();
        let tool = &prog.module.tools[ti];
        let json_args = match crate::value::to_serde(args) {
            Ok(j) => j,
            Err(e) => return fail(ErrorKind::ToolError, format!("tool '{}': {e}", tool.alias)),
        };
        // Top-level grants, overridden key by key by the agent's (§10.2).
        let mut policy = prog
            .module
            .grants
            .get(&tool.alias)
            .cloned()
            .unwrap_or_default();
        let cname = &prog.cells[cell as usize].name;
        if let Some((owner, _)) = cname.split_once('.') {
            if let Some(g) = prog.module.grants.get(&format!("{owner}/{}", tool.alias)) {
                for (k, v) in g {
                    policy.insert(k.clone(), v.clone());
                }
            }
        }
        let out = self.host.tool(ToolCall {
            alias: &tool.alias,
            id: &tool.id,
            version: tool.version.as_deref(),
            args: json_args,
            policy,
        })?;
        Ok(crate::value::from_json(&out))
    }
}
