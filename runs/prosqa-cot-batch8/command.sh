#!/usr/bin/env bash
# CoT as runs/prosqa-cot-lr1e-3, but batches of 8 (4 times the optimizer steps per
# epoch): does in-context edge lookup appear sooner?
# Resumable: run from anywhere after `make build`.
cd "$(dirname "$0")/../.." && bash runs/restore.sh runs/prosqa-cot-batch8 &&
exec "${COCONUT_TRAIN:-build/examples/coconut_train}" --task prosqa --config mini --methods cot --epochs 100 --lr 1e-3 --warmup 200 \
  --grad-clip 1 --batch 8 --seed 0 --out runs/prosqa-cot-batch8 \
  --checkpoint-minutes 5 --threads 1 --resume "$@"
