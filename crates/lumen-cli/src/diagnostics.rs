//! Diagnostics as `lumen` prints them: the header line
//! `FILE:LINE:COL: SEVERITY[KIND]: MESSAGE`, then the source line with a
//! caret and the help, rendered by codespan-reporting.

use std::io::{IsTerminal, Write};

use codespan_reporting::diagnostic::{Diagnostic as CsDiagnostic, Label};
use codespan_reporting::files::SimpleFile;
use codespan_reporting::term::{self, termcolor};
use lumen_compiler::{Diagnostic, Severity};

fn color() -> bool {
    std::env::var_os("NO_COLOR").is_none() && std::io::stderr().is_terminal()
}

/// At most this many diagnostics are printed; the rest are counted.
const MAX_SHOWN: usize = 100;
/// A source line longer than this is shown as a window around the caret.
const LONG_LINE: usize = 200;

/// Prints diagnostics: the §14.1 header, then the source line and caret.
/// The same diagnostic twice is printed once; after [`MAX_SHOWN`] the rest
/// are counted in one last line.
pub fn report(path: &str, text: &str, diags: &[Diagnostic]) {
    let mut seen = std::collections::HashSet::new();
    let unique: Vec<&Diagnostic> = diags
        .iter()
        .filter(|d| {
            seen.insert((
                d.span.start,
                d.span.end,
                d.severity == Severity::Error,
                &d.message,
            ))
        })
        .collect();
    let shown = &unique[..unique.len().min(MAX_SHOWN)];
    print_all(path, text, shown);
    if unique.len() > shown.len() {
        let rest = &unique[shown.len()..];
        let errors = rest
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count();
        let _ = writeln!(
            std::io::stderr(),
            "lumen: {} more diagnostic(s) not shown ({errors} error(s), {} warning(s)); fix the first ones and check again",
            rest.len(),
            rest.len() - errors
        );
    }
}

/// The caret line for a very long source line: a window of it around the
/// span, so one diagnostic prints a few hundred bytes, not the whole line.
fn long_line_snippet(text: &str, d: &Diagnostic) -> Option<String> {
    let start = (d.span.start as usize).min(text.len());
    let ls = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let le = text[start..].find('\n').map_or(text.len(), |i| start + i);
    let line = &text[ls..le];
    if line.len() <= LONG_LINE {
        return None;
    }
    let at = start - ls;
    let floor = |mut i: usize| {
        while !line.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    let from = floor(at.saturating_sub(60));
    let to = floor((at + 60).min(line.len()));
    let (pre, post) = (
        if from > 0 { "..." } else { "" },
        if to < line.len() { "..." } else { "" },
    );
    let lead = format!("{} | ", d.span.line);
    let caret = " ".repeat(lead.len() + pre.len() + line[from..at].chars().count());
    Some(format!(
        "  {lead}{pre}{}{post}\n  {caret}^",
        &line[from..to]
    ))
}

fn print_all(path: &str, text: &str, diags: &[&Diagnostic]) {
    let file = SimpleFile::new(path, text);
    let mut config = term::Config {
        chars: term::Chars::ascii(),
        ..Default::default()
    };
    config.start_context_lines = 0;
    config.end_context_lines = 0;
    let stderr = std::io::stderr();
    let mut err = stderr.lock();
    for d in diags {
        let _ = writeln!(err, "{}", d.header(path));
        if let Some(snippet) = long_line_snippet(text, d) {
            let _ = writeln!(err, "{snippet}");
            if let Some(h) = &d.help {
                let _ = writeln!(err, "  = {h}");
            }
            continue;
        }
        let start = (d.span.start as usize).min(text.len());
        let end = (d.span.end as usize).clamp(start, text.len());
        let end = if end == start {
            (start + 1).min(text.len())
        } else {
            end
        };
        let label = Label::primary((), start..end).with_message(d.help.clone().unwrap_or_default());
        let cs = match d.severity {
            Severity::Error => CsDiagnostic::error(),
            Severity::Warning => CsDiagnostic::warning(),
        }
        .with_labels(vec![label]);
        let mut buf = termcolor::Buffer::no_color();
        if color() {
            buf = termcolor::Buffer::ansi();
        }
        if term::emit(&mut buf, &config, &file, &cs).is_ok() {
            let s = String::from_utf8_lossy(buf.as_slice()).into_owned();
            // Drop codespan's own header and location lines: ours is above.
            for line in s.lines().filter(|l| !l.trim().is_empty()) {
                let t = line.trim_start();
                let plain = strip_ansi(t);
                if plain.starts_with("error")
                    || plain.starts_with("warning")
                    || plain.starts_with("-->")
                    || plain.starts_with("+--")
                    || plain.chars().all(|c| c == '|' || c == ' ')
                {
                    continue;
                }
                let _ = writeln!(err, "  {line}");
            }
        }
    }
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::new();
    let mut esc = false;
    for c in s.chars() {
        match (esc, c) {
            (false, '\u{1b}') => esc = true,
            (true, 'm') => esc = false,
            (true, _) => {}
            (false, c) => out.push(c),
        }
    }
    out
}
