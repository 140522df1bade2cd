#!/usr/bin/env bash
# CoT as runs/prosqa-cot-sinusoidal, but on generated graphs of 12 nodes instead of 28
# (--prosqa-nodes 12: questions a third as long, a third as many names to tell apart):
# is the in-context edge lookup learnable at this model size when the question is short?
# Validation is on 12-node graphs too; the test stays the official one.
# Resumable: run from anywhere after `make build`.
cd "$(dirname "$0")/../.." && bash runs/restore.sh runs/prosqa-cot-nodes12 &&
exec "${COCONUT_TRAIN:-build/examples/coconut_train}" --task prosqa --prosqa-nodes 12 --config mini --methods cot \
  --epochs 100 --lr 1e-3 --warmup 200 --grad-clip 1 --batch 32 --seed 0 --position-init sinusoidal \
  --out runs/prosqa-cot-nodes12 --checkpoint-minutes 5 --threads 1 --resume "$@"
