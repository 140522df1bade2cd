#!/usr/bin/env bash
# Starts (or resumes) runs in the background, one thread each, so that they outlive
# the shell and survive rebuilds: each runs a copy of build/examples/coconut_train
# taken now (rebuilding the project while a run goes on would otherwise swap its
# binary), logs to build-runs/<run>.log and resumes from its last checkpoint.
#   make build && bash runs/start.sh runs/prosqa-cot-batch8 runs/prosqa-cot-sinusoidal
# Watch with `tail -f build-runs/<run>.log`; stop with `bash runs/stop.sh <dirs>`.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x build/examples/coconut_train ] || { echo "build/examples/coconut_train is missing: run make build" >&2; exit 1; }
mkdir -p build-runs
binary=build-runs/coconut_train-$(date +%Y%m%d-%H%M%S)-$$  # $$: two starts in one second
cp build/examples/coconut_train "$binary"
for dir in "$@"; do
  dir=${dir%/}
  [ -x "$dir/command.sh" ] || { echo "$dir/command.sh is missing" >&2; exit 1; }
  name=$(basename "$dir")
  COCONUT_TRAIN="$PWD/$binary" nohup bash "$dir/command.sh" >> "build-runs/$name.log" 2>&1 &
  echo "$name: started (pid $!), log build-runs/$name.log"
done
