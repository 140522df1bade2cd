#!/usr/bin/env bash
# Pause as thought grown one graph size at a time as Coconut is (runs/prosqa-coconut-grow24):
# 24-node graphs, epochs 11-13 at the last stage (6 and on), from
# the best model of runs/prosqa-pause-as-thought-grow20 (runs/grow.sh).
# Resumable: run from anywhere after `make build`.
exec bash "$(dirname "$0")/../grow.sh" pause-as-thought 24 runs/prosqa-pause-as-thought-grow20 14 "$@"
