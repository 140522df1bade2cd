#!/usr/bin/env bash
# CoT as runs/prosqa-cot-nodes12-rotary (12-node graphs, rotary positions), with one
# change: 8 heads of 16 per layer instead of 4 of 32 (--config mini-rotary-h8; the
# same compute). More attention patterns per layer for the lookup's offset heads.
# Resumable: run from anywhere after `make build`.
cd "$(dirname "$0")/../.." && bash runs/restore.sh runs/prosqa-cot-nodes12-rotary-h8 &&
exec "${COCONUT_TRAIN:-build/examples/coconut_train}" --task prosqa --prosqa-nodes 12 --config mini-rotary-h8 --methods cot \
  --epochs 100 --lr 1e-3 --warmup 200 --grad-clip 1 --batch 32 --seed 0 \
  --out runs/prosqa-cot-nodes12-rotary-h8 --checkpoint-minutes 5 --threads 1 --resume "$@"
