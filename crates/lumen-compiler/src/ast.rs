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

/// An expression (§6).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

/// A piece of an interpolated string.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum StrSeg {
    Text(String),
    Interp {
        expr: Box<Expr>,
        spec: Option<crate::lexer::FormatSpec>,
    },
}

/// An element of a list, set or tuple literal, or a call argument:
/// `...xs` spreads.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Elem {
    pub value: Expr,
    pub spread: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Arg {
    /// `name: value`.
    pub name: Option<String>,
    pub value: Expr,
    pub spread: bool,
}

/// `for pattern in iter` or `if cond` in a comprehension.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Clause {
    For { pattern: Pattern, iter: Expr },
    If(Expr),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Collection {
    List,
    Set,
    Map,
}

/// A parameter of a cell or lambda.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Param {
    pub name: String,
    pub ty: Option<TypeExpr>,
    pub default: Option<Expr>,
    pub variadic: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum ExprKind {
    Int(i64),
    Float(f64),
    Str(Vec<StrSeg>),
    RawStr(String),
    Bytes(Vec<u8>),
    Bool(bool),
    Null,
    Name(String),
    List(Vec<Elem>),
    Set(Vec<Elem>),
    Map(Vec<(Expr, Expr)>),
    Tuple(Vec<Elem>),
    /// `[e for x in xs if c]`, `{e for ...}`, `{k: v for ...}`.
    Comprehension {
        kind: Collection,
        elem: Box<Expr>,
        value: Option<Box<Expr>>,
        clauses: Vec<Clause>,
    },
    /// `-e`, `not e`, `~e`.
    Unary {
        op: &'static str,
        expr: Box<Expr>,
    },
    /// Every left-associative binary operator of §6.1 (and `**`, `..`,
    /// `..=`, `|>`, `~>`, `??`, `and`, `or`, `in`, `==`, `!=`, `<=>`).
    Binary {
        op: &'static str,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    /// `a < b <= c`: ordering comparisons chain (the middle operands are
    /// evaluated once).
    Compare {
        first: Box<Expr>,
        rest: Vec<(&'static str, Expr)>,
    },
    Is {
        expr: Box<Expr>,
        ty: TypeExpr,
    },
    As {
        expr: Box<Expr>,
        ty: TypeExpr,
    },
    /// `e expect schema T`.
    ExpectSchema {
        expr: Box<Expr>,
        ty: TypeExpr,
    },
    /// `e.f`, `e?.f`, `t.0`.
    Field {
        expr: Box<Expr>,
        name: String,
        safe: bool,
    },
    /// `e[i]`, `e?[i]`.
    Index {
        expr: Box<Expr>,
        index: Box<Expr>,
        safe: bool,
    },
    Call {
        callee: Box<Expr>,
        args: Vec<Arg>,
    },
    /// Postfix `?`.
    Try(Box<Expr>),
    /// Postfix `!`.
    Unwrap(Box<Expr>),
    /// `fn(a: Int) -> Int => a + 1`.
    Lambda {
        params: Vec<Param>,
        ret: Option<TypeExpr>,
        body: Box<Expr>,
    },
    /// `if c then a else b`.
    IfElse {
        cond: Box<Expr>,
        then: Box<Expr>,
        otherwise: Box<Expr>,
    },
    /// `role NAME: text`.
    Role {
        name: String,
        text: Vec<StrSeg>,
    },
    Await(Box<Expr>),
    /// `perform E.op(args)`.
    Perform {
        effect: String,
        op: String,
        args: Vec<Arg>,
    },
}
