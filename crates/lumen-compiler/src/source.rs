//! Source files (§2): which files hold Lumen, the code of a Markdown file
//! with every line number kept, directives, and the doc blocks of raw
//! files.

use crate::diag::{Diagnostic, Kind, Span};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// `.lm.md`, `.lumen.md`, `.md`: Lumen lives in fences.
    Markdown,
    /// `.lm`, `.lumen`: every line is code (but doc blocks).
    Raw,
}

impl FileKind {
    /// The kind of a path by its extension (§2.1); `None` for other files.
    pub fn of(path: &str) -> Option<FileKind> {
        let p = path.to_ascii_lowercase();
        if p.ends_with(".md") {
            Some(FileKind::Markdown)
        } else if p.ends_with(".lm") || p.ends_with(".lumen") {
            Some(FileKind::Raw)
        } else {
            None
        }
    }
}

/// A directive's value (§2.3).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum DirectiveValue {
    Bool(bool),
    Word(String),
    Str(String),
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Directive {
    pub name: String,
    pub value: DirectiveValue,
    pub line: u32,
}

/// A doc block of a raw file: its text and the line after it (where the
/// declaration it documents would start).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocBlock {
    pub text: String,
    pub next_line: u32,
}

/// The code of one file, ready for the lexer: the same number of lines as
/// the file, non-code lines empty.
#[derive(Debug, Clone)]
pub struct Source {
    pub path: String,
    pub kind: FileKind,
    pub code: String,
    /// Directives written outside fences (Markdown); those in code are
    /// found by the parser.
    pub directives: Vec<Directive>,
    pub docs: Vec<DocBlock>,
    pub diagnostics: Vec<Diagnostic>,
}

/// A fence opener: up to 3 spaces, then 3+ backticks; returns the number
/// of backticks and the info string.
fn fence_open(line: &str) -> Option<(usize, &str)> {
    let indent = line.len() - line.trim_start_matches(' ').len();
    if indent > 3 {
        return None;
    }
    let rest = &line[indent..];
    let ticks = rest.len() - rest.trim_start_matches('`').len();
    (ticks >= 3).then(|| (ticks, rest[ticks..].trim()))
}

/// A fence closer for an opener of `ticks` backticks: at least as many
/// backticks and nothing else but whitespace.
fn fence_close(line: &str, ticks: usize) -> bool {
    let t = line.trim();
    let n = t.len() - t.trim_start_matches('`').len();
    n >= ticks && t[n..].trim().is_empty() && line.len() - line.trim_start().len() <= 3
}

fn is_lumen_info(info: &str) -> bool {
    let first = info.split_whitespace().next().unwrap_or("");
    first.eq_ignore_ascii_case("lumen") || first.eq_ignore_ascii_case("lm")
}

/// Parses a directive line (`@name`, `@name value`); `None` if the line is
/// not one.
pub fn parse_directive(line: &str, line_no: u32) -> Option<Result<Directive, Diagnostic>> {
    let t = line.trim_start();
    let body = t.strip_prefix('@')?;
    let name_len = body
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_'))
        .map(|(i, _)| i)
        .unwrap_or(body.len());
    if name_len == 0 || !body.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        return None;
    }
    let name = body[..name_len].to_string();
    // A trailing comment is not part of the value.
    let rest = body[name_len..].trim();
    let rest = if rest.starts_with('"') {
        rest
    } else {
        rest.split('#').next().unwrap_or("").trim()
    };
    let col = (line.len() - t.len()) as u32 + 1;
    let span = Span {
        start: 0,
        end: 0,
        line: line_no,
        col,
    };
    let value = if rest.is_empty() {
        DirectiveValue::Bool(true)
    } else if rest == "true" || rest == "false" {
        DirectiveValue::Bool(rest == "true")
    } else if let Some(q) = rest.strip_prefix('"') {
        match q.find('"') {
            Some(end) if q[end + 1..].trim().is_empty() || q[end + 1..].trim().starts_with('#') => {
                DirectiveValue::Str(q[..end].to_string())
            }
            _ => {
                return Some(Err(Diagnostic::error(
                    Kind::ParseError,
                    span,
                    format!(
                        "directive @{name}: unterminated or trailing text after the quoted value"
                    ),
                )))
            }
        }
    } else if rest
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
    {
        DirectiveValue::Word(rest.to_string())
    } else {
        return Some(Err(Diagnostic::error(
            Kind::ParseError,
            span,
            format!("directive @{name}: the value must be true, false, a bare word or a \"quoted string\""),
        )));
    };
    Some(Ok(Directive {
        name,
        value,
        line: line_no,
    }))
}

/// The attributes that look like directives but attach to declarations.
pub const ATTRIBUTES: [&str; 3] = ["test", "must_use", "deprecated"];

/// The directives the language knows (others are warned about).
pub const KNOWN_DIRECTIVES: [&str; 3] = ["strict", "doc_mode", "deterministic"];

/// Splits text into lines without their terminators (`\n` or `\r\n`).
fn lines(text: &str) -> Vec<&str> {
    text.split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect()
}

/// Extracts the Lumen code of a file (§2.2, §2.4).
pub fn extract(path: &str, text: &str) -> Source {
    let kind = FileKind::of(path).unwrap_or(FileKind::Raw);
    let all = lines(text);
    let mut code: Vec<&str> = Vec::with_capacity(all.len());
    let mut directives = Vec::new();
    let mut docs = Vec::new();
    let mut diagnostics = Vec::new();
    match kind {
        FileKind::Markdown => {
            let mut fence: Option<(usize, bool)> = None;
            for (i, line) in all.iter().enumerate() {
                let line_no = i as u32 + 1;
                match fence {
                    None => {
                        if let Some((ticks, info)) = fence_open(line) {
                            fence = Some((ticks, is_lumen_info(info)));
                        } else if let Some(d) = parse_directive(line, line_no) {
                            match d {
                                Ok(d) => directives.push(d),
                                Err(e) => diagnostics.push(e),
                            }
                        }
                        code.push("");
                    }
                    Some((ticks, lumen)) => {
                        if fence_close(line, ticks) {
                            fence = None;
                            code.push("");
                        } else if lumen {
                            code.push(line);
                        } else {
                            code.push("");
                        }
                    }
                }
            }
        }
        FileKind::Raw => {
            let mut doc: Option<Vec<&str>> = None;
            for (i, line) in all.iter().enumerate() {
                if line.starts_with("```") {
                    match doc.take() {
                        None => doc = Some(Vec::new()),
                        Some(text) => docs.push(DocBlock {
                            text: text.join("\n"),
                            next_line: i as u32 + 2,
                        }),
                    }
                    code.push("");
                } else if let Some(d) = doc.as_mut() {
                    d.push(line);
                    code.push("");
                } else {
                    code.push(line);
                }
            }
        }
    }
    for d in &directives {
        if !KNOWN_DIRECTIVES.contains(&d.name.as_str()) && !ATTRIBUTES.contains(&d.name.as_str()) {
            diagnostics.push(Diagnostic::warning(
                Kind::UnknownDirective,
                Span {
                    line: d.line,
                    col: 1,
                    ..Span::default()
                },
                format!("directive @{} is not known; it is ignored", d.name),
            ));
        }
    }
    Source {
        path: path.to_string(),
        kind,
        code: code.join("\n"),
        directives,
        docs,
        diagnostics,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_by_extension() {
        assert_eq!(FileKind::of("a.lm.md"), Some(FileKind::Markdown));
        assert_eq!(FileKind::of("A.LUMEN.MD"), Some(FileKind::Markdown));
        assert_eq!(FileKind::of("notes.md"), Some(FileKind::Markdown));
        assert_eq!(FileKind::of("x.lm"), Some(FileKind::Raw));
        assert_eq!(FileKind::of("x.lumen"), Some(FileKind::Raw));
        assert_eq!(FileKind::of("x.rs"), None);
    }

    #[test]
    fn markdown_keeps_line_numbers_and_only_lumen_fences() {
        let md = "# Title\n@strict false\n\n```lumen\nlet a = 1\n```\n\n```python\nx = 2\n```\n  ```LM extra words\nprint(a)\n  ````\n```lumen\nunterminated()\n";
        let s = extract("doc.lm.md", md);
        let lines: Vec<&str> = s.code.split('\n').collect();
        assert_eq!(lines.len(), md.split('\n').count());
        assert_eq!(lines[4], "let a = 1");
        assert_eq!(lines[8], "", "python fences are ignored");
        assert_eq!(lines[11], "print(a)");
        assert_eq!(lines[3], "", "fence lines are blanked");
        // A fence of 4 backticks is not closed by... it is: at least as many.
        assert_eq!(
            lines[14], "unterminated()",
            "an unterminated fence runs to the end"
        );
        assert_eq!(
            s.directives,
            vec![Directive {
                name: "strict".into(),
                value: DirectiveValue::Bool(false),
                line: 2
            }]
        );
    }

    #[test]
    fn a_closing_fence_needs_enough_backticks() {
        let md = "````lumen\nlet s = \"```\"\n```\nstill_code()\n````\nafter\n";
        let s = extract("x.md", md);
        let lines: Vec<&str> = s.code.split('\n').collect();
        assert_eq!(lines[1], "let s = \"```\"");
        assert_eq!(
            lines[2], "```",
            "three backticks do not close a fence of four"
        );
        assert_eq!(lines[3], "still_code()");
        assert_eq!(lines[4], "");
        assert_eq!(lines[5], "", "text after the fence is not code");
    }

    #[test]
    fn directives_parse_and_unknown_ones_warn() {
        let md = "@lumen 1\n@package \"x y\"\n@deterministic\n@strict \"bad\" extra\n";
        let s = extract("x.md", md);
        assert_eq!(s.directives.len(), 3);
        assert_eq!(s.directives[0].value, DirectiveValue::Word("1".into()));
        assert_eq!(s.directives[1].value, DirectiveValue::Str("x y".into()));
        assert_eq!(s.directives[2].value, DirectiveValue::Bool(true));
        let kinds: Vec<&str> = s.diagnostics.iter().map(|d| d.kind.keyword()).collect();
        assert_eq!(
            kinds,
            ["parse error", "unknown directive", "unknown directive"]
        );
    }

    #[test]
    fn raw_files_turn_doc_blocks_into_comments() {
        let raw = "```\nAdds one.\n```\ncell inc(x: Int) -> Int\n  return x + 1\nend\n";
        let s = extract("x.lm", raw);
        let lines: Vec<&str> = s.code.split('\n').collect();
        assert_eq!(&lines[..4], ["", "", "", "cell inc(x: Int) -> Int"]);
        assert_eq!(
            s.docs,
            vec![DocBlock {
                text: "Adds one.".into(),
                next_line: 4
            }]
        );
    }

    #[test]
    fn crlf_is_a_line_terminator() {
        let s = extract("x.md", "```lumen\r\nlet a = 1\r\n```\r\n");
        assert_eq!(s.code, "\nlet a = 1\n\n");
    }
}
