//! Trait implementations: every method present, with the signature
//! the trait declares (`missing method`).

use super::*;

impl Checker<'_> {
    pub(super) fn impl_check(
        &mut self,
        tr: &str,
        target: &TypeExpr,
        methods: &[CellDecl],
        span: Span,
    ) {
        let Some(TypeDef::Trait {
            methods: required,
            supertraits,
        }) = self.sy.types.get(tr)
        else {
            return;
        };
        let tname = match target {
            TypeExpr::Named { name, .. } => canonical_type(name),
            _ => return,
        };
        for r in required {
            match methods.iter().find(|m| m.name == r.name) {
                None if r.body.is_none() => self.err(
                    Kind::MissingMethod,
                    span,
                    format!("`impl {tr} for {tname}` does not define `{}`", r.name),
                ),
                None => {}
                Some(m) => {
                    let sig = |c: &CellDecl| {
                        (
                            c.params.len(),
                            c.params
                                .iter()
                                .skip(1)
                                .map(|p| p.ty.clone())
                                .collect::<Vec<_>>(),
                            c.ret.clone(),
                        )
                    };
                    let (n1, p1, r1) = sig(r);
                    let (n2, p2, r2) = sig(m);
                    let self_ret = |t: &Option<TypeExpr>| match t {
                        Some(TypeExpr::Named { name, .. }) if name == "Self" => {
                            Some(TypeExpr::Named {
                                name: tname.clone(),
                                args: vec![],
                            })
                        }
                        other => other.clone(),
                    };
                    if n1 != n2 || p1 != p2 || self_ret(&r1) != self_ret(&r2) {
                        self.mismatch(
                            m.span,
                            format!(
                                "`{}` does not have the signature trait `{tr}` declares",
                                m.name
                            ),
                        );
                    }
                }
            }
        }
        for st in supertraits {
            if !self.sy.impls.contains(&(st.clone(), tname.clone())) {
                self.err(
                    Kind::MissingMethod,
                    span,
                    format!("`{tr}` requires `{st}`, which `{tname}` does not implement"),
                );
            }
        }
    }
}
