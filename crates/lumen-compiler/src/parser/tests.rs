use super::*;
use crate::ast::PatternKind as P;

fn ty(s: &str) -> TypeExpr {
    parse_type_str(s).unwrap_or_else(|e| panic!("{s}: {}", e.message))
}

fn named(n: &str, args: Vec<TypeExpr>) -> TypeExpr {
    TypeExpr::Named {
        name: n.into(),
        args,
    }
}

fn int() -> TypeExpr {
    named("Int", vec![])
}

#[test]
fn types_of_every_form() {
    assert_eq!(ty("Int"), int());
    assert_eq!(ty("list[Int]"), named("list", vec![int()]));
    assert_eq!(
        ty("map[String, list[Int]]"),
        named(
            "map",
            vec![named("String", vec![]), named("list", vec![int()])]
        )
    );
    assert_eq!(
        ty("(Int, Float)"),
        TypeExpr::Tuple(vec![int(), named("Float", vec![])])
    );
    assert_eq!(ty("(Int,)"), TypeExpr::Tuple(vec![int()]));
    assert_eq!(ty("(Int)"), int());
    assert_eq!(ty("()"), TypeExpr::Tuple(vec![]));
    assert_eq!(ty("Int?"), TypeExpr::Optional(Box::new(int())));
    assert_eq!(
        ty("Int | String | Null"),
        TypeExpr::Union(vec![int(), named("String", vec![]), named("Null", vec![])])
    );
    assert_eq!(
        ty("fn(Int, String) -> Bool / {emit, net}"),
        TypeExpr::Fn {
            params: vec![int(), named("String", vec![])],
            ret: Box::new(named("Bool", vec![])),
            effects: Some(vec!["emit".into(), "net".into()]),
        }
    );
    assert_eq!(
        ty("fn() -> Null / {}"),
        TypeExpr::Fn {
            params: vec![],
            ret: Box::new(named("Null", vec![])),
            effects: Some(vec![]),
        }
    );
    assert_eq!(
        ty("result[Int, String]"),
        named("result", vec![int(), named("String", vec![])])
    );
    assert_eq!(
        ty("Pair[A, B]?"),
        TypeExpr::Optional(Box::new(named(
            "Pair",
            vec![named("A", vec![]), named("B", vec![])]
        )))
    );
    assert_eq!(ty("int"), named("int", vec![]));
}

#[test]
fn bad_types_say_what_was_expected() {
    let e = parse_type_str("list[]").unwrap_err();
    assert_eq!(e.kind, Kind::ParseError);
    assert!(
        e.message.contains("at least one type argument"),
        "{}",
        e.message
    );
    let e = parse_type_str("fn(Int) Bool").unwrap_err();
    assert_eq!(e.message, "expected `->`, found `Bool`");
    assert_eq!((e.span.line, e.span.col), (1, 9));
    let e = parse_type_str("map[String").unwrap_err();
    assert!(e.message.starts_with("expected `]`"), "{}", e.message);
    let e = parse_type_str("42").unwrap_err();
    assert_eq!(e.message, "expected a type, found number 42");
}

fn pat(s: &str) -> PatternKind {
    parse_pattern_str(s)
        .unwrap_or_else(|e| panic!("{s}: {}", e.message))
        .kind
}

fn bind(n: &str) -> PatternKind {
    P::Bind(n.into())
}

fn kinds(ps: &[Pattern]) -> Vec<PatternKind> {
    ps.iter().map(|p| p.kind.clone()).collect()
}

#[test]
fn patterns_of_every_form() {
    assert_eq!(pat("42"), P::Literal(Literal::Int(42)));
    assert_eq!(pat("-1"), P::Literal(Literal::Int(-1)));
    assert_eq!(
        pat("-9223372036854775808"),
        P::Literal(Literal::Int(i64::MIN))
    );
    assert_eq!(pat("2.5"), P::Literal(Literal::Float(2.5)));
    assert_eq!(pat("\"quit\""), P::Literal(Literal::Str("quit".into())));
    assert_eq!(pat("null"), P::Literal(Literal::Null));
    assert_eq!(pat("_"), P::Wild);
    assert_eq!(pat("name"), bind("name"));
    let P::Variant { path, args } = pat("Token.Pair(w, 1)") else {
        panic!()
    };
    assert_eq!(path, ["Token", "Pair"]);
    assert_eq!(kinds(&args), [bind("w"), P::Literal(Literal::Int(1))]);
    let P::Variant { path, args } = pat("ok(v)") else {
        panic!()
    };
    assert_eq!(
        (path, kinds(&args)),
        (vec!["ok".to_string()], vec![bind("v")])
    );
    let P::Record { name, fields, rest } = pat("Reading(sensor: \"t1\", celsius, ..)") else {
        panic!()
    };
    assert_eq!(name, "Reading");
    assert!(rest);
    assert_eq!(fields[0].0, "sensor");
    assert_eq!(fields[1], ("celsius".to_string(), fields[1].1.clone()));
    assert_eq!(fields[1].1.kind, bind("celsius"));
    let P::Tuple(items) = pat("(a, _)") else {
        panic!()
    };
    assert_eq!(kinds(&items), [bind("a"), P::Wild]);
    assert_eq!(pat("(a)"), bind("a"));
    let P::List {
        before,
        rest,
        after,
    } = pat("[first, ...rest]")
    else {
        panic!()
    };
    assert_eq!(
        (kinds(&before), rest, after.len()),
        (vec![bind("first")], Some(Some("rest".into())), 0)
    );
    let P::List {
        before,
        rest,
        after,
    } = pat("[...init, last]")
    else {
        panic!()
    };
    assert_eq!(
        (before.len(), rest, kinds(&after)),
        (0, Some(Some("init".into())), vec![bind("last")])
    );
    assert_eq!(
        pat("[]"),
        P::List {
            before: vec![],
            rest: None,
            after: vec![]
        }
    );
    assert_eq!(
        pat("n: Int"),
        P::Typed {
            name: "n".into(),
            ty: int()
        }
    );
    assert_eq!(
        pat("1..=10"),
        P::Range {
            lo: Literal::Int(1),
            hi: Literal::Int(10),
            inclusive: true
        }
    );
    assert_eq!(
        pat("\"a\"..\"m\""),
        P::Range {
            lo: Literal::Str("a".into()),
            hi: Literal::Str("m".into()),
            inclusive: false
        }
    );
    // `|` separates alternatives, also after a typed pattern.
    let P::Or(alts) = pat("\"quit\" | \"exit\"") else {
        panic!()
    };
    assert_eq!(alts.len(), 2);
    let P::Or(alts) = pat("n: Int | s: String") else {
        panic!()
    };
    assert!(matches!(alts[1].kind, P::Typed { .. }));
    assert_eq!(
        pat("Stop"),
        bind("Stop"),
        "a lone name: the resolver tells variants apart"
    );
}

#[test]
fn bad_patterns_say_what_was_expected() {
    let e = parse_pattern_str("[a, ...b, ...c]").unwrap_err();
    assert!(e.message.contains("at most one `...`"), "{}", e.message);
    let e = parse_pattern_str("x..10").unwrap_err();
    assert!(e.message.contains("literal on each side"), "{}", e.message);
    let e = parse_pattern_str("Rec(f: 1, 2)").unwrap_err();
    assert!(e.message.contains("`name: pattern`"), "{}", e.message);
    let e = parse_pattern_str("\"a{b}\"").unwrap_err();
    assert!(e.message.contains("cannot interpolate"), "{}", e.message);
    let e = parse_pattern_str("9223372036854775808").unwrap_err();
    assert_eq!(e.kind, Kind::LexError);
    let e = parse_pattern_str("(a, b").unwrap_err();
    assert!(e.message.starts_with("expected `)`"), "{}", e.message);
}

mod fuzz {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn types_and_patterns_never_panic(s in "[A-Za-z_0-9 ,.:|?()\\[\\]{}\"=>-]{0,40}") {
            let _ = parse_type_str(&s);
            let _ = parse_pattern_str(&s);
        }
    }
}

/// A compact rendering of an expression tree: `(op a b)`.
fn sx(e: &Expr) -> String {
    use ExprKind as E;
    match &e.kind {
        E::Int(v) => v.to_string(),
        E::Float(v) => format!("{v:?}"),
        E::Str(segs) => {
            let inner: Vec<String> = segs
                .iter()
                .map(|s| match s {
                    StrSeg::Text(t) => format!("{t:?}"),
                    StrSeg::Interp { expr, spec } => {
                        format!(
                            "{{{}{}}}",
                            sx(expr),
                            if spec.is_some() { ":spec" } else { "" }
                        )
                    }
                })
                .collect();
            format!("(str {})", inner.join(" "))
        }
        E::RawStr(s) => format!("r{s:?}"),
        E::Bytes(b) => format!("b{b:?}"),
        E::Bool(b) => b.to_string(),
        E::Null => "null".into(),
        E::Name(n) => n.clone(),
        E::List(items) => format!("[{}]", elems(items)),
        E::Set(items) => format!("(set {})", elems(items)),
        E::Tuple(items) => format!("(tuple {})", elems(items)),
        E::Map(entries) => format!(
            "(map {})",
            entries
                .iter()
                .map(|(k, v)| format!("{}:{}", sx(k), sx(v)))
                .collect::<Vec<_>>()
                .join(" ")
        ),
        E::Comprehension {
            kind,
            elem,
            value,
            clauses,
        } => format!(
            "(comp {kind:?} {}{} {})",
            sx(elem),
            value
                .as_ref()
                .map(|v| format!(":{}", sx(v)))
                .unwrap_or_default(),
            clauses
                .iter()
                .map(|c| match c {
                    Clause::For { iter, .. } => format!("for {}", sx(iter)),
                    Clause::If(c) => format!("if {}", sx(c)),
                })
                .collect::<Vec<_>>()
                .join(" ")
        ),
        E::Unary { op, expr } => format!("({op} {})", sx(expr)),
        E::Binary { op, lhs, rhs } => format!("({op} {} {})", sx(lhs), sx(rhs)),
        E::Compare { first, rest } => format!(
            "(chain {} {})",
            sx(first),
            rest.iter()
                .map(|(o, e)| format!("{o} {}", sx(e)))
                .collect::<Vec<_>>()
                .join(" ")
        ),
        E::Is { expr, .. } => format!("(is {})", sx(expr)),
        E::As { expr, .. } => format!("(as {})", sx(expr)),
        E::ExpectSchema { expr, .. } => format!("(expect {})", sx(expr)),
        E::Field { expr, name, safe } => {
            format!("({} {} {name})", if *safe { "?." } else { "." }, sx(expr))
        }
        E::Index { expr, index, safe } => format!(
            "({} {} {})",
            if *safe { "?[]" } else { "[]" },
            sx(expr),
            sx(index)
        ),
        E::Call { callee, args } => format!(
            "(call {}{})",
            sx(callee),
            args.iter()
                .map(|a| format!(
                    " {}{}{}",
                    if a.spread { "..." } else { "" },
                    a.name.as_ref().map(|n| format!("{n}:")).unwrap_or_default(),
                    sx(&a.value)
                ))
                .collect::<String>()
        ),
        E::Try(e) => format!("(? {})", sx(e)),
        E::Unwrap(e) => format!("(! {})", sx(e)),
        E::Lambda { params, body, .. } => format!(
            "(fn {} => {})",
            params
                .iter()
                .map(|p| p.name.clone())
                .collect::<Vec<_>>()
                .join(","),
            sx(body)
        ),
        E::IfElse {
            cond,
            then,
            otherwise,
        } => format!("(if {} {} {})", sx(cond), sx(then), sx(otherwise)),
        E::Role { name, text } => format!("(role {name} {})", text.len()),
        E::Await(e) => format!("(await {})", sx(e)),
        E::Perform { effect, op, args } => format!("(perform {effect}.{op} {})", args.len()),
        E::If {
            branches,
            otherwise,
        } => {
            format!("(if {} {})", branches.len(), otherwise.is_some())
        }
        E::Match { subject, arms } => format!("(match {} {})", sx(subject), arms.len()),
        E::When(arms) => format!("(when {})", arms.len()),
        E::Loop { body, .. } => format!("(loop {})", body.stmts.len()),
        E::For { iter, body, .. } => format!("(for {} {})", sx(iter), body.stmts.len()),
        E::While { body, .. } => format!("(while {})", body.stmts.len()),
        E::Handle { clauses, .. } => format!("(handle {})", clauses.len()),
        E::Do(b) => format!("(do {})", b.stmts.len()),
        E::Comptime(b) => format!("(comptime {})", b.stmts.len()),
        E::BlockLambda { params, body, .. } => {
            format!("(fn-block {} {})", params.len(), body.stmts.len())
        }
        E::Resume(v) => format!("(resume {})", sx(v)),
    }
}

fn elems(items: &[Elem]) -> String {
    items
        .iter()
        .map(|e| format!("{}{}", if e.spread { "..." } else { "" }, sx(&e.value)))
        .collect::<Vec<_>>()
        .join(" ")
}

fn ex(s: &str) -> String {
    sx(&parse_expr_str(s).unwrap_or_else(|e| panic!("{s}: {}", e.message)))
}

#[test]
fn the_precedence_table_of_section_6_1() {
    // Examples the reference spells out.
    assert_eq!(ex("-2 ** 2 == 4"), "(== (** (- 2) 2) 4)");
    assert_eq!(ex("not a == b"), "(== (not a) b)");
    assert_eq!(ex("a | b == c"), "(== (| a b) c)");
    assert_eq!(ex("x + 1 is Int"), "(is (+ x 1))");
    assert_eq!(ex("a < b <= c"), "(chain a < b <= c)");
    assert_eq!(ex("a == b == c"), "(== (== a b) c)");
    // Levels in order.
    assert_eq!(ex("a ?? b or c"), "(?? a (or b c))");
    assert_eq!(ex("a or b and c"), "(or a (and b c))");
    assert_eq!(ex("a and b in c"), "(and a (in b c))");
    assert_eq!(ex("a == b ^ c"), "(== a (^ b c))");
    assert_eq!(ex("a ^ b & c"), "(^ a (& b c))");
    assert_eq!(ex("xs |> f ++ g"), "(|> xs (++ f g))");
    assert_eq!(ex("a ++ b << c"), "(++ a (<< b c))");
    assert_eq!(ex("0..n + 1"), "(.. 0 (+ n 1))");
    assert_eq!(ex("a + b * c"), "(+ a (* b c))");
    assert_eq!(ex("a * b ** c"), "(* a (** b c))");
    assert_eq!(ex("2 ** 3 ** 2"), "(** 2 (** 3 2))");
    assert_eq!(ex("a - b - c"), "(- (- a b) c)");
    // The lowest postfix form takes everything to its left.
    assert_eq!(
        ex("a ?? b or c expect schema Reading"),
        "(expect (?? a (or b c)))"
    );
    assert_eq!(ex("-9223372036854775808"), "-9223372036854775808");
    assert_eq!(ex("~x & 0xFF"), "(& (~ x) 255)");
}

#[test]
fn postfix_calls_and_literals() {
    assert_eq!(
        ex("a.b?.c[0]?[k](x, name: 2, ...rest)?!"),
        "(! (? (call (?[] ([] (?. (. a b) c) 0) k) x name:2 ...rest)))"
    );
    assert_eq!(ex("t.0"), "(. t 0)");
    assert_eq!(
        ex("int(\"4\") + map(xs, f).len()"),
        "(+ (call int (str \"4\")) (call (. (call map xs f) len)))"
    );
    assert_eq!(ex("[1, ...xs, 3]"), "[1 ...xs 3]");
    assert_eq!(
        ex("{\"k\": 1, \"j\": 2}"),
        "(map (str \"k\"):1 (str \"j\"):2)"
    );
    assert_eq!(ex("{1, 2}"), "(set 1 2)");
    assert_eq!(ex("{}"), "(map )");
    assert_eq!(ex("(1,)"), "(tuple 1)");
    assert_eq!(ex("()"), "(tuple )");
    assert_eq!(ex("(a + b) * c"), "(* (+ a b) c)");
    assert_eq!(
        ex("[x * 2 for x in xs if x > 0]"),
        "(comp List (* x 2) for xs if (> x 0))"
    );
    assert_eq!(ex("{k: v for (k, v) in pairs}"), "(comp Map k:v for pairs)");
    assert_eq!(ex("{x for x in a for y in b}"), "(comp Set x for a for b)");
    assert_eq!(ex("fn(a: Int, b) -> Int => a + b"), "(fn a,b => (+ a b))");
    assert_eq!(
        ex("if n % 2 == 0 then \"even\" else \"odd\""),
        "(if (== (% n 2) 0) (str \"even\") (str \"odd\"))"
    );
    assert_eq!(
        ex("\"n={n + 1:>4} {f(x)}\""),
        "(str \"n=\" {(+ n 1):spec} \" \" {(call f x)})"
    );
    assert_eq!(ex("perform Clock.now() - 1"), "(- (perform Clock.now 0) 1)");
    assert_eq!(ex("await f(1)"), "(await (call f 1))");
    assert_eq!(ex("role system: be brief {x}"), "(role system 2)");
    assert_eq!(ex("r\"a\" ++ b\"00\""), "(++ r\"a\" b[0])");
}

#[test]
fn expression_errors_name_what_was_expected() {
    let e = parse_expr_str("a +").unwrap_err();
    assert_eq!(
        e.message,
        "expected an expression, found the end of the line"
    );
    let e = parse_expr_str("f(a,, b)").unwrap_err();
    assert_eq!(e.message, "expected an expression, found `,`");
    assert_eq!((e.span.line, e.span.col), (1, 5));
    let e = parse_expr_str("if a then b").unwrap_err();
    assert_eq!(e.message, "expected `else`, found the end of the line");
    let e = parse_expr_str("9223372036854775808").unwrap_err();
    assert_eq!(e.kind, Kind::LexError);
    let e = parse_expr_str("match x").unwrap_err();
    assert_eq!(e.message, "expected `end`, found the end of the file");
    let e = parse_expr_str("\"{a +}\"").unwrap_err();
    assert_eq!(
        e.message,
        "expected an expression, found the end of the file"
    );
}

mod expr_fuzz {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn expressions_never_panic(s in "[a-z0-9 ,.:|?!()\\[\\]{}\"=<>+*/%^&~-]{0,40}") {
            let _ = parse_expr_str(&s);
        }
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    for src in [
        "(".repeat(100_000),
        "[".repeat(100_000),
        "-".repeat(100_000) + "1",
        "not ".repeat(50_000) + "x",
        "f(".repeat(50_000),
        "a ** ".repeat(50_000) + "b",
        "\"{".repeat(10_000),
    ] {
        if let Err(e) = parse_expr_str(&src) {
            assert!(
                matches!(e.kind, Kind::ParseError | Kind::LexError),
                "{}",
                e.message
            );
        }
    }
    let e = parse_expr_str(&("(".repeat(1200) + "1" + &")".repeat(1200))).unwrap_err();
    assert!(
        e.message.contains("nested more than 1000 levels"),
        "{}",
        e.message
    );
    assert!(parse_expr_str(&("(".repeat(900) + "1" + &")".repeat(900))).is_ok());
    assert!(parse_type_str(&("list[".repeat(1000) + "Int")).is_err());
    assert!(parse_pattern_str(&("[".repeat(1000))).is_err());
}
