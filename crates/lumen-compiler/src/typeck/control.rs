//! The block forms and the larger expressions, each checked by a method
//! of its own that `expr_inner` calls.

use super::*;

impl Checker<'_> {
    /// `List`.
    pub(super) fn list_expr(&mut self, items: &[Elem]) -> Ty {
        let ts: Vec<Ty> = items
            .iter()
            .map(|i| {
                let t = self.expr(&i.value);
                if i.spread {
                    t.element().unwrap_or(Ty::Any)
                } else {
                    t
                }
            })
            .collect();
        Ty::List(Box::new(elem_union(ts)))
    }

    /// `Comprehension`.
    pub(super) fn comprehension_expr(
        &mut self,
        kind: &Collection,
        elem: &Expr,
        value: &Option<Box<Expr>>,
        clauses: &[Clause],
    ) -> Ty {
        self.scopes.push(HashMap::default());
        for c in clauses {
            match c {
                Clause::For { pattern, iter } => {
                    let it = self.expr(iter);
                    let et = self.iter_elem(&it, iter.span);
                    self.pattern(pattern, &et);
                }
                Clause::If(c) => {
                    let t = self.expr(c);
                    self.bool_cond(&t, c.span);
                }
            }
        }
        let et = self.expr(elem);
        let vt = value.as_ref().map(|v| self.expr(v));
        self.scopes.pop();
        match kind {
            Collection::List => Ty::List(Box::new(et)),
            Collection::Set => Ty::Set(Box::new(et)),
            Collection::Map => Ty::Map(Box::new(et), Box::new(vt.unwrap_or(Ty::Any))),
        }
    }

    /// `Unary`.
    pub(super) fn unary_expr(&mut self, e: &Expr, op: &&'static str, expr: &Expr) -> Ty {
        let t = self.expr(expr);
        match *op {
            "not" => {
                if !t.is_any() && t != Ty::Bool {
                    self.mismatch(e.span, format!("`not` needs a `Bool`, found `{t}`"));
                }
                Ty::Bool
            }
            "-" => {
                if !t.is_any() && !t.is_numeric() {
                    self.mismatch(e.span, format!("unary `-` needs a number, found `{t}`"));
                    return Ty::Any;
                }
                t
            }
            _ => {
                if !t.is_any() && t != Ty::Int {
                    self.mismatch(e.span, format!("`~` needs an `Int`, found `{t}`"));
                }
                Ty::Int
            }
        }
    }

    /// `Index`.
    pub(super) fn index_expr(&mut self, e: &Expr, expr: &Expr, index: &Expr, safe: bool) -> Ty {
        let t = self.expr(expr);
        let it = self.expr(index);
        let base = if safe { t.non_null() } else { t.clone() };
        let r = match &base {
            Ty::List(x) => {
                self.expect(&it, &Ty::Int, index.span, "list index");
                (**x).clone()
            }
            Ty::Map(k, v) => {
                self.expect(&it, k, index.span, "map key");
                (**v).clone()
            }
            Ty::Str => Ty::Str,
            Ty::Tuple(ts) => match &index.kind {
                ExprKind::Int(i) => ts
                    .get(if *i < 0 {
                        (ts.len() as i64 + i) as usize
                    } else {
                        *i as usize
                    })
                    .cloned()
                    .unwrap_or(Ty::Any),
                _ => Ty::Any,
            },
            Ty::Any | Ty::Param(_) | Ty::Union(_) => Ty::Any,
            other => {
                self.mismatch(e.span, format!("a `{other}` cannot be indexed"));
                Ty::Any
            }
        };
        if safe {
            Ty::union(vec![r, Ty::Null])
        } else {
            r
        }
    }

    /// `Try`.
    pub(super) fn try_expr(&mut self, e: &Expr, inner: &Expr) -> Ty {
        let t = self.expr(inner);
        match &t {
            Ty::Result(ok, _) => {
                if let Some(Some(r)) = self.ret.last().cloned() {
                    if !r.is_any() && !matches!(r, Ty::Result(..)) {
                        self.mismatch(
                            e.span,
                            format!("`?` on a result needs the enclosing cell to return a `result`, not `{r}`"),
                        );
                    }
                }
                (**ok).clone()
            }
            t if t.nullable() => t.non_null(),
            _ => Ty::Any,
        }
    }

    /// `Lambda`.
    pub(super) fn lambda_expr(
        &mut self,
        params: &[Param],
        ret: &Option<TypeExpr>,
        body: &Expr,
    ) -> Ty {
        self.scopes.push(HashMap::default());
        let ps = self.lambda_params(params);
        let declared = ret.as_ref().map(|t| self.ty(t));
        self.ret.push(declared.clone());
        let bt = self.expr(body);
        self.ret.pop();
        if let Some(d) = &declared {
            self.expect(&bt, d, body.span, "lambda result");
        }
        self.scopes.pop();
        Ty::Fn(ps, Box::new(declared.unwrap_or(bt)))
    }

    /// `BlockLambda`.
    pub(super) fn block_lambda_expr(
        &mut self,
        params: &[Param],
        ret: &Option<TypeExpr>,
        body: &Block,
    ) -> Ty {
        self.scopes.push(HashMap::default());
        let ps = self.lambda_params(params);
        let declared = ret.as_ref().map(|t| self.ty(t));
        self.ret.push(declared.clone());
        let bt = self.block(body, true);
        self.ret.pop();
        if let Some(d) = &declared {
            if *d != Ty::Null && !d.is_any() && !d.nullable() && !block_returns(body) {
                self.err(
                    Kind::MissingReturn,
                    body.end,
                    format!("this lambda must return `{d}` on every path"),
                );
            }
        }
        self.scopes.pop();
        Ty::Fn(ps, Box::new(declared.unwrap_or(bt)))
    }

    /// `Perform`.
    pub(super) fn perform_expr(&mut self, e: &Expr, effect: &str, op: &str, args: &[Arg]) -> Ty {
        let sig = match self.sy.types.get(effect) {
            Some(TypeDef::Effect { ops }) => ops.iter().find(|o| o.name == op).cloned(),
            _ => None,
        };
        match sig {
            Some(sig) => {
                self.check_args(&format!("{effect}.{op}"), &sig.params, args, e.span, false);
                self.ret_ty(&sig)
            }
            None => {
                args.iter().for_each(|a| {
                    self.expr(&a.value);
                });
                Ty::Any
            }
        }
    }

    /// `If`.
    pub(super) fn if_expr(&mut self, branches: &[(Cond, Block)], otherwise: &Option<Block>) -> Ty {
        let mut ts = Vec::new();
        for (c, b) in branches {
            self.scopes.push(HashMap::default());
            self.cond(c);
            ts.push(self.block(b, true));
            self.scopes.pop();
        }
        match otherwise {
            Some(b) => {
                ts.push(self.block(b, true));
                ts.into_iter().reduce(join).unwrap_or(Ty::Null)
            }
            None => Ty::Null,
        }
    }

    /// `When`.
    pub(super) fn when_expr(&mut self, arms: &[(Option<Expr>, Block)]) -> Ty {
        let mut ts = Vec::new();
        for (c, b) in arms {
            self.scopes.push(HashMap::default());
            if let Some(c) = c {
                let t = self.expr(c);
                self.bool_cond(&t, c.span);
                self.narrow(c);
            }
            ts.push(self.block(b, true));
            self.scopes.pop();
        }
        if arms.iter().any(|(c, _)| c.is_none()) {
            ts.into_iter().reduce(join).unwrap_or(Ty::Null)
        } else {
            Ty::Null
        }
    }

    /// `For`.
    pub(super) fn for_expr(
        &mut self,
        pattern: &Pattern,
        iter: &Expr,
        filter: &Option<Box<Expr>>,
        body: &Block,
    ) -> Ty {
        let it = self.expr(iter);
        let et = self.iter_elem(&it, iter.span);
        self.scopes.push(HashMap::default());
        self.pattern(pattern, &et);
        if let Some(f) = filter {
            let t = self.expr(f);
            self.bool_cond(&t, f.span);
        }
        self.block(body, false);
        self.scopes.pop();
        Ty::Null
    }

    /// `Handle`.
    pub(super) fn handle_expr(&mut self, body: &Block, clauses: &[HandleClause]) -> Ty {
        let mut ts = vec![self.block(body, true)];
        for c in clauses {
            self.scopes.push(HashMap::default());
            let sig = match self.sy.types.get(&c.effect) {
                Some(TypeDef::Effect { ops }) => ops.iter().find(|o| o.name == c.op).cloned(),
                _ => None,
            };
            for (i, p) in c.params.iter().enumerate() {
                let t = sig
                    .as_ref()
                    .and_then(|s| s.params.get(i))
                    .map(|x| self.param_ty(x))
                    .unwrap_or(Ty::Any);
                self.bind(p, t);
            }
            if let Some(s) = &sig {
                if s.params.len() != c.params.len() {
                    self.err(
                        Kind::ArgumentCount,
                        c.span,
                        format!(
                            "`{}.{}` takes {} parameter(s), the clause names {}",
                            c.effect,
                            c.op,
                            s.params.len(),
                            c.params.len()
                        ),
                    );
                }
            }
            let op_ret = sig.as_ref().map(|s| self.ret_ty(s));
            self.ret.push(None);
            let t = self.block(&c.body, true);
            self.ret.pop();
            // `resume(v)` checks `v` against the operation's type.
            if let Some(r) = op_ret {
                check_resumes(&c.body, &mut |v| {
                    let vt = self.expr(v);
                    self.expect(&vt, &r, v.span, "resumed value");
                });
            }
            if !ends_in_resume(&c.body) {
                ts.push(t);
            }
            self.scopes.pop();
        }
        ts.into_iter().reduce(join).unwrap_or(Ty::Null)
    }
}
