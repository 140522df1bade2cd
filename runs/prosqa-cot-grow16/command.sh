#!/usr/bin/env bash
# CoT grown one graph size at a time (mini-mixed), the CoT baseline of
# runs/prosqa-coconut-grow16..28: 3 epochs of CoT on generated 16-node graphs
# (validation on 16-node graphs too), starting from the best model of
# runs/prosqa-cot-nodes12-mixed, copied to start.ckpt when this run is first started.
# Resumable: run from anywhere after `make build`.
cd "$(dirname "$0")/../.." && bash runs/restore.sh runs/prosqa-cot-grow16 &&
{ [ -e runs/prosqa-cot-grow16/start.ckpt ] || cp runs/prosqa-cot-nodes12-mixed/cot.ckpt.best runs/prosqa-cot-grow16/start.ckpt; } &&
exec "${COCONUT_TRAIN:-build/examples/coconut_train}" --task prosqa --prosqa-nodes 16 --config mini-mixed --methods cot \
  --from runs/prosqa-cot-grow16/start.ckpt --epochs 3 --lr 1e-3 --warmup 200 --grad-clip 1 --batch 32 --seed 0 \
  --out runs/prosqa-cot-grow16 --checkpoint-minutes 5 --threads 1 --resume "$@"
