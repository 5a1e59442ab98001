#!/usr/bin/env bash
# `eden-skills update` over 20 registries (small git indexes, file://) with
# the git wrapper adding 0.3 s to every clone/fetch: first sync (20 shallow
# clones) and re-sync (20 fetches), at --concurrency 1 and the default 10.
#
#   bench/eden-skills/registries.sh     results: bench/eden-skills/out/registries.md
set -euo pipefail
cd "$(dirname "$0")/../.."
root="$PWD"
out="$root/bench/eden-skills/out"
mkdir -p "$out"
command -v hyperfine >/dev/null || apt-get install -y -qq hyperfine >/dev/null
cargo build --quiet --release -p eden-skills-cli
bin="$root/target/release/eden-skills"
work=$(mktemp -d -p /dev/shm eden-reg-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
export REAL_GIT
REAL_GIT=$(command -v git)
mkdir -p "$work/bin" "$work/home"
cp "$root/crates/eden-skills-cli/tests/fixtures/git-wrapper" "$work/bin/git"
export EDEN_TEST_GIT_LOG="$work/git.log" EDEN_TEST_GIT_SLEEP=0.3

cfg="$work/skills.toml"
printf 'version = 1\n[storage]\nroot = "%s/storage"\nregistries_root = "%s/registries"\n\n[registries]\n' "$work" "$work" > "$cfg"
for i in $(seq -w 1 20); do
  d="$work/index-$i"
  mkdir -p "$d/index/s"
  printf 'format_version = 1\nname = "r%s"\n' "$i" > "$d/manifest.toml"
  for j in $(seq 1 25); do
    printf '[skill]\nname = "skill-%s"\nrepo = "file:///srv/skill-%s"\n\n[[versions]]\nversion = "1.0.%s"\nref = "v1"\n' "$j" "$j" "$i" > "$d/index/s/skill-$j.toml"
  done
  git -C "$d" init -q -b main
  git -C "$d" -c user.email=b@b -c user.name=b add -A
  git -C "$d" -c user.email=b@b -c user.name=b commit -qm index
  printf 'r%s = { url = "file://%s", priority = %s }\n' "$i" "$d" "$((10#$i))" >> "$cfg"
done

P="PATH=$work/bin:$PATH HOME=$work/home"
# One --prepare per command: the first two start from nothing, the re-syncs
# from the copies the earlier runs left.
hyperfine --style basic --export-markdown "$out/registries.md" --runs 3 \
  --prepare "rm -rf $work/registries" --prepare "rm -rf $work/registries" \
  --prepare "env $P $bin --config $cfg update >/dev/null" --prepare "true" \
  -n "first update, --concurrency 1" "env $P $bin --config $cfg update --concurrency 1" \
  -n "first update (default 10)" "env $P $bin --config $cfg update" \
  -n "re-sync update, --concurrency 1" "env $P $bin --config $cfg update --concurrency 1" \
  -n "re-sync update (default 10)" "env $P $bin --config $cfg update"
cat "$out/registries.md"
