#!/usr/bin/env bash
# Coconut, second branch: its CoT stage is the CoT run's best model after 11 epochs
# (runs/prosqa-cot-lr1e-3 at epoch 10: validation 29%, once CoT had learned to
# follow edges; copied to cot-stage.ckpt), then stages 1..6 with c = 1, 2 epochs
# each, stage mixing 0.3. Otherwise as runs/prosqa-coconut. Resumable: run from
# anywhere after `make build`; it continues from coconut.ckpt.
cd "$(dirname "$0")/../.." && bash runs/restore.sh runs/prosqa-coconut-b2 &&
exec "${COCONUT_TRAIN:-build/examples/coconut_train}" --task prosqa --config mini --methods coconut \
  --from runs/prosqa-coconut-b2/cot-stage.ckpt --cot-epochs 11 --start-epoch 11 --epochs-per-stage 2 --max-stage 6 \
  --epochs 45 --lr 1e-3 --warmup 200 --grad-clip 1 --uniform-prob 0.3 --batch 32 --seed 0 \
  --out runs/prosqa-coconut-b2 --checkpoint-minutes 5 --threads 1 --resume "$@"
