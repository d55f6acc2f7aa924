#!/usr/bin/env bash
# Distributed mode, scale-out (issue 6): executions per second with 1, 2, 4 and 8 workers,
# POST /v1/workflows/execute against one release `sandflow serve --database-url
# postgres://...` whose executions run on N `sandflow worker` processes claiming jobs from the
# PostgreSQL queue, each worker held to a CPU quota so that the workers, not the machine, are
# the limit. Same deployed 5-block workflow as tests/load/run.sh (start -> four `transform`
# blocks chained by references). Also times the embedded SQLite mode on the same workflow, one
# request at a time, so the latency the queue adds can be read off.
#
#   tests/load/distributed.sh                        # 1 2 4 8 workers at 0.05 core each, 3 rounds, medians; ~15 min
#   SKIP_BUILD=1 tests/load/distributed.sh           # the same with target/release/sandflow as it is
#   ROUNDS=1 WORKER_COUNTS="1 8" tests/load/distributed.sh   # a quick look
#   WORKER_CPU=0.1 tests/load/distributed.sh         # 0.1 core each: 8 workers saturate the 2 cores
#   WORKER_CPU=0 tests/load/distributed.sh           # no quota: the machine, not the workers, is the limit
#   DATABASE_URL=postgres://user@host:5432/db tests/load/distributed.sh
# Also: CONNECTIONS (32), DURATION (20 s measured), WARMUP (3 s), WORKER_CONCURRENCY (the
# worker's default, 16), WORKER_CPU_PERIOD_US, CGROUP_ROOT.
#
# The quota. On one 2-core machine N unconstrained workers only share the same cores (1, 2 and
# 4 workers all gave about 195 executions/s). So each worker gets its own cgroup v1 CPU group,
# $CGROUP_ROOT/sandflow-load-<pid>-w<k> (CGROUP_ROOT defaults to /sys/fs/cgroup/cpu; needs
# root, and the script stops with a message if it is not writable), with cpu.cfs_quota_us =
# WORKER_CPU x cpu.cfs_period_us. A worker enters its group once it is ready (its start-up,
# loading the compiled blocks, runs unconstrained) and after the sequential executes (below);
# the groups are removed at the end of each round and on exit. The server, PostgreSQL and the
# load generator are not constrained. WORKER_CPU=0 turns the quota off. The period is 100 ms,
# or longer when the quota would be under two CFS bandwidth slices
# (/proc/sys/kernel/sched_cfs_bandwidth_slice_us, 5 ms): with a 5 ms quota (0.05 core per
# 100 ms) a worker got only 80 % of it, with 10 ms (per 200 ms) 98-100 %.
#
# Why 0.05 core per worker (WORKER_CPU default). Measured on this 2-core machine, an execution
# costs a worker about 2.5 core-ms, PostgreSQL about 4-5 and the server about 1 (wrk 0.1): the
# server side (server + PostgreSQL) costs twice what the worker does. At 0.05 core a worker runs
# about 20 executions/s, so 8 workers (0.4 core) run about 125-160/s and leave server +
# PostgreSQL about 0.8 core: 65 % of the machine busy at 8 workers, the workers throttled in
# every CFS period, so each round measures the workers and the queue, not the machine. At 0.1
# core (WORKER_CPU=0.1) a worker runs about 45/s and 8 of them would need about 2.4 cores in
# all: the 2 cores saturate at about 200 executions/s, above 4 workers, which is the run that
# shows what saturates first.
#
# Load generator: `oha` (cargo install oha --locked) or, failing that, `wrk` (apt-get install
# -y wrk), as in tests/load/run.sh; wrk runs with --timeout 60s so that slow answers of a
# quota-bound worker are measured, not dropped as socket timeouts.
#
# Figures, per worker count (the summary table at the end; medians over ROUNDS rounds, 3 by
# default, because single 20 s rounds on this VM vary by up to +-15 %):
# - executions/s; vs linear: executions/s / (N x executions/s of 1 worker); executions per
#   worker core-second: flat when the workers scale without contention;
# - HTTP latency p50 / p99 under load (CONNECTIONS connections);
# - enqueue -> claim (jobs.claimed_at - jobs.created_at, database clock, whole milliseconds;
#   created_at is stamped by the enqueue's INSERT, before its COMMIT and the NOTIFY that goes
#   out with it): "idle" over 50 sequential executes before the quota (the LISTEN/NOTIFY
#   wake-up path; in brackets the same with the quota, where a throttled worker hears a
#   NOTIFY only at its next CFS period) and "loaded" over the measured window (includes
#   waiting for a free slot or for the worker's next period);
# - CPU over the measured window, in cores: the server, every PostgreSQL process (summed from
#   /proc ticks, backends included), the workers (share of their quota used, share of CFS
#   periods throttled), the load generator, anything else on the machine (a build: the round
#   is flagged as disturbed above 0.25 core; 0.1-0.2 is this script's own sampling, the
#   kernel's network work and short-lived processes), and the machine's busy share;
# - claim attempts per done job (each worker claims on every NOTIFY, so with spare capacity N
#   workers make about N claims per job, N - 1 of them empty) and PostgreSQL transactions per
#   done job (database-wide);
# - and which limit each worker count hit: the workers' quota, the machine, or neither.
#
# Every round gets a fresh schema in DATABASE_URL's database (dropped at the end). Needs curl,
# jq, psql and a load generator. The binary is copied once at the start, so a rebuild of
# target/release during the run changes nothing. Raw outputs are kept in
# target/load/distributed/ ; the summary goes to stdout.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"

PORT=${PORT:-18090}
CONNECTIONS=${CONNECTIONS:-32}
DURATION=${DURATION:-20}
WARMUP=${WARMUP:-3}
SKIP_BUILD=${SKIP_BUILD:-0}
WORKER_COUNTS=${WORKER_COUNTS:-1 2 4 8}
ROUNDS=${ROUNDS:-3}
WORKER_CPU=${WORKER_CPU:-0.05}
# The CFS period: 100 ms, longer when the quota would be under two bandwidth slices (the runtime
# a CPU takes from a group's quota at a time, 5 ms by default): a 5 ms quota is one slice, and a
# worker at 0.05 core then got only 80 % of it (90-99 % with two slices or more).
CFS_SLICE_US=$(cat /proc/sys/kernel/sched_cfs_bandwidth_slice_us 2>/dev/null || echo 5000)
WORKER_CPU_PERIOD_US=${WORKER_CPU_PERIOD_US:-$(awk -v c="$WORKER_CPU" -v s="$CFS_SLICE_US" \
    'BEGIN {p = 100000; if (c + 0 > 0 && 2 * s / c > p) p = int(2 * s / c + 0.5); print (p > 1000000 ? 1000000 : p)}')}
WORKER_CONCURRENCY=${WORKER_CONCURRENCY:-}
CGROUP_ROOT=${CGROUP_ROOT:-/sys/fs/cgroup/cpu}
DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}
OUT="$ROOT/target/load/distributed"
mkdir -p "$OUT"

fail() { echo "distributed.sh: $*" >&2; exit 1; }

for tool in curl jq psql; do
    command -v "$tool" >/dev/null || fail "$tool is required"
done
BASE="http://127.0.0.1:$PORT"
# shellcheck source=tests/load/common.sh
. "$ROOT/tests/load/common.sh"
pick_generator
# Slow answers under a tight quota are counted, not dropped at wrk's 2 s default.
WRK_TIMEOUT=60s
psql "$DATABASE_URL" -XAtqc 'SELECT 1' >/dev/null || fail "cannot reach PostgreSQL at $DATABASE_URL"
# Worker counts in increasing order: the first is the base of "vs linear".
WORKER_COUNTS=$(tr ' ' '\n' <<<"$WORKER_COUNTS" | grep . | sort -n | uniq | tr '\n' ' ')
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || fail "ROUNDS must be a positive integer"

# ---------------------------------------------------------------- the worker quota
QUOTA_US=-1
if awk -v c="$WORKER_CPU" 'BEGIN {exit !(c + 0 > 0)}'; then
    QUOTA_US=$(awk -v c="$WORKER_CPU" -v p="$WORKER_CPU_PERIOD_US" 'BEGIN {printf "%d", c * p + 0.5}')
    [ "$QUOTA_US" -ge 1000 ] || fail "WORKER_CPU=$WORKER_CPU x WORKER_CPU_PERIOD_US=$WORKER_CPU_PERIOD_US is below the kernel's 1000 us minimum quota"
    probe="$CGROUP_ROOT/sandflow-load-$$-probe"
    if ! { [ -f "$CGROUP_ROOT/cpu.cfs_quota_us" ] && mkdir "$probe" 2>/dev/null; }; then
        fail "WORKER_CPU=$WORKER_CPU needs a writable cgroup v1 cpu controller at $CGROUP_ROOT" \
            "(mounted, with cpu.cfs_quota_us, and run as root); set CGROUP_ROOT, or WORKER_CPU=0 for no quota"
    fi
    rmdir "$probe"
    QUOTA_LABEL="$WORKER_CPU core per worker (cpu.cfs_quota_us=$QUOTA_US, cpu.cfs_period_us=$WORKER_CPU_PERIOD_US, cgroup v1 at $CGROUP_ROOT)"
else
    QUOTA_LABEL="none (WORKER_CPU=$WORKER_CPU): workers share the machine with the server and PostgreSQL"
fi

print_machine "$GENERATOR_VERSION" "postgres: $(psql "$DATABASE_URL" -XAtqc 'SHOW server_version')" \
    "worker CPU quota: $QUOTA_LABEL" "worker counts: $WORKER_COUNTS x $ROUNDS round(s)"
build_release
[ -x "$BIN" ] || fail "no binary at $BIN (build it, or run without SKIP_BUILD=1)"

# One component cache for every process: the standard blocks compile once
# (about 20 s on 2 cores, in the embedded round), later starts load them.
CACHE=$(mktemp -d)
BIN_DIR=$(mktemp -d)
cp "$BIN" "$BIN_DIR/sandflow"
echo "binary: $BIN ($(stat -c '%y' "$BIN" | cut -d. -f1), copied for this run)"
BIN="$BIN_DIR/sandflow"
DATA=
PIDS=()
CGROUPS=()
SCHEMA=
SAMPLER=
stop_all() {
    local pid
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    PIDS=()
}
remove_cgroups() { # after stop_all: an empty group can be removed
    local dir
    for dir in "${CGROUPS[@]}"; do
        for _ in 1 2 3 4 5 6 7 8 9 10; do
            [ -d "$dir" ] || break
            rmdir "$dir" 2>/dev/null && break
            sleep 0.2
        done
        [ ! -d "$dir" ] || echo "distributed.sh: could not remove $dir (tasks: $(tr '\n' ' ' <"$dir/cgroup.procs"))" >&2
    done
    CGROUPS=()
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
    remove_cgroups
    drop_schema
    rm -rf "$CACHE" "$BIN_DIR" ${DATA:+"$DATA"}
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_for_worker() { # PID LOG
    for _ in $(seq 1 1800); do
        grep -q ' ready ' "$2" && return 0
        kill -0 "$1" 2>/dev/null || { echo "distributed.sh: a worker exited:" >&2; cat "$2" >&2; exit 1; }
        sleep 0.1
    done
    fail "a worker did not get ready"
}

cgroup_for_worker() { # K PID: puts the worker in its own quota group
    local dir="$CGROUP_ROOT/sandflow-load-$$-w$1"
    [ -d "$dir" ] || mkdir "$dir" || fail "cannot create $dir"
    CGROUPS+=("$dir")
    echo "$WORKER_CPU_PERIOD_US" >"$dir/cpu.cfs_period_us"
    echo "$QUOTA_US" >"$dir/cpu.cfs_quota_us"
    # cgroup v1: writing a process id to cgroup.procs moves all of its threads.
    echo "$2" >"$dir/cgroup.procs"
    grep -Eq "(:|,)cpu(,[a-z]+)*:.*/sandflow-load-$$-w$1\$" "/proc/$2/cgroup" \
        || fail "worker $2 is not in $dir: $(grep ':cpu' "/proc/$2/cgroup" | tr '\n' ' ')"
    local tid
    for tid in /proc/"$2"/task/*; do
        grep -q "sandflow-load-$$-w$1\$" "$tid/cgroup" 2>/dev/null || [ ! -e "$tid" ] \
            || fail "thread ${tid##*/} of worker $2 is not in $dir"
    done
}
throttle_stats() { # "periods throttled" summed over this round's groups
    local dir periods=0 throttled=0 p t
    for dir in "${CGROUPS[@]}"; do
        p=$(awk '$1 == "nr_periods" {print $2}' "$dir/cpu.stat")
        t=$(awk '$1 == "nr_throttled" {print $2}' "$dir/cpu.stat")
        periods=$((periods + p))
        throttled=$((throttled + t))
    done
    echo "$periods $throttled"
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
        || fail "the sanity execution did not complete with t4.result == 5"
}

generator_command() { # SECONDS: the command line as printed (the token elided)
    case $GENERATOR in
    oha) echo "oha -z ${1}s -c $CONNECTIONS -m POST -H 'Authorization: Bearer \$TOKEN' -T application/json -d '$BODY' -w --no-tui --output-format json $BASE/v1/workflows/execute" ;;
    wrk) echo "wrk -t 1 -c $CONNECTIONS -d ${1}s --timeout $WRK_TIMEOUT --latency -s execute.lua $BASE/v1/workflows/execute" ;;
    esac
}
generator_figures() { # FILE: "executions/s p50_ms p99_ms success_% max_ms"
    case $GENERATOR in
    oha)
        jq -r '[.summary.requestsPerSec, .latencyPercentiles.p50 * 1000, .latencyPercentiles.p99 * 1000,
                .summary.successRate * 100, .summary.slowest * 1000] | map(. * 100 | round / 100) | join(" ")' "$1"
        ;;
    wrk)
        # Same lines as run.sh greps; wrk prints latencies with a unit (us, ms, s).
        awk 'function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0;
                              if (v ~ /m$/) return v * 60000; if (v ~ /s$/) return v * 1000; return v + 0 }
             $1 == "Latency" && $2 != "Distribution" {max = ms($4)}
             /^ *50%/ {p50 = ms($2)} /^ *99%/ {p99 = ms($2)}
             / requests in / {n = $1}
             /Non-2xx or 3xx responses:/ {bad = $NF}
             /Socket errors:/ {gsub(",", ""); errors = $4 + $6 + $8 + $10}
             /^Requests\/sec:/ {rps = $2}
             END {printf "%.2f %.2f %.2f %.2f %.2f\n", rps, p50, p99, (n + errors ? 100 * (n - bad) / (n + errors) : 0), max}' "$1"
        ;;
    esac
}
generator_report() { # FILE: the generator's own lines
    case $GENERATOR in
    oha) jq -r '"HTTP statuses: \(.statusCodeDistribution | tojson)", "errors: \(.errorDistribution | tojson)"' "$1" ;;
    wrk) grep -E 'Requests/sec|requests in|Non-2xx|Socket errors|50%|99%' "$1" | sed 's/^ */wrk: /' ;;
    esac
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
cores() { # TICKS SECONDS: average cores
    awk -v t="$1" -v hz="$CLK_TCK" -v s="$2" 'BEGIN {printf "%.3f", t / hz / s}'
}
db_counters() { # "jobs_ready scans, transactions": scans of the jobs_ready index in this round's
    # schema (only claims use it, two scans per claim, found or not: the SKIP LOCKED subquery and
    # the UPDATE's id probe, by EXPLAIN ANALYZE and by 981 logged claims = 1948 scans), and
    # commits + rollbacks of the whole database (shared with anything else using it)
    sql "SELECT (SELECT COALESCE(sum(idx_scan), 0) FROM pg_stat_user_indexes
                 WHERE schemaname = current_schema() AND indexrelname = 'jobs_ready'),
                (SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database())"
}
enqueue_to_claim() { # SQL_WINDOW: "p50 p99" of claimed_at - created_at (ms), done run jobs
    sql "SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY claimed_at - created_at)::numeric, 1),
                round(percentile_cont(0.99) WITHIN GROUP (ORDER BY claimed_at - created_at)::numeric, 1)
         FROM jobs WHERE $1 AND state = 'done' AND kind = 'run'"
}

sequential_with_claims() { # FILE: 50 executes one at a time (see sequential_times); prints
    # "p50-latency enqueue->claim-p50 enqueue->claim-p99" over their jobs
    local first last p50
    first=$(sql 'SELECT COALESCE(MAX(id), 0) FROM jobs')
    p50=$(sequential_times "$1")
    last=$(sql 'SELECT MAX(id) FROM jobs')
    echo "$p50 $(enqueue_to_claim "id > $first AND id <= $last")"
}

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
# One line per round: round workers executions/s p50 p99 success idle_p50 idle_p99 loaded_p50
# loaded_p99 server_cores postgres_cores worker_cores generator_cores machine_busy_% throttled_%
# quota_used_% idle_in_quota_p50 idle_in_quota_p99 other_cores claims_per_job transactions_per_job
ROWS="$OUT/rows.tsv"
: >"$ROWS"
CLK_TCK=$(getconf CLK_TCK)
WORKER_ARGS=()
if [ -n "$WORKER_CONCURRENCY" ]; then WORKER_ARGS=(--concurrency "$WORKER_CONCURRENCY"); fi
for ROUND in $(seq 1 "$ROUNDS"); do
for WORKERS in $WORKER_COUNTS; do
    echo
    echo "== distributed, round $ROUND: 1 server + $WORKERS worker(s), PostgreSQL queue, worker quota: ${WORKER_CPU} core"
    DIR="$OUT/workers-$WORKERS-round-$ROUND"
    rm -rf "$DIR"
    mkdir -p "$DIR"
    SCHEMA="sandflow_bench_$$_${ROUND}_$WORKERS"
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
            ${WORKER_ARGS[@]+"${WORKER_ARGS[@]}"} >"$DIR/worker-w$k.log" 2>&1 &
        PIDS+=($!)
        WORKER_PIDS+=($!)
    done
    for k in $(seq 1 "$WORKERS"); do wait_for_worker "${WORKER_PIDS[$((k - 1))]}" "$DIR/worker-w$k.log"; done
    echo "server and $WORKERS worker(s) ready (schema $SCHEMA)"
    setup_workflow "$DIR"

    # The queue's own latency, one request at a time, before the quota: a worker at 0.05-0.1
    # core is throttled even by sequential executes (3 core-ms each, every ~10 ms), and a
    # throttled worker hears a NOTIFY only at its next CFS period (up to 100 ms later).
    read -r SEQ IDLE_P50 IDLE_P99 < <(sequential_with_claims "$DIR/sequential.txt")
    echo "sequential latency, no quota: p50 $SEQ ms (one request at a time); enqueue -> claim p50 $IDLE_P50 ms, p99 $IDLE_P99 ms"
    if [ "$QUOTA_US" != -1 ]; then
        for k in $(seq 1 "$WORKERS"); do cgroup_for_worker "$k" "${WORKER_PIDS[$((k - 1))]}"; done
        echo "each worker now in its own group, $WORKER_CPU core"
        read -r SEQ_QUOTA QIDLE_P50 QIDLE_P99 < <(sequential_with_claims "$DIR/sequential-quota.txt")
        echo "sequential latency, in quota: p50 $SEQ_QUOTA ms; enqueue -> claim p50 $QIDLE_P50 ms, p99 $QIDLE_P99 ms"
    else
        QIDLE_P50=-
        QIDLE_P99=-
    fi

    echo "-- warm-up: ${WARMUP} s, $CONNECTIONS connections"
    run_generator "$WARMUP" "$DIR/warmup.out"

    FIRST_JOB=$(sql 'SELECT COALESCE(MAX(id), 0) FROM jobs')
    read -r CLAIMS_BEFORE XACTS_BEFORE < <(db_counters)
    TICKS_SERVER=$(cpu_ticks "$SERVER_PID")
    TICKS_WORKERS=$(cpu_ticks "${WORKER_PIDS[@]}")
    postgres_ticks >"$DIR/postgres_ticks_before.txt"
    THROTTLE_BEFORE=$(throttle_stats)
    # Another build on the same 2 cores would halve the figures: look once a second; and what
    # PostgreSQL's active backends wait on, once a second.
    (while :; do
        if builds_running; then echo "build $(date +%T)"; fi
        psql "$DATABASE_URL" -XAtq -c "SELECT 'wait ' || COALESCE(wait_event_type || ':' || wait_event, 'CPU')
            FROM pg_stat_activity WHERE state = 'active' AND pid <> pg_backend_pid() AND backend_type = 'client backend'" \
            2>/dev/null || true
        sleep 1
    done) >"$DIR/sampled.txt" &
    SAMPLER=$!
    read -r BUSY_BEFORE IDLE_BEFORE < <(machine_busy)
    START_NS=$(date +%s%N)
    echo "-- measured: ${DURATION} s, $CONNECTIONS connections"
    echo "\$ $(generator_command "$DURATION")"
    TIMEFORMAT='%U %S'
    GENERATOR_CPU=$( { time run_generator "$DURATION" "$DIR/measured.out" 2>/dev/null; } 2>&1 | awk '{printf "%.2f", $1 + $2}')
    ELAPSED=$(awk -v a="$START_NS" -v b="$(date +%s%N)" 'BEGIN {printf "%.3f", (b - a) / 1e9}')
    read -r BUSY_AFTER IDLE_AFTER < <(machine_busy)
    THROTTLE_AFTER=$(throttle_stats)
    TICKS_SERVER=$(($(cpu_ticks "$SERVER_PID") - TICKS_SERVER))
    TICKS_WORKERS=$(($(cpu_ticks "${WORKER_PIDS[@]}") - TICKS_WORKERS))
    postgres_ticks >"$DIR/postgres_ticks_after.txt"
    kill "$SAMPLER" 2>/dev/null || true
    wait "$SAMPLER" 2>/dev/null || true
    SAMPLER=
    LAST_JOB=$(sql 'SELECT MAX(id) FROM jobs')
    sleep 1 # PostgreSQL 15 publishes a backend's statistics within a second
    read -r CLAIMS_AFTER XACTS_AFTER < <(db_counters)

    read -r RPS P50 P99 SUCCESS MAX < <(generator_figures "$DIR/measured.out")
    echo "executions/s: $RPS; latency p50 $P50 ms, p99 $P99 ms, max $MAX ms; success $SUCCESS %"
    generator_report "$DIR/measured.out"

    WINDOW="id > $FIRST_JOB AND id <= $LAST_JOB"
    echo "jobs of the measured window by state: $(sql "SELECT string_agg(state || '=' || n, ' ') FROM
        (SELECT state, count(*) n FROM jobs WHERE $WINDOW GROUP BY state ORDER BY state) s")"
    echo "their executions by status: $(sql "SELECT string_agg(status || '=' || n, ' ') FROM
        (SELECT e.status, count(*) n FROM jobs j JOIN executions e ON e.tenant = j.tenant AND e.id = j.execution_id
         WHERE j.id > $FIRST_JOB AND j.id <= $LAST_JOB GROUP BY e.status ORDER BY e.status) s")"
    echo "done jobs by worker: $(sql "SELECT string_agg(worked_by || '=' || n, ' ') FROM
        (SELECT worked_by, count(*) n FROM jobs WHERE $WINDOW AND state = 'done' GROUP BY worked_by ORDER BY worked_by) s")"
    echo "jobs claimed more than once: $(sql "SELECT count(*) FROM jobs WHERE $WINDOW AND attempt > 1")"
    read -r LOADED_P50 LOADED_P99 < <(enqueue_to_claim "$WINDOW")
    echo "enqueue -> claim under load (claimed_at - created_at): p50 $LOADED_P50 ms, p99 $LOADED_P99 ms"
    echo "time on the worker (updated_at - claimed_at): $(sql "SELECT 'median ' ||
        round(percentile_cont(0.5) WITHIN GROUP (ORDER BY updated_at - claimed_at)::numeric, 1) || ' ms, p99 ' ||
        round(percentile_cont(0.99) WITHIN GROUP (ORDER BY updated_at - claimed_at)::numeric, 1) || ' ms'
        FROM jobs WHERE $WINDOW AND state = 'done'")"
    echo "queued to done (updated_at - created_at): $(sql "SELECT 'median ' ||
        round(percentile_cont(0.5) WITHIN GROUP (ORDER BY updated_at - created_at)::numeric, 1) || ' ms, p99 ' ||
        round(percentile_cont(0.99) WITHIN GROUP (ORDER BY updated_at - created_at)::numeric, 1) || ' ms'
        FROM jobs WHERE $WINDOW AND state = 'done'") (the rest of the HTTP latency is the server's)"

    SERVER_CORES=$(cores "$TICKS_SERVER" "$ELAPSED")
    WORKER_CORES=$(cores "$TICKS_WORKERS" "$ELAPSED")
    PG_CORES=$(awk -v hz="$CLK_TCK" -v s="$ELAPSED" 'NR == FNR {b[$1] = $2; next} {t += $2 - b[$1]} END {printf "%.3f", t / hz / s}' \
        "$DIR/postgres_ticks_before.txt" "$DIR/postgres_ticks_after.txt")
    GENERATOR_CORES=$(awk -v c="$GENERATOR_CPU" -v s="$ELAPSED" 'BEGIN {printf "%.2f", c / s}')
    BUSY=$(awk -v b=$((BUSY_AFTER - BUSY_BEFORE)) -v i=$((IDLE_AFTER - IDLE_BEFORE)) 'BEGIN {printf "%.0f", 100 * b / (b + i)}')
    # What else ran: the machine's busy cores less ours (another build, another test suite).
    OTHER_CORES=$(awk -v b="$BUSY" -v n="$(nproc)" -v s="$SERVER_CORES" -v p="$PG_CORES" -v w="$WORKER_CORES" -v g="$GENERATOR_CORES" \
        'BEGIN {o = b * n / 100 - s - p - w - g; printf "%.2f", (o > 0 ? o : 0)}')
    DONE_JOBS=$(sql "SELECT count(*) FROM jobs WHERE $WINDOW AND state = 'done'")
    CLAIMS_PER_JOB=$(awk -v c=$((CLAIMS_AFTER - CLAIMS_BEFORE)) -v n="$DONE_JOBS" 'BEGIN {printf "%.2f", n ? c / 2 / n : 0}')
    XACTS_PER_JOB=$(awk -v c=$((XACTS_AFTER - XACTS_BEFORE)) -v n="$DONE_JOBS" 'BEGIN {printf "%.1f", n ? c / n : 0}')
    if [ "$QUOTA_US" != -1 ]; then
        read -r PERIODS_BEFORE THROTTLED_BEFORE <<<"$THROTTLE_BEFORE"
        read -r PERIODS_AFTER THROTTLED_AFTER <<<"$THROTTLE_AFTER"
        THROTTLED=$(awk -v p=$((PERIODS_AFTER - PERIODS_BEFORE)) -v t=$((THROTTLED_AFTER - THROTTLED_BEFORE)) \
            'BEGIN {printf "%.0f", p ? 100 * t / p : 0}')
        QUOTA_USED=$(awk -v w="$WORKER_CORES" -v n="$WORKERS" -v c="$WORKER_CPU" 'BEGIN {printf "%.0f", 100 * w / (n * c)}')
    else
        THROTTLED=-
        QUOTA_USED=-
    fi
    echo "CPU over the ${ELAPSED} s window, in cores: server $SERVER_CORES, PostgreSQL $PG_CORES," \
        "workers $WORKER_CORES ($QUOTA_USED % of their quota, throttled in $THROTTLED % of their CFS periods)," \
        "load generator $GENERATOR_CORES, anything else $OTHER_CORES; machine busy $BUSY % of $(nproc) cores"
    echo "per done job: $CLAIMS_PER_JOB claim attempts (jobs_ready index scans / 2), $XACTS_PER_JOB PostgreSQL transactions (database-wide)"
    echo "per execution, in core-ms: $(awk -v r="$RPS" -v s="$SERVER_CORES" -v p="$PG_CORES" -v w="$WORKER_CORES" -v g="$GENERATOR_CORES" \
        'BEGIN {if (r > 0) printf "server %.2f, PostgreSQL %.2f, workers %.2f, generator %.2f", 1000 * s / r, 1000 * p / r, 1000 * w / r, 1000 * g / r}')"
    echo "PostgreSQL client backends, active, by wait (1 sample/s): $(grep '^wait ' "$DIR/sampled.txt" | cut -d' ' -f2 | sort | uniq -c | sort -rn | awk '{printf "%s=%s ", $2, $1}')"
    if grep -q '^build ' "$DIR/sampled.txt"; then
        echo "WARNING: a cargo/rustc process ran during $(grep -c '^build ' "$DIR/sampled.txt") s of the measured run: its figures are disturbed"
    fi
    if awk -v o="$OTHER_CORES" 'BEGIN {exit !(o >= 0.25)}'; then
        echo "WARNING: other processes used $OTHER_CORES cores during the measured run: its figures are disturbed"
        ps -eo pcpu=,comm= --sort=-pcpu | head -n 5 | sed 's/^/  busiest now: /'
    fi
    WORKER_PROBLEMS=$(cat "$DIR"/worker-w*.log | grep -ciE 'error|warn|panic|fail' || true)
    SERVER_PROBLEMS=$(grep -ciE 'error|warn|panic|fail' "$DIR/server.log" || true)
    echo "log lines with error/warn/panic/fail: server $SERVER_PROBLEMS, workers $WORKER_PROBLEMS (logs in $DIR)"

    printf '%s\n' "$ROUND $WORKERS $RPS $P50 $P99 $SUCCESS $IDLE_P50 $IDLE_P99 $LOADED_P50 $LOADED_P99 $SERVER_CORES $PG_CORES $WORKER_CORES $GENERATOR_CORES $BUSY $THROTTLED $QUOTA_USED $QIDLE_P50 $QIDLE_P99 $OTHER_CORES $CLAIMS_PER_JOB $XACTS_PER_JOB" >>"$ROWS"
    if [ "$WORKERS" = 1 ] && [ "$ROUND" = 1 ]; then ONE_WORKER_SEQ=$SEQ; fi

    stop_all
    remove_cgroups
    drop_schema
    rm -rf "$DATA"
    DATA=
done
done

# ---------------------------------------------------------------- summary
# TABLE ROWS_FILE: the markdown table of rows (one round's, or the medians), efficiency
# against the first (smallest) worker count of the same rows.
table() {
    echo "| workers | executions/s | vs linear | executions per worker core-s | p50 | p99 | enqueue→claim idle p50 / p99 (in quota) | enqueue→claim loaded p50 / p99 | server CPU | PostgreSQL CPU | workers CPU (of quota, throttled) | wrk/oha CPU | other CPU | machine busy | claims / job | PG xacts / job | success |"
    echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    awk -v cores="$(nproc)" 'function f(x, d) { return x ~ /^-?[0-9.]+$/ ? sprintf("%." d "f", x) : x }
         NR == 1 {base = $3 / $2}
         {printf "| %s | %.1f | %.2f | %.0f | %.1f ms | %.1f ms | %s / %s ms (%s / %s ms) | %s / %s ms | %.2f | %.2f | %.2f (%s %%, %s %%) | %.2f | %.2f | %s %% of %s | %s | %s | %s %% |\n",
                 $2, $3, (base > 0 ? $3 / ($2 * base) : 0), ($13 > 0 ? $3 / $13 : 0), $4, $5, f($7, 1), f($8, 1), f($18, 1), f($19, 1),
                 f($9, 0), f($10, 0), $11, $12, $13, f($17, 0), f($16, 0), $14, $20, f($15, 0), cores, f($21, 2), f($22, 1), f($6, 1)}' "$1"
}
verdict() { # ROWS_FILE: which limit each worker count hit
    awk -v quota="$QUOTA_US" -v n="$(nproc)" '{
        if (quota != -1 && $17 >= 90) why = "the workers (at " $17 " % of their quota)";
        else if ($15 >= 90) why = "the machine (" $15 " % of " n " cores busy; server " $11 " + PostgreSQL " $12 " + workers " $13 " + generator " $14 " cores)";
        else why = "neither the workers quota nor the CPU: a wait (locks, commits, wake-ups); server " $11 ", PostgreSQL " $12 " cores";
        if ($20 + 0 >= 0.25) why = why " [disturbed: other processes took " $20 " cores]";
        printf "%s worker(s): %s\n", $2, why }' "$1" | awk '{for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+\.[0-9][0-9][0-9]+$/) $i = sprintf("%.2f", $i); print "  " $0}'

}

echo
echo "== summary: $CONNECTIONS connections, ${DURATION} s measured, worker quota: $QUOTA_LABEL"
echo "   (CPU in cores averaged over the window; vs linear = executions/s / (N x executions/s of the first row / its N);"
echo "   executions per worker core-s = executions/s / the workers' CPU: flat when workers scale without contention;"
echo "   enqueue→claim = jobs.claimed_at - jobs.created_at, whole ms by the database clock; idle = 50 sequential executes)"
for ROUND in $(seq 1 "$ROUNDS"); do
    echo
    echo "round $ROUND:"
    awk -v r="$ROUND" '$1 == r' "$ROWS" >"$OUT/round-$ROUND.tsv"
    table "$OUT/round-$ROUND.tsv"
done
if [ "$ROUNDS" -gt 1 ]; then
    # The median of each column per worker count (the mean of the middle two for an even count).
    for WORKERS in $WORKER_COUNTS; do
        awk -v w="$WORKERS" '$2 == w' "$ROWS" | awk '
            {for (i = 1; i <= NF; i++) v[i, NR] = $i; n = NR; f = NF}
            END {
                printf "median %s", w = v[2, 1]
                for (i = 3; i <= f; i++) {
                    m = 0; numeric = 1
                    for (j = 1; j <= n; j++) { a[j] = v[i, j]; if (a[j] !~ /^-?[0-9.]+$/) numeric = 0 }
                    if (!numeric) { printf " %s", a[1]; continue }
                    for (j = 2; j <= n; j++) { x = a[j]; k = j - 1; while (k >= 1 && a[k] + 0 > x + 0) { a[k + 1] = a[k]; k-- } a[k + 1] = x }
                    m = n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
                    printf " %s", m
                }
                printf "\n"
            }'
    done >"$OUT/medians.tsv"
    echo
    echo "medians over $ROUNDS rounds:"
    table "$OUT/medians.tsv"
    FINAL="$OUT/medians.tsv"
else
    FINAL="$OUT/round-1.tsv"
fi
echo
echo "what limited each worker count ($( [ "$ROUNDS" -gt 1 ] && echo medians || echo round 1)):"
verdict "$FINAL"
echo "embedded SQLite, sequential p50: $EMBEDDED_SEQ ms"
if [ -n "${ONE_WORKER_SEQ:-}" ]; then
    echo "latency added by the queue (1 worker sequential p50 - embedded sequential p50):" \
        "$(awk -v d="$ONE_WORKER_SEQ" -v e="$EMBEDDED_SEQ" 'BEGIN {printf "%.2f", d - e}') ms"
fi
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "raw outputs: $OUT"
