#!/usr/bin/env bash
# CoT grown one graph size at a time: 3 epochs on 20-node graphs from the best model
# of runs/prosqa-cot-grow16 (runs/grow.sh).
# Resumable: run from anywhere after `make build`.
exec bash "$(dirname "$0")/../grow.sh" cot 20 runs/prosqa-cot-grow16 3 "$@"
