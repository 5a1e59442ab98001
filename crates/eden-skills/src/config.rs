//! `skills.toml`: reading, validation with exact field paths and codes
//! (docs/eden-skills/config.md), and the normalized form `config export` prints.

use std::fmt;
use std::path::{Path, PathBuf};

use toml::Value;

use crate::{agents, normalize_subpath, repo_kind, unsafe_url, valid_id, valid_subpath, RepoKind};

pub const DEFAULT_CONCURRENCY: usize = 10;
pub const DEFAULT_STORAGE_ROOT: &str = "~/.eden-skills/skills";
pub const DEFAULT_REGISTRIES_ROOT: &str = "~/.eden-skills/registries";

/// `local` or `docker:<container>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Environment {
    Local,
    Docker(String),
}

impl Environment {
    pub fn parse(s: &str) -> Option<Environment> {
        if s == "local" {
            return Some(Environment::Local);
        }
        let name = s.strip_prefix("docker:")?;
        (!name.is_empty() && !name.chars().any(|c| c.is_control() || c.is_whitespace()))
            .then(|| Environment::Docker(name.to_string()))
    }

    pub fn is_local(&self) -> bool {
        matches!(self, Environment::Local)
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Environment::Local => f.write_str("local"),
            Environment::Docker(c) => write!(f, "docker:{c}"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InstallMode {
    Symlink,
    Copy,
}

impl InstallMode {
    pub fn as_str(self) -> &'static str {
        match self {
            InstallMode::Symlink => "symlink",
            InstallMode::Copy => "copy",
        }
    }
    pub fn parse(s: &str) -> Option<InstallMode> {
        match s {
            "symlink" => Some(InstallMode::Symlink),
            "copy" => Some(InstallMode::Copy),
            _ => None,
        }
    }
    pub fn default_checks(self) -> Vec<String> {
        let v: &[&str] = match self {
            InstallMode::Symlink => &["path-exists", "target-resolves", "is-symlink"],
            InstallMode::Copy => &["path-exists", "content-present"],
        };
        v.iter().map(|s| s.to_string()).collect()
    }
}

pub const CHECKS: &[&str] = &[
    "path-exists",
    "target-resolves",
    "is-symlink",
    "content-present",
];

/// Where a skill comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Mode A: a git repository or a local directory (`repo` absolute/`~`).
    Repo {
        repo: String,
        git_ref: String,
        subpath: String,
    },
    /// Mode B: a named, versioned skill from a registry.
    Registry {
        version: String,
        registry: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub agent: String,
    pub path: Option<String>,
    pub expected_path: Option<String>,
    pub environment: Environment,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skill {
    pub id: String,
    pub source: Source,
    pub mode: InstallMode,
    pub targets: Vec<Target>,
    /// The `target = "..."` shorthand (docs/eden-skills/config.md), when the entry used it.
    pub shorthand: Option<String>,
    pub verify_enabled: bool,
    pub verify_checks: Vec<String>,
    pub metadata_only: bool,
}

impl Skill {
    pub fn is_local_dir(&self) -> bool {
        matches!(&self.source, Source::Repo { repo, .. } if repo_kind(repo) == Some(RepoKind::LocalDir))
    }
    pub fn is_registry(&self) -> bool {
        matches!(self.source, Source::Registry { .. })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registry {
    pub name: String,
    pub url: String,
    pub priority: i64,
}

/// A validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub path: PathBuf,
    pub dir: PathBuf,
    pub home: PathBuf,
    pub storage_root_raw: Option<String>,
    pub storage_root: PathBuf,
    pub registries_root_raw: Option<String>,
    pub registries_root: PathBuf,
    pub concurrency: Option<usize>,
    pub registries: Vec<Registry>,
    pub skills: Vec<Skill>,
    /// Unknown keys and similar: printed as `warning:`; fatal with `--strict`.
    pub warnings: Vec<String>,
}

/// One validation problem: `<CODE>: <field>: <detail>` or `<field>: <detail>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    pub code: Option<&'static str>,
    pub field: String,
    pub detail: String,
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.code {
            Some(c) => write!(f, "{c}: {}: {}", self.field, self.detail),
            None => write!(f, "{}: {}", self.field, self.detail),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("config not found: {0}")]
    NotFound(PathBuf),
    #[error("cannot read config {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid config: {}", .0.iter().map(|i| i.to_string()).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<Issue>),
}

/// The lock path beside a config: `x.toml` → `x.lock`, else `.lock` appended.
pub fn lock_path(config: &Path) -> PathBuf {
    let name = config
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let lock = match name.strip_suffix(".toml") {
        Some(stem) => format!("{stem}.lock"),
        None => format!("{name}.lock"),
    };
    config.with_file_name(lock)
}

/// Resolve a config path argument (or the default) against `home`.
pub fn config_path(arg: Option<&Path>, home: &Path) -> PathBuf {
    match arg {
        Some(p) => {
            let s = p.to_string_lossy();
            let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
            crate::fsutil::resolve_path(&s, home, &cwd)
        }
        None => home.join(".eden-skills/skills.toml"),
    }
}

impl Config {
    pub fn load(path: &Path, home: &Path) -> Result<Config, LoadError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(LoadError::NotFound(path.to_path_buf()))
            }
            Err(source) => {
                return Err(LoadError::Io {
                    path: path.to_path_buf(),
                    source,
                })
            }
        };
        Config::parse(&text, path, home)
    }

    pub fn parse(text: &str, path: &Path, home: &Path) -> Result<Config, LoadError> {
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            LoadError::Invalid(vec![Issue {
                code: None,
                field: "root".into(),
                detail: format!("invalid toml: {}", one_line(&e.to_string())),
            }])
        })?;
        let dir = path.parent().unwrap_or(Path::new("/")).to_path_buf();
        let mut v = Validator::default();
        let cfg = v.config(&table, path, &dir, home);
        if v.issues.is_empty() {
            let mut cfg = cfg.expect("a config without issues is complete");
            cfg.warnings = v.warnings;
            Ok(cfg)
        } else {
            Err(LoadError::Invalid(v.issues))
        }
    }

    pub fn lock_path(&self) -> PathBuf {
        lock_path(&self.path)
    }

    pub fn skill(&self, id: &str) -> Option<&Skill> {
        self.skills.iter().find(|s| s.id == id)
    }

    /// Effective concurrency (docs/eden-skills/behaviour.md#concurrency) given the flag and the
    /// environment variable's raw values.
    pub fn concurrency(&self, flag: Option<&str>, env: Option<&str>) -> Result<usize, Issue> {
        if let Some(f) = flag {
            return parse_concurrency(f, "--concurrency");
        }
        if let Some(e) = env.filter(|e| !e.is_empty()) {
            return parse_concurrency(e, "EDEN_SKILLS_CONCURRENCY");
        }
        Ok(self.concurrency.unwrap_or(DEFAULT_CONCURRENCY))
    }

    /// A target's root: `path`, else `expected_path`, else the agent default.
    /// Local roots are absolute; docker roots keep a leading `~` (the
    /// container user's home, expanded by the adapter).
    pub fn target_root(&self, t: &Target) -> String {
        let raw = t
            .path
            .as_deref()
            .or(t.expected_path.as_deref())
            .or_else(|| agents::default_root(&t.agent))
            .unwrap_or("~");
        match t.environment {
            Environment::Local => crate::fsutil::resolve_path(raw, &self.home, &self.dir)
                .to_string_lossy()
                .into_owned(),
            Environment::Docker(_) => raw.to_string(),
        }
    }

    /// A local directory source resolved to an absolute path.
    pub fn local_dir(&self, repo: &str) -> PathBuf {
        crate::fsutil::resolve_path(repo, &self.home, &self.dir)
    }

    /// The directory a local source's skill is read from (`repo/subpath`).
    pub fn local_skill_dir(&self, repo: &str, subpath: &str) -> PathBuf {
        let root = self.local_dir(repo);
        if subpath == "." {
            root
        } else {
            root.join(subpath)
        }
    }
}

pub fn parse_concurrency(raw: &str, field: &str) -> Result<usize, Issue> {
    match raw.trim().parse::<i64>() {
        Ok(n) if (1..=100).contains(&n) => Ok(n as usize),
        _ => Err(Issue {
            code: Some("INVALID_CONCURRENCY"),
            field: field.to_string(),
            detail: format!("expected an integer in 1..=100, got `{raw}`"),
        }),
    }
}

fn one_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('|') && *l != "^")
        .collect::<Vec<_>>()
        .join(" ")
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::String(_) => "a string",
        Value::Integer(_) => "an integer",
        Value::Float(_) => "a float",
        Value::Boolean(_) => "a boolean",
        Value::Datetime(_) => "a datetime",
        Value::Array(_) => "an array",
        Value::Table(_) => "a table",
    }
}

#[derive(Default)]
struct Validator {
    issues: Vec<Issue>,
    warnings: Vec<String>,
}

impl Validator {
    fn err(
        &mut self,
        code: Option<&'static str>,
        field: impl Into<String>,
        detail: impl Into<String>,
    ) {
        self.issues.push(Issue {
            code,
            field: field.into(),
            detail: detail.into(),
        });
    }

    fn string<'a>(&mut self, t: &'a toml::Table, key: &str, field: &str) -> Option<&'a str> {
        match t.get(key) {
            None => None,
            Some(Value::String(s)) => Some(s),
            Some(other) => {
                self.err(
                    None,
                    field,
                    format!("expected a string, got {}", type_name(other)),
                );
                None
            }
        }
    }

    fn table<'a>(&mut self, t: &'a toml::Table, key: &str, field: &str) -> Option<&'a toml::Table> {
        match t.get(key) {
            None => None,
            Some(Value::Table(s)) => Some(s),
            Some(other) => {
                self.err(
                    None,
                    field,
                    format!("expected a table, got {}", type_name(other)),
                );
                None
            }
        }
    }

    /// Unknown keys inside `source`, `install`, `targets` and `verify`:
    /// a typo there changes what gets installed, so it is an error.
    fn invalid_keys(&mut self, t: &toml::Table, known: &[&str], prefix: &str) {
        for k in t.keys() {
            if !known.contains(&k.as_str()) {
                let hint = match crate::did_you_mean(k, known.iter().copied()) {
                    Some(m) => format!("; did you mean `{m}`?"),
                    None => format!("; expected one of: {}", known.join(", ")),
                };
                self.err(
                    Some("INVALID_KEY"),
                    format!("{prefix}{k}"),
                    format!("unknown key{hint}"),
                );
            }
        }
    }

    fn unknown_keys(&mut self, t: &toml::Table, known: &[&str], prefix: &str) {
        for k in t.keys() {
            if !known.contains(&k.as_str()) {
                self.warnings.push(format!("unknown key `{prefix}{k}`"));
            }
        }
    }

    fn config(&mut self, t: &toml::Table, path: &Path, dir: &Path, home: &Path) -> Option<Config> {
        match t.get("version") {
            None => self.err(None, "version", "missing required field"),
            Some(Value::Integer(1)) => {}
            Some(Value::Integer(n)) => self.err(None, "version", format!("expected 1, got {n}")),
            Some(other) => self.err(
                None,
                "version",
                format!("expected 1, got {}", type_name(other)),
            ),
        }
        for k in t.keys() {
            if !["version", "storage", "reactor", "registries", "skills"].contains(&k.as_str()) {
                self.warnings.push(format!("unknown top-level key `{k}`"));
            }
        }
        let mut storage_root_raw = None;
        let mut registries_root_raw = None;
        if let Some(s) = self.table(t, "storage", "storage") {
            storage_root_raw = self.string(s, "root", "storage.root").map(String::from);
            registries_root_raw = self
                .string(s, "registries_root", "storage.registries_root")
                .map(String::from);
            self.unknown_keys(s, &["root", "registries_root"], "storage.");
        }
        let mut concurrency = None;
        if let Some(r) = self.table(t, "reactor", "reactor") {
            match r.get("concurrency") {
                None => {}
                Some(Value::Integer(n)) if (1..=100).contains(n) => concurrency = Some(*n as usize),
                Some(v) => self.err(
                    Some("INVALID_CONCURRENCY"),
                    "reactor.concurrency",
                    format!("expected an integer in 1..=100, got {v}"),
                ),
            }
            self.unknown_keys(r, &["concurrency"], "reactor.");
        }
        let registries = self.registries(t);
        let skills = self.skills(t, &registries);
        let mut seen: Vec<&str> = Vec::new();
        for (i, s) in skills.iter().enumerate() {
            if seen.contains(&s.id.as_str()) {
                self.err(
                    Some("DUPLICATE_SKILL_ID"),
                    format!("skills[{i}].id"),
                    format!("skill id `{}` is used by an earlier entry", s.id),
                );
            }
            seen.push(&s.id);
        }
        if !self.issues.is_empty() {
            return None;
        }
        let storage_root = crate::fsutil::resolve_path(
            storage_root_raw.as_deref().unwrap_or(DEFAULT_STORAGE_ROOT),
            home,
            dir,
        );
        let registries_root = crate::fsutil::resolve_path(
            registries_root_raw
                .as_deref()
                .unwrap_or(DEFAULT_REGISTRIES_ROOT),
            home,
            dir,
        );
        Some(Config {
            path: path.to_path_buf(),
            dir: dir.to_path_buf(),
            home: home.to_path_buf(),
            storage_root_raw,
            storage_root,
            registries_root_raw,
            registries_root,
            concurrency,
            registries,
            skills,
            warnings: Vec::new(),
        })
    }

    /// `[registries]`: name = { url, priority }.
    fn registries(&mut self, t: &toml::Table) -> Vec<Registry> {
        let mut registries = Vec::new();
        if let Some(regs) = self.table(t, "registries", "registries") {
            for (name, v) in regs {
                let field = format!("registries.{name}");
                if !valid_id(name) {
                    self.err(
                        Some("INVALID_SKILL_ID"),
                        &field,
                        "registry names match ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$",
                    );
                }
                let Value::Table(rt) = v else {
                    self.err(
                        None,
                        &field,
                        format!("expected a table, got {}", type_name(v)),
                    );
                    continue;
                };
                let url = match self.string(rt, "url", &format!("{field}.url")) {
                    Some(u) => {
                        self.repo_url(u, &format!("{field}.url"), false);
                        u.to_string()
                    }
                    None => {
                        if !rt.contains_key("url") {
                            self.err(None, format!("{field}.url"), "missing required field");
                        }
                        String::new()
                    }
                };
                let priority = match rt.get("priority") {
                    None => 0,
                    Some(Value::Integer(p)) if *p >= 0 => *p,
                    Some(other) => {
                        self.err(
                            None,
                            format!("{field}.priority"),
                            format!("expected an integer ≥ 0, got {other}"),
                        );
                        0
                    }
                };
                self.unknown_keys(
                    rt,
                    &["url", "priority", "auto_update"],
                    &format!("{field}."),
                );
                registries.push(Registry {
                    name: name.clone(),
                    url,
                    priority,
                });
            }
        }
        registries
    }

    /// `[[skills]]`, each validated alone.
    fn skills(&mut self, t: &toml::Table, registries: &[Registry]) -> Vec<Skill> {
        let mut skills = Vec::new();
        match t.get("skills") {
            None => {}
            Some(Value::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    let field = format!("skills[{i}]");
                    match item {
                        Value::Table(st) => {
                            if let Some(s) =
                                self.skill(st, &field, t.contains_key("registries"), registries)
                            {
                                skills.push(s);
                            }
                        }
                        other => self.err(
                            None,
                            &field,
                            format!("expected a table, got {}", type_name(other)),
                        ),
                    }
                }
            }
            Some(other) => self.err(
                None,
                "skills",
                format!("expected an array of tables, got {}", type_name(other)),
            ),
        }
        skills
    }

    /// Checks a repository URL; `true` when usable.
    fn repo_url(&mut self, url: &str, field: &str, allow_local: bool) -> bool {
        if unsafe_url(url) {
            self.err(
                Some("UNSAFE_REPO_URL"),
                field,
                "refused: leading '-', remote-helper syntax (`<scheme>::`) or control characters",
            );
            return false;
        }
        match repo_kind(url) {
            Some(RepoKind::Git) => true,
            Some(RepoKind::LocalDir) if allow_local => true,
            _ => {
                self.err(
                    Some("INVALID_REPO_URL"),
                    field,
                    format!("`{url}` is not https://, http://, ssh://, git://, file://, user@host:path or an absolute path"),
                );
                false
            }
        }
    }

    fn skill(
        &mut self,
        st: &toml::Table,
        field: &str,
        has_registries: bool,
        registries: &[Registry],
    ) -> Option<Skill> {
        let before = self.issues.len();
        self.unknown_keys(
            st,
            &[
                "id", "source", "name", "version", "registry", "install", "targets", "target",
                "verify", "safety",
            ],
            &format!("{field}."),
        );
        let has_name = st.contains_key("name");
        let mode_a_keys = st.contains_key("id") || st.contains_key("source");
        let mode_b_keys = st.contains_key("version") || st.contains_key("registry");
        let mut id = String::new();
        let mut source = None;
        if has_name && mode_a_keys {
            self.err(
                Some("INVALID_SKILL_MODE"),
                field,
                "`name` (registry mode) cannot be combined with `id` or `source`",
            );
        } else if !has_name && mode_b_keys {
            self.err(
                Some("INVALID_SKILL_MODE"),
                field,
                "`version` and `registry` need `name` (registry mode)",
            );
        } else if has_name {
            source = self.registry_entry(st, field, has_registries, registries, &mut id);
        } else {
            source = self.repo_entry(st, field, &mut id);
        }
        let mode = self.install_mode(st, field);
        let (verify_enabled, verify_checks) = self.verify(st, field, mode);
        let metadata_only = self.safety(st, field);
        let (targets, shorthand) = self.targets(st, field);
        if self.issues.len() > before {
            return None;
        }
        Some(Skill {
            id,
            source: source?,
            mode,
            targets,
            shorthand,
            verify_enabled,
            verify_checks,
            metadata_only,
        })
    }
    /// A registry entry (`name`, `version`, `registry`): its id and source.
    fn registry_entry(
        &mut self,
        st: &toml::Table,
        field: &str,
        has_registries: bool,
        registries: &[Registry],
        id: &mut String,
    ) -> Option<Source> {
        if let Some(n) = self.string(st, "name", &format!("{field}.name")) {
            if valid_id(n) {
                *id = n.to_string();
            } else {
                self.err(
                    Some("INVALID_SKILL_ID"),
                    format!("{field}.name"),
                    format!("`{n}` must match ^[A-Za-z0-9][A-Za-z0-9._-]{{0,127}}$"),
                );
            }
        }
        let version = self
            .string(st, "version", &format!("{field}.version"))
            .unwrap_or("*")
            .to_string();
        if semver::VersionReq::parse(&version).is_err() {
            self.err(Some("INVALID_SEMVER"), format!("{field}.version"), format!("`{version}` is not a version requirement (e.g. 1.2.0, =1.2.0, ~1.2, >=1.0, <2, *)"));
        }
        let registry = self
            .string(st, "registry", &format!("{field}.registry"))
            .map(String::from);
        if !has_registries {
            self.err(
                Some("MISSING_REGISTRIES"),
                field,
                "registry entries need a [registries] table",
            );
        } else if let Some(r) = &registry {
            if !registries.iter().any(|x| &x.name == r) {
                self.err(
                    Some("UNKNOWN_REGISTRY"),
                    format!("{field}.registry"),
                    format!("`{r}` is not a key of [registries]"),
                );
            }
        }
        Some(Source::Registry { version, registry })
    }

    /// A repository entry (`id`, `source = { repo, ref, subpath }`).
    fn repo_entry(&mut self, st: &toml::Table, field: &str, id: &mut String) -> Option<Source> {
        match st.get("id") {
            None => self.err(None, format!("{field}.id"), "missing required field"),
            Some(_) => {
                if let Some(i) = self.string(st, "id", &format!("{field}.id")) {
                    if valid_id(i) {
                        *id = i.to_string();
                    } else {
                        self.err(
                            Some("INVALID_SKILL_ID"),
                            format!("{field}.id"),
                            format!("`{i}` must match ^[A-Za-z0-9][A-Za-z0-9._-]{{0,127}}$"),
                        );
                    }
                }
            }
        }
        match st.get("source") {
            None => {
                self.err(None, format!("{field}.source"), "missing required field");
                None
            }
            Some(Value::Table(src)) => {
                let sf = format!("{field}.source");
                self.invalid_keys(src, &["repo", "ref", "subpath"], &format!("{sf}."));
                let repo = match src.get("repo") {
                    None => {
                        self.err(None, format!("{sf}.repo"), "missing required field");
                        None
                    }
                    Some(_) => self.string(src, "repo", &format!("{sf}.repo")),
                };
                if let Some(r) = repo {
                    self.repo_url(r, &format!("{sf}.repo"), true);
                }
                let git_ref = self
                    .string(src, "ref", &format!("{sf}.ref"))
                    .unwrap_or("main");
                if git_ref.is_empty()
                    || git_ref.starts_with('-')
                    || git_ref.chars().any(|c| c.is_control() || c.is_whitespace())
                {
                    self.err(
                        None,
                        format!("{sf}.ref"),
                        format!("`{git_ref}` is not a usable git ref"),
                    );
                }
                let subpath = self
                    .string(src, "subpath", &format!("{sf}.subpath"))
                    .unwrap_or(".");
                if !valid_subpath(subpath) {
                    self.err(
                        Some("INVALID_SUBPATH"),
                        format!("{sf}.subpath"),
                        format!("`{subpath}` must be relative, without `..` or backslashes"),
                    );
                }
                Some(Source::Repo {
                    repo: repo.unwrap_or_default().to_string(),
                    git_ref: git_ref.to_string(),
                    subpath: normalize_subpath(subpath),
                })
            }
            Some(other) => {
                self.err(
                    None,
                    format!("{field}.source"),
                    format!("expected a table, got {}", type_name(other)),
                );
                None
            }
        }
    }

    /// `install = { mode }`.
    fn install_mode(&mut self, st: &toml::Table, field: &str) -> InstallMode {
        let mut mode = InstallMode::Symlink;
        if let Some(inst) = self.table(st, "install", &format!("{field}.install")) {
            self.invalid_keys(inst, &["mode"], &format!("{field}.install."));
            if let Some(m) = self.string(inst, "mode", &format!("{field}.install.mode")) {
                match InstallMode::parse(m) {
                    Some(x) => mode = x,
                    None => self.err(
                        None,
                        format!("{field}.install.mode"),
                        format!("expected `symlink` or `copy`, got `{m}`"),
                    ),
                }
            }
        }
        mode
    }

    /// `verify = { enabled, checks }`, with the mode's default checks.
    fn verify(&mut self, st: &toml::Table, field: &str, mode: InstallMode) -> (bool, Vec<String>) {
        let mut verify_enabled = true;
        let mut verify_checks = mode.default_checks();
        if let Some(vt) = self.table(st, "verify", &format!("{field}.verify")) {
            self.invalid_keys(vt, &["enabled", "checks"], &format!("{field}.verify."));
            match vt.get("enabled") {
                None => {}
                Some(Value::Boolean(b)) => verify_enabled = *b,
                Some(o) => self.err(
                    None,
                    format!("{field}.verify.enabled"),
                    format!("expected a boolean, got {}", type_name(o)),
                ),
            }
            match vt.get("checks") {
                None => {}
                Some(Value::Array(a)) => {
                    verify_checks.clear();
                    for (k, c) in a.iter().enumerate() {
                        match c.as_str() {
                            Some(name) if CHECKS.contains(&name) => {
                                verify_checks.push(name.to_string())
                            }
                            _ => self.err(
                                None,
                                format!("{field}.verify.checks[{k}]"),
                                format!("unknown check {c}; expected one of {}", CHECKS.join(", ")),
                            ),
                        }
                    }
                    if verify_enabled && a.is_empty() {
                        self.err(
                            None,
                            format!("{field}.verify.checks"),
                            "must not be empty when verify.enabled=true",
                        );
                    }
                }
                Some(o) => self.err(
                    None,
                    format!("{field}.verify.checks"),
                    format!("expected an array, got {}", type_name(o)),
                ),
            }
        }
        (verify_enabled, verify_checks)
    }

    /// `safety = { no_exec_metadata_only }`.
    fn safety(&mut self, st: &toml::Table, field: &str) -> bool {
        let mut metadata_only = false;
        if let Some(s) = self.table(st, "safety", &format!("{field}.safety")) {
            self.unknown_keys(s, &["no_exec_metadata_only"], &format!("{field}.safety."));
            match s.get("no_exec_metadata_only") {
                None => {}
                Some(Value::Boolean(b)) => metadata_only = *b,
                Some(o) => self.err(
                    None,
                    format!("{field}.safety.no_exec_metadata_only"),
                    format!("expected a boolean, got {}", type_name(o)),
                ),
            }
        }
        metadata_only
    }

    /// `target = "local" | "docker:<c>"` (the shorthand) or the
    /// `[[skills.targets]]` list.
    fn targets(&mut self, st: &toml::Table, field: &str) -> (Vec<Target>, Option<String>) {
        let mut targets = Vec::new();
        let mut shorthand = None;
        let has_list = st.contains_key("targets");
        if let Some(tv) = st.get("target") {
            match tv.as_str() {
                Some(s) if has_list => {
                    let _ = s;
                    self.err(
                        Some("CONFLICTING_TARGETS"),
                        format!("{field}.target"),
                        "use either `target = ...` or [[skills.targets]], not both",
                    );
                }
                Some(s) => match Environment::parse(s) {
                    Some(env) => {
                        shorthand = Some(s.to_string());
                        targets.push(Target {
                            agent: "claude-code".into(),
                            path: None,
                            expected_path: None,
                            environment: env,
                        });
                    }
                    None => self.err(
                        Some("INVALID_ENVIRONMENT"),
                        format!("{field}.target"),
                        format!("`{s}` is not `local` or `docker:<container>`"),
                    ),
                },
                None => self.err(
                    None,
                    format!("{field}.target"),
                    format!("expected a string, got {}", type_name(tv)),
                ),
            }
        }
        match st.get("targets") {
            None => {}
            Some(Value::Array(items)) => {
                for (j, item) in items.iter().enumerate() {
                    let tf = format!("{field}.targets[{j}]");
                    if let Some(t) = self.target(item, &tf) {
                        targets.push(t);
                    }
                }
                if items.is_empty() {
                    self.err(
                        None,
                        format!("{field}.targets"),
                        "must contain at least one target",
                    );
                }
            }
            Some(other) => self.err(
                None,
                format!("{field}.targets"),
                format!("expected an array of tables, got {}", type_name(other)),
            ),
        }
        if !has_list && !st.contains_key("target") {
            self.err(
                None,
                format!("{field}.targets"),
                "must contain at least one target",
            );
        }
        (targets, shorthand)
    }

    /// One `[[skills.targets]]` item.
    fn target(&mut self, item: &Value, tf: &str) -> Option<Target> {
        let Value::Table(tt) = item else {
            self.err(
                None,
                tf,
                format!("expected a table, got {}", type_name(item)),
            );
            return None;
        };
        self.invalid_keys(
            tt,
            &["agent", "path", "expected_path", "environment"],
            &format!("{tf}."),
        );
        let agent = match tt.get("agent") {
            None => {
                self.err(None, format!("{tf}.agent"), "missing required field");
                return None;
            }
            Some(_) => match self.string(tt, "agent", &format!("{tf}.agent")) {
                Some(a) => a.to_string(),
                None => return None,
            },
        };
        if !agents::is_known(&agent) {
            self.err(
                None,
                format!("{tf}.agent"),
                format!(
                    "unknown agent `{agent}`; known: {}",
                    agents::all_names().join(", ")
                ),
            );
        }
        let path = self
            .string(tt, "path", &format!("{tf}.path"))
            .map(String::from);
        let expected_path = self
            .string(tt, "expected_path", &format!("{tf}.expected_path"))
            .map(String::from);
        if agent == "custom" && path.is_none() {
            self.err(None, format!("{tf}.path"), "required when agent=custom");
        }
        for (p, name) in [(&path, "path"), (&expected_path, "expected_path")] {
            if let Some(p) = p {
                if p.is_empty() || p.chars().any(char::is_control) {
                    self.err(None, format!("{tf}.{name}"), "must be a non-empty path");
                }
            }
        }
        let environment = match self.string(tt, "environment", &format!("{tf}.environment")) {
            None => Environment::Local,
            Some(e) => match Environment::parse(e) {
                Some(env) => env,
                None => {
                    self.err(
                        Some("INVALID_ENVIRONMENT"),
                        format!("{tf}.environment"),
                        format!("`{e}` is not `local` or `docker:<container>`"),
                    );
                    Environment::Local
                }
            },
        };
        Some(Target {
            agent,
            path,
            expected_path,
            environment,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, LoadError> {
        Config::parse(text, Path::new("/cfg/skills.toml"), Path::new("/home/u"))
    }

    fn issues(text: &str) -> Vec<String> {
        match parse(text) {
            Err(LoadError::Invalid(v)) => v.iter().map(|i| i.to_string()).collect(),
            Ok(_) => vec![],
            Err(e) => vec![e.to_string()],
        }
    }

    #[test]
    fn inline_and_table_sources_are_the_same() {
        let a = parse("version = 1\n[[skills]]\nid = \"x\"\nsource = { repo = \"https://h/r.git\", subpath = \"a\" }\n[[skills.targets]]\nagent = \"claude-code\"\n").unwrap();
        let b = parse("version = 1\n[[skills]]\nid = \"x\"\n[skills.source]\nrepo = \"https://h/r.git\"\nsubpath = \"a\"\n[[skills.targets]]\nagent = \"claude-code\"\n").unwrap();
        assert_eq!(a.skills, b.skills);
        assert_eq!(
            a.target_root(&a.skills[0].targets[0]),
            "/home/u/.claude/skills"
        );
    }

    #[test]
    fn codes() {
        assert_eq!(issues("version = 2"), vec!["version: expected 1, got 2"]);
        let i = issues("version = 1\n[[skills]]\nid = \"../x\"\nsource = { repo = \"ext::sh -c x\", subpath = \"../y\" }\ntarget = \"nowhere\"\n");
        assert_eq!(
            i,
            vec![
                "INVALID_SKILL_ID: skills[0].id: `../x` must match ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$",
                "UNSAFE_REPO_URL: skills[0].source.repo: refused: leading '-', remote-helper syntax (`<scheme>::`) or control characters",
                "INVALID_SUBPATH: skills[0].source.subpath: `../y` must be relative, without `..` or backslashes",
                "INVALID_ENVIRONMENT: skills[0].target: `nowhere` is not `local` or `docker:<container>`",
            ]
        );
    }

    #[test]
    fn lock_path_naming() {
        assert_eq!(
            lock_path(Path::new("/a/skills.toml")),
            Path::new("/a/skills.lock")
        );
        assert_eq!(lock_path(Path::new("/a/conf")), Path::new("/a/conf.lock"));
    }
}
