#!/usr/bin/env bash
# W/o curriculum grown one graph size at a time as Coconut is (runs/prosqa-coconut-grow24):
# 24-node graphs, epochs 11-13 (every step a thought), from
# the best model of runs/prosqa-no-curriculum-grow20 (runs/grow.sh).
# Resumable: run from anywhere after `make build`.
exec bash "$(dirname "$0")/../grow.sh" no-curriculum 24 runs/prosqa-no-curriculum-grow20 14 "$@"
