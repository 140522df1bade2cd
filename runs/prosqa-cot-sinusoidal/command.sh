#!/usr/bin/env bash
# CoT as runs/prosqa-cot-lr1e-3, but the position embeddings start as sinusoids
# (--position-init sinusoidal): does in-context edge lookup appear sooner?
# Resumable: run from anywhere after `make build`.
cd "$(dirname "$0")/../.." && bash runs/restore.sh runs/prosqa-cot-sinusoidal &&
exec "${COCONUT_TRAIN:-build/examples/coconut_train}" --task prosqa --config mini --methods cot --epochs 100 --lr 1e-3 --warmup 200 \
  --grad-clip 1 --batch 32 --seed 0 --position-init sinusoidal --out runs/prosqa-cot-sinusoidal \
  --checkpoint-minutes 5 --threads 1 --resume "$@"
