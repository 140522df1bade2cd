#!/usr/bin/env bash
# "Pause as thought" on generated ProsQA from scratch (Mini model): Coconut's
# schedule and layout exactly (runs/prosqa-coconut/command.sh, the same CoT stage
# model), but <latent> is an ordinary learned token instead of the fed-back hidden
# state. Resumable: run from anywhere after `make build`.
cd "$(dirname "$0")/../.." && bash runs/restore.sh runs/prosqa-pause-as-thought &&
exec build/examples/coconut_train --task prosqa --config mini --methods pause-as-thought \
  --from runs/prosqa-coconut/cot-stage.ckpt --cot-epochs 5 --start-epoch 5 --epochs-per-stage 2 --max-stage 6 \
  --epochs 40 --lr 1e-3 --warmup 200 --grad-clip 1 --uniform-prob 0.3 --batch 32 --seed 0 \
  --out runs/prosqa-pause-as-thought --checkpoint-minutes 5 --threads 1 --resume "$@"
