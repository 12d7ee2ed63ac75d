#!/usr/bin/env bash
# The benchmark scripts' selfbrake config: LISTEN_PORT in front of the bench
# mock on UPSTREAM_PORT, anonymous, no admin listener, rules that watch
# every token and never fire (a budget of 10^9 and convergence), plus any
# further `[server]` lines given after the ports.
#
#   scripts/idle-config.sh LISTEN_PORT UPSTREAM_PORT ['worker_threads = 2' ...] > config.toml
set -eu
listen=$1
upstream=$2
shift 2
echo "[server]"
echo "listen = \"127.0.0.1:$listen\""
echo 'admin_listen = ""'
for line in "$@"; do
  echo "$line"
done
cat <<EOT

[backends.default]
kind = "openai"
base_url = "http://127.0.0.1:$upstream/v1"

[policies.default]
rules = [
  { kind = "budget", max_reasoning_tokens = 1000000000 },
  { kind = "convergence", repeats = 2 },
]
EOT
