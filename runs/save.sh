#!/usr/bin/env bash
# Makes a run's state committable: its JSONL log (appended to by the trainer,
# megabytes of step records) is stored gzipped beside it. The checkpoints
# (<method>.ckpt to resume, <method>.ckpt.best the model) are committed as they are.
#   bash runs/save.sh runs/prosqa-no-cot [more run directories]
set -euo pipefail
for dir in "$@"; do
  for log in "$dir"/*.jsonl; do
    [ -e "$log" ] || continue
    gzip -9 -c "$log" > "$log.gz.tmp" && mv "$log.gz.tmp" "$log.gz"
  done
done
