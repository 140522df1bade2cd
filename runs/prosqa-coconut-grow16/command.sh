#!/usr/bin/env bash
# Coconut grown one graph size at a time: 16-node graphs, epochs 11-13 at the last stage (6 and on), from
# the best model of runs/prosqa-coconut-nodes12-mixed (runs/grow.sh).
# Resumable: run from anywhere after `make build`.
exec bash "$(dirname "$0")/../grow.sh" coconut 16 runs/prosqa-coconut-nodes12-mixed 14 "$@"
