#!/usr/bin/env bash
# "W/o curriculum" on generated ProsQA from scratch (Mini model): every sample laid
# out at the final stage (all steps replaced by 6 continuous thoughts) from the
# first step, with the same optimizer settings as the other runs and as many epochs
# as Coconut's CoT stage and curriculum together. Resumable: run from anywhere
# after `make build`.
cd "$(dirname "$0")/../.." && bash runs/restore.sh runs/prosqa-no-curriculum &&
exec "${COCONUT_TRAIN:-build/examples/coconut_train}" --task prosqa --config mini --methods no-curriculum --max-stage 6 \
  --epochs 45 --lr 1e-3 --warmup 200 --grad-clip 1 --batch 32 --seed 0 \
  --out runs/prosqa-no-curriculum --checkpoint-minutes 5 --threads 1 --resume "$@"
