#!/usr/bin/env bash
# CoT as runs/prosqa-cot-sinusoidal, but on model `wide` (2 layers, 8 heads, 256 wide:
# the authors' from-scratch shape at a third of its width): does a wider model learn
# the in-context edge lookup in fewer epochs?
# Resumable: run from anywhere after `make build`.
cd "$(dirname "$0")/../.." && bash runs/restore.sh runs/prosqa-cot-wide &&
exec "${COCONUT_TRAIN:-build/examples/coconut_train}" --task prosqa --config wide --methods cot --epochs 100 --lr 1e-3 --warmup 200 \
  --grad-clip 1 --batch 32 --seed 0 --position-init sinusoidal --out runs/prosqa-cot-wide \
  --checkpoint-minutes 5 --threads 1 --resume "$@"
