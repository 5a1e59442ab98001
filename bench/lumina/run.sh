#!/usr/bin/env bash
# Side-by-side benchmark of `lumina sync` against GNU Stow (--no-folding),
# dotter and dotbot, for profiles of 100, 1,000 and 10,000 files in nested
# directories: first deploy and no-op re-run, timed with hyperfine in the
# same run. Registry parse time is measured with criterion
# (cargo bench -p lumina --bench registry).
#
#   bench/lumina/run.sh [SIZES...]     default: 100 1000 10000
#   BENCH_DIR=/var/tmp bench/lumina/run.sh
#                                      where the profiles and homes live:
#                                      default /dev/shm (tmpfs); give a
#                                      directory on a real disk (ext4) to
#                                      measure with its journal and fsyncs
#
# Installs the peers if missing: stow (Debian), dotter (crates.io, into
# /opt/bench-peers), dotbot (PyPI). Results: bench/lumina/out/*.md and .json.
set -euo pipefail
cd "$(dirname "$0")/../.."
root="$PWD"
out="$root/bench/lumina/out"
mkdir -p "$out"
sizes=("$@"); [ ${#sizes[@]} -gt 0 ] || sizes=(100 1000 10000)

command -v hyperfine >/dev/null || apt-get install -y -qq hyperfine >/dev/null
command -v stow >/dev/null || apt-get install -y -qq stow >/dev/null
export PATH="/opt/bench-peers/bin:$PATH"
command -v dotter >/dev/null || cargo install --quiet --locked dotter --root /opt/bench-peers
command -v dotbot >/dev/null || pip install --quiet dotbot

cargo build --quiet --release -p lumina-cli
lumina="$root/target/release/lumina"

bench_dir=${BENCH_DIR:-/dev/shm}
fs=$(findmnt -n -o FSTYPE -T "$bench_dir" 2>/dev/null | head -n 1)
[ -n "$fs" ] || fs=$(stat -f -c %T "$bench_dir" | tr -c "a-zA-Z0-9\n" "-")
echo "== working in $bench_dir ($fs)"
work=$(mktemp -d -p "$bench_dir" lumina-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT

# Profile: 10 packages, each a tree pkgN/.cfgN/dA/dB/fileC, N files in all.
make_profile() {
  local n=$1 dir=$2 per=$(( $1 / 10 ))
  mkdir -p "$dir"
  python3 - "$dir" "$per" <<'PY'
import os, sys
d, per = sys.argv[1], int(sys.argv[2])
for p in range(10):
    for i in range(per):
        sub = os.path.join(d, f"pkg{p}", f".cfg{p}", f"d{i % 10}", f"e{(i // 10) % 10}")
        os.makedirs(sub, exist_ok=True)
        with open(os.path.join(sub, f"file{i}.conf"), "w") as f:
            f.write(f"setting_{p}_{i} = {i}\n")
PY
  {
    echo "version: 1.0"
    echo "modules:"
    for p in $(seq 0 9); do
      printf '  pkg%s:\n    source: ./pkg%s/.cfg%s\n    target: ~/.cfg%s\n' "$p" "$p" "$p" "$p"
    done
  } > "$dir/lumina.yaml"
  mkdir -p "$dir/.dotter"
  {
    for p in $(seq 0 9); do
      printf '[pkg%s.files]\n"%s/pkg%s/.cfg%s" = { target = "~/.cfg%s", type = "symbolic" }\n' "$p" "$dir" "$p" "$p" "$p"
    done
  } > "$dir/.dotter/global.toml"
  {
    printf 'packages = ['
    for p in $(seq 0 9); do printf '"pkg%s",' "$p"; done
    printf ']\n'
  } > "$dir/.dotter/local.toml"
  ( cd "$dir" && {
      echo "- defaults:"
      echo "    link:"
      echo "      create: true"
      echo "- link:"
      find pkg* -type f | sed -E 's#^pkg[0-9]+/(.*)$#    ~/\1: &#'
    } > install.conf.yaml )
}

results_md="$out/lumina-sync-$fs.md"
: > "$results_md"
for n in "${sizes[@]}"; do
  prof="$work/profile-$n"
  make_profile "$n" "$prof"
  H="$work/home-$n"
  stow_pkgs=$(cd "$prof" && ls -d pkg* | tr '\n' ' ')
  # `sync` at the end: deletes of the previous run must not be flushed
  # during the next measured one (on a real disk that costs seconds).
  reset="rm -rf $H $prof/.dotter/cache.toml $prof/.dotter/cache; mkdir -p $H; sync"
  export HOME="$H"
  echo "== $n files: first deploy"
  # More runs where one run is short, so one scheduling hiccup cannot
  # decide the mean.
  runs=30; [ "$n" -ge 10000 ] && runs=10
  hyperfine --style basic --warmup 1 --runs "$runs" --export-markdown "$out/first-$fs-$n.md" --export-json "$out/first-$fs-$n.json" \
    -n lumina --prepare "$reset" "HOME=$H LUMINA_REGISTRY=$prof/lumina.yaml $lumina sync >/dev/null" \
    -n stow --prepare "$reset" "stow --no-folding -d $prof -t $H $stow_pkgs" \
    -n dotter --prepare "$reset" "cd $prof && HOME=$H dotter deploy --quiet --force >/dev/null" \
    -n dotbot --prepare "$reset" "cd $prof && HOME=$H dotbot -Q -d $prof -c install.conf.yaml >/dev/null"
  echo "== $n files: no-op re-run"
  # No shell here (-N): every tool is exec'd through env(1) with its paths as
  # flags, so small cases are not swamped by a shell wrapper.
  rm -rf "$H"; mkdir -p "$H" "$H.stow" "$H.dotter" "$H.dotbot"
  HOME=$H LUMINA_REGISTRY=$prof/lumina.yaml "$lumina" sync >/dev/null
  stow --no-folding -d "$prof" -t "$H.stow" $stow_pkgs
  dotter_flags="-g $prof/.dotter/global.toml -l $prof/.dotter/local.toml --cache-file $prof/.dotter/cache.toml --cache-directory $prof/.dotter/cache"
  HOME=$H.dotter dotter $dotter_flags deploy --quiet --force >/dev/null
  HOME=$H.dotbot dotbot -Q -d "$prof" -c "$prof/install.conf.yaml" >/dev/null
  sleep 2  # let lumina's stat stamp become trustworthy (see linker/stamp.rs)
  hyperfine -N --style basic --warmup 3 --runs 30 --export-markdown "$out/noop-$fs-$n.md" --export-json "$out/noop-$fs-$n.json" \
    -n lumina "env HOME=$H LUMINA_REGISTRY=$prof/lumina.yaml $lumina sync" \
    -n stow "stow --no-folding -d $prof -t $H.stow $stow_pkgs" \
    -n dotter "env HOME=$H.dotter dotter $dotter_flags deploy --quiet" \
    -n dotbot "env HOME=$H.dotbot dotbot -Q -d $prof -c $prof/install.conf.yaml"
  { echo "### $n files, first deploy ($fs)"; cat "$out/first-$fs-$n.md"; echo; echo "### $n files, no-op re-run ($fs)"; cat "$out/noop-$fs-$n.md"; echo; } >> "$results_md"
done
echo "results: $results_md"
