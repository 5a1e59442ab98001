//! `lumen`: the Lumen command line (§16). This build has `check`, `emit`
//! and `fmt`; `run`, `test` and `trace` come with the VM.

use std::collections::BTreeSet;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};
use codespan_reporting::diagnostic::{Diagnostic as CsDiagnostic, Label};
use codespan_reporting::files::SimpleFile;
use codespan_reporting::term::{self, termcolor};
use lumen_compiler::resolve::Options;
use lumen_compiler::{Diagnostic, Severity};

#[derive(Parser)]
#[command(
    name = "lumen",
    version,
    about = "Lumen: a statically typed language written in Markdown fences",
    long_about = "Lumen compiles the `lumen` fences of Markdown files (.lm.md, .md) and raw files (.lm) \
to LIR. Diagnostics go to stderr as FILE:LINE:COL: SEVERITY[KIND]: MESSAGE with the source line below.\n\n\
Exit status: 0 success, 1 compile error or fmt --check difference, 2 usage or I/O error."
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Compile FILE (and its imports) without running it; exit 1 on any error
    Check {
        file: PathBuf,
        /// Cassette of recorded tool interactions: its tools count as
        /// replayable under @deterministic (§10.6, §10.7)
        #[arg(long, value_name = "CASSETTE")]
        tools: Option<PathBuf>,
        /// Check in doc mode (as `@doc_mode true`): unresolved names warn,
        /// effect/grant/determinism checks are skipped
        #[arg(long)]
        doc: bool,
    },
    /// Write the LIR module of FILE as JSON (to stdout, or OUT)
    Emit {
        file: PathBuf,
        #[arg(short, long, value_name = "OUT")]
        o: Option<PathBuf>,
        #[arg(long, value_name = "CASSETTE")]
        tools: Option<PathBuf>,
    },
    /// Rewrite files in canonical style (only Lumen fences change in Markdown)
    Fmt {
        /// Write nothing; print each file that would change, exit 1 if any
        #[arg(long)]
        check: bool,
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Print a shell completion script
    Completions { shell: clap_complete::Shell },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))
}

/// The tool ids a cassette records (§10.6); malformed: usage error.
fn cassette(path: Option<&Path>) -> anyhow::Result<BTreeSet<String>> {
    let Some(p) = path else {
        return Ok(BTreeSet::new());
    };
    let text = read(p)?;
    let v: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| anyhow::anyhow!("cassette {} is not valid JSON: {e}", p.display()))?;
    let list = v
        .get("interactions")
        .and_then(|i| i.as_array())
        .ok_or_else(|| {
            anyhow::anyhow!(
                "cassette {}: expected an object with an `interactions` array",
                p.display()
            )
        })?;
    let mut ids = BTreeSet::new();
    for (i, it) in list.iter().enumerate() {
        let tool = it.get("tool").and_then(|t| t.as_str()).ok_or_else(|| {
            anyhow::anyhow!(
                "cassette {}: interaction {i} has no string `tool`",
                p.display()
            )
        })?;
        ids.insert(tool.to_string());
    }
    Ok(ids)
}

fn color() -> bool {
    std::env::var_os("NO_COLOR").is_none() && std::io::stderr().is_terminal()
}

/// Prints diagnostics: the §14.1 header, then the source line and caret.
fn report(path: &str, text: &str, diags: &[Diagnostic]) {
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

fn compile_file(
    path: &Path,
    tools: Option<&Path>,
    doc: bool,
    lower: bool,
) -> anyhow::Result<(lumen_compiler::Compilation, String)> {
    let text = read(path)?;
    let opts = Options {
        cassette_tools: cassette(tools)?,
        doc_mode: doc,
    };
    let name = path.display().to_string();
    let c = if lower {
        lumen_compiler::compile(&name, &text, &opts)
    } else {
        lumen_compiler::check(&name, &text, &opts)
    };
    let code = c.sources.first().map(|s| s.1.clone()).unwrap_or(text);
    report(&name, &code, &c.diagnostics);
    Ok((c, name))
}

fn run(cli: Cli) -> anyhow::Result<u8> {
    match cli.cmd {
        Cmd::Check { file, tools, doc } => {
            let (c, _) = compile_file(&file, tools.as_deref(), doc, false)?;
            Ok(u8::from(c.has_errors()))
        }
        Cmd::Emit { file, o, tools } => {
            let (c, _) = compile_file(&file, tools.as_deref(), false, true)?;
            let Some(m) = c.module else {
                return Ok(1);
            };
            let json = serde_json::to_string(&m)?;
            match o {
                Some(out) => write_atomic(&out, json.as_bytes())?,
                None => {
                    let mut so = std::io::stdout().lock();
                    so.write_all(json.as_bytes())?;
                    so.write_all(b"\n")?;
                }
            }
            Ok(0)
        }
        Cmd::Fmt { check, files } => {
            let mut changed = 0;
            let mut failed = false;
            for f in &files {
                let text = read(f)?;
                let name = f.display().to_string();
                match lumen_compiler::fmt::format(&name, &text) {
                    Err(diags) => {
                        let code = lumen_compiler::extract(&name, &text).code;
                        report(&name, &code, &diags);
                        failed = true;
                    }
                    Ok(out) if out != text => {
                        changed += 1;
                        if check {
                            println!("{name}");
                        } else {
                            write_atomic(f, out.as_bytes())?;
                        }
                    }
                    Ok(_) => {}
                }
            }
            Ok(u8::from(failed || (check && changed > 0)))
        }
        Cmd::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "lumen", &mut std::io::stdout());
            Ok(0)
        }
    }
}

/// Temp file in the same directory, fsync, rename.
fn write_atomic(path: &Path, data: &[u8]) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.lumen-tmp",
        path.file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default()
    ));
    let mut f = std::fs::File::create(&tmp)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", tmp.display()))?;
    f.write_all(data)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
        .map_err(|e| anyhow::anyhow!("cannot replace {}: {e}", path.display()))?;
    Ok(())
}
