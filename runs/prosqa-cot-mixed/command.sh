#!/usr/bin/env bash
# CoT as runs/prosqa-cot-rotary (full-size generated ProsQA, 17,886 samples, rotary
# positions), with previous-token mixing over 3 positions (--config mini-mixed).
# Resumable: run from anywhere after `make build`.
cd "$(dirname "$0")/../.." && bash runs/restore.sh runs/prosqa-cot-mixed &&
exec "${COCONUT_TRAIN:-build/examples/coconut_train}" --task prosqa --config mini-mixed --methods cot --epochs 100 \
  --lr 1e-3 --warmup 200 --grad-clip 1 --batch 32 --seed 0 --out runs/prosqa-cot-mixed \
  --checkpoint-minutes 5 --threads 1 --resume "$@"
