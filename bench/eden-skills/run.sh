#!/usr/bin/env bash
# Whole-command benchmark of eden-skills: 50
# Mode A skills from 50 small file:// repositories, target claude-code, a
# git wrapper first on PATH adding 0.3 s to every clone/fetch/ls-remote/pull.
#
#   cold apply at --concurrency 1, at the default (10) and at 50
#   a serial shell loop (git clone + ln -s per skill) as the naive peer
#   warm no-op apply, plan --json, doctor
#
# Also checks the concurrency bound (peak simultaneous remote operations = concurrency)
# and that warm apply and plan start no git process.
#
#   bench/eden-skills/run.sh            results: bench/eden-skills/out/*.md
set -euo pipefail
cd "$(dirname "$0")/../.."
root="$PWD"
out="$root/bench/eden-skills/out"
mkdir -p "$out"
command -v hyperfine >/dev/null || apt-get install -y -qq hyperfine >/dev/null

cargo build --quiet --release -p eden-skills-cli
bin="$root/target/release/eden-skills"
work=$(mktemp -d -p /dev/shm eden-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT

export REAL_GIT
REAL_GIT=$(command -v git)
mkdir -p "$work/bin" "$work/repos" "$work/home"
cp "$root/crates/eden-skills-cli/tests/fixtures/git-wrapper" "$work/bin/git"
export EDEN_TEST_GIT_LOG="$work/git.log" EDEN_TEST_GIT_SLEEP=0.3

cfg="$work/skills.toml"
printf 'version = 1\n[storage]\nroot = "%s/storage"\n' "$work" > "$cfg"
for i in $(seq -w 1 50); do
  d="$work/repos/skill-$i"
  mkdir -p "$d/scripts"
  printf -- '---\nname: skill-%s\ndescription: benchmark skill %s\n---\nSteps for %s.\n' "$i" "$i" "$i" > "$d/SKILL.md"
  printf 'MIT License\n\nPermission is hereby granted, free of charge\n' > "$d/LICENSE"
  printf '# notes %s\n' "$i" > "$d/scripts/notes.md"
  git -C "$d" init -q -b main
  git -C "$d" -c user.email=b@b -c user.name=b add -A
  git -C "$d" -c user.email=b@b -c user.name=b commit -qm init
  printf '\n[[skills]]\nid = "skill-%s"\nsource = { repo = "file://%s" }\n[[skills.targets]]\nagent = "claude-code"\n' "$i" "$d" >> "$cfg"
  echo "$d" >> "$work/repo-list"
done

reset="rm -rf $work/storage $work/skills.lock $work/home/.claude $work/peer $work/git.log $work/git.log.all"
run() { env HOME="$work/home" PATH="$work/bin:$PATH" "$@"; }
export -f run 2>/dev/null || true

# The naive peer: what a shell loop does, one skill after another.
cat > "$work/peer.sh" <<SH
#!/bin/sh
mkdir -p $work/peer $work/home/.claude/skills
while read -r d; do
  n=\$(basename "\$d")
  git clone -q --depth 1 "file://\$d" "$work/peer/\$n" && ln -sfn "$work/peer/\$n" "$work/home/.claude/skills/\$n"
done < $work/repo-list
SH
chmod +x "$work/peer.sh"

P="PATH=$work/bin:$PATH HOME=$work/home"
hyperfine --style basic --export-markdown "$out/cold.md" --export-json "$out/cold.json" \
  --prepare "$reset" --runs 3 \
  -n "cold apply --concurrency 1" "env $P $bin --config $cfg apply --concurrency 1" \
  -n "cold apply (default 10)" "env $P $bin --config $cfg apply" \
  -n "cold apply --concurrency 50" "env $P $bin --config $cfg apply --concurrency 50" \
  -n "peer: serial shell loop (clone --depth 1 + ln -s)" "env $P $work/peer.sh"

# The concurrency bound: peak remote operations in flight.
for c in 1 10 50; do
  sh -c "$reset"
  env $P "$bin" --config "$cfg" apply --concurrency "$c" >/dev/null
  peak=$(awk '/^start/{n++; if(n>m)m=n} /^end/{n--} END{print m+0}' "$work/git.log")
  echo "concurrency $c: peak simultaneous remote git operations = $peak"
done | tee "$out/peak.txt"

# Warm: everything in place.
rm -f "$work/git.log.all"
hyperfine -N --style basic --export-markdown "$out/warm.md" --export-json "$out/warm.json" \
  --warmup 3 --runs 20 \
  -n "warm no-op apply" "env PATH=$work/bin:$PATH HOME=$work/home $bin --config $cfg apply" \
  -n "plan --json" "env PATH=$work/bin:$PATH HOME=$work/home $bin --config $cfg plan --json" \
  -n "doctor (hashing 50 store entries)" "env PATH=$work/bin:$PATH HOME=$work/home $bin --config $cfg doctor"
if [ -s "$work/git.log.all" ]; then
  echo "FAIL: warm commands started git:" >&2; head "$work/git.log.all" >&2; exit 1
fi
echo "warm apply, plan and doctor started no git process" | tee -a "$out/peak.txt"
cat "$out/cold.md" "$out/warm.md"
