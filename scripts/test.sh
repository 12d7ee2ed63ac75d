#!/usr/bin/env bash
# The whole test suite: Rust unit, integration and doc tests, the official
# Python `openai` and `anthropic` clients against the proxy (installed into a
# venv), and the
# embedded engine's tests on a real model (SmolLM2-135M, fetched once by
# scripts/get-model.sh into ~/.cache/selfbrake-models unless SELFBRAKE_MODEL
# names a GGUF; built in release with the `embedded` feature by
# scripts/embedded.sh: the first build compiles mistral.rs, 20-30 minutes).
#
# The suite against a real engine, llama.cpp's llama-server
# (tests/tests/llamacpp.rs, `#[ignore]`d in a plain `cargo test` and run here
# with --ignored) uses the same model and a llama-server built once by
# scripts/build-llama-server.sh into ~/.cache/selfbrake-llama (about 4
# minutes on 2 cores) unless SELFBRAKE_LLAMA_SERVER names a binary.
#
# SELFBRAKE_SKIP_EMBEDDED=1 leaves out the embedded engine's tests and
# SELFBRAKE_SKIP_LLAMA=1 the llama-server suite, for a quick loop.
set -euo pipefail
cd "$(dirname "$0")/.."

venv="${SELFBRAKE_VENV:-$HOME/.cache/selfbrake-venv}"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import openai, anthropic" 2>/dev/null; then
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "openai>=1.40,<3" "anthropic>=0.40"
fi
# The LiteLLM proxy, for tests/tests/litellm.rs (a first install takes about
# 3-4 minutes; the venv is kept between runs).
if [ ! -x "$venv/bin/litellm" ]; then
  "$venv/bin/pip" install --quiet --disable-pip-version-check "litellm[proxy]"
fi
# redis-server, for the Redis store's tests (limits/tests/redis_*.rs).
command -v redis-server >/dev/null || (apt-get update && apt-get install -y redis-server)
export SELFBRAKE_TEST_PYTHON="$venv/bin/python"

cargo test --workspace --all-targets "$@"
cargo test --workspace --doc

model() {
  if [ -z "${SELFBRAKE_MODEL:-}" ]; then
    SELFBRAKE_MODEL="$(PYTHON="$venv/bin/python" scripts/get-model.sh "$HOME/.cache/selfbrake-models")"
  fi
  export SELFBRAKE_MODEL
}

if [ "${SELFBRAKE_SKIP_LLAMA:-0}" != 1 ]; then
  model
  if [ -z "${SELFBRAKE_LLAMA_SERVER:-}" ]; then
    SELFBRAKE_LLAMA_SERVER="$(PYTHON="$venv/bin/python" scripts/build-llama-server.sh)"
  fi
  export SELFBRAKE_LLAMA_SERVER
  cargo test -p selfbrake-tests --test llamacpp --test llamacpp_probe -- --ignored
fi

if [ "${SELFBRAKE_SKIP_EMBEDDED:-0}" != 1 ]; then
  model
  # One invocation: both packages share one feature resolution, so
  # mistral.rs is compiled once.
  scripts/embedded.sh test -p selfbrake-adapters -p selfbrake \
    --test mistralrs_model --test embedded_model
fi
