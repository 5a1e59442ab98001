//! Target adapters (docs/eden-skills/behaviour.md#targets): every target mutation goes through a
//! [`TargetAdapter`] chosen by the target's environment alone.

use std::fs;
use std::io;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use async_trait::async_trait;

use crate::config::{Environment, InstallMode};
use crate::fsutil::{remove_any, unique_suffix};

pub mod docker;
mod local;

pub use local::{inspect_local, LocalAdapter};

/// What is at a target path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathState {
    Absent,
    /// A symlink and where it points (raw).
    Symlink(PathBuf),
    Dir,
    File,
}

#[derive(Debug, thiserror::Error)]
pub enum AdapterError {
    #[error("{0}")]
    Unavailable(String),
    /// A problem the user can fix, with the fix (`~> ...`).
    #[error("{message}")]
    Hinted { message: String, hint: String },
    #[error("{path}: {source}")]
    Io { path: String, source: io::Error },
}

impl AdapterError {
    pub fn hint(&self) -> Option<&str> {
        match self {
            AdapterError::Hinted { hint, .. } => Some(hint),
            _ => None,
        }
    }
}

fn io_err(path: &Path, source: io::Error) -> AdapterError {
    AdapterError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Places store entries at target paths in one environment (docs/eden-skills/behaviour.md#targets).
#[async_trait]
pub trait TargetAdapter: Send + Sync {
    fn environment(&self) -> &Environment;
    /// Whether the environment can be reached at all.
    async fn health(&self) -> Result<(), AdapterError>;
    /// `~` of a target root in this environment.
    async fn expand_root(&self, raw: &str) -> Result<String, AdapterError>;
    async fn inspect(&self, path: &str) -> Result<PathState, AdapterError>;
    /// Puts `store_entry` at `target` (`<root>/<id>`), replacing what is
    /// there (only ever called for missing or managed paths).
    async fn inject(
        &self,
        store_entry: &Path,
        target: &str,
        mode: InstallMode,
    ) -> Result<(), AdapterError>;
    async fn uninstall(&self, target: &str) -> Result<(), AdapterError>;

    /// The states of many paths, in one round trip where the environment
    /// allows it (a docker exec costs far more than a stat).
    async fn inspect_many(&self, paths: &[String]) -> Result<Vec<PathState>, AdapterError> {
        let mut out = Vec::with_capacity(paths.len());
        for p in paths {
            out.push(self.inspect(p).await?);
        }
        Ok(out)
    }

    /// Many injections at once; one result per item, in order.
    async fn inject_many(&self, items: &[Injection]) -> Vec<Result<(), AdapterError>> {
        let mut out = Vec::with_capacity(items.len());
        for i in items {
            out.push(self.inject(&i.store_entry, &i.target, i.mode).await);
        }
        out
    }
}

/// One store entry to place at one target path.
#[derive(Debug, Clone)]
pub struct Injection {
    pub store_entry: PathBuf,
    pub target: String,
    pub mode: InstallMode,
}

/// One adapter per environment for a run (docs/eden-skills/behaviour.md#targets); docker CLI
/// calls share `bound` with git (docs/eden-skills/behaviour.md#concurrency).
pub fn for_environment(
    env: &Environment,
    bound: std::sync::Arc<tokio::sync::Semaphore>,
) -> std::sync::Arc<dyn TargetAdapter> {
    match env {
        Environment::Local => std::sync::Arc::new(LocalAdapter::default()),
        Environment::Docker(c) => {
            std::sync::Arc::new(crate::adapter::docker::DockerAdapter::new(c, bound))
        }
    }
}
