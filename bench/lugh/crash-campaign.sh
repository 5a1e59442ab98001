#!/usr/bin/env bash
# The full storage crash campaign: the storage service as its own process,
# SIGKILLed at random points during commits, recovered after each kill.
# CI runs 100 kills; this runs 1,000 (or $1). Record the last line in
# docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
LUGH_CRASH_RUNS="${1:-1000}" cargo test --release -q -p lugh-cli --test kv_crash -- --nocapture 2>&1 |
    grep -E '^crash test|panicked|test result'
