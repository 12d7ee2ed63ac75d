#!/usr/bin/env bash
# Makes room for a CI run: `scripts/ci-disk.sh TARGET_DIR GIB` deletes build
# caches under TARGET_DIR until the filesystem holding it has GIB GiB free,
# cheapest to rebuild first: stale incremental caches, then logs and the fuzz,
# debug, release and profiling builds (minutes), and the embedded engine's
# build (20-26 minutes on 2 cores) last. It prints the free space before and
# after; it fails only if the target directory cannot be created.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 TARGET_DIR GIB" >&2; exit 2; }
target="$1"
need_gib="$2"
mkdir -p "$target"

free_gib() { df -Pk "$target" | awk 'NR == 2 { print int($4 / 1048576) }'; }

echo "ci-disk: $(free_gib) GiB free on the target directory's filesystem (want $need_gib)"
# Never read again once CARGO_INCREMENTAL=0; safe to drop every time.
find "$target" -maxdepth 3 -type d -name incremental -prune -exec rm -rf {} +

for victim in "$target"/*.log "$target"/fuzz "$target"/debug "$target"/release \
  "$target"/pgo-* "$target"/dist "$target"/embedded; do
  [ "$(free_gib)" -ge "$need_gib" ] && break
  [ -e "$victim" ] || continue
  echo "ci-disk: removing $victim ($(du -sh "$victim" 2>/dev/null | cut -f1))"
  rm -rf "$victim"
done
echo "ci-disk: $(free_gib) GiB free"
