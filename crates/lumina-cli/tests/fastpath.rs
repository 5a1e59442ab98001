//! The stat fast path for an up-to-date `lumina sync` must never hide a
//! change. Each case makes the stamp trustworthy (old enough not to be
//! racy), changes one thing, and checks that sync both notices and fixes it.

mod common;

use std::time::Duration;

use common::*;

/// Runs `lumina sync` (human output, so the fast path is allowed) and
/// returns (stdout, whether the fast path answered).
fn sync(s: &Sandbox) -> (String, bool) {
    let out = s
        .cmd()
        .env("LUMINA_LOG", "lumina=debug")
        .arg("sync")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let fast = String::from_utf8_lossy(&out.stderr).contains("fast path");
    (String::from_utf8_lossy(&out.stdout).into_owned(), fast)
}

/// Syncs until a stamp exists that is old enough to be trusted, and checks
/// that the fast path then answers.
fn settle_stamp(s: &Sandbox) {
    std::thread::sleep(Duration::from_millis(1600));
    let (_, fast) = sync(s); // writes a non-racy stamp (full plan or fast)
    let (out, fast2) = sync(s);
    assert!(fast || fast2, "fast path never answered: {out}");
    assert!(out.contains("Up to date"), "{out}");
}

fn sandbox() -> Sandbox {
    let s = Sandbox::new();
    s.write_registry(
        "version: 1.0\nmodules:\n  m:\n    source: ./m\n    target: ~/.config/m\n  c:\n    source: ./c.conf\n    target: ~/.c.conf\n    mode: copy\n",
    );
    s.source("m/a.conf", "a");
    s.source("m/sub/b.conf", "b");
    s.source("c.conf", "c1");
    sync(&s);
    s
}

#[test]
fn fast_path_never_hides_a_change() {
    let s = sandbox();
    settle_stamp(&s);

    // A new source file in a nested directory.
    s.source("m/sub/new.conf", "n");
    let (out, fast) = sync(&s);
    assert!(!fast && out.contains("create"), "{out}");
    assert_eq!(
        std::fs::read_to_string(s.h(".config/m/sub/new.conf")).unwrap(),
        "n"
    );
    settle_stamp(&s);

    // A link deleted by hand.
    std::fs::remove_file(s.h(".config/m/a.conf")).unwrap();
    let (out, fast) = sync(&s);
    assert!(!fast && out.contains("create"), "{out}");
    assert!(s.h(".config/m/a.conf").exists());
    settle_stamp(&s);

    // A link replaced by a file.
    std::fs::remove_file(s.h(".config/m/sub/b.conf")).unwrap();
    std::fs::write(s.h(".config/m/sub/b.conf"), "mine").unwrap();
    let (out, fast) = sync(&s);
    assert!(!fast && out.contains("conflict"), "{out}");
    assert_eq!(
        std::fs::read_to_string(s.h(".config/m/sub/b.conf.bak")).unwrap(),
        "mine"
    );
    settle_stamp(&s);

    // A copy-mode source edited (file content, no directory change).
    s.source("c.conf", "c2, longer");
    let (out, fast) = sync(&s);
    assert!(!fast && out.contains("update"), "{out}");
    assert_eq!(
        std::fs::read_to_string(s.h(".c.conf")).unwrap(),
        "c2, longer"
    );
    settle_stamp(&s);

    // The registry edited.
    s.write_registry("version: 1.0\nmodules:\n  m:\n    source: ./m\n    target: ~/.config/m\n");
    let (out, fast) = sync(&s);
    assert!(!fast && out.contains("prune"), "{out}");
    assert!(!s.h(".c.conf").exists());
    settle_stamp(&s);

    // The generation damaged inside ~/.lumina: the module's directory in it
    // (a link into the profile, or a real directory of links) is gone.
    let in_gen = s.h(".lumina/active/home/.config/m");
    if std::fs::symlink_metadata(&in_gen).unwrap().is_dir() {
        std::fs::remove_dir_all(&in_gen).unwrap();
    } else {
        std::fs::remove_file(&in_gen).unwrap();
    }
    let (out, fast) = sync(&s);
    assert!(!fast, "{out}");
    assert_eq!(
        std::fs::read_to_string(s.h(".config/m/a.conf")).unwrap(),
        "a"
    );
    settle_stamp(&s);

    // A different HOME-relative variable expansion.
    s.write_registry("version: 1.0\nmodules:\n  m:\n    source: ./m\n    target: $CFG/m\n");
    let cfg = s.home.join(".cfg2");
    let out = s.cmd().env("CFG", &cfg).arg("sync").output().unwrap();
    assert!(out.status.success());
    assert!(cfg.join("m/a.conf").exists());
}

#[test]
fn change_in_the_same_tick_as_the_sync_is_seen() {
    // No sleep: the stamp written by this sync is racy, so a change right
    // after it cannot be hidden by equal timestamps.
    let s = sandbox();
    sync(&s);
    s.source("m/quick.conf", "q");
    let (out, fast) = sync(&s);
    assert!(!fast && out.contains("create"), "{out}");
}
