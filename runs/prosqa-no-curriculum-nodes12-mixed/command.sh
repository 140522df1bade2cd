#!/usr/bin/env bash
# "W/o curriculum" on generated 12-node ProsQA graphs (model mini-mixed): from the
# starting model of runs/prosqa-coconut-nodes12-mixed (its cot-stage.ckpt, the
# 12-node CoT model of epoch 6) for as many epochs as that run's stages 1..6 and
# final stage (epochs 7-24), but every sample laid out at the final stage (all
# steps replaced by 6 continuous thoughts) from the first step. The 12-node start
# of the grown w/o curriculum baseline (runs/prosqa-no-curriculum-grow16..28).
# Resumable: run from anywhere after `make build`.
cd "$(dirname "$0")/../.." && bash runs/restore.sh runs/prosqa-no-curriculum-nodes12-mixed &&
exec "${COCONUT_TRAIN:-build/examples/coconut_train}" --task prosqa --prosqa-nodes 12 --config mini-mixed \
  --methods no-curriculum --from runs/prosqa-coconut-nodes12-mixed/cot-stage.ckpt --start-epoch 7 --max-stage 6 \
  --epochs 25 --lr 1e-3 --warmup 200 --grad-clip 1 --batch 32 --seed 0 \
  --out runs/prosqa-no-curriculum-nodes12-mixed --checkpoint-minutes 5 --threads 1 --resume "$@"
