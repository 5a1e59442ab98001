//! Machines and pipelines (§11): states, transitions and guards, and
//! stages that chain (`machine error`).

use super::*;

impl Checker<'_> {
    pub(super) fn machine(&mut self, p: &Process, span: Span) {
        let states: BTreeMap<&str, &State> =
            p.states.iter().map(|s| (s.name.as_str(), s)).collect();
        let Some((initial, ispan)) = &p.initial else {
            self.err(
                Kind::MachineError,
                span,
                format!("machine `{}` has no `initial:` state", p.name),
            );
            return;
        };
        if !states.contains_key(initial.as_str()) {
            self.err(
                Kind::MachineError,
                *ispan,
                format!("initial state `{initial}` is not declared"),
            );
            return;
        }
        if !p.states.iter().any(|s| s.terminal) {
            self.err(
                Kind::MachineError,
                span,
                format!("machine `{}` has no terminal state", p.name),
            );
        }
        for s in &p.states {
            self.scopes = vec![HashMap::default()];
            for prm in &s.params {
                let t = self.param_ty(prm);
                self.bind(&prm.name, t);
            }
            if let Some(g) = &s.guard {
                if !simple_expr(g) {
                    self.err(
                        Kind::MachineError,
                        g.span,
                        "a guard may use the state's parameters, literals and operators only"
                            .into(),
                    );
                } else {
                    let t = self.expr(g);
                    if !t.is_any() && t != Ty::Bool {
                        self.err(
                            Kind::MachineError,
                            g.span,
                            format!("guard of state `{}` is `{t}`, not `Bool`", s.name),
                        );
                    }
                }
            }
            if let Some((target, args, tspan)) = &s.transition {
                match states.get(target.as_str()) {
                    None => self.err(
                        Kind::MachineError,
                        *tspan,
                        format!("transition to unknown state `{target}`"),
                    ),
                    Some(ts) => {
                        if ts.params.len() != args.len() {
                            self.err(Kind::MachineError, *tspan, format!("state `{target}` takes {} argument(s), the transition gives {}", ts.params.len(), args.len()));
                        }
                        for (a, tp) in args.iter().zip(&ts.params) {
                            if !simple_expr(a) {
                                self.err(Kind::MachineError, a.span, "a transition argument may use the state's parameters, literals and operators only".into());
                                continue;
                            }
                            let at = self.expr(a);
                            let pt = self.param_ty(tp);
                            if assignable(&at, &pt).is_err() {
                                self.err(
                                    Kind::MachineError,
                                    a.span,
                                    format!(
                                        "argument `{}` of `{target}` expects `{pt}`, found `{at}`",
                                        tp.name
                                    ),
                                );
                            }
                        }
                    }
                }
            }
        }
        // Reachability from the initial state.
        let mut seen = vec![initial.as_str()];
        let mut i = 0;
        while i < seen.len() {
            if let Some(s) = states.get(seen[i]) {
                if let Some((t, _, _)) = &s.transition {
                    if states.contains_key(t.as_str()) && !seen.contains(&t.as_str()) {
                        seen.push(t.as_str());
                    }
                }
            }
            i += 1;
        }
        for s in &p.states {
            if !seen.contains(&s.name.as_str()) {
                self.err(
                    Kind::MachineError,
                    s.span,
                    format!("state `{}` cannot be reached from `{initial}`", s.name),
                );
            }
        }
    }

    pub(super) fn pipeline(&mut self, p: &Process) {
        let mut prev: Option<Ty> = None;
        for (stage, span) in &p.stages {
            let cell = p
                .cells
                .iter()
                .find(|c| &c.name == stage)
                .cloned()
                .or_else(|| match self.sy.values.get(stage) {
                    Some(ValueDef::Cell(id)) => Some((*self.sy.cells[*id].decl).clone()),
                    _ => None,
                });
            let Some(c) = cell else {
                let msg = format!(
                    "stage `{stage}` is not a cell of `{}` or a top-level cell",
                    p.name
                );
                if self.sy.mode.relaxed() {
                    // An unresolved name, like any other in relaxed modes.
                    self.diags
                        .push(Diagnostic::warning(Kind::UndefinedCell, *span, msg));
                } else {
                    self.err(Kind::MachineError, *span, msg);
                }
                prev = None;
                continue;
            };
            let data: Vec<&Param> = c.params.iter().filter(|x| x.name != "self").collect();
            if data.len() != 1 {
                self.err(
                    Kind::MachineError,
                    *span,
                    format!(
                        "stage `{stage}` must take exactly one data parameter, it takes {}",
                        data.len()
                    ),
                );
                prev = None;
                continue;
            }
            let input = self.param_ty(data[0]);
            if let Some(pt) = &prev {
                if assignable(pt, &input).is_err() {
                    self.err(
                        Kind::MachineError,
                        *span,
                        format!(
                            "stage `{stage}` takes `{input}`, but the previous stage gives `{pt}`"
                        ),
                    );
                }
            }
            prev = Some(c.ret.as_ref().map(|t| self.ty(t)).unwrap_or(Ty::Any));
        }
    }
}
