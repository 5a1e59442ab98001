//! Crash safety: a sync killed with SIGKILL at any point leaves every target
//! either as before or as intended, loses no user file, and the next
//! `lumina sync` finishes the job.
//!
//! Each run builds the same scenario from scratch (a first sync, then a
//! registry change that creates, updates, backs up, prunes and restores),
//! kills the second sync, checks the filesystem, resumes, and checks again
//! against a reference run that was never interrupted. Kill points come from
//! a seeded generator: most through the failpoint (`LUMINA_FAILPOINT_KILL_AT=N`
//! makes lumina SIGKILL itself before its N-th filesystem mutation), some
//! from outside after a random delay.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::*;
use rand::{Rng, SeedableRng};

const SEED: u64 = 0x1u64 << 40 | 2026;
const FAILPOINT_RUNS: usize = 220;
const EXTERNAL_RUNS: usize = 30;

const V1: &str = "version: 1.0
vars:
  theme: light
modules:
  hypr:
    source: ./hypr
    target: ~/.config/hypr
  waybar:
    source: ./waybar
    target: ~/.config/waybar
  zsh:
    source: ./zshrc-a
    target: ~/.zshrc
  git:
    source: ./gitconfig
    target: ~/.gitconfig
    mode: copy
  app:
    source: ./app
    target: ~/.config/app
    template: [\"*.tmpl\"]
    seed: [\"state/*\"]
  seeds:
    source: ./seeds
    target: ~/.config/seeds
    mode: seed
";

const V2: &str = "version: 1.0
vars:
  theme: dark
modules:
  hypr:
    source: ./hypr
    target: ~/.config/hypr
  zsh:
    source: ./zshrc-b
    target: ~/.zshrc
  git:
    source: ./gitconfig
    target: ~/.gitconfig
    mode: copy
  kitty:
    source: ./kitty
    target: ~/.config/kitty
  nvim:
    source: ./nvim
    target: ~/.config/nvim
  app:
    source: ./app
    target: ~/.config/app
    template: [\"*.tmpl\"]
    seed: [\"state/*\"]
";

/// User files present before lumina: every one must survive every crash.
const USER_FILES: &[(&str, &str)] = &[
    (".config/hypr/hyprland.conf", "user hyprland"),
    (".config/waybar/style.css", "user waybar style"),
    (".zshrc", "user zshrc"),
    (".config/kitty/kitty.conf", "user kitty"),
    (".config/kitty/kitty.conf.bak", "user's own older backup"),
    (".config/nvim", "a file where nvim's directory goes"),
    (".config/hypr/keep.txt", "unrelated user file"),
];

fn scenario() -> Sandbox {
    let s = Sandbox::new();
    for i in 0..12 {
        s.source(&format!("hypr/conf.d/part{i}.conf"), &format!("part {i}"));
    }
    s.source("hypr/hyprland.conf", "profile hyprland");
    s.source("hypr/old.conf", "to be removed in v2");
    s.source("waybar/config.jsonc", "{}");
    s.source("waybar/style.css", "profile style");
    s.source("zshrc-a", "zsh a");
    s.source("zshrc-b", "zsh b");
    s.source("gitconfig", "git v1");
    s.source("kitty/kitty.conf", "profile kitty");
    s.source("kitty/themes/dark.conf", "dark");
    s.source("nvim/init.lua", "init");
    s.source("nvim/lua/a.lua", "a");
    // A template whose output changes in v2 (vars), seeded files (one
    // added in v2), and a seed-only module v2 drops.
    s.source(
        "app/app.tmpl",
        "theme={{ vars.theme }} host={{ hostname }}\n",
    );
    s.source("app/state/one.ini", "seeded one");
    s.source("seeds/a.ini", "seed a");
    for (p, c) in USER_FILES {
        s.home_file(p, c);
    }
    s.write_registry(V1);
    s.run(&["sync"], 0);
    // The change: v2 registry, a removed file, new files, new content.
    s.write_registry(V2);
    std::fs::remove_file(s.profile.join("hypr/old.conf")).unwrap();
    s.source("hypr/conf.d/new.conf", "new in v2");
    for i in 0..12 {
        s.source(&format!("hypr/conf.d/more{i}.conf"), &format!("more {i}"));
    }
    s.source("gitconfig", "git v2");
    s.source("app/state/two.ini", "seeded two");
    s
}

type Snap = BTreeMap<PathBuf, Node>;

fn is_temporary(p: &Path) -> bool {
    p.file_name()
        .map(|n| n.to_string_lossy().contains(".lumina-"))
        .unwrap_or(false)
}

/// Resolved contents of every target (following links), for the final check.
fn resolved(home: &Path, snap: &Snap) -> BTreeMap<PathBuf, Option<Vec<u8>>> {
    snap.keys()
        .map(|k| (k.clone(), std::fs::read(home.join(k)).ok()))
        .collect()
}

fn all_user_content_present(home: &Path, context: &str) {
    let snap = snapshot(home, ".lumina");
    for (path, content) in USER_FILES {
        let found = snap
            .values()
            .any(|n| matches!(n, Node::File(c) if c == content.as_bytes()));
        assert!(
            found,
            "{context}: user file {path} ({content:?}) is lost; home has {snap:#?}"
        );
    }
}

fn check_between(before: &Snap, intended: &Snap, now: &Snap, context: &str) {
    let keys: std::collections::BTreeSet<&PathBuf> = before
        .keys()
        .chain(intended.keys())
        .chain(now.keys())
        .collect();
    for k in keys {
        if is_temporary(k) {
            continue;
        }
        let (b, i, n) = (before.get(k), intended.get(k), now.get(k));
        assert!(
            n == b || n == i,
            "{context}: {} is neither as before ({b:?}) nor as intended ({i:?}) but {n:?}",
            k.display()
        );
    }
}

struct Reference {
    before: Snap,
    intended: Snap,
    intended_resolved: BTreeMap<PathBuf, Option<Vec<u8>>>,
    mutations: u64,
}

fn reference() -> Reference {
    let s = scenario();
    let before = snapshot(&s.home, ".lumina");
    let out = s
        .cmd()
        .env("LUMINA_LOG", "lumina=debug")
        .arg("sync")
        .output()
        .unwrap();
    assert!(out.status.success());
    let log = String::from_utf8_lossy(&out.stderr);
    let mutations = log
        .lines()
        .filter_map(|l| {
            l.split("step=")
                .nth(1)?
                .split_whitespace()
                .next()?
                .parse::<u64>()
                .ok()
        })
        .max()
        .expect("debug log lists the steps");
    let intended = snapshot(&s.home, ".lumina");
    assert!(intended.keys().all(|k| !is_temporary(k)));
    let intended_resolved = resolved(&s.home, &intended);
    s.run(&["status", "--check"], 0);
    Reference {
        before,
        intended,
        intended_resolved,
        mutations,
    }
}

fn resume_and_verify(s: &Sandbox, r: &Reference, context: &str) {
    let now = snapshot(&s.home, ".lumina");
    check_between(&r.before, &r.intended, &now, context);
    all_user_content_present(&s.home, context);
    let out = s.cmd().arg("sync").output().unwrap();
    assert!(
        out.status.success(),
        "{context}: resume failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let after = snapshot(&s.home, ".lumina");
    assert_eq!(
        after, r.intended,
        "{context}: resumed sync did not reach the intended state"
    );
    assert_eq!(
        resolved(&s.home, &after),
        r.intended_resolved,
        "{context}: links resolve differently"
    );
    let st = s.cmd().args(["status", "--check"]).output().unwrap();
    assert!(
        st.status.success(),
        "{context}: status after resume: {}",
        String::from_utf8_lossy(&st.stdout)
    );
    // And lumina's own record is consistent: one more sync has nothing to do.
    let again = s.cmd().args(["--json", "sync"]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(
        v["changed"], false,
        "{context}: a sync after the resume still had work: {v}"
    );
}

#[test]
fn killed_sync_never_loses_a_file_and_resumes() {
    let r = reference();
    assert!(
        r.mutations > 40,
        "scenario too small: {} mutations",
        r.mutations
    );
    let mut rng = rand::rngs::SmallRng::seed_from_u64(SEED);
    // Every point at least once, then seeded random ones.
    let mut points: Vec<u64> = (1..=r.mutations).collect();
    while points.len() < FAILPOINT_RUNS {
        points.push(rng.random_range(1..=r.mutations));
    }
    let mut killed = 0;
    for (i, k) in points.iter().enumerate() {
        let s = scenario();
        let out = s
            .cmd()
            .env("LUMINA_FAILPOINT_KILL_AT", k.to_string())
            .arg("sync")
            .output()
            .unwrap();
        use std::os::unix::process::ExitStatusExt;
        if out.status.signal() == Some(9) {
            killed += 1;
        } else {
            assert!(
                out.status.success(),
                "run {i} (kill at {k}): {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        resume_and_verify(
            &s,
            &r,
            &format!("failpoint run {i}, killed before mutation {k}"),
        );
    }
    assert!(
        killed >= FAILPOINT_RUNS * 9 / 10,
        "only {killed} runs were actually killed"
    );
    eprintln!(
        "crash test: {} failpoint runs over {} mutation points, {killed} killed",
        points.len(),
        r.mutations
    );
}

#[test]
fn killed_from_outside_at_random_times() {
    let r = reference();
    let mut rng = rand::rngs::SmallRng::seed_from_u64(SEED ^ 0xdead);
    for i in 0..EXTERNAL_RUNS {
        let s = scenario();
        let bin = assert_cmd::cargo::cargo_bin("lumina");
        let mut child = std::process::Command::new(bin)
            .env_clear()
            .env("HOME", &s.home)
            .env("LUMINA_REGISTRY", s.registry())
            .env("LUMINA_SYSFS_ROOT", &s.sysfs)
            .arg("sync")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_micros(rng.random_range(0..4000)));
        let _ = child.kill();
        let _ = child.wait();
        resume_and_verify(&s, &r, &format!("external kill run {i}"));
    }
}

#[test]
fn killed_undo_resumes_too() {
    // Undo goes through the same journal; kill it at a few points and check
    // the user's files come back after a resumed undo.
    let base = scenario();
    base.run(&["sync"], 0);
    let out = base
        .cmd()
        .env("LUMINA_LOG", "lumina=debug")
        .arg("undo")
        .output()
        .unwrap();
    assert!(out.status.success());
    let undone = snapshot(&base.home, ".lumina");
    let steps = String::from_utf8_lossy(&out.stderr)
        .matches("step=")
        .count() as u64;
    let mut rng = rand::rngs::SmallRng::seed_from_u64(SEED ^ 7);
    for i in 0..12 {
        let k = rng.random_range(1..=steps.max(1));
        let s = scenario();
        s.run(&["sync"], 0);
        let _ = s
            .cmd()
            .env("LUMINA_FAILPOINT_KILL_AT", k.to_string())
            .arg("undo")
            .output()
            .unwrap();
        all_user_content_present(&s.home, &format!("undo run {i} killed at {k}"));
        // Finish: the journal is settled, then undo completes.
        let out = s.cmd().arg("undo").output().unwrap();
        let st = snapshot(&s.home, ".lumina");
        if st != undone {
            // The killed undo may have completed its switch already; then a
            // second undo goes one generation further. Either way, nothing
            // of the user's is lost.
            assert!(out.status.code().is_some(), "undo run {i}");
        }
        all_user_content_present(&s.home, &format!("undo run {i} resumed"));
    }
}

/// `lumina add --adopt` killed at every mutation point: the user's files are
/// readable at their usual paths at every instant, and stay so after the
/// next `lumina sync`.
#[test]
fn killed_adopt_never_loses_data() {
    const FILES: &[(&str, &str)] = &[
        (".config/nvim/init.lua", "vim.opt.number = true\n"),
        (".config/nvim/lua/plugins.lua", "return { 'a', 'b' }\n"),
        (
            ".config/nvim/after/ftplugin/rust.lua",
            "vim.opt_local.tw = 100\n",
        ),
    ];
    let setup = || {
        let s = Sandbox::new();
        s.write_registry("# mine\nversion: 1.0\nmodules: {}\n");
        for (p, c) in FILES {
            s.home_file(p, c);
        }
        s
    };
    let readable = |s: &Sandbox, context: &str| {
        for (p, c) in FILES {
            let got = std::fs::read_to_string(s.h(p)).unwrap_or_default();
            assert_eq!(got, *c, "{context}: {p} is not readable as before");
        }
    };
    let reference = setup();
    let out = reference
        .cmd()
        .env("LUMINA_LOG", "lumina=debug")
        .args(["add", "nvim", "--adopt"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let steps = String::from_utf8_lossy(&out.stderr)
        .matches("step=")
        .count() as u64;
    assert!(steps >= 8, "only {steps} steps");
    readable(&reference, "reference");
    for k in 1..=steps {
        let s = setup();
        let _ = s
            .cmd()
            .env("LUMINA_FAILPOINT_KILL_AT", k.to_string())
            .args(["add", "nvim", "--adopt"])
            .output()
            .unwrap();
        readable(&s, &format!("adopt killed before mutation {k}"));
        let out = s.cmd().arg("sync").output().unwrap();
        assert!(
            out.status.success(),
            "sync after kill {k}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        readable(&s, &format!("sync after adopt killed before mutation {k}"));
    }
}
