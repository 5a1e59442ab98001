//! Scopes: bindings with shadowing and the `unused` warnings when a
//! scope closes, patterns, looking names up (with "did you mean").

use super::*;

impl Resolver<'_> {
    pub(super) fn push(&mut self, cx: &mut Ctx, lambda: bool) {
        cx.scopes.push(Scope {
            names: HashMap::default(),
            lambda,
        });
    }

    pub(super) fn pop_scope_warn(&mut self, cx: &mut Ctx) {
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

    pub(super) fn bind_pattern(
        &mut self,
        cx: &mut Ctx,
        p: &Pattern,
        mutable: bool,
        warn_unused: bool,
    ) {
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

    pub(super) fn is_unit_variant(&self, n: &str) -> bool {
        n.starts_with(|c: char| c.is_ascii_uppercase())
            && matches!(self.sy.values.get(n), Some(ValueDef::Variant { .. }))
    }

    /// Names inside a pattern: variants, record types, type tests.
    pub(super) fn pattern(&mut self, cx: &mut Ctx, p: &Pattern) {
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

    pub(super) fn check_ambiguous(&mut self, v: &str, span: Span) {
        if self.sy.ambiguous_variants.contains(v) {
            self.err(
                Kind::DuplicateDefinition,
                span,
                format!("variant `{v}` belongs to two enums"),
            )
            .help = Some(format!("qualify it: `Enum.{v}`"));
        }
    }

    pub(super) fn lookup(&mut self, cx: &mut Ctx, name: &str) -> Option<(Local, bool)> {
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

    pub(super) fn did_you_mean(&self, cx: &Ctx, n: &str) -> Option<String> {
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

    pub(super) fn cell_name(&self, id: usize) -> String {
        self.sy
            .cells
            .get(id)
            .map(|c| c.name.clone())
            .unwrap_or_else(|| "const".into())
    }

    pub(super) fn name_use(&mut self, cx: &mut Ctx, n: &str, span: Span, callee: bool) {
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
}
