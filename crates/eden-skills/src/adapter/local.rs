//! The local adapter: skills placed on this machine's filesystem, as a
//! symlink into the store or as a staged copy swapped into place.

use super::*;

/// The host's filesystem (docs/eden-skills/behaviour.md#targets).
pub struct LocalAdapter {
    env: Environment,
}

impl Default for LocalAdapter {
    fn default() -> Self {
        LocalAdapter {
            env: Environment::Local,
        }
    }
}

#[async_trait]
impl TargetAdapter for LocalAdapter {
    fn environment(&self) -> &Environment {
        &self.env
    }

    async fn health(&self) -> Result<(), AdapterError> {
        Ok(())
    }

    async fn expand_root(&self, raw: &str) -> Result<String, AdapterError> {
        // Local roots are resolved against $HOME and the config directory
        // when the config is read.
        Ok(raw.to_string())
    }

    async fn inspect(&self, path: &str) -> Result<PathState, AdapterError> {
        inspect_local(Path::new(path))
    }

    async fn inject(
        &self,
        store_entry: &Path,
        target: &str,
        mode: InstallMode,
    ) -> Result<(), AdapterError> {
        let store_entry = store_entry.to_path_buf();
        let target = PathBuf::from(target);
        tokio::task::spawn_blocking(move || match mode {
            InstallMode::Symlink => place_symlink(&store_entry, &target),
            InstallMode::Copy => place_copy(&store_entry, &target),
        })
        .await
        .map_err(|e| AdapterError::Unavailable(format!("injection task failed: {e}")))?
    }

    async fn uninstall(&self, target: &str) -> Result<(), AdapterError> {
        let p = PathBuf::from(target);
        tokio::task::spawn_blocking(move || remove_any(&p).map_err(|e| io_err(&p, e)))
            .await
            .map_err(|e| AdapterError::Unavailable(format!("removal task failed: {e}")))?
    }
}

pub(super) fn split(target: &Path) -> Result<(&Path, String), AdapterError> {
    let root = target.parent().ok_or_else(|| {
        AdapterError::Unavailable(format!("{}: no parent directory", target.display()))
    })?;
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    fs::create_dir_all(root).map_err(|e| io_err(root, e))?;
    Ok((root, name))
}

/// An absolute symlink made under a temporary name and renamed over the
/// old managed path (a managed directory is moved aside first).
pub(super) fn place_symlink(store_entry: &Path, target: &Path) -> Result<(), AdapterError> {
    let (root, name) = split(target)?;
    let tmp = root.join(format!(".{name}.eden-link-{}", unique_suffix()));
    symlink(store_entry, &tmp).map_err(|e| io_err(&tmp, e))?;
    let is_real_dir = fs::symlink_metadata(target).is_ok_and(|m| m.is_dir());
    if is_real_dir {
        let old = root.join(format!(".{name}.eden-old-{}", unique_suffix()));
        if let Err(e) = fs::rename(target, &old) {
            let _ = fs::remove_file(&tmp);
            return Err(io_err(target, e));
        }
        if let Err(e) = fs::rename(&tmp, target) {
            let _ = fs::rename(&old, target);
            let _ = fs::remove_file(&tmp);
            return Err(io_err(target, e));
        }
        let _ = remove_any(&old);
        return Ok(());
    }
    fs::rename(&tmp, target).map_err(|e| {
        let _ = fs::remove_file(&tmp);
        io_err(target, e)
    })
}

/// A staged copy renamed into place; on failure the old version is
/// restored and the staging removed (docs/eden-skills/behaviour.md#targets).
pub(super) fn place_copy(store_entry: &Path, target: &Path) -> Result<(), AdapterError> {
    let (root, name) = split(target)?;
    let stage = root.join(format!(".{name}.eden-stage-{}", unique_suffix()));
    if let Err(e) = crate::store::copy_tree(store_entry, &stage) {
        let _ = remove_any(&stage);
        return Err(io_err(&stage, e));
    }
    let exists = fs::symlink_metadata(target).is_ok();
    let old = root.join(format!(".{name}.eden-old-{}", unique_suffix()));
    if exists {
        if let Err(e) = fs::rename(target, &old) {
            let _ = remove_any(&stage);
            return Err(io_err(target, e));
        }
    }
    if let Err(e) = fs::rename(&stage, target) {
        if exists {
            let _ = fs::rename(&old, target);
        }
        let _ = remove_any(&stage);
        return Err(io_err(target, e));
    }
    if exists {
        let _ = remove_any(&old);
    }
    Ok(())
}

pub fn inspect_local(p: &Path) -> Result<PathState, AdapterError> {
    match fs::symlink_metadata(p) {
        // A parent that is a file: the path cannot exist (placing it fails later).
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
            ) =>
        {
            Ok(PathState::Absent)
        }
        Err(e) => Err(io_err(p, e)),
        Ok(m) if m.file_type().is_symlink() => Ok(PathState::Symlink(
            fs::read_link(p).map_err(|e| io_err(p, e))?,
        )),
        Ok(m) if m.is_dir() => Ok(PathState::Dir),
        Ok(_) => Ok(PathState::File),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn copy_replaces_and_symlink_replaces_dir() {
        let t = tempfile::tempdir().unwrap();
        let a = t.path().join("a");
        let b = t.path().join("b");
        fs::create_dir_all(&a).unwrap();
        fs::create_dir_all(&b).unwrap();
        fs::write(a.join("SKILL.md"), "a").unwrap();
        fs::write(b.join("SKILL.md"), "b").unwrap();
        let target = t.path().join("root/skill");
        let ad = LocalAdapter::default();
        let ts = target.to_str().unwrap();
        ad.inject(&a, ts, InstallMode::Copy).await.unwrap();
        ad.inject(&b, ts, InstallMode::Copy).await.unwrap();
        assert_eq!(fs::read_to_string(target.join("SKILL.md")).unwrap(), "b");
        ad.inject(&a, ts, InstallMode::Symlink).await.unwrap();
        assert_eq!(fs::read_link(&target).unwrap(), a);
        // Nothing but the target is left in the root.
        assert_eq!(fs::read_dir(t.path().join("root")).unwrap().count(), 1);
    }
}
