//! The Lumen compiler front end (`../shared/specs/lumen.md`).
//!
//! One entry point per stage, each testable alone. Built so far:
//! [`source`] (§2: file kinds, Markdown extraction with line numbers kept,
//! directives, raw files and their doc blocks) and [`lexer`] (§3: tokens,
//! indentation, line continuation, every literal form, string
//! interpolation with format specs, role blocks) and the first parts of
//! [`parser`] (type expressions and patterns, into [`ast`]). [`diag`] holds
//! the diagnostics every stage reports (§14.1). Declarations, statements
//! and expressions, then the resolver, typechecker and LIR lowering come
//! next.

pub mod ast;
pub mod builtins;
pub mod diag;
pub mod lexer;
pub mod lir;
pub mod lower;
pub mod parser;
pub mod resolve;
pub mod source;
pub mod typeck;
pub mod types;

pub use diag::{Diagnostic, Kind, Severity};
pub use lexer::{lex, Token, TokenKind};
pub use source::{extract, Source};

pub mod fmt;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// One compiled file: its diagnostics (every stage that ran) and, when
/// there was no error, the LIR module.
pub struct Compilation {
    pub diagnostics: Vec<Diagnostic>,
    pub module: Option<lir::Module>,
    pub program: ast::Program,
    /// The code the diagnostics' byte spans point into (the file with its
    /// non-Lumen lines blanked; same lines as the file).
    pub sources: Vec<(String, String)>,
}

impl Compilation {
    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error)
    }
}

/// Diagnostics in source order.
fn sorted(mut d: Vec<Diagnostic>) -> Vec<Diagnostic> {
    d.sort_by_key(|x| (x.span.line, x.span.col));
    d
}

/// Compiles `text` (the contents of `path`) through every stage, LIR
/// included.
pub fn compile(path: &str, text: &str, opts: &resolve::Options) -> Compilation {
    run_stages(path, text, opts, true)
}

/// Every stage up to and including typechecking (`lumen check`).
pub fn check(path: &str, text: &str, opts: &resolve::Options) -> Compilation {
    run_stages(path, text, opts, false)
}

fn run_stages(path: &str, text: &str, opts: &resolve::Options, lower: bool) -> Compilation {
    let doc_hash = format!("sha256:{:x}", Sha256::digest(text.as_bytes()));
    let src = extract(path, text);
    let mut diagnostics = src.diagnostics.clone();
    let sources = vec![(path.to_string(), src.code.clone())];
    let stop = |diagnostics: Vec<Diagnostic>, program, sources| Compilation {
        diagnostics,
        module: None,
        program,
        sources,
    };
    let (toks, lex_diags) = lex(&src.code);
    let lex_failed = lex_diags.iter().any(|d| d.severity == Severity::Error);
    diagnostics.extend(lex_diags);
    if lex_failed {
        return stop(sorted(diagnostics), ast::Program::default(), sources);
    }
    let (mut program, parse_diags, _) = parser::parse_program(&toks);
    let parse_failed = parse_diags.iter().any(|d| d.severity == Severity::Error);
    diagnostics.extend(parse_diags);
    if parse_failed {
        return stop(sorted(diagnostics), program, sources);
    }
    // Imports (§4.6): modules are parsed and their items merged.
    let base = Path::new(path)
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let mut stack = vec![canonical(Path::new(path))];
    let mut loaded = BTreeSet::new();
    let import_diags = imports(&mut program, &base, &mut stack, &mut loaded);
    let import_failed = !import_diags.is_empty();
    diagnostics.extend(import_diags);
    if import_failed {
        return stop(sorted(diagnostics), program, sources);
    }
    let mut mode = resolve::Mode::from_directives(src.directives.iter().chain(&program.directives));
    if opts.doc_mode {
        mode.doc_mode = true;
    }
    let (symbols, res_diags) = resolve::resolve(&program, mode, opts);
    let res_failed = res_diags.iter().any(|d| d.severity == Severity::Error);
    diagnostics.extend(res_diags);
    if res_failed {
        return stop(sorted(diagnostics), program, sources);
    }
    let (types, ty_diags) = typeck::typecheck(&program, &symbols);
    let ty_failed = ty_diags.iter().any(|d| d.severity == Severity::Error);
    diagnostics.extend(ty_diags);
    if ty_failed {
        return stop(sorted(diagnostics), program, sources);
    }
    let module = lower.then(|| lower::lower(&program, &symbols, &types, doc_hash));
    Compilation {
        diagnostics: sorted(diagnostics),
        module,
        program,
        sources,
    }
}

fn canonical(p: &Path) -> PathBuf {
    p.canonicalize().unwrap_or_else(|_| p.to_path_buf())
}

/// Loads the modules `prog` imports, merging their items; reports
/// `import error`s (not found, name not found, cycles).
fn imports(
    prog: &mut ast::Program,
    base: &Path,
    stack: &mut Vec<PathBuf>,
    loaded: &mut BTreeSet<PathBuf>,
) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    let mut merged = Vec::new();
    for item in &prog.items {
        let ast::ItemKind::Import { path, names } = &item.kind else {
            continue;
        };
        let rel = path.join("/");
        let candidates = [
            format!("{rel}.lm.md"),
            format!("{rel}.lm"),
            format!("{rel}.lumen.md"),
            format!("{rel}.lumen"),
            format!("{rel}/mod.lm.md"),
            format!("{rel}/mod.lm"),
        ];
        let Some(file) = candidates
            .iter()
            .map(|c| base.join(c))
            .find(|p| p.is_file())
        else {
            diags.push(
                Diagnostic::error(
                    Kind::ImportError,
                    item.span,
                    format!("module `{}` not found (looked for {rel}.lm.md, {rel}.lm, ... next to this file)", path.join(".")),
                ),
            );
            continue;
        };
        let key = canonical(&file);
        if let Some(pos) = stack.iter().position(|p| *p == key) {
            let mut cycle: Vec<String> = stack[pos..]
                .iter()
                .map(|p| {
                    p.file_name()
                        .map(|f| f.to_string_lossy().into_owned())
                        .unwrap_or_default()
                })
                .collect();
            cycle.push(cycle[0].clone());
            diags.push(Diagnostic::error(
                Kind::ImportError,
                item.span,
                format!("circular import: {}", cycle.join(" -> ")),
            ));
            continue;
        }
        let text = match std::fs::read_to_string(&file) {
            Ok(t) => t,
            Err(e) => {
                diags.push(Diagnostic::error(
                    Kind::ImportError,
                    item.span,
                    format!("cannot read module {}: {e}", file.display()),
                ));
                continue;
            }
        };
        let fname = file.display().to_string();
        let src = extract(&fname, &text);
        let (toks, ld) = lex(&src.code);
        let (mut sub, pd, _) = parser::parse_program(&toks);
        if let Some(e) = ld.iter().chain(&pd).find(|d| d.severity == Severity::Error) {
            diags.push(Diagnostic::error(
                Kind::ImportError,
                item.span,
                format!(
                    "module `{}` does not compile: {}",
                    path.join("."),
                    e.header(&fname)
                ),
            ));
            continue;
        }
        stack.push(key.clone());
        let sub_base = file.parent().map(Path::to_path_buf).unwrap_or_default();
        let inner = imports(&mut sub, &sub_base, stack, loaded);
        stack.pop();
        if !inner.is_empty() {
            diags.extend(inner.into_iter().map(|mut d| {
                d.span = item.span;
                d
            }));
            continue;
        }
        if let Some(list) = names {
            for (n, alias, span) in list {
                let found = sub.items.iter().any(|i| i.kind.name() == Some(n.as_str()));
                if !found {
                    diags.push(Diagnostic::error(
                        Kind::ImportError,
                        *span,
                        format!("module `{}` has no top-level `{n}`", path.join(".")),
                    ));
                } else if let Some(a) = alias {
                    // `as`: a renamed cell forwards to the original.
                    if let Some(ast::ItemKind::Cell(c)) = sub
                        .items
                        .iter()
                        .find(|i| i.kind.name() == Some(n.as_str()))
                        .map(|i| &i.kind)
                    {
                        let mut fwd = c.clone();
                        fwd.name = a.clone();
                        let args = c
                            .params
                            .iter()
                            .map(|p| ast::Arg {
                                name: None,
                                value: ast::Expr {
                                    kind: ast::ExprKind::Name(p.name.clone()),
                                    span: *span,
                                },
                                spread: false,
                            })
                            .collect();
                        fwd.body = Some(ast::Body::Expr(ast::Expr {
                            kind: ast::ExprKind::Call {
                                callee: Box::new(ast::Expr {
                                    kind: ast::ExprKind::Name(n.clone()),
                                    span: *span,
                                }),
                                args,
                            },
                            span: *span,
                        }));
                        fwd.effects = None;
                        merged.push(ast::Item {
                            kind: ast::ItemKind::Cell(fwd),
                            span: *span,
                        });
                    }
                }
            }
        }
        // Each module is compiled once per program.
        if loaded.insert(key) {
            merged.extend(
                sub.items
                    .into_iter()
                    .filter(|i| !matches!(i.kind, ast::ItemKind::Import { .. })),
            );
        }
    }
    prog.items.extend(merged);
    diags
}
