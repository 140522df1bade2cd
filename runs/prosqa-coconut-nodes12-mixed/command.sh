#!/usr/bin/env bash
# Coconut on generated 12-node ProsQA graphs (--prosqa-nodes 12), model mini-mixed:
# a preview of the whole recipe at a third of the cost. Its CoT stage is the best
# model of runs/prosqa-cot-nodes12-mixed (epoch 6: validation 91.0%; epoch 7 gave
# 88.0%), copied to cot-stage.ckpt; then stages 1..6 with c = 1, 2 epochs each,
# stage mixing 0.3, and the final stage until epoch 24.
# Resumable: run from anywhere after `make build`.
cd "$(dirname "$0")/../.." && bash runs/restore.sh runs/prosqa-coconut-nodes12-mixed &&
exec "${COCONUT_TRAIN:-build/examples/coconut_train}" --task prosqa --prosqa-nodes 12 --config mini-mixed \
  --methods coconut --from runs/prosqa-coconut-nodes12-mixed/cot-stage.ckpt --cot-epochs 7 --start-epoch 7 \
  --epochs-per-stage 2 --max-stage 6 --epochs 25 --lr 1e-3 --warmup 200 --grad-clip 1 --uniform-prob 0.3 \
  --batch 32 --seed 0 --out runs/prosqa-coconut-nodes12-mixed --checkpoint-minutes 5 --threads 1 --resume "$@"
