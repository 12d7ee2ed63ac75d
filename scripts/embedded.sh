#!/usr/bin/env bash
# Cargo for the embedded engine: `scripts/embedded.sh SUBCOMMAND ARGS...` runs
# `cargo SUBCOMMAND --release --features embedded ARGS...` with AVX2 code
# generation (-C target-cpu=x86-64-v3: about 4x the tokens/s of the default
# x86-64 target on CPU) in a target directory of its own
# ($CARGO_TARGET_DIR/embedded, default target/embedded), so that the other
# builds keep their flags and their cache. The first build compiles mistral.rs:
# about 20-30 minutes on 2 cores.
#
#   scripts/embedded.sh run -p selfbrake -- serve
#   scripts/embedded.sh test -p selfbrake-adapters --test mistralrs_model
#
# Set SELFBRAKE_RUSTFLAGS to override the flags (e.g. "-C target-cpu=native").
# On a CPU without AVX2 the default is no extra flags (a slower model, but a
# binary that runs).
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || { echo "usage: $0 SUBCOMMAND [ARGS...]" >&2; exit 2; }
sub="$1"
shift
if [ -z "${SELFBRAKE_RUSTFLAGS+set}" ]; then
  if grep -qw avx2 /proc/cpuinfo 2>/dev/null; then
    SELFBRAKE_RUSTFLAGS="-C target-cpu=x86-64-v3"
  else
    echo "embedded.sh: no AVX2 on this CPU; building for the baseline x86-64 target" >&2
    SELFBRAKE_RUSTFLAGS=""
  fi
fi
export RUSTFLAGS="$SELFBRAKE_RUSTFLAGS"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}/embedded"
exec cargo "$sub" --release --features embedded "$@"
