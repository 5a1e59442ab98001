//! The Docker adapter (contract §12.2): skills are copied into a running
//! container through the docker CLI — staged, then renamed into place —
//! owned by the container's default user. No volume, no restart.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use tokio::io::AsyncWriteExt;
use tokio::process::Command;
use tokio::sync::{OnceCell, Semaphore};

use crate::adapter::{AdapterError, PathState, TargetAdapter};
use crate::config::{Environment, InstallMode};

pub const NO_CLI: &str = "Docker CLI not found; install Docker or set EDEN_SKILLS_DOCKER_BIN";

/// The container's default user (ADP-D3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub uid: u64,
    pub gid: u64,
    pub home: String,
}

pub struct DockerAdapter {
    env: Environment,
    container: String,
    bin: PathBuf,
    bound: Arc<Semaphore>,
    health: OnceCell<Result<(), (String, Option<String>)>>,
    user: OnceCell<Result<User, String>>,
    warned_symlink: AtomicBool,
    /// Warnings for the run's report (symlink mode downgraded to copy).
    pub warnings: Mutex<Vec<String>>,
}

struct Out {
    ok: bool,
    stdout: String,
    stderr: String,
}

/// The docker program: `$EDEN_SKILLS_DOCKER_BIN`, else `docker` on PATH.
pub fn docker_bin() -> PathBuf {
    std::env::var_os("EDEN_SKILLS_DOCKER_BIN")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("docker"))
}

fn permission_problem(stderr: &str) -> bool {
    let l = stderr.to_lowercase();
    l.contains("permission denied") || l.contains("read-only file system")
}

fn last_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty())
        .unwrap_or("docker failed without a message")
        .to_string()
}

impl DockerAdapter {
    pub fn new(container: &str, bound: Arc<Semaphore>) -> DockerAdapter {
        DockerAdapter {
            env: Environment::Docker(container.to_string()),
            container: container.to_string(),
            bin: docker_bin(),
            bound,
            health: OnceCell::new(),
            user: OnceCell::new(),
            warned_symlink: AtomicBool::new(false),
            warnings: Mutex::new(Vec::new()),
        }
    }

    /// One docker CLI call, under the run's concurrency bound.
    async fn docker(&self, args: &[&str], stdin: Option<Vec<u8>>) -> Result<Out, AdapterError> {
        let _permit = self.bound.acquire().await;
        let mut c = Command::new(&self.bin);
        c.args(args)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        tracing::debug!(?c, "docker");
        let mut child = c.spawn().map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                AdapterError::Unavailable(NO_CLI.into())
            } else {
                AdapterError::Unavailable(format!("cannot run docker: {e}"))
            }
        })?;
        let writer = match (stdin, child.stdin.take()) {
            (Some(bytes), Some(mut pipe)) => Some(tokio::spawn(async move {
                let r = pipe.write_all(&bytes).await;
                drop(pipe);
                r
            })),
            _ => None,
        };
        let out = child
            .wait_with_output()
            .await
            .map_err(|e| AdapterError::Unavailable(format!("docker failed: {e}")))?;
        if let Some(w) = writer {
            let _ = w.await;
        }
        Ok(Out {
            ok: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }

    /// `docker exec <c> sh -c <script> sh <args...>`: values are positional
    /// parameters, never spliced into the script (ADP-D1).
    async fn exec(&self, script: &str, args: &[&str]) -> Result<Out, AdapterError> {
        let mut v = vec!["exec", self.container.as_str(), "sh", "-c", script, "sh"];
        v.extend_from_slice(args);
        self.docker(&v, None).await
    }

    async fn check_health(&self) -> Result<(), (String, Option<String>)> {
        let out = self
            .docker(
                &["inspect", "--format", "{{.State.Running}}", &self.container],
                None,
            )
            .await
            .map_err(|e| (e.to_string(), None))?;
        if out.ok && out.stdout.trim() == "true" {
            return Ok(());
        }
        if out.ok {
            return Err((
                format!("container '{}' is not running", self.container),
                Some(format!("docker start {}", self.container)),
            ));
        }
        let l = out.stderr.to_lowercase();
        if l.contains("no such object") || l.contains("no such container") {
            return Err((format!("container '{}' not found", self.container), None));
        }
        Err((last_line(&out.stderr), None))
    }

    pub async fn user(&self) -> Result<User, AdapterError> {
        let r = self
            .user
            .get_or_init(|| async {
                let out = self
                    .exec("id -un; id -u; id -g; printf '%s\\n' \"$HOME\"", &[])
                    .await
                    .map_err(|e| e.to_string())?;
                if !out.ok {
                    return Err(format!(
                        "cannot learn the user of container '{}': {}",
                        self.container,
                        last_line(&out.stderr)
                    ));
                }
                let l: Vec<&str> = out.stdout.lines().collect();
                let parse = |i: usize| l.get(i).and_then(|s| s.trim().parse::<u64>().ok());
                match (l.first(), parse(1), parse(2), l.get(3)) {
                    (Some(name), Some(uid), Some(gid), Some(home)) => Ok(User {
                        name: name.trim().to_string(),
                        uid,
                        gid,
                        home: home.trim().trim_end_matches('/').to_string(),
                    }),
                    _ => Err(format!(
                        "unexpected answer from `id` in container '{}'",
                        self.container
                    )),
                }
            })
            .await;
        r.clone().map_err(AdapterError::Unavailable)
    }

    fn denied(&self, path: &str, u: &User) -> AdapterError {
        let dir = Path::new(path)
            .parent()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| path.to_string());
        AdapterError::Hinted {
            message: format!(
                "cannot write '{path}' in container '{}' as user '{}' (uid {}): permission denied",
                self.container, u.name, u.uid
            ),
            hint: format!("make {dir} writable by that user, or point this target's path at a directory it can write"),
        }
    }

    fn fail(&self, what: &str, path: &str, u: &User, out: &Out) -> AdapterError {
        if permission_problem(&out.stderr) {
            self.denied(path, u)
        } else {
            AdapterError::Unavailable(format!(
                "{what} '{path}' in container '{}': {}",
                self.container,
                last_line(&out.stderr)
            ))
        }
    }

    /// Destinations of the container's mounts (for DOCKER_NO_BIND_MOUNT and
    /// `docker mount-hint`).
    pub async fn mounts(&self) -> Result<Vec<String>, AdapterError> {
        let out = self
            .docker(
                &["inspect", "--format", "{{json .Mounts}}", &self.container],
                None,
            )
            .await?;
        if !out.ok {
            return Err(AdapterError::Unavailable(last_line(&out.stderr)));
        }
        let v: serde_json::Value =
            serde_json::from_str(out.stdout.trim()).unwrap_or(serde_json::Value::Null);
        Ok(v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|m| m["Destination"].as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default())
    }

    pub fn take_warnings(&self) -> Vec<String> {
        std::mem::take(&mut *self.warnings.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// A tar stream of a store entry whose entries belong to `uid:gid`.
pub fn tar_of(store_entry: &Path, uid: u64, gid: u64) -> std::io::Result<Vec<u8>> {
    let mut b = tar::Builder::new(Vec::new());
    b.follow_symlinks(false);
    append_dir(&mut b, store_entry, Path::new(""), uid, gid)?;
    b.into_inner()
}

fn append_dir(
    b: &mut tar::Builder<Vec<u8>>,
    dir: &Path,
    rel: &Path,
    uid: u64,
    gid: u64,
) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let p = e.path();
        let r = rel.join(e.file_name());
        let meta = std::fs::symlink_metadata(&p)?;
        let mut h = tar::Header::new_gnu();
        h.set_uid(uid);
        h.set_gid(gid);
        h.set_mtime(0);
        if meta.is_dir() {
            h.set_entry_type(tar::EntryType::Directory);
            h.set_mode(0o755);
            h.set_size(0);
            b.append_data(&mut h, &r, std::io::empty())?;
            append_dir(b, &p, &r, uid, gid)?;
        } else if meta.file_type().is_symlink() {
            h.set_entry_type(tar::EntryType::Symlink);
            h.set_mode(0o777);
            h.set_size(0);
            b.append_link(&mut h, &r, std::fs::read_link(&p)?)?;
        } else {
            h.set_entry_type(tar::EntryType::Regular);
            h.set_mode(if meta.permissions().mode() & 0o100 != 0 {
                0o755
            } else {
                0o644
            });
            h.set_size(meta.len());
            b.append_data(&mut h, &r, std::fs::File::open(&p)?)?;
        }
    }
    Ok(())
}

const SWAP: &str = "# eden-skills: swap staging into place\n\
if [ -e \"$2\" ] || [ -L \"$2\" ]; then mv -- \"$2\" \"$3\" || exit 3; fi\n\
if mv -- \"$1\" \"$2\"; then rm -rf -- \"$3\"; exit 0; fi\n\
if [ -e \"$3\" ] || [ -L \"$3\" ]; then mv -- \"$3\" \"$2\"; fi\n\
exit 4";

#[async_trait]
impl TargetAdapter for DockerAdapter {
    fn environment(&self) -> &Environment {
        &self.env
    }

    async fn health(&self) -> Result<(), AdapterError> {
        match self.health.get_or_init(|| self.check_health()).await {
            Ok(()) => Ok(()),
            Err((message, Some(hint))) => Err(AdapterError::Hinted {
                message: message.clone(),
                hint: hint.clone(),
            }),
            Err((message, None)) => Err(AdapterError::Unavailable(message.clone())),
        }
    }

    async fn expand_root(&self, raw: &str) -> Result<String, AdapterError> {
        if raw == "~" || raw.starts_with("~/") {
            self.health().await?;
            let u = self.user().await?;
            return Ok(format!("{}{}", u.home, &raw[1..]));
        }
        Ok(raw.to_string())
    }

    async fn inspect(&self, path: &str) -> Result<PathState, AdapterError> {
        self.health().await?;
        let out = self
            .exec("if [ -L \"$1\" ]; then echo link; elif [ -d \"$1\" ]; then echo dir; elif [ -e \"$1\" ]; then echo file; else echo absent; fi", &[path])
            .await?;
        if !out.ok {
            return Err(AdapterError::Unavailable(last_line(&out.stderr)));
        }
        Ok(match out.stdout.trim() {
            "link" => PathState::Symlink(PathBuf::new()),
            "dir" => PathState::Dir,
            "file" => PathState::File,
            _ => PathState::Absent,
        })
    }

    async fn inject(
        &self,
        store_entry: &Path,
        target: &str,
        mode: InstallMode,
    ) -> Result<(), AdapterError> {
        self.health().await?;
        if mode == InstallMode::Symlink && !self.warned_symlink.swap(true, Ordering::SeqCst) {
            self.warnings
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(format!(
                    "symlink mode is not available in {}; copying",
                    self.env
                ));
        }
        let u = self.user().await?;
        let t = Path::new(target);
        let root = t
            .parent()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "/".into());
        let id = t
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let suffix = crate::fsutil::unique_suffix();
        let staging = format!("{}/.eden-stage-{id}-{suffix}", root.trim_end_matches('/'));
        let old = format!("{}/.eden-old-{id}-{suffix}", root.trim_end_matches('/'));
        // (1) root and an empty staging directory, as the default user.
        let out = self
            .exec("mkdir -p -- \"$1\" && mkdir -- \"$2\"", &[&root, &staging])
            .await?;
        if !out.ok {
            return Err(self.fail("cannot create", target, &u, &out));
        }
        let cleanup = || async {
            let _ = self.exec("rm -rf -- \"$1\"", &[&staging]).await;
        };
        // (2) the files, as a tar stream owned by that user.
        let entry = store_entry.to_path_buf();
        let (uid, gid) = (u.uid, u.gid);
        let tar = match tokio::task::spawn_blocking(move || tar_of(&entry, uid, gid)).await {
            Ok(Ok(t)) => t,
            Ok(Err(e)) => {
                cleanup().await;
                return Err(AdapterError::Io {
                    path: store_entry.display().to_string(),
                    source: e,
                });
            }
            Err(e) => {
                cleanup().await;
                return Err(AdapterError::Unavailable(format!("tar task failed: {e}")));
            }
        };
        let dest = format!("{}:{staging}", self.container);
        let out = self.docker(&["cp", "-", &dest], Some(tar)).await?;
        if !out.ok {
            cleanup().await;
            return Err(self.fail("cannot copy into", target, &u, &out));
        }
        // (3) the swap: old aside, staging in, old deleted (or moved back).
        let out = self.exec(SWAP, &[&staging, target, &old]).await?;
        if !out.ok {
            cleanup().await;
            return Err(self.fail("cannot replace", target, &u, &out));
        }
        Ok(())
    }

    async fn uninstall(&self, target: &str) -> Result<(), AdapterError> {
        self.health().await?;
        let out = self.exec("rm -rf -- \"$1\"", &[target]).await?;
        if !out.ok {
            let u = self.user().await?;
            return Err(self.fail("cannot remove", target, &u, &out));
        }
        Ok(())
    }
}
