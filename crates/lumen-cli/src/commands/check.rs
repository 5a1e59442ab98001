//! `lumen check FILE`: compile without running; exit 1 on any error.

use std::path::Path;
use std::process::ExitCode;

use crate::compile::compile_file;

pub fn check(file: &Path, tools: Option<&Path>, doc: bool) -> anyhow::Result<ExitCode> {
    let (c, _) = compile_file(file, tools, doc, false)?;
    Ok(ExitCode::from(u8::from(c.has_errors())))
}
