# What tests/load/run.sh and tests/load/distributed.sh share; sourced, not run.
# Expects ROOT, SKIP_BUILD and BASE to be set, and AUTH once a token exists.

pick_generator() { # sets GENERATOR and GENERATOR_VERSION: oha if installed, else wrk
    if command -v oha >/dev/null; then
        GENERATOR=oha
        GENERATOR_VERSION=$(oha --version)
    elif command -v wrk >/dev/null; then
        GENERATOR=wrk
        GENERATOR_VERSION=$(wrk --version 2>&1 | head -n1 || true)
    else
        echo "$(basename "$0"): no load generator: cargo install oha --locked, or apt-get install -y wrk" >&2
        exit 1
    fi
}

run_generator() { # SECONDS OUTPUT_FILE: $BODY to the execute route, $CONNECTIONS connections
    # Expects OUT, CONNECTIONS, AUTH and TOKEN; WRK_TIMEOUT (e.g. 60s) replaces wrk's 2 s timeout.
    local seconds=$1 file=$2
    case $GENERATOR in
    oha)
        oha -z "${seconds}s" -c "$CONNECTIONS" -m POST -H "$AUTH" -T application/json -d "$BODY" \
            -w --no-tui --output-format json "$BASE/v1/workflows/execute" >"$file"
        ;;
    wrk)
        cat >"$OUT/execute.lua" <<EOF
wrk.method = "POST"
wrk.body = '$BODY'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $TOKEN"
EOF
        wrk -t 1 -c "$CONNECTIONS" -d "${seconds}s" ${WRK_TIMEOUT:+--timeout "$WRK_TIMEOUT"} --latency \
            -s "$OUT/execute.lua" "$BASE/v1/workflows/execute" >"$file"
        ;;
    esac
}

# The bench request: the deployed `bench` workflow with n = 1.
BODY='{"workflowId": "bench", "options": {"input": {"n": 1}}}'

print_machine() { # GENERATOR_VERSION [EXTRA_LINE...]
    local generator=$1 line
    shift
    echo "== machine"
    echo "nproc: $(nproc)"
    echo "cpu: $(lscpu | sed -n 's/^Model name: *//p' | head -n1)"
    echo "kernel: $(uname -r)"
    free -g | sed -n '1,2p'
    echo "rustc: $(rustc --version)"
    echo "generator: $generator"
    for line in "$@"; do echo "$line"; done
    echo "git: $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
    echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
}

build_release() { # sets BIN; BIN=path/to/sandflow measures that binary instead (before/after)
    if [ -n "${BIN:-}" ]; then
        return
    fi
    if [ "$SKIP_BUILD" != 1 ]; then
        echo "== cargo build --release -p sandflow"
        cargo build --release -p sandflow
    fi
    BIN="$ROOT/target/release/sandflow"
}

api() { # METHOD PATH [BODY]
    curl -sS -X "$1" "$BASE$2" -H "$AUTH" -H 'Content-Type: application/json' ${3:+-d "$3"}
}

chain_workflow() { # STEP FIRST NEXT: prints the `bench` workflow, start -> t1..t4
    # STEP is a jq block object using $name and $ref; FIRST is t1's reference,
    # NEXT the field of the previous block that t2..t4 refer to. Empty STEP:
    # the start block alone.
    local step=$1 first=$2 next=$3 blocks='{"start": {"type": "start", "name": "Start"}}' edges='[]' prev=start i ref
    if [ -n "$step" ]; then
        for i in 1 2 3 4; do
            if [ "$i" = 1 ]; then ref=$first; else ref="<$prev.$next>"; fi
            blocks=$(jq -cn --arg name "T$i" --arg ref "$ref" --argjson blocks "$blocks" "\$blocks + {t$i: $step}")
            edges=$(jq -cn --argjson edges "$edges" --arg s "$prev" --arg t "t$i" '$edges + [{source: $s, target: $t}]')
            prev=t$i
        done
    fi
    jq -cn --argjson blocks "$blocks" --argjson edges "$edges" \
        '{id: "bench", name: "Bench chain", state: {blocks: $blocks, edges: $edges}}'
}

# The transform chain both scripts measure by default: each block adds 1.
TRANSFORM_STEP='{type: "transform", name: $name, params: {filter: ".n + 1", input: {n: $ref}}}'

sequential_times() { # FILE: 50 executes one at a time, curl time_total sorted into FILE; prints the p50 in ms
    for _ in $(seq 1 50); do
        curl -sS -o /dev/null -w '%{time_total}\n' -X POST "$BASE/v1/workflows/execute" \
            -H "$AUTH" -H 'Content-Type: application/json' -d "$BODY"
    done | sort -n >"$1"
    awk '{a[NR]=$1} END {printf "%.2f", a[int((NR+1)/2)]*1000}' "$1"
}

wait_for_server() { # PID LOG: until /healthz answers; exits if the server does first
    for _ in $(seq 1 1800); do
        curl -fs "$BASE/healthz" >/dev/null 2>&1 && return 0
        kill -0 "$1" 2>/dev/null || { echo "$(basename "$0"): the server exited:" >&2; cat "$2" >&2; exit 1; }
        sleep 0.1
    done
    echo "$(basename "$0"): the server did not come up" >&2
    exit 1
}
