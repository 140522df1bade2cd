#!/usr/bin/env bash
# Runs several runs one after the other in the background, each from the best model
# of the one before when its command.sh says so (e.g. a model grown one graph size at
# a time), so that they outlive the shell and survive rebuilds: the chain runs a
# copy of build/examples/coconut_train taken now and logs each run to
# build-runs/<run>.log (start.sh starts chains of one). A run that has finished
# resumes at its end, prints its test score again and hands over, so the chain can
# be restarted after any interruption with the same command. Each finished run's
# log is gzipped (runs/save.sh) for committing.
#   make build && bash runs/chain.sh runs/prosqa-coconut-grow16 runs/prosqa-coconut-grow20
# Stop with `bash runs/stop.sh <the running one>`: its trainer then exits with an
# error and the chain ends there.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x build/examples/coconut_train ] || { echo "build/examples/coconut_train is missing: run make build" >&2; exit 1; }
for dir in "$@"; do
  [ -x "${dir%/}/command.sh" ] || { echo "${dir%/}/command.sh is missing" >&2; exit 1; }
  # Two trainers writing one directory would corrupt it.
  ! bash runs/trainer_pids.sh "$dir" > /dev/null ||
    { echo "${dir%/} is running already: bash runs/stop.sh ${dir%/} first" >&2; exit 1; }
done
mkdir -p build-runs
binary=build-runs/coconut_train-$(date +%Y%m%d-%H%M%S)-$$  # $$: two starts in one second
cp build/examples/coconut_train "$binary"
nohup bash -c '
  for dir in "$@"; do
    dir=${dir%/}
    COCONUT_TRAIN="$PWD/'"$binary"'" bash "$dir/command.sh" >> "build-runs/$(basename "$dir").log" 2>&1 || exit 1
    bash runs/save.sh "$dir"  # its log, gzipped to commit
  done' chain "$@" > /dev/null 2>&1 &
echo "started in the background (pid $!): $*; logs build-runs/<run>.log"
