#!/usr/bin/env bash
# Where a streamed request's time to first token goes inside the proxy's
# process, under `compare`'s latency load (200 streams at 50 tokens/s from
# the bench mock): the proxy's system calls are recorded for 5 s by
# `perf record` (syscall tracepoints) and each request is split into
#   request in -> upstream request out   (our request path)
#   upstream request out -> its head in  (the upstream, and waiting for a core)
#   upstream head in -> client head out  (our response path)
# with percentiles of each. A TTFT tail that sits in the middle stage is
# the upstream's or the machine's, not the proxy's code.
#
#   scripts/ttft-split.sh [SELFBRAKE_BIN]   # default: the release build
#
# Needs `perf` with tracepoint access (root or perf_event_paranoid <= 1),
# python3, and the bench tools built:
# `cargo build --release -p selfbrake -p selfbrake-bench`.
# TTFT_PORT (default 18810) is the first of the two loopback ports used.
set -euo pipefail
cd "$(dirname "$0")/.."

bin_dir="${CARGO_TARGET_DIR:-$PWD/target}/release"
proxy="${1:-$bin_dir/selfbrake}"
port="${TTFT_PORT:-18810}"
work="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

scripts/idle-config.sh $((port + 1)) "$port" > "$work/config.toml"
"$bin_dir/fast-upstream" --listen "127.0.0.1:$port" --rate 50 --tokens 200 > "$work/mock.log" 2>&1 &
"$proxy" serve --config "$work/config.toml" > "$work/proxy.log" 2>&1 &
proxy_pid=$!
sleep 1.5
"$bin_dir/loadgen" --base-url "http://127.0.0.1:$((port + 1))/v1" --concurrency 200 \
    --duration-s 12 --out "$work/load.json" > /dev/null 2>&1 &
load_pid=$!
sleep 4.5
perf record -q -e syscalls:sys_enter_sendto,syscalls:sys_enter_recvfrom,syscalls:sys_exit_recvfrom \
    -o "$work/perf.data" -p "$proxy_pid" -- sleep 5 > /dev/null 2>&1
wait "$load_pid"
perf script -i "$work/perf.data" -F tid,time,event,trace 2> /dev/null > "$work/trace.txt"
python3 - "$work/trace.txt" "$work/load.json" <<'EOF'
import json, re, sys

ENTRY = re.compile(r"\s*(\d+)\s+([\d.]+):\s+syscalls:(\w+):\s*(.*)")
def field(name, rest):
    return int(re.search(name + r": (0x[0-9a-f]+)", rest).group(1), 16)

# A client request arrives (a read of 250-400 bytes) and, in the same poll of
# the same thread, goes upstream (the next write on that thread to another
# socket); the upstream's first read after that is its head, and the first
# write to the client after the head is the client's first byte.
reading, arrived, by_upstream, by_client, requests = {}, {}, {}, {}, []
for line in open(sys.argv[1]):
    m = ENTRY.match(line)
    if not m:
        continue
    tid, t, event, rest = int(m[1]), float(m[2]), m[3], m[4]
    if event == "sys_enter_recvfrom":
        reading[tid] = field("fd", rest)
    elif event == "sys_exit_recvfrom":
        n, fd = int(rest.strip(), 16), reading.get(tid)
        if n >= 1 << 63:
            continue
        if 250 <= n <= 400 and fd not in by_upstream:
            arrived[tid] = (t, fd)
        elif n > 0 and fd in by_upstream and "head" not in by_upstream[fd]:
            by_upstream[fd]["head"] = t
    elif event == "sys_enter_sendto":
        fd = field("fd", rest)
        if tid in arrived and arrived[tid][1] != fd:
            t0, client = arrived.pop(tid)
            r = {"in": t0, "up": t}
            requests.append(r)
            by_upstream[fd] = by_client[client] = r
        elif fd in by_client and "head" in by_client[fd] and "out" not in by_client[fd]:
            by_client[fd]["out"] = t
done = [r for r in requests if "out" in r]
if not done:
    sys.exit("no request traced: is perf allowed to read syscall tracepoints?")
def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * q))]
print(f"{len(done)} requests traced; the client's TTFT (loadgen): {json.load(open(sys.argv[2]))['ttft_us']}")
for name, a, b in (("request in -> upstream request out", "in", "up"),
                   ("upstream request out -> upstream head in", "up", "head"),
                   ("upstream head in -> client head out", "head", "out"),
                   ("request in -> client head out", "in", "out")):
    v = [(r[b] - r[a]) * 1e6 for r in done]
    print(f"{name:42} p50 {pct(v, .5):6.0f}  p90 {pct(v, .9):6.0f}  p99 {pct(v, .99):6.0f}  max {max(v):6.0f} µs")
EOF
