//! Declarations (§4, §9.2, §9.4, §10.1-10.2, §11) and the whole program:
//! items, directives and attributes, and the top-level statements that
//! form the synthetic `main` (§2.5).

use super::{PResult, Parser};
use crate::ast::{
    Attrs, Body, CellDecl, Field, Generic, Grant, HandlerOp, Item, ItemKind, Literal, Process,
    ProcessKind, Program, State, Variant,
};
use crate::diag::{Diagnostic, Kind, Span};
use crate::lexer::{Keyword, Token, TokenKind};
use crate::source::{Directive, DirectiveValue};

/// Parses a whole token stream. Returns the program and every diagnostic
/// (parse errors, with recovery at the next top-level line, and warnings).
pub fn parse_program(toks: &[Token]) -> (Program, Vec<Diagnostic>, Vec<(u32, u32)>) {
    let mut p = Parser::new(toks);
    let mut prog = Program::default();
    let mut diags = Vec::new();
    loop {
        p.skip_layout();
        if matches!(p.peek(), TokenKind::Eof) {
            break;
        }
        let start = p.pos;
        if let Err(e) = p.top_level(&mut prog) {
            diags.push(e);
            p.recover(start);
        }
    }
    diags.append(&mut p.warnings);
    (prog, diags, p.marks)
}

/// Soft keywords that start a declaration when followed by a name (§3.4).
fn soft_item(word: &str) -> bool {
    matches!(
        word,
        "effect"
            | "handler"
            | "agent"
            | "memory"
            | "machine"
            | "pipeline"
            | "orchestration"
            | "guardrail"
            | "eval"
            | "pattern"
    )
}

impl Parser<'_> {
    /// After a parse error: skip to the next line that starts at column 1
    /// (the next top-level declaration or statement); an `end` there
    /// belongs to the broken declaration and is skipped too.
    fn recover(&mut self, start: usize) {
        if self.pos == start {
            self.pos += 1;
        }
        loop {
            match self.peek() {
                TokenKind::Eof => return,
                TokenKind::Newline => {
                    self.pos += 1;
                    self.skip_layout();
                    if self.span().col == 1 {
                        if self.at_kw(Keyword::End) {
                            continue;
                        }
                        return;
                    }
                }
                _ => self.pos += 1,
            }
        }
    }

    fn top_level(&mut self, prog: &mut Program) -> PResult<()> {
        let mut attrs = Attrs::default();
        // Directives and attributes.
        while self.at_sym("@") {
            let span = self.span();
            self.mark(0);
            self.pos += 1;
            let name = match self.peek().clone() {
                TokenKind::Ident(n) => n,
                TokenKind::Kw(k) => k.as_str().to_string(),
                _ => return Err(self.error("a directive or attribute name after `@`")),
            };
            self.pos += 1;
            match name.as_str() {
                "test" => attrs.test = true,
                "must_use" => attrs.must_use = true,
                "deprecated" => {
                    attrs.deprecated = Some(match self.peek().clone() {
                        TokenKind::Str(_) | TokenKind::RawStr(_) => match self.literal()? {
                            Some(Literal::Str(s)) => s,
                            _ => String::new(),
                        },
                        _ => String::new(),
                    })
                }
                _ => {
                    let value = match self.peek().clone() {
                        TokenKind::Kw(Keyword::True) => DirectiveValue::Bool(true),
                        TokenKind::Kw(Keyword::False) => DirectiveValue::Bool(false),
                        TokenKind::Ident(w) => DirectiveValue::Word(w),
                        TokenKind::Int(v) => DirectiveValue::Word(v.to_string()),
                        TokenKind::Float(v) => DirectiveValue::Word(v.to_string()),
                        TokenKind::Str(_) | TokenKind::RawStr(_) => match self.literal()? {
                            Some(Literal::Str(s)) => DirectiveValue::Str(s),
                            _ => DirectiveValue::Str(String::new()),
                        },
                        _ => DirectiveValue::Bool(true),
                    };
                    if !self.at_line_end() {
                        self.pos += 1;
                    }
                    if !crate::source::KNOWN_DIRECTIVES.contains(&name.as_str()) {
                        self.warnings.push(Diagnostic::warning(
                            Kind::UnknownDirective,
                            span,
                            format!("unknown directive `@{name}` is ignored"),
                        ));
                    }
                    prog.directives.push(Directive {
                        name,
                        value,
                        line: span.line,
                    });
                    self.end_of_stmt()?;
                    return Ok(());
                }
            }
            self.skip_layout();
        }
        if let Some(item) = self.item(attrs)? {
            prog.items.push(item);
        } else {
            let s = self.stmt()?;
            prog.main.push(s);
        }
        Ok(())
    }

    /// A declaration, if one starts here.
    fn item(&mut self, attrs: Attrs) -> PResult<Option<Item>> {
        if self.at_kw(Keyword::Pub) {
            self.pos += 1;
        }
        let span = self.span();
        let col = span.col;
        self.mark(self.level);
        let kind = match self.peek().clone() {
            TokenKind::Kw(Keyword::Cell | Keyword::Async | Keyword::Extern) => {
                ItemKind::Cell(self.cell_decl(attrs, false)?)
            }
            TokenKind::Kw(Keyword::Record) => {
                self.pos += 1;
                self.record()?
            }
            TokenKind::Kw(Keyword::Enum) => {
                self.pos += 1;
                self.enum_decl()?
            }
            TokenKind::Kw(Keyword::Type) => {
                self.pos += 1;
                self.type_alias()?
            }
            TokenKind::Kw(Keyword::Const) => {
                self.pos += 1;
                self.const_decl()?
            }
            TokenKind::Kw(Keyword::Trait) => {
                self.pos += 1;
                self.trait_decl()?
            }
            TokenKind::Kw(Keyword::Impl) => {
                self.pos += 1;
                self.impl_decl(span)?
            }
            TokenKind::Kw(Keyword::Import) => {
                self.pos += 1;
                self.import()?
            }
            TokenKind::Kw(Keyword::Use) => {
                self.pos += 1;
                self.use_tool()?
            }
            TokenKind::Kw(Keyword::Grant) => ItemKind::Grant(self.grant()?),
            TokenKind::Kw(k @ (Keyword::Macro | Keyword::Schema)) => {
                self.pos += 1;
                self.skip_ignored(col)?;
                if k == Keyword::Macro {
                    self.warnings.push(Diagnostic::warning(
                        Kind::Unused,
                        span,
                        "macros are not expanded yet; this `macro` is ignored",
                    ));
                }
                ItemKind::Ignored(k.as_str())
            }
            TokenKind::Ident(w)
                if w == "bind"
                    && matches!(self.peek_at(1), TokenKind::Ident(e) if e == "effect") =>
            {
                self.pos += 2;
                self.bind_effect()?
            }
            TokenKind::Ident(w)
                if soft_item(&w) && matches!(self.peek_at(1), TokenKind::Ident(_)) =>
            {
                self.pos += 1;
                match w.as_str() {
                    "effect" => {
                        let name = self.ident("the effect's name")?;
                        let ops = self.cells_until_end(true)?;
                        ItemKind::Effect { name, ops }
                    }
                    "handler" => self.handler()?,
                    "agent" => self.process(ProcessKind::Agent)?,
                    "memory" => self.process(ProcessKind::Memory)?,
                    "machine" => self.process(ProcessKind::Machine)?,
                    "pipeline" => self.process(ProcessKind::Pipeline)?,
                    "orchestration" => self.process(ProcessKind::Orchestration)?,
                    _ => {
                        self.skip_ignored(col)?;
                        ItemKind::Ignored(match w.as_str() {
                            "guardrail" => "guardrail",
                            "eval" => "eval",
                            _ => "pattern",
                        })
                    }
                }
            }
            _ => return Ok(None),
        };
        self.end_of_stmt()?;
        Ok(Some(Item {
            kind,
            span,
            module: 0,
        }))
    }

    /// `type Name[T] = Type`.
    fn type_alias(&mut self) -> PResult<ItemKind> {
        let name = self.ident("the alias name")?;
        let generics = self.generics()?;
        self.expect_sym("=")?;
        Ok(ItemKind::TypeAlias {
            name,
            generics,
            ty: self.parse_type()?,
        })
    }

    /// `const NAME[: Type] = value`.
    fn const_decl(&mut self) -> PResult<ItemKind> {
        let name = self.ident("the constant's name")?;
        let ty = if self.eat_sym(":") {
            Some(self.parse_type()?)
        } else {
            None
        };
        self.expect_sym("=")?;
        Ok(ItemKind::Const {
            name,
            ty,
            value: self.parse_expr()?,
        })
    }

    /// `trait Name[: Super + ...]` and its cells.
    fn trait_decl(&mut self) -> PResult<ItemKind> {
        let name = self.ident("the trait's name")?;
        let mut supertraits = Vec::new();
        if self.eat_sym(":") {
            supertraits.push(self.ident("a supertrait name")?);
            while self.eat_sym("+") {
                supertraits.push(self.ident("a supertrait name")?);
            }
        }
        let methods = self.cells_until_end(true)?;
        Ok(ItemKind::Trait {
            name,
            supertraits,
            methods,
        })
    }

    /// `impl [Trait for] Type` and its cells.
    fn impl_decl(&mut self, span: Span) -> PResult<ItemKind> {
        let first = self.parse_type()?;
        let (trait_name, target) = if self.at_kw(Keyword::For) {
            self.pos += 1;
            let crate::ast::TypeExpr::Named { name, .. } = first else {
                return Err(Diagnostic::error(
                    Kind::ParseError,
                    span,
                    "`impl Trait for Type` names a trait before `for`",
                ));
            };
            (Some(name), self.parse_type()?)
        } else {
            (None, first)
        };
        let methods = self.cells_until_end(false)?;
        Ok(ItemKind::Impl {
            trait_name,
            target,
            methods,
        })
    }

    /// `use tool id[@version] as Alias`.
    fn use_tool(&mut self) -> PResult<ItemKind> {
        self.expect_kw(Keyword::Tool)?;
        let id = self.tool_id()?;
        let version = if self.eat_sym("@") {
            let v = match self.peek() {
                TokenKind::Int(v) => v.to_string(),
                TokenKind::Float(v) => v.to_string(),
                TokenKind::Ident(v) => v.clone(),
                _ => return Err(self.error("a tool version after `@`")),
            };
            self.pos += 1;
            Some(v)
        } else {
            None
        };
        self.expect_kw(Keyword::As)?;
        Ok(ItemKind::UseTool {
            id,
            version,
            alias: self.ident("the tool's alias")?,
        })
    }

    /// `bind effect E[.op] to Alias` (after `bind effect`).
    fn bind_effect(&mut self) -> PResult<ItemKind> {
        let effect = self.ident("an effect name")?;
        let op = if self.eat_sym(".") {
            Some(self.ident("an operation name")?)
        } else {
            None
        };
        match self.peek() {
            TokenKind::Ident(t) if t == "to" => self.pos += 1,
            _ => return Err(self.error("`to` and a tool alias")),
        }
        Ok(ItemKind::BindEffect {
            effect,
            op,
            alias: self.ident("a tool alias")?,
        })
    }

    /// Skips a reserved declaration's body: up to an `end` at the
    /// declaration's column that starts its line.
    fn skip_ignored(&mut self, col: u32) -> PResult<()> {
        loop {
            match self.peek() {
                TokenKind::Eof => return Ok(()),
                TokenKind::Newline => {
                    self.pos += 1;
                    self.skip_layout();
                    if self.span().col <= col {
                        // A one-line declaration has no body; a body ends
                        // with an `end` aligned with the declaration.
                        if self.at_kw(Keyword::End) {
                            self.pos += 1;
                        }
                        return Ok(());
                    }
                }
                _ => self.pos += 1,
            }
        }
    }

    /// `[T, U: Bound + Other]` after a name.
    fn generics(&mut self) -> PResult<Vec<Generic>> {
        if !self.eat_sym("[") {
            return Ok(Vec::new());
        }
        self.list("]", |p| {
            let name = p.ident("a type parameter")?;
            let mut bounds = Vec::new();
            if p.eat_sym(":") {
                bounds.push(p.ident("a trait name")?);
                while p.eat_sym("+") {
                    bounds.push(p.ident("a trait name")?);
                }
            }
            Ok(Generic { name, bounds })
        })
    }

    /// `[async|extern] cell name[G](params) [-> T] [/ effects]` and its
    /// body: `= expr`, a block up to `end`, or (for signatures, when
    /// `sig` is set) nothing when the next line is not indented deeper.
    pub(super) fn cell_decl(&mut self, attrs: Attrs, sig: bool) -> PResult<CellDecl> {
        let span = self.span();
        let mut is_async = false;
        let mut is_extern = false;
        loop {
            match self.peek() {
                TokenKind::Kw(Keyword::Async) => is_async = true,
                TokenKind::Kw(Keyword::Extern) => is_extern = true,
                TokenKind::Kw(Keyword::Pub) => {}
                _ => break,
            }
            self.pos += 1;
        }
        self.expect_kw(Keyword::Cell)?;
        let name = self.ident("the cell's name")?;
        let generics = self.generics()?;
        self.expect_sym("(")?;
        let params = self.list(")", |p| p.param())?;
        let ret = if self.eat_sym("->") {
            Some(self.parse_type()?)
        } else {
            None
        };
        let effects = if self.eat_sym("/") {
            Some(self.effect_row()?)
        } else {
            None
        };
        let body = if self.eat_sym("=") {
            Some(Body::Expr(self.parse_expr()?))
        } else if is_extern || (sig && self.signature_only(span.col)) {
            None
        } else {
            let b = self.block_until(&[Keyword::End])?;
            self.expect_kw(Keyword::End)?;
            Some(Body::Block(b))
        };
        Ok(CellDecl {
            name,
            generics,
            params,
            ret,
            effects,
            body,
            is_async,
            is_extern,
            attrs,
            span,
        })
    }

    /// Whether the next line is not indented right of `col` (a signature
    /// without a body).
    fn signature_only(&self, col: u32) -> bool {
        let mut i = self.pos;
        while let Some(t) = self.toks.get(i) {
            match t.kind {
                TokenKind::Newline | TokenKind::Indent | TokenKind::Dedent => i += 1,
                TokenKind::Eof => return true,
                _ => return t.span.col <= col,
            }
        }
        true
    }

    /// Cells (methods or signatures) up to `end`.
    fn cells_until_end(&mut self, sig: bool) -> PResult<Vec<CellDecl>> {
        let level = self.level;
        self.level += 1;
        let r = self.cells_until_end_inner(sig);
        self.level = level;
        let cells = r?;
        self.mark(level);
        self.expect_kw(Keyword::End)?;
        Ok(cells)
    }

    fn cells_until_end_inner(&mut self, sig: bool) -> PResult<Vec<CellDecl>> {
        let mut cells = Vec::new();
        loop {
            if self.at_body_end() {
                return Ok(cells);
            }
            self.mark(self.level);
            let attrs = self.attrs()?;
            cells.push(self.cell_decl(attrs, sig)?);
            self.end_of_stmt()?;
        }
    }

    /// Attributes inside a body (`@test` before a method).
    fn attrs(&mut self) -> PResult<Attrs> {
        let mut attrs = Attrs::default();
        while self.eat_sym("@") {
            match self.ident("an attribute name")?.as_str() {
                "test" => attrs.test = true,
                "must_use" => attrs.must_use = true,
                "deprecated" => {
                    attrs.deprecated = Some(match self.literal()? {
                        Some(Literal::Str(s)) => s,
                        _ => String::new(),
                    })
                }
                other => {
                    let span = self.span();
                    self.warnings.push(Diagnostic::warning(
                        Kind::UnknownDirective,
                        span,
                        format!("unknown attribute `@{other}` is ignored"),
                    ));
                }
            }
            self.skip_layout();
        }
        Ok(attrs)
    }

    /// A method (with its attributes) inside a record or enum body at
    /// `level`, if one starts here.
    fn member_cell(&mut self, level: u32) -> PResult<Option<CellDecl>> {
        let starts = matches!(
            self.peek(),
            TokenKind::Kw(Keyword::Cell | Keyword::Async | Keyword::Pub)
        ) || self.at_sym("@");
        if !starts {
            return Ok(None);
        }
        let attrs = self.attrs()?;
        self.level = level + 1;
        let c = self.cell_decl(attrs, false);
        self.level = level;
        c.map(Some)
    }

    fn record(&mut self) -> PResult<ItemKind> {
        let name = self.ident("the record's name")?;
        let generics = self.generics()?;
        let mut fields = Vec::new();
        let mut methods = Vec::new();
        let level = self.level;
        loop {
            if self.at_body_end() {
                break;
            }
            self.mark(level + 1);
            if let Some(c) = self.member_cell(level)? {
                methods.push(c);
                continue;
            }
            let span = self.span();
            let fname = self.ident("a field `name: Type`, a cell or `end`")?;
            self.expect_sym(":")?;
            let ty = self.parse_type()?;
            let default = if self.eat_sym("=") {
                Some(self.parse_expr()?)
            } else {
                None
            };
            let constraint = if self.at_kw(Keyword::Where) {
                self.pos += 1;
                Some(self.parse_expr()?)
            } else {
                None
            };
            self.end_of_stmt()?;
            fields.push(Field {
                name: fname,
                ty,
                default,
                constraint,
                span,
            });
        }
        self.mark(level);
        self.expect_kw(Keyword::End)?;
        Ok(ItemKind::Record {
            name,
            generics,
            fields,
            methods,
        })
    }

    fn enum_decl(&mut self) -> PResult<ItemKind> {
        let name = self.ident("the enum's name")?;
        let generics = self.generics()?;
        let mut variants = Vec::new();
        let mut methods = Vec::new();
        let level = self.level;
        loop {
            if self.at_body_end() {
                break;
            }
            self.mark(level + 1);
            if let Some(c) = self.member_cell(level)? {
                methods.push(c);
                continue;
            }
            let span = self.span();
            let vname = self.ident("a variant, a cell or `end`")?;
            let payload = if self.eat_sym("(") {
                self.list(")", |p| p.parse_type())?
            } else {
                Vec::new()
            };
            variants.push(Variant {
                name: vname,
                payload,
                span,
            });
            // Variants may also be separated by commas or `|`.
            if !self.eat_sym(",") && !self.eat_sym("|") {
                self.end_of_stmt()?;
            }
        }
        self.mark(level);
        self.expect_kw(Keyword::End)?;
        Ok(ItemKind::Enum {
            name,
            generics,
            variants,
            methods,
        })
    }

    fn import(&mut self) -> PResult<ItemKind> {
        let mut path = vec![self.path_segment()?];
        while self.eat_sym(".") {
            path.push(self.path_segment()?);
        }
        self.expect_sym(":")?;
        if self.eat_sym("*") {
            return Ok(ItemKind::Import { path, names: None });
        }
        let mut names = Vec::new();
        loop {
            let span = self.span();
            let n = self.ident("a name to import")?;
            let alias = if self.at_kw(Keyword::As) {
                self.pos += 1;
                Some(self.ident("the local name after `as`")?)
            } else {
                None
            };
            names.push((n, alias, span));
            if !self.eat_sym(",") {
                break;
            }
        }
        Ok(ItemKind::Import {
            path,
            names: Some(names),
        })
    }

    /// A module path or tool id segment: a word, possibly a keyword
    /// (`json.parse`).
    fn path_segment(&mut self) -> PResult<String> {
        match self.peek().clone() {
            TokenKind::Ident(n) => {
                self.pos += 1;
                Ok(n)
            }
            TokenKind::Kw(k) => {
                self.pos += 1;
                Ok(k.as_str().to_string())
            }
            _ => Err(self.error("a name")),
        }
    }

    /// `seg.seg[.seg]`: lower-case segments (§10.1).
    fn tool_id(&mut self) -> PResult<String> {
        let span = self.span();
        let mut segs = vec![self.path_segment()?];
        while self.eat_sym(".") {
            segs.push(self.path_segment()?);
        }
        let ok_seg = |s: &String| {
            let mut c = s.chars();
            c.next().is_some_and(|f| f.is_ascii_lowercase())
                && c.all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_')
        };
        if segs.len() < 2 || !segs.iter().all(ok_seg) {
            return Err(Diagnostic::error(
                Kind::ParseError,
                span,
                format!(
                    "`{}` is not a tool id: write two or more dot-separated lower-case segments (`llm.chat`)",
                    segs.join(".")
                ),
            ));
        }
        Ok(segs.join("."))
    }

    /// `grant Alias key value` or the block form (lines right of `grant`,
    /// optionally closed by an aligned `end`).
    fn grant(&mut self) -> PResult<Grant> {
        let span = self.span();
        let col = span.col;
        self.pos += 1;
        let alias = self.ident("the tool alias to grant")?;
        let mut entries = Vec::new();
        while !self.at_line_end() {
            entries.push(self.grant_entry()?);
        }
        // Block form.
        loop {
            let save = self.pos;
            self.skip_layout();
            if self.at_kw(Keyword::End) && self.span().col == col {
                self.mark(self.level);
                self.pos += 1;
                break;
            }
            if matches!(self.peek(), TokenKind::Eof) || self.span().col <= col {
                self.pos = save;
                break;
            }
            self.mark(self.level + 1);
            while !self.at_line_end() {
                entries.push(self.grant_entry()?);
            }
        }
        Ok(Grant {
            alias,
            entries,
            span,
        })
    }

    fn grant_entry(&mut self) -> PResult<(String, Literal)> {
        let key = self.path_segment()?;
        let vspan = self.span();
        // `allowed_domains ["a.com", "b.org"]`: a set of allowed values.
        if self.eat_sym("[") {
            let mut items = Vec::new();
            while !self.at_sym("]") {
                let ispan = self.span();
                match self.literal()? {
                    Some(Literal::Null) | None => {
                        return Err(Diagnostic::error(
                            Kind::ParseError,
                            ispan,
                            format!(
                            "grant key `{key}`: a list holds Int, Float, String or Bool literals"
                        ),
                        ))
                    }
                    Some(v) => items.push(v),
                }
                if !self.eat_sym(",") {
                    break;
                }
            }
            self.expect_sym("]")?;
            return Ok((key, Literal::List(items)));
        }
        match self.literal()? {
            Some(Literal::Null) | None => Err(Diagnostic::error(
                Kind::ParseError,
                vspan,
                format!("grant key `{key}` needs a value: an Int, Float, String or Bool literal, or a list of them"),
            )),
            Some(v) => Ok((key, v)),
        }
    }

    /// `handler Name` with `handle E.op(params) [-> T] ... end` blocks.
    fn handler(&mut self) -> PResult<ItemKind> {
        let name = self.ident("the handler's name")?;
        let mut ops = Vec::new();
        let level = self.level;
        loop {
            if self.at_body_end() {
                break;
            }
            self.mark(level + 1);
            let span = self.span();
            self.expect_kw(Keyword::Handle)?;
            let effect = self.ident("an effect name")?;
            self.expect_sym(".")?;
            let op = self.ident("an operation name")?;
            self.expect_sym("(")?;
            let params = self.list(")", |p| p.param())?;
            let ret = if self.eat_sym("->") {
                Some(self.parse_type()?)
            } else {
                None
            };
            self.level = level + 1;
            let body = if self.eat_sym("=") {
                self.parse_expr().map(Body::Expr)
            } else {
                self.block_until(&[Keyword::End]).map(Body::Block)
            };
            self.level = level;
            let body = body?;
            if matches!(body, Body::Block(_)) {
                self.expect_kw(Keyword::End)?;
            }
            ops.push(HandlerOp {
                effect,
                op: op.clone(),
                cell: CellDecl {
                    name: op,
                    generics: Vec::new(),
                    params,
                    ret,
                    effects: None,
                    body: Some(body),
                    is_async: false,
                    is_extern: false,
                    attrs: Attrs::default(),
                    span,
                },
            });
        }
        self.mark(level);
        self.expect_kw(Keyword::End)?;
        Ok(ItemKind::Handler { name, ops })
    }

    /// `agent`, `memory`, `machine`, `pipeline`, `orchestration` bodies.
    fn process(&mut self, kind: ProcessKind) -> PResult<ItemKind> {
        let name = self.ident("the declaration's name")?;
        let mut proc_ = Process {
            kind,
            name,
            cells: Vec::new(),
            grants: Vec::new(),
            config: Vec::new(),
            initial: None,
            states: Vec::new(),
            stages: Vec::new(),
        };
        let level = self.level;
        self.level += 1;
        let r = self.process_body(&mut proc_);
        self.level = level;
        r?;
        self.mark(level);
        self.expect_kw(Keyword::End)?;
        Ok(ItemKind::Process(proc_))
    }

    fn process_body(&mut self, pr: &mut Process) -> PResult<()> {
        loop {
            if self.at_body_end() {
                return Ok(());
            }
            self.mark(self.level);
            let span = self.span();
            match self.peek().clone() {
                TokenKind::Kw(Keyword::Cell | Keyword::Async | Keyword::Pub | Keyword::Extern) => {
                    let c = self.cell_decl(Attrs::default(), false)?;
                    pr.cells.push(c);
                }
                TokenKind::Sym("@") => {
                    let attrs = self.attrs()?;
                    let c = self.cell_decl(attrs, false)?;
                    pr.cells.push(c);
                }
                TokenKind::Kw(Keyword::Grant) => {
                    let g = self.grant()?;
                    pr.grants.push(g);
                }
                TokenKind::Kw(Keyword::Role) => {
                    // `role Name: text`: documentation for the runtime.
                    self.pos += 1;
                    while !self.at_line_end() {
                        self.pos += 1;
                    }
                }
                TokenKind::Ident(w) if w == "state" && pr.kind == ProcessKind::Machine => {
                    self.pos += 1;
                    let st = self.state(span)?;
                    pr.states.push(st);
                }
                TokenKind::Ident(w)
                    if w == "initial" && matches!(self.peek_at(1), TokenKind::Sym(":")) =>
                {
                    self.pos += 2;
                    let s = self.span();
                    pr.initial = Some((self.ident("the initial state's name")?, s));
                }
                TokenKind::Ident(w)
                    if w == "stages"
                        && matches!(self.peek_at(1), TokenKind::Sym(":"))
                        && matches!(
                            self.peek_at(2),
                            TokenKind::Newline | TokenKind::Indent | TokenKind::Dedent
                        ) =>
                {
                    self.pos += 2;
                    loop {
                        self.skip_layout();
                        if self.at_kw(Keyword::End) {
                            self.mark(self.level);
                            self.pos += 1;
                            break;
                        }
                        self.mark(self.level + 1);
                        self.expect_sym("->")?;
                        let s = self.span();
                        pr.stages.push((self.ident("a stage cell's name")?, s));
                    }
                }
                TokenKind::Ident(key) if matches!(self.peek_at(1), TokenKind::Sym(":")) => {
                    self.pos += 2;
                    if self.at_line_end() {
                        self.warn_skip(span, &key)?;
                        continue;
                    }
                    let e = self.parse_expr()?;
                    pr.config.push((key, e));
                }
                TokenKind::Ident(word) => {
                    self.warn_skip(span, &word)?;
                    continue;
                }
                _ => return Err(self.error("a cell, grant, `key: value` line or `end`")),
            }
            self.end_of_stmt()?;
        }
    }

    /// An unknown line (and the block below it) in a process body: ignored
    /// with a warning (§4.7).
    fn warn_skip(&mut self, span: Span, word: &str) -> PResult<()> {
        self.warnings.push(Diagnostic::warning(
            Kind::Unused,
            span,
            format!("`{word}` is not understood here and is ignored"),
        ));
        let col = span.col;
        while !self.at_line_end() {
            self.pos += 1;
        }
        loop {
            let save = self.pos;
            self.skip_layout();
            if matches!(self.peek(), TokenKind::Eof) {
                return Ok(());
            }
            let c = self.span().col;
            if c > col {
                while !self.at_line_end() {
                    self.pos += 1;
                }
                continue;
            }
            if c == col && self.at_kw(Keyword::End) {
                // An `end` closing the unknown block (not the process's own,
                // which sits left of it).
                let mut j = self.pos + 1;
                while matches!(
                    self.toks.get(j).map(|t| &t.kind),
                    Some(TokenKind::Newline | TokenKind::Indent | TokenKind::Dedent)
                ) {
                    j += 1;
                }
                if self.toks.get(j).is_some_and(|t| t.span.col >= col)
                    && !matches!(self.toks.get(j).map(|t| &t.kind), Some(TokenKind::Eof))
                {
                    self.pos += 1;
                    return Ok(());
                }
            }
            self.pos = save;
            return Ok(());
        }
    }

    /// `state Name(params)` with `guard:`, `transition`, `terminal:` lines,
    /// up to `end`.
    fn state(&mut self, span: Span) -> PResult<State> {
        let name = self.ident("the state's name")?;
        let params = if self.eat_sym("(") {
            self.list(")", |p| p.param())?
        } else {
            Vec::new()
        };
        let mut st = State {
            name,
            params,
            guard: None,
            transition: None,
            terminal: false,
            span,
        };
        loop {
            if self.at_body_end() {
                break;
            }
            self.mark(self.level + 1);
            let lspan = self.span();
            match self.peek().clone() {
                TokenKind::Ident(w)
                    if w == "guard" && matches!(self.peek_at(1), TokenKind::Sym(":")) =>
                {
                    self.pos += 2;
                    st.guard = Some(self.parse_expr()?);
                }
                TokenKind::Ident(w)
                    if w == "terminal" && matches!(self.peek_at(1), TokenKind::Sym(":")) =>
                {
                    self.pos += 2;
                    st.terminal = match self.literal()? {
                        Some(Literal::Bool(b)) => b,
                        _ => return Err(self.error("`true` or `false` after `terminal:`")),
                    };
                }
                TokenKind::Ident(w) if w == "transition" => {
                    self.pos += 1;
                    let tspan = self.span();
                    let target = self.ident("the target state")?;
                    let args = if self.eat_sym("(") {
                        self.list(")", |p| p.parse_expr())?
                    } else {
                        Vec::new()
                    };
                    st.transition = Some((target, args, tspan));
                }
                TokenKind::Ident(w) => {
                    self.warn_skip(lspan, &w)?;
                    continue;
                }
                _ => return Err(self.error("`guard:`, `transition`, `terminal:` or `end`")),
            }
            self.end_of_stmt()?;
        }
        self.mark(self.level);
        self.expect_kw(Keyword::End)?;
        Ok(st)
    }
}
