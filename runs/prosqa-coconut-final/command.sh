#!/usr/bin/env bash
# Coconut, the final run (model mini-mixed). Its CoT stage: CoT on 12-node graphs
# (runs/prosqa-cot-nodes12-mixed, epochs 0-6, best 6), then on full-size graphs
# (runs/prosqa-cot-mixed-from12, whose validation accuracy was best at its first
# epoch: 61.3%, then 59.7 and 58.0%; that model is copied to cot-stage.ckpt). Then
# stages 1..6 with c = 1, 2 epochs each, stage mixing 0.3, and the final stage
# until epoch 49. Batches grouped by length. Resumable: run from anywhere after
# `make build`; it continues from coconut.ckpt.
cd "$(dirname "$0")/../.." && bash runs/restore.sh runs/prosqa-coconut-final &&
exec "${COCONUT_TRAIN:-build/examples/coconut_train}" --task prosqa --config mini-mixed --methods coconut \
  --from runs/prosqa-coconut-final/cot-stage.ckpt --cot-epochs 1 --start-epoch 1 --epochs-per-stage 2 --max-stage 6 \
  --epochs 50 --lr 1e-3 --warmup 200 --grad-clip 1 --uniform-prob 0.3 --group-by-length --batch 32 --seed 0 \
  --out runs/prosqa-coconut-final --checkpoint-minutes 5 --threads 1 --resume "$@"
