#!/usr/bin/env bash
# HTTP executions per second (issue 5): POST /v1/workflows/execute against a
# release `sandflow serve` on the embedded SQLite store, with a deployed
# 5-block workflow (start -> four `transform` blocks chained by references).
#
#   tests/load/run.sh                      # 32 connections, 3 s warm-up, 20 s measured
#   CONNECTIONS=64 DURATION=30 tests/load/run.sh
#   CHAIN=none tests/load/run.sh           # the start block alone: the HTTP + store floor
#   BIN=/tmp/sandflow-before tests/load/run.sh  # measures another build (before/after)
#   PROFILE=1 tests/load/run.sh            # also samples the server with perf during the measured
#                                          # run; prints where its time goes (needs linux-perf)
#
# Needs curl and jq, and a load generator: `oha` (cargo install oha --locked)
# or, failing that, `wrk` (apt-get install -y wrk). Raw outputs are kept in
# target/load/ ; the summary goes to stdout.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"

PORT=${PORT:-18080}
CONNECTIONS=${CONNECTIONS:-32}
DURATION=${DURATION:-20}
WARMUP=${WARMUP:-3}
SKIP_BUILD=${SKIP_BUILD:-0}
CHAIN=${CHAIN:-transform}
PROFILE=${PROFILE:-0}
OUT="$ROOT/target/load"
mkdir -p "$OUT"

for tool in curl jq; do
    command -v "$tool" >/dev/null || { echo "run.sh: $tool is required" >&2; exit 1; }
done
if [ "$PROFILE" = 1 ] && ! command -v perf >/dev/null; then
    echo "run.sh: PROFILE=1 needs perf (apt-get install -y linux-perf)" >&2
    exit 1
fi

BASE="http://127.0.0.1:$PORT"
# shellcheck source=tests/load/common.sh
. "$ROOT/tests/load/common.sh"
pick_generator
print_machine "$GENERATOR_VERSION"
build_release

DATA=$(mktemp -d)
SERVER_PID=
cleanup() {
    if [ -n "$SERVER_PID" ]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$DATA"
}
trap cleanup EXIT

# /metrics is read below; it is off the public address unless asked for.
# Dirty pages of an earlier build or copy would be written back during the run and
# slow every commit's sync: flush them first.
sync
"$BIN" serve --addr "127.0.0.1:$PORT" --data-dir "$DATA" --public-metrics >"$OUT/server.log" 2>&1 &
SERVER_PID=$!
# A fresh data dir has no compiled-component cache: the first start compiles
# every standard block (about 17 s on 2 cores).
wait_for_server "$SERVER_PID" "$OUT/server.log"
TOKEN=$("$BIN" token --data-dir "$DATA" --tenant bench --ttl 2h)
AUTH="Authorization: Bearer $TOKEN"

case $CHAIN in
transform)
    echo "== workflow: start -> t1 -> t2 -> t3 -> t4 (transform, .n + 1)"
    WORKFLOW=$(chain_workflow "$TRANSFORM_STEP" '<start.n>' result)
    ;;
none)
    echo "== workflow: start alone"
    WORKFLOW=$(chain_workflow '' '' '')
    ;;
*) echo "run.sh: CHAIN is transform or none" >&2; exit 1 ;;
esac
api POST /v1/workflows "$WORKFLOW" | jq -e '.id == "bench"' >/dev/null
api POST /v1/workflows/bench/deploy | jq -e '.version == 1' >/dev/null

echo "== sanity: one execution"
api POST /v1/workflows/execute "$BODY" >"$OUT/sanity.json"
jq -c '{status, blocks: [.logs[] | {blockId, durationMs, fuelConsumed}]}' "$OUT/sanity.json"
case $CHAIN in
transform) EXPECT='.output.t4.result == 5' ;;
none) EXPECT='.output.start.n == 1' ;;
esac
jq -e ".status == \"completed\" and $EXPECT" "$OUT/sanity.json" >/dev/null \
    || { echo "run.sh: the sanity execution did not complete as expected ($EXPECT)" >&2; exit 1; }

echo "== single client: 50 sequential executes (curl time_total)"
SEQ_P50=$(sequential_times "$OUT/sequential.txt")
SEQ_MIN=$(awk 'NR==1 {printf "%.2f", $1*1000}' "$OUT/sequential.txt")
echo "sequential latency: p50 ${SEQ_P50} ms, min ${SEQ_MIN} ms (one request at a time)"

executions_by_status() { # prints status=count lines from /metrics
    curl -fsS "$BASE/metrics" | sed -n 's/^sandflow_executions_total{status="\([a-z]*\)"} \([0-9]*\)$/\1 \2/p' | sort
}


echo "== warm-up: ${WARMUP} s, $CONNECTIONS connections"
run_generator "$WARMUP" "$OUT/warmup.out"

server_cpu_ticks() { awk '{print $14 + $15}' "/proc/$SERVER_PID/stat"; }

executions_by_status >"$OUT/metrics_before.txt"
TICKS_BEFORE=$(server_cpu_ticks)
COMMAND="$GENERATOR"
case $GENERATOR in
oha) COMMAND="oha -z ${DURATION}s -c $CONNECTIONS -m POST -H 'Authorization: Bearer \$TOKEN' -T application/json -d '$BODY' -w --no-tui --output-format json $BASE/v1/workflows/execute" ;;
wrk) COMMAND="wrk -t 1 -c $CONNECTIONS -d ${DURATION}s --latency -s execute.lua $BASE/v1/workflows/execute" ;;
esac
echo "== measured: ${DURATION} s, $CONNECTIONS connections"
echo "\$ $COMMAND"
PERF_PID=
if [ "$PROFILE" = 1 ]; then
    # cpu-clock: a software event, so it samples in VMs without hardware counters too.
    perf record -e cpu-clock -F 999 -g -p "$SERVER_PID" -o "$OUT/perf.data" -- sleep "$DURATION" \
        >"$OUT/perf-record.log" 2>&1 &
    PERF_PID=$!
fi
TIMEFORMAT='%U %S'
GENERATOR_CPU=$( { time run_generator "$DURATION" "$OUT/measured.out" 2>/dev/null; } 2>&1 | awk '{printf "%.1f", $1 + $2}')
TICKS_AFTER=$(server_cpu_ticks)
if [ -n "$PERF_PID" ]; then wait "$PERF_PID" || true; fi
executions_by_status >"$OUT/metrics_after.txt"

echo "== results"
case $GENERATOR in
oha)
    jq -r '"requests/s: \(.summary.requestsPerSec | . * 10 | round / 10)",
           "success rate: \(.summary.successRate)",
           "latency p50: \(.latencyPercentiles.p50 * 1000 | . * 100 | round / 100) ms",
           "latency p90: \(.latencyPercentiles.p90 * 1000 | . * 100 | round / 100) ms",
           "latency p99: \(.latencyPercentiles.p99 * 1000 | . * 100 | round / 100) ms",
           "latency max: \(.summary.slowest * 1000 | . * 100 | round / 100) ms",
           "HTTP statuses: \(.statusCodeDistribution | tojson)",
           "errors: \(.errorDistribution | tojson)"' "$OUT/measured.out"
    ;;
wrk)
    grep -E 'Requests/sec|50%|99%|Non-2xx|Socket errors|requests in' "$OUT/measured.out"
    ;;
esac
echo "execution statuses during the measured run (from /metrics):"
join -a 2 -e 0 -o 2.1,1.2,2.2 "$OUT/metrics_before.txt" "$OUT/metrics_after.txt" \
    | awk '{printf "  %s: %d\n", $1, $3 - $2}'
COMPLETED=$(join -a 2 -e 0 -o 2.1,1.2,2.2 "$OUT/metrics_before.txt" "$OUT/metrics_after.txt" \
    | awk '$1 == "completed" {print $3 - $2}')
echo "server CPU: $(awk -v t=$((TICKS_AFTER - TICKS_BEFORE)) -v hz="$(getconf CLK_TCK)" -v n="${COMPLETED:-0}" \
    'BEGIN {printf "%.1f s over the run, %.2f core-ms per completed execution", t / hz, n ? t / hz * 1000 / n : 0}')"
echo "load generator CPU: ${GENERATOR_CPU} s (user + sys) over the run, on the same 2 cores"
echo "server RSS after the run: $(ps -o rss= -p "$SERVER_PID" | awk '{printf "%.0f MiB", $1/1024}')"
if [ "$PROFILE" = 1 ]; then
    echo "== profile of the server during the measured run (perf, cpu-clock, self time)"
    perf report -i "$OUT/perf.data" --no-children --sort dso --stdio 2>/dev/null \
        | grep -E '^ +[0-9]' | head -n 8 | sed 's/^/  /'
    echo "  -- top symbols"
    perf report -i "$OUT/perf.data" --no-children --sort symbol --stdio -g none 2>/dev/null \
        | grep -E '^ +[0-9]' | head -n 40 | cut -c1-150 | sed 's/^/  /'
    echo "  (perf report -i $OUT/perf.data for the call graphs)"
fi
echo "raw outputs: $OUT"
