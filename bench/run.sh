#!/usr/bin/env bash
# bench/run.sh: confab against its peers (Node socket.io, socketioxide), one
# server at a time, on this machine's loopback interface.
#
# Builds the load generator and the Rust servers in release, installs the
# Node server's packages from its lock file, then for each scenario and each
# server in turn starts a fresh server process pinned to one core
# (SERVER_CPU, default 0) and runs the load generator pinned to another
# (LOAD_CPU, default 1). Servers are interleaved run by run and every run is
# repeated REPEAT times, so that load from other processes on a shared
# machine falls on all of them alike; the table keeps each server's best
# repeat. After each run it reads the server's CPU seconds (/proc/<pid>/stat)
# and peak RSS (VmHWM), then prints a Markdown table with ratios confab/peer
# (also saved under bench/results/<date>/table.md).
#
# Every knob is an environment variable (defaults: about 8 minutes of load
# after the builds):
#   SERVERS="confab socketioxide node"   SCENARIOS="connections echo fanout polling"
#     (SERVERS may also name actix-floor, the bare actix-web-actors floor,
#     which answers the connections scenario only)
#   REPEAT=2                             runs of each scenario per server
#   CONNS="1000 10000"                   idle WebSocket connections per run
#   ECHO_CLIENTS=100 ECHO_SECS=6         POLL_CLIENTS=50 POLL_SECS=6
#   ECHO_INFLIGHT=1                      acks in flight per echo client
#   WARMUP_SECS=2
#   FANOUT_ROOMS=10 FANOUT_MEMBERS=100   FANOUT_RATE_START=20 (msg/s per room)
#   FANOUT_RATE_FACTOR=2 FANOUT_RATE_MAX=5000 FANOUT_STEP_SECS=3 FANOUT_P99_MS=50
#   FANOUT_REFINE=1 (geometric bisections between the last pass and the
#   first failure: each halves the step's uncertainty)
#   SERVER_CPU=0 LOAD_CPU=1 PORT=29000 BUILD=1 OUT=bench/results/<date>
# The durable-chat scenario (SCENARIOS=chat; not in the default list) runs
# the confab appliance binary alone (release build of the root workspace,
# default configuration, a fresh data directory under OUT, on this disk):
#   CHAT_RUNS="individual:1 individual:20 individual:200 group:20"
#   CHAT_SECS=6                          measured seconds per run (after WARMUP_SECS)
#   CHAT_STRACE="individual:20"          runs made once more under strace to
#                                        count fsync calls ("" for none)
#   DISK_SECS=3                          write + fsync ceiling of the same disk
#   APPLIANCE=target/release/confab      the binary measured (another build's, for an A/B)
# The cross-node fan-out (SCENARIOS=cluster-fanout; not in the default list;
# needs redis-server and redis-cli, Debian's redis-server package): per
# server (confab, node; the others have no Redis adapter here), a private
# redis-server and two nodes of that server on it (REDIS_URL), the fan-out
# load with each room's members alternating between the two nodes (FANOUT_*
# knobs as above). Both nodes share core SERVER_CPU; redis-server runs on
# LOAD_CPU beside the load generator. Redis's own counts (INFO
# commandstats, before and after) give its PUBLISH calls per broadcast.
# A bigger run: REPEAT=3 ECHO_SECS=20 POLL_SECS=20 FANOUT_STEP_SECS=5
# CONNS="1000 10000 19000" FANOUT_MEMBERS=500.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
SERVERS=${SERVERS:-"confab socketioxide node"}
SCENARIOS=${SCENARIOS:-"connections echo fanout polling"}
REPEAT=${REPEAT:-2}
CONNS=${CONNS:-"1000 10000"}
ECHO_CLIENTS=${ECHO_CLIENTS:-100}
ECHO_INFLIGHT=${ECHO_INFLIGHT:-1}
ECHO_SECS=${ECHO_SECS:-6}
POLL_CLIENTS=${POLL_CLIENTS:-50}
POLL_SECS=${POLL_SECS:-6}
WARMUP_SECS=${WARMUP_SECS:-2}
FANOUT_ROOMS=${FANOUT_ROOMS:-10}
FANOUT_MEMBERS=${FANOUT_MEMBERS:-100}
FANOUT_RATE_START=${FANOUT_RATE_START:-20}
FANOUT_RATE_FACTOR=${FANOUT_RATE_FACTOR:-2}
FANOUT_RATE_MAX=${FANOUT_RATE_MAX:-5000}
FANOUT_STEP_SECS=${FANOUT_STEP_SECS:-3}
FANOUT_P99_MS=${FANOUT_P99_MS:-50}
FANOUT_REFINE=${FANOUT_REFINE:-1}
CHAT_RUNS=${CHAT_RUNS:-"individual:1 individual:20 individual:200 group:20"}
CHAT_SECS=${CHAT_SECS:-6}
CHAT_STRACE=${CHAT_STRACE-"individual:20"}
DISK_SECS=${DISK_SECS:-3}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
# Below the ephemeral range (32768+), where a load generator socket in
# TIME_WAIT could hold the next server port.
PORT=${PORT:-29000}
BUILD=${BUILD:-1}
OUT=${OUT:-$HERE/results/$(date -u +%Y%m%d-%H%M%S)}

TARGET=$HERE/target/release
LOADGEN=$TARGET/loadgen
APPLIANCE=${APPLIANCE:-$HERE/../target/release/confab}
mkdir -p "$OUT"
RESULTS=$OUT/results.jsonl
LOG=$OUT/run.log
: >"$RESULTS"
log() { echo "$*" | tee -a "$LOG" >&2; }

for tool in cargo node npm taskset; do
    command -v "$tool" >/dev/null || { echo "run.sh needs $tool" >&2; exit 1; }
done

# ---------------------------------------------------------------- build
if [ "$BUILD" = 1 ]; then
    log "== building (release): loadgen, confab-bench-server, socketioxide-bench-server, actix-floor-server"
    (cd "$HERE" && nice -n 10 cargo build --release -p loadgen -p confab-bench-server \
        -p socketioxide-bench-server -p actix-floor-server 2>&1 | tail -n 3) | tee -a "$LOG" >&2
    case " $SCENARIOS " in *" chat "*)
        log "== building (release): the confab appliance binary (root workspace)"
        (cd "$HERE/.." && nice -n 10 cargo build --release --bin confab 2>&1 | tail -n 3) | tee -a "$LOG" >&2 ;;
    esac
    log "== installing the Node server's packages (npm ci, from package-lock.json)"
    (cd "$HERE/node-server" && npm ci --no-audit --no-fund --loglevel=error 2>&1 | tail -n 2) | tee -a "$LOG" >&2
fi

# ---------------------------------------------------------------- limits
# Each process (server, load generator) holds one descriptor per
# connection: the hard limit on open files bounds the connection count.
HARD_FDS=$(ulimit -Hn)
if [ "$HARD_FDS" != unlimited ]; then
    ulimit -n "$HARD_FDS"
    MAX_CONNS=$((HARD_FDS - 500))
else
    MAX_CONNS=1000000
fi
CONN_LIST=""
CAPPED=""
for n in $CONNS; do
    if [ "$n" -gt "$MAX_CONNS" ]; then
        CAPPED="$CAPPED $n"
        n=$MAX_CONNS
    fi
    CONN_LIST="$CONN_LIST $n"
done
FD_NOTE="open files capped at $HARD_FDS per process (hard limit): at most $MAX_CONNS connections are measured"
[ -n "$CAPPED" ] && FD_NOTE="$FD_NOTE; asked for$CAPPED, measured $MAX_CONNS instead"
FD_NOTE="$FD_NOTE; 50k connections are projected from RSS per connection, not held"
log "== $FD_NOTE"

CLK_TCK=$(getconf CLK_TCK)
cpu_secs() { # user+system CPU seconds of a pid, all threads
    sed 's/^.*) //' "/proc/$1/stat" | awk -v t="$CLK_TCK" '{ printf "%.2f", ($12 + $13) / t }'
}
hwm_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }

json_str() { printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g'; }
{
    printf '{"scenario":"meta","date":"%s","machine":"%s","cpu":"%s","cores":"%s","node":"%s","rustc":"%s",' \
        "$(date -u +%Y-%m-%dT%H:%MZ)" "$(json_str "$(uname -srm)")" \
        "$(json_str "$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')")" "$(nproc)" \
        "$(node --version)" "$(json_str "$(rustc --version)")"
    pinning="server on core $SERVER_CPU, load generator on core $LOAD_CPU"
    case " $SCENARIOS " in *" cluster-fanout "*)
        pinning="$pinning; cluster-fanout: both nodes on core $SERVER_CPU, redis-server with the load generator on core $LOAD_CPU" ;;
    esac
    printf '"confab":"%s","pinning":"%s","fd_limit":"%s"}\n' \
        "$(json_str "$(git -C "$HERE/.." describe --always --dirty 2>/dev/null || echo unknown)")" \
        "$pinning" "$(json_str "$FD_NOTE")"
} >>"$RESULTS"

# ---------------------------------------------------------------- servers
SERVER_PID=""
# Started by the cluster scenario, stopped after each run (and on exit).
CLUSTER_PIDS=""
start_server() { # name port (REDIS_URL in the environment: a cluster node)
    local name=$1 port=$2 slog="$OUT/server-$1.log"
    echo "--- $(date -u +%T) port $port" >>"$slog"
    case $name in
        confab) PORT=$port taskset -c "$SERVER_CPU" "$TARGET/confab-bench-server" >>"$slog" 2>&1 & ;;
        socketioxide) PORT=$port taskset -c "$SERVER_CPU" "$TARGET/socketioxide-bench-server" >>"$slog" 2>&1 & ;;
        node) PORT=$port taskset -c "$SERVER_CPU" node "$HERE/node-server/server.js" >>"$slog" 2>&1 & ;;
        actix-floor) PORT=$port taskset -c "$SERVER_CPU" "$TARGET/actix-floor-server" >>"$slog" 2>&1 & ;;
        *) echo "unknown server $name" >&2; exit 1 ;;
    esac
    SERVER_PID=$!
    for _ in $(seq 1 200); do
        if tail -n 5 "$slog" | grep -q "^ready $name $port"; then return 0; fi
        kill -0 "$SERVER_PID" 2>/dev/null || { echo "$name exited; see $slog" >&2; exit 1; }
        sleep 0.1
    done
    echo "$name did not print its ready line in 20 s; see $slog" >&2
    kill "$SERVER_PID"
    exit 1
}

stop_server() {
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
}
trap '[ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null; for p in $CLUSTER_PIDS; do kill "$p" 2>/dev/null; done; true' EXIT

run_one() { # server repeat run-label loadgen-args...
    local name=$1 repeat=$2 label=$3
    shift 3
    PORT=$((PORT + 1))
    start_server "$name" "$PORT"
    log "-- $name: $label (repeat $repeat)"
    local rc=0
    taskset -c "$LOAD_CPU" "$LOADGEN" "$@" --port "$PORT" --server "$name" --server-pid "$SERVER_PID" \
        --server-core "$SERVER_CPU" --load-core "$LOAD_CPU" --repeat "$repeat" \
        2> >(tee -a "$LOG" >&2) | sed -n 's/^RESULT //p' >>"$RESULTS" || rc=$?
    printf '{"scenario":"server","server":"%s","run":"%s","repeat":%s,"cpu_secs":%s,"hwm_kb":%s}\n' \
        "$name" "$label" "$repeat" "$(cpu_secs "$SERVER_PID")" "$(hwm_kb "$SERVER_PID")" >>"$RESULTS"
    stop_server
    [ "$rc" = 0 ] || log "!! $name $label: load generator exited with $rc"
    sleep 1
}

# The cross-node fan-out: a private redis-server (on the load generator's
# core), two nodes of `server` on it (both on the server core), the fan-out
# load spread over both. Redis's command counts before and after give the
# PUBLISH calls per broadcast (the load generator reports the broadcasts).
redis_calls() { # port [command]: calls of one command, or of all with no command
    redis-cli -p "$1" INFO commandstats | tr -d '\r' |
        awk -F'[:=,]' -v cmd="${2:-}" '/^cmdstat_/ && (cmd == "" || $1 == "cmdstat_" cmd) { n += $3 } END { print n + 0 }'
}
run_cluster() { # server repeat
    local name=$1 repeat=$2 label=cluster-fanout
    PORT=$((PORT + 1))
    local rport=$PORT rlog="$OUT/redis-$name.log" rpid
    taskset -c "$LOAD_CPU" redis-server --port "$rport" --bind 127.0.0.1 --save "" --appendonly no \
        --protected-mode no >>"$rlog" 2>&1 &
    rpid=$!
    CLUSTER_PIDS="$rpid"
    for _ in $(seq 1 100); do
        redis-cli -p "$rport" PING 2>/dev/null | grep -q PONG && break
        sleep 0.1
    done
    local pids=() ports=()
    for _ in 1 2; do
        PORT=$((PORT + 1))
        REDIS_URL="redis://127.0.0.1:$rport" start_server "$name" "$PORT"
        pids+=("$SERVER_PID")
        ports+=("$PORT")
        CLUSTER_PIDS="$CLUSTER_PIDS $SERVER_PID"
        SERVER_PID=""
    done
    local server_pids="${pids[0]},${pids[1]}"
    log "-- $name: $label, nodes on ports ${ports[*]}, redis on $rport (repeat $repeat)"
    local publish0 calls0 rcpu0 rc=0 line
    publish0=$(redis_calls "$rport" publish)
    calls0=$(redis_calls "$rport")
    rcpu0=$(cpu_secs "$rpid")
    line=$(taskset -c "$LOAD_CPU" "$LOADGEN" fanout --rooms "$FANOUT_ROOMS" --members "$FANOUT_MEMBERS" \
        --rate-start "$FANOUT_RATE_START" --rate-factor "$FANOUT_RATE_FACTOR" \
        --rate-max "$FANOUT_RATE_MAX" --step-secs "$FANOUT_STEP_SECS" --p99-ms "$FANOUT_P99_MS" \
        --refine "$FANOUT_REFINE" \
        --port "${ports[0]}" --port2 "${ports[1]}" --server "$name" --server-pid "$server_pids" \
        --server-core "$SERVER_CPU" --load-core "$LOAD_CPU" --repeat "$repeat" \
        2> >(tee -a "$LOG" >&2) | sed -n 's/^RESULT //p') || rc=$?
    echo "$line" >>"$RESULTS"
    local publishes calls rcpu broadcasts
    publishes=$(($(redis_calls "$rport" publish) - publish0))
    # Less two INFO calls: the second reading before, the first after.
    calls=$(($(redis_calls "$rport") - calls0 - 2))
    rcpu=$(awk -v a="$rcpu0" -v b="$(cpu_secs "$rpid")" 'BEGIN { printf "%.2f", b - a }')
    broadcasts=$(printf '%s' "$line" | sed -n 's/.*"broadcasts":\([0-9]*\).*/\1/p')
    printf '{"scenario":"server","server":"%s","run":"%s","repeat":%s,"cpu_secs":%s,"hwm_kb":%s}\n' \
        "$name" "$label" "$repeat" \
        "$(awk -v a="$(cpu_secs "${pids[0]}")" -v b="$(cpu_secs "${pids[1]}")" 'BEGIN { printf "%.2f", a + b }')" \
        "$(($(hwm_kb "${pids[0]}") + $(hwm_kb "${pids[1]}")))" >>"$RESULTS"
    awk -v s="$name" -v run="$label" -v r="$repeat" -v p="$publishes" -v c="$calls" -v b="${broadcasts:-0}" -v cpu="$rcpu" 'BEGIN {
        printf "{\"scenario\":\"redis\",\"server\":\"%s\",\"run\":\"%s\",\"repeat\":%s,\"publishes\":%d,\"calls\":%d,\"broadcasts\":%d,", s, run, r, p, c, b
        if (b > 0) printf "\"publish_per_broadcast\":%.3f,\"calls_per_broadcast\":%.3f,", p / b, c / b
        printf "\"redis_cpu_secs\":%s}\n", cpu }' >>"$RESULTS"
    log "   redis: $publishes PUBLISH, $calls commands in all, for ${broadcasts:-?} broadcasts; redis-server CPU ${rcpu} s"
    for p in "${pids[@]}" "$rpid"; do
        kill "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    CLUSTER_PIDS=""
    [ "$rc" = 0 ] || log "!! $name $label: load generator exited with $rc"
    sleep 1
}

# The durable-chat scenario: the appliance binary with its default
# configuration and a fresh data directory on this disk, whose token
# secret is written before start so that the load generator can sign
# tokens with it. With variant "strace", the server runs under strace
# (seccomp-filtered: only the traced calls stop it), which logs each
# fsync/fdatasync/sync_file_range with its time; the calls within the
# load generator's measured window are counted.
run_chat() { # repeat mode senders variant
    local repeat=$1 mode=$2 senders=$3 variant=$4 label="chat $2 $3"
    PORT=$((PORT + 1))
    local data slog="$OUT/server-confab-appliance.log" trace="" pid
    data=$(mktemp -d "$OUT/confab-data.XXXXXX")
    head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$data/jwt-secret"
    echo "--- $(date -u +%T) port $PORT $label $variant" >>"$slog"
    # Default configuration but for the per-connection event rate limit
    # (500/s by default), which one sender alone passes. The load generator
    # reads the flushes from /metrics at its window's two ends.
    local env=(CONFAB_HOST=127.0.0.1 CONFAB_PORT=$PORT CONFAB_DATA_DIR=$data
        CONFAB_EVENT_RATE_PER_SEC=0)
    if [ "$variant" = strace ]; then
        label="$label under strace"
        trace="$OUT/strace-$mode-$senders-$repeat.txt"
        env "${env[@]}" taskset -c "$SERVER_CPU" \
            strace -f --seccomp-bpf -ttt -e trace=fsync,fdatasync,sync_file_range -o "$trace" \
            "$APPLIANCE" >>"$slog" 2>&1 &
    else
        env "${env[@]}" taskset -c "$SERVER_CPU" "$APPLIANCE" >>"$slog" 2>&1 &
    fi
    SERVER_PID=$!
    local ready=""
    for _ in $(seq 1 200); do
        if tail -n 20 "$slog" | grep -q "^confab listening on http://127.0.0.1:$PORT\$"; then ready=1; break; fi
        kill -0 "$SERVER_PID" 2>/dev/null || { echo "confab exited; see $slog" >&2; exit 1; }
        sleep 0.1
    done
    [ -n "$ready" ] || { echo "confab did not listen in 20 s; see $slog" >&2; stop_server; exit 1; }
    # Under strace, the server is strace's child.
    pid=$SERVER_PID
    [ -n "$trace" ] && pid=$(cat "/proc/$SERVER_PID/task/$SERVER_PID/children" | awk '{ print $1 }')
    log "-- confab (appliance): $label (repeat $repeat)"
    local rc=0 line
    line=$(taskset -c "$LOAD_CPU" "$LOADGEN" chat --mode "$mode" --senders "$senders" \
        --secs "$CHAT_SECS" --warmup "$WARMUP_SECS" --secret-file "$data/jwt-secret" \
        --variant "$variant" --port "$PORT" --server confab --server-pid "$pid" \
        --server-core "$SERVER_CPU" --load-core "$LOAD_CPU" --repeat "$repeat" \
        2> >(tee -a "$LOG" >&2) | sed -n 's/^RESULT //p') || rc=$?
    echo "$line" >>"$RESULTS"
    printf '{"scenario":"server","server":"confab","run":"%s","repeat":%s,"cpu_secs":%s,"hwm_kb":%s}\n' \
        "$label" "$repeat" "$(cpu_secs "$pid")" "$(hwm_kb "$pid")" >>"$RESULTS"
    # The server itself first: strace then ends with it.
    kill "$pid" 2>/dev/null || true
    stop_server
    if [ -n "$trace" ]; then
        local from to
        from=$(printf '%s' "$line" | sed -n 's/.*"window_start_unix":\([0-9.]*\).*/\1/p')
        to=$(printf '%s' "$line" | sed -n 's/.*"window_end_unix":\([0-9.]*\).*/\1/p')
        if [ -n "$from" ] && [ -n "$to" ]; then
            # Lines: "<tid> <time> fsync(...". A call cut by another thread's
            # shows as "<unfinished ...>" then "<... resumed>": its first line counts.
            awk -v a="$from" -v b="$to" -v label="$label" -v repeat="$repeat" '
                $2 >= a && $2 < b && $3 ~ /^(fsync|fdatasync|sync_file_range)\(/ { n++ }
                END { printf "{\"scenario\":\"flushes\",\"server\":\"confab\",\"run\":\"%s\",\"repeat\":%s,\"calls\":%d,\"per_sec\":%.1f}\n",
                      label, repeat, n, n / (b - a) }' "$trace" >>"$RESULTS"
            log "   fsync-family calls in the window: $(tail -n 1 "$RESULTS")"
        fi
    fi
    rm -rf "$data"
    [ "$rc" = 0 ] || log "!! confab $label: load generator exited with $rc"
    sleep 1
}

START=$(date +%s)
for repeat in $(seq 1 "$REPEAT"); do
    for scenario in $SCENARIOS; do
        case $scenario in
            connections)
                for n in $CONN_LIST; do
                    sources=$(((n + 24999) / 25000))
                    for server in $SERVERS; do
                        run_one "$server" "$repeat" "connections $n" connections --conns "$n" --sources "$sources"
                    done
                done ;;
            echo)
                for server in $SERVERS; do
                    run_one "$server" "$repeat" echo echo --clients "$ECHO_CLIENTS" --inflight "$ECHO_INFLIGHT" --secs "$ECHO_SECS" --warmup "$WARMUP_SECS"
                done ;;
            polling)
                for server in $SERVERS; do
                    run_one "$server" "$repeat" polling polling --clients "$POLL_CLIENTS" --secs "$POLL_SECS" --warmup "$WARMUP_SECS"
                done ;;
            fanout)
                for server in $SERVERS; do
                    run_one "$server" "$repeat" fanout fanout --rooms "$FANOUT_ROOMS" --members "$FANOUT_MEMBERS" \
                        --rate-start "$FANOUT_RATE_START" --rate-factor "$FANOUT_RATE_FACTOR" \
                        --rate-max "$FANOUT_RATE_MAX" --step-secs "$FANOUT_STEP_SECS" --p99-ms "$FANOUT_P99_MS" \
                        --refine "$FANOUT_REFINE"
                done ;;
            cluster-fanout)
                for tool in redis-server redis-cli; do
                    command -v "$tool" >/dev/null || { echo "cluster-fanout needs $tool (apt-get install redis-server)" >&2; exit 1; }
                done
                for server in $SERVERS; do
                    case $server in
                        confab | node) run_cluster "$server" "$repeat" ;;
                        *) log "-- $server: no Redis adapter in its bench server; cluster-fanout skipped" ;;
                    esac
                done ;;
            chat)
                [ -x "$APPLIANCE" ] || { echo "no $APPLIANCE: build it (BUILD=1)" >&2; exit 1; }
                if [ "$repeat" = 1 ]; then
                    taskset -c "$LOAD_CPU" "$LOADGEN" disk --dir "$OUT" --secs "$DISK_SECS" --server confab \
                        2> >(tee -a "$LOG" >&2) | sed -n 's/^RESULT //p' >>"$RESULTS"
                fi
                for run in $CHAT_RUNS; do
                    run_chat "$repeat" "${run%%:*}" "${run##*:}" ""
                done
                for run in $CHAT_STRACE; do
                    run_chat "$repeat" "${run%%:*}" "${run##*:}" strace
                done ;;
            *) echo "unknown scenario $scenario" >&2; exit 1 ;;
        esac
    done
done
log "== load done in $(($(date +%s) - START)) s; results in $OUT"

"$LOADGEN" report "$RESULTS" | tee "$OUT/table.md"
