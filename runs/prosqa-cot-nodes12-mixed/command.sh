#!/usr/bin/env bash
# CoT as runs/prosqa-cot-nodes12-rotary (12-node graphs, rotary positions), with one
# change: each input embedding mixes in the 3 before it (--config mini-mixed,
# previous_tokens in model/config.hpp), so that the position of Y in "Every X is a
# Y" holds X before any attention. Does the lookup form without an induction
# circuit to build?
# Resumable: run from anywhere after `make build`.
cd "$(dirname "$0")/../.." && bash runs/restore.sh runs/prosqa-cot-nodes12-mixed &&
exec "${COCONUT_TRAIN:-build/examples/coconut_train}" --task prosqa --prosqa-nodes 12 --config mini-mixed --methods cot \
  --epochs 100 --lr 1e-3 --warmup 200 --grad-clip 1 --batch 32 --seed 0 \
  --out runs/prosqa-cot-nodes12-mixed --checkpoint-minutes 5 --threads 1 --resume "$@"
