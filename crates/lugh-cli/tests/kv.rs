//! `lugh kv` through the real binary: every subcommand with --json, the
//! errors people meet, and recovery of a damaged log.

use assert_cmd::Command;
use serde_json::Value;

fn kv(dir: &std::path::Path, args: &[&str]) -> assert_cmd::assert::Assert {
    Command::cargo_bin("lugh")
        .unwrap()
        .arg("kv")
        .arg("--data")
        .arg(dir)
        .args(args)
        .assert()
}

fn json(a: assert_cmd::assert::Assert) -> Value {
    serde_json::from_slice(&a.get_output().stdout).unwrap()
}

#[test]
fn put_get_txn_scan_log_rollback_with_json() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let c = json(kv(p, &["put", "grid/f", "50.01", "--json"]).success());
    assert_eq!(c["txn"], 1);
    assert_eq!(c["writes"], 1);
    assert!(c["lsn"].as_u64().unwrap() > 0);
    let t = json(
        kv(
            p,
            &[
                "txn", "put", "grid/v", "230", "put", "grid/f", "49.2", "del", "x", "--json",
            ],
        )
        .success(),
    );
    assert_eq!(t["txn"], 2);
    assert_eq!(t["writes"], 3);
    let g = json(kv(p, &["get", "grid/f", "--json"]).success());
    assert_eq!(g["found"], true);
    assert_eq!(g["value"], "49.2");
    let miss = json(kv(p, &["get", "nope", "--json"]).code(1));
    assert_eq!(miss["found"], false);
    let a = json(kv(p, &["txn", "put", "ghost", "1", "--abort", "--json"]).success());
    assert_eq!(a["aborted"], true);
    kv(p, &["get", "ghost"]).code(1);
    let s = json(kv(p, &["scan", "grid/", "--json"]).success());
    assert_eq!(s["count"], 2);
    assert_eq!(s["entries"][0]["key"], "grid/f");
    let l = json(kv(p, &["log", "--json"]).success());
    assert_eq!(l["transactions"][0]["txn"], 2);
    assert_eq!(l["transactions"][0]["writes"][1]["before"], "50.01");
    // Roll transaction 2 back: grid/f returns to 50.01, grid/v disappears.
    let r = json(kv(p, &["rollback", "2", "--json"]).success());
    assert_eq!(r["reverted"], 2);
    assert_eq!(
        json(kv(p, &["get", "grid/f", "--json"]).success())["value"],
        "50.01"
    );
    kv(p, &["get", "grid/v"]).code(1);
    let again = kv(p, &["rollback", "2"]).failure();
    let err = String::from_utf8_lossy(&again.get_output().stderr).into_owned();
    assert!(err.contains("already rolled back by transaction"), "{err}");
    let text = kv(p, &["log"]).success();
    let out = String::from_utf8_lossy(&text.get_output().stdout).into_owned();
    assert!(out.contains("[rolled back by"), "{out}");
    let rec = json(kv(p, &["recover", "--json"]).success());
    assert_eq!(rec["committed"], 3);
    assert_eq!(rec["aborted"], 1);
    assert_eq!(rec["cut_at"], Value::Null);
}

#[test]
fn errors_name_what_is_wrong() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let long = "k".repeat(1025);
    let e = kv(p, &["put", &long, "v"]).failure();
    let err = String::from_utf8_lossy(&e.get_output().stderr).into_owned();
    assert!(
        err.contains("1024-byte limit") && err.contains("key `"),
        "{err}"
    );
    let e = kv(p, &["txn", "put", "a"]).failure();
    let err = String::from_utf8_lossy(&e.get_output().stderr).into_owned();
    assert!(err.contains("put KEY VALUE"), "{err}");
    let e = kv(p, &["txn", "frobnicate", "a"]).failure();
    let err = String::from_utf8_lossy(&e.get_output().stderr).into_owned();
    assert!(
        err.contains("unknown transaction step `frobnicate`"),
        "{err}"
    );
    let e = Command::cargo_bin("lugh")
        .unwrap()
        .env_remove("LUGH_DATA")
        .args(["kv", "get", "a"])
        .assert()
        .failure();
    let err = String::from_utf8_lossy(&e.get_output().stderr).into_owned();
    assert!(err.contains("--data DIR"), "{err}");
    // Nothing was written by the refused commands.
    let rec = json(kv(p, &["recover", "--json"]).success());
    assert_eq!(rec["committed"], 0);
}

#[test]
fn a_damaged_log_is_cut_and_reported() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    for i in 0..5 {
        kv(p, &["put", &format!("k{i}"), "v"]).success();
    }
    let wal = p.join("wal.log");
    let mut b = std::fs::read(&wal).unwrap();
    let data_end = b.iter().rposition(|&x| x != 0).unwrap();
    // Damage the last record (the fifth commit).
    b[data_end - 3] ^= 0x40;
    std::fs::write(&wal, &b).unwrap();
    let rec = json(kv(p, &["recover", "--json"]).success());
    assert!(rec["cut_at"].as_u64().is_some(), "{rec}");
    assert_eq!(rec["committed"], 4);
    assert_eq!(rec["incomplete"], 1);
    kv(p, &["get", "k3"]).success();
    kv(p, &["get", "k4"]).code(1);
    // Writing goes on after the cut.
    kv(p, &["put", "k4", "again"]).success();
    let rec = json(kv(p, &["recover", "--json"]).success());
    assert_eq!(rec["cut_at"], Value::Null);
    assert_eq!(rec["committed"], 5);
}
