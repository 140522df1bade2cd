#!/usr/bin/env bash
# "Pause as thought" on generated 12-node ProsQA graphs (model mini-mixed): the
# schedule, layout and starting model of runs/prosqa-coconut-nodes12-mixed exactly
# (its cot-stage.ckpt, the 12-node CoT model of epoch 6; then stages 1..6 with c = 1,
# 2 epochs each, stage mixing 0.3, the final stage until epoch 24), but <latent> is
# an ordinary learned token instead of the fed-back hidden state. The 12-node start
# of the grown pause-as-thought baseline (runs/prosqa-pause-as-thought-grow16..28).
# Resumable: run from anywhere after `make build`.
cd "$(dirname "$0")/../.." && bash runs/restore.sh runs/prosqa-pause-as-thought-nodes12-mixed &&
exec "${COCONUT_TRAIN:-build/examples/coconut_train}" --task prosqa --prosqa-nodes 12 --config mini-mixed \
  --methods pause-as-thought --from runs/prosqa-coconut-nodes12-mixed/cot-stage.ckpt --cot-epochs 7 --start-epoch 7 \
  --epochs-per-stage 2 --max-stage 6 --epochs 25 --lr 1e-3 --warmup 200 --grad-clip 1 --uniform-prob 0.3 \
  --batch 32 --seed 0 --out runs/prosqa-pause-as-thought-nodes12-mixed --checkpoint-minutes 5 --threads 1 --resume "$@"
