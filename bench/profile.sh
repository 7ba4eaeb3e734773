#!/usr/bin/env bash
# bench/profile.sh: where the confab bench server spends its work, under a
# light version of the echo and fan-out loads.
#
#   bench/profile.sh [echo] [fanout]       (default: both)
#
# PROFILER=callgrind (default): valgrind --tool=callgrind counts the
#   instructions of every function (user space only; repeatable whatever
#   else the machine is doing), then callgrind_annotate lists the top
#   functions by self and by inclusive cost.
# PROFILER=perf: perf record -e cpu-clock at full speed, flat profile with
#   the kernel's share (syscalls) included; needs perf and
#   kernel.perf_event_paranoid <= 2.
# Output: bench/results/profile-<date>/<scenario>.{self,inclusive,perf}.txt
# Knobs: PROFILE_SECS=10 ZERO_AFTER=5 (callgrind: counters zeroed then,
# after the clients connected) SERVER_CPU=0 LOAD_CPU=1 PORT=29500 BUILD=1 OUT=...
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
PROFILER=${PROFILER:-callgrind}
PROFILE_SECS=${PROFILE_SECS:-10}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
PORT=${PORT:-29500}
BUILD=${BUILD:-1}
OUT=${OUT:-$HERE/results/profile-$(date -u +%Y%m%d-%H%M%S)}
SCENARIOS=${*:-echo fanout}
TARGET=$HERE/target/release
mkdir -p "$OUT"

if [ "$BUILD" = 1 ]; then
    (cd "$HERE" && nice -n 10 cargo build --release -p loadgen -p confab-bench-server 2>&1 | tail -n 2)
fi

SERVER_PID=""
trap '[ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null; true' EXIT

for scenario in $SCENARIOS; do
    PORT=$((PORT + 1))
    slog=$OUT/$scenario.server.log
    case $PROFILER in
        callgrind)
            PORT=$PORT taskset -c "$SERVER_CPU" valgrind --tool=callgrind \
                --callgrind-out-file="$OUT/callgrind.$scenario.out" \
                "$TARGET/confab-bench-server" >"$slog" 2>&1 &
            ;;
        perf)
            PORT=$PORT taskset -c "$SERVER_CPU" perf record -e cpu-clock -F 999 \
                -o "$OUT/perf.$scenario.data" "$TARGET/confab-bench-server" >"$slog" 2>&1 &
            ;;
        *) echo "PROFILER is callgrind or perf" >&2; exit 1 ;;
    esac
    SERVER_PID=$!
    for _ in $(seq 1 600); do
        grep -q "^ready confab $PORT" "$slog" && break
        sleep 0.1
    done
    grep -q "^ready confab $PORT" "$slog" || { echo "server did not start; see $slog" >&2; exit 1; }
    # The profiled process: the server itself, under valgrind or perf.
    pid=$(pgrep -n -f "confab-bench-server" || echo "$SERVER_PID")
    common=(--port "$PORT" --server confab-profiled --server-pid "$pid")
    case $scenario in
        echo)
            taskset -c "$LOAD_CPU" "$TARGET/loadgen" echo "${common[@]}" \
                --clients 20 --secs "$PROFILE_SECS" --warmup 1 2>&1 | grep -v '^RESULT' &
            ;;
        fanout)
            # One step at a rate the instrumented server keeps up with.
            taskset -c "$LOAD_CPU" "$TARGET/loadgen" fanout "${common[@]}" \
                --rooms 5 --members 40 --rate-start 20 --rate-max 20 --refine 0 \
                --step-secs "$PROFILE_SECS" --p99-ms 1000000 2>&1 | grep -v '^RESULT' &
            ;;
        *) echo "unknown scenario $scenario" >&2; exit 1 ;;
    esac
    LOAD_PID=$!
    if [ "$PROFILER" = callgrind ]; then
        # Count only the steady state: zero the counters once every client
        # has connected (and joined), i.e. ZERO_AFTER seconds in.
        sleep "${ZERO_AFTER:-5}"
        callgrind_control --zero "$SERVER_PID" >/dev/null || true
    fi
    wait "$LOAD_PID" || true
    kill -TERM "$SERVER_PID"
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
    case $PROFILER in
        callgrind)
            callgrind_annotate --inclusive=no "$OUT/callgrind.$scenario.out" 2>/dev/null | head -n 60 >"$OUT/$scenario.self.txt" || true
            callgrind_annotate --inclusive=yes "$OUT/callgrind.$scenario.out" 2>/dev/null | head -n 80 >"$OUT/$scenario.inclusive.txt" || true
            echo "== $scenario: top functions by instructions (self), $OUT/$scenario.self.txt"
            sed -n '1,45p' "$OUT/$scenario.self.txt"
            ;;
        perf)
            perf report -i "$OUT/perf.$scenario.data" --stdio --no-children --sort dso,symbol 2>/dev/null \
                | grep -E '^ +[0-9]' | head -n 60 >"$OUT/$scenario.perf.txt" || true
            echo "== $scenario: top symbols by CPU samples, $OUT/$scenario.perf.txt"
            head -n 40 "$OUT/$scenario.perf.txt"
            ;;
    esac
done
