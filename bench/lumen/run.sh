#!/usr/bin/env bash
# Lumen front-end throughput on a generated 100,000-line program (criterion;
# elements = lines). Figures go to docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo bench -q -p lumen-compiler --bench front -- --noplot "$@"
