#!/usr/bin/env bash
# CoT grown one graph size at a time (mini-mixed), the CoT baseline of
# runs/prosqa-coconut-grow16..28: 39 epochs of CoT on generated 28-node graphs
# (validation on 28-node graphs too), starting from the best model of
# runs/prosqa-cot-grow24, copied to start.ckpt when this run is first started.
# Resumable: run from anywhere after `make build`.
cd "$(dirname "$0")/../.." && bash runs/restore.sh runs/prosqa-cot-grow28 &&
{ [ -e runs/prosqa-cot-grow28/start.ckpt ] || cp runs/prosqa-cot-grow24/cot.ckpt.best runs/prosqa-cot-grow28/start.ckpt; } &&
exec "${COCONUT_TRAIN:-build/examples/coconut_train}" --task prosqa --prosqa-nodes 28 --config mini-mixed --methods cot \
  --from runs/prosqa-cot-grow28/start.ckpt --epochs 39 --lr 1e-3 --warmup 200 --grad-clip 1 --batch 32 --seed 0 \
  --out runs/prosqa-cot-grow28 --checkpoint-minutes 5 --threads 1 --resume "$@"
