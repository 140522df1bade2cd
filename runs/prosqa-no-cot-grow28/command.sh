#!/usr/bin/env bash
# No-CoT grown one graph size at a time: 39 epochs on 28-node graphs (as many as
# Coconut's grow28) from the best model of runs/prosqa-no-cot-grow24 (runs/grow.sh).
# Resumable: run from anywhere after `make build`.
exec bash "$(dirname "$0")/../grow.sh" no-cot 28 runs/prosqa-no-cot-grow24 39 "$@"
