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

    fn add_cell(
        &mut self,
        name: String,
        owner: Option<String>,
        decl: &CellDecl,
        agent: Option<String>,
    ) -> usize {
        self.sy.cells.push(CellInfo {
            name,
            owner,
            decl: std::rc::Rc::new(decl.clone()),
            effects: BTreeSet::new(),
            agent,
            module: self.module,
        });
        self.sy.cells.len() - 1
    }

    fn value(&mut self, name: &str, def: ValueDef, span: Span) {
        if self.sy.values.contains_key(name) {
            self.err(
                Kind::DuplicateDefinition,
                span,
                format!("`{name}` is defined twice"),
            )
            .help = Some("rename one of them".into());
        } else {
            self.sy.values.insert(name.to_string(), def);
            if self.module != 0 {
                self.sy.value_module.insert(name.to_string(), self.module);
            }
        }
    }

    fn ty(&mut self, name: &str, def: TypeDef, span: Span) {
        if self.sy.types.contains_key(name) {
            self.err(
                Kind::DuplicateDefinition,
                span,
                format!("type `{name}` is defined twice"),
            )
            .help = Some("rename one of them".into());
        } else {
            self.sy.types.insert(name.to_string(), def);
            if self.module != 0 {
                self.sy.type_module.insert(name.to_string(), self.module);
            }
        }
    }

    fn method(&mut self, ty: &str, m: &CellDecl, owner: Option<String>, agent: Option<String>) {
        let id = self.add_cell(format!("{ty}.{}", m.name), owner, m, agent);
        let slot = self.sy.methods.entry(ty.to_string()).or_default();
        if slot.insert(m.name.clone(), id).is_some() {
            self.err(
                Kind::DuplicateDefinition,
                m.span,
                format!("method `{}` is defined twice for `{ty}`", m.name),
            );
        }
    }

    /// First pass: every top-level name.
    fn declare(&mut self, prog: &Program) {
        let mut variant_owner: BTreeMap<String, String> = BTreeMap::new();
        for item in &prog.items {
            self.module = item.module;
            let span = item.span;
            match &item.kind {
                ItemKind::Cell(c) => {
                    let id = self.add_cell(c.name.clone(), None, c, None);
                    self.value(&c.name, ValueDef::Cell(id), c.span);
                }
                ItemKind::Record {
                    name,
                    generics,
                    fields,
                    methods,
                } => {
                    self.ty(
                        name,
                        TypeDef::Record {
                            generics: generics.clone(),
                            fields: fields.clone(),
                        },
                        span,
                    );
                    for m in methods {
                        self.method(name, m, Some(name.clone()), None);
                    }
                }
                ItemKind::Enum {
                    name,
                    generics,
                    variants,
                    methods,
                } => {
                    self.ty(
                        name,
                        TypeDef::Enum {
                            generics: generics.clone(),
                            variants: variants.clone(),
                        },
                        span,
                    );
                    for (i, v) in variants.iter().enumerate() {
                        if let Some(other) = variant_owner.get(&v.name) {
                            if other != name {
                                self.sy.ambiguous_variants.insert(v.name.clone());
                                continue;
                            }
                        }
                        variant_owner.insert(v.name.clone(), name.clone());
                        self.value(
                            &v.name,
                            ValueDef::Variant {
                                enum_name: name.clone(),
                                index: i,
                            },
                            v.span,
                        );
                    }
                    for m in methods {
                        self.method(name, m, Some(name.clone()), None);
                    }
                }
                ItemKind::TypeAlias { name, generics, ty } => self.ty(
                    name,
                    TypeDef::Alias {
                        generics: generics.clone(),
                        ty: ty.clone(),
                    },
                    span,
                ),
                ItemKind::Const { name, .. } => self.value(name, ValueDef::Const, span),
                ItemKind::Trait {
                    name,
                    supertraits,
                    methods,
                } => {
                    self.ty(
                        name,
                        TypeDef::Trait {
                            supertraits: supertraits.clone(),
                            methods: methods.clone(),
                        },
                        span,
                    );
                    for m in methods.iter().filter(|m| m.body.is_some()) {
                        self.method(name, m, Some(name.clone()), None);
                    }
                }
                ItemKind::Impl {
                    trait_name,
                    target,
                    methods,
                } => {
                    let tname = match target {
                        TypeExpr::Named { name, .. } => canonical_type(name),
                        _ => "?".to_string(),
                    };
                    if let Some(t) = trait_name {
                        self.sy.impls.insert((t.clone(), tname.clone()));
                    }
                    for m in methods {
                        self.method(&tname, m, Some(tname.clone()), None);
                    }
                }
                ItemKind::UseTool { id, version, alias } => {
                    self.sy
                        .tools
                        .insert(alias.clone(), (id.clone(), version.clone()));
                    self.value(
                        alias,
                        ValueDef::Tool {
                            id: id.clone(),
                            version: version.clone(),
                        },
                        span,
                    );
                }
                ItemKind::Grant(g) => {
                    let slot = self.sy.grants.entry(g.alias.clone()).or_default();
                    for (k, v) in &g.entries {
                        slot.insert(k.clone(), v.clone());
                    }
                }
                ItemKind::Effect { name, ops } => {
                    self.ty(name, TypeDef::Effect { ops: ops.clone() }, span)
                }
                ItemKind::BindEffect { effect, op, alias } => {
                    self.sy
                        .binds
                        .push((effect.clone(), op.clone(), alias.clone()))
                }
                ItemKind::Handler { name, ops } => {
                    self.value(name, ValueDef::Handler, span);
                    let mut list = Vec::new();
                    for o in ops {
                        let id = self.add_cell(
                            format!("{name}.{}.{}", o.effect, o.op),
                            Some(name.clone()),
                            &o.cell,
                            None,
                        );
                        list.push((o.effect.clone(), o.op.clone(), id));
                    }
                    self.sy.handlers.insert(name.clone(), list);
                }
                ItemKind::Process(p) => {
                    self.ty(&p.name, TypeDef::Process(p.kind), span);
                    self.value(&p.name, ValueDef::Process(p.name.clone()), span);
                    let agent = (p.kind == ProcessKind::Agent).then(|| p.name.clone());
                    for c in &p.cells {
                        self.method(&p.name, c, Some(p.name.clone()), agent.clone());
                    }
                    if let Some(a) = &agent {
                        let slot = self.sy.agent_grants.entry(a.clone()).or_default();
                        for g in &p.grants {
                            let s = slot.entry(g.alias.clone()).or_default();
                            for (k, v) in &g.entries {
                                s.insert(k.clone(), v.clone());
                            }
                        }
                    }
                    self.sy.processes.insert(p.name.clone(), p.clone());
                }
                ItemKind::Import { .. } | ItemKind::Ignored(_) => {}
            }
        }
        self.module = 0;
        if !prog.main.is_empty() {
            let span = prog.main[0].span;
            let decl = CellDecl {
                name: "main".into(),
                generics: Vec::new(),
                params: Vec::new(),
                ret: None,
                effects: None,
                body: Some(Body::Block(Block {
                    stmts: prog.main.clone(),
                    end: span,
                })),
                is_async: false,
                is_extern: false,
                attrs: Attrs::default(),
                span,
            };
            if let Some(ValueDef::Cell(_)) = self.sy.values.get("main") {
                self.err(
                    Kind::DuplicateDefinition,
                    span,
                    "top-level statements form `main`, and a `cell main` is also declared".into(),
                )
                .help = Some("move these statements into `cell main` (§2.5)".into());
            } else {
                let id = self.add_cell("main".into(), None, &decl, None);
                self.sy.main = Some(id);
                self.sy.values.insert("main".into(), ValueDef::Cell(id));
            }
        }
        self.calls = vec![BTreeSet::new(); self.sy.cells.len()];
        self.direct = vec![BTreeMap::new(); self.sy.cells.len()];
    }

    fn bodies(&mut self, prog: &Program) {
        // Types in declarations.
        for item in &prog.items {
            self.module = item.module;
            match &item.kind {
                ItemKind::Record {
                    generics, fields, ..
                } => {
                    let g: Vec<String> = generics.iter().map(|g| g.name.clone()).collect();
                    for f in fields {
                        self.type_expr(&f.ty, &g, f.span);
                    }
                    // Defaults and conditions see constants; conditions
                    // also see the record's fields.
                    let names: Vec<String> = fields.iter().map(|f| f.name.clone()).collect();
                    for f in fields {
                        let mut cx = self.free_ctx(usize::MAX, g.clone());
                        if let Some(d) = &f.default {
                            self.expr(&mut cx, d);
                        }
                        if let Some(c) = &f.constraint {
                            for n in &names {
                                cx.scopes[0]
                                    .names
                                    .insert(n.clone(), local(false, item.span));
                            }
                            self.expr(&mut cx, c);
                        }
                    }
                }
                ItemKind::Enum {
                    generics, variants, ..
                } => {
                    let g: Vec<String> = generics.iter().map(|g| g.name.clone()).collect();
                    for v in variants {
                        for t in &v.payload {
                            self.type_expr(t, &g, v.span);
                        }
                    }
                }
                ItemKind::TypeAlias { generics, ty, .. } => {
                    let g: Vec<String> = generics.iter().map(|g| g.name.clone()).collect();
                    self.type_expr(ty, &g, item.span);
                }
                ItemKind::Const { ty, value, .. } => {
                    if let Some(t) = ty {
                        self.type_expr(t, &[], item.span);
                    }
                    let mut cx = self.free_ctx(usize::MAX, Vec::new());
                    self.expr(&mut cx, value);
                }
                ItemKind::Impl {
                    trait_name, target, ..
                } => {
                    self.type_expr(target, &[], item.span);
                    if let Some(t) = trait_name {
                        if !matches!(self.sy.types.get(t), Some(TypeDef::Trait { .. })) {
                            self.unresolved(
                                Kind::UndefinedType,
                                item.span,
                                format!("no trait named `{t}`"),
                                None,
                            );
                        }
                    }
                }
                ItemKind::BindEffect { effect, alias, .. } => {
                    if !matches!(self.sy.types.get(effect), Some(TypeDef::Effect { .. })) {
                        self.unresolved(
                            Kind::UndefinedType,
                            item.span,
                            format!("no effect named `{effect}`"),
                            None,
                        );
                    }
                    if !self.sy.tools.contains_key(alias) {
                        self.unresolved(
                            Kind::UndefinedVariable,
                            item.span,
                            format!("no tool alias named `{alias}`"),
                            Some(format!("declare it with `use tool some.id as {alias}`")),
                        );
                    }
                }
                ItemKind::Grant(g) => self.grant_alias(g),
                ItemKind::Process(p) => {
                    for g in &p.grants {
                        self.grant_alias(g);
                    }
                    for (_, e) in &p.config {
                        let mut cx = self.free_ctx(usize::MAX, Vec::new());
                        self.expr(&mut cx, e);
                    }
                }
                _ => {}
            }
        }
        for id in 0..self.sy.cells.len() {
            let decl = self.sy.cells[id].decl.clone();
            let owner = self.sy.cells[id].owner.clone();
            self.module = self.sy.cells[id].module;
            self.cell_body(id, &decl, owner.as_deref());
        }
        self.module = 0;
    }

    /// For a top-level name declared in another module that the current
    /// one does not import (§4.6): that module's path.
    fn hidden(&self, name: &str, is_type: bool) -> Option<String> {
        let origin = if is_type {
            &self.sy.type_module
        } else {
            &self.sy.value_module
        };
        let from = *origin.get(name).unwrap_or(&0);
        if from == self.module {
            return None;
        }
        let scope = self.sy.modules.get(self.module as usize)?;
        if scope.imported.contains(name) {
            return None;
        }
        Some(
            self.sy
                .modules
                .get(from as usize)
                .map(|m| m.path.clone())
                .filter(|p| !p.is_empty())
                .unwrap_or_else(|| "the importing file".into()),
        )
    }

    /// Reports a use of a name another module declares but this one does
    /// not import; true if it was one.
    fn report_hidden(&mut self, name: &str, is_type: bool, kind: Kind, span: Span) -> bool {
        let Some(module) = self.hidden(name, is_type) else {
            return false;
        };
        let what = match kind {
            Kind::UndefinedType => "type",
            Kind::UndefinedCell => "cell",
            _ => "name",
        };
        let help = if module == "the importing file" {
            "a module cannot see the names of the file that imports it".to_string()
        } else {
            format!("add `{name}` to the import: `import {module}: {name}`")
        };
        self.unresolved(
            kind,
            span,
            format!(
                "{what} `{name}` is declared in module `{module}`, which does not export it here"
            ),
            Some(help),
        );
        true
    }

    fn grant_alias(&mut self, g: &Grant) {
        if !self.sy.tools.contains_key(&g.alias) {
            self.unresolved(
                Kind::UndefinedVariable,
                g.span,
                format!("grant for `{}`, which is not a tool alias", g.alias),
                Some(format!("declare it with `use tool some.id as {}`", g.alias)),
            );
        }
    }

    fn free_ctx(&self, cell: usize, generics: Vec<String>) -> Ctx {
        Ctx {
            cell,
            scopes: vec![Scope {
                names: HashMap::default(),
                lambda: false,
            }],
            loops: Vec::new(),
            in_defer: false,
            generics,
            reported: BTreeSet::new(),
            resume_ok: Default::default(),
        }
    }

    fn cell_body(&mut self, id: usize, decl: &CellDecl, owner: Option<&str>) {
        let mut generics: Vec<String> = decl.generics.iter().map(|g| g.name.clone()).collect();
        if let Some(o) = owner {
            if let Some(TypeDef::Record { generics: g, .. } | TypeDef::Enum { generics: g, .. }) =
                self.sy.types.get(o)
            {
                generics.extend(g.iter().map(|g| g.name.clone()));
            }
        }
        let mut cx = self.free_ctx(id, generics);
        let is_method = owner.is_some()
            && matches!(
                owner.and_then(|o| self.sy.types.get(o)),
                Some(TypeDef::Process(_))
            );
        if is_method {
            cx.scopes[0]
                .names
                .insert("self".into(), local(false, decl.span));
        }
        for p in &decl.params {
            if let Some(t) = &p.ty {
                let g = cx.generics.clone();
                self.type_expr(t, &g, decl.span);
            }
            if let Some(d) = &p.default {
                self.expr(&mut cx, d);
            }
            cx.scopes[0]
                .names
                .insert(p.name.clone(), local(false, decl.span));
        }
        if let Some(t) = &decl.ret {
            let g = cx.generics.clone();
            self.type_expr(t, &g, decl.span);
        }
        match &decl.body {
            Some(Body::Expr(e)) => self.expr(&mut cx, e),
            Some(Body::Block(b)) => self.block(&mut cx, b, false),
            None => {}
        }
        self.pop_scope_warn(&mut cx);
    }

    fn type_expr(&mut self, t: &TypeExpr, generics: &[String], span: Span) {
        match t {
            TypeExpr::Named { name, args } => {
                if self.sy.types.contains_key(name)
                    && !generics.contains(name)
                    && self.report_hidden(name, true, Kind::UndefinedType, span)
                {
                } else if !BUILTIN_TYPES.contains(&name.as_str())
                    && !generics.contains(name)
                    && !self.sy.types.contains_key(name)
                {
                    let help = suggest(
                        name,
                        self.sy
                            .types
                            .keys()
                            .map(|s| s.as_str())
                            .chain(BUILTIN_TYPES.iter().copied()),
                    )
                    .map(|s| format!("did you mean `{s}`?"));
                    self.unresolved(
                        Kind::UndefinedType,
                        span,
                        format!("no type named `{name}`"),
                        help,
                    );
                }
                for a in args {
                    self.type_expr(a, generics, span);
                }
            }
            TypeExpr::Tuple(ts) | TypeExpr::Union(ts) => {
                ts.iter().for_each(|a| self.type_expr(a, generics, span))
            }
            TypeExpr::Fn { params, ret, .. } => {
                params
                    .iter()
                    .for_each(|a| self.type_expr(a, generics, span));
                self.type_expr(ret, generics, span);
            }
            TypeExpr::Optional(t) => self.type_expr(t, generics, span),
        }
    }

    fn push(&mut self, cx: &mut Ctx, lambda: bool) {
        cx.scopes.push(Scope {
            names: HashMap::default(),
            lambda,
        });
    }

    fn pop_scope_warn(&mut self, cx: &mut Ctx) {
        if let Some(s) = cx.scopes.pop() {
            // After a misspelt name, "unused" would repeat the same mistake.
            if !cx.reported.is_empty() {
                return;
            }
            let mut unused: Vec<_> = s
                .names
                .into_iter()
                .filter(|(n, l)| l.warn_unused && !l.read && !n.starts_with('_'))
                .collect();
            unused.sort_by_key(|(_, l)| (l.span.line, l.span.col));
            for (n, l) in unused {
                self.diags.push(
                    Diagnostic::warning(Kind::Unused, l.span, format!("`{n}` is never used"))
                        .with_help(format!("remove it, or name it `_{n}`")),
                );
            }
        }
    }

    fn bind_pattern(&mut self, cx: &mut Ctx, p: &Pattern, mutable: bool, warn_unused: bool) {
        self.pattern(cx, p);
        let mut names = Vec::new();
        binds_of(p, &mut names);
        for (n, span) in names {
            if self.is_unit_variant(&n) {
                continue;
            }
            let l = Local {
                mutable,
                loop_var: false,
                read: false,
                span,
                warn_unused,
            };
            cx.scopes.last_mut().expect("scope").names.insert(n, l);
        }
    }

    fn is_unit_variant(&self, n: &str) -> bool {
        n.starts_with(|c: char| c.is_ascii_uppercase())
            && matches!(self.sy.values.get(n), Some(ValueDef::Variant { .. }))
    }

    /// Names inside a pattern: variants, record types, type tests.
    fn pattern(&mut self, cx: &mut Ctx, p: &Pattern) {
        match &p.kind {
            PatternKind::Variant { path, args } => {
                let ok = match path.as_slice() {
                    [v] if v == "ok" || v == "err" => true,
                    [v] => {
                        matches!(self.sy.values.get(v), Some(ValueDef::Variant { .. }))
                            || matches!(self.sy.types.get(v), Some(TypeDef::Record { .. }))
                    }
                    [e, v] => match self.sy.types.get(e) {
                        Some(TypeDef::Enum { variants, .. }) => {
                            variants.iter().any(|x| &x.name == v)
                        }
                        _ => false,
                    },
                    _ => false,
                };
                if !ok {
                    self.unresolved(
                        Kind::UndefinedCell,
                        p.span,
                        format!("no variant named `{}`", path.join(".")),
                        None,
                    );
                }
                if let [v] = path.as_slice() {
                    self.check_ambiguous(v, p.span);
                }
                args.iter().for_each(|a| self.pattern(cx, a));
            }
            PatternKind::Record { name, fields, .. } => {
                if !matches!(self.sy.types.get(name), Some(TypeDef::Record { .. })) {
                    self.unresolved(
                        Kind::UndefinedType,
                        p.span,
                        format!("no record named `{name}`"),
                        None,
                    );
                }
                fields.iter().for_each(|(_, a)| self.pattern(cx, a));
            }
            PatternKind::Typed { ty, .. } => {
                let g = cx.generics.clone();
                self.type_expr(ty, &g, p.span);
            }
            PatternKind::Tuple(a) => a.iter().for_each(|x| self.pattern(cx, x)),
            PatternKind::List { before, after, .. } => {
                before.iter().chain(after).for_each(|x| self.pattern(cx, x))
            }
            PatternKind::Or(alts) => {
                let mut first = Vec::new();
                if let Some(a) = alts.first() {
                    binds_of(a, &mut first);
                }
                let first: BTreeSet<String> = first.into_iter().map(|x| x.0).collect();
                for a in alts {
                    self.pattern(cx, a);
                    let mut b = Vec::new();
                    binds_of(a, &mut b);
                    let b: BTreeSet<String> = b.into_iter().map(|x| x.0).collect();
                    if b != first {
                        self.err(
                            Kind::ParseError,
                            a.span,
                            "both sides of `|` in a pattern must bind the same names".into(),
                        );
                    }
                }
            }
            _ => {}
        }
    }

    fn check_ambiguous(&mut self, v: &str, span: Span) {
        if self.sy.ambiguous_variants.contains(v) {
            self.err(
                Kind::DuplicateDefinition,
                span,
                format!("variant `{v}` belongs to two enums"),
            )
            .help = Some(format!("qualify it: `Enum.{v}`"));
        }
    }

    fn block(&mut self, cx: &mut Ctx, b: &Block, scope: bool) {
        if scope {
            self.push(cx, false);
        }
        for s in &b.stmts {
            self.stmt(cx, s);
        }
        if scope {
            self.pop_scope_warn(cx);
        }
    }

    fn lookup(&mut self, cx: &mut Ctx, name: &str) -> Option<(Local, bool)> {
        let mut crossed = false;
        for s in cx.scopes.iter_mut().rev() {
            if let Some(l) = s.names.get_mut(name) {
                l.read = true;
                return Some((l.clone(), crossed));
            }
            if s.lambda {
                crossed = true;
            }
        }
        None
    }

    fn stmt(&mut self, cx: &mut Ctx, s: &Stmt) {
        match &s.kind {
            StmtKind::Let {
                pattern,
                mutable,
                ty,
                value,
            } => {
                if let Some(t) = ty {
                    let g = cx.generics.clone();
                    self.type_expr(t, &g, s.span);
                }
                self.expr(cx, value);
                self.bind_pattern(
                    cx,
                    pattern,
                    *mutable,
                    cx.cell != self.sy.main.unwrap_or(usize::MAX),
                );
            }
            StmtKind::Assign { target, value, .. } => {
                self.expr(cx, value);
                self.assign_target(cx, target);
            }
            StmtKind::Expr(e) => {
                self.expr(cx, e);
                self.must_use(e);
            }
            StmtKind::Return(v) => {
                if cx.in_defer {
                    self.err(
                        Kind::ParseError,
                        s.span,
                        "`return` inside `defer` (a defer body cannot leave itself)".into(),
                    );
                }
                if let Some(v) = v {
                    self.expr(cx, v);
                }
            }
            StmtKind::Break { label, value } => {
                self.loop_jump(cx, "break", label, s.span, value.is_some());
                if let Some(v) = value {
                    self.expr(cx, v);
                }
            }
            StmtKind::Continue(label) => self.loop_jump(cx, "continue", label, s.span, false),
            StmtKind::Halt(e) => self.expr(cx, e),
            StmtKind::Emit(e) => {
                self.effect(cx, "emit", s.span);
                self.expr(cx, e);
            }
            StmtKind::Defer(b) => {
                let loops = std::mem::take(&mut cx.loops);
                let d = std::mem::replace(&mut cx.in_defer, true);
                self.block(cx, b, true);
                cx.in_defer = d;
                cx.loops = loops;
            }
            StmtKind::Cell(c) => {
                // A local cell sees its parameters and top-level names only.
                let id = self.add_cell(
                    format!("{}${}", self.cell_name(cx.cell), c.name),
                    None,
                    c,
                    None,
                );
                self.calls.push(BTreeSet::new());
                self.direct.push(BTreeMap::new());
                self.cell_body(id, c, None);
                cx.scopes
                    .last_mut()
                    .expect("scope")
                    .names
                    .insert(c.name.clone(), local(false, c.span));
                // Calls of the local cell reach its effects.
                if cx.cell < self.calls.len() {
                    self.calls[cx.cell].insert(id);
                }
            }
        }
    }

    fn cell_name(&self, id: usize) -> String {
        self.sy
            .cells
            .get(id)
            .map(|c| c.name.clone())
            .unwrap_or_else(|| "const".into())
    }

    fn must_use(&mut self, e: &Expr) {
        if let ExprKind::Call { callee, .. } = &e.kind {
            if let ExprKind::Name(n) = &callee.kind {
                if let Some(ValueDef::Cell(id)) = self.sy.values.get(n) {
                    if self.sy.cells[*id].decl.attrs.must_use {
                        self.diags.push(Diagnostic::warning(
                            Kind::MustUse,
                            e.span,
                            format!("the result of `{n}` should be used"),
                        ));
                    }
                }
            }
        }
    }

    fn loop_jump(
        &mut self,
        cx: &mut Ctx,
        what: &str,
        label: &Option<String>,
        span: Span,
        value: bool,
    ) {
        let target = match label {
            None => cx.loops.last().cloned(),
            Some(l) => cx
                .loops
                .iter()
                .rev()
                .find(|(x, _)| x.as_ref() == Some(l))
                .cloned(),
        };
        match target {
            None if cx.in_defer && label.is_none() => {
                self.err(
                    Kind::ParseError,
                    span,
                    format!("`{what}` inside `defer` (a defer body cannot leave itself)"),
                );
            }
            None => {
                let msg = match label {
                    Some(l) => format!("`{what} @{l}`: no enclosing loop is labelled `@{l}`"),
                    None => format!("`{what}` outside a loop"),
                };
                self.err(Kind::ParseError, span, msg);
            }
            Some((_, is_loop)) => {
                if value && !is_loop {
                    self.err(
                        Kind::ParseError,
                        span,
                        "`break` with a value is only allowed in `loop`".into(),
                    );
                }
            }
        }
    }

    fn assign_target(&mut self, cx: &mut Ctx, t: &Expr) {
        let mut root = t;
        loop {
            match &root.kind {
                ExprKind::Field { expr, .. } => root = expr,
                ExprKind::Index { expr, index, .. } => {
                    self.expr(cx, index);
                    root = expr;
                }
                _ => break,
            }
        }
        let ExprKind::Name(n) = &root.kind else {
            self.err(
                Kind::ParseError,
                t.span,
                "cannot assign to this expression; assign to a variable, `xs[i]` or `r.field`"
                    .into(),
            );
            return;
        };
        match self.lookup(cx, n) {
            Some((l, crossed)) => {
                if crossed {
                    self.err(
                        Kind::ImmutableAssignment,
                        root.span,
                        format!("`{n}` is captured by this lambda and cannot be assigned here"),
                    )
                    .help = Some("lambdas capture by value; return the new value instead".into());
                } else if l.loop_var {
                    self.err(
                        Kind::ImmutableAssignment,
                        root.span,
                        format!("`{n}` is a `for` loop variable and cannot be assigned"),
                    );
                } else if !l.mutable {
                    self.diags.push(
                        Diagnostic::warning(
                            Kind::ImmutableAssignment,
                            root.span,
                            format!("`{n}` is assigned but was not declared `mut`"),
                        )
                        .with_help(format!("declare it with `let mut {n}`")),
                    );
                }
            }
            None => {
                if matches!(self.sy.values.get(n), Some(ValueDef::Const))
                    || builtins::CONSTANTS.iter().any(|c| c.0 == n)
                {
                    self.err(
                        Kind::ImmutableAssignment,
                        root.span,
                        format!("`{n}` is a constant and cannot be assigned"),
                    );
                } else if !cx.reported.contains(n) {
                    cx.reported.insert(n.clone());
                    let help = self.did_you_mean(cx, n);
                    self.unresolved(
                        Kind::UndefinedVariable,
                        root.span,
                        format!("no variable named `{n}` in this scope"),
                        help,
                    );
                }
            }
        }
    }

    fn did_you_mean(&self, cx: &Ctx, n: &str) -> Option<String> {
        let locals: Vec<&str> = cx
            .scopes
            .iter()
            .flat_map(|s| s.names.keys().map(|k| k.as_str()))
            .collect();
        suggest(
            n,
            locals
                .into_iter()
                .chain(self.sy.values.keys().map(|s| s.as_str()))
                .chain(builtins::BUILTINS.iter().map(|b| b.name)),
        )
        .map(|s| format!("did you mean `{s}`?"))
    }

    fn effect(&mut self, cx: &mut Ctx, e: &str, span: Span) {
        if let Some(d) = self.direct.get_mut(cx.cell) {
            d.entry(e.to_string()).or_insert(span);
        }
    }

    fn name_use(&mut self, cx: &mut Ctx, n: &str, span: Span, callee: bool) {
        if self.lookup(cx, n).is_some() {
            return;
        }
        if !self.sy.modules.is_empty() {
            let known = self.sy.values.contains_key(n);
            let kind = if callee {
                Kind::UndefinedCell
            } else {
                Kind::UndefinedVariable
            };
            if (known && self.report_hidden(n, false, kind, span))
                || (!known
                    && self.sy.types.contains_key(n)
                    && self.report_hidden(n, true, kind, span))
            {
                return;
            }
        }
        if let Some(v) = self.sy.values.get(n).cloned() {
            match v {
                ValueDef::Cell(id) => {
                    if let Some(c) = self.calls.get_mut(cx.cell) {
                        c.insert(id);
                    }
                    if let Some(msg) = &self.sy.cells[id].decl.attrs.deprecated {
                        let m = if msg.is_empty() {
                            format!("`{n}` is deprecated")
                        } else {
                            format!("`{n}` is deprecated: {msg}")
                        };
                        self.diags
                            .push(Diagnostic::warning(Kind::Deprecated, span, m));
                    }
                }
                ValueDef::Variant { .. } => self.check_ambiguous(n, span),
                _ => {}
            }
            return;
        }
        if self.sy.ambiguous_variants.contains(n) {
            self.check_ambiguous(n, span);
            return;
        }
        if let Some(b) = builtins::lookup(n) {
            if let Some(e) = b.effect {
                self.effect(cx, e, span);
            }
            if b.nondeterministic && self.sy.mode.deterministic && !self.sy.mode.doc_mode {
                self.err(
                    Kind::Nondeterministic,
                    span,
                    format!("`{n}` is nondeterministic and this file is `@deterministic`"),
                )
                .help = Some("pass the value in, or drop `@deterministic true`".into());
            }
            return;
        }
        if builtins::CONSTANTS.iter().any(|c| c.0 == n)
            || self.sy.types.contains_key(n)
            || n == "self"
        {
            return;
        }
        if cx.reported.insert(n.to_string()) {
            let help = self.did_you_mean(cx, n);
            if callee {
                self.unresolved(
                    Kind::UndefinedCell,
                    span,
                    format!("no cell named `{n}`"),
                    help,
                );
            } else {
                self.unresolved(
                    Kind::UndefinedVariable,
                    span,
                    format!("no variable named `{n}` in this scope"),
                    help,
                );
            }
        }
    }

    fn tool_call(&mut self, cx: &mut Ctx, alias: &str, span: Span) {
        let eff = self.sy.tool_effect(alias);
        self.effect(cx, &eff, span);
        let mode = self.sy.mode;
        if mode.doc_mode {
            return;
        }
        let agent = self.sy.cells.get(cx.cell).and_then(|c| c.agent.clone());
        let granted = self.sy.grants.contains_key(alias)
            || agent
                .and_then(|a| self.sy.agent_grants.get(&a))
                .is_some_and(|g| g.contains_key(alias));
        if !granted {
            self.err(
                Kind::MissingGrant,
                span,
                format!("tool `{alias}` is called without a grant in scope"),
            )
            .help = Some(format!("add `grant {alias}` (with its policy keys)"));
        }
        if mode.deterministic {
            let id = self
                .sy
                .tools
                .get(alias)
                .map(|t| t.0.clone())
                .unwrap_or_default();
            if !builtins::DETERMINISTIC_TOOLS.contains(&id.as_str())
                && !self.opts.cassette_tools.contains(&id)
            {
                self.err(
                    Kind::Nondeterministic,
                    span,
                    format!(
                        "tool `{alias}` ({id}) is not replayable and this file is `@deterministic`"
                    ),
                )
                .help = Some("record it in a cassette and pass `--tools CASSETTE`".into());
            }
        }
    }

    fn expr(&mut self, cx: &mut Ctx, e: &Expr) {
        stacker::maybe_grow(64 * 1024, 1024 * 1024, || self.expr_inner(cx, e))
    }

    fn expr_inner(&mut self, cx: &mut Ctx, e: &Expr) {
        match &e.kind {
            ExprKind::Int(_)
            | ExprKind::Float(_)
            | ExprKind::RawStr(_)
            | ExprKind::Bytes(_)
            | ExprKind::Bool(_)
            | ExprKind::Null => {}
            ExprKind::Str(segs) | ExprKind::Role { text: segs, .. } => {
                for s in segs {
                    if let StrSeg::Interp { expr, .. } = s {
                        self.expr(cx, expr);
                    }
                }
            }
            ExprKind::Name(n) => self.name_use(cx, n, e.span, false),
            ExprKind::List(items) | ExprKind::Set(items) | ExprKind::Tuple(items) => {
                items.iter().for_each(|i| self.expr(cx, &i.value))
            }
            ExprKind::Map(entries) => {
                for (k, v) in entries {
                    self.expr(cx, k);
                    self.expr(cx, v);
                }
            }
            ExprKind::Comprehension {
                elem,
                value,
                clauses,
                ..
            } => {
                self.push(cx, false);
                for c in clauses {
                    match c {
                        Clause::For { pattern, iter } => {
                            self.expr(cx, iter);
                            self.bind_pattern(cx, pattern, false, false);
                        }
                        Clause::If(c) => self.expr(cx, c),
                    }
                }
                self.expr(cx, elem);
                if let Some(v) = value {
                    self.expr(cx, v);
                }
                self.pop_scope_warn(cx);
            }
            ExprKind::Unary { expr, .. }
            | ExprKind::Try(expr)
            | ExprKind::Unwrap(expr)
            | ExprKind::Await(expr) => {
                self.expr(cx, expr);
                if matches!(e.kind, ExprKind::Await(_)) {
                    self.effect(cx, "async", e.span);
                }
            }
            ExprKind::Binary { lhs, rhs, .. } => {
                self.expr(cx, lhs);
                self.expr(cx, rhs);
            }
            ExprKind::Compare { first, rest } => {
                self.expr(cx, first);
                rest.iter().for_each(|(_, x)| self.expr(cx, x));
            }
            ExprKind::Is { expr, ty }
            | ExprKind::As { expr, ty }
            | ExprKind::ExpectSchema { expr, ty } => {
                self.expr(cx, expr);
                let g = cx.generics.clone();
                self.type_expr(ty, &g, e.span);
            }
            ExprKind::Field { expr, name, .. } => {
                // `Type.m` / `Enum.Variant` / `Trait.m` need no value.
                if let ExprKind::Name(t) = &expr.kind {
                    if self.lookup(cx, t).is_none() && self.sy.types.contains_key(t) {
                        self.qualified(cx, t, name, e.span);
                        return;
                    }
                }
                self.expr(cx, expr);
            }
            ExprKind::Index { expr, index, .. } => {
                self.expr(cx, expr);
                self.expr(cx, index);
            }
            ExprKind::Call { callee, args } => {
                match &callee.kind {
                    ExprKind::Name(n)
                        if self.sy.tools.contains_key(n) && self.lookup(cx, n).is_none() =>
                    {
                        self.tool_call(cx, n, callee.span)
                    }
                    ExprKind::Name(n) => self.name_use(cx, n, callee.span, true),
                    ExprKind::Field { expr, name, .. } => {
                        let qualified = matches!(&expr.kind, ExprKind::Name(t)
                            if self.lookup(cx, t).is_none() && self.sy.types.contains_key(t));
                        if qualified {
                            self.expr(cx, callee);
                        } else {
                            self.expr(cx, expr);
                            // Uniform call syntax reaches top-level cells.
                            if let Some(ValueDef::Cell(id)) = self.sy.values.get(name) {
                                let id = *id;
                                if let Some(c) = self.calls.get_mut(cx.cell) {
                                    c.insert(id);
                                }
                            } else if let Some(b) = builtins::lookup(name) {
                                if let Some(ef) = b.effect {
                                    self.effect(cx, ef, callee.span);
                                }
                            } else {
                                // A method of some type: every method of
                                // that name may run.
                                let ids: Vec<usize> = self
                                    .sy
                                    .methods
                                    .values()
                                    .filter_map(|m| m.get(name).copied())
                                    .collect();
                                if let Some(c) = self.calls.get_mut(cx.cell) {
                                    c.extend(ids);
                                }
                            }
                        }
                    }
                    _ => self.expr(cx, callee),
                }
                args.iter().for_each(|a| self.expr(cx, &a.value));
            }
            ExprKind::Lambda { params, ret, body } => {
                self.push(cx, true);
                self.lambda_params(cx, params, ret.as_ref(), e.span);
                let loops = std::mem::take(&mut cx.loops);
                let d = std::mem::replace(&mut cx.in_defer, false);
                self.expr(cx, body);
                cx.loops = loops;
                cx.in_defer = d;
                self.pop_scope_warn(cx);
            }
            ExprKind::BlockLambda { params, ret, body } => {
                self.push(cx, true);
                self.lambda_params(cx, params, ret.as_ref(), e.span);
                let loops = std::mem::take(&mut cx.loops);
                let d = std::mem::replace(&mut cx.in_defer, false);
                self.block(cx, body, false);
                cx.loops = loops;
                cx.in_defer = d;
                self.pop_scope_warn(cx);
            }
            ExprKind::IfElse {
                cond,
                then,
                otherwise,
            } => {
                self.expr(cx, cond);
                self.expr(cx, then);
                self.expr(cx, otherwise);
            }
            ExprKind::Perform { effect, op, args } => {
                self.effect(cx, effect, e.span);
                match self.sy.types.get(effect) {
                    Some(TypeDef::Effect { ops }) => {
                        if !ops.iter().any(|o| &o.name == op) {
                            self.err(
                                Kind::UndefinedCell,
                                e.span,
                                format!("effect `{effect}` has no operation `{op}`"),
                            );
                        }
                    }
                    _ => self.unresolved(
                        Kind::UndefinedType,
                        e.span,
                        format!("no effect named `{effect}`"),
                        None,
                    ),
                }
                args.iter().for_each(|a| self.expr(cx, &a.value));
            }
            ExprKind::If {
                branches,
                otherwise,
            } => {
                for (c, b) in branches {
                    self.push(cx, false);
                    self.cond(cx, c);
                    self.block(cx, b, false);
                    self.pop_scope_warn(cx);
                }
                if let Some(b) = otherwise {
                    self.block(cx, b, true);
                }
            }
            ExprKind::Match { subject, arms } => {
                self.expr(cx, subject);
                for a in arms {
                    self.push(cx, false);
                    self.bind_pattern(cx, &a.pattern, false, false);
                    if let Some(g) = &a.guard {
                        self.expr(cx, g);
                    }
                    self.block(cx, &a.body, false);
                    self.pop_scope_warn(cx);
                }
            }
            ExprKind::When(arms) => {
                for (c, b) in arms {
                    if let Some(c) = c {
                        self.expr(cx, c);
                    }
                    self.block(cx, b, true);
                }
            }
            ExprKind::Loop { label, body } => {
                cx.loops.push((label.clone(), true));
                self.block(cx, body, true);
                cx.loops.pop();
            }
            ExprKind::For {
                label,
                pattern,
                iter,
                filter,
                body,
            } => {
                self.expr(cx, iter);
                self.push(cx, false);
                self.bind_pattern(cx, pattern, false, false);
                for l in cx.scopes.last_mut().expect("scope").names.values_mut() {
                    l.loop_var = true;
                }
                if let Some(f) = filter {
                    self.expr(cx, f);
                }
                cx.loops.push((label.clone(), false));
                self.block(cx, body, true);
                cx.loops.pop();
                self.pop_scope_warn(cx);
            }
            ExprKind::While { label, cond, body } => {
                self.push(cx, false);
                self.cond(cx, cond);
                cx.loops.push((label.clone(), false));
                self.block(cx, body, true);
                cx.loops.pop();
                self.pop_scope_warn(cx);
            }
            ExprKind::Handle {
                body,
                clauses,
                handlers,
            } => {
                // Effects of the body that a clause handles are discharged.
                let idx = cx.cell;
                let saved = self
                    .direct
                    .get_mut(idx)
                    .map(std::mem::take)
                    .unwrap_or_default();
                let saved_calls = self.calls.get(cx.cell).cloned();
                self.block(cx, body, true);
                let mut handled: BTreeSet<String> =
                    clauses.iter().map(|c| c.effect.clone()).collect();
                for (h, span) in handlers {
                    match self.sy.handlers.get(h) {
                        Some(ops) => handled.extend(ops.iter().map(|o| o.0.clone())),
                        None => self.unresolved(
                            Kind::UndefinedVariable,
                            *span,
                            format!("no handler named `{h}`"),
                            None,
                        ),
                    }
                }
                // Effects reached through calls inside the body are
                // resolved later; record them as direct effects now.
                let body_calls: Vec<usize> = match (&saved_calls, self.calls.get(cx.cell)) {
                    (Some(before), Some(after)) => after.difference(before).copied().collect(),
                    _ => Vec::new(),
                };
                if let Some(c) = self.calls.get_mut(cx.cell) {
                    if let Some(before) = saved_calls {
                        *c = before;
                    }
                }
                if let Some(slot) = self.direct.get_mut(idx) {
                    let inner = std::mem::replace(slot, saved);
                    for (k, v) in inner {
                        if !handled.contains(&k) {
                            slot.entry(k).or_insert(v);
                        }
                    }
                }
                self.pending_handled
                    .push((idx, body_calls, handled.clone(), e.span));
                for c in clauses {
                    match self.sy.types.get(&c.effect) {
                        Some(TypeDef::Effect { ops }) => {
                            if !ops.iter().any(|o| o.name == c.op) {
                                self.err(
                                    Kind::UndefinedCell,
                                    c.span,
                                    format!("effect `{}` has no operation `{}`", c.effect, c.op),
                                );
                            }
                        }
                        _ => self.unresolved(
                            Kind::UndefinedType,
                            c.span,
                            format!("no effect named `{}`", c.effect),
                            None,
                        ),
                    }
                    self.push(cx, false);
                    for p in &c.params {
                        cx.scopes
                            .last_mut()
                            .expect("scope")
                            .names
                            .insert(p.clone(), local(false, c.span));
                    }
                    tail_resumes(&c.body, &mut cx.resume_ok);
                    // A clause runs in its own frame: `break` and
                    // `continue` cannot leave it for a loop outside.
                    let loops = std::mem::take(&mut cx.loops);
                    self.block(cx, &c.body, false);
                    cx.loops = loops;
                    self.pop_scope_warn(cx);
                }
            }
            ExprKind::Do(b) | ExprKind::Comptime(b) => self.block(cx, b, true),
            ExprKind::Resume(v) => {
                if !cx.resume_ok.contains(&(e as *const Expr as usize)) {
                    self.err(
                        Kind::ParseError,
                        e.span,
                        "resume must be in tail position".into(),
                    )
                    .help =
                        Some("make `resume(v)` the last expression of the handler clause".into());
                }
                self.expr(cx, v);
            }
        }
    }

    fn lambda_params(
        &mut self,
        cx: &mut Ctx,
        params: &[Param],
        ret: Option<&TypeExpr>,
        span: Span,
    ) {
        let g = cx.generics.clone();
        for p in params {
            if let Some(t) = &p.ty {
                self.type_expr(t, &g, span);
            }
            if let Some(d) = &p.default {
                self.expr(cx, d);
            }
            cx.scopes
                .last_mut()
                .expect("scope")
                .names
                .insert(p.name.clone(), local(false, span));
        }
        if let Some(t) = ret {
            self.type_expr(t, &g, span);
        }
    }

    fn cond(&mut self, cx: &mut Ctx, c: &Cond) {
        match c {
            Cond::Expr(e) => self.expr(cx, e),
            Cond::Let(p, e) => {
                self.expr(cx, e);
                self.bind_pattern(cx, p, false, false);
            }
        }
    }

    fn qualified(&mut self, cx: &mut Ctx, t: &str, name: &str, span: Span) {
        let found = match self.sy.types.get(t) {
            Some(TypeDef::Enum { variants, .. }) => variants.iter().any(|v| v.name == name),
            Some(TypeDef::Trait { methods, .. }) => methods.iter().any(|m| m.name == name),
            Some(TypeDef::Effect { ops }) => ops.iter().any(|m| m.name == name),
            _ => false,
        } || name == "State";
        if let Some(id) = self.sy.methods.get(t).and_then(|m| m.get(name)).copied() {
            if let Some(c) = self.calls.get_mut(cx.cell) {
                c.insert(id);
            }
            return;
        }
        let process = matches!(self.sy.types.get(t), Some(TypeDef::Process(_)));
        if !found && !process {
            self.unresolved(
                Kind::UndefinedCell,
                span,
                format!("`{t}` has no variant or method named `{name}`"),
                None,
            );
        }
    }

    /// Effect inference: a fixpoint over the call graph, then the checks
    /// against declared rows.
    fn effects(&mut self) {
        let n = self.sy.cells.len();
        let mut inferred: Vec<BTreeSet<String>> = self
            .direct
            .iter()
            .map(|d| d.keys().cloned().collect())
            .collect();
        let declared: Vec<Option<BTreeSet<String>>> = self
            .sy
            .cells
            .iter()
            .map(|c| c.decl.effects.as_ref().map(|e| e.iter().cloned().collect()))
            .collect();
        let visible = |i: usize, inf: &Vec<BTreeSet<String>>| -> BTreeSet<String> {
            declared[i].clone().unwrap_or_else(|| inf[i].clone())
        };
        loop {
            let mut changed = false;
            for i in 0..n {
                let mut add = BTreeSet::new();
                for &c in &self.calls[i] {
                    if c < n {
                        add.extend(visible(c, &inferred));
                    }
                }
                for (cell, calls, handled, _) in &self.pending_handled {
                    if *cell == i {
                        for &c in calls {
                            if c < n {
                                add.extend(
                                    visible(c, &inferred)
                                        .into_iter()
                                        .filter(|e| !handled.contains(e)),
                                );
                            }
                        }
                    }
                }
                for a in add {
                    if inferred[i].insert(a) {
                        changed = true;
                    }
                }
            }
            if !changed {
                break;
            }
        }
        for i in 0..n {
            if let Some(d) = &declared[i] {
                if !self.sy.mode.doc_mode {
                    for e in inferred[i].difference(d) {
                        let span = self.direct[i]
                            .get(e)
                            .copied()
                            .unwrap_or(self.sy.cells[i].decl.span);
                        let cell = self.sy.cells[i].name.clone();
                        self.err(
                            Kind::UndeclaredEffect,
                            span,
                            format!("cell `{cell}` performs effect `{e}`, which its row does not declare"),
                        )
                        .help = Some(format!("add `{e}` to the effect row of `{cell}`"));
                    }
                }
                self.sy.cells[i].effects = d.clone();
            } else {
                self.sy.cells[i].effects = inferred[i].clone();
            }
        }
    }
}

/// Marks the `resume` expressions in tail position of a clause body: the
/// final expression, or the final expressions of a final `if`/`match`/
/// `when`.
fn tail_resumes(b: &Block, ok: &mut std::collections::HashSet<usize>) {
    let Some(Stmt {
        kind: StmtKind::Expr(e),
        ..
    }) = b.stmts.last()
    else {
        return;
    };
    match &e.kind {
        ExprKind::Resume(_) => {
            ok.insert(e as *const Expr as usize);
        }
        ExprKind::If {
            branches,
            otherwise,
        } => {
            branches.iter().for_each(|(_, b)| tail_resumes(b, ok));
            if let Some(b) = otherwise {
                tail_resumes(b, ok);
            }
        }
        ExprKind::Match { arms, .. } => arms.iter().for_each(|a| tail_resumes(&a.body, ok)),
        ExprKind::When(arms) => arms.iter().for_each(|(_, b)| tail_resumes(b, ok)),
        ExprKind::IfElse {
            then, otherwise, ..
        } => {
            for x in [then, otherwise] {
                if matches!(x.kind, ExprKind::Resume(_)) {
                    ok.insert(&**x as *const Expr as usize);
                }
            }
        }
        _ => {}
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
