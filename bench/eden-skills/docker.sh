#!/usr/bin/env bash
# Docker injection: 20 skills from local folders copied into one running
# container (no volume) by `eden-skills apply`, cold and warm, beside a
# serial shell loop of `docker cp` (the naive peer).
#
#   bench/eden-skills/docker.sh         results: bench/eden-skills/out/docker.md
set -euo pipefail
cd "$(dirname "$0")/../.."
root="$PWD"
out="$root/bench/eden-skills/out"
mkdir -p "$out"
command -v hyperfine >/dev/null || apt-get install -y -qq hyperfine >/dev/null
docker info >/dev/null 2>&1 || { echo "no Docker engine answers; nothing to measure" >&2; exit 1; }
cargo build --quiet --release -p eden-skills-cli
bin="$root/target/release/eden-skills"
work=$(mktemp -d -p /dev/shm eden-docker-bench.XXXXXX)
container="eden-bench-$$"
trap 'docker rm -f "$container" >/dev/null 2>&1; rm -rf "$work"' EXIT

img="$work/rootfs"
mkdir -p "$img/bin" "$img/etc" "$img/root" "$img/tmp"
cp /bin/busybox "$img/bin/"
for a in sh id mkdir mv rm test cat ls sleep; do ln -s busybox "$img/bin/$a"; done
printf 'root:x:0:0:root:/root:/bin/sh\n' > "$img/etc/passwd"
tar --numeric-owner --owner=0 --group=0 -C "$img" -cf "$img.tar" .
docker import -c 'ENV PATH=/bin' "$img.tar" eden-skills-bench/busybox:1 >/dev/null
docker run -d --network none --name "$container" eden-skills-bench/busybox:1 sleep 3600 >/dev/null

mkdir -p "$work/home"
cfg="$work/skills.toml"
printf 'version = 1\n[storage]\nroot = "%s/storage"\n' "$work" > "$cfg"
for i in $(seq -w 1 20); do
  d="$work/skills/skill-$i"
  mkdir -p "$d/docs"
  printf -- '---\nname: skill-%s\n---\nSteps.\n' "$i" > "$d/SKILL.md"
  printf 'notes %s\n' "$i" > "$d/docs/notes.md"
  printf '\n[[skills]]\nid = "skill-%s"\nsource = { repo = "%s" }\ninstall = { mode = "copy" }\ntarget = "docker:%s"\n' "$i" "$d" "$container" >> "$cfg"
done
cat > "$work/peer.sh" <<SH
#!/bin/sh
docker exec $container mkdir -p /root/peer
for d in $work/skills/*; do docker cp "\$d" $container:/root/peer/; done
SH
chmod +x "$work/peer.sh"

reset="rm -rf $work/storage $work/skills.lock; docker exec $container rm -rf /root/.claude /root/peer"
hyperfine --style basic --export-markdown "$out/docker.md" --runs 5 --prepare "$reset" \
  -n "cold apply, 20 skills into one container" "env HOME=$work/home $bin --config $cfg apply" \
  -n "peer: serial docker cp loop" "$work/peer.sh"
env HOME="$work/home" "$bin" --config "$cfg" apply >/dev/null
hyperfine -N --style basic --export-markdown "$out/docker-warm.md" --warmup 2 --runs 10 \
  -n "warm no-op apply (20 docker targets)" "env HOME=$work/home $bin --config $cfg apply"
docker rmi eden-skills-bench/busybox:1 >/dev/null 2>&1 || true
cat "$out/docker.md" "$out/docker-warm.md"
