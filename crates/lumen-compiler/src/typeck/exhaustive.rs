//! Exhaustiveness (§7.2): which values a set of `match` arms covers,
//! what is missing, and arms nothing reaches.

use super::*;

/// What the unguarded arms of a match cover so far (§7.2).
#[derive(Default)]
pub(super) struct Coverage {
    catch_all: bool,
    variants: Vec<String>,
    bools: [bool; 2],
    null: bool,
    empty_list: bool,
    nonempty_list: bool,
    types: Vec<Ty>,
}

impl Coverage {
    pub(super) fn add(&mut self, c: &Checker, p: &Pattern) {
        if irrefutable(p, c) {
            self.catch_all = true;
            return;
        }
        match &p.kind {
            PatternKind::Or(alts) => alts.iter().for_each(|a| self.add(c, a)),
            PatternKind::Literal(Literal::Bool(b)) => self.bools[usize::from(*b)] = true,
            PatternKind::Literal(Literal::Null) => self.null = true,
            PatternKind::Bind(n) => self.variants.push(n.clone()),
            PatternKind::Variant { path, args } if args.iter().all(|a| irrefutable(a, c)) => {
                if let Some(v) = path.last() {
                    self.variants.push(v.clone());
                }
            }
            PatternKind::List {
                before,
                rest,
                after,
            } => {
                let elems_ok = before.iter().chain(after).all(|x| irrefutable(x, c));
                if !elems_ok {
                    return;
                }
                match (before.len() + after.len(), rest.is_some()) {
                    (0, false) => self.empty_list = true,
                    (0, true) => {
                        self.empty_list = true;
                        self.nonempty_list = true;
                    }
                    (1, true) => self.nonempty_list = true,
                    _ => {}
                }
            }
            PatternKind::Typed { ty, .. } => {
                let t = c.ty(ty);
                self.types.push(t);
            }
            _ => {}
        }
    }

    pub(super) fn all(&self, c: &Checker, t: &Ty) -> bool {
        self.missing_list(c, t).is_empty()
    }

    pub(super) fn missing(&self, c: &Checker, t: &Ty) -> String {
        let m = self.missing_list(c, t);
        match m.len() {
            0 => "every case".into(),
            _ => m.join(", "),
        }
    }

    pub(super) fn missing_list(&self, c: &Checker, t: &Ty) -> Vec<String> {
        if self.catch_all || self.types.iter().any(|x| x.is_any() || x == t) {
            return Vec::new();
        }
        let mut out = Vec::new();
        let members: Vec<Ty> = match t {
            Ty::Union(ms) => ms.clone(),
            other => vec![other.clone()],
        };
        for m in members {
            if self.types.contains(&m) {
                continue;
            }
            match &m {
                Ty::Null => {
                    if !self.null {
                        out.push("`null`".into());
                    }
                }
                Ty::Bool => {
                    if !self.bools[1] {
                        out.push("`true`".into());
                    }
                    if !self.bools[0] {
                        out.push("`false`".into());
                    }
                }
                Ty::Result(..) => {
                    for v in ["ok", "err"] {
                        if !self.variants.iter().any(|x| x == v) {
                            out.push(format!("`{v}(_)`"));
                        }
                    }
                }
                Ty::Named(n, _) => match c.sy.types.get(n) {
                    Some(TypeDef::Enum { variants, .. }) => {
                        for v in variants {
                            if !self.variants.contains(&v.name) {
                                out.push(format!(
                                    "`{}{}`",
                                    v.name,
                                    if v.payload.is_empty() { "" } else { "(..)" }
                                ));
                            }
                        }
                    }
                    _ => out.push(format!("every `{n}` (add `_ ->`)")),
                },
                Ty::List(_) => {
                    if !(self.empty_list && self.nonempty_list) {
                        out.push(if self.empty_list {
                            "non-empty lists (add `[first, ...rest]`)".to_string()
                        } else {
                            "`[]`".to_string()
                        });
                    }
                }
                Ty::Any | Ty::Param(_) => out.push("every value (add `_ ->`)".into()),
                other => out.push(format!("every `{other}` value (add `_ ->`)")),
            }
        }
        out
    }
}
