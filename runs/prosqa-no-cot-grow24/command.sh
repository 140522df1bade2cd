#!/usr/bin/env bash
# No-CoT grown one graph size at a time: 3 epochs on 24-node graphs from the best
# model of runs/prosqa-no-cot-grow20 (runs/grow.sh).
# Resumable: run from anywhere after `make build`.
exec bash "$(dirname "$0")/../grow.sh" no-cot 24 runs/prosqa-no-cot-grow20 3 "$@"
