//! The safety gate (docs/eden-skills/behaviour.md#the-safety-gate): license status and risk labels of an
//! exported tree, recorded in `<storage>/.safety/<id>.toml`.

use std::fs;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::git::LICENSE_NAMES;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Safety {
    pub version: u32,
    pub skill_id: String,
    pub source: String,
    pub resolved_commit: String,
    pub content_hash: String,
    pub retrieved_at_unix: u64,
    pub license_status: String,
    pub license_hint: String,
    pub risk_labels: Vec<String>,
    /// Scripts and files with an executable bit, relative to the skill
    /// (older metadata has none recorded).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub executables: Vec<String>,
    pub no_exec_metadata_only: bool,
}

/// `(status, hint)` for a license text.
pub fn license_of(text: Option<&str>) -> (&'static str, String) {
    let Some(text) = text else {
        return ("unknown", String::new());
    };
    let t = text.to_lowercase();
    let hint = if t.contains("apache license") {
        Some("Apache-2.0")
    } else if t.contains("mit license")
        || t.contains("permission is hereby granted, free of charge")
    {
        Some("MIT")
    } else if t.contains("isc license")
        || t.contains("permission to use, copy, modify, and/or distribute")
    {
        Some("ISC")
    } else if t.contains("redistribution and use in source and binary forms") {
        Some("BSD")
    } else {
        None
    };
    match hint {
        Some(h) => ("permissive", h.to_string()),
        None => {
            let first = text
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty())
                .unwrap_or("");
            ("non-permissive", first.chars().take(80).collect())
        }
    }
}

/// The first license file directly in a tree.
pub fn license_in(tree: &Path) -> Option<String> {
    LICENSE_NAMES.iter().find_map(|n| {
        let p = tree.join(n);
        fs::symlink_metadata(&p)
            .ok()
            .filter(|m| m.is_file())
            .and_then(|_| fs::read_to_string(&p).ok())
    })
}

/// Risk labels of a tree (never `.git`; the store holds none anyway).
pub fn risk_labels(tree: &Path) -> Vec<String> {
    risk_scan(tree).0
}

/// Risk labels of a tree and its scripts and executable files (relative
/// paths, sorted).
pub fn risk_scan(tree: &Path) -> (Vec<String>, Vec<String>) {
    let mut labels = std::collections::BTreeSet::new();
    let mut exes = Vec::new();
    scan(tree, "", &mut labels, &mut exes);
    exes.sort();
    (labels.into_iter().map(String::from).collect(), exes)
}

fn scan(
    dir: &Path,
    prefix: &str,
    labels: &mut std::collections::BTreeSet<&'static str>,
    exes: &mut Vec<String>,
) {
    let Ok(rd) = fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        if e.file_name() == ".git" {
            continue;
        }
        let p = e.path();
        let rel = format!("{prefix}{}", e.file_name().to_string_lossy());
        let Ok(meta) = fs::symlink_metadata(&p) else {
            continue;
        };
        if meta.is_dir() {
            scan(&p, &format!("{rel}/"), labels, exes);
            continue;
        }
        if !meta.is_file() {
            continue;
        }
        let ext = p
            .extension()
            .and_then(|x| x.to_str())
            .unwrap_or("")
            .to_lowercase();
        let mut exe = true;
        match ext.as_str() {
            "sh" | "bash" | "zsh" => {
                labels.insert("contains-shell-script");
            }
            "py" | "pyw" => {
                labels.insert("contains-python-script");
            }
            "ps1" | "bat" | "cmd" => {
                labels.insert("contains-platform-script");
            }
            _ => exe = false,
        }
        if meta.permissions().mode() & 0o111 != 0 {
            labels.insert("contains-executable-permissions");
            exe = true;
        }
        if exe {
            exes.push(rel.clone());
        }
        let mut head = [0u8; 4];
        if let Ok(mut f) = fs::File::open(&p) {
            if let Ok(n) = f.read(&mut head) {
                let h = &head[..n];
                let binary = h.starts_with(b"\x7fELF")
                    || h.starts_with(b"MZ")
                    || [
                        [0xfe, 0xed, 0xfa, 0xce],
                        [0xfe, 0xed, 0xfa, 0xcf],
                        [0xce, 0xfa, 0xed, 0xfe],
                        [0xcf, 0xfa, 0xed, 0xfe],
                        [0xca, 0xfe, 0xba, 0xbe],
                    ]
                    .iter()
                    .any(|m| h == m);
                if binary {
                    labels.insert("contains-binary-artifact");
                }
            }
        }
    }
}

pub fn path(storage: &Path, id: &str) -> std::path::PathBuf {
    storage.join(".safety").join(format!("{id}.toml"))
}

pub fn load(storage: &Path, id: &str) -> Option<Safety> {
    toml::from_str(&fs::read_to_string(path(storage, id)).ok()?).ok()
}

pub fn save(storage: &Path, s: &Safety) -> std::io::Result<()> {
    let text = toml::to_string(s).map_err(std::io::Error::other)?;
    crate::fsutil::atomic_write(&path(storage, &s.skill_id), text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn licenses() {
        assert_eq!(license_of(Some("MIT License\n\nCopyright")).0, "permissive");
        assert_eq!(
            license_of(Some("Apache License\nVersion 2.0")).1,
            "Apache-2.0"
        );
        assert_eq!(license_of(Some("All rights reserved.")).0, "non-permissive");
        assert_eq!(license_of(None).0, "unknown");
    }

    #[test]
    fn labels() {
        let t = tempfile::tempdir().unwrap();
        fs::write(t.path().join("run.sh"), "echo").unwrap();
        fs::write(t.path().join("tool"), b"\x7fELF....").unwrap();
        fs::create_dir(t.path().join(".git")).unwrap();
        fs::write(t.path().join(".git/hook.py"), "x").unwrap();
        assert_eq!(
            risk_labels(t.path()),
            vec!["contains-binary-artifact", "contains-shell-script"]
        );
    }
}
