//! Validation of a parsed `lumina.yaml`: every key of every section,
//! checked in one pass that collects each problem with its position, field
//! path and fix (errors), and unknown keys with the closest known one
//! (warnings).

use std::path::{Path, PathBuf};

use super::*;
use crate::error::Diagnostic;
use crate::yaml::{Kind, Node, Pos};

const TOP_KEYS: &[&str] = &[
    "version",
    "metadata",
    "modules",
    "orchestration",
    "packages",
    "flows",
    "exclude",
    "vars",
];
const META_KEYS: &[&str] = &["identity", "target", "description"];
const MODULE_KEYS: &[&str] = &[
    "source",
    "target",
    "enabled",
    "mode",
    "on_conflict",
    "hosts",
    "allow_outside_home",
    "exclude",
    "copy",
    "seed",
    "template",
    "dot_prefix",
    "run",
];
const MISSION_KEYS: &[&str] = &["path", "image", "env", "command", "shell"];
const FLOW_KEYS: &[&str] = &["markers", "layout", "workspace", "waybar", "mission"];

pub(super) struct Validator<'a> {
    pub(super) file: &'a Path,
    pub(super) errors: Vec<Diagnostic>,
    pub(super) warnings: Vec<Diagnostic>,
}

impl Validator<'_> {
    fn err(&mut self, pos: Pos, field: &str, msg: impl Into<String>, help: impl Into<String>) {
        self.errors
            .push(Diagnostic::new(self.file, Some(pos), field, msg).help(help));
    }

    fn unknown_keys(&mut self, node: &Node, known: &[&str], prefix: &str) {
        let Some(map) = node.as_map() else { return };
        for (k, _) in map {
            let name = k.as_str().unwrap_or("?");
            if !known.contains(&name) {
                let field = if prefix.is_empty() {
                    name.to_string()
                } else {
                    format!("{prefix}.{name}")
                };
                let mut d = Diagnostic::new(
                    self.file,
                    Some(k.start),
                    field,
                    format!("unknown key '{name}'"),
                );
                if let Some(s) = closest(name, known) {
                    d = d.help(format!(
                        "did you mean '{s}'? (known keys here: {})",
                        known.join(", ")
                    ));
                } else {
                    d = d.help(format!("known keys here: {}", known.join(", ")));
                }
                self.warnings.push(d);
            }
        }
    }

    /// `field` builds the field path; it is only called when there is an error.
    fn string(&mut self, node: &Node, field: &dyn Fn() -> String) -> Option<String> {
        match &node.kind {
            Kind::Scalar { text, .. } if !node.is_null() => Some(text.clone()),
            _ => {
                self.err(
                    node.start,
                    &field(),
                    format!("expected a string, found {}", node.type_name()),
                    "write a quoted string, e.g. \"./config/hyprland\"",
                );
                None
            }
        }
    }

    fn boolean(&mut self, node: &Node, field: &dyn Fn() -> String) -> Option<bool> {
        let b = node.as_bool();
        if b.is_none() {
            self.err(
                node.start,
                &field(),
                format!("expected true or false, found {}", describe(node)),
                "write true or false (unquoted)",
            );
        }
        b
    }

    pub(super) fn registry(&mut self, path: &Path, root: &Node) -> Registry {
        let mut reg = Registry {
            path: path.to_path_buf(),
            version: "1.0".into(),
            metadata: Metadata::default(),
            modules: Vec::new(),
            missions: Vec::new(),
            packages: None,
            flows: Vec::new(),
            exclude: Vec::new(),
            vars: serde_json::Map::new(),
            warnings: Vec::new(),
            fingerprint: 0,
        };
        if root.as_map().is_none() {
            self.err(
                root.start,
                "",
                format!("the registry must be a mapping, found {}", root.type_name()),
                "start from `lumina init`, or see the example in README.md",
            );
            return reg;
        }
        self.unknown_keys(root, TOP_KEYS, "");
        match root.get("version") {
            None => self.err(
                root.start,
                "version",
                "missing 'version'",
                "add `version: 1.0` at the top of the file",
            ),
            Some(v) => match v.as_str() {
                Some("1" | "1.0") => reg.version = "1.0".into(),
                _ => self.err(
                    v.start,
                    "version",
                    format!("unsupported registry version {}", describe(v)),
                    "this lumina reads version 1.0; write `version: 1.0`",
                ),
            },
        }
        if let Some(meta) = root.get("metadata") {
            if meta.is_null() {
            } else if meta.as_map().is_none() {
                self.err(
                    meta.start,
                    "metadata",
                    format!("expected a mapping, found {}", meta.type_name()),
                    "write `metadata:` followed by indented `identity:` and `target:`",
                );
            } else {
                self.unknown_keys(meta, META_KEYS, "metadata");
                if let Some(n) = meta.get("identity") {
                    reg.metadata.identity = self.string(n, &|| "metadata.identity".to_string());
                }
                if let Some(n) = meta.get("target") {
                    reg.metadata.target = self.string(n, &|| "metadata.target".to_string());
                }
            }
        }
        if let Some(mods) = root.get("modules") {
            if mods.is_null() {
            } else if let Some(map) = mods.as_map() {
                for (k, v) in map {
                    let Some(name) = k.as_str().map(str::to_string) else {
                        self.err(
                            k.start,
                            "modules",
                            "module names must be strings",
                            "use a plain name such as `shell`",
                        );
                        continue;
                    };
                    if name == "orchestration" && v.get("source").is_none() {
                        self.orchestration(v, "modules.orchestration", &mut reg);
                        continue;
                    }
                    if !valid_name(&name) {
                        self.err(
                            k.start,
                            &format!("modules.{name}"),
                            format!("invalid module name '{name}'"),
                            "use letters, digits, '-', '_' or '.', starting with a letter or digit",
                        );
                        continue;
                    }
                    if let Some(m) = self.module(&name, k, v) {
                        reg.modules.push(m);
                    }
                }
            } else {
                self.err(
                    mods.start,
                    "modules",
                    format!("expected a mapping of module names, found {}", mods.type_name()),
                    "write `modules:` followed by indented `name:` entries with `source:` and `target:`",
                );
            }
        }
        if let Some(o) = root.get("orchestration") {
            self.orchestration(o, "orchestration", &mut reg);
        }
        if let Some(p) = root.get("packages") {
            reg.packages = Some(self.packages(p));
        }
        if let Some(x) = root.get("exclude") {
            reg.exclude = self.patterns(x, "exclude");
        }
        if let Some(v) = root.get("vars") {
            match v.as_map() {
                Some(_) => {
                    if let serde_json::Value::Object(m) = to_json(v) {
                        reg.vars = m;
                    }
                }
                None if v.is_null() => {}
                None => self.err(
                    v.start,
                    "vars",
                    format!("expected a mapping of names to values, found {}", v.type_name()),
                    "write `vars:` followed by indented `name: value` lines; templates read them as {{ vars.name }}",
                ),
            }
        }
        if let Some(f) = root.get("flows") {
            reg.flows = self.flows(f);
            for c in &reg.flows {
                if let Some(m) = &c.mission {
                    if !reg.missions.iter().any(|x| &x.name == m) {
                        let pos = f
                            .get(&c.name)
                            .and_then(|n| n.get("mission"))
                            .map(|n| n.start)
                            .unwrap_or(f.start);
                        self.err(
                            pos,
                            &format!("flows.{}.mission", c.name),
                            format!("no mission named '{m}'"),
                            "declare it under `orchestration.missions`, or fix the name",
                        );
                    }
                }
            }
        }
        reg
    }

    fn packages(&mut self, p: &Node) -> Vec<Package> {
        let mut out: Vec<Package> = Vec::new();
        if p.is_null() {
            return out;
        }
        let Some(items) = p.as_seq() else {
            self.err(
                p.start,
                "packages",
                format!("expected a list of packages, found {}", p.type_name()),
                "write `packages:` followed by `- name` lines, or `- {name: pkg, manager: paru}`",
            );
            return out;
        };
        for (i, it) in items.iter().enumerate() {
            let field = format!("packages[{i}]");
            let (name, manager) = if it.as_map().is_some() {
                self.unknown_keys(it, &["name", "manager"], &field);
                let name = match it.get("name") {
                    Some(n) => self.string(n, &|| format!("{field}.name")),
                    None => {
                        self.err(
                            it.start,
                            &format!("{field}.name"),
                            "missing 'name'",
                            "write `{name: pkg, manager: paru}`",
                        );
                        None
                    }
                };
                let manager = match it.get("manager") {
                    None => None,
                    Some(n) => match n.as_str().and_then(Manager::parse) {
                        Some(m) => Some(m),
                        None => {
                            self.err(
                                n.start,
                                &format!("{field}.manager"),
                                format!("unknown package manager {}", describe(n)),
                                "use one of pacman, paru, apt, dnf, brew",
                            );
                            None
                        }
                    },
                };
                (name, manager)
            } else {
                (self.string(it, &|| field.clone()), None)
            };
            let Some(name) = name else { continue };
            if !valid_package_name(&name) {
                self.err(
                    it.start,
                    &field,
                    format!("'{name}' is not a package name"),
                    "package names are letters, digits and @._+-/: and never start with '-'",
                );
                continue;
            }
            if out.iter().any(|p| p.name == name && p.manager == manager) {
                self.warnings.push(
                    Diagnostic::new(
                        self.file,
                        Some(it.start),
                        &field,
                        format!("'{name}' is listed twice"),
                    )
                    .help("remove the second entry"),
                );
                continue;
            }
            out.push(Package { name, manager });
        }
        out
    }

    fn string_list(&mut self, n: &Node, field: &str) -> Vec<String> {
        let items: Vec<&Node> = match &n.kind {
            Kind::Seq(v) => v.iter().collect(),
            Kind::Scalar { .. } if !n.is_null() => vec![n],
            _ if n.is_null() => Vec::new(),
            _ => {
                self.err(
                    n.start,
                    field,
                    format!("expected a list of strings, found {}", n.type_name()),
                    "write a list, e.g. `[Cargo.toml, rust-toolchain.toml]`",
                );
                return Vec::new();
            }
        };
        let mut out = Vec::new();
        for (i, it) in items.into_iter().enumerate() {
            if let Some(s) = self.string(it, &|| format!("{field}[{i}]")) {
                out.push(s);
            }
        }
        out
    }

    /// A list of gitignore-style patterns (relative to a module's source);
    /// each is checked to compile.
    fn patterns(&mut self, n: &Node, field: &str) -> Vec<String> {
        let list = self.string_list(n, field);
        for (i, p) in list.iter().enumerate() {
            let pos = n
                .as_seq()
                .and_then(|s| s.get(i))
                .map_or(n.start, |x| x.start);
            let problem = if p.trim().is_empty() {
                Some("an empty pattern".to_string())
            } else if Path::new(p.trim_start_matches('!'))
                .components()
                .any(|c| matches!(c, std::path::Component::ParentDir))
            {
                Some(format!("'{p}' leaves the module's source ('..')"))
            } else {
                crate::patterns::check(p).err()
            };
            if let Some(why) = problem {
                self.err(
                    pos,
                    &format!("{field}[{i}]"),
                    why,
                    "write gitignore-style patterns relative to the module's source, e.g. \"README.md\", \"*.png\" or \"fish/conf.d/**\"",
                );
            }
        }
        list
    }

    fn flows(&mut self, f: &Node) -> Vec<FlowContext> {
        let mut out = Vec::new();
        if f.is_null() {
            return out;
        }
        let Some(map) = f.as_map() else {
            self.err(
                f.start,
                "flows",
                format!("expected a mapping of context names, found {}", f.type_name()),
                "write `flows:` followed by contexts such as `rust: {markers: [Cargo.toml], workspace: 2}`",
            );
            return out;
        };
        for (k, v) in map {
            let name = k.as_str().unwrap_or("?").to_string();
            let field = format!("flows.{name}");
            if !valid_name(&name) {
                self.err(
                    k.start,
                    &field,
                    format!("invalid context name '{name}'"),
                    "use letters, digits, '-', '_' or '.'",
                );
                continue;
            }
            let mut c = FlowContext {
                name: name.clone(),
                ..FlowContext::default()
            };
            if v.is_null() {
                out.push(c);
                continue;
            }
            if v.as_map().is_none() {
                self.err(
                    v.start,
                    &field,
                    format!("expected a mapping, found {}", v.type_name()),
                    "give the context `markers:` and what it sets: `layout:`, `workspace:`, `waybar:`, `mission:`",
                );
                continue;
            }
            self.unknown_keys(v, FLOW_KEYS, &field);
            if let Some(n) = v.get("markers") {
                c.markers = self.string_list(n, &format!("{field}.markers"));
                for (i, m) in c.markers.iter().enumerate() {
                    let p = Path::new(m);
                    if m.is_empty()
                        || p.is_absolute()
                        || p.components()
                            .any(|c| matches!(c, std::path::Component::ParentDir))
                    {
                        let pos = n
                            .as_seq()
                            .and_then(|s| s.get(i))
                            .map(|x| x.start)
                            .unwrap_or(n.start);
                        self.err(
                            pos,
                            &format!("{field}.markers[{i}]"),
                            format!("marker '{m}' is not a name inside a project"),
                            "write a file or directory name such as Cargo.toml or .git",
                        );
                    }
                }
            } else if name != "default" {
                self.err(
                    k.start,
                    &format!("{field}.markers"),
                    "missing 'markers'",
                    "list the files that mark such a project, e.g. `markers: [Cargo.toml]`",
                );
            }
            if let Some(n) = v.get("layout") {
                c.layout = self.string(n, &|| format!("{field}.layout"));
            }
            if let Some(n) = v.get("workspace") {
                c.workspace = self.string(n, &|| format!("{field}.workspace"));
            }
            if let Some(n) = v.get("mission") {
                c.mission = self.string(n, &|| format!("{field}.mission"));
            }
            for (key, val) in [("layout", &c.layout), ("workspace", &c.workspace)] {
                if let Some(s) = val {
                    if s.contains(';') || s.contains('\n') || s.contains('\'') || s.contains('"') {
                        let pos = v.get(key).map(|n| n.start).unwrap_or(k.start);
                        self.err(
                            pos,
                            &format!("{field}.{key}"),
                            format!(
                                "'{s}' holds a character Hyprland's command batch cannot carry"
                            ),
                            "use a plain value such as `master` or `2` (no ';' or quotes)",
                        );
                    }
                }
            }
            if let Some(w) = v.get("waybar") {
                let wf = format!("{field}.waybar");
                if w.as_map().is_some() {
                    self.unknown_keys(w, &["show", "hide"], &wf);
                    if let Some(n) = w.get("show") {
                        c.show = self.string_list(n, &format!("{wf}.show"));
                    }
                    if let Some(n) = w.get("hide") {
                        c.hide = self.string_list(n, &format!("{wf}.hide"));
                    }
                    for m in c.show.iter().chain(&c.hide) {
                        let bare = m.strip_prefix("custom/").unwrap_or(m);
                        if !valid_name(bare) {
                            self.err(w.start, &wf, format!("'{m}' is not a Waybar module name"), "write custom modules as `custom/<name>` (letters, digits, '-', '_')");
                        }
                    }
                } else if !w.is_null() {
                    self.err(
                        w.start,
                        &wf,
                        format!("expected a mapping, found {}", w.type_name()),
                        "write `waybar: {show: [custom/rust], hide: [custom/media]}`",
                    );
                }
            }
            out.push(c);
        }
        out
    }

    fn module(&mut self, name: &str, key: &Node, v: &Node) -> Option<Module> {
        let field = format!("modules.{name}");
        if v.as_map().is_none() {
            self.err(
                v.start,
                &field,
                format!(
                    "expected a mapping with 'source' and 'target', found {}",
                    v.type_name()
                ),
                "write the module as an indented block with `source:` and `target:`",
            );
            return None;
        }
        self.unknown_keys(v, MODULE_KEYS, &field);
        let mut m = Module {
            name: name.to_string(),
            source: PathBuf::new(),
            target: String::new(),
            enabled: true,
            mode: Mode::Link,
            on_conflict: OnConflict::Backup,
            hosts: None,
            allow_outside_home: false,
            exclude: Vec::new(),
            copy: Vec::new(),
            seed: Vec::new(),
            template: Vec::new(),
            dot_prefix: false,
            run: Vec::new(),
            pos: key.start,
            target_pos: key.start,
            source_pos: key.start,
        };
        let mut ok = true;
        match v.get("source") {
            None => {
                self.err(
                    key.start,
                    &format!("{field}.source"),
                    "missing 'source'",
                    format!(
                        "add `source: \"./config/{name}\"` (a path inside the profile directory)"
                    ),
                );
                ok = false;
            }
            Some(s) => match self.string(s, &|| format!("{field}.source")) {
                Some(text) => {
                    m.source_pos = s.start;
                    let p = PathBuf::from(&text);
                    if p.is_absolute() || text.starts_with('~') {
                        self.err(s.start, &format!("{field}.source"), format!("source '{text}' is not relative to the profile"), "sources live inside the profile directory (the git repository holding lumina.yaml); write a relative path such as ./config/name");
                        ok = false;
                    } else if crate::paths::normalize(&p).starts_with("..") {
                        self.err(s.start, &format!("{field}.source"), format!("source '{text}' leaves the profile directory"), "move the files into the profile directory and point to them with a relative path");
                        ok = false;
                    }
                    m.source = p;
                }
                None => ok = false,
            },
        }
        match v.get("target") {
            None => {
                self.err(
                    key.start,
                    &format!("{field}.target"),
                    "missing 'target'",
                    format!("add `target: \"~/.config/{name}\"`"),
                );
                ok = false;
            }
            Some(t) => match self.string(t, &|| format!("{field}.target")) {
                Some(text) if text.trim().is_empty() => {
                    self.err(
                        t.start,
                        &format!("{field}.target"),
                        "target is empty",
                        "write where the files go, e.g. \"~/.config/name\"",
                    );
                    ok = false;
                }
                Some(text) => {
                    m.target_pos = t.start;
                    m.target = text;
                }
                None => ok = false,
            },
        }
        if let Some(n) = v.get("enabled") {
            m.enabled = self
                .boolean(n, &|| format!("{field}.enabled"))
                .unwrap_or(true);
        }
        if let Some(n) = v.get("allow_outside_home") {
            m.allow_outside_home = self
                .boolean(n, &|| format!("{field}.allow_outside_home"))
                .unwrap_or(false);
        }
        if let Some(n) = v.get("mode") {
            match n.as_str() {
                Some("link") => m.mode = Mode::Link,
                Some("copy") => m.mode = Mode::Copy,
                Some("seed") => m.mode = Mode::Seed,
                _ => {
                    self.err(n.start, &format!("{field}.mode"), format!("expected \"link\", \"copy\" or \"seed\", found {}", describe(n)), "use `mode: link` (the default), `mode: copy` for programs that refuse symlinks, or `mode: seed` for files an application rewrites");
                    ok = false;
                }
            }
        }
        if let Some(n) = v.get("on_conflict") {
            match n.as_str() {
                Some("backup") => m.on_conflict = OnConflict::Backup,
                Some("skip") => m.on_conflict = OnConflict::Skip,
                Some("abort") => m.on_conflict = OnConflict::Abort,
                _ => {
                    self.err(n.start, &format!("{field}.on_conflict"), format!("expected \"backup\", \"skip\" or \"abort\", found {}", describe(n)), "backup moves what is in the way to <target>.bak (default); skip leaves it; abort stops the sync");
                    ok = false;
                }
            }
        }
        if let Some(n) = v.get("hosts") {
            match n.as_seq() {
                Some(items) => {
                    let mut hosts = Vec::new();
                    for (i, it) in items.iter().enumerate() {
                        if let Some(s) = self.string(it, &|| format!("{field}.hosts[{i}]")) {
                            if let Some(tag) = s.strip_prefix("tag:") {
                                if !valid_name(tag) {
                                    self.err(it.start, &format!("{field}.hosts[{i}]"), format!("'{s}' is not a valid tag"), "tags are letters, digits, '-', '_' or '.', written `tag:NAME` (see `lumina tag list`)");
                                    ok = false;
                                }
                            }
                            hosts.push(s);
                        }
                    }
                    m.hosts = Some(hosts);
                }
                None => {
                    self.err(n.start, &format!("{field}.hosts"), format!("expected a list of machines, found {}", n.type_name()), "write e.g. `hosts: [Framework-13-AMD, my-laptop, tag:work]`: hardware targets, hostnames or tags (see `lumina status`)");
                    ok = false;
                }
            }
        }
        for (key, list) in [
            ("exclude", &mut m.exclude),
            ("copy", &mut m.copy),
            ("seed", &mut m.seed),
            ("template", &mut m.template),
        ] {
            if let Some(n) = v.get(key) {
                *list = self.patterns(n, &format!("{field}.{key}"));
            }
        }
        if let Some(n) = v.get("dot_prefix") {
            m.dot_prefix = self
                .boolean(n, &|| format!("{field}.dot_prefix"))
                .unwrap_or(false);
        }
        if let Some(n) = v.get("run") {
            m.run = self.string_list(n, &format!("{field}.run"));
            if let Some(i) = m.run.iter().position(|c| c.trim().is_empty()) {
                let pos = n
                    .as_seq()
                    .and_then(|s| s.get(i))
                    .map_or(n.start, |x| x.start);
                self.err(pos, &format!("{field}.run[{i}]"), "empty command", "write the command the shell should run, e.g. \"nvim --headless '+Lazy! sync' +qa\"");
                ok = false;
            }
        }
        ok.then_some(m)
    }

    fn orchestration(&mut self, o: &Node, field: &str, reg: &mut Registry) {
        if o.is_null() {
            return;
        }
        if o.as_map().is_none() {
            self.err(
                o.start,
                field,
                format!("expected a mapping, found {}", o.type_name()),
                "write `orchestration:` with an indented `missions:` mapping",
            );
            return;
        }
        self.unknown_keys(o, &["missions"], field);
        let Some(missions) = o.get("missions") else {
            return;
        };
        if missions.is_null() {
            return;
        }
        let Some(map) = missions.as_map() else {
            self.err(
                missions.start,
                &format!("{field}.missions"),
                format!(
                    "expected a mapping of mission names, found {}",
                    missions.type_name()
                ),
                "write each mission as `name:` with `path:`, `image:` and optional `env:`",
            );
            return;
        };
        for (k, v) in map {
            let name = k.as_str().unwrap_or("?").to_string();
            let f = format!("{field}.missions.{name}");
            if v.as_map().is_none() {
                self.err(
                    v.start,
                    &f,
                    format!("expected a mapping, found {}", v.type_name()),
                    "give the mission `path:` and `image:`",
                );
                continue;
            }
            self.unknown_keys(v, MISSION_KEYS, &f);
            let path = match v.get("path") {
                Some(n) => self.string(n, &|| format!("{f}.path")),
                None => {
                    self.err(
                        k.start,
                        &format!("{f}.path"),
                        "missing 'path'",
                        "add `path: \"~/Projects/name\"`",
                    );
                    None
                }
            };
            let image = match v.get("image") {
                Some(n) => self.string(n, &|| format!("{f}.image")),
                None => {
                    self.err(
                        k.start,
                        &format!("{f}.image"),
                        "missing 'image'",
                        "add `image: \"name:tag\"`",
                    );
                    None
                }
            };
            let mut env = Vec::new();
            if let Some(n) = v.get("env") {
                match n.as_seq() {
                    Some(items) => {
                        for (i, it) in items.iter().enumerate() {
                            if let Some(s) = self.string(it, &|| format!("{f}.env[{i}]")) {
                                if !s.contains('=') {
                                    self.err(
                                        it.start,
                                        &format!("{f}.env[{i}]"),
                                        format!("'{s}' is not KEY=VALUE"),
                                        "write each entry as KEY=VALUE",
                                    );
                                }
                                env.push(s);
                            }
                        }
                    }
                    None => self.err(
                        n.start,
                        &format!("{f}.env"),
                        format!("expected a list of KEY=VALUE, found {}", n.type_name()),
                        "write `env: [KEY=VALUE]`",
                    ),
                }
            }
            let command = match v.get("command") {
                Some(n) => self.string_list(n, &format!("{f}.command")),
                None => Vec::new(),
            };
            let shell = match v.get("shell") {
                Some(n) => self.string(n, &|| format!("{f}.shell")),
                None => None,
            }
            .unwrap_or_else(|| "/bin/sh".into());
            if !valid_name(&name) {
                self.err(
                    k.start,
                    &f,
                    format!("invalid mission name '{name}'"),
                    "use letters, digits, '-', '_' or '.' (it becomes the container name lumina-mission-<name>)",
                );
                continue;
            }
            if let (Some(path), Some(image)) = (path, image) {
                reg.missions.push(Mission {
                    name,
                    path,
                    image,
                    env,
                    command,
                    shell,
                });
            }
        }
    }
}

/// A YAML value as JSON (for template `vars:`): quoted scalars are strings,
/// plain ones may be null, booleans or numbers.
fn to_json(n: &Node) -> serde_json::Value {
    use serde_json::Value;
    match &n.kind {
        Kind::Scalar { text, quoted: true } => Value::String(text.clone()),
        Kind::Scalar { text, .. } => {
            if n.is_null() {
                Value::Null
            } else if let Some(b) = n.as_bool() {
                Value::Bool(b)
            } else if let Ok(i) = text.parse::<i64>() {
                Value::from(i)
            } else if let Some(f) = text.parse::<f64>().ok().filter(|f| f.is_finite()) {
                Value::from(f)
            } else {
                Value::String(text.clone())
            }
        }
        Kind::Seq(items) => Value::Array(items.iter().map(to_json).collect()),
        Kind::Map(pairs) => Value::Object(
            pairs
                .iter()
                .map(|(k, v)| (k.as_str().unwrap_or_default().to_string(), to_json(v)))
                .collect(),
        ),
    }
}

fn describe(n: &Node) -> String {
    match &n.kind {
        Kind::Scalar { text, .. } => format!("'{text}'"),
        _ => n.type_name().to_string(),
    }
}

/// The known key closest to a misspelt one (edit distance at most 2).
fn closest<'a>(name: &str, known: &[&'a str]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (levenshtein(name, k), *k))
        .filter(|(d, _)| *d <= 2)
        .min()
        .map(|(_, k)| k)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}
