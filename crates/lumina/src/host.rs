//! This machine as `hosts:` and templates see it: its hardware (DMI), its
//! hostname, and its tags. Tags are machine-local, not part of the profile:
//! `lumina tag add|remove|list` keeps them in `~/.lumina/host.json`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::env::Env;
use crate::error::{Error, IoContext, Result};
use crate::hardware::{self, Hardware};

/// The machine a sync runs on.
#[derive(Debug, Clone, Serialize)]
pub struct Host {
    pub hardware: Hardware,
    pub hostname: String,
    pub tags: Vec<String>,
}

impl Host {
    pub fn detect(env: &Env) -> Result<Host> {
        Ok(Host {
            hardware: hardware::detect(&env.sysfs_root),
            hostname: hostname(),
            tags: load_tags(&env.lumina_home)?.into_iter().collect(),
        })
    }

    /// Whether one `hosts:` entry names this machine: its hardware slug,
    /// its hostname, or `tag:NAME` for one of its tags.
    pub fn matches(&self, entry: &str) -> bool {
        match entry.strip_prefix("tag:") {
            Some(tag) => self.tags.iter().any(|t| t == tag),
            None => entry == self.hardware.slug || entry == self.hostname,
        }
    }

    /// How `status` and the inactive list describe the machine.
    pub fn describe(&self) -> String {
        let mut s = format!("{} ({})", self.hostname, self.hardware.slug);
        if !self.tags.is_empty() {
            s.push_str(&format!(", tags {}", self.tags.join(", ")));
        }
        s
    }
}

/// The hostname: `$LUMINA_HOSTNAME` when set (tests, containers whose
/// hostname is random), else gethostname(2).
pub fn hostname() -> String {
    if let Some(h) = std::env::var("LUMINA_HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
    {
        return h;
    }
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes at
    // most that many bytes.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return "localhost".into();
    }
    let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct HostFile {
    version: u32,
    tags: BTreeSet<String>,
}

pub fn tags_path(lumina_home: &Path) -> PathBuf {
    lumina_home.join("host.json")
}

/// This machine's tags (none when the file does not exist).
pub fn load_tags(lumina_home: &Path) -> Result<BTreeSet<String>> {
    let p = tags_path(lumina_home);
    match std::fs::read(&p) {
        Ok(b) => serde_json::from_slice::<HostFile>(&b)
            .map(|f| f.tags)
            .map_err(|e| {
                Error::Runtime(format!(
                    "{} is damaged ({e}); fix it or delete it and add the tags again with `lumina tag add`",
                    p.display()
                ))
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeSet::new()),
        Err(e) => Err(Error::io(format!("reading {}", p.display()), e)),
    }
}

/// Adds (`add`) or removes tags and writes the file atomically; returns the
/// tags afterwards.
pub fn edit_tags(lumina_home: &Path, names: &[String], add: bool) -> Result<BTreeSet<String>> {
    for n in names {
        if !crate::registry::valid_name(n) {
            return Err(Error::Usage(format!(
                "'{n}' is not a valid tag: use letters, digits, '-', '_' or '.'"
            )));
        }
    }
    let mut tags = load_tags(lumina_home)?;
    for n in names {
        if add {
            tags.insert(n.clone());
        } else {
            tags.remove(n);
        }
    }
    std::fs::create_dir_all(lumina_home).ctx(|| format!("creating {}", lumina_home.display()))?;
    let file = HostFile {
        version: 1,
        tags: tags.clone(),
    };
    let json = serde_json::to_vec_pretty(&file).map_err(|e| Error::Runtime(e.to_string()))?;
    let p = tags_path(lumina_home);
    crate::fsops::write_atomic(&p, &json, crate::fsops::Durability::Durable)
        .ctx(|| format!("writing {}", p.display()))?;
    Ok(tags)
}
