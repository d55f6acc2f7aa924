#!/usr/bin/env bash
# Distributed mode, executions per second with 1, 2 and 4 workers (issue 6):
# POST /v1/workflows/execute against one release `sandflow serve
# --database-url postgres://...` whose executions run on N `sandflow worker`
# processes claiming jobs from the PostgreSQL queue. Same deployed 5-block
# workflow as tests/load/run.sh (start -> four `transform` blocks chained by
# references). Also times the embedded SQLite mode on the same workflow, one
# request at a time, so the latency the queue adds can be read off.
#
#   tests/load/distributed.sh                       # 1, 2, 4 workers; 32 connections, 3 s warm-up, 20 s measured
#   WORKER_COUNTS="1 8" DURATION=30 tests/load/distributed.sh
#   DATABASE_URL=postgres://user@host:5432/db tests/load/distributed.sh
#
# Every round gets a fresh schema in DATABASE_URL's database (dropped at the
# end). Needs curl, jq, psql and `oha` (cargo install oha --locked). Raw
# outputs are kept in target/load/distributed/ ; the summary goes to stdout.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"

PORT=${PORT:-18090}
CONNECTIONS=${CONNECTIONS:-32}
DURATION=${DURATION:-20}
WARMUP=${WARMUP:-3}
SKIP_BUILD=${SKIP_BUILD:-0}
WORKER_COUNTS=${WORKER_COUNTS:-1 2 4}
DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}
OUT="$ROOT/target/load/distributed"
mkdir -p "$OUT"

for tool in curl jq psql oha; do
    command -v "$tool" >/dev/null || { echo "distributed.sh: $tool is required" >&2; exit 1; }
done
psql "$DATABASE_URL" -XAtqc 'SELECT 1' >/dev/null \
    || { echo "distributed.sh: cannot reach PostgreSQL at $DATABASE_URL" >&2; exit 1; }

BASE="http://127.0.0.1:$PORT"
# shellcheck source=tests/load/common.sh
. "$ROOT/tests/load/common.sh"
print_machine "$(oha --version)" "postgres: $(psql "$DATABASE_URL" -XAtqc 'SHOW server_version')"
build_release

# One component cache for every process: the standard blocks compile once
# (about 20 s on 2 cores, in the embedded round), later starts load them.
CACHE=$(mktemp -d)
DATA=
PIDS=()
SCHEMA=
SAMPLER=
stop_all() {
    local pid
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    PIDS=()
}
drop_schema() {
    if [ -n "$SCHEMA" ]; then
        psql "$DATABASE_URL" -XAtq -c "SET client_min_messages = warning" \
            -c "DROP SCHEMA IF EXISTS \"$SCHEMA\" CASCADE" || true
        SCHEMA=
    fi
}
cleanup() {
    if [ -n "$SAMPLER" ]; then kill "$SAMPLER" 2>/dev/null || true; fi
    stop_all
    drop_schema
    rm -rf "$CACHE" ${DATA:+"$DATA"}
}
trap cleanup EXIT


wait_for_worker() { # PID LOG
    for _ in $(seq 1 1800); do
        grep -q ' ready ' "$2" && return 0
        kill -0 "$1" 2>/dev/null || { echo "distributed.sh: a worker exited:" >&2; cat "$2" >&2; exit 1; }
        sleep 0.1
    done
    echo "distributed.sh: a worker did not get ready" >&2
    exit 1
}

setup_workflow() { # DIR: token, the workflow of run.sh's transform chain, one sanity execution
    TOKEN=$("$BIN" token --data-dir "$DATA" --tenant bench --ttl 2h)
    AUTH="Authorization: Bearer $TOKEN"
    local workflow
    workflow=$(chain_workflow "$TRANSFORM_STEP" '<start.n>' result)
    api POST /v1/workflows "$workflow" | jq -e '.id == "bench"' >/dev/null
    api POST /v1/workflows/bench/deploy | jq -e '.version == 1' >/dev/null
    api POST /v1/workflows/execute "$BODY" >"$1/sanity.json"
    jq -c '{status, blocks: [.logs[] | {blockId, durationMs}]}' "$1/sanity.json"
    jq -e '.status == "completed" and .output.t4.result == 5' "$1/sanity.json" >/dev/null \
        || { echo "distributed.sh: the sanity execution did not complete with t4.result == 5" >&2; exit 1; }
}

run_oha() { # SECONDS OUTPUT_FILE
    oha -z "${1}s" -c "$CONNECTIONS" -m POST -H "$AUTH" -T application/json -d "$BODY" \
        -w --no-tui --output-format json "$BASE/v1/workflows/execute" >"$2"
}

sql() { psql "$URL" -XAtq -v ON_ERROR_STOP=1 -F ' ' -c "$1"; }
cpu_ticks() { # PID...: user + system ticks of these processes
    local pid total=0
    for pid in "$@"; do total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat"))); done
    echo "$total"
}
postgres_ticks() { # "pid ticks" of every PostgreSQL process (backends come and go)
    local pid
    for pid in $(pgrep -x postgres); do
        awk -v p="$pid" '{print p, $14 + $15}' "/proc/$pid/stat" 2>/dev/null || true
    done
}
builds_running() { pgrep -x cargo >/dev/null || pgrep -x rustc >/dev/null; }
machine_busy() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8, $5 + $6}' /proc/stat; } # busy idle

# ---------------------------------------------------------------- embedded
echo "== embedded (SQLite) baseline: serve --data-dir \$(mktemp -d), 50 sequential executes"
DIR="$OUT/embedded"
mkdir -p "$DIR"
DATA=$(mktemp -d)
"$BIN" serve --addr "127.0.0.1:$PORT" --data-dir "$DATA" --cache-dir "$CACHE" >"$DIR/server.log" 2>&1 &
PIDS+=($!)
wait_for_server "${PIDS[0]}" "$DIR/server.log"
setup_workflow "$DIR"
EMBEDDED_SEQ=$(sequential_times "$DIR/sequential.txt")
echo "sequential latency: p50 $EMBEDDED_SEQ ms"
stop_all
rm -rf "$DATA"
DATA=

# ---------------------------------------------------------------- distributed
SUMMARY="$OUT/summary.txt"
: >"$SUMMARY"
CLK_TCK=$(getconf CLK_TCK)
for WORKERS in $WORKER_COUNTS; do
    echo
    echo "== distributed: 1 server + $WORKERS worker(s), PostgreSQL queue"
    DIR="$OUT/workers-$WORKERS"
    rm -rf "$DIR"
    mkdir -p "$DIR"
    SCHEMA="sandflow_bench_$$_$WORKERS"
    URL="$DATABASE_URL?options=-c%20search_path%3D$SCHEMA"
    # Created here: a search_path in the URL names the schema, and the server
    # creates tables in it but not the schema itself.
    psql "$DATABASE_URL" -XAtq -v ON_ERROR_STOP=1 -c "SET client_min_messages = warning" \
        -c "DROP SCHEMA IF EXISTS \"$SCHEMA\" CASCADE" -c "CREATE SCHEMA \"$SCHEMA\""
    DATA=$(mktemp -d)
    "$BIN" serve --addr "127.0.0.1:$PORT" --data-dir "$DATA" --cache-dir "$CACHE" --database-url "$URL" \
        >"$DIR/server.log" 2>&1 &
    PIDS+=($!)
    SERVER_PID=$!
    wait_for_server "$SERVER_PID" "$DIR/server.log"
    WORKER_PIDS=()
    for k in $(seq 1 "$WORKERS"); do
        "$BIN" worker --database-url "$URL" --worker-id "w$k" --data-dir "$DATA" --cache-dir "$CACHE" \
            >"$DIR/worker-w$k.log" 2>&1 &
        PIDS+=($!)
        WORKER_PIDS+=($!)
    done
    for k in $(seq 1 "$WORKERS"); do wait_for_worker "${WORKER_PIDS[$((k - 1))]}" "$DIR/worker-w$k.log"; done
    echo "server and $WORKERS worker(s) ready (schema $SCHEMA)"
    setup_workflow "$DIR"

    SEQ=$(sequential_times "$DIR/sequential.txt")
    echo "sequential latency: p50 $SEQ ms (one request at a time)"

    echo "-- warm-up: ${WARMUP} s, $CONNECTIONS connections"
    run_oha "$WARMUP" "$DIR/warmup.json"

    FIRST_JOB=$(sql 'SELECT COALESCE(MAX(id), 0) FROM jobs')
    TICKS_SERVER=$(cpu_ticks "$SERVER_PID")
    TICKS_WORKERS=$(cpu_ticks "${WORKER_PIDS[@]}")
    postgres_ticks >"$DIR/postgres_ticks_before.txt"
    # Another build on the same 2 cores would halve the figures: look once a second.
    (while :; do if builds_running; then date +%T; fi; sleep 1; done) >"$DIR/builds_seen.txt" &
    SAMPLER=$!
    read -r BUSY_BEFORE IDLE_BEFORE < <(machine_busy)
    echo "-- measured: ${DURATION} s, $CONNECTIONS connections"
    echo "\$ oha -z ${DURATION}s -c $CONNECTIONS -m POST -H 'Authorization: Bearer \$TOKEN' -T application/json -d '$BODY' -w --no-tui --output-format json $BASE/v1/workflows/execute"
    run_oha "$DURATION" "$DIR/measured.json"
    read -r BUSY_AFTER IDLE_AFTER < <(machine_busy)
    kill "$SAMPLER" && wait "$SAMPLER" 2>/dev/null || true
    SAMPLER=
    postgres_ticks >"$DIR/postgres_ticks_after.txt"
    TICKS_SERVER=$(($(cpu_ticks "$SERVER_PID") - TICKS_SERVER))
    TICKS_WORKERS=$(($(cpu_ticks "${WORKER_PIDS[@]}") - TICKS_WORKERS))
    LAST_JOB=$(sql 'SELECT MAX(id) FROM jobs')

    jq -r '"executions/s: \(.summary.requestsPerSec | . * 10 | round / 10)",
           "success rate: \(.summary.successRate)",
           "latency p50: \(.latencyPercentiles.p50 * 1000 | . * 100 | round / 100) ms",
           "latency p99: \(.latencyPercentiles.p99 * 1000 | . * 100 | round / 100) ms",
           "latency max: \(.summary.slowest * 1000 | . * 100 | round / 100) ms",
           "HTTP statuses: \(.statusCodeDistribution | tojson)",
           "errors: \(.errorDistribution | tojson)"' "$DIR/measured.json"

    WINDOW="id > $FIRST_JOB AND id <= $LAST_JOB"
    echo "jobs of the measured window by state: $(sql "SELECT string_agg(state || '=' || n, ' ') FROM
        (SELECT state, count(*) n FROM jobs WHERE $WINDOW GROUP BY state ORDER BY state) s")"
    echo "their executions by status: $(sql "SELECT string_agg(status || '=' || n, ' ') FROM
        (SELECT e.status, count(*) n FROM jobs j JOIN executions e ON e.tenant = j.tenant AND e.id = j.execution_id
         WHERE j.id > $FIRST_JOB AND j.id <= $LAST_JOB GROUP BY e.status ORDER BY e.status) s")"
    echo "done jobs by worker: $(sql "SELECT string_agg(worked_by || '=' || n, ' ') FROM
        (SELECT worked_by, count(*) n FROM jobs WHERE $WINDOW AND state = 'done' GROUP BY worked_by ORDER BY worked_by) s")"
    echo "jobs claimed more than once: $(sql "SELECT count(*) FROM jobs WHERE $WINDOW AND attempt > 1")"
    read -r IN_LINE_P50 IN_LINE_P99 ON_WORKER_P50 ON_WORKER_P99 < <(sql "SELECT
        round(percentile_cont(0.5) WITHIN GROUP (ORDER BY claimed_at - run_at)::numeric, 1),
        round(percentile_cont(0.99) WITHIN GROUP (ORDER BY claimed_at - run_at)::numeric, 1),
        round(percentile_cont(0.5) WITHIN GROUP (ORDER BY updated_at - claimed_at)::numeric, 1),
        round(percentile_cont(0.99) WITHIN GROUP (ORDER BY updated_at - claimed_at)::numeric, 1)
        FROM jobs WHERE $WINDOW AND state = 'done'")
    echo "time in line (claimed_at - run_at): median $IN_LINE_P50 ms, p99 $IN_LINE_P99 ms"
    echo "time on the worker (updated_at - claimed_at): median $ON_WORKER_P50 ms, p99 $ON_WORKER_P99 ms"
    echo "queued to done (updated_at - created_at): $(sql "SELECT 'median ' ||
        round(percentile_cont(0.5) WITHIN GROUP (ORDER BY updated_at - created_at)::numeric, 1) || ' ms, p99 ' ||
        round(percentile_cont(0.99) WITHIN GROUP (ORDER BY updated_at - created_at)::numeric, 1) || ' ms'
        FROM jobs WHERE $WINDOW AND state = 'done'") (the rest of the HTTP latency is the server's)"
    echo "CPU over the run: server $(awk -v t="$TICKS_SERVER" -v hz="$CLK_TCK" 'BEGIN {printf "%.1f", t / hz}') s," \
        "workers $(awk -v t="$TICKS_WORKERS" -v hz="$CLK_TCK" 'BEGIN {printf "%.1f", t / hz}') s," \
        "PostgreSQL $(awk -v hz="$CLK_TCK" 'NR == FNR {b[$1] = $2; next} {t += $2 - b[$1]} END {printf "%.1f", t / hz}' \
            "$DIR/postgres_ticks_before.txt" "$DIR/postgres_ticks_after.txt") s," \
        "machine busy $(awk -v b=$((BUSY_AFTER - BUSY_BEFORE)) -v i=$((IDLE_AFTER - IDLE_BEFORE)) 'BEGIN {printf "%.0f", 100 * b / (b + i)}') %" \
        "of $(nproc) cores"
    if [ -s "$DIR/builds_seen.txt" ]; then
        echo "WARNING: a cargo/rustc process ran during $(wc -l <"$DIR/builds_seen.txt") s of the measured run: its figures are disturbed"
    fi
    WORKER_PROBLEMS=$(cat "$DIR"/worker-w*.log | grep -ciE 'error|warn|panic|fail' || true)
    SERVER_PROBLEMS=$(grep -ciE 'error|warn|panic|fail' "$DIR/server.log" || true)
    echo "log lines with error/warn/panic/fail: server $SERVER_PROBLEMS, workers $WORKER_PROBLEMS (logs in $DIR)"

    jq -r --arg w "$WORKERS" --arg seq "$SEQ" --arg il "$IN_LINE_P50" --arg ow "$ON_WORKER_P50" \
        '"| \($w) | \(.summary.requestsPerSec | . * 10 | round / 10) | \(.latencyPercentiles.p50 * 1000 | . * 10 | round / 10) ms | \(.latencyPercentiles.p99 * 1000 | . * 10 | round / 10) ms | \($seq) ms | \($il) ms | \($ow) ms | \(.summary.successRate * 100 | . * 100 | round / 100) % |"' \
        "$DIR/measured.json" >>"$SUMMARY"
    if [ "$WORKERS" = 1 ]; then ONE_WORKER_SEQ=$SEQ; fi

    stop_all
    drop_schema
    rm -rf "$DATA"
    DATA=
done

echo
echo "== summary ($CONNECTIONS connections, ${DURATION} s measured; in line / on worker are medians from the jobs table)"
echo "| workers | executions/s | p50 | p99 | sequential p50 | in-line median | on-worker median | success |"
echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
cat "$SUMMARY"
echo "embedded SQLite, sequential p50: $EMBEDDED_SEQ ms"
if [ -n "${ONE_WORKER_SEQ:-}" ]; then
    echo "latency added by the queue (1 worker sequential p50 - embedded sequential p50):" \
        "$(awk -v d="$ONE_WORKER_SEQ" -v e="$EMBEDDED_SEQ" 'BEGIN {printf "%.2f", d - e}') ms"
fi
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "raw outputs: $OUT"
