//! The second pass: cell bodies, statements, assignments, loops and
//! tool calls, in their scopes.

use super::*;

impl Resolver<'_> {
    pub(super) fn bodies(&mut self, prog: &Program) {
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
                    // The effects the language performs itself (§9.1) bind
                    // without a declaration.
                    let builtin = matches!(
                        effect.as_str(),
                        "external" | "emit" | "random" | "time" | "fs" | "env" | "async"
                    );
                    if !builtin
                        && !matches!(self.sy.types.get(effect), Some(TypeDef::Effect { .. }))
                    {
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

    pub(super) fn free_ctx(&self, cell: usize, generics: Vec<String>) -> Ctx {
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

    pub(super) fn cell_body(&mut self, id: usize, decl: &CellDecl, owner: Option<&str>) {
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

    pub(super) fn type_expr(&mut self, t: &TypeExpr, generics: &[String], span: Span) {
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

    pub(super) fn block(&mut self, cx: &mut Ctx, b: &Block, scope: bool) {
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

    pub(super) fn stmt(&mut self, cx: &mut Ctx, s: &Stmt) {
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

    pub(super) fn must_use(&mut self, e: &Expr) {
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

    pub(super) fn loop_jump(
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

    pub(super) fn assign_target(&mut self, cx: &mut Ctx, t: &Expr) {
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

    pub(super) fn tool_call(&mut self, cx: &mut Ctx, alias: &str, span: Span) {
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

    pub(super) fn cond(&mut self, cx: &mut Ctx, c: &Cond) {
        match c {
            Cond::Expr(e) => self.expr(cx, e),
            Cond::Let(p, e) => {
                self.expr(cx, e);
                self.bind_pattern(cx, p, false, false);
            }
        }
    }

    pub(super) fn qualified(&mut self, cx: &mut Ctx, t: &str, name: &str, span: Span) {
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

    pub(super) fn lambda_params(
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
}
