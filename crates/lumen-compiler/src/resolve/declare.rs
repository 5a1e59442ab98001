//! The first pass: every top-level name (cells, types, variants,
//! methods, tools, grants, effects, handlers, processes) with
//! `duplicate definition`, and names that other modules hide.

use super::*;

impl Resolver<'_> {
    pub(super) fn add_cell(
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

    pub(super) fn value(&mut self, name: &str, def: ValueDef, span: Span) {
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

    pub(super) fn ty(&mut self, name: &str, def: TypeDef, span: Span) {
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

    pub(super) fn method(
        &mut self,
        ty: &str,
        m: &CellDecl,
        owner: Option<String>,
        agent: Option<String>,
    ) {
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
    pub(super) fn declare(&mut self, prog: &Program) {
        let mut variant_owner: BTreeMap<String, String> = BTreeMap::new();
        for item in &prog.items {
            self.module = item.module;
            self.declare_item(item, &mut variant_owner);
        }
        self.module = 0;
        self.declare_main(prog);
        self.calls = vec![BTreeSet::new(); self.sy.cells.len()];
        self.direct = vec![BTreeMap::new(); self.sy.cells.len()];
    }

    /// The names one item declares (`variant_owner`: which enum first
    /// declared each variant name, so a second one makes it ambiguous).
    pub(super) fn declare_item(
        &mut self,
        item: &Item,
        variant_owner: &mut BTreeMap<String, String>,
    ) {
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
            } => self.record_item(item, name, generics, fields, methods),
            ItemKind::Enum {
                name,
                generics,
                variants,
                methods,
            } => self.enum_item(variant_owner, item, name, generics, variants, methods),
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
            } => self.trait_item(item, name, supertraits, methods),
            ItemKind::Impl {
                trait_name,
                target,
                methods,
            } => self.impl_item(trait_name, target, methods),
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
            ItemKind::Handler { name, ops } => self.handler_item(item, name, ops),
            ItemKind::Process(p) => self.process_item(item, p),
            ItemKind::Import { .. } | ItemKind::Ignored(_) => {}
        }
    }

    /// Top-level statements form the cell `main`.
    pub(super) fn declare_main(&mut self, prog: &Program) {
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
    }

    /// For a top-level name declared in another module that the current
    /// one does not import (§4.6): that module's path.
    pub(super) fn hidden(&self, name: &str, is_type: bool) -> Option<String> {
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
    pub(super) fn report_hidden(
        &mut self,
        name: &str,
        is_type: bool,
        kind: Kind,
        span: Span,
    ) -> bool {
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

    pub(super) fn grant_alias(&mut self, g: &Grant) {
        if !self.sy.tools.contains_key(&g.alias) {
            self.unresolved(
                Kind::UndefinedVariable,
                g.span,
                format!("grant for `{}`, which is not a tool alias", g.alias),
                Some(format!("declare it with `use tool some.id as {}`", g.alias)),
            );
        }
    }
}

impl Resolver<'_> {
    /// `Record`.
    fn record_item(
        &mut self,
        item: &Item,
        name: &str,
        generics: &[Generic],
        fields: &[Field],
        methods: &[CellDecl],
    ) {
        let span = item.span;
        self.ty(
            name,
            TypeDef::Record {
                generics: generics.to_vec(),
                fields: fields.to_vec(),
            },
            span,
        );
        for m in methods {
            self.method(name, m, Some(name.to_string()), None);
        }
    }

    /// `Enum`.
    fn enum_item(
        &mut self,
        variant_owner: &mut BTreeMap<String, String>,
        item: &Item,
        name: &str,
        generics: &[Generic],
        variants: &[Variant],
        methods: &[CellDecl],
    ) {
        let span = item.span;
        self.ty(
            name,
            TypeDef::Enum {
                generics: generics.to_vec(),
                variants: variants.to_vec(),
            },
            span,
        );
        for (i, v) in variants.iter().enumerate() {
            if let Some(other) = variant_owner.get(&v.name) {
                if other != name {
                    self.sy.ambiguous_variants.insert(v.name.to_string());
                    continue;
                }
            }
            variant_owner.insert(v.name.to_string(), name.to_string());
            self.value(
                &v.name,
                ValueDef::Variant {
                    enum_name: name.to_string(),
                    index: i,
                },
                v.span,
            );
        }
        for m in methods {
            self.method(name, m, Some(name.to_string()), None);
        }
    }

    /// `Trait`.
    fn trait_item(
        &mut self,
        item: &Item,
        name: &str,
        supertraits: &[String],
        methods: &[CellDecl],
    ) {
        let span = item.span;
        self.ty(
            name,
            TypeDef::Trait {
                supertraits: supertraits.to_vec(),
                methods: methods.to_vec(),
            },
            span,
        );
        for m in methods.iter().filter(|m| m.body.is_some()) {
            self.method(name, m, Some(name.to_string()), None);
        }
    }

    /// `Impl`.
    fn impl_item(&mut self, trait_name: &Option<String>, target: &TypeExpr, methods: &[CellDecl]) {
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

    /// `Handler`.
    fn handler_item(&mut self, item: &Item, name: &str, ops: &[HandlerOp]) {
        let span = item.span;
        self.value(name, ValueDef::Handler, span);
        let mut list = Vec::new();
        for o in ops {
            let id = self.add_cell(
                format!("{name}.{}.{}", o.effect, o.op),
                Some(name.to_string()),
                &o.cell,
                None,
            );
            list.push((o.effect.clone(), o.op.clone(), id));
        }
        self.sy.handlers.insert(name.to_string(), list);
    }

    /// `Process`.
    fn process_item(&mut self, item: &Item, p: &Process) {
        let span = item.span;
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
}
