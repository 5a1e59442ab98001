//! Reading, compiling and loading a file, for the commands that need it;
//! diagnostics are printed as they come.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use anyhow::{anyhow, Context};
use lumen_compiler::resolve::Options;
use lumen_runtime::tools::Cassette;

use crate::diagnostics::report;

pub fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).map_err(|e| anyhow!("cannot read {}: {e}", path.display()))
}

/// The cassette of `--tools`, if given; a malformed one is a usage error.
pub fn cassette(path: Option<&Path>) -> anyhow::Result<Option<Cassette>> {
    path.map(|p| Cassette::load(p).map_err(anyhow::Error::from))
        .transpose()
}

/// The tool ids a cassette records: they count as replayable when the
/// program is checked under `@deterministic` (§10.6, §10.7).
fn cassette_tools(path: Option<&Path>) -> anyhow::Result<BTreeSet<String>> {
    let Some(p) = path else {
        return Ok(BTreeSet::new());
    };
    let text = read(p)?;
    let v: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| anyhow!("cassette {} is not valid JSON: {e}", p.display()))?;
    let list = v
        .get("interactions")
        .and_then(|i| i.as_array())
        .ok_or_else(|| {
            anyhow!(
                "cassette {}: expected an object with an `interactions` array",
                p.display()
            )
        })?;
    let mut ids = BTreeSet::new();
    for (i, it) in list.iter().enumerate() {
        let tool = it.get("tool").and_then(|t| t.as_str()).ok_or_else(|| {
            anyhow!(
                "cassette {}: interaction {i} has no string `tool`",
                p.display()
            )
        })?;
        ids.insert(tool.to_string());
    }
    Ok(ids)
}

/// Checks (`lower` false) or compiles `path`, printing its diagnostics.
pub fn compile_file(
    path: &Path,
    tools: Option<&Path>,
    doc: bool,
    lower: bool,
) -> anyhow::Result<(lumen_compiler::Compilation, String)> {
    let text = read(path)?;
    let opts = Options {
        cassette_tools: cassette_tools(tools)?,
        doc_mode: doc,
    };
    let name = path.display().to_string();
    let c = if lower {
        lumen_compiler::compile(&name, &text, &opts)
    } else {
        lumen_compiler::check(&name, &text, &opts)
    };
    let code = c.sources.first().map(|s| s.1.clone()).unwrap_or(text);
    report(&name, &code, &c.diagnostics);
    Ok((c, name))
}

/// A compiled, loaded program and the name its stack traces show.
pub struct Loaded {
    pub prog: Rc<lumen_vm::Program>,
    pub name: String,
}

/// Compiles and loads `path`; `None` when it does not compile (its
/// diagnostics were printed).
pub fn load(path: &Path, tools: Option<&Path>) -> anyhow::Result<Option<Loaded>> {
    let (c, name) = compile_file(path, tools, false, true)?;
    let Some(module) = c.module else {
        return Ok(None);
    };
    let prog = lumen_vm::Program::load(module).with_context(|| path.display().to_string())?;
    Ok(Some(Loaded {
        prog: Rc::new(prog),
        name,
    }))
}

/// Writes `data` to `path` through the atomic writer (`lumen_vm::fsio`).
pub fn write_atomic(path: &Path, data: &[u8]) -> anyhow::Result<()> {
    lumen_vm::fsio::write_atomic(path, data)
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Lumen files under `p` (recursively, sorted) or `p` itself.
pub fn lumen_files(p: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    if p.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(p)
            .map_err(|e| anyhow!("cannot read {}: {e}", p.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for e in entries {
            if e.is_dir() {
                lumen_files(&e, out)?;
            } else if lumen_compiler::source::FileKind::of(&e.display().to_string()).is_some() {
                out.push(e);
            }
        }
        Ok(())
    } else if p.exists() {
        out.push(p.to_path_buf());
        Ok(())
    } else {
        anyhow::bail!("{}: no such file or directory", p.display())
    }
}

/// The memory limit of a run: `--max-memory` MiB, else 80 % of the
/// machine's memory.
pub fn set_memory_limit(mib: Option<usize>) {
    lumen_vm::mem::set_limit(match mib {
        Some(m) => m.saturating_mul(1 << 20),
        None => lumen_vm::mem::default_limit(),
    });
}
