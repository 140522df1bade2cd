#!/usr/bin/env bash
# STOPPED (a first branch, taken too early; see runs/README.md). Kept as the record
# of how the shipped Coconut model was trained; its starting model (CoT epoch 4)
# and resumable checkpoint were not committed, only its best model
# (= examples/models/prosqa-coconut.ckpt) and its log.
#
# Coconut on generated ProsQA from scratch (Mini model): its CoT stage is the CoT
# run's best model after 5 epochs (runs/prosqa-cot-lr1e-3, whose loss had stopped
# falling), then stages 1..6 with c = 1, 2 epochs each, stage mixing 0.3 (as the
# paper's analysis model), and the final stage from epoch 17 on. Resumable: run
# from anywhere after `make build`; it continues from coconut.ckpt (the --from and
# --start-epoch flags only matter for the very first start).
cd "$(dirname "$0")/../.." && bash runs/restore.sh runs/prosqa-coconut &&
exec "${COCONUT_TRAIN:-build/examples/coconut_train}" --task prosqa --config mini --methods coconut \
  --from runs/prosqa-coconut/cot-stage.ckpt --cot-epochs 5 --start-epoch 5 --epochs-per-stage 2 --max-stage 6 \
  --epochs 40 --lr 1e-3 --warmup 200 --grad-clip 1 --uniform-prob 0.3 --batch 32 --seed 0 \
  --out runs/prosqa-coconut --checkpoint-minutes 5 --threads 1 --resume "$@"
