#!/usr/bin/env bash
# "Pause as thought" on generated ProsQA from scratch (model mini-mixed): the final
# Coconut run's schedule, layout and starting model exactly
# (runs/prosqa-coconut-final/command.sh: its cot-stage.ckpt, then stages 1..6,
# 2 epochs each), but <latent> is an ordinary learned token instead of the
# fed-back hidden state. Resumable: run from anywhere after `make build`.
cd "$(dirname "$0")/../.." && bash runs/restore.sh runs/prosqa-pause-as-thought &&
exec "${COCONUT_TRAIN:-build/examples/coconut_train}" --task prosqa --config mini-mixed --methods pause-as-thought \
  --from runs/prosqa-coconut-final/cot-stage.ckpt --cot-epochs 1 --start-epoch 1 --epochs-per-stage 2 --max-stage 6 \
  --epochs 50 --lr 1e-3 --warmup 200 --grad-clip 1 --uniform-prob 0.3 --group-by-length --batch 32 --seed 0 \
  --out runs/prosqa-pause-as-thought --checkpoint-minutes 5 --threads 1 --resume "$@"
