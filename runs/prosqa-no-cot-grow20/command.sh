#!/usr/bin/env bash
# No-CoT grown one graph size at a time: 3 epochs on 20-node graphs from the best
# model of runs/prosqa-no-cot-grow16 (runs/grow.sh).
# Resumable: run from anywhere after `make build`.
exec bash "$(dirname "$0")/../grow.sh" no-cot 20 runs/prosqa-no-cot-grow16 3 "$@"
