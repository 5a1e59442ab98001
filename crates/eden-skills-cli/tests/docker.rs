//! The Docker adapter against the real engine (docs/eden-skills/behaviour.md#targets): an
//! image imported from Debian's busybox-static, real containers, no volume.
//! Skips with a printed reason when no engine answers, unless
//! EDEN_SKILLS_REQUIRE_DOCKER=1.

mod common;
use std::process::Command;
use std::sync::OnceLock;

use common::*;

const IMAGE: &str = "eden-skills-test/busybox:1";

fn docker(args: &[&str]) -> std::process::Output {
    Command::new("docker")
        .args(args)
        .output()
        .expect("docker runs")
}

/// Builds the test image once per run; `false` = skip.
fn engine() -> bool {
    static READY: OnceLock<Result<(), String>> = OnceLock::new();
    let r = READY.get_or_init(|| {
        if !Command::new("docker")
            .arg("info")
            .output()
            .is_ok_and(|o| o.status.success())
        {
            return Err("no Docker engine answers `docker info`".into());
        }
        if docker(&["image", "inspect", IMAGE]).status.success() {
            return Ok(());
        }
        let busybox = ["/bin/busybox", "/usr/bin/busybox"]
            .into_iter()
            .find(|p| std::path::Path::new(p).is_file());
        let Some(busybox) = busybox else {
            return Err("busybox-static is not installed (scripts/bootstrap installs it)".into());
        };
        let bytes = std::fs::read(busybox).unwrap();
        let mut b = tar::Builder::new(Vec::new());
        let mut add = |path: &str,
                       kind: tar::EntryType,
                       mode: u32,
                       uid: u64,
                       data: &[u8],
                       link: Option<&str>| {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(kind);
            h.set_mode(mode);
            h.set_uid(uid);
            h.set_gid(uid);
            h.set_size(data.len() as u64);
            match link {
                Some(l) => b.append_link(&mut h, path, l).unwrap(),
                None => b.append_data(&mut h, path, data).unwrap(),
            }
        };
        use tar::EntryType::{Directory as D, Regular as F, Symlink as L};
        for d in ["bin", "etc", "root", "opt", "opt/skills", "home"] {
            add(d, D, 0o755, 0, &[], None);
        }
        add("tmp", D, 0o1777, 0, &[], None);
        add("home/agent", D, 0o755, 1000, &[], None);
        add("bin/busybox", F, 0o755, 0, &bytes, None);
        for a in [
            "sh", "id", "mkdir", "mv", "rm", "test", "cat", "ls", "find", "sleep", "stat", "chmod",
        ] {
            add(&format!("bin/{a}"), L, 0o777, 0, &[], Some("busybox"));
        }
        add(
            "etc/passwd",
            F,
            0o644,
            0,
            b"root:x:0:0:root:/root:/bin/sh\nagent:x:1000:1000:agent:/home/agent:/bin/sh\n",
            None,
        );
        add(
            "etc/group",
            F,
            0o644,
            0,
            b"root:x:0:\nagent:x:1000:\n",
            None,
        );
        let tar = b.into_inner().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("rootfs.tar");
        std::fs::write(&p, tar).unwrap();
        let o = docker(&["import", "-c", "ENV PATH=/bin", p.to_str().unwrap(), IMAGE]);
        if !o.status.success() {
            return Err(format!(
                "docker import failed: {}",
                String::from_utf8_lossy(&o.stderr)
            ));
        }
        Ok(())
    });
    match r {
        Ok(()) => true,
        Err(why) => {
            assert!(
                std::env::var("EDEN_SKILLS_REQUIRE_DOCKER").as_deref() != Ok("1"),
                "EDEN_SKILLS_REQUIRE_DOCKER=1 but {why}"
            );
            eprintln!("skipping: {why}");
            false
        }
    }
}

/// A running container, removed when dropped.
struct Container(String);

impl Container {
    fn start(user: Option<&str>) -> Container {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let name = format!(
            "eden-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        );
        let mut args = vec!["run", "-d", "--network", "none", "--name", &name];
        if let Some(u) = user {
            args.extend(["-u", u]);
        }
        args.extend([IMAGE, "sleep", "100000"]);
        let o = docker(&args);
        assert!(
            o.status.success(),
            "docker run: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        Container(name)
    }
    fn sh(&self, script: &str) -> (bool, String) {
        let o = docker(&["exec", &self.0, "sh", "-c", script]);
        (
            o.status.success(),
            String::from_utf8_lossy(&o.stdout).trim().to_string(),
        )
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = docker(&["rm", "-f", &self.0]);
    }
}

fn docker_entry(id: &str, repo: &str, container: &str, extra: &str) -> String {
    format!("\n[[skills]]\nid = \"{id}\"\nsource = {{ repo = \"{repo}\" }}\n{extra}target = \"docker:{container}\"\n")
}

#[test]
fn inject_update_and_remove_in_a_running_container_without_volume() {
    if !engine() {
        return;
    }
    let c = Container::start(Some("1000:1000"));
    let sb = Sandbox::new();
    let url = sb.repo(
        "dk",
        &[
            ("SKILL.md", "---\nname: dk\n---\nv1\n"),
            ("bin/run", "#!/bin/sh\n"),
            ("LICENSE", "MIT License\n"),
        ],
    );
    sb.write_config(&docker_entry("dk", &url, &c.0, ""));
    let o = sb.run(&["apply", "--json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!(
            "warning: symlink mode is not available in docker:{}; copying",
            c.0
        )),
        "{}",
        stderr(&o)
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["summary"]["created"], 1);
    assert_eq!(
        v["skills"][0]["targets"][0]["path"], "/home/agent/.claude/skills/dk",
        "~ is the container user's home"
    );
    assert_eq!(
        c.sh("cat /home/agent/.claude/skills/dk/SKILL.md").1,
        "---\nname: dk\n---\nv1"
    );
    assert_eq!(
        c.sh("stat -c %u:%g /home/agent/.claude/skills/dk/SKILL.md")
            .1,
        "1000:1000",
        "owned by the container user"
    );
    assert_eq!(
        c.sh("stat -c %a /home/agent/.claude/skills/dk/bin/run").1,
        "644"
    );
    assert_eq!(
        c.sh("ls -a /home/agent/.claude/skills").1,
        ".\n..\ndk",
        "no staging left"
    );
    let e = sb.lock_skill(0);
    assert_eq!(
        e["targets"][0]["environment"].as_str(),
        Some(format!("docker:{}", c.0).as_str())
    );
    // Warm: the lock says it is there.
    let (_, plan, _) = sb.json(&["plan", "--json"]);
    assert_eq!(plan[0]["action"], "noop");
    assert_eq!(plan[0]["reasons"][0], "target content matches lock");
    let (_, d, _) = sb.json(&["doctor", "--json"]);
    let codes: Vec<&str> = d["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, vec!["DOCKER_NO_BIND_MOUNT"], "{d}");
    // Update in place.
    sb.commit("dk", &[("SKILL.md", "---\nname: dk\n---\nv2\n")]);
    let text = std::fs::read_to_string(&sb.config).unwrap();
    std::fs::write(
        &sb.config,
        text.replace(
            &format!("repo = \"{url}\""),
            &format!("repo = \"{url}\", ref = \"HEAD\""),
        ),
    )
    .unwrap();
    let (rc, v, err) = sb.json(&["apply", "--json"]);
    assert_eq!(rc, 0, "{err}");
    assert_eq!(v["summary"]["updated"], 1);
    assert!(c
        .sh("cat /home/agent/.claude/skills/dk/SKILL.md")
        .1
        .ends_with("v2"));
    assert_eq!(c.sh("ls -a /home/agent/.claude/skills").1, ".\n..\ndk");
    // Removed from the config: uninstalled from the container.
    let (rc, v, _) = sb.json(&["remove", "dk", "--json"]);
    assert_eq!(rc, 0);
    assert_eq!(v["removed"][0], "dk");
    assert!(!c.sh("test -e /home/agent/.claude/skills/dk").0);
}

#[test]
fn permission_denied_names_container_path_and_user() {
    if !engine() {
        return;
    }
    let c = Container::start(Some("1000:1000"));
    let sb = Sandbox::new();
    let url = sb.skill_repo("perm");
    sb.write_config(&format!(
        "\n[[skills]]\nid = \"perm\"\nsource = {{ repo = \"{url}\" }}\n[[skills.targets]]\nagent = \"custom\"\npath = \"/opt/skills\"\nenvironment = \"docker:{}\"\n",
        c.0
    ));
    let o = sb.run(&["apply"]);
    assert_eq!(code(&o), 1);
    let err = stderr(&o);
    assert!(
        err.contains(&format!("'perm' inject failed (permanent): cannot write '/opt/skills/perm' in container '{}' as user 'agent' (uid 1000): permission denied", c.0)),
        "{err}"
    );
    assert!(err.contains("~> make /opt/skills writable by that user, or point this target's path at a directory it can write"), "{err}");
    assert_eq!(
        c.sh("ls -a /opt/skills").1,
        ".\n..",
        "nothing written, nothing left"
    );
}

#[test]
fn a_failed_swap_rolls_back_to_the_previous_version() {
    if !engine() {
        return;
    }
    let c = Container::start(None);
    let mut sb = Sandbox::new();
    let url = sb.repo("rb", &[("SKILL.md", "old\n")]);
    sb.env.push((
        "EDEN_SKILLS_DOCKER_BIN".into(),
        format!(
            "{}/tests/fixtures/docker-wrapper",
            env!("CARGO_MANIFEST_DIR")
        ),
    ));
    sb.write_config(&docker_entry(
        "rb",
        &url,
        &c.0,
        "install = { mode = \"copy\" }\n",
    ));
    assert_eq!(code(&sb.run(&["apply"])), 0);
    assert_eq!(c.sh("cat /root/.claude/skills/rb/SKILL.md").1, "old");
    let before = sb.lock_skill(0);
    sb.commit("rb", &[("SKILL.md", "new\n")]);
    let text = std::fs::read_to_string(&sb.config).unwrap();
    std::fs::write(
        &sb.config,
        text.replace(
            &format!("repo = \"{url}\""),
            &format!("repo = \"{url}\", ref = \"HEAD\""),
        ),
    )
    .unwrap();
    sb.env.push(("EDEN_TEST_BREAK_SWAP".into(), "1".into()));
    let (rc, v, _) = sb.json(&["apply", "--json"]);
    assert_eq!(rc, 1);
    assert_eq!(v["failures"][0]["phase"], "inject");
    assert_eq!(
        c.sh("cat /root/.claude/skills/rb/SKILL.md").1,
        "old",
        "the previous version stays"
    );
    assert_eq!(
        c.sh("ls -a /root/.claude/skills").1,
        ".\n..\nrb",
        "no staging or old copy left"
    );
    let mut after = sb.lock_skill(0);
    after.as_table_mut().unwrap().remove("source_ref");
    let mut b = before.clone();
    b.as_table_mut().unwrap().remove("source_ref");
    assert_eq!(after, b, "the lock entry is unchanged");
}

#[test]
fn missing_or_stopped_container_fails_fast_while_local_skills_install() {
    if !engine() {
        return;
    }
    let stopped = Container::start(None);
    assert!(docker(&["stop", "-t", "0", &stopped.0]).status.success());
    let sb = Sandbox::new();
    let url = sb.skill_repo("mix");
    sb.write_config(&format!(
        "{}{}{}",
        Sandbox::entry("local-one", &url),
        docker_entry("ghost", &url, "eden-no-such-container", ""),
        docker_entry("asleep", &url, &stopped.0, ""),
    ));
    let (rc, v, err) = sb.json(&["apply", "--json"]);
    assert_eq!(rc, 1, "{err}");
    assert!(sb.claude("local-one").join("SKILL.md").is_file());
    let f = v["failures"].as_array().unwrap();
    assert_eq!(f[0]["skill_id"], "ghost");
    assert_eq!(f[0]["phase"], "inject");
    assert_eq!(
        f[0]["message"],
        "container 'eden-no-such-container' not found"
    );
    assert_eq!(
        f[1]["message"],
        format!("container '{}' is not running", stopped.0)
    );
    assert_eq!(f[1]["hint"], format!("docker start {}", stopped.0));
    let o = sb.run(&["apply"]);
    assert!(
        stderr(&o).contains(&format!("~> docker start {}", stopped.0)),
        "{}",
        stderr(&o)
    );
    let (_, d, _) = sb.json(&["doctor", "--json"]);
    let codes: Vec<(&str, &str)> = d["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["code"].as_str().unwrap(), f["skill_id"].as_str().unwrap()))
        .collect();
    assert!(
        codes.contains(&("ADAPTER_HEALTH_FAIL", "ghost")),
        "{codes:?}"
    );
    assert!(
        codes.contains(&("ADAPTER_HEALTH_FAIL", "asleep")),
        "{codes:?}"
    );
    let o = sb
        .cmd()
        .env("EDEN_SKILLS_DOCKER_BIN", "/nonexistent/docker")
        .args(["doctor", "--json"])
        .output()
        .unwrap();
    let d: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(
        d["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["code"] == "DOCKER_NOT_FOUND"),
        "{d}"
    );
    let o = sb
        .cmd()
        .env("EDEN_SKILLS_DOCKER_BIN", "/nonexistent/docker")
        .arg("apply")
        .output()
        .unwrap();
    assert!(
        stderr(&o).contains("Docker CLI not found; install Docker or set EDEN_SKILLS_DOCKER_BIN")
    );
}

#[test]
fn mount_hint_suggests_bind_mounts() {
    if !engine() {
        return;
    }
    let c = Container::start(Some("1000:1000"));
    let sb = Sandbox::new();
    sb.write_config(&docker_entry("h", "https://example.org/h.git", &c.0, ""));
    let o = sb.run(&["docker", "mount-hint", &c.0]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stdout(&o).contains(&format!(
            "-v {}:/home/agent/.claude/skills",
            sb.home.join(".claude/skills").display()
        )),
        "{}",
        stdout(&o)
    );
}
