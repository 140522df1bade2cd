#!/usr/bin/env bash
# CoT as runs/prosqa-cot-sinusoidal (full-size generated ProsQA, 17,886 samples),
# with rotary positions instead of a position table (--config mini-rotary).
# Resumable: run from anywhere after `make build`.
cd "$(dirname "$0")/../.." && bash runs/restore.sh runs/prosqa-cot-rotary &&
exec "${COCONUT_TRAIN:-build/examples/coconut_train}" --task prosqa --config mini-rotary --methods cot --epochs 100 \
  --lr 1e-3 --warmup 200 --grad-clip 1 --batch 32 --seed 0 --out runs/prosqa-cot-rotary \
  --checkpoint-minutes 5 --threads 1 --resume "$@"
