#!/usr/bin/env bash
# The whole test suite: Rust unit, integration and doc tests, plus the
# official Python `openai` client against the proxy (installed into a venv).
set -euo pipefail
cd "$(dirname "$0")/.."

venv="${SELFBRAKE_VENV:-$HOME/.cache/selfbrake-venv}"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import openai" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "openai>=1.40,<3"
fi
export SELFBRAKE_TEST_PYTHON="$venv/bin/python"

cargo test --workspace --all-targets "$@"
cargo test --workspace --doc
