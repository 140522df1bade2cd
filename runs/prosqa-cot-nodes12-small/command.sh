#!/usr/bin/env bash
# CoT as runs/prosqa-cot-nodes12, but on model `small` (4 layers, 256 wide): does
# depth bring the edge lookup, which needs the three tokens "X is a" matched in the
# question (a position-offset circuit), where two layers of 128 write edges in
# only about 30% of their steps?
# Resumable: run from anywhere after `make build`.
cd "$(dirname "$0")/../.." && bash runs/restore.sh runs/prosqa-cot-nodes12-small &&
exec "${COCONUT_TRAIN:-build/examples/coconut_train}" --task prosqa --prosqa-nodes 12 --config small --methods cot \
  --epochs 100 --lr 1e-3 --warmup 200 --grad-clip 1 --batch 32 --seed 0 --position-init sinusoidal \
  --out runs/prosqa-cot-nodes12-small --checkpoint-minutes 5 --threads 1 --resume "$@"
