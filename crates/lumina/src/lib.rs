//! lumina: a declarative workstation profile.
//!
//! The registry (`lumina.yaml`) declares modules: a source inside the
//! profile directory and a target in `$HOME`. The Shadow Linker turns that
//! declaration into relative symlinks, going through a staged, numbered
//! generation under `~/.lumina/generations/` that `~/.lumina/active` points
//! at, so that every change is atomic, journaled and undoable.
//!
//! Stages are separate modules so each is testable alone:
//! [`registry`] parses and validates, [`linker::plan`] decides, [`linker::apply`]
//! stages and links, [`linker::status`] reports drift.

pub mod adopt;
pub mod catalog;
pub mod edit;
pub mod env;
pub mod error;
pub mod fingerprint;
pub mod flow;
pub mod fsops;
pub mod hardware;
pub mod hooks;
pub mod host;
pub mod linker;
pub mod mission;
pub mod packages;
pub mod paths;
pub mod patterns;
pub mod profile;
pub mod registry;
pub mod sync;
pub mod yaml;

pub use env::Env;
pub use error::{Error, Result};
