//! Semantic types (§8) and assignability (§8.3).

use std::fmt;

#[derive(Debug, Clone, PartialEq)]
pub enum Ty {
    /// `Any` and `Json`: accepted anywhere, checked at run time.
    Any,
    Int,
    Float,
    Bool,
    Str,
    Bytes,
    Null,
    List(Box<Ty>),
    Map(Box<Ty>, Box<Ty>),
    Set(Box<Ty>),
    Tuple(Vec<Ty>),
    Result(Box<Ty>, Box<Ty>),
    Union(Vec<Ty>),
    Fn(Vec<Ty>, Box<Ty>),
    Future(Box<Ty>),
    /// Records, enums, agents and processes, with type arguments.
    Named(String, Vec<Ty>),
    /// A generic parameter (treated like `Any` for assignability).
    Param(String),
}

impl Ty {
    pub fn is_any(&self) -> bool {
        matches!(self, Ty::Any | Ty::Param(_))
    }

    pub fn is_numeric(&self) -> bool {
        matches!(self, Ty::Int | Ty::Float)
    }

    /// `A | B` flattened, duplicates removed; one member stays itself.
    pub fn union(members: Vec<Ty>) -> Ty {
        let mut out: Vec<Ty> = Vec::new();
        for m in members {
            let parts = match m {
                Ty::Union(v) => v,
                other => vec![other],
            };
            for p in parts {
                // `T?` stays a union so a call can substitute `T`.
                if p == Ty::Any {
                    return Ty::Any;
                }
                if !out.contains(&p) {
                    out.push(p);
                }
            }
        }
        match out.len() {
            0 => Ty::Null,
            1 => out.remove(0),
            _ => Ty::Union(out),
        }
    }

    pub fn nullable(&self) -> bool {
        match self {
            Ty::Null => true,
            Ty::Union(m) => m.contains(&Ty::Null),
            _ => false,
        }
    }

    /// The type without `Null`.
    pub fn non_null(&self) -> Ty {
        match self {
            Ty::Union(m) => Ty::union(m.iter().filter(|t| **t != Ty::Null).cloned().collect()),
            other => other.clone(),
        }
    }

    /// Where `self` is a list, set, map or string, the element type seen
    /// when iterating.
    pub fn element(&self) -> Option<Ty> {
        Some(match self {
            Ty::List(t) | Ty::Set(t) => (**t).clone(),
            Ty::Map(k, v) => Ty::Tuple(vec![(**k).clone(), (**v).clone()]),
            Ty::Tuple(ts) => Ty::union(ts.clone()),
            Ty::Any | Ty::Param(_) => Ty::Any,
            _ => return None,
        })
    }
}

/// Two types that do not fit (a `type mismatch`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mismatch;

/// Whether a value of type `s` may be used where `t` is expected
/// (§8.3). `Err(Mismatch)` is a mismatch; `Ok(true)` means accepted with the
/// warning `possibly null`.
pub fn assignable(s: &Ty, t: &Ty) -> Result<bool, Mismatch> {
    use Ty::*;
    if s.is_any() || t.is_any() || s == t {
        return Ok(false);
    }
    match (s, t) {
        (Int, Float) => Ok(false),
        (Union(ms), _) => {
            let mut warn = false;
            for m in ms {
                if *m == Null && !t.nullable() {
                    warn = true;
                    continue;
                }
                if assignable(m, t)? {
                    warn = true;
                }
            }
            Ok(warn)
        }
        (_, Union(ts)) => {
            for m in ts {
                if let Ok(w) = assignable(s, m) {
                    return Ok(w);
                }
            }
            Err(Mismatch)
        }
        (_, Result(ok, _)) if !matches!(s, Result(..)) => assignable(s, ok),
        (List(a), List(b)) | (Set(a), Set(b)) | (Future(a), Future(b)) => assignable(a, b),
        (Map(k1, v1), Map(k2, v2)) | (Result(k1, v1), Result(k2, v2)) => {
            Ok(assignable(k1, k2)? | assignable(v1, v2)?)
        }
        (Tuple(a), Tuple(b)) if a.len() == b.len() => {
            let mut w = false;
            for (x, y) in a.iter().zip(b) {
                w |= assignable(x, y)?;
            }
            Ok(w)
        }
        (Fn(p1, r1), Fn(p2, r2)) if p1.len() == p2.len() => {
            for (x, y) in p1.iter().zip(p2) {
                if !(x.is_any() || y.is_any() || x == y) {
                    return Err(Mismatch);
                }
            }
            assignable(r1, r2)
        }
        (Named(a, xs), Named(b, ys)) if a == b => {
            let mut w = false;
            for (x, y) in xs.iter().zip(ys) {
                w |= assignable(x, y)?;
            }
            Ok(w)
        }
        _ => Err(Mismatch),
    }
}

/// Whether two types could hold a common value (for `==`, §6.3).
pub fn overlap(a: &Ty, b: &Ty) -> bool {
    assignable(a, b).is_ok()
        || assignable(b, a).is_ok()
        || (a.is_numeric() && b.is_numeric())
        || *a == Ty::Null
        || *b == Ty::Null
        || a.nullable()
        || b.nullable()
}

impl fmt::Display for Ty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |ts: &[Ty]| {
            ts.iter()
                .map(|t| t.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        match self {
            Ty::Any => write!(f, "Any"),
            Ty::Int => write!(f, "Int"),
            Ty::Float => write!(f, "Float"),
            Ty::Bool => write!(f, "Bool"),
            Ty::Str => write!(f, "String"),
            Ty::Bytes => write!(f, "Bytes"),
            Ty::Null => write!(f, "Null"),
            Ty::List(t) => write!(f, "list[{t}]"),
            Ty::Map(k, v) => write!(f, "map[{k}, {v}]"),
            Ty::Set(t) => write!(f, "set[{t}]"),
            Ty::Tuple(ts) if ts.len() == 1 => write!(f, "({},)", ts[0]),
            Ty::Tuple(ts) => write!(f, "({})", list(ts)),
            Ty::Result(a, b) => write!(f, "result[{a}, {b}]"),
            Ty::Union(ts) => {
                if ts.len() == 2 && ts[1] == Ty::Null {
                    return write!(f, "{}?", ts[0]);
                }
                let parts: Vec<String> = ts.iter().map(|t| t.to_string()).collect();
                write!(f, "{}", parts.join(" | "))
            }
            Ty::Fn(ps, r) => write!(f, "fn({}) -> {r}", list(ps)),
            Ty::Future(t) => write!(f, "future[{t}]"),
            Ty::Named(n, args) if args.is_empty() => write!(f, "{n}"),
            Ty::Named(n, args) => write!(f, "{n}[{}]", list(args)),
            Ty::Param(n) => write!(f, "{n}"),
        }
    }
}

/// What each generic parameter of a call stands for (§8.2).
pub type Subst = std::collections::HashMap<String, Ty>;

/// A generic parameter bound to two types that do not fit together.
#[derive(Debug, Clone, PartialEq)]
pub struct Conflict {
    pub param: String,
    pub was: Ty,
    pub now: Ty,
}

/// Binds the generic parameters of `pattern` (a parameter or field type)
/// from the type of the value given for it. A parameter seen twice keeps
/// the wider of its two types (`Int` then `Float` is `Float`); two types
/// neither of which fits the other are a conflict. Structural mismatches
/// are left to the assignability check that follows.
pub fn unify(pattern: &Ty, actual: &Ty, s: &mut Subst) -> Result<(), Conflict> {
    use Ty::*;
    match (pattern, actual) {
        (Param(n), a) => {
            if a.is_any() {
                return Ok(());
            }
            match s.get(n) {
                None => {
                    s.insert(n.clone(), a.clone());
                }
                Some(prev) if prev.is_any() || assignable(a, prev).is_ok() => {}
                Some(prev) if assignable(prev, a).is_ok() => {
                    s.insert(n.clone(), a.clone());
                }
                Some(prev) => {
                    return Err(Conflict {
                        param: n.clone(),
                        was: prev.clone(),
                        now: a.clone(),
                    })
                }
            }
            Ok(())
        }
        (List(p), List(a)) | (Set(p), Set(a)) | (Future(p), Future(a)) => unify(p, a, s),
        (Map(pk, pv), Map(ak, av)) | (Result(pk, pv), Result(ak, av)) => {
            unify(pk, ak, s)?;
            unify(pv, av, s)
        }
        (Tuple(ps), Tuple(as_)) if ps.len() == as_.len() => {
            for (p, a) in ps.iter().zip(as_) {
                unify(p, a, s)?;
            }
            Ok(())
        }
        (Fn(pp, pr), Fn(ap, ar)) if pp.len() == ap.len() => {
            for (p, a) in pp.iter().zip(ap) {
                unify(p, a, s)?;
            }
            unify(pr, ar, s)
        }
        (Named(pn, pa), Named(an, aa)) if pn == an && pa.len() == aa.len() => {
            for (p, a) in pa.iter().zip(aa) {
                unify(p, a, s)?;
            }
            Ok(())
        }
        // `T?` and other unions with one member that mentions parameters.
        (Union(ms), a) => {
            let generic: Vec<&Ty> = ms.iter().filter(|m| m.mentions_param()).collect();
            match generic.as_slice() {
                [one] if *a != Null => unify(one, &a.non_null(), s),
                _ => Ok(()),
            }
        }
        _ => Ok(()),
    }
}

/// `t` with its generic parameters replaced; unbound ones become `Any`.
pub fn substitute(t: &Ty, s: &Subst) -> Ty {
    use Ty::*;
    let b = |t: &Ty| Box::new(substitute(t, s));
    let all = |ts: &[Ty]| ts.iter().map(|t| substitute(t, s)).collect::<Vec<_>>();
    match t {
        Param(n) => s.get(n).cloned().unwrap_or(Any),
        List(x) => List(b(x)),
        Set(x) => Set(b(x)),
        Future(x) => Future(b(x)),
        Map(k, v) => Map(b(k), b(v)),
        Result(k, v) => Result(b(k), b(v)),
        Tuple(ts) => Tuple(all(ts)),
        Union(ts) => Ty::union(all(ts)),
        Fn(ps, r) => Fn(all(ps), b(r)),
        Named(n, a) => Named(n.clone(), all(a)),
        other => other.clone(),
    }
}

impl Ty {
    /// Whether a generic parameter occurs in the type.
    pub fn mentions_param(&self) -> bool {
        use Ty::*;
        match self {
            Param(_) => true,
            List(x) | Set(x) | Future(x) => x.mentions_param(),
            Map(a, b) | Result(a, b) => a.mentions_param() || b.mentions_param(),
            Tuple(ts) | Union(ts) | Named(_, ts) => ts.iter().any(Ty::mentions_param),
            Fn(ps, r) => ps.iter().any(Ty::mentions_param) || r.mentions_param(),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unify_binds_widens_and_conflicts() {
        let t = Ty::Param("T".into());
        let mut s = Subst::new();
        unify(&t, &Ty::Int, &mut s).unwrap();
        unify(&t, &Ty::Float, &mut s).unwrap();
        assert_eq!(s["T"], Ty::Float, "Int then Float widens");
        let c = unify(&t, &Ty::Str, &mut s).unwrap_err();
        assert_eq!((c.was, c.now), (Ty::Float, Ty::Str));
        let mut s = Subst::new();
        let list_t = Ty::List(Box::new(t.clone()));
        unify(&list_t, &Ty::List(Box::new(Ty::Str)), &mut s).unwrap();
        let opt = Ty::union(vec![t.clone(), Ty::Null]);
        assert_eq!(substitute(&opt, &s).to_string(), "String?");
        assert_eq!(substitute(&Ty::Param("U".into()), &s), Ty::Any);
    }
}
