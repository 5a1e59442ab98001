//! `lumen fmt` (§16.4): canonical indentation (2 spaces per block level,
//! continuation lines one level deeper), no trailing whitespace, at most
//! one blank line in a row, exactly one final newline. Comments and string
//! literals are kept verbatim; in Markdown only Lumen fences change. The
//! result is re-lexed and must give the same tokens, or nothing changes.

use crate::diag::Diagnostic;
use crate::lexer::{lex, TokenKind};
use crate::parser::parse_program;
use crate::source::{extract, FileKind};

/// The formatted text, or the errors that stop formatting (a file that
/// does not parse is left alone).
pub fn format(path: &str, text: &str) -> Result<String, Vec<Diagnostic>> {
    let src = extract(path, text);
    let (toks, lex_diags) = lex(&src.code);
    let errors: Vec<Diagnostic> = lex_diags
        .into_iter()
        .filter(|d| d.severity == crate::Severity::Error)
        .collect();
    if !errors.is_empty() {
        return Err(errors);
    }
    let (_, diags, marks) = parse_program(&toks);
    let errors: Vec<Diagnostic> = diags
        .into_iter()
        .filter(|d| d.severity == crate::Severity::Error)
        .collect();
    if !errors.is_empty() {
        return Err(errors);
    }
    let code_lines: Vec<&str> = src.code.split('\n').collect();
    let n = code_lines.len();
    // Level of each line that starts a statement or closing keyword.
    let mut level: Vec<Option<u32>> = vec![None; n + 2];
    for (line, lv) in &marks {
        let i = *line as usize;
        if i <= n && level[i].is_none() {
            level[i] = Some(*lv);
        }
    }
    // Lines with a token starting on them, and lines inside multi-line
    // tokens (kept verbatim).
    let mut has_token = vec![false; n + 2];
    let mut verbatim = vec![false; n + 2];
    for t in &toks {
        if matches!(
            t.kind,
            TokenKind::Newline | TokenKind::Indent | TokenKind::Dedent | TokenKind::Eof
        ) {
            continue;
        }
        let l = t.span.line as usize;
        if l <= n {
            has_token[l] = true;
        }
        let s = (t.span.start as usize).min(src.code.len());
        let e = (t.span.end as usize).min(src.code.len());
        let extra = src.code[s..e].matches('\n').count();
        for k in 1..=extra {
            if l + k <= n {
                verbatim[l + k] = true;
            }
        }
    }
    let orig_lines: Vec<&str> = text.split('\n').collect();
    let markdown = src.kind == FileKind::Markdown;
    let fenced = if markdown {
        lumen_fence_lines(&orig_lines)
    } else {
        Vec::new()
    };
    let mut out: Vec<String> = Vec::with_capacity(orig_lines.len());
    let mut current = 0u32;
    let mut blank_run = 0;
    for (i, orig) in orig_lines.iter().enumerate() {
        let line_no = i + 1;
        let code = code_lines.get(i).copied().unwrap_or("");
        let in_code = !markdown || !code.is_empty() || fenced[i];
        if !in_code || verbatim[line_no] {
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
        blank_run = 0;
        let lv = if let Some(lv) = level[line_no] {
            current = lv;
            lv
        } else if has_token[line_no] && trimmed.starts_with([')', ']', '}']) {
            // A closing bracket lines up with its statement.
            current
        } else if has_token[line_no] {
            current + 1
        } else {
            // A comment line: the level of the next statement.
            (line_no + 1..=n).find_map(|k| level[k]).unwrap_or(current)
        };
        let keep_cr = orig.ends_with('\r');
        let mut s = format!(
            "{}{}",
            "  ".repeat(lv as usize),
            orig.trim_start().trim_end()
        );
        if keep_cr {
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
    let strip = |ts: &[crate::Token]| -> Vec<TokenKind> {
        ts.iter()
            .map(|t| t.kind.clone())
            .filter(|k| {
                !matches!(
                    k,
                    TokenKind::Indent | TokenKind::Dedent | TokenKind::Newline
                )
            })
            .collect()
    };
    if strip(&toks) != strip(&toks2) {
        return Ok(text.to_string());
    }
    Ok(result)
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
