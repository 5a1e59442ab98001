#!/usr/bin/env bash
# The cost of the Contextual Flow hook, side by side with the per-directory
# hooks of direnv (`direnv export zsh`) and zoxide (`zoxide add`), timed by
# hyperfine in the same run:
#   - lumina flow for an unchanged directory (the state-file fast path);
#   - lumina flow for a context change, against lumina-fake-hyprland (the
#     stand-in socket answers in microseconds, so this is lumina's own cost).
# lumina is the static release binary scripts/check-release builds (what is
# shipped); the ordinary dynamic `cargo build --release` is shown beside it.
#
#   bench/lumina/flow.sh        results: bench/lumina/out/flow.md and .json
set -euo pipefail
cd "$(dirname "$0")/../.."
root="$PWD"
out="$root/bench/lumina/out"
mkdir -p "$out"
./scripts/bootstrap   # hyperfine, direnv, zoxide
cargo build --quiet --release -p lumina-cli -p lumina-fakes
./scripts/check-release >/dev/null   # the shipped static binary
static="$root/target/$(rustc -vV | sed -n 's/^host: //p')/release/lumina"
export PATH="$root/target/release:$PATH"

work=$(mktemp -d -p /dev/shm lumina-flow-bench.XXXXXX)
hpid=""
trap '[ -n "$hpid" ] && kill "$hpid" 2>/dev/null; rm -rf "$work"' EXIT
export HOME="$work/home" XDG_RUNTIME_DIR="$work/run" XDG_STATE_HOME="$work/state"
export XDG_DATA_HOME="$work/data" XDG_CONFIG_HOME="$work/config"
export HYPRLAND_INSTANCE_SIGNATURE=bench LUMINA_REGISTRY="$work/profile/lumina.yaml"
mkdir -p "$HOME/code/app/src/deep" "$HOME/code/site" "$work/profile" "$XDG_RUNTIME_DIR"
touch "$HOME/code/app/Cargo.toml" "$HOME/code/site/package.json"
cat > "$LUMINA_REGISTRY" <<'YAML'
version: 1.0
modules: {}
flows:
  rust:
    markers: [Cargo.toml, rust-toolchain.toml]
    layout: master
    workspace: 2
    waybar: {show: [custom/rust], hide: [custom/media]}
  web:
    markers: [package.json]
    layout: dwindle
    workspace: 3
  default: {layout: dwindle, workspace: 1}
YAML
lumina-fake-hyprland --socket "$XDG_RUNTIME_DIR/hypr/bench/.socket.sock" &
hpid=$!
sleep 0.2
dir="$HOME/code/app/src/deep"
"$static" flow --dir "$dir"   # prime: version cached, state written

hyperfine -N --warmup 20 --min-runs 200 \
  --export-markdown "$out/flow.md" --export-json "$out/flow.json" \
  -n "lumina flow (unchanged dir)" "$static flow --dir $dir" \
  -n "lumina flow (unchanged dir, dynamic build)" "$root/target/release/lumina flow --dir $dir" \
  -n "lumina flow (context change)" \
     --prepare "rm -f $XDG_RUNTIME_DIR/lumina/flow.json" "$static flow --dir $dir" \
  -n "direnv export zsh" "direnv export zsh" \
  -n "zoxide add" "zoxide add $dir"
cat "$out/flow.md"
