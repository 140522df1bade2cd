#!/usr/bin/env bash
# Stops runs started by start.sh or chain.sh and makes their state committable: each run's
# trainer is stopped (it loses at most the steps since its last checkpoint, written
# every few minutes), then save.sh gzips its log.
#   bash runs/stop.sh runs/prosqa-cot-batch8 runs/prosqa-cot-sinusoidal
#   git add runs/<run>/*.ckpt runs/<run>/*.ckpt.best runs/<run>/*.jsonl.gz
set -euo pipefail
cd "$(dirname "$0")/.."
for dir in "$@"; do
  dir=$(realpath --relative-to=. "$dir")  # as command.sh names it: runs/<run>
  pids=$(bash runs/trainer_pids.sh "$dir" || true)
  if [ -n "$pids" ]; then
    kill $pids
    while bash runs/trainer_pids.sh "$dir" > /dev/null; do sleep 1; done
    echo "$dir: stopped"
  else
    echo "$dir: not running"
  fi
  bash runs/save.sh "$dir"
done
