//! The Lumen compiler front end. Section numbers (§) in this crate refer
//! to the language reference, `docs/lumen/reference.md`.
//!
//! One entry point per stage, each testable alone: [`source`] (§2: file
//! kinds, Markdown extraction with line numbers kept, directives, raw
//! files and their doc blocks), [`lexer`] (§3), [`parser`] (§4–§7 into
//! [`ast`]), [`resolve`] (names, scopes, effects, grants), [`typeck`]
//! (§6–§8, §11), [`lower`] (to the LIR of the `lumen-lir` crate) and
//! [`fmt`]. [`diag`] holds the diagnostics every stage reports (§14.1).
//! [`check`] runs the stages through the typechecker, [`compile`] through
//! lowering; imports are loaded here (§4.6).

pub mod ast;
/// The LIR module format (its own crate, shared with the VM).
pub use lumen_lir as lir;
/// The builtin table (it lives with the LIR format, which indexes it).
pub use lumen_lir::builtins;
pub mod diag;
pub mod lexer;
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

use std::collections::{BTreeMap, BTreeSet};
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
    let import_diags = import_all(&mut program, path);
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

/// The imported modules of one program: their scopes by number and which
/// file got which number (each module is compiled once per program).
struct Modules {
    scopes: Vec<ast::ModuleScope>,
    loaded: BTreeMap<PathBuf, u32>,
    /// Top-level names of each module; an enum's name maps to its
    /// variants, which come along with it.
    names: Vec<BTreeMap<String, Vec<String>>>,
    stack: Vec<PathBuf>,
}

/// Loads the modules `prog` imports, appending their items (tagged with
/// their module number) to `prog.items` and recording what each module
/// imports; reports `import error`s (not found, name not found, cycles).
fn import_all(prog: &mut ast::Program, path: &str) -> Vec<Diagnostic> {
    let base = Path::new(path)
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let mut m = Modules {
        scopes: vec![ast::ModuleScope::default()],
        loaded: BTreeMap::new(),
        names: vec![module_names(&prog.items)],
        stack: vec![canonical(Path::new(path))],
    };
    let mut extra = Vec::new();
    let diags = imports(&prog.items, 0, &base, &mut m, &mut extra);
    prog.items.extend(extra);
    if m.scopes.len() > 1 {
        prog.modules = m.scopes;
    }
    diags
}

fn module_names(items: &[ast::Item]) -> BTreeMap<String, Vec<String>> {
    items
        .iter()
        .filter_map(|i| {
            let n = i.kind.name()?.to_string();
            let variants = match &i.kind {
                ast::ItemKind::Enum { variants, .. } => {
                    variants.iter().map(|v| v.name.clone()).collect()
                }
                _ => Vec::new(),
            };
            Some((n, variants))
        })
        .collect()
}

fn imports(
    items: &[ast::Item],
    this: u32,
    base: &Path,
    m: &mut Modules,
    out: &mut Vec<ast::Item>,
) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    for item in items {
        let ast::ItemKind::Import { path, names } = &item.kind else {
            continue;
        };
        let dotted = path.join(".");
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
            diags.push(Diagnostic::error(
                Kind::ImportError,
                item.span,
                format!(
                    "module `{dotted}` not found (looked for {rel}.lm.md, {rel}.lm, ... next to this file)"
                ),
            ));
            continue;
        };
        let key = canonical(&file);
        if let Some(pos) = m.stack.iter().position(|p| *p == key) {
            let mut cycle: Vec<String> = m.stack[pos..]
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
        let id = match m.loaded.get(&key) {
            Some(id) => *id,
            None => match load_module(&file, &dotted, item.span, m, out) {
                Ok(id) => id,
                Err(d) => {
                    diags.push(d);
                    continue;
                }
            },
        };
        let module_names = m.names[id as usize].clone();
        let imported = &mut m.scopes[this as usize].imported;
        let Some(list) = names else {
            // `*`: every top-level name, variants included.
            for (n, variants) in &module_names {
                imported.insert(n.clone());
                imported.extend(variants.iter().cloned());
            }
            continue;
        };
        for (n, alias, span) in list {
            let Some(variants) = module_names.get(n) else {
                let help = resolve::suggest(n, module_names.keys().map(String::as_str))
                    .map(|s| format!("did you mean `{s}`?"));
                let mut d = Diagnostic::error(
                    Kind::ImportError,
                    *span,
                    format!("module `{dotted}` has no top-level `{n}`"),
                );
                d.help = help;
                diags.push(d);
                continue;
            };
            let Some(a) = alias else {
                imported.insert(n.clone());
                imported.extend(variants.iter().cloned());
                continue;
            };
            // `as`: a forwarding cell or constant under the new name, placed
            // in the imported module (which sees the original).
            let original = out
                .iter()
                .find(|i| i.module == id && i.kind.name() == Some(n.as_str()))
                .map(|i| i.kind.clone());
            let renamed = match original {
                Some(ast::ItemKind::Cell(c)) => Some(ast::ItemKind::Cell(forwarder(&c, a, *span))),
                Some(ast::ItemKind::Const { ty, .. }) => Some(ast::ItemKind::Const {
                    name: a.clone(),
                    ty,
                    value: ast::Expr {
                        kind: ast::ExprKind::Name(n.clone()),
                        span: *span,
                    },
                }),
                _ => None,
            };
            match renamed {
                Some(kind) => {
                    imported.insert(a.clone());
                    out.push(ast::Item {
                        kind,
                        span: *span,
                        module: id,
                    });
                }
                None => {
                    let mut d = Diagnostic::error(
                        Kind::ImportError,
                        *span,
                        format!("`{n}` cannot be renamed: `as` renames cells and constants"),
                    );
                    d.help = Some(format!("import it as `{n}`"));
                    diags.push(d);
                }
            }
        }
    }
    diags
}

/// Parses a module file, numbers it, loads its own imports and appends
/// its items to `out`.
fn load_module(
    file: &Path,
    dotted: &str,
    at: diag::Span,
    m: &mut Modules,
    out: &mut Vec<ast::Item>,
) -> Result<u32, Diagnostic> {
    let text = std::fs::read_to_string(file).map_err(|e| {
        Diagnostic::error(
            Kind::ImportError,
            at,
            format!("cannot read module {}: {e}", file.display()),
        )
    })?;
    let fname = file.display().to_string();
    let src = extract(&fname, &text);
    let (toks, ld) = lex(&src.code);
    let (sub, pd, _) = parser::parse_program(&toks);
    if let Some(e) = ld.iter().chain(&pd).find(|d| d.severity == Severity::Error) {
        return Err(Diagnostic::error(
            Kind::ImportError,
            at,
            format!("module `{dotted}` does not compile: {}", e.header(&fname)),
        ));
    }
    let id = m.scopes.len() as u32;
    let key = canonical(file);
    m.scopes.push(ast::ModuleScope {
        path: dotted.to_string(),
        imported: BTreeSet::new(),
    });
    m.names.push(module_names(&sub.items));
    m.loaded.insert(key.clone(), id);
    m.stack.push(key);
    let sub_base = file.parent().map(Path::to_path_buf).unwrap_or_default();
    let inner = imports(&sub.items, id, &sub_base, m, out);
    m.stack.pop();
    if let Some(first) = inner.into_iter().next() {
        let mut d = first;
        d.span = at;
        return Err(d);
    }
    // A module's own `main` is its entry point when run alone; imported,
    // it would only collide with the importer's (one namespace for all).
    out.extend(
        sub.items
            .into_iter()
            .filter(|i| !matches!(i.kind, ast::ItemKind::Import { .. }))
            .filter(|i| !matches!(&i.kind, ast::ItemKind::Cell(c) if c.name == "main"))
            .map(|mut i| {
                i.module = id;
                i
            }),
    );
    Ok(id)
}

/// `cell alias(params) = original(params)` for `import m: original as alias`.
fn forwarder(c: &ast::CellDecl, alias: &str, span: diag::Span) -> ast::CellDecl {
    let mut fwd = c.clone();
    fwd.name = alias.to_string();
    let args = c
        .params
        .iter()
        .map(|p| ast::Arg {
            name: None,
            value: ast::Expr {
                kind: ast::ExprKind::Name(p.name.clone()),
                span,
            },
            spread: false,
        })
        .collect();
    fwd.body = Some(ast::Body::Expr(ast::Expr {
        kind: ast::ExprKind::Call {
            callee: Box::new(ast::Expr {
                kind: ast::ExprKind::Name(c.name.clone()),
                span,
            }),
            args,
        },
        span,
    }));
    fwd.effects = None;
    fwd
}
