//! From registry to the desired set of entries: one per source file, each
//! with its target path, its path inside a generation, how it is deployed
//! (link, copy, seed) and, for templates, the rendered bytes. Source
//! directories are walked without following the symlinks inside them, so a
//! symlink loop cannot make the walk run forever; loops, dangling links,
//! special files, empty directories and submodules that are not checked
//! out are reported and skipped; excluded paths are never read.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::layout::Layout;
use super::template::Templates;

use crate::env::Env;
use crate::error::{Diagnostic, Error, Result};
use crate::host::Host;
use crate::paths::{expand, normalize, path_cmp, relative};
use crate::patterns::{Patterns, ALWAYS_EXCLUDED};
use crate::registry::{Mode, Module, OnConflict, Registry};
use crate::yaml::Pos;

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
    /// A template's rendered bytes: the generation holds them as a file
    /// (which the target links to, or is copied from).
    pub rendered: Option<Arc<[u8]>>,
    /// The module's source (canonical): a generation may stand for a whole
    /// directory at or below it with one link, never above it.
    pub source_root: Arc<Path>,
}

impl Entry {
    /// Whether the regular file at `p` holds what this entry deploys: the
    /// source's bytes, or the rendered template.
    pub fn same_content(&self, p: &Path) -> bool {
        match &self.rendered {
            Some(r) => {
                std::fs::symlink_metadata(p).is_ok_and(|m| m.is_file())
                    && std::fs::read(p).is_ok_and(|b| *b == **r)
            }
            None => crate::fsops::same_bytes(p, &self.source),
        }
    }
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
    /// Modules whose source is missing, with the diagnostic a sync
    /// reports (status shows their links as orphaned instead).
    pub missing: Vec<(String, Diagnostic)>,
    /// Every template rendered: its source and a fingerprint of the output
    /// (the fast path renders them again to see whether anything moved).
    pub templates: Vec<(PathBuf, u64)>,
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

/// Computes the desired entries for this machine.
pub fn desired(reg: &Registry, env: &Env, host: &Host, layout: &Layout) -> Result<Desired> {
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
    let submodules = submodule_paths(&profile_c);
    let walked = walk_sources(&jobs, &profile_c, &submodules);
    let reserved = [normalize(&env.lumina_home), normalize(&profile)];
    let templates = jobs
        .iter()
        .any(|j| !j.m.template.is_empty())
        .then(|| Templates::new(reg, host));
    for (job, (files, warnings, watched)) in jobs.iter().zip(walked) {
        out.warnings.extend(warnings);
        out.watched.extend(watched);
        if job.target == home && !job.src_c.is_dir() {
            errors.push(
                Diagnostic::new(
                    &reg.path,
                    Some(job.m.target_pos),
                    format!("modules.{}.target", job.m.name),
                    format!(
                        "target '{}' is $HOME itself, but the source is a file",
                        job.m.target
                    ),
                )
                .help("a file needs its own target (e.g. \"~/.zshrc\"); `target: \"~\"` is for a directory whose tree mirrors $HOME"),
            );
            continue;
        }
        let ctx = EntryCx {
            reg,
            job,
            entry_root: entry_path(&job.target, &home),
            gen_base: layout.root_c.join("generations/0"),
            reserved: &reserved,
            templates: templates.as_ref(),
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
/// canonical, and the patterns that select and classify its files.
struct Job<'a> {
    m: &'a Module,
    target: PathBuf,
    src: PathBuf,
    src_c: PathBuf,
    exclude: Patterns,
    copy: Patterns,
    seed: Patterns,
    template: Patterns,
}

/// A module's walk, if it is active here and its target and source are
/// usable (else it is recorded as inactive, or its problem as an error).
fn module_job<'a>(
    m: &'a Module,
    reg: &Registry,
    env: &Env,
    host: &Host,
    (profile, profile_c): (&Path, &Path),
    out: &mut Desired,
    errors: &mut Vec<Diagnostic>,
) -> Result<Option<Job<'a>>> {
    if !m.enabled {
        out.inactive.push((m.name.clone(), "disabled".into()));
        return Ok(None);
    }
    if let Some(hosts) = &m.hosts {
        if !hosts.iter().any(|h| host.matches(h)) {
            out.inactive.push((
                m.name.clone(),
                format!(
                    "hosts [{}] do not name this machine, {}",
                    hosts.join(", "),
                    host.describe()
                ),
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
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let msg = format!(
                "source '{}' of module '{}' does not exist (looked for {})",
                m.source.display(),
                m.name,
                src.display()
            );
            out.missing.push((
                m.name.clone(),
                Diagnostic::new(&reg.path, Some(m.source_pos), format!("modules.{}.source", m.name), msg)
                    .help(format!("restore it (e.g. `git -C {} checkout -- {}`), or `lumina remove {}` to unlink the module and restore what it replaced; `lumina add {} --adopt` moves an existing config in", profile.display(), m.source.display(), m.name, m.name)),
            ));
            return Ok(None);
        }
        Err(e) => {
            let msg = format!(
                "source '{}' of module '{}' is not accessible: {e}",
                m.source.display(),
                m.name
            );
            errors.push(
                Diagnostic::new(
                    &reg.path,
                    Some(m.source_pos),
                    format!("modules.{}.source", m.name),
                    msg,
                )
                .help("check the permissions of the source in the profile"),
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
    let exclude = Patterns::new(
        ALWAYS_EXCLUDED
            .iter()
            .copied()
            .chain(reg.exclude.iter().map(String::as_str))
            .chain(m.exclude.iter().map(String::as_str)),
    );
    let list = |l: &[String]| Patterns::new(l.iter().map(String::as_str));
    Ok(Some(Job {
        m,
        target,
        src,
        src_c,
        exclude,
        copy: list(&m.copy),
        seed: list(&m.seed),
        template: list(&m.template),
    }))
}

/// Submodule paths (relative to the profile) that `.gitmodules` declares.
fn submodule_paths(profile_c: &Path) -> HashSet<PathBuf> {
    let Ok(text) = std::fs::read_to_string(profile_c.join(".gitmodules")) else {
        return HashSet::new();
    };
    text.lines()
        .filter_map(|l| {
            let (k, v) = l.split_once('=')?;
            (k.trim() == "path").then(|| PathBuf::from(v.trim()))
        })
        .collect()
}

/// Walking is syscall-bound: the modules' trees are walked in parallel.
/// Each gives its files (relative to the source), warnings and the paths
/// whose stat the fast path watches.
#[allow(clippy::type_complexity)]
fn walk_sources(
    jobs: &[Job],
    profile_c: &Path,
    submodules: &HashSet<PathBuf>,
) -> Vec<(Vec<PathBuf>, Vec<String>, Vec<PathBuf>)> {
    super::par::map(jobs, |job| {
        let mut w = Walk {
            root: &job.src_c,
            exclude: &job.exclude,
            in_profile: job.src_c.strip_prefix(profile_c).ok(),
            submodules,
            files: Vec::new(),
            warnings: Vec::new(),
            watched: vec![job.src.clone()],
        };
        match std::fs::metadata(&job.src_c) {
            Ok(m) if m.is_dir() => w.dir(Path::new("")),
            Ok(m) if !m.is_file() => w.warnings.push(format!(
                "module '{}': skipping {}: {} cannot be linked",
                job.m.name,
                job.src.display(),
                special_kind(&m.file_type())
            )),
            _ => {
                if let Some(p) = job.src.parent() {
                    w.watched.push(p.to_path_buf());
                }
                w.files.push(PathBuf::new());
            }
        }
        (w.files, w.warnings, w.watched)
    })
}

/// What the entries of one module share.
struct EntryCx<'a> {
    reg: &'a Registry,
    job: &'a Job<'a>,
    entry_root: PathBuf,
    gen_base: PathBuf,
    reserved: &'a [PathBuf],
    templates: Option<&'a Templates>,
}

/// `zshrc` -> `.zshrc`, `config/nvim/x` -> `.config/nvim/x` (rcm layouts).
fn dotted(rel: &Path) -> PathBuf {
    let mut comps = rel.components();
    let Some(first) = comps.next() else {
        return PathBuf::new();
    };
    let first = first.as_os_str().to_string_lossy();
    let mut out = if first.starts_with('.') {
        PathBuf::from(first.as_ref())
    } else {
        PathBuf::from(format!(".{first}"))
    };
    let rest = comps.as_path();
    if !rest.as_os_str().is_empty() {
        out.push(rest);
    }
    out
}

/// One entry per file of a module (a file module is one entry).
fn entries_of(cx: &EntryCx, files: Vec<PathBuf>, out: &mut Desired, errors: &mut Vec<Diagnostic>) {
    let (reg, job) = (cx.reg, cx.job);
    let (m, target, src_c) = (job.m, &job.target, &job.src_c);
    let (entry_root, gen_base, reserved) = (&cx.entry_root, &cx.gen_base, cx.reserved);
    // The generation link's relative prefix is shared by every file of a
    // directory: compute it once per directory.
    let mut last_dir: Option<(PathBuf, PathBuf)> = None;
    let root: Arc<Path> = Arc::from(src_c.as_path());
    for rel in files {
        let (t, s, entry) = if rel.as_os_str().is_empty() {
            (target.clone(), src_c.clone(), entry_root.clone())
        } else {
            let at = if m.dot_prefix {
                dotted(&rel)
            } else {
                rel.clone()
            };
            (target.join(&at), src_c.join(&rel), entry_root.join(&at))
        };
        // Patterns see the path below the source (a file module: its name).
        let key = if rel.as_os_str().is_empty() {
            PathBuf::from(src_c.file_name().unwrap_or_default())
        } else {
            rel.clone()
        };
        let mode = if job.seed.matches(&key, false) {
            Mode::Seed
        } else if job.copy.matches(&key, false) {
            Mode::Copy
        } else {
            m.mode
        };
        let rendered = match (job.template.matches(&key, false), cx.templates) {
            (true, Some(tpl)) => match render(tpl, &s) {
                Ok(bytes) => {
                    out.templates
                        .push((s.clone(), crate::fingerprint::fnv(&bytes)));
                    Some(Arc::from(bytes))
                }
                Err(d) => {
                    errors.push(*d);
                    continue;
                }
            },
            _ => None,
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
            mode,
            on_conflict: m.on_conflict,
            rendered,
            source_root: root.clone(),
        });
    }
}

/// Renders one template; the error names the template file, its line and
/// the undefined name.
fn render(tpl: &Templates, src: &Path) -> std::result::Result<Vec<u8>, Box<Diagnostic>> {
    let text = std::fs::read_to_string(src).map_err(|e| {
        Box::new(Diagnostic::new(
            src,
            None,
            "",
            format!("cannot read the template: {e}"),
        ))
    })?;
    tpl.render(src, &text).map_err(|e| {
        Box::new(
            Diagnostic::new(
                src,
                e.line.map(|line| Pos { line, col: 1 }),
                "",
                format!("template error: {}", e.message),
            )
            .help(e.help),
        )
    })
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

/// One module's walk: the files below `root` (paths relative to it).
/// Symlinks are leaves, never descended into; a symlink that loops,
/// dangles, or points back to a directory containing it is reported and
/// skipped, and so are special files, empty directories and submodules
/// that are not checked out. Excluded paths are not read at all.
struct Walk<'a> {
    root: &'a Path,
    exclude: &'a Patterns,
    /// `root` relative to the profile (to recognise submodules).
    in_profile: Option<&'a Path>,
    submodules: &'a HashSet<PathBuf>,
    files: Vec<PathBuf>,
    warnings: Vec<String>,
    watched: Vec<PathBuf>,
}

impl Walk<'_> {
    fn dir(&mut self, rel: &Path) {
        let dir = self.root.join(rel);
        self.watched.push(dir.clone());
        let rd = match std::fs::read_dir(&dir) {
            Ok(rd) => rd,
            Err(e) => {
                self.warnings
                    .push(format!("cannot read {}: {e}; skipped", dir.display()));
                return;
            }
        };
        let mut names: Vec<_> = rd.filter_map(|e| e.ok()).collect();
        if names.is_empty() && !rel.as_os_str().is_empty() {
            self.empty_dir(rel, &dir);
            return;
        }
        names.sort_by_key(|e| e.file_name());
        for e in names {
            let child = rel.join(e.file_name());
            let Ok(ft) = e.file_type() else { continue };
            if self.exclude.matches(&child, ft.is_dir()) {
                continue;
            }
            if ft.is_dir() {
                self.dir(&child);
            } else if ft.is_symlink() {
                self.symlink(&dir, child);
            } else if ft.is_file() {
                self.files.push(child);
            } else {
                self.warnings.push(format!(
                    "skipping {}: {} cannot be linked",
                    self.root.join(&child).display(),
                    special_kind(&ft)
                ));
            }
        }
    }

    fn empty_dir(&mut self, rel: &Path, dir: &Path) {
        let submodule = self
            .in_profile
            .is_some_and(|p| self.submodules.contains(&p.join(rel)));
        self.warnings.push(if submodule {
            format!(
                "skipping {}: a git submodule that is not checked out; run `git submodule update --init` in the profile",
                dir.display()
            )
        } else {
            format!(
                "skipping {}: an empty directory (lumina links files; put a file in it, or exclude it)",
                dir.display()
            )
        });
    }

    fn symlink(&mut self, dir: &Path, child: PathBuf) {
        let full = self.root.join(&child);
        self.watched.push(full.clone());
        match std::fs::canonicalize(&full) {
            Err(err) if err.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) => {
                self.warnings
                    .push(format!("skipping {}: symlink loop", full.display()));
            }
            Err(_) => self
                .warnings
                .push(format!("skipping {}: dangling symlink", full.display())),
            Ok(to) => {
                if to.is_dir() && dir.starts_with(&to) {
                    self.warnings.push(format!(
                        "skipping {}: links back to {}, which contains it (a loop)",
                        full.display(),
                        to.display()
                    ));
                } else {
                    self.files.push(child);
                }
            }
        }
    }
}

/// What a special file is, in words.
fn special_kind(ft: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if ft.is_fifo() {
        "a FIFO"
    } else if ft.is_socket() {
        "a socket"
    } else if ft.is_block_device() || ft.is_char_device() {
        "a device"
    } else {
        "a special file"
    }
}
