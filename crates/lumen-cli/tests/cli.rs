//! The `lumen` binary: one must-fail program per §14.1 kind, the warning
//! kinds, exit codes (§16), `emit`'s JSON shape (§17.1) and `fmt`.

mod common;

use common::{lumen, on_program};
use std::path::Path;

/// Writes `code` as a raw `.lm` file and runs `lumen check` on it.
fn check(code: &str) -> (i32, String, String) {
    on_program("check", code)
}

/// The program fails with exactly one error, of `kind`, at `line:col`.
fn must_fail(kind: &str, at: &str, code: &str) {
    let (status, stdout, stderr) = check(code);
    assert_eq!(status, 1, "expected exit 1 for [{kind}], stderr:\n{stderr}");
    assert!(stdout.is_empty(), "check writes nothing to stdout");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.contains(": error[")).collect();
    assert_eq!(errors.len(), 1, "one mistake, one message; got:\n{stderr}");
    assert!(
        errors[0].contains(&format!("prog.lm:{at}: error[{kind}]: ")),
        "expected error[{kind}] at {at}, got:\n{stderr}"
    );
    // The snippet: the source line and a caret.
    assert!(
        stderr.contains(" | ") && stderr.contains('^'),
        "no snippet:\n{stderr}"
    );
}

fn must_warn(kind: &str, code: &str) {
    let (status, _, stderr) = check(code);
    assert_eq!(status, 0, "warnings do not fail the check:\n{stderr}");
    assert!(
        stderr.contains(&format!(": warning[{kind}]: ")),
        "expected warning[{kind}]:\n{stderr}"
    );
}

#[test]
fn lex_error() {
    must_fail("lex error", "1:9", "let x = \"open\nprint(x)\n");
}

#[test]
fn parse_error() {
    must_fail("parse error", "2:3", "cell f() -> Int\n  break\n  1\nend\n");
}

#[test]
fn contextual_keywords_are_names_and_the_rest_stay_reserved() {
    let (status, _, stderr) = check(
        "record R\n  type: String\n  ok: Bool\nend\n\ncell f(list: list[Int], map: Int) -> Int\n  let result = len(list) + map\n  return result\nend\n\nlet r = R(type: \"t\", ok: true)\nprint(r.type, r.ok, f([1], 2))\n",
    );
    assert_eq!(status, 0, "{stderr}");
    must_fail("parse error", "1:5", "let while = 1\n");
    must_fail("parse error", "1:5", "let end = 1\n");
}

#[test]
fn a_let_annotation_may_be_a_union() {
    let (status, _, stderr) = check(
        "let v: Int | String = 42\nlet mut w: String | Null = null\nw = \"x\"\nprint(v, w)\n",
    );
    assert_eq!(status, 0, "{stderr}");
    must_fail(
        "type mismatch",
        "1:23",
        "let v: Int | String = 4.5\nprint(v)\n",
    );
}

#[test]
fn built_in_effects_bind_without_a_declaration() {
    let prog = "use tool http.get as Fetch\nbind effect external to Fetch\nbind effect env to Fetch\nprint(1)\n";
    let (status, _, stderr) = check(prog);
    assert_eq!(status, 0, "{stderr}");
    must_fail(
        "undefined type",
        "2:1",
        "use tool http.get as Fetch\nbind effect Weather to Fetch\nprint(1)\n",
    );
}

#[test]
fn an_imported_module_s_own_main_stays_out() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("greet.lm"),
        "cell hello(n: String) -> String = \"hello, {n}\"\n\ncell main() -> Null\n  print(hello(\"module\"))\nend\n",
    )
    .unwrap();
    let prog = dir.path().join("prog.lm");
    std::fs::write(
        &prog,
        "import greet: hello\n\ncell main() -> Null\n  print(hello(\"importer\"))\nend\n",
    )
    .unwrap();
    let out = lumen().arg("run").arg(&prog).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello, importer\n");
}

#[test]
fn a_plain_value_returned_from_a_result_cell_is_ok() {
    let (status, out, err) = on_program(
        "run",
        "cell half(n: Int) -> result[Int, String]\n  if n % 2 == 1\n    return err(\"odd\")\n  end\n  return n / 2\nend\n\nfor n in [8, 3]\n  match half(n)\n    ok(v) -> print(\"ok\", v)\n    err(e) -> print(\"err\", e)\n  end\nend\n",
    );
    assert_eq!(status, 0, "{err}");
    assert_eq!(out, "ok 4\nerr odd\n");
}

#[test]
fn an_enum_method_called_through_its_type() {
    let (status, out, err) = on_program(
        "run",
        "enum Light\n  Red\n  Yellow\n  Green\n\n  cell next(self) -> Light\n    match self\n      Red -> Green\n      Green -> Yellow\n      Yellow -> Red\n    end\n  end\nend\n\nprint(Light.next(Yellow), Red.next(), Light.Green)\n",
    );
    assert_eq!(status, 0, "{err}");
    assert_eq!(out, "Red Green Green\n");
}

#[test]
fn field_reads_on_enums_and_scalars_are_compile_errors() {
    must_fail(
        "unknown field",
        "5:7",
        "enum Color\n  Red\nend\nlet c = Red\nprint(c.foo)\n",
    );
    must_fail("unknown field", "2:7", "let n = 5\nprint(n.bar)\n");
    must_fail("unknown field", "2:7", "let s = \"x\"\nprint(s.colour)\n");
    // Methods are still methods.
    let (status, _, err) = check("let s = \"x\"\nprint(s.len(), s.upper())\n");
    assert_eq!(status, 0, "{err}");
}

#[test]
fn grant_values_may_be_lists() {
    let prog = "use tool http.get as Fetch\ngrant Fetch\n  allowed_domains [\"a.com\", \"*.b.org\"]\n  timeout_ms 500\nend\nprint(1)\n";
    let (status, _, err) = check(prog);
    assert_eq!(status, 0, "{err}");
    must_fail(
        "parse error",
        "2:30",
        "use tool http.get as Fetch\ngrant Fetch allowed_domains [null]\nprint(1)\n",
    );
}

#[test]
fn assert_as_a_statement_and_assert_eq_with_a_message() {
    let (status, out, err) = on_program(
        "run",
        "let x = 3\nassert x > 2\nassert x == 3, \"x is three\"\nassert_eq(x, 3, \"still three\")\nprint(\"fine\")\nassert x > 5, \"x must exceed 5\"\n",
    );
    assert_eq!(status, 1, "{err}");
    assert_eq!(out, "fine\n");
    assert!(
        err.contains("error[assertion failed]: assert: x must exceed 5"),
        "{err}"
    );
    let (_, _, err) = on_program("run", "assert_eq(1, 2, \"one is two\")\n");
    assert!(err.contains("assert_eq: 1 != 2 (one is two)"), "{err}");
}

#[test]
fn undefined_variable_with_suggestion() {
    let code = "cell main() -> Int\n  let total = 3\n  print(totl)\n  return total\nend\n";
    must_fail("undefined variable", "3:9", code);
    let (_, _, err) = check(code);
    assert!(err.contains("did you mean `total`?"), "{err}");
}

#[test]
fn undefined_cell() {
    must_fail("undefined cell", "1:1", "frobnicate(3)\n");
}

#[test]
fn undefined_type() {
    must_fail("undefined type", "1:1", "cell f(x: Strng) -> Int = 1\n");
}

#[test]
fn duplicate_definition() {
    must_fail(
        "duplicate definition",
        "2:1",
        "cell f() -> Int = 1\ncell f() -> Int = 2\n",
    );
}

#[test]
fn type_mismatch() {
    must_fail(
        "type mismatch",
        "2:17",
        "cell f() -> Int = 1\nlet x: String = f()\nprint(x)\n",
    );
}

#[test]
fn argument_count() {
    must_fail(
        "argument count",
        "2:1",
        "cell add(a: Int, b: Int) -> Int = a + b\nadd(1)\n",
    );
}

#[test]
fn unknown_field() {
    must_fail(
        "unknown field",
        "4:20",
        "record P\n  x: Int\nend\nlet p = P(x: 1, y: 2)\nprint(p)\n",
    );
}

#[test]
fn missing_field() {
    must_fail(
        "missing field",
        "4:9",
        "record P\n  x: Int\nend\nlet p = P()\nprint(p)\n",
    );
}

#[test]
fn missing_return() {
    must_fail(
        "missing return",
        "5:1",
        "cell sign(n: Int) -> Int\n  if n > 0\n    return 1\n  end\nend\n",
    );
}

#[test]
fn incomplete_match() {
    must_fail(
        "incomplete match",
        "6:3",
        "enum Light\n  Red\n  Green\nend\ncell f(l: Light) -> Int\n  match l\n    Red -> 1\n  end\nend\n",
    );
}

#[test]
fn immutable_assignment() {
    must_fail(
        "immutable assignment",
        "2:1",
        "const LIMIT = 3\nLIMIT = 4\n",
    );
}

#[test]
fn missing_method() {
    must_fail(
        "missing method",
        "4:1",
        "trait Show\n  cell show(self: Self) -> String\nend\nimpl Show for Int\nend\n",
    );
}

#[test]
fn undeclared_effect() {
    must_fail(
        "undeclared effect",
        "2:3",
        "cell quiet() -> Null / {}\n  print(\"loud\")\nend\n",
    );
}

#[test]
fn missing_grant() {
    must_fail(
        "missing grant",
        "2:20",
        "use tool http.get as Fetch\ncell f() -> Json = Fetch(url: \"https://example.org\")\n",
    );
}

#[test]
fn nondeterministic() {
    must_fail(
        "nondeterministic",
        "2:9",
        "@deterministic true\nlet n = random()\nprint(n)\n",
    );
}

#[test]
fn machine_error() {
    must_fail(
        "machine error",
        "1:1",
        "machine M\n  initial: A\n  state A()\n    transition B()\n  end\n  state B()\n  end\nend\n",
    );
}

#[test]
fn import_error() {
    must_fail(
        "import error",
        "1:1",
        "import nowhere.at_all: thing\nprint(1)\n",
    );
}

#[test]
fn warning_kinds() {
    must_warn("possibly null", "cell f(x: Int?) -> Int = x\n");
    must_warn(
        "unreachable arm",
        "cell f(n: Int) -> Int\n  match n\n    _ -> 1\n    2 -> 2\n  end\nend\n",
    );
    must_warn(
        "unused",
        "cell f() -> Int\n  let spare = 1\n  return 2\nend\n",
    );
    must_warn(
        "deprecated",
        "@deprecated \"use g\"\ncell f() -> Int = 1\ncell g() -> Int = f()\n",
    );
    must_warn(
        "must use",
        "@must_use\ncell f() -> Int = 1\ncell g() -> Null\n  f()\nend\n",
    );
    must_warn("immutable assignment", "let n = 1\nn = 2\nprint(n)\n");
}

#[test]
fn relaxed_modes_turn_unresolved_names_into_warnings() {
    let (s, _, e) = check("@strict false\nprint(nothing_here)\n");
    assert_eq!(s, 0, "{e}");
    assert!(e.contains("warning[undefined variable]"), "{e}");
    let (s, _, e) = check("@doc_mode true\nuse tool http.get as Fetch\nFetch(url: \"x\")\n");
    assert_eq!(s, 0, "doc mode skips grant checks: {e}");
}

#[test]
fn usage_and_io_errors_exit_2() {
    lumen().args(["check", "/no/such/file.lm"]).assert().code(2);
    lumen().args(["frobnicate"]).assert().code(2);
    lumen().args(["check", "--nope", "x.lm"]).assert().code(2);
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("c.json");
    std::fs::write(&bad, "{not json").unwrap();
    let f = dir.path().join("p.lm");
    std::fs::write(&f, "print(1)\n").unwrap();
    lumen()
        .arg("check")
        .arg(&f)
        .arg("--tools")
        .arg(&bad)
        .assert()
        .code(2);
}

#[test]
fn the_corpus_checks_and_emits() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        let out = lumen().arg("check").arg(&p).output().unwrap();
        assert!(
            out.status.success(),
            "{}:\n{}",
            p.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let out = lumen().arg("emit").arg(&p).output().unwrap();
        assert!(out.status.success());
        let m: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        for key in [
            "version",
            "doc_hash",
            "cells",
            "types",
            "tools",
            "grants",
            "effects",
            "handlers",
            "processes",
            "directives",
        ] {
            assert!(m.get(key).is_some(), "LIR lacks `{key}`");
        }
        assert!(m["doc_hash"].as_str().unwrap().starts_with("sha256:"));
        for c in m["cells"].as_array().unwrap() {
            assert!(c["name"].is_string() && c["returns"].is_string());
            assert!(c["registers"].as_u64().unwrap() >= 1);
            assert!(c["params"]
                .as_array()
                .unwrap()
                .iter()
                .all(|p| p["name"].is_string() && p["type"].is_string()));
            for i in c["instructions"].as_array().unwrap() {
                assert!(
                    i["op"].is_string() && i["a"].is_i64() && i["b"].is_i64() && i["c"].is_i64()
                );
            }
        }
        n += 1;
    }
    assert!(n >= 4);
}

#[test]
fn emit_writes_out_and_fails_on_errors() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("p.lm");
    std::fs::write(&f, "cell main() -> Int = 7\n").unwrap();
    let out = dir.path().join("p.json");
    lumen()
        .arg("emit")
        .arg(&f)
        .arg("-o")
        .arg(&out)
        .assert()
        .success()
        .stdout("");
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(m["cells"][0]["name"], "main");
    std::fs::write(&f, "cell main() -> Int = \"no\"\n").unwrap();
    lumen().arg("emit").arg(&f).assert().code(1).stdout("");
}

#[test]
fn emit_into_a_closed_pipe_ends_quietly() {
    // `lumen emit f | head -c 1`: the reader is gone before lumen writes
    // (it is still compiling when the read end is dropped), which is the
    // end of the output, not an error.
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("p.lm");
    std::fs::write(&f, "cell main() -> Int = 7\n").unwrap();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("lumen"))
        .arg("emit")
        .arg(&f)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{:?}", out.status);
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

#[test]
fn fmt_canonicalises_and_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("messy.lm.md");
    let messy = "# Title\n\n```lumen\ncell f(n: Int) -> Int   \nif n > 0\n      return n\nend\n\n\n\n    return 0\nend\n```\n\nProse   stays.   \n";
    std::fs::write(&f, messy).unwrap();
    lumen()
        .args(["fmt", "--check"])
        .arg(&f)
        .assert()
        .code(1)
        .stdout(format!("{}\n", f.display()));
    assert_eq!(
        std::fs::read_to_string(&f).unwrap(),
        messy,
        "--check writes nothing"
    );
    lumen().arg("fmt").arg(&f).assert().success();
    let once = std::fs::read_to_string(&f).unwrap();
    assert_eq!(
        once,
        "# Title\n\n```lumen\ncell f(n: Int) -> Int\n  if n > 0\n    return n\n  end\n\n  return 0\nend\n```\n\nProse   stays.   \n"
    );
    lumen()
        .args(["fmt", "--check"])
        .arg(&f)
        .assert()
        .success()
        .stdout("");
    // The corpus is already canonical.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    for e in std::fs::read_dir(&dir).unwrap() {
        lumen()
            .args(["fmt", "--check"])
            .arg(e.unwrap().path())
            .assert()
            .success();
    }
}

/// Generic parameters are inferred per call (§8.2): two arguments that bind
/// `T` to unrelated types, a result used at the wrong type, and generic
/// records and enums whose fields disagree are each one `type mismatch`.
#[test]
fn generics_are_unified_per_call() {
    let lib = "cell pair[T](a: T, b: T) -> list[T] = [a, b]\ncell first[T](xs: list[T]) -> T? = if len(xs) > 0 then xs[0] else null\nrecord Box[V]\n  a: V\n  b: V\nend\nenum Tree[T]\n  Leaf(T)\n  Node(Tree[T], T, Tree[T])\nend\n";
    must_fail(
        "type mismatch",
        "11:19",
        &format!("{lib}let bad = pair(1, \"x\")\n"),
    );
    must_fail(
        "type mismatch",
        "11:17",
        &format!("{lib}let s: String = pair(1, 2)[0]\n"),
    );
    must_fail(
        "type mismatch",
        "11:14",
        &format!("{lib}let n: Int = first([\"a\"]) ?? 0\n"),
    );
    must_fail(
        "type mismatch",
        "11:22",
        &format!("{lib}let b = Box(a: 1, b: \"two\")\n"),
    );
    must_fail(
        "type mismatch",
        "11:23",
        &format!("{lib}let t = Node(Leaf(1), \"x\", Leaf(2))\n"),
    );
    must_fail(
        "type mismatch",
        "11:22",
        &format!("{lib}let u: Box[String] = Box(a: 1, b: 2)\n"),
    );
    must_fail(
        "type mismatch",
        "11:17",
        &format!("{lib}let w: String = [1, 2].first() ?? \"none\"\n"),
    );
    // Widening and unbound parameters are fine.
    let (status, _, stderr) = check(&format!(
        "{lib}let f: list[Float] = pair(1, 2.5)\nlet e = first([])\nlet x: Int = first([3]) ?? 0\nlet y: Box[Int] = Box(a: 1, b: 2)\nprint(f, e, x, y.a)\n"
    ));
    assert_eq!(status, 0, "{stderr}");
}

/// Named imports bring only the listed names (§4.6); `*` brings all of a
/// module's own names; `as` renames cells. A name the importer did not
/// list is reported with the import to add.
#[test]
fn imports_bring_only_the_names_listed() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("shapes")).unwrap();
    std::fs::write(
        dir.path().join("shapes/area.lm"),
        "import util: square\nconst PI = 3.14159\nrecord Square\n  side: Float\nend\nenum Kind\n  Round\n  Flat\nend\ncell circle_area(r: Float) -> Float = PI * square(r)\ncell square_area(s: Square) -> Float = square(s.side)\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("shapes/util.lm"),
        "cell square(x: Float) -> Float = x * x\ncell unused_helper() -> Int = 1\n",
    )
    .unwrap();
    let run = |code: &str| {
        let f = dir.path().join("prog.lm");
        std::fs::write(&f, code).unwrap();
        let out = lumen().arg("check").arg(&f).output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    // Listed names, an enum with its variants, a renamed cell.
    let (status, stderr) = run("import shapes.area: circle_area, Square, Kind, square_area as sq\nlet k = Round\nprint(circle_area(1.0), sq(Square(side: 2.0)), k)\n");
    assert_eq!(status, 0, "{stderr}");
    // A name the import did not list.
    let (status, stderr) =
        run("import shapes.area: circle_area\nprint(square_area(Square(side: 2.0)))\n");
    assert_eq!(status, 1);
    assert!(
        stderr.contains("prog.lm:2:7: error[undefined cell]: cell `square_area` is declared in module `shapes.area`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("import shapes.area: square_area"),
        "the help names the import to add:\n{stderr}"
    );
    // What the module imports itself is not re-exported, even with `*`.
    let (status, stderr) = run("import shapes.area: *\nprint(square(2.0), PI)\n");
    assert_eq!(status, 1);
    assert!(stderr.contains("module `util`"), "{stderr}");
    assert!(!stderr.contains("`PI`"), "`*` brings PI:\n{stderr}");
    // Types are checked too.
    let (status, stderr) = run("import shapes.area: circle_area\ncell f(s: Square) -> Float = 1.0\nprint(circle_area(f(null)))\n");
    assert_eq!(status, 1);
    assert!(
        stderr.contains("error[undefined type]: type `Square`"),
        "{stderr}"
    );
    // A name the module does not have; renaming a record.
    let (status, stderr) = run("import shapes.area: circle_aera\n");
    assert_eq!(status, 1);
    assert!(stderr.contains("did you mean `circle_area`?"), "{stderr}");
    let (status, stderr) = run("import shapes.area: Square as Sq\n");
    assert_eq!(status, 1);
    assert!(stderr.contains("error[import error]"), "{stderr}");
}
