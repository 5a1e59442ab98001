//! Function-level benchmarks: the content hash of a skill tree and the
//! validation of a 50-skill config (what every warm command pays).

use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion};
use eden_skills::config::Config;
use eden_skills::store;

fn config_text(n: usize) -> String {
    let mut s = String::from("version = 1\n[storage]\nroot = \"/tmp/eden-bench\"\n");
    for i in 0..n {
        s.push_str(&format!(
            "\n[[skills]]\nid = \"skill-{i}\"\nsource = {{ repo = \"file:///srv/skills/s{i}.git\", ref = \"main\" }}\n[[skills.targets]]\nagent = \"claude-code\"\n"
        ));
    }
    s
}

fn benches(c: &mut Criterion) {
    let text = config_text(50);
    c.bench_function("config_parse_50_skills", |b| {
        b.iter(|| {
            Config::parse(
                &text,
                Path::new("/etc/eden/skills.toml"),
                Path::new("/home/u"),
            )
            .unwrap()
        })
    });
    let t = tempfile::tempdir().unwrap();
    for i in 0..20 {
        let d = t.path().join(format!("d{}", i % 4));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join(format!("f{i}.md")), "x".repeat(4096)).unwrap();
    }
    std::fs::write(t.path().join("SKILL.md"), "---\nname: b\n---\n").unwrap();
    c.bench_function("hash_dir_21_files_84k", |b| {
        b.iter(|| store::hash_dir(t.path()).unwrap())
    });
}

criterion_group!(g, benches);
criterion_main!(g);
