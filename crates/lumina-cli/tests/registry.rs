//! Registry errors, init, add, remove through the real binary.

mod common;

use std::path::Path;

use common::*;

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/dmi")
        .join(name)
}

#[test]
fn yaml_syntax_error_names_file_line_column() {
    let s = Sandbox::new();
    s.write_registry("version: 1.0\nmodules:\n  a: [unclosed\n  b: c\n");
    let (_, err) = s.run(&["check"], 2);
    let file = s.registry().display().to_string();
    assert!(err.contains(&format!("{file}:")), "{err}");
    assert!(
        err.contains("YAML syntax error") && err.contains("help:"),
        "{err}"
    );
    let v = s.json(&["sync"], 2);
    assert_eq!(v["error"]["kind"], "invalid_registry");
    assert!(v["error"]["diagnostics"][0]["line"].as_u64().is_some());
}

#[test]
fn invalid_values_name_field_position_and_fix() {
    let s = Sandbox::new();
    s.write_registry(
        "version: 1.0\nmodules:\n  shell:\n    source: ./a\n    target: ~/.a\n    mode: symlink\n    enabled: maybe\n    on_conflict: overwrite\n    hosts: Framework-13-AMD\n",
    );
    let (_, err) = s.run(&["check"], 2);
    let file = s.registry().display().to_string();
    for (field, pos) in [
        ("modules.shell.mode", ":6:11"),
        ("modules.shell.enabled", ":7:14"),
        ("modules.shell.on_conflict", ":8:18"),
        ("modules.shell.hosts", ":9:12"),
    ] {
        assert!(
            err.contains(&format!("{file}{pos}: {field}:")),
            "missing {field} at {pos} in:\n{err}"
        );
    }
    assert_eq!(err.matches("help:").count(), 4, "{err}");
}

#[test]
fn missing_fields_and_version() {
    let s = Sandbox::new();
    s.write_registry("modules:\n  a:\n    enabled: true\n");
    let (_, err) = s.run(&["check"], 2);
    assert!(err.contains("version: missing 'version'"), "{err}");
    assert!(err.contains("modules.a.source: missing 'source'"), "{err}");
    assert!(err.contains("modules.a.target: missing 'target'"), "{err}");
    s.write_registry("version: 2\nmodules: {}\n");
    let (_, err) = s.run(&["check"], 2);
    assert!(err.contains("unsupported registry version '2'"), "{err}");
}

#[test]
fn missing_source_is_a_clean_error() {
    let s = Sandbox::new();
    s.write_registry(SEED_EXAMPLE);
    let (_, err) = s.run(&["sync"], 2);
    assert!(err.contains("modules.shell.source"), "{err}");
    assert!(
        err.contains("module 'shell'") && err.contains("config/hyprland"),
        "{err}"
    );
    assert!(!s.h(".lumina").exists());
}

#[test]
fn unset_variable_in_target() {
    let s = Sandbox::new();
    s.write_registry(
        "version: 1.0\nmodules:\n  a:\n    source: ./a\n    target: $NOT_SET_ANYWHERE/a\n",
    );
    s.source("a", "a");
    let (_, err) = s.run(&["sync"], 2);
    assert!(
        err.contains("$NOT_SET_ANYWHERE") && err.contains("modules.a.target"),
        "{err}"
    );
    // Set, it expands.
    let dest = s.home.join("v");
    s.cmd()
        .env("NOT_SET_ANYWHERE", &dest)
        .arg("sync")
        .assert()
        .success();
    assert_eq!(std::fs::read_to_string(dest.join("a")).unwrap(), "a");
}

#[test]
fn unknown_keys_warn_and_strict_fails() {
    let s = Sandbox::new();
    s.write_registry(
        "version: 1.0\nmodules:\n  a:\n    source: ./a\n    target: ~/.a\n    enabeld: true\n",
    );
    s.source("a", "a");
    let (_, err) = s.run(&["sync"], 0);
    assert!(
        err.contains("warning:")
            && err.contains("unknown key 'enabeld'")
            && err.contains("did you mean 'enabled'"),
        "{err}"
    );
    let (_, err) = s.run(&["sync", "--strict"], 2);
    assert!(
        err.contains("modules.a.enabeld") && err.contains(":6:5"),
        "{err}"
    );
}

#[test]
fn registry_not_found_points_to_init() {
    let s = Sandbox::new();
    let (_, err) = s.run(&["sync"], 2);
    assert!(
        err.contains("cannot read the registry") && err.contains("lumina init"),
        "{err}"
    );
    // --registry beats $LUMINA_REGISTRY.
    let other = s.dir.path().join("other/lumina.yaml");
    write(&other, "version: 1.0\n");
    s.cmd()
        .args(["--registry", other.to_str().unwrap(), "check"])
        .assert()
        .success();
}

#[test]
fn overlapping_targets_and_targets_inside_the_profile() {
    let s = Sandbox::new();
    s.write_registry("version: 1.0\nmodules:\n  a:\n    source: ./a\n    target: ~/.x\n  b:\n    source: ./b\n    target: ~/.x\n");
    s.source("a", "a");
    s.source("b", "b");
    let (_, err) = s.run(&["sync"], 2);
    assert!(err.contains("also claimed by module 'a'"), "{err}");
    s.write_registry(&format!(
        "version: 1.0\nmodules:\n  a:\n    source: ./a\n    target: {}/inside\n    allow_outside_home: true\n",
        s.profile.display()
    ));
    let (_, err) = s.run(&["sync"], 2);
    assert!(err.contains("overlaps the profile directory"), "{err}");
}

#[test]
fn permission_denied_fails_with_nothing_changed() {
    let s = Sandbox::new();
    s.write_registry(
        "version: 1.0\nmodules:\n  a:\n    source: ./a\n    target: ~/.a\n  shell:\n    source: ./hypr\n    target: ~/.config/hypr\n",
    );
    s.source("a", "a");
    s.source("hypr/hyprland.conf", "h");
    let hypr = s.h(".config/hypr");
    std::fs::create_dir_all(&hypr).unwrap();
    let root = rustix_is_root();
    let mut cmd = if root {
        // Root ignores permission bits: run lumina as nobody, with HOME
        // owned by nobody but ~/.config/hypr owned by root.
        use std::os::unix::fs::PermissionsExt;
        for p in [s.dir.path(), s.profile.as_path(), s.sysfs.as_path()] {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        for p in [s.home.clone(), s.h(".config")] {
            std::os::unix::fs::chown(&p, Some(65534), Some(65534)).unwrap();
        }
        let bin = assert_cmd::cargo::cargo_bin("lumina");
        let mut c = assert_cmd::Command::new("setpriv");
        c.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", &s.home)
            .env("LUMINA_REGISTRY", s.registry())
            .env("LUMINA_SYSFS_ROOT", &s.sysfs)
            .current_dir("/")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(bin);
        c
    } else {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&hypr, std::fs::Permissions::from_mode(0o555)).unwrap();
        s.cmd()
    };
    if root
        && std::process::Command::new("setpriv")
            .arg("--version")
            .output()
            .is_err()
    {
        eprintln!("SKIP permission_denied: running as root and setpriv is not installed");
        return;
    }
    let before = full_snapshot(s.dir.path());
    let out = cmd.arg("sync").output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("MISSION FAILED: Permission denied at ~/.config/hypr. Check the directory's owner or run with the right user."),
        "{err}"
    );
    assert_eq!(
        full_snapshot(s.dir.path()),
        before,
        "a failed permission check changed something"
    );
}

fn rustix_is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .map(|s| {
            s.lines()
                .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

#[test]
fn init_detects_every_model() {
    let cases = [
        ("framework-13-amd-7040", "Framework-13-AMD", "1.5"),
        ("framework-13-amd-7040-spaced", "Framework-13-AMD", "1.5"),
        ("framework-13-amd-ai300", "Framework-13-AMD-AI300", "1.5"),
        ("framework-13-intel", "Framework-13-Intel", "1.5"),
        ("framework-13-intel-ultra", "Framework-13-Intel", "1.5"),
        ("framework-16-amd", "Framework-16-AMD", "1.25"),
        ("framework-16-amd-ai300", "Framework-16-AMD-AI300", "1.25"),
        ("framework-12", "Framework-12", "1.25"),
        ("framework-desktop", "Framework-Desktop", ", 1\n"),
        (
            "generic-thinkpad",
            &format!("Generic-{}", std::env::consts::ARCH),
            ", 1\n",
        ),
    ];
    for (dir, slug, scale) in cases {
        let s = Sandbox::new();
        let reg = s.h(".config/lumina/lumina.yaml");
        let mut c = s.cmd();
        c.env_remove("LUMINA_REGISTRY")
            .args(["init", "--identity", "my box", "--sysfs-root"])
            .arg(fixture(dir));
        c.assert().success();
        let text = std::fs::read_to_string(&reg).unwrap();
        assert!(
            text.contains(&format!("  target: {slug}\n")),
            "{dir}: {text}"
        );
        assert!(text.contains("identity: \"my box\""), "{text}");
        assert!(text.starts_with("# lumina.yaml"), "commented: {text}");
        let mon = s.read(".config/lumina/config/hyprland/monitors.conf");
        assert!(mon.contains(scale), "{dir}: {mon}");
        assert!(
            s.h(".config/lumina/.git").is_dir(),
            "profile is a git repository"
        );
        // The written registry is valid and syncs as is.
        s.cmd()
            .env_remove("LUMINA_REGISTRY")
            .args(["check", "--strict"])
            .assert()
            .success();
        s.cmd()
            .env_remove("LUMINA_REGISTRY")
            .arg("sync")
            .assert()
            .success();
        assert!(s.h(".config/hypr/monitors.conf").exists());
    }
}

#[test]
fn init_env_sysfs_and_refuses_to_overwrite() {
    let s = Sandbox::new();
    s.cmd()
        .env("LUMINA_SYSFS_ROOT", fixture("framework-12"))
        .arg("init")
        .assert()
        .success();
    let text = std::fs::read_to_string(s.registry()).unwrap();
    assert!(text.contains("target: Framework-12"));
    std::fs::write(s.registry(), "version: 1.0\n# mine\n").unwrap();
    let (_, err) = s.run(&["init"], 1);
    assert!(
        err.contains("already exists") && err.contains("--force"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(s.registry()).unwrap(),
        "version: 1.0\n# mine\n"
    );
    s.run(&["init", "--force"], 0);
    assert_eq!(
        std::fs::read_to_string(s.profile.join("lumina.yaml.bak")).unwrap(),
        "version: 1.0\n# mine\n"
    );
}

const COMMENTED: &str = "# My workstation\nversion: 1.0 # schema\nmetadata:\n  identity: me\n\nmodules:\n  # compositor\n  shell:\n    source: ./config/hyprland\n    target: ~/.config/hypr\n\n  # terminal\n  kitty:\n    source: ./config/kitty # adopted later\n    target: ~/.config/kitty\n# end of modules\n";

#[test]
fn add_from_catalog_keeps_comments_and_links() {
    let s = Sandbox::new();
    s.write_registry(COMMENTED);
    s.source("config/hyprland/h.conf", "h");
    s.source("config/kitty/kitty.conf", "k");
    s.run(&["sync"], 0);
    s.source("config/waybar/config.jsonc", "{}");
    let (out, _) = s.run(&["add", "waybar", "--yes"], 0);
    assert!(out.contains("Added module 'waybar'"), "{out}");
    let text = std::fs::read_to_string(s.registry()).unwrap();
    assert!(
        text.starts_with("# My workstation\nversion: 1.0 # schema\n"),
        "{text}"
    );
    assert!(
        text.contains("# compositor\n  shell:")
            && text.contains("# adopted later")
            && text.ends_with("# end of modules\n"),
        "{text}"
    );
    assert!(
        text.find("kitty:").unwrap() < text.find("waybar:").unwrap(),
        "order kept, new module last"
    );
    assert_eq!(s.read(".config/waybar/config.jsonc"), "{}");
    // Already there: refused.
    let (_, err) = s.run(&["add", "waybar", "--yes"], 2);
    assert!(err.contains("already exists"), "{err}");
    // Custom module without --target: refused with the fix.
    let (_, err) = s.run(&["add", "mytool", "--yes"], 2);
    assert!(err.contains("--target"), "{err}");
    s.run(
        &["add", "mytool", "--target", "~/.config/mytool", "--yes"],
        0,
    );
    assert!(s.profile.join("config/mytool").is_dir());
    s.run(&["check", "--strict"], 0);
}

#[test]
fn add_adopt_moves_config_into_profile_verified() {
    let s = Sandbox::new();
    s.write_registry(COMMENTED);
    s.source("config/hyprland/h.conf", "h");
    s.source("config/kitty/kitty.conf", "k");
    s.home_file(".config/nvim/init.lua", "vim.opt.number = true\n");
    s.home_file(".config/nvim/lua/plugins.lua", "return {}\n");
    s.run(&["add", "nvim", "--adopt"], 0);
    assert_eq!(
        std::fs::read_to_string(s.profile.join("config/nvim/init.lua")).unwrap(),
        "vim.opt.number = true\n"
    );
    assert_eq!(
        std::fs::read_to_string(s.profile.join("config/nvim/lua/plugins.lua")).unwrap(),
        "return {}\n"
    );
    let l = std::fs::read_link(s.h(".config/nvim/init.lua")).unwrap();
    assert!(l.starts_with("../../.lumina/active"), "{l:?}");
    assert_eq!(s.read(".config/nvim/lua/plugins.lua"), "return {}\n");
    assert!(
        !s.h(".config/nvim/init.lua.bak").exists(),
        "adopted files are moved, not duplicated"
    );
    // Adopting into a source that holds a different version is refused;
    // nothing is touched.
    s.home_file(".zshrc", "z");
    s.source("config/zsh/zshrc", "other");
    let (_, err) = s.run(&["add", "zsh", "--adopt"], 2);
    assert!(
        err.contains("differ from what the profile already holds"),
        "{err}"
    );
    assert_eq!(s.read(".zshrc"), "z");
    // Without --adopt, an existing target with no source asks for --adopt.
    s.home_file(".tmux.conf", "t");
    let (_, err) = s.run(&["add", "tmux", "--yes"], 2);
    assert!(err.contains("--adopt"), "{err}");
    s.run(&["add", "tmux", "--adopt"], 0);
    assert_eq!(
        std::fs::read_to_string(s.profile.join("config/tmux/tmux.conf")).unwrap(),
        "t"
    );
    assert_eq!(s.read(".tmux.conf"), "t");
    assert!(std::fs::symlink_metadata(s.h(".tmux.conf"))
        .unwrap()
        .file_type()
        .is_symlink());
}

#[test]
fn remove_and_disable_restore_backups_and_keep_comments() {
    let s = Sandbox::new();
    s.write_registry(COMMENTED);
    s.source("config/hyprland/h.conf", "h");
    s.source("config/kitty/kitty.conf", "k");
    s.home_file(".config/kitty/kitty.conf", "my kitty");
    s.run(&["sync"], 0);
    assert_eq!(s.read(".config/kitty/kitty.conf.bak"), "my kitty");
    s.run(&["remove", "kitty", "--disable"], 0);
    assert_eq!(s.read(".config/kitty/kitty.conf"), "my kitty");
    let text = std::fs::read_to_string(s.registry()).unwrap();
    assert!(
        text.contains("  kitty:\n    enabled: false\n    source: ./config/kitty # adopted later\n"),
        "{text}"
    );
    // The other module was left alone.
    assert!(std::fs::symlink_metadata(s.h(".config/hypr/h.conf"))
        .unwrap()
        .file_type()
        .is_symlink());
    s.run(&["remove", "shell"], 0);
    let text = std::fs::read_to_string(s.registry()).unwrap();
    assert!(
        !text.contains("shell:") && !text.contains("# compositor"),
        "{text}"
    );
    assert!(
        text.contains("# terminal\n  kitty:") && text.starts_with("# My workstation\n"),
        "{text}"
    );
    assert!(
        !s.h(".config/hypr").exists(),
        "directory lumina created is removed when empty"
    );
    let (_, err) = s.run(&["remove", "nothere"], 2);
    assert!(err.contains("no module 'nothere'"), "{err}");
    s.run(&["check", "--strict"], 0);
}

#[test]
fn help_and_completions() {
    let s = Sandbox::new();
    let (out, _) = s.run(&["--help"], 0);
    assert!(
        out.contains("Exit codes") && out.contains("sync") && out.contains("undo"),
        "{out}"
    );
    let (out, _) = s.run(&["completions", "zsh"], 0);
    assert!(out.contains("#compdef lumina"), "{out}");
    s.run(&["sync", "--bogus"], 2);
}

#[test]
fn add_asks_on_a_terminal() {
    // `script` gives lumina a pseudo-terminal, so it prompts; the answers
    // come through it like typed input.
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("SKIP add_asks_on_a_terminal: `script` (util-linux) is not installed");
        return;
    }
    let s = Sandbox::new();
    s.write_registry("version: 1.0\nmodules: {}\n");
    let bin = assert_cmd::cargo::cargo_bin("lumina");
    let out = std::process::Command::new("script")
        .args([
            "-qec",
            &format!("{} add mytool", bin.display()),
            "/dev/null",
        ])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", &s.home)
        .env("LUMINA_REGISTRY", s.registry())
        .env("LUMINA_SYSFS_ROOT", &s.sysfs)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            let mut stdin = child.stdin.take().unwrap();
            // Target (no default for a custom module), then source (default).
            stdin.write_all(b"~/.config/mytool\n\n")?;
            drop(stdin);
            child.wait_with_output()
        })
        .unwrap();
    let screen = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{screen}");
    assert!(
        screen.contains("Target (where the config lives)"),
        "{screen}"
    );
    assert!(
        screen.contains("Source (inside the profile) [./config/mytool]"),
        "{screen}"
    );
    let text = std::fs::read_to_string(s.registry()).unwrap();
    assert!(
        text.contains("  mytool:\n    source: ./config/mytool\n    target: ~/.config/mytool\n"),
        "{text}"
    );
}

fn git(dir: &Path, args: &[&str]) {
    let ok = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=T",
            "-c",
            "user.email=t@example.org",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&ok.stderr)
    );
}

#[test]
fn init_from_git_url_reproduces_a_machine() {
    // A profile published as a git repository (a local one, by file:// URL).
    let origin = Sandbox::new();
    origin.write_registry(SEED_EXAMPLE);
    origin.source("config/hyprland/hyprland.conf", "from git\n");
    git(&origin.profile, &["init", "-q"]);
    git(&origin.profile, &["add", "-A"]);
    git(&origin.profile, &["commit", "-qm", "my profile"]);
    let url = format!("file://{}", origin.profile.display());

    let s = Sandbox::new();
    std::fs::remove_dir(&s.profile).unwrap();
    let (out, _) = s.run(&["init", "--from", &url], 0);
    assert!(
        out.contains("Cloned") && out.contains("Generation 1 active"),
        "{out}"
    );
    assert_eq!(s.read(".config/hypr/hyprland.conf"), "from git\n");
    s.run(&["status", "--check"], 0);
    // `lumina git` runs in the profile, output passed through.
    let (out, _) = s.run(&["git", "log", "--oneline"], 0);
    assert!(out.contains("my profile"), "{out}");
    let (_, _) = s.run(&["git", "status", "--short"], 0);
    // git's own exit code comes back.
    s.run(&["git", "rev-parse", "--verify", "no-such-ref"], 128);
    // Cloning over a non-empty profile is refused.
    let (_, err) = s.run(&["init", "--from", &url], 1);
    assert!(err.contains("not empty"), "{err}");
    // A bad URL fails cleanly, nothing linked.
    let t = Sandbox::new();
    std::fs::remove_dir(&t.profile).unwrap();
    let (_, err) = t.run(&["init", "--from", "file:///nonexistent/repo"], 1);
    assert!(err.contains("git clone") && err.contains("failed"), "{err}");
    assert!(!t.h(".lumina").exists());
}

#[test]
fn a_target_above_the_profile_is_fine_unless_a_file_lands_inside() {
    // Stow-style: one module for all of ~/.config, while the profile itself
    // lives in ~/.config/lumina.
    let s = Sandbox::new();
    let profile = s.h(".config/lumina");
    std::fs::create_dir_all(&profile).unwrap();
    let reg = profile.join("lumina.yaml");
    std::fs::write(
        &reg,
        "version: 1.0\nmodules:\n  dotconfig:\n    source: ./dotconfig\n    target: ~/.config\n",
    )
    .unwrap();
    write(&profile.join("dotconfig/kitty/kitty.conf"), "k");
    s.cmd()
        .env("LUMINA_REGISTRY", &reg)
        .arg("sync")
        .assert()
        .success();
    assert_eq!(s.read(".config/kitty/kitty.conf"), "k");
    // A file that would land inside the profile is refused, naming it.
    write(&profile.join("dotconfig/lumina/evil.yaml"), "x");
    let out = s
        .cmd()
        .env("LUMINA_REGISTRY", &reg)
        .arg("sync")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("would land inside") && err.contains("evil.yaml"),
        "{err}"
    );
}
