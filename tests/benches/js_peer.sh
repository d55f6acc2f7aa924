#!/usr/bin/env bash
# Peer benchmark: the `function` block's work (`return input.n * 2;`) in isolated-vm 5.0.4,
# as Sim Studio runs user JavaScript. See isolated_vm/bench.js for what is timed.
# Env: ISOLATED_VM_RUNS (default 2000), ISOLATED_VM_WARMUP (default 200), ISOLATED_VM_ROUND (100).
# The last line printed is a JSON object with both medians in µs.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/isolated_vm"

for tool in node npm; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "js_peer.sh: '$tool' not found; install Node.js 20 with npm (e.g. apt-get install nodejs npm)" >&2
    exit 1
  fi
done

if [ ! -d node_modules/isolated-vm ]; then
  # isolated-vm builds a native addon with node-gyp: needs python3, make and a C++ compiler.
  echo "js_peer.sh: installing isolated-vm from package-lock.json (builds a native addon, ~2 min)" >&2
  npm ci --no-audit --no-fund
fi

# isolated-vm's README: Node 20 and later must run with --no-node-snapshot.
exec node --no-node-snapshot bench.js
