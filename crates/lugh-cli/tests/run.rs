//! `lugh run` and `lugh ctl` through the real binary: status, a live swap
//! and a kill over the control socket, and the final counters.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn lugh() -> Command {
    Command::new(assert_cmd::cargo::cargo_bin("lugh"))
}

fn ctl(sock: &std::path::Path, args: &[&str]) -> serde_json::Value {
    let out = lugh()
        .arg("ctl")
        .arg("--socket")
        .arg(sock)
        .args(args)
        .arg("--json")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ctl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Starts `lugh run --for 4s --rate 2000 --json` (plus `extra`) on a
/// private control socket and waits until it answers.
fn start_run(extra: &[&str]) -> (std::process::Child, tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("ctl.sock");
    let child = lugh()
        .args(["run", "--for", "4s", "--rate", "2000", "--json", "--socket"])
        .arg(&sock)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let t = Instant::now();
    while !sock.exists() {
        assert!(t.elapsed() < Duration::from_secs(10), "no control socket");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(500));
    (child, dir, sock)
}

/// Waits for a `lugh run --json` to end successfully: its stdout and its
/// final status (the last line).
fn finish(child: std::process::Child) -> (String, serde_json::Value) {
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let last = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    (stdout, last)
}

/// `lugh kv scan PREFIX --json` on a data directory.
fn kv_scan(data: &std::path::Path, prefix: &str) -> serde_json::Value {
    let o = lugh()
        .args(["kv", "scan", prefix, "--json", "--data"])
        .arg(data)
        .output()
        .unwrap();
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn run_swap_kill_and_count_everything() {
    let data = tempfile::tempdir().unwrap();
    let (child, _dir, sock) = start_run(&["--data", data.path().to_str().unwrap()]);
    let s = ctl(&sock, &["status"]);
    assert_eq!(s["scheduler"], "rr");
    assert_eq!(s["services"][0]["name"], "scheduler");
    assert_eq!(s["services"][0]["generation"], 1);
    assert_eq!(s["services"][0]["restarts"], 0);
    assert_eq!(s["messages_rejected"], 0);
    let r = ctl(&sock, &["swap", "priority"]);
    assert_eq!(r["swap"]["committed"], true);
    let k = ctl(&sock, &["kill", "scheduler"]);
    assert_eq!(k["ok"], true);
    std::thread::sleep(Duration::from_millis(500));
    let s = ctl(&sock, &["status"]);
    assert_eq!(s["scheduler"], "priority");
    assert_eq!(s["services"][0]["restarts"], 1);
    assert_eq!(s["services"][0]["generation"], 3);
    // Unknown service: a clear refusal.
    let out = lugh()
        .arg("ctl")
        .arg("--socket")
        .arg(&sock)
        .args(["kill", "nothing"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown service"));
    let (stdout, last) = finish(child);
    assert!(last["sent"].as_u64().unwrap() > 1000, "{last}");
    assert_eq!(last["processed"], last["sent"], "nothing lost: {last}");
    assert_eq!(last["outstanding"], 0);
    assert_eq!(last["swaps"], 1);
    assert!(
        stdout.lines().count() >= 4,
        "a status line per second: {stdout}"
    );
    assert!(!sock.exists(), "the control socket is removed");
    // The critical operations were committed to storage as they happened.
    let ops = kv_scan(data.path(), "oplog/").to_string();
    for what in [
        "swap-begin rr -> priority",
        "swap-commit",
        "crash of generation 2",
        "restarted as generation 3",
    ] {
        assert!(ops.contains(what), "{what} not logged: {ops}");
    }
}

#[test]
fn ctl_without_a_running_system_explains_itself() {
    let dir = tempfile::tempdir().unwrap();
    let out = lugh()
        .args(["ctl", "status", "--socket"])
        .arg(dir.path().join("none.sock"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("is `lugh run` running?"));
}

#[test]
fn process_isolation_survives_a_real_kill_and_a_swap() {
    let (child, _dir, sock) = start_run(&["--isolation", "process"]);
    let s = ctl(&sock, &["status"]);
    let pid = s["services"][0]["pid"]
        .as_u64()
        .expect("the service is its own process");
    assert_ne!(pid, u64::from(child.id()));
    let k = ctl(&sock, &["kill", "scheduler"]);
    assert_eq!(k["pid"], pid);
    std::thread::sleep(Duration::from_millis(500));
    let s = ctl(&sock, &["status"]);
    assert_eq!(s["services"][0]["restarts"], 1, "{s}");
    let new_pid = s["services"][0]["pid"].as_u64().unwrap();
    assert_ne!(new_pid, pid, "a new process");
    let r = ctl(&sock, &["swap", "priority"]);
    assert_eq!(r["swap"]["committed"], true, "{r}");
    let (_, last) = finish(child);
    assert!(last["sent"].as_u64().unwrap() > 1000, "{last}");
    assert_eq!(
        last["outstanding"], 0,
        "nothing lost across a SIGKILL and a swap: {last}"
    );
    assert_eq!(last["scheduler"], "priority");
}

#[test]
fn a_memory_quota_too_small_refuses_tasks_not_the_service() {
    // memory_quota below one 2 KiB chunk: every request for the task table
    // is refused; the scheduler refuses its tasks and keeps running.
    let cfg_dir = tempfile::tempdir().unwrap();
    let cfg = cfg_dir.path().join("lugh.toml");
    std::fs::write(&cfg, "scheduler = \"priority\"\nmemory_quota = 1000\n").unwrap();
    let (child, _dir, sock) = start_run(&["--config", cfg.to_str().unwrap()]);
    std::thread::sleep(Duration::from_millis(700));
    let s = ctl(&sock, &["status"]);
    let svc = &s["services"][0];
    assert_eq!(svc["memory"]["quota"], 1000, "{s}");
    assert_eq!(svc["memory"]["used"], 0, "{s}");
    assert!(svc["memory"]["refused"].as_u64().unwrap() >= 1, "{s}");
    assert!(svc["refused_tasks"].as_u64().unwrap() > 100, "{s}");
    assert_eq!(svc["restarts"], 0, "{s}");
    assert_eq!(svc["state"], "running", "{s}");
    let (_, last) = finish(child);
    assert_eq!(last["processed"], last["sent"], "refused, not lost: {last}");

    // A bad key in lugh.toml is named.
    std::fs::write(&cfg, "memory_qouta = 1000\n").unwrap();
    let out = lugh()
        .args(["run", "--for", "1s", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("memory_qouta") && err.contains("lugh.toml"),
        "{err}"
    );
}

#[test]
fn grid_demo_survives_a_swap_and_two_kills_and_says_ok() {
    let data = tempfile::tempdir().unwrap();
    let out = lugh()
        .args([
            "run",
            "--demo",
            "grid",
            "--for",
            "4s",
            "--sensors",
            "50",
            "--json",
        ])
        .arg("--data")
        .arg(data.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let last: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    for field in [
        "readings",
        "alerts",
        "alerts_lost",
        "readings_lost",
        "alert_p99_ms",
        "deadline_misses_high",
        "swaps",
        "restarts",
        "verdict",
    ] {
        assert!(last.get(field).is_some(), "{field} missing: {last}");
    }
    assert_eq!(last["verdict"], "ok", "{last}");
    assert_eq!(last["alerts_lost"], 0);
    assert_eq!(last["readings_lost"], 0);
    assert_eq!(last["swaps"], 1);
    assert_eq!(last["storage_restarts"], 1);
    assert!(last["restarts"].as_u64().unwrap() >= 2, "{last}");
    assert!(last["readings"].as_u64().unwrap() > 5000, "{last}");
    assert!(last["alerts"].as_u64().unwrap() > 0, "{last}");
    // Status lines, one per second, before the report.
    assert!(stdout.lines().count() >= 4, "{stdout}");
    // What the demo committed is in the data directory for anyone to read:
    // the alerts, the aggregates and the critical operations.
    let scan = |prefix: &str| kv_scan(data.path(), prefix);
    assert_eq!(scan("alert/")["count"], last["alerts"]);
    assert!(scan("agg/")["count"].as_u64().unwrap() >= 4);
    let ops = scan("oplog/");
    let text = ops.to_string();
    assert!(text.contains("swap-commit"), "{text}");
    assert!(text.contains("crash of generation"), "{text}");
    assert!(text.contains("storage killed"), "{text}");
}
