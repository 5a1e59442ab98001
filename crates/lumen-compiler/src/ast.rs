//! The syntax tree: `Program`, `Item`, `Stmt`, `Expr`, `Pattern` and the
//! type expressions they carry.

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
    /// `[a, b]`: only as a grant value (a set of allowed values).
    List(Vec<Literal>),
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
#[derive(Debug, PartialEq, Serialize)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

// A chain of 10^4 or more operators is a tree that deep (left-leaning), and
// cloning or dropping it recurses once per level: both run on a stack that
// grows as needed, so no input can overflow the compiler's stack.
impl Clone for Expr {
    fn clone(&self) -> Expr {
        stacker::maybe_grow(64 * 1024, 1024 * 1024, || Expr {
            kind: self.kind.clone(),
            span: self.span,
        })
    }
}

impl Drop for Expr {
    fn drop(&mut self) {
        if matches!(
            self.kind,
            ExprKind::Int(_)
                | ExprKind::Float(_)
                | ExprKind::Bool(_)
                | ExprKind::Null
                | ExprKind::Name(_)
        ) {
            return;
        }
        let kind = std::mem::replace(&mut self.kind, ExprKind::Null);
        stacker::maybe_grow(64 * 1024, 1024 * 1024, move || drop(kind));
    }
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
    /// `if c ... else if let p = e ... else ... end`.
    If {
        branches: Vec<(Cond, Block)>,
        otherwise: Option<Block>,
    },
    Match {
        subject: Box<Expr>,
        arms: Vec<Arm>,
    },
    /// `when` arms: `None` is the `_` arm.
    When(Vec<(Option<Expr>, Block)>),
    Loop {
        label: Option<String>,
        body: Block,
    },
    For {
        label: Option<String>,
        pattern: Pattern,
        iter: Box<Expr>,
        filter: Option<Box<Expr>>,
        body: Block,
    },
    While {
        label: Option<String>,
        cond: Box<Cond>,
        body: Block,
    },
    /// `handle BODY with CLAUSES end`.
    Handle {
        body: Block,
        clauses: Vec<HandleClause>,
        /// Named handlers installed by name.
        handlers: Vec<(String, Span)>,
    },
    /// `do ... end`.
    Do(Block),
    Comptime(Block),
    /// `fn(params) [-> T]` NEWLINE body `end`, and `do |x| ... end`.
    BlockLambda {
        params: Vec<Param>,
        ret: Option<TypeExpr>,
        body: Block,
    },
    /// `resume(v)` in a handler clause.
    Resume(Box<Expr>),
}

/// A condition of `if` or `while`: a Bool expression or `let p = e`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Cond {
    Expr(Expr),
    Let(Pattern, Expr),
}

#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Block {
    pub stmts: Vec<Stmt>,
    /// Where the block ends (its `end`, or its last token).
    pub end: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Arm {
    pub pattern: Pattern,
    pub guard: Option<Expr>,
    pub body: Block,
}

/// `E.op(a, b) => body`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HandleClause {
    pub effect: String,
    pub op: String,
    pub params: Vec<String>,
    pub body: Block,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stmt {
    pub kind: StmtKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum StmtKind {
    Let {
        pattern: Pattern,
        mutable: bool,
        ty: Option<TypeExpr>,
        value: Expr,
    },
    /// `target = value`, `target op= value` (`op` without the `=`).
    Assign {
        target: Expr,
        op: Option<&'static str>,
        value: Expr,
    },
    Expr(Expr),
    Return(Option<Expr>),
    Break {
        label: Option<String>,
        value: Option<Expr>,
    },
    Continue(Option<String>),
    Halt(Expr),
    Emit(Expr),
    Defer(Block),
    /// A cell declared inside a body (§4.3).
    Cell(Box<CellDecl>),
}

/// A whole file.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Program {
    pub items: Vec<Item>,
    /// Top-level statements, the body of the synthetic `main` (§2.5).
    pub main: Vec<Stmt>,
    /// Directives written in code (`@strict false`).
    pub directives: Vec<crate::source::Directive>,
    /// Module scopes by number (`Item::module`); empty when nothing is
    /// imported.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub modules: Vec<ModuleScope>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Item {
    pub kind: ItemKind,
    pub span: Span,
    /// The module the item comes from: 0 for the file being compiled,
    /// then one number per imported module (`Program::modules`).
    #[serde(skip_serializing_if = "is_zero")]
    pub module: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// What one module of a program may see besides its own items (§4.6).
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct ModuleScope {
    /// Dotted module path (`shapes.area`); empty for the root file.
    pub path: String,
    /// Names brought in by its imports (after `as`).
    pub imported: std::collections::BTreeSet<String>,
}

/// `@test`, `@must_use`, `@deprecated "msg"`.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct Attrs {
    pub test: bool,
    pub must_use: bool,
    pub deprecated: Option<String>,
}

/// A generic parameter with its trait bounds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Generic {
    pub name: String,
    pub bounds: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Body {
    Block(Block),
    Expr(Expr),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CellDecl {
    pub name: String,
    pub generics: Vec<Generic>,
    pub params: Vec<Param>,
    pub ret: Option<TypeExpr>,
    pub effects: Option<Vec<String>>,
    /// `None` for `extern` cells and signatures (traits, effects).
    pub body: Option<Body>,
    pub is_async: bool,
    pub is_extern: bool,
    pub attrs: Attrs,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Field {
    pub name: String,
    pub ty: TypeExpr,
    pub default: Option<Expr>,
    pub constraint: Option<Expr>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Variant {
    pub name: String,
    pub payload: Vec<TypeExpr>,
    pub span: Span,
}

/// A state of a `machine` (§11.3).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct State {
    pub name: String,
    pub params: Vec<Param>,
    pub guard: Option<Expr>,
    pub transition: Option<(String, Vec<Expr>, Span)>,
    pub terminal: bool,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ProcessKind {
    Agent,
    Memory,
    Machine,
    Pipeline,
    Orchestration,
}

impl ProcessKind {
    pub fn word(self) -> &'static str {
        match self {
            ProcessKind::Agent => "agent",
            ProcessKind::Memory => "memory",
            ProcessKind::Machine => "machine",
            ProcessKind::Pipeline => "pipeline",
            ProcessKind::Orchestration => "orchestration",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Process {
    pub kind: ProcessKind,
    pub name: String,
    pub cells: Vec<CellDecl>,
    pub grants: Vec<Grant>,
    /// `key: expr` lines.
    pub config: Vec<(String, Expr)>,
    pub initial: Option<(String, Span)>,
    pub states: Vec<State>,
    pub stages: Vec<(String, Span)>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Grant {
    pub alias: String,
    pub entries: Vec<(String, Literal)>,
    pub span: Span,
}

/// An operation of a named `handler`: `handle E.op(params) -> T ... end`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HandlerOp {
    pub effect: String,
    pub op: String,
    pub cell: CellDecl,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum ItemKind {
    Record {
        name: String,
        generics: Vec<Generic>,
        fields: Vec<Field>,
        methods: Vec<CellDecl>,
    },
    Enum {
        name: String,
        generics: Vec<Generic>,
        variants: Vec<Variant>,
        methods: Vec<CellDecl>,
    },
    Cell(CellDecl),
    TypeAlias {
        name: String,
        generics: Vec<Generic>,
        ty: TypeExpr,
    },
    Const {
        name: String,
        ty: Option<TypeExpr>,
        value: Expr,
    },
    Trait {
        name: String,
        supertraits: Vec<String>,
        methods: Vec<CellDecl>,
    },
    Impl {
        trait_name: Option<String>,
        target: TypeExpr,
        methods: Vec<CellDecl>,
    },
    /// `import a.b: x, y as z` (`names` is `None` for `*`).
    Import {
        path: Vec<String>,
        names: Option<Vec<(String, Option<String>, Span)>>,
    },
    UseTool {
        id: String,
        version: Option<String>,
        alias: String,
    },
    Grant(Grant),
    Effect {
        name: String,
        ops: Vec<CellDecl>,
    },
    BindEffect {
        effect: String,
        op: Option<String>,
        alias: String,
    },
    Handler {
        name: String,
        ops: Vec<HandlerOp>,
    },
    Process(Process),
    /// `macro`, `schema`, `guardrail`, `eval`, `pattern`: parsed, ignored.
    Ignored(&'static str),
}

impl ItemKind {
    /// The name the item declares, if any.
    pub fn name(&self) -> Option<&str> {
        Some(match self {
            ItemKind::Record { name, .. }
            | ItemKind::Enum { name, .. }
            | ItemKind::TypeAlias { name, .. }
            | ItemKind::Const { name, .. }
            | ItemKind::Trait { name, .. }
            | ItemKind::Effect { name, .. }
            | ItemKind::Handler { name, .. } => name,
            ItemKind::Cell(c) => &c.name,
            ItemKind::UseTool { alias, .. } => alias,
            ItemKind::Process(p) => &p.name,
            _ => return None,
        })
    }
}
