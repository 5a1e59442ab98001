//! What real dotfiles repositories and real homes did to lumina: copies an
//! application edits, directories symlinked into other trees, adoptions of
//! trees with symlinks, special files, nested git repositories and tight
//! modes, modules `init` declared, sources deleted from the profile, and
//! source trees with empty directories, unchecked-out submodules, FIFOs
//! and sockets. Each through the real binary.

mod common;

use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;

/// `lumina add hyprland --adopt` of `~/.config/hypr` into the module `init` declared.
const ADOPT_HYPRLAND: &[&str] = &[
    "add",
    "hyprland",
    "--target",
    "~/.config/hypr",
    "--source",
    "./config/hyprland",
    "--adopt",
    "--yes",
];

use common::*;

fn mode(p: &Path) -> u32 {
    std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
}

fn mkfifo(p: &Path) {
    let ok = std::process::Command::new("mkfifo")
        .arg(p)
        .status()
        .unwrap()
        .success();
    assert!(ok, "mkfifo {}", p.display());
}

/// A copy an application rewrites (KDE's kdeglobals) is backed up and the
/// sync completes, every time, with every other change of that sync made.
#[test]
fn an_edited_copy_is_backed_up_and_the_sync_completes() {
    let s = Sandbox::new();
    s.source("kde/kdeglobals", "[General]\nColorScheme=Breeze\n");
    s.source("kitty/kitty.conf", "font_size 11\n");
    s.write_registry(
        "version: 1.0\nmodules:\n  kde:\n    source: ./kde/kdeglobals\n    target: ~/.config/kdeglobals\n    mode: copy\n  kitty:\n    source: ./kitty\n    target: ~/.config/kitty\n",
    );
    s.run(&["sync"], 0);
    for round in 0..2 {
        s.home_file(
            ".config/kdeglobals",
            &format!("[General]\nColorScheme=Edited{round}\n"),
        );
        s.source("kitty/extra.conf", &format!("round {round}\n"));
        let (out, err) = s.run(&["sync"], 0);
        assert!(!err.contains("error"), "{err}");
        assert!(out.contains("kdeglobals"), "{out}");
        assert_eq!(
            s.read(".config/kdeglobals"),
            "[General]\nColorScheme=Breeze\n",
            "the profile's copy is back"
        );
        let bak = if round == 0 {
            ".config/kdeglobals.bak"
        } else {
            ".config/kdeglobals.bak.1"
        };
        assert_eq!(
            s.read(bak),
            format!("[General]\nColorScheme=Edited{round}\n"),
            "the edit is kept"
        );
        assert_eq!(
            s.read(".config/kitty/extra.conf"),
            format!("round {round}\n")
        );
    }
    s.run(&["status", "--check"], 0);
}

/// `~/.config/tmux -> ../old-dotfiles/tmux` (a folded Stow package): the
/// plan names the symlink, the backup policy moves the symlink itself
/// aside, and nothing is ever written into the other tree.
#[test]
fn a_symlinked_directory_on_the_way_is_a_conflict_never_written_through() {
    let s = Sandbox::new();
    s.source("tmux/tmux.conf", "set -g mouse on\n");
    s.source("tmux/plugins/x.tmux", "plugin\n");
    s.home_file("old-dotfiles/tmux/tmux.conf", "old\n");
    std::fs::create_dir_all(s.h(".config")).unwrap();
    symlink("../old-dotfiles/tmux", s.h(".config/tmux")).unwrap();
    s.write_registry(
        "version: 1.0\nmodules:\n  tmux:\n    source: ./tmux\n    target: ~/.config/tmux\n",
    );
    let other_before = full_snapshot(&s.h("old-dotfiles"));
    let st = s.json(&["status"], 0);
    let problems = &st["modules"][0]["problems"];
    assert!(
        problems
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["state"] == "redirected"),
        "{st}"
    );
    s.run(&["status", "--check"], 1);
    let plan = s.json(&["sync", "--dry-run"], 0);
    let items = plan["plan"]["items"].as_array().unwrap();
    let c = items
        .iter()
        .find(|i| i["action"] == "conflict")
        .expect("a conflict item");
    assert_eq!(c["target"], s.h(".config/tmux").display().to_string());
    assert!(
        c["detail"]
            .as_str()
            .unwrap()
            .contains("symlink to another directory"),
        "{c}"
    );
    s.run(&["sync"], 0);
    assert_eq!(full_snapshot(&s.h("old-dotfiles")), other_before);
    let m = std::fs::symlink_metadata(s.h(".config/tmux")).unwrap();
    assert!(m.is_dir() && !m.file_type().is_symlink());
    assert_eq!(
        std::fs::read_link(s.h(".config/tmux.bak")).unwrap(),
        Path::new("../old-dotfiles/tmux")
    );
    assert_eq!(s.read(".config/tmux/tmux.conf"), "set -g mouse on\n");
    assert_eq!(s.read(".config/tmux/plugins/x.tmux"), "plugin\n");
    s.run(&["status", "--check"], 0);
    // Undo puts the symlink back.
    s.run(&["undo"], 0);
    assert_eq!(
        std::fs::read_link(s.h(".config/tmux")).unwrap(),
        Path::new("../old-dotfiles/tmux")
    );
    assert_eq!(full_snapshot(&s.h("old-dotfiles")), other_before);
}

#[test]
fn a_symlinked_directory_under_skip_or_abort_is_left_alone() {
    let s = Sandbox::new();
    s.source("tmux/tmux.conf", "new\n");
    s.home_file("old/tmux/tmux.conf", "old\n");
    std::fs::create_dir_all(s.h(".config")).unwrap();
    symlink("../old/tmux", s.h(".config/tmux")).unwrap();
    let before = full_snapshot(&s.home);
    s.write_registry(
        "version: 1.0\nmodules:\n  tmux:\n    source: ./tmux\n    target: ~/.config/tmux\n    on_conflict: skip\n",
    );
    let (out, _) = s.run(&["sync"], 0);
    assert!(out.contains("conflict"), "{out}");
    s.write_registry(
        "version: 1.0\nmodules:\n  tmux:\n    source: ./tmux\n    target: ~/.config/tmux\n    on_conflict: abort\n",
    );
    let (_, err) = s.run(&["sync"], 3);
    assert!(err.contains(".config/tmux"), "{err}");
    let mut after = full_snapshot(&s.home);
    after.retain(|k, _| !k.starts_with(".lumina"));
    let mut before = before;
    before.retain(|k, _| !k.starts_with(".lumina"));
    assert_eq!(after, before, "nothing outside ~/.lumina changed");
}

/// Adopting a tree with relative symlinks, a FIFO, a socket and a private
/// directory: the symlinks are the user's content (no `.bak` beside them),
/// special files are skipped with a warning and left where they were,
/// modes are kept, and nothing hangs.
#[test]
fn adopt_keeps_symlinks_modes_and_skips_special_files() {
    let s = Sandbox::new();
    s.write_registry("version: 1.0\nmodules: {}\n");
    let g = s.h(".gnupg");
    s.home_file(".gnupg/gpg.conf", "keyserver x\n");
    s.home_file(".gnupg/private-keys-v1.d/key.key", "secret\n");
    std::fs::set_permissions(
        g.join("private-keys-v1.d"),
        std::fs::Permissions::from_mode(0o700),
    )
    .unwrap();
    std::fs::set_permissions(
        g.join("private-keys-v1.d/key.key"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    std::fs::set_permissions(&g, std::fs::Permissions::from_mode(0o700)).unwrap();
    symlink("gpg.conf", g.join("current.conf")).unwrap();
    mkfifo(&g.join("S.fifo"));
    let _sock = std::os::unix::net::UnixListener::bind(g.join("S.gpg-agent")).unwrap();
    let (out, err) = s.run(
        &["add", "gnupg", "--target", "~/.gnupg", "--adopt", "--yes"],
        0,
    );
    assert!(err.contains("S.fifo") && err.contains("a FIFO"), "{err}");
    assert!(
        err.contains("S.gpg-agent") && err.contains("a socket"),
        "{err}"
    );
    assert!(out.contains("adopted"), "{out}");
    let src = s.profile.join("config/gnupg");
    assert_eq!(mode(&src), 0o700);
    assert_eq!(mode(&src.join("private-keys-v1.d")), 0o700);
    assert_eq!(mode(&src.join("private-keys-v1.d/key.key")), 0o600);
    assert_eq!(
        std::fs::read_link(src.join("current.conf")).unwrap(),
        Path::new("gpg.conf")
    );
    assert!(!src.join("S.fifo").exists() && !src.join("S.gpg-agent").exists());
    // No backups anywhere: everything in the way was the adopted content.
    // (Names only: reading the FIFO would block.)
    let names: Vec<String> = std::fs::read_dir(&g)
        .unwrap()
        .chain(std::fs::read_dir(g.join("private-keys-v1.d")).unwrap())
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!names.iter().any(|n| n.contains(".bak")), "{names:?}");
    // The special files stay where they were; no staging in the profile.
    let ft = std::fs::symlink_metadata(g.join("S.fifo"))
        .unwrap()
        .file_type();
    use std::os::unix::fs::FileTypeExt;
    assert!(ft.is_fifo());
    assert!(std::fs::read_dir(&s.profile)
        .unwrap()
        .flatten()
        .all(|e| !e.file_name().to_string_lossy().starts_with(".lumina")));
    assert_eq!(s.read(".gnupg/current.conf"), "keyserver x\n");
    assert_eq!(s.read(".gnupg/private-keys-v1.d/key.key"), "secret\n");
    s.run(&["status", "--check"], 0);
}

/// A failed adoption leaves nothing behind: the second file copy fails
/// (through the error failpoint, which works as root too), and neither the
/// registry nor the profile keeps a trace.
#[test]
fn a_failed_adopt_leaves_nothing_behind() {
    let s = Sandbox::new();
    s.write_registry("version: 1.0\nmodules: {}\n");
    s.home_file(".config/app/a.conf", "a\n");
    s.home_file(".config/app/b.conf", "b\n");
    let before = std::fs::read_to_string(s.registry()).unwrap();
    let home_before = full_snapshot(&s.home);
    let (_, err) = s.run_env(
        &[("LUMINA_FAILPOINT_ERROR_AT", "2")],
        &[
            "add",
            "app",
            "--target",
            "~/.config/app",
            "--adopt",
            "--yes",
        ],
        1,
    );
    assert!(err.contains("failpoint"), "{err}");
    assert_eq!(std::fs::read_to_string(s.registry()).unwrap(), before);
    let left: Vec<_> = std::fs::read_dir(&s.profile)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(left, vec![std::ffi::OsString::from("lumina.yaml")]);
    assert_eq!(full_snapshot(&s.home), home_before);
}

fn git(dir: &Path, args: &[&str]) {
    let ok = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@t")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@t")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_ALLOW_PROTOCOL", "file")
        .status()
        .unwrap()
        .success();
    assert!(ok, "git {args:?}");
}

/// `~/.config/nvim` as its own clone (kickstart, LazyVim): refused with the
/// two choices named; `--drop-git` adopts the files only; `--submodule`
/// records a submodule with the clone's origin.
#[test]
fn a_nested_git_repository_is_adopted_only_as_chosen() {
    let s = Sandbox::new();
    s.write_registry("version: 1.0\nmodules: {}\n");
    git(&s.profile, &["init", "-q"]);
    let upstream = s.dir.path().join("kickstart");
    std::fs::create_dir_all(&upstream).unwrap();
    git(&upstream, &["init", "-q"]);
    write(&upstream.join("init.lua"), "-- kickstart\n");
    git(&upstream, &["add", "."]);
    git(&upstream, &["commit", "-q", "-m", "init"]);
    let nvim = s.h(".config/nvim");
    std::fs::create_dir_all(s.h(".config")).unwrap();
    git(
        s.h(".config").as_path(),
        &["clone", "-q", upstream.to_str().unwrap(), "nvim"],
    );
    let (_, err) = s.run(&["add", "nvim", "--adopt", "--yes"], 2);
    assert!(
        err.contains("--drop-git") && err.contains("--submodule"),
        "{err}"
    );
    assert!(!s.profile.join("config/nvim").exists());
    let (_, _) = s.run(&["add", "nvim", "--adopt", "--drop-git", "--yes"], 0);
    let src = s.profile.join("config/nvim");
    assert!(src.join("init.lua").is_file());
    assert!(!src.join(".git").exists());
    assert!(nvim.join(".git").is_dir(), "the history stays where it was");
    assert_eq!(s.read(".config/nvim/init.lua"), "-- kickstart\n");

    // The same as a submodule (a fresh sandbox).
    let s = Sandbox::new();
    s.write_registry("version: 1.0\nmodules: {}\n");
    git(&s.profile, &["init", "-q"]);
    std::fs::create_dir_all(s.h(".config")).unwrap();
    git(
        s.h(".config").as_path(),
        &["clone", "-q", upstream.to_str().unwrap(), "nvim"],
    );
    let mut c = s.cmd();
    c.env("GIT_ALLOW_PROTOCOL", "file")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_COUNT", "1")
        .env("GIT_CONFIG_KEY_0", "protocol.file.allow")
        .env("GIT_CONFIG_VALUE_0", "always");
    let out = c
        .args(["--json", "add", "nvim", "--adopt", "--submodule", "--yes"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["submodule"], upstream.to_str().unwrap());
    let gm = std::fs::read_to_string(s.profile.join(".gitmodules")).unwrap();
    assert!(gm.contains("path = config/nvim"), "{gm}");
    assert_eq!(s.read(".config/nvim/init.lua"), "-- kickstart\n");
}

/// `lumina init` declares hyprland with its monitors.conf; adopting the
/// user's existing ~/.config/hypr into it just works, also after a
/// `remove` left the source behind.
#[test]
fn adopting_into_a_module_init_declared() {
    let s = Sandbox::new();
    s.run(&["init", "--identity", "t"], 0);
    s.home_file(
        ".config/hypr/hyprland.conf",
        "source = ~/.config/hypr/monitors.conf\n",
    );
    s.home_file(".config/hypr/binds.conf", "bind = SUPER, Q, exec, kitty\n");
    let (out, _) = s.run(&["add", "hyprland", "--adopt", "--yes"], 0);
    assert!(out.contains("2 files adopted"), "{out}");
    let src = s.profile.join("config/hyprland");
    for f in ["hyprland.conf", "binds.conf", "monitors.conf"] {
        assert!(src.join(f).is_file(), "{f}");
        assert!(
            std::fs::symlink_metadata(s.h(&format!(".config/hypr/{f}")))
                .unwrap()
                .file_type()
                .is_symlink(),
            "{f} is linked"
        );
    }
    s.run(&["remove", "hyprland"], 0);
    assert!(
        src.join("hyprland.conf").is_file(),
        "remove keeps the source"
    );
    // The source is left behind; adopting again merges into it.
    s.home_file(".config/hypr/extra.conf", "x\n");
    let (out, _) = s.run(ADOPT_HYPRLAND, 0);
    assert!(out.contains("adopted"), "{out}");
    assert!(src.join("extra.conf").is_file());
    s.run(&["status", "--check"], 0);
    // A file that differs from the profile's copy stops everything.
    s.run(&["remove", "hyprland"], 0);
    s.home_file(".config/hypr/binds.conf", "different\n");
    s.home_file(".config/hypr/new.conf", "n\n");
    let (_, err) = s.run(ADOPT_HYPRLAND, 2);
    assert!(err.contains("binds.conf"), "{err}");
    assert!(!src.join("new.conf").exists(), "nothing moved");
}

/// A single-file module whose source was deleted: sync says what to do,
/// status shows the dangling link as orphaned, and `remove` cleans up.
#[test]
fn a_deleted_source_is_explained_and_its_link_shown_orphaned() {
    let s = Sandbox::new();
    s.source("zsh/zshrc", "export A=1\n");
    s.home_file(".zshrc", "mine\n");
    s.write_registry(
        "version: 1.0\nmodules:\n  zsh:\n    source: ./zsh/zshrc\n    target: ~/.zshrc\n",
    );
    s.run(&["sync"], 0);
    std::fs::remove_file(s.profile.join("zsh/zshrc")).unwrap();
    let (_, err) = s.run(&["sync"], 2);
    assert!(err.contains("lumina remove zsh"), "{err}");
    assert!(err.contains("restore"), "{err}");
    let st = s.json(&["status"], 0);
    let p = &st["modules"][0]["problems"][0];
    assert_eq!(p["state"], "orphaned", "{st}");
    s.run(&["status", "--check"], 1);
    s.run(&["remove", "zsh"], 0);
    assert_eq!(s.read(".zshrc"), "mine\n", "the backup is back");
}

/// Empty directories, submodules that are not checked out, FIFOs and
/// sockets in a source: each named in a warning, once per sync.
#[test]
fn source_oddities_are_named_once() {
    let s = Sandbox::new();
    s.source("qs/shell.qml", "Item {}\n");
    std::fs::create_dir_all(s.profile.join("qs/empty")).unwrap();
    std::fs::create_dir_all(s.profile.join("qs/modules/lib")).unwrap();
    write(
        &s.profile.join(".gitmodules"),
        "[submodule \"lib\"]\n\tpath = qs/modules/lib\n\turl = https://example.org/lib.git\n",
    );
    mkfifo(&s.profile.join("qs/pipe"));
    let _sock = std::os::unix::net::UnixListener::bind(s.profile.join("qs/sock")).unwrap();
    s.write_registry(
        "version: 1.0\nmodules:\n  qs:\n    source: ./qs\n    target: ~/.config/quickshell\n",
    );
    let (_, err) = s.run(&["sync"], 0);
    let count = |needle: &str| err.matches(needle).count();
    assert_eq!(count("qs/empty: an empty directory"), 1, "{err}");
    assert_eq!(count("submodule update --init"), 1, "{err}");
    assert_eq!(count("qs/pipe: a FIFO"), 1, "{err}");
    assert_eq!(count("qs/sock: a socket"), 1, "{err}");
    assert_eq!(s.read(".config/quickshell/shell.qml"), "Item {}\n");
    assert!(!s.h(".config/quickshell/pipe").exists());
}
