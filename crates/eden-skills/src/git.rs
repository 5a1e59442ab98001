//! The `git` on `PATH`, driven through `tokio::process`
//! (docs/eden-skills/behaviour.md#concurrency; the flags and environment
//! every call gets are in docs/eden-skills/exit-codes.md#security).
//! Repository caches are bare clones.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::process::Command;

use crate::store::StoreWriter;

/// License file names looked up at a repository's root (docs/eden-skills/behaviour.md#the-safety-gate).
pub const LICENSE_NAMES: &[&str] = &[
    "LICENSE",
    "LICENSE.md",
    "LICENSE.txt",
    "COPYING",
    "COPYING.md",
    "COPYRIGHT",
];

#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("cannot run git: {0}")]
    Spawn(std::io::Error),
    #[error("git timed out after {0} s")]
    Timeout(u64),
    #[error("{stderr}")]
    Failed { stderr: String },
}

#[derive(Debug, Clone)]
pub struct Git {
    program: PathBuf,
    timeout: Duration,
}

impl Default for Git {
    fn default() -> Self {
        Git::from_env()
    }
}

/// What an export read from git besides the tree.
#[derive(Debug, Default)]
pub struct ExportExtras {
    /// The first license file found at the repository root, when the skill
    /// lives in a subpath.
    pub root_license: Option<String>,
}

fn is_hex40(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

impl Git {
    /// `git` from `PATH`, timeout from `EDEN_SKILLS_GIT_TIMEOUT` (default 300 s).
    pub fn from_env() -> Git {
        let secs = std::env::var("EDEN_SKILLS_GIT_TIMEOUT")
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|s| *s > 0)
            .unwrap_or(300);
        Git {
            program: PathBuf::from("git"),
            timeout: Duration::from_secs(secs),
        }
    }

    pub fn timeout_secs(&self) -> u64 {
        self.timeout.as_secs()
    }

    fn command(&self, cwd: Option<&Path>) -> Command {
        let mut c = Command::new(&self.program);
        c.args([
            "-c",
            "protocol.ext.allow=never",
            "-c",
            "core.hooksPath=/dev/null",
        ])
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_ALLOW_PROTOCOL", "file:git:http:https:ssh")
        .env("LC_ALL", "C")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
        if let Some(d) = cwd {
            c.current_dir(d);
        }
        c
    }

    /// Waits for a git child under the timeout: stdout and stderr when it
    /// succeeded, its stderr as the error otherwise.
    async fn finish(&self, child: tokio::process::Child) -> Result<(Vec<u8>, String), GitError> {
        let out = tokio::time::timeout(self.timeout, child.wait_with_output())
            .await
            .map_err(|_| GitError::Timeout(self.timeout.as_secs()))?
            .map_err(GitError::Spawn)?;
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        if out.status.success() {
            Ok((out.stdout, stderr))
        } else {
            Err(GitError::Failed { stderr })
        }
    }

    async fn run_full<I, S>(
        &self,
        cwd: Option<&Path>,
        args: I,
    ) -> Result<(Vec<u8>, String), GitError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut c = self.command(cwd);
        c.args(args);
        tracing::debug!(?c, "git");
        self.finish(c.spawn().map_err(GitError::Spawn)?).await
    }

    async fn run<I, S>(&self, cwd: Option<&Path>, args: I) -> Result<Vec<u8>, GitError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        Ok(self.run_full(cwd, args).await?.0)
    }

    /// `git clone <flags> -- url <scratch>`, renamed to `dest` on success:
    /// a clone is either complete or absent.
    async fn clone_into(&self, flags: &[&str], url: &str, dest: &Path) -> Result<(), GitError> {
        let parent = dest.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(parent).map_err(GitError::Spawn)?;
        let name = dest.file_name().and_then(|n| n.to_str()).unwrap_or("repo");
        let tmp = parent.join(format!(".{name}.clone-{}", crate::fsutil::unique_suffix()));
        let mut args: Vec<&OsStr> = vec![OsStr::new("clone")];
        args.extend(flags.iter().map(OsStr::new));
        args.extend([
            OsStr::new("--quiet"),
            OsStr::new("--"),
            OsStr::new(url),
            tmp.as_os_str(),
        ]);
        if let Err(e) = self.run(None, args).await {
            let _ = crate::fsutil::remove_any(&tmp);
            return Err(e);
        }
        if let Err(e) = std::fs::rename(&tmp, dest) {
            let _ = crate::fsutil::remove_any(&tmp);
            // Another task may have completed the same clone first.
            if !dest.is_dir() {
                return Err(GitError::Spawn(e));
            }
        }
        Ok(())
    }

    /// A bare cache of the remote's default branch only (skill sources):
    /// other branches are fetched when a skill names them
    /// ([`Git::fetch_refs`]), so a broken side branch cannot break an
    /// install of the default one.
    pub async fn clone_bare(&self, url: &str, dest: &Path) -> Result<(), GitError> {
        self.clone_into(&["--bare", "--single-branch"], url, dest)
            .await
    }

    /// Fetches the named refs (branches or tags; commit ids are skipped:
    /// see [`Git::fetch_commit`]) into a bare cache, each under its own
    /// name. `Ok(true)` when something changed (git reports ref updates on
    /// stderr). A name the remote has no branch of is tried as a tag; one
    /// it has neither of is left for [`Git::resolve`] to report.
    pub async fn fetch_refs(&self, repo: &Path, refs: &[&str]) -> Result<bool, GitError> {
        // `HEAD` is the cache's default branch (set by the clone).
        let head = if refs.contains(&"HEAD") {
            self.default_branch(repo).await
        } else {
            None
        };
        let mut wanted: Vec<&str> = refs
            .iter()
            .map(|r| match (*r, &head) {
                ("HEAD", Some(h)) => h.as_str(),
                _ => *r,
            })
            .filter(|r| !r.is_empty() && !is_commit_id(r))
            .collect();
        wanted.sort_unstable();
        wanted.dedup();
        let mut changed = false;
        for r in wanted {
            let head = format!("+refs/heads/{r}:refs/heads/{r}");
            let args = [
                "fetch",
                "--no-tags",
                "--no-write-fetch-head",
                "origin",
                head.as_str(),
            ];
            match self.run_full(Some(repo), args).await {
                Ok((_, stderr)) => changed |= !stderr.trim().is_empty(),
                Err(GitError::Failed { stderr }) if stderr.contains("couldn't find remote ref") => {
                    let tag = format!("+refs/tags/{r}:refs/tags/{r}");
                    let args = ["fetch", "--no-write-fetch-head", "origin", tag.as_str()];
                    match self.run_full(Some(repo), args).await {
                        Ok((_, stderr)) => changed |= !stderr.trim().is_empty(),
                        // Neither a branch nor a tag: resolving it later
                        // reports the unknown ref for the skills naming it.
                        Err(GitError::Failed { stderr })
                            if stderr.contains("couldn't find remote ref") => {}
                        Err(e) => return Err(e),
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Ok(changed)
    }

    /// [`Git::fetch_refs`] of the refs the cache cannot resolve yet (after
    /// a clone of the default branch: the others a skill names).
    pub async fn fetch_missing(&self, repo: &Path, refs: &[&str]) -> Result<(), GitError> {
        let mut missing = Vec::new();
        for r in refs {
            if !is_commit_id(r) && self.resolve(repo, r).await.ok().flatten().is_none() {
                missing.push(*r);
            }
        }
        if !missing.is_empty() {
            self.fetch_refs(repo, &missing).await?;
        }
        Ok(())
    }

    /// A shallow clone with a work tree (registry indexes).
    pub async fn clone_shallow(&self, url: &str, dest: &Path) -> Result<(), GitError> {
        self.clone_into(&["--depth", "1"], url, dest).await
    }

    /// Brings a shallow registry copy to the remote's default branch:
    /// `fetch --depth 1 origin HEAD`, then `reset --hard FETCH_HEAD`. The
    /// work tree changes only after a successful fetch.
    pub async fn refresh_shallow(&self, dir: &Path) -> Result<(), GitError> {
        self.run(
            Some(dir),
            ["fetch", "--depth", "1", "--quiet", "origin", "HEAD"],
        )
        .await?;
        self.run(Some(dir), ["reset", "--hard", "--quiet", "FETCH_HEAD"])
            .await
            .map(|_| ())
    }

    /// `git ls-remote` of one ref: the commit it names on the remote
    /// (tags peeled), if any.
    pub async fn ls_remote(&self, url: &str, git_ref: &str) -> Result<Option<String>, GitError> {
        let out = self.run(None, ["ls-remote", "--", url, git_ref]).await?;
        let text = String::from_utf8_lossy(&out);
        let mut best: Option<(u8, String)> = None;
        for line in text.lines() {
            let Some((sha, name)) = line.split_once('\t') else {
                continue;
            };
            let rank = if name == format!("refs/tags/{git_ref}^{{}}") {
                0
            } else if name == format!("refs/heads/{git_ref}") || name == git_ref {
                1
            } else if name == format!("refs/tags/{git_ref}") {
                2
            } else {
                3
            };
            if best.as_ref().is_none_or(|(r, _)| rank < *r) {
                best = Some((rank, sha.to_string()));
            }
        }
        Ok(best.map(|(_, s)| s))
    }

    /// Fetches one commit by id (a pinned commit not on any branch).
    pub async fn fetch_commit(&self, repo: &Path, commit: &str) -> Result<(), GitError> {
        self.run(
            Some(repo),
            ["fetch", "--no-write-fetch-head", "origin", commit],
        )
        .await
        .map(|_| ())
    }

    /// Every entry of a commit's tree (`ls-tree -r -z --full-tree`), for
    /// [`Git::export`]s of several subpaths of one commit.
    pub async fn list_tree(&self, repo: &Path, commit: &str) -> Result<Vec<u8>, GitError> {
        self.ls_tree(repo, &format!("{commit}^{{tree}}")).await
    }

    /// `ls-tree -r -z --full-tree` of a tree-ish.
    async fn ls_tree(&self, repo: &Path, treeish: &str) -> Result<Vec<u8>, GitError> {
        self.run(
            Some(repo),
            [
                "ls-tree",
                "-r",
                "-z",
                "--full-tree",
                "--end-of-options",
                treeish,
            ],
        )
        .await
    }

    /// The commit a ref (branch, tag or commit id) names, if any.
    pub async fn resolve(&self, repo: &Path, rev: &str) -> Result<Option<String>, GitError> {
        let spec = format!("{rev}^{{commit}}");
        match self
            .run(
                Some(repo),
                [
                    "rev-parse",
                    "--verify",
                    "--quiet",
                    "--end-of-options",
                    &spec,
                ],
            )
            .await
        {
            Ok(out) => {
                let s = String::from_utf8_lossy(&out).trim().to_string();
                Ok(is_hex40(&s).then_some(s))
            }
            Err(GitError::Failed { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The remote's default branch as recorded by the clone (`HEAD`).
    pub async fn default_branch(&self, repo: &Path) -> Option<String> {
        let out = self
            .run(Some(repo), ["symbolic-ref", "--quiet", "HEAD"])
            .await
            .ok()?;
        let s = String::from_utf8_lossy(&out).trim().to_string();
        s.strip_prefix("refs/heads/").map(String::from)
    }

    /// Every file path of a commit (for `install`'s discovery).
    pub async fn list_files(&self, repo: &Path, commit: &str) -> Result<Vec<String>, GitError> {
        let out = self
            .run(
                Some(repo),
                ["ls-tree", "-r", "-z", "--name-only", "--full-tree", commit],
            )
            .await?;
        Ok(out
            .split(|b| *b == 0)
            .filter(|p| !p.is_empty())
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .collect())
    }

    /// Reads blobs by `<commit>:<path>` names; `None` for missing ones.
    pub async fn read_blobs(
        &self,
        repo: &Path,
        names: &[String],
    ) -> Result<Vec<Option<Vec<u8>>>, GitError> {
        let mut c = self.command(Some(repo));
        c.args(["cat-file", "--batch"]).stdin(Stdio::piped());
        let mut child = c.spawn().map_err(GitError::Spawn)?;
        let mut stdin = child.stdin.take().expect("piped stdin");
        let mut input = String::new();
        for n in names {
            input.push_str(n);
            input.push('\n');
        }
        let writer = tokio::spawn(async move {
            let _ = stdin.write_all(input.as_bytes()).await;
        });
        let out = self.finish(child).await;
        let _ = writer.await;
        parse_batch(&out?.0, names.len())
    }

    /// Writes the tree `<commit>:<subpath>` into a store writer with two
    /// git processes (`ls-tree`, `cat-file --batch`). A missing or
    /// non-directory subpath is `Ok(Err(message))` (a checkout failure).
    pub async fn export(
        &self,
        repo: &Path,
        commit: &str,
        subpath: &str,
        w: &mut StoreWriter,
        full_listing: Option<&[u8]>,
    ) -> Result<Result<ExportExtras, String>, GitError> {
        let tree = if subpath == "." {
            format!("{commit}^{{tree}}")
        } else {
            format!("{commit}:{subpath}")
        };
        let listing = match full_listing {
            Some(all) => listing_under(all, subpath),
            None => match self.ls_tree(repo, &tree).await {
                Ok(l) => l,
                Err(GitError::Failed { .. }) => {
                    return Ok(Err(format!("subpath '{subpath}' not found at {commit}")));
                }
                Err(e) => return Err(e),
            },
        };
        if listing.is_empty() && subpath != "." {
            // `ls-tree` of a blob prints nothing useful; treat as missing dir.
            return Ok(Err(format!("subpath '{subpath}' not found at {commit}")));
        }
        struct Item {
            path: String,
            kind: u8, // b'f' file, b'x' exec, b'l' link
        }
        let mut items = Vec::new();
        let mut names = Vec::new();
        for rec in listing.split(|b| *b == 0).filter(|r| !r.is_empty()) {
            let rec = String::from_utf8_lossy(rec);
            let Some((meta, path)) = rec.split_once('\t') else {
                continue;
            };
            let mut parts = meta.split(' ');
            let (mode, typ, oid) = (
                parts.next().unwrap_or(""),
                parts.next().unwrap_or(""),
                parts.next().unwrap_or(""),
            );
            if path.split('/').any(|c| c == ".git") {
                continue;
            }
            let kind = match (mode, typ) {
                ("100755", "blob") => b'x',
                ("100644", "blob") | ("100664", "blob") => b'f',
                ("120000", "blob") => b'l',
                ("160000", _) => {
                    w.warnings.push(format!(
                        "skipped submodule `{path}`: submodules are not exported"
                    ));
                    continue;
                }
                _ => continue,
            };
            items.push(Item {
                path: path.to_string(),
                kind,
            });
            names.push(oid.to_string());
        }
        if items.is_empty() && subpath != "." {
            // `ls-tree -r` of a blob name lists the blob itself as "<subpath>".
            return Ok(Err(format!("subpath '{subpath}' not found at {commit}")));
        }
        let license_from = names.len();
        if subpath != "." {
            for l in LICENSE_NAMES {
                names.push(format!("{commit}:{l}"));
            }
        }
        let blobs = self.read_blobs(repo, &names).await?;
        for (item, blob) in items.iter().zip(&blobs) {
            let Some(bytes) = blob else {
                return Ok(Err(format!(
                    "object for '{}' missing at {commit}",
                    item.path
                )));
            };
            let r = match item.kind {
                b'l' => w.add_link(&item.path, &String::from_utf8_lossy(bytes)),
                k => w.add_file(&item.path, k == b'x', bytes),
            };
            if let Err(e) = r {
                return Ok(Err(format!("{}: {e}", item.path)));
            }
        }
        let root_license = blobs[license_from..]
            .iter()
            .flatten()
            .next()
            .map(|b| String::from_utf8_lossy(b).into_owned());
        Ok(Ok(ExportExtras { root_license }))
    }
}

/// The records of a full `ls-tree -r -z` listing below `subpath`, with
/// paths made relative to it (what `ls-tree` of `<commit>:<subpath>` gives).
fn listing_under(all: &[u8], subpath: &str) -> Vec<u8> {
    if subpath == "." {
        return all.to_vec();
    }
    let prefix = format!("{}/", subpath.trim_end_matches('/'));
    let mut out = Vec::new();
    for rec in all.split(|b| *b == 0).filter(|r| !r.is_empty()) {
        let Some(tab) = rec.iter().position(|b| *b == b'\t') else {
            continue;
        };
        if let Some(rest) = rec[tab + 1..].strip_prefix(prefix.as_bytes()) {
            out.extend_from_slice(&rec[..=tab]);
            out.extend_from_slice(rest);
            out.push(0);
        }
    }
    out
}

fn parse_batch(out: &[u8], n: usize) -> Result<Vec<Option<Vec<u8>>>, GitError> {
    let bad = || GitError::Failed {
        stderr: "unexpected output from git cat-file --batch".into(),
    };
    let mut res = Vec::with_capacity(n);
    let mut pos = 0;
    while res.len() < n {
        let nl = out[pos..]
            .iter()
            .position(|b| *b == b'\n')
            .ok_or_else(bad)?
            + pos;
        let header = String::from_utf8_lossy(&out[pos..nl]).into_owned();
        pos = nl + 1;
        if header.ends_with(" missing") || header.ends_with(" ambiguous") {
            res.push(None);
            continue;
        }
        let size: usize = header
            .rsplit(' ')
            .next()
            .and_then(|s| s.parse().ok())
            .ok_or_else(bad)?;
        if pos + size > out.len() {
            return Err(bad());
        }
        res.push(Some(out[pos..pos + size].to_vec()));
        pos += size + 1;
    }
    Ok(res)
}

/// A cache directory name for a repository URL: readable tail plus a hash.
/// A full 40-hex commit id.
pub fn is_commit_id(r: &str) -> bool {
    r.len() == 40 && r.bytes().all(|b| b.is_ascii_hexdigit())
}

pub fn cache_key(url: &str) -> String {
    use sha2::{Digest, Sha256};
    let tail: String = url
        .trim_end_matches('/')
        .trim_end_matches(".git")
        .rsplit(['/', ':'])
        .next()
        .unwrap_or("repo")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .take(40)
        .collect();
    let h = crate::store::hex(&Sha256::digest(url.as_bytes()));
    format!(
        "{}-{}",
        if tail.is_empty() { "repo" } else { &tail },
        &h[..16]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_listing_is_cut_to_a_subpath() {
        let all = b"100644 blob a1\tskills/pdf/SKILL.md\x00100755 blob a2\tskills/pdf/run.sh\x00100644 blob a3\tskills/pdfx/SKILL.md\x00100644 blob a4\tREADME.md\x00";
        assert_eq!(
            listing_under(all, "skills/pdf"),
            b"100644 blob a1\tSKILL.md\x00100755 blob a2\trun.sh\x00".to_vec()
        );
        assert!(listing_under(all, "skills/none").is_empty());
        assert!(
            listing_under(all, "README.md").is_empty(),
            "a file is not a subpath"
        );
        assert_eq!(listing_under(all, "."), all.to_vec());
    }

    #[test]
    fn batch_parsing() {
        let out = b"abc blob 3\nxyz\nfoo missing\nd blob 0\n\n";
        let r = parse_batch(out, 3).unwrap();
        assert_eq!(r, vec![Some(b"xyz".to_vec()), None, Some(vec![])]);
    }

    #[test]
    fn keys() {
        let k = cache_key("https://github.com/acme/agent-skills.git");
        assert!(k.starts_with("agent-skills-"), "{k}");
        assert_ne!(k, cache_key("https://gitlab.com/acme/agent-skills.git"));
    }
}
