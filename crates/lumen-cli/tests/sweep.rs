//! The Markdown sweep: every `lumen` fence of the language reference
//! (`docs/lumen/reference.md`, or the file `$LUMEN_SPEC` names) must pass
//! `lumen check` in doc mode. Each fence is checked as its own document
//! (line numbers kept), next to stub modules for what it imports.

use std::path::PathBuf;

mod common;

use common::lumen;

fn spec() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("LUMEN_SPEC") {
        return Some(PathBuf::from(p));
    }
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/lumen/reference.md");
    p.is_file().then_some(p)
}

#[test]
fn every_reference_fence_checks_in_doc_mode() {
    let Some(path) = spec() else {
        eprintln!(
            "SKIPPED: the language reference (docs/lumen/reference.md or $LUMEN_SPEC) is not here"
        );
        return;
    };
    let text = std::fs::read_to_string(&path).expect("read the reference");
    let lines: Vec<&str> = text.split('\n').collect();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut checked = 0;
    let mut i = 0;
    while i < lines.len() {
        let t = lines[i].trim_start();
        if !(t.starts_with("```lumen") || t.starts_with("```lm")) {
            i += 1;
            continue;
        }
        let mut j = i + 1;
        while j < lines.len() && !lines[j].trim_start().starts_with("```") {
            j += 1;
        }
        let mut doc = vec![String::new(); lines.len()];
        doc[i] = lines[i].to_string();
        for k in i + 1..j.min(lines.len()) {
            doc[k] = lines[k].to_string();
        }
        if j < lines.len() {
            doc[j] = lines[j].to_string();
        }
        // Stub modules for `import a.b: x, y`.
        for line in &lines[i + 1..j] {
            let l = line.trim();
            if let Some(rest) = l.strip_prefix("import ") {
                let (module, names) = rest.split_once(':').unwrap_or((rest, ""));
                let file = dir
                    .path()
                    .join(format!("{}.lm", module.trim().replace('.', "/")));
                std::fs::create_dir_all(file.parent().unwrap()).unwrap();
                let mut stub = std::fs::read_to_string(&file).unwrap_or_default();
                for n in names.split(',') {
                    let n = n.split(" as ").next().unwrap_or("").trim();
                    if n.is_empty() || n == "*" || stub.contains(&format!(" {n}")) {
                        continue;
                    }
                    if n.starts_with(|c: char| c.is_ascii_uppercase()) {
                        stub.push_str(&format!("record {n}\n  side: Float\nend\n"));
                    } else {
                        stub.push_str(&format!("cell {n}(r: Float) -> Float = r\n"));
                    }
                }
                std::fs::write(&file, stub).unwrap();
            }
        }
        let file = dir.path().join(format!("fence_{}.lm.md", i + 1));
        std::fs::write(&file, doc.join("\n")).unwrap();
        let out = lumen()
            .args(["check", "--doc"])
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "reference fence at line {} fails `lumen check --doc`:\n{}",
            i + 1,
            String::from_utf8_lossy(&out.stderr)
        );
        checked += 1;
        i = j + 1;
    }
    assert!(
        checked >= 20,
        "only {checked} fences found in {}",
        path.display()
    );
}
