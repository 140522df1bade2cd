#!/usr/bin/env bash
# CoT as runs/prosqa-cot-nodes12 (12-node graphs), but with 5 times the training
# samples (--train-size 89430): that run's training loss went on falling (0.17 to
# 0.15 over epochs 13-17) while its lookup stayed at 35-37% and its loss on the
# validation samples was 0.22, i.e. it memorised its 17,886 samples instead of
# learning to look edges up. Does fresh data make the lookup the only way down?
# Resumable: run from anywhere after `make build`.
cd "$(dirname "$0")/../.." && bash runs/restore.sh runs/prosqa-cot-nodes12-data5x &&
exec "${COCONUT_TRAIN:-build/examples/coconut_train}" --task prosqa --prosqa-nodes 12 --train-size 89430 --config mini \
  --methods cot --epochs 20 --lr 1e-3 --warmup 200 --grad-clip 1 --batch 32 --seed 0 --position-init sinusoidal \
  --out runs/prosqa-cot-nodes12-data5x --checkpoint-minutes 5 --threads 1 --resume "$@"
