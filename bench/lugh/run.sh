#!/usr/bin/env bash
# lugh's benchmarks, each with its same-run reference: IPC round trip beside
# std mpsc, HIGH waits beside one FIFO socket, swaps under load, restarts,
# storage beside SQLite. Figures go to docs/benchmarks.md.
#   bench/lugh/run.sh            full runs
#   bench/lugh/run.sh --quick    a few seconds each
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release -q -p lugh-cli
for what in ipc priority swap restart storage; do
    echo "== lugh bench $what $*"
    ./target/release/lugh bench "$what" --json "$@"
done
