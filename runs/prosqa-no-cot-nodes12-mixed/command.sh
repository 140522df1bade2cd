#!/usr/bin/env bash
# No-CoT on generated 12-node ProsQA graphs, model mini-mixed: the baseline of
# the 12-node preview (runs/prosqa-cot-nodes12-mixed, runs/prosqa-coconut-nodes12-mixed).
# Resumable: run from anywhere after `make build`.
cd "$(dirname "$0")/../.." && bash runs/restore.sh runs/prosqa-no-cot-nodes12-mixed &&
exec "${COCONUT_TRAIN:-build/examples/coconut_train}" --task prosqa --prosqa-nodes 12 --config mini-mixed \
  --methods no-cot --epochs 100 --lr 1e-3 --warmup 200 --grad-clip 1 --batch 32 --seed 0 \
  --out runs/prosqa-no-cot-nodes12-mixed --checkpoint-minutes 5 --threads 1 --resume "$@"
