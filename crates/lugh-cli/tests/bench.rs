//! The machine-readable bench output scripts rely on (field names exact;
//! the figures themselves are never asserted).

use assert_cmd::Command;

fn bench(what: &str) -> serde_json::Value {
    let out = Command::cargo_bin("lugh")
        .unwrap()
        .args(["bench", what, "--quick", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn ipc_figures() {
    let v = bench("ipc");
    for k in [
        "nng_rtt_p50_us",
        "nng_rtt_p99_us",
        "mpsc_rtt_p50_us",
        "throughput_msgs_per_s",
    ] {
        assert!(v[k].as_f64().is_some_and(|x| x > 0.0), "{k} in {v}");
    }
    assert_eq!(
        v["throughput_messages"], 100_000,
        "every message sent arrived"
    );
}

#[test]
fn priority_figures() {
    let v = bench("priority");
    for k in ["high_p99_ms", "fifo_high_p99_ms"] {
        assert!(v[k].as_f64().is_some_and(|x| x > 0.0), "{k} in {v}");
    }
    assert_eq!(v["low_before_high_violations"], 0);
    assert_eq!(v["high_messages"], 60, "no HIGH message lost");
}

#[test]
fn swap_figures() {
    let v = bench("swap");
    assert_eq!(v["swaps"], 4);
    assert_eq!(v["lost"], 0, "{v}");
    assert_eq!(v["duplicated"], 0, "{v}");
    assert_eq!(v["reordered"], 0, "{v}");
    assert!(v["messages"].as_u64().is_some_and(|m| m > 0));
    assert!(v["gap_p99_ms"].as_f64().is_some());
}

#[test]
fn restart_figures() {
    let v = bench("restart");
    assert_eq!(v["restarts"], 4, "three kills and one hang: {v}");
    assert_eq!(v["lost"], 0, "{v}");
    for k in ["restart_p50_ms", "restart_max_ms", "hang_detect_ms"] {
        assert!(v[k].as_f64().is_some_and(|x| x > 0.0), "{k} in {v}");
    }
}

#[test]
fn usage_errors_exit_2() {
    let out = Command::cargo_bin("lugh")
        .unwrap()
        .args(["bench", "nothing"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
