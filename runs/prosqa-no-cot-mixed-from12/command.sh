#!/usr/bin/env bash
# No-CoT on full-size generated ProsQA (mini-mixed), starting as the final Coconut
# run did from its method's 12-node model: the best of
# runs/prosqa-no-cot-nodes12-mixed (epoch 2, 80.7% on 12-node validation), copied
# to start.ckpt. Compare with Coconut by tokens trained on (the logs count them).
# Resumable: run from anywhere after `make build`.
cd "$(dirname "$0")/../.." && bash runs/restore.sh runs/prosqa-no-cot-mixed-from12 &&
exec "${COCONUT_TRAIN:-build/examples/coconut_train}" --task prosqa --config mini-mixed --methods no-cot --epochs 100 \
  --from runs/prosqa-no-cot-mixed-from12/start.ckpt --lr 1e-3 --warmup 200 --grad-clip 1 --batch 32 --seed 0 \
  --out runs/prosqa-no-cot-mixed-from12 --checkpoint-minutes 5 --threads 1 --resume "$@"
