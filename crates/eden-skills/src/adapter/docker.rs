//! The Docker adapter (docs/eden-skills/behaviour.md#targets): skills are copied into a running
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

use crate::adapter::{AdapterError, Injection, PathState, TargetAdapter};
use crate::config::{Environment, InstallMode};

pub const NO_CLI: &str = "Docker CLI not found; install Docker or set EDEN_SKILLS_DOCKER_BIN";

/// The container's default user (docs/eden-skills/behaviour.md#targets).
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
    /// Path states learned this run (one exec answers many paths).
    states: Mutex<std::collections::HashMap<String, PathState>>,
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
            states: Mutex::new(std::collections::HashMap::new()),
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
    /// parameters, never spliced into the script (docs/eden-skills/behaviour.md#targets).
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

/// Appends a store entry's tree under `rel`, entries owned by `uid:gid`.
fn append_dir(
    b: &mut tar::Builder<Vec<u8>>,
    dir: &Path,
    rel: &Path,
    uid: u64,
    gid: u64,
) -> std::io::Result<()> {
    let now = crate::fsutil::unix_now();
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
        h.set_mtime(now);
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

/// Creates each root and an empty staging directory, as the default user;
/// prints `ok <i>` or `err <i> <message>` per pair of arguments.
const PREPARE: &str = "i=0\n\
while [ $# -gt 1 ]; do\n\
  if e=$(mkdir -p -- \"$1\" 2>&1 && mkdir -- \"$2\" 2>&1); then echo \"ok $i\"; else echo \"err $i $e\" | tr '\\n' ' '; echo; fi\n\
  shift 2; i=$((i+1))\n\
done";

/// Per triple (staging, target, old): the old version aside, the staging
/// in, the old deleted; on failure the old moved back and the staging
/// removed. Prints `ok <i>` or `err <i> <message>`.
const SWAP: &str = "# eden-skills: swap staging into place\n\
i=0\n\
while [ $# -gt 2 ]; do\n\
  s=$1; t=$2; o=$3; shift 3\n\
  if [ -e \"$t\" ] || [ -L \"$t\" ]; then\n\
    if ! e=$(mv -- \"$t\" \"$o\" 2>&1); then rm -rf -- \"$s\"; echo \"err $i $e\" | tr '\\n' ' '; echo; i=$((i+1)); continue; fi\n\
  fi\n\
  if e=$(mv -- \"$s\" \"$t\" 2>&1); then rm -rf -- \"$o\"; echo \"ok $i\"; else\n\
    if [ -e \"$o\" ] || [ -L \"$o\" ]; then mv -- \"$o\" \"$t\"; fi\n\
    rm -rf -- \"$s\"; echo \"err $i $e\" | tr '\\n' ' '; echo\n\
  fi\n\
  i=$((i+1))\n\
done";

const STATES: &str = "for p; do if [ -L \"$p\" ]; then echo link; elif [ -d \"$p\" ]; then echo dir; elif [ -e \"$p\" ]; then echo file; else echo absent; fi; done";

/// `ok <i>` / `err <i> <msg>` lines into per-item results.
fn item_results(stdout: &str, n: usize) -> Vec<Option<String>> {
    let mut r: Vec<Option<String>> = vec![Some("no answer from the container".into()); n];
    for line in stdout.lines() {
        let mut parts = line.splitn(3, ' ');
        let (kind, idx, msg) = (
            parts.next(),
            parts.next().and_then(|x| x.parse::<usize>().ok()),
            parts.next(),
        );
        if let Some(i) = idx.filter(|i| *i < n) {
            r[i] = match kind {
                Some("ok") => None,
                _ => Some(msg.unwrap_or("failed").trim().to_string()),
            };
        }
    }
    r
}

impl DockerAdapter {
    fn cache_set(&self, path: &str, state: PathState) {
        self.states
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(path.to_string(), state);
    }

    /// Forgets cached path states (before verification re-reads them).
    pub fn forget_states(&self) {
        self.states
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    fn denied_or(&self, path: &str, u: &User, msg: &str, what: &str) -> AdapterError {
        if permission_problem(msg) {
            self.denied(path, u)
        } else {
            AdapterError::Unavailable(format!(
                "{what} '{path}' in container '{}': {msg}",
                self.container
            ))
        }
    }
}

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
        if let Some(s) = self
            .states
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(path)
        {
            return Ok(s.clone());
        }
        Ok(self.inspect_many(&[path.to_string()]).await?.remove(0))
    }

    /// One `docker exec` for all paths; the answers are cached for the run.
    async fn inspect_many(&self, paths: &[String]) -> Result<Vec<PathState>, AdapterError> {
        self.health().await?;
        if paths.is_empty() {
            return Ok(Vec::new());
        }
        let args: Vec<&str> = paths.iter().map(String::as_str).collect();
        let out = self.exec(STATES, &args).await?;
        if !out.ok {
            return Err(AdapterError::Unavailable(last_line(&out.stderr)));
        }
        let states: Vec<PathState> = out
            .stdout
            .lines()
            .map(|l| match l.trim() {
                "link" => PathState::Symlink(PathBuf::new()),
                "dir" => PathState::Dir,
                "file" => PathState::File,
                _ => PathState::Absent,
            })
            .collect();
        if states.len() != paths.len() {
            return Err(AdapterError::Unavailable(format!(
                "unexpected answer from container '{}'",
                self.container
            )));
        }
        for (p, s) in paths.iter().zip(&states) {
            self.cache_set(p, s.clone());
        }
        Ok(states)
    }

    async fn inject(
        &self,
        store_entry: &Path,
        target: &str,
        mode: InstallMode,
    ) -> Result<(), AdapterError> {
        let item = Injection {
            store_entry: store_entry.to_path_buf(),
            target: target.to_string(),
            mode,
        };
        self.inject_many(&[item]).await.remove(0)
    }

    /// Three docker calls for any number of skills: one exec creating
    /// roots and staging directories as the default user, one `docker cp`
    /// of a tar stream holding every staged tree (owned by that user), one
    /// exec swapping each into place (rolled back per item on failure).
    async fn inject_many(&self, items: &[Injection]) -> Vec<Result<(), AdapterError>> {
        let fail_all = |e: &AdapterError| -> Vec<Result<(), AdapterError>> {
            items.iter().map(|_| Err(clone_err(e))).collect()
        };
        if let Err(e) = self.health().await {
            return fail_all(&e);
        }
        if items.iter().any(|i| i.mode == InstallMode::Symlink)
            && !self.warned_symlink.swap(true, Ordering::SeqCst)
        {
            self.warnings
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(format!(
                    "symlink mode is not available in {}; copying",
                    self.env
                ));
        }
        let u = match self.user().await {
            Ok(u) => u,
            Err(e) => return fail_all(&e),
        };
        let mut results: Vec<Option<Result<(), AdapterError>>> =
            items.iter().map(|_| None).collect();
        let (plans, prep_args) = staging_plans(items);
        // (1) roots and staging directories, as the default user.
        let args: Vec<&str> = prep_args.iter().map(String::as_str).collect();
        let out = match self.exec(PREPARE, &args).await {
            Ok(o) => o,
            Err(e) => return fail_all(&e),
        };
        let prepared = item_results(&out.stdout, items.len());
        let mut ready = Vec::new();
        for p in plans {
            match &prepared[p.i] {
                None => ready.push(p),
                Some(msg) => {
                    results[p.i] = Some(Err(self.denied_or(
                        &items[p.i].target,
                        &u,
                        msg,
                        "cannot create",
                    )))
                }
            }
        }
        if !ready.is_empty() {
            self.copy_and_swap(items, &ready, &u, &mut results).await;
        }
        results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(AdapterError::Unavailable("not attempted".into()))))
            .collect()
    }

    async fn uninstall(&self, target: &str) -> Result<(), AdapterError> {
        self.health().await?;
        let out = self.exec("rm -rf -- \"$1\"", &[target]).await?;
        if !out.ok {
            let u = self.user().await?;
            return Err(self.fail("cannot remove", target, &u, &out));
        }
        self.cache_set(target, PathState::Absent);
        Ok(())
    }
}

fn clone_err(e: &AdapterError) -> AdapterError {
    match e {
        AdapterError::Hinted { message, hint } => AdapterError::Hinted {
            message: message.clone(),
            hint: hint.clone(),
        },
        other => AdapterError::Unavailable(other.to_string()),
    }
}

/// `docker mount-hint CONTAINER`: for each agent root the config targets
/// inside the container, the host directory to bind-mount there
/// (host, container), without duplicates.
pub async fn mount_roots(
    cfg: &crate::config::Config,
    ad: &DockerAdapter,
    container: &str,
    home: &std::path::Path,
) -> Vec<(String, String)> {
    use crate::adapter::TargetAdapter;
    let mut roots: Vec<(String, String)> = Vec::new();
    for s in &cfg.skills {
        for t in &s.targets {
            if t.environment != crate::config::Environment::Docker(container.to_string()) {
                continue;
            }
            let raw = cfg.target_root(t);
            let inside = ad.expand_root(&raw).await.unwrap_or(raw.clone());
            let host_raw = crate::agents::default_root(&t.agent).unwrap_or("~/.eden-skills/mounts");
            let host = crate::fsutil::resolve_path(host_raw, home, &cfg.dir)
                .display()
                .to_string();
            if !roots.contains(&(host.clone(), inside.clone())) {
                roots.push((host, inside));
            }
        }
    }
    roots
}

/// Where one injection is staged and where the old version goes meanwhile.
struct Stage {
    i: usize,
    staging: String,
    old: String,
}

/// A staging and a backup name beside each target, and the arguments of
/// the prepare script (root, staging directory) for each.
fn staging_plans(items: &[Injection]) -> (Vec<Stage>, Vec<String>) {
    let mut plans = Vec::new();
    let mut prep_args: Vec<String> = Vec::new();
    for (i, it) in items.iter().enumerate() {
        let t = Path::new(&it.target);
        let root = t
            .parent()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "/".into());
        let id = t
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let suffix = crate::fsutil::unique_suffix();
        let base = root.trim_end_matches('/');
        let staging = format!("{base}/.eden-stage-{id}-{suffix}");
        prep_args.push(root.clone());
        prep_args.push(staging.clone());
        plans.push(Stage {
            i,
            staging,
            old: format!("{base}/.eden-old-{id}-{suffix}"),
        });
    }
    (plans, prep_args)
}

/// One tar stream of every staged tree, paths relative to `/`, owned by
/// `uid:gid`.
async fn staged_tar(
    items: &[Injection],
    ready: &[Stage],
    uid: u64,
    gid: u64,
) -> Result<Vec<u8>, AdapterError> {
    let jobs: Vec<(PathBuf, String)> = ready
        .iter()
        .map(|p| {
            (
                items[p.i].store_entry.clone(),
                p.staging.trim_start_matches('/').to_string(),
            )
        })
        .collect();
    let tar = tokio::task::spawn_blocking(move || {
        let mut b = tar::Builder::new(Vec::new());
        b.follow_symlinks(false);
        for (entry, prefix) in &jobs {
            append_dir(&mut b, entry, Path::new(prefix), uid, gid)?;
        }
        b.into_inner()
    })
    .await;
    match tar {
        Ok(Ok(t)) => Ok(t),
        Ok(Err(e)) => Err(AdapterError::Unavailable(format!(
            "cannot read the store: {e}"
        ))),
        Err(e) => Err(AdapterError::Unavailable(format!("tar task failed: {e}"))),
    }
}

impl DockerAdapter {
    /// Removes staging directories (nothing to report if it fails).
    async fn remove_staging(&self, staging: Vec<String>) {
        if !staging.is_empty() {
            let args: Vec<&str> = staging.iter().map(String::as_str).collect();
            let _ = self.exec("rm -rf -- \"$@\"", &args).await;
        }
    }

    /// Steps (2) and (3) of `inject_many` for the prepared items: the tar
    /// stream copied in, then the swaps; no failed item keeps its staging.
    async fn copy_and_swap(
        &self,
        items: &[Injection],
        ready: &[Stage],
        u: &User,
        results: &mut [Option<Result<(), AdapterError>>],
    ) {
        let all_staging = || ready.iter().map(|p| p.staging.clone()).collect::<Vec<_>>();
        let tar = match staged_tar(items, ready, u.uid, u.gid).await {
            Ok(t) => t,
            Err(e) => {
                self.remove_staging(all_staging()).await;
                for p in ready {
                    results[p.i] = Some(Err(clone_err(&e)));
                }
                return;
            }
        };
        let dest = format!("{}:/", self.container);
        let copy_err = match self.docker(&["cp", "-", &dest], Some(tar)).await {
            Ok(o) if o.ok => None,
            Ok(o) => Some(last_line(&o.stderr)),
            Err(e) => Some(e.to_string()),
        };
        if let Some(msg) = copy_err {
            self.remove_staging(all_staging()).await;
            for p in ready {
                results[p.i] = Some(Err(self.denied_or(
                    &items[p.i].target,
                    u,
                    &msg,
                    "cannot copy into",
                )));
            }
            return;
        }
        let mut swap_args: Vec<&str> = Vec::new();
        for p in ready {
            swap_args.extend([
                p.staging.as_str(),
                items[p.i].target.as_str(),
                p.old.as_str(),
            ]);
        }
        match self.exec(SWAP, &swap_args).await {
            Ok(out) => {
                let swapped = item_results(&out.stdout, ready.len());
                let leftovers: Vec<String> = ready
                    .iter()
                    .enumerate()
                    .filter(|(k, _)| swapped[*k].is_some())
                    .map(|(_, p)| p.staging.clone())
                    .collect();
                self.remove_staging(leftovers).await;
                for (k, p) in ready.iter().enumerate() {
                    results[p.i] = Some(match &swapped[k] {
                        None => {
                            self.cache_set(&items[p.i].target, PathState::Dir);
                            Ok(())
                        }
                        Some(msg) => {
                            Err(self.denied_or(&items[p.i].target, u, msg, "cannot replace"))
                        }
                    });
                }
            }
            Err(e) => {
                self.remove_staging(all_staging()).await;
                for p in ready {
                    results[p.i] = Some(Err(clone_err(&e)));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_item_results() {
        let r = item_results(
            "ok 0\nerr 2 mkdir: can't create directory: Permission denied \n",
            3,
        );
        assert_eq!(r[0], None);
        assert_eq!(r[1].as_deref(), Some("no answer from the container"));
        assert_eq!(
            r[2].as_deref(),
            Some("mkdir: can't create directory: Permission denied")
        );
        assert!(permission_problem(r[2].as_deref().unwrap()));
    }
}
