//! Missions against the real Docker engine. No registry can be reached, so
//! the test builds its own image with `docker import` from a tar holding
//! Debian's static busybox. Without an engine the tests skip with a reason,
//! unless LUMINA_REQUIRE_DOCKER=1 (set by .ci/run when `docker info` works).

mod common;

use std::process::Command;

use common::Sandbox;

const IMAGE: &str = "lumina-test/busybox:1";

/// Whether Docker tests can run here; panics when they must and cannot.
fn docker_ready() -> bool {
    let required = std::env::var("LUMINA_REQUIRE_DOCKER").as_deref() == Ok("1");
    let engine = Command::new("docker")
        .args(["info", "--format", "{{.ServerVersion}}"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !engine {
        assert!(
            !required,
            "LUMINA_REQUIRE_DOCKER=1 but no Docker engine answers `docker info`"
        );
        eprintln!("skipping: no Docker engine answers `docker info`");
        return false;
    }
    let busybox = ["/bin/busybox", "/usr/bin/busybox"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists());
    let Some(busybox) = busybox else {
        assert!(
            !required,
            "LUMINA_REQUIRE_DOCKER=1 but busybox-static is missing (scripts/bootstrap installs it)"
        );
        eprintln!("skipping: busybox-static is not installed (scripts/bootstrap installs it)");
        return false;
    };
    // The image: busybox and the applet links a mission's shell needs.
    let have = Command::new("docker")
        .args(["image", "inspect", IMAGE])
        .output()
        .is_ok_and(|o| o.status.success());
    if !have {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("root");
        std::fs::create_dir_all(root.join("bin")).unwrap();
        std::fs::create_dir_all(root.join("tmp")).unwrap();
        std::fs::copy(busybox, root.join("bin/busybox")).unwrap();
        for applet in ["sh", "cat", "echo", "pwd", "sleep", "env", "ls"] {
            std::os::unix::fs::symlink("busybox", root.join("bin").join(applet)).unwrap();
        }
        let tar = t.path().join("rootfs.tar");
        let ok = Command::new("tar")
            .arg("-C")
            .arg(&root)
            .arg("-cf")
            .arg(&tar)
            .arg(".")
            .status()
            .unwrap()
            .success();
        assert!(ok, "tar failed");
        let out = Command::new("docker")
            .args(["import", "--change", "CMD [\"/bin/sh\"]"])
            .arg(&tar)
            .arg(IMAGE)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "docker import: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    true
}

/// Removes the test's containers whatever happens.
struct Cleanup(Vec<String>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        for c in &self.0 {
            let _ = Command::new("docker").args(["rm", "-f", c]).output();
        }
    }
}

fn container_running(name: &str) -> Option<bool> {
    let out = Command::new("docker")
        .args(["inspect", "-f", "{{.State.Running}}", name])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim() == "true")
}

#[test]
fn mission_start_shell_stop_and_flow() {
    if !docker_ready() {
        return;
    }
    let sb = Sandbox::new();
    // Unique per run, so parallel CI jobs on one engine never collide.
    let name = format!("t{}", std::process::id());
    let container = format!("lumina-mission-{name}");
    let _cleanup = Cleanup(vec![
        container.clone(),
        format!("lumina-mission-broken{name}"),
    ]);
    let project = sb.home.join("Projects/nebula");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(project.join("Cargo.toml"), "[package]\n").unwrap();
    std::fs::write(project.join("marker.txt"), "from the host\n").unwrap();
    sb.write_registry(&format!(
        "version: 1.0\nmodules:\n  orchestration:\n    missions:\n      {name}:\n        path: \"~/Projects/nebula\"\n        image: \"{IMAGE}\"\n        env:\n          - KEY=VAL\n      broken{name}:\n        path: \"~/Projects/nebula\"\n        image: \"lumina-test/absent:0\"\nflows:\n  rust: {{markers: [Cargo.toml], mission: {name}}}\n"
    ));

    let v = sb.json(&["mission", "list"], 0);
    assert_eq!(v[0]["name"], name.as_str());
    assert_eq!(v[0]["state"], "absent");

    let (so, _) = sb.run(&["mission", "start", &name], 0);
    assert!(so.contains("started"), "{so}");
    assert_eq!(container_running(&container), Some(true));
    let (so, _) = sb.run(&["mission", "start", &name], 0);
    assert!(so.contains("already running"), "{so}");
    let v = sb.json(&["mission", "list"], 0);
    assert_eq!(v[0]["state"], "running");

    // The project is mounted at the same path, the shell works there, env applies.
    let (so, _) = sb.run(&["mission", "shell", &name, "--", "cat", "marker.txt"], 0);
    assert_eq!(so, "from the host\n");
    let (so, _) = sb.run(&["mission", "shell", &name, "--", "pwd"], 0);
    assert_eq!(so.trim(), project.to_str().unwrap());
    let (so, _) = sb.run(
        &["mission", "shell", &name, "--", "sh", "-c", "echo $KEY"],
        0,
    );
    assert_eq!(so, "VAL\n");
    // The command's exit code is lumina's.
    sb.run(&["mission", "shell", &name, "--", "sh", "-c", "exit 7"], 7);

    let (so, _) = sb.run(&["mission", "stop", &name], 0);
    assert!(so.contains("stopped"), "{so}");
    assert_eq!(
        container_running(&container),
        None,
        "the container is removed"
    );
    let (so, _) = sb.run(&["mission", "stop", &name], 0);
    assert!(so.contains("was not running"), "{so}");
    let (_, se) = sb.run(&["mission", "shell", &name], 2);
    assert!(se.contains("lumina mission start"), "{se}");

    // flow starts the context's mission.
    let run = sb.dir.path().join("run");
    let out = sb
        .cmd()
        .env("XDG_RUNTIME_DIR", &run)
        .args(["--json", "flow", "--dir"])
        .arg(&project)
        .output()
        .unwrap();
    assert!(out.status.success());
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["context"], "rust");
    assert_eq!(r["mission"], name.as_str());
    assert_eq!(container_running(&container), Some(true), "{r}");

    // An image that is not here: a clear error, no container left behind.
    let (_, se) = sb.run(&["mission", "start", &format!("broken{name}")], 1);
    assert!(se.contains("docker import"), "{se}");
    assert_eq!(
        container_running(&format!("lumina-mission-broken{name}")),
        None
    );
    // Unknown mission names list the declared ones.
    let (_, se) = sb.run(&["mission", "start", "nope"], 2);
    assert!(se.contains("declared:"), "{se}");
}
