#!/usr/bin/env bash
# CoT on generated ProsQA from scratch (Mini model, lr 1e-3): the baseline CoT row,
# and the CoT stage that the Coconut run branches from (runs/README.md). Resumable:
# run from the repository root after `make build`; it continues from cot.ckpt.
cd "$(dirname "$0")/../.." && bash runs/restore.sh runs/prosqa-cot-lr1e-3 &&
exec "${COCONUT_TRAIN:-build/examples/coconut_train}" --task prosqa --config mini --methods cot --epochs 100 --lr 1e-3 --warmup 200 \
  --grad-clip 1 --batch 32 --seed 0 --out runs/prosqa-cot-lr1e-3 --checkpoint-minutes 5 --threads 1 --resume "$@"
