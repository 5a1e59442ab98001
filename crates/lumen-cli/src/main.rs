//! `lumen`: the Lumen command line (§16): `check`, `run`, `emit`, `fmt`,
//! `test`, `trace show`.

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

/// Live bytes are counted so a program that outgrows `--max-memory` stops
/// with a runtime error (§18) instead of being killed.
#[global_allocator]
static ALLOC: lumen_vm::mem::CountingAlloc = lumen_vm::mem::CountingAlloc;

#[derive(Parser)]
#[command(
    name = "lumen",
    version,
    about = "Lumen: a statically typed language written in Markdown fences",
    long_about = "Lumen compiles the `lumen` fences of Markdown files (.lm.md, .md) and raw files (.lm) \
to LIR. Diagnostics go to stderr as FILE:LINE:COL: SEVERITY[KIND]: MESSAGE with the source line below.\n\n\
Exit status: 0 success; 1 compile error, runtime error, failed test, fmt --check difference or broken \
trace chain; 2 usage or I/O error (missing file, malformed cassette); the status given to exit(n)."
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum TraceCmd {
    /// Print one line per event: SEQ KIND key=value...
    Show {
        run_id: String,
        #[arg(long, value_name = "DIR", default_value = ".lumen/trace")]
        trace_dir: PathBuf,
        /// Check sequence numbers and the hash chain first; exit 1 at the
        /// first broken event
        #[arg(long)]
        verify: bool,
    },
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
    /// Compile FILE and run its entry cell; a non-null result is printed
    Run {
        file: PathBuf,
        /// The entry cell (default `main`, which may be the top-level
        /// statements)
        #[arg(long, value_name = "NAME", default_value = "main")]
        cell: String,
        /// Write a hash-chained trace to DIR/<run-id>.jsonl
        #[arg(long, value_name = "DIR")]
        trace_dir: Option<PathBuf>,
        /// Replay tool calls from this cassette (§10.6)
        #[arg(long, value_name = "CASSETTE")]
        tools: Option<PathBuf>,
        /// Stop with a runtime error after N steps (calls and loop
        /// iterations), for untrusted or runaway programs (§18)
        #[arg(long, value_name = "N")]
        max_steps: Option<u64>,
        /// Stop with a runtime error when the program uses more than MIB
        /// mebibytes (default: 80 % of the machine's memory)
        #[arg(long, value_name = "MIB")]
        max_memory: Option<usize>,
    },
    /// Run the tests (cells named test_* or marked @test) of files or
    /// directories; ends with `N passed, M failed`
    Test {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Keep only tests whose name contains TEXT
        #[arg(long, value_name = "TEXT")]
        filter: Option<String>,
        #[arg(long, value_name = "CASSETTE")]
        tools: Option<PathBuf>,
    },
    /// Show a trace written by `run --trace-dir`
    Trace {
        #[command(subcommand)]
        cmd: TraceCmd,
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
        Cmd::Run {
            file,
            cell,
            trace_dir,
            tools,
            max_steps,
            max_memory,
        } => run_file(
            &file,
            &cell,
            trace_dir.as_deref(),
            tools.as_deref(),
            max_steps,
            max_memory,
        ),
        Cmd::Test {
            paths,
            filter,
            tools,
        } => test_paths(&paths, filter.as_deref(), tools.as_deref()),
        Cmd::Trace {
            cmd:
                TraceCmd::Show {
                    run_id,
                    trace_dir,
                    verify,
                },
        } => {
            let events = lumen_runtime::trace::read(&trace_dir, &run_id)?;
            if verify {
                match lumen_runtime::trace::verify(&events) {
                    Ok(()) => println!("chain ok"),
                    Err(seq) => {
                        eprintln!("error: the trace chain is broken at seq {seq}");
                        return Ok(1);
                    }
                }
            }
            let mut so = std::io::stdout().lock();
            for e in &events {
                writeln!(so, "{}", lumen_runtime::trace::show_line(e))?;
            }
            Ok(0)
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

/// A compiled, loaded program and what `run`/`test` need about it.
struct Loaded {
    prog: std::rc::Rc<lumen_vm::Program>,
    name: String,
}

fn load(path: &Path, tools: Option<&Path>) -> anyhow::Result<Option<Loaded>> {
    let (c, name) = compile_file(path, tools, false, true)?;
    let Some(module) = c.module else {
        return Ok(None);
    };
    let prog =
        lumen_vm::Program::load(module).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    Ok(Some(Loaded {
        prog: std::rc::Rc::new(prog),
        name,
    }))
}

fn load_cassette(tools: Option<&Path>) -> anyhow::Result<Option<lumen_runtime::tools::Cassette>> {
    match tools {
        Some(p) => Ok(Some(lumen_runtime::tools::Cassette::load(p)?)),
        None => Ok(None),
    }
}

fn host(
    cassette: Option<lumen_runtime::tools::Cassette>,
    deterministic: bool,
) -> lumen_runtime::RuntimeHost {
    let mut h = lumen_runtime::RuntimeHost::new(
        Box::new(std::io::BufWriter::with_capacity(
            64 * 1024,
            std::io::stdout(),
        )),
        Box::new(std::io::stderr()),
    );
    h.cassette = cassette;
    h.deterministic = deterministic;
    h
}

fn deterministic(p: &lumen_vm::Program) -> bool {
    p.module.directives.get("deterministic") == Some(&serde_json::Value::Bool(true))
}

/// The entry cell: a top-level cell of that name without required
/// parameters.
fn entry(p: &lumen_vm::Program, name: &str) -> Result<u32, (&'static str, String)> {
    let Some(i) = p.cells.iter().position(|c| &*c.name == name) else {
        return Err(("undefined cell", format!("no cell named '{name}'")));
    };
    if p.cells[i].has_required_params {
        return Err((
            "argument count",
            format!("entry cell '{name}' has parameters without defaults"),
        ));
    }
    Ok(i as u32)
}

fn run_file(
    file: &Path,
    cell: &str,
    trace_dir: Option<&Path>,
    tools: Option<&Path>,
    max_steps: Option<u64>,
    max_memory: Option<usize>,
) -> anyhow::Result<u8> {
    set_memory_limit(max_memory);
    let cassette = load_cassette(tools)?;
    let Some(l) = load(file, tools)? else {
        return Ok(1);
    };
    let id = match entry(&l.prog, cell) {
        Ok(i) => i,
        Err((kind, msg)) => {
            eprintln!("error[{kind}]: {msg}");
            return Ok(1);
        }
    };
    let mut h = host(cassette, deterministic(&l.prog));
    if let Some(dir) = trace_dir {
        h.trace = Some(lumen_runtime::trace::TraceWriter::create(
            dir,
            &l.prog.module.doc_hash,
        )?);
    }
    use lumen_runtime::trace::Fields;
    let cellf = |status: Option<&str>| Fields {
        cell: Some(cell.to_string()),
        status: status.map(str::to_string),
        ..Default::default()
    };
    h.record("run_start", Fields::default());
    h.record("cell_start", cellf(None));
    let result = {
        let mut vm = lumen_vm::Vm::new(l.prog.clone(), &mut h);
        if let Some(n) = max_steps {
            vm.set_budget(n);
        }
        let result = vm.call_cell(id, Vec::new());
        // `lumen run` exits next: the program's values need no teardown.
        vm.abandon();
        result
    };
    let code = match result {
        Ok(v) => {
            h.record("cell_end", cellf(Some("ok")));
            if !v.is_null() {
                let mut s = v.display();
                s.push('\n');
                lumen_vm::Host::out(&mut h, &s);
            }
            h.record(
                "run_end",
                Fields {
                    status: Some("ok".into()),
                    ..Default::default()
                },
            );
            0
        }
        Err(lumen_vm::Unwind::Exit(n)) => {
            h.record("cell_end", cellf(Some("ok")));
            h.record(
                "run_end",
                Fields {
                    status: Some("ok".into()),
                    message: Some(format!("exit({n})")),
                    ..Default::default()
                },
            );
            n.clamp(0, 255) as u8
        }
        Err(lumen_vm::Unwind::Error(e)) => {
            h.flush();
            eprint!("{}", e.report(&l.name));
            h.record(
                "error",
                Fields {
                    message: Some(e.to_string()),
                    ..Default::default()
                },
            );
            h.record("cell_end", cellf(Some("error")));
            h.record(
                "run_end",
                Fields {
                    status: Some("error".into()),
                    ..Default::default()
                },
            );
            1
        }
        Err(lumen_vm::Unwind::Abort { .. }) => {
            h.flush();
            eprintln!("runtime error[resume error]: a handler aborted outside its handle");
            1
        }
    };
    h.flush();
    if let Some(t) = &mut h.trace {
        t.finish()?;
        eprintln!("trace: {}", t.run_id);
    }
    if let Some(e) = h.trace_error.take() {
        return Err(e.into());
    }
    Ok(code)
}

/// Lumen files under `p` (recursively, sorted) or `p` itself.
fn lumen_files(p: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    if p.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(p)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", p.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for e in entries {
            if e.is_dir() {
                lumen_files(&e, out)?;
            } else if lumen_compiler::source::FileKind::of(&e.display().to_string()).is_some() {
                out.push(e);
            }
        }
        Ok(())
    } else if p.exists() {
        out.push(p.to_path_buf());
        Ok(())
    } else {
        anyhow::bail!("{}: no such file or directory", p.display())
    }
}

/// The memory limit of a run: `--max-memory` MiB, else 80 % of the
/// machine's memory.
fn set_memory_limit(mib: Option<usize>) {
    lumen_vm::mem::set_limit(match mib {
        Some(m) => m.saturating_mul(1 << 20),
        None => lumen_vm::mem::default_limit(),
    });
}

fn test_paths(paths: &[PathBuf], filter: Option<&str>, tools: Option<&Path>) -> anyhow::Result<u8> {
    set_memory_limit(None);
    // A malformed cassette is a usage error before anything runs.
    load_cassette(tools)?;
    let mut files = Vec::new();
    for p in paths {
        lumen_files(p, &mut files)?;
    }
    let several = files.len() > 1;
    let (mut passed, mut failed) = (0usize, 0usize);
    let mut so = std::io::stdout();
    for f in &files {
        let fname = f.display().to_string();
        let Some(l) = load(f, tools)? else {
            writeln!(so, "test {fname} ... FAILED")?;
            failed += 1;
            continue;
        };
        let tests: Vec<u32> = l
            .prog
            .cells
            .iter()
            .enumerate()
            .filter(|(_, c)| {
                !c.name.contains(['.', '$'])
                    && !c.has_required_params
                    && (c.test || c.name.starts_with("test_"))
                    && filter.is_none_or(|t| c.name.contains(t))
            })
            .map(|(i, _)| i as u32)
            .collect();
        for t in tests {
            let cname = l.prog.cells[t as usize].name.to_string();
            let name = if several {
                format!("{fname}::{cname}")
            } else {
                cname
            };
            // A fresh runtime per test: nothing is shared between tests.
            let mut h = host(load_cassette(tools)?, deterministic(&l.prog));
            let r = {
                let mut vm = lumen_vm::Vm::new(l.prog.clone(), &mut h);
                vm.call_cell(t, Vec::new())
            };
            h.flush();
            drop(h);
            let verdict = match r {
                Ok(lumen_vm::Value::Bool(false)) => Err(format!("  {name}: returned false")),
                Ok(_) | Err(lumen_vm::Unwind::Exit(0)) => Ok(()),
                Err(lumen_vm::Unwind::Error(e)) => Err(format!(
                    "  {name}: {}",
                    e.report(&l.name).trim_end().replace('\n', "\n  ")
                )),
                Err(lumen_vm::Unwind::Exit(n)) => Err(format!("  {name}: exit({n})")),
                Err(lumen_vm::Unwind::Abort { .. }) => {
                    Err(format!("  {name}: a handler aborted outside its handle"))
                }
            };
            match verdict {
                Ok(()) => {
                    writeln!(so, "test {name} ... ok")?;
                    passed += 1;
                }
                Err(m) => {
                    writeln!(so, "test {name} ... FAILED")?;
                    so.flush()?;
                    eprintln!("{m}");
                    failed += 1;
                }
            }
            so.flush()?;
        }
    }
    writeln!(so, "{passed} passed, {failed} failed")?;
    Ok(u8::from(failed > 0))
}
