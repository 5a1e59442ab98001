//! The registry keys real repository layouts need: whole-home packages
//! (`target: "~"`, compared with `stow --no-folding` when Stow is
//! installed), `exclude:`, per-file `copy:`/`seed:` and `mode: seed`,
//! `dot_prefix:`, `hosts:` by hostname and tag, templates, and `run:`
//! hooks. Each through the real binary.

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use common::*;

fn is_link(p: &Path) -> bool {
    std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_symlink())
}

fn is_plain_file(p: &Path) -> bool {
    std::fs::symlink_metadata(p).is_ok_and(|m| m.is_file())
}

/// Every symlink below `root` (not below `.lumina`), by relative path,
/// with the content it resolves to.
fn links(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    snapshot(root, ".lumina")
        .into_iter()
        .filter(|(_, n)| matches!(n, Node::Link(_)))
        .map(|(k, _)| {
            let c = std::fs::read(root.join(&k)).unwrap();
            (k, c)
        })
        .collect()
}

fn stow_tree(s: &Sandbox) {
    s.source("dots/zsh/.zshrc", "zsh\n");
    s.source("dots/zsh/.zsh/aliases.zsh", "alias l=ls\n");
    s.source("dots/zsh/README.md", "my zsh\n");
    s.source("dots/git/.gitconfig", "[user]\n");
    s.source("dots/nvim/.config/nvim/init.lua", "-- nvim\n");
    s.source("dots/nvim/.config/nvim/lua/plugins.lua", "return {}\n");
    s.source("dots/tmux/.tmux.conf", "set -g mouse on\n");
    s.source("dots/tmux/.config/tmux/theme.conf", "dark\n");
}

/// A Stow repository of four packages, one `target: "~"` module each,
/// produces exactly the links `stow --no-folding` makes.
#[test]
fn whole_home_packages_link_like_stow() {
    let s = Sandbox::new();
    stow_tree(&s);
    s.write_registry(
        "version: 1.0\n# Stow's default ignore list leaves out README.* at a package's top.\nexclude: [\"/README*\"]\nmodules:\n  zsh: {source: ./dots/zsh, target: \"~\"}\n  git: {source: ./dots/git, target: \"~\"}\n  nvim: {source: ./dots/nvim, target: \"~\"}\n  tmux: {source: ./dots/tmux, target: \"~\"}\n",
    );
    s.run(&["sync"], 0);
    let ours = links(&s.home);
    let expected: Vec<&str> = vec![
        ".config/nvim/init.lua",
        ".config/nvim/lua/plugins.lua",
        ".config/tmux/theme.conf",
        ".gitconfig",
        ".tmux.conf",
        ".zsh/aliases.zsh",
        ".zshrc",
    ];
    assert_eq!(
        ours.keys().map(|k| k.to_str().unwrap()).collect::<Vec<_>>(),
        expected
    );
    assert_eq!(ours[Path::new(".zshrc")], b"zsh\n");
    s.run(&["status", "--check"], 0);
    if std::process::Command::new("stow")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped the comparison with stow: stow is not installed (scripts/bootstrap installs it)");
        return;
    }
    let stowed = s.dir.path().join("stow-home");
    std::fs::create_dir_all(&stowed).unwrap();
    let ok = std::process::Command::new("stow")
        .args(["--no-folding", "-d"])
        .arg(s.profile.join("dots"))
        .arg("-t")
        .arg(&stowed)
        .args(["zsh", "git", "nvim", "tmux"])
        .status()
        .unwrap()
        .success();
    assert!(ok, "stow failed");
    assert_eq!(links(&stowed), ours, "the same links with the same content");
}

#[test]
fn excludes_module_top_level_and_always() {
    let s = Sandbox::new();
    s.source("fish/config.fish", "set x\n");
    s.source("fish/conf.d/a.fish", "a\n");
    s.source("fish/logo.png", "png\n");
    s.source("fish/keep.png", "keep\n");
    s.source("fish/README.md", "readme\n");
    s.source("fish/.github/workflows/ci.yml", "ci\n");
    s.source("fish/.gitmodules", "[submodule]\n");
    s.source("fish/.git", "gitdir: elsewhere\n");
    s.source("fish/.lumina-notes", "notes\n");
    s.write_registry(
        "version: 1.0\nexclude: [\"README.md\", \".github/**\"]\nmodules:\n  fish:\n    source: ./fish\n    target: ~/.config/fish\n    exclude: [\"*.png\", \"!keep.png\", \"conf.d/**\"]\n",
    );
    s.run(&["sync"], 0);
    let got: Vec<PathBuf> = links(&s.h(".config/fish")).into_keys().collect();
    assert_eq!(
        got,
        vec![PathBuf::from("config.fish"), PathBuf::from("keep.png")]
    );
    // A bad pattern is a positioned error.
    s.write_registry(
        "version: 1.0\nmodules:\n  fish:\n    source: ./fish\n    target: ~/.config/fish\n    exclude: [\"{a,b\"]\n",
    );
    let (_, err) = s.run(&["check"], 2);
    assert!(
        err.contains(":6:") && err.contains("modules.fish.exclude[0]"),
        "{err}"
    );
}

/// `copy:` and `seed:` override the module's mode per file; a seeded file
/// is left to its owner and removed again only while it is unchanged.
#[test]
fn copy_and_seed_per_file() {
    let s = Sandbox::new();
    s.source("hypr/hyprland.conf", "main\n");
    s.source("hypr/app.ini", "ini\n");
    s.source("hypr/custom/keys.conf", "my keys\n");
    s.source("hypr/custom/rules.conf", "my rules\n");
    s.home_file(".config/hypr/custom/rules.conf", "already mine\n");
    s.write_registry(
        "version: 1.0\nmodules:\n  hypr:\n    source: ./hypr\n    target: ~/.config/hypr\n    copy: [\"*.ini\"]\n    seed: [\"custom/*\"]\n",
    );
    s.run(&["sync"], 0);
    assert!(is_link(&s.h(".config/hypr/hyprland.conf")));
    assert!(is_plain_file(&s.h(".config/hypr/app.ini")));
    assert!(is_plain_file(&s.h(".config/hypr/custom/keys.conf")));
    assert_eq!(s.read(".config/hypr/custom/keys.conf"), "my keys\n");
    // A file already there is never replaced by a seed (and no backup).
    assert_eq!(s.read(".config/hypr/custom/rules.conf"), "already mine\n");
    assert!(!s.h(".config/hypr/custom/rules.conf.bak").exists());
    // The user edits the seeded file; the profile's copy changes too: the
    // seed stays the user's.
    s.home_file(".config/hypr/custom/keys.conf", "edited keys\n");
    s.source("hypr/custom/keys.conf", "new upstream keys\n");
    s.run(&["sync"], 0);
    assert_eq!(s.read(".config/hypr/custom/keys.conf"), "edited keys\n");
    s.run(&["status", "--check"], 0);
    // Deleted by the user: seeded again.
    std::fs::remove_file(s.h(".config/hypr/custom/keys.conf")).unwrap();
    s.run(&["sync"], 0);
    assert_eq!(
        s.read(".config/hypr/custom/keys.conf"),
        "new upstream keys\n"
    );
    // Removing the module removes the seed while it is as seeded...
    s.run(&["remove", "hypr"], 0);
    assert!(!s.h(".config/hypr/custom/keys.conf").exists());
    assert_eq!(s.read(".config/hypr/custom/rules.conf"), "already mine\n");
    // ...and keeps an edited one.
    s.write_registry(
        "version: 1.0\nmodules:\n  hypr:\n    source: ./hypr\n    target: ~/.config/hypr\n    mode: seed\n",
    );
    s.run(&["sync"], 0);
    assert!(is_plain_file(&s.h(".config/hypr/hyprland.conf")));
    s.home_file(".config/hypr/hyprland.conf", "edited main\n");
    s.run(&["remove", "hypr"], 0);
    assert_eq!(s.read(".config/hypr/hyprland.conf"), "edited main\n");
    assert!(!s.h(".config/hypr/app.ini").exists());
}

/// rcm stores `zshrc` for `~/.zshrc`.
#[test]
fn dot_prefix_for_rcm_layouts() {
    let s = Sandbox::new();
    s.source("rc/zshrc", "z\n");
    s.source("rc/config/git/config", "g\n");
    s.source("rc/.already", "a\n");
    s.write_registry(
        "version: 1.0\nmodules:\n  rc:\n    source: ./rc\n    target: \"~\"\n    dot_prefix: true\n",
    );
    s.run(&["sync"], 0);
    let got: Vec<PathBuf> = links(&s.home).into_keys().collect();
    assert_eq!(
        got,
        vec![
            PathBuf::from(".already"),
            PathBuf::from(".config/git/config"),
            PathBuf::from(".zshrc")
        ]
    );
}

#[test]
fn hosts_by_hostname_and_tag() {
    let s = Sandbox::new();
    for m in ["mine", "other", "work"] {
        s.source(&format!("{m}/{m}.conf"), m);
    }
    s.write_registry(
        "version: 1.0\nmodules:\n  mine: {source: ./mine, target: ~/.config/mine, hosts: [sandbox-host]}\n  other: {source: ./other, target: ~/.config/other, hosts: [elsewhere]}\n  work: {source: ./work, target: ~/.config/work, hosts: [\"tag:work\", elsewhere]}\n",
    );
    s.run(&["sync"], 0);
    assert!(s.h(".config/mine/mine.conf").exists());
    assert!(!s.h(".config/other").exists());
    assert!(!s.h(".config/work").exists());
    let (out, _) = s.run(&["tag", "add", "work", "laptop"], 0);
    assert!(out.contains("laptop, work"), "{out}");
    s.run(&["sync"], 0);
    assert_eq!(s.read(".config/work/work.conf"), "work");
    let st = s.json(&["status"], 0);
    assert_eq!(st["hostname"], "sandbox-host");
    assert_eq!(st["tags"], serde_json::json!(["laptop", "work"]));
    s.run(&["tag", "remove", "work"], 0);
    s.run(&["sync"], 0);
    assert!(!s.h(".config/work/work.conf").exists());
    let v = s.json(&["tag", "list"], 0);
    assert_eq!(v["tags"], serde_json::json!(["laptop"]));
    let (_, err) = s.run(&["tag", "add", "no good"], 2);
    assert!(err.contains("not a valid tag"), "{err}");
}

/// A template rendered with every kind of variable; an environment change
/// is seen even by the no-op fast path; an edited template is 'outdated'
/// until the next sync; an undefined name changes nothing.
#[test]
fn templates_render_every_variable_and_fail_cleanly() {
    let s = Sandbox::new();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/dmi/framework-13-amd-7040/class/dmi/id");
    let dmi = s.sysfs.join("class/dmi/id");
    std::fs::create_dir_all(&dmi).unwrap();
    for e in std::fs::read_dir(&fixture).unwrap().flatten() {
        std::fs::copy(e.path(), dmi.join(e.file_name())).unwrap();
    }
    s.run(&["tag", "add", "work"], 0);
    let tpl = s.source(
        "kitty/kitty.conf",
        "# {{ hardware.slug }} at scale {{ hardware.monitor_scale }}\nhost {{ hostname }}\n{% if \"work\" in tags %}font_size 11{% else %}font_size 13{% endif %}\ntheme {{ vars.theme }}\nterm {{ env.LUMINA_TEST_TERM }}\n",
    );
    std::fs::set_permissions(&tpl, std::fs::Permissions::from_mode(0o640)).unwrap();
    s.source("kitty/plain.conf", "{{ not a template }}\n");
    s.write_registry(
        "version: 1.0\nvars:\n  theme: dracula\nmodules:\n  kitty:\n    source: ./kitty\n    target: ~/.config/kitty\n    template: [\"kitty.conf\"]\n",
    );
    let term = [("LUMINA_TEST_TERM", "xterm-kitty")];
    s.run_env(&term, &["sync"], 0);
    assert_eq!(
        s.read(".config/kitty/kitty.conf"),
        "# Framework-13-AMD at scale 1.5\nhost sandbox-host\nfont_size 11\ntheme dracula\nterm xterm-kitty\n"
    );
    assert_eq!(s.read(".config/kitty/plain.conf"), "{{ not a template }}\n");
    assert!(is_link(&s.h(".config/kitty/kitty.conf")));
    let rendered = std::fs::canonicalize(s.h(".config/kitty/kitty.conf")).unwrap();
    assert_eq!(
        std::fs::metadata(&rendered).unwrap().permissions().mode() & 0o777,
        0o640
    );
    // A no-op sync (stamp written), then the environment moves: the fast
    // path must not answer.
    std::thread::sleep(std::time::Duration::from_millis(1600));
    s.run_env(&term, &["sync"], 0);
    let (out, _) = s.run_env(&term, &["sync"], 0);
    assert!(out.contains("Up to date"), "{out}");
    s.run_env(&[("LUMINA_TEST_TERM", "foot")], &["sync"], 0);
    assert!(s.read(".config/kitty/kitty.conf").ends_with("term foot\n"));
    // An edited template: the target shows the old rendering until a sync.
    let text = std::fs::read_to_string(&tpl)
        .unwrap()
        .replace("theme {{", "colors {{");
    std::fs::write(&tpl, text).unwrap();
    let (so, _) = s.run_env(&[("LUMINA_TEST_TERM", "foot")], &["--json", "status"], 0);
    let st: serde_json::Value = serde_json::from_str(&so).unwrap();
    assert_eq!(st["modules"][0]["problems"][0]["state"], "outdated", "{st}");
    s.run_env(&[("LUMINA_TEST_TERM", "foot")], &["sync"], 0);
    assert!(s
        .read(".config/kitty/kitty.conf")
        .contains("colors dracula"));
    // An undefined variable: file, line and name; nothing changes.
    std::fs::write(&tpl, "line one\nfont {{ vars.font }}\n").unwrap();
    let before = full_snapshot(&s.home);
    let (_, err) = s.run_env(&term, &["sync"], 2);
    assert!(err.contains("kitty/kitty.conf:2"), "{err}");
    assert!(err.contains("undefined variable `vars.font`"), "{err}");
    assert_eq!(full_snapshot(&s.home), before);
    // An unset environment variable is named too.
    std::fs::write(&tpl, "term {{ env.LUMINA_TEST_TERM }}\n").unwrap();
    let (_, err) = s.run(&["sync"], 2);
    assert!(err.contains("`env.LUMINA_TEST_TERM`"), "{err}");
}

/// Hooks run once after a change to their module, not on a no-op; a
/// failing hook fails the sync but the links stay; --no-hooks and
/// --dry-run.
#[test]
fn hooks_run_after_a_change_only() {
    let s = Sandbox::new();
    s.source("nvim/init.lua", "-- 1\n");
    s.source("kitty/kitty.conf", "k\n");
    let log = s.dir.path().join("hooks.log");
    s.write_registry(&format!(
        "version: 1.0\nmodules:\n  nvim:\n    source: ./nvim\n    target: ~/.config/nvim\n    run: [\"echo \\\"$LUMINA_MODULE ran in $PWD\\\" >> {log}\", \"echo streamed\"]\n  kitty:\n    source: ./kitty\n    target: ~/.config/kitty\n    run: [\"echo kitty >> {log}\"]\n",
        log = log.display()
    ));
    let (out, _) = s.run(&["sync", "--dry-run"], 0);
    assert!(
        out.contains("would run `echo streamed` (module nvim)"),
        "{out}"
    );
    assert!(!log.exists());
    let (out, _) = s.run(&["sync"], 0);
    assert!(out.contains("[nvim] streamed"), "{out}");
    let ran = std::fs::read_to_string(&log).unwrap();
    assert_eq!(
        ran,
        format!("nvim ran in {}\nkitty\n", s.profile.display()),
        "each module's hooks once, in the profile"
    );
    // No-op: nothing runs.
    s.run(&["sync"], 0);
    assert_eq!(std::fs::read_to_string(&log).unwrap(), ran);
    // A change to nvim only: only nvim's hooks.
    s.source("nvim/lua/plugins.lua", "return {}\n");
    let v = s.json(&["sync"], 0);
    assert_eq!(v["hooks"].as_array().unwrap().len(), 2, "{v}");
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        format!("{ran}nvim ran in {}\n", s.profile.display())
    );
    // --no-hooks.
    s.source("nvim/lua/more.lua", "x\n");
    s.run(&["sync", "--no-hooks"], 0);
    assert_eq!(std::fs::read_to_string(&log).unwrap().lines().count(), 3);
    // A failing hook: exit 1, the links stay.
    s.write_registry(
        "version: 1.0\nmodules:\n  nvim:\n    source: ./nvim\n    target: ~/.config/nvim\n    run: [\"echo failing; exit 7\"]\n",
    );
    s.source("nvim/lua/last.lua", "y\n");
    let (out, err) = s.run(&["sync"], 1);
    assert!(out.contains("[nvim] failing"), "{out}");
    assert!(
        err.contains("exited with 7") && err.contains("links are in place"),
        "{err}"
    );
    assert_eq!(s.read(".config/nvim/lua/last.lua"), "y\n");
    s.run(&["status", "--check"], 0);
}

/// `lumina add --exclude` writes the module's `exclude:` with the file's
/// comments kept.
#[test]
fn add_writes_new_keys_and_keeps_comments() {
    let s = Sandbox::new();
    s.write_registry("version: 1.0\n# my modules\nmodules:\n  # none yet\n");
    stow_tree(&s);
    s.run(
        &[
            "add",
            "zsh",
            "--source",
            "./dots/zsh",
            "--target",
            "~",
            "--exclude",
            "README.md",
            "--yes",
        ],
        0,
    );
    let text = std::fs::read_to_string(s.registry()).unwrap();
    assert!(
        text.contains("# my modules") && text.contains("# none yet"),
        "{text}"
    );
    assert!(text.contains("exclude: [README.md]"), "{text}");
    assert_eq!(s.read(".zshrc"), "zsh\n");
    assert!(!s.h("README.md").exists());
}
