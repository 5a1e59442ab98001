//! `lumen run`, `lumen test` and `lumen trace show` through the binary:
//! the corpus as run-and-compare cases, one program per runtime error kind
//! of §14.2, traces (including a tampered one), exit codes of §16, and
//! generated programs checked against values computed here.

mod common;

use common::{lumen, on_program};
use proptest::prelude::*;
use std::path::{Path, PathBuf};

/// The fences of a Markdown file with the given first info word:
/// (rest of the info string, body).
fn fences(text: &str, word: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut lines = text.lines();
    while let Some(l) = lines.next() {
        let Some(info) = l.strip_prefix("```") else {
            continue;
        };
        let mut words = info.split_whitespace();
        let first = words.next().unwrap_or("");
        let rest: Vec<&str> = words.collect();
        let mut body = Vec::new();
        for b in lines.by_ref() {
            if b.starts_with("```") {
                break;
            }
            body.push(b);
        }
        if first == word {
            out.push((rest.join(" "), body.join("\n")));
        }
    }
    out
}

fn corpus() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".lm.md"))
        .collect();
    v.sort();
    v
}

#[test]
fn corpus_runs_and_prints_what_it_documents() {
    let mut checked = 0;
    for path in corpus() {
        let text = std::fs::read_to_string(&path).unwrap();
        let Some((info, want)) = fences(&text, "output").into_iter().next() else {
            panic!("{}: no ```output fence", path.display());
        };
        let code: i32 = info
            .strip_prefix("exit=")
            .map(|c| c.parse().unwrap())
            .unwrap_or(0);
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = lumen();
        cmd.arg("run").arg(&path);
        if let Some((_, cassette)) = fences(&text, "cassette").into_iter().next() {
            let c = dir.path().join("cassette.json");
            std::fs::write(&c, cassette).unwrap();
            cmd.arg("--tools").arg(&c);
        }
        let out = cmd.output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            stdout.trim_end_matches('\n'),
            want,
            "{}: stdout differs (stderr: {stderr})",
            path.display()
        );
        assert_eq!(
            out.status.code(),
            Some(code),
            "{}: exit status (stderr: {stderr})",
            path.display()
        );
        for (_, lines) in fences(&text, "stderr") {
            for l in lines.lines() {
                assert!(
                    stderr.contains(l),
                    "{}: stderr lacks {l:?}:\n{stderr}",
                    path.display()
                );
            }
        }
        checked += 1;
    }
    assert!(checked >= 8, "only {checked} corpus programs ran");
}

fn run_code(code: &str) -> (i32, String, String) {
    on_program("run", code)
}

/// One program per runtime error kind of §14.2: the header, a stack trace
/// line, exit 1, and stdout flushed before the error.
#[test]
fn every_runtime_error_kind() {
    let cases: &[(&str, &str)] = &[
        ("integer overflow", "print(9223372036854775807 + 1)"),
        ("integer overflow", "let m = MIN_INT\nprint(-m)"),
        ("division by zero", "print(7 % 0)"),
        ("index out of bounds", "print([1, 2][2])"),
        ("index out of bounds", "let mut xs = [1]\nxs[-2] = 5"),
        ("key not found", "print({\"a\": 1}[\"b\"])"),
        ("null value", "let x: Int? = null\nprint(x!)"),
        ("type error", "let a: Any = \"x\"\nprint(a as Int)"),
        ("type error", "let f: Any = 3\nprint(f(1))"),
        ("halt", "halt(\"stop now\")"),
        ("assertion failed", "assert_eq(2 + 2, 5)"),
        (
            "constraint violation",
            "record T\n  v: Int where v > 0\nend\nprint(T(v: 0))",
        ),
        (
            "constraint violation",
            "record T\n  v: Int where v > 0\nend\nlet mut t = T(v: 1)\nt.v = -1",
        ),
        ("match failed", "let ok(v) = err(1)\nprint(v)"),
        ("unwrap failed", "print(unwrap(err(\"e\")))"),
        ("invalid argument", "print(chunk([1], 0))"),
        ("invalid argument", "print(2 ** -1)"),
        ("format error", "let a: Any = \"text\"\nprint(\"{a:x}\")"),
        (
            "schema mismatch",
            "record S\n  a: Int\nend\nprint(json_parse(\"{}\") expect schema S)",
        ),
        (
            "unhandled effect",
            "effect E\n  cell op() -> Int\nend\ncell f() -> Int / {E} = perform E.op()\nprint(f())",
        ),
        (
            "tool error",
            "use tool llm.chat as Chat\ngrant Chat max_tokens 5\nprint(Chat(prompt: \"x\"))",
        ),
        (
            "policy violation",
            "use tool crypto.sha256 as Sha\ngrant Sha max_len 5\nprint(Sha(input: \"x\", max_len: 9))",
        ),
        ("undefined variable", "@strict false\nprint(nowhere)"),
        ("undefined cell", "@strict false\nprint(nowhere(1))"),
        ("stack overflow", "cell f(n: Int) -> Int = f(n + 1) + 1\nprint(f(0))"),
    ];
    for (kind, code) in cases {
        let code = format!("print(\"before\")\n{code}\n");
        let (status, stdout, stderr) = run_code(&code);
        assert_eq!(status, 1, "[{kind}] {code}\n{stderr}");
        assert!(
            stderr.contains(&format!("runtime error[{kind}]: ")),
            "expected [{kind}] for {code:?}:\n{stderr}"
        );
        assert!(
            stderr.contains("  at main (") && stderr.contains("prog.lm:"),
            "a stack trace: {stderr}"
        );
        assert!(stdout.starts_with("before\n"), "stdout flushed: {stdout:?}");
    }
    // The resume error is unreachable in well-formed programs (§9.3 rule
    // 3 makes a second resume a parse error); the compiler says so.
    let (status, _, stderr) = run_code(
        "effect E\n  cell op() -> Int\nend\nlet x = handle\n  perform E.op()\nwith\n  E.op() =>\n    resume(1)\n    resume(2)\nend\n",
    );
    assert_eq!(status, 1);
    assert!(
        stderr.contains("resume must be in tail position"),
        "{stderr}"
    );
}

#[test]
fn run_exit_codes_and_entry_cells() {
    // A non-null result is printed; null prints nothing.
    let (s, out, _) = run_code("cell main() -> Int\n  print(\"hi\")\n  return 7\nend\n");
    assert_eq!((s, out.as_str()), (0, "hi\n7\n"));
    let (s, out, _) = run_code("let x = 1\nx + 1\n");
    assert_eq!(
        (s, out.as_str()),
        (0, ""),
        "a script's last line is not printed"
    );
    // No main.
    let (s, out, err) = run_code("cell f() -> Int = 1\n");
    assert_eq!(s, 1);
    assert!(out.is_empty());
    assert!(
        err.contains("error[undefined cell]: no cell named 'main'"),
        "{err}"
    );
    // Compile errors: nothing on stdout, exit 1.
    let (s, out, err) = run_code("print(\"x\")\nprint(nowhere)\n");
    assert_eq!((s, out.as_str()), (1, ""));
    assert!(err.contains("error[undefined variable]"), "{err}");
    // exit(n).
    let (s, out, _) = run_code("print(\"a\")\nexit(3)\nprint(\"b\")\n");
    assert_eq!((s, out.as_str()), (3, "a\n"));
    // An instruction budget stops a runaway loop with a clear error.
    let dir0 = tempfile::tempdir().unwrap();
    let inf = dir0.path().join("inf.lm");
    std::fs::write(&inf, "let mut n = 0\nloop\n  n += 1\nend\n").unwrap();
    let out = lumen()
        .args(["run", "--max-steps", "1000"])
        .arg(&inf)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("runtime error[halt]: the instruction budget of 1000 steps is exhausted"));
    // A memory limit: growing a list past it stops the program with a
    // clear error; a range too large to build is refused up front.
    std::fs::write(
        &inf,
        "let xs = [[i] for i in 0..100000000]\nprint(len(xs))\n",
    )
    .unwrap();
    let out = lumen()
        .args(["run", "--max-memory", "64"])
        .arg(&inf)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("runtime error[halt]: the memory limit of 64 MiB is exceeded"),
        "{err}"
    );
    std::fs::write(&inf, "print(len(0..1000000000000))\n").unwrap();
    let out = lumen()
        .args(["run", "--max-memory", "64"])
        .arg(&inf)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains(
        "runtime error[invalid argument]: range of 1000000000000 elements would pass the memory limit of 64 MiB"
    ));
    // --cell picks another entry; one with required parameters is refused.
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("p.lm");
    std::fs::write(
        &f,
        "cell other() -> String = \"other\"\ncell needs(x: Int) -> Int = x\n",
    )
    .unwrap();
    lumen()
        .args(["run", "--cell", "other"])
        .arg(&f)
        .assert()
        .success()
        .stdout("other\n");
    let out = lumen()
        .args(["run", "--cell", "needs"])
        .arg(&f)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("argument count"));
    // Usage errors: a missing file, a malformed cassette.
    lumen().args(["run", "/nonexistent/x.lm"]).assert().code(2);
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\"interactions\": 3}").unwrap();
    lumen()
        .args(["run", "--tools"])
        .arg(&bad)
        .arg(&f)
        .assert()
        .code(2);
}

#[test]
fn traces_chain_and_show_and_detect_tampering() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("t.lm");
    std::fs::write(
        &f,
        "use tool crypto.sha256 as Sha\ngrant Sha max_len 10\ncell main() -> Null / {external, emit}\n  emit Sha(input: \"a\")\n  print(trace_ref())\nend\n",
    )
    .unwrap();
    let tdir = dir.path().join("traces");
    let out = lumen()
        .arg("run")
        .arg(&f)
        .arg("--trace-dir")
        .arg(&tdir)
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let id = stderr
        .lines()
        .find_map(|l| l.strip_prefix("trace: "))
        .expect("trace: <run-id> on stderr")
        .to_string();
    let file = tdir.join(format!("{id}.jsonl"));
    let text = std::fs::read_to_string(&file).unwrap();
    let kinds: Vec<String> = text
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            for k in ["seq", "kind", "prev_hash", "hash", "timestamp", "doc_hash"] {
                assert!(v.get(k).is_some(), "event lacks {k}: {l}");
            }
            v["kind"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "run_start",
            "cell_start",
            "tool_call",
            "emit",
            "cell_end",
            "run_end"
        ]
    );
    let show = lumen()
        .args(["trace", "show", &id, "--verify", "--trace-dir"])
        .arg(&tdir)
        .output()
        .unwrap();
    assert!(show.status.success());
    let s = String::from_utf8_lossy(&show.stdout);
    assert!(s.starts_with("chain ok\n000001 run_start\n"), "{s}");
    assert!(
        s.contains("000003 tool_call tool_id=crypto.sha256 status=ok latency_ms="),
        "{s}"
    );
    // Tamper with the tool event: the chain breaks at seq 3.
    let tampered = text.replacen("crypto.sha256", "crypto.sha512", 1);
    std::fs::write(&file, tampered).unwrap();
    let show = lumen()
        .args(["trace", "show", &id, "--verify", "--trace-dir"])
        .arg(&tdir)
        .output()
        .unwrap();
    assert_eq!(show.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&show.stderr).contains("broken at seq 3"));
    // A runtime error still ends the trace with error and run_end.
    std::fs::write(&f, "print(1 // 0)\n").unwrap();
    let out = lumen()
        .arg("run")
        .arg(&f)
        .arg("--trace-dir")
        .arg(&tdir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let id = String::from_utf8_lossy(&out.stderr)
        .lines()
        .find_map(|l| l.strip_prefix("trace: ").map(str::to_string))
        .unwrap();
    let text = std::fs::read_to_string(tdir.join(format!("{id}.jsonl"))).unwrap();
    assert!(text.contains("\"kind\":\"error\""));
    assert!(text
        .lines()
        .last()
        .unwrap()
        .contains("\"kind\":\"run_end\""));
}

#[test]
fn lumen_test_reports_each_test_and_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("a.lm"),
        "cell test_ok() -> Bool = 1 + 1 == 2\ncell test_false() -> Bool = false\n@test\ncell checks_output()\n  print(\"from the test\")\n  assert_eq([1, 2], [1, 3])\nend\ncell test_needs(x: Int) -> Bool = true\ncell helper() -> Bool = false\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("b.lm"), "print(nowhere)\n").unwrap();
    let out = lumen()
        .arg("test")
        .arg(dir.path().join("a.lm"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stdout,
        "test test_ok ... ok\ntest test_false ... FAILED\nfrom the test\ntest checks_output ... FAILED\n1 passed, 2 failed\n"
    );
    assert!(stderr.contains("  test_false: returned false"), "{stderr}");
    assert!(
        stderr.contains("runtime error[assertion failed]: assert_eq: [1, 2] != [1, 3]"),
        "{stderr}"
    );
    // A directory: FILE::CELL names, a file that does not compile counts
    // as one failed test; --filter.
    let out = lumen()
        .arg("test")
        .arg(dir.path())
        .args(["--filter", "ok"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("a.lm::test_ok ... ok"), "{stdout}");
    assert!(stdout.contains("b.lm ... FAILED"), "{stdout}");
    assert!(stdout.ends_with("1 passed, 1 failed\n"), "{stdout}");
    // All passing: exit 0.
    lumen()
        .arg("test")
        .arg(dir.path().join("a.lm"))
        .args(["--filter", "test_ok"])
        .assert()
        .success()
        .stdout("test test_ok ... ok\n1 passed, 0 failed\n");
}

/// A tiny expression language generated here, evaluated here with the
/// rules of §6.2, and compared with what the VM prints.
#[derive(Debug, Clone)]
enum E {
    Lit(i64),
    Var(usize),
    Bin(&'static str, Box<E>, Box<E>),
    If(Box<E>, Box<E>, Box<E>),
}

fn eval(e: &E, vars: &[i64]) -> Option<i64> {
    Some(match e {
        E::Lit(v) => *v,
        E::Var(i) => vars[*i],
        E::Bin(op, a, b) => {
            let (x, y) = (eval(a, vars)?, eval(b, vars)?);
            match *op {
                "+" => x.checked_add(y)?,
                "-" => x.checked_sub(y)?,
                "*" => x.checked_mul(y)?,
                "/" => x.checked_div(y)?,
                "//" => {
                    let q = x.checked_div(y)?;
                    if x % y != 0 && ((x < 0) != (y < 0)) {
                        q - 1
                    } else {
                        q
                    }
                }
                "%" => {
                    if y == 0 {
                        return None;
                    }
                    let r = x.checked_rem(y).unwrap_or(0);
                    if r != 0 && ((r < 0) != (y < 0)) {
                        r + y
                    } else {
                        r
                    }
                }
                _ => i64::from(x < y),
            }
        }
        E::If(c, a, b) => {
            if eval(c, vars)? > 0 {
                eval(a, vars)?
            } else {
                eval(b, vars)?
            }
        }
    })
}

fn src(e: &E) -> String {
    match e {
        E::Lit(v) if *v < 0 => format!("(0 - {})", v.unsigned_abs()),
        E::Lit(v) => v.to_string(),
        E::Var(i) => format!("v{i}"),
        E::Bin("<", a, b) => format!("(if {} < {} then 1 else 0)", src(a), src(b)),
        E::Bin(op, a, b) => format!("({} {op} {})", src(a), src(b)),
        E::If(c, a, b) => format!("(if {} > 0 then {} else {})", src(c), src(a), src(b)),
    }
}

fn expr() -> impl Strategy<Value = E> {
    let leaf = prop_oneof![(-50i64..50).prop_map(E::Lit), (0usize..3).prop_map(E::Var)];
    leaf.prop_recursive(4, 24, 3, |inner| {
        prop_oneof![
            (
                prop::sample::select(vec!["+", "-", "*", "/", "//", "%", "<"]),
                inner.clone(),
                inner.clone()
            )
                .prop_map(|(op, a, b)| E::Bin(op, Box::new(a), Box::new(b))),
            (inner.clone(), inner.clone(), inner).prop_map(|(c, a, b)| E::If(
                Box::new(c),
                Box::new(a),
                Box::new(b)
            )),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(24)
    ))]

    /// Many generated cells in one program (one binary run per case): the
    /// VM's results equal the reference evaluation, and a case whose
    /// reference fails (division by zero, overflow) is a runtime error.
    #[test]
    fn generated_programs_match_the_reference(
        es in proptest::collection::vec(expr(), 12),
        vars in proptest::collection::vec(-20i64..20, 3),
    ) {
        let mut code = String::new();
        for (i, e) in es.iter().enumerate() {
            code.push_str(&format!(
                "cell c{i}(v0: Int, v1: Int, v2: Int) -> Int = {}\n", src(e)
            ));
        }
        code.push_str("cell main()\n");
        let mut want = Vec::new();
        let mut fails = false;
        for (i, e) in es.iter().enumerate() {
            code.push_str(&format!("  print(c{i}({}, {}, {}))\n", vars[0], vars[1], vars[2]));
            match eval(e, &vars) {
                Some(v) if !fails => want.push(v.to_string()),
                _ => fails = true,
            }
        }
        code.push_str("end\n");
        let (status, stdout, stderr) = run_code(&code);
        let got: Vec<&str> = stdout.lines().collect();
        prop_assert_eq!(&got, &want.iter().map(String::as_str).collect::<Vec<_>>(), "{}\n{}", code, stderr);
        prop_assert_eq!(status, i32::from(fails), "{}\n{}", code, stderr);
        prop_assert!(!stderr.contains("panicked"), "{}", stderr);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(24)
    ))]

    /// Loops the VM runs through fused instructions (a `while` whose
    /// increment and test are one instruction, a constant stored into a
    /// list, `if xs[i]` on a Bool item), with a step in a local or a
    /// literal, and a second name sharing the list or not: the result
    /// equals a plain simulation of the same loops.
    #[test]
    fn generated_strided_loops_match_the_reference(
        n in 0i64..30,
        start in 0i64..12,
        step in 1i64..5,
        literal_step in any::<bool>(),
        mark in any::<bool>(),
        alias in any::<bool>(),
    ) {
        let init = !mark;
        let mut code = format!(
            "cell main()\n  let n = {n}\n  let mut xs = [{init} for _ in 0..n]\n"
        );
        if alias {
            code.push_str("  let keep = xs\n");
        }
        code.push_str(&format!("  let stride = {step}\n  let mut j = {start}\n  while j < n\n"));
        code.push_str(&format!("    xs[j] = {mark}\n"));
        if literal_step {
            code.push_str(&format!("    j += {step}\n"));
        } else {
            code.push_str("    j += stride\n");
        }
        code.push_str("  end\n  let mut hits = 0\n  let mut i = 0\n  while i < n\n");
        code.push_str("    if xs[i]\n      hits += 1\n    end\n    i += 1\n  end\n");
        code.push_str("  print(xs, hits, j)\n");
        if alias {
            code.push_str("  print(keep)\n");
        }
        code.push_str("end\n");

        let mut xs = vec![init; n as usize];
        let mut j = start;
        while j < n {
            xs[j as usize] = mark;
            j += step;
        }
        let hits = xs.iter().filter(|b| **b).count();
        let show = |v: &[bool]| {
            format!("[{}]", v.iter().map(|b| b.to_string()).collect::<Vec<_>>().join(", "))
        };
        let mut want = format!("{} {hits} {j}\n", show(&xs));
        if alias {
            want.push_str(&format!("{}\n", show(&vec![init; n as usize])));
        }
        let (status, stdout, stderr) = run_code(&code);
        prop_assert_eq!(stdout, want, "{}\n{}", code, stderr);
        prop_assert_eq!(status, 0, "{}\n{}", code, stderr);
    }
}

/// `@deterministic` (§10.7): a tool that cannot be replayed is refused;
/// with a cassette that records it, the program runs and replays it.
/// Machines: moving to a state that does not exist, or entering one with
/// the wrong values, is a runtime error.
#[test]
fn deterministic_tools_and_machine_misuse() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("d.lm");
    std::fs::write(
        &f,
        "@deterministic true\nuse tool llm.chat as Chat\ngrant Chat max_tokens 5\ncell main() -> Json / {external} = Chat(prompt: \"hi\")\n",
    )
    .unwrap();
    let out = lumen().arg("run").arg(&f).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("error[nondeterministic]"));
    let c = dir.path().join("c.json");
    std::fs::write(
        &c,
        r#"{"version": 1, "interactions": [{"tool": "llm.chat", "args": {"prompt": "hi"}, "result": "hello"}]}"#,
    )
    .unwrap();
    lumen()
        .arg("run")
        .arg(&f)
        .arg("--tools")
        .arg(&c)
        .assert()
        .success()
        .stdout("hello\n");
    // A cassette miss for an id it mentions is a tool error.
    std::fs::write(
        &f,
        "use tool llm.chat as Chat\ngrant Chat max_tokens 5\nprint(Chat(prompt: \"other\"))\n",
    )
    .unwrap();
    let out = lumen()
        .arg("run")
        .arg(&f)
        .arg("--tools")
        .arg(&c)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains(
        "runtime error[tool error]: cassette has no interaction for llm.chat with args {\"prompt\":\"other\"}"
    ));
    let m = "machine M\n  initial: A\n  state A(n: Int)\n    transition B(n + 1)\n  end\n  state B(n: Int)\n    terminal: true\n  end\nend\n";
    for (call, want) in [
        (
            "M().resume_from(\"Nope\")",
            "machine `M` has no state `Nope`",
        ),
        ("M().start()", "state `A` of `M` takes 1 value(s), 0 given"),
    ] {
        std::fs::write(&f, format!("{m}print({call})\n")).unwrap();
        let out = lumen().arg("run").arg(&f).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{call}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&format!("runtime error[invalid argument]: {want}")),
            "{call}: {err}"
        );
    }
}
