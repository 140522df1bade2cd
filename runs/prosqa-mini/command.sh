#!/usr/bin/env bash
# The from-scratch ProsQA run of issue 9 (Coconut, Mini model), resumable: run
# from the repository root after `make build`; it continues from coconut.ckpt.
exec build/examples/coconut_train --task prosqa --config mini --methods coconut --max-stage 6 \
  --epochs-per-stage 5 --epochs 50 --lr 1e-3 --warmup 200 --grad-clip 1 --uniform-prob 0.3 --batch 32 \
  --out runs/prosqa-mini --checkpoint-minutes 5 --threads 2 --resume "$@"
