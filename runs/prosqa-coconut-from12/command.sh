#!/usr/bin/env bash
# Coconut on full-size generated ProsQA (mini-mixed), starting from the Coconut model
# trained on 12-node graphs (the best of runs/prosqa-coconut-nodes12-mixed, epoch 24:
# 95.3% on 12-node validation, 54.6% on the official test; copied to start.ckpt):
# the search learned on small graphs, then grown to full-size ones. From epoch 11 on
# it trains exactly as runs/prosqa-coconut-final does there (stage 6 with stage
# mixing 0.3, batches grouped by length), so the two runs differ only in the model
# they start from. Resumable: run from anywhere after `make build`.
cd "$(dirname "$0")/../.." && bash runs/restore.sh runs/prosqa-coconut-from12 &&
exec "${COCONUT_TRAIN:-build/examples/coconut_train}" --task prosqa --config mini-mixed --methods coconut \
  --from runs/prosqa-coconut-from12/start.ckpt --cot-epochs 1 --start-epoch 11 --epochs-per-stage 2 --max-stage 6 \
  --epochs 50 --lr 1e-3 --warmup 200 --grad-clip 1 --uniform-prob 0.3 --group-by-length --batch 32 --seed 0 \
  --out runs/prosqa-coconut-from12 --checkpoint-minutes 5 --threads 1 --resume "$@"
