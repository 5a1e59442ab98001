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

/// Prints diagnostics: the §14.1 header, then the source line and caret.
pub fn report(path: &str, text: &str, diags: &[Diagnostic]) {
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
