#!/usr/bin/env bash
# Coconut grown one graph size at a time: 28-node graphs, the full size, at the last stage (6 and on)
# until epoch 49 as runs/prosqa-coconut-final, from the best model of
# runs/prosqa-coconut-grow24 (runs/grow.sh).
# Resumable: run from anywhere after `make build`.
exec bash "$(dirname "$0")/../grow.sh" coconut 28 runs/prosqa-coconut-grow24 50 "$@"
