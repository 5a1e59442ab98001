use super::*;

fn kinds(src: &str) -> Vec<TokenKind> {
    let (t, d) = lex(src);
    assert!(d.is_empty(), "unexpected diagnostics: {d:?}");
    t.into_iter().map(|t| t.kind).collect()
}

fn errors(src: &str) -> Vec<String> {
    let (_, d) = lex(src);
    assert!(d.iter().all(|d| d.kind == Kind::LexError));
    d.into_iter().map(|d| d.message).collect()
}

fn sym(s: &'static str) -> TokenKind {
    TokenKind::Sym(s)
}

fn id(s: &str) -> TokenKind {
    TokenKind::Ident(s.into())
}

use TokenKind::{Dedent, Eof, Indent, Int, Kw, Newline};

#[test]
fn statements_newlines_and_comments() {
    assert_eq!(
        kinds("let a = 1 # one\n\n# only a comment\nlet b = a; b\n"),
        vec![
            Kw(Keyword::Let),
            id("a"),
            sym("="),
            Int(1),
            Newline,
            Kw(Keyword::Let),
            id("b"),
            sym("="),
            id("a"),
            sym(";"),
            id("b"),
            Newline,
            Eof
        ]
    );
}

#[test]
fn indentation_makes_indent_and_dedent_and_tabs_count_two() {
    let k = kinds("cell f()\n  if x\n\t\treturn 1\n  end\nend\n");
    let shape: Vec<&TokenKind> = k
        .iter()
        .filter(|k| matches!(k, Indent | Dedent | Newline))
        .collect();
    assert_eq!(
        shape,
        [&Newline, &Indent, &Newline, &Indent, &Newline, &Dedent, &Newline, &Dedent, &Newline]
    );
    let e = errors("if x\n    a\n  b\nend\n");
    assert_eq!(e.len(), 1);
    assert!(e[0].contains("column 3"), "{e:?}");
}

#[test]
fn brackets_backslashes_and_leading_operators_continue_lines() {
    let k = kinds(
        "let xs = [1,\n  2,\n    3]\nlet s = 1 + \\\n  2\nlet t = a\n  |> f()\n  .g\n  and b\n",
    );
    let newlines = k.iter().filter(|k| **k == Newline).count();
    assert_eq!(newlines, 3, "{k:?}");
    assert!(!k.contains(&Indent), "continued lines do not indent: {k:?}");
    // `-a` on the next line continues: `let a = 5 - a`.
    assert_eq!(
        kinds("let a = 5\n-a\n"),
        vec![
            Kw(Keyword::Let),
            id("a"),
            sym("="),
            Int(5),
            sym("-"),
            id("a"),
            Newline,
            Eof
        ]
    );
    // `..` and `**` are not continuation tokens.
    let k = kinds("a\n..b\n");
    assert_eq!(k.iter().filter(|k| **k == Newline).count(), 2);
}

#[test]
fn numbers_of_every_form() {
    assert_eq!(
        kinds("42 0x2A 0b101010 0o52 1_000_000 2.5 6.02e23 1E-9 3.0\n")[..9],
        [
            Int(42),
            Int(42),
            Int(42),
            Int(42),
            Int(1_000_000),
            TokenKind::Float(2.5),
            TokenKind::Float(6.02e23),
            TokenKind::Float(1e-9),
            TokenKind::Float(3.0)
        ]
    );
    // `.5` and `5.` are not floats; `1.abs` is a method call on 1.
    assert_eq!(kinds(".5\n")[..2], [sym("."), Int(5)]);
    assert_eq!(kinds("5..6\n")[..3], [Int(5), sym(".."), Int(6)]);
    assert_eq!(kinds("1.abs\n")[..3], [Int(1), sym("."), id("abs")]);
    assert_eq!(kinds("9223372036854775808\n")[0], Int(1 << 63));
    assert!(errors("9223372036854775809\n")[0].contains("larger than"));
    assert!(errors("0xFFFFFFFFFFFFFFFFF\n")[0].contains("larger than"));
    assert!(errors("12abc\n")[0].contains("not a number"));
    assert!(errors("0x\n")[0].contains("needs digits"));
}

#[test]
fn keywords_soft_keywords_and_maximal_munch() {
    assert_eq!(
        kinds("cell agent end state x\n")[..5],
        [
            Kw(Keyword::Cell),
            id("agent"),
            Kw(Keyword::End),
            id("state"),
            id("x")
        ]
    );
    assert_eq!(
        kinds("a //= b ** c <=> d ?. e ?[ f ] ..= ... |> ~> ?? => ->\n")
            .into_iter()
            .filter(|k| matches!(k, TokenKind::Sym(_)))
            .collect::<Vec<_>>(),
        ["//=", "**", "<=>", "?.", "?[", "]", "..=", "...", "|>", "~>", "??", "=>", "->"].map(sym)
    );
}

fn text(parts: &[StrPart]) -> String {
    parts
        .iter()
        .map(|p| match p {
            StrPart::Text(t) => t.clone(),
            StrPart::Interp { .. } => "<>".into(),
        })
        .collect()
}

fn string(src: &str) -> Vec<StrPart> {
    match kinds(src).remove(0) {
        TokenKind::Str(p) => p,
        other => panic!("not a string: {other:?}"),
    }
}

#[test]
fn strings_escapes_and_literal_braces() {
    assert_eq!(
        text(&string(r#""a\tb\n\\\"\{x}\x41\u{1F600}\0""#)),
        "a\tb\n\\\"{x}A\u{1F600}\0"
    );
    // `{` is text unless an expression can start after it.
    assert_eq!(text(&string(r#""{" "#)), "{");
    assert_eq!(text(&string(r#""{ } {} }""#)), "{ } {} }");
    assert!(errors(r#""\q""#)[0].contains("unknown escape \\q"));
    assert!(errors(r#""\x80""#)[0].contains("at most 7F"));
    assert!(errors("\"open\nx\n")[0].contains("unterminated string"));
    assert!(errors(r#"b"4865f""#)[0].contains("even number"));
    assert_eq!(kinds(r#"b"4865""#)[0], TokenKind::Bytes(vec![0x48, 0x65]));
    assert_eq!(
        kinds(r#"r"a\n{x}""#)[0],
        TokenKind::RawStr(r"a\n{x}".into())
    );
}

#[test]
fn interpolation_with_nested_expressions_and_format_specs() {
    let p =
        string(r#""[{ratio:.3f}] [{code:#x}] [{m["k"]:>8}] [{tag:*^6}] [{f(a, (b)):03d}] {-x}""#);
    let specs: Vec<Option<FormatSpec>> = p
        .iter()
        .filter_map(|p| match p {
            StrPart::Interp { spec, .. } => Some(spec.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(specs.len(), 6);
    assert_eq!(
        specs[0],
        Some(FormatSpec {
            precision: Some(3),
            ty: Some('f'),
            ..Default::default()
        })
    );
    assert_eq!(
        specs[1],
        Some(FormatSpec {
            alternate: true,
            ty: Some('x'),
            ..Default::default()
        })
    );
    assert_eq!(specs[2].as_ref().unwrap().width, Some(8));
    assert_eq!(specs[3].as_ref().unwrap().fill, Some('*'));
    assert_eq!(specs[3].as_ref().unwrap().align, Some('^'));
    assert!(specs[4].as_ref().unwrap().zero);
    assert_eq!(specs[5], None);
    // The expressions are tokens with positions in the file.
    let StrPart::Interp { tokens, .. } = &p[5] else {
        panic!("{p:?}")
    };
    let k: Vec<&TokenKind> = tokens.iter().map(|t| &t.kind).collect();
    assert_eq!(
        k,
        [
            &id("m"),
            &sym("["),
            &TokenKind::Str(vec![StrPart::Text("k".into())]),
            &sym("]")
        ]
    );
    assert!(errors(r#""{x:q}""#)[0].contains("invalid format spec"));
    assert!(errors(r#""{x""#)[0].contains("unterminated interpolation"));
}

#[test]
fn interpolated_tokens_carry_file_positions() {
    let (t, _) = lex("let s = \"ab {total + 1}\"\n");
    let TokenKind::Str(parts) = &t[3].kind else {
        panic!()
    };
    let StrPart::Interp { tokens, .. } = &parts[1] else {
        panic!()
    };
    assert_eq!(tokens[0].kind, id("total"));
    assert_eq!((tokens[0].span.line, tokens[0].span.col), (1, 14));
    assert_eq!(tokens[2].kind, Int(1));
}

#[test]
fn triple_quoted_strings_are_dedented() {
    let src = "let s = \"\"\"\n    Dear {name},\n      thanks.\n    \"\"\"\nlet t = 1\n";
    let (t, d) = lex(src);
    assert!(d.is_empty(), "{d:?}");
    let TokenKind::Str(parts) = &t[3].kind else {
        panic!("{:?}", t[3])
    };
    assert_eq!(text(parts), "Dear <>,\n  thanks.");
    // Lines after the string keep their numbers.
    let let_t = t.iter().rev().find(|t| t.kind == Kw(Keyword::Let)).unwrap();
    assert_eq!(let_t.span.line, 5);
    let raw = "r\"\"\"\n  a\\n\n    b\n  \"\"\"\n";
    assert_eq!(kinds(raw)[0], TokenKind::RawStr("a\\n\n  b".into()));
}

#[test]
fn positions_are_line_and_column() {
    let (t, _) = lex("let a = 1\n  print(a)\n");
    let print = t.iter().find(|t| t.kind == id("print")).unwrap();
    assert_eq!((print.span.line, print.span.col), (2, 3));
    let (t, _) = lex("let é = 1\n");
    // Unicode is not an identifier character.
    let _ = t;
    assert!(errors("let é = 1\n")[0].contains("unexpected character"));
}

#[test]
fn format_specs_parse_every_part() {
    assert_eq!(
        parse_spec("_<+#010.2f").unwrap(),
        FormatSpec {
            fill: Some('_'),
            align: Some('<'),
            sign: Some('+'),
            alternate: true,
            zero: true,
            width: Some(10),
            precision: Some(2),
            ty: Some('f'),
        }
    );
    assert_eq!(parse_spec("").unwrap(), FormatSpec::default());
    assert!(parse_spec(".").is_err());
    assert!(parse_spec("5z").is_err());
}

mod fuzz {
    use super::*;
    use proptest::prelude::*;

    const SAMPLE: &str = "cell main() -> Int\n  let xs = [1, 2.5, \"a{b:>3}\", r\"x\", b\"00\"]\n  if x |> f() ?? 0 >= 3\n    return 0x1F\n  end\n  let p = role sys: Hé {x} end\n  let q = role u:\n    é{y:>3}\n  end\n  \"\"\"\n    t {y}\n  \"\"\"\nend\n";

    proptest! {
        // PROPTEST_CASES raises it for a longer run.
        #![proptest_config(ProptestConfig::with_cases(
            std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(2000)
        ))]

        #[test]
        fn never_panics_on_arbitrary_text(s in "\\PC*") {
            let _ = lex(&s);
        }

        #[test]
        fn never_panics_on_mutated_programs(cut in 0usize..200, at in 0usize..200, c in any::<char>()) {
            let mut s: Vec<char> = SAMPLE.chars().collect();
            let at = at % s.len();
            s.insert(at, c);
            s.truncate(s.len().saturating_sub(cut % 50));
            let s: String = s.into_iter().collect();
            let (t, _) = lex(&s);
            prop_assert!(matches!(t.last().map(|t| &t.kind), Some(TokenKind::Eof)));
        }
    }
}

#[test]
fn role_blocks_are_text_to_the_end_of_the_line_or_to_end() {
    let k = kinds("let p = role system: You're brief, {name}.\n");
    assert_eq!(k[3], Kw(Keyword::Role));
    assert_eq!(k[4], id("system"));
    assert_eq!(k[5], sym(":"));
    let TokenKind::Str(parts) = &k[6] else {
        panic!("{k:?}")
    };
    assert_eq!(text(parts), "You're brief, <>.");
    assert_eq!(k[7], Newline);
    // An `end` on the same line closes it.
    let k = kinds("f(role user: hi there end)\n");
    assert_eq!(k[5], TokenKind::Str(vec![StrPart::Text("hi there".into())]));
    assert_eq!(k[6], sym(")"));
    // The multi-line form: the lines up to `end`, dedented.
    let src = "let p = role system:\n    Line one\n      indented {x}\n  end\nprint(p)\n";
    let (t, d) = lex(src);
    assert!(d.is_empty(), "{d:?}");
    let TokenKind::Str(parts) = &t[6].kind else {
        panic!("{t:?}")
    };
    assert_eq!(text(parts), "Line one\n  indented <>");
    assert_eq!(t[7].kind, Newline);
    let print = t.iter().find(|t| t.kind == id("print")).unwrap();
    assert_eq!(print.span.line, 5);
    assert!(!t.iter().any(|t| t.kind == Kw(Keyword::End)));
    assert!(errors("let p = role system:\n  never closed\n")[0].contains("needs a line `end`"));
}
