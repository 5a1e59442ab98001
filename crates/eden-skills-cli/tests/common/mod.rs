//! A sandbox per test: a temporary HOME, a config path, local git
//! repositories made with the real git, and the real binary.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use serde_json::Value;

pub struct Sandbox {
    pub dir: tempfile::TempDir,
    pub home: PathBuf,
    pub config: PathBuf,
    pub path_prefix: Option<PathBuf>,
    pub env: Vec<(String, String)>,
}

pub fn git(dir: &Path, args: &[&str]) {
    let out = std::process::Command::new("git")
        .args([
            "-c",
            "user.email=t@example.org",
            "-c",
            "user.name=t",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

pub fn real_git() -> PathBuf {
    let out = std::process::Command::new("sh")
        .args(["-c", "command -v git"])
        .output()
        .unwrap();
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

impl Sandbox {
    pub fn new() -> Sandbox {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        std::fs::create_dir_all(&home).unwrap();
        let config = home.join(".eden-skills/skills.toml");
        Sandbox {
            home,
            config,
            dir,
            path_prefix: None,
            env: Vec::new(),
        }
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// A git repository at `<root>/repos/<name>` with `files` committed on
    /// `main`; returns its file:// URL.
    pub fn repo(&self, name: &str, files: &[(&str, &str)]) -> String {
        let d = self.root().join("repos").join(name);
        std::fs::create_dir_all(&d).unwrap();
        git(&d, &["init", "-q", "-b", "main"]);
        self.commit(name, files);
        format!("file://{}", d.display())
    }

    /// Writes files into repo `name` and commits them.
    pub fn commit(&self, name: &str, files: &[(&str, &str)]) {
        let d = self.root().join("repos").join(name);
        for (p, c) in files {
            let f = d.join(p);
            std::fs::create_dir_all(f.parent().unwrap()).unwrap();
            std::fs::write(f, c).unwrap();
        }
        git(&d, &["add", "-A"]);
        git(&d, &["commit", "-q", "-m", "change"]);
    }

    pub fn head(&self, name: &str) -> String {
        let out = std::process::Command::new("git")
            .args(["rev-parse", "HEAD"])
            .current_dir(self.root().join("repos").join(name))
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// A skill repository: SKILL.md with front matter and an MIT LICENSE.
    pub fn skill_repo(&self, name: &str) -> String {
        self.repo(
            name,
            &[
                (
                    "SKILL.md",
                    &format!("---\nname: {name}\ndescription: the {name} skill\n---\nDo {name}.\n"),
                ),
                (
                    "LICENSE",
                    "MIT License\n\nPermission is hereby granted, free of charge, ...\n",
                ),
            ],
        )
    }

    pub fn write_config(&self, body: &str) {
        std::fs::create_dir_all(self.config.parent().unwrap()).unwrap();
        std::fs::write(&self.config, format!("version = 1\n{body}")).unwrap();
    }

    /// A `[[skills]]` entry for a repo with one claude-code target.
    pub fn entry(id: &str, repo: &str) -> String {
        format!("\n[[skills]]\nid = \"{id}\"\nsource = {{ repo = \"{repo}\" }}\n[[skills.targets]]\nagent = \"claude-code\"\n")
    }

    pub fn lock(&self) -> toml::Table {
        let text = std::fs::read_to_string(self.config.with_file_name("skills.lock")).unwrap();
        text.parse().unwrap()
    }

    /// The lock's n-th skill entry.
    pub fn lock_skill(&self, n: usize) -> toml::Value {
        self.lock()["skills"].as_array().unwrap()[n].clone()
    }

    pub fn claude(&self, id: &str) -> PathBuf {
        self.home.join(".claude/skills").join(id)
    }

    /// Puts the recording git wrapper first on PATH; returns the log path.
    pub fn wrap_git(&mut self, sleep: &str) -> PathBuf {
        let bin = self.root().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let wrapper = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/git-wrapper");
        std::fs::copy(&wrapper, bin.join("git")).unwrap();
        let log = self.root().join("git.log");
        self.env
            .push(("REAL_GIT".into(), real_git().display().to_string()));
        self.env
            .push(("EDEN_TEST_GIT_LOG".into(), log.display().to_string()));
        self.env.push(("EDEN_TEST_GIT_SLEEP".into(), sleep.into()));
        self.path_prefix = Some(bin);
        log
    }

    /// The binary with this sandbox's HOME, TMPDIR, PATH and `--config`.
    pub fn std_cmd(&self) -> std::process::Command {
        let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("eden-skills"));
        c.env("HOME", &self.home)
            .env_remove("EDEN_SKILLS_CONCURRENCY")
            .env_remove("NO_COLOR")
            .env("TMPDIR", self.root())
            .current_dir(self.root())
            .arg("--config")
            .arg(&self.config);
        if let Some(p) = &self.path_prefix {
            let path = std::env::var("PATH").unwrap_or_default();
            c.env("PATH", format!("{}:{path}", p.display()));
        }
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c
    }

    pub fn cmd(&self) -> Command {
        Command::from_std(self.std_cmd())
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().unwrap()
    }

    /// Runs and parses stdout as JSON; returns (exit code, json, stderr).
    pub fn json(&self, args: &[&str]) -> (i32, Value, String) {
        let out = self.run(args);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let v: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): {stdout}\nstderr: {}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (
            out.status.code().unwrap_or(-1),
            v,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

pub fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The peak number of overlapping start/end pairs in a wrapper log.
pub fn peak_overlap(log: &Path) -> usize {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let (mut cur, mut peak) = (0i64, 0i64);
    for l in text.lines() {
        match l {
            "start" => {
                cur += 1;
                peak = peak.max(cur);
            }
            "end" => cur -= 1,
            _ => {}
        }
    }
    peak as usize
}
