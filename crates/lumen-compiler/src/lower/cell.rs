//! The module and its cells: the tables of the LIR module (types,
//! tools, grants, effects, handlers, processes, methods), each cell's
//! prologue (defaults, parameter checks), and process methods.

use super::*;

impl Lowerer<'_> {
    pub(super) fn module(&mut self, prog: &Program, doc_hash: String) -> Module {
        let n = self.sy.cells.len();
        self.cells = vec![None; n];
        self.constants(prog);
        for i in 0..n {
            let info = &self.sy.cells[i];
            let decl = info.decl.clone();
            let name = info.name.clone();
            self.cell(i, &name, &decl);
        }
        let types = self.type_table();
        let mut processes = Vec::new();
        for p in self.sy.processes.values() {
            processes.push(self.process(p));
        }
        let tools = self.tool_table();
        let grants = self.grant_table();
        let effects = self.effect_table();
        let handlers = self.handler_table();
        let m = self.sy.mode;
        let directives = BTreeMap::from([
            ("strict".to_string(), json!(m.strict)),
            ("doc_mode".to_string(), json!(m.doc_mode)),
            ("deterministic".to_string(), json!(m.deterministic)),
        ]);
        let main = self.sy.values.get("main").and_then(|v| match v {
            ValueDef::Cell(i) => Some(*i),
            _ => None,
        });
        Module {
            version: "1".into(),
            doc_hash,
            cells: self
                .cells
                .drain(..)
                .map(|c| c.expect("every reserved cell is filled"))
                .collect(),
            types,
            tools,
            grants,
            effects,
            handlers,
            processes,
            directives,
            builtins: builtins::BUILTINS.iter().map(|b| b.name).collect(),
            methods: self.method_table(),
            main,
        }
    }

    /// Constants become zero-parameter cells.
    fn constants(&mut self, prog: &Program) {
        for item in &prog.items {
            if let ItemKind::Const { name, value, .. } = &item.kind {
                let id = self.reserve();
                self.consts.insert(name.clone(), id);
                let mut f = Func::new(format!("const${name}"));
                f.line = item.span.line;
                let r = f.reg();
                self.expr(&mut f, value, r);
                f.emit(Op::Return, r as i64, 0, 0);
                self.finish(id, f, Vec::new(), "Any".into(), 0, item.span.line);
            }
        }
    }

    /// The type table: records (with their default and `where` cells),
    /// enums and the other kinds by name.
    fn type_table(&mut self) -> Vec<lir::TypeInfo> {
        let mut types = Vec::new();
        for (name, def) in &self.sy.types {
            self.type_names.push(name.clone());
            let mut t = lir::TypeInfo {
                name: name.clone(),
                kind: String::new(),
                fields: Vec::new(),
                variants: Vec::new(),
                methods: self.sy.methods.get(name).cloned().unwrap_or_default(),
            };
            match def {
                TypeDef::Record { fields, .. } => {
                    t.kind = "record".into();
                    t.fields = self.record_fields(name, fields);
                }
                TypeDef::Enum { variants, .. } => {
                    t.kind = "enum".into();
                    t.variants = variants
                        .iter()
                        .map(|v| lir::VariantInfo {
                            name: v.name.clone(),
                            payload: v.payload.iter().map(type_string).collect(),
                        })
                        .collect();
                }
                TypeDef::Alias { .. } => t.kind = "alias".into(),
                TypeDef::Trait { .. } => t.kind = "trait".into(),
                TypeDef::Effect { .. } => t.kind = "effect".into(),
                TypeDef::Process(k) => t.kind = k.word().into(),
            }
            types.push(t);
        }
        types
    }

    /// A record's fields, each with the cells that compute its default
    /// and check its `where` condition.
    fn record_fields(&mut self, name: &str, fields: &[Field]) -> Vec<lir::FieldInfo> {
        let mut out = Vec::new();
        for fd in fields {
            let default = fd.default.as_ref().map(|d| {
                let id = self.reserve();
                let mut f = Func::new(format!("{name}.default${}", fd.name));
                let r = f.reg();
                self.expr(&mut f, d, r);
                f.emit(Op::Return, r as i64, 0, 0);
                self.finish(id, f, Vec::new(), type_string(&fd.ty), 0, fd.span.line);
                id
            });
            let constraint = fd.constraint.as_ref().map(|c| {
                let id = self.reserve();
                let mut f = Func::new(format!("{name}.where${}", fd.name));
                let rec = f.reg();
                for other in fields {
                    let r = f.reg();
                    let k = f.konst(json!(other.name));
                    f.emit(Op::GetField, r as i64, rec as i64, k);
                    f.bind(&other.name, r);
                }
                let r = f.reg();
                self.expr(&mut f, c, r);
                f.emit(Op::Return, r as i64, 0, 0);
                let p = vec![lir::ParamInfo {
                    name: "self".into(),
                    ty: name.to_string(),
                    has_default: false,
                    variadic: false,
                }];
                self.finish(id, f, p, "Bool".into(), 0, fd.span.line);
                id
            });
            out.push(lir::FieldInfo {
                name: fd.name.clone(),
                ty: type_string(&fd.ty),
                default,
                constraint,
            });
        }
        out
    }

    fn tool_table(&self) -> Vec<lir::ToolInfo> {
        self.tool_index
            .iter()
            .map(|alias| {
                let (id, version) = self.sy.tools[alias].clone();
                lir::ToolInfo {
                    alias: alias.clone(),
                    id,
                    version,
                    effect: self.sy.tool_effect(alias),
                }
            })
            .collect()
    }

    /// Top-level grants by alias, then agent grants under `Agent/Alias`.
    fn grant_table(&self) -> BTreeMap<String, serde_json::Map<String, Value>> {
        let mut grants = BTreeMap::new();
        for (alias, g) in &self.sy.grants {
            grants.insert(
                alias.clone(),
                g.iter()
                    .map(|(k, v)| (k.clone(), literal_json(v)))
                    .collect(),
            );
        }
        for (agent, gs) in &self.sy.agent_grants {
            for (alias, g) in gs {
                grants.insert(
                    format!("{agent}/{alias}"),
                    g.iter()
                        .map(|(k, v)| (k.clone(), literal_json(v)))
                        .collect(),
                );
            }
        }
        grants
    }

    /// Effects with their operations' parameters and bound tools.
    fn effect_table(&self) -> Vec<lir::EffectInfo> {
        self.sy
            .types
            .iter()
            .filter_map(|(n, d)| match d {
                TypeDef::Effect { ops } => Some(lir::EffectInfo {
                    name: n.clone(),
                    ops: ops.iter().map(|o| o.name.clone()).collect(),
                    params: ops
                        .iter()
                        .map(|o| {
                            (
                                o.name.clone(),
                                o.params.iter().map(|p| p.name.clone()).collect(),
                            )
                        })
                        .collect(),
                    bindings: ops
                        .iter()
                        .filter_map(|o| {
                            self.sy
                                .binds
                                .iter()
                                .rev()
                                .find(|(e, op, _)| {
                                    e == n && (op.is_none() || op.as_ref() == Some(&o.name))
                                })
                                .map(|(_, _, a)| (o.name.clone(), a.clone()))
                        })
                        .collect(),
                }),
                _ => None,
            })
            .collect()
    }

    fn handler_table(&self) -> Vec<lir::HandlerInfo> {
        self.handler_index
            .iter()
            .map(|h| lir::HandlerInfo {
                name: h.clone(),
                ops: self.sy.handlers[h]
                    .iter()
                    .map(|(e, o, id)| (format!("{e}.{o}"), *id))
                    .collect(),
            })
            .collect()
    }

    /// Every type's methods, with the default methods of the traits it
    /// implements (and their supertraits) where it does not define them.
    pub(super) fn method_table(&self) -> BTreeMap<String, BTreeMap<String, usize>> {
        let mut out = self.sy.methods.clone();
        for (tr, ty) in &self.sy.impls {
            let mut traits = vec![tr.clone()];
            let mut i = 0;
            while i < traits.len() {
                if let Some(TypeDef::Trait { supertraits, .. }) = self.sy.types.get(&traits[i]) {
                    for s in supertraits {
                        if !traits.contains(s) {
                            traits.push(s.clone());
                        }
                    }
                }
                i += 1;
            }
            for t in traits {
                let defaults = self.sy.methods.get(&t).cloned().unwrap_or_default();
                let slot = out.entry(ty.clone()).or_default();
                for (m, id) in defaults {
                    slot.entry(m).or_insert(id);
                }
            }
        }
        out
    }

    pub(super) fn reserve(&mut self) -> usize {
        self.cells.push(None);
        self.cells.len() - 1
    }

    pub(super) fn finish(
        &mut self,
        id: usize,
        f: Func,
        params: Vec<lir::ParamInfo>,
        returns: String,
        captures: u32,
        line: u32,
    ) {
        let effects = self
            .sy
            .cells
            .get(id)
            .map(|c| c.effects.iter().cloned().collect())
            .unwrap_or_default();
        let (is_async, test) = self
            .sy
            .cells
            .get(id)
            .map(|c| (c.decl.is_async, c.decl.attrs.test))
            .unwrap_or((false, false));
        self.cells[id] = Some(lir::Cell {
            name: f.name,
            params,
            returns,
            registers: f.max.max(1),
            captures,
            constants: f.consts,
            instructions: f.code,
            effects,
            is_async,
            test,
            line,
        });
    }

    pub(super) fn params_info(&self, ps: &[Param]) -> Vec<lir::ParamInfo> {
        ps.iter()
            .map(|p| lir::ParamInfo {
                name: p.name.clone(),
                ty: p
                    .ty
                    .as_ref()
                    .map(type_string)
                    .unwrap_or_else(|| "Any".into()),
                has_default: p.default.is_some(),
                variadic: p.variadic,
            })
            .collect()
    }

    /// The prologue: parameters in registers 0.., defaults for absent ones.
    pub(super) fn prologue(&mut self, f: &mut Func, ps: &[Param]) {
        let regs: Vec<u32> = ps.iter().map(|_| f.reg()).collect();
        for (p, r) in ps.iter().zip(&regs) {
            f.bind(&p.name, *r);
        }
        for (p, r) in ps.iter().zip(&regs) {
            if let Some(d) = &p.default {
                let j = f.emit(Op::JumpIfPresent, *r as i64, 0, 0);
                self.expr(f, d, *r);
                f.patch(j);
            }
        }
    }

    pub(super) fn cell(&mut self, id: usize, name: &str, decl: &CellDecl) {
        let mut f = Func::new(name.to_string());
        f.line = decl.span.line;
        // Process methods take `self` implicitly.
        let params = self.call_params(id);
        self.prologue(&mut f, &params);
        let r = f.reg();
        match &decl.body {
            Some(Body::Expr(e)) => self.expr(&mut f, e, r),
            Some(Body::Block(b)) => self.block(&mut f, b, r),
            None => {
                let k = f.konst(json!("undefined cell"));
                let m = f.konst(json!(format!("cell '{name}' has no implementation")));
                f.emit(Op::Raise, k, m, 0);
            }
        }
        if Some(id) == self.sy.main {
            f.emit(Op::LoadNull, r as i64, 0, 0);
        }
        f.emit(Op::Return, r as i64, 0, 0);
        let returns = self
            .types
            .returns
            .get(id)
            .map(|t| t.to_string())
            .unwrap_or_else(|| "Any".into());
        let returns = decl.ret.as_ref().map(type_string).unwrap_or(returns);
        let p = self.params_info(&params);
        self.finish(id, f, p, returns, 0, decl.span.line);
    }

    pub(super) fn process(&mut self, p: &Process) -> lir::ProcessInfo {
        let mut info = lir::ProcessInfo {
            name: p.name.clone(),
            kind: p.kind.word().into(),
            methods: self.sy.methods.get(&p.name).cloned().unwrap_or_default(),
            initial: p.initial.as_ref().map(|x| x.0.clone()),
            states: Vec::new(),
            stages: p.stages.iter().map(|s| s.0.clone()).collect(),
            config: Vec::new(),
        };
        for (k, e) in &p.config {
            let id = self.reserve();
            let mut f = Func::new(format!("{}.config${k}", p.name));
            let r = f.reg();
            self.expr(&mut f, e, r);
            f.emit(Op::Return, r as i64, 0, 0);
            self.finish(id, f, Vec::new(), "Any".into(), 0, e.span.line);
            info.config.push((k.clone(), id));
        }
        for s in &p.states {
            let mut st = lir::StateInfo {
                name: s.name.clone(),
                params: s.params.iter().map(|x| x.name.clone()).collect(),
                guard: None,
                transition: s.transition.as_ref().map(|t| t.0.clone()),
                transition_args: None,
                terminal: s.terminal,
            };
            if let Some(g) = &s.guard {
                let id = self.reserve();
                let mut f = Func::new(format!("{}.{}.guard", p.name, s.name));
                self.prologue(&mut f, &s.params);
                let r = f.reg();
                self.expr(&mut f, g, r);
                f.emit(Op::Return, r as i64, 0, 0);
                let pi = self.params_info(&s.params);
                self.finish(id, f, pi, "Bool".into(), 0, g.span.line);
                st.guard = Some(id);
            }
            if let Some((_, args, span)) = &s.transition {
                let id = self.reserve();
                let mut f = Func::new(format!("{}.{}.transition", p.name, s.name));
                self.prologue(&mut f, &s.params);
                let base = f.regs(args.len() as u32 + 1);
                for (i, a) in args.iter().enumerate() {
                    self.expr(&mut f, a, base + 1 + i as u32);
                }
                f.emit(
                    Op::MakeList,
                    base as i64,
                    base as i64 + 1,
                    args.len() as i64,
                );
                f.emit(Op::Return, base as i64, 0, 0);
                let pi = self.params_info(&s.params);
                self.finish(id, f, pi, "list[Any]".into(), 0, span.line);
                st.transition_args = Some(id);
            }
            info.states.push(st);
        }
        info
    }
}
