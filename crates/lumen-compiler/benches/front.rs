//! Front-end throughput on a generated 100,000-line program (issue 6's
//! benchmark): lines per second through extraction, lexing, parsing,
//! `check` (through typechecking) and `emit` (LIR serialised to JSON).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

/// A Markdown document of `cells` cells, 10 lines each, with the usual
/// mix: records, strings with interpolation, pipes, matches, comments.
pub fn program(lines: usize) -> String {
    let mut s = String::from("# Generated\n\n```lumen\n");
    let mut n = 3;
    let mut i = 0;
    while n + 12 < lines {
        s.push_str(&format!(
            "record R{i}\n  id: Int\n  name: String\nend\n\
             cell f{i}(x: Int, rs: list[R{i}]) -> String # doc {i}\n  let total = count(rs) + x * 0x{i:x}\n  \
             let label = \"item {{x:>8}} of {{total:.2f}}\"\n  match x % 3\n    0 -> return label\n    _ -> \"{{label}}-{i}\"\n  end\nend\n"
        ));
        n += 12;
        i += 1;
    }
    s.push_str("```\n");
    s
}

fn bench(c: &mut Criterion) {
    let src = program(100_000);
    let lines = src.lines().count() as u64;
    let mut g = c.benchmark_group("front-end 100k lines");
    g.throughput(Throughput::Elements(lines));
    g.sample_size(20);
    g.bench_function("extract", |b| {
        b.iter(|| lumen_compiler::source::extract("gen.lm.md", &src))
    });
    let code = lumen_compiler::source::extract("gen.lm.md", &src).code;
    g.bench_function("lex", |b| b.iter(|| lumen_compiler::lexer::lex(&code)));
    g.bench_function("extract + lex", |b| {
        b.iter(|| {
            let s = lumen_compiler::source::extract("gen.lm.md", &src);
            lumen_compiler::lexer::lex(&s.code)
        })
    });
    let (toks, _) = lumen_compiler::lexer::lex(&code);
    g.bench_function("parse", |b| {
        b.iter(|| lumen_compiler::parser::parse_program(&toks))
    });
    let opts = lumen_compiler::resolve::Options::default();
    let c = lumen_compiler::check("gen.lm.md", &src, &opts);
    assert!(
        !c.has_errors(),
        "{:?}",
        &c.diagnostics[..c.diagnostics.len().min(3)]
    );
    g.bench_function("check", |b| {
        b.iter(|| lumen_compiler::check("gen.lm.md", &src, &opts))
    });
    g.bench_function("emit", |b| {
        b.iter(|| {
            let c = lumen_compiler::compile("gen.lm.md", &src, &opts);
            serde_json::to_string(&c.module).map(|s| s.len())
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
