//! Patterns: the type each binding gets, and the checks of a pattern
//! against the type it matches.

use super::*;

impl Checker<'_> {
    /// The type a pattern matches, binding its names.
    pub(super) fn pattern(&mut self, p: &Pattern, t: &Ty) {
        match &p.kind {
            PatternKind::Bind(n) => {
                if !self.unit_variant(n) {
                    self.bind(n, t.clone());
                }
            }
            PatternKind::Typed { name, ty } => {
                let tt = self.ty(ty);
                self.bind(name, tt);
            }
            PatternKind::Tuple(ps) => {
                let elems = match t {
                    Ty::Tuple(ts) if ts.len() == ps.len() => ts.clone(),
                    _ => vec![Ty::Any; ps.len()],
                };
                for (x, et) in ps.iter().zip(elems) {
                    self.pattern(x, &et);
                }
            }
            PatternKind::List {
                before,
                rest,
                after,
            } => {
                let et = match t {
                    Ty::List(e) => (**e).clone(),
                    _ => Ty::Any,
                };
                for x in before.iter().chain(after) {
                    self.pattern(x, &et);
                }
                if let Some(Some(r)) = rest {
                    self.bind(r, Ty::List(Box::new(et)));
                }
            }
            PatternKind::Variant { path, args } => {
                let payload = self.variant_payload(path, t);
                for (i, a) in args.iter().enumerate() {
                    let pt = payload
                        .as_ref()
                        .and_then(|p| p.get(i).cloned())
                        .unwrap_or(Ty::Any);
                    self.pattern(a, &pt);
                }
                if let Some(pl) = &payload {
                    if pl.len() != args.len() && !(is_record_shorthand(self.sy, path)) {
                        self.err(
                            Kind::ArgumentCount,
                            p.span,
                            format!(
                                "variant `{}` has {} payload value(s), the pattern gives {}",
                                path.join("."),
                                pl.len(),
                                args.len()
                            ),
                        );
                    }
                }
                if is_record_shorthand(self.sy, path) {
                    // `Rec(x, y)` shorthand binds fields.
                    self.record_pattern(&path[0], &shorthand_fields(args), p.span);
                }
            }
            PatternKind::Record { name, fields, .. } => {
                self.record_pattern(name, fields, p.span);
            }
            PatternKind::Or(alts) => alts.iter().for_each(|a| self.pattern(a, t)),
            PatternKind::Wild | PatternKind::Literal(_) | PatternKind::Range { .. } => {}
        }
    }

    pub(super) fn record_pattern(&mut self, name: &str, fields: &[(String, Pattern)], span: Span) {
        let Some(TypeDef::Record { fields: defs, .. }) = self.sy.types.get(name) else {
            return;
        };
        for (f, sub) in fields {
            match defs.iter().find(|d| &d.name == f) {
                Some(d) => {
                    let ft = self.ty(&d.ty);
                    self.pattern(sub, &ft);
                }
                None => self.err(
                    Kind::UnknownField,
                    span,
                    format!("record `{name}` has no field `{f}`"),
                ),
            }
        }
    }

    pub(super) fn unit_variant(&self, n: &str) -> bool {
        n.starts_with(|c: char| c.is_ascii_uppercase())
            && matches!(self.sy.values.get(n), Some(ValueDef::Variant { .. }))
    }

    /// Payload types of a variant named by a pattern path.
    pub(super) fn variant_payload(&self, path: &[String], subject: &Ty) -> Option<Vec<Ty>> {
        let (enum_name, v) = match path {
            [v] if is_lower_variant(v) => {
                return Some(vec![match (subject, v.as_str()) {
                    (Ty::Result(o, _), "ok") => (**o).clone(),
                    (Ty::Result(_, e), "err") => (**e).clone(),
                    _ => Ty::Any,
                }]);
            }
            [v] => match self.sy.values.get(v) {
                Some(ValueDef::Variant { enum_name, .. }) => (enum_name.clone(), v.clone()),
                _ => return None,
            },
            [e, v] => (e.clone(), v.clone()),
            _ => return None,
        };
        let Some(TypeDef::Enum { variants, generics }) = self.sy.types.get(&enum_name) else {
            return None;
        };
        let var = variants.iter().find(|x| x.name == v)?;
        if !generics.is_empty() {
            return Some(vec![Ty::Any; var.payload.len()]);
        }
        Some(var.payload.iter().map(|t| self.ty(t)).collect())
    }
}

pub(super) fn irrefutable(p: &Pattern, c: &Checker) -> bool {
    match &p.kind {
        PatternKind::Wild => true,
        PatternKind::Bind(n) => !c.unit_variant(n),
        PatternKind::Tuple(ps) => ps.iter().all(|x| irrefutable(x, c)),
        PatternKind::Record { fields, .. } => fields.iter().all(|(_, x)| irrefutable(x, c)),
        PatternKind::Or(alts) => alts.iter().any(|x| irrefutable(x, c)),
        _ => false,
    }
}
