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

# Each build prints its build time and the compile ("loaded in") of a cache miss.
for project in tests/guests/echo tests/guests-js/echo tests/guests-py/echo; do
  "$sandflow" --cache-dir "$cache" blocks build "$project" | grep -E '^component: |loaded in' | sed "s|^|$project: |" >&2
done

measure() { # label component
  local label="$1" component="$2" size line compile own_cache
  size=$(stat -c %s "$component")
  own_cache="$cache/$(basename "$component")-$size"
  # The first load compiles (timed here as the component's compile); the timed runs then load it from the cache.
  /usr/bin/time -f %e -o "$own_cache.seconds" "$sandflow" --cache-dir "$own_cache" blocks test "$component" --params '{"n": 1}' >/dev/null 2>&1
  compile=$(cat "$own_cache.seconds")
  line=$("$sandflow" --cache-dir "$own_cache" blocks test "$component" --params '{"n": 1}' --runs "$RUNS" 2>&1 >/dev/null | grep ' runs: ')
  printf '| %s | %s | %s s | %s |\n' "$label" "$(numfmt --to=iec-i --suffix=B "$size")" "$compile" "${line#* runs: }"
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(date -u +%F)"
echo "| block | size | compile (process, s) | fresh run |"
echo "| --- | --- | --- | --- |"
measure "Rust, plain" "$CARGO_TARGET_DIR/wasm32-wasip2/release/sandflow_guest_echo.wasm"
measure "Rust, pre-initialized" tests/guests/echo/dist/sandflow-guest-echo.wasm
measure "JavaScript (componentize-js)" tests/guests-js/echo/dist/echo-js.wasm
measure "Python (componentize-py)" tests/guests-py/echo/dist/echo.wasm
