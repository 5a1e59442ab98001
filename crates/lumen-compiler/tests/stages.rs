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
