//! The lexer over whole programs: a snapshot of the token stream of a
//! representative program, and the sweep of the language reference (every
//! `lumen` fence of `docs/lumen/reference.md`, or of the file `LUMEN_SPEC`
//! names, must lex cleanly; `lumen-cli`'s sweep checks them fully).

use lumen_compiler::lexer::{lex, StrPart, TokenKind};
use lumen_compiler::source::extract;

/// A compact, readable rendering of a token stream (one line per line).
fn render(kinds: &[TokenKind]) -> String {
    let mut out = String::new();
    for k in kinds {
        let t = match k {
            TokenKind::Int(v) => format!("{v}"),
            TokenKind::Float(v) => format!("{v:?}"),
            TokenKind::Str(parts) => {
                let inner: Vec<String> = parts
                    .iter()
                    .map(|p| match p {
                        StrPart::Text(t) => format!("{t:?}"),
                        StrPart::Interp { tokens, spec, .. } => format!(
                            "{{{}{}}}",
                            render(&tokens.iter().map(|t| t.kind.clone()).collect::<Vec<_>>())
                                .trim(),
                            spec.as_ref().map(|s| format!(":{s:?}")).unwrap_or_default()
                        ),
                    })
                    .collect();
                format!("str[{}]", inner.join(" "))
            }
            TokenKind::RawStr(s) => format!("raw{s:?}"),
            TokenKind::Bytes(b) => format!("bytes{b:?}"),
            TokenKind::Ident(s) => s.clone(),
            TokenKind::Kw(k) => format!("kw:{}", k.as_str()),
            TokenKind::Sym(s) => format!("'{s}'"),
            TokenKind::Newline => "NL\n".into(),
            TokenKind::Indent => "INDENT".into(),
            TokenKind::Dedent => "DEDENT".into(),
            TokenKind::Eof => "EOF".into(),
        };
        out.push_str(&t);
        if !t.ends_with('\n') {
            out.push(' ');
        }
    }
    out
}

const PROGRAM: &str = r#"# A report, in Markdown.

@strict true

```lumen
record Reading
  sensor: String
  hz: Float
end

cell summary(rs: list[Reading]) -> String
  let total = rs |> map(fn(r) -> r.hz)
    |> sum()
  let mean = total / len(rs)
  match mean
    m if m < 49.8 ->
      return "low: {m:.2f} Hz"
    _ -> "ok {mean:>8.3f} {len(rs)}"
  end
end
```

Some prose, then more code:

```lm
let n = 0x2A + 1_000 - 2.5e3
print(summary([Reading(sensor: "a", hz: 50.01)]) ?? r"none\n")
let raw = b"00ff"
```
"#;

#[test]
fn snapshot_of_a_representative_program() {
    let src = extract("report.lm.md", PROGRAM);
    let (tokens, diags) = lex(&src.code);
    assert!(diags.is_empty(), "{diags:?}");
    // Line numbers are those of the Markdown file.
    let summary = tokens
        .iter()
        .find(|t| t.kind == TokenKind::Ident("summary".into()))
        .unwrap();
    assert_eq!(summary.span.line, 11);
    let kinds: Vec<TokenKind> = tokens.into_iter().map(|t| t.kind).collect();
    insta::assert_snapshot!(render(&kinds));
}

#[test]
fn every_lumen_fence_of_the_reference_lexes() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let spec = std::env::var_os("LUMEN_SPEC")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| root.join("docs/lumen/reference.md"));
    let Ok(text) = std::fs::read_to_string(&spec) else {
        // Straight to the process's stderr: the test harness captures
        // `eprintln!` of passing tests, and a skip must be seen.
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED every_lumen_fence_of_the_reference_lexes: the language reference is not at {} (set LUMEN_SPEC to its path)",
            spec.display()
        );
        return;
    };
    // Each fence on its own, so one example's error names that example.
    let mut fences = 0;
    let mut failures = Vec::new();
    let mut lines = text.lines().enumerate();
    while let Some((i, line)) = lines.next() {
        let info = line.trim_start().trim_start_matches('`');
        if !line.trim_start().starts_with("```")
            || !matches!(info.split_whitespace().next(), Some("lumen" | "lm"))
        {
            continue;
        }
        // The prose just before says whether the example is an error.
        let mut body = String::new();
        for (_, l) in lines.by_ref() {
            if l.trim_start().starts_with("```") {
                break;
            }
            body.push_str(l);
            body.push('\n');
        }
        fences += 1;
        let (_, diags) = lex(&body);
        if let Some(d) = diags.first() {
            failures.push(format!(
                "fence at line {}: {}:{}: {}",
                i + 1,
                d.span.line,
                d.span.col,
                d.message
            ));
        }
    }
    assert!(
        fences > 20,
        "only {fences} lumen fences found in {}",
        spec.display()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
