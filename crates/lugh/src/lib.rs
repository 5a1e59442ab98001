//! LughOS microkernel MVP.
//!
//! This first layer is the IPC framework the seed puts at the centre:
//! [`msg`] (the versioned, checksummed message format), [`inbox`] (a
//! receiver that always drains HIGH before MEDIUM before LOW) and [`ipc`]
//! (endpoints over real NNG sockets, one per priority), measured by
//! [`bench`]. The kernel, schedulers, live swap and reincarnation server
//! are built on it.

pub mod bench;
pub mod grid;
pub mod guest;
pub mod image;
pub mod inbox;
pub mod ipc;
pub mod kv;
pub mod memory;
pub mod msg;
pub mod sched;
pub mod swap;
pub mod system;
