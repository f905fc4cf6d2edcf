#!/usr/bin/env bash
# Issue 12's service figures, measured with the release binaries on this
# machine: durable JSON and remote_write ingest, p99 latency at a fixed
# rate, RSS per idle series with 1 000 000 series, and restart time.
# Everything listens on 127.0.0.1 (port 0) and every run is bounded.
# Figures and how to read them: BENCHMARKS.md, "Service (issue 12)".
#
#   cargo build --release -p anomalyzer_cli -p anomalyzer_loadgen
#   bash crates/anomalyzer_loadgen/scripts/service_figures.sh [OUT_DIR]
#
# Environment: DURATION (seconds per ingest run, default 20), CONCURRENCY
# (connections, default 8), SERIES_MEM (series for the memory and
# restart figures, default 1000000), BIN (default target/release).
set -euo pipefail

BIN=${BIN:-target/release}
DURATION=${DURATION:-20}
CONCURRENCY=${CONCURRENCY:-8}
SERIES_MEM=${SERIES_MEM:-1000000}
OUT=${1:-$(mktemp -d)}
mkdir -p "$OUT"
WORK=$(mktemp -d)
SERVER_PID=
ADDR=

stop_server() {
    if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        # Bounded: a server that does not stop within 60 s is killed.
        for _ in $(seq 600); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    SERVER_PID=
}
trap 'stop_server; rm -rf "$WORK"' EXIT

# start_server STATE_DIR LOG [FLAGS...]: starts `anomalyzer serve` on a free
# loopback port and sets SERVER_PID and ADDR once it prints its address.
start_server() {
    local state=$1 log=$2
    shift 2
    "$BIN/anomalyzer" serve --state "$state" --listen 127.0.0.1:0 "$@" 2>"$log" &
    SERVER_PID=$!
    ADDR=
    for _ in $(seq 300); do
        ADDR=$(sed -n 's/^listening on //p' "$log" | head -n1)
        [[ -n $ADDR ]] && return 0
        sleep 0.01
    done
    echo "server did not print its address in 3 s:" >&2
    cat "$log" >&2
    exit 1
}

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
load() { cut -d' ' -f1-3 /proc/loadavg; }
now_ns() { date +%s%N; }
loadgen() { "$BIN/anomalyzer-loadgen" "$@"; }

echo "# $(date -u +%FT%TZ) $(git rev-parse --short HEAD 2>/dev/null || true), nproc $(nproc)" | tee "$OUT/summary.txt"

# 1 and 3: durable JSON ingest, --sync always, then latency at fixed rates.
for format in json remote-write; do
    state="$WORK/state-$format"
    start_server "$state" "$WORK/server-$format.log" --sync always
    loadgen wait-ready --url "http://$ADDR" --within 60 >/dev/null
    echo "load before $format: $(load)" | tee -a "$OUT/summary.txt"
    loadgen "$format" --url "http://$ADDR" --duration "$DURATION" --concurrency "$CONCURRENCY" \
        --server-pid "$SERVER_PID" --json | tee "$OUT/ingest-$format.json"
    max=$(python3 -c 'import json,sys; print(int(json.load(open(sys.argv[1]))["points_per_second"]))' "$OUT/ingest-$format.json")
    # Half the issue's 300 000 points/s goal, and half what was reached.
    for rate in 150000 $((max / 2)); do
        echo "load before $format at $rate/s: $(load)" | tee -a "$OUT/summary.txt"
        loadgen "$format" --url "http://$ADDR" --duration "$DURATION" --concurrency "$CONCURRENCY" \
            --rate "$rate" --server-pid "$SERVER_PID" --json | tee "$OUT/latency-$format-$rate.json" || true
    done
    stop_server
done

# 4: RSS per idle series. An empty server's RSS once ready, then after
# SERIES_MEM series with one point each.
state="$WORK/state-mem"
start_server "$state" "$WORK/server-mem.log" --sync always
loadgen wait-ready --url "http://$ADDR" --within 60 >/dev/null
sleep 1
empty=$(rss_kib "$SERVER_PID")
echo "load before prefill: $(load)" | tee -a "$OUT/summary.txt"
loadgen prefill --url "http://$ADDR" --series "$SERIES_MEM" --concurrency 4 \
    --server-pid "$SERVER_PID" --json | tee "$OUT/prefill.json"
sleep 2
full=$(rss_kib "$SERVER_PID")
echo "RSS empty ${empty} KiB, with $SERIES_MEM series ${full} KiB: $(( (full - empty) * 1024 / SERIES_MEM )) B per series" \
    | tee -a "$OUT/summary.txt"

# 5: restart with SERIES_MEM series, after kill -9 (recovery replays the
# log since the last snapshot) and after a clean SIGTERM (which snapshots).
restart() {
    local how=$1
    local t0 t1
    t0=$(now_ns)
    start_server "$state" "$WORK/server-restart-$how.log"
    loadgen wait-ready --url "http://$ADDR" --within 120 --json | tee "$OUT/restart-$how.json"
    t1=$(now_ns)
    echo "restart after $how: $(( (t1 - t0) / 1000000 )) ms from exec to /readyz 200, RSS $(rss_kib "$SERVER_PID") KiB; $(grep -m1 '^state ' "$WORK/server-restart-$how.log" || true)" \
        | tee -a "$OUT/summary.txt"
}
kill -KILL "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null || true
SERVER_PID=
restart kill-9
stop_server
restart sigterm
stop_server

# The same with kill -9 the moment the prefill's last answer came, so
# that recovery has the most log to replay.
state="$WORK/state-kill"
start_server "$state" "$WORK/server-kill.log" --sync always
loadgen wait-ready --url "http://$ADDR" --within 60 >/dev/null
loadgen prefill --url "http://$ADDR" --series "$SERIES_MEM" --concurrency 4 --json >"$OUT/prefill-kill.json"
kill -KILL "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null || true
SERVER_PID=
restart kill-9-at-once
stop_server
echo "results in $OUT" >&2
