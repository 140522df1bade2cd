#!/usr/bin/env bash
# CoT as runs/prosqa-cot-nodes12 (generated graphs of 12 nodes), with one change:
# rotary positions (--config mini-rotary: Mini's shape, no position table; each
# head's queries and keys turned by their positions, so attention sees distances).
# Does the lookup of "X is a _" pass the 36-38% where every learned-table setting
# levelled off?
# Resumable: run from anywhere after `make build`.
cd "$(dirname "$0")/../.." && bash runs/restore.sh runs/prosqa-cot-nodes12-rotary &&
exec "${COCONUT_TRAIN:-build/examples/coconut_train}" --task prosqa --prosqa-nodes 12 --config mini-rotary --methods cot \
  --epochs 100 --lr 1e-3 --warmup 200 --grad-clip 1 --batch 32 --seed 0 \
  --out runs/prosqa-cot-nodes12-rotary --checkpoint-minutes 5 --threads 1 --resume "$@"
