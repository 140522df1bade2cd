#!/usr/bin/env bash
# Coconut, the final run: its CoT stage is the CoT run at its plateau (the best
# model of runs/prosqa-cot-lr1e-3, epoch 15: validation 49.0%; epochs 15-18 gave
# 49.0, 45.7, 48.3, 48.3; copied to cot-stage.ckpt), then stages 1..6 with c = 1,
# 2 epochs each, stage mixing 0.3, and the final stage until epoch 49. Batches
# grouped by length (about 17% faster; the CoT stage ran without). Resumable: run
# from anywhere after `make build`; it continues from coconut.ckpt.
cd "$(dirname "$0")/../.." && bash runs/restore.sh runs/prosqa-coconut-final &&
exec "${COCONUT_TRAIN:-build/examples/coconut_train}" --task prosqa --config mini --methods coconut \
  --from runs/prosqa-coconut-final/cot-stage.ckpt --cot-epochs 16 --start-epoch 16 --epochs-per-stage 2 --max-stage 6 \
  --epochs 50 --lr 1e-3 --warmup 200 --grad-clip 1 --uniform-prob 0.3 --group-by-length --batch 32 --seed 0 \
  --out runs/prosqa-coconut-final --checkpoint-minutes 5 --threads 1 --resume "$@"
