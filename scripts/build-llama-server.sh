#!/usr/bin/env bash
# Builds llama.cpp's `llama-server` once and prints its path. The integration
# suite against a real engine (tests/tests/llamacpp.rs) and the llama.cpp
# benchmark run against it.
#
#   scripts/build-llama-server.sh            # -> ~/.cache/selfbrake-llama/llama-server
#   SELFBRAKE_LLAMA_DIR=/some/dir scripts/build-llama-server.sh
#
# The sources are the llama.cpp that the PyPI sdist `llama-cpp-python==0.3.36`
# vendors (build b1-0c1e570), fetched with pip so that the only network need
# is the package index that the rest of the suite already uses. The binary is
# cached outside the clone, like the cargo target: an existing one is kept,
# so only the first run pays for the build (about 4 minutes on 2 cores).
#
# The CPU flags are fixed rather than native: GGML_NATIVE=ON produces a
# binary that dies with "Illegal instruction" on the VMs this runs on.
set -euo pipefail

version="0.3.36"
dir="${SELFBRAKE_LLAMA_DIR:-$HOME/.cache/selfbrake-llama}"
bin="$dir/llama-server"

if [ -x "$bin" ]; then
  echo "$bin"
  exit 0
fi

if ! command -v cmake >/dev/null; then
  echo "build-llama-server: installing cmake" >&2
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get -o DPkg::Lock::Timeout=900 update -qq >&2
  $sudo_cmd apt-get -o DPkg::Lock::Timeout=900 install -y -qq cmake >&2
fi

python="${PYTHON:-python3}"
mkdir -p "$dir"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

"$python" -m pip download --quiet --disable-pip-version-check --no-deps \
  --no-binary :all: "llama-cpp-python==$version" -d "$work" >&2
tar -xzf "$work/llama_cpp_python-$version.tar.gz" -C "$work"
src="$dir/src"
rm -rf "$src" "$dir/build"
mv "$work/llama_cpp_python-$version/vendor/llama.cpp" "$src"
if [ ! -f "$src/CMakeLists.txt" ]; then
  echo "build-llama-server: no vendor/llama.cpp in the sdist" >&2
  exit 1
fi

# The build tree stays in the cache: with llama.cpp's default shared
# libraries the binary finds libllama/libggml through its build RPATH.
cmake -S "$src" -B "$dir/build" -DCMAKE_BUILD_TYPE=Release \
  -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
  -DGGML_AVX512=OFF -DLLAMA_CURL=OFF -DLLAMA_BUILD_SERVER=ON >&2
cmake --build "$dir/build" --config Release -j2 --target llama-server >&2

ln -sfn "build/bin/llama-server" "$bin"
"$bin" --version >&2
echo "$bin"
