//! The syntax tree. So far: type expressions (§8.1) and patterns (§7.1),
//! the parts of the grammar every declaration and statement builds on.

use serde::Serialize;

use crate::diag::Span;

/// A type as written.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum TypeExpr {
    /// `Int`, `list[T]`, `map[K, V]`, `Pair[A, B]`, `result[T, E]`; the
    /// lower-case synonyms (`int`, `string`...) are kept as written.
    Named { name: String, args: Vec<TypeExpr> },
    /// `(A, B)`; `()` is the unit tuple.
    Tuple(Vec<TypeExpr>),
    /// `fn(A, B) -> R / {e}`.
    Fn {
        params: Vec<TypeExpr>,
        ret: Box<TypeExpr>,
        effects: Option<Vec<String>>,
    },
    /// `A | B | C`.
    Union(Vec<TypeExpr>),
    /// `T?`, that is `T | Null`.
    Optional(Box<TypeExpr>),
}

/// A literal inside a pattern.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Literal {
    Int(i64),
    Float(f64),
    Str(String),
    Bool(bool),
    Null,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pattern {
    pub kind: PatternKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum PatternKind {
    /// `_`.
    Wild,
    /// `name` (a capitalised lone name may turn out to be a unit variant;
    /// the resolver decides).
    Bind(String),
    Literal(Literal),
    /// `Variant`, `Variant(p, q)`, `Enum.Variant(p)`, `ok(p)`, `err(p)`.
    Variant {
        path: Vec<String>,
        args: Vec<Pattern>,
    },
    /// `Rec(field: p, other: q)`, `Rec(x, y)` (shorthand), `Rec(f: p, ..)`.
    Record {
        name: String,
        fields: Vec<(String, Pattern)>,
        rest: bool,
    },
    Tuple(Vec<Pattern>),
    /// `[a, b]`, `[h, ...t]`, `[...init, last]`: elements before and
    /// after the rest, and the rest's binding (`Some(None)` for `...`
    /// alone).
    List {
        before: Vec<Pattern>,
        rest: Option<Option<String>>,
        after: Vec<Pattern>,
    },
    /// `name: Type`.
    Typed {
        name: String,
        ty: TypeExpr,
    },
    /// `1..10`, `1..=10`, `"a"..="m"`.
    Range {
        lo: Literal,
        hi: Literal,
        inclusive: bool,
    },
    /// `p1 | p2`.
    Or(Vec<Pattern>),
}
