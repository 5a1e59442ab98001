//! Patterns: tests that jump to the next arm on failure, and the
//! bindings they make.

use super::*;

impl Lowerer<'_> {
    /// Emits tests of `p` against register `v`; failing tests jump to the
    /// positions collected in `fails`; bindings go to `binds`.
    pub(super) fn pattern(
        &mut self,
        f: &mut Func,
        p: &Pattern,
        v: u32,
        fails: &mut Vec<usize>,
        binds: &mut HashMap<String, u32>,
    ) {
        let test = |f: &mut Func, fails: &mut Vec<usize>, r: u32| {
            fails.push(f.emit(Op::JumpIfFalse, r as i64, 0, 0));
        };
        match &p.kind {
            PatternKind::Wild => {}
            PatternKind::Bind(n) => self.bind_pattern(f, v, fails, binds, n),
            PatternKind::Typed { name, ty } => {
                let r = f.reg();
                let k = f.konst(json!(type_string(ty)));
                f.emit(Op::TestType, r as i64, v as i64, k);
                test(f, fails, r);
                let b = *binds.entry(name.clone()).or_insert_with(|| f.reg());
                f.emit(Op::Move, b as i64, v as i64, 0);
            }
            PatternKind::Literal(l) => {
                let c = f.reg();
                let k = f.konst(literal_json(l));
                f.emit(Op::LoadConst, c as i64, k, 0);
                let r = f.reg();
                f.emit(Op::Eq, r as i64, v as i64, c as i64);
                test(f, fails, r);
            }
            PatternKind::Range { lo, hi, inclusive } => {
                for (l, op) in [(lo, Op::Ge), (hi, if *inclusive { Op::Le } else { Op::Lt })] {
                    let c = f.reg();
                    let k = f.konst(literal_json(l));
                    f.emit(Op::LoadConst, c as i64, k, 0);
                    let r = f.reg();
                    f.emit(op, r as i64, v as i64, c as i64);
                    test(f, fails, r);
                }
            }
            PatternKind::Variant { path, args } => {
                self.variant_pattern(f, v, fails, binds, path, args)
            }
            PatternKind::Record { name, fields, .. } => {
                self.record_pattern(f, name, fields, v, fails, binds)
            }
            PatternKind::Tuple(ps) => {
                self.shape(f, v, "Tuple", ps.len(), false, fails);
                for (i, a) in ps.iter().enumerate() {
                    let x = f.reg();
                    let ik = f.reg();
                    let k = f.konst(json!(i));
                    f.emit(Op::LoadConst, ik as i64, k, 0);
                    f.emit(Op::GetIndex, x as i64, v as i64, ik as i64);
                    self.pattern(f, a, x, fails, binds);
                }
            }
            PatternKind::List {
                before,
                rest,
                after,
            } => self.list_pattern(f, v, fails, binds, before, rest, after),
            PatternKind::Or(alts) => self.or_pattern(f, v, fails, binds, alts),
        }
    }

    pub(super) fn record_pattern(
        &mut self,
        f: &mut Func,
        name: &str,
        fields: &[(String, Pattern)],
        v: u32,
        fails: &mut Vec<usize>,
        binds: &mut HashMap<String, u32>,
    ) {
        let r = f.reg();
        let k = f.konst(json!(name));
        f.emit(Op::TestType, r as i64, v as i64, k);
        fails.push(f.emit(Op::JumpIfFalse, r as i64, 0, 0));
        for (fname, p) in fields {
            let x = f.reg();
            let k = f.konst(json!(fname));
            f.emit(Op::GetField, x as i64, v as i64, k);
            self.pattern(f, p, x, fails, binds);
        }
    }

    /// Tests that `v` is a tuple/list of length `n` (at least `n` with a rest).
    pub(super) fn shape(
        &mut self,
        f: &mut Func,
        v: u32,
        ty: &str,
        n: usize,
        at_least: bool,
        fails: &mut Vec<usize>,
    ) {
        let r = f.reg();
        let k = f.konst(json!(ty));
        f.emit(Op::TestType, r as i64, v as i64, k);
        fails.push(f.emit(Op::JumpIfFalse, r as i64, 0, 0));
        let len = f.reg();
        f.emit(Op::Len, len as i64, v as i64, 0);
        let c = f.reg();
        let k = f.konst(json!(n));
        f.emit(Op::LoadConst, c as i64, k, 0);
        f.emit(
            if at_least { Op::Ge } else { Op::Eq },
            r as i64,
            len as i64,
            c as i64,
        );
        fails.push(f.emit(Op::JumpIfFalse, r as i64, 0, 0));
    }
}

impl Lowerer<'_> {
    /// `Bind`.
    fn bind_pattern(
        &mut self,
        f: &mut Func,
        v: u32,
        fails: &mut Vec<usize>,
        binds: &mut HashMap<String, u32>,
        n: &str,
    ) {
        let test = |f: &mut Func, fails: &mut Vec<usize>, r: u32| {
            fails.push(f.emit(Op::JumpIfFalse, r as i64, 0, 0));
        };
        if let Some(ValueDef::Variant { enum_name, .. }) = self
            .sy
            .values
            .get(n)
            .filter(|_| n.starts_with(|c: char| c.is_ascii_uppercase()))
        {
            let r = f.reg();
            let k = f.konst(json!(format!("{enum_name}.{n}")));
            f.emit(Op::TestVariant, r as i64, v as i64, k);
            test(f, fails, r);
        } else {
            let r = *binds.entry(n.to_string()).or_insert_with(|| f.reg());
            f.emit(Op::Move, r as i64, v as i64, 0);
        }
    }

    /// `Variant`.
    fn variant_pattern(
        &mut self,
        f: &mut Func,
        v: u32,
        fails: &mut Vec<usize>,
        binds: &mut HashMap<String, u32>,
        path: &[String],
        args: &[Pattern],
    ) {
        let test = |f: &mut Func, fails: &mut Vec<usize>, r: u32| {
            fails.push(f.emit(Op::JumpIfFalse, r as i64, 0, 0));
        };
        if let [n] = path {
            if let Some(TypeDef::Record { .. }) = self.sy.types.get(n) {
                let fields: Vec<(String, Pattern)> = args
                    .iter()
                    .filter_map(|a| match &a.kind {
                        PatternKind::Bind(x) => Some((x.clone(), a.clone())),
                        _ => None,
                    })
                    .collect();
                return self.record_pattern(f, n, &fields, v, fails, binds);
            }
        }
        let qual = match path {
            [x] if x == "ok" || x == "err" => x.clone(),
            [x] => match self.sy.values.get(x) {
                Some(ValueDef::Variant { enum_name, .. }) => format!("{enum_name}.{x}"),
                _ => x.clone(),
            },
            more => more.join("."),
        };
        let r = f.reg();
        let k = f.konst(json!(qual));
        f.emit(Op::TestVariant, r as i64, v as i64, k);
        test(f, fails, r);
        for (i, a) in args.iter().enumerate() {
            let x = f.reg();
            f.emit(Op::GetPayload, x as i64, v as i64, i as i64);
            self.pattern(f, a, x, fails, binds);
        }
    }

    /// `List`.
    #[allow(clippy::too_many_arguments)]
    fn list_pattern(
        &mut self,
        f: &mut Func,
        v: u32,
        fails: &mut Vec<usize>,
        binds: &mut HashMap<String, u32>,
        before: &[Pattern],
        rest: &Option<Option<String>>,
        after: &[Pattern],
    ) {
        self.shape(
            f,
            v,
            "List",
            before.len() + after.len(),
            rest.is_some(),
            fails,
        );
        for (i, a) in before.iter().enumerate() {
            let x = f.reg();
            let ik = f.reg();
            let k = f.konst(json!(i));
            f.emit(Op::LoadConst, ik as i64, k, 0);
            f.emit(Op::GetIndex, x as i64, v as i64, ik as i64);
            self.pattern(f, a, x, fails, binds);
        }
        for (i, a) in after.iter().enumerate() {
            let x = f.reg();
            f.emit(
                Op::IndexFromEnd,
                x as i64,
                v as i64,
                (after.len() - i) as i64,
            );
            self.pattern(f, a, x, fails, binds);
        }
        if let Some(Some(r)) = rest {
            let b = *binds.entry(r.clone()).or_insert_with(|| f.reg());
            f.emit(Op::SliceMid, b as i64, v as i64, before.len() as i64);
            f.emit(Op::Nop, after.len() as i64, 0, 0);
        }
    }

    /// `Or`.
    fn or_pattern(
        &mut self,
        f: &mut Func,
        v: u32,
        fails: &mut Vec<usize>,
        binds: &mut HashMap<String, u32>,
        alts: &[Pattern],
    ) {
        let mut done = Vec::new();
        for (i, a) in alts.iter().enumerate() {
            let mut local_fails = Vec::new();
            self.pattern(f, a, v, &mut local_fails, binds);
            if i + 1 == alts.len() {
                fails.extend(local_fails);
            } else {
                done.push(f.emit(Op::Jump, 0, 0, 0));
                for x in local_fails {
                    f.patch(x);
                }
            }
        }
        for d in done {
            f.patch(d);
        }
    }
}
