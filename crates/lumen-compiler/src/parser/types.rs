//! Types (§8.1): names with arguments, unions, optionals, tuples,
//! function types and effect rows.

use super::*;

impl<'t> Parser<'t> {
    /// `A | B`, `T?`, `fn(A) -> R / {e}`, `(A, B)`, `Name[Args]`.
    pub fn parse_type(&mut self) -> PResult<TypeExpr> {
        self.nested(|p| p.parse_type_inner())
    }

    pub(super) fn parse_type_inner(&mut self) -> PResult<TypeExpr> {
        let first = self.type_optional()?;
        if !self.at_sym("|") {
            return Ok(first);
        }
        let mut members = vec![first];
        while self.eat_sym("|") {
            members.push(self.type_optional()?);
        }
        Ok(TypeExpr::Union(members))
    }

    /// A type without a top-level union (inside patterns, where `|`
    /// separates alternatives).
    pub fn type_optional(&mut self) -> PResult<TypeExpr> {
        let mut t = self.type_primary()?;
        while self.eat_sym("?") {
            t = TypeExpr::Optional(Box::new(t));
        }
        Ok(t)
    }

    pub(super) fn type_primary(&mut self) -> PResult<TypeExpr> {
        match self.peek().clone() {
            TokenKind::Sym("(") => {
                self.pos += 1;
                let mut items = Vec::new();
                let mut comma = false;
                while !self.at_sym(")") {
                    items.push(self.parse_type()?);
                    comma = self.eat_sym(",");
                    if !comma {
                        break;
                    }
                }
                self.expect_sym(")")?;
                // `(T)` groups; `(T,)` and `(A, B)` are tuples.
                if items.len() == 1 && !comma {
                    return Ok(items.remove(0));
                }
                Ok(TypeExpr::Tuple(items))
            }
            TokenKind::Kw(Keyword::Fn) => {
                self.pos += 1;
                self.expect_sym("(")?;
                let params = self.list(")", |p| p.parse_type())?;
                self.expect_sym("->")?;
                let ret = Box::new(self.parse_type()?);
                let effects = if self.eat_sym("/") {
                    Some(self.effect_row()?)
                } else {
                    None
                };
                Ok(TypeExpr::Fn {
                    params,
                    ret,
                    effects,
                })
            }
            TokenKind::Ident(name) => {
                self.pos += 1;
                self.type_args(name)
            }
            TokenKind::Kw(k) if type_keyword(k).is_some() => {
                self.pos += 1;
                self.type_args(type_keyword(k).unwrap_or_default().to_string())
            }
            _ => Err(self.error("a type")),
        }
    }

    pub(super) fn type_args(&mut self, name: String) -> PResult<TypeExpr> {
        let args = if self.eat_sym("[") {
            let a = self.list("]", |p| p.parse_type())?;
            if a.is_empty() {
                return Err(Diagnostic::error(
                    Kind::ParseError,
                    self.span(),
                    format!("`{name}[]` needs at least one type argument"),
                ));
            }
            a
        } else {
            Vec::new()
        };
        Ok(TypeExpr::Named { name, args })
    }

    /// `{a, b}`, `{}` or a single effect name (§9.1). Effect names may be
    /// keywords (`emit`).
    pub fn effect_row(&mut self) -> PResult<Vec<String>> {
        if self.eat_sym("{") {
            self.list("}", |p| p.effect_name("an effect name"))
        } else {
            Ok(vec![self.effect_name(
                "an effect row: {a, b}, {} or one effect name",
            )?])
        }
    }

    pub(super) fn effect_name(&mut self, what: &str) -> PResult<String> {
        match self.peek() {
            TokenKind::Kw(k) => {
                let s = k.as_str().to_string();
                self.pos += 1;
                Ok(s)
            }
            _ => self.ident(what),
        }
    }
}
