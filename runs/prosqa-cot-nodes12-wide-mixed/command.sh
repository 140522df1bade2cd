#!/usr/bin/env bash
# CoT as runs/prosqa-cot-nodes12-mixed (12-node graphs, rotary positions,
# previous-token mixing), on a model twice as wide with twice the heads
# (--config wide-mixed: 2 layers, 8 heads, C = 256; about 3.4 times the compute per
# token). The question: mini-mixed's accuracy falls with graph size (91% on 12-node
# graphs, 51% on 28-node ones); does a wider model fall less?
# Resumable: run from anywhere after `make build`.
cd "$(dirname "$0")/../.." && bash runs/restore.sh runs/prosqa-cot-nodes12-wide-mixed &&
exec "${COCONUT_TRAIN:-build/examples/coconut_train}" --task prosqa --prosqa-nodes 12 --config wide-mixed --methods cot \
  --epochs 100 --lr 1e-3 --warmup 200 --grad-clip 1 --batch 32 --seed 0 \
  --out runs/prosqa-cot-nodes12-wide-mixed --checkpoint-minutes 5 --threads 1 --resume "$@"
