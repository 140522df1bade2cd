#!/usr/bin/env bash
# Coconut grown one graph size at a time (mini-mixed): at stage 6 (stage mixing 0.3,
# batches grouped by length, as runs/prosqa-coconut-final from epoch 11) on
# generated 28-node graphs, the full size (validation on them too), until epoch 49
# as runs/prosqa-coconut-final; starting from the best model of
# runs/prosqa-coconut-grow24, copied to start.ckpt when this run is first started.
# Resumable: run from anywhere after `make build`.
cd "$(dirname "$0")/../.." && bash runs/restore.sh runs/prosqa-coconut-grow28 &&
{ [ -e runs/prosqa-coconut-grow28/start.ckpt ] || cp runs/prosqa-coconut-grow24/coconut.ckpt.best runs/prosqa-coconut-grow28/start.ckpt; } &&
exec "${COCONUT_TRAIN:-build/examples/coconut_train}" --task prosqa --prosqa-nodes 28 --config mini-mixed --methods coconut \
  --from runs/prosqa-coconut-grow28/start.ckpt --cot-epochs 1 --start-epoch 11 --epochs-per-stage 2 --max-stage 6 \
  --epochs 50 --lr 1e-3 --warmup 200 --grad-clip 1 --uniform-prob 0.3 --group-by-length --batch 32 --seed 0 \
  --out runs/prosqa-coconut-grow28 --checkpoint-minutes 5 --threads 1 --resume "$@"
