#!/usr/bin/env bash
# The Lumen VM beside Lua 5.4 and Python 3 on six kernels (bench/lumen/
# kernels/NAME.{lm,lua,py}). Each kernel's three programs must print the
# same result, then hyperfine times them side by side in one run.
#   bench/lumen/vm.sh            all kernels
#   bench/lumen/vm.sh fib sieve  some of them
# Extra hyperfine flags can go in HYPERFINE_OPTS (e.g. "--runs 3").
set -euo pipefail
cd "$(dirname "$0")/../.."
./scripts/bootstrap
cargo build --quiet --release -p lumen-cli
lumen=target/release/lumen
lua=$(command -v lua5.4 || true)
py=$(command -v python3 || true)
[ -n "$lua" ] || { echo "vm.sh: lua5.4 is missing (scripts/bootstrap installs it)" >&2; exit 1; }
[ -n "$py" ] || { echo "vm.sh: python3 is missing" >&2; exit 1; }
kernels=("$@")
[ ${#kernels[@]} -gt 0 ] || kernels=(fib loop calls sieve strings records)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for k in "${kernels[@]}"; do
  d=bench/lumen/kernels
  a=$("$lumen" run "$d/$k.lm")
  b=$("$lua" "$d/$k.lua")
  c=$("$py" "$d/$k.py")
  if [ "$a" != "$b" ] || [ "$a" != "$c" ]; then
    echo "vm.sh: $k: results differ: lumen '$a', lua '$b', python '$c'" >&2
    exit 1
  fi
  echo "== $k: all three print $a"
  # shellcheck disable=SC2086
  hyperfine --warmup 1 --style basic ${HYPERFINE_OPTS:-} \
    --export-markdown "$out/$k.md" \
    -n lumen "$lumen run $d/$k.lm" \
    -n lua "$lua $d/$k.lua" \
    -n python "$py $d/$k.py"
done
echo
echo "Markdown tables (for docs/benchmarks.md):"
cat "$out"/*.md
