#!/usr/bin/env bash
# W/o curriculum grown one graph size at a time as Coconut is (runs/prosqa-coconut-grow28):
# 28-node graphs, epochs 11-49 (every step a thought), from
# the best model of runs/prosqa-no-curriculum-grow24 (runs/grow.sh).
# Resumable: run from anywhere after `make build`.
exec bash "$(dirname "$0")/../grow.sh" no-curriculum 28 runs/prosqa-no-curriculum-grow24 50 "$@"
