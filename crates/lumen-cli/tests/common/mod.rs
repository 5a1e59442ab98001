//! What the `lumen` binary's tests share: the command, and a program run
//! through one of its subcommands.

#![allow(dead_code)]

use assert_cmd::Command;

/// The `lumen` binary under test.
pub fn lumen() -> Command {
    Command::cargo_bin("lumen").unwrap()
}

/// Writes `code` as a raw `prog.lm` in a fresh directory and runs `lumen
/// SUBCOMMAND prog.lm`: (exit status, stdout, stderr).
pub fn on_program(subcommand: &str, code: &str) -> (i32, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("prog.lm");
    std::fs::write(&f, code).unwrap();
    let out = lumen().arg(subcommand).arg(&f).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
