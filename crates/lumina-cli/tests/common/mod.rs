//! A sandbox for driving the real `lumina` binary: a temporary `HOME`, a
//! profile directory, and an empty sysfs so hardware detection is generic
//! unless a test points it at a DMI fixture.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use assert_cmd::Command;

pub struct Sandbox {
    pub dir: tempfile::TempDir,
    pub home: PathBuf,
    pub profile: PathBuf,
    pub sysfs: PathBuf,
}

/// The seed's example registry, verbatim (shared with the unit tests).
pub const SEED_EXAMPLE: &str = include_str!("../../../../examples/lumina/seed-example.yaml");

impl Sandbox {
    pub fn new() -> Sandbox {
        let dir = tempfile::tempdir().expect("tempdir");
        let home = dir.path().join("home");
        let profile = dir.path().join("profile");
        let sysfs = dir.path().join("sysfs");
        for d in [&home, &profile, &sysfs] {
            std::fs::create_dir_all(d).unwrap();
        }
        Sandbox {
            dir,
            home,
            profile,
            sysfs,
        }
    }

    pub fn registry(&self) -> PathBuf {
        self.profile.join("lumina.yaml")
    }

    pub fn write_registry(&self, text: &str) {
        std::fs::write(self.registry(), text).unwrap();
    }

    /// Writes a file below the profile, creating directories.
    pub fn source(&self, rel: &str, content: &str) -> PathBuf {
        write(&self.profile.join(rel), content)
    }

    /// Writes a file below HOME, creating directories.
    pub fn home_file(&self, rel: &str, content: &str) -> PathBuf {
        write(&self.home.join(rel), content)
    }

    pub fn h(&self, rel: &str) -> PathBuf {
        self.home.join(rel)
    }

    /// The text at a path below HOME (following links); panics if unreadable.
    pub fn read(&self, rel: &str) -> String {
        let p = self.home.join(rel);
        std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("reading {}: {e}", p.display()))
    }

    pub fn cmd(&self) -> Command {
        let mut c = Command::cargo_bin("lumina").unwrap();
        c.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", &self.home)
            .env("LUMINA_REGISTRY", self.registry())
            .env("LUMINA_SYSFS_ROOT", &self.sysfs)
            .env("LUMINA_HOSTNAME", "sandbox-host")
            .current_dir(self.dir.path());
        c
    }

    /// Runs lumina with extra environment variables, asserting the exit
    /// code; returns (stdout, stderr).
    pub fn run_env(&self, env: &[(&str, &str)], args: &[&str], code: i32) -> (String, String) {
        let mut c = self.cmd();
        for (k, v) in env {
            c.env(k, v);
        }
        let out = c.args(args).output().unwrap();
        let (so, se) = (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        );
        assert_eq!(
            out.status.code(),
            Some(code),
            "lumina {args:?} exited {:?}\nstdout:\n{so}\nstderr:\n{se}",
            out.status.code()
        );
        (so, se)
    }

    /// Runs lumina with `args`, asserting the exit code; returns (stdout, stderr).
    pub fn run(&self, args: &[&str], code: i32) -> (String, String) {
        self.run_env(&[], args, code)
    }

    pub fn json(&self, args: &[&str], code: i32) -> serde_json::Value {
        let mut a = vec!["--json"];
        a.extend_from_slice(args);
        let (so, _) = self.run(&a, code);
        serde_json::from_str(&so).unwrap_or_else(|e| panic!("not JSON ({e}): {so}"))
    }
}

pub fn write(p: &Path, content: &str) -> PathBuf {
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, content).unwrap();
    p.to_path_buf()
}

/// What is at a path, as the crash test compares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    File(Vec<u8>),
    Link(PathBuf),
}

/// Every non-directory entry below `root` (relative path -> node), skipping
/// `skip` (a top-level directory name such as `.lumina`).
pub fn snapshot(root: &Path, skip: &str) -> BTreeMap<PathBuf, Node> {
    let mut out = BTreeMap::new();
    fn walk(root: &Path, rel: &Path, skip: &str, out: &mut BTreeMap<PathBuf, Node>) {
        let Ok(rd) = std::fs::read_dir(root.join(rel)) else {
            return;
        };
        for e in rd.flatten() {
            let r = rel.join(e.file_name());
            if rel.as_os_str().is_empty() && e.file_name() == skip {
                continue;
            }
            let ft = e.file_type().unwrap();
            if ft.is_symlink() {
                out.insert(r, Node::Link(std::fs::read_link(e.path()).unwrap()));
            } else if ft.is_dir() {
                walk(root, &r, skip, out);
            } else {
                out.insert(r, Node::File(std::fs::read(e.path()).unwrap()));
            }
        }
    }
    walk(root, Path::new(""), skip, &mut out);
    out
}

/// Everything below `root`, directories included, with link texts and file
/// contents: for "touches nothing" checks.
pub fn full_snapshot(root: &Path) -> BTreeMap<PathBuf, String> {
    let mut out = BTreeMap::new();
    fn walk(root: &Path, rel: &Path, out: &mut BTreeMap<PathBuf, String>) {
        let Ok(rd) = std::fs::read_dir(root.join(rel)) else {
            return;
        };
        for e in rd.flatten() {
            let r = rel.join(e.file_name());
            let m = std::fs::symlink_metadata(e.path()).unwrap();
            use std::os::unix::fs::MetadataExt;
            let stamp = format!("ino={} mtime={}.{}", m.ino(), m.mtime(), m.mtime_nsec());
            if m.file_type().is_symlink() {
                out.insert(
                    r,
                    format!(
                        "link {} {stamp}",
                        std::fs::read_link(e.path()).unwrap().display()
                    ),
                );
            } else if m.is_dir() {
                out.insert(r.clone(), format!("dir {stamp}"));
                walk(root, &r, out);
            } else {
                out.insert(
                    r,
                    format!("file {:?} {stamp}", std::fs::read(e.path()).unwrap()),
                );
            }
        }
    }
    walk(root, Path::new(""), &mut out);
    out
}
