#!/usr/bin/env bash
# CoT grown one graph size at a time: 3 epochs on 24-node graphs from the best model
# of runs/prosqa-cot-grow20 (runs/grow.sh).
# Resumable: run from anywhere after `make build`.
exec bash "$(dirname "$0")/../grow.sh" cot 24 runs/prosqa-cot-grow20 3 "$@"
