#!/usr/bin/env bash
# Soak (issue 11): DURATION seconds (default 600) of mixed load — normal
# workflows, hostile blocks, oversized outputs, resumes, cancels — against a
# release `sandflow serve` on SQLite, SIGKILLed and restarted every KILL_EVERY
# seconds (default 60). At the end every execution must be finished, none
# lost, no finished `api` call made twice (a local hit counter), and the
# server's peak memory per life flat. Exits non-zero otherwise.
#
#   tests/load/soak.sh
#   DURATION=120 KILL_EVERY=30 CLIENTS=4 tests/load/soak.sh
#
# Needs python3 (standard library only). Output: target/load/soak-*.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
SKIP_BUILD=${SKIP_BUILD:-0}
BASE="http://127.0.0.1:${PORT:-18090}"
export OUT="$ROOT/target/load"
mkdir -p "$OUT"
# shellcheck source=tests/load/common.sh
. "$ROOT/tests/load/common.sh"
print_machine "soak.py (python $(python3 --version 2>&1 | cut -d' ' -f2))" \
    "duration: ${DURATION:-600} s, kill every ${KILL_EVERY:-60} s, ${CLIENTS:-6} clients"
build_release
export HOSTILE_WASM="$ROOT/target/sandflow-guests/wasm32-wasip2/release/sandflow_guest_hostile.wasm"
if [ ! -f "$HOSTILE_WASM" ] || [ "$SKIP_BUILD" != 1 ]; then
    echo "== cargo build -p sandflow-tests (builds the test guests)"
    cargo build -p sandflow-tests
fi
export BIN DATA
DATA=$(mktemp -d)
trap 'rm -rf "$DATA"' EXIT
python3 "$ROOT/tests/load/soak.py" | tee "$OUT/soak-summary.json"
