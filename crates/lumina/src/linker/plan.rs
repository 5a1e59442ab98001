//! Planning: compare the desired entries with what is on disk and what the
//! state says lumina owns, and decide every change before touching anything.
//! Planning only reads (`readlink`, `lstat`, `access`).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::desired::Entry;
pub use super::layout::Layout;
use super::state::{Op, Owned, State};
use crate::error::{Error, Result};
use crate::fsops::digest;
use crate::paths::{relative, Canon, LinkAbove};
use crate::registry::{Mode, OnConflict};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Unchanged,
    Update,
    Conflict,
    Prune,
}

#[derive(Debug, Clone, Serialize)]
pub struct Item {
    pub module: String,
    pub target: PathBuf,
    pub action: Action,
    /// For conflicts: where the thing in the way goes, if anywhere.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backup: Option<PathBuf>,
    /// For prunes: the backup put back in place.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restore: Option<PathBuf>,
    /// What was found, or what policy applied, in words.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

#[derive(Debug, Default, Serialize)]
pub struct Plan {
    pub items: Vec<Item>,
    /// The generation to activate (new, or an existing one for undo).
    pub generation: u64,
    /// Whether a new generation directory must be staged.
    pub stage: bool,
    /// Whether the active generation changes.
    pub switch: bool,
    #[serde(skip)]
    pub ops: Vec<Op>,
    /// Conflicts that stop the run (policy abort or --strict).
    pub blocked: Vec<String>,
    /// Conflicts left in place (policy skip).
    pub skipped: Vec<String>,
    pub warnings: Vec<String>,
    #[serde(skip)]
    pub entries: Vec<Entry>,
    /// New ownership records, by target, for targets kept or taken.
    #[serde(skip)]
    pub owned_after: Vec<(PathBuf, Owned)>,
}

impl Plan {
    pub fn changes(&self) -> bool {
        self.stage || self.switch || !self.ops.is_empty()
    }

    pub fn count(&self, a: Action) -> usize {
        self.items.iter().filter(|i| i.action == a).count()
    }
}

pub struct Options<'a> {
    /// `$HOME` (lexical): a symlink to a directory on the way to a target
    /// below it is something in the way, never written through.
    pub home: &'a Path,
    pub strict: bool,
    /// Targets whose identical content may be dropped (`add --adopt`).
    pub adopt: &'a HashSet<PathBuf>,
    /// Activate this existing generation instead of staging a new one.
    pub reuse: Option<u64>,
}

/// Link texts for targets, memoised per target directory: every file in a
/// directory shares the same relative prefix to `active/`.
#[derive(Default)]
pub struct TargetLinks {
    canon: Canon,
    cache: HashMap<PathBuf, PathBuf>,
    last: Option<(PathBuf, PathBuf)>,
}

impl TargetLinks {
    /// Records that the plan creates directory `p` (so it is a real
    /// directory, and its canonical path needs no lookup).
    pub fn will_create(&mut self, p: &Path) {
        self.canon.will_create(p);
    }

    pub fn link(&mut self, layout: &Layout, target: &Path, entry: &Path) -> PathBuf {
        let parent = target.parent().unwrap_or(Path::new("/"));
        let name = target.file_name().unwrap_or_default();
        if let Some((p, prefix)) = &self.last {
            if p == parent {
                return prefix.join(name);
            }
        }
        let prefix = match self.cache.get(parent) {
            Some(p) => p.clone(),
            None => {
                let cp = self.canon.dir(parent);
                let dest = layout
                    .root_c
                    .join("active")
                    .join(entry.parent().unwrap_or(Path::new("")));
                let prefix = relative(&cp, &dest);
                self.cache.insert(parent.to_path_buf(), prefix.clone());
                prefix
            }
        };
        let out = prefix.join(name);
        self.last = Some((parent.to_path_buf(), prefix));
        out
    }
}

enum Found {
    Absent,
    Link(PathBuf),
    File,
    Dir,
    /// An ancestor on the way is not a directory.
    NotDir,
    /// A symlink to a directory where lumina needs a directory of its own.
    DirLink(PathBuf),
}

fn probe(p: &Path) -> std::io::Result<Found> {
    match std::fs::read_link(p) {
        Ok(t) => Ok(Found::Link(t)),
        Err(e) => match e.raw_os_error() {
            Some(c) if c == rustix::io::Errno::INVAL.raw_os_error() => {
                let m = std::fs::symlink_metadata(p)?;
                Ok(if m.is_dir() { Found::Dir } else { Found::File })
            }
            Some(c) if c == rustix::io::Errno::NOENT.raw_os_error() => Ok(Found::Absent),
            Some(c) if c == rustix::io::Errno::NOTDIR.raw_os_error() => Ok(Found::NotDir),
            _ => Err(e),
        },
    }
}

fn describe(f: &Found) -> String {
    match f {
        Found::Absent => "nothing".into(),
        Found::Link(_) => "a foreign symlink".into(),
        Found::File => "a file".into(),
        Found::Dir => "a directory".into(),
        Found::NotDir => "a file on the way".into(),
        Found::DirLink(t) => format!("a symlink to another directory ({})", t.display()),
    }
}

struct Planner<'a> {
    layout: &'a Layout,
    links: TargetLinks,
    plan: Plan,
    opts: &'a Options<'a>,
    /// Paths already claimed as backups or temporaries in this plan.
    claimed: HashSet<PathBuf>,
    /// Directories that exist (true) or will be created by this plan (false).
    dirs: HashMap<PathBuf, bool>,
    /// Directories to create and files to replace by directories, by depth.
    mkdirs: Vec<Op>,
    places: Vec<Op>,
    prunes: Vec<Op>,
    /// Directories whose writability must be checked.
    writes: HashSet<PathBuf>,
    /// Symlinked directories on the way, by path: whether the plan replaces
    /// them with a real directory (false: a conflict policy keeps them, and
    /// nothing is placed below them).
    dir_links: HashMap<PathBuf, bool>,
    /// For each directory checked, the symlinked directory between `$HOME`
    /// and it, if any.
    link_above: LinkAbove,
}

pub fn plan(
    entries: Vec<Entry>,
    state: &State,
    layout: &Layout,
    opts: &Options<'_>,
) -> Result<Plan> {
    // A run killed after publishing a generation but before journaling it
    // leaves a directory newer than `state.last`: never reuse its number.
    let generation = opts
        .reuse
        .unwrap_or_else(|| state.last.max(highest_generation(layout)) + 1);
    let mut p = Planner {
        layout,
        links: TargetLinks::default(),
        plan: Plan {
            generation,
            ..Plan::default()
        },
        opts,
        claimed: HashSet::new(),
        dirs: HashMap::new(),
        mkdirs: Vec::new(),
        places: Vec::new(),
        prunes: Vec::new(),
        writes: HashSet::new(),
        dir_links: HashMap::new(),
        link_above: LinkAbove::new(opts.home),
    };
    // The generation to compare against: the active one, or the one to reuse.
    let compare = opts.reuse.or(state.active);
    let mut stage = opts.reuse.is_none() && compare.is_none();
    let gen_dir = compare.map(|n| layout.generation(n));
    let desired: HashSet<&str> = entries.iter().filter_map(|e| e.target.to_str()).collect();
    // 1. Prunes: owned targets no longer desired.
    for (target, owned) in &state.owned {
        if desired.contains(target.as_str()) {
            continue;
        }
        stage = true;
        p.prune(Path::new(target), owned)?;
    }
    // 2. Desired entries.
    for e in &entries {
        let owned = e.target.to_str().and_then(|k| state.owned.get(k));
        if let Some(o) = owned {
            if o.source != e.source || o.mode != e.mode || o.entry != e.entry {
                stage = true;
            }
        } else {
            stage = true;
        }
        p.entry(e, owned)?;
    }
    if !stage && opts.reuse.is_none() {
        // Same targets, same sources: is the active generation laid out as
        // this one would be?
        if let Some(g) = &gen_dir {
            let items = super::genlayout::items(&entries, layout);
            stage = !super::genlayout::items_ok(g, &items, &entries);
        }
    }
    if opts.reuse.is_some() {
        stage = false;
    }
    if !stage {
        // Nothing new is staged: copies come from the generation that
        // stays (or becomes) active.
        if let Some(g) = &gen_dir {
            for op in p.places.iter_mut() {
                if let Op::Place {
                    copy_from: Some(c),
                    entry,
                    ..
                } = op
                {
                    *c = g.join(&*entry);
                }
            }
        }
    }
    // Writability, checked before anything changes.
    p.writes.insert(layout.root.clone());
    let mut to_check: Vec<_> = p
        .writes
        .iter()
        .filter(|d| p.dirs.get(*d) != Some(&false))
        .cloned()
        .collect();
    to_check.sort();
    for dir in to_check {
        let existing = nearest_existing(&dir);
        if rustix::fs::access(
            &existing,
            rustix::fs::Access::WRITE_OK | rustix::fs::Access::EXEC_OK,
        )
        .is_err()
        {
            return Err(Error::PermissionDenied { path: existing });
        }
    }
    let mut plan = p.plan;
    plan.stage = stage;
    plan.switch = stage || (opts.reuse.is_some() && opts.reuse != state.active);
    // Order: prunes (deepest first) and the directories they empty, then
    // (after the switch) directories shallow first, then placements.
    p.prunes.sort_by_key(|op| std::cmp::Reverse(op_depth(op)));
    let rmdirs = dirs_to_remove(state, &entries, &plan);
    p.mkdirs.sort_by_key(|op| match op {
        Op::Mkdir { path } => path.components().count(),
        Op::Place { target, .. } => target.components().count(),
        _ => 0,
    });
    let mut ops = p.prunes;
    ops.extend(rmdirs.into_iter().map(|path| {
        let restore = state.dir_backups.get(&super::state::key(&path)).cloned();
        Op::Rmdir { path, restore }
    }));
    ops.extend(p.mkdirs);
    ops.extend(p.places);
    plan.ops = ops;
    plan.entries = entries;
    Ok(plan)
}

fn op_depth(op: &Op) -> usize {
    match op {
        Op::Prune { target, .. } => target.components().count(),
        _ => 0,
    }
}

/// Directories lumina created that no remaining entry needs.
fn dirs_to_remove(state: &State, entries: &[Entry], plan: &Plan) -> Vec<PathBuf> {
    let pruned: Vec<&Path> = plan
        .items
        .iter()
        .filter(|i| i.action == Action::Prune)
        .map(|i| i.target.as_path())
        .collect();
    if pruned.is_empty() {
        return Vec::new();
    }
    // Directories on the way to a pruned target that lumina created and that
    // no remaining entry needs.
    let needed: HashSet<&Path> = entries
        .iter()
        .flat_map(|e| e.target.ancestors().skip(1))
        .collect();
    let mut out: Vec<PathBuf> = Vec::new();
    let mut seen: HashSet<&Path> = HashSet::new();
    for t in pruned {
        for d in t.ancestors().skip(1) {
            if !seen.insert(d) {
                break;
            }
            if !needed.contains(d) && d.to_str().is_some_and(|k| state.dirs.contains(k)) {
                out.push(d.to_path_buf());
            }
        }
    }
    out.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
    out
}

/// The highest generation number with a directory under `generations/`.
fn highest_generation(layout: &Layout) -> u64 {
    std::fs::read_dir(layout.generations())
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| e.file_name().to_str()?.parse::<u64>().ok())
                .max()
                .unwrap_or(0)
        })
        .unwrap_or(0)
}

/// The nearest ancestor of `p` (or `p`) that is an existing directory.
fn nearest_existing(p: &Path) -> PathBuf {
    let mut cur = p.to_path_buf();
    loop {
        if std::fs::metadata(&cur).map(|m| m.is_dir()).unwrap_or(false) {
            return cur;
        }
        if !cur.pop() {
            return PathBuf::from("/");
        }
    }
}

/// Whether the entry in an existing generation is what `e` wants.
pub fn generation_entry_ok(at: &Path, e: &Entry) -> bool {
    if e.rendered.is_none() && e.mode == Mode::Link {
        std::fs::read_link(at).ok().as_deref() == Some(e.gen_link.as_path())
    } else {
        e.same_content(at)
    }
}

impl Planner<'_> {
    fn item(
        &mut self,
        e_module: &str,
        target: &Path,
        action: Action,
        detail: impl Into<String>,
    ) -> &mut Item {
        self.plan.items.push(Item {
            module: e_module.to_string(),
            target: target.to_path_buf(),
            action,
            backup: None,
            restore: None,
            detail: detail.into(),
        });
        self.plan.items.last_mut().expect("just pushed")
    }

    /// A free name that no other op of this plan has claimed.
    fn free_name(&mut self, base: &Path, suffix: &str) -> PathBuf {
        let candidate = crate::paths::free_name(base, suffix, |c| self.claimed.contains(c));
        self.claimed.insert(candidate.clone());
        candidate
    }

    fn tmp_for(&mut self, target: &Path) -> PathBuf {
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let parent = target.parent().unwrap_or(Path::new("/"));
        let base = parent.join(format!(".{name}.lumina-{}", self.plan.generation));
        self.free_name(&base, "")
    }

    fn prune(&mut self, target: &Path, owned: &Owned) -> Result<()> {
        let found =
            probe(target).map_err(|e| Error::io(format!("inspecting {}", target.display()), e))?;
        let ours = match (&found, owned.mode) {
            (Found::Link(t), Mode::Link) => Some(t) == owned.link.as_ref(),
            (Found::File, m) if m.is_file() => {
                owned.digest.is_some() && digest(target) == owned.digest
            }
            _ => false,
        };
        let restore = owned
            .backup
            .clone()
            .filter(|b| std::fs::symlink_metadata(b).is_ok());
        if !ours {
            let detail = match found {
                Found::Absent => "already gone".to_string(),
                _ => format!(
                    "left in place: {} that lumina did not put there",
                    describe(&found)
                ),
            };
            let it = self.item(&owned.module, target, Action::Prune, detail);
            it.restore = None;
            if let Some(b) = &restore {
                self.plan.warnings.push(format!(
                    "{} was changed by hand; its backup stays at {}",
                    target.display(),
                    b.display()
                ));
            }
            return Ok(());
        }
        self.writes
            .insert(target.parent().unwrap_or(Path::new("/")).to_path_buf());
        let detail = if restore.is_some() {
            "removed; backup restored"
        } else {
            "removed"
        };
        let it = self.item(&owned.module, target, Action::Prune, detail);
        it.restore = restore.clone();
        let tmp = self.tmp_for(target);
        self.prunes.push(Op::Prune {
            tmp,
            target: target.to_path_buf(),
            link: owned.link.clone(),
            digest: owned.mode.is_file().then(|| owned.digest.clone()).flatten(),
            restore,
        });
        Ok(())
    }

    /// Makes sure the parent directories of `target` exist or are planned.
    /// A symlink to a directory on the way (below `$HOME`) is something in
    /// the way: the module's conflict policy decides, and a replaced one
    /// gets a real directory, never lumina's files written through it.
    /// Returns Ok(false) when a conflict on the way blocks this target.
    fn ensure_parents(&mut self, e: &Entry) -> Result<bool> {
        let mut missing = Vec::new();
        let mut cur = e.target.parent().map(Path::to_path_buf);
        while let Some(d) = cur {
            if self.dirs.contains_key(&d) {
                break;
            }
            // lstat first: a missing directory costs one call, and none
            // when the check for symlinks above already found it missing.
            let meta = if self.link_above.known_missing(&d) {
                Err(std::io::ErrorKind::NotFound.into())
            } else {
                std::fs::symlink_metadata(&d)
            };
            let found = match meta {
                Err(_) => None,
                Ok(m) if m.is_dir() => Some(true),
                Ok(m) if m.file_type().is_symlink() => {
                    if std::fs::metadata(&d).is_ok_and(|t| t.is_dir()) && self.below_home(&d) {
                        return self.through_dir_link(e, &d);
                    }
                    Some(std::fs::metadata(&d).map(|t| t.is_dir()).unwrap_or(false))
                }
                Ok(_) => Some(false),
            };
            match found {
                Some(true) => {
                    // An existing directory, but perhaps only through a
                    // symlinked directory further up.
                    if let Some(link) = self.link_above(&d) {
                        return self.through_dir_link(e, &link);
                    }
                    self.dirs.insert(d.clone(), true);
                    break;
                }
                Some(false) => {
                    // A file, or a symlink to one (or dangling), where a
                    // directory must be.
                    if !self.conflict(e, &d, Found::File, true)? {
                        return Ok(false);
                    }
                    self.dirs.insert(d.clone(), false);
                    self.links.will_create(&d);
                    break;
                }
                None => {
                    missing.push(d.clone());
                    cur = d.parent().map(Path::to_path_buf);
                }
            }
        }
        self.plan_mkdirs(missing);
        Ok(true)
    }

    fn plan_mkdirs(&mut self, missing: Vec<PathBuf>) {
        for d in missing.into_iter().rev() {
            self.writes
                .insert(d.parent().unwrap_or(Path::new("/")).to_path_buf());
            self.dirs.insert(d.clone(), false);
            self.links.will_create(&d);
            self.mkdirs.push(Op::Mkdir { path: d });
        }
    }

    fn below_home(&self, d: &Path) -> bool {
        self.link_above.below_home(d)
    }

    fn link_above(&mut self, d: &Path) -> Option<PathBuf> {
        self.link_above.find(d)
    }

    /// `e` lies below the symlinked directory `link`: the first time, the
    /// module's policy decides whether a real directory replaces it; the
    /// directories between it and the target are then planned as new.
    fn through_dir_link(&mut self, e: &Entry, link: &Path) -> Result<bool> {
        let replaced = match self.dir_links.get(link) {
            Some(r) => *r,
            None => {
                let text = std::fs::read_link(link).unwrap_or_default();
                let r = self.conflict(e, link, Found::DirLink(text), true)?;
                self.dir_links.insert(link.to_path_buf(), r);
                if r {
                    self.dirs.insert(link.to_path_buf(), false);
                    self.links.will_create(link);
                }
                r
            }
        };
        if !replaced {
            return Ok(false);
        }
        let mut missing = Vec::new();
        let mut cur = e.target.parent().map(Path::to_path_buf);
        while let Some(d) = cur {
            if d.as_path() == link || self.dirs.contains_key(&d) {
                break;
            }
            missing.push(d.clone());
            cur = d.parent().map(Path::to_path_buf);
        }
        self.plan_mkdirs(missing);
        Ok(true)
    }

    /// Handles something in the way of `e` at `at` (the target itself, or a
    /// directory on the way when `dir`). Returns whether it will be replaced.
    fn conflict(&mut self, e: &Entry, at: &Path, found: Found, dir: bool) -> Result<bool> {
        let what = describe(&found);
        let policy = if self.opts.strict {
            OnConflict::Abort
        } else {
            e.on_conflict
        };
        // `add --adopt`: the file (or symlink) in the way is the one just
        // copied into the profile.
        let adopt = self.opts.adopt.contains(at)
            && match &found {
                Found::File => e.same_content(at),
                Found::Link(t) => std::fs::read_link(&e.source).ok().as_ref() == Some(t),
                _ => false,
            };
        match policy {
            OnConflict::Abort if !adopt => {
                self.plan.blocked.push(format!(
                    "{} (module '{}'): {what} is in the way",
                    at.display(),
                    e.module
                ));
                self.item(
                    &e.module,
                    at,
                    Action::Conflict,
                    format!("{what} in the way; policy abort"),
                );
                Ok(false)
            }
            OnConflict::Skip if !adopt => {
                self.plan.skipped.push(format!(
                    "{} (module '{}'): {what} left in place",
                    at.display(),
                    e.module
                ));
                self.item(
                    &e.module,
                    at,
                    Action::Conflict,
                    format!("{what} in the way; skipped"),
                );
                Ok(false)
            }
            _ => {
                let backup = self.free_name(at, ".bak");
                let tmp = self.tmp_for(at);
                self.writes
                    .insert(at.parent().unwrap_or(Path::new("/")).to_path_buf());
                let detail = if adopt {
                    "adopted: identical to the profile copy, replaced by the link".to_string()
                } else {
                    format!(
                        "{what} in the way; moved to {}",
                        crate::paths::tilde(&backup)
                    )
                };
                let it = self.item(&e.module, at, Action::Conflict, detail);
                it.backup = (!adopt).then(|| backup.clone());
                if dir {
                    self.mkdirs.push(Op::Place {
                        target: at.to_path_buf(),
                        module: e.module.clone(),
                        entry: PathBuf::new(),
                        source: PathBuf::new(),
                        mode: Mode::Link,
                        link: None,
                        copy_from: None,
                        tmp,
                        backup: Some(backup),
                        dir: true,
                        drop_link: None,
                        drop_same: None,
                        drop_digest: None,
                        rendered: false,
                    });
                } else {
                    let drop_same = adopt.then(|| e.source.clone());
                    self.place(e, tmp, Some(backup), None, drop_same, None);
                }
                Ok(true)
            }
        }
    }

    fn place(
        &mut self,
        e: &Entry,
        tmp: PathBuf,
        backup: Option<PathBuf>,
        drop_link: Option<PathBuf>,
        drop_same: Option<PathBuf>,
        drop_digest: Option<String>,
    ) {
        let link =
            (e.mode == Mode::Link).then(|| self.links.link(self.layout, &e.target, &e.entry));
        let copy_from = e
            .mode
            .is_file()
            .then(|| self.layout.generation(self.plan.generation).join(&e.entry));
        self.writes
            .insert(e.target.parent().unwrap_or(Path::new("/")).to_path_buf());
        self.places.push(Op::Place {
            target: e.target.clone(),
            module: e.module.clone(),
            entry: e.entry.clone(),
            source: e.source.clone(),
            mode: e.mode,
            link,
            copy_from,
            tmp,
            backup,
            dir: false,
            drop_link,
            drop_same,
            drop_digest,
            rendered: e.rendered.is_some(),
        });
    }

    fn keep(&mut self, e: &Entry, link: Option<PathBuf>, owned: Option<&Owned>, since: u64) {
        let digest = match e.mode {
            Mode::Link => None,
            Mode::Copy => digest(&e.target),
            // A seeded file keeps the fingerprint of what was seeded: only
            // that content may ever be removed again.
            Mode::Seed => owned.and_then(|o| o.digest.clone()),
        };
        self.plan.owned_after.push((
            e.target.clone(),
            Owned {
                module: e.module.clone(),
                entry: e.entry.clone(),
                source: e.source.clone(),
                mode: e.mode,
                digest,
                link,
                backup: owned.and_then(|o| o.backup.clone()),
                since,
                rendered: e.rendered.is_some(),
            },
        ));
    }

    /// A new entry where nothing is (its parents already planned).
    fn create(&mut self, e: &Entry) {
        let detail = if e.mode == Mode::Seed { "seeded" } else { "" };
        self.item(&e.module, &e.target, Action::Create, detail);
        // A new link is made in place: symlink(2) is atomic. A copy is
        // prepared beside the target, then renamed.
        let tmp = if e.mode == Mode::Link {
            PathBuf::new()
        } else {
            self.tmp_for(&e.target)
        };
        self.place(e, tmp, None, None, None, None);
    }

    fn entry(&mut self, e: &Entry, owned: Option<&Owned>) -> Result<()> {
        // Below a symlinked directory, what the path shows is another
        // tree's: never look at it or write into it.
        if let Some(link) = e.target.parent().and_then(|p| self.link_above(p)) {
            if self.through_dir_link(e, &link)? {
                self.create(e);
            }
            return Ok(());
        }
        // Below a directory this plan creates nothing exists yet: no probe
        // (on a first deploy that is most targets).
        let fresh = e
            .target
            .ancestors()
            .skip(1)
            .find_map(|d| self.dirs.get(d).copied())
            == Some(false);
        let found = if fresh {
            Ok(Found::Absent)
        } else {
            probe(&e.target)
        };
        let found = found.map_err(|err| {
            if err.kind() == std::io::ErrorKind::PermissionDenied {
                Error::PermissionDenied {
                    path: e.target.parent().unwrap_or(Path::new("/")).to_path_buf(),
                }
            } else {
                Error::io(format!("inspecting {}", e.target.display()), err)
            }
        })?;
        let since = owned.map(|o| o.since).unwrap_or(self.plan.generation);
        let source_changed = owned
            .map(|o| o.source != e.source || o.mode != e.mode)
            .unwrap_or(false);
        match e.mode {
            Mode::Link => {
                // Only needed to compare with an existing link; for a new one
                // the parents are planned first (see ensure_parents).
                let want = match &found {
                    Found::Link(_) => self.links.link(self.layout, &e.target, &e.entry),
                    _ => PathBuf::new(),
                };
                match found {
                    Found::Link(t) if t == want => {
                        let (action, detail) = if source_changed {
                            (Action::Update, "now from a different source")
                        } else {
                            (Action::Unchanged, "")
                        };
                        self.item(&e.module, &e.target, action, detail);
                        self.keep(e, Some(want), owned, since);
                    }
                    Found::Link(t) if owned.and_then(|o| o.link.as_ref()) == Some(&t) => {
                        self.item(&e.module, &e.target, Action::Update, "link re-pointed");
                        let tmp = self.tmp_for(&e.target);
                        self.place(e, tmp, None, Some(t), None, None);
                    }
                    Found::File
                        if owned.is_some_and(|o| o.mode.is_file())
                            && self.owned_copy_intact(&e.target, owned) =>
                    {
                        self.item(
                            &e.module,
                            &e.target,
                            Action::Update,
                            "copy replaced by a link",
                        );
                        let tmp = self.tmp_for(&e.target);
                        let old = self.old_copy(owned);
                        self.place(e, tmp, None, None, None, old);
                    }
                    Found::Absent | Found::NotDir => {
                        if self.ensure_parents(e)? {
                            self.item(&e.module, &e.target, Action::Create, "");
                            // A new link is made in place: symlink(2) is atomic.
                            self.place(e, PathBuf::new(), None, None, None, None);
                        }
                    }
                    other => {
                        self.conflict(e, &e.target.clone(), other, false)?;
                    }
                }
            }
            Mode::Copy => match found {
                Found::File => {
                    let intact = self.owned_copy_intact(&e.target, owned);
                    if e.same_content(&e.target) {
                        let action = if source_changed {
                            Action::Update
                        } else {
                            Action::Unchanged
                        };
                        self.item(&e.module, &e.target, action, "");
                        self.keep(e, None, owned, since);
                    } else if intact {
                        self.item(&e.module, &e.target, Action::Update, "copy refreshed");
                        let tmp = self.tmp_for(&e.target);
                        let old = self.old_copy(owned);
                        self.place(e, tmp, None, None, None, old);
                    } else {
                        self.conflict(e, &e.target.clone(), Found::File, false)?;
                    }
                }
                Found::Link(t) if owned.and_then(|o| o.link.as_ref()) == Some(&t) => {
                    self.item(
                        &e.module,
                        &e.target,
                        Action::Update,
                        "link replaced by a copy",
                    );
                    let tmp = self.tmp_for(&e.target);
                    self.place(e, tmp, None, Some(t), None, None);
                }
                Found::Absent | Found::NotDir => {
                    if self.ensure_parents(e)? {
                        self.item(&e.module, &e.target, Action::Create, "");
                        let tmp = self.tmp_for(&e.target);
                        self.place(e, tmp, None, None, None, None);
                    }
                }
                other => {
                    self.conflict(e, &e.target.clone(), other, false)?;
                }
            },
            Mode::Seed => match found {
                Found::Absent | Found::NotDir => {
                    if self.ensure_parents(e)? {
                        self.item(&e.module, &e.target, Action::Create, "seeded");
                        let tmp = self.tmp_for(&e.target);
                        self.place(e, tmp, None, None, None, None);
                    }
                }
                Found::Link(t) if owned.and_then(|o| o.link.as_ref()) == Some(&t) => {
                    // lumina's own link (the module was `mode: link`): the
                    // seed replaces it once.
                    self.item(
                        &e.module,
                        &e.target,
                        Action::Update,
                        "link replaced by a seeded copy",
                    );
                    let tmp = self.tmp_for(&e.target);
                    self.place(e, tmp, None, Some(t), None, None);
                }
                _ if owned.is_some_and(|o| o.mode.is_file()) => {
                    // Seeded (or copied) before: from now on it belongs to
                    // whoever edits it.
                    self.item(&e.module, &e.target, Action::Unchanged, "");
                    self.keep(e, None, owned, since);
                }
                other => {
                    // Already there before lumina: a seed never replaces.
                    self.item(
                        &e.module,
                        &e.target,
                        Action::Unchanged,
                        format!("seed: {} already there, left as it is", describe(&other)),
                    );
                }
            },
        }
        Ok(())
    }

    /// The fingerprint of the copy lumina last wrote at an owned target.
    fn old_copy(&self, owned: Option<&Owned>) -> Option<String> {
        owned?.digest.clone()
    }

    /// Whether the copy at `target` is still exactly what lumina wrote.
    fn owned_copy_intact(&self, target: &Path, owned: Option<&Owned>) -> bool {
        let Some(o) = owned else { return false };
        o.mode == Mode::Copy && o.digest.is_some() && digest(target) == o.digest
    }
}
