//! Where things are: `$HOME`, the registry, the virtual root, sysfs.
//! Read once from the process environment (or built by hand in tests).

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

#[derive(Debug, Clone)]
pub struct Env {
    /// `$HOME` as the user wrote it (may itself be a symlink).
    pub home: PathBuf,
    /// The virtual root: `$LUMINA_HOME`, else `~/.lumina`.
    pub lumina_home: PathBuf,
    /// The registry file: `--registry`, else `$LUMINA_REGISTRY`, else
    /// `$XDG_CONFIG_HOME/lumina/lumina.yaml`, else `~/.config/lumina/lumina.yaml`.
    pub registry: PathBuf,
    /// Root of sysfs for hardware detection: `$LUMINA_SYSFS_ROOT`, else `/sys`.
    pub sysfs_root: PathBuf,
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl Env {
    /// Reads the process environment. `registry` is the `--registry` flag.
    pub fn from_process(registry: Option<&Path>) -> Result<Env> {
        let home = var("HOME").map(PathBuf::from).ok_or_else(|| {
            Error::Usage(
                "HOME is not set: lumina needs it to place links. Set HOME to your home directory."
                    .into(),
            )
        })?;
        if !home.is_absolute() {
            return Err(Error::Usage(format!(
                "HOME is '{}', which is not an absolute path. Set HOME to an absolute path.",
                home.display()
            )));
        }
        let lumina_home = var("LUMINA_HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| home.join(".lumina"));
        let registry = match registry {
            Some(p) => p.to_path_buf(),
            None => match var("LUMINA_REGISTRY") {
                Some(p) => PathBuf::from(p),
                None => var("XDG_CONFIG_HOME")
                    .map(PathBuf::from)
                    .unwrap_or_else(|| home.join(".config"))
                    .join("lumina")
                    .join("lumina.yaml"),
            },
        };
        let registry = absolute(&registry);
        let lumina_home = absolute(&lumina_home);
        let sysfs_root = var("LUMINA_SYSFS_ROOT")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/sys"));
        Ok(Env {
            home,
            lumina_home,
            registry,
            sysfs_root,
        })
    }

    /// The profile: the directory holding the registry.
    pub fn profile_dir(&self) -> PathBuf {
        self.registry
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("/"))
    }
}

/// Makes a relative path absolute against the working directory, lexically.
pub fn absolute(p: &Path) -> PathBuf {
    if p.is_absolute() {
        crate::paths::normalize(p)
    } else {
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
        crate::paths::normalize(&cwd.join(p))
    }
}
