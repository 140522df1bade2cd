#!/usr/bin/env bash
# No-CoT grown one graph size at a time, the baseline of runs/prosqa-coconut-grow*:
# 3 epochs on 16-node graphs from the best model of runs/prosqa-no-cot-nodes12-mixed (runs/grow.sh).
# Resumable: run from anywhere after `make build`.
exec bash "$(dirname "$0")/../grow.sh" no-cot 16 runs/prosqa-no-cot-nodes12-mixed 3 "$@"
