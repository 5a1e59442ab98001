//! Services: each declares its operations and payloads, accepts those and
//! the kernel's, and runs over IPC like any other process.
//!
//! - [`scheduler`]: tasks scheduled by a swappable algorithm, supervised by
//!   the kernel (heartbeats with checkpoints, live swap, restarts).
//! - [`storage`]: transactions on the `lugh-kv` store over IPC, replies
//!   after durability.

pub mod scheduler;
pub mod storage;
