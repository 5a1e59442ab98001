//! `lumen test PATH...`: the tests of every Lumen file under the paths,
//! one line each, then `N passed, M failed`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::compile::{cassette, load, lumen_files, set_memory_limit};

pub fn test(
    paths: &[PathBuf],
    filter: Option<&str>,
    tools: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    set_memory_limit(None);
    // A malformed cassette is a usage error before anything runs.
    cassette(tools)?;
    let mut files = Vec::new();
    for p in paths {
        lumen_files(p, &mut files)?;
    }
    let several = files.len() > 1;
    let (mut passed, mut failed) = (0usize, 0usize);
    let mut so = std::io::stdout();
    for f in &files {
        let fname = f.display().to_string();
        let Some(l) = load(f, tools)? else {
            writeln!(so, "test {fname} ... FAILED")?;
            failed += 1;
            continue;
        };
        for t in lumen_runtime::test::tests_of(&l.prog, filter) {
            let cname = l.prog.cells[t as usize].name.to_string();
            let name = if several {
                format!("{fname}::{cname}")
            } else {
                cname
            };
            // A fresh cassette per test: nothing is shared between tests.
            match lumen_runtime::test::run_test(&l.prog, &l.name, t, &name, cassette(tools)?) {
                Ok(()) => {
                    writeln!(so, "test {name} ... ok")?;
                    passed += 1;
                }
                Err(m) => {
                    writeln!(so, "test {name} ... FAILED")?;
                    so.flush()?;
                    eprintln!("{m}");
                    failed += 1;
                }
            }
            so.flush()?;
        }
    }
    writeln!(so, "{passed} passed, {failed} failed")?;
    Ok(ExitCode::from(u8::from(failed > 0)))
}
