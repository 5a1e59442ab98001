//! Effects: what each cell performs, inferred as a fixpoint over calls
//! (`handle` discharges), checked against declarations and grants.

use super::*;

impl Resolver<'_> {
    pub(super) fn effect(&mut self, cx: &mut Ctx, e: &str, span: Span) {
        if let Some(d) = self.direct.get_mut(cx.cell) {
            d.entry(e.to_string()).or_insert(span);
        }
    }

    /// Effect inference: a fixpoint over the call graph, then the checks
    /// against declared rows.
    pub(super) fn effects(&mut self) {
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
pub(super) fn tail_resumes(b: &Block, ok: &mut std::collections::HashSet<usize>) {
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
