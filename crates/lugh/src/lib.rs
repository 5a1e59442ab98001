//! The LughOS microkernel.
//!
//! - [`msg`]: the versioned, checksummed message format (the operation is
//!   opaque to it: the kernel and each service declare their own).
//! - [`inbox`]: a receiver that always drains HIGH before MEDIUM before LOW.
//! - [`ipc`]: endpoints over real NNG sockets, one per priority.
//! - [`kernel`]: channels with numbered streams, the supervised service's
//!   instances, live swap, the reincarnation server, memory accounts.
//! - [`memory`]: quotas and the memory request payload; [`sched`]: the
//!   scheduling algorithms and their sealed state.
//! - [`services`]: the scheduler service and the storage service (the
//!   storage engine itself is the `lugh-kv` crate).
//!
//! The running system (`lugh run`), the grid demo, the QEMU image and the
//! benchmarks are the `lugh-system` crate.

pub mod inbox;
pub mod ipc;
pub mod kernel;
pub mod memory;
pub mod msg;
pub mod sched;
pub mod services;
