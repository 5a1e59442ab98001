//! Config writes that keep the user's comments and layout (`add`, `set`,
//! `remove`, `install`), target specs, the `init` template and the
//! normalized form of `config export`.

use std::path::Path;

use toml_edit::{value, Array, ArrayOfTables, DocumentMut, InlineTable, Item, Table};

use crate::config::{Config, Environment, InstallMode, Skill, Source, Target};

#[derive(Debug, thiserror::Error)]
pub enum EditError {
    #[error("{0}")]
    Usage(String),
    #[error("root: invalid toml: {0}")]
    Toml(String),
}

pub const INIT_TEMPLATE: &str = "version = 1\n\n[storage]\nroot = \"~/.eden-skills/skills\"\n";

/// `-t/--target` values: an agent alias, `custom:<path>`, `local`
/// (claude-code) or `docker:<container>` (claude-code in it).
pub fn parse_target_spec(spec: &str) -> Result<Target, String> {
    let t = |agent: &str, path: Option<String>, env: Environment| Target {
        agent: agent.to_string(),
        path,
        expected_path: None,
        environment: env,
    };
    if spec == "local" {
        return Ok(t("claude-code", None, Environment::Local));
    }
    if let Some(rest) = spec.strip_prefix("docker:") {
        return match Environment::parse(spec) {
            Some(env) => Ok(t("claude-code", None, env)),
            None => Err(format!("`docker:{rest}` needs a container name")),
        };
    }
    if let Some(path) = spec.strip_prefix("custom:") {
        if path.is_empty() {
            return Err("`custom:` needs a path, e.g. custom:/opt/agent/skills".into());
        }
        return Ok(t("custom", Some(path.to_string()), Environment::Local));
    }
    if crate::agents::default_root(spec).is_some() {
        return Ok(t(spec, None, Environment::Local));
    }
    Err(format!(
        "unknown target `{spec}`: use an agent ({}), custom:<path>, local or docker:<container>",
        crate::agents::all_names().join(", ")
    ))
}

fn target_table(t: &Target) -> Table {
    let mut tt = Table::new();
    tt["agent"] = value(t.agent.as_str());
    if let Some(p) = &t.path {
        tt["path"] = value(p.as_str());
    }
    if let Some(p) = &t.expected_path {
        tt["expected_path"] = value(p.as_str());
    }
    if !t.environment.is_local() {
        tt["environment"] = value(t.environment.to_string());
    }
    tt
}

fn targets_item(targets: &[Target]) -> Item {
    let mut a = ArrayOfTables::new();
    for t in targets {
        a.push(target_table(t));
    }
    Item::ArrayOfTables(a)
}

/// A whole `[[skills]]` table for an entry.
pub fn skill_table(s: &Skill) -> Table {
    let mut t = Table::new();
    match &s.source {
        Source::Repo {
            repo,
            git_ref,
            subpath,
        } => {
            t["id"] = value(s.id.as_str());
            let mut src = InlineTable::new();
            src.insert("repo", repo.as_str().into());
            src.insert("ref", git_ref.as_str().into());
            src.insert("subpath", subpath.as_str().into());
            t["source"] = value(src);
        }
        Source::Registry { version, registry } => {
            t["name"] = value(s.id.as_str());
            t["version"] = value(version.as_str());
            if let Some(r) = registry {
                t["registry"] = value(r.as_str());
            }
        }
    }
    if s.mode != InstallMode::Symlink {
        let mut i = InlineTable::new();
        i.insert("mode", s.mode.as_str().into());
        t["install"] = value(i);
    }
    // Copy mode's checks are written out (the contract's install step 7):
    // whoever reads the entry sees what a copy is checked for.
    if !s.verify_enabled
        || s.verify_checks != s.mode.default_checks()
        || s.mode == InstallMode::Copy
    {
        let mut v = InlineTable::new();
        v.insert("enabled", s.verify_enabled.into());
        let mut a = Array::new();
        for c in &s.verify_checks {
            a.push(c.as_str());
        }
        v.insert("checks", a.into());
        t["verify"] = value(v);
    }
    if s.metadata_only {
        let mut i = InlineTable::new();
        i.insert("no_exec_metadata_only", true.into());
        t["safety"] = value(i);
    }
    match &s.shorthand {
        Some(sh) => t["target"] = value(sh.as_str()),
        None => t["targets"] = targets_item(&s.targets),
    }
    t
}

/// A parsed config document for comment-preserving edits.
pub struct Doc {
    doc: DocumentMut,
}

impl Doc {
    pub fn parse(text: &str) -> Result<Doc, EditError> {
        let doc: DocumentMut = text
            .parse()
            .map_err(|e: toml_edit::TomlError| EditError::Toml(e.to_string()))?;
        Ok(Doc { doc })
    }

    fn skills(&mut self) -> Result<&mut ArrayOfTables, EditError> {
        if !self.doc.contains_key("skills") {
            self.doc["skills"] = Item::ArrayOfTables(ArrayOfTables::new());
        }
        self.doc["skills"].as_array_of_tables_mut().ok_or_else(|| {
            EditError::Usage("`skills` must be written as [[skills]] tables to be edited".into())
        })
    }

    fn index_of(&mut self, id: &str) -> Result<Option<usize>, EditError> {
        Ok(self.skills()?.iter().position(|t| {
            t.get("id")
                .or_else(|| t.get("name"))
                .and_then(|v| v.as_str())
                == Some(id)
        }))
    }

    pub fn push_skill(&mut self, s: &Skill) -> Result<(), EditError> {
        let t = skill_table(s);
        self.skills()?.push(t);
        Ok(())
    }

    /// Install's upsert: a new entry is appended; an existing one gets its
    /// source, mode and checks updated in place and any new targets added.
    pub fn upsert_skill(&mut self, s: &Skill, replace_targets: bool) -> Result<(), EditError> {
        let Some(i) = self.index_of(&s.id)? else {
            return self.push_skill(s);
        };
        let fresh = skill_table(s);
        let t = self.skills()?.get_mut(i).expect("index from position");
        for key in [
            "id", "name", "source", "version", "registry", "install", "verify",
        ] {
            match fresh.get(key) {
                Some(v) => {
                    t[key] = v.clone();
                }
                None => {
                    t.remove(key);
                }
            }
        }
        if replace_targets {
            t.remove("target");
            t["targets"] = targets_item(&s.targets);
        }
        Ok(())
    }

    pub fn remove_skills(&mut self, ids: &[String]) -> Result<(), EditError> {
        let skills = self.skills()?;
        skills.retain(|t| {
            let id = t
                .get("id")
                .or_else(|| t.get("name"))
                .and_then(|v| v.as_str())
                .unwrap_or("");
            !ids.iter().any(|x| x == id)
        });
        Ok(())
    }

    /// `set`: only the given fields change.
    pub fn set_fields(&mut self, id: &str, m: &Mutation) -> Result<(), EditError> {
        let i = self
            .index_of(id)?
            .ok_or_else(|| EditError::Usage(format!("skill '{id}' not found in config")))?;
        let t = self.skills()?.get_mut(i).expect("index from position");
        let is_registry = t.contains_key("name");
        if is_registry && (m.repo.is_some() || m.git_ref.is_some() || m.subpath.is_some()) {
            return Err(EditError::Usage(format!(
                "skill '{id}' is a registry entry: --repo, --ref and --subpath do not apply"
            )));
        }
        if !is_registry && (m.version.is_some() || m.registry.is_some()) {
            return Err(EditError::Usage(format!(
                "skill '{id}' is a repository entry: --version and --registry do not apply"
            )));
        }
        for (key, v) in [
            ("repo", &m.repo),
            ("ref", &m.git_ref),
            ("subpath", &m.subpath),
        ] {
            if let Some(v) = v {
                if !t.contains_key("source") {
                    t["source"] = value(InlineTable::new());
                }
                t["source"][key] = value(v.as_str());
            }
        }
        if let Some(v) = &m.version {
            t["version"] = value(v.as_str());
        }
        if let Some(v) = &m.registry {
            t["registry"] = value(v.as_str());
        }
        if let Some(mode) = m.mode {
            if !t.contains_key("install") {
                t["install"] = value(InlineTable::new());
            }
            t["install"]["mode"] = value(mode.as_str());
        }
        if m.verify_enabled.is_some() || !m.verify_checks.is_empty() {
            if !t.contains_key("verify") {
                t["verify"] = value(InlineTable::new());
            }
            if let Some(b) = m.verify_enabled {
                t["verify"]["enabled"] = value(b);
            }
            if !m.verify_checks.is_empty() {
                let mut a = Array::new();
                for c in &m.verify_checks {
                    a.push(c.as_str());
                }
                t["verify"]["checks"] = value(a);
            }
        }
        if let Some(b) = m.no_exec_metadata_only {
            if !t.contains_key("safety") {
                t["safety"] = value(InlineTable::new());
            }
            t["safety"]["no_exec_metadata_only"] = value(b);
        }
        if !m.targets.is_empty() {
            t.remove("target");
            t["targets"] = targets_item(&m.targets);
        }
        Ok(())
    }

    pub fn render(&self) -> String {
        let mut s = self.doc.to_string();
        if !s.ends_with('\n') {
            s.push('\n');
        }
        s
    }
}

/// The fields `set` may change.
#[derive(Debug, Default, Clone)]
pub struct Mutation {
    pub repo: Option<String>,
    pub git_ref: Option<String>,
    pub subpath: Option<String>,
    pub mode: Option<InstallMode>,
    pub version: Option<String>,
    pub registry: Option<String>,
    pub verify_enabled: Option<bool>,
    pub verify_checks: Vec<String>,
    pub targets: Vec<Target>,
    pub no_exec_metadata_only: Option<bool>,
}

impl Mutation {
    pub fn is_empty(&self) -> bool {
        self.repo.is_none()
            && self.git_ref.is_none()
            && self.subpath.is_none()
            && self.mode.is_none()
            && self.version.is_none()
            && self.registry.is_none()
            && self.verify_enabled.is_none()
            && self.verify_checks.is_empty()
            && self.targets.is_empty()
            && self.no_exec_metadata_only.is_none()
    }
}

/// The normalized TOML of a validated config: fixed key order, every
/// default spelled out, byte-identical across runs.
pub fn normalized(cfg: &Config) -> String {
    let mut doc = DocumentMut::new();
    doc["version"] = value(1);
    let mut storage = Table::new();
    storage["root"] = value(
        cfg.storage_root_raw
            .as_deref()
            .unwrap_or(crate::config::DEFAULT_STORAGE_ROOT),
    );
    if let Some(r) = &cfg.registries_root_raw {
        storage["registries_root"] = value(r.as_str());
    }
    doc["storage"] = Item::Table(storage);
    if let Some(c) = cfg.concurrency {
        let mut r = Table::new();
        r["concurrency"] = value(c as i64);
        doc["reactor"] = Item::Table(r);
    }
    if !cfg.registries.is_empty() {
        let mut regs = Table::new();
        let mut sorted = cfg.registries.clone();
        sorted.sort_by(|a, b| b.priority.cmp(&a.priority).then(a.name.cmp(&b.name)));
        for r in sorted {
            let mut i = InlineTable::new();
            i.insert("url", r.url.as_str().into());
            i.insert("priority", r.priority.into());
            regs[r.name.as_str()] = value(i);
        }
        doc["registries"] = Item::Table(regs);
    }
    if !cfg.skills.is_empty() {
        let mut a = ArrayOfTables::new();
        for s in &cfg.skills {
            let mut s = s.clone();
            // Normalized: verify always spelled out, explicit targets.
            let mut t = skill_table(&s);
            let mut v = InlineTable::new();
            v.insert("enabled", s.verify_enabled.into());
            let mut checks = Array::new();
            for c in &s.verify_checks {
                checks.push(c.as_str());
            }
            v.insert("checks", checks.into());
            t["verify"] = value(v);
            let mut i = InlineTable::new();
            i.insert("mode", s.mode.as_str().into());
            t["install"] = value(i);
            if s.shorthand.take().is_some() {
                t.remove("target");
                t["targets"] = targets_item(&s.targets);
            }
            let mut ordered = Table::new();
            for key in [
                "id", "name", "version", "registry", "source", "install", "verify", "safety",
                "target", "targets",
            ] {
                if let Some(item) = t.get(key) {
                    ordered[key] = item.clone();
                }
            }
            a.push(ordered);
        }
        doc["skills"] = Item::ArrayOfTables(a);
    }
    doc.to_string()
}

/// Validates edited text as a config before it is written.
pub fn validate(text: &str, path: &Path, home: &Path) -> Result<Config, crate::config::LoadError> {
    Config::parse(text, path, home)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs() {
        assert_eq!(parse_target_spec("local").unwrap().agent, "claude-code");
        assert_eq!(
            parse_target_spec("docker:c1").unwrap().environment,
            Environment::Docker("c1".into())
        );
        assert_eq!(
            parse_target_spec("custom:/x").unwrap().path.as_deref(),
            Some("/x")
        );
        assert_eq!(parse_target_spec("cursor").unwrap().agent, "cursor");
        assert!(parse_target_spec("nope").is_err());
        assert!(parse_target_spec("docker:").is_err());
    }

    #[test]
    fn comments_survive_edits() {
        let text = "# my skills\nversion = 1\n\n[[skills]] # first\nid = \"a\"\nsource = { repo = \"https://h/a.git\" }\ntarget = \"local\"\n";
        let mut d = Doc::parse(text).unwrap();
        let m = Mutation {
            git_ref: Some("v2".into()),
            ..Mutation::default()
        };
        d.set_fields("a", &m).unwrap();
        let out = d.render();
        assert!(out.contains("# my skills"));
        assert!(out.contains("# first"));
        assert!(out.contains("ref = \"v2\""));
        assert!(out.contains("target = \"local\""));
    }
}
