#!/usr/bin/env bash
# The inverse of save.sh, for a fresh clone: unpacks a run's committed log so that
# the resumed run appends to it.   bash runs/restore.sh runs/prosqa-no-cot
set -euo pipefail
for dir in "$@"; do
  for gz in "$dir"/*.jsonl.gz; do
    [ -e "$gz" ] || continue
    [ -e "${gz%.gz}" ] || gunzip -c "$gz" > "${gz%.gz}"
  done
done
