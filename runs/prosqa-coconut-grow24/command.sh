#!/usr/bin/env bash
# Coconut grown one graph size at a time: 24-node graphs, epochs 11-13 at the last stage (6 and on), from
# the best model of runs/prosqa-coconut-grow20 (runs/grow.sh).
# Resumable: run from anywhere after `make build`.
exec bash "$(dirname "$0")/../grow.sh" coconut 24 runs/prosqa-coconut-grow20 14 "$@"
