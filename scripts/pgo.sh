#!/usr/bin/env bash
# Builds the proxy with profile-guided optimisation on top of the `dist`
# profile (whole-program LTO), and prints the binary's path: an instrumented
# build serves a training load over loopback (the bench tools' mock vLLM and
# load generator, plus curl), llvm-profdata merges the profile it writes,
# and the binary is built again with it. The per-token path runs through
# hyper, tokio and our crates in many small functions; the profile tells
# the compiler which calls to inline and which branches are hot. Measured:
# docs/benchmarks.md, "Fourth pass".
#
#   scripts/pgo.sh                  # -> .../pgo-use/<host>/dist/selfbrake
#
# Needs rustup's llvm-tools component (added when missing) and curl. Build
# directories: $CARGO_TARGET_DIR (default target/), with pgo-generate/ and
# pgo-use/ beside the usual ones: their RUSTFLAGS differ, so each keeps its
# own dependency builds. PGO_PORT (default 18970) is the first of the four
# loopback ports the training uses.
set -euo pipefail
cd "$(dirname "$0")/.."

target_dir="${CARGO_TARGET_DIR:-$PWD/target}"
host="$(rustc -vV | sed -n 's/^host: //p')"
profdata="$(rustc --print sysroot)/lib/rustlib/$host/bin/llvm-profdata"
[ -x "$profdata" ] || rustup component add llvm-tools >&2
port="${PGO_PORT:-18970}"
profiles="$target_dir/pgo-profiles"
work="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

log() { echo "pgo: $*" >&2; }

cargo build --release --locked -p selfbrake-bench --bin fast-upstream --bin loadgen >&2
tools="$target_dir/release"

# `--target` keeps the flags off build scripts and proc macros, which would
# otherwise write profiles of the compiler's own work.
log "instrumented build"
rm -rf "$profiles/raw"
RUSTFLAGS="-Cprofile-generate=$profiles/raw" CARGO_TARGET_DIR="$target_dir/pgo-generate" \
  cargo build --profile dist --locked -p selfbrake --bin selfbrake --target "$host" >&2
instrumented="$target_dir/pgo-generate/$host/dist/selfbrake"

paced="127.0.0.1:$port"
flat_out="127.0.0.1:$((port + 1))"
proxy="127.0.0.1:$((port + 2))"
config() { # upstream rules...
  local upstream="$1"
  shift
  printf '[server]\nlisten = "%s"\nadmin_listen = "127.0.0.1:0"\n\n' "$proxy"
  printf '[backends.default]\nkind = "openai"\nbase_url = "http://%s/v1"\n' "$upstream"
  printf 'continuation = "continue_final_message"\n\n[policies.default]\nrules = [\n'
  printf '  %s,\n' "$@"
  printf ']\n'
}
mkdir -p "$work/config"
idle=('{ kind = "budget", max_reasoning_tokens = 1000000000 }' '{ kind = "convergence", repeats = 2 }')
config "$paced" "${idle[@]}" > "$work/config/paced.toml"
config "$flat_out" "${idle[@]}" > "$work/config/flat-out.toml"
config "$flat_out" '{ kind = "budget", max_reasoning_tokens = 100 }' > "$work/config/braking.toml"

"$tools/fast-upstream" --listen "$paced" --rate 50 --tokens 200 > "$work/paced.log" 2>&1 &
"$tools/fast-upstream" --listen "$flat_out" --rate 0 --tokens 200 > "$work/flat-out.log" 2>&1 &

# Runs the instrumented proxy with CONFIG while the rest of the arguments
# run; it writes its profile when it exits on SIGTERM.
train() {
  local config="$1"
  shift
  "$instrumented" serve --config "$work/config/$config.toml" > "$work/$config.log" 2>&1 &
  local pid=$!
  for _ in $(seq 100); do
    curl -sf "http://$proxy/healthz" > /dev/null && break
    sleep 0.1
  done
  "$@"
  kill -TERM "$pid"
  wait "$pid"
}

loadgen() { "$tools/loadgen" --base-url "http://$proxy/v1" "$@" > /dev/null; }

# Requests that are not streamed chat: whole replies, the Responses API,
# the model list.
others() {
  local chat='{"model":"mock-model","messages":[{"role":"user","content":"What is 17 * 3?"}]}'
  local responses='{"model":"mock-model","input":"What is 17 * 3?"}'
  local responses_streamed='{"model":"mock-model","input":"What is 17 * 3?","stream":true}'
  for _ in $(seq 100); do
    curl -sf "http://$proxy/v1/chat/completions" -H 'content-type: application/json' -d "$chat" > /dev/null
    curl -sf "http://$proxy/v1/responses" -H 'content-type: application/json' -d "$responses" > /dev/null
    curl -sf "http://$proxy/v1/responses" -H 'content-type: application/json' -d "$responses_streamed" > /dev/null
    curl -sf "http://$proxy/v1/models" > /dev/null
  done
}

log "training: 200 streams at 50 tokens/s"
train paced loadgen --concurrency 200 --duration-s 10
flat_out() {
  others
  loadgen --concurrency 32 --duration-s 5
}

log "training: other requests, then 32 streams at full speed"
train flat-out flat_out
log "training: braking at 100 tokens (continuations)"
train braking loadgen --concurrency 32 --duration-s 4

"$profdata" merge -o "$profiles/merged.profdata" "$profiles/raw"

log "optimised build"
RUSTFLAGS="-Cprofile-use=$profiles/merged.profdata" CARGO_TARGET_DIR="$target_dir/pgo-use" \
  cargo build --profile dist --locked -p selfbrake --bin selfbrake --target "$host" >&2
echo "$target_dir/pgo-use/$host/dist/selfbrake"
