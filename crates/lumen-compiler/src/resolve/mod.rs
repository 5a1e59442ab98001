//! Name resolution (§4, §5.1, §9.1, §10.2, §10.7): the symbol table of
//! types, cells, constants, tools, grants, effects, handlers and
//! processes; every name used in a body checked against scopes; effect
//! inference with a fixpoint over calls and the strict effect, grant and
//! determinism diagnostics; the statement-placement rules reported as
//! parse errors (`break` outside a loop, `return` in `defer`, `resume` out
//! of tail position).

use std::collections::{BTreeMap, BTreeSet};

use crate::ast::*;
use crate::builtins;
use crate::diag::{Diagnostic, Kind, Span};
use crate::source::{Directive, DirectiveValue};

use effects::tail_resumes;

mod body;
mod declare;
mod effects;
mod expr;
mod scope;

/// Scope maps hash short names often: Fx instead of SipHash.
type HashMap<K, V> = std::collections::HashMap<K, V, rustc_hash::FxBuildHasher>;

/// The checks a file asked for (§2.3, §8.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Mode {
    pub strict: bool,
    pub doc_mode: bool,
    pub deterministic: bool,
}

impl Default for Mode {
    fn default() -> Mode {
        Mode {
            strict: true,
            doc_mode: false,
            deterministic: false,
        }
    }
}

impl Mode {
    pub fn from_directives<'a>(ds: impl IntoIterator<Item = &'a Directive>) -> Mode {
        let mut m = Mode::default();
        for d in ds {
            let on = match &d.value {
                DirectiveValue::Bool(b) => *b,
                DirectiveValue::Word(w) | DirectiveValue::Str(w) => w != "false",
            };
            match d.name.as_str() {
                "strict" => m.strict = on,
                "doc_mode" => m.doc_mode = on,
                "deterministic" => m.deterministic = on,
                _ => {}
            }
        }
        m
    }

    /// Unresolved names are warnings (relaxed and doc mode).
    pub fn relaxed(&self) -> bool {
        !self.strict || self.doc_mode
    }
}

#[derive(Debug, Clone)]
pub enum TypeDef {
    Record {
        generics: Vec<Generic>,
        fields: Vec<Field>,
    },
    Enum {
        generics: Vec<Generic>,
        variants: Vec<Variant>,
    },
    Alias {
        generics: Vec<Generic>,
        ty: TypeExpr,
    },
    Trait {
        supertraits: Vec<String>,
        methods: Vec<CellDecl>,
    },
    Effect {
        ops: Vec<CellDecl>,
    },
    Process(ProcessKind),
}

#[derive(Debug, Clone, PartialEq)]
pub enum ValueDef {
    Cell(usize),
    Const,
    Tool { id: String, version: Option<String> },
    Variant { enum_name: String, index: usize },
    Process(String),
    Handler,
}

/// One compiled cell: top-level, method, handler operation or the
/// synthetic `main`.
#[derive(Debug, Clone)]
pub struct CellInfo {
    /// Qualified name (`Token.is_stop`).
    pub name: String,
    /// The type, trait, process or handler it belongs to.
    pub owner: Option<String>,
    /// Shared: later stages hold it while they change the symbol table.
    pub decl: std::rc::Rc<CellDecl>,
    /// The effects callers see: the declared row, else the inferred set.
    pub effects: BTreeSet<String>,
    /// The agent whose grants apply to it.
    pub agent: Option<String>,
    /// The module it was declared in (`Item::module`).
    pub module: u32,
}

#[derive(Debug, Clone, Default)]
pub struct Symbols {
    pub types: BTreeMap<String, TypeDef>,
    pub values: BTreeMap<String, ValueDef>,
    pub cells: Vec<CellInfo>,
    /// Methods by type (records, enums, builtin types, processes) then name.
    pub methods: BTreeMap<String, BTreeMap<String, usize>>,
    /// `impl Trait for Type` pairs.
    pub impls: BTreeSet<(String, String)>,
    pub tools: BTreeMap<String, (String, Option<String>)>,
    /// Top-level grants by alias, merged key by key.
    pub grants: BTreeMap<String, BTreeMap<String, Literal>>,
    pub agent_grants: BTreeMap<String, BTreeMap<String, BTreeMap<String, Literal>>>,
    /// `bind effect E[.op] to Alias`.
    pub binds: Vec<(String, Option<String>, String)>,
    /// Named handlers: name -> (effect, op, cell).
    pub handlers: BTreeMap<String, Vec<(String, String, usize)>>,
    /// Variant names that belong to two enums.
    pub ambiguous_variants: BTreeSet<String>,
    pub main: Option<usize>,
    pub mode: Mode,
    pub processes: BTreeMap<String, Process>,
    /// The module each top-level value and type comes from (§4.6), and
    /// what each module imports; empty when nothing is imported.
    pub value_module: BTreeMap<String, u32>,
    pub type_module: BTreeMap<String, u32>,
    pub modules: Vec<crate::ast::ModuleScope>,
}

impl Symbols {
    pub fn cell(&self, name: &str) -> Option<usize> {
        self.cells.iter().position(|c| c.name == name)
    }

    /// The effect a tool alias's calls count as (§9.1).
    pub fn tool_effect(&self, alias: &str) -> String {
        self.binds
            .iter()
            .find(|(_, _, a)| a == alias)
            .map(|(e, _, _)| e.clone())
            .unwrap_or_else(|| "external".into())
    }
}

/// Options from the command line that affect checking.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Tool ids recorded in the cassette given with `--tools` (§10.7).
    pub cassette_tools: BTreeSet<String>,
    /// Forces doc mode (the Markdown sweep).
    pub doc_mode: bool,
}

const BUILTIN_TYPES: &[&str] = &[
    "Int", "Float", "Bool", "String", "Bytes", "Null", "Any", "Json", "int", "float", "bool",
    "string", "bytes", "json", "list", "map", "set", "tuple", "result", "future", "Self",
    "TraceRef",
];

/// Collects declarations and resolves every name of `prog`.
pub fn resolve(prog: &Program, mode: Mode, opts: &Options) -> (Symbols, Vec<Diagnostic>) {
    let mut r = Resolver {
        sy: Symbols {
            mode,
            ..Default::default()
        },
        diags: Vec::new(),
        opts,
        calls: Vec::new(),
        direct: Vec::new(),
        pending_handled: Vec::new(),
        module: 0,
    };
    r.sy.modules = prog.modules.clone();
    r.declare(prog);
    r.bodies(prog);
    r.effects();
    (r.sy, r.diags)
}

struct Resolver<'o> {
    sy: Symbols,
    diags: Vec<Diagnostic>,
    opts: &'o Options,
    /// Per cell: the cells it calls (for effect inference) with a span.
    calls: Vec<BTreeSet<usize>>,
    /// Per cell: effects performed directly, with where.
    direct: Vec<BTreeMap<String, Span>>,
    /// Calls made inside a `handle` body: (cell, callees, handled effects).
    pending_handled: Vec<(usize, Vec<usize>, BTreeSet<String>, Span)>,
    /// The module of the item being declared or walked.
    module: u32,
}

#[derive(Clone)]
struct Local {
    mutable: bool,
    loop_var: bool,
    read: bool,
    span: Span,
    warn_unused: bool,
}

struct Scope {
    names: HashMap<String, Local>,
    /// A lambda's parameters start here: outer names are captured.
    lambda: bool,
}

struct Ctx {
    cell: usize,
    scopes: Vec<Scope>,
    loops: Vec<(Option<String>, bool)>,
    in_defer: bool,
    generics: Vec<String>,
    reported: BTreeSet<String>,
    /// `resume` expressions in tail position of a handler clause.
    resume_ok: std::collections::HashSet<usize>,
}

fn binds_of(p: &Pattern, out: &mut Vec<(String, Span)>) {
    match &p.kind {
        PatternKind::Bind(n) => out.push((n.clone(), p.span)),
        PatternKind::Typed { name, .. } => out.push((name.clone(), p.span)),
        PatternKind::Variant { args, .. } | PatternKind::Tuple(args) => {
            args.iter().for_each(|a| binds_of(a, out))
        }
        PatternKind::Record { fields, .. } => fields.iter().for_each(|(_, a)| binds_of(a, out)),
        PatternKind::List {
            before,
            rest,
            after,
        } => {
            before.iter().for_each(|a| binds_of(a, out));
            if let Some(Some(r)) = rest {
                out.push((r.clone(), p.span));
            }
            after.iter().for_each(|a| binds_of(a, out));
        }
        PatternKind::Or(alts) => {
            if let Some(a) = alts.first() {
                binds_of(a, out)
            }
        }
        _ => {}
    }
}

/// The closest of `candidates` to `name`, for "did you mean" help.
pub fn suggest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<String> {
    candidates
        .filter(|c| *c != name)
        .map(|c| (strsim::levenshtein(name, c), c))
        .filter(|(d, c)| *d <= 2.max(name.len() / 3) && *d < name.len().max(c.len()))
        .min()
        .map(|(_, c)| c.to_string())
}

impl Resolver<'_> {
    fn err(&mut self, kind: Kind, span: Span, msg: String) -> &mut Diagnostic {
        self.diags.push(Diagnostic::error(kind, span, msg));
        self.diags.last_mut().expect("just pushed")
    }

    /// An unresolved name: an error in strict mode, a warning otherwise.
    fn unresolved(&mut self, kind: Kind, span: Span, msg: String, help: Option<String>) {
        let mut d = if self.sy.mode.relaxed() {
            Diagnostic::warning(kind, span, msg)
        } else {
            Diagnostic::error(kind, span, msg)
        };
        d.help = help;
        self.diags.push(d);
    }
}

fn local(mutable: bool, span: Span) -> Local {
    Local {
        mutable,
        loop_var: false,
        read: false,
        span,
        warn_unused: false,
    }
}

/// `int` and `Int` name the same type.
pub fn canonical_type(name: &str) -> String {
    match name {
        "int" => "Int",
        "float" => "Float",
        "bool" => "Bool",
        "string" => "String",
        "bytes" => "Bytes",
        "json" => "Json",
        other => other,
    }
    .to_string()
}
