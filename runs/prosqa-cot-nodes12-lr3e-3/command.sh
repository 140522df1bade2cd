#!/usr/bin/env bash
# CoT as runs/prosqa-cot-nodes12 (12-node graphs), but at lr 3e-3: does a higher
# learning rate leave the plateau where lr 1e-3 stayed (edge steps about 30% from
# epoch 4, lookup 35-37% at epochs 13-17; chance 17.6%)?
# Resumable: run from anywhere after `make build`.
cd "$(dirname "$0")/../.." && bash runs/restore.sh runs/prosqa-cot-nodes12-lr3e-3 &&
exec "${COCONUT_TRAIN:-build/examples/coconut_train}" --task prosqa --prosqa-nodes 12 --config mini --methods cot \
  --epochs 100 --lr 3e-3 --warmup 200 --grad-clip 1 --batch 32 --seed 0 --position-init sinusoidal \
  --out runs/prosqa-cot-nodes12-lr3e-3 --checkpoint-minutes 5 --threads 1 --resume "$@"
