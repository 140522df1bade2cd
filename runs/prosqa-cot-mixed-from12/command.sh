#!/usr/bin/env bash
# CoT as runs/prosqa-cot-mixed (full-size generated ProsQA, mini-mixed), but
# starting from the CoT model trained on 12-node graphs (the best of
# runs/prosqa-cot-nodes12-mixed, epoch 6, copied to start.ckpt): short questions
# first. Rotary positions let what it learned on questions of ~150 tokens apply to
# ~400; its lookup on the official test is 77.4% before this run.
# Resumable: run from anywhere after `make build`.
cd "$(dirname "$0")/../.." && bash runs/restore.sh runs/prosqa-cot-mixed-from12 &&
exec "${COCONUT_TRAIN:-build/examples/coconut_train}" --task prosqa --config mini-mixed --methods cot --epochs 100 \
  --from runs/prosqa-cot-mixed-from12/start.ckpt --lr 1e-3 --warmup 200 --grad-clip 1 --batch 32 --seed 0 \
  --out runs/prosqa-cot-mixed-from12 --checkpoint-minutes 5 --threads 1 --resume "$@"
