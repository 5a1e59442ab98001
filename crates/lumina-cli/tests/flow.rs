//! Contextual Flow through the real binary.
//!
//! Hyprland and Waybar cannot run on the test machine, so two stand-ins
//! take their place: `lumina_fakes::FakeHyprland` listens on the real socket
//! path and speaks Hyprland's request protocol (batches, `j/version`,
//! `status`, hyprlang and Lua flavours), recording every request; and a
//! small script named `waybar` (so its process name is Waybar's) records
//! every real-time signal it receives. The shells are real: bash, zsh and
//! fish run the hook.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::Sandbox;
use lumina_fakes::{FakeHyprland, Flavour};

const REGISTRY: &str = r#"version: 1.0
modules: {}
flows:
  rust:
    markers: [Cargo.toml]
    layout: master
    workspace: 2
    waybar: {show: [custom/rust], hide: [custom/media]}
  web:
    markers: [package.json]
    layout: dwindle
    workspace: 3
    waybar: {show: [custom/node]}
  default:
    layout: dwindle
    workspace: 1
"#;

struct World {
    sb: Sandbox,
    run: PathBuf,
    state: PathBuf,
}

impl World {
    fn new() -> World {
        let sb = Sandbox::new();
        sb.write_registry(REGISTRY);
        let run = sb.dir.path().join("run");
        let state = sb.dir.path().join("state");
        std::fs::create_dir_all(&run).unwrap();
        for d in ["code/rusty/src", "code/site/assets", "docs"] {
            std::fs::create_dir_all(sb.home.join(d)).unwrap();
        }
        std::fs::write(sb.home.join("code/rusty/Cargo.toml"), "[package]\n").unwrap();
        std::fs::write(sb.home.join("code/site/package.json"), "{}\n").unwrap();
        World { sb, run, state }
    }

    fn hyprland(&self, flavour: Flavour) -> FakeHyprland {
        FakeHyprland::start(&self.run.join("hypr/sig0/.socket.sock"), flavour).unwrap()
    }

    fn cmd(&self) -> assert_cmd::Command {
        let mut c = self.sb.cmd();
        c.env("XDG_RUNTIME_DIR", &self.run)
            .env("XDG_STATE_HOME", &self.state)
            .env("HYPRLAND_INSTANCE_SIGNATURE", "sig0");
        c
    }

    /// `lumina --json flow --dir <HOME/rel>`; asserts exit 0 and parses.
    fn flow(&self, rel: &str) -> serde_json::Value {
        let out = self
            .cmd()
            .args(["--json", "flow", "--dir"])
            .arg(self.sb.home.join(rel))
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
    }

    fn flow_log(&self) -> String {
        std::fs::read_to_string(self.state.join("lumina/flow.log")).unwrap_or_default()
    }
}

/// A process named `waybar` that records the real-time signals it gets.
struct StandInWaybar {
    child: Child,
    log: PathBuf,
}

impl StandInWaybar {
    fn start(w: &World) -> StandInWaybar {
        let dir = w.sb.dir.path().join("waybar-bin");
        std::fs::create_dir_all(&dir).unwrap();
        let exe = dir.join("waybar");
        std::fs::write(
            &exe,
            "#!/bin/bash\n# Stands in for Waybar: records each SIGRTMIN+N as RTMIN+N.\nlog=$1\nfor n in $(seq 1 24); do trap \"echo RTMIN+$n >> '$log'\" RTMIN+$n; done\necho ready >> \"$log\"\nwhile :; do sleep 0.2; done\n",
        )
        .unwrap();
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
        let log = w.sb.dir.path().join("waybar.log");
        let child = std::process::Command::new(&exe)
            .arg(&log)
            .env("XDG_RUNTIME_DIR", &w.run)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let s = StandInWaybar { child, log };
        s.wait_for(&["ready"]);
        s
    }

    fn lines(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter(|l| *l != "ready")
            .map(str::to_string)
            .collect()
    }

    /// Waits until the log holds `want` (signals are asynchronous), then
    /// returns what it holds, sorted.
    fn wait_for(&self, want: &[&str]) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let text = std::fs::read_to_string(&self.log).unwrap_or_default();
            if want.iter().all(|w| text.lines().any(|l| l == *w)) || Instant::now() > deadline {
                let mut l = self.lines();
                l.sort();
                return l;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn clear(&self) {
        std::fs::write(&self.log, "").unwrap();
    }
}

impl Drop for StandInWaybar {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn hyprlang_one_batch_per_context_change_none_when_unchanged() {
    let w = World::new();
    let hypr = w.hyprland(Flavour::Hyprlang);
    let waybar = StandInWaybar::start(&w);

    let r = w.flow("code/rusty/src");
    assert_eq!(r["context"], "rust");
    assert_eq!(r["changed"], true);
    assert_eq!(
        hypr.requests(),
        [
            "j/version",
            "[[BATCH]]keyword general:layout master;dispatch workspace 2"
        ]
    );
    assert_eq!(r["hyprland_replies"], serde_json::json!(["ok", "ok"]));
    // media (1) hidden and rust (3) shown; node (2) stays hidden: no signal.
    assert_eq!(
        waybar.wait_for(&["RTMIN+1", "RTMIN+3"]),
        ["RTMIN+1", "RTMIN+3"]
    );

    // The same directory: answered from the state file, nothing sent.
    let r = w.flow("code/rusty/src");
    assert_eq!(
        (r["changed"].clone(), r["cached"].clone()),
        (false.into(), true.into())
    );
    // Another directory of the same project: same context, nothing sent.
    let r = w.flow("code/rusty");
    assert_eq!(r["changed"], false);
    assert_eq!(hypr.requests().len(), 2, "{:?}", hypr.requests());

    // A new context: exactly one more request, the batch (version is kept).
    waybar.clear();
    let r = w.flow("code/site/assets");
    assert_eq!(r["context"], "web");
    assert_eq!(
        hypr.requests()[2..],
        ["[[BATCH]]keyword general:layout dwindle;dispatch workspace 3"]
    );
    assert_eq!(
        waybar.wait_for(&["RTMIN+1", "RTMIN+2", "RTMIN+3"]),
        ["RTMIN+1", "RTMIN+2", "RTMIN+3"]
    );

    // Outside any project: the default context; only node (2) changes.
    waybar.clear();
    let r = w.flow("docs");
    assert_eq!(r["context"], "default");
    assert_eq!(hypr.batches().len(), 3);
    assert_eq!(
        hypr.batches()[2],
        "[[BATCH]]keyword general:layout dwindle;dispatch workspace 1"
    );
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(waybar.wait_for(&["RTMIN+2"]), ["RTMIN+2"]);

    // What the Waybar modules print now.
    let (so, _) = run_env(&w, &["waybar-module", "custom/node"]);
    let v: serde_json::Value = serde_json::from_str(&so).unwrap();
    assert_eq!(v["text"], "");
    let (so, _) = run_env(&w, &["waybar-module", "media"]);
    let v: serde_json::Value = serde_json::from_str(&so).unwrap();
    assert_eq!(v["text"], "media");
    assert_eq!(v["alt"], "default");

    // The .git marker works out of the box.
    std::fs::create_dir_all(w.sb.home.join("notes/.git")).unwrap();
    std::fs::create_dir_all(w.sb.home.join("notes/2026")).unwrap();
    assert_eq!(w.flow("notes/2026")["context"], "git");
    assert!(w.flow_log().contains("context git for"), "{}", w.flow_log());
}

#[test]
fn lua_hyprland_gets_eval() {
    let w = World::new();
    let hypr = w.hyprland(Flavour::Lua);
    let r = w.flow("code/rusty");
    assert_eq!(r["context"], "rust");
    assert_eq!(
        hypr.requests(),
        [
            "j/version",
            "status",
            "[[BATCH]]eval hl.config({ general = { layout = \"master\" } });eval hl.dispatch(hl.dsp.focus({ workspace = 2 }))"
        ]
    );
    assert_eq!(r["hyprland_replies"], serde_json::json!(["ok", "ok"]));
    assert_eq!(r["problems"], serde_json::json!([]));
    w.flow("docs");
    assert_eq!(hypr.requests().len(), 4, "version and status asked once");
}

#[test]
fn flow_never_fails_the_shell() {
    let w = World::new();
    // No Hyprland listening at the socket: exit 0, logged.
    let r = w.flow("code/rusty");
    assert_eq!(r["context"], "rust");
    assert!(r["problems"][0]
        .as_str()
        .unwrap()
        .contains("cannot reach Hyprland"));
    assert!(
        w.flow_log().contains("cannot reach Hyprland"),
        "{}",
        w.flow_log()
    );
    // A broken registry: exit 0, logged with the file and line.
    w.sb.write_registry("version: 1.0\nflows:\n  rust: {markers: Cargo.toml, workspace: [1]}\n");
    let out = w
        .cmd()
        .args(["flow", "--dir"])
        .arg(w.sb.home.join("docs"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        w.flow_log().contains("flows.rust.workspace"),
        "{}",
        w.flow_log()
    );
    // A Hyprland that accepts the connection but never answers: the 250 ms
    // timeout ends the wait.
    let sock = w.run.join("hypr/sig0/.socket.sock");
    std::fs::create_dir_all(sock.parent().unwrap()).unwrap();
    let _ = std::fs::remove_file(&sock);
    let _silent = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    w.sb.write_registry(REGISTRY);
    let r = w.flow("code/site");
    assert!(
        r["problems"][0]
            .as_str()
            .unwrap()
            .contains("did not answer"),
        "{r}"
    );
}

fn run_env(w: &World, args: &[&str]) -> (String, String) {
    let out = w.cmd().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A wrapper named `lumina` that logs each call and runs the real binary
/// with its own path as argv[0], so the hook it prints calls the wrapper.
fn wrapper(w: &World) -> (PathBuf, PathBuf) {
    let bin = w.sb.dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let log = w.sb.dir.path().join("calls.log");
    let real = assert_cmd::cargo::cargo_bin("lumina");
    let exe = bin.join("lumina");
    std::fs::write(
        &exe,
        format!(
            "#!/bin/bash\necho \"$*\" >> '{}'\nexec -a \"$0\" '{}' \"$@\"\n",
            log.display(),
            real.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
    (exe, log)
}

fn have(shell: &str) -> bool {
    std::process::Command::new(shell)
        .arg("-c")
        .arg("exit 0")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn flow_calls(log: &Path, want: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let calls: Vec<String> = std::fs::read_to_string(log)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.starts_with("flow "))
            .map(str::to_string)
            .collect();
        if calls.len() >= want || Instant::now() > deadline {
            // Let any stray extra call arrive before the caller checks.
            std::thread::sleep(Duration::from_millis(300));
            return std::fs::read_to_string(log)
                .unwrap_or_default()
                .lines()
                .filter(|l| l.starts_with("flow "))
                .map(str::to_string)
                .collect();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn hooks_run_flow_only_when_the_directory_changes() {
    let w = World::new();
    let hypr = w.hyprland(Flavour::Hyprlang);
    let (exe, log) = wrapper(&w);
    let rusty = w.sb.home.join("code/rusty");
    let site = w.sb.home.join("code/site");
    let scripts = [
        (
            "bash",
            vec!["--norc", "--noprofile", "-i"],
            format!(
                "eval \"$('{}' hook bash)\"\ntrue\ncd '{}'\ntrue\nsleep 0.3\ncd '{}'\ntrue\n",
                exe.display(),
                rusty.display(),
                site.display()
            ),
        ),
        (
            "zsh",
            vec!["-f"],
            format!(
                "eval \"$('{}' hook zsh)\"\ntrue\ncd '{}'\ntrue\nsleep 0.3\ncd '{}'\ntrue\n",
                exe.display(),
                rusty.display(),
                site.display()
            ),
        ),
        (
            "fish",
            vec!["--no-config"],
            format!(
                "'{}' hook fish | source\ntrue\ncd '{}'\ntrue\nsleep 0.3\ncd '{}'\ntrue\n",
                exe.display(),
                rusty.display(),
                site.display()
            ),
        ),
    ];
    for (shell, args, script) in scripts {
        if !have(shell) {
            eprintln!("skipping the {shell} hook: {shell} is not installed (scripts/bootstrap installs it)");
            assert!(
                std::env::var_os("CI").is_none(),
                "{shell} must be present in CI"
            );
            continue;
        }
        std::fs::write(&log, "").unwrap();
        let _ = std::fs::remove_file(w.run.join("lumina/flow.json"));
        let before = hypr.batches().len();
        let out = std::process::Command::new(shell)
            .args(&args)
            .current_dir(w.sb.home.join("docs"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap())
            .env("HOME", &w.sb.home)
            .env("LUMINA_REGISTRY", w.sb.registry())
            .env("XDG_RUNTIME_DIR", &w.run)
            .env("XDG_STATE_HOME", &w.state)
            .env("HYPRLAND_INSTANCE_SIGNATURE", "sig0")
            .env("TERM", "dumb")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                use std::io::Write;
                c.stdin.take().unwrap().write_all(script.as_bytes())?;
                c.wait_with_output()
            })
            .unwrap();
        assert!(
            out.status.success(),
            "{shell}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // Detached: the two flows may start in either order.
        let mut calls = flow_calls(&log, 2);
        calls.sort();
        assert_eq!(
            calls,
            [
                format!("flow --dir {}", rusty.display()),
                format!("flow --dir {}", site.display())
            ],
            "{shell}: one flow per directory change, none at start-up or at an unchanged prompt"
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        while hypr.batches().len() < before + 2 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(
            hypr.batches().len(),
            before + 2,
            "{shell}: {:?}",
            hypr.requests()
        );
    }
}

#[test]
fn add_waybar_writes_the_flow_modules() {
    let w = World::new();
    w.sb.source(
        "config/waybar/config.jsonc",
        "// my bar\n{\n  \"layer\": \"top\",\n  \"modules-right\": [\"clock\"]\n}\n",
    );
    let (so, _) = run_env(&w, &["add", "waybar", "--yes"]);
    assert!(
        so.contains("Added to the Waybar config for flows: custom/media, custom/node, custom/rust"),
        "{so}"
    );
    let text = w.sb.read(".config/waybar/config.jsonc");
    let json: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let v: serde_json::Value =
        serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {text}"));
    assert_eq!(
        v["modules-right"],
        serde_json::json!(["custom/media", "custom/node", "custom/rust", "clock"])
    );
    assert_eq!(v["custom/rust"]["exec"], "lumina waybar-module rust");
    assert_eq!(v["custom/rust"]["signal"], 3);
    assert_eq!(v["custom/rust"]["return-type"], "json");
    // Again: nothing to add, the config is left alone.
    let (so, _) = run_env(&w, &["add", "waybar", "--yes"]);
    assert!(!so.contains("Added to the Waybar config"), "{so}");
    assert_eq!(w.sb.read(".config/waybar/config.jsonc"), text);
}
