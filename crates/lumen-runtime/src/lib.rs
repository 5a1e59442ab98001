//! The runtime around the Lumen VM: the `Host` programs run with, the
//! run of a program's entry cell with its trace events, and the test
//! runner. Tool calls are validated against their grants (§10.3), then
//! dispatched to the cassette or a built-in provider (§10.4, §10.6);
//! program output is buffered on stdout; trace events form a hash chain
//! in `DIR/<run-id>.jsonl` (§15).

mod host;
pub mod run;
pub mod test;
pub mod tools;
pub mod trace;

pub use host::RuntimeHost;

/// Whether the program declared `@deterministic true` (§10.7).
pub fn is_deterministic(p: &lumen_vm::Program) -> bool {
    p.module.directives.get("deterministic") == Some(&serde_json::Value::Bool(true))
}
