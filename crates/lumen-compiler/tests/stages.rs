//! Whole-program tests of the stages: snapshots of the AST and of LIR for
//! representative programs, the resolver's and typechecker's verdicts on
//! the shared corpus, and "compile never panics" on arbitrary and mutated
//! sources.

use lumen_compiler::resolve::Options;
use lumen_compiler::{compile, Severity};
use proptest::prelude::*;

const SMALL: &str = r#"record Pair
  a: Int
  b: Int = 0
end

cell swap(p: Pair) -> Pair = Pair(a: p.b, b: p.a)

cell classify(n: Int) -> String
  match n
    0 -> "zero"
    x if x < 0 -> "negative"
    _ -> "positive"
  end
end

let p = swap(Pair(a: 1))
print(classify(p.a), "{p.b:>4}")
"#;

fn parse(code: &str) -> lumen_compiler::ast::Program {
    let (toks, d) = lumen_compiler::lex(code);
    assert!(d.is_empty(), "{d:?}");
    let (prog, d, _) = lumen_compiler::parser::parse_program(&toks);
    assert!(d.is_empty(), "{d:?}");
    prog
}

#[test]
fn ast_snapshot() {
    insta::assert_yaml_snapshot!(parse(SMALL));
}

#[test]
fn lir_snapshot() {
    let c = compile("small.lm", SMALL, &Options::default());
    assert!(!c.has_errors(), "{:?}", c.diagnostics);
    insta::assert_yaml_snapshot!(c.module.expect("module"));
}

fn corpus() -> Vec<(String, String)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../lumen-cli/tests/corpus");
    let mut out: Vec<(String, String)> = std::fs::read_dir(dir)
        .expect("corpus")
        .map(|e| {
            let p = e.expect("entry").path();
            (
                p.display().to_string(),
                std::fs::read_to_string(&p).expect("read"),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn corpus_compiles_to_lir_with_resolved_targets() {
    for (path, text) in corpus() {
        let c = compile(&path, &text, &Options::default());
        assert!(!c.has_errors(), "{path}: {:?}", c.diagnostics);
        let m = c.module.expect("module");
        let cells = m.cells.len() as i64;
        for cell in &m.cells {
            for i in &cell.instructions {
                use lumen_compiler::lir::Op;
                match i.op {
                    Op::Call | Op::LoadCell | Op::Closure => {
                        assert!(
                            (0..cells).contains(&i.b),
                            "{path}: {} calls a missing cell",
                            cell.name
                        )
                    }
                    Op::Jump => assert!((0..=cell.instructions.len() as i64).contains(&i.a)),
                    Op::LoadConst => assert!((0..cell.constants.len() as i64).contains(&i.b)),
                    _ => {}
                }
                for r in [i.a] {
                    if matches!(i.op, Op::Move | Op::LoadConst | Op::Add | Op::Call) {
                        assert!(
                            r < cell.registers as i64,
                            "{path}: register {r} beyond {}",
                            cell.registers
                        );
                    }
                }
            }
        }
    }
}

fn mutate(src: &str, cuts: &[(usize, usize, u8)]) -> String {
    let mut b = src.as_bytes().to_vec();
    for &(at, len, byte) in cuts {
        if b.is_empty() {
            break;
        }
        let at = at % b.len();
        let end = (at + len % 8).min(b.len());
        b.splice(at..end, [byte]);
    }
    String::from_utf8_lossy(&b).into_owned()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn compile_never_panics_on_arbitrary_text(s in "[ -~\n\t]{0,400}") {
        let c = compile("fuzz.lm", &s, &Options::default());
        // Errors are reported, never thrown.
        let _ = c.diagnostics.iter().filter(|d| d.severity == Severity::Error).count();
    }

    #[test]
    fn compile_never_panics_on_mutated_programs(
        which in 0usize..5,
        cuts in proptest::collection::vec((0usize..4000, 0usize..8, prop::sample::select(b"()[]{}:=\n end|->\"x1.".to_vec())), 1..6)
    ) {
        let mut sources = vec![SMALL.to_string()];
        sources.extend(corpus().into_iter().map(|c| c.1));
        let src = &sources[which % sources.len()];
        let m = mutate(src, &cuts);
        let _ = compile("fuzz.lm.md", &m, &Options::default());
        let _ = lumen_compiler::fmt::format("fuzz.lm.md", &m);
    }
}

/// Every line of `text` with three spaces between all its tokens (comments
/// and multi-line tokens kept): the same program, spaced badly.
fn spread(path: &str, text: &str) -> String {
    let src = lumen_compiler::extract(path, text);
    let (toks, _) = lumen_compiler::lex(&src.code);
    let mut lines: Vec<String> = text.split('\n').map(str::to_string).collect();
    let code: Vec<&str> = src.code.split('\n').collect();
    let mut starts = vec![0usize];
    for l in &code {
        starts.push(starts.last().unwrap() + l.len() + 1);
    }
    let mut by_line: std::collections::BTreeMap<usize, Vec<&lumen_compiler::Token>> =
        Default::default();
    for t in &toks {
        if !matches!(
            t.kind,
            lumen_compiler::TokenKind::Newline
                | lumen_compiler::TokenKind::Indent
                | lumen_compiler::TokenKind::Dedent
                | lumen_compiler::TokenKind::Eof
        ) {
            by_line.entry(t.span.line as usize).or_default().push(t);
        }
    }
    for (line, ts) in by_line {
        let (a, b) = (starts[line - 1], starts[line - 1] + code[line - 1].len());
        // Multi-line tokens, and role lines (`NAME:` must stay together).
        if ts.iter().any(|t| {
            t.span.end as usize > b
                || t.kind == lumen_compiler::TokenKind::Kw(lumen_compiler::lexer::Keyword::Role)
        }) {
            continue;
        }
        let mut s = " ".repeat(code[line - 1].len() - code[line - 1].trim_start().len());
        for (i, t) in ts.iter().enumerate() {
            if i > 0 {
                s.push_str("   ");
            }
            s.push_str(&src.code[t.span.start as usize..t.span.end as usize]);
        }
        s.push_str(&src.code[ts.last().unwrap().span.end as usize..b]);
        let _ = a;
        lines[line - 1] = s;
    }
    lines.join("\n")
}

#[test]
fn fmt_undoes_any_spacing_and_is_idempotent() {
    let mut sources = vec![("small.lm".to_string(), SMALL.to_string())];
    sources.extend(corpus());
    let spec = std::env::var_os("LUMEN_SPEC")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/lumen/reference.md")
        });
    match std::fs::read_to_string(&spec) {
        Ok(t) => sources.push((spec.display().to_string(), t)),
        Err(e) => eprintln!(
            "fmt test: the reference {} is not here ({e}); its fences are skipped",
            spec.display()
        ),
    }
    for (path, text) in sources {
        let canonical = lumen_compiler::fmt::format(&path, &text).expect("formats");
        let again = lumen_compiler::fmt::format(&path, &canonical).expect("formats");
        assert_eq!(canonical, again, "{path}: not idempotent");
        let messy = spread(&path, &text);
        assert_ne!(messy, text, "{path}: spreading changed nothing");
        let from_messy = lumen_compiler::fmt::format(&path, &messy).expect("formats");
        assert_eq!(from_messy, canonical, "{path}: spacing not canonicalised");
    }
}

#[test]
fn fmt_spacing_rules() {
    let cases = [
        ("let xs=[ 1,2 , -3 ]\n", "let xs = [1, 2, -3]\n"),
        ("let m = {\"a\" :1}\n", "let m = {\"a\": 1}\n"),
        ("let r = 0 .. 10\n", "let r = 0..10\n"),
        ("let y = xs [0] + -n*2   # keep   this\n", "let y = xs[0] + -n * 2   # keep   this\n"),
        ("let z = 1\nlet w = z\n  - 3\n", "let z = 1\nlet w = z\n  - 3\n"),
        ("cell f( a:Int,b :Int )->Int=a+b\n", "cell f(a: Int, b: Int) -> Int = a + b\n"),
        ("let t = int ( \"4\" ) + f [0] ( 1 )\n", "let t = int(\"4\") + f[0](1)\n"),
        ("cell g(xs : list [Int]) -> Int = 0\n", "cell g(xs: list[Int]) -> Int = 0\n"),
        ("let u = not(a)and b!\n", "let u = not (a) and b!\n"),
        ("use tool http.get @2 as Fetch\n", "use tool http.get@2 as Fetch\n"),
        ("xs.each( ) do | x |\n  print(x)\nend\n", "xs.each() do |x|\n  print(x)\nend\n"),
        ("let a = 1 ; let b = ( 1 , )\n", "let a = 1; let b = (1,)\n"),
        (
            "record P\n  x: Int\nend\ncell a() -> Int = 1\n@test\ncell b() -> Bool\n  true\nend\n",
            "record P\n  x: Int\nend\n\ncell a() -> Int = 1\n\n@test\ncell b() -> Bool\n  true\nend\n",
        ),
    ];
    for (input, want) in cases {
        let got = lumen_compiler::fmt::format("t.lm", input)
            .unwrap_or_else(|e| panic!("{input:?} does not format: {e:?}"));
        assert_eq!(got, want, "formatting {input:?}");
    }
}
