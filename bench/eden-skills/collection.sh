#!/usr/bin/env bash
# A large skill collection, as the real ones are: one repository of 150
# skills (SKILL.md with YAML front matter, scripts, nested references and
# assets; about 5,000 files), served over file://.
#
#   cold `install --all` into three agents (claude-code, cursor, codex),
#   symlink mode and --copy, beside the naive peer: `git clone --depth 1`
#   and `cp -r` of the same skills into the same three directories
#   warm `apply`, `plan --json` and `doctor` with 600 targets (four agents)
#
#   bench/eden-skills/collection.sh     results: bench/eden-skills/out/collection-*.md
#   BENCH_DIR=/var/tmp bench/eden-skills/collection.sh   (a real disk; default /dev/shm)
set -euo pipefail
cd "$(dirname "$0")/../.."
root="$PWD"
out="$root/bench/eden-skills/out"
mkdir -p "$out"
command -v hyperfine >/dev/null || apt-get install -y -qq hyperfine >/dev/null

cargo build --quiet --release -p eden-skills-cli
bin="$root/target/release/eden-skills"
bench_dir=${BENCH_DIR:-/dev/shm}
fs=$(findmnt -n -o FSTYPE -T "$bench_dir" 2>/dev/null | head -n 1)
[ -n "$fs" ] || fs=$(stat -f -c %T "$bench_dir" | tr -c "a-zA-Z0-9\n" "-")
work=$(mktemp -d -p "$bench_dir" eden-collection.XXXXXX)
trap 'rm -rf "$work"' EXIT
echo "== working in $bench_dir ($fs)"

repo="$work/collection"
python3 - "$repo" <<'PY'
import os, sys
root = sys.argv[1]
def w(path, text, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
w(os.path.join(root, "README.md"), "# A collection of 150 skills\n")
w(os.path.join(root, "LICENSE"), "MIT License\n\nPermission is hereby granted, free of charge\n")
for i in range(150):
    d = os.path.join(root, "skills", f"skill-{i:03}")
    w(os.path.join(d, "SKILL.md"),
      f"---\nname: skill-{i:03}\ndescription: |-\n  Benchmark skill {i}.\n  Use it when the task needs step {i}.\nlicense: MIT\n---\n"
      + "".join(f"\n## Step {k}\n\nDo the thing number {k} carefully.\n" for k in range(20)))
    w(os.path.join(d, "scripts", "run.py"), f"#!/usr/bin/env python3\nprint({i})\n", 0o755)
    w(os.path.join(d, "scripts", "setup.sh"), "#!/bin/sh\necho setup\n", 0o755)
    for k in range(20):
        w(os.path.join(d, "references", f"part-{k // 5}", f"ref-{k:02}.md"), f"# Reference {k} of skill {i}\n" + "text " * 200 + "\n")
    for k in range(9):
        w(os.path.join(d, "assets", f"template-{k}.txt"), f"template {k} for {i}\n" * 10)
PY
git -C "$repo" init -q -b main
git -C "$repo" -c user.email=b@b -c user.name=b add -A
git -C "$repo" -c user.email=b@b -c user.name=b commit -qm "150 skills"
files=$(git -C "$repo" ls-files | wc -l)
echo "collection: $files files in 150 skills"

home="$work/home"
cfg="$work/cfg/skills.toml"
agents3="-t claude-code -t cursor -t codex"
reset="rm -rf $work/cfg $work/storage $home $work/peer; mkdir -p $home $work/cfg; printf 'version = 1\n[storage]\nroot = \"$work/storage\"\n' > $cfg"
E="env HOME=$home"

cat > "$work/peer.sh" <<SH
#!/bin/sh
set -e
git clone -q --depth 1 "file://$repo" "$work/peer"
for d in .claude/skills .cursor/skills .codex/skills; do
  mkdir -p "$home/\$d"
  cp -r "$work/peer/skills/." "$home/\$d/"
done
SH
chmod +x "$work/peer.sh"

hyperfine --style basic --runs 5 --warmup 1 \
  --export-markdown "$out/collection-cold-$fs.md" --export-json "$out/collection-cold-$fs.json" \
  --prepare "$reset" \
  -n "eden-skills install --all (symlink, 3 agents)" "$E $bin --config $cfg install file://$repo --all $agents3" \
  -n "eden-skills install --all --copy (3 agents)" "$E $bin --config $cfg install file://$repo --all --copy $agents3" \
  -n "peer: git clone --depth 1 + cp -r (3 agents)" "$E $work/peer.sh"

# Warm, with 600 targets: 150 skills in four agents.
sh -c "$reset"
$E "$bin" --config "$cfg" install "file://$repo" --all $agents3 -t opencode >/dev/null
targets=$(grep -c '^path = ' "$work/cfg/skills.lock" || true)
echo "warm: $targets targets in the lock"
hyperfine -N --style basic --warmup 3 --runs 20 \
  --export-markdown "$out/collection-warm-$fs.md" --export-json "$out/collection-warm-$fs.json" \
  -n "apply (warm, 600 targets)" "$E $bin --config $cfg apply" \
  -n "plan --json (600 targets)" "$E $bin --config $cfg plan --json" \
  -n "doctor (600 targets)" "$E $bin --config $cfg doctor"
{
  echo "### Cold install of a 150-skill collection ($files files), three agents ($fs)"
  cat "$out/collection-cold-$fs.md"
  echo
  echo "### Warm commands, $targets targets ($fs)"
  cat "$out/collection-warm-$fs.md"
} > "$out/collection-$fs.md"
echo "results: $out/collection-$fs.md"
