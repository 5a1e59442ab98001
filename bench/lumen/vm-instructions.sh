#!/usr/bin/env bash
# Instructions executed by the Lumen VM and by Lua 5.4 on the six kernels
# (bench/lumen/kernels), counted by callgrind: unlike wall time on a shared
# machine, the count is the same from run to run, so a change to the
# interpreter can be judged by it. Each kernel runs at a tenth of its size
# (fib(22) for fib(32)): valgrind is slow, and the ratio does not depend on
# the size. Prints a markdown table for docs/benchmarks.md.
#   bench/lumen/vm-instructions.sh            all kernels
#   bench/lumen/vm-instructions.sh fib sieve  some of them
#   LUMEN_BIN=/tmp/lumen-old bench/lumen/vm-instructions.sh
#                                             another build (old and new
#                                             binary compared, same inputs)
set -euo pipefail
cd "$(dirname "$0")/../.."
./scripts/bootstrap
command -v valgrind >/dev/null || { echo "vm-instructions.sh: valgrind is missing (apt-get install valgrind)" >&2; exit 1; }
command -v lua5.4 >/dev/null || { echo "vm-instructions.sh: lua5.4 is missing (scripts/bootstrap installs it)" >&2; exit 1; }
if [ -n "${LUMEN_BIN:-}" ]; then
  lumen=$LUMEN_BIN
else
  cargo build --quiet --release -p lumen-cli
  lumen=$PWD/target/release/lumen
fi
kernels=("$@")
[ ${#kernels[@]} -gt 0 ] || kernels=(fib loop calls sieve strings records)
small=$(mktemp -d)
trap 'rm -rf "$small"' EXIT
# The smaller sizes, as sed expressions over both versions of a kernel.
shrink() {
  case $1 in
    fib) echo 's/fib(32)/fib(22)/' ;;
    loop) echo 's/10000000/1000000/; s/9999999/999999/' ;;
    calls) echo 's/5000000/500000/' ;;
    sieve) echo 's/1000000/100000/' ;;
    strings | records) echo 's/200000/20000/; s/199999/19999/' ;;
    *) echo "vm-instructions.sh: unknown kernel $1" >&2; exit 1 ;;
  esac
}
count() {
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null |
    sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
echo "| kernel (reduced) | Lumen | Lua 5.4 | Lumen / Lua |"
echo "|---|---:|---:|---:|"
for k in "${kernels[@]}"; do
  e=$(shrink "$k")
  sed "$e" "bench/lumen/kernels/$k.lm" >"$small/$k.lm"
  sed "$e" "bench/lumen/kernels/$k.lua" >"$small/$k.lua"
  a=$("$lumen" run "$small/$k.lm")
  b=$(lua5.4 "$small/$k.lua")
  [ "$a" = "$b" ] || { echo "vm-instructions.sh: $k: results differ: lumen '$a', lua '$b'" >&2; exit 1; }
  x=$(count "$lumen" run "$small/$k.lm")
  y=$(count lua5.4 "$small/$k.lua")
  awk -v k="$k" -v x="$x" -v y="$y" \
    'BEGIN { printf "| %s | %.1f M | %.1f M | %.2f |\n", k, x / 1e6, y / 1e6, x / y }'
  [ -z "${VERBOSE:-}" ] || echo "$k: lumen $x, lua $y instructions" >&2
done
