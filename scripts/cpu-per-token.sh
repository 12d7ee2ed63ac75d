#!/usr/bin/env bash
# CPU per streamed token of several proxies, one at a time under the same
# load, alternated for ROUNDS rounds: bench's fast-upstream at RATE tokens/s
# per stream (default 50), loadgen with CONC streams (default 200) for DUR
# seconds (default 10); CPU (user + system) from /proc/PID/stat over the
# middle DUR-4 seconds, divided by the tokens loadgen received per second.
#
# usage: scripts/cpu-per-token.sh ROUNDS 'LABEL|ENV|BIN|SERVER_LINE' ...
#   BIN: a selfbrake binary, or `relay` (bench's tcp-relay)
#   ENV: extra environment, e.g. TOKIO_WORKER_THREADS=1 (may be empty)
#   SERVER_LINE: an extra `[server]` line, e.g. `worker_threads = 2`
# e.g. scripts/cpu-per-token.sh 3 "one||$T/release/selfbrake|" "relay||relay|"
# Needs `cargo build --release -p selfbrake -p selfbrake-bench` first.
set -eu
S=$(cd "$(dirname "$0")" && pwd)
T=${CARGO_TARGET_DIR:-$S/../target}/release
ROUNDS=$1
shift
C=${CONC:-200}
D=${DUR:-10}
W=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$W"' EXIT
"$T/fast-upstream" --listen 127.0.0.1:18940 --rate "${RATE:-50}" --tokens 200 >/dev/null 2>&1 &
sleep 0.5
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
for _ in $(seq "$ROUNDS"); do
  for spec in "$@"; do
    IFS='|' read -r label envs bin extra <<<"$spec"
    if [ "$bin" = relay ]; then
      env $envs "$T/tcp-relay" --listen 127.0.0.1:18941 --upstream 127.0.0.1:18940 >/dev/null 2>&1 &
    else
      if [ -n "$extra" ]; then
        "$S/idle-config.sh" 18941 18940 "$extra"
      else
        "$S/idle-config.sh" 18941 18940
      fi >"$W/c.toml"
      env $envs "$bin" serve --config "$W/c.toml" >"$W/proxy.log" 2>&1 &
    fi
    P=$!
    sleep 1
    "$T/loadgen" --base-url http://127.0.0.1:18941/v1 --concurrency "$C" --duration-s "$D" --out "$W/l.json" >/dev/null 2>&1 &
    L=$!
    sleep 2
    a=$(cpu $P)
    sleep $((D - 4))
    b=$(cpu $P)
    wait $L
    python3 -c '
import json, os, sys
label, a, b, path, secs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
tps = json.load(open(path))["tokens_per_s"]
us = (b - a) / os.sysconf("SC_CLK_TCK") * 1e6 / (tps * secs)
print(f"{label:12s} {us:6.2f} µs CPU per token ({tps:.0f} tokens/s)", flush=True)
' "$label" "$a" "$b" "$W/l.json" $((D - 4))
    kill $P
    wait $P 2>/dev/null || true
  done
done
