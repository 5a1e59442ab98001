//! `lumina sync`, `undo`, `status` through the real binary with a temporary HOME.

mod common;

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use common::*;

fn basic() -> Sandbox {
    let s = Sandbox::new();
    s.write_registry(SEED_EXAMPLE);
    s.source("config/hyprland/hyprland.conf", "main\n");
    s.source("config/hyprland/conf.d/binds.conf", "binds\n");
    s
}

fn actions(v: &serde_json::Value) -> Vec<(String, String)> {
    v["plan"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let t = i["target"].as_str().unwrap();
            let name = Path::new(t)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (name, i["action"].as_str().unwrap().to_string())
        })
        .collect()
}

#[test]
fn seed_example_registry_syncs() {
    let s = basic();
    s.run(&["check", "--strict"], 0);
    let v = s.json(&["sync"], 0);
    assert_eq!(v["generation"], 1);
    let link = std::fs::read_link(s.h(".config/hypr/hyprland.conf")).unwrap();
    assert_eq!(
        link,
        Path::new("../../.lumina/active/home/.config/hypr/hyprland.conf")
    );
    assert_eq!(s.read(".config/hypr/hyprland.conf"), "main\n");
    let nested = std::fs::read_link(s.h(".config/hypr/conf.d/binds.conf")).unwrap();
    assert!(nested.is_relative());
    assert_eq!(s.read(".config/hypr/conf.d/binds.conf"), "binds\n");
    // The generation links into the profile with a relative path too
    // (the whole module directory as one link, see linker/genlayout.rs).
    let g = std::fs::read_link(s.h(".lumina/generations/1/home/.config/hypr")).unwrap();
    assert!(g.is_relative(), "{g:?}");
    assert_eq!(
        std::fs::read_link(s.h(".lumina/active")).unwrap(),
        Path::new("generations/1")
    );
}

#[test]
fn links_survive_without_the_binary_and_content_changes_touch_nothing() {
    let s = basic();
    s.run(&["sync"], 0);
    let before = full_snapshot(&s.home);
    // Edit a source file: nothing in HOME (nor ~/.lumina) changes, the link
    // shows the new content, and sync has nothing to do.
    s.source("config/hyprland/hyprland.conf", "edited\n");
    let v = s.json(&["sync"], 0);
    assert_eq!(v["changed"], false);
    assert_eq!(
        without_stamp(full_snapshot(&s.home)),
        without_stamp(before),
        "a content-only change touched HOME"
    );
    assert_eq!(s.read(".config/hypr/hyprland.conf"), "edited\n");
}

#[test]
fn create_unchanged_update_conflict_prune() {
    let s = Sandbox::new();
    s.write_registry(
        "version: 1.0\nmodules:\n  a:\n    source: ./a\n    target: ~/.a\n  b:\n    source: ./b1\n    target: ~/.b\n",
    );
    s.source("a/one", "1");
    s.source("a/two", "2");
    s.source("b1/x", "x1");
    s.source("b2/x", "x2");
    s.home_file(".a/two", "user's two");
    let v = s.json(&["sync"], 0);
    let mut got = actions(&v);
    got.sort();
    assert_eq!(
        got,
        vec![
            ("one".into(), "create".into()),
            ("two".into(), "conflict".into()),
            ("x".into(), "create".into())
        ]
    );
    assert_eq!(s.read(".a/two.bak"), "user's two");
    let x_ino = std::fs::symlink_metadata(s.h(".b/x")).unwrap().ino();

    // b now comes from another source: update without touching the link in HOME.
    s.write_registry(
        "version: 1.0\nmodules:\n  a:\n    source: ./a\n    target: ~/.a\n  b:\n    source: ./b2\n    target: ~/.b\n",
    );
    std::fs::remove_file(s.profile.join("a/one")).unwrap();
    let v = s.json(&["sync"], 0);
    let mut got = actions(&v);
    got.sort();
    assert_eq!(
        got,
        vec![
            ("one".into(), "prune".into()),
            ("two".into(), "unchanged".into()),
            ("x".into(), "update".into())
        ]
    );
    assert_eq!(s.read(".b/x"), "x2");
    assert_eq!(std::fs::symlink_metadata(s.h(".b/x")).unwrap().ino(), x_ino);
    assert!(std::fs::symlink_metadata(s.h(".a/one")).is_err());

    // Unchanged everywhere now.
    let v = s.json(&["sync"], 0);
    assert_eq!(v["changed"], false);
    assert!(actions(&v).iter().all(|(_, a)| a == "unchanged"));
}

#[test]
fn up_to_date_sync_only_reads() {
    let s = basic();
    s.run(&["sync"], 0);
    let before = full_snapshot(s.dir.path());
    let (out, _) = s.run(&["sync"], 0);
    assert!(out.contains("Up to date"), "{out}");
    assert_eq!(
        without_stamp(full_snapshot(s.dir.path())),
        without_stamp(before)
    );
    // Once the stat cache is old enough to trust, a no-op writes nothing at all.
    std::thread::sleep(std::time::Duration::from_millis(1600));
    s.run(&["sync"], 0);
    let before = full_snapshot(s.dir.path());
    let (out, _) = s.run(&["sync"], 0);
    assert!(out.contains("Up to date"), "{out}");
    assert!(
        full_snapshot(s.dir.path()) == before,
        "a trusted no-op sync wrote something"
    );
}

/// Drops lumina's stat cache (`~/.lumina/stamp.json`, see `linker::stamp`),
/// the one file an up-to-date sync may refresh, and the mtime of the
/// directory holding it.
fn without_stamp(
    mut m: std::collections::BTreeMap<std::path::PathBuf, String>,
) -> std::collections::BTreeMap<std::path::PathBuf, String> {
    m.retain(|k, _| !k.ends_with("stamp.json") && !k.ends_with(".lumina"));
    m
}

#[test]
fn backup_numbering_never_overwrites() {
    let s = basic();
    s.home_file(".config/hypr/hyprland.conf", "mine");
    s.home_file(".config/hypr/hyprland.conf.bak", "older backup");
    s.home_file(".config/hypr/hyprland.conf.bak.1", "even older");
    s.run(&["sync"], 0);
    assert_eq!(s.read(".config/hypr/hyprland.conf.bak"), "older backup");
    assert_eq!(s.read(".config/hypr/hyprland.conf.bak.1"), "even older");
    assert_eq!(s.read(".config/hypr/hyprland.conf.bak.2"), "mine");
    // Removing the module restores exactly that backup.
    s.run(&["remove", "shell"], 0);
    assert_eq!(s.read(".config/hypr/hyprland.conf"), "mine");
    assert!(!s.h(".config/hypr/hyprland.conf.bak.2").exists());
    assert_eq!(s.read(".config/hypr/hyprland.conf.bak"), "older backup");
}

#[test]
fn directory_and_foreign_link_in_the_way_are_backed_up() {
    let s = Sandbox::new();
    s.write_registry("version: 1.0\nmodules:\n  z:\n    source: ./zshrc\n    target: ~/.zshrc\n  k:\n    source: ./k\n    target: ~/.config/k\n");
    s.source("zshrc", "z");
    s.source("k/k.conf", "k");
    s.home_file(".zshrc/inner", "a directory where a file goes");
    std::fs::create_dir_all(s.h(".config/k")).unwrap();
    std::os::unix::fs::symlink("/nonexistent", s.h(".config/k/k.conf")).unwrap();
    s.run(&["sync"], 0);
    assert_eq!(s.read(".zshrc.bak/inner"), "a directory where a file goes");
    assert_eq!(
        std::fs::read_link(s.h(".config/k/k.conf.bak")).unwrap(),
        Path::new("/nonexistent")
    );
    assert_eq!(s.read(".zshrc"), "z");
    s.run(&["status", "--check"], 0);
}

#[test]
fn file_on_the_way_to_a_target_is_backed_up() {
    let s = Sandbox::new();
    s.write_registry("version: 1.0\nmodules:\n  k:\n    source: ./k\n    target: ~/.config/k\n");
    s.source("k/sub/k.conf", "k");
    s.home_file(".config/k", "a file where a directory must be");
    s.run(&["sync"], 0);
    assert_eq!(s.read(".config/k.bak"), "a file where a directory must be");
    assert_eq!(s.read(".config/k/sub/k.conf"), "k");
}

#[test]
fn skip_and_abort_policies() {
    let s = Sandbox::new();
    s.write_registry("version: 1.0\nmodules:\n  a:\n    source: ./a\n    target: ~/.a\n    on_conflict: skip\n  b:\n    source: ./b\n    target: ~/.b\n");
    s.source("a", "a");
    s.source("b", "b");
    s.home_file(".a", "user a");
    let (_, err) = s.run(&["sync"], 0);
    assert!(err.contains("conflict skipped"), "{err}");
    assert_eq!(s.read(".a"), "user a");
    assert!(!s.h(".a.bak").exists());
    assert_eq!(s.read(".b"), "b");

    let s = Sandbox::new();
    s.write_registry("version: 1.0\nmodules:\n  a:\n    source: ./a\n    target: ~/.a\n    on_conflict: abort\n  b:\n    source: ./b\n    target: ~/.b\n");
    s.source("a", "a");
    s.source("b", "b");
    s.home_file(".a", "user a");
    let before = full_snapshot(s.dir.path());
    let (_, err) = s.run(&["sync"], 3);
    assert!(
        err.contains("MISSION BLOCKED") && err.contains(".a"),
        "{err}"
    );
    assert_eq!(
        full_snapshot(s.dir.path()),
        before,
        "abort changed something"
    );
    let v = s.json(&["sync"], 3);
    assert_eq!(v["error"]["kind"], "blocked");
}

#[test]
fn strict_sync_blocks_on_any_conflict() {
    let s = basic();
    s.home_file(".config/hypr/hyprland.conf", "mine");
    let before = full_snapshot(s.dir.path());
    s.run(&["sync", "--strict"], 3);
    assert_eq!(full_snapshot(s.dir.path()), before);
    s.run(&["sync"], 0);
}

#[test]
fn dry_run_touches_nothing() {
    let s = basic();
    s.home_file(".config/hypr/hyprland.conf", "mine");
    let before = full_snapshot(s.dir.path());
    let (out, _) = s.run(&["sync", "--dry-run"], 0);
    assert!(
        out.contains("conflict") && out.contains("Nothing was changed"),
        "{out}"
    );
    let v = s.json(&["sync", "--dry-run"], 0);
    assert_eq!(v["dry_run"], true);
    assert_eq!(full_snapshot(s.dir.path()), before);
    assert!(!s.h(".lumina").exists());
    // Also after a real sync, a dry run of a change leaves everything.
    s.run(&["sync"], 0);
    s.source("config/hyprland/new.conf", "n");
    let before = full_snapshot(s.dir.path());
    let v = s.json(&["sync", "--dry-run"], 0);
    assert!(actions(&v).contains(&("new.conf".into(), "create".into())));
    assert_eq!(full_snapshot(s.dir.path()), before);
}

#[test]
fn home_itself_a_symlink() {
    let s = Sandbox::new();
    let real = s.dir.path().join("real-home");
    std::fs::create_dir_all(&real).unwrap();
    let link_home = s.dir.path().join("home-link");
    std::os::unix::fs::symlink(&real, &link_home).unwrap();
    s.write_registry(SEED_EXAMPLE);
    s.source("config/hyprland/hyprland.conf", "main\n");
    s.cmd()
        .env("HOME", &link_home)
        .arg("sync")
        .assert()
        .success();
    let t = real.join(".config/hypr/hyprland.conf");
    assert_eq!(
        std::fs::read_link(&t).unwrap(),
        Path::new("../../.lumina/active/home/.config/hypr/hyprland.conf")
    );
    assert_eq!(std::fs::read_to_string(&t).unwrap(), "main\n");
    // Seen through the symlinked HOME as well, and status agrees.
    assert_eq!(
        std::fs::read_to_string(link_home.join(".config/hypr/hyprland.conf")).unwrap(),
        "main\n"
    );
    s.cmd()
        .env("HOME", &link_home)
        .args(["status", "--check"])
        .assert()
        .success();
    // A profile reached through a symlink works the same.
    let prof_link = s.dir.path().join("profile-link");
    std::os::unix::fs::symlink(&s.profile, &prof_link).unwrap();
    s.cmd()
        .env("HOME", &link_home)
        .env("LUMINA_REGISTRY", prof_link.join("lumina.yaml"))
        .args(["status", "--check"])
        .assert()
        .success();
}

#[test]
fn symlink_loop_in_source_tree() {
    let s = basic();
    let d = s.profile.join("config/hyprland");
    std::os::unix::fs::symlink(".", d.join("loop")).unwrap();
    std::os::unix::fs::symlink("..", d.join("conf.d/up")).unwrap();
    std::os::unix::fs::symlink("self", d.join("self")).unwrap();
    std::os::unix::fs::symlink("missing", d.join("dangling")).unwrap();
    s.source("real/target.conf", "t");
    std::os::unix::fs::symlink("../../real/target.conf", d.join("ok-link.conf")).unwrap();
    let (_, err) = s.run(&["sync"], 0);
    assert!(err.contains("loop"), "{err}");
    assert!(err.contains("dangling"), "{err}");
    assert_eq!(s.read(".config/hypr/hyprland.conf"), "main\n");
    assert_eq!(s.read(".config/hypr/ok-link.conf"), "t");
    assert!(std::fs::symlink_metadata(s.h(".config/hypr/loop")).is_err());
    assert!(std::fs::symlink_metadata(s.h(".config/hypr/self")).is_err());
}

#[test]
fn undo_returns_generation_by_generation() {
    let s = basic();
    s.home_file(".config/hypr/hyprland.conf", "mine");
    s.run(&["sync"], 0);
    s.source("config/hyprland/extra.conf", "e");
    std::fs::remove_file(s.profile.join("config/hyprland/conf.d/binds.conf")).unwrap();
    s.run(&["sync"], 0);
    assert!(s.h(".config/hypr/extra.conf").exists());
    assert!(
        !s.h(".config/hypr/conf.d").exists(),
        "empty directory lumina created should go"
    );

    let v = s.json(&["undo"], 0);
    assert_eq!((v["from"].as_u64(), v["to"].as_u64()), (Some(2), Some(1)));
    assert!(std::fs::symlink_metadata(s.h(".config/hypr/extra.conf")).is_err());
    assert_eq!(
        std::fs::read_link(s.h(".lumina/active")).unwrap(),
        Path::new("generations/1")
    );
    // binds.conf's link is back but its source is gone: status calls it broken.
    let st = s.json(&["status"], 0);
    let problems = st["modules"][0]["problems"].to_string();
    assert!(
        problems.contains("binds.conf") || problems.contains("extra.conf"),
        "{problems}"
    );

    // Undo the first sync too: links gone, the user's file back in place.
    s.run(&["undo"], 0);
    assert_eq!(s.read(".config/hypr/hyprland.conf"), "mine");
    assert!(!s.h(".config/hypr/hyprland.conf.bak").exists());
    let (_, err) = s.run(&["undo"], 2);
    assert!(err.contains("nothing to undo"), "{err}");
    // And sync brings everything back.
    s.run(&["sync"], 0);
    assert_eq!(s.read(".config/hypr/hyprland.conf.bak"), "mine");
}

#[test]
fn status_reports_each_kind_of_drift() {
    let s = Sandbox::new();
    // `m/keep-real` is a copy, so the generation keeps `.m` as a real
    // directory with one item per file (rather than one link for the whole
    // directory), and one item can be damaged alone.
    s.write_registry(
        "version: 1.0\nmodules:\n  m:\n    source: ./m\n    target: ~/.m\n    copy: [keep-real]\n",
    );
    for f in [
        "ok",
        "missing",
        "broken",
        "foreign",
        "elsewhere",
        "keep-real",
    ] {
        s.source(&format!("m/{f}"), f);
    }
    s.run(&["sync"], 0);
    s.run(&["status", "--check"], 0);
    std::fs::remove_file(s.h(".m/missing")).unwrap();
    // The generation entry behind the link is gone: the link no longer resolves.
    std::fs::remove_file(s.h(".lumina/active/home/.m/broken")).unwrap();
    std::fs::remove_file(s.h(".m/foreign")).unwrap();
    std::fs::write(s.h(".m/foreign"), "not lumina's").unwrap();
    std::fs::remove_file(s.h(".m/elsewhere")).unwrap();
    std::os::unix::fs::symlink("/etc/hostname", s.h(".m/elsewhere")).unwrap();
    let v = s.json(&["status", "--check"], 1);
    let m = &v["modules"][0];
    assert_eq!(m["ok"], 2);
    let mut states: Vec<(String, String)> = m["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let t = p["target"].as_str().unwrap();
            (
                Path::new(t)
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
                p["state"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    states.sort();
    assert_eq!(
        states,
        vec![
            ("broken".into(), "broken".into()),
            ("elsewhere".into(), "elsewhere".into()),
            ("foreign".into(), "foreign".into()),
            ("missing".into(), "missing".into()),
        ]
    );
    // A removed source is no longer declared: its link shows as stale.
    std::fs::remove_file(s.profile.join("m/ok")).unwrap();
    let (out, _) = s.run(&["status"], 0);
    assert!(out.contains("stale") && out.contains("broken"), "{out}");
    // sync repairs all of it (restaging the damaged generation).
    std::fs::remove_file(s.h(".m/foreign")).unwrap();
    std::fs::remove_file(s.h(".m/elsewhere")).unwrap();
    s.run(&["sync"], 0);
    s.run(&["status", "--check"], 0);
    assert!(out.contains("generation  1"), "{out}");
    assert!(out.contains("hardware    Generic-"), "{out}");
}

#[test]
fn copy_mode_writes_files_and_respects_edits() {
    let s = Sandbox::new();
    s.write_registry("version: 1.0\nmodules:\n  g:\n    source: ./gitconfig\n    target: ~/.gitconfig\n    mode: copy\n");
    s.source("gitconfig", "v1");
    s.run(&["sync"], 0);
    let m = std::fs::symlink_metadata(s.h(".gitconfig")).unwrap();
    assert!(m.is_file(), "copy mode must write a real file");
    assert_eq!(s.read(".gitconfig"), "v1");
    s.source("gitconfig", "v2");
    let v = s.json(&["sync"], 0);
    assert_eq!(actions(&v), vec![(".gitconfig".into(), "update".into())]);
    assert_eq!(s.read(".gitconfig"), "v2");
    // A hand edit is never overwritten silently: it is backed up.
    std::fs::write(s.h(".gitconfig"), "edited by a tool").unwrap();
    s.source("gitconfig", "v3");
    s.run(&["sync"], 0);
    assert_eq!(s.read(".gitconfig"), "v3");
    assert_eq!(s.read(".gitconfig.bak"), "edited by a tool");
}

#[test]
fn hosts_filter_by_detected_hardware() {
    let s = Sandbox::new();
    s.write_registry("version: 1.0\nmodules:\n  fw:\n    source: ./fw\n    target: ~/.fw\n    hosts: [Framework-16-AMD]\n  all:\n    source: ./all\n    target: ~/.all\n");
    s.source("fw", "fw");
    s.source("all", "all");
    s.run(&["sync"], 0);
    assert!(!s.h(".fw").exists());
    assert!(s.h(".all").exists());
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/dmi/framework-16-amd");
    s.cmd()
        .env("LUMINA_SYSFS_ROOT", fixture)
        .arg("sync")
        .assert()
        .success();
    assert_eq!(s.read(".fw"), "fw");
}

#[test]
fn lumina_home_override() {
    let s = basic();
    let alt = s.dir.path().join("vroot");
    s.cmd()
        .env("LUMINA_HOME", &alt)
        .arg("sync")
        .assert()
        .success();
    assert!(alt.join("active").exists());
    let link = std::fs::read_link(s.h(".config/hypr/hyprland.conf")).unwrap();
    assert_eq!(
        link,
        Path::new("../../../vroot/active/home/.config/hypr/hyprland.conf")
    );
    assert_eq!(s.read(".config/hypr/hyprland.conf"), "main\n");
}

#[test]
fn outside_home_needs_permission() {
    let s = Sandbox::new();
    let outside = s.dir.path().join("etc-like/app.conf");
    s.write_registry(&format!(
        "version: 1.0\nmodules:\n  o:\n    source: ./o\n    target: {}\n",
        outside.display()
    ));
    s.source("o", "o");
    let (_, err) = s.run(&["sync"], 2);
    assert!(
        err.contains("modules.o.target")
            && err.contains("outside $HOME")
            && err.contains("allow_outside_home: true"),
        "{err}"
    );
    s.write_registry(&format!("version: 1.0\nmodules:\n  o:\n    source: ./o\n    target: {}\n    allow_outside_home: true\n", outside.display()));
    s.run(&["sync"], 0);
    assert_eq!(std::fs::read_to_string(&outside).unwrap(), "o");
    assert!(s.h(".lumina/active/root").exists());
}
