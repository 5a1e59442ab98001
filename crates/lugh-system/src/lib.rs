//! LughOS assembled from the kernel, its services and the storage engine:
//!
//! - [`system`]: `lugh run` (kernel, supervised scheduler service, a task
//!   workload, status lines) and `lugh ctl` over its control socket.
//! - [`grid`]: the energy-grid demo (`lugh run --demo grid`).
//! - [`image`] and [`guest`]: the QEMU image (`lugh image`, `lugh qemu`)
//!   and lugh as process 1 inside it.
//! - [`bench`]: `lugh bench ipc|priority|swap|restart|storage`.

pub mod bench;
pub mod grid;
pub mod guest;
pub mod image;
pub mod system;
