#!/usr/bin/env bash
# No-CoT on generated ProsQA from scratch (Mini model, lr 1e-3, as the CoT run).
# Resumable: run from the repository root after `make build`; it continues from
# no-cot.ckpt.
cd "$(dirname "$0")/../.." && bash runs/restore.sh runs/prosqa-no-cot &&
exec "${COCONUT_TRAIN:-build/examples/coconut_train}" --task prosqa --config mini --methods no-cot --epochs 100 --lr 1e-3 --warmup 200 \
  --grad-clip 1 --batch 32 --seed 0 --out runs/prosqa-no-cot --checkpoint-minutes 5 --threads 1 --resume "$@"
