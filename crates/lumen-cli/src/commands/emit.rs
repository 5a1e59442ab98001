//! `lumen emit FILE [-o OUT]`: the LIR module as JSON.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use crate::compile::{compile_file, write_atomic};

pub fn emit(file: &Path, out: Option<&Path>, tools: Option<&Path>) -> anyhow::Result<ExitCode> {
    let (c, _) = compile_file(file, tools, false, true)?;
    let Some(m) = c.module else {
        return Ok(ExitCode::from(1));
    };
    let json = serde_json::to_string(&m)?;
    match out {
        Some(out) => write_atomic(out, json.as_bytes())?,
        None => {
            let mut so = std::io::stdout().lock();
            so.write_all(json.as_bytes())?;
            so.write_all(b"\n")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
