//! The Lumen virtual machine (§17.2): loads the LIR modules the compiler
//! emits and runs them.
//!
//! - `program`: loading (compact instructions, names resolved to numbers,
//!   fused instructions).
//! - `vm`: the register interpreter, effects, defers, calls; the `Host`
//!   trait through which output, tools and trace events leave the VM.
//! - `value`: runtime values, display, equality, ordering, JSON mapping.
//! - `ops`, `format`, `builtins`, `process`: operators, format specs, the
//!   builtin functions of §13 and the process runtimes of §11.
//! - `fsio`: the atomic, durable file replacement every Lumen writer uses.

// Map keys and set elements are Values; the interior mutability some
// variants carry (iterators, process handles) never takes part in their
// order (handles compare by address), so keys cannot change under a map.
#![allow(clippy::mutable_key_type)]

pub mod builtins;
pub mod error;
pub mod format;
pub mod fsio;
pub mod mem;
pub mod ops;
pub mod process;
pub mod program;
pub mod value;
pub mod vm;

pub use error::{ErrorKind, RuntimeError, Unwind};
pub use program::Program;
pub use value::Value;
pub use vm::{BufferHost, Host, ToolCall, Vm};
