//! `lumen fmt [--check] FILE...`: canonical style (only Lumen fences
//! change in Markdown); `--check` lists the files that would change.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::compile::{read, write_atomic};
use crate::diagnostics::report;

pub fn fmt(files: &[PathBuf], check: bool) -> anyhow::Result<ExitCode> {
    let mut changed = 0;
    let mut failed = false;
    for f in files {
        let text = read(f)?;
        let name = f.display().to_string();
        match lumen_compiler::fmt::format(&name, &text) {
            Err(diags) => {
                let code = lumen_compiler::extract(&name, &text).code;
                report(&name, &code, &diags);
                failed = true;
            }
            Ok(out) if out != text => {
                changed += 1;
                if check {
                    println!("{name}");
                } else {
                    write_atomic(f, out.as_bytes())?;
                }
            }
            Ok(_) => {}
        }
    }
    Ok(ExitCode::from(u8::from(failed || (check && changed > 0))))
}
