//! The Coordinator's package side: one small driver per system package
//! manager, each spoken through its own non-interactive, idempotent command
//! line. Lumina never reimplements a package manager; it decides what is
//! missing, batches it into one call per manager, streams that call's output
//! through and explains its failure.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::Serialize;

use crate::error::{Error, Result};
pub use crate::registry::{valid_package_name as valid_name, Manager};
use crate::registry::{Package, Registry};

impl Manager {
    /// The executable that does the work.
    pub fn program(self) -> &'static str {
        match self {
            Manager::Apt => "apt-get",
            m => m.name(),
        }
    }

    /// Whether installing needs root (then lumina goes through sudo when
    /// it is not root itself). paru and brew refuse to run as root.
    fn needs_root(self) -> bool {
        matches!(self, Manager::Pacman | Manager::Apt | Manager::Dnf)
    }
}

/// Finds `program` on `$PATH`.
pub fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The system's own manager: the first of pacman, apt, dnf, brew found on
/// `$PATH`. paru is never the default: it is named per package (AUR) or
/// with `--manager paru`.
pub fn detect() -> Option<Manager> {
    [Manager::Pacman, Manager::Apt, Manager::Dnf, Manager::Brew]
        .into_iter()
        .find(|m| which(m.program()).is_some())
}

/// Who runs the command: the facts that decide `sudo` and `runuser`.
#[derive(Debug, Clone)]
pub struct Runner {
    pub is_root: bool,
    /// The user who called sudo, when lumina itself runs under sudo.
    pub sudo_user: Option<String>,
}

impl Runner {
    pub fn from_process() -> Runner {
        Runner {
            is_root: rustix::process::geteuid().is_root(),
            sudo_user: std::env::var("SUDO_USER")
                .ok()
                .filter(|u| !u.is_empty() && u != "root"),
        }
    }
}

/// One command line, ready to run or to print.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Invocation {
    pub argv: Vec<String>,
    /// Variables set for this command only.
    pub env: Vec<(String, String)>,
}

impl Invocation {
    fn new(argv: Vec<String>) -> Invocation {
        Invocation {
            argv,
            env: Vec::new(),
        }
    }

    /// The command line as a user would type it.
    pub fn display(&self) -> String {
        let mut s: Vec<String> = self.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
        s.extend(self.argv.iter().cloned());
        s.join(" ")
    }

    fn command(&self) -> Command {
        let mut c = Command::new(&self.argv[0]);
        c.args(&self.argv[1..]);
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c
    }
}

fn argv(parts: &[&str], pkgs: &[String]) -> Vec<String> {
    parts
        .iter()
        .map(|s| s.to_string())
        .chain(pkgs.iter().cloned())
        .collect()
}

/// Wraps a command that changes the system: through sudo when it needs
/// root and lumina is not root; paru, which refuses root, goes back to the
/// user who called sudo.
fn privileged(m: Manager, base: Vec<String>, r: &Runner) -> Result<Invocation> {
    let mut argv = base;
    if m.needs_root() && !r.is_root {
        argv.insert(0, "sudo".into());
    } else if !m.needs_root() && r.is_root {
        match &r.sudo_user {
            Some(u) => {
                let mut w = vec!["runuser".into(), "-u".into(), u.clone(), "--".into()];
                w.append(&mut argv);
                argv = w;
            }
            None => {
                return Err(Error::Usage(format!(
                    "{m} runs as your user, never as root: run lumina without sudo (or through sudo, so lumina knows which user to run {m} as)"
                )))
            }
        }
    }
    let mut inv = Invocation::new(argv);
    match m {
        Manager::Apt => inv
            .env
            .push(("DEBIAN_FRONTEND".into(), "noninteractive".into())),
        Manager::Brew => inv.env.push(("HOMEBREW_NO_AUTO_UPDATE".into(), "1".into())),
        _ => {}
    }
    Ok(inv)
}

/// The install command for `pkgs`: already-installed ones are left alone.
pub fn install_cmd(m: Manager, pkgs: &[String], r: &Runner) -> Result<Invocation> {
    let base = match m {
        Manager::Pacman | Manager::Paru => {
            argv(&[m.program(), "-S", "--needed", "--noconfirm"], pkgs)
        }
        Manager::Apt => argv(&["apt-get", "install", "-y", "--no-upgrade"], pkgs),
        Manager::Dnf => argv(&["dnf", "install", "-y"], pkgs),
        Manager::Brew => argv(&["brew", "install"], pkgs),
    };
    privileged(m, base, r)
}

pub fn remove_cmd(m: Manager, pkgs: &[String], r: &Runner) -> Result<Invocation> {
    let base = match m {
        Manager::Pacman | Manager::Paru => argv(&[m.program(), "-R", "--noconfirm"], pkgs),
        Manager::Apt => argv(&["apt-get", "remove", "-y"], pkgs),
        Manager::Dnf => argv(&["dnf", "remove", "-y"], pkgs),
        Manager::Brew => argv(&["brew", "uninstall"], pkgs),
    };
    privileged(m, base, r)
}

/// Lists every installed package name, one per line. Queries never need
/// root.
fn installed_query(m: Manager) -> Invocation {
    let a: &[&str] = match m {
        // paru shares pacman's database; asking pacman keeps paru (which
        // must not run as root) out of queries.
        Manager::Pacman | Manager::Paru => &["pacman", "-Qq"],
        Manager::Apt => &[
            "dpkg-query",
            "-W",
            "-f",
            "${db:Status-Abbrev} ${Package}\\n",
        ],
        Manager::Dnf => &["dnf", "repoquery", "--installed", "--qf", "%{name}\\n"],
        Manager::Brew => &["brew", "list", "--formula", "-1"],
    };
    let mut inv = Invocation::new(a.iter().map(|s| s.to_string()).collect());
    if m == Manager::Brew {
        inv.env.push(("HOMEBREW_NO_AUTO_UPDATE".into(), "1".into()));
    }
    inv
}

/// Lists the packages the user asked for (not pulled in as dependencies).
fn explicit_query(m: Manager) -> Invocation {
    let a: &[&str] = match m {
        Manager::Pacman | Manager::Paru => &["pacman", "-Qqe"],
        Manager::Apt => &["apt-mark", "showmanual"],
        Manager::Dnf => &["dnf", "repoquery", "--userinstalled", "--qf", "%{name}\\n"],
        Manager::Brew => &["brew", "leaves", "--installed-on-request"],
    };
    let mut inv = Invocation::new(a.iter().map(|s| s.to_string()).collect());
    if m == Manager::Brew {
        inv.env.push(("HOMEBREW_NO_AUTO_UPDATE".into(), "1".into()));
    }
    inv
}

fn query(m: Manager, inv: &Invocation) -> Result<BTreeSet<String>> {
    let out = inv.command().stdin(Stdio::null()).output().map_err(|e| {
        Error::Runtime(format!(
            "cannot run `{}`: {e}; is {m} installed? (choose another with --manager)",
            inv.display()
        ))
    })?;
    if !out.status.success() {
        return Err(Error::Runtime(format!(
            "`{}` failed ({}): {}",
            inv.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut set = BTreeSet::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if m == Manager::Apt {
            // "ii  name": only fully installed packages count.
            let mut parts = line.split_whitespace();
            let (Some(st), Some(name)) = (parts.next(), parts.last()) else {
                continue;
            };
            if st.starts_with("ii") {
                set.insert(name.to_string());
            }
        } else {
            set.insert(line.split_whitespace().next().unwrap_or(line).to_string());
        }
    }
    Ok(set)
}

pub fn installed(m: Manager) -> Result<BTreeSet<String>> {
    query(m, &installed_query(m))
}

pub fn explicit(m: Manager) -> Result<BTreeSet<String>> {
    query(m, &explicit_query(m))
}

/// Runs a manager with its output streaming through to the user; stderr is
/// also kept so a failure can be explained.
pub fn run_streaming(m: Manager, inv: &Invocation, pkgs: &[String]) -> Result<()> {
    tracing::debug!(command = %inv.display(), "running package manager");
    let mut child = inv.command().stderr(Stdio::piped()).spawn().map_err(|e| {
        Error::Runtime(format!(
            "cannot run `{}`: {e}; is {} installed? (choose another manager with --manager)",
            inv.display(),
            inv.argv[0]
        ))
    })?;
    let mut kept = String::new();
    if let Some(err) = child.stderr.take() {
        let mut stderr = std::io::stderr();
        let mut r = BufReader::new(err);
        let mut buf = Vec::new();
        while r.read_until(b'\n', &mut buf).unwrap_or(0) > 0 {
            let _ = stderr.write_all(&buf);
            if kept.len() < 64 * 1024 {
                kept.push_str(&String::from_utf8_lossy(&buf));
            }
            buf.clear();
        }
    }
    let status = child
        .wait()
        .map_err(|e| Error::Runtime(format!("waiting for {}: {e}", inv.argv[0])))?;
    if status.success() {
        return Ok(());
    }
    Err(Error::Runtime(explain(m, inv, &status, &kept, pkgs)))
}

/// Turns a manager's failure into a sentence naming the package at fault.
fn explain(
    m: Manager,
    inv: &Invocation,
    status: &std::process::ExitStatus,
    stderr: &str,
    pkgs: &[String],
) -> String {
    let not_found: Vec<String> = stderr
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            let name = match m {
                Manager::Pacman | Manager::Paru => l
                    .strip_prefix("error: target not found: ")
                    .or_else(|| l.strip_prefix("-> No AUR package found for ")),
                Manager::Apt => l.strip_prefix("E: Unable to locate package "),
                Manager::Dnf => l.strip_prefix("No match for argument: "),
                Manager::Brew => l
                    .strip_prefix("Error: No available formula with the name \"")
                    .map(|s| s.trim_end_matches(['"', '.'])),
            }?;
            Some(name.trim().to_string())
        })
        .collect();
    let code = status
        .code()
        .map(|c| format!("exit code {c}"))
        .unwrap_or_else(|| "killed by a signal".into());
    if !not_found.is_empty() {
        let hint = match m {
            Manager::Pacman => format!(
                "check the spelling with `pacman -Ss {}`; an AUR package needs `--manager paru` (or `{{name: {}, manager: paru}}` in lumina.yaml)",
                not_found[0], not_found[0]
            ),
            Manager::Apt => format!(
                "check the spelling with `apt-cache search {}`, or refresh the lists with `apt-get update`",
                not_found[0]
            ),
            _ => format!("check the spelling with `{} search {}`", m.program(), not_found[0]),
        };
        return format!(
            "{m} could not find {} (target not found); nothing was installed or recorded. Hint: {hint}",
            not_found
                .iter()
                .map(|n| format!("'{n}'"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    format!(
        "`{}` failed ({code}) for {}; nothing was recorded in lumina.yaml. Its output is above.",
        inv.display(),
        pkgs.join(", ")
    )
}

/// Which manager handles a declared package.
pub fn manager_of(p: &Package, default: Option<Manager>) -> Option<Manager> {
    p.manager.or(default)
}

/// What `lumina status` reports for one manager.
#[derive(Debug, Clone, Serialize)]
pub struct ManagerReport {
    pub manager: Manager,
    pub declared: Vec<String>,
    pub missing: Vec<String>,
    /// Explicitly installed but not declared.
    pub undeclared: Vec<String>,
}

/// Declared packages grouped by manager (in declaration order, deduplicated).
pub fn by_manager(
    reg: &Registry,
    default: Option<Manager>,
) -> Result<BTreeMap<Manager, Vec<String>>> {
    let mut out: BTreeMap<Manager, Vec<String>> = BTreeMap::new();
    for p in reg.packages.iter().flatten() {
        let m = manager_of(p, default).ok_or_else(|| {
            Error::Usage(format!(
                "no package manager found for '{}' (looked for pacman, apt-get, dnf and brew on PATH); name one with --manager or `{{name: {}, manager: ...}}`",
                p.name, p.name
            ))
        })?;
        let v = out.entry(m).or_default();
        if !v.contains(&p.name) {
            v.push(p.name.clone());
        }
    }
    Ok(out)
}

/// Compares the declaration with the system: per manager, what is missing
/// and what was installed by hand without being declared. Managers whose
/// packages are all handled by another front end (paru shares pacman's
/// database) are reported once.
pub fn compare(reg: &Registry, default: Option<Manager>) -> Result<Vec<ManagerReport>> {
    let groups = by_manager(reg, default)?;
    let mut managers: BTreeSet<Manager> = groups.keys().copied().collect();
    if let Some(d) = default {
        managers.insert(d);
    }
    let mut out = Vec::new();
    for m in managers {
        let declared = groups.get(&m).cloned().unwrap_or_default();
        let have = installed(m)?;
        let missing = declared
            .iter()
            .filter(|p| !have.contains(*p))
            .cloned()
            .collect();
        let mut undeclared = Vec::new();
        if Some(m) == default {
            // Everything declared for any manager sharing this database counts.
            let all: BTreeSet<&String> = groups.values().flatten().collect();
            undeclared = explicit(m)?
                .into_iter()
                .filter(|p| !all.contains(p))
                .collect();
        }
        out.push(ManagerReport {
            manager: m,
            declared,
            missing,
            undeclared,
        });
    }
    Ok(out)
}

/// Declared packages that are not installed, per manager (one query per
/// manager).
pub fn missing(reg: &Registry, default: Option<Manager>) -> Result<BTreeMap<Manager, Vec<String>>> {
    let mut out = BTreeMap::new();
    for (m, declared) in by_manager(reg, default)? {
        let have = installed(m)?;
        let miss: Vec<String> = declared.into_iter().filter(|p| !have.contains(p)).collect();
        if !miss.is_empty() {
            out.insert(m, miss);
        }
    }
    Ok(out)
}

/// Installs what `missing` names, one batched call per manager.
pub fn install_missing(
    missing: &BTreeMap<Manager, Vec<String>>,
    r: &Runner,
    mut before: impl FnMut(&Invocation),
) -> Result<()> {
    for (m, pkgs) in missing {
        if pkgs.is_empty() {
            continue;
        }
        let inv = install_cmd(*m, pkgs, r)?;
        before(&inv);
        run_streaming(*m, &inv, pkgs)?;
    }
    Ok(())
}

/// What `lumina install` / `uninstall` did.
#[derive(Debug, Clone, Serialize)]
pub struct PackageChange {
    pub manager: Manager,
    /// The command line that ran.
    pub command: String,
    pub packages: Vec<String>,
    /// Entries added to (install) or removed from (uninstall) lumina.yaml.
    pub recorded: Vec<String>,
}

/// The manager for a command: `--manager`, else the system's own.
pub fn choose(flag: Option<Manager>) -> Result<Manager> {
    flag.or_else(detect).ok_or_else(|| {
        Error::Usage(
            "no package manager found (looked for pacman, apt-get, dnf and brew on PATH); name one with --manager".into(),
        )
    })
}

fn check_names(pkgs: &[String]) -> Result<()> {
    if pkgs.is_empty() {
        return Err(Error::Usage("name at least one package".into()));
    }
    for p in pkgs {
        if !valid_name(p) {
            return Err(Error::Usage(format!(
                "'{p}' is not a package name (letters, digits and @._+-/:, never starting with '-')"
            )));
        }
    }
    Ok(())
}

/// `lumina install`: runs the manager with its output streaming through;
/// only when it succeeds are the packages recorded in lumina.yaml (comments
/// and order kept). A package installed through a manager other than the
/// system's own is recorded as `{name, manager}`.
pub fn install(
    env: &crate::Env,
    pkgs: &[String],
    flag: Option<Manager>,
    r: &Runner,
    announce: impl FnOnce(&Invocation),
) -> Result<PackageChange> {
    check_names(pkgs)?;
    let path = env.registry.clone();
    // Validate before installing anything: a registry lumina cannot edit
    // would leave the install unrecorded.
    let text = crate::registry::read_text(&path)?;
    crate::registry::parse(&path, &text, false)?;
    let m = choose(flag)?;
    let default = detect();
    let inv = install_cmd(m, pkgs, r)?;
    announce(&inv);
    run_streaming(m, &inv, pkgs)?;
    let mut text = crate::registry::read_text(&path)?;
    let reg = crate::registry::parse(&path, &text, false)?;
    let mut recorded = Vec::new();
    for p in pkgs {
        let declared = reg
            .packages
            .iter()
            .flatten()
            .any(|d| &d.name == p && manager_of(d, default) == Some(m));
        if declared || recorded.contains(p) {
            continue;
        }
        let entry = if Some(m) == default {
            crate::edit::quote(p)
        } else {
            format!("{{name: {}, manager: {m}}}", crate::edit::quote(p))
        };
        text = crate::edit::add_package(&path, &text, &entry)?;
        recorded.push(p.clone());
    }
    if !recorded.is_empty() {
        crate::fsops::write_atomic(&path, text.as_bytes(), crate::fsops::Durability::Durable).map_err(|e| {
            Error::Runtime(format!(
                "the packages were installed, but writing {} failed: {e}; add them under `packages:` by hand",
                path.display()
            ))
        })?;
    }
    Ok(PackageChange {
        manager: m,
        command: inv.display(),
        packages: pkgs.to_vec(),
        recorded,
    })
}

/// `lumina uninstall`: removes through the manager, then unrecords. A
/// package declared for a particular manager is removed through it.
pub fn uninstall(
    env: &crate::Env,
    pkgs: &[String],
    flag: Option<Manager>,
    r: &Runner,
    announce: impl FnOnce(&Invocation),
) -> Result<PackageChange> {
    check_names(pkgs)?;
    let path = env.registry.clone();
    let text = crate::registry::read_text(&path)?;
    let reg = crate::registry::parse(&path, &text, false)?;
    let default = detect();
    let m = match flag {
        Some(m) => m,
        None => {
            let declared: BTreeSet<Manager> = pkgs
                .iter()
                .filter_map(|p| {
                    reg.packages
                        .iter()
                        .flatten()
                        .find(|d| &d.name == p)
                        .and_then(|d| manager_of(d, default))
                })
                .collect();
            match declared.len() {
                0 => choose(None)?,
                1 => *declared.iter().next().unwrap_or(&Manager::Pacman),
                _ => {
                    return Err(Error::Usage(format!(
                        "these packages belong to different managers ({}); uninstall them in separate calls",
                        declared.iter().map(|m| m.name()).collect::<Vec<_>>().join(", ")
                    )))
                }
            }
        }
    };
    let inv = remove_cmd(m, pkgs, r)?;
    announce(&inv);
    run_streaming(m, &inv, pkgs)?;
    let mut text = crate::registry::read_text(&path)?;
    let mut recorded = Vec::new();
    for p in pkgs {
        let (t, hit) = crate::edit::remove_package(&path, &text, p)?;
        if hit {
            recorded.push(p.clone());
            text = t;
        }
    }
    if !recorded.is_empty() {
        crate::fsops::write_atomic(&path, text.as_bytes(), crate::fsops::Durability::Durable).map_err(|e| {
            Error::Runtime(format!(
                "the packages were removed, but writing {} failed: {e}; remove them from `packages:` by hand",
                path.display()
            ))
        })?;
    }
    Ok(PackageChange {
        manager: m,
        command: inv.display(),
        packages: pkgs.to_vec(),
        recorded,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pk(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn command_lines_as_root_and_user() {
        let root = Runner {
            is_root: true,
            sudo_user: None,
        };
        let user = Runner {
            is_root: false,
            sudo_user: None,
        };
        let p = pk(&["ripgrep", "fd"]);
        assert_eq!(
            install_cmd(Manager::Pacman, &p, &root).unwrap().display(),
            "pacman -S --needed --noconfirm ripgrep fd"
        );
        assert_eq!(
            install_cmd(Manager::Pacman, &p, &user).unwrap().display(),
            "sudo pacman -S --needed --noconfirm ripgrep fd"
        );
        assert_eq!(
            install_cmd(Manager::Apt, &p, &user).unwrap().display(),
            "DEBIAN_FRONTEND=noninteractive sudo apt-get install -y --no-upgrade ripgrep fd"
        );
        assert_eq!(
            install_cmd(Manager::Dnf, &p, &root).unwrap().display(),
            "dnf install -y ripgrep fd"
        );
        assert_eq!(
            install_cmd(Manager::Brew, &p, &user).unwrap().display(),
            "HOMEBREW_NO_AUTO_UPDATE=1 brew install ripgrep fd"
        );
        assert_eq!(
            install_cmd(Manager::Paru, &p, &user).unwrap().display(),
            "paru -S --needed --noconfirm ripgrep fd"
        );
        // paru never runs as root: back to the sudo caller, or refused.
        assert!(install_cmd(Manager::Paru, &p, &root).is_err());
        let via_sudo = Runner {
            is_root: true,
            sudo_user: Some("ada".into()),
        };
        assert_eq!(
            install_cmd(Manager::Paru, &p, &via_sudo).unwrap().display(),
            "runuser -u ada -- paru -S --needed --noconfirm ripgrep fd"
        );
    }

    #[test]
    fn names() {
        assert!(valid_name("lib32-mesa"));
        assert!(valid_name("python3.11"));
        assert!(valid_name("g++"));
        assert!(!valid_name("--noconfirm"));
        assert!(!valid_name("a b"));
        assert!(!valid_name(""));
    }
}
