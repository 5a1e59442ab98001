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
