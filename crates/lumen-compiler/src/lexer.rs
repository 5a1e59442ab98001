//! The lexer (§3): tokens with positions, NEWLINE/INDENT/DEDENT, line
//! continuation, every literal form, and strings with interpolation and
//! format specs (the expressions inside are lexed here too).

use crate::diag::{Diagnostic, Kind, Span};

macro_rules! keywords {
    ($($name:ident = $text:literal),* $(,)?) => {
        /// Reserved keywords (§3.4).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
        pub enum Keyword { $($name),* }

        impl Keyword {
            pub fn from_word(s: &str) -> Option<Keyword> {
                match s { $($text => Some(Keyword::$name),)* _ => None }
            }
            pub fn as_str(self) -> &'static str {
                match self { $(Keyword::$name => $text),* }
            }
        }
    };
}

keywords! {
    And = "and", As = "as", Async = "async", Await = "await", Break = "break", Bool = "bool",
    Bytes = "bytes", Cell = "cell", Comptime = "comptime", Const = "const",
    Continue = "continue", Defer = "defer", Else = "else", Emit = "emit", End = "end",
    Enum = "enum", Err = "err", Expect = "expect", Extern = "extern", False = "false",
    Float = "float", Fn = "fn", For = "for", From = "from", Grant = "grant", Halt = "halt",
    Handle = "handle", If = "if", Impl = "impl", Import = "import", In = "in", Int = "int",
    Is = "is", Json = "json", Let = "let", List = "list", Loop = "loop", Macro = "macro",
    Map = "map", Match = "match", Mod = "mod", Mut = "mut", Not = "not", Null = "null",
    Ok = "ok", Or = "or", Parallel = "parallel", Perform = "perform", Pub = "pub",
    Record = "record", Resume = "resume", Result = "result", Return = "return", Role = "role",
    Schema = "schema", SelfKw = "self", Set = "set", Step = "step", String = "string",
    Then = "then", Tool = "tool", Trait = "trait", True = "true", Try = "try",
    Tuple = "tuple", Type = "type", Union = "union", Use = "use", When = "when",
    Where = "where", While = "while", With = "with", Yield = "yield",
}

/// Operators and punctuation (§3.6), longest first for maximal munch.
pub const SYMBOLS: &[&str] = &[
    "//=", "**=", "<=>", "..=", "...", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "//", "**",
    "==", "!=", "<=", ">=", "->", "=>", "<<", ">>", "|>", "~>", "??", "?.", "?[", "..", "++", "+",
    "-", "*", "/", "%", "<", ">", "=", ".", ",", ":", ";", "|", "&", "^", "~", "!", "?", "@", "(",
    ")", "[", "]", "{", "}",
];

/// The longest symbol `rest` starts with (maximal munch); symbols are
/// looked up among those sharing the first byte.
fn symbol_at(rest: &[u8]) -> Option<&'static str> {
    let first = *rest.first()?;
    SYMBOLS
        .iter()
        .filter(|s| s.as_bytes()[0] == first)
        .find(|s| rest.starts_with(s.as_bytes()))
        .copied()
}

/// Symbols that continue the previous line when they start a line (§3.3);
/// so do the words `and`, `or` and `in`.
const CONTINUES: &[&str] = &[
    "|>", "~>", ".", "??", "+", "-", "*", "/", "//", "%", "==", "!=", "<", "<=", ">", ">=", "|",
    "&", "^", "<<", ">>",
];

/// A format spec of an interpolation (§3.5).
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct FormatSpec {
    pub fill: Option<char>,
    /// `<`, `>` or `^`.
    pub align: Option<char>,
    /// `+`, `-` or ` `.
    pub sign: Option<char>,
    pub alternate: bool,
    pub zero: bool,
    pub width: Option<u32>,
    pub precision: Option<u32>,
    /// One of `d x X o b f e E s`.
    pub ty: Option<char>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub enum StrPart {
    Text(String),
    Interp {
        tokens: Vec<Token>,
        spec: Option<FormatSpec>,
        span: Span,
    },
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub enum TokenKind {
    /// Up to 2^63: the parser folds `-9223372036854775808` and rejects
    /// 2^63 anywhere else.
    Int(u64),
    Float(f64),
    /// `"..."` and `"""..."""`: text and interpolations.
    Str(Vec<StrPart>),
    /// `r"..."`, `r"""..."""`.
    RawStr(String),
    Bytes(Vec<u8>),
    Ident(String),
    Kw(Keyword),
    Sym(&'static str),
    Newline,
    Indent,
    Dedent,
    Eof,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Token {
    pub kind: TokenKind,
    pub span: Span,
}

struct Lexer<'a> {
    src: &'a str,
    b: &'a [u8],
    pos: usize,
    line: u32,
    line_start: usize,
    tokens: Vec<Token>,
    diags: Vec<Diagnostic>,
    depth: usize,
    indents: Vec<u32>,
    /// Inside an interpolation: no line structure at all.
    nested: bool,
    /// The last column computed (line start, byte position, column), so
    /// columns along a long line cost what lies between two tokens.
    col_cache: std::cell::Cell<(usize, usize, usize)>,
    /// (line start, where that line's first non-ASCII byte is, or the
    /// line's end): columns before it are byte offsets.
    ascii_run: std::cell::Cell<(usize, usize)>,
}

fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_'
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

impl<'a> Lexer<'a> {
    fn new(src: &'a str, nested: bool) -> Lexer<'a> {
        Lexer {
            src,
            b: src.as_bytes(),
            pos: 0,
            line: 1,
            line_start: 0,
            tokens: Vec::new(),
            diags: Vec::new(),
            depth: 0,
            indents: vec![0],
            nested,
            col_cache: std::cell::Cell::new((usize::MAX, 0, 0)),
            ascii_run: std::cell::Cell::new((usize::MAX, 0)),
        }
    }

    fn peek(&self, off: usize) -> u8 {
        self.b.get(self.pos + off).copied().unwrap_or(0)
    }

    fn span_from(&self, start: usize, line: u32, line_start: usize) -> Span {
        // Columns count characters; a position inside a character (never
        // produced, but never trusted either) counts from the line start.
        // An ASCII stretch from the line start (almost every line) gives the
        // column at once, in whatever order spans are asked for: a string of
        // 10^5 interpolations asks for its start after its contents.
        let a_end = self.ascii_end(line_start);
        let (c_line, c_pos, c_col) = self.col_cache.get();
        let count = |a: usize, b: usize| match self.src.get(a..b) {
            Some(s) if s.is_ascii() => s.len(),
            Some(s) => s.chars().count(),
            None => 0,
        };
        let col = if start <= a_end {
            start.saturating_sub(line_start)
        } else if c_line == line_start && c_pos <= start {
            c_col + count(c_pos, start)
        } else if c_line == line_start && self.src.is_char_boundary(start) {
            c_col - count(start, c_pos)
        } else {
            count(line_start, start)
        };
        self.col_cache.set((line_start, start, col));
        Span {
            start: start as u32,
            end: self.pos.min(self.src.len()) as u32,
            line,
            col: col as u32 + 1,
        }
    }

    /// Where the ASCII stretch of the line starting at `line_start` ends
    /// (its first non-ASCII byte, or its end), computed once per line.
    fn ascii_end(&self, line_start: usize) -> usize {
        let (a_line, a_end) = self.ascii_run.get();
        if a_line == line_start {
            return a_end;
        }
        let rest = self.src.get(line_start..).unwrap_or("").as_bytes();
        let end = rest
            .iter()
            .position(|b| *b == b'\n' || !b.is_ascii())
            .map_or(self.src.len(), |i| line_start + i);
        self.ascii_run.set((line_start, end));
        end
    }

    fn here(&self) -> Span {
        self.span_from(self.pos, self.line, self.line_start)
    }

    fn error(&mut self, span: Span, msg: impl Into<String>) {
        self.diags
            .push(Diagnostic::error(Kind::LexError, span, msg));
    }

    fn push(&mut self, kind: TokenKind, start: usize, line: u32, line_start: usize) {
        let span = self.span_from(start, line, line_start);
        self.tokens.push(Token { kind, span });
    }

    fn newline(&mut self) {
        self.pos += 1;
        self.line += 1;
        self.line_start = self.pos;
    }

    /// The symbol at the current position, by maximal munch.
    fn symbol_here(&self) -> Option<&'static str> {
        symbol_at(&self.b[self.pos..])
    }

    /// Whether the line starting at `at` (after its indentation) begins
    /// with a token that continues the previous line.
    fn continues_at(&self, at: usize) -> bool {
        let rest = &self.b[at..];
        let word_end = rest
            .iter()
            .position(|&c| !is_ident(c))
            .unwrap_or(rest.len());
        if word_end > 0 {
            let w = &self.src[at..at + word_end];
            return matches!(w, "and" | "or" | "in");
        }
        symbol_at(rest).is_some_and(|s| CONTINUES.contains(&s))
    }

    fn run(&mut self) {
        let mut at_line_start = !self.nested;
        let mut pending_newline = false;
        let mut joined = false;
        loop {
            if at_line_start {
                at_line_start = false;
                // Measure the indentation of this physical line.
                let mut col = 0u32;
                let mut p = self.pos;
                while p < self.b.len() && matches!(self.b[p], b' ' | b'\t') {
                    col += if self.b[p] == b'\t' { 2 } else { 1 };
                    p += 1;
                }
                let c = self.b.get(p).copied().unwrap_or(0);
                let blank = p >= self.b.len()
                    || matches!(c, b'\n' | b'#')
                    || (c == b'\r' && self.b.get(p + 1) == Some(&b'\n'));
                self.pos = p;
                if blank {
                    if p >= self.b.len() {
                        break;
                    }
                    // Skip the comment and the line.
                    while self.pos < self.b.len() && self.b[self.pos] != b'\n' {
                        self.pos += 1;
                    }
                    if self.pos < self.b.len() {
                        self.newline();
                        at_line_start = true;
                    }
                    continue;
                }
                if joined || self.depth > 0 {
                    joined = false;
                } else if pending_newline && self.continues_at(p) {
                    pending_newline = false;
                } else {
                    if pending_newline {
                        let s = self.here();
                        self.tokens.push(Token {
                            kind: TokenKind::Newline,
                            span: Span { end: s.start, ..s },
                        });
                        pending_newline = false;
                    }
                    self.indent_to(col);
                }
            }
            if self.pos >= self.b.len() {
                break;
            }
            let c = self.b[self.pos];
            match c {
                b' ' | b'\t' => self.pos += 1,
                b'\r' if self.peek(1) == b'\n' => self.pos += 1,
                b'\n' => {
                    if !self.nested && self.depth == 0 && self.line_has_tokens() {
                        pending_newline = true;
                    }
                    self.newline();
                    at_line_start = !self.nested;
                }
                b'#' => {
                    while self.pos < self.b.len() && self.b[self.pos] != b'\n' {
                        self.pos += 1;
                    }
                }
                b'\\' => {
                    // A backslash ending the line joins it with the next.
                    let mut p = self.pos + 1;
                    while p < self.b.len() && matches!(self.b[p], b' ' | b'\t' | b'\r') {
                        p += 1;
                    }
                    if p >= self.b.len() || self.b[p] == b'\n' {
                        self.pos = p;
                        if p < self.b.len() {
                            self.newline();
                            at_line_start = !self.nested;
                            joined = true;
                        }
                    } else {
                        let s = self.here();
                        self.pos += 1;
                        self.error(s, "a backslash only continues a line at its very end");
                    }
                }
                b'"' => self.string(false),
                b'r' if self.peek(1) == b'"' => {
                    self.pos += 1;
                    self.string(true);
                }
                b'b' if self.peek(1) == b'"' => self.bytes(),
                b'0'..=b'9' => self.number(),
                c if is_ident_start(c) => self.word(),
                _ => self.punct(),
            }
        }
        if !self.nested {
            if pending_newline || self.line_has_tokens() {
                let s = self.here();
                self.tokens.push(Token {
                    kind: TokenKind::Newline,
                    span: s,
                });
            }
            while self.indents.len() > 1 {
                self.indents.pop();
                let s = self.here();
                self.tokens.push(Token {
                    kind: TokenKind::Dedent,
                    span: s,
                });
            }
        }
        let s = self.here();
        self.tokens.push(Token {
            kind: TokenKind::Eof,
            span: s,
        });
    }

    /// Whether a token was emitted since the last NEWLINE.
    fn line_has_tokens(&self) -> bool {
        !matches!(
            self.tokens.last().map(|t| &t.kind),
            None | Some(TokenKind::Newline | TokenKind::Indent | TokenKind::Dedent)
        )
    }

    fn indent_to(&mut self, col: u32) {
        let top = *self.indents.last().unwrap_or(&0);
        let s = self.here();
        if col > top {
            self.indents.push(col);
            self.tokens.push(Token {
                kind: TokenKind::Indent,
                span: s,
            });
            return;
        }
        while col < *self.indents.last().unwrap_or(&0) {
            self.indents.pop();
            self.tokens.push(Token {
                kind: TokenKind::Dedent,
                span: s,
            });
        }
        if col != *self.indents.last().unwrap_or(&0) {
            self.error(
                s,
                format!(
                    "this line is indented to column {} but no enclosing block starts there",
                    col + 1
                ),
            );
            // Recover: treat the line as a new level.
            self.indents.push(col);
        }
    }

    fn word(&mut self) {
        self.word_plain();
        if matches!(
            self.tokens.last().map(|t| &t.kind),
            Some(TokenKind::Kw(Keyword::Role))
        ) {
            self.role();
        }
    }

    /// After `role`: `NAME: text` to the end of the line (or to an `end`
    /// on the same line), or `NAME:` and the following lines up to a line
    /// `end`, dedented (§6.9). The text is emitted as one string token
    /// (interpolations allowed, no escapes) after `NAME` and `:`.
    fn role(&mut self) {
        let mut p = self.pos;
        while matches!(self.b.get(p), Some(b' ' | b'\t')) {
            p += 1;
        }
        let name_start = p;
        while p < self.b.len() && is_ident(self.b[p]) {
            p += 1;
        }
        if p == name_start || !is_ident_start(self.b[name_start]) || self.b.get(p) != Some(&b':') {
            return; // Not a role block: the parser reports what it expected.
        }
        let (line, ls) = (self.line, self.line_start);
        self.pos = name_start;
        self.word_plain();
        self.pos = p;
        self.punct();
        let eol = self.b[self.pos..]
            .iter()
            .position(|&c| c == b'\n')
            .map(|i| self.pos + i)
            .unwrap_or(self.b.len());
        let rest = self.src[self.pos..eol].trim_end_matches('\r');
        let text_start = self.pos;
        let mut pieces = Vec::new();
        let multi = rest.trim().is_empty();
        let end_of_text;
        if !multi {
            // One line; a word `end` on it closes the text there.
            let lead = rest.len() - rest.trim_start().len();
            let rb = rest.as_bytes();
            let closing = (lead..rest.len()).find(|&i| {
                rb[i..].starts_with(b"end")
                    && i > lead
                    && matches!(rb[i - 1], b' ' | b'\t')
                    && !rb.get(i + 3).is_some_and(|&c| is_ident(c))
            });
            let (body, resume) = match closing {
                Some(i) => (rest[..i].trim_end(), i + 3),
                None => (rest.trim_end(), rest.trim_end().len()),
            };
            self.pos = text_start + lead;
            end_of_text = text_start + body.len();
            self.scan_text(end_of_text, &mut pieces);
            self.pos = self.pos.max(text_start + resume);
        } else {
            // The following lines up to a line that is just `end`.
            self.pos = eol;
            if self.pos < self.b.len() {
                self.newline();
            }
            let body_start = self.pos;
            let mut end_line = None;
            let mut q = body_start;
            while q < self.b.len() {
                let le = self.b[q..]
                    .iter()
                    .position(|&c| c == b'\n')
                    .map(|i| q + i)
                    .unwrap_or(self.b.len());
                if self.src[q..le].trim() == "end" {
                    end_line = Some((q, le));
                    break;
                }
                q = le + 1;
            }
            let Some((end_at, end_le)) = end_line else {
                let span = self.span_from(text_start, line, ls);
                self.error(
                    span,
                    "a multi-line role block needs a line `end` to close it",
                );
                self.pos = self.b.len();
                return;
            };
            self.scan_text(end_at, &mut pieces);
            // Past the `end` word; its line break stays for the statement.
            self.pos = end_le;
            while self.pos > end_at && matches!(self.b[self.pos - 1], b' ' | b'\t' | b'\r') {
                self.pos -= 1;
            }
        }
        let span = self.span_from(text_start, line, ls);
        let parts = self.assemble(pieces, multi, false, span);
        if let Some(parts) = parts {
            self.tokens.push(Token {
                kind: TokenKind::Str(parts),
                span,
            });
        }
    }

    /// An identifier or keyword without the role check.
    fn word_plain(&mut self) {
        let (start, line, ls) = (self.pos, self.line, self.line_start);
        while self.pos < self.b.len() && is_ident(self.b[self.pos]) {
            self.pos += 1;
        }
        let w = &self.src[start..self.pos];
        let kind = match Keyword::from_word(w) {
            Some(k) => TokenKind::Kw(k),
            None => TokenKind::Ident(w.to_string()),
        };
        self.push(kind, start, line, ls);
    }

    /// Text from the current position to `end`: literal pieces and
    /// interpolations (line breaks counted).
    fn scan_text(&mut self, end: usize, pieces: &mut Vec<Piece>) {
        let mut text_start = self.pos;
        while self.pos < end {
            match self.b[self.pos] {
                b'\n' => self.newline(),
                b'{' if self.opens_interpolation() => {
                    pieces.push(Piece::Text(text_start, self.pos));
                    if let Some(p) = self.interpolation() {
                        pieces.push(p);
                    }
                    text_start = self.pos;
                }
                _ => self.pos += 1,
            }
        }
        // An interpolation may run past `end`; the text never does.
        let stop = end.min(self.pos);
        if text_start < stop {
            pieces.push(Piece::Text(text_start, stop));
        }
    }

    fn punct(&mut self) {
        let (start, line, ls) = (self.pos, self.line, self.line_start);
        match self.symbol_here() {
            Some(s) => {
                self.pos += s.len();
                match s {
                    "(" | "[" | "{" | "?[" => self.depth += 1,
                    ")" | "]" | "}" => self.depth = self.depth.saturating_sub(1),
                    _ => {}
                }
                self.push(TokenKind::Sym(s), start, line, ls);
            }
            None => {
                let ch = self.src[self.pos..].chars().next().unwrap_or('\u{fffd}');
                self.pos += ch.len_utf8().max(1);
                let span = self.span_from(start, line, ls);
                self.error(span, format!("unexpected character {ch:?}"));
            }
        }
    }

    fn digits(&mut self, radix: u32) -> String {
        let mut s = String::new();
        while self.pos < self.b.len() {
            let c = self.b[self.pos] as char;
            if c == '_' {
                self.pos += 1;
            } else if c.is_digit(radix) {
                s.push(c);
                self.pos += 1;
            } else {
                break;
            }
        }
        s
    }

    fn number(&mut self) {
        let (start, line, ls) = (self.pos, self.line, self.line_start);
        let radix = match (self.peek(0), self.peek(1)) {
            (b'0', b'x' | b'X') => 16,
            (b'0', b'b' | b'B') => 2,
            (b'0', b'o' | b'O') => 8,
            _ => 10,
        };
        let kind = if radix != 10 {
            self.pos += 2;
            let d = self.digits(radix);
            if d.is_empty() {
                let span = self.span_from(start, line, ls);
                self.error(span, "a number prefix needs digits after it");
                return;
            }
            self.int_value(&d, radix, start, line, ls)
        } else {
            let int_part = self.digits(10);
            let mut is_float = false;
            let mut text = int_part.clone();
            if self.peek(0) == b'.' && self.peek(1).is_ascii_digit() {
                self.pos += 1;
                text.push('.');
                text.push_str(&self.digits(10));
                is_float = true;
            }
            if matches!(self.peek(0), b'e' | b'E')
                && (self.peek(1).is_ascii_digit()
                    || (matches!(self.peek(1), b'+' | b'-') && self.peek(2).is_ascii_digit()))
            {
                self.pos += 1;
                text.push('e');
                if matches!(self.peek(0), b'+' | b'-') {
                    text.push(self.peek(0) as char);
                    self.pos += 1;
                }
                text.push_str(&self.digits(10));
                is_float = true;
            }
            if is_float {
                match text.parse::<f64>() {
                    Ok(f) if f.is_finite() => Some(TokenKind::Float(f)),
                    _ => {
                        let span = self.span_from(start, line, ls);
                        self.error(span, "float literal out of range");
                        None
                    }
                }
            } else {
                self.int_value(&int_part, 10, start, line, ls)
            }
        };
        if self.pos < self.b.len() && is_ident(self.b[self.pos]) {
            while self.pos < self.b.len() && is_ident(self.b[self.pos]) {
                self.pos += 1;
            }
            let span = self.span_from(start, line, ls);
            self.error(
                span,
                format!("`{}` is not a number", &self.src[start..self.pos]),
            );
            return;
        }
        if let Some(k) = kind {
            self.push(k, start, line, ls);
        }
    }

    fn int_value(
        &mut self,
        digits: &str,
        radix: u32,
        start: usize,
        line: u32,
        ls: usize,
    ) -> Option<TokenKind> {
        match u64::from_str_radix(digits, radix) {
            Ok(v) if v <= 1 << 63 => Some(TokenKind::Int(v)),
            _ => {
                while self.pos < self.b.len() && is_ident(self.b[self.pos]) {
                    self.pos += 1;
                }
                let span = self.span_from(start, line, ls);
                self.error(
                    span,
                    "integer literal larger than 9223372036854775807 (Int is 64-bit)",
                );
                None
            }
        }
    }

    fn bytes(&mut self) {
        let (start, line, ls) = (self.pos, self.line, self.line_start);
        self.pos += 2;
        let body_start = self.pos;
        while self.pos < self.b.len() && !matches!(self.b[self.pos], b'"' | b'\n') {
            self.pos += 1;
        }
        let body = &self.src[body_start..self.pos];
        if self.peek(0) != b'"' {
            let span = self.span_from(start, line, ls);
            self.error(span, "unterminated bytes literal");
            return;
        }
        self.pos += 1;
        let span = self.span_from(start, line, ls);
        if body.len() % 2 != 0 || !body.bytes().all(|c| c.is_ascii_hexdigit()) {
            self.error(
                span,
                "a bytes literal holds an even number of hex digits (b\"48656c6c6f\")",
            );
            return;
        }
        let v = (0..body.len())
            .step_by(2)
            .filter_map(|i| u8::from_str_radix(&body[i..i + 2], 16).ok())
            .collect();
        self.tokens.push(Token {
            kind: TokenKind::Bytes(v),
            span,
        });
    }

    /// A string literal at `"` (after `r` for raw ones).
    fn string(&mut self, raw: bool) {
        let start = if raw { self.pos - 1 } else { self.pos };
        let (line, ls) = (self.line, self.line_start);
        let triple = self.b[self.pos..].starts_with(b"\"\"\"");
        self.pos += if triple { 3 } else { 1 };
        // Raw pieces: text as written, and interpolations.
        let mut pieces: Vec<Piece> = Vec::new();
        let mut text_start = self.pos;
        let mut closed = false;
        while self.pos < self.b.len() {
            let c = self.b[self.pos];
            if triple && self.b[self.pos..].starts_with(b"\"\"\"") {
                closed = true;
                break;
            }
            if !triple && c == b'"' {
                closed = true;
                break;
            }
            if !triple && c == b'\n' {
                break;
            }
            if c == b'\\' && !raw {
                // Skip the escaped byte, but never a line break: the line
                // count stays right and the bad escape is reported later.
                self.pos += 1;
                if self.pos < self.b.len() && self.b[self.pos] != b'\n' {
                    // `\u{...}`: the braces belong to the escape.
                    if self.b[self.pos] == b'u' && self.peek(1) == b'{' {
                        while self.pos < self.b.len()
                            && !matches!(self.b[self.pos], b'}' | b'\n' | b'"')
                        {
                            self.pos += 1;
                        }
                        if self.peek(0) == b'}' {
                            self.pos += 1;
                        }
                        continue;
                    }
                    self.pos += 1;
                }
                continue;
            }
            if c == b'\n' {
                self.newline();
                continue;
            }
            if c == b'{' && !raw && self.opens_interpolation() {
                pieces.push(Piece::Text(text_start, self.pos));
                match self.interpolation() {
                    Some(p) => pieces.push(p),
                    None => return,
                }
                text_start = self.pos;
                continue;
            }
            self.pos += 1;
        }
        pieces.push(Piece::Text(text_start, self.pos));
        if !closed {
            let span = self.span_from(start, line, ls);
            self.error(
                span,
                if triple {
                    "unterminated \"\"\" string"
                } else {
                    "unterminated string (a \"...\" string ends on its line; use \"\"\" for several lines)"
                },
            );
            return;
        }
        self.pos += if triple { 3 } else { 1 };
        let span = self.span_from(start, line, ls);
        if raw {
            let text: String = pieces
                .iter()
                .map(|p| match p {
                    Piece::Text(a, b) => &self.src[*a..*b],
                    Piece::Interp(..) => "",
                })
                .collect();
            let text = if triple { dedent_triple(&text) } else { text };
            self.tokens.push(Token {
                kind: TokenKind::RawStr(text),
                span,
            });
            return;
        }
        if let Some(parts) = self.assemble(pieces, triple, true, span) {
            self.tokens.push(Token {
                kind: TokenKind::Str(parts),
                span,
            });
        }
    }

    /// Joins text pieces and interpolations into string parts: the
    /// dedent rules of triple strings (`dedent`) apply to the text as
    /// written, each interpolation standing in as one placeholder
    /// character; then escapes are decoded (`escapes`).
    fn assemble(
        &mut self,
        pieces: Vec<Piece>,
        dedent: bool,
        escapes: bool,
        span: Span,
    ) -> Option<Vec<StrPart>> {
        const HOLE: char = '\u{E000}';
        let mut joined = String::new();
        let mut interps = Vec::new();
        for p in pieces {
            match p {
                Piece::Text(a, b) => joined.push_str(&self.src[a..b]),
                Piece::Interp(tokens, spec, sp) => {
                    joined.push(HOLE);
                    interps.push((tokens, spec, sp));
                }
            }
        }
        if dedent {
            joined = dedent_triple(&joined);
        }
        let mut parts = Vec::new();
        let mut interps = interps.into_iter();
        for (i, seg) in joined.split(HOLE).enumerate() {
            if i > 0 {
                if let Some((tokens, spec, sp)) = interps.next() {
                    parts.push(StrPart::Interp {
                        tokens,
                        spec,
                        span: sp,
                    });
                }
            }
            let text = if escapes {
                match unescape(seg) {
                    Ok(t) => t,
                    Err(e) => {
                        self.error(span, e);
                        return None;
                    }
                }
            } else {
                seg.to_string()
            };
            if !text.is_empty() {
                parts.push(StrPart::Text(text));
            }
        }
        Some(parts)
    }

    /// At `{` in a string: does an interpolation start here?
    fn opens_interpolation(&self) -> bool {
        let mut p = self.pos + 1;
        while p < self.b.len() && self.b[p] == b' ' {
            p += 1;
        }
        let c = self.b.get(p).copied().unwrap_or(0);
        is_ident_start(c) || c.is_ascii_digit() || matches!(c, b'(' | b'[' | b'-')
    }

    /// Lexes `{expr}` or `{expr:spec}` at `{`.
    fn interpolation(&mut self) -> Option<Piece> {
        let (start, line, ls) = (self.pos, self.line, self.line_start);
        self.pos += 1;
        let expr_start = self.pos;
        let mut depth = 0usize;
        let mut colon = None;
        while self.pos < self.b.len() {
            let c = self.b[self.pos];
            match c {
                b'(' | b'[' | b'{' => depth += 1,
                b')' | b']' => depth = depth.saturating_sub(1),
                b'}' if depth == 0 => break,
                b'}' => depth -= 1,
                b':' if depth == 0 && colon.is_none() => colon = Some(self.pos),
                b'"' => {
                    // A string inside: skip it, escapes included; the loop
                    // steps over its closing quote.
                    self.pos += 1;
                    while self.pos < self.b.len() && !matches!(self.b[self.pos], b'"' | b'\n') {
                        if self.b[self.pos] == b'\\' && self.pos + 1 < self.b.len() {
                            self.pos += 1;
                        }
                        self.pos += 1;
                    }
                    if self.pos >= self.b.len() || self.b[self.pos] == b'\n' {
                        break;
                    }
                }
                b'\n' => break,
                _ => {}
            }
            self.pos += 1;
        }
        if self.peek(0) != b'}' {
            let span = self.span_from(start, line, ls);
            self.error(span, "unterminated interpolation: `{` without its `}`");
            return None;
        }
        let expr_end = colon.unwrap_or(self.pos);
        let spec_text = colon.map(|c| self.src[c + 1..self.pos].to_string());
        self.pos += 1;
        let span = self.span_from(start, line, ls);
        // The expression, lexed on its own with positions in this file.
        let mut sub = Lexer::new(&self.src[..expr_end], true);
        sub.pos = expr_start;
        sub.line = line;
        sub.line_start = ls;
        // Same line, same column caches: no rescan from the line start
        // (the stretch is measured here, on the whole line).
        self.ascii_end(ls);
        sub.col_cache.set(self.col_cache.get());
        sub.ascii_run.set(self.ascii_run.get());
        sub.run();
        self.diags.append(&mut sub.diags);
        let mut tokens = sub.tokens;
        tokens.pop(); // its Eof
        if tokens.is_empty() {
            self.error(span, "empty interpolation");
            return None;
        }
        let spec = match spec_text.map(|t| parse_spec(&t)) {
            None => None,
            Some(Ok(s)) => Some(s),
            Some(Err(e)) => {
                self.error(span, e);
                return None;
            }
        };
        Some(Piece::Interp(tokens, spec, span))
    }
}

enum Piece {
    Text(usize, usize),
    Interp(Vec<Token>, Option<FormatSpec>, Span),
}

/// The three post-processing rules of triple-quoted strings (§3.5).
fn dedent_triple(s: &str) -> String {
    let mut t = s;
    if let Some(r) = t.strip_prefix("\r\n").or_else(|| t.strip_prefix('\n')) {
        t = r;
    }
    let mut owned = t.to_string();
    if let Some(i) = owned.rfind('\n') {
        if owned[i + 1..].chars().all(|c| c == ' ' || c == '\t') {
            owned.truncate(i);
            if owned.ends_with('\r') {
                owned.pop();
            }
        }
    }
    let blank = |l: &str| l.bytes().all(|c| c == b' ' || c == b'\t');
    let common = owned
        .split('\n')
        .filter(|l| !blank(l))
        .map(|l| l.len() - l.trim_start_matches([' ', '\t']).len())
        .min()
        .unwrap_or(0);
    owned
        .split('\n')
        .map(|l| {
            if l.len() >= common {
                &l[common..]
            } else {
                l.trim_start_matches([' ', '\t'])
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Decodes the escapes of §3.5.
fn unescape(s: &str) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match it.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('0') => out.push('\0'),
            Some('\\') => out.push('\\'),
            Some('"') => out.push('"'),
            Some('{') => out.push('{'),
            Some('x') => {
                let h: String = (0..2).filter_map(|_| it.next()).collect();
                match u8::from_str_radix(&h, 16) {
                    Ok(v) if h.len() == 2 && v <= 0x7f => out.push(v as char),
                    _ => return Err(format!("invalid escape \\x{h}: two hex digits, at most 7F")),
                }
            }
            Some('u') => {
                if it.next() != Some('{') {
                    return Err("invalid escape: \\u needs braces, as in \\u{1F600}".into());
                }
                let mut h = String::new();
                for c in it.by_ref() {
                    if c == '}' {
                        break;
                    }
                    h.push(c);
                }
                match u32::from_str_radix(&h, 16).ok().and_then(char::from_u32) {
                    Some(ch) if (1..=6).contains(&h.len()) => out.push(ch),
                    _ => {
                        return Err(format!(
                            "invalid escape \\u{{{h}}}: 1 to 6 hex digits of a Unicode scalar"
                        ))
                    }
                }
            }
            Some(o) => return Err(format!("unknown escape \\{o}")),
            None => return Err("a string cannot end with a lone backslash".into()),
        }
    }
    Ok(out)
}

/// Parses `[[fill] align] [sign] ["#"] ["0"] [width] ["." precision] [type]`.
pub fn parse_spec(s: &str) -> Result<FormatSpec, String> {
    let cs: Vec<char> = s.chars().collect();
    let mut i = 0;
    let mut f = FormatSpec::default();
    let is_align = |c: char| matches!(c, '<' | '>' | '^');
    if cs.len() >= 2 && is_align(cs[1]) {
        f.fill = Some(cs[0]);
        f.align = Some(cs[1]);
        i = 2;
    } else if !cs.is_empty() && is_align(cs[0]) {
        f.align = Some(cs[0]);
        i = 1;
    }
    if i < cs.len() && matches!(cs[i], '+' | '-' | ' ') {
        f.sign = Some(cs[i]);
        i += 1;
    }
    if i < cs.len() && cs[i] == '#' {
        f.alternate = true;
        i += 1;
    }
    if i < cs.len() && cs[i] == '0' {
        f.zero = true;
        i += 1;
    }
    let num = |i: &mut usize| -> Option<u32> {
        let st = *i;
        while *i < cs.len() && cs[*i].is_ascii_digit() {
            *i += 1;
        }
        (st < *i).then(|| cs[st..*i].iter().collect::<String>().parse().ok())?
    };
    f.width = num(&mut i);
    if i < cs.len() && cs[i] == '.' {
        i += 1;
        f.precision =
            Some(num(&mut i).ok_or_else(|| format!("format spec `{s}`: `.` needs a precision"))?);
    }
    if i < cs.len() && "dxXobfeEs".contains(cs[i]) {
        f.ty = Some(cs[i]);
        i += 1;
    }
    if i != cs.len() {
        return Err(format!(
            "invalid format spec `{s}` (expected [[fill]align][sign][#][0][width][.precision][type], type one of d x X o b f e E s)"
        ));
    }
    Ok(f)
}

/// Lexes extracted code into tokens ending with `Eof`; errors are
/// collected (the lexer goes on after each).
pub fn lex(code: &str) -> (Vec<Token>, Vec<Diagnostic>) {
    let mut l = Lexer::new(code, false);
    l.run();
    (l.tokens, l.diags)
}

#[cfg(test)]
mod tests;
