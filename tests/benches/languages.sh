#!/usr/bin/env bash
# The same trivial block (its output is its params) written in Rust, JavaScript
# and Python: component size, and the time of a fresh run (first after load,
# and the median of RUNS more), each run in a new sandbox as the server runs
# blocks. Rust is measured with and without pre-initialization; the JS and
# Python toolchains always pre-initialize (the engine's or interpreter's start
# is the snapshot), so they have one row each.
#
#   bash tests/benches/languages.sh            # RUNS=500 by default
#
# Builds the release binary and the three echo blocks (the toolchains install
# into target/sandflow-toolchains on first use).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
RUNS="${RUNS:-500}"
cargo build --release -p sandflow >&2
sandflow="${CARGO_TARGET_DIR:-$PWD/target}/release/sandflow"
export SANDFLOW_TOOLCHAINS="$PWD/target/sandflow-toolchains"
# The Rust echo is built apart from the host's target directory.
export CARGO_TARGET_DIR="$PWD/target/bench-guests"
cache="$(mktemp -d)"
trap 'rm -rf "$cache"' EXIT

for project in tests/guests/echo tests/guests-js/echo tests/guests-py/echo; do
  "$sandflow" --cache-dir "$cache" blocks build "$project" >/dev/null
done

measure() { # label component
  local label="$1" component="$2" size line
  size=$(stat -c %s "$component")
  # Compile once (cached) so the timed runs measure runs, not the compiler.
  "$sandflow" --cache-dir "$cache" blocks test "$component" --params '{"n": 1}' >/dev/null 2>&1
  line=$("$sandflow" --cache-dir "$cache" blocks test "$component" --params '{"n": 1}' --runs "$RUNS" 2>&1 >/dev/null | grep ' runs: ')
  printf '| %s | %s | %s |\n' "$label" "$(numfmt --to=iec-i --suffix=B "$size")" "${line#* runs: }"
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(date -u +%F)"
echo "| block | size | fresh run |"
echo "| --- | --- | --- |"
measure "Rust, plain" "$CARGO_TARGET_DIR/wasm32-wasip2/release/sandflow_guest_echo.wasm"
measure "Rust, pre-initialized" tests/guests/echo/dist/sandflow-guest-echo.wasm
measure "JavaScript (componentize-js)" tests/guests-js/echo/dist/echo.wasm
measure "Python (componentize-py)" tests/guests-py/echo/dist/echo.wasm
