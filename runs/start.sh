#!/usr/bin/env bash
# Starts (or resumes) runs in the background side by side, one thread each: a
# chain of one run each (chain.sh), so each outlives the shell and survives
# rebuilds (it runs a copy of build/examples/coconut_train taken now), logs to
# build-runs/<run>.log, resumes from its last checkpoint and is refused if it is
# running already.
#   make build && bash runs/start.sh runs/prosqa-cot-batch8 runs/prosqa-cot-sinusoidal
# Watch with `tail -f build-runs/<run>.log`; stop with `bash runs/stop.sh <dirs>`.
set -euo pipefail
for dir in "$@"; do
  bash "$(dirname "$0")/chain.sh" "$dir"
done
