//! Inputs no person writes but generators and fuzzers do: flat chains of
//! 10^4 and more operators, postfix operations and continued lines. Each
//! is a tree that deep, and no pass may overflow the compiler's stack on
//! it: `check`, `fmt` and `run` end with a status, never a signal.

use std::process::Command;

fn lumen() -> Command {
    Command::new(assert_cmd::cargo::cargo_bin("lumen"))
}

fn doc(body: &str) -> String {
    format!(
        "# deep\n\n```lumen\ncell f(a: Int) -> Int\n  return a\nend\n\ncell main() -> Null\n  {body}\n  print(\"done\")\nend\n```\n"
    )
}

fn shapes(n: usize) -> Vec<(&'static str, String)> {
    vec![
        ("plus", format!("let x = {}", vec!["1"; n].join(" + "))),
        ("and", format!("let x = {}", vec!["true"; n].join(" and "))),
        (
            "concat",
            format!("let x = {}", vec!["\"a\""; n].join(" ++ ")),
        ),
        (
            "coalesce",
            format!("let x = {} ?? 1", vec!["null"; n].join(" ?? ")),
        ),
        ("index", format!("let x = [[0]]{}", "[0]".repeat(n))),
        ("interpolations", format!("let x = \"{}\"", "{1}".repeat(n))),
        ("pipe", format!("let x = 1{}", " |> f".repeat(n))),
        ("field", format!("let x = {{p: 1}}{}", ".p".repeat(n))),
        (
            "minus-lines",
            format!("let x = 1\n{}", vec!["    - 1"; n].join("\n")),
        ),
    ]
}

/// Runs `lumen <cmd> file` and returns its exit code; a signal fails the test.
fn status(cmd: &str, file: &std::path::Path) -> i32 {
    let out = lumen().arg(cmd).arg(file).output().unwrap();
    match out.status.code() {
        Some(c) => c,
        None => panic!(
            "`lumen {cmd}` on {} died by a signal: {}",
            file.display(),
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
        ),
    }
}

#[test]
fn long_flat_chains_never_abort_the_compiler() {
    let dir = tempfile::tempdir().unwrap();
    for n in [13_000, 60_000] {
        for (name, body) in shapes(n) {
            let f = dir.path().join(format!("{name}-{n}.lm.md"));
            std::fs::write(&f, doc(&body)).unwrap();
            for cmd in ["check", "fmt"] {
                let c = status(cmd, &f);
                assert!(c <= 2, "`lumen {cmd}` on {name} x{n}: exit {c}");
            }
        }
    }
}

#[test]
fn long_flat_chains_run() {
    let dir = tempfile::tempdir().unwrap();
    let cases = shapes(13_000).into_iter().chain(
        shapes(60_000)
            .into_iter()
            .filter(|(n, _)| matches!(*n, "plus" | "minus-lines" | "pipe")),
    );
    for (i, (name, body)) in cases.enumerate() {
        if matches!(name, "index" | "field") {
            continue; // type errors by design of the shape
        }
        let f = dir.path().join(format!("{name}-{i}.lm.md"));
        std::fs::write(&f, doc(&body)).unwrap();
        let out = lumen().arg("run").arg(&f).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("done"));
    }
}

#[test]
fn many_errors_on_one_long_line_stay_readable() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("or.lm.md");
    let body = format!("let c = {}\n  print(c)", vec!["1"; 8000].join(" or "));
    std::fs::write(&f, doc(&body)).unwrap();
    let out = lumen().arg("check").arg(&f).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    // Each operand's error is at its own column, not all at the first.
    assert!(
        err.contains(":9:11: error[type mismatch]: `or` takes `Bool`s, found `Int`"),
        "{}",
        &err[..2000.min(err.len())]
    );
    assert!(
        err.contains(":9:16: error[type mismatch]"),
        "{}",
        &err[..2000.min(err.len())]
    );
    // Capped, counted, and no diagnostic reprints the 40 KB line.
    assert!(
        err.contains("lumen: 7900 more diagnostic(s) not shown (7900 error(s), 0 warning(s))"),
        "{}",
        &err[err.len().saturating_sub(400)..]
    );
    assert!(err.len() < 100_000, "{} bytes of diagnostics", err.len());
    assert!(err.lines().all(|l| l.len() < 400));
}
