//! From registry to the desired set of entries: one per source file, each
//! with its target path and its path inside a generation. Source directories
//! are walked without following the symlinks inside them, so a symlink loop
//! cannot make the walk run forever; loops and dangling links are reported
//! and skipped.

use std::path::{Path, PathBuf};

use super::layout::Layout;

use crate::env::Env;
use crate::error::{Diagnostic, Error, Result};
use crate::paths::{expand, normalize, path_cmp, relative};
use crate::registry::{Mode, Module, OnConflict, Registry};

#[derive(Debug, Clone)]
pub struct Entry {
    pub module: String,
    /// Absolute target path, as expanded from the registry.
    pub target: PathBuf,
    /// Canonical path of the source file in the profile.
    pub source: PathBuf,
    /// Path inside a generation: `home/<path below $HOME>` or `root/<absolute path>`.
    pub entry: PathBuf,
    /// Text of the symlink at `entry` inside a generation (relative, into
    /// the profile); the same for every generation number.
    pub gen_link: PathBuf,
    pub mode: Mode,
    pub on_conflict: OnConflict,
}

#[derive(Debug, Default)]
pub struct Desired {
    /// Sorted by target.
    pub entries: Vec<Entry>,
    pub warnings: Vec<String>,
    /// Modules left out, with why (disabled, another host).
    pub inactive: Vec<(String, String)>,
    /// What the result was read from: source roots as written, every
    /// directory walked, every symlink met (for the no-op fast path).
    pub watched: Vec<PathBuf>,
}

/// Expands a module's target and checks where it points.
pub fn module_target(m: &Module, reg: &Registry, env: &Env) -> Result<PathBuf> {
    let field = format!("modules.{}.target", m.name);
    let diag = |msg: String, help: &str| {
        Error::Invalid(vec![Diagnostic::new(
            &reg.path,
            Some(m.target_pos),
            field.clone(),
            msg,
        )
        .help(help)])
    };
    let lookup = |n: &str| std::env::var(n).ok();
    let t = expand(&m.target, &env.home, &lookup).map_err(|var| {
        diag(
            format!("target '{}' uses ${var}, which is not set", m.target),
            "set the variable in the environment, or write the path out",
        )
    })?;
    if !t.is_absolute() {
        return Err(diag(
            format!("target '{}' is not an absolute path", m.target),
            "write it from ~ (\"~/.config/name\") or as an absolute path",
        ));
    }
    let t = normalize(&t);
    let home = normalize(&env.home);
    if t == home {
        return Err(diag(
            format!("target '{}' is $HOME itself", m.target),
            "point the module at a file or directory inside $HOME",
        ));
    }
    if !t.starts_with(&home) && !m.allow_outside_home {
        return Err(diag(
            format!("target '{}' ({}) is outside $HOME", m.target, t.display()),
            "if this is intended, add `allow_outside_home: true` to the module",
        ));
    }
    for (what, inside) in [
        ("lumina's virtual root", &env.lumina_home),
        ("the profile directory", &reg.profile_dir()),
    ] {
        // A target above them (say ~/.config, holding ~/.config/lumina) is
        // fine as long as no file lands inside: checked per entry.
        let inside = normalize(inside);
        if t.starts_with(&inside) {
            return Err(diag(
                format!(
                    "target '{}' overlaps {what} ({})",
                    m.target,
                    inside.display()
                ),
                "choose a target outside the profile and outside ~/.lumina",
            ));
        }
    }
    Ok(t)
}

fn entry_path(target: &Path, home: &Path) -> PathBuf {
    match target.strip_prefix(home) {
        Ok(rel) => Path::new("home").join(rel),
        Err(_) => Path::new("root").join(target.strip_prefix("/").unwrap_or(target)),
    }
}

/// Computes the desired entries for this machine (`host` is its hardware slug).
pub fn desired(reg: &Registry, env: &Env, host: &str, layout: &Layout) -> Result<Desired> {
    let profile = reg.profile_dir();
    let profile_c = std::fs::canonicalize(&profile).map_err(|e| {
        Error::Invalid(vec![Diagnostic::new(
            &reg.path,
            None,
            "",
            format!(
                "the profile directory {} is not accessible: {e}",
                profile.display()
            ),
        )])
    })?;
    let home = normalize(&env.home);
    let mut out = Desired::default();
    let mut errors = Vec::new();
    let mut jobs: Vec<Job> = Vec::new();
    for m in &reg.modules {
        if let Some(job) = module_job(
            m,
            reg,
            env,
            host,
            (&profile, &profile_c),
            &mut out,
            &mut errors,
        )? {
            jobs.push(job);
        }
    }
    let walked = walk_sources(&jobs);
    let reserved = [normalize(&env.lumina_home), normalize(&profile)];
    for ((m, target, _, src_c), (files, warnings, watched)) in jobs.iter().zip(walked) {
        out.warnings.extend(warnings);
        out.watched.extend(watched);
        let ctx = EntryCx {
            reg,
            m,
            target,
            src_c,
            entry_root: entry_path(target, &home),
            gen_base: layout.root_c.join("generations/0"),
            reserved: &reserved,
        };
        entries_of(&ctx, files, &mut out, &mut errors);
    }
    claims_clash(reg, &mut out, &mut errors);
    if !errors.is_empty() {
        return Err(Error::Invalid(errors));
    }
    Ok(out)
}

/// A module to walk: the module, its target, its source as written and
/// canonical.
type Job<'a> = (&'a Module, PathBuf, PathBuf, PathBuf);

/// A module's walk, if it is active here and its target and source are
/// usable (else it is recorded as inactive, or its problem as an error).
fn module_job<'a>(
    m: &'a Module,
    reg: &Registry,
    env: &Env,
    host: &str,
    (profile, profile_c): (&Path, &Path),
    out: &mut Desired,
    errors: &mut Vec<Diagnostic>,
) -> Result<Option<Job<'a>>> {
    if !m.enabled {
        out.inactive.push((m.name.clone(), "disabled".into()));
        return Ok(None);
    }
    if let Some(hosts) = &m.hosts {
        if !hosts.iter().any(|h| h == host) {
            out.inactive.push((
                m.name.clone(),
                format!("hosts {hosts:?} do not include {host}"),
            ));
            return Ok(None);
        }
    }
    let target = match module_target(m, reg, env) {
        Ok(t) => t,
        Err(Error::Invalid(d)) => {
            errors.extend(d);
            return Ok(None);
        }
        Err(e) => return Err(e),
    };
    let src = profile.join(&m.source);
    let src_c = match std::fs::canonicalize(&src) {
        Ok(c) => c,
        Err(e) => {
            let msg = if e.kind() == std::io::ErrorKind::NotFound {
                format!(
                    "source '{}' of module '{}' does not exist (looked for {})",
                    m.source.display(),
                    m.name,
                    src.display()
                )
            } else {
                format!(
                    "source '{}' of module '{}' is not accessible: {e}",
                    m.source.display(),
                    m.name
                )
            };
            errors.push(
                Diagnostic::new(&reg.path, Some(m.source_pos), format!("modules.{}.source", m.name), msg)
                    .help(format!("create it inside the profile ({}), or fix the path; `lumina add {} --adopt` moves an existing config in", profile.display(), m.name)),
            );
            return Ok(None);
        }
    };
    if !src_c.starts_with(profile_c) {
        out.warnings.push(format!(
            "module '{}': source {} resolves outside the profile ({}); it will not travel with the profile's git repository",
            m.name,
            src.display(),
            src_c.display()
        ));
    }
    Ok(Some((m, target, src, src_c)))
}

/// Walking is syscall-bound: the modules' trees are walked in parallel.
/// Each gives its files (relative to the source), warnings and the paths
/// whose stat the fast path watches.
#[allow(clippy::type_complexity)]
fn walk_sources(jobs: &[Job]) -> Vec<(Vec<PathBuf>, Vec<String>, Vec<PathBuf>)> {
    super::par::map(jobs, |(_, _, src, src_c)| {
        let (mut files, mut warnings, mut watched) = (Vec::new(), Vec::new(), Vec::new());
        if src_c.is_dir() {
            watched.push(src.clone());
            walk(
                src_c,
                Path::new(""),
                &mut files,
                &mut warnings,
                &mut watched,
            );
        } else {
            watched.push(src.clone());
            if let Some(p) = src.parent() {
                watched.push(p.to_path_buf());
            }
            files.push(PathBuf::new());
        }
        (files, warnings, watched)
    })
}

/// What the entries of one module share.
struct EntryCx<'a> {
    reg: &'a Registry,
    m: &'a Module,
    target: &'a PathBuf,
    src_c: &'a PathBuf,
    entry_root: PathBuf,
    gen_base: PathBuf,
    reserved: &'a [PathBuf],
}

/// One entry per file of a module (a file module is one entry).
fn entries_of(cx: &EntryCx, files: Vec<PathBuf>, out: &mut Desired, errors: &mut Vec<Diagnostic>) {
    let EntryCx {
        reg,
        m,
        target,
        src_c,
        ..
    } = *cx;
    let (entry_root, gen_base, reserved) = (&cx.entry_root, &cx.gen_base, cx.reserved);
    // The generation link's relative prefix is shared by every file of a
    // directory: compute it once per directory.
    let mut last_dir: Option<(PathBuf, PathBuf)> = None;
    for rel in files {
        let (t, s, entry) = if rel.as_os_str().is_empty() {
            (target.clone(), src_c.clone(), entry_root.clone())
        } else {
            (target.join(&rel), src_c.join(&rel), entry_root.join(&rel))
        };
        let rel_dir = rel.parent().unwrap_or(Path::new("")).to_path_buf();
        let prefix = match &last_dir {
            Some((d, p)) if *d == rel_dir => p.clone(),
            _ => {
                let from = gen_base.join(entry.parent().unwrap_or(Path::new("")));
                let p = relative(&from, s.parent().unwrap_or(Path::new("/")));
                last_dir = Some((rel_dir, p.clone()));
                p
            }
        };
        if let Some(r) = reserved.iter().find(|r| t.starts_with(r)) {
            errors.push(
            Diagnostic::new(
                &reg.path,
                Some(m.target_pos),
                format!("modules.{}.target", m.name),
                format!("{} would land inside {}", t.display(), r.display()),
                )
            .help("lumina does not link into the profile or into ~/.lumina; remove that file from the module's source"),
        );
            continue;
        }
        let gen_link = prefix.join(s.file_name().unwrap_or_default());
        out.entries.push(Entry {
            module: m.name.clone(),
            entry,
            gen_link,
            target: t,
            source: s,
            mode: m.mode,
            on_conflict: m.on_conflict,
        });
    }
}

/// Two modules claiming one target, or a target inside another's file
/// link. Entries end sorted so that a directory's contents follow it.
fn claims_clash(reg: &Registry, out: &mut Desired, errors: &mut Vec<Diagnostic>) {
    // Sorted so that a directory's contents follow it: two modules claiming
    // one target are neighbours, and so are a file target and paths below it.
    out.entries.sort_by(|a, b| path_cmp(&a.target, &b.target));
    for w in out.entries.windows(2) {
        if w[1].target == w[0].target {
            let m = reg.module(&w[1].module).map(|m| m.target_pos);
            errors.push(
                Diagnostic::new(
                    &reg.path,
                    m,
                    format!("modules.{}.target", w[1].module),
                    format!(
                        "target {} is also claimed by module '{}'",
                        w[1].target.display(),
                        w[0].module
                    ),
                )
                .help("give each module its own target, or disable one of them"),
            );
        } else if w[1].target.starts_with(&w[0].target) {
            errors.push(
                Diagnostic::new(
                    &reg.path,
                    None,
                    format!("modules.{}.target", w[1].module),
                    format!(
                        "{} (module '{}') lies inside {} (module '{}'), which is a file link",
                        w[1].target.display(),
                        w[1].module,
                        w[0].target.display(),
                        w[0].module
                    ),
                )
                .help("targets of different modules must not nest"),
            );
        }
    }
}

/// Collects the files below `root` (paths relative to it). Symlinks are leaves:
/// never descended into. A symlink that loops, dangles, or points back to a
/// directory containing it is reported and skipped.
fn walk(
    root: &Path,
    rel: &Path,
    files: &mut Vec<PathBuf>,
    warnings: &mut Vec<String>,
    watched: &mut Vec<PathBuf>,
) {
    let dir = root.join(rel);
    watched.push(dir.clone());
    let rd = match std::fs::read_dir(&dir) {
        Ok(rd) => rd,
        Err(e) => {
            warnings.push(format!("cannot read {}: {e}; skipped", dir.display()));
            return;
        }
    };
    let mut names: Vec<_> = rd.filter_map(|e| e.ok()).collect();
    names.sort_by_key(|e| e.file_name());
    for e in names {
        let name = e.file_name();
        if name == ".git" {
            continue;
        }
        let child = rel.join(&name);
        let Ok(ft) = e.file_type() else { continue };
        if ft.is_dir() {
            walk(root, &child, files, warnings, watched);
        } else if ft.is_symlink() {
            let full = root.join(&child);
            watched.push(full.clone());
            match std::fs::canonicalize(&full) {
                Err(err) if err.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) => {
                    warnings.push(format!("skipping {}: symlink loop", full.display()));
                }
                Err(_) => warnings.push(format!("skipping {}: dangling symlink", full.display())),
                Ok(to) => {
                    if to.is_dir() && dir.starts_with(&to) {
                        warnings.push(format!(
                            "skipping {}: links back to {}, which contains it (a loop)",
                            full.display(),
                            to.display()
                        ));
                    } else {
                        files.push(child);
                    }
                }
            }
        } else {
            files.push(child);
        }
    }
}
