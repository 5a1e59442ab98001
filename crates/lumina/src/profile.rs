//! Profile-level commands: `init` (hardware-aware registry and a git
//! repository), `add` (catalog or custom module, optionally adopting the
//! existing config) and `remove`.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::catalog;
use crate::edit;
use crate::env::Env;
use crate::error::{Error, IoContext, Result};
use crate::fsops;
use crate::hardware::{self, Hardware};
use crate::linker::{self, SyncOptions, SyncReport};
use crate::paths::expand;
use crate::registry;

#[derive(Debug, Serialize)]
pub struct InitReport {
    pub registry: PathBuf,
    pub profile: PathBuf,
    pub hardware: Hardware,
    pub git: bool,
    /// Where an overwritten registry was kept (`--force`).
    pub previous: Option<PathBuf>,
}

pub struct InitOptions {
    pub identity: Option<String>,
    pub force: bool,
}

fn render_registry(identity: &str, hw: &Hardware) -> String {
    format!(
        r#"# lumina.yaml: the declarative profile of this workstation.
# Written by `lumina init` for {model}.
# Sources are relative to this directory (a git repository); targets may use
# ~ and $VARIABLES. `lumina sync` links every source file into place through
# ~/.lumina/active, backing up whatever is in the way as <target>.bak.
version: 1.0
metadata:
  identity: {identity}
  target: {slug}

modules:
  # Monitor settings for the built-in panel ({panel}, scale {scale}).
  # In ~/.config/hypr/hyprland.conf: source = ~/.config/hypr/monitors.conf
  hyprland:
    source: ./config/hyprland
    target: ~/.config/hypr
    enabled: true

  # Add more with `lumina add <module>` (kitty, waybar, nvim, zsh, git, ...).
  # Per module: mode: link|copy, on_conflict: backup|skip|abort,
  # hosts: [{slug}] to apply only on this hardware.

  # orchestration:
  #   missions:
  #     nebula:
  #       path: ~/Projects/nebula
  #       image: lumina/rust-mission:latest
  #       env:
  #         - KEY=VAL
"#,
        model = if hw.product.is_empty() {
            "an unidentified machine".to_string()
        } else {
            format!("{} {}", hw.vendor, hw.product)
        },
        identity = edit::quote(identity),
        slug = hw.slug,
        panel = hw.panel,
        scale = hw.monitor_scale,
    )
}

fn monitors_conf(hw: &Hardware) -> String {
    format!(
        "# Written by `lumina init` for {slug} ({panel}).\n# Built-in panel first; any other display at its preferred mode.\nmonitor = eDP-1, preferred, auto, {scale}\nmonitor = , preferred, auto, 1\n",
        slug = hw.slug,
        panel = hw.panel,
        scale = hw.monitor_scale
    )
}

/// `lumina init`: detect the hardware, write a commented registry, make the
/// profile a git repository.
pub fn init(env: &Env, opts: &InitOptions) -> Result<InitReport> {
    let hw = hardware::detect(&env.sysfs_root);
    let profile = env.profile_dir();
    let reg_path = env.registry.clone();
    let mut previous = None;
    if reg_path.exists() {
        if !opts.force {
            return Err(Error::Runtime(format!(
                "{} already exists; lumina init will not overwrite it. Use --force to replace it (the old file is kept as a .bak).",
                reg_path.display()
            )));
        }
        let bak = crate::paths::free_name(&reg_path, ".bak", |_| false);
        std::fs::copy(&reg_path, &bak)
            .ctx(|| format!("keeping the old registry as {}", bak.display()))?;
        previous = Some(bak);
    }
    std::fs::create_dir_all(&profile)
        .ctx(|| format!("creating the profile directory {}", profile.display()))?;
    let identity = opts
        .identity
        .clone()
        .unwrap_or_else(|| "workstation".into());
    let hypr = profile.join("config/hyprland");
    std::fs::create_dir_all(&hypr).ctx(|| format!("creating {}", hypr.display()))?;
    let mon = hypr.join("monitors.conf");
    if !mon.exists() {
        fsops::write_atomic(
            &mon,
            monitors_conf(&hw).as_bytes(),
            fsops::Durability::Durable,
        )
        .ctx(|| format!("writing {}", mon.display()))?;
    }
    fsops::write_atomic(
        &reg_path,
        render_registry(&identity, &hw).as_bytes(),
        fsops::Durability::Durable,
    )
    .ctx(|| format!("writing {}", reg_path.display()))?;
    let git = git_init(&profile);
    Ok(InitReport {
        registry: reg_path,
        profile,
        hardware: hw,
        git,
        previous,
    })
}

#[derive(Debug, Serialize)]
pub struct CloneReport {
    pub url: String,
    pub profile: PathBuf,
    pub sync: SyncReport,
}

/// `lumina init --from URL`: clone a profile with git into the profile
/// directory (which must not exist or be empty), then sync it.
pub fn clone_profile(env: &Env, url: &str) -> Result<CloneReport> {
    let profile = env.profile_dir();
    let occupied = std::fs::read_dir(&profile)
        .map(|mut d| d.next().is_some())
        .unwrap_or(false);
    if occupied {
        return Err(Error::Runtime(format!(
            "{} already exists and is not empty; lumina will not clone over it. Move it aside, or point --registry at another place.",
            profile.display()
        )));
    }
    if let Some(parent) = profile.parent() {
        std::fs::create_dir_all(parent).ctx(|| format!("creating {}", parent.display()))?;
    }
    let status = std::process::Command::new("git")
        .args(["clone", "--quiet", "--", url])
        .arg(&profile)
        .status()
        .map_err(|e| Error::Runtime(format!("running git: {e}; is git installed?")))?;
    if !status.success() {
        return Err(Error::Runtime(format!(
            "git clone {url} failed (see git's message above); nothing was linked"
        )));
    }
    if !env.registry.exists() {
        return Err(Error::Runtime(format!(
            "cloned {url}, but it has no {}; the clone stays in {} for you to inspect",
            env.registry
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            profile.display()
        )));
    }
    let reg = registry::load(&env.registry, false)?;
    let sync = linker::sync(env, &reg, &SyncOptions::default())?;
    Ok(CloneReport {
        url: url.to_string(),
        profile,
        sync,
    })
}

fn git_init(profile: &Path) -> bool {
    if profile.join(".git").exists() {
        return true;
    }
    std::process::Command::new("git")
        .arg("init")
        .arg("--quiet")
        .arg(profile)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

#[derive(Debug, Default)]
pub struct AddOptions {
    pub source: Option<String>,
    pub target: Option<String>,
    pub adopt: bool,
    pub strict: bool,
    /// Patterns written as the new module's `exclude:`.
    pub exclude: Vec<String>,
    /// What `--adopt` does with a nested git repository.
    pub nested_git: crate::adopt::NestedGit,
}

#[derive(Debug, Serialize)]
pub struct AddReport {
    pub module: String,
    pub source: String,
    pub target: String,
    pub adopted: bool,
    /// Files and links copied into the profile by `--adopt`.
    pub copied: usize,
    /// The URL of the submodule an adopted repository became.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub submodule: Option<String>,
    /// Waybar modules added to the waybar config for `flows:` (add waybar).
    pub waybar_modules: Vec<String>,
    /// What adoption skipped (special files).
    pub warnings: Vec<String>,
    pub sync: SyncReport,
}

/// The defaults `add` proposes for a module name: (source, target).
pub fn add_defaults(name: &str) -> (Option<String>, Option<String>) {
    match catalog::find(name) {
        Some(k) => (Some(k.source.to_string()), Some(k.target.to_string())),
        None => (Some(format!("./config/{name}")), None),
    }
}

/// `lumina add`: record a module and link it. With `adopt`, the existing
/// target is copied into the profile, verified byte for byte, and replaced
/// by links to the copy.
pub fn add(env: &Env, name: &str, opts: &AddOptions) -> Result<AddReport> {
    if !registry::valid_name(name) {
        return Err(Error::Usage(format!(
            "'{name}' is not a valid module name: use letters, digits, '-', '_' or '.'"
        )));
    }
    let reg_path = env.registry.clone();
    let text = crate::registry::read_text(&reg_path)?;
    let current = registry::parse(&reg_path, &text, false)?;
    if current.module(name).is_some()
        && name == "waybar"
        && !crate::flow::waybar::signals(&crate::flow::contexts(&current)).is_empty()
    {
        // Adding waybar again brings its config up to date with flows:.
        let added = add_waybar_modules(&current)?;
        return Ok(AddReport {
            module: name.to_string(),
            source: current
                .module(name)
                .map(|m| m.source.display().to_string())
                .unwrap_or_default(),
            target: current
                .module(name)
                .map(|m| m.target.clone())
                .unwrap_or_default(),
            adopted: false,
            copied: 0,
            submodule: None,
            waybar_modules: added,
            warnings: Vec::new(),
            sync: linker::sync(
                env,
                &current,
                &SyncOptions {
                    only: vec![name.to_string()],
                    ..SyncOptions::default()
                },
            )?,
        });
    }
    if let Some(m) = current.module(name) {
        if opts.adopt {
            // `lumina init` declared it (or it was written by hand): adopt
            // the existing config into its source.
            return adopt_into_module(env, &current, m.clone(), opts);
        }
        return Err(Error::Usage(format!(
            "module '{name}' already exists in {}; edit it there, `lumina add {name} --adopt` to move the config at its target into its source, or `lumina remove {name}` first",
            reg_path.display()
        )));
    }
    let (def_source, def_target) = add_defaults(name);
    let source = opts.source.clone().or(def_source).unwrap_or_default();
    let target = opts.target.clone().or(def_target).ok_or_else(|| {
        Error::Usage(format!(
            "'{name}' is not in the catalog, so lumina needs --target PATH (where the config lives, e.g. ~/.config/{name})"
        ))
    })?;
    let profile = current.profile_dir();
    let src_path = crate::paths::normalize(&profile.join(&source));
    if !src_path.starts_with(crate::paths::normalize(&profile)) {
        return Err(Error::Usage(format!(
            "--source '{source}' leaves the profile directory {}",
            profile.display()
        )));
    }
    let lookup = |n: &str| std::env::var(n).ok();
    let tgt_path = expand(&target, &env.home, &lookup)
        .map_err(|v| Error::Usage(format!("--target '{target}' uses ${v}, which is not set")))?;
    let mut adopted = crate::adopt::Adopted::default();
    if opts.adopt {
        if std::fs::symlink_metadata(&tgt_path).is_err() {
            return Err(Error::Usage(format!(
                "--adopt: there is nothing at {} to adopt",
                tgt_path.display()
            )));
        }
        // Into an absent source, or one that already holds files (left by
        // `remove`): identical files are fine, differing ones stop.
        adopted = crate::adopt::adopt(
            &tgt_path,
            &src_path,
            &profile,
            &env.lumina_home,
            opts.nested_git,
        )?;
    } else if !src_path.exists() {
        if std::fs::symlink_metadata(&tgt_path).is_ok() {
            return Err(Error::Usage(format!(
                "{} exists and the profile has no {source} yet. Use --adopt to move it into the profile and link it back, or create {} first.",
                tgt_path.display(),
                src_path.display()
            )));
        }
        // A catalog entry whose source names a file (zshrc, gitconfig) starts
        // as an empty file; everything else as an empty directory.
        let is_file = catalog::find(name)
            .is_some_and(|k| k.source == source && !k.source.ends_with(&format!("/{name}")));
        if is_file {
            if let Some(p) = src_path.parent() {
                std::fs::create_dir_all(p).ctx(|| format!("creating {}", p.display()))?;
            }
            fsops::write_atomic(&src_path, b"", fsops::Durability::Durable)
                .ctx(|| format!("creating {}", src_path.display()))?;
        } else {
            std::fs::create_dir_all(&src_path)
                .ctx(|| format!("creating {}", src_path.display()))?;
        }
    }
    let mut fields = vec![
        ("source", edit::quote(&source)),
        ("target", edit::quote(&target)),
        ("enabled", "true".to_string()),
    ];
    if !opts.exclude.is_empty() {
        let list: Vec<String> = opts.exclude.iter().map(|p| edit::quote(p)).collect();
        fields.push(("exclude", format!("[{}]", list.join(", "))));
    }
    let new_text = edit::add_module(&reg_path, &text, name, &fields)?;
    let reg = registry::parse(&reg_path, &new_text, opts.strict)?;
    fsops::write_atomic(&reg_path, new_text.as_bytes(), fsops::Durability::Durable)
        .ctx(|| format!("writing {}", reg_path.display()))?;
    let waybar_modules = if name == "waybar" {
        add_waybar_modules(&reg)?
    } else {
        Vec::new()
    };
    let sync = linker::sync(
        env,
        &reg,
        &SyncOptions {
            strict: opts.strict,
            adopt: adopted.identical,
            only: vec![name.to_string()],
            ..SyncOptions::default()
        },
    )?;
    Ok(AddReport {
        module: name.to_string(),
        source,
        target,
        adopted: opts.adopt,
        copied: adopted.copied,
        submodule: adopted.submodule,
        waybar_modules,
        warnings: adopted.warnings,
        sync,
    })
}

/// `lumina add NAME --adopt` for a module the registry already declares:
/// the config at its target moves into its source (which may hold files
/// already, such as the monitors.conf `lumina init` writes).
fn adopt_into_module(
    env: &Env,
    reg: &registry::Registry,
    m: registry::Module,
    opts: &AddOptions,
) -> Result<AddReport> {
    let lookup = |n: &str| std::env::var(n).ok();
    let declared = expand(&m.target, &env.home, &lookup).map_err(|v| {
        Error::Usage(format!(
            "module '{}': target '{}' uses ${v}, which is not set",
            m.name, m.target
        ))
    })?;
    if let Some(t) = &opts.target {
        let asked = expand(t, &env.home, &lookup)
            .map_err(|v| Error::Usage(format!("--target '{t}' uses ${v}, which is not set")))?;
        if crate::paths::normalize(&asked) != crate::paths::normalize(&declared) {
            return Err(Error::Usage(format!(
                "module '{}' already targets {}; --target {t} names another place. Edit the module in {}, or pick another module name",
                m.name,
                m.target,
                reg.path.display()
            )));
        }
    }
    if std::fs::symlink_metadata(&declared).is_err() {
        return Err(Error::Usage(format!(
            "--adopt: there is nothing at {} to adopt",
            declared.display()
        )));
    }
    let profile = reg.profile_dir();
    let src_path = crate::paths::normalize(&profile.join(&m.source));
    let adopted = crate::adopt::adopt(
        &declared,
        &src_path,
        &profile,
        &env.lumina_home,
        opts.nested_git,
    )?;
    let sync = linker::sync(
        env,
        reg,
        &SyncOptions {
            strict: opts.strict,
            adopt: adopted.identical,
            only: vec![m.name.clone()],
            ..SyncOptions::default()
        },
    )?;
    Ok(AddReport {
        module: m.name.clone(),
        source: m.source.display().to_string(),
        target: m.target.clone(),
        adopted: true,
        copied: adopted.copied,
        submodule: adopted.submodule,
        waybar_modules: Vec::new(),
        warnings: adopted.warnings,
        sync,
    })
}

#[derive(Debug, Serialize)]
pub struct RemoveReport {
    pub module: String,
    pub disabled: bool,
    pub sync: SyncReport,
}

/// `lumina remove`: unlink the module's links (restoring their backups),
/// then drop the module from the registry or mark it `enabled: false`.
pub fn remove(env: &Env, name: &str, disable: bool) -> Result<RemoveReport> {
    let reg_path = env.registry.clone();
    let text = crate::registry::read_text(&reg_path)?;
    let current = registry::parse(&reg_path, &text, false)?;
    if current.module(name).is_none() {
        return Err(Error::Usage(format!(
            "no module '{name}' in {}",
            reg_path.display()
        )));
    }
    let new_text = if disable {
        edit::set_enabled(&reg_path, &text, name, false)?
    } else {
        edit::remove_module(&reg_path, &text, name)?
    };
    let reg = registry::parse(&reg_path, &new_text, false)?;
    let sync = linker::sync(
        env,
        &reg,
        &SyncOptions {
            only: vec![name.to_string()],
            ..SyncOptions::default()
        },
    )?;
    fsops::write_atomic(&reg_path, new_text.as_bytes(), fsops::Durability::Durable)
        .ctx(|| format!("writing {}", reg_path.display()))?;
    Ok(RemoveReport {
        module: name.to_string(),
        disabled: disable,
        sync,
    })
}

/// Adds the Waybar modules that `flows:` drives to the waybar module's
/// config in the profile (`config.jsonc`, `config.json` or `config`): a
/// `custom/<name>` definition running `lumina waybar-module <name>` with
/// its signal number, and the module in `modules-right`. Definitions already
/// present are left as they are. Returns the modules added.
pub fn add_waybar_modules(reg: &registry::Registry) -> Result<Vec<String>> {
    let Some(module) = reg.module("waybar") else {
        return Ok(Vec::new());
    };
    let all = crate::flow::contexts(reg);
    let sigs = crate::flow::waybar::signals(&all);
    if sigs.is_empty() {
        return Ok(Vec::new());
    }
    let dir = crate::paths::normalize(&reg.profile_dir().join(&module.source));
    let file = ["config.jsonc", "config.json", "config"]
        .iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file())
        .unwrap_or_else(|| dir.join("config.jsonc"));
    let mut text = std::fs::read_to_string(&file).unwrap_or_else(|_| "{\n}\n".into());
    let missing: Vec<(&String, &usize)> = sigs
        .iter()
        .filter(|(m, _)| !text.contains(&format!("\"custom/{m}\":")))
        .collect();
    if missing.is_empty() {
        return Ok(Vec::new());
    }
    // The first '{' outside comment lines opens the bar's object.
    let mut open = None;
    let mut off = 0;
    for line in text.split_inclusive('\n') {
        if !line.trim_start().starts_with("//") {
            if let Some(i) = line.find('{') {
                open = Some(off + i + 1);
                break;
            }
        }
        off += line.len();
    }
    let open = open.ok_or_else(|| {
        Error::Usage(format!(
            "{} holds no JSON object; fix it, then run `lumina add waybar` again",
            file.display()
        ))
    })?;
    let empty = text[open..].trim_start().starts_with('}');
    let names: Vec<String> = missing
        .iter()
        .map(|(m, _)| format!("\"custom/{m}\""))
        .collect();
    let mut entries: Vec<String> = missing
        .iter()
        .map(|(m, n)| crate::flow::waybar::config_entry(m, **n))
        .collect();
    let has_right = text.contains("\"modules-right\"");
    if !has_right {
        entries.push(format!("  \"modules-right\": [{}]", names.join(", ")));
    }
    let mut snippet = String::from("\n  // Driven by `lumina flow` (see flows: in lumina.yaml).\n");
    snippet.push_str(&entries.join(",\n"));
    snippet.push_str(if empty { "\n" } else { ",\n" });
    text.insert_str(open, &snippet);
    if has_right {
        let k = text.find("\"modules-right\"").unwrap_or(0);
        if let Some(b) = text[k..].find('[') {
            let at = k + b + 1;
            let rest_empty = text[at..].trim_start().starts_with(']');
            let ins = if rest_empty {
                names.join(", ")
            } else {
                format!("{}, ", names.join(", "))
            };
            text.insert_str(at, &ins);
        }
    }
    std::fs::create_dir_all(&dir).ctx(|| format!("creating {}", dir.display()))?;
    fsops::write_atomic(&file, text.as_bytes(), fsops::Durability::Durable)
        .ctx(|| format!("writing {}", file.display()))?;
    Ok(missing.iter().map(|(m, _)| format!("custom/{m}")).collect())
}
