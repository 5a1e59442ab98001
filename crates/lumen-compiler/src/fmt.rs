//! `lumen fmt` (§16.4): canonical indentation (2 spaces per block level,
//! continuation lines one level deeper), canonical spacing inside a line
//! (one space around binary operators, `=`, `->` and `=>`; `, ` after
//! commas; `name: Type`; nothing inside brackets), a blank line between
//! two top-level items when either spans several lines, no trailing
//! whitespace, at most one blank line in a row, exactly one final newline.
//! Comments and string literals are kept verbatim; in Markdown only Lumen
//! fences change. The result is re-lexed and must give the same tokens, or
//! nothing changes.

use crate::diag::Diagnostic;
use crate::lexer::{lex, Keyword, StrPart, Token, TokenKind};
use crate::parser::parse_program;
use crate::source::{extract, FileKind};

/// The formatted text, or the errors that stop formatting (a file that
/// does not parse is left alone).
pub fn format(path: &str, text: &str) -> Result<String, Vec<Diagnostic>> {
    let src = extract(path, text);
    let (all_toks, lex_diags) = lex(&src.code);
    let errors: Vec<Diagnostic> = lex_diags
        .into_iter()
        .filter(|d| d.severity == crate::Severity::Error)
        .collect();
    if !errors.is_empty() {
        return Err(errors);
    }
    let (prog, diags, marks) = parse_program(&all_toks);
    let errors: Vec<Diagnostic> = diags
        .into_iter()
        .filter(|d| d.severity == crate::Severity::Error)
        .collect();
    if !errors.is_empty() {
        return Err(errors);
    }
    // The tokens that are text on a line (no layout tokens).
    let toks: Vec<&Token> = all_toks
        .iter()
        .filter(|t| {
            !matches!(
                t.kind,
                TokenKind::Newline | TokenKind::Indent | TokenKind::Dedent | TokenKind::Eof
            )
        })
        .collect();
    let space = spacing(&toks);
    let code_lines: Vec<&str> = src.code.split('\n').collect();
    let n = code_lines.len();
    let mut line_start = Vec::with_capacity(n + 2);
    line_start.push(0usize); // line 0 does not exist
    let mut off = 0usize;
    for l in &code_lines {
        line_start.push(off);
        off += l.len() + 1;
    }
    // Level of each line that starts a statement or closing keyword.
    let mut level: Vec<Option<u32>> = vec![None; n + 2];
    for (line, lv) in &marks {
        let i = *line as usize;
        if i <= n && level[i].is_none() {
            level[i] = Some(*lv);
        }
    }
    // The tokens starting on each line, and the lines inside multi-line
    // tokens (kept verbatim).
    let mut on_line: Vec<Vec<usize>> = vec![Vec::new(); n + 2];
    let mut last_line = vec![0usize; toks.len()];
    let mut verbatim = vec![false; n + 2];
    for (k, t) in toks.iter().enumerate() {
        let l = t.span.line as usize;
        if l <= n {
            on_line[l].push(k);
        }
        let s = (t.span.start as usize).min(src.code.len());
        let e = (t.span.end as usize).min(src.code.len());
        let extra = src.code[s..e].matches('\n').count();
        last_line[k] = l + extra;
        for j in 1..=extra {
            if l + j <= n {
                verbatim[l + j] = true;
            }
        }
    }
    let blank_before = item_separations(&prog, &toks, &last_line, &code_lines);
    let orig_lines: Vec<&str> = text.split('\n').collect();
    let markdown = src.kind == FileKind::Markdown;
    let fenced = if markdown {
        lumen_fence_lines(&orig_lines)
    } else {
        Vec::new()
    };
    let in_code = |i: usize| {
        let code = code_lines.get(i).copied().unwrap_or("");
        !markdown || !code.is_empty() || fenced.get(i).copied().unwrap_or(false)
    };
    let mut out: Vec<String> = Vec::with_capacity(orig_lines.len());
    let mut current = 0u32;
    let mut blank_run = 0;
    for (i, orig) in orig_lines.iter().enumerate() {
        let line_no = i + 1;
        if !in_code(i) || verbatim[line_no] {
            blank_run = 0;
            out.push((*orig).to_string());
            continue;
        }
        let trimmed = orig.trim();
        if trimmed.is_empty() {
            blank_run += 1;
            if blank_run > 1 {
                continue;
            }
            out.push(String::new());
            continue;
        }
        if blank_before.contains(&line_no) && blank_run == 0 && i > 0 && in_code(i - 1) {
            out.push(String::new());
        }
        blank_run = 0;
        let has_token = !on_line[line_no].is_empty();
        let lv = if let Some(lv) = level[line_no] {
            current = lv;
            lv
        } else if has_token && trimmed.starts_with([')', ']', '}']) {
            // A closing bracket lines up with its statement.
            current
        } else if has_token {
            current + 1
        } else {
            // A comment line: the level of the next statement.
            (line_no + 1..=n).find_map(|k| level[k]).unwrap_or(current)
        };
        let body = if has_token {
            let code = code_lines.get(i).copied().unwrap_or("");
            spaced_line(code, line_start[line_no], &on_line[line_no], &toks, &space)
        } else {
            trimmed.to_string()
        };
        let mut s = format!("{}{}", "  ".repeat(lv as usize), body);
        if orig.ends_with('\r') {
            s.push('\r');
        }
        out.push(s);
    }
    // Exactly one final newline.
    while out.last().is_some_and(|l| l.trim().is_empty()) {
        out.pop();
    }
    let mut result = out.join("\n");
    result.push('\n');
    // Safety: the token sequence must not change.
    let src2 = extract(path, &result);
    let (toks2, _) = lex(&src2.code);
    if !same_tokens(&all_toks, &toks2) {
        return Ok(text.to_string());
    }
    Ok(result)
}

/// The same token sequence, layout aside; positions (also those of the
/// tokens inside interpolations) do not count.
fn same_tokens(a: &[Token], b: &[Token]) -> bool {
    let text = |t: &&Token| {
        !matches!(
            t.kind,
            TokenKind::Indent | TokenKind::Dedent | TokenKind::Newline
        )
    };
    let (mut a, mut b) = (a.iter().filter(text), b.iter().filter(text));
    loop {
        match (a.next(), b.next()) {
            (None, None) => return true,
            (Some(x), Some(y)) if same_kind(&x.kind, &y.kind) => {}
            _ => return false,
        }
    }
}

fn same_kind(a: &TokenKind, b: &TokenKind) -> bool {
    match (a, b) {
        (TokenKind::Str(x), TokenKind::Str(y)) => {
            x.len() == y.len()
                && x.iter().zip(y).all(|(p, q)| match (p, q) {
                    (StrPart::Text(s), StrPart::Text(t)) => s == t,
                    (
                        StrPart::Interp {
                            tokens: s, spec: f, ..
                        },
                        StrPart::Interp {
                            tokens: t, spec: g, ..
                        },
                    ) => f == g && same_tokens(s, t),
                    _ => false,
                })
        }
        _ => a == b,
    }
}

/// One line's text from its tokens with canonical spacing. Whatever
/// follows the last token (a comment, a continuation backslash) keeps its
/// own text and the gap before it; a token running onto later lines is
/// kept verbatim to the end of this line.
fn spaced_line(code: &str, start: usize, ks: &[usize], toks: &[&Token], space: &[bool]) -> String {
    let mut s = String::with_capacity(code.len());
    let slice = |a: usize, b: usize| code.get(a - start..b - start).unwrap_or("");
    let line_end = start + code.len();
    let mut end = start;
    for (j, &k) in ks.iter().enumerate() {
        let t = toks[k];
        let (a, b) = (
            t.span.start as usize,
            (t.span.end as usize).max(t.span.start as usize),
        );
        if a < start || a > line_end {
            // Not where the line says (should not happen): keep the line.
            return code.trim().to_string();
        }
        // A role text token starts with the spaces after its `:`.
        let raw = slice(a, b.min(line_end)).trim_start();
        let raw = if b > line_end { raw.trim_end() } else { raw };
        if j > 0 && space[k] && !raw.is_empty() {
            s.push(' ');
        }
        s.push_str(raw);
        if b > line_end {
            return s;
        }
        end = b;
    }
    let rest = slice(end, line_end);
    let tail = rest.trim();
    if !tail.is_empty() {
        let gap = &rest[..rest.len() - rest.trim_start().len()];
        s.push_str(if gap.is_empty() { " " } else { gap });
        s.push_str(tail);
    }
    s
}

/// Keywords that take a bracket directly: conversion functions, generic
/// type names, `ok(..)`, `fn(..)`.
fn callable(k: Keyword) -> bool {
    use Keyword::*;
    matches!(
        k,
        Int | Float
            | String
            | Bool
            | Bytes
            | Json
            | List
            | Map
            | Set
            | Tuple
            | Result
            | Ok
            | Err
            | Fn
            | Resume
            | Halt
            | SelfKw
    )
}

fn sym(t: &Token) -> Option<&'static str> {
    match t.kind {
        TokenKind::Sym(s) => Some(s),
        _ => None,
    }
}

/// An operand can end with this token (so a following `-` is binary).
fn ends_operand(t: &Token) -> bool {
    match &t.kind {
        TokenKind::Sym(s) => matches!(*s, ")" | "]" | "}" | "!" | "?"),
        TokenKind::Kw(k) => matches!(
            k,
            Keyword::True | Keyword::False | Keyword::Null | Keyword::SelfKw
        ),
        _ => true,
    }
}

/// For each token: whether one space separates it from the previous one
/// when both are on the same line.
fn spacing(toks: &[&Token]) -> Vec<bool> {
    let mut out = vec![false; toks.len()];
    // `-` used as a prefix operator; `|` opening block-lambda parameters.
    let mut unary = vec![false; toks.len()];
    let mut params_open = false;
    for k in 0..toks.len() {
        let cur = toks[k];
        let c = sym(cur);
        if k == 0 {
            unary[k] = c == Some("-");
            continue;
        }
        let prev = toks[k - 1];
        let p = sym(prev);
        if c == Some("-") {
            unary[k] = !ends_operand(prev);
        }
        let mut opens_params = false;
        if c == Some("|") && matches!(&prev.kind, TokenKind::Ident(w) if w == "do") {
            opens_params = true;
        }
        let closes_params = c == Some("|") && params_open && !opens_params;
        // Tokens that hug what is before them, and tokens that hug what
        // follows them.
        let hug_before = matches!(
            c,
            Some(")" | "]" | "}" | "," | ";" | "." | "?." | "!" | "?" | "?[" | ":")
        ) || closes_params
            // A tool version: `http.get@2`.
            || (c == Some("@") && matches!(prev.kind, TokenKind::Ident(_)));
        let hug_after = matches!(
            p,
            Some("(" | "[" | "{" | "?[" | "." | "?." | "@" | "..." | "~")
        ) || (p == Some("-") && unary[k - 1])
            || (p == Some("|") && params_open);
        out[k] = if hug_before || hug_after {
            false
        } else if matches!(p, Some("," | ";" | ":")) {
            true
        } else if matches!(c, Some("(" | "[")) {
            let tight = match &prev.kind {
                TokenKind::Ident(_) => true,
                TokenKind::Str(_) | TokenKind::RawStr(_) => c == Some("["),
                TokenKind::Kw(kw) => callable(*kw),
                TokenKind::Sym(s) => matches!(*s, ")" | "]" | "}" | "!" | "?"),
                _ => false,
            };
            !tight
        } else {
            !(matches!(c, Some(".." | "..=")) || matches!(p, Some(".." | "..=")))
        };
        if opens_params {
            params_open = true;
        } else if closes_params {
            params_open = false;
        }
    }
    out
}

/// Lines before which a blank line goes: the start of a top-level item
/// that follows another item when either spans several lines. The blank
/// goes above the attribute and comment lines that lead into the item.
fn item_separations(
    prog: &crate::ast::Program,
    toks: &[&Token],
    last_line: &[usize],
    code_lines: &[&str],
) -> Vec<usize> {
    let n = code_lines.len();
    // (start line, is an item) of every top-level element, in order.
    let mut starts: Vec<(usize, bool)> = prog
        .items
        .iter()
        .map(|i| (i.span.line as usize, true))
        .chain(prog.main.iter().map(|s| (s.span.line as usize, false)))
        .collect();
    starts.sort();
    starts.dedup_by_key(|s| s.0);
    // Attribute lines and comment lines lead into the item below them.
    let mut lead: Vec<bool> = (0..n + 2)
        .map(|l| {
            l >= 1
                && code_lines
                    .get(l - 1)
                    .is_some_and(|c| c.trim_start().starts_with('#'))
        })
        .collect();
    let mut first_on_line = vec![true; n + 2];
    for t in toks {
        let l = t.span.line as usize;
        if l <= n && first_on_line[l] {
            first_on_line[l] = false;
            lead[l] = sym(t) == Some("@");
        }
    }
    // Last line of each element: the last line of a token before the next
    // element starts (attribute lines belong to the element below).
    let mut ends = vec![0usize; starts.len()];
    let mut e = 0;
    for (k, t) in toks.iter().enumerate() {
        let l = t.span.line as usize;
        if lead.get(l).copied().unwrap_or(false) {
            continue;
        }
        while e + 1 < starts.len() && l >= starts[e + 1].0 {
            e += 1;
        }
        if e < starts.len() && l >= starts[e].0 {
            ends[e] = ends[e].max(last_line[k]);
        }
    }
    let mut out = Vec::new();
    for w in 1..starts.len() {
        let (s0, item0) = starts[w - 1];
        let (s1, item1) = starts[w];
        if !(item0 && item1) || (ends[w - 1] <= s0 && ends[w] <= s1) {
            continue;
        }
        // Walk up over attribute lines that belong to the item.
        let mut at = s1;
        while at > ends[w - 1] + 1 && lead[at - 1] {
            at -= 1;
        }
        out.push(at);
    }
    out
}

/// For each line of a Markdown file: inside a Lumen fence (the fence
/// lines themselves excluded).
fn lumen_fence_lines(lines: &[&str]) -> Vec<bool> {
    let mut out = Vec::with_capacity(lines.len());
    let mut open = false;
    let mut lumen = false;
    for l in lines {
        let t = l.trim_start();
        if t.starts_with("```") {
            if open {
                open = false;
            } else {
                open = true;
                let w = t
                    .trim_start_matches('`')
                    .split_whitespace()
                    .next()
                    .unwrap_or("");
                lumen = w.eq_ignore_ascii_case("lumen") || w.eq_ignore_ascii_case("lm");
            }
            out.push(false);
        } else {
            out.push(open && lumen);
        }
    }
    out
}
