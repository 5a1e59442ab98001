//! Registry parse time (target: < 10 ms; goal: a 100-module registry
//! under 1 ms). Run: cargo bench -p lumina --bench registry

use std::hint::black_box;
use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion};

fn registry_text(modules: usize) -> String {
    let mut s = String::from("# generated benchmark registry\nversion: 1.0\nmetadata:\n  identity: \"bench\"\n  target: \"Framework-13-AMD\"\nmodules:\n");
    for i in 0..modules {
        s.push_str(&format!(
            "  # module {i}\n  module{i}:\n    source: \"./config/module{i}\"\n    target: \"~/.config/module{i}\"\n    enabled: true\n    mode: link\n    on_conflict: backup\n    hosts: [Framework-13-AMD, Framework-16-AMD]\n"
        ));
    }
    s.push_str("  orchestration:\n    missions:\n      nebula:\n        path: \"~/Projects/nebula\"\n        image: \"lumina/rust-mission:latest\"\n        env:\n          - KEY=VAL\n");
    s
}

/// A registry as `lumina add` writes it: source, target, enabled.
fn plain_registry_text(modules: usize) -> String {
    let mut s = String::from(
        "version: 1.0\nmetadata:\n  identity: bench\n  target: Framework-13-AMD\nmodules:\n",
    );
    for i in 0..modules {
        s.push_str(&format!(
            "  module{i}:\n    source: ./config/module{i}\n    target: ~/.config/module{i}\n    enabled: true\n"
        ));
    }
    s
}

fn parse(text: &str) -> lumina::registry::Registry {
    lumina::registry::parse(Path::new("/p/lumina.yaml"), black_box(text), true).unwrap()
}

fn bench(c: &mut Criterion) {
    for n in [1usize, 100] {
        let text = registry_text(n);
        c.bench_function(&format!("parse registry, {n} modules, every field"), |b| {
            b.iter(|| parse(&text))
        });
    }
    let text = plain_registry_text(100);
    c.bench_function(
        "parse registry, 100 modules as lumina add writes them",
        |b| b.iter(|| parse(&text)),
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
